"""One command for the accelerated path, on whatever device is present.

    python bench/gpu_check.py [--device auto|cuda|cpu] [--small] [--pack DIR] [--davis ROOT]
                              [--archs a,b] [--fps-archs a,b] [--skip accuracy,fps,train]
                              [--long-frames N]

(a) accuracy: every usable architecture of the registry propagates two short DAVIS sequences from
    their first mask on the device and on the CPU (the application's CPU path: ONNX Runtime
    encoder); prints both J&F and whether they agree within 0.01 (on CUDA also under bf16 autocast,
    ``SessionConfig.autocast``). With ``--device cpu`` the "device" run is the eager torch path on
    the CPU.
(b) speed: fps of synthetic videos at 480p and 1080p, processed at full height, 1 and 3 objects
    (peak device memory on CUDA); ``--long-frames N`` adds one N-frame 480p run that prints the
    peak memory at 10% and at the end (it must stay flat).
(c) training: iterations per second at batch 16, crop 384, 3-frame mixed clips from a pack
    (``--pack``, or a small one made from ``../shared/data`` in a temp folder), through the trainer's
    own data path (rendered on the device, bf16 autocast on CUDA), and the rate of the data alone.
``--small``: tiny sizes (the test runs ``--device cpu --small`` so this never rots).
Sequences come from the pack (its first two) or from ``--davis`` (two dev sequences). Exit code 1
when a check fails or disagrees.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import SyntheticVideo  # noqa: E402

from vos_core.config import SessionConfig  # noqa: E402
from vos_core.data.davis import DEV_SEQUENCES, DavisDataset  # noqa: E402
from vos_core.data.pack import DataPack, write_pack  # noqa: E402
from vos_core.inference.session import InferenceSession  # noqa: E402
from vos_core.metrics import mean_jf, score_sequence  # noqa: E402
from vos_core.models.registry import default_arch, usable_arch_names  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
TOLERANCE = 0.01


@dataclass(frozen=True)
class Sizes:
    """What each check runs: frames per accuracy sequence and the height they are processed at
    (None = each model's own), the fps videos (name, H, W) and frames, the training batch."""

    seq_frames: int
    seq_height: int | None
    videos: tuple[tuple[str, int, int], ...]
    fps_frames: int
    warmup: int
    batch: int
    crop: int
    train_iters: int


FULL = Sizes(25, None, (("480p", 480, 854), ("1080p", 1080, 1920)), 100, 5, 16, 384, 30)
SMALL = Sizes(4, 128, (("480p/4", 120, 214), ("1080p/4", 270, 480)), 6, 2, 2, 64, 2)


class Frames:
    """A list of RGB frames as a session's frame reader."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames

    def __len__(self) -> int:
        return len(self.frames)

    def read(self, index: int) -> np.ndarray:
        return self.frames[index]


def pick(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda but torch sees no CUDA device")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


Sequence = tuple[str, list[np.ndarray], list[np.ndarray]]  # name, RGB frames, label maps


def sequences(pack: DataPack | None, davis: Path, n: int) -> list[Sequence]:
    """Two short sequences, the first ``n`` frames of each."""
    out: list[Sequence] = []
    if pack is not None:
        for group in [g for g in pack.sequences if g.items.size >= 2][:2]:
            pairs = [pack.image(int(i)) for i in group.items[:n]]
            out.append((group.name, [np.array(p[0]) for p in pairs], [(np.array(p[1]) > 0).astype(np.uint8)
                                                                       for p in pairs]))
    elif (davis / "JPEGImages").is_dir():
        dataset = DavisDataset(davis)
        for name in DEV_SEQUENCES[:2]:
            with dataset.frames(name) as frames:
                rgb = [frames.read(i) for i in range(min(n, len(frames)))]
            gts = list(itertools.islice(dataset.masks(name), len(rgb)))
            out.append((name, rgb, gts))
    return out


def _propagate(arch: str, config: SessionConfig, rgb: list[np.ndarray], gt0: np.ndarray) -> list[np.ndarray]:
    session = InferenceSession(Frames(rgb), config)
    preds = [session.annotate(0, gt0).labels]
    preds += [r.labels for r in session.propagate(0, len(rgb) - 1)]
    return preds


def check_accuracy(device: torch.device, archs: list[str], seqs: list[Sequence], sizes: Sizes) -> bool:
    tested = "cuda" if device.type == "cuda" else "torch"  # on the CPU: eager torch against ONNX
    print(f"\n(a) J&F on {len(seqs)} sequences ({', '.join(s[0] for s in seqs)}; {sizes.seq_frames} "
          f"frames, processed at {sizes.seq_height or 'the model’s own height'}): {device.type} "
          "vs the CPU path (ONNX encoder)")
    bf16 = device.type == "cuda"
    print(f"{'arch':<12} {'J&F ' + tested:>10} {'J&F cpu':>10} {'|diff|':>8}  agree"
          + (f" {'J&F bf16':>10} {'|diff|':>8}  agree" if bf16 else ""))
    ok = True
    for arch in archs:
        scores: dict[str, float] = {}
        runs = [(tested, SessionConfig(arch=arch, device=device.type, process_height=sizes.seq_height,
                                       accelerate=False)),
                ("cpu", SessionConfig(arch=arch, device="cpu", process_height=sizes.seq_height))]
        if bf16:
            runs.append(("bf16", SessionConfig(arch=arch, device="cuda", process_height=sizes.seq_height,
                                               autocast=True)))
        for where, config in runs:
            try:
                per_seq = [score_sequence(_propagate(arch, config, rgb, gts[0]), gts, name=name)
                           for name, rgb, gts in seqs]
                scores[where] = mean_jf(per_seq)
            except Exception as exc:  # noqa: BLE001 - a check reports and goes on
                print(f"{arch:<12} {where}: error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
        if len(scores) == len(runs):
            a, b = scores[tested], scores["cpu"]
            agree = abs(a - b) <= TOLERANCE
            extra = ""
            if bf16:  # reported, not required: autocast is off unless it is shown equal
                c = scores["bf16"]
                extra = f" {c:>10.4f} {abs(c - b):>8.4f}  {'yes' if abs(c - b) <= TOLERANCE else 'no'}"
            print(f"{arch:<12} {a:>10.4f} {b:>10.4f} {abs(a - b):>8.4f}  {'yes' if agree else 'NO'}{extra}")
            ok &= agree
        else:
            ok = False
    return ok


def _run_fps(config: SessionConfig, video: SyntheticVideo, warmup: int,
             device: torch.device) -> tuple[float, int]:
    session = InferenceSession(video, config)
    session.annotate(0, video.labels(0))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    done, t0 = 0, 0.0
    for done, _result in enumerate(session.propagate(0, len(video) - 1), start=1):
        if done == warmup:
            _sync(device)
            t0 = time.perf_counter()
    _sync(device)
    fps = (done - warmup) / max(time.perf_counter() - t0, 1e-9)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0
    return fps, peak


def check_fps(device: torch.device, archs: list[str], sizes: Sizes) -> bool:
    print(f"\n(b) fps on {device.type}, synthetic video, processed at full height, "
          f"{sizes.fps_frames} frames ({sizes.warmup} untimed)")
    print(f"{'arch':<12} {'video':>8} {'objects':>7} {'fps':>8} {'peak MB':>8}")
    ok = True
    for arch in archs:
        for name, h, w in sizes.videos:
            for objects in (1, 3):
                config = SessionConfig(arch=arch, device=device.type, process_height=h)
                video = SyntheticVideo(sizes.fps_frames + sizes.warmup, objects, hw=(h, w), seed=objects)
                try:
                    fps, peak = _run_fps(config, video, sizes.warmup, device)
                except Exception as exc:  # noqa: BLE001
                    print(f"{arch:<12} {name:>8} {objects:>7} error: {type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:160]}")
                    ok = False
                    continue
                print(f"{arch:<12} {name:>8} {objects:>7} {fps:>8.2f} {peak / 2**20:>8.0f}")
    return ok


def check_long(device: torch.device, arch: str, frames: int) -> bool:
    """Peak device memory (CUDA) or RSS (CPU) at 10% and at the end of one long 480p run."""
    from bench_engine import memory_kb

    config = SessionConfig(arch=arch, device=device.type, process_height=480)
    video = SyntheticVideo(frames, 1, seed=7)
    session = InferenceSession(video, config)
    session.annotate(0, video.labels(0))
    early, peaks = max(2, frames // 10), {}
    for done, _result in enumerate(session.propagate(0, frames - 1), start=2):
        if done in (early, frames):
            peaks[done] = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
                           else memory_kb()[0] * 1024)
    ratio = peaks[frames] / max(peaks[early], 1)
    print(f"\nlong run {arch} {frames} frames 480p: peak {'GPU' if device.type == 'cuda' else 'RSS'} "
          f"memory {peaks[early] / 2**20:.0f} MB at {early}, {peaks[frames] / 2**20:.0f} MB at {frames} "
          f"(ratio {ratio:.3f}, {'flat' if ratio <= 1.05 else 'GROWS'})")
    return ratio <= 1.05


def _pack_for_training(pack_dir: Path | None, small: bool, tmp: Path) -> DataPack | None:
    if pack_dir is not None:
        return DataPack(pack_dir)
    davis, static = SHARED / "davis2016-train", SHARED / "static"
    if not davis.is_dir() or not static.is_dir():
        return None
    out = tmp / "pack"
    write_pack(out, 12 if small else 400, davis=davis, static=static, crop=SMALL.crop if small else FULL.crop)
    return DataPack(out)


def check_training(device: torch.device, arch: str, sizes: Sizes, pack: DataPack | None, tmp: Path) -> bool:
    from vos_core.train.config import TrainConfig
    from vos_core.train.trainer import DistInfo, Trainer

    crop = (sizes.crop, sizes.crop)
    iters = sizes.warmup + sizes.train_iters
    print(f"\n(c) training {arch} on {device.type}: batch {sizes.batch}, crop {sizes.crop}, 3-frame clips, "
          f"{sizes.train_iters} timed iterations after {sizes.warmup}")
    if pack is None:
        print("no pack and no ../shared/data: skipped")
        return True
    config = TrainConfig(arch=arch, stage="mixed", out=tmp / "run", iters=iters, batch=sizes.batch, crop=crop,
                         quiet=True, pack=pack.root)
    trainer = Trainer(config, DistInfo(device=device))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0, t_data = 0.0, 0.0
    for i, (frames, labels, n_obj) in enumerate(trainer.loader(0, iters)):
        if i == sizes.warmup:
            _sync(device)
            t0 = time.perf_counter()
        stats = trainer.step(frames, labels, n_obj)
    _sync(device)
    rate = sizes.train_iters / max(time.perf_counter() - t0, 1e-9)
    # the data path alone: the same batches rendered again, no model
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    t1 = time.perf_counter()
    for _batch in trainer.loader(0, sizes.train_iters):
        pass
    _sync(device)
    t_data = (time.perf_counter() - t1) / sizes.train_iters
    print(f"{arch}: {rate:.2f} it/s (last loss {stats.loss:.4f}, peak {peak:.0f} MB); data alone "
          f"{1 / max(t_data, 1e-9):.1f} batches/s; {pack.describe()}")
    trainer.close()
    return rate > 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    p.add_argument("--small", action="store_true", help="tiny sizes (smoke test)")
    p.add_argument("--pack", type=Path, help="training pack (vos_core.datapack): sequences and training data")
    p.add_argument("--davis", type=Path, default=SHARED / "davis2016-train")
    p.add_argument("--archs", help="accuracy check: these architectures (default: every usable one)")
    p.add_argument("--fps-archs", help="speed check: these architectures (default: the default one)")
    p.add_argument("--train-arch", default="stcn")
    p.add_argument("--skip", default="", help="comma-separated checks to skip: accuracy,fps,train")
    p.add_argument("--long-frames", type=int, default=0, help="one long 480p run of N frames (memory)")
    args = p.parse_args(argv)
    device = pick(args.device)
    sizes = SMALL if args.small else FULL
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    archs = args.archs.split(",") if args.archs else usable_arch_names()
    fps_archs = args.fps_archs.split(",") if args.fps_archs else [default_arch()]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"{'small' if args.small else 'full'} sizes")
    ok = True
    pack = DataPack(args.pack) if args.pack else None
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        if "accuracy" not in skip:
            seqs = sequences(pack, args.davis, sizes.seq_frames)
            if seqs:
                ok &= check_accuracy(device, archs, seqs, sizes)
            else:
                print("\n(a) no DAVIS sequences (no --pack, no --davis data): skipped")
        if "fps" not in skip:
            ok &= check_fps(device, fps_archs, sizes)
        if args.long_frames:
            ok &= check_long(device, fps_archs[0], args.long_frames)
        if "train" not in skip:
            train_pack = _pack_for_training(args.pack, args.small, Path(tmp))
            ok &= check_training(device, args.train_arch, sizes, train_pack, Path(tmp))
    print(f"\n{'all checks passed' if ok else 'SOME CHECKS FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
