"""A session says, before a run, whether its adaptation will refit and from how many references
(``InferenceSession.adaptation_due``, ``Adapter.stale``): the app announces the refit with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.core.synthetic import SyntheticVideo
from vos_core.adapt import MAX_GIVEN, Adapter
from vos_core.config import AdaptConfig, SessionConfig
from vos_core.inference.session import InferenceSession
from vos_core.models.registry import build

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "weights"))


def _config(enabled: bool = True) -> SessionConfig:
    adapt = AdaptConfig(enabled=enabled, copies=1, steps=2, lr=1e-3)
    return SessionConfig(arch="stcn", accelerate=False, threads=1, adapt=adapt)


def _session(video: SyntheticVideo, enabled: bool = True) -> InferenceSession:
    torch.manual_seed(0)
    return InferenceSession(video, _config(enabled), model=build("stcn", _config(enabled), untrained=True))


def test_due_before_the_first_run_and_after_each_change_of_the_references() -> None:
    video = SyntheticVideo(n=6, hw=(64, 80), objects=1, seed=2)
    session = _session(video)
    assert session.adaptation_due() == 0  # no reference, no object: nothing to learn
    session.set_reference(0, video.labels(0))
    assert session.adaptation_due() == 1
    list(session.propagate(0, 2))
    assert session.adaptation_due() == 0 and session.adapter.last_seconds > 0
    seconds = session.adapter.last_seconds
    list(session.propagate(2, 3))  # same references: no refit
    assert session.adaptation_due() == 0 and session.adapter.last_seconds == seconds

    session.set_reference(4, video.labels(4))  # a new reference
    assert session.adaptation_due() == 2
    session.adapt()  # what a run does first, called before it (the app times and announces it)
    assert session.adaptation_due() == 0
    changed = video.labels(4).copy()
    ys, xs = np.nonzero(changed)
    changed[ys[: len(ys) // 2], xs[: len(xs) // 2]] = 0  # half the object erased
    session.set_reference(4, changed)  # a changed reference
    assert session.adaptation_due() == 2
    session.adapt()
    session.remove_reference(4)  # a reference gone
    assert session.adaptation_due() == 1


def test_never_due_without_adaptation() -> None:
    video = SyntheticVideo(n=3, hw=(64, 80), objects=1, seed=3)
    session = _session(video, enabled=False)
    session.set_reference(0, video.labels(0))
    assert session.adaptation_due() == 0
    assert not session.adapter.stale(session.annotations, session.object_ids)


def test_stale_reads_only_and_counts_the_latest_given() -> None:
    model = build("stcn", _config(), untrained=True)
    adapter = Adapter(model, _config().adapt, _config().readout, torch.device("cpu"))
    masks = {i: np.ones((8, 8), np.uint8) for i in range(MAX_GIVEN + 3)}
    for i, labels in masks.items():
        labels.flat[i] = 0  # each a different mask
    assert adapter.stale(masks, (1,)) and adapter.stale(masks, (1,))  # asking changes nothing
    assert adapter.learns_from(masks) == MAX_GIVEN and adapter.learns_from({0: masks[0]}) == 1
    assert not adapter.stale({}, ())
