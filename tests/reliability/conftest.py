"""Fixtures of the reliability tests: the GUI tests' isolated QSettings, thread checks, generous
waits and engine teardown, and simulated read-only and full disks."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.app.conftest import engines_stopped, generous_waits, isolated_settings, no_dangling_threads
from vos_core.data import atomic

__all__ = [
    "disk_full", "engines_stopped", "generous_waits", "isolated_settings", "make_read_only",
    "no_dangling_threads",
]  # fmt: skip


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """``disk_full()``: from now on every atomic write fails at its rename with ENOSPC (the data was
    written to a temp file, which is then removed); ``monkeypatch.undo()`` frees the disk."""

    def fill() -> None:
        def no_space(src: object, dst: object) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

        monkeypatch.setattr(atomic.os, "replace", no_space)

    return fill


@pytest.fixture
def make_read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Path]]:
    """``make_read_only(folder)``: chmod 0555; as root (who ignores that) also refuse creating
    folders and temp files under it and report it not writable."""
    locked: list[Path] = []

    def inside(path: object) -> bool:
        target = Path(os.fsdecode(path)).absolute()  # type: ignore[arg-type]
        return any(target == folder or folder in target.parents for folder in locked)

    def refuse(path: object) -> OSError:
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))  # type: ignore[arg-type]

    def lock(folder: Path) -> Path:
        folder = folder.absolute()
        for sub in [*sorted(p for p in folder.rglob("*") if p.is_dir()), folder]:
            sub.chmod(0o555)
        locked.append(folder)
        if os.geteuid() != 0 or len(locked) > 1:
            return folder
        real_mkdir, real_mkstemp, real_access = os.mkdir, tempfile.mkstemp, os.access

        def mkdir(path: object, *args: object, **kwargs: object) -> None:
            if inside(path):
                raise refuse(path)
            real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

        def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
            folder_arg = kwargs.get("dir")
            if folder_arg is not None and inside(folder_arg):
                raise refuse(folder_arg)
            return real_mkstemp(*args, **kwargs)  # type: ignore[arg-type]

        def access(path: object, mode: int, *args: object, **kwargs: object) -> bool:
            if inside(path) and mode & os.W_OK:
                return False
            return real_access(path, mode, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "mkdir", mkdir)
        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(os, "access", access)
        return folder

    yield lock
    for folder in locked:
        for sub in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
            sub.chmod(0o755)
