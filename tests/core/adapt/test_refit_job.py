"""A refit is a job: it can be stopped between steps, reports its steps, continues the previous fit
when masks were only added, passes a held-out check, and is kept (vos_core.adapt.store)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.core.synthetic import SyntheticVideo
from vos_core.adapt import Adapter
from vos_core.adapt.check import held_out_iou
from vos_core.adapt.heads import HeadTuner
from vos_core.adapt.store import FIT_FILE, META_FILE
from vos_core.config import AdaptConfig, SessionConfig
from vos_core.inference.session import InferenceSession
from vos_core.models.registry import build

pytestmark = pytest.mark.usefixtures("one_thread")

VIDEO = SyntheticVideo(n=6, hw=(96, 128), objects=1, seed=5)


@pytest.fixture(autouse=True)
def no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "weights"))


def _config(**adapt: object) -> SessionConfig:
    settings = {"copies": 2, "steps": 6, "lr": 1e-3, "holdout": 1, "warm_steps": 2, **adapt}
    return SessionConfig(arch="stcn", accelerate=False, threads=1, adapt=AdaptConfig(threads=1, **settings))


def _session(config: SessionConfig, model: object = None) -> InferenceSession:
    torch.manual_seed(0)
    return InferenceSession(VIDEO, config, model=model or build("stcn", config, untrained=True))


def _tuner(session: InferenceSession) -> HeadTuner:
    method = session.adapter.method
    assert isinstance(method, HeadTuner)
    return method


def test_stop_ends_a_refit_between_steps_and_leaves_it_due() -> None:
    session = _session(_config())
    session.set_reference(0, VIDEO.labels(0))
    heard: list[tuple[int, int]] = []

    def stop_after_two() -> bool:
        return len(heard) >= 3  # (0, 6), (1, 6), (2, 6) heard: stop before the third step

    assert not session.adapt(should_stop=stop_after_two, progress=lambda d, t: heard.append((d, t)))
    assert heard == [(0, 6), (1, 6), (2, 6)] and _tuner(session).steps_done == 2
    assert session.model is session.adapter.base  # nothing learnt is used
    assert session.adaptation_due() == 1  # still due: the next run refits
    assert session.adapt(progress=lambda d, t: heard.append((d, t)))
    assert heard[-1] == (6, 6) and session.adaptation_due() == 0 and session.model is not session.adapter.base


def test_a_correction_continues_the_previous_fit_with_fewer_steps() -> None:
    session = _session(_config())
    session.set_reference(0, VIDEO.labels(0))
    assert session.adapt()
    tuner = _tuner(session)
    first = tuner.fitted
    assert not tuner.warm and tuner.steps_done == 6
    session.set_reference(4, VIDEO.labels(4))  # a mask added: incremental
    assert session.adapt()
    assert tuner.warm and tuner.steps_done == 2 and tuner.fitted is not first
    changed = VIDEO.labels(0).copy()
    changed[: changed.shape[0] // 2] = 0
    session.set_reference(0, changed)  # a mask changed: a full refit from the shipped weights
    assert session.adapt()
    assert not tuner.warm and tuner.steps_done == 6


def test_the_check_scores_held_out_copies_and_keeps_a_fit_only_if_it_is_no_worse() -> None:
    session = _session(_config(steps=8, strength=1.0))  # the fit itself is what is checked
    session.set_reference(0, VIDEO.labels(0))
    session.set_reference(3, VIDEO.labels(3))
    assert session.adapt()
    tuner = _tuner(session)
    choice = tuner.choice
    assert choice is not None and 0.0 <= choice.shipped <= 1.0 and 0.0 <= choice.fitted <= 1.0
    expected = {"fitted": tuner.fitted, "shipped": session.adapter.base}
    if choice.kind in expected:
        assert session.model is expected[choice.kind]
    assert (choice.kind == "fitted") == (choice.fitted >= choice.shipped)
    frames = sorted(session.adapter.given.values(), key=lambda g: g.index)
    assert all(len(g.views) == 1 + 2 + 1 for g in frames)  # the frame, 2 trained, 1 held out
    score = held_out_iou(tuner.fitted, frames, (1,), 2, session.config.readout)
    assert score == pytest.approx(choice.fitted)


def test_a_kept_fit_is_reused_on_reopen_with_the_same_masks(tmp_path: Path) -> None:
    config = _config()
    model = build("stcn", config, untrained=True)
    folder = tmp_path / "project" / "adaptation"
    first = _session(config, model)
    first.keep_adaptation_in(folder)
    first.set_reference(0, VIDEO.labels(0))
    before = [r.labels for r in first.propagate(0, 5)]
    assert (folder / FIT_FILE).is_file() and json.loads((folder / META_FILE).read_text())["ids"] == [1]

    reopened = _session(config, model)
    reopened.keep_adaptation_in(folder)
    reopened.set_reference(0, VIDEO.labels(0))
    assert reopened.adaptation_due() == 0  # nothing to learn: the kept fit is used

    def no_fit(*args: object, **kwargs: object) -> bool:
        raise AssertionError("refitted although the masks had not changed")

    _tuner(reopened).fit = no_fit  # type: ignore[method-assign]
    again = [r.labels for r in reopened.propagate(0, 5)]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(before, again, strict=True))

    other = _session(config, model)  # another mask: the kept fit is not used
    other.keep_adaptation_in(folder)
    other.set_reference(0, VIDEO.labels(1))
    assert other.adaptation_due() == 1
    settings = _session(replace(config, adapt=replace(config.adapt, steps=5)), model)  # other settings
    settings.keep_adaptation_in(folder)
    settings.set_reference(0, VIDEO.labels(0))
    assert settings.adaptation_due() == 1


def test_a_corrupt_kept_fit_means_a_refit(tmp_path: Path) -> None:
    config = _config()
    model = build("stcn", config, untrained=True)
    first = _session(config, model)
    first.keep_adaptation_in(tmp_path)
    first.set_reference(0, VIDEO.labels(0))
    assert first.adapt()
    (tmp_path / FIT_FILE).write_bytes(b"not a torch file")
    reopened = _session(config, model)
    reopened.keep_adaptation_in(tmp_path)
    reopened.set_reference(0, VIDEO.labels(0))
    assert reopened.adapt() and _tuner(reopened).steps_done == 6  # refitted, and kept again
    assert torch.load(tmp_path / FIT_FILE, weights_only=True)["running"]


def test_adapter_sync_reports_nothing_learnt_when_stopped_during_encoding() -> None:
    config = _config()
    model = build("stcn", config, untrained=True)
    adapter = Adapter(model, config.adapt, config.readout, torch.device("cpu"))
    calls: list[int] = []

    def view(index: int):  # noqa: ANN202
        calls.append(index)
        return VIDEO.read(index), VIDEO.labels(index)

    assert adapter.sync({0: VIDEO.labels(0)}, (1,), view, should_stop=lambda: True) is None
    assert calls == [] and adapter.stale({0: VIDEO.labels(0)}, (1,))


def test_strength_runs_part_of_the_way_and_a_correction_continues_the_full_fit() -> None:
    session = _session(_config(strength=0.5, holdout=0))
    session.set_reference(0, VIDEO.labels(0))
    assert session.adapt()
    tuner, base = _tuner(session), session.adapter.base
    running, fitted = session.model, tuner.fitted
    assert running is not fitted and fitted is not None
    for run_p, fit_p, base_p in zip(
        running.decoder.parameters(), fitted.decoder.parameters(), base.decoder.parameters(), strict=True
    ):
        assert torch.allclose(run_p, base_p + 0.5 * (fit_p - base_p), atol=1e-6)
    pairs = zip(fitted.decoder.parameters(), base.decoder.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)
    session.set_reference(4, VIDEO.labels(4))
    assert session.adapt() and tuner.warm  # continues from the full fit, not from the blend
    assert tuner.fitted is not fitted and session.model is not tuner.fitted


def test_an_incremental_refit_trains_on_cut_views_and_a_full_one_on_whole_frames(monkeypatch) -> None:
    from vos_core.adapt import heads

    cuts: list[tuple[int, int]] = []
    real = heads.crop_view

    def recorded(*args: object, **kwargs: object):  # noqa: ANN202 - crop_view's own result
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        cuts.append(out[0].image_hw)
        return out

    monkeypatch.setattr(heads, "WARM_CROP", 64)
    monkeypatch.setattr(heads, "crop_view", recorded)
    session = _session(_config())
    session.set_reference(0, VIDEO.labels(0))
    assert session.adapt() and not cuts  # a full refit: whole frames
    session.set_reference(4, VIDEO.labels(4))
    assert session.adapt() and _tuner(session).warm
    assert cuts and all(cut == (64, 64) for cut in cuts)  # 96×128 frames cut to 64×64
