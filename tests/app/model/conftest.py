"""Fixtures for the app model tests: a tiny synthetic video (made once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from synthetic_video import SyntheticVideo, make_video


@pytest.fixture(scope="session")
def _video_template(tmp_path_factory: pytest.TempPathFactory) -> SyntheticVideo:
    return make_video(tmp_path_factory.mktemp("video") / "square.mp4")


@pytest.fixture
def video(tmp_path: Path, _video_template: SyntheticVideo) -> SyntheticVideo:
    """A private copy of the 128×96, 20-frame square video (projects are made next to it)."""
    path = tmp_path / "square.mp4"
    shutil.copyfile(_video_template.path, path)
    return SyntheticVideo(path, _video_template.frames, _video_template.masks)
