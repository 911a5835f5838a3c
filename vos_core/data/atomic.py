"""Atomic file writes: write to a temporary file in the target folder, then rename over the target.

A reader never sees a half-written file, and a failed write leaves any previous file untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vos_core.errors import VosInputError

_DEFAULT_MODE = 0o644


def _describe(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.

    The temporary name keeps the target's suffix (``.name.XXXX.tmp.png``) so writers that pick the
    format from the extension work. If the body raises, the temporary file is removed and the
    previous ``path`` (if any) is left intact. ``OSError`` (read-only folder, disk full, missing
    folder, ...) is re-raised as :class:`VosInputError` naming ``path``.
    """
    target = Path(path)
    folder = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=folder
        )
    except OSError as error:
        raise VosInputError(f"Cannot write {target}: {_describe(error)}") from error
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            mode = target.stat().st_mode & 0o777
        except OSError:
            mode = _DEFAULT_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as error:
        _remove_quietly(tmp)
        raise VosInputError(f"Cannot write {target}: {_describe(error)}") from error
    except BaseException:
        _remove_quietly(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (flushed and fsync'ed before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
