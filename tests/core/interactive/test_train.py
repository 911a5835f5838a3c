"""Click-model training on a tiny feature cache: cache, steps, checkpoint, resume, export."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.core.interactive.helpers import disk_image
from vos_core.data.masks import write_mask
from vos_core.interactive.clicks import train
from vos_core.interactive.clicks.cache import FeatureCache, build_cache
from vos_core.interactive.clicks.composite import cutout
from vos_core.interactive.clicks.data import Item
from vos_core.interactive.clicks.model import ClickHead
from vos_core.interactive.clicks.predictor import ClickSegmenter
from vos_core.interactive.clicks.simulate import distractor_clicks


@pytest.fixture
def tiny_cache(tmp_path: Path, one_thread: None) -> Path:
    items = []
    for i in range(4):
        img, mask = disk_image(hw=(80, 100), centre=(30 + 5 * i, 40 + 5 * i), radius=15 + i, seed=i)
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), img[..., ::-1])
        write_mask(tmp_path / f"{i}.png", mask.astype(np.uint8))
        items.append((Item(tmp_path / f"{i}.jpg", tmp_path / f"{i}.png", 1), i % 2 == 1))
    out = tmp_path / "cache"
    assert build_cache(out, items, size=64) == 4
    return out


def test_cache_holds_features_and_masks(tiny_cache: Path) -> None:
    cache = FeatureCache.open(tiny_cache)
    assert len(cache) == 4 and cache.size == 64
    assert cache.s4.shape == (4, 24, 16, 16) and cache.s8.shape == (4, 40, 8, 8)
    assert cache.s16.shape == (4, 112, 4, 4) and cache.masks.shape == (4, 64, 64)
    assert cache.s4.dtype == np.float16 and 0 < cache.masks.mean() < 1
    assert cache.rgb is not None and cache.rgb.shape == (4, 64, 64, 3) and cache.rgb.dtype == np.uint8


def test_one_step_trains_and_a_batch_is_reproducible(tiny_cache: Path) -> None:
    cache = FeatureCache.open(tiny_cache)
    cfg = train.TrainConfig(batch=3, crop=32)
    a = train.sample_batch(cache, cfg, np.random.default_rng([0, 5]))
    b = train.sample_batch(cache, cfg, np.random.default_rng([0, 5]))
    assert (
        a.gt.shape == (3, 1, 32, 32) and a.feats.s16.shape == (3, 112, 2, 2) and a.rgb.shape == (3, 3, 32, 32)
    )
    assert torch.equal(a.gt, b.gt) and torch.equal(a.feats.s4, b.feats.s4)
    head = ClickHead()
    loss = train.simulate_step(head, a, cfg, np.random.default_rng(1))
    loss.backward()
    assert (
        torch.isfinite(loss) and head.out.weight.grad is not None and head.refine.out.weight.grad is not None
    )


def test_distractor_cache_marks_look_alikes_and_training_clicks_them_negative(
    tiny_cache: Path, tmp_path: Path
) -> None:
    items = [(Item(tmp_path / f"{i}.jpg", tmp_path / f"{i}.png", 1), False) for i in range(4)]
    img, mask = disk_image(hw=(80, 100), centre=(40, 50), radius=15, seed=9)
    pool = [c for c in [cutout(img, mask, "disks")] if c is not None]
    out = tmp_path / "distractors"
    assert build_cache(out, items, size=64, distractors=1.0, pool=pool) == 4
    cache = FeatureCache.open(out)
    assert set(np.unique(cache.masks).tolist()) == {0, 1, 2}  # 2: pasted look-alikes
    cfg = train.TrainConfig(batch=4, crop=48, distractor_negatives=1.0)
    batch = train.sample_batch(cache, cfg, np.random.default_rng([0, 1]))
    assert batch.others.shape == (4, 48, 48) and batch.others.any()
    assert not (batch.others & batch.gt[:, 0].numpy()).any()
    loss = train.simulate_step(ClickHead(), batch, cfg, np.random.default_rng(2))
    assert torch.isfinite(loss)
    most = batch.others[int(np.argmax(batch.others.sum(axis=(1, 2))))]
    clicks = distractor_clicks(most, np.random.default_rng(0))
    assert clicks and all(not c.positive and most[int(c.y), int(c.x)] for c in clicks)
    # the plain cache has no distractors: its batches have none
    assert not train.sample_batch(FeatureCache.open(tiny_cache), cfg, np.random.default_rng(0)).others.any()


def test_main_checkpoints_resumes_and_exports(tiny_cache: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "clicks.ckpt.pt"
    common = ["--cache", str(tiny_cache), "--checkpoint", str(ckpt), "--batch", "2", "--crop", "32"]
    assert train.main([*common, "--max-minutes", "0.01"]) == 0
    first = torch.load(ckpt, weights_only=True)["step"]
    assert first >= 1
    assert train.main([*common, "--max-minutes", "0.03", "--resume"]) == 0
    assert torch.load(ckpt, weights_only=True)["step"] > first
    out = tmp_path / "w" / "clicks.pt"
    args = ["--checkpoint", str(ckpt), "--export", str(out), "--work-height", "64", "--prior-steps", "7"]
    assert train.main(args) == 0
    from vos_core.models.encoders.efficientnet_lite import EfficientNetLite
    from vos_core.models.encoders.runner import FrozenEncoder

    seg = ClickSegmenter.load(out, encoder=FrozenEncoder(EfficientNetLite(), accelerate=False, threads=1))
    assert seg.work_height == 64
    from vos_core.weights import read_card

    steps = torch.load(ckpt, weights_only=True)["step"]
    assert read_card(out).steps == steps + 7


def test_rgb_only_pass_adds_views_to_a_cache_and_init_from_checkpoint(
    tmp_path: Path, one_thread: None
) -> None:
    items = []
    for i in range(2):
        img, mask = disk_image(hw=(70, 90), centre=(30 + 8 * i, 40 + 10 * i), radius=12 + 6 * i, seed=i)
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), img[..., ::-1])
        write_mask(tmp_path / f"{i}.png", mask.astype(np.uint8))
        items.append((Item(tmp_path / f"{i}.jpg", tmp_path / f"{i}.png", 1), True))
    out = tmp_path / "cache"
    build_cache(out, items, size=48)
    rgb = np.load(out / "rgb.npy").copy()
    (out / "rgb.npy").unlink()
    assert FeatureCache.open(out).rgb is None
    assert build_cache(out, items, size=48, rgb_only=True) == 2
    assert np.array_equal(np.load(out / "rgb.npy"), rgb)
    with pytest.raises(ValueError, match="does not match"):
        build_cache(out, items[::-1], size=48, rgb_only=True)
    ckpt = tmp_path / "c.pt"
    head = ClickHead()
    state = {k: v for k, v in head.state_dict().items() if not k.startswith("refine.")}
    torch.save({"head": state}, ckpt)
    assert train.init_from(ClickHead(), ckpt) == ["refine"]


def test_a_fine_tune_starts_from_shipped_weights_and_can_keep_their_batch_norm(
    tiny_cache: Path, tmp_path: Path
) -> None:
    from vos_core.weights import ModelCard, save_weights

    torch.manual_seed(0)
    shipped = tmp_path / "w" / "clicks.pt"
    save_weights(ClickHead(), shipped, ModelCard(arch="clicks"))
    start = torch.load(shipped, weights_only=True)
    ckpt = tmp_path / "fine.ckpt.pt"
    args = ["--cache", str(tiny_cache), "--checkpoint", str(ckpt), "--batch", "2", "--crop", "32"]
    assert train.main([*args, "--init", str(shipped), "--max-minutes", "0.01", "--freeze-bn"]) == 0
    head = torch.load(ckpt, weights_only=True)["head"]
    stats = [k for k in head if k.endswith("running_mean") or k.endswith("running_var")]
    assert stats and all(torch.equal(head[k], start[k]) for k in stats)  # statistics kept
    ckpt.unlink()
    assert train.main([*args, "--init", str(shipped), "--max-minutes", "0.01"]) == 0
    head = torch.load(ckpt, weights_only=True)["head"]
    assert not all(torch.equal(head[k], start[k]) for k in stats)  # without the flag they move


def test_the_anchor_pulls_toward_the_weights_it_was_given(tmp_path: Path) -> None:
    head = ClickHead()
    torch.save(head.state_dict(), tmp_path / "start.pt")
    pull = train.Anchor.load(head, tmp_path / "start.pt", 2.0)
    assert float(pull(head)) == 0.0
    with torch.no_grad():
        next(head.parameters()).add_(0.5)
    moved = float(pull(head))
    assert moved > 0.0
    loss = pull(head)
    loss.backward()  # a loss term: it trains the head back toward the reference
    assert next(head.parameters()).grad is not None
    torch.save({"head": {}}, tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="does not hold"):
        train.Anchor.load(head, tmp_path / "empty.pt", 1.0)
