"""Training data for the quality head: features and true IoU of predicted frames of DAVIS training
sequences, made by runs of diverse quality (the shipped models have seen these sequences, so their
own predictions there are too good to teach failures).

    python -m vos_core.train.quality_collect --davis ../shared/data/davis2016-train --out DIR
        [--variants a,b] [--sequences a,b]

Each variant (:data:`VARIANTS`) runs the session on every sequence from the first mask with a
different model, processing height, frame step, readout or memory, and writes ``DIR/<variant>.npz``
(``x``: N×F features, ``j``: N true IoU, ``seq``: N sequence names, ``frame``: N frame indices,
``obj``: N object ids). The dev split is refused.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vos_core.config import AdaptConfig, MemoryConfig, ReadoutConfig, SessionConfig
from vos_core.data.davis import DavisDataset
from vos_core.data.frames import FrameSource
from vos_core.inference.session import InferenceSession
from vos_core.memory.entries import EntryKind
from vos_core.metrics import region_j
from vos_core.models.base import VosModel
from vos_core.models.registry import get_spec

#: the dev split (model selection only, never training data)
DEV_SEQUENCES = ("bmx-bumps", "car-turn", "dog-agility", "kite-walk", "lucia")


@dataclass(frozen=True)
class Variant:
    """One way to make predictions: architecture (``untrained``: its heads at initialisation),
    processing height, every ``step``-th frame, the first mask dropped from memory after
    ``drop_ref_after`` frames (0 = kept), readout and memory settings, adaptation to the video
    (``vos_core.adapt``, the engine's default) on or off."""

    name: str
    arch: str
    height: int | None = None
    step: int = 1
    drop_ref_after: int = 0
    untrained: bool = False
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    adapt: bool = False


VARIANTS: tuple[Variant, ...] = (
    Variant("stcn", "stcn"),
    Variant("stcn-256", "stcn", 256),
    Variant("stcn-192-step2", "stcn", 192, step=2),
    Variant("stcn-step4", "stcn", step=4),
    Variant("stcn-noref", "stcn", 256, drop_ref_after=8),
    Variant("stcn-hot", "stcn", 256, readout=ReadoutConfig(top_k=50, temperature=0.5)),
    Variant("stcn-tiny-memory", "stcn", 320, step=2, memory=MemoryConfig(every=20, working_size=1,
                                                                           long_term_size=0)),
    Variant("propagation", "propagation", 240),
    Variant("propagation-step3", "propagation", 320, step=3),
    Variant("gcm", "gcm", 256),
    Variant("sitvos", "sitvos", 256, step=2),
    Variant("stma", "stma", 256),
    Variant("strn", "strn", 256, drop_ref_after=15),
    Variant("stcn-untrained", "stcn", 192, untrained=True),
    Variant("stcn-adapt", "stcn", adapt=True),
    Variant("stcn-adapt-256-step2", "stcn", 256, step=2, adapt=True),
    Variant("gcm-adapt", "gcm", 256, adapt=True),
)


class Strided:
    """Every ``step``-th frame of a source, as a source of its own."""

    def __init__(self, source: FrameSource, step: int) -> None:
        self.source, self.step = source, step

    def __len__(self) -> int:
        return math.ceil(len(self.source) / self.step)

    def read(self, index: int) -> np.ndarray:
        return self.source.read(index * self.step)


def build(variant: Variant) -> tuple[VosModel, SessionConfig]:
    config = SessionConfig(
        arch=variant.arch, process_height=variant.height, threads=1, device="cpu",
        readout=variant.readout, memory=variant.memory, adapt=AdaptConfig(enabled=variant.adapt),
    )
    return get_spec(variant.arch).build(config, untrained=variant.untrained), config


def run_sequence(
    dataset: DavisDataset, seq: str, variant: Variant, model: VosModel, config: SessionConfig
) -> tuple[list[np.ndarray], list[float], list[int], list[int]]:
    """-> per predicted object: (features, true IoU, frame index in the sequence, object id)."""
    gts = list(dataset.masks(seq))
    xs: list[np.ndarray] = []
    js: list[float] = []
    frames: list[int] = []
    objs: list[int] = []
    with dataset.frames(seq) as source:
        video = Strided(source, variant.step)
        session = InferenceSession(video, config, model=model)
        session.annotate(0, gts[0])
        for pos, result in enumerate(session.propagate(0, len(video) - 1), start=1):
            if variant.drop_ref_after and pos == variant.drop_ref_after:
                for entry in session.memory_stats().entries:
                    if entry.kind == EntryKind.PERMANENT:
                        session.evict(entry.id)
            x = session.quality.last_features
            assert x is not None
            gt = gts[result.index * variant.step]
            for slot, object_id in enumerate(result.object_ids):
                xs.append(x[slot].numpy())
                js.append(region_j(result.labels == object_id, gt == object_id))
                frames.append(result.index * variant.step)
                objs.append(object_id)
    return xs, js, frames, objs


def collect(dataset: DavisDataset, seqs: Sequence[str], variant: Variant, out: Path) -> int:
    """Run one variant over ``seqs`` and write ``out/<variant>.npz``; returns the rows written."""
    bad = sorted(set(seqs) & set(DEV_SEQUENCES))
    if bad:
        raise ValueError(f"dev sequences are not training data: {', '.join(bad)}")
    model, config = build(variant)
    xs: list[np.ndarray] = []
    js: list[float] = []
    names: list[str] = []
    frames: list[int] = []
    objs: list[int] = []
    for seq in seqs:
        x, j, f, o = run_sequence(dataset, seq, variant, model, config)
        xs += x
        js += j
        frames += f
        objs += o
        names += [seq] * len(j)
    np.savez(
        out / f"{variant.name}.npz", x=np.stack(xs).astype(np.float32), j=np.asarray(js, np.float32),
        seq=np.asarray(names), frame=np.asarray(frames), obj=np.asarray(objs),
    )
    return len(js)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vos_core.train.quality_collect", description=__doc__)
    parser.add_argument("--davis", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--variants", help="comma-separated variant names (default: all)")
    parser.add_argument("--sequences", help="comma-separated sequences (default: all but the dev split)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dataset = DavisDataset(args.davis)
    seqs = args.sequences.split(",") if args.sequences else [
        s for s in dataset.sequences() if s not in DEV_SEQUENCES
    ]
    by_name = {v.name: v for v in VARIANTS}
    chosen = [by_name[n] for n in args.variants.split(",")] if args.variants else list(VARIANTS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for variant in chosen:
        t0 = time.perf_counter()
        rows = collect(dataset, seqs, variant, out)
        print(f"{variant.name}: {rows} rows in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
