"""The annotation loop as a benchmark: propagate, find the worst frame, correct it, propagate again.

    python -m vos_core.rounds --davis ROOT --sequences a,b,c|FILE [--rounds 8]
        [--correction gt|clicks] [--pick truth|quality] [--adapt|--no-adapt]
        [--looks N] [--update around|forward] [--fusion quality|distance|both|select|none]
        [--agree-frames N] [--carry N]
        [--adapt-strength X] [--adapt-growth X]
        [--csv FILE] [--click-weights FILE] [--arch NAME] [--threads N]

Round 0 is the first-frame pass (frame 0's mask given, the rest propagated). Each further round picks
the worst frame not yet corrected among the scored ones (first and last excluded): by its true J
(``--pick truth``, the mean over objects) or by the quality estimate the annotator sees
(``--pick quality``, the worst object's). A frame that needs no correction (clicks: every object
already at the click target; ground truth: already exact) is marked reviewed, as an annotator does
with the app's "Mark reviewed", kept as it is, and the next worst is looked at, up to ``--looks``
frames (default 5; 1 = the older protocol, which made a right frame a reference). The correction
is its ground truth (``--correction gt``) or
the click model's mask from simulated clicks (``--correction clicks``: the click protocol's
:func:`~vos_core.interactive.clicks.simulate.next_click`, starting from the predicted mask as the app
does, at most 5 clicks per object, stopping at IoU 0.9). The frame becomes a reference and the
re-propagation is :class:`~vos_core.inference.correction.CorrectionRun`, the code the app runs
(``--update around``: both sides with fusion and early stop, the default; ``forward``: the older F6,
forward to the next reference).

The simulated annotator (what it looks at, whether a frame needs a correction, its clicks) is
:mod:`vos_core.rounds_annotator`.

Printed: per sequence and round J&F, then per round the mean J&F, the seconds of compute per
sequence (refit, propagation, their sum; mean and max over sequences), the frames re-predicted, and
the area under the J&F curve over rounds (trapezoids, divided by the rounds). ``--csv`` also writes
one row per sequence and round.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from vos_core.cli_common import (
    OneLineParser,
    UsageError,
    add_model_args,
    positive_int,
    run_cli,
    session_config,
)
from vos_core.config import AdaptConfig, SessionConfig
from vos_core.data.atomic import atomic_write_bytes
from vos_core.data.davis import DavisDataset, parse_sequence_arg
from vos_core.data.masks import read_mask
from vos_core.errors import VosInputError
from vos_core.evaluate import annotation_files
from vos_core.inference.correction import CorrectionConfig, CorrectionRun
from vos_core.inference.session import InferenceSession
from vos_core.inference.transport import TransportConfig
from vos_core.metrics import score_sequence
from vos_core.models.base import VosModel
from vos_core.rounds_annotator import (
    ClickTool,
    click_correction,
    correction_target,
    frame_truth,
    needs_correction,
    pick_frame,
)
from vos_core.threads import ThreadBudget


@dataclass(frozen=True)
class RoundResult:
    """One round of one sequence: its J&F after the round, the frame corrected (-1 in round 0), the
    clicks made, the seconds of refit, propagation and clicks, the frames re-predicted, and the
    corrected frame's own J before and after its correction, and the frames looked at."""

    sequence: str
    round: int
    jf: float
    frame: int
    clicks: int
    refit_s: float
    propagate_s: float
    click_s: float
    frames_run: int
    carry_s: float = 0.0
    #: the corrected frame's true J before the correction and after it (NaN in round 0)
    j_before: float = float("nan")
    j_after: float = float("nan")
    #: frames looked at to find one that needs a correction (the others were marked reviewed)
    looked: int = 0

    @property
    def compute_s(self) -> float:
        return self.refit_s + self.propagate_s


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="vos-rounds", description="J&F per round of the annotation loop.")
    p.add_argument("--davis", metavar="ROOT", required=True, help="dataset root (JPEGImages/480p, ...)")
    p.add_argument("--sequences", metavar="a,b,c|FILE", help="sequences (default: all)")
    p.add_argument("--rounds", type=positive_int, default=8, help="correction rounds after round 0")
    p.add_argument("--correction", choices=("gt", "clicks"), default="gt")
    p.add_argument("--pick", choices=("truth", "quality"), default="truth")
    p.add_argument(
        "--update", choices=("around", "forward"), default="around",
        help="re-propagation after a correction: both sides (default) or forward to the next reference",
    )
    p.add_argument(
        "--fusion", choices=("distance", "quality", "both", "select", "none"), default=CorrectionConfig.fusion
    )
    p.add_argument(
        "--agree-frames", type=int, default=CorrectionConfig.agree_frames, metavar="N",
        help="stop a run after N frames agreeing with the previous masks (0 = never)",
    )
    p.add_argument(
        "--agree-iou", type=float, default=CorrectionConfig.agree_iou, metavar="X",
        help="a frame agrees when every object's IoU with its previous mask is >= X",
    )
    p.add_argument(
        "--carry", type=int, default=TransportConfig.frames, metavar="N",
        help="frames on each side a correction is carried to by optical flow (0 = off)",
    )
    p.add_argument(
        "--adapt-strength", type=float, default=AdaptConfig.strength, metavar="X",
        help="adaptation strength with one given mask (AdaptConfig.strength)",
    )
    p.add_argument(
        "--adapt-growth", type=float, default=AdaptConfig.strength_growth, metavar="X",
        help="added to the strength per further given mask (AdaptConfig.strength_growth)",
    )
    p.add_argument(
        "--looks", type=positive_int, default=5, metavar="N",
        help="frames looked at per round: one that needs no correction is marked reviewed and the "
        "next worst is looked at (1 = correct the first frame picked, right or not)",
    )
    p.add_argument("--click-weights", metavar="FILE", help="click model (default: weights/clicks.pt)")
    p.add_argument("--csv", metavar="FILE", help="also write one row per sequence and round")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    add_model_args(p)
    return p


def correction_config(args: argparse.Namespace) -> CorrectionConfig:
    if args.update == "forward":
        return CorrectionConfig.forward_only()
    try:
        return CorrectionConfig(
            fusion=args.fusion, agree_frames=args.agree_frames, agree_iou=args.agree_iou,
            transport=TransportConfig(frames=args.carry),
        )
    except ValueError as error:
        raise UsageError(str(error)) from error


def run_sequence(
    dataset: DavisDataset,
    seq: str,
    model: VosModel,
    config: SessionConfig,
    args: argparse.Namespace,
    segmenter: ClickTool | None,
) -> list[RoundResult]:
    """Round 0 and ``args.rounds`` correction rounds of one sequence."""
    _, gt_files = annotation_files(dataset, seq)
    update = correction_config(args)
    with dataset.frames(seq) as frames:
        gts = [read_mask(path, expected_hw=frames.size) for path in gt_files]
        if not np.any(gts[0]):
            raise VosInputError(f"the first mask of sequence {seq!r} has no objects")
        n = len(frames)
        session = InferenceSession(frames, config, model=model)
        session.set_reference(0, gts[0])
        preds: list[np.ndarray] = [gts[0]] + [np.zeros_like(gts[0]) for _ in range(n - 1)]
        quality = {0: 1.0}
        corrected = {0}
        reviewed: set[int] = set()
        results: list[RoundResult] = []
        for rnd in range(args.rounds + 1):
            frame, clicks, click_s, looked = 0, 0, 0.0, 0
            j_before = j_after = float("nan")
            if rnd:
                frame, looked = pick_frame(args, preds, gts, quality, corrected, reviewed)
                if frame is None:
                    break
                if not needs_correction(preds[frame], gts[frame], correction_target(args)):
                    # every frame looked at was right already: this round corrects nothing
                    results.append(
                        RoundResult(seq, rnd, results[-1].jf, frame, 0, 0.0, 0.0, 0.0, 0, looked=looked)
                    )
                    print(f"{seq}  round={rnd}  looked at {looked} frames, all right already", flush=True)
                    continue
                labels = gts[frame]
                if args.correction == "clicks":
                    t0 = time.perf_counter()
                    labels, clicks = click_correction(segmenter, frames.read(frame), preds[frame], gts[frame])
                    click_s = time.perf_counter() - t0
                j_before, j_after = frame_truth(preds[frame], gts[frame]), frame_truth(labels, gts[frame])
                session.set_reference(frame, labels)
                preds[frame], quality[frame] = labels, 1.0
                corrected.add(frame)
            run = CorrectionRun(session, frame, update)
            for result in run:
                if result.index not in reviewed:  # a reviewed frame is kept as it is (as in the app)
                    preds[result.index] = result.labels
                    quality[result.index] = result.quality
            score = score_sequence(preds, gts, skip_first_last=True, name=seq)
            results.append(
                RoundResult(
                    seq, rnd, score.jf, frame if rnd else -1, clicks, run.stats.refit_s,
                    run.stats.propagate_s, click_s, len(run.stats.predicted), run.stats.carry_s,
                    j_before, j_after, looked,
                )
            )
            r = results[-1]
            detail = f"  J={r.j_before:.3f}->{r.j_after:.3f}  looked={r.looked}" if rnd else ""
            print(
                f"{seq}  round={rnd}  frame={r.frame}  J&F={r.jf:.4f}  refit={r.refit_s:.1f}s  "
                f"propagate={r.propagate_s:.1f}s (flow {r.carry_s:.1f}s)  frames={r.frames_run}  "
                f"clicks={r.clicks}{detail}",
                flush=True,
            )
    return results


def area_under_curve(values: Sequence[float]) -> float:
    """Trapezoidal area under J&F over rounds 0..R, divided by R (the mean height; one value: itself)."""
    if len(values) < 2:
        return float(values[0]) if values else 0.0
    return float(sum((a + b) / 2 for a, b in zip(values[:-1], values[1:], strict=True)) / (len(values) - 1))


def round_table(results: Sequence[RoundResult]) -> list[str]:
    """Markdown rows: per round the mean J&F over sequences and the seconds per sequence."""
    rounds = sorted({r.round for r in results})
    lines = [
        "| round | J&F | refit s (mean / max) | propagation s (mean / max) | compute s (max) | frames run |",
        "|---|---|---|---|---|---|",
    ]
    means = []
    for rnd in rounds:
        rows = [r for r in results if r.round == rnd]
        jf = float(np.mean([r.jf for r in rows]))
        means.append(jf)
        refit = [r.refit_s for r in rows]
        prop = [r.propagate_s for r in rows]
        lines.append(
            f"| {rnd} | {jf:.3f} | {np.mean(refit):.1f} / {max(refit):.1f} | {np.mean(prop):.1f} / "
            f"{max(prop):.1f} | {max(r.compute_s for r in rows):.1f} | {sum(r.frames_run for r in rows)} |"
        )
    lines.append(f"AUC {area_under_curve(means):.4f}")
    return lines


def results_csv(results: Sequence[RoundResult]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "sequence", "round", "jf", "frame", "clicks", "refit_s", "propagate_s", "click_s", "frames_run",
            "j_before", "j_after", "looked",
        ]
    )
    for r in results:
        writer.writerow(
            [r.sequence, r.round, f"{r.jf:.6f}", r.frame, r.clicks, f"{r.refit_s:.3f}",
             f"{r.propagate_s:.3f}", f"{r.click_s:.3f}", r.frames_run, f"{r.j_before:.6f}",
             f"{r.j_after:.6f}", r.looked]
        )
    return buffer.getvalue().encode("utf-8")


def _main(args: argparse.Namespace) -> int:
    dataset = DavisDataset(args.davis)
    seqs = parse_sequence_arg(args.sequences, dataset) if args.sequences else dataset.sequences()
    if not seqs:
        raise VosInputError(f"no sequences in {dataset.image_root}")
    for seq in seqs:
        annotation_files(dataset, seq)
    correction_config(args)
    config = session_config(args)
    try:
        adapt = replace(config.adapt, strength=args.adapt_strength, strength_growth=args.adapt_growth)
        config = replace(config, adapt=adapt)
    except ValueError as error:
        raise UsageError(str(error)) from error
    ThreadBudget.of(config.threads).apply()
    from vos_core.models.registry import build_model

    model = build_model(config)
    segmenter = None
    if args.correction == "clicks":
        from vos_core.interactive.clicks.predictor import ClickSegmenter

        segmenter = ClickSegmenter.load(args.click_weights, threads=max(1, config.threads))
    print(
        f"# rounds={args.rounds} correction={args.correction} pick={args.pick} adapt={config.adapt.enabled} "
        f"looks={args.looks} update={args.update} fusion={args.fusion} "
        f"agree={args.agree_frames}@{args.agree_iou} "
        f"carry={args.carry} strength={args.adapt_strength}+{args.adapt_growth}/mask "
        f"arch={config.arch}",
        flush=True,
    )
    results: list[RoundResult] = []
    for seq in seqs:
        results.extend(run_sequence(dataset, seq, model, config, args, segmenter))
    print("\n".join(round_table(results)), flush=True)
    if args.csv:
        atomic_write_bytes(args.csv, results_csv(results))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m vos_core.rounds``; returns the exit code."""
    return run_cli(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
