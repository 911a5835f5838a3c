"""The architecture registry: builds by name, untrained only when asked, configs from model cards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vos_core.data.masks import write_mask
from vos_core.errors import WeightsError
from vos_core.models.archs.stcn import StcnConfig
from vos_core.models.registry import build, get_spec
from vos_core.weights import ModelCard, card_path, save_weights, weights_dir

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_trained_arch_without_weights_is_an_error_not_random_heads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="stcn.pt not found"):
        build("stcn")
    model = build("stcn", untrained=True)
    assert not model.trained and model.name == "stcn"
    assert not build("propagation").trained  # training-free: nothing to load


def test_the_card_records_the_config_and_the_registry_builds_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = get_spec("stcn")
    small = StcnConfig(key_dim=32, value_hidden=(16, 32, 32), tuned_blocks=1)
    torch.manual_seed(0)
    model = spec.make(build("propagation").encoder, small)
    save_weights(model, tmp_path / "stcn.pt", ModelCard(arch="stcn"))
    card = json.loads(card_path(tmp_path / "stcn.pt").read_text())
    assert card["config"]["key_dim"] == 32 and card["config"]["value_hidden"] == [16, 32, 32]
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path))
    built = build("stcn")
    assert built.trained and built.config == small
    for (k, a), (k2, b) in zip(model.state_dict().items(), built.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b)
    # a config the architecture does not know is a weights error, not a crash
    card["config"]["no_such_width"] = 3
    card_path(tmp_path / "stcn.pt").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="config does not fit"):
        build("stcn")


def test_cards_without_a_config_load_with_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = weights_dir() / "stcn.pt"
    if not shipped.is_file():
        pytest.skip("no shipped stcn weights")
    card = json.loads(card_path(shipped).read_text())
    card.pop("config", None)  # as written before configs were recorded
    shutil.copy(shipped, tmp_path / "stcn.pt")
    card_path(tmp_path / "stcn.pt").write_text(json.dumps(card))
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path))
    model = build("stcn")
    assert model.trained and model.config == StcnConfig()


def test_the_cli_reports_missing_weights_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vos_core.evaluate import main

    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "none"))
    davis = tmp_path / "davis"
    for folder in ("JPEGImages/480p/seq", "Annotations/480p/seq"):
        (davis / folder).mkdir(parents=True)
    rgb = np.zeros((32, 48, 3), np.uint8)
    Image.fromarray(rgb).save(davis / "JPEGImages/480p/seq/00000.jpg")
    write_mask(davis / "Annotations/480p/seq/00000.png", np.ones((32, 48), np.uint8))
    code = main(["--davis", str(davis), "--out", str(tmp_path / "out"), "--arch", "stcn", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "stcn.pt not found" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
