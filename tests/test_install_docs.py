"""The README's install command names every system library the app's window needs, and CI installs
exactly that list (``.ci/run`` reads it from the README through ``.ci/readme_commands.py``)."""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
CI = REPO / ".ci"

# Packages of every Debian/Ubuntu base system (dpkg and apt link to them), so the README need not name them.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1"}


def readme_commands() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_commands", CI / "readme_commands.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_install_command_shape() -> None:
    commands = readme_commands()
    install = commands.install_command()
    assert install.endswith("&& pip install -e . && python main.py"), install
    packages = commands.apt_packages()
    assert len(packages) == len(set(packages))
    assert {"libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1"} <= set(packages)  # issue 12, item 6
    assert commands.test_command().endswith("python -m pytest -q")
    # issue 24: how to run without a display
    assert "xvfb-run -a python main.py" in (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_install_command_runs_without_sudo(tmp_path: Path) -> None:
    """Issue 24: the install line failed as root in a container without ``sudo``. Run the README's
    own line under bash with fake apt-get, pip and python on a PATH that has no sudo."""
    commands = readme_commands()
    install = commands.install_command()
    assert " sudo " not in f" {install} " and install.count(commands.AS_ROOT) == 2  # both apt-get calls
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("apt-get", "pip", "python"):
        (fake / tool).write_text(FAKE_TOOL)
        (fake / tool).chmod(0o755)
    for tool in ("bash", "basename"):  # what the fakes themselves need, and nothing else
        real = shutil.which(tool)
        assert real is not None
        (fake / tool).symlink_to(real)
    log = tmp_path / "log"
    env = {"PATH": str(fake), "FAKE_LOG": str(log), "HOME": str(tmp_path)}
    proc = subprocess.run([shutil.which("bash") or "bash", "-c", install], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["apt-get", "apt-get", "pip", "python"]
    assert lines[1].split()[2:5] == ["install", "-y", "--no-install-recommends"]
    assert lines[1].split()[5:] == commands.apt_packages()


def test_readme_parser_rejects_a_readme_without_packages(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Set up and run\n\n```bash\npip install -e .\n```\n\n```bash\npytest\n```\n")
    with pytest.raises(ValueError, match="apt-get install"):
        readme_commands().apt_packages(readme)


# ---------------------------------------------------------------------------- .ci/run installs that list
FAKE_TOOL = """#!/usr/bin/env bash
echo "$(basename "$0") QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-} $*" >> "$FAKE_LOG"
[ "$(basename "$0")" = Xvfb ] && exit 1
exit 0
"""
# $PYTHON of .ci/run: the real interpreter for the README parser, a logging fake for anything else
FAKE_PYTHON = """#!/usr/bin/env bash
[ "$1" = .ci/readme_commands.py ] && exec "$REAL_PYTHON" "$@"
echo "PYTHON $*" >> "$FAKE_LOG"
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_ci_run_installs_the_readme_packages_and_runs_both_checks(tmp_path: Path) -> None:
    """``.ci/run`` with fake apt-get, pip, python and Xvfb: what it installs and runs, and that a GUI
    smoke test that cannot start (Xvfb fails here) fails CI even though the tests passed."""
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("apt-get", "sudo", "pip", "python", "Xvfb", "xdotool", "xwininfo"):
        (fake / tool).write_text(FAKE_TOOL)
        (fake / tool).chmod(0o755)
    (fake / "ci-python").write_text(FAKE_PYTHON)
    (fake / "ci-python").chmod(0o755)
    log = tmp_path / "log"
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "FAKE_LOG": str(log), "CI": "true",
           "PYTHON": str(fake / "ci-python"), "REAL_PYTHON": sys.executable}  # fmt: skip
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run([str(CI / "run")], env=env, capture_output=True, text=True, timeout=120)
    lines = log.read_text().splitlines()
    installs = [line.split() for line in lines
                if " install " in line and line.startswith(("apt-get", "sudo"))]  # fmt: skip
    assert len(installs) == 1, lines
    named = [word for word in installs[0][installs[0].index("install") + 1 :] if not word.startswith("-")]
    smoke_tools = ["xvfb", "xdotool", "x11-utils"]
    assert named == readme_commands().apt_packages() + smoke_tools
    assert any(line.startswith("apt-get ") and " update" in line for line in lines)
    assert "pip QT_QPA_PLATFORM= install -e .[dev]" in lines  # the README's test command
    assert "python QT_QPA_PLATFORM=offscreen -m pytest -q" in lines
    assert any(line.startswith("Xvfb ") for line in lines)  # the smoke test ran after the tests
    assert proc.returncode == 1, proc.stderr
    assert "GUI smoke test exit 1" in proc.stderr and "Xvfb did not start" in proc.stderr


# ---------------------------------------------------------------------------- the list is complete
def elf_needed(path: Path) -> list[str]:
    """The DT_NEEDED entries (sonames) of a 64-bit little-endian ELF shared object."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{path} is not ELF64 LE"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    needed = []
    for _name, kind, _flags, _addr, offset, size, link, *_ in sections:
        if kind != 6:  # SHT_DYNAMIC
            continue
        strtab_offset = sections[link][4]
        for pos in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, pos)
            if tag == 0:  # DT_NULL
                break
            if tag == 1:  # DT_NEEDED
                end = data.index(b"\0", strtab_offset + value)
                needed.append(data[strtab_offset + value : end].decode())
    return needed


def xcb_system_sonames(pyside: Path) -> set[str]:
    """System libraries (not shipped in the wheels) linked by the xcb plugin, its GL integrations and
    the Qt libraries and Python modules they load, followed through the wheels' own libraries."""
    bundled = {p.name: p for root in (pyside, pyside.parent / "shiboken6") for p in root.rglob("*.so*")}
    plugins = pyside / "Qt" / "plugins"
    todo = [plugins / "platforms" / "libqxcb.so", *sorted((plugins / "xcbglintegrations").glob("*.so")),
            *(pyside / f"{m}.abi3.so" for m in ("QtCore", "QtGui", "QtWidgets"))]  # fmt: skip
    seen: set[Path] = set()
    system: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for soname in elf_needed(path):
            if soname in bundled:
                todo.append(bundled[soname])
            else:
                system.add(soname)
    return system


@functools.cache
def loader_cache() -> dict[str, str]:
    """``soname -> path`` from ``ldconfig -p``, this machine's architecture only."""
    flag = {"x86_64": "x86-64", "aarch64": "AArch64"}.get(platform.machine(), "")
    path_env = {**os.environ, "PATH": f"/sbin:/usr/sbin:{os.environ['PATH']}"}
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True, env=path_env)
    found: dict[str, str] = {}
    for line in cache.stdout.splitlines()[1:]:
        name, _, path = line.strip().partition(" => ")
        if flag in name:
            found.setdefault(name.split()[0], os.path.realpath(path))
    return found


def owning_packages(path: str) -> set[str]:
    """The Debian packages that installed ``path`` (``/lib`` and ``/usr/lib`` both tried)."""
    for candidate in (path, path.removeprefix("/usr"), "/usr" + path):
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True).stdout
        owners = [line.rsplit(": ", 1)[0] for line in out.splitlines() if line.endswith(f": {candidate}")]
        if owners:
            return {name.strip().split(":")[0] for owner in owners for name in owner.split(",")}
    return set()


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("dpkg-query") is None,
                    reason="Debian/Ubuntu only")  # fmt: skip
def test_readme_packages_cover_every_library_of_the_xcb_plugin() -> None:
    import PySide6

    pyside = Path(PySide6.__file__).parent
    if not (pyside / "Qt" / "plugins" / "platforms" / "libqxcb.so").exists():
        pytest.skip("this PySide6 has no xcb plugin")
    readme = set(readme_commands().apt_packages())
    missing, unlisted = [], []
    for soname in sorted(xcb_system_sonames(pyside)):
        path = loader_cache().get(soname)
        if path is None:
            missing.append(soname)
            continue
        packages = owning_packages(path)
        if not packages & (readme | BASE_PACKAGES):
            unlisted.append(f"{soname} ({', '.join(sorted(packages)) or 'no package'})")
    assert not missing, f"not installed (so python main.py aborts): {missing}"
    assert not unlisted, f"installed but not named by the README's install command: {unlisted}"
