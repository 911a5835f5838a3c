"""Design (a): fine-tune a private copy of the model's heads on the given masks (OSVOS-like).

The session's model is shared (another session may run it); the tuner makes a *head copy*: a
shallow copy of the model whose head submodules (value encoder, decoder, readout modules: every
submodule but the fine-tuned encoder blocks) are deep copies, while the frozen encoder and its
tuned blocks stay shared. Only the copy's parameters are optimised, on pseudo-clips made from the
cached views of every given frame (:mod:`vos_core.adapt.samples`): memory = given frames as they
are (as the session's permanent entries; at most ``MEMORY_FRAMES``), then two augmented views read
from it in turn, the second with the first's soft prediction as working and recent memory, as in
training.
Each refit starts from the shipped weights, so it costs the same for every mask and forgetting a
mask is exact.
"""

from __future__ import annotations

import copy
import random
import warnings

import torch
from torch import nn

from vos_core.adapt.adam import Adam
from vos_core.adapt.samples import GivenFrame, class_map, fresh, one_hot
from vos_core.config import AdaptConfig, ReadoutConfig
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.base import FrameFeatures, VosModel
from vos_core.models.parts.losses import SegLossConfig, segmentation_loss
from vos_core.models.parts.model import LearnedVosModel
from vos_core.models.readout import view_of

#: submodules shared with the original model, never copied nor trained (fine-tuned encoder blocks)
SHARED_MODULES = ("tuned",)
#: given frames in a pseudo-clip's memory (the one whose views are read, and others at random):
#: a step costs the same however many masks were given
MEMORY_FRAMES = 4


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
        self.last_loss: float | None = None
        #: optimiser steps of the latest refit
        self.steps_done = 0

    def refine(self, frame: FrameFeatures, probs: torch.Tensor) -> torch.Tensor:
        return probs

    def fit(self, given: dict[int, GivenFrame], ids: tuple[int, ...]) -> None:
        """Refit a fresh head copy on ``given`` (frame -> views) for the objects ``ids``."""
        if not given or not ids:
            self.model = self.base
            return
        cfg = self.config
        tuned = head_copy(self.base)
        for p in head_parameters(tuned):
            p.requires_grad_(False)
        params = head_parameters(tuned, cfg.decoder_only)
        for p in params:
            p.requires_grad_(True)
        opt = Adam(params, lr=cfg.lr)
        frames = sorted(given.values(), key=lambda g: g.index)
        rng = random.Random(cfg.seed)
        loss_cfg = SegLossConfig()
        self.steps_done = 0
        # gradients even when the caller runs under no_grad (Adapter.sync leaves inference mode)
        with warnings.catch_warnings(), torch.enable_grad():
            warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True")
            for _ in range(cfg.steps):
                opt.zero_grad()
                loss = self._clip_loss(tuned, frames, ids, rng, loss_cfg)
                loss.backward()
                opt.step()
                self.last_loss = float(loss.detach())
                self.steps_done += 1
        for p in params:
            p.requires_grad_(False)
        self.model = tuned

    def _clip_loss(
        self,
        model: LearnedVosModel,
        frames: list[GivenFrame],
        ids: tuple[int, ...],
        rng: random.Random,
        loss_cfg: SegLossConfig,
    ) -> torch.Tensor:
        """One pseudo-clip: a given frame and up to ``MEMORY_FRAMES - 1`` others in memory, two
        augmented views of the first read from it in turn -> the mean segmentation loss of the two."""
        g = rng.choice(frames)
        others = [f for f in frames if f is not g]
        chosen = [g, *rng.sample(others, min(len(others), MEMORY_FRAMES - 1))]
        in_memory = sorted(chosen, key=lambda f: f.index)
        memory: list[MemoryFeatures] = []
        for f in in_memory:
            memory.append(model.encode_memory(fresh(f.views[0]), one_hot(f.labels[0], ids)))
        picks = rng.sample(range(1, len(g.views)), 2) if len(g.views) > 2 else [len(g.views) - 1] * 2
        recent = [memory[in_memory.index(g)]]
        losses = []
        for step, v in enumerate(picks):
            view = fresh(g.views[v])
            readout = model.read_memory(view, view_of(memory), recent, self.readout)
            logits = model.decode_logits(view, readout)
            loss, _ = segmentation_loss(logits, class_map(g.labels[v], ids), self.config.top_p, loss_cfg)
            losses.append(loss)
            if step == 0:
                entry = model.encode_memory(view, torch.sigmoid(logits))
                memory = [*memory, entry]
                recent = [entry]
        return torch.stack(losses).mean()
