"""Batched clip rendering from a pack: the warps match OpenCV's, jitter and label compaction match
the CPU clip makers, clips are valid and reproducible, resident and staged pixels agree, CUDA = CPU."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from tests.core.train.pack_sources import make_pack
from vos_core.data.pack import DataPack
from vos_core.train.augment import colour_jitter as cpu_jitter
from vos_core.train.augment import random_affine
from vos_core.train.data import ClipDataset, IterationSampler, _compact_labels, collate
from vos_core.train.device_augment import (
    LayerBatch,
    Pixels,
    _reflect101,
    colour_jitter,
    compact_labels,
    label_table,
    render,
)
from vos_core.train.pack_clips import DeviceBatches, PackClipMaker, PackClips, _jitter

HW = (48, 64)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> DataPack:
    return make_pack(tmp_path_factory.mktemp("pack-src"))


def _pixels(img: np.ndarray, labels: np.ndarray) -> Pixels:
    h, w = labels.shape
    return Pixels(torch.from_numpy(img.reshape(-1, 3).copy()), torch.from_numpy(labels.reshape(-1).copy()),
                  torch.tensor([[0, h, w]]))


def test_reflection_is_opencvs() -> None:
    n = 7
    i = torch.arange(-6, 13)
    expected = [cv2.borderInterpolate(int(v), n, cv2.BORDER_REFLECT_101) for v in i]
    assert _reflect101(i, torch.tensor(n)).tolist() == expected


def test_base_layer_matches_warp_affine() -> None:
    rng = np.random.default_rng(0)
    h, w = 40, 56
    coarse = rng.integers(0, 256, (h // 4, w // 4, 3)).astype(np.uint8)
    img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    labels = np.zeros((h, w), np.uint8)
    labels[10:30, 12:40] = 1
    m = random_affine(rng, HW, rotate=15, scale=(0.9, 1.1), shear=5, translate=0.05)
    inverse = cv2.invertAffineTransform(m).astype(np.float32)
    one = torch.tensor([0])
    table = torch.from_numpy(label_table({0: 0}, 1))[None]
    slot = LayerBatch(one, one, torch.from_numpy(inverse)[None], table)
    rgb, lab = render(_pixels(img, labels), [slot], HW)
    want = cv2.warpAffine(img, m, (HW[1], HW[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    got = rgb[0].permute(1, 2, 0).numpy()
    assert np.abs(got - want).mean() < 1.0 and np.abs(got - want).max() < 8
    want_lab = cv2.warpAffine(labels, m, (HW[1], HW[0]), flags=cv2.INTER_NEAREST, borderValue=0)
    assert (lab[0].numpy() == want_lab).mean() > 0.99


def test_paste_layer_writes_colour_and_label_only_on_the_object() -> None:
    img = np.zeros((20, 20, 3), np.uint8)
    img[..., 0] = 200
    labels = np.zeros((20, 20), np.uint8)
    labels[5:10, 5:10] = 1
    shift = np.array([[1, 0, -10], [0, 1, -10]], np.float32)  # output (x, y) -> source (x - 10, y - 10)
    # the base: every output pixel reads source pixel (0, 0)
    base = LayerBatch(torch.tensor([0]), torch.tensor([0]), torch.zeros(1, 2, 3),
                      torch.from_numpy(label_table({}, 0))[None])
    paste = LayerBatch(torch.tensor([0]), torch.tensor([0]), torch.from_numpy(shift)[None],
                       torch.from_numpy(label_table({1: 3}, -1))[None])
    rgb, lab = render(_pixels(img, labels), [base, paste], (32, 32))
    assert lab[0, 15:20, 15:20].eq(3).all() and lab.sum() == 3 * 25
    assert rgb[0, 0, 15:20, 15:20].eq(200).all() and rgb[0, 0, 0, 0] == 200


def test_jitter_and_compaction_match_the_cpu_clip_makers() -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (16, 24, 3)).astype(np.uint8)
    want = cpu_jitter(img, np.random.default_rng(11), 0.08)
    gain, contrast, bright = _jitter(np.random.default_rng(11), 0.08)
    got = colour_jitter(torch.from_numpy(img).permute(2, 0, 1)[None].float(), torch.from_numpy(gain)[None],
                        torch.tensor([contrast], dtype=torch.float32),
                        torch.tensor([bright], dtype=torch.float32))
    assert np.abs(got[0].permute(1, 2, 0).numpy().astype(int) - want.astype(int)).max() <= 1
    labels = rng.integers(0, 5, (2, 3, 8, 8)).astype(np.uint8)
    labels[1, 0][labels[1, 0] == 2] = 0  # object 2 hidden in frame 0 of clip 1
    out, n = compact_labels(torch.from_numpy(labels), 8, 6)
    for b in range(2):
        expected, count = _compact_labels(labels[b], 8)
        assert np.array_equal(out[b].numpy(), expected) and int(n[b]) == count


@pytest.mark.parametrize("stage", ["video", "static", "mixed"])
def test_pack_clips_are_valid_and_reproducible(pack: DataPack, stage: str) -> None:
    maker = PackClipMaker(pack, stage, HW, frames=3, seed=5, total_iters=10)
    frames, labels, n = maker.make(range(6), 4)
    assert frames.shape == (6, 3, 3, *HW) and frames.dtype == torch.uint8
    assert labels.shape == (6, 3, *HW) and labels.dtype == torch.uint8 and n.dtype == torch.long
    assert (n >= 1).all() and (n <= 3).all()
    for b in range(6):
        assert int(labels[b].max()) <= int(n[b])
        for obj in range(1, int(n[b]) + 1):
            assert int((labels[b, 0] == obj).sum()) >= maker.min_pixels
    if stage == "video":
        assert int(n.max()) == 1  # DAVIS 2016: one object
    again = maker.make(range(6), 4)
    assert all(torch.equal(a, b) for a, b in zip((frames, labels, n), again, strict=True))
    single = PackClips(maker).clip(4, 4)
    assert np.array_equal(single.frames, frames[4].permute(0, 2, 3, 1).numpy())
    assert np.array_equal(single.labels, labels[4].numpy()) and single.n_objects == int(n[4])


def test_staged_pixels_equal_resident_ones(pack: DataPack) -> None:
    resident = PackClipMaker(pack, "mixed", HW, seed=1, resident=True)
    staged = PackClipMaker(pack, "mixed", HW, seed=1, resident=False)
    for start in (0, 8):  # the second batch reuses the other staging buffer
        a, b = resident.make(range(start, start + 8), 0), staged.make(range(start, start + 8), 0)
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_device_batches_follow_the_iteration_sampler(pack: DataPack) -> None:
    maker = PackClipMaker(pack, "mixed", HW, seed=2, total_iters=4)
    batches = list(DeviceBatches(maker, 1, 3, batch=2, rank=1, world=2))
    indices = list(IterationSampler(1, 3, 2, rank=1, world=2))
    assert len(batches) == 2 and indices == [6, 7, 10, 11]
    loader = ClipDataset(PackClips(maker), samples_per_iter=4)
    for k, batch in enumerate(batches):
        frames, labels, n = collate([loader[i] for i in indices[2 * k : 2 * k + 2]])
        assert torch.equal(batch[0], frames) and torch.equal(batch[1], labels) and torch.equal(batch[2], n)


@cuda
def test_cuda_renders_what_the_cpu_renders(pack: DataPack) -> None:
    cpu = PackClipMaker(pack, "mixed", HW, seed=3, total_iters=10)
    for resident in (True, False):
        gpu = PackClipMaker(pack, "mixed", HW, seed=3, total_iters=10, device="cuda", resident=resident)
        a, b = cpu.make(range(8), 2), gpu.make(range(8), 2)
        assert b[0].is_cuda and b[1].is_cuda
        assert (a[0].int() - b[0].cpu().int()).abs().max() <= 1
        assert (a[1] == b[1].cpu()).float().mean() > 0.999 and torch.equal(a[2], b[2].cpu())
        assert gpu.pixels.resident == resident

