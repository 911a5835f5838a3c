"""Adaptation to the video at hand (vos_core.adapt) on a tiny synthetic video, untrained heads."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.core.synthetic import SyntheticVideo
from vos_core.adapt import Adapter, teaching
from vos_core.adapt.heads import head_copy
from vos_core.adapt.samples import augmented_views, class_map, fresh
from vos_core.config import AdaptConfig, ReadoutConfig, SessionConfig
from vos_core.models.parts.losses import segmentation_loss
from vos_core.models.readout import view_of
from vos_core.models.registry import build
from vos_core.threads import cpu_cores

pytestmark = pytest.mark.usefixtures("one_thread")

HW = (192, 256)


@pytest.fixture(autouse=True)
def no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "weights"))


@pytest.fixture(scope="module")
def video() -> SyntheticVideo:
    return SyntheticVideo(n=6, hw=HW, objects=1, seed=3)


def _model(arch: str = "stcn"):
    torch.manual_seed(0)
    return build(arch, SessionConfig(arch=arch, accelerate=False, threads=1), untrained=True)


def _no_read(index: int) -> tuple[np.ndarray, np.ndarray]:
    raise AssertionError(f"frame {index} read again")


def _view(video: SyntheticVideo, hw: tuple[int, int]):  # noqa: ANN202 - a reader for Adapter.sync
    """Frames and masks of ``video`` at the processing size ``hw``."""

    def view(index: int) -> tuple[np.ndarray, np.ndarray]:
        rgb = cv2.resize(video.read(index), (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
        return rgb, cv2.resize(video.labels(index), (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)

    return view


def _view_loss(model, adapter: Adapter, ids: tuple[int, ...]) -> float:
    """Segmentation loss of ``model`` on the augmented views of the given frame, memory = the frame."""
    (g,) = adapter.given.values()
    with torch.no_grad():
        mem = model.encode_memory(fresh(g.views[0]), (g.labels[0:1] == ids[0]).float())
        total = 0.0
        for v in range(1, len(g.views)):
            view = fresh(g.views[v])
            readout = model.read_memory(view, view_of([mem]), [mem], ReadoutConfig())
            logits = model.decode_logits(view, readout)
            total += float(segmentation_loss(logits, class_map(g.labels[v], ids), 1.0)[0])
    return total / (len(g.views) - 1)


def test_heads_fit_the_given_mask_and_leave_the_shared_model_alone(video: SyntheticVideo) -> None:
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    config = AdaptConfig(enabled=True, method="heads", copies=3, steps=12, lr=1e-3)
    adapter = Adapter(model, config, ReadoutConfig(), torch.device("cpu"))
    assert adapter.model is model  # nothing learnt yet: the shared model runs
    masks = {0: video.labels(0)}
    assert adapter.sync(masks, (1,), _view(video, (240, 320))) is adapter.model
    assert adapter.method.steps_done == 12  # bounded: exactly the configured steps
    tuned = adapter.model
    assert tuned is not model
    # the given mask's views are segmented better by the adapted heads than by the shared ones
    assert _view_loss(tuned, adapter, (1,)) < 0.8 * _view_loss(model, adapter, (1,))
    # the shared instance: same weights, same flags, and its modules are not the adapted ones
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert flags == {k: p.requires_grad for k, p in model.named_parameters()}
    assert tuned.decoder is not model.decoder
    assert tuned.backbone is model.backbone  # the frozen encoder is shared, not copied
    assert adapter.sync(masks, (1,), _no_read) is tuned  # nothing changed: no refit
    assert adapter.sync({}, (1,), _no_read) is model  # mask gone: back to the shared model


def test_head_copy_shares_only_the_tuned_encoder_blocks() -> None:
    model = _model()
    clone = head_copy(model)
    shared = {id(p) for p in model.parameters()} & {id(p) for p in clone.parameters()}
    assert shared == {id(p) for p in model.tuned.parameters()}
    with torch.no_grad():
        next(clone.decoder.parameters()).add_(1.0)
    assert not torch.equal(next(clone.decoder.parameters()), next(model.decoder.parameters()))


def test_target_model_scores_the_object_above_the_background(video: SyntheticVideo) -> None:
    model = _model("propagation")  # no trained heads: the target model is the method
    config = AdaptConfig(enabled=True, method="heads", copies=3)
    adapter = Adapter(model, config, ReadoutConfig(), torch.device("cpu"))
    assert adapter.sync({0: video.labels(0)}, (1,), _view(video, HW)) is model
    (g,) = adapter.given.values()
    scores = adapter.method.scores(g.views[0])[0]
    cells = torch.nn.functional.adaptive_avg_pool2d((g.labels[0:1] == 1).float()[None], scores.shape)[0, 0]
    assert scores[cells > 0.9].mean() > scores[cells < 0.1].mean() + 0.5
    probs = torch.full((1, *HW), 0.5)
    fused = adapter.refine(g.views[0], probs)
    inside = torch.from_numpy(video.labels(0) == 1)
    assert fused[0][inside].mean() > 0.5 > fused[0][~inside].mean()
    assert adapter.refine(g.views[0], torch.full((2, *HW), 0.5)).eq(0.5).all()  # other objects: as is


def test_augmented_views_keep_the_object(video: SyntheticVideo) -> None:
    rng = np.random.default_rng(0)
    views = augmented_views(video.read(0), video.labels(0), 4, rng)
    assert len(views) == 5 and views[0][0] is not None
    assert np.array_equal(views[0][1], video.labels(0))
    for img, lab in views[1:]:
        assert img.shape == (*HW, 3) and lab.shape == HW
        assert 0.5 < (lab == 1).sum() / (video.labels(0) == 1).sum() < 1.6


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        AdaptConfig(method="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AdaptConfig(copies=0)
    with pytest.raises(ValueError):
        AdaptConfig(threads=-1)


def test_a_refit_runs_on_the_threads_asked_for_and_gives_them_back(
    video: SyntheticVideo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine may keep one core for the GUI; the refit (before the frames) gets every core, or
    the count asked for, and the caller's count is restored after."""
    seen: list[int] = []
    for threads, expected in ((0, cpu_cores()), (1, 1)):
        config = AdaptConfig(enabled=True, method="heads", copies=1, steps=1, threads=threads)
        adapter = Adapter(_model(), config, ReadoutConfig(), torch.device("cpu"))
        fit = adapter.method.fit

        def spy(*args: object, f=fit) -> None:  # noqa: ANN001
            seen.append(torch.get_num_threads())
            f(*args)

        monkeypatch.setattr(adapter.method, "fit", spy)
        torch.set_num_threads(1)
        adapter.sync({0: video.labels(0)}, (1,), _view(video, (240, 320)))
        assert seen[-1] == expected and torch.get_num_threads() == 1


def test_disabled_adapter_reads_nothing_and_changes_nothing(video: SyntheticVideo) -> None:
    model = _model()
    adapter = Adapter(model, AdaptConfig(enabled=False), ReadoutConfig(), torch.device("cpu"))
    assert adapter.sync({0: video.labels(0)}, (1,), _no_read) is model
    probs = torch.rand(1, 8, 8)
    assert adapter.refine(None, probs) is probs  # type: ignore[arg-type]


def test_learns_from_the_latest_given_masks_only(
    video: SyntheticVideo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vos_core.adapt as adapt

    monkeypatch.setattr(adapt, "MAX_GIVEN", 2)
    adapter = Adapter(_model("propagation"), AdaptConfig(copies=1), ReadoutConfig(), torch.device("cpu"))
    masks = {i: video.labels(i) for i in (0, 2, 4)}

    def view(index: int) -> tuple[np.ndarray, np.ndarray]:
        return video.read(index), masks[index]

    adapter.sync(masks, (1,), view)
    assert sorted(adapter.given) == [2, 4]  # a new session: the last by frame
    masks[0] = np.zeros_like(masks[0])
    masks[0][:40, :40] = 1  # frame 0 corrected: now the latest given
    adapter.sync(masks, (1,), view)
    assert sorted(adapter.given) == [0, 4]
    assert int(adapter.given[0].labels[0].sum()) == 1600
    del masks[4]
    adapter.sync(masks, (1,), view)
    assert sorted(adapter.given) == [0, 2]


def test_a_fit_learns_only_from_masks_that_show_the_object() -> None:
    big = np.zeros((40, 40), np.uint8)
    big[5:35, 5:35] = 1  # 900 pixels
    sliver, gone = np.zeros_like(big), np.zeros_like(big)
    sliver[5:7, 5:35] = 1  # 60 pixels: the object entering, leaving or hidden
    masks = {0: big, 10: big.copy(), 20: sliver, 30: gone}
    assert sorted(teaching(masks)) == [0, 10]  # both stay references; the fit learns from two
    assert Adapter.learns_from(masks) == 2
    assert sorted(teaching({20: sliver})) == [20]  # a small object is small everywhere: kept
    assert teaching({30: gone}) == {}
