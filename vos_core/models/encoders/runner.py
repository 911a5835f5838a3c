"""Runs a frozen frame encoder, through ONNX Runtime on the CPU when available.

The plain-torch path is always there (training, GPUs, and as fallback). The ONNX graph depends on
the input size (TF 'same' padding) and the weights: it comes from
:func:`~vos_core.models.encoders.onnx_export.onnx_graph` (kept on disk, else exported in a child
process, so the calling thread never holds the GIL through an export), and its ONNX Runtime
session is shared by every encoder of the process with the same weights, size and threads (a new
video's session reuses it).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import weakref
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, EncoderFeatures
from vos_core.models.encoders.onnx_export import net_digest, onnx_graph

log = logging.getLogger(__name__)

#: ONNX Runtime sessions in use: (weights digest, height, width, threads) -> session (the most
#: recently used last; each holds a copy of the weights, so only the latest few are kept)
_SESSIONS: OrderedDict[tuple[str, int, int, int], object] = OrderedDict()
_SESSIONS_LOCK = threading.Lock()
MAX_SESSIONS = 8
#: one lock per key while its session is made (an export can take seconds)
_MAKING: dict[tuple[str, int, int, int], threading.Lock] = {}


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
        self._digest: str | None = None  # of the weights the sessions were made for

    def reset_sessions(self) -> None:
        """Forget this encoder's sessions and weights digest (the weights or threads changed): the
        next call finds or makes the sessions for the weights it then has."""
        self._sessions.clear()
        self._digest = None

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
            if self._digest is None:
                self._digest = net_digest(self.net)
            key = (self._digest, *hw, self.threads)
            with _SESSIONS_LOCK:
                making = _MAKING.setdefault(key, threading.Lock())
            with making:  # one export per key, however many engines ask at once; other keys go on
                with _SESSIONS_LOCK:
                    sess = _SESSIONS.get(key)
                if sess is None:
                    try:
                        sess = _new_session(onnx_graph(self.net, hw, self._digest), self.threads)
                    except Exception as error:  # noqa: BLE001 - a damaged kept graph: export again
                        log.warning("the kept ONNX encoder cannot be loaded (%s); exporting it again", error)
                        sess = _new_session(onnx_graph(self.net, hw, self._digest, fresh=True), self.threads)
                    log.info("encoder on ONNX Runtime for %sx%s", *hw)
                with _SESSIONS_LOCK:
                    _SESSIONS[key] = sess
                    _SESSIONS.move_to_end(key)
                    while len(_SESSIONS) > MAX_SESSIONS:
                        _SESSIONS.popitem(last=False)
            self._sessions[hw] = sess
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


def _new_session(graph: bytes, threads: int):  # noqa: ANN202 - onnxruntime type is optional
    """An ONNX Runtime CPU session of the serialised ``graph`` with ``threads`` intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
