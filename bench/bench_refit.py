"""The adaptation's refit, idle and beside one busy CPU-bound process, as a ratio from one run.

    python bench/bench_refit.py [--davis ROOT] [--sequence lucia] [--arch stcn] [--repeats 1]

A DAVIS sequence's first mask is the one given mask; each measurement is one full refit
(``InferenceSession.adapt``: encoding the augmented copies and the optimiser steps) in a new
session on the same model, after one untimed warm-up refit (ONNX export of the encoder and first
calls). Then a CPU-bound process (``python -c "while True: pass"``) is started and the refit is
timed again. Prints the OpenMP wait policy in effect, the seconds idle and busy, and busy/idle
(target <= 2.0), and, idle, the incremental refit after a correction (the middle frame's true
mask given too; it continues the previous fit, target <= 3 s).
``OMP_WAIT_POLICY=ACTIVE python bench/bench_refit.py`` measures the spinning runtime that the
project's default (``vos_core.threads.wait_passively``) replaces.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vos_core  # noqa: E402,F401 - first: sets OpenMP's wait policy before torch loads
from vos_core.config import SessionConfig  # noqa: E402
from vos_core.data.davis import DavisDataset  # noqa: E402
from vos_core.inference.session import InferenceSession  # noqa: E402
from vos_core.models.registry import build_model  # noqa: E402
from vos_core.threads import ThreadBudget  # noqa: E402

DEFAULT_DAVIS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "davis2016-train"
BUSY_CODE = "while True: pass"


def load() -> str:
    """The machine's load averages (1, 5, 15 min): "idle" means only as quiet as these say."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def refit_seconds(
    dataset: DavisDataset, sequence: str, config: SessionConfig, model: object, correction: int = 0
) -> tuple[float, float]:
    """One full refit on the sequence's first mask in a new session, then (``correction`` > 0) the
    incremental refit after frame ``correction``'s true mask is given too -> their wall seconds."""
    session = InferenceSession(dataset.frames(sequence), config, model=model)  # type: ignore[arg-type]
    session.set_reference(0, dataset.first_mask(sequence))
    t0 = time.perf_counter()
    session.adapt()
    full = time.perf_counter() - t0
    if not correction:
        return full, 0.0
    session.set_reference(correction, next(islice(dataset.masks(sequence), correction, None)))
    t0 = time.perf_counter()
    session.adapt()
    return full, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--davis", type=Path, default=DEFAULT_DAVIS)
    parser.add_argument("--sequence", default="lucia")
    parser.add_argument("--arch", default="stcn")
    parser.add_argument("--adapt-threads", type=int, default=None, help="AdaptConfig.threads (0 = sized)")
    parser.add_argument("--repeats", type=int, default=1, help="refits per condition (the median is used)")
    args = parser.parse_args(argv)
    if not args.davis.is_dir():
        print(f"error: no DAVIS data at {args.davis}", file=sys.stderr)
        return 2
    dataset = DavisDataset(args.davis)
    config = SessionConfig(arch=args.arch)
    if args.adapt_threads is not None:
        config = replace(config, adapt=replace(config.adapt, threads=args.adapt_threads))
    ThreadBudget.of(config.threads).apply()
    model = build_model(config)
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}  cores={os.cpu_count()}  arch={args.arch}  "
          f"refit threads={config.adapt.threads or 'sized'}  steps={config.adapt.steps}  "
          f"warm steps={config.adapt.warm_steps}  copies={config.adapt.copies}  {load()}")
    refit_seconds(dataset, args.sequence, config, model)  # warm-up, untimed
    correction = len(dataset.frames(args.sequence)) // 2

    def median(values: list[tuple[float, float]]) -> tuple[float, float]:
        ordered = sorted(values)
        return ordered[len(ordered) // 2]

    idle, warm = median([refit_seconds(dataset, args.sequence, config, model, correction)
                         for _ in range(args.repeats)])
    print(f"refit idle: {idle:.2f} s  ({load()})", flush=True)
    print(f"incremental refit after a correction at frame {correction}, idle: {warm:.2f} s "
          f"({config.adapt.warm_steps} steps; target <= 3 s)", flush=True)
    busy_process = subprocess.Popen([sys.executable, "-c", BUSY_CODE])
    try:
        time.sleep(0.5)  # let it get going
        busy, _ = median([refit_seconds(dataset, args.sequence, config, model) for _ in range(args.repeats)])
    finally:
        busy_process.kill()
        busy_process.wait()
    print(f"refit beside one busy process: {busy:.2f} s  ({load()})")
    print(f"busy/idle: {busy / idle:.2f}  (target <= 2.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
