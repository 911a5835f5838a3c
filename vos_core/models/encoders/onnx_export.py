"""The frame encoder as an ONNX graph: exported in a child process and kept on disk.

``torch.onnx.export`` holds the GIL for up to a second and more (its graph passes are long C++
calls), which froze every other thread of the calling process, the application's GUI thread
included, whenever an engine met a new frame size. :func:`onnx_graph` therefore never exports in
the calling process when it can help it:

1. the graph kept on disk for these weights and this input size, if any
   (:func:`cache_dir`: ``$VOS_CACHE_DIR/onnx``, else ``$XDG_CACHE_HOME/vos-annotator/onnx``, else
   ``~/.cache/vos-annotator/onnx``; never inside the repository); else
2. a child process (``python -m vos_core.models.encoders.onnx_export``) exports it: the caller
   only waits (no GIL held), and the graph is then kept on disk (written atomically); else, when
   the child fails,
3. the export runs here, as before (logged).

A kept graph is named by :func:`net_digest`: the network's layout and every tensor of its state,
the torch version and the opset, so new or fine-tuned weights never meet a stale graph.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import astuple
from pathlib import Path

import torch
from torch import nn

from vos_core.data.atomic import atomic_write_bytes
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, StageSpec

log = logging.getLogger(__name__)

OPSET = 17
#: bump when the exported graph changes for the same weights (e.g. new outputs)
FORMAT = 1
#: seconds the child export may take (a busy 2-core machine needs a few: it imports torch first)
CHILD_TIMEOUT_S = 600.0


class _Outputs(nn.Module):
    """The encoder's stride 4, 8 and 16 maps as a tuple (what the graph outputs)."""

    def __init__(self, net: EfficientNetLite) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.net(x)
        return f.s4, f.s8, f.s16


def cache_dir() -> Path:
    """Where exported graphs are kept (see the module docstring)."""
    own = os.environ.get("VOS_CACHE_DIR")
    if own:
        return Path(own) / "onnx"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vos-annotator" / "onnx"


def net_digest(net: EfficientNetLite) -> str:
    """A digest of everything the exported graph depends on: the stage table, every state tensor
    (name, dtype, shape, bytes), the torch version, the opset and :data:`FORMAT`."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([FORMAT, OPSET, torch.__version__, [astuple(s) for s in net.stages]]).encode())
    for name, tensor in net.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))  # hashlib drops the GIL here
    return h.hexdigest()


def export_here(net: EfficientNetLite, hw: tuple[int, int]) -> bytes:
    """Export ``net`` (1×3×H×W RGB -> s4, s8, s16) for input size ``hw`` in this process -> the
    ONNX model's bytes. Holds the GIL for most of its run."""
    buf = io.BytesIO()
    dummy = torch.zeros(1, 3, *hw)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Outputs(net).eval(), (dummy,), buf, input_names=["rgb"],
            output_names=["s4", "s8", "s16"], opset_version=OPSET, dynamo=False,
        )
    return buf.getvalue()


def _child_env() -> dict[str, str]:
    """The caller's environment, with this ``vos_core``'s folder first on the child's path (so the
    child runs this code, whatever else is installed)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def export_in_child(net: EfficientNetLite, hw: tuple[int, int], timeout: float = CHILD_TIMEOUT_S) -> bytes:
    """:func:`export_here` in a child process (this thread waits without the GIL) -> the bytes.
    Raises ``RuntimeError`` (with the child's output) or ``subprocess.TimeoutExpired``."""
    with tempfile.TemporaryDirectory(prefix="vos-onnx-") as tmp:
        src, out = Path(tmp) / "net.pt", Path(tmp) / "net.onnx"
        layout = {"stages": [list(astuple(s)) for s in net.stages], "head": net._conv_head.out_channels}
        torch.save({**layout, "state": net.state_dict()}, src)
        done = subprocess.run(
            [sys.executable, "-m", __name__, str(src), str(out), str(hw[0]), str(hw[1])],
            capture_output=True, text=True, timeout=timeout, env=_child_env(), check=False,
        )
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"the export process failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return out.read_bytes()


def onnx_graph(
    net: EfficientNetLite, hw: tuple[int, int], digest: str | None = None, fresh: bool = False
) -> bytes:
    """The ONNX model of ``net`` for input size ``hw`` (``digest``: its :func:`net_digest`, if
    known): kept on disk (unless ``fresh``: the kept one was unusable), else exported in a child
    process and kept, else exported here."""
    digest = digest or net_digest(net)
    path = cache_dir() / f"{digest}-{hw[0]}x{hw[1]}.onnx"
    if not fresh:
        try:
            return path.read_bytes()
        except OSError:
            pass
    try:
        data = export_in_child(net, hw)
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        log.warning("exporting the encoder in a child process failed (%s); exporting here", error)
        data = export_here(net, hw)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError as error:
        log.warning("could not keep the exported encoder in %s: %s", path.parent, error)
    return data


def main(argv: list[str] | None = None) -> int:
    """(The child.) Read a network saved by :func:`export_in_child`, write its ONNX model."""
    parser = argparse.ArgumentParser(description="Export a saved frame encoder to ONNX (internal).")
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("height", type=int)
    parser.add_argument("width", type=int)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    saved = torch.load(args.source, map_location="cpu", weights_only=True)
    net = EfficientNetLite(tuple(StageSpec(*s) for s in saved["stages"]), head_channels=saved["head"])
    net.load_state_dict(saved["state"], strict=True)
    args.out.write_bytes(export_here(net.eval(), (args.height, args.width)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
