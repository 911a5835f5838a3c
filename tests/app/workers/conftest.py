"""Fixtures for the worker tests: the synthetic video of the model tests, and thread hygiene."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
from pathlib import Path

import pytest

_HELPER = Path(__file__).resolve().parents[1] / "model" / "synthetic_video.py"
if "synthetic_video" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("synthetic_video", _HELPER)
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["synthetic_video"] = _module
    _spec.loader.exec_module(_module)

from synthetic_video import SyntheticVideo, make_video  # noqa: E402


@pytest.fixture(scope="session")
def _video_template(tmp_path_factory: pytest.TempPathFactory) -> SyntheticVideo:
    return make_video(tmp_path_factory.mktemp("video") / "square.mp4")


@pytest.fixture
def video(tmp_path: Path, _video_template: SyntheticVideo) -> SyntheticVideo:
    path = tmp_path / "square.mp4"
    shutil.copyfile(_video_template.path, path)
    return SyntheticVideo(path, _video_template.frames, _video_template.masks)


@pytest.fixture
def no_thread_leaks():
    """Fails the test when it leaves Python threads behind."""
    before = set(threading.enumerate())
    yield
    leftover = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    for thread in leftover:
        thread.join(timeout=300)  # generous: a busy machine is slow to wind threads down
    leftover = [t for t in leftover if t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"
