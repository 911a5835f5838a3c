"""The held-out check keeps the shipped heads' per-frame parts between refits (vos_core.adapt.check)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.core.synthetic import SyntheticVideo
from vos_core.adapt.check import OwnScores, held_out_iou
from vos_core.adapt.heads import HeadTuner
from vos_core.config import AdaptConfig, SessionConfig
from vos_core.inference.session import InferenceSession
from vos_core.models.registry import build

pytestmark = pytest.mark.usefixtures("one_thread")

VIDEO = SyntheticVideo(n=6, hw=(96, 128), objects=1, seed=5)


@pytest.fixture(autouse=True)
def no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "weights"))


def _session() -> InferenceSession:
    adapt = AdaptConfig(threads=1, copies=2, steps=4, lr=1e-3, holdout=2, warm_steps=2)
    config = SessionConfig(arch="stcn", accelerate=False, threads=1, adapt=adapt)
    torch.manual_seed(0)
    return InferenceSession(VIDEO, config, model=build("stcn", config, untrained=True))


def _count_encodings(model: object, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts ``model``'s memory encodings (the check makes one per frame part it computes)."""
    calls = [0]
    real = model.encode_memory  # type: ignore[attr-defined]

    def counting(*args: object) -> object:
        calls[0] += 1
        return real(*args)

    monkeypatch.setattr(model, "encode_memory", counting)
    return calls


def test_kept_parts_give_the_same_score_and_only_new_frames_are_scored_again(monkeypatch) -> None:
    session = _session()
    session.set_reference(0, VIDEO.labels(0))
    session.set_reference(2, VIDEO.labels(2))
    assert session.adapt()
    two = sorted(session.adapter.given.values(), key=lambda g: g.index)
    base, readout = session.adapter.base, session.config.readout
    kept: OwnScores = {}
    first = held_out_iou(base, two, (1,), 2, readout, kept=kept)
    assert first == held_out_iou(base, two, (1,), 2, readout)  # the same sums, in the same order
    assert set(kept) == {0, 2} and all(len(k.scores) == 2 for k in kept.values())
    session.set_reference(4, VIDEO.labels(4))  # a correction: one new frame
    assert session.adapt()
    three = sorted(session.adapter.given.values(), key=lambda g: g.index)
    assert all(a is b for a, b in zip([g for g in three if g.index != 4], two, strict=True))  # kept views
    calls = _count_encodings(base, monkeypatch)
    assert held_out_iou(base, two, (1,), 2, readout, kept=kept) == first
    assert calls[0] == 0  # every frame's own part kept
    again = held_out_iou(base, three, (1,), 2, readout, kept=kept)
    assert calls[0] == 1  # only the new frame's own part
    monkeypatch.undo()
    assert again == held_out_iou(base, three, (1,), 2, readout)


def test_the_tuner_forgets_the_parts_of_changed_masks() -> None:
    session = _session()
    session.set_reference(0, VIDEO.labels(0))
    assert session.adapt()
    tuner = session.adapter.method
    assert isinstance(tuner, HeadTuner)
    old = tuner.shipped_scores[0]
    assert old.frame is session.adapter.given[0]
    changed = VIDEO.labels(0).copy()
    changed[:, :20] = 0  # half the object (rows and columns 8-31) goes
    session.set_reference(0, changed)
    assert session.adapt()
    assert tuner.shipped_scores[0] is not old and tuner.shipped_scores[0].frame is session.adapter.given[0]
