"""Export speed and memory per format on a long synthetic video.

    python bench/bench_export.py [--frames 10000] [--objects 3] [--formats coco,yolo-seg,cvat-video]
        [--height 480] [--width 854] [--images] [--out DIR]

A synthetic 854×480 video of ``--objects`` moving ellipses (one of them with a hole, one in two
parts) is exported in each format, each in its own process (so each reads its own peak RSS), through
the same code the app uses (:func:`vos_core.formats.export_frames`). Label maps come from a cycle of
50 precomputed frames, so producing them costs almost nothing. Printed per format: seconds, frames
per second, peak RSS, the RSS growth from frame 1,000 to the end (flat memory: about zero), and the
output's size. Targets: COCO ≥ 200 frames/s, and flat memory for every format.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vos_core.formats import EXPORT_FORMATS, ExportObject, export_frames, format_writer  # noqa: E402

CYCLE = 50


def synthetic_maps(hw: tuple[int, int], objects: int) -> list[np.ndarray]:
    import cv2

    height, width = hw
    maps = []
    for i in range(CYCLE):
        labels = np.zeros(hw, np.uint8)
        for k in range(objects):
            cx = int(width * (0.2 + 0.3 * k) + 40 * np.sin(i / 8 + k))
            cy = int(height * 0.5 + 30 * np.cos(i / 6 + k))
            axes = (width // 12 + 5 * k, height // 8)
            cv2.ellipse(labels, (cx, cy), axes, i * 3, 0, 360, k + 1, -1)
            if k == 0:
                cv2.circle(labels, (cx, cy), axes[1] // 3, 0, -1)  # a hole
            if k == 1:
                cv2.rectangle(labels, (cx - 5, cy - axes[1]), (cx + 5, cy + axes[1]), 0, -1)  # two parts
        maps.append(labels)
    return maps


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_one(key: str, frames: int, objects: int, hw: tuple[int, int], images: bool, out: Path) -> dict:
    maps = synthetic_maps(hw, objects)
    rgb = np.full((*hw, 3), 90, np.uint8)
    objs = [ExportObject(k + 1, f"object {k + 1}") for k in range(objects)]
    marks: dict[int, float] = {}

    def progress(done: int, total: int) -> None:
        if done in (1000, total):
            marks[done] = rss_mb()

    writer = format_writer(key, out, "bench", objs, hw, frames, images=images)
    start = time.perf_counter()
    export_frames(writer, frames, lambda i: maps[i % CYCLE], lambda i: rgb, progress)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "format": key, "frames": frames, "seconds": seconds, "fps": frames / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "growth_mb": marks.get(frames, 0.0) - marks.get(1000, marks.get(frames, 0.0)),
        "output_mb": size / 2**20,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--objects", type=int, default=3)
    parser.add_argument("--formats", default=",".join(EXPORT_FORMATS))
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=854)
    parser.add_argument("--images", action="store_true", help="also write the frames (JPEG)")
    parser.add_argument("--out", default=None, help="keep the exports here (default: a temporary folder)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    hw = (args.height, args.width)
    if args.one:
        print(json.dumps(run_one(args.one, args.frames, args.objects, hw, args.images, Path(args.out))))
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.out) if args.out else Path(scratch)
        for key in args.formats.split(","):
            command = [sys.executable, __file__, "--one", key, "--frames", str(args.frames),
                       "--objects", str(args.objects), "--height", str(args.height),
                       "--width", str(args.width), "--out", str(root / key)]  # fmt: skip
            if args.images:
                command.append("--images")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"error: {key} failed: {done.stderr.strip()[-500:]}", file=sys.stderr)
                return 1
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{args.frames} frames of {args.width}x{args.height}, {args.objects} objects, "
          f"{'with' if args.images else 'without'} images, one process per format")  # fmt: skip
    print("| format | seconds | frames/s | peak RSS | RSS growth after frame 1000 | output |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['format']} | {row['seconds']:.1f} | {row['fps']:.0f} | {row['peak_rss_mb']:.0f} MB | "
              f"{row['growth_mb']:+.1f} MB | {row['output_mb']:.1f} MB |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
