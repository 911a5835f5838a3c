"""Flip test-time augmentation (``SessionConfig.flip``) and mirrored memory features."""

from __future__ import annotations

import numpy as np
import torch

from tests.core.synthetic import SyntheticVideo, iou
from vos_core.config import SessionConfig
from vos_core.inference.session import InferenceSession
from vos_core.memory.entries import MemoryFeatures


def test_mirrored_memory_features_flip_every_grid_and_undo_themselves() -> None:
    key = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 12)
    value = torch.arange(1 * 5 * 12, dtype=torch.float32).reshape(1, 5, 12)
    fine_key = torch.arange(2 * 6 * 8, dtype=torch.float32).reshape(2, 48)
    mf = MemoryFeatures(key=key, value=value, hw=(3, 4), fine_key=fine_key, fine_value=None, fine_hw=(6, 8))
    m = mf.mirrored()
    assert torch.equal(m.key.reshape(2, 3, 4), key.reshape(2, 3, 4).flip(-1))
    assert torch.equal(m.value.reshape(1, 5, 3, 4), value.reshape(1, 5, 3, 4).flip(-1))
    assert torch.equal(m.fine_key.reshape(2, 6, 8), fine_key.reshape(2, 6, 8).flip(-1))
    back = m.mirrored()
    assert torch.equal(back.key, key) and torch.equal(back.value, value)
    assert torch.equal(back.fine_key, fine_key)
    pruned = MemoryFeatures(key=key, value=value, hw=None).mirrored()  # a set of pixels: unchanged
    assert torch.equal(pruned.key, key) and torch.equal(pruned.value, value)


def test_flip_reads_each_frame_twice_mirrored_and_still_follows_the_object() -> None:
    video = SyntheticVideo(n=5)
    plain = InferenceSession(video, SessionConfig())
    flip = InferenceSession(video, SessionConfig(flip=True), model=plain.model)
    keys: list[torch.Tensor] = []
    decode = plain.model.decode

    def spy(frame, readout):  # noqa: ANN001, ANN202
        keys.append(frame.key.clone())
        return decode(frame, readout)

    for s in (plain, flip):
        s.annotate(0, video.labels(0))
    plain_results = list(plain.propagate(0, 4))
    flip.model.decode = spy  # type: ignore[method-assign]
    try:
        flip_results = list(flip.propagate(0, 4))
    finally:
        del flip.model.decode
    assert len(keys) == 2 * 4  # the frame and its mirror, for each predicted frame
    # the second reading of a frame is the mirrored frame's: mirrored back, its keys match the first's
    first, second = keys[0], keys[1]

    def corr(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])

    assert corr(second.flip(-1), first) > 0.8 > corr(second, first)
    for p, f in zip(plain_results, flip_results, strict=True):
        assert iou(f.labels == 1, video.labels(f.index) == 1) > 0.55
        assert not np.array_equal(p.probs, f.probs)  # the average differs from the plain reading
