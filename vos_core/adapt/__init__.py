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
from pathlib import Path

import numpy as np
import torch

from vos_core.adapt.heads import HeadTuner, Progress
from vos_core.adapt.samples import GivenFrame, encode_given
from vos_core.adapt.store import AdaptationStore
from vos_core.adapt.target import TargetModel
from vos_core.config import AdaptConfig, ReadoutConfig
from vos_core.models.base import FrameFeatures, VosModel
from vos_core.models.encoders.shared import model_encoder_threads
from vos_core.models.parts.model import LearnedVosModel
from vos_core.threads import CoreMeter, cpu_cores, torch_threads

__all__ = ["Adapter", "AdaptConfig", "Progress"]

#: given masks learnt from at most (the latest): each keeps ``copies + 1`` encoded views (about
#: 10 MB at 384×683), so memory stays bounded however many corrections a video gets
MAX_GIVEN = 12


#: a given mask is learnt from only when its foreground covers at least this share of the largest
#: given foreground (see :func:`teaching`)
TEACH_MIN_SHARE = 0.1


def teaching(masks: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
    """The given masks (frame -> H×W labels) a fit learns from: those whose foreground is at least
    :data:`TEACH_MIN_SHARE` of the largest given foreground. A correction where the object is
    hidden, leaving or entering (bmx-bumps: a 142-pixel sliver of a rider who covers about 10,000
    pixels elsewhere; frames where it is gone) stays a reference, but a fit that learnt from it
    segmented bits of the scene on the frames around it (bmx-bumps J&F 0.779 -> 0.759 after that
    one correction, 0.802 without the refit). Measured against the largest mask, not a median, so
    that more small corrections do not move the bar and drop older masks from the fit (that would
    turn the next incremental refit into a full one)."""
    areas = {index: int(np.count_nonzero(labels)) for index, labels in masks.items()}
    largest = max(areas.values(), default=0)
    if not largest:
        return {}
    floor = TEACH_MIN_SHARE * largest
    return {index: masks[index] for index in masks if areas[index] and areas[index] >= floor}


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
        #: where the fit is kept (:meth:`keep_in`); None: nowhere
        self.store: AdaptationStore | None = None

    def keep_in(self, folder: str | Path | None) -> None:
        """Keep each fit in ``folder`` (:mod:`vos_core.adapt.store`) and use the fit kept there
        when it learnt from the same masks; None: keep nothing."""
        self.store = None if folder is None else AdaptationStore(folder)

    @property
    def known(self) -> dict[int, bytes]:
        """The digest of every mask the latest fit learnt from (frame -> digest, in the order given)."""
        return dict(self._known)

    @property
    def ids(self) -> tuple[int, ...]:
        return self._ids

    def adopt(self, known: dict[int, bytes], ids: tuple[int, ...]) -> None:
        """(The store, after installing a kept fit.) The fit learnt from these masks and objects."""
        self._known, self._ids = dict(known), ids
        self.given.clear()  # encoded again when an incremental refit needs them

    @property
    def model(self) -> VosModel:
        return self.method.model

    def _changed(self, masks: Mapping[int, np.ndarray], ids: tuple[int, ...]) -> bool:
        """A mask new, changed or gone since the latest fit, or ``ids`` changed."""
        if ids != self._ids or set(masks) != set(self._known):
            return True
        return any(self._known[index] != _digest(labels) for index, labels in masks.items())

    def stale(self, masks: Mapping[int, np.ndarray], ids: tuple[int, ...]) -> bool:
        """True when :meth:`sync` with these given masks (frame -> H×W labels) and objects ``ids``
        would refit now: adaptation on, a mask new, changed or gone, or ``ids`` changed, and no
        kept fit learnt from exactly these. Reads only (callers announce the refit with it, e.g.
        before a run's first frame)."""
        masks = teaching(masks)
        if not self.config.enabled or not self._changed(masks, ids):
            return False
        return self.store is None or not self.store.matches(self, self._digests(masks), ids)

    @staticmethod
    def _digests(masks: Mapping[int, np.ndarray]) -> dict[int, bytes]:
        return {index: _digest(masks[index]) for index in sorted(masks)}

    @staticmethod
    def learns_from(masks: Mapping[int, np.ndarray]) -> int:
        """How many of these given masks a refit learns from (of those :func:`teaching` keeps, the
        latest ``MAX_GIVEN``)."""
        return min(len(teaching(masks)), MAX_GIVEN)

    def sync(
        self,
        masks: Mapping[int, np.ndarray],
        ids: tuple[int, ...],
        view: Callable[[int], tuple[np.ndarray, np.ndarray]],
        should_stop: Callable[[], bool] | None = None,
        progress: Progress | None = None,
    ) -> VosModel | None:
        """Learn from these given masks (frame -> H×W labels; those :func:`teaching` keeps) for the
        objects ``ids``: when any is new, changed or gone (or ``ids`` changed), the latest
        ``MAX_GIVEN`` given masks are used (a new session takes them in frame order): those not yet
        encoded are augmented and encoded (``view(frame)``: the frame, h×w×3 uint8, and its mask,
        h×w, at the processing size) and the method is refitted once: incrementally when masks were
        only added (``heads``). ``should_stop`` is polled between encodings and optimiser steps;
        ``progress(done, total)`` hears each step. -> the model to run (the shared one while nothing
        is learnt), or None when ``should_stop`` ended the refit: nothing learnt changes then, and
        the refit is still due."""
        if not self.config.enabled:
            return self.base
        masks = teaching(masks)
        t0 = time.perf_counter()
        if not self._changed(masks, ids):
            return self.model
        if self.store is not None and self.store.load(self, self._digests(masks), ids):
            return self.model
        known = {i: d for i, d in self._known.items() if i in masks and d == _digest(masks[i])}
        only_added = ids == self._ids and len(known) == len(self._known) > 0
        for index in sorted(masks):
            if index not in known:
                known[index] = _digest(masks[index])
        keep = list(known)[-MAX_GIVEN:]  # the latest given
        new = [i for i in keep if i not in self._known] if only_added else None
        self.given = {i: g for i, g in self.given.items() if i in keep and self._known.get(i) == known[i]}
        cfg = self.config
        meter = CoreMeter() if cfg.threads == 0 else None
        # what is kept and trained must not be inference tensors; a refit runs before the frames of
        # a run, never beside them, so it may use every core the other processes leave free
        with torch.inference_mode(False), torch_threads(cfg.threads):
            # the encoder's own threads are the engine's share; the refit may use every core
            workers = max(1, (cfg.threads or cpu_cores()) // model_encoder_threads(self.base))
            for index in keep:
                if index not in self.given:
                    if should_stop is not None and should_stop():
                        return None
                    rgb, small = view(index)
                    self.given[index] = encode_given(
                        self.base, index, rgb, small, cfg.copies + cfg.holdout, cfg.seed, self.device, workers
                    )
            given = {i: self.given[i] for i in keep}
            if isinstance(self.method, HeadTuner):
                self.method.meter = meter
                done = self.method.fit(given, ids, new, should_stop, progress)
            else:
                self.method.fit(given, ids)  # one closed-form solve
                done = True
        if not done:
            return None
        self._known, self._ids = known, ids
        if self.store is not None:
            self.store.save(self)
        self.last_seconds = time.perf_counter() - t0
        return self.model

    def refine(self, frame: FrameFeatures, probs: torch.Tensor) -> torch.Tensor:
        """O×H×W decoder probabilities of a frame -> adapted probabilities (same shape)."""
        if not self.config.enabled:
            return probs
        return self.method.refine(frame, probs)
