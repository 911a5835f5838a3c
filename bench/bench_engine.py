"""End-to-end engine benchmark at 480p on a synthetic video generated in memory (no files).

    python bench/bench_engine.py [--frames 1000] [--objects 1,3] [--arch NAME] [--threads N]
                                 [--process-height N] [--warmup 5] [--quick]

For each object count: ms/frame and fps (wall clock per propagated frame), the per-stage split from
``FrameResult.timings`` (read/encoder/readout/decoder/memory; "other" = wall - stages), and memory:
the running maximum of VmRSS sampled after every frame, at frame ~100 and at the last frame, and
their ratio (target <= 1.10: memory must not grow with video length); VmHWM (the kernel's peak,
which includes model-load and ONNX-export spikes) is reported at the same points.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vos_core.config import SessionConfig  # noqa: E402
from vos_core.inference.session import InferenceSession  # noqa: E402
from vos_core.models.base import VosModel  # noqa: E402
from vos_core.models.registry import FALLBACK_ARCH, build_model  # noqa: E402
from vos_core.threads import ThreadBudget  # noqa: E402

WIDTH, HEIGHT = 854, 480
STAGES = ("read", "encode", "readout", "decode", "memory")
STAGE_TITLES = ("read", "encoder", "readout", "decoder", "memory")


def _texture(rng: np.random.Generator, h: int, w: int, cell: int, tint: np.ndarray) -> np.ndarray:
    """Smooth coloured noise with some fine grain, ``h×w×3`` uint8."""
    coarse = rng.random((max(2, h // cell), max(2, w // cell), 3), dtype=np.float32)
    smooth = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.random((h, w, 1), dtype=np.float32) * 0.25
    img = np.clip((smooth * 0.75 + grain) * tint, 0, 255)
    return img.astype(np.uint8)


class SyntheticVideo:
    """A panning textured background with ``n_objects`` textured ellipses on Lissajous paths.

    Frames are generated on demand (RGB ``H×W×3`` uint8), so any length costs no memory.
    """

    PAD = 64

    def __init__(self, n_frames: int, n_objects: int, hw: tuple[int, int] = (HEIGHT, WIDTH), seed: int = 0):
        rng = np.random.default_rng(seed)
        self.n_frames, self.hw = n_frames, hw
        h, w = hw
        self.background = _texture(rng, h + 2 * self.PAD, w + 2 * self.PAD, 24, np.array([200, 190, 170]))
        self.objects = []
        for k in range(n_objects):
            oh, ow = int(h * rng.uniform(0.18, 0.3)), int(w * rng.uniform(0.1, 0.18))
            tint = rng.uniform(80, 255, 3).astype(np.float32)
            patch = _texture(rng, oh, ow, 6, tint)
            yy, xx = np.mgrid[:oh, :ow]
            shape = ((yy - oh / 2) / (oh / 2)) ** 2 + ((xx - ow / 2) / (ow / 2)) ** 2 <= 1.0
            phase, speed = rng.uniform(0, 2 * np.pi, 2), rng.uniform(0.01, 0.03, 2)
            self.objects.append((k + 1, patch, shape, phase, speed))

    def __len__(self) -> int:
        return self.n_frames

    def _place(self, i: int, patch: np.ndarray, phase: np.ndarray, speed: np.ndarray) -> tuple[int, int]:
        (h, w), (oh, ow) = self.hw, patch.shape[:2]
        y = (h - oh) * (0.5 + 0.45 * np.sin(phase[0] + speed[0] * i))
        x = (w - ow) * (0.5 + 0.45 * np.sin(phase[1] + speed[1] * i))
        return int(y), int(x)

    def read(self, i: int) -> np.ndarray:
        h, w = self.hw
        dy = int(self.PAD + self.PAD * 0.8 * np.sin(i * 0.013))
        dx = int(self.PAD + self.PAD * 0.8 * np.cos(i * 0.009))
        frame = self.background[dy : dy + h, dx : dx + w].copy()
        for _, patch, shape, phase, speed in self.objects:
            y, x = self._place(i, patch, phase, speed)
            region = frame[y : y + patch.shape[0], x : x + patch.shape[1]]
            region[shape] = patch[shape]
        return frame

    def labels(self, i: int) -> np.ndarray:
        out = np.zeros(self.hw, np.uint8)
        for obj_id, patch, shape, phase, speed in self.objects:
            y, x = self._place(i, patch, phase, speed)
            out[y : y + patch.shape[0], x : x + patch.shape[1]][shape] = obj_id
        return out


def memory_kb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in kB (``getrusage`` peak for both where /proc is missing)."""
    values: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = float(rest.split()[0])
    except OSError:
        pass
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    if sys.platform == "darwin":
        peak /= 1024
    return values.get("VmRSS", peak), values.get("VmHWM", peak)


@dataclass
class RunStats:
    objects: int
    frames: int = 0
    wall_s: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    rss_max: dict[int, float] = field(default_factory=dict)  # frame count -> running max VmRSS (kB)
    hwm: dict[int, float] = field(default_factory=dict)  # frame count -> VmHWM (kB)


def bench_run(
    model: VosModel, config: SessionConfig, n_frames: int, n_objects: int, warmup: int, checkpoints: set[int]
) -> RunStats:
    video = SyntheticVideo(n_frames, n_objects, seed=n_objects)
    session = InferenceSession(video, config, model=model)
    session.annotate(0, video.labels(0))
    stats = RunStats(n_objects)
    rss_max = 0.0
    t_prev = time.perf_counter()
    for done, result in enumerate(session.propagate(0, n_frames - 1), start=2):  # frame 0 = given
        now = time.perf_counter()
        rss, hwm = memory_kb()
        rss_max = max(rss_max, rss)
        if done in checkpoints:
            stats.rss_max[done], stats.hwm[done] = rss_max, hwm
        if done > warmup:
            stats.frames += 1
            stats.wall_s += now - t_prev
            t = result.timings
            for stage, ms in zip(STAGES, (t.read_ms, t.encode_ms, t.readout_ms, t.decode_ms, t.memory_ms),
                                 strict=True):
                stats.stage_ms[stage] += ms
        t_prev = time.perf_counter()
    return stats


def _mb(kb: float | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.0f}"


def print_table(runs: list[RunStats], early: int, late: int) -> None:
    head = (
        f"{'objs':>4} {'ms/frame':>8} {'fps':>6} "
        + " ".join(f"{t:>8}" for t in (*STAGE_TITLES, "other"))
        + f" {'RSSmax@' + str(early):>11} {'RSSmax@' + str(late):>12} {'ratio':>6}"
        + f" {'HWM@' + str(early):>9} {'HWM@' + str(late):>10}"
    )
    print(head)
    for r in runs:
        n = max(r.frames, 1)
        ms = r.wall_s * 1000 / n
        stages = [r.stage_ms[s] / n for s in STAGES]
        other = ms - sum(stages)
        e, lt = r.rss_max.get(early), r.rss_max.get(late)
        ratio = f"{lt / e:.3f}" if e and lt else "-"
        print(
            f"{r.objects:>4} {ms:>8.1f} {1000 / ms if ms else 0:>6.2f} "
            + " ".join(f"{v:>8.1f}" for v in (*stages, other))
            + f" {_mb(e):>8} MB {_mb(lt):>9} MB {ratio:>6}"
            + f" {_mb(r.hwm.get(early)):>6} MB {_mb(r.hwm.get(late)):>7} MB"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames per run (default 1000)")
    parser.add_argument("--objects", default="1,3", help="comma-separated object counts (default 1,3)")
    parser.add_argument("--arch", default=FALLBACK_ARCH)
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    parser.add_argument("--process-height", type=int, default=None, help="default: the model's own")
    parser.add_argument("--warmup", type=int, default=5, help="untimed frames at the start of each run")
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 frames")
    args = parser.parse_args(argv)
    n_frames = 30 if args.quick else args.frames
    objects = [int(x) for x in args.objects.split(",") if x.strip()]
    if n_frames <= args.warmup + 1 or not objects or min(objects) < 1:
        parser.error("need --frames > --warmup + 1 and object counts >= 1")
    early = min(100, n_frames // 3)
    config = SessionConfig(arch=args.arch, process_height=args.process_height, threads=args.threads)
    ThreadBudget.of(config.threads).apply()

    t0 = time.perf_counter()
    model = build_model(config)
    # warm-up outside the runs: exports the ONNX encoder graph for this frame size
    warm = SyntheticVideo(args.warmup + 1, 1, seed=99)
    session = InferenceSession(warm, config, model=model)
    session.annotate(0, warm.labels(0))
    for _ in session.propagate(0, len(warm) - 1):
        pass
    height = session.process_height
    del session, warm
    setup_s = time.perf_counter() - t0

    print(
        f"arch={args.arch}  video={WIDTH}x{HEIGHT} synthetic  process_height={height}  "
        f"frames={n_frames} (first {args.warmup} untimed)  threads={torch.get_num_threads()} "
        f"of {os.cpu_count()} cores  model load+warm-up {setup_s:.1f}s"
    )
    runs = []
    for n_obj in objects:
        runs.append(bench_run(model, config, n_frames, n_obj, args.warmup, {early, n_frames}))
    print("per-frame times in ms; RSSmax = running max of VmRSS sampled every frame; HWM = VmHWM")
    print_table(runs, early, n_frames)
    ratios = [r.rss_max[n_frames] / r.rss_max[early] for r in runs if r.rss_max.get(early)]
    if ratios:
        verdict = "OK" if max(ratios) <= 1.10 else "ABOVE TARGET"
        print(
            f"RSS growth RSSmax@{n_frames}/RSSmax@{early}: max {max(ratios):.3f} "
            f"(target <= 1.10: {verdict})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
