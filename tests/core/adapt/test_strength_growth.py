"""AdaptConfig.strength_growth: the adaptation runs further toward its fit as given masks add up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.adapt.test_refit_job import VIDEO, _config, _session, _tuner
from vos_core.config import AdaptConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "weights"))


def _share(session) -> float:
    """How far the running decoder is from the shipped one toward the fit (least squares)."""
    tuner, base = _tuner(session), session.adapter.base
    num = den = 0.0
    for run_p, fit_p, base_p in zip(
        session.model.decoder.parameters(), tuner.fitted.decoder.parameters(), base.decoder.parameters(),
        strict=True,
    ):
        step = fit_p - base_p
        num += float(((run_p - base_p) * step).sum())
        den += float((step * step).sum())
    return num / den


def test_each_further_mask_adds_its_growth_up_to_the_full_fit() -> None:
    session = _session(_config(strength=0.5, strength_growth=0.3, holdout=0))
    session.set_reference(0, VIDEO.labels(0))
    assert session.adapt()
    assert _share(session) == pytest.approx(0.5, abs=1e-4)  # one mask: the base strength
    session.set_reference(3, VIDEO.labels(3))
    assert session.adapt()
    assert _share(session) == pytest.approx(0.8, abs=1e-4)
    session.set_reference(5, VIDEO.labels(5))
    assert session.adapt()
    assert session.model is _tuner(session).fitted  # 1.1 is capped at the fit itself


def test_a_negative_growth_is_refused() -> None:
    with pytest.raises(ValueError, match="strength_growth"):
        AdaptConfig(strength_growth=-0.1)
