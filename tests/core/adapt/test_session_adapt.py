"""The session learns from its references when a run starts (SessionConfig.adapt)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.core.synthetic import SyntheticVideo
from vos_core.config import AdaptConfig, SessionConfig
from vos_core.inference.session import InferenceSession
from vos_core.memory.entries import EntryKind
from vos_core.models.registry import build

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "weights"))


def _config(enabled: bool) -> SessionConfig:
    adapt = AdaptConfig(enabled=enabled, copies=2, steps=4, lr=1e-3)
    return SessionConfig(arch="stcn", accelerate=False, threads=1, adapt=adapt)


def test_a_run_adapts_a_private_model_and_reencodes_the_references() -> None:
    video = SyntheticVideo(n=5, hw=(128, 160), objects=1, seed=1)
    torch.manual_seed(0)
    shared = build("stcn", _config(True), untrained=True)
    before = {k: v.clone() for k, v in shared.state_dict().items()}
    session = InferenceSession(video, _config(True), model=shared)
    session.annotate(0, video.labels(0))
    first_value = session.bank.find_frame(0).features.value.clone()
    assert session.model is shared  # nothing learnt before a run
    results = list(session.propagate(0, 4))
    assert len(results) == 4 and session.model is not shared
    assert session.adapter.method.steps_done == 4
    entry = session.bank.find_frame(0)
    assert entry.kind == EntryKind.PERMANENT
    assert not torch.equal(entry.features.value, first_value)  # encoded again by the adapted heads
    assert all(torch.equal(before[k], v) for k, v in shared.state_dict().items())
    # a second run with the same references does not refit
    adapted = session.model
    list(session.propagate(0, 2))
    assert session.model is adapted
    # another session on the same shared instance, without adaptation, runs the shipped heads
    plain = InferenceSession(video, _config(False), model=shared)
    plain.annotate(0, video.labels(0))
    assert len(list(plain.propagate(0, 4))) == 4 and plain.model is shared


def test_changing_the_adaptation_settings_needs_a_new_session() -> None:
    session = InferenceSession(SyntheticVideo(n=2, hw=(64, 80)), _config(False), model=build(
        "stcn", _config(False), untrained=True))
    config = session.config
    assert session.update_config(replace(config, threads=1))
    assert not session.update_config(replace(config, adapt=AdaptConfig(enabled=True)))
    # the refit's thread count and flip are not part of what was learnt: they apply in place
    threads = replace(config.adapt, threads=1)
    assert session.update_config(replace(config, adapt=threads, flip=True))
    assert session.adapter.config == threads and session.config.flip


def test_adapts_when_the_caller_runs_under_inference_mode() -> None:
    video = SyntheticVideo(n=3, hw=(128, 160), objects=1, seed=2)
    config = replace(_config(True), adapt=AdaptConfig(copies=2, steps=2))
    session = InferenceSession(video, config, model=build("stcn", config, untrained=True))
    session.set_reference(0, video.labels(0))
    with torch.inference_mode():
        assert len(list(session.propagate(0, 2))) == 2
    assert session.adapter.method.steps_done == 2


def test_the_same_references_give_the_same_masks() -> None:
    """A rebuilt session (a reopened project) adapts exactly as the first one did, at a fixed thread
    count: with ``AdaptConfig.threads == 0`` the refit sizes its threads to the cores free at the
    time, and another split of the sums can change the last bits (the app keeps each fit in its
    project, so a reopened project reuses it instead)."""
    video = SyntheticVideo(n=4, hw=(128, 160), objects=2, seed=4)
    config = replace(_config(True), adapt=AdaptConfig(copies=2, steps=3, lr=1e-3, threads=1))
    shared = build("stcn", config, untrained=True)
    runs = []
    for _ in range(2):
        session = InferenceSession(video, config, model=shared)
        session.set_reference(0, video.labels(0))
        runs.append([r.labels for r in session.propagate(0, 3)])
    assert all((a == b).all() for a, b in zip(*runs, strict=True))
