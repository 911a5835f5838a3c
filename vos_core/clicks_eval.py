"""Score click-to-mask segmentation with the standard automatic protocol (NoC).

    python -m vos_core.clicks_eval --davis ROOT --sequences a,b,c|FILE [--frames first|all] [--frame-step N]
    python -m vos_core.clicks_eval --images DIR [--split all|heldout]
    python -m vos_core.clicks_eval --instances STATIC_ROOT [--composites N]
        [--method model|grabcut] [--weights FILE] [--work-height N] [--max-clicks 20] [--limit N]
        [--zoom-size N] [--zoom-expansion F] [--zoom-min-crop F] [--zoom-skip K]
        [--no-local] [--local-skip K] [--local-size N] [--local-side F] [--refine-rel F]
        [--zoom-early K] [--zoom-early-gain F] [--zoom-early-band F] [--split-negative on|off]
        [--split-first on|off]

Each object of each frame (DAVIS: the first frame of each sequence, or every annotated frame;
``--images``: a folder with ``images/`` and ``masks/``, one object per label; ``--split heldout``
keeps only the fixed held-out split of the click model's training; ``--instances``: the held-out
multi-instance set of :mod:`vos_core.interactive.clicks.instances`, Penn-Fudan pedestrians and
ECSSD composites with look-alikes) is segmented from clicks placed by the protocol: the first at
the object's centre, each next one at the centre of the largest error region, positive on a false
negative, negative on a false positive, up to ``--max-clicks``. Printed: one line per object
(unless ``--quiet``), mean IoU after 1, 3 and 5 clicks, the per-click time; where objects have
other instances beside them, a ``leak@1`` line (the mean fraction of the first click's predicted
pixels that lie on the other instances, how many objects leak more than 5%, the mean IoU of the
prediction with them); as the last line ``NoC@85 <x> NoC@90 <y>``. ``--method grabcut`` scores
the GrabCut baseline, which starts from the object's tight box (the box counts as its first
click). The model zooms in after the first click (:mod:`vos_core.interactive.clicks.zoom`);
``--zoom-size 0`` turns that off. After the first clicks each click's changes are kept near it and
re-run on a small square around it (:mod:`vos_core.interactive.clicks.local`); ``--no-local`` turns
that off.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from vos_core.cli_common import OneLineParser, UsageError, non_negative_int, on_off, positive_int, run_cli
from vos_core.errors import VosInputError
from vos_core.interactive.clicks.local import LocalRefine
from vos_core.interactive.clicks.protocol import Sample
from vos_core.interactive.clicks.zoom import ZoomIn


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="vos-clicks-eval", description="NoC evaluation of click-to-mask segmentation.")
    p.add_argument("--davis", metavar="ROOT", help="DAVIS-style root (JPEGImages/480p, Annotations/480p)")
    p.add_argument("--sequences", metavar="a,b,c|FILE", help="sequences (default: all)")
    p.add_argument("--frames", choices=("first", "all"), default="first")
    p.add_argument(
        "--frame-step",
        type=positive_int,
        default=1,
        metavar="N",
        help="with --frames all: every N-th annotated frame",
    )
    p.add_argument("--images", metavar="DIR", help="folder with images/ and masks/ (instead of --davis)")
    p.add_argument(
        "--split",
        choices=("all", "heldout"),
        default="all",
        help="with --images: every image, or only the click model's held-out split",
    )
    p.add_argument(
        "--instances",
        metavar="STATIC_ROOT",
        help="the held-out multi-instance set under a static-data root (pennfudan/, ecssd/)",
    )
    p.add_argument(
        "--composites",
        type=non_negative_int,
        default=60,
        metavar="N",
        help="with --instances: ECSSD held-out composites scored after the Penn-Fudan pedestrians",
    )
    p.add_argument("--method", choices=("model", "grabcut"), default="model")
    p.add_argument("--weights", metavar="FILE", help="click model weights (default: weights/clicks.pt)")
    p.add_argument(
        "--work-height",
        type=positive_int,
        default=None,
        metavar="N",
        help="model working height (default: the card's)",
    )
    p.add_argument(
        "--refine-radius",
        type=non_negative_int,
        default=None,
        metavar="R",
        help="model: radius of the edge-snapping guided filter (0 = off; default: the model's)",
    )
    p.add_argument(
        "--refine-rel",
        type=float,
        default=None,
        metavar="F",
        help="model: cap the guided filter's radius at F times the mask's short side (0 = no cap)",
    )
    p.add_argument(
        "--zoom-size",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="model: long side of the zoom-in crop at the model input (0 = no zoom-in; default: the model's)",
    )
    p.add_argument(
        "--zoom-expansion", type=float, default=None, metavar="F", help="model: zoom crop / box side"
    )
    p.add_argument(
        "--zoom-min-crop",
        type=float,
        default=None,
        metavar="F",
        help="model: smallest zoom crop / frame short side",
    )
    p.add_argument(
        "--zoom-skip",
        type=non_negative_int,
        default=None,
        metavar="K",
        help="model: clicks before zooming in",
    )
    p.add_argument(
        "--zoom-early",
        type=non_negative_int,
        default=None,
        metavar="K",
        help="model: the first K clicks also re-run on the zoom crop around their prediction",
    )
    p.add_argument(
        "--zoom-early-gain",
        type=float,
        default=None,
        metavar="F",
        help="model: with --zoom-early, only when the crop is enlarged at least F times",
    )
    p.add_argument(
        "--zoom-early-band",
        type=float,
        default=None,
        metavar="F",
        help="model: with --zoom-early, the second pass changes only a band of F times the mask's size",
    )
    p.add_argument("--no-local", action="store_true", help="model: no click-local steps")
    p.add_argument(
        "--local-skip",
        type=non_negative_int,
        default=None,
        metavar="K",
        help="model: clicks before the local steps",
    )
    p.add_argument(
        "--local-size",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="model: side of the local square at the model input (0 = merge only)",
    )
    p.add_argument(
        "--local-side", type=float, default=None, metavar="F", help="model: local square / object size"
    )
    for flag, text in (
        ("--drop-negative", "a negative click drops the whole mask region under it"),
        ("--split-negative", "a negative click on a touching look-alike splits it off (watershed)"),
        ("--split-first", "the first click splits off blobs as thick as the clicked one (watershed)"),
        ("--seeded", "keep only mask regions holding a positive click"),
    ):
        described = f"model: {text} (default: the model's)"
        p.add_argument(flag, type=on_off, default=None, metavar="on|off", help=described)
    p.add_argument(
        "--seeded-clicks",
        type=non_negative_int,
        default=None,
        metavar="K",
        help="model: the seeded rule only while there are at most K clicks (0 = always)",
    )
    p.add_argument(
        "--fragment",
        type=float,
        default=None,
        metavar="F",
        help="model: with --seeded, regions under F times the clicked regions' area stay",
    )
    p.add_argument("--max-clicks", type=positive_int, default=20)
    p.add_argument("--limit", type=non_negative_int, default=0, help="score at most N objects (0 = all)")
    p.add_argument("--threads", type=positive_int, default=1)
    p.add_argument("--quiet", action="store_true", help="no per-object lines")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    return p


def _objects(name: str, image: np.ndarray, labels: np.ndarray) -> Iterator[Sample]:
    objects = (labels > 0) & (labels != 255)  # 255: void in DAVIS-style masks
    for value in np.unique(labels[objects]):
        gt = labels == value
        yield Sample(f"{name}#{int(value)}", image, gt, objects & ~gt)


def davis_samples(root: str, sequences: str | None, frames: str, step: int = 1) -> Iterator[Sample]:
    from vos_core.data.davis import DavisDataset, parse_sequence_arg
    from vos_core.data.masks import read_mask

    dataset = DavisDataset(root)
    seqs = parse_sequence_arg(sequences, dataset) if sequences else dataset.sequences()
    if not seqs:
        raise VosInputError(f"no sequences in {dataset.image_root}")
    for seq in seqs:
        paths = dataset.annotation_paths(seq)
        with dataset.frames(seq) as source:
            for path in paths[:1] if frames == "first" else paths[::step]:
                index = int(path.stem) if path.stem.isdigit() else paths.index(path)
                if index >= len(source):
                    raise VosInputError(f"annotation {path} has no frame in sequence {seq}")
                image = source.read(index)
                yield from _objects(f"{seq}/{path.stem}", image, read_mask(path, expected_hw=image.shape[:2]))


def image_samples(folder: str, split: str) -> Iterator[Sample]:
    from vos_core.data.masks import read_mask
    from vos_core.interactive.clicks.data import (
        HELDOUT_SET,
        HELDOUT_SPLITS,
        image_mask_pairs,
        is_heldout,
        read_rgb,
    )

    pairs = image_mask_pairs(Path(folder))
    if split == "heldout":  # the split of the set named like the folder (ECSSD's rule otherwise)
        name = Path(folder).name if Path(folder).name in HELDOUT_SPLITS else HELDOUT_SET
        pairs = [(i, m) for i, m in pairs if is_heldout(i.stem, name)]
    if not pairs:
        raise VosInputError(f"no image/mask pairs in {folder} (split {split})")
    for img_path, mask_path in pairs:
        image = read_rgb(img_path)
        yield from _objects(img_path.stem, image, read_mask(mask_path, expected_hw=image.shape[:2]))


def _zoom(zoom: ZoomIn | None, args: argparse.Namespace) -> ZoomIn | None:
    """The segmenter's zoom-in with the command line's overrides (``--zoom-size 0``: none)."""
    if args.zoom_size == 0:
        return None
    changes = {
        "size": args.zoom_size,
        "expansion": args.zoom_expansion,
        "min_crop": args.zoom_min_crop,
        "skip_clicks": args.zoom_skip,
        "early": args.zoom_early,
        "early_gain": args.zoom_early_gain,
        "early_band": args.zoom_early_band,
    }
    return replace(zoom or ZoomIn(), **{k: v for k, v in changes.items() if v is not None})


def _local(local: LocalRefine | None, args: argparse.Namespace) -> LocalRefine | None:
    """The segmenter's click-local steps with the command line's overrides (``--no-local``: none)."""
    if args.no_local:
        return None
    changes = {
        "skip_clicks": args.local_skip,
        "size": args.local_size,
        "rel_side": args.local_side,
        "drop_negative": args.drop_negative,
        "split_negative": args.split_negative,
        "split_first": args.split_first,
        "seeded": args.seeded,
        "seeded_clicks": args.seeded_clicks,
        "fragment": args.fragment,
    }
    return replace(local or LocalRefine(), **{k: v for k, v in changes.items() if v is not None})


def _main(args: argparse.Namespace) -> int:
    import torch

    from vos_core.interactive.clicks.predictor import ClickSegmenter
    from vos_core.interactive.clicks.protocol import REPORT_CLICKS, GrabCutMethod, ModelMethod, run_protocol

    if sum(bool(x) for x in (args.davis, args.images, args.instances)) != 1:
        raise UsageError(
            "give exactly one of --davis ROOT, --images DIR or --instances STATIC_ROOT "
            "(see vos-clicks-eval --help)"
        )
    torch.set_num_threads(args.threads)
    method: ModelMethod | GrabCutMethod = GrabCutMethod()
    if args.method == "model":
        segmenter = ClickSegmenter.load(args.weights, work_height=args.work_height, threads=args.threads)
        if args.refine_radius is not None:
            segmenter.refine_radius = args.refine_radius
        if args.refine_rel is not None:
            segmenter.refine_rel = args.refine_rel
        segmenter.zoom = _zoom(segmenter.zoom, args)
        segmenter.local = _local(segmenter.local, args)
        method = ModelMethod(segmenter)
    if args.davis:
        samples = davis_samples(args.davis, args.sequences, args.frames, args.frame_step)
    elif args.images:
        samples = image_samples(args.images, args.split)
    else:
        from vos_core.interactive.clicks.instances import instance_samples

        samples = instance_samples(args.instances, args.composites)
    traces = []
    for name, image, gt, others in samples:
        if not gt.any():
            continue
        trace = run_protocol(method, image, gt, args.max_clicks, others)
        traces.append(trace)
        if not args.quiet:
            print(
                f"{name}  NoC@85 {trace.noc(0.85, args.max_clicks)}  "
                f"NoC@90 {trace.noc(0.90, args.max_clicks)}  "
                f"IoU@1 {trace.iou_at(1):.3f}  IoU@5 {trace.iou_at(5):.3f}"
                + ("" if trace.leak is None else f"  leak@1 {trace.leak:.3f}"),
                flush=True,
            )
        if args.limit and len(traces) >= args.limit:
            break
    if not traces:
        raise VosInputError("no objects to score")
    ms = 1000 * float(np.mean([s for t in traces for s in t.click_seconds]))
    start_ms = 1000 * float(np.mean([t.start_seconds for t in traces]))
    print(
        f"objects {len(traces)}  method {method.name}  {ms:.1f} ms/click  {start_ms:.1f} ms/start", flush=True
    )
    print(
        "  ".join(f"mIoU@{k} {np.mean([t.iou_at(k) for t in traces]):.4f}" for k in REPORT_CLICKS), flush=True
    )
    leaks = [t for t in traces if t.leak is not None]
    if leaks:
        share = np.array([t.leak for t in leaks])
        print(
            f"leak@1 {share.mean():.4f} (objects with other instances {len(leaks)}, "
            f"leaking >5%: {int((share > 0.05).sum())}, mean IoU with the others "
            f"{np.mean([t.leak_iou for t in leaks]):.4f})",
            flush=True,
        )
    n85 = float(np.mean([t.noc(0.85, args.max_clicks) for t in traces]))
    n90 = float(np.mean([t.noc(0.90, args.max_clicks) for t in traces]))
    print(f"NoC@85 {n85:.2f} NoC@90 {n90:.2f}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m vos_core.clicks_eval``; returns the exit code."""
    return run_cli(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
