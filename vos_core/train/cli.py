"""Command line of the trainer.

    python -m vos_core.train --arch NAME --stage static|video|mixed [--resume] [--max-minutes M]
        [--out runs/NAME] [--seed S] [--batch B] [--crop 384] [--iters N] [--init FILE]
        [--warm-start FILE] [--lr LR] [--workers N] [--threads N] [--eval-dev] [--quiet]
        [--pack DIR] [--no-amp] [--static-sets ecssd,pascal_s,...]

Runs unchanged under ``torchrun --nproc_per_node=N -m vos_core.train ...`` (DistributedDataParallel).
Ctrl-C stops after the current step with a checkpoint; ``--resume`` continues exactly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vos_core.errors import VosError
from vos_core.train.config import DEFAULT_DATA_ROOT, STATIC_SETS, TrainConfig


def _crop(text: str) -> tuple[int, int]:
    parts = text.lower().replace("x", ",").split(",")
    try:
        values = [int(p) for p in parts if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"crop must be N or HxW, got {text!r}") from None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or min(values) < 32 or any(v % 16 for v in values):
        raise argparse.ArgumentTypeError(f"crop must be multiples of 16, at least 32: {text!r}")
    return values[0], values[1]


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one static set")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vos_core.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True, help="architecture to train (stcn, gcm, strn, sitvos, stma)")
    p.add_argument("--stage", required=True, choices=("static", "video", "mixed", "synthetic"),
                   help="static pseudo-videos, DAVIS 2016 video clips, both (mixed, half each), or "
                        "synthetic smoke-test clips")
    p.add_argument("--out", type=Path, help="run folder (default: runs/<arch>-<stage>)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT,
                   help="shared data root (default: %(default)s)")
    p.add_argument("--pack", type=Path,
                   help="training pack (python -m vos_core.datapack) instead of the data folders")
    p.add_argument("--static-sets", type=_names, default=STATIC_SETS,
                   help="comma-separated static/<set> folders for the static pseudo-videos "
                        "(default: all, %(default)s)")
    p.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--init", type=Path, help="start from these weights (e.g. the static stage's <arch>.pt)")
    p.add_argument("--warm-start", type=Path,
                   help="copy the shared parts (same name and shape) from another architecture's weights")
    p.add_argument("--max-minutes", type=float, help="stop (checkpoint + weights) after M minutes")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0, help="checkpoint period (default: 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=4, help="clips per step and process (default: 4)")
    p.add_argument("--crop", type=_crop, default=(384, 384), help="N or HxW, multiples of 16 (default: 384)")
    p.add_argument("--frames", type=int, default=3, help="frames per clip (default: 3)")
    p.add_argument("--iters", type=int, default=20000, help="total optimiser steps (default: 20000)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--workers", type=int, default=0, help="data-loading processes (default: 0)")
    p.add_argument("--threads", type=int, default=0, help="torch threads per process (0 = auto)")
    p.add_argument("--eval-dev", action="store_true", help="score the DAVIS dev split at the end")
    p.add_argument("--stop-at", type=int, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def config_from_args(argv: Sequence[str] | None = None) -> TrainConfig:
    args = parser().parse_args(argv)
    out = args.out or Path("runs") / f"{args.arch}-{args.stage}"
    return TrainConfig(
        arch=args.arch, stage=args.stage, out=out, data_root=args.data, iters=args.iters, batch=args.batch,
        crop=args.crop, frames=args.frames, lr=args.lr, seed=args.seed, max_minutes=args.max_minutes,
        checkpoint_minutes=args.checkpoint_minutes, resume=args.resume, init=args.init, stop_at=args.stop_at,
        warm_start=args.warm_start,
        workers=args.workers, threads=args.threads, eval_dev=args.eval_dev, quiet=args.quiet,
        pack=args.pack, amp=not args.no_amp, static_sets=args.static_sets,
    )


def main(argv: Sequence[str] | None = None) -> int:
    from vos_core.train.trainer import Trainer

    finished = False
    try:
        config = config_from_args(argv)
        trainer = Trainer(config)
        try:
            result = trainer.run()
            finished = True
        finally:
            trainer.close()
    except (VosError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        import torch.distributed as dist

        if dist.is_initialized():
            if finished:  # every rank done (rank 0 saves last) before gloo's connections close
                dist.barrier()
            dist.destroy_process_group()
    if trainer.dist.main:
        where = f", weights {result.weights}" if result.weights else ""
        state = "interrupted" if result.interrupted else "stopped"
        print(f"{state} at iteration {result.iteration}{where}")
    return 130 if result.interrupted else 0
