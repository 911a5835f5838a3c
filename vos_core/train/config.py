"""Typed training configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Stage = Literal["static", "video", "mixed", "synthetic"]

#: every static set of the shared data (``static/<set>/{images,masks}``); pennfudan's masks carry one id
#: per pedestrian (multi-object), the others are 0/1; duts_tr's images are at most 256 px
STATIC_SETS = ("ecssd", "pascal_s", "weizmann_horse", "duts_tr", "pennfudan")

#: ``<repo>/../shared/data``
DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    arch: a trainable architecture; stage: "static" (pseudo-videos from still images), "video"
    (DAVIS 2016 train minus the dev split), "mixed" (both, half each in every batch) or "synthetic"
    (generated squares, for tests/smoke runs);
    out: run folder (checkpoint.pt, train.log, <arch>.pt + <arch>.json); data_root: shared data;
    iters: total optimiser steps; batch: clips per step and rank; crop: H×W of the clips;
    frames: frames per clip; lr/weight_decay: AdamW; lr_decay_at: fraction of ``iters`` after which
    the learning rate is divided by 10; grad_clip: max gradient norm (0 = off);
    top_p: final bootstrapping fraction, reached by linear warm-up between ``boot_start`` and
    ``boot_end`` (fractions of ``iters``); skip_range / skip_ramp: video curriculum (largest frame
    interval grows from skip_range[0] to [1] over the first skip_ramp of training);
    top_k: readout top-k during training; max_minutes: stop (checkpoint + weights) after this long;
    checkpoint_minutes: checkpoint period; resume: continue from out/checkpoint.pt;
    init: weights file to start from (e.g. the static stage's result for the video stage);
    warm_start: another architecture's weights whose shared parts (same name and shape) initialise
    this one (training-time transfer; the card says what was copied);
    stop_at: end this run at that iteration as if interrupted (tests); workers: data-loader
    processes (CPU runs; on CUDA a pack's clips are rendered on the GPU and need none);
    threads: torch threads per process (0 = cores / local processes);
    pack: a training pack (``python -m vos_core.datapack``) read instead of ``data_root``'s folders;
    amp: bf16 autocast of the forward pass on CUDA (ignored on the CPU);
    eval_dev: score the dev sequences at the end (J&F per sequence and fps in the model card);
    static_sets: the ``static/<set>`` folders the static pseudo-videos are made from;
    max_objects: most objects per clip (a multi-object image keeps its largest instances).
    """

    arch: str
    stage: Stage
    out: Path
    data_root: Path = DEFAULT_DATA_ROOT
    iters: int = 20000
    batch: int = 4
    crop: tuple[int, int] = (384, 384)
    frames: int = 3
    lr: float = 1e-4
    weight_decay: float = 1e-4
    lr_decay_at: float = 0.8
    grad_clip: float = 3.0
    top_p: float = 0.15
    boot_start: float = 0.1
    boot_end: float = 0.4
    skip_range: tuple[int, int] = (2, 15)
    skip_ramp: float = 0.6
    top_k: int = 30
    seed: int = 0
    max_minutes: float | None = None
    checkpoint_minutes: float = 5.0
    resume: bool = False
    init: Path | None = None
    warm_start: Path | None = None
    stop_at: int | None = None
    workers: int = 0
    threads: int = 0
    eval_dev: bool = False
    max_objects: int = 3
    log_every: int = 10
    quiet: bool = False
    notes: str = ""
    pack: Path | None = None
    amp: bool = True
    static_sets: tuple[str, ...] = STATIC_SETS

    def __post_init__(self) -> None:
        if self.stage not in ("static", "video", "mixed", "synthetic"):
            raise ValueError(f"unknown stage {self.stage!r}")
        if self.iters < 1 or self.batch < 1 or self.frames < 2:
            raise ValueError("iters and batch must be >= 1 and frames >= 2")
        if min(self.crop) < 32 or any(c % 16 for c in self.crop):
            raise ValueError(f"crop must be multiples of 16 and at least 32, got {self.crop}")
        if not self.static_sets or len(set(self.static_sets)) != len(self.static_sets):
            raise ValueError(f"static sets must be distinct and not empty, got {self.static_sets}")
        if self.pack is not None and self.stage == "synthetic":
            raise ValueError("the synthetic stage makes its own clips: it takes no --pack")

    def lr_at(self, iteration: int) -> float:
        return self.lr * (0.1 if iteration >= self.lr_decay_at * self.iters else 1.0)

    def top_p_at(self, iteration: int) -> float:
        """Bootstrapped CE: all pixels before boot_start, top_p after boot_end, linear in between."""
        start, end = self.boot_start * self.iters, self.boot_end * self.iters
        if iteration <= start:
            return 1.0
        if iteration >= end or end <= start:
            return self.top_p
        return 1.0 + (self.top_p - 1.0) * (iteration - start) / (end - start)
