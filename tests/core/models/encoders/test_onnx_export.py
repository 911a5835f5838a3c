"""The encoder's ONNX graph: exported in a child process, kept on disk, shared between encoders."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from vos_core.models.encoders import onnx_export, runner
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite
from vos_core.models.encoders.onnx_export import cache_dir, net_digest, onnx_graph
from vos_core.models.encoders.runner import FrozenEncoder, onnxruntime_available

pytestmark = pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime not installed")

HW = (64, 96)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty graph cache of the test's own, and no sessions shared from other tests."""
    monkeypatch.setenv("VOS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(runner, "_SESSIONS", type(runner._SESSIONS)())
    return tmp_path / "cache" / "onnx"


def _net(seed: int = 0) -> EfficientNetLite:
    torch.manual_seed(seed)
    return EfficientNetLite().eval()


def test_the_child_exports_what_torch_computes_and_the_graph_is_kept(cache: Path, monkeypatch) -> None:
    net = _net()
    x = torch.rand(1, 3, *HW) * 255
    fast = FrozenEncoder(net)(x)
    with torch.no_grad():
        slow = net(x)
    for a, b in ((fast.s4, slow.s4), (fast.s8, slow.s8), (fast.s16, slow.s16)):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-3 * float(b.abs().max()))
    kept = list(cache.glob("*.onnx"))
    assert [p.name for p in kept] == [f"{net_digest(net)}-64x96.onnx"]
    assert cache == cache_dir() / ""

    def no_export(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("exported again although the graph is kept")

    monkeypatch.setattr(onnx_export, "export_in_child", no_export)
    monkeypatch.setattr(onnx_export, "export_here", no_export)
    assert onnx_graph(net, HW) == kept[0].read_bytes()


def test_encoders_with_the_same_weights_share_one_session(cache: Path) -> None:
    net = _net()
    twin = _net()
    other = _net(seed=1)
    a, b, c = FrozenEncoder(net), FrozenEncoder(twin), FrozenEncoder(other)
    assert net_digest(net) == net_digest(twin) != net_digest(other)
    assert a._session(HW) is b._session(HW)
    assert c._session(HW) is not a._session(HW)
    assert FrozenEncoder(net, threads=a.threads + 1)._session(HW) is not a._session(HW)


def test_changed_weights_get_their_own_graph(cache: Path) -> None:
    net = _net()
    enc = FrozenEncoder(net, freeze=False)
    x = torch.rand(1, 3, *HW) * 255
    before = enc(x).s16
    with torch.no_grad():
        net._blocks[net.end_s16 - 1]._bn2.bias.add_(1.0)
    enc.reset_sessions()  # what a model does when its fine-tuned blocks change (Backbone.refresh)
    after = enc(x).s16
    with torch.no_grad():
        expected = net(x).s16
    scale = float(expected.abs().max())  # a random network's features are tiny
    assert (after - before).abs().max() > 0.1 * scale
    assert torch.allclose(after, expected, atol=1e-3 * scale)
    assert len(list(cache.glob("*.onnx"))) == 2


def test_a_failing_child_falls_back_to_exporting_here(cache: Path, monkeypatch, caplog) -> None:
    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise RuntimeError("no child today")

    monkeypatch.setattr(onnx_export, "export_in_child", broken)
    net = _net()
    with caplog.at_level(logging.WARNING, logger=onnx_export.__name__):
        graph = onnx_graph(net, HW)
    assert graph[:64] and "no child today" in caplog.text
    assert (cache / f"{net_digest(net)}-64x96.onnx").read_bytes() == graph


def test_a_damaged_kept_graph_is_exported_again(cache: Path) -> None:
    net = _net()
    path = cache / f"{net_digest(net)}-64x96.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx model")
    enc = FrozenEncoder(net)
    x = torch.rand(1, 3, *HW) * 255
    out = enc(x)
    assert enc.accelerate  # still on ONNX Runtime, not fallen back to torch
    with torch.no_grad():
        expected = net(x).s16
    assert torch.allclose(out.s16, expected, atol=1e-3 * float(expected.abs().max()))
    assert path.read_bytes() != b"not an onnx model"


def test_engines_asking_at_once_share_one_export(cache: Path, monkeypatch) -> None:
    exports: list[tuple[int, int]] = []
    real = onnx_export.export_in_child

    def counted(net: EfficientNetLite, hw: tuple[int, int], *args: object) -> bytes:
        exports.append(hw)
        return real(net, hw, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(onnx_export, "export_in_child", counted)
    net = _net()
    encoders = [FrozenEncoder(net) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        sessions = list(pool.map(lambda e: e._session(HW), encoders))
    assert exports == [HW] and all(s is sessions[0] for s in sessions)
