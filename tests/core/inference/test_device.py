"""The engine runs on the session's device only.

Without CUDA this is checked on the CPU: while frames are processed, tensor factories called without
``device=`` make "meta" tensors (``torch.device("meta")`` as the default device) and every torch call
that mixes tensors of two devices fails (``OneDevice``), so a tensor made on a default device where
the session's was meant shows up as an error here, as it would on a GPU. With CUDA, every
architecture also runs there and gives the CPU's masks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from tests.core.synthetic import SyntheticVideo, iou
from vos_core.config import MemoryConfig, SessionConfig
from vos_core.devices import device_label, pick_device
from vos_core.errors import VosInputError
from vos_core.inference.session import InferenceSession
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.models.registry import get_spec, usable_arch_names

ARCHS = usable_arch_names()
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
#: memory limits small enough that a short video consolidates and evicts
TIGHT = MemoryConfig(every=1, working_size=1, long_term_size=1, recent_gap=1)


class OneDevice(TorchFunctionMode):
    """Fails any torch call whose tensor arguments live on more than one device (CPU scalars aside)."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        devices = {t.device for t in tree_leaves((args, kwargs))
                   if isinstance(t, torch.Tensor) and not (t.dim() == 0 and t.device.type == "cpu")}
        if len(devices) > 1:
            name = getattr(func, "__name__", func)
            raise AssertionError(f"{name} mixes devices {sorted(map(str, devices))}")
        return func(*args, **kwargs)


@contextmanager
def strict_device() -> Iterator[None]:
    """Factories without ``device=`` make meta tensors; mixing devices fails (this thread only)."""
    with torch.device("meta"), OneDevice():
        yield


def test_the_checker_catches_a_tensor_made_on_the_default_device() -> None:
    usage = torch.zeros(4)
    with strict_device(), pytest.raises(AssertionError, match="mixes devices"):
        usage += torch.ones(4)  # made without device=: the bug of issue 13's record_usage


@pytest.mark.parametrize("arch", ARCHS)
def test_a_session_makes_every_tensor_on_its_device(arch: str, one_thread: None) -> None:
    video = SyntheticVideo(14, (128, 160), objects=2, appear={2: 6})
    session = InferenceSession(video, SessionConfig(arch=arch, device="cpu", accelerate=False, memory=TIGHT))
    with strict_device():  # step() runs in this thread (propagate() encodes ahead on another)
        session.annotate(0, video.labels(0))
        for i in range(1, 6):
            session.step(video.read(i), i)
        session.annotate(6, video.labels(6))  # a second object appears
        for i in range(7, 12):
            result = session.step(video.read(i), i)
        stats = session.memory_stats()
        session.pin(stats.entries[-1].id)
        session.evict(stats.entries[0].id)
        session.remove_object(2)
        session.reseed(12, video.labels(12) == 1)
        result = session.step(video.read(13), 13)
    assert result.labels.shape == (128, 160) and result.memory.entries
    assert all(e.usage >= 0 for e in result.memory.entries)


@pytest.mark.parametrize("accelerate", [True, False])
def test_the_cpu_path_is_device_clean_and_unchanged_by_the_check(accelerate: bool, one_thread: None) -> None:
    video = SyntheticVideo(8, (128, 160), objects=1)
    runs = []
    for strict in (True, False):
        session = InferenceSession(video, SessionConfig(device="cpu", accelerate=accelerate))
        with strict_device() if strict else nullcontext():
            session.annotate(0, video.labels(0))
            runs.append([session.step(video.read(i), i).labels for i in range(1, 8)])
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))


def test_auto_picks_cuda_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(VosInputError, match="CUDA"):
        pick_device("cuda")
    with pytest.raises(VosInputError, match="unknown device"):
        pick_device("tpu")
    assert device_label(pick_device("cpu")) == "CPU"


@cuda
@pytest.mark.parametrize("arch", ARCHS)
def test_cuda_gives_the_cpu_masks(arch: str) -> None:
    video = SyntheticVideo(12, (192, 256), objects=2)
    runs = {}
    for device in ("cuda", "cpu"):
        session = InferenceSession(video, SessionConfig(arch=arch, device=device))
        session.annotate(0, video.labels(0))
        runs[device] = [r.labels for r in session.propagate(0, len(video) - 1)]
        if device == "cuda":
            entry = session.bank.entries()[0]
            assert entry.features.key.is_cuda and entry.pixel_usage.is_cuda
    for gpu, cpu in zip(runs["cuda"], runs["cpu"], strict=True):
        for obj in (1, 2):
            assert iou(gpu == obj, cpu == obj) > 0.97
    assert np.mean([(g == c).mean() for g, c in zip(runs["cuda"], runs["cpu"], strict=True)]) > 0.99


@pytest.mark.parametrize("arch", ARCHS)
def test_model_state_moves_with_the_model(arch: str) -> None:
    """Every tensor a model holds is a parameter or a buffer (``model.to(device)`` moves those); its
    frame encoder gives features on the input's device, the shared network staying where it was."""
    model = get_spec(arch).build(SessionConfig(arch=arch, accelerate=False))
    for module in model.modules():
        loose = [name for name, value in vars(module).items() if isinstance(value, torch.Tensor)]
        assert not loose, f"{type(module).__name__} holds tensors {loose} that .to() would not move"
    encoder = next(v for m in model.modules() for v in vars(m).values() if isinstance(v, FrozenEncoder)) \
        if arch == "propagation" else model.backbone.encoder
    home = next(encoder.net.parameters()).device
    features = encoder(torch.zeros(1, 3, 64, 64, device="meta"))
    assert features.s16.device.type == "meta" and next(encoder.net.parameters()).device == home
    assert encoder.net_on("meta") is encoder.net_on("meta")  # one copy per device
