"""The architecture table of the README: dev J&F with and without adaptation to the first mask, fps
at 480p, adaptation seconds, parameters and peak RSS, in one run.

    python bench/bench_archs.py [--archs propagation,stcn,...] [--frames 1000] [--threads 0]
                                [--davis ../shared/data/davis2016-train] [--no-adapt] [--quick]
                                [--update-cards]

Every architecture runs in its own process (so that its peak RSS is its own), one after the other:
1. a ``--frames`` synthetic 854×480 video with one object (``bench_engine.SyntheticVideo``):
   fps over the propagated frames and the process peak RSS (VmHWM) at the last frame, which
   includes model loading and the encoder export;
2. the DAVIS 2016 dev split (bmx-bumps, car-turn, dog-agility, kite-walk, lucia), propagated from
   each first mask at 480p: J&F per sequence and mean (skipped when the data is absent), once without
   adaptation (the model's own figures, those of its card) and once with the default adaptation to
   the first mask (``vos_core.adapt``: what the application and the CLIs run), whose seconds per
   given mask are measured apart (not in the fps).
Both run each model as the application does: 480p frames in and out, processed at the model's own
height (``VosModel.process_height``, from its card).

Parameters: the trained heads (what ``weights/<arch>.pt`` holds, fine-tuned encoder blocks included)
plus the frozen ImageNet encoder that every architecture shares. Prints a Markdown table, one row per
architecture.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import bench_run, memory_kb  # noqa: E402

from vos_core.config import SessionConfig  # noqa: E402
from vos_core.data.atomic import atomic_write_bytes  # noqa: E402
from vos_core.data.davis import DEV_SEQUENCES  # noqa: E402
from vos_core.models.registry import build_model, pretrained_lite0, usable_arch_names  # noqa: E402
from vos_core.threads import ThreadBudget  # noqa: E402
from vos_core.train.dev import evaluate_dev  # noqa: E402
from vos_core.weights import card_path, head_param_count, read_card, weights_dir  # noqa: E402

DEFAULT_DAVIS = ROOT.parent / "shared" / "data" / "davis2016-train"
RESULT_TAG = "RESULT "


@dataclass
class ArchRow:
    """One architecture's figures; ``dev_jf`` is empty when the dev data is absent."""

    arch: str
    trained: bool
    head_params: int
    encoder_params: int
    fps: float
    frames: int
    peak_rss_mb: float
    process_height: int = 480
    dev_jf: dict[str, float] = field(default_factory=dict)
    #: dev J&F with the default adaptation to the first mask, and its mean seconds per sequence
    dev_jf_adapt: dict[str, float] = field(default_factory=dict)
    adapt_s: float = 0.0
    wall_s: float = 0.0


def measure(arch: str, frames: int, threads: int, davis: Path | None, adapt: bool = True) -> ArchRow:
    """Run in the child process: the synthetic long video first (peak RSS), then the dev split
    without and (``adapt``) with adaptation."""
    t0 = time.perf_counter()
    config = SessionConfig(arch=arch, threads=threads)
    ThreadBudget.of(config.threads).apply()
    model = build_model(config)
    warmup = 5
    video_stats = bench_run(model, config, frames, 1, warmup, {frames})
    _, hwm = memory_kb()
    row = ArchRow(
        arch=arch,
        trained=bool(getattr(model, "trained", False)),
        head_params=head_param_count(model),
        encoder_params=sum(p.numel() for p in pretrained_lite0().parameters()),
        fps=round(video_stats.frames / max(video_stats.wall_s, 1e-9), 2),
        frames=frames,
        peak_rss_mb=round(hwm / 1024, 1),
        process_height=int(model.process_height),
    )
    if davis is not None:
        torch.set_num_threads(threads or (os.cpu_count() or 1))
        row.dev_jf, _ = evaluate_dev(model, davis)
        if adapt:
            seconds: list[float] = []
            row.dev_jf_adapt, _ = evaluate_dev(model, davis, adapt=True, adapt_seconds=seconds)
            row.adapt_s = round(sum(seconds) / max(len(seconds), 1), 2)
    row.wall_s = round(time.perf_counter() - t0, 1)
    return row


def run_child(arch: str, args: argparse.Namespace, davis: Path | None) -> ArchRow:
    cmd = [sys.executable, __file__, "--child", arch, "--frames", str(args.frames),
           "--threads", str(args.threads)]
    if davis is not None:
        cmd += ["--davis", str(davis)]
    if not args.adapt:
        cmd += ["--no-adapt"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return ArchRow(**json.loads(line[len(RESULT_TAG):]))
    raise RuntimeError(f"{arch}: benchmark process failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")


def _jf(scores: dict[str, float], key: str) -> str:
    return f"{scores[key]:.3f}" if key in scores else "-"


def markdown(rows: list[ArchRow]) -> str:
    """The README's two tables: one row per architecture, then J&F per dev sequence."""
    seqs = [s for s in DEV_SEQUENCES if any(s in r.dev_jf for r in rows)]
    frames = rows[0].frames if rows else 0
    head = ["architecture", "weights", "dev J&F, adapted", "dev J&F, own", "adaptation",
            "fps 480p", "processed at", "params (heads)", f"peak RSS @{frames}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r.arch,
            "trained" if r.trained else ("training-free" if r.head_params == 0 else "untrained"),
            f"**{_jf(r.dev_jf_adapt, 'mean')}**", _jf(r.dev_jf, "mean"),
            f"{r.adapt_s:.1f} s" if r.dev_jf_adapt else "-",
            f"{r.fps:.2f}", f"{r.process_height}p", f"{r.head_params / 1e6:.2f} M", f"{r.peak_rss_mb:.0f} MB",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| architecture | " + " | ".join(seqs) + " | mean |", "|---|" + "---|" * (len(seqs) + 1)]
    for r in rows:
        for label, scores in (("own", r.dev_jf), ("adapted", r.dev_jf_adapt)):
            if scores:
                cells = [f"{r.arch}, {label}", *(_jf(scores, s) for s in seqs), f"**{_jf(scores, 'mean')}**"]
                lines.append("| " + " | ".join(cells) + " |")
    enc = rows[0].encoder_params if rows else 0
    lines.append("")
    lines.append(f"All rows share the ImageNet EfficientNet-Lite0 encoder ({enc / 1e6:.2f} M "
                 "parameters, frozen; a model that fine-tunes some of its blocks counts them in its "
                 f"trained parameters); fps over {frames} synthetic 854×480 frames, one object. "
                 "Every row takes 480p frames and answers at 480p; each model processes them at its "
                 "own height (from its card, selected on the dev split). \"adapted\": with the "
                 "default adaptation to the first mask (what the app and the CLIs run); "
                 "\"adaptation\": its mean seconds per sequence (one given mask), not in the fps; "
                 "\"own\": the model alone (its card's figures).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", help="comma-separated (default: every usable architecture)")
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    parser.add_argument("--davis", type=Path,
                        help=f"DAVIS 2016 root with the dev split (default: {DEFAULT_DAVIS})")
    parser.add_argument("--adapt", action=argparse.BooleanOptionalAction, default=True,
                        help="also score the dev split with adaptation to the first mask (default)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 frames, no dev split")
    parser.add_argument("--update-cards", action="store_true",
                        help="write the measured dev J&F and fps into weights/<arch>.json of trained archs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.frames = 30
    if args.child:  # the parent passes --davis only when the dev split is to be scored
        row = measure(args.child, args.frames, args.threads, args.davis, args.adapt)
        print(RESULT_TAG + json.dumps(asdict(row)), flush=True)
        return 0
    davis = args.davis or DEFAULT_DAVIS
    davis = davis if davis.is_dir() and not args.quick else None
    archs = [a.strip() for a in args.archs.split(",")] if args.archs else usable_arch_names()
    if davis is None:
        print("dev split not found or --quick: J&F columns are empty", file=sys.stderr)
    rows = []
    for arch in archs:
        row = run_child(arch, args, davis)
        print(f"{arch}: J&F {row.dev_jf.get('mean', '-')} (adapted {row.dev_jf_adapt.get('mean', '-')}, "
              f"{row.adapt_s} s), {row.fps} fps, peak {row.peak_rss_mb} MB, {row.wall_s:.0f} s",
              file=sys.stderr, flush=True)
        rows.append(row)
    print(f"threads={args.threads or os.cpu_count()} of {os.cpu_count()} cores, frames={args.frames}")
    print(markdown(rows))
    if args.update_cards:
        for row in rows:
            if row.trained and row.dev_jf:
                print(f"updated {update_card(row)}", file=sys.stderr)
    return 0


def update_card(row: ArchRow) -> Path:
    """Record the table's figures in the shipped card (the weights file and its hash are untouched)."""
    path = weights_dir() / f"{row.arch}.pt"
    card = read_card(path)
    card.dev_jf, card.fps_480p = row.dev_jf, row.fps
    atomic_write_bytes(card_path(path), card.to_json().encode("utf-8"))
    return card_path(path)


if __name__ == "__main__":
    sys.exit(main())
