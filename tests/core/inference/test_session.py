"""The inference session API on tiny synthetic videos."""

import numpy as np
import pytest

from tests.core.synthetic import SyntheticVideo, iou
from vos_core.config import MemoryConfig, SessionConfig
from vos_core.errors import VosInputError
from vos_core.inference.session import InferenceSession, processing_size
from vos_core.memory.entries import EntryKind


@pytest.fixture(scope="module")
def model():
    """One model for the module (loading Lite0 and exporting ONNX takes a moment)."""
    return InferenceSession(config=SessionConfig()).model


def session(video, model, **memory) -> InferenceSession:
    cfg = SessionConfig(memory=MemoryConfig(**{"every": 2, "working_size": 2, **memory}))
    return InferenceSession(video, cfg, model=model)


def test_forward_propagation_follows_the_object(model) -> None:
    video = SyntheticVideo(n=6)
    s = session(video, model)
    first = s.annotate(0, video.labels(0))
    assert first.given and first.memory_added == EntryKind.PERMANENT
    results = list(s.propagate(0, 5))
    assert [r.index for r in results] == list(range(1, 6))
    for r in results:
        assert r.labels.shape == video.hw and r.labels.dtype == np.uint8
        assert iou(r.labels == 1, video.labels(r.index) == 1) > 0.55
        assert 0.0 <= r.confidence <= 1.0
        assert r.probs.shape[0] == 1 and r.object_ids == (1,)
        assert r.timings.total_ms > 0
        assert not r.given


def test_backward_propagation(model) -> None:
    video = SyntheticVideo(n=7)
    s = session(video, model)
    s.annotate(6, video.labels(6))
    results = list(s.propagate(6, 1, "backward"))
    assert [r.index for r in results] == list(range(5, 0, -1))
    assert all(iou(r.labels == 1, video.labels(r.index) == 1) > 0.55 for r in results)


def test_multiple_objects_and_objects_appearing_later(model) -> None:
    video = SyntheticVideo(n=6, objects=2, appear={2: 3}, hw=(256, 320))
    s = session(video, model)
    s.annotate(0, video.labels(0))
    assert s.object_ids == (1,)
    s.annotate(3, video.labels(3))  # object 2 enters the scene and is first given on frame 3
    results = {r.index: r for r in s.propagate(0, 5)}
    assert s.object_ids == (1, 2)
    assert results[3].given
    assert not (results[2].labels == 2).any()
    for i in (4, 5):
        for obj in (1, 2):
            assert iou(results[i].labels == obj, video.labels(i) == obj) > 0.6


def test_cancel_between_frames(model) -> None:
    video = SyntheticVideo(n=10)
    s = session(video, model)
    s.annotate(0, video.labels(0))
    seen = []
    for r in s.propagate(0, 9, should_stop=lambda: len(seen) >= 3):
        seen.append(r.index)
    assert seen == [1, 2, 3]
    # closing the generator also stops; continuing from the last frame works
    gen = s.propagate(3, 9)
    assert next(gen).index == 4
    gen.close()
    assert [r.index for r in s.propagate(4, 6)] == [5, 6]


def test_memory_stays_within_limits(model) -> None:
    video = SyntheticVideo(n=40)
    s = session(video, model, every=2, working_size=2, long_term_size=3)
    s.annotate(0, video.labels(0))
    for r in s.propagate(0, 39):
        stats = r.memory
        assert stats.count(EntryKind.WORKING) <= 2
        assert stats.count(EntryKind.LONG_TERM) <= 3
        assert stats.count(EntryKind.PERMANENT) == 1
    contributions = [e.contribution for e in r.memory.entries]
    assert sum(contributions) == pytest.approx(1.0, abs=1e-3)
    assert 0.0 <= r.memory.recent_contribution <= 1.0


def test_step_api_and_correction_becomes_permanent(model) -> None:
    video = SyntheticVideo(n=6)
    s = InferenceSession(None, SessionConfig(), model=model)
    s.step(video.read(0), 0, video.labels(0))
    r = s.step(video.read(1), 1)
    assert iou(r.labels == 1, video.labels(1) == 1) > 0.7
    s.step(video.read(2), 2, video.labels(2))  # a correction
    kinds = {e.frame: e.kind for e in s.bank.infos()}
    assert kinds[2] == EntryKind.PERMANENT


def test_pin_evict_reset_and_reseed(model) -> None:
    video = SyntheticVideo(n=12)
    s = session(video, model)
    s.annotate(0, video.labels(0))
    list(s.propagate(0, 11))
    working = [e for e in s.bank.infos() if e.kind == EntryKind.WORKING]
    s.bank.pin(working[0].id)
    assert s.bank.get(working[0].id).pinned
    s.bank.evict(working[1].id)
    assert working[1].id not in [e.id for e in s.bank.infos()]
    s.reset_memory(keep_permanent=True)
    assert [e.kind for e in s.bank.infos()] == [EntryKind.PERMANENT]
    r = s.reseed(6, video.labels(6))
    assert r.given and [e.frame for e in s.bank.infos()] == [6]
    assert iou(next(s.propagate(6, 7)).labels == 1, video.labels(7) == 1) > 0.7


def test_remove_object(model) -> None:
    video = SyntheticVideo(n=4, objects=2)
    s = session(video, model)
    s.annotate(0, video.labels(0))
    s.remove_object(1)
    assert s.object_ids == (2,)
    r = next(s.propagate(0, 1))
    assert not (r.labels == 1).any() and (r.labels == 2).any()


def test_bad_input_is_refused_clearly(model) -> None:
    video = SyntheticVideo(n=4)
    s = session(video, model)
    with pytest.raises(VosInputError, match="no mask to start from"):
        list(s.propagate(0, 3))
    s.annotate(0, video.labels(0))
    with pytest.raises(VosInputError, match="does not match the video"):
        s.annotate(1, np.zeros((10, 10), np.uint8))
    with pytest.raises(VosInputError, match="outside the video"):
        list(s.propagate(0, 99))
    with pytest.raises(VosInputError, match="cannot propagate forward"):
        list(s.propagate(3, 0))
    with pytest.raises(VosInputError, match="2-D"):
        s.annotate(1, np.zeros((4, 4, 3), np.uint8))


def test_processing_size_downscales_tall_frames_only() -> None:
    assert processing_size((480, 854), 480) == (480, 854)
    assert processing_size((2160, 3840), 480) == (480, 853)
    assert processing_size((240, 320), 480) == (240, 320)
    # models that need a minimum grid (learned stride-16 keys) upscale short frames, never past the max
    assert processing_size((48, 64), 480, 240) == (240, 320)
    assert processing_size((48, 64), 120, 240) == (120, 160)
    assert processing_size((300, 400), 480, 240) == (300, 400)


def test_high_resolution_frames_are_processed_small_and_returned_full(model) -> None:
    video = SyntheticVideo(n=3, hw=(384, 512))
    s = InferenceSession(video, SessionConfig(process_height=192), model=model)
    s.annotate(0, video.labels(0))
    r = next(s.propagate(0, 1))
    assert r.labels.shape == (384, 512)
    assert r.probs.shape[1:] == (192, 256)
    assert iou(r.labels == 1, video.labels(1) == 1) > 0.7


def test_memory_values_are_encoded_only_for_frames_memory_keeps(model, monkeypatch) -> None:
    """The value encoder runs for the given frame and for frames that enter the bank or the local
    window; the others' values would be dropped, so they are never computed."""
    video = SyntheticVideo(n=13)
    cfg = SessionConfig(memory=MemoryConfig(every=4, recent_gap=4))
    s = InferenceSession(video, cfg, model=model)
    encoded: list[int] = []
    original = type(model).encode_memory

    def counting(self, frame, probs):
        encoded.append(len(encoded))
        return original(self, frame, probs)

    monkeypatch.setattr(type(model), "encode_memory", counting)
    s.annotate(0, video.labels(0))
    results = list(s.propagate(0, 12))
    assert [r.index for r in results] == list(range(1, 13))
    kept = [r.index for r in results if r.memory_added is not None]
    assert kept == [4, 8, 12]
    assert len(encoded) == 1 + len(kept)  # frame 0, then frames 4, 8 and 12 (also the recent ones)
    assert all(r.labels.shape == video.hw for r in results)


def test_forget_predictions_drops_what_memory_learnt_from_them(model) -> None:
    video = SyntheticVideo(n=12)
    s = session(video, model)  # every 2 frames, 2 working entries
    s.annotate(0, video.labels(0))
    results = list(s.propagate(0, 11))
    assert any(e.kind != EntryKind.PERMANENT for e in s.bank.entries())
    assert s.forget_predictions(range(1, 12)) > 0
    assert [(e.frame, e.kind) for e in s.bank.entries()] == [(0, EntryKind.PERMANENT)]
    assert not s.bank.recent
    assert s.forget_predictions([0]) == 0  # a given mask is not a prediction
    again = list(s.propagate(0, 11))  # memory relearns from the annotation
    assert iou(again[0].labels == 1, video.labels(1) == 1) > 0.55
    assert len(again) == len(results)
