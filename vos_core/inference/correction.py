"""Re-propagation after a correction: the one home of what the app's "Update around correction" and the
rounds benchmark (:mod:`vos_core.rounds`) run once a frame has become a reference.

A correction at frame ``k`` updates both sides of itself: a forward run from ``k`` up to the frame
before the next reference (or the last frame), then a backward run down to the frame after the
previous reference (or the first frame). A frame whose previous prediction (the session's
:class:`~vos_core.inference.predictions.PredictionLog`) came from the other side gets the new one
fused with it (:func:`fuse_labels`; one from the same side, through the corrected frame, is
replaced), and a run stops early once the masks it gives (after fusion) agree with the
previous ones (IoU ≥ ``agree_iou`` for every object) on ``agree_frames`` consecutive frames: the
new prediction's weight only falls further away from the correction, so past that point the
correction changes next to nothing, and a correction on a long video costs seconds, not a pass.
Before that fusion, on the first ``transport.frames`` frames of each side the corrected mask itself,
carried by optical flow, is blended into the model's probabilities (:mod:`vos_core.inference.transport`:
thin parts the model cannot segment at its processing height survive there), and those frames'
quality estimates are lifted by the carried share.

``CorrectionConfig.forward_only()`` is the app's older F6 behaviour (forward to the next reference,
inclusive, no fusion, no early stop), kept as the benchmark's baseline.

Typical use (the session already has the correction as a reference)::

    run = CorrectionRun(session, k)
    for result in run:          # FrameResult per re-predicted frame, fused labels (run.close() ends it)
        show(result)
    run.stats.refit_s, run.stats.propagate_s, run.stats.changed
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch

from vos_core.inference.frames import FrameReader
from vos_core.inference.objects import aggregate, probs_to_labels, upsample_to
from vos_core.inference.predictions import Prediction
from vos_core.inference.results import FrameResult
from vos_core.inference.session import InferenceSession
from vos_core.inference.transport import Carried, FlowTransport, TransportConfig

__all__ = ["CorrectionConfig", "CorrectionRun", "CorrectionStats", "correction_spans", "fuse_labels"]

Fusion = Literal["none", "distance", "quality", "both", "select"]
Direction = Literal["forward", "backward"]


@dataclass(frozen=True)
class CorrectionConfig:
    """How a correction re-propagates.

    both_sides: run backward from the corrected frame too (else forward only).
    fusion: how a re-predicted frame's new mask and its previous one are combined: ``none`` (the new
        one), ``distance`` (weights by frame distance to each mask's source frame), ``quality`` (by
        each mask's estimated quality), ``both`` (the product of the two), ``select`` (the mask
        with the higher estimated quality, whole: no pixel blending).
    agree_iou / agree_frames: a run stops after ``agree_frames`` consecutive frames whose mask (after
        fusion) has IoU ≥ ``agree_iou`` with the previous one for every object (0: never early).
    until_reference: a forward-only run ends *on* the next reference (the older F6 semantics)
        instead of the frame before it.
    transport: how the corrected mask is carried to its first neighbours by optical flow and
        blended into the model's probabilities there (:mod:`vos_core.inference.transport`;
        ``frames=0``: off).
    """

    both_sides: bool = True
    fusion: Fusion = "quality"
    agree_iou: float = 0.95
    agree_frames: int = 10
    until_reference: bool = False
    transport: TransportConfig = field(default_factory=TransportConfig)

    def __post_init__(self) -> None:
        if self.fusion not in ("none", "distance", "quality", "both", "select"):
            raise ValueError(f"unknown fusion {self.fusion!r}")
        if not 0.0 < self.agree_iou <= 1.0 or self.agree_frames < 0:
            raise ValueError("agree_iou must be in (0, 1] and agree_frames >= 0")

    @staticmethod
    def forward_only() -> CorrectionConfig:
        """The older re-propagation: forward to the next reference, nothing fused, no early stop."""
        return CorrectionConfig(
            both_sides=False, fusion="none", agree_frames=0, until_reference=True,
            transport=TransportConfig(frames=0),
        )


@dataclass
class CorrectionStats:
    """What one correction run did: the runs planned (direction, last frame), the frames
    re-predicted and those whose mask changed, the runs that stopped early, and its seconds
    (``carry_s``: the optical flow's part of ``propagate_s``)."""

    frame: int
    spans: list[tuple[Direction, int]] = field(default_factory=list)
    predicted: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    stopped_early: list[Direction] = field(default_factory=list)
    refit_s: float = 0.0
    propagate_s: float = 0.0
    carry_s: float = 0.0

    def summary(self, refit_s: float | None = None) -> str:
        """One line for a status bar: what ran and how long it took (``refit_s``: the refit's
        seconds when the caller ran it before the frames)."""
        sides = " and ".join(
            f"{d} to {end}" + (" (stopped early: masks agreed)" if d in self.stopped_early else "")
            for d, end in self.spans
        ) or "no frame between the neighbouring references"
        refit = self.refit_s if refit_s is None else refit_s
        learning = f", learning {refit:.1f} s" if refit >= 0.05 else ""
        return (
            f"Updated around frame {self.frame}, {sides}: {len(self.predicted)} frames run, "
            f"{len(self.changed)} changed, {self.propagate_s:.1f} s{learning}"
        )


def correction_spans(
    references: Iterable[int], frame: int, n_frames: int, config: CorrectionConfig
) -> list[tuple[Direction, int]]:
    """The runs a correction at ``frame`` makes: [(direction, last frame)], forward first (so that
    the forward side runs from the memory the older forward-only run had: run backward first, it
    read the backward run's predictions and lost 0.01-0.05 J&F on bmx-bumps). Each ends before the
    neighbouring reference (or at the video's ends); a forward-only config with ``until_reference``
    ends on the next reference."""
    refs = sorted(set(references) - {frame})
    earlier = [r for r in refs if r < frame]
    later = [r for r in refs if r > frame]
    spans: list[tuple[Direction, int]] = []
    if later:
        last = later[0] if config.until_reference else later[0] - 1
    else:
        last = n_frames - 1
    if last > frame:
        spans.append(("forward", last))
    if config.both_sides:
        first = earlier[-1] + 1 if earlier else 0
        if first < frame:
            spans.append(("backward", first))
    return spans


def fusion_weight(config: CorrectionConfig, result: FrameResult, start: int, old: Prediction) -> float:
    """The new mask's weight (0..1) against the previous one ``old`` for frame ``result.index``,
    re-predicted by a run from ``start``. Only predictions from two sides are fused: when the
    previous one came from the same side, from at least as far, it had to pass where the correction
    now is (the frame was worst there), and the new one replaces it."""
    d_new = abs(result.index - start)
    d_old = abs(result.index - old.source)
    if (old.source - result.index) * (start - result.index) > 0 and d_old >= d_new:
        return 1.0
    by_distance = d_old / max(d_new + d_old, 1)
    q_new, q_old = max(result.quality, 1e-3), max(old.quality, 1e-3)
    by_quality = q_new / (q_new + q_old)
    if config.fusion == "distance":
        return by_distance
    if config.fusion == "quality":
        return by_quality
    if config.fusion == "select":
        return 1.0 if by_quality >= 0.5 else 0.0
    if config.fusion == "both":
        a, b = by_distance * by_quality, (1 - by_distance) * (1 - by_quality)
        return a / max(a + b, 1e-9)
    return 1.0


#: how sure a previous mask is taken to be of its own labels when fused (its soft probabilities are
#: not kept): a one-hot mask would outvote every new prediction that is not certain
PREVIOUS_CONFIDENCE = 0.75


def model_probs(result: FrameResult, exclusive: bool) -> torch.Tensor:
    """A prediction's probabilities at the frame's resolution: (O+1)×H×W, background first."""
    with torch.inference_mode():
        return upsample_to(aggregate(torch.from_numpy(result.probs).float(), exclusive), result.labels.shape)


def fuse_labels(
    result: FrameResult,
    old_labels: np.ndarray | None,
    weight: float,
    exclusive: bool,
    carried: Carried | None = None,
    agg: torch.Tensor | None = None,
) -> np.ndarray:
    """Fuse a new prediction (``result.probs``: O×h×w soft probabilities) with the correction carried
    to this frame by optical flow (``carried``, blended first: :meth:`Carried.blend`) and with a
    previous mask (H×W labels, or None) at the frame's resolution: ``weight`` · new + (1 − weight) ·
    old, argmax -> H×W uint8 labels. The previous mask counts as :data:`PREVIOUS_CONFIDENCE` for its
    label and the rest shared by the others; objects the session no longer has count as background.
    ``agg``: :func:`model_probs` of ``result`` when the caller has them already."""
    ids = result.object_ids
    if old_labels is None:
        weight = 1.0
    if (weight >= 1.0 and carried is None) or not ids:
        return result.labels
    hw = result.labels.shape
    rest = (1.0 - PREVIOUS_CONFIDENCE) / len(ids)  # each other label's share
    with torch.inference_mode():
        if agg is None:
            agg = model_probs(result, exclusive)
        if carried is not None:
            agg = carried.blend(agg)
        if weight >= 1.0 or old_labels is None:
            return probs_to_labels(agg, ids)
        agg = agg * weight + (1.0 - weight) * rest
        old = torch.from_numpy(old_labels)
        known = torch.zeros(hw, dtype=torch.bool)
        boost = (1.0 - weight) * (PREVIOUS_CONFIDENCE - rest)
        for slot, object_id in enumerate(ids, start=1):
            mask = old == object_id
            known |= mask
            agg[slot].add_(mask.float(), alpha=boost)
        agg[0].add_((~known).float(), alpha=boost)
        return probs_to_labels(agg, ids)


def masks_agree(a: np.ndarray, b: np.ndarray, ids: Iterable[int], min_iou: float) -> bool:
    """True when every object's IoU between label maps ``a`` and ``b`` is ≥ ``min_iou`` (an object
    absent from both agrees)."""
    for object_id in ids:
        ma, mb = a == object_id, b == object_id
        union = int(np.count_nonzero(ma | mb))
        if union and np.count_nonzero(ma & mb) / union < min_iou:
            return False
    return True


class _LockedFrames:
    """The session's frame source behind a lock while a run reads frames for the optical flow beside
    the session's prefetch thread (a video decoder is not thread-safe)."""

    def __init__(self, frames: FrameReader) -> None:
        self.inner = frames
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.inner)

    def read(self, index: int) -> np.ndarray:
        with self._lock:
            return self.inner.read(index)


class CorrectionRun:
    """Iterate to re-propagate around a corrected frame (a reference of ``session``): refit the
    adaptation if due, then the runs of :func:`correction_spans`, yielding each re-predicted
    frame's result (labels fused with the previous prediction). ``stats`` says what ran and how long
    it took (the consumer's time between frames excluded). ``should_stop`` is polled between frames."""

    def __init__(
        self,
        session: InferenceSession,
        frame: int,
        config: CorrectionConfig | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        if session.frames is None:
            raise ValueError("the session has no frame source")
        self.session, self.frame = session, frame
        self.config = config or CorrectionConfig()
        self.should_stop = should_stop
        spans = correction_spans(session.annotations, frame, len(session.frames), self.config)
        self.stats = CorrectionStats(frame, spans)

        self._results: Iterator[FrameResult] | None = None

    @property
    def total(self) -> int:
        """Frames the runs would re-predict if none stopped early."""
        return sum(abs(end - self.frame) for _, end in self.stats.spans)

    @property
    def first(self) -> int:
        """The first frame the runs cover (the corrected frame when nothing runs backward)."""
        return min([self.frame, *(end for _, end in self.stats.spans)])

    @property
    def last(self) -> int:
        return max([self.frame, *(end for _, end in self.stats.spans)])

    def __iter__(self) -> CorrectionRun:
        return self

    def __next__(self) -> FrameResult:
        if self._results is None:
            self._results = self._all()
        return next(self._results)

    def close(self) -> None:
        """End the run now (between frames): the frames not reached keep their previous masks."""
        if self._results is not None:
            self._results.close()  # type: ignore[attr-defined]

    def _all(self) -> Iterator[FrameResult]:
        t0 = time.perf_counter()
        self.session.adapt()
        self.stats.refit_s = time.perf_counter() - t0
        session = self.session
        source = session.frames
        carry = self.config.transport.frames > 0 and self.frame in session.annotations
        if carry and source is not None:
            session.frames = _LockedFrames(source)
        try:
            for direction, end in self.stats.spans:
                if self.should_stop is not None and self.should_stop():
                    return
                yield from self._run(direction, end, carry)
        finally:
            session.frames = source

    def _transport(self) -> FlowTransport:
        """The corrected mask, ready to be carried frame by frame by optical flow."""
        session = self.session
        assert session.frames is not None
        labels = session.annotations[self.frame]
        return FlowTransport(
            session.frames.read(self.frame), labels, session.object_ids, self.config.transport
        )

    def _run(self, direction: Direction, end: int, carry: bool) -> Iterator[FrameResult]:
        session, config, stats = self.session, self.config, self.stats
        log = session.predictions
        exclusive = session.model.exclusive
        step = 1 if direction == "forward" else -1
        t0: float | None = time.perf_counter()
        transport = self._transport() if carry else None
        frames = session.propagate(self.frame, end, direction, should_stop=self.should_stop)
        old = log.get(self.frame + step)  # read before the run records its own prediction
        agreeing = 0
        try:
            for result in frames:
                if result.given:  # the next reference, reached by a forward-only run
                    stats.propagate_s += time.perf_counter() - t0
                    t0 = None
                    yield result
                    t0 = time.perf_counter()
                    continue
                carried = agg = None
                if transport is not None and not transport.done:
                    assert session.frames is not None
                    tc = time.perf_counter()
                    carried = transport.advance(session.frames.read(result.index))
                    stats.carry_s += time.perf_counter() - tc
                if carried is not None:
                    agg = model_probs(result, exclusive)
                    lifted = carried.lift(agg, result.object_quality)
                    result = replace(result, object_quality=lifted, quality=min(lifted, default=1.0))
                labels = result.labels
                kept = False
                if old is not None and old.shape == labels.shape:
                    previous = old.labels()
                    weight = fusion_weight(config, result, self.frame, old)
                    if weight <= 0.0 and old.object_ids == result.object_ids:
                        # the previous prediction stays as it was, with its quality and source
                        log.record(result.index, previous, old.object_ids, old.object_quality, old.source)
                        result = replace(result, object_quality=old.object_quality, quality=old.quality)
                        labels, kept = previous, True
                    else:
                        labels = fuse_labels(result, previous, weight, exclusive, carried, agg)
                    same = masks_agree(labels, previous, result.object_ids, config.agree_iou)
                    agreeing = agreeing + 1 if same else 0
                    changed = not np.array_equal(labels, previous)
                else:
                    labels = fuse_labels(result, None, 1.0, exclusive, carried, agg)
                    agreeing, changed = 0, True
                if labels is not result.labels or carried is not None:
                    result = replace(result, labels=labels)
                    if not kept:
                        log.record(result.index, labels, result.object_ids, result.object_quality, self.frame)
                stats.predicted.append(result.index)
                if changed:
                    stats.changed.append(result.index)
                old = log.get(result.index + step)
                stats.propagate_s += time.perf_counter() - t0
                t0 = None
                yield result
                t0 = time.perf_counter()
                if config.agree_frames and agreeing >= config.agree_frames:
                    stats.stopped_early.append(direction)
                    return
        finally:
            frames.close()
            if t0 is not None:
                stats.propagate_s += time.perf_counter() - t0
