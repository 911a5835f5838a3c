"""Design (a): fine-tune a private copy of the model's heads on the given masks (OSVOS-like).

The session's model is shared (another session may run it); the tuner makes a *head copy*: a
shallow copy of the model whose head submodules (value encoder, decoder, readout modules: every
submodule but the fine-tuned encoder blocks) are deep copies, while the frozen encoder and its
tuned blocks stay shared. Only the copy's parameters are optimised, on pseudo-clips made from the
cached views of every given frame (:mod:`vos_core.adapt.samples`): memory = given frames as they
are (as the session's permanent entries; at most ``MEMORY_FRAMES``), then two augmented views read
from it in turn, the second with the first's soft prediction as working and recent memory, as in
training.
A full refit starts from the shipped weights, so forgetting a mask is exact. When masks were only
added since the last fit (same objects), the refit is incremental: it starts from the previous fit
and takes ``AdaptConfig.warm_steps`` steps, half of them on pseudo-clips of the new frames, each view
cut to ``WARM_CROP`` pixels square about its objects (:func:`~vos_core.adapt.samples.crop_view`; a
step on a 384×683 frame then costs about half; dev J&F over 4 gt rounds rose, 0.887 -> 0.890). The
model run is then part of the way from the shipped weights to the fit (``AdaptConfig.strength``;
an incremental refit continues the fit itself), and it must pass the held-out check
(:mod:`vos_core.adapt.check`). A refit polls
``should_stop`` before every step (it then ends, keeping the model it had) and reports each step to
``progress(done, total)``.
"""

from __future__ import annotations

import copy
import random
import warnings
from collections.abc import Callable, Collection

import torch
from torch import nn

from vos_core.adapt.adam import Adam
from vos_core.adapt.check import CheckStopped, Choice, OwnScores, blend, choose
from vos_core.adapt.samples import GivenFrame, class_map, crop_view, fresh, one_hot
from vos_core.config import AdaptConfig, ReadoutConfig
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.base import FrameFeatures, VosModel
from vos_core.models.parts.losses import SegLossConfig, segmentation_loss
from vos_core.models.parts.model import LearnedVosModel
from vos_core.models.readout import view_of
from vos_core.threads import CoreMeter

#: submodules shared with the original model, never copied nor trained (fine-tuned encoder blocks)
SHARED_MODULES = ("tuned",)
#: given frames in a pseudo-clip's memory (the one whose views are read, and others at random):
#: a step costs the same however many masks were given
MEMORY_FRAMES = 4
#: a sized refit measures the free cores again every this many steps
RESIZE_EVERY = 10
#: an incremental refit's pseudo-clips are cut to at most this many pixels square about the objects
#: (None: whole frames); a step then costs about the crop's share of the frame
WARM_CROP: int | None = 320

#: ``progress(done, total)``: optimiser steps done out of the refit's total
Progress = Callable[[int, int], None]


def head_copy(model: LearnedVosModel) -> LearnedVosModel:
    """A copy of ``model`` with its own head parameters; encoder and tuned blocks stay shared.
    The original is not modified."""
    clone = copy.copy(model)  # new instance dict, same values
    clone._modules = {  # type: ignore[assignment]
        name: (m if name in SHARED_MODULES or m is None else copy.deepcopy(m))
        for name, m in model._modules.items()
    }
    clone._parameters = {  # type: ignore[assignment]
        name: (None if p is None else nn.Parameter(p.detach().clone(), p.requires_grad))
        for name, p in model._parameters.items()
    }
    clone._buffers = {name: (None if b is None else b.clone()) for name, b in model._buffers.items()}  # type: ignore[assignment]
    return clone


def head_parameters(model: LearnedVosModel, decoder_only: bool = False) -> list[nn.Parameter]:
    """The parameters an adaptation trains: the ``decoder``'s, or all but the shared modules'."""
    if decoder_only:
        return list(model.get_submodule("decoder").parameters())
    shared = {
        id(p) for name, m in model.named_children() if name in SHARED_MODULES for p in m.parameters()
    }
    return [p for p in model.parameters() if id(p) not in shared]


class HeadTuner:
    """Keeps the given frames and a head copy fitted to them; ``model`` is what the session runs."""

    def __init__(self, model: LearnedVosModel, config: AdaptConfig, readout: ReadoutConfig) -> None:
        self.base = model
        self.config = config
        self.readout = readout
        self.model: VosModel = model
        #: the latest completed fit (what an incremental refit starts from), whatever the check chose
        self.fitted: LearnedVosModel | None = None
        #: what the held-out check chose for the latest fit (None: not checked)
        self.choice: Choice | None = None
        #: True when the latest fit was incremental
        self.warm = False
        self.last_loss: float | None = None
        #: optimiser steps of the latest refit
        self.steps_done = 0
        #: sizes the refit's threads while it runs (set by the adapter when the threads are sized)
        self.meter: CoreMeter | None = None
        #: the shipped heads' held-out scores of each given frame, kept between refits (a new
        #: correction's check scores only the new frame's own copies with them)
        self.shipped_scores: OwnScores = {}

    def refine(self, frame: FrameFeatures, probs: torch.Tensor) -> torch.Tensor:
        return probs

    def fit(
        self,
        given: dict[int, GivenFrame],
        ids: tuple[int, ...],
        new: Collection[int] | None = None,
        should_stop: Callable[[], bool] | None = None,
        progress: Progress | None = None,
    ) -> bool:
        """Refit a head copy on ``given`` (frame -> views) for the objects ``ids``: a full refit from
        the shipped weights, or with ``new`` (the frames given since the last fit, whose objects
        were ``ids`` too) an incremental one from the last fit. -> False when ``should_stop``
        ended it (the model is then the one it was before)."""
        if not given or not ids:
            self.model = self.base
            self.fitted = self.choice = None
            return True
        cfg = self.config
        warm = new is not None and isinstance(self.fitted, LearnedVosModel) and cfg.warm_steps > 0
        start = self.fitted if warm and self.fitted is not None else self.base
        tuned = head_copy(start)
        for p in head_parameters(tuned):
            p.requires_grad_(False)
        params = head_parameters(tuned, cfg.decoder_only)
        for p in params:
            p.requires_grad_(True)
        opt = Adam(params, lr=cfg.lr)
        frames = sorted(given.values(), key=lambda g: g.index)
        fresh_frames = [g for g in frames if new is not None and g.index in new] if warm else []
        rng = random.Random(cfg.seed + (len(frames) if warm else 0))
        loss_cfg = SegLossConfig()
        total = cfg.warm_steps if warm else cfg.steps
        self.steps_done = 0
        if progress is not None:
            progress(0, total)
        # gradients even when the caller runs under no_grad (Adapter.sync leaves inference mode)
        with warnings.catch_warnings(), torch.enable_grad():
            warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True")
            for step in range(total):
                if should_stop is not None and should_stop():
                    return False
                self._resize_threads(step)
                opt.zero_grad()
                pool = fresh_frames if fresh_frames and step % 2 == 0 else frames
                loss = self._clip_loss(tuned, frames, ids, rng, loss_cfg, pool, WARM_CROP if warm else None)
                loss.backward()
                opt.step()
                self.last_loss = float(loss.detach())
                self.steps_done += 1
                if progress is not None:
                    progress(self.steps_done, total)
        for p in params:
            p.requires_grad_(False)
        self.warm = warm
        model: LearnedVosModel = tuned
        strength = min(1.0, cfg.strength + cfg.strength_growth * (len(frames) - 1))
        if strength < 1.0:  # run part of the way from the shipped weights to the fit
            model = head_copy(self.base)
            blend(self.base, tuned, model, strength)
        if cfg.holdout > 0:
            kept = self.shipped_scores
            for index in [i for i, own in kept.items() if given.get(i) is not own.frame]:
                del kept[index]  # forgotten or changed since
            try:
                model, self.choice = choose(
                    self.base, model, lambda: head_copy(self.base), frames, ids, cfg.copies, self.readout,
                    should_stop, kept,
                )
            except CheckStopped:
                return False
        self.fitted = tuned  # an incremental refit continues the fit, whatever is run
        self.model = model
        return True

    def _resize_threads(self, step: int) -> None:
        """Every ``RESIZE_EVERY`` steps, size the refit's threads to the cores free now (when the
        caller asked for the sized count, ``AdaptConfig.threads == 0``)."""
        if self.meter is not None and step % RESIZE_EVERY == 0:
            torch.set_num_threads(self.meter.threads(torch.get_num_threads()))

    def _clip_loss(
        self,
        model: LearnedVosModel,
        frames: list[GivenFrame],
        ids: tuple[int, ...],
        rng: random.Random,
        loss_cfg: SegLossConfig,
        pool: list[GivenFrame],
        crop: int | None = None,
    ) -> torch.Tensor:
        """One pseudo-clip: a given frame of ``pool`` and up to ``MEMORY_FRAMES - 1`` others in memory,
        two of its augmented training views read from it in turn -> the mean segmentation loss of the
        two (the held-out views, after the ``copies`` training ones, are never read here). ``crop``:
        each view cut to at most that many pixels square about its objects (:func:`crop_view`)."""

        def view_at(f: GivenFrame, v: int) -> tuple[FrameFeatures, torch.Tensor]:
            if crop is None:
                return fresh(f.views[v]), f.labels[v]
            cut, labels = crop_view(f.views[v], f.labels[v], crop)
            return fresh(cut), labels

        g = rng.choice(pool)
        others = [f for f in frames if f is not g]
        chosen = [g, *rng.sample(others, min(len(others), MEMORY_FRAMES - 1))]
        in_memory = sorted(chosen, key=lambda f: f.index)
        memory: list[MemoryFeatures] = []
        for f in in_memory:
            view, labels = view_at(f, 0)
            memory.append(model.encode_memory(view, one_hot(labels, ids)))
        trained = min(len(g.views) - 1, self.config.copies)
        picks = rng.sample(range(1, trained + 1), 2) if trained > 1 else [trained] * 2
        recent = [memory[in_memory.index(g)]]
        losses = []
        for step, v in enumerate(picks):
            view, labels = view_at(g, v)
            readout = model.read_memory(view, view_of(memory), recent, self.readout)
            logits = model.decode_logits(view, readout)
            loss, _ = segmentation_loss(logits, class_map(labels, ids), self.config.top_p, loss_cfg)
            losses.append(loss)
            if step == 0:
                entry = model.encode_memory(view, torch.sigmoid(logits))
                memory = [*memory, entry]
                recent = [entry]
        return torch.stack(losses).mean()
