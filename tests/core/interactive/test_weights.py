"""Click-model weights: strict, hash-checked loading with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vos_core.errors import VosError, WeightsError
from vos_core.interactive.clicks.model import ClickHead
from vos_core.interactive.clicks.predictor import ClickSegmenter
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.weights import ModelCard, card_path, save_weights


def _encoder() -> FrozenEncoder:
    return FrozenEncoder(EfficientNetLite(), accelerate=False, threads=1)


def _save(tmp_path: Path, head: ClickHead | None = None) -> tuple[Path, ClickHead]:
    head = head or ClickHead()
    path = tmp_path / "clicks.pt"
    save_weights(head, path, ModelCard(arch="clicks", process_height=96))
    return path, head


def test_saved_weights_load_strictly_with_the_cards_height(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path, head = _save(tmp_path)
    seg = ClickSegmenter.load(path, encoder=_encoder())
    assert seg.work_height == 96 and seg.head.trained
    for key, value in head.state_dict().items():
        assert torch.equal(seg.head.state_dict()[key], value)


def test_missing_weights_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        ClickSegmenter.load(tmp_path / "absent.pt", encoder=_encoder())


def test_corrupt_weights_fail_the_hash_check(tmp_path: Path) -> None:
    path, _ = _save(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(VosError, match="hash"):
        ClickSegmenter.load(path, encoder=_encoder())


def test_weights_with_other_keys_are_refused(tmp_path: Path) -> None:
    path, head = _save(tmp_path)
    state = head.state_dict()
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, path)
    card = ModelCard.from_json(card_path(path).read_text())
    from vos_core.weights import sha256_of

    card.sha256 = sha256_of(path)
    card_path(path).write_text(card.to_json())
    with pytest.raises(WeightsError, match="do not match"):
        ClickSegmenter.load(path, encoder=_encoder())


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    path, _ = _save(tmp_path)
    card = ModelCard.from_json(card_path(path).read_text())
    card.arch = "stcn"
    card_path(path).write_text(card.to_json())
    with pytest.raises(WeightsError, match="architecture"):
        ClickSegmenter.load(path, encoder=_encoder())
