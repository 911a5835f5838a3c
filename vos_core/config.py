"""Typed configuration for memory, readout and inference. Defaults are tuned for a 2-core CPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class MemoryConfig:
    """Policy of the memory bank.

    every: a working-memory entry is added every ``every`` processed frames (and on every given mask).
    working_size: maximum number of working entries; when full the oldest unpinned ones are
        consolidated into long-term memory.
    long_term_size: maximum number of long-term entries; when full the least used is evicted.
    long_term_keep: fraction of an entry's pixels kept (the most used ones) when it is consolidated.
    recent_frames: how many of the latest processed frames are read through the local window.
    recent_gap: a processed frame replaces the recent one only when it is this many frames newer
        (a gap larger than one lets sub-cell motion add up to a visible displacement).

    The sizes were chosen on the dev split: 3 working entries and long-term entries keeping 1/8 of
    their pixels score the same J&F as 4 and 1/4 (stcn 0.754 both; propagation 0.583 both) with a
    28% smaller bank to match every frame against.
    """

    every: int = 5
    working_size: int = 3
    long_term_size: int = 8
    long_term_keep: float = 0.125
    recent_frames: int = 1
    recent_gap: int = 5

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("memory.every must be >= 1")
        if self.working_size < 1 or self.long_term_size < 0:
            raise ValueError("memory sizes must be positive")
        if not 0.0 < self.long_term_keep <= 1.0:
            raise ValueError("memory.long_term_keep must be in (0, 1]")
        if self.recent_frames < 1:
            raise ValueError("memory.recent_frames must be >= 1")


@dataclass(frozen=True)
class ReadoutConfig:
    """Affinity readout: global top-k over the bank and a local window over recent frames.

    top_k: affinities kept per query pixel (the rest get zero weight).
    temperature: softmax temperature applied to cosine similarities.
    local_radius: half size of the local window, in feature pixels at the fine stride.
    """

    top_k: int = 10
    temperature: float = 0.05
    local_radius: int = 4

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.temperature <= 0 or self.local_radius < 0:
            raise ValueError("invalid readout configuration")


@dataclass(frozen=True)
class AdaptConfig:
    """Adaptation to the video at hand (``vos_core.adapt``): the session learns from every given mask
    when a run starts (refitting when the masks changed).

    enabled: on/off. method: "heads" fine-tunes a private copy of the model's heads (value encoder,
    decoder, readout modules) on augmented copies of the given frames; "target" fits a linear target
    model on the frozen stride-16 features and fuses its scores with the decoder's output (models
    without trained heads always use it). copies: augmented copies trained on per given mask; steps /
    lr / top_p: optimiser steps per refit, Adam learning rate, bootstrapped-CE fraction ("heads");
    decoder_only: train the decoder alone ("heads"); ridge / fusion: ridge penalty and fusion weight
    ("target"); seed: augmentation and sampling seed; threads: torch threads of a refit (0 = sized
    to the cores other processes leave free, re-measured every few steps: it runs before a run's
    frames, so the engine's own share, e.g. one core left to the GUI, need not bind it).
    holdout: further augmented copies per given mask that are never trained on ("heads"): after a
    fit, the adapted heads must segment them (and, with several given masks, each given frame read
    from the others) at least as well as the shipped heads, else the half-way blend of the two
    weights is used if it does, else the shipped heads (0 = no check).
    warm_steps: optimiser steps of an incremental refit ("heads"): when masks were only added since
    the last fit (same objects), the new fit starts from the previous one instead of the shipped
    weights (0 = always a full refit).
    strength: the fit used is ``θ_shipped + strength · (θ_fitted - θ_shipped)`` ("heads"; 1 = as fitted).
    strength_growth: added to ``strength`` per given mask beyond the first, up to 1 (more masks spread
        over the video make a fit safer; the held-out check still guards it; 0 = fixed strength).

    Chosen on the dev split (stcn) and on training sequences where the shipped heads are strong
    (a stand-in for the held-out videos that adaptation hurt): strength 0.5 scores dev J&F 0.831,
    no sequence below its unadapted score, where strength 1 scores 0.858 but loses up to 0.443 on
    those sequences (soccerball 0.863 -> 0.420; 0.811 at 0.5, 0.668 at 0.75). At strength 1:
    60 steps on 8 copies 0.858 against 0.768 without adaptation, in 7.2-7.5 s per refit on this
    2-core CPU (idle machine; about as long with several given masks: a step reads at most 4 of
    them); 30 steps on 6 copies 0.840 (another seed 0.844) in about 4.2 s; "target" at best 0.776
    (fusion 1); the decoder alone 0.799; 15 steps 0.759; lr 6e-4 0.715.
    """

    enabled: bool = True
    method: Literal["heads", "target"] = "heads"
    copies: int = 8
    steps: int = 60
    lr: float = 3e-4
    top_p: float = 0.5
    decoder_only: bool = False
    ridge: float = 1e-2
    fusion: float = 1.0
    seed: int = 0
    threads: int = 0
    holdout: int = 2
    warm_steps: int = 20
    strength: float = 0.5
    strength_growth: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in ("heads", "target"):
            raise ValueError(f"unknown adaptation method {self.method!r}")
        if self.copies < 1 or self.steps < 0 or self.lr <= 0 or not 0 < self.top_p <= 1 or self.threads < 0:
            raise ValueError(
                "invalid adaptation settings (copies >= 1, steps >= 0, lr > 0, 0 < top_p <= 1, threads >= 0)"
            )
        if self.ridge <= 0 or self.fusion < 0:
            raise ValueError("invalid target-model settings (ridge > 0, fusion >= 0)")
        if self.holdout < 0 or self.warm_steps < 0 or not 0 < self.strength <= 1 or self.strength_growth < 0:
            raise ValueError(
                "invalid adaptation settings (holdout >= 0, warm_steps >= 0, 0 < strength <= 1, "
                "strength_growth >= 0)"
            )


@dataclass(frozen=True)
class SessionConfig:
    """Inference session settings.

    arch: registered architecture name (``vos_core.models.registry``).
    process_height: frames taller than this are processed at this height (aspect kept);
        None = the architecture's own (``VosModel.process_height``: chosen on the dev split and
        recorded in its model card). Results are always returned at the original resolution.
    device: "auto" (CUDA when present, else CPU), "cpu" or "cuda".
    autocast: run the models under bf16 autocast on CUDA (ignored on the CPU); off by default, as
        it is not shown to give the float32 masks (``bench/gpu_check.py`` compares both).
    accelerate: run the frame encoder through ONNX Runtime on the CPU when available.
    threads: torch/ORT intra-op threads (0 = all cores).
    adapt: adaptation to the video at hand (:class:`AdaptConfig`).
    flip: test-time augmentation: each predicted frame is also encoded, read and decoded mirrored
        left-right, and the two predictions are averaged (about half the fps); off by default.
    """

    arch: str = "propagation"
    process_height: int | None = None
    device: str = "auto"
    autocast: bool = False
    accelerate: bool = True
    threads: int = 0
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    flip: bool = False

    def __post_init__(self) -> None:
        if self.process_height is not None and self.process_height < 64:
            raise ValueError("process_height must be at least 64")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"unknown device {self.device!r}")
