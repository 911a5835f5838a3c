"""The adaptation's safety check: a fit is kept only if it segments what it was never trained on.

Each given frame keeps ``AdaptConfig.holdout`` augmented copies that no optimiser step reads
(:class:`~vos_core.adapt.samples.GivenFrame`: views ``1..copies`` train, the rest validate). After
a fit, :func:`choose` scores the shipped heads, the fitted ones and, when the fit is worse than the
shipped heads, the half-way blend of their weights (:func:`blend`), by :func:`held_out_iou`:

- each checked frame's held-out copies, read from a memory of that frame as given (as a run's
  first frames read the reference);
- with several given frames, each checked frame as given read from the *other* given frames only:
  a real check across time, not just across augmentations.

The first candidate, in the order fitted, blend, shipped, that scores at least the shipped heads'
score is the model to run. A fit on one given mask passes the check unless it broke something (the
held-out copies are the same frame); the cross-frame part is what catches a fit that learnt one
frame's look at the expense of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from vos_core.adapt.samples import GivenFrame, fresh, one_hot
from vos_core.config import ReadoutConfig
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.parts.model import LearnedVosModel
from vos_core.models.readout import view_of

#: given frames the check reads (the latest, by the order given): it costs the same however many
CHECK_FRAMES = 4


class CheckStopped(Exception):
    """The caller's ``should_stop`` answered True during the check."""


@dataclass(frozen=True)
class Choice:
    """What the check chose: ``kind`` "fitted", "blend" or "shipped", and each candidate's held-out
    IoU (None where not scored)."""

    kind: str
    shipped: float
    fitted: float
    blend: float | None = None


def _iou(probs: torch.Tensor, labels: torch.Tensor, ids: tuple[int, ...]) -> float:
    """Mean soft IoU over the objects: probs O×h×w (or 1×O×h×w) against h×w object ids."""
    p = probs.reshape(len(ids), *labels.shape[-2:]).float()
    y = one_hot(labels, ids)
    inter = (p * y).flatten(1).sum(1)
    union = (p + y - p * y).flatten(1).sum(1).clamp(min=1e-6)
    return float((inter / union).mean())


@dataclass(frozen=True)
class OwnScore:
    """One checked frame's part of the score that needs no other frame: the frame (its views, as
    given), the objects and training copies it was scored for, the memory encoded from the frame
    as given and the IoUs on its held-out copies read from that memory."""

    frame: GivenFrame
    ids: tuple[int, ...]
    copies: int
    memory: MemoryFeatures
    scores: tuple[float, ...]


#: the shipped heads' :class:`OwnScore` per given frame, kept between refits by the caller: the
#: shipped heads never change, so only a new or changed mask's part is computed again
OwnScores = dict[int, OwnScore]


@torch.no_grad()
def held_out_iou(
    model: LearnedVosModel,
    frames: Sequence[GivenFrame],
    ids: tuple[int, ...],
    copies: int,
    readout: ReadoutConfig,
    should_stop: Callable[[], bool] | None = None,
    kept: OwnScores | None = None,
) -> float:
    """The mean IoU of ``model`` on what no step trained on (see the module docstring); ``frames``
    sorted by when they were given, ``copies`` the training copies per frame. 1.0 if nothing is
    held out. ``kept``: each frame's own part from an earlier call with this same model (used when
    it is for the same frame object, objects and copies; updated with those computed now)."""
    checked = list(frames)[-CHECK_FRAMES:]
    own: dict[int, OwnScore] = {}
    for g in checked:
        hit = kept.get(g.index) if kept is not None else None
        if hit is not None and hit.frame is g and hit.ids == ids and hit.copies == copies:
            own[id(g)] = hit
            continue
        if should_stop is not None and should_stop():
            raise CheckStopped
        memory = model.encode_memory(fresh(g.views[0]), one_hot(g.labels[0], ids))
        parts = []
        for v in range(1 + copies, len(g.views)):
            view = fresh(g.views[v])
            logits = model.decode_logits(view, model.read_memory(view, view_of([memory]), [memory], readout))
            parts.append(_iou(torch.sigmoid(logits), g.labels[v], ids))
        own[id(g)] = OwnScore(g, ids, copies, memory, tuple(parts))
        if kept is not None:
            kept[g.index] = own[id(g)]
    scores: list[float] = []
    for g in checked:
        scores.extend(own[id(g)].scores)
        others = [own[id(o)].memory for o in checked if o is not g]
        if others:
            if should_stop is not None and should_stop():
                raise CheckStopped
            view = fresh(g.views[0])
            nearest = [others[-1]]
            logits = model.decode_logits(view, model.read_memory(view, view_of(others), nearest, readout))
            scores.append(_iou(torch.sigmoid(logits), g.labels[0], ids))
    return sum(scores) / len(scores) if scores else 1.0


@torch.no_grad()
def blend(shipped: LearnedVosModel, fitted: LearnedVosModel, into: LearnedVosModel, alpha: float) -> None:
    """Set ``into``'s parameters (a head copy) to ``shipped + alpha · (fitted - shipped)``."""
    base = dict(shipped.named_parameters())
    tuned = dict(fitted.named_parameters())
    for name, p in into.named_parameters():
        if p is base[name]:
            continue  # shared with the shipped model (the tuned encoder blocks)
        p.copy_(base[name] + alpha * (tuned[name] - base[name]))


def choose(
    shipped: LearnedVosModel,
    fitted: LearnedVosModel,
    spare: Callable[[], LearnedVosModel],
    frames: Sequence[GivenFrame],
    ids: tuple[int, ...],
    copies: int,
    readout: ReadoutConfig,
    should_stop: Callable[[], bool] | None = None,
    shipped_kept: OwnScores | None = None,
) -> tuple[LearnedVosModel, Choice]:
    """The model to run after a fit -> (model, what was chosen and why). ``spare()`` makes a new
    head copy for the blend (only when it is needed); ``shipped_kept``: the shipped heads' parts
    kept between refits (:func:`held_out_iou`)."""
    score_shipped = held_out_iou(shipped, frames, ids, copies, readout, should_stop, shipped_kept)
    score_fitted = held_out_iou(fitted, frames, ids, copies, readout, should_stop)
    if score_fitted >= score_shipped:
        return fitted, Choice("fitted", score_shipped, score_fitted)
    half = spare()
    blend(shipped, fitted, half, 0.5)
    score_half = held_out_iou(half, frames, ids, copies, readout, should_stop)
    if score_half >= score_shipped:
        return half, Choice("blend", score_shipped, score_fitted, score_half)
    return shipped, Choice("shipped", score_shipped, score_fitted, score_half)
