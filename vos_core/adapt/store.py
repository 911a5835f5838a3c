"""The kept fit: an adaptation saved in a folder (the app's project), so a reopened video whose given
masks have not changed runs no refit and propagates exactly as before.

Two files, each written atomically: ``fit.pt`` (the head copy's tensors: the model the session runs
and, when the held-out check chose another, the fit an incremental refit continues; read with
``torch.load(weights_only=True)`` and loaded with strict keys) and then ``fit.json``, what the fit
learnt from: the digest of every given mask (frame -> digest, in the order given), the object ids,
the adaptation settings (all but the thread count), the architecture and a digest of the shipped
weights the fit started from. A fit is used only when all of these match; otherwise the session
refits as if nothing were kept (and replaces the files). Only the ``heads`` method is kept (the
target model is one closed-form solve).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vos_core.adapt.check import Choice
from vos_core.adapt.heads import SHARED_MODULES, HeadTuner, head_copy
from vos_core.data.atomic import atomic_path, atomic_write_bytes
from vos_core.errors import VosError
from vos_core.models.parts.model import LearnedVosModel

if TYPE_CHECKING:
    from vos_core.adapt import Adapter

log = logging.getLogger(__name__)

FORMAT = 1
FIT_FILE = "fit.pt"
META_FILE = "fit.json"


def _head_state(model: LearnedVosModel) -> dict[str, torch.Tensor]:
    """The head copy's own tensors (its state without the shared modules')."""
    shared = tuple(f"{name}." for name in SHARED_MODULES)
    return {k: v.detach().clone() for k, v in model.state_dict().items() if not k.startswith(shared)}


def _load_head_state(base: LearnedVosModel, state: dict[str, torch.Tensor]) -> LearnedVosModel:
    """A head copy of ``base`` with ``state``; every head key must be there, and nothing else."""
    model = head_copy(base)
    shared = tuple(f"{name}." for name in SHARED_MODULES)
    full = model.state_dict()
    expected = {k for k in full if not k.startswith(shared)}
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise VosError(f"the kept fit is not this model's ({missing[:3]} missing, {unexpected[:3]} unknown)")
    model.load_state_dict({**full, **state}, strict=True)  # the shared modules' own tensors + the fit
    return model


def weights_digest(model: LearnedVosModel) -> str:
    """A digest of the shipped head weights a fit starts from (a new model version -> a new fit)."""
    h = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(_head_state(model).items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class AdaptationStore:
    """The fit kept in ``folder`` (created when first saved)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._base_digest: str | None = None

    def meta(self, adapter: Adapter, known: dict[int, bytes], ids: tuple[int, ...]) -> dict[str, Any]:
        """What a fit of ``adapter`` on these mask digests and objects would be kept with."""
        base = adapter.base
        if self._base_digest is None and isinstance(base, LearnedVosModel):
            self._base_digest = weights_digest(base)
        settings = {k: v for k, v in asdict(adapter.config).items() if k != "threads"}
        return {
            "format": FORMAT,
            "model": type(base).__name__,
            "weights": self._base_digest,
            "settings": settings,
            "ids": list(ids),
            "masks": [[index, digest.hex()] for index, digest in known.items()],
        }

    def _read_meta(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.folder / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    @staticmethod
    def _same(kept: dict[str, Any], wanted: dict[str, Any]) -> bool:
        """Equal, the masks compared as frame -> digest (their order is the kept one's)."""
        try:
            kept_masks = {int(i): str(d) for i, d in kept.get("masks", [])}
        except (TypeError, ValueError):
            return False
        wanted_masks = {int(i): str(d) for i, d in wanted["masks"]}
        rest = {k: v for k, v in wanted.items() if k != "masks"}
        return kept_masks == wanted_masks and all(kept.get(k) == v for k, v in rest.items())

    def matches(self, adapter: Adapter, known: dict[int, bytes], ids: tuple[int, ...]) -> bool:
        """True when the kept fit learnt from exactly these masks and objects, with these settings."""
        if not isinstance(adapter.method, HeadTuner):
            return False
        kept = self._read_meta()
        return kept is not None and self._same(kept, self.meta(adapter, known, ids))

    def load(self, adapter: Adapter, known: dict[int, bytes], ids: tuple[int, ...]) -> bool:
        """Install the kept fit in ``adapter`` when it :meth:`matches` -> True; a missing,
        corrupt or foreign file -> False (logged; the caller refits)."""
        method = adapter.method
        if not isinstance(method, HeadTuner) or not isinstance(adapter.base, LearnedVosModel):
            return False
        kept = self._read_meta()
        if kept is None or not self._same(kept, self.meta(adapter, known, ids)):
            return False
        try:
            data = torch.load(self.folder / FIT_FILE, map_location=adapter.device, weights_only=True)
            running = _load_head_state(adapter.base, data["running"])
            fitted = _load_head_state(adapter.base, data["fitted"]) if "fitted" in data else running
            choice = kept.get("choice")
        except Exception as error:  # noqa: BLE001 - any unreadable or foreign file: refit instead
            log.warning("the kept adaptation in %s cannot be used: %s", self.folder, error)
            return False
        kind = choice.get("kind") if isinstance(choice, dict) else "fitted"
        method.fitted = fitted
        method.model = adapter.base if kind == "shipped" else running
        method.choice = Choice(**choice) if isinstance(choice, dict) else None
        adapter.adopt({int(i): bytes.fromhex(d) for i, d in kept["masks"]}, ids)
        return True

    def save(self, adapter: Adapter) -> None:
        """Keep ``adapter``'s latest fit (heads only); errors are logged, never raised."""
        method = adapter.method
        if not isinstance(method, HeadTuner) or method.fitted is None:
            return
        running = method.model if isinstance(method.model, LearnedVosModel) else method.fitted
        data = {"running": _head_state(running)}
        if method.fitted is not running:
            data["fitted"] = _head_state(method.fitted)
        meta = self.meta(adapter, adapter.known, adapter.ids)
        meta["choice"] = asdict(method.choice) if method.choice is not None else None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / META_FILE).unlink(missing_ok=True)  # never a description of other tensors
            with atomic_path(self.folder / FIT_FILE) as tmp:
                torch.save(data, tmp)
            atomic_write_bytes(self.folder / META_FILE, json.dumps(meta, indent=1).encode("utf-8"))
        except (OSError, VosError) as error:
            log.warning("could not keep the adaptation in %s: %s", self.folder, error)
