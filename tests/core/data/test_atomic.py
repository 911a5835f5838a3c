"""Tests for atomic writes: no temp files left behind, failures keep the old file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from vos_core.data import atomic
from vos_core.data.atomic import atomic_path, atomic_write_bytes
from vos_core.data.masks import read_mask, write_mask
from vos_core.errors import VosInputError


def test_write_and_overwrite_leave_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_path_keeps_suffix_and_renames(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv" and tmp != target
        tmp.write_text("a,b\n")
        assert not target.exists()
    assert target.read_text() == "a,b\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_failure_inside_body_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_failing_mask_write_keeps_old_mask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "00000.png"
    old = np.eye(8, dtype=np.uint8)
    write_mask(target, old)

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(VosInputError) as info:
        write_mask(target, old * 3)
    assert "00000.png" in str(info.value) and "No space" in str(info.value)
    monkeypatch.undo()
    np.testing.assert_array_equal(read_mask(target), old)
    assert [p.name for p in tmp_path.iterdir()] == ["00000.png"]


def test_unwritable_destinations(tmp_path: Path) -> None:
    with pytest.raises(VosInputError, match="missing"):
        atomic_write_bytes(tmp_path / "missing" / "x.bin", b"x")
    if os.name == "posix" and os.geteuid() == 0:
        return  # root ignores folder permissions
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(VosInputError, match="locked"):
            atomic_write_bytes(locked / "x.bin", b"x")
    finally:
        locked.chmod(0o700)
