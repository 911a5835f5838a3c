"""The re-propagation after a correction (vos_core.inference.correction): its spans, fusion, early stop."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.core.inference.test_transport import one_hot_agg
from tests.core.synthetic import SyntheticVideo, iou
from vos_core.config import AdaptConfig, SessionConfig
from vos_core.inference.correction import (
    CorrectionConfig,
    CorrectionRun,
    correction_spans,
    fuse_labels,
    fusion_weight,
    masks_agree,
)
from vos_core.inference.predictions import Prediction
from vos_core.inference.results import FrameResult
from vos_core.inference.session import InferenceSession
from vos_core.inference.transport import Carried, TransportConfig

NO_ADAPT = SessionConfig(adapt=AdaptConfig(enabled=False))


class StillVideo(SyntheticVideo):
    """Frame 0 of a synthetic video, repeated: every prediction is the same."""

    def read(self, i: int) -> np.ndarray:
        return super().read(0)

    def labels(self, i: int) -> np.ndarray:
        return super().labels(0)


@pytest.fixture(scope="module")
def model():
    return InferenceSession(config=NO_ADAPT).model


def test_spans_reach_the_neighbouring_references_or_the_ends() -> None:
    both = CorrectionConfig()
    assert correction_spans([0, 10, 20], 14, 30, both) == [("forward", 19), ("backward", 11)]
    assert correction_spans([0, 10, 20], 25, 30, both) == [("forward", 29), ("backward", 21)]
    assert correction_spans([0], 0, 30, both) == [("forward", 29)]
    assert correction_spans([5], 5, 30, both) == [("forward", 29), ("backward", 0)]
    assert correction_spans([0, 11], 10, 30, both) == [("backward", 1)]  # the next frame is a reference
    old = CorrectionConfig.forward_only()
    assert correction_spans([0, 10, 20], 14, 30, old) == [("forward", 20)]  # F6: onto the reference


def first_prediction(model) -> tuple[SyntheticVideo, InferenceSession, FrameResult]:
    """A 4-frame video, its session (frame 0 annotated) and the prediction of frame 1."""
    video = SyntheticVideo(n=4)
    s = InferenceSession(video, NO_ADAPT, model=model)
    s.annotate(0, video.labels(0))
    return video, s, next(s.propagate(0, 1))


def test_fusion_weights_the_new_mask_against_the_previous_one(model) -> None:
    _video, s, result = first_prediction(model)
    wrong = np.roll(result.labels, 40, axis=1)
    assert np.array_equal(fuse_labels(result, wrong, 1.0, s.model.exclusive), result.labels)
    assert np.array_equal(fuse_labels(result, wrong, 0.0, s.model.exclusive), wrong)
    removed = np.where(wrong > 0, 7, 0).astype(np.uint8)  # an object the session does not have
    assert not (fuse_labels(result, removed, 0.0, s.model.exclusive) == 7).any()


def test_only_predictions_from_two_sides_are_fused(model) -> None:
    _video, s, result = first_prediction(model)
    result = replace(result, index=20, quality=0.8)

    def old(source: int, quality: float = 0.8) -> Prediction:
        return Prediction(b"", (1, 1), (1,), (quality,), source)

    distance = CorrectionConfig(fusion="distance")
    assert fusion_weight(distance, result, 30, old(0)) == pytest.approx(20 / 30)  # 10 vs 20 frames
    assert fusion_weight(distance, result, 10, old(0)) == 1.0  # the old one came through frame 10
    assert fusion_weight(distance, result, 10, old(35)) == pytest.approx(15 / 25)
    quality = CorrectionConfig(fusion="quality")
    assert fusion_weight(quality, result, 30, old(0, 0.2)) == pytest.approx(0.8)
    assert fusion_weight(CorrectionConfig(fusion="none"), result, 30, old(0)) == 1.0
    select = CorrectionConfig(fusion="select")
    assert fusion_weight(select, result, 30, old(0, 0.2)) == 1.0
    assert fusion_weight(select, result, 30, old(0, 0.9)) == 0.0


def test_select_keeps_a_better_previous_prediction_whole(model) -> None:
    video = SyntheticVideo(n=12)
    s = InferenceSession(video, NO_ADAPT, model=model)
    s.set_reference(0, video.labels(0))
    list(CorrectionRun(s, 0))
    before = {i: s.predictions.get(i) for i in range(1, 6)}
    for i, kept in before.items():  # the first run's masks, estimated perfect: nothing beats them
        assert kept is not None
        s.predictions.record(i, kept.labels(), kept.object_ids, (1.0,), kept.source)
    s.set_reference(6, video.labels(6))
    no_flow = TransportConfig(frames=0)  # carried frames score the carried share: they would win
    run = CorrectionRun(s, 6, CorrectionConfig(fusion="select", agree_frames=0, transport=no_flow))
    backward = [r for r in run if r.index < 6]
    assert [r.index for r in backward] == [5, 4, 3, 2, 1]
    for r in backward:
        assert np.array_equal(r.labels, before[r.index].labels()) and r.quality == 1.0
        assert s.predictions.get(r.index).source == 0  # still the first run's


def test_masks_agree_per_object() -> None:
    a = np.zeros((20, 20), np.uint8)
    a[2:12, 2:12] = 1
    b = a.copy()
    b[2, 2:12] = 0  # 10 of 100 pixels lost: IoU 0.9
    assert masks_agree(a, b, (1,), 0.9) and not masks_agree(a, b, (1,), 0.95)
    assert masks_agree(a, a, (1, 2), 1.0)  # object 2 absent from both


def test_a_correction_updates_both_sides_and_stops_once_masks_agree(model) -> None:
    video = StillVideo(n=24)
    s = InferenceSession(video, NO_ADAPT, model=model)
    s.set_reference(0, video.labels(0))
    first = CorrectionRun(s, 0)
    masks = {r.index: r.labels for r in first}
    assert sorted(masks) == list(range(1, 24)) and first.stats.spans == [("forward", 23)]
    assert s.predictions.frames() == list(range(1, 24))
    assert s.predictions.get(5) is not None and np.array_equal(s.predictions.get(5).labels(), masks[5])
    s.set_reference(12, video.labels(12))
    assert 12 not in s.predictions
    full = CorrectionRun(s, 12, CorrectionConfig(agree_frames=0))
    assert [r.index for r in full] == [*range(13, 24), *range(11, 0, -1)]
    run = CorrectionRun(s, 12, CorrectionConfig(agree_iou=0.5, agree_frames=3))  # the same again
    results = list(run)
    # both sides, outwards, each stopping after 3 frames that agree with the masks they had
    assert [r.index for r in results] == [13, 14, 15, 11, 10, 9]
    assert run.stats.stopped_early == ["forward", "backward"]
    assert run.stats.predicted == [r.index for r in results]
    assert all(iou(r.labels == 1, video.labels(r.index) == 1) > 0.5 for r in results)
    assert run.stats.propagate_s > 0 and "Updated around frame 12" in run.stats.summary()
    assert (run.first, run.last, run.total) == (1, 23, 22)


def test_without_early_stop_a_correction_reaches_the_references(model) -> None:
    video = SyntheticVideo(n=16)
    s = InferenceSession(video, NO_ADAPT, model=model)
    s.set_reference(0, video.labels(0))
    s.set_reference(15, video.labels(15))
    list(CorrectionRun(s, 0))
    s.set_reference(8, video.labels(8))
    run = CorrectionRun(s, 8, CorrectionConfig(agree_frames=0))
    assert sorted(r.index for r in run) == [*range(1, 8), *range(9, 15)]
    assert run.stats.stopped_early == []


def test_closing_a_correction_keeps_the_frames_it_did_not_reach(model) -> None:
    video = SyntheticVideo(n=16)
    s = InferenceSession(video, NO_ADAPT, model=model)
    s.set_reference(0, video.labels(0))
    list(CorrectionRun(s, 0))
    before = s.predictions.get(3).labels()
    s.set_reference(10, video.labels(10))
    run = CorrectionRun(s, 10, CorrectionConfig(agree_frames=0))
    assert next(run).index == 11
    run.close()
    with pytest.raises(StopIteration):
        next(run)
    assert np.array_equal(s.predictions.get(3).labels(), before)


def test_forget_shown_drops_kept_predictions(model) -> None:
    video = SyntheticVideo(n=6)
    s = InferenceSession(video, NO_ADAPT, model=model)
    s.annotate(0, video.labels(0))
    list(s.propagate(0, 5))
    assert len(s.predictions) == 5 and s.predictions.nbytes() < 5 * video.labels(1).size
    s.forget_shown([2, 3])
    assert s.predictions.frames() == [1, 4, 5]


def test_the_correction_carried_by_flow_is_blended_in_first(model) -> None:
    video, s, result = first_prediction(model)
    shifted = np.roll(result.labels, 6, axis=1)
    carried = Carried(one_hot_agg(shifted, result.object_ids), torch.ones(video.hw), 1, 0.0, 1e-3)
    assert np.array_equal(fuse_labels(result, None, 1.0, s.model.exclusive, carried), shifted)
    # then the previous mask: all its weight gives the previous mask whatever was carried
    wrong = np.roll(result.labels, 40, axis=1)
    assert np.array_equal(fuse_labels(result, wrong, 0.0, s.model.exclusive, carried), wrong)


def test_a_run_carries_the_correction_and_gives_the_frames_back(model) -> None:
    video = SyntheticVideo(n=12)
    s = InferenceSession(video, NO_ADAPT, model=model)
    s.set_reference(0, video.labels(0))
    list(CorrectionRun(s, 0, CorrectionConfig(transport=TransportConfig(frames=0))))
    s.set_reference(6, video.labels(6))
    off = {r.index: r.labels for r in CorrectionRun(s, 6, CorrectionConfig(agree_frames=0,
                                                                           transport=TransportConfig(frames=0)))}
    s.set_reference(6, video.labels(6))
    run = CorrectionRun(s, 6, CorrectionConfig(agree_frames=0, transport=TransportConfig(frames=2)))
    on = {r.index: r.labels for r in run}
    assert s.frames is video  # the locked view of the frames lasts as long as the run
    assert sorted(on) == sorted(off) == [*range(1, 6), *range(7, 12)]
    for i in (5, 7):  # next to the correction, the carried mask blended in
        assert iou(on[i] == 1, video.labels(i) == 1) > 0.8
