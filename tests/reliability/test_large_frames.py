"""4K input: processed at the configured processing resolution, exported at full resolution, and
never more than a few full-resolution frames held in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.model.document import Document
from app.workers.export import ExportWorker, export_job_for
from tests.reliability.corpus import write_video
from vos_core.config import SessionConfig
from vos_core.data.frames import FRAME_CACHE_BYTES, open_source
from vos_core.inference.session import InferenceSession, processing_size

UHD = (2160, 3840)
N = 6


def uhd_frame(i: int) -> np.ndarray:
    rgb = np.zeros((*UHD, 3), np.uint8)
    rgb[..., 1] = 60
    rgb[::64, :, 2] = 200  # some texture
    x = 400 + 200 * i
    rgb[800:1400, x : x + 600] = (230, 40, 30)
    return rgb


def uhd_mask(i: int) -> np.ndarray:
    labels = np.zeros(UHD, np.uint8)
    x = 400 + 200 * i
    labels[800:1400, x : x + 600] = 1
    return labels


class UhdFrames:
    """A tiny FrameSource-like fake: 3 frames of 2160×3840, made on demand."""

    def __len__(self) -> int:
        return 3

    def read(self, index: int) -> np.ndarray:
        return uhd_frame(index)


def test_session_processes_4k_at_the_processing_height() -> None:
    config = SessionConfig(threads=1)
    session = InferenceSession(UhdFrames(), config)
    first = session.annotate(0, uhd_mask(0))
    results = [first, *session.propagate(0, 2)]
    assert config.process_height is None and session.process_height == 480  # propagation's own
    expected = processing_size(UHD, session.process_height)
    assert expected == (480, 853)
    for result in results:
        assert result.probs.shape == (1, *expected)  # processed at 480p
        assert result.labels.shape == UHD  # answered at 4K
    assert results[-1].labels[1100, 400 + 200 * 2 + 300] == 1  # still on the square
    assert results[-1].memory.total_bytes < 64 * 1024 * 1024  # the bank holds 480p features only


@pytest.fixture(scope="module")
def uhd_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("uhd") / "uhd.mp4", [uhd_frame(i) for i in range(N)])


def test_4k_document_exports_full_resolution_with_bounded_caches(qapp, uhd_video: Path, tmp_path: Path):
    document = Document.open(uhd_video, project_dir=tmp_path / "uhd.vosproj")
    try:
        for i in range(N):  # scrub through the video: the frame caches stay within their budget
            document.frame(i)
        caches = [document._frames, document.source._cache]  # type: ignore[attr-defined]
        for cache in caches:
            assert len(cache) <= cache.capacity and cache.nbytes <= FRAME_CACHE_BYTES
            assert len(cache) < N  # six 4K frames (150 MB) do not all fit
        document.add_object("square")
        document.edit_mask(0, uhd_mask(0))
        with open_source(uhd_video) as frames:  # the engine's own source, as in the worker
            session = InferenceSession(frames, SessionConfig(threads=1))
            session.annotate(0, uhd_mask(0))
            for result in session.propagate(0, N - 1):
                assert result.probs.shape[1:] == (480, 853)
                document.apply_result(result)
            assert len(frames._cache) <= 4  # type: ignore[attr-defined]
        store = document.masks
        assert store.frames() == list(range(N))
        assert store._cache_bytes <= store._cache_limit  # type: ignore[attr-defined]
        worker = ExportWorker(export_job_for(document, tmp_path / "out"))
        worker.run()
        assert worker.error is None and worker.warnings == []
    finally:
        document.close()
    out = tmp_path / "out"
    for i in range(N):
        with Image.open(out / "Annotations" / "480p" / "uhd" / f"{i:05d}.png") as mask:
            assert mask.size == (UHD[1], UHD[0]) and mask.mode == "P"
            labels = np.array(mask)
        with Image.open(out / "JPEGImages" / "480p" / "uhd" / f"{i:05d}.jpg") as jpeg:
            assert jpeg.size == (UHD[1], UHD[0])
        x = 400 + 200 * i
        assert labels[1100, x + 300] == 1 and labels[100, 100] == 0
