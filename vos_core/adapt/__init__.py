"""Adaptation to the video at hand: every mask the user gives is training data about this object.

One :class:`Adapter` per inference session, shared by every architecture. It keeps each given
frame's augmented, encoded views (:mod:`vos_core.adapt.samples`) and refits its method when the
given masks have changed (:meth:`Adapter.sync`, called by the session when a run starts):

- ``"heads"`` (:class:`~vos_core.adapt.heads.HeadTuner`): a private copy of the model's heads
  fine-tuned on pseudo-clips of the given frames; the session then runs that copy;
- ``"target"`` (:class:`~vos_core.adapt.target.TargetModel`): a linear classifier on the frozen
  features whose scores are fused with the decoder's output (:meth:`Adapter.refine`).

Models without trained heads (``propagation``) always use ``"target"``. The shared model instance
is never modified. The work is bounded: ``copies`` encoder passes per given mask and ``steps``
optimiser steps per refit (or one closed-form solve).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping

import numpy as np
import torch

from vos_core.adapt.heads import HeadTuner
from vos_core.adapt.samples import GivenFrame, encode_given
from vos_core.adapt.target import TargetModel
from vos_core.config import AdaptConfig, ReadoutConfig
from vos_core.models.base import FrameFeatures, VosModel
from vos_core.models.parts.model import LearnedVosModel
from vos_core.threads import torch_threads

__all__ = ["Adapter", "AdaptConfig"]

#: given masks learnt from at most (the latest): each keeps ``copies + 1`` encoded views (about
#: 10 MB at 384×683), so memory stays bounded however many corrections a video gets
MAX_GIVEN = 12


def _digest(labels: np.ndarray) -> bytes:
    return hashlib.blake2b(labels.tobytes(), digest_size=16, person=str(labels.shape).encode()[:16]).digest()


class Adapter:
    """Learns from the given masks of one video; ``model`` is the model the session should run."""

    def __init__(
        self, model: VosModel, config: AdaptConfig, readout: ReadoutConfig, device: torch.device
    ) -> None:
        self.base = model
        self.config = config
        self.device = device
        self.method: HeadTuner | TargetModel
        if config.method == "heads" and isinstance(model, LearnedVosModel):
            self.method = HeadTuner(model, config, readout)
        else:
            self.method = TargetModel(model, config)
        #: the given frames learnt from: frame -> its encoded views, and the mask they were made of
        self.given: dict[int, GivenFrame] = {}
        #: a digest of every given mask, in the order they were given (changed ones move last)
        self._known: dict[int, bytes] = {}
        self._ids: tuple[int, ...] = ()
        #: seconds the latest :meth:`sync` that refitted took (reading, encoding and fitting)
        self.last_seconds = 0.0

    @property
    def model(self) -> VosModel:
        return self.method.model

    def stale(self, masks: Mapping[int, np.ndarray], ids: tuple[int, ...]) -> bool:
        """True when :meth:`sync` with these given masks (frame -> H×W labels) and objects ``ids``
        would refit now: adaptation on, and a mask new, changed or gone, or ``ids`` changed. Reads
        only (callers announce the refit with it, e.g. before a run's first frame)."""
        if not self.config.enabled:
            return False
        if ids != self._ids or set(masks) != set(self._known):
            return True
        return any(self._known[index] != _digest(labels) for index, labels in masks.items())

    @staticmethod
    def learns_from(masks: Mapping[int, np.ndarray]) -> int:
        """How many of these given masks a refit learns from (the latest ``MAX_GIVEN``)."""
        return min(len(masks), MAX_GIVEN)

    def sync(
        self,
        masks: Mapping[int, np.ndarray],
        ids: tuple[int, ...],
        view: Callable[[int], tuple[np.ndarray, np.ndarray]],
    ) -> VosModel:
        """Learn from these given masks (frame -> H×W labels) for the objects ``ids``: when any is
        new, changed or gone (or ``ids`` changed), the latest ``MAX_GIVEN`` given masks are used
        (a new session takes them in frame order): those not yet encoded are augmented and encoded
        (``view(frame)``: the frame, h×w×3 uint8, and its mask, h×w, at the processing size) and
        the method is refitted once. -> the model to run (the shared one while nothing is learnt)."""
        if not self.config.enabled:
            return self.base
        t0 = time.perf_counter()
        if not self.stale(masks, ids):
            return self.model
        for index in list(self._known):
            if index not in masks or self._known[index] != _digest(masks[index]):
                del self._known[index]
        for index in sorted(masks):
            if index not in self._known:
                self._known[index] = _digest(masks[index])
        keep = list(self._known)[-MAX_GIVEN:]  # the latest given
        self.given = {i: g for i, g in self.given.items() if i in keep and i in masks}
        cfg = self.config
        # what is kept and trained must not be inference tensors; a refit runs before the frames of
        # a run, never beside them, so it may use every core (the GUI waits for it; GIL probe: 15 ms)
        with torch.inference_mode(False), torch_threads(cfg.threads):
            for index in keep:
                if index not in self.given:
                    rgb, small = view(index)
                    self.given[index] = encode_given(
                        self.base, index, rgb, small, cfg.copies, cfg.seed, self.device
                    )
            self._ids = ids
            self.method.fit(self.given, ids)
        self.last_seconds = time.perf_counter() - t0
        return self.model

    def refine(self, frame: FrameFeatures, probs: torch.Tensor) -> torch.Tensor:
        """O×H×W decoder probabilities of a frame -> adapted probabilities (same shape)."""
        if not self.config.enabled:
            return probs
        return self.method.refine(frame, probs)
