"""Runs a frozen frame encoder, through ONNX Runtime on the CPU when available.

The plain-torch path is always there (training, GPUs, and as fallback). The ONNX graph is exported
in memory once per input size (TF 'same' padding depends on it) and kept for the process.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import warnings
import weakref

import numpy as np
import torch
from torch import nn

from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, EncoderFeatures

log = logging.getLogger(__name__)


class _Outputs(nn.Module):
    def __init__(self, net: EfficientNetLite) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.net(x)
        return f.s4, f.s8, f.s16


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


#: copies of shared frozen networks on other devices: network -> {device: copy}
_DEVICE_COPIES: weakref.WeakKeyDictionary[nn.Module, dict[torch.device, nn.Module]] = (
    weakref.WeakKeyDictionary()
)


def canonical(device: torch.device | str) -> torch.device:
    """``cuda`` -> ``cuda:<current>`` (what parameters report), others unchanged."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


class FrozenEncoder:
    """Callable: 1×3×H×W float RGB in [0, 255] -> :class:`EncoderFeatures` on the input's device (no
    gradients). Runs through ONNX Runtime for CPU inputs when ``accelerate``, else the torch network
    on the input's device (:meth:`net_on`)."""

    def __init__(
        self, net: EfficientNetLite, accelerate: bool = True, threads: int = 0, freeze: bool = True
    ) -> None:
        """freeze=False leaves ``requires_grad`` as it is (a model's fine-tuned blocks)."""
        self.net = net.eval()
        self.frozen = freeze
        if freeze:
            for p in self.net.parameters():
                p.requires_grad_(False)
        self.threads = threads or (os.cpu_count() or 1)
        self.accelerate = accelerate and onnxruntime_available()
        self._sessions: dict[tuple[int, int], object] = {}

    def reset_sessions(self) -> None:
        """Drop the exported graphs (they hold a copy of the weights); the next call re-exports."""
        self._sessions.clear()

    def _device(self) -> torch.device:
        return next(self.net.parameters()).device

    def net_on(self, device: torch.device | str) -> EfficientNetLite:
        """The network on ``device``. A shared frozen network stays where it is and gets one copy per
        other device (made once per process and network, shared by every encoder that wraps it), so
        sessions on different devices can run side by side; a network of one model's own
        (``freeze=False``: its fine-tuned blocks are the model's and move with it) moves there."""
        device = canonical(device)
        if self._device() == device:
            return self.net
        if not self.frozen:
            return self.net.to(device)
        copies = _DEVICE_COPIES.setdefault(self.net, {})
        if device not in copies:
            copies[device] = copy.deepcopy(self.net).to(device).eval()
        return copies[device]  # type: ignore[return-value]

    def _session(self, hw: tuple[int, int]):  # noqa: ANN202 - onnxruntime type is optional
        sess = self._sessions.get(hw)
        if sess is None:
            import onnxruntime as ort

            buf = io.BytesIO()
            dummy = torch.zeros(1, 3, *hw)
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    _Outputs(self.net).eval(), (dummy,), buf, input_names=["rgb"],
                    output_names=["s4", "s8", "s16"], opset_version=17, dynamo=False,
                )
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.log_severity_level = 3
            sess = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
            self._sessions[hw] = sess
            log.info("exported encoder to ONNX Runtime for %sx%s", *hw)
        return sess

    def __call__(self, rgb: torch.Tensor) -> EncoderFeatures:
        if self.accelerate and rgb.device.type == "cpu" and self._device().type == "cpu":
            try:
                sess = self._session((int(rgb.shape[2]), int(rgb.shape[3])))
                s4, s8, s16 = sess.run(None, {"rgb": np.ascontiguousarray(rgb.numpy())})  # type: ignore[attr-defined]
                return EncoderFeatures(torch.from_numpy(s4), torch.from_numpy(s8), torch.from_numpy(s16))
            except Exception as exc:  # noqa: BLE001 - any exporter/runtime failure: use torch
                log.warning("ONNX Runtime encoder unavailable (%s); using torch", exc)
                self.accelerate = False
        with torch.inference_mode():
            return self.net_on(rgb.device)(rgb)
