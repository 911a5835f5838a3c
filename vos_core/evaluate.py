"""Evaluate an architecture on a DAVIS-style dataset (semi-supervised protocol).

    python -m vos_core.evaluate --davis ROOT --sequences a,b,c|FILE --out DIR [--arch NAME]
        [--process-height N] [--threads N] [--adapt|--no-adapt] [--adapt-steps N]
        [--adapt-copies N] [--overwrite] [--quiet] [--debug]
    python -m vos_core.evaluate --list-archs

The first frame's mask is given, the rest is propagated forward. Predictions are written to
``DIR/<seq>/<frame>.png``, scores (J, F, J&F per sequence, first and last frame excluded; fps and,
apart, the seconds of the adaptation to the first mask) to ``DIR/scores.csv``, the estimated quality
of every scored frame next to its true J to ``DIR/<seq>/frames.csv``
(``frame,object,quality,frame_quality,j``: one row per object). One line per sequence is printed,
then ``quality-spearman <x>`` (Spearman correlation of the frames' estimated quality with their true
J, the mean over objects, over all scored frames), then ``J&F <mean over sequences>`` last.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vos_core.cli_common import (
    OneLineParser,
    UsageError,
    add_model_args,
    add_run_args,
    arch_lines,
    run_cli,
    session_config,
    staged_output_dir,
)
from vos_core.config import SessionConfig
from vos_core.data.atomic import atomic_write_bytes
from vos_core.data.davis import DavisDataset, parse_sequence_arg
from vos_core.data.frames import FrameSource
from vos_core.data.masks import read_mask, write_mask
from vos_core.errors import VosInputError
from vos_core.inference.session import InferenceSession
from vos_core.metrics import SequenceScore, region_j, score_sequence
from vos_core.models.base import VosModel
from vos_core.quality.rank import spearman
from vos_core.threads import ThreadBudget


@dataclass(frozen=True)
class SequenceResult:
    score: SequenceScore
    frames: int
    fps: float
    #: per scored frame: (estimated frame quality, true J averaged over objects)
    quality: tuple[tuple[float, float], ...] = ()
    #: seconds of the adaptation to the first mask (0 without adaptation); not in ``fps``
    adapt_s: float = 0.0

    def line(self) -> str:
        s = self.score
        line = f"{s.name}  J={s.j_mean:.4f}  F={s.f_mean:.4f}  J&F={s.jf:.4f}  fps={self.fps:.2f}"
        return line + (f"  adapt={self.adapt_s:.1f}s" if self.adapt_s else "")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="vos-evaluate",
        description="Semi-supervised evaluation (first-frame mask given) on a DAVIS-style dataset.",
    )
    parser.add_argument("--davis", metavar="ROOT", help="dataset root (JPEGImages/480p, Annotations/480p)")
    parser.add_argument(
        "--sequences", metavar="a,b,c|FILE",
        help="comma-separated sequence names or a file with one per line (default: all)",
    )
    parser.add_argument("--out", metavar="DIR", help="output folder for masks and scores.csv")
    parser.add_argument("--list-archs", action="store_true", help="list architectures and exit")
    add_model_args(parser)
    add_run_args(parser)
    return parser


def annotation_files(dataset: DavisDataset, seq: str) -> tuple[list[Path], list[Path]]:
    """(frame files, ground-truth files) of a sequence, matched by name; every frame needs one."""
    with dataset.frames(seq) as frames:
        frame_files = list(frames.files)
    by_stem = {path.stem: path for path in dataset.annotation_paths(seq)}
    missing = [f.name for f in frame_files if f.stem not in by_stem]
    if missing:
        raise VosInputError(
            f"sequence {seq!r} has no ground truth for {len(missing)} of {len(frame_files)} frames "
            f"(first: {missing[0]}); evaluation needs a mask for every frame"
        )
    return frame_files, [by_stem[f.stem] for f in frame_files]


def first_mask_run(
    frames: FrameSource,
    first: np.ndarray,
    config: SessionConfig,
    model: VosModel,
    quality: dict[int, dict[int, float]] | None = None,
    adapt_seconds: list[float] | None = None,
) -> Iterator[tuple[int, np.ndarray, float]]:
    """The semi-supervised protocol, the one evaluation loop (CLI and dev scoring): frame 0's mask is
    given, the rest is propagated forward. Yields (frame index, H×W labels, seconds the engine spent
    on that frame, the adaptation excluded), frame 0 first. ``quality``, when given, receives each
    predicted frame's estimated quality per object: {frame: {object id: quality}};
    ``adapt_seconds`` the seconds of the adaptation to the first mask (``vos_core.adapt``; it runs
    when propagation starts), when there was one."""
    session = InferenceSession(frames, config, model=model)
    t0 = time.perf_counter()
    session.annotate(0, first)
    yield 0, first, time.perf_counter() - t0
    if len(frames) < 2:
        return
    session.adapt()  # what the run would do first, timed apart from the frames
    if adapt_seconds is not None and session.adapter.last_seconds > 0:
        adapt_seconds.append(session.adapter.last_seconds)
    results = session.propagate(0, len(frames) - 1, "forward")
    while True:
        t0 = time.perf_counter()
        result = next(results, None)
        seconds = time.perf_counter() - t0
        if result is None:
            return
        if quality is not None:
            quality[result.index] = dict(zip(result.object_ids, result.object_quality, strict=True))
        yield result.index, result.labels, seconds


def evaluate_sequence(
    dataset: DavisDataset,
    seq: str,
    model: VosModel,
    config: SessionConfig,
    out: Path,
    progress: bool = True,
) -> SequenceResult:
    """Propagate the first-frame mask through ``seq``, write the masks to ``out`` and score them."""
    frame_files, gt_files = annotation_files(dataset, seq)
    out.mkdir()
    with dataset.frames(seq) as frames:
        gts = [read_mask(path, expected_hw=frames.size) for path in gt_files]
        if not np.any(gts[0]):
            raise VosInputError(f"the first mask of sequence {seq!r} ({gt_files[0]}) has no objects")
        preds: list[np.ndarray] = []
        estimated: dict[int, dict[int, float]] = {}
        elapsed = 0.0
        adapted: list[float] = []
        with tqdm(
            total=len(frames), unit="frame", desc=seq, file=sys.stderr, disable=not progress,
            dynamic_ncols=True, leave=False,
        ) as bar:
            for index, labels, seconds in first_mask_run(
                frames, gts[0], config, model, estimated, adapted
            ):
                elapsed += seconds
                preds.append(labels)
                write_mask(out / f"{frame_files[index].stem}.png", labels)
                bar.update(1)
    score = score_sequence(preds, gts, skip_first_last=True, name=seq)
    scored = range(1, len(preds) - 1) if len(preds) > 2 else range(len(preds))
    rows, quality = quality_rows([i for i in scored if i in estimated], estimated, preds, gts)
    atomic_write_bytes(out / "frames.csv", rows)
    return SequenceResult(
        score, len(preds), len(preds) / max(elapsed, 1e-9), quality, round(sum(adapted), 3)
    )


def quality_rows(
    frames: Sequence[int],
    estimated: dict[int, dict[int, float]],
    preds: Sequence[np.ndarray],
    gts: Sequence[np.ndarray],
) -> tuple[bytes, tuple[tuple[float, float], ...]]:
    """frames.csv (``frame,object,quality,frame_quality,j``) of the given frames, and per frame
    (estimated frame quality = the worst object's, true J averaged over the objects)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["frame", "object", "quality", "frame_quality", "j"])
    pairs = []
    for index in frames:
        per_object = estimated[index]
        frame_quality = min(per_object.values(), default=1.0)
        js = []
        for object_id, q in per_object.items():
            j = region_j(preds[index] == object_id, gts[index] == object_id)
            js.append(j)
            writer.writerow([index, object_id, f"{q:.6f}", f"{frame_quality:.6f}", f"{j:.6f}"])
        if js:
            pairs.append((frame_quality, float(np.mean(js))))
    return buffer.getvalue().encode("utf-8"), tuple(pairs)


def scores_csv(results: Sequence[SequenceResult]) -> bytes:
    """One row per sequence: ``sequence,J,F,J&F,frames,objects,fps,adapt_s`` (fps without the
    adaptation, which ``adapt_s`` counts)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sequence", "J", "F", "J&F", "frames", "objects", "fps", "adapt_s"])
    for r in results:
        s = r.score
        writer.writerow(
            [s.name, f"{s.j_mean:.6f}", f"{s.f_mean:.6f}", f"{s.jf:.6f}", r.frames, s.n_objects,
             f"{r.fps:.3f}", f"{r.adapt_s:.3f}"]
        )
    return buffer.getvalue().encode("utf-8")


def _main(args: argparse.Namespace) -> int:
    if args.list_archs:
        print("\n".join(arch_lines()))
        return 0
    for option, value in (("--davis", args.davis), ("--out", args.out)):
        if not value:
            raise UsageError(f"the following argument is required: {option} (see vos-evaluate --help)")
    dataset = DavisDataset(args.davis)
    seqs = parse_sequence_arg(args.sequences, dataset) if args.sequences else dataset.sequences()
    if not seqs:
        raise VosInputError(f"no sequences in {dataset.image_root}")
    for seq in seqs:  # fail on missing frames or ground truth before any work is done
        annotation_files(dataset, seq)
    config = session_config(args)
    ThreadBudget.of(config.threads).apply()
    results: list[SequenceResult] = []
    with staged_output_dir(args.out, overwrite=args.overwrite) as partial:
        from vos_core.models.registry import build_model

        model = build_model(config)
        for seq in seqs:
            result = evaluate_sequence(dataset, seq, model, config, partial / seq, not args.quiet)
            results.append(result)
            print(result.line(), flush=True)
        atomic_write_bytes(partial / "scores.csv", scores_csv(results))
    pairs = np.array([p for r in results for p in r.quality], dtype=np.float64).reshape(-1, 2)
    print(f"quality-spearman {spearman(pairs[:, 0], pairs[:, 1]):.4f}", flush=True)
    mean = float(np.mean([r.score.jf for r in results]))
    print(f"J&F {mean:.4f}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vos-evaluate`` / ``python -m vos_core.evaluate``; returns the exit code."""
    return run_cli(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
