"""Click-to-mask latency at 480p: the one-time frame encoding and the per-click cost with cached features.

    python bench/bench_clicks.py [--weights FILE] [--threads N] [--clicks 20] [--frames 3] [--zoom-size N]
        [--no-local]

On real DAVIS dev first frames when ``../shared/data`` is there (synthetic 854×480 frames otherwise),
each frame is encoded once (the frame's features are then cached), then ``--clicks`` protocol clicks
are made; each click runs the click head and the edge refinement, and, once the zoom-in starts (after
the first click), the encoder on the zoom crop (reused while the crop stays the same), and, once
the click-local steps start, the encoder and the head on the small square around the click. Printed:
ms per encoding (the one-time cost per frame), ms per click (median and 90th percentile; head and
edge refinement split), and their ratios, all from this one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vos_core.interactive.clicks.predictor import ClickSegmenter  # noqa: E402
from vos_core.interactive.clicks.simulate import next_click  # noqa: E402
from vos_core.interactive.clicks.zoom import ZoomIn, input_sizes  # noqa: E402

DEV = ("bmx-bumps", "car-turn", "dog-agility", "kite-walk", "lucia")


def frames(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(854×480 RGB, object mask) pairs: DAVIS dev first frames, or synthetic ellipses."""
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-train"
    out = []
    if root.is_dir():
        from vos_core.clicks_eval import davis_samples

        for sample in davis_samples(str(root), ",".join(DEV[:count]), "first"):
            out.append((sample.image, sample.gt))
        return out
    import cv2

    rng = np.random.default_rng(0)
    for i in range(count):
        image = rng.integers(0, 255, (480, 854, 3), dtype=np.uint8)
        gt = np.zeros((480, 854), np.uint8)
        cv2.ellipse(gt, (300 + 50 * i, 240), (120, 80), 0, 0, 360, 1, -1)
        image[gt > 0] = (200, 60, 60)
        out.append((image, gt.astype(bool)))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help="click weights (default: weights/clicks.pt)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clicks", type=int, default=20)
    p.add_argument("--frames", type=int, default=3)
    p.add_argument(
        "--zoom-size",
        type=int,
        default=None,
        help="zoom-in input long side (0 = no zoom; default: the model's)",
    )
    p.add_argument("--no-local", action="store_true", help="no click-local steps")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    seg = ClickSegmenter.load(args.weights, threads=args.threads)
    if args.zoom_size is not None:
        seg.zoom = replace(seg.zoom or ZoomIn(), size=args.zoom_size) if args.zoom_size else None
    if args.no_local:
        seg.local = None
    data = frames(args.frames)
    seg.encode(data[0][0])  # warm-up: the ONNX export for this size
    t0 = time.perf_counter()
    sizes = input_sizes(seg.zoom.size) if seg.zoom else []
    if seg.local and seg.local.size:
        sizes.append((seg.local.size, seg.local.size))
    for hw in sizes:  # and for each zoom-in and local input size
        seg.encoder(torch.zeros(1, 3, *hw))
    warm_s = time.perf_counter() - t0
    encode_ms, head_ms, refine_ms = [], [], []
    for image, gt in data:
        t0 = time.perf_counter()
        enc = seg.features(id(image), image)
        encode_ms.append(1000 * (time.perf_counter() - t0))
        clicks, prev, pred = [], None, np.zeros_like(gt)
        for _ in range(args.clicks):
            click = next_click(pred, gt)
            if click is None:
                break
            clicks.append(click)
            t0 = time.perf_counter()
            enc = seg.features(id(image), image)  # cached: no encoder run
            prev = seg.predict(enc, clicks, prev)
            t1 = time.perf_counter()
            pred = seg.to_mask(prev, image)
            t2 = time.perf_counter()
            head_ms.append(1000 * (t1 - t0))
            refine_ms.append(1000 * (t2 - t1))
    click_ms = np.add(head_ms, refine_ms)
    h, w = data[0][0].shape[:2]
    enc_mean = float(np.mean(encode_ms))
    med = float(np.median(click_ms))
    print(f"frames {len(data)} at {w}x{h}, working height {seg.work_height}, threads {args.threads}")
    zoom = f"long side {seg.zoom.size}, after {seg.zoom.skip_clicks} click(s)" if seg.zoom else "off"
    print(f"zoom-in: {zoom}; one-time encoder export for the zoom input sizes {warm_s:.1f} s")
    local = f"{seg.local.size} px square after {seg.local.skip_clicks} click(s)" if seg.local else "off"
    print(f"click-local steps: {local}")
    print(f"encode (once per frame): {enc_mean:.1f} ms")
    print(
        f"click (cached features): median {med:.1f} ms, p90 {np.percentile(click_ms, 90):.1f} ms "
        f"(model incl. zoom crop {np.median(head_ms):.1f} ms + refine {np.median(refine_ms):.1f} ms), "
        f"{len(click_ms)} clicks"
    )
    print(f"ratio click/encode {med / enc_mean:.2f}; first click incl. encoding {enc_mean + med:.1f} ms")
    print(f"ms/click {med:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
