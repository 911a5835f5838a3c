"""The README's two shell commands ("Set up and run"), read from README.md: the one home of that parsing.

    python .ci/readme_commands.py apt-packages   # the Debian/Ubuntu packages of the install command
    python .ci/readme_commands.py install        # the install-and-launch command, on one line
    python .ci/readme_commands.py test           # the test command, on one line

``.ci/run`` installs exactly ``apt-packages`` and runs ``test``; ``tests/test_install_docs.py`` checks
that the list names every library the Qt xcb platform plugin needs. Standard library only (it runs
before anything is installed).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Set up and run"
#: how the install command runs apt-get as root: ``sudo`` where it exists, nothing where it does not
#: (a root shell in a container or CI image has no sudo)
AS_ROOT = "$(command -v sudo)"


def setup_commands(readme: Path = README) -> list[str]:
    """The ``bash`` code blocks of the README's set-up section, continuation lines joined."""
    text = readme.read_text(encoding="utf-8")
    start = text.find(f"\n{SECTION}\n")
    if start < 0:
        raise ValueError(f"{readme} has no '{SECTION}' section")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end >= 0 else len(text)]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    commands = [" ".join(block.replace("\\\n", " ").split()) for block in blocks]
    if len(commands) < 2:
        raise ValueError(f"the '{SECTION}' section of {readme} needs two bash blocks (install, test)")
    return commands


def install_command(readme: Path = README) -> str:
    return setup_commands(readme)[0]


def test_command(readme: Path = README) -> str:
    return setup_commands(readme)[1]


def apt_packages(readme: Path = README) -> list[str]:
    """The packages after ``apt-get install`` in the install command (options and ``AS_ROOT`` or
    ``sudo`` skipped)."""
    for part in install_command(readme).split("&&"):
        words = shlex.split(part.strip().removeprefix(AS_ROOT))
        if words and words[0] == "sudo":
            words = words[1:]
        if words[:2] == ["apt-get", "install"]:
            packages = [word for word in words[2:] if not word.startswith("-")]
            if packages:
                return packages
    raise ValueError(f"the install command of {readme} has no 'apt-get install' with packages")


def main(argv: list[str]) -> int:
    what = {"apt-packages": lambda: " ".join(apt_packages()), "install": install_command,
            "test": test_command}  # fmt: skip
    if len(argv) != 1 or argv[0] not in what:
        print(f"usage: {Path(__file__).name} {'|'.join(what)}", file=sys.stderr)
        return 2
    print(what[argv[0]]())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
