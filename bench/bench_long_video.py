"""Long-video memory benchmark: propagate a generated video and check that memory stays bounded.

    python bench/bench_long_video.py [--frames 10000] [--height 480] [--objects 2] [--threads 0]
                                     [--arch NAME] [--store [--store-cache-mb 256]]

The full run is ``--frames 10000`` (at the default 854×480 about 5 frames/s on one core of a
2-core CPU, so about half an hour; ``--frames 10000 --height 120`` runs at ~70 frames/s, in 2-3
minutes). Frames are made on the fly by a FrameSource-like object (no file, nothing kept), 16:9 at
``--height`` and processed at that height. With ``--store`` every result also goes through the
app's ``MaskStore`` (LRU cache + autosave to a temporary project), as in the desktop app.

Prints, at 100, 1k, 5k, 10k frames (those within ``--frames``) and at the last frame: the running
maximum of VmRSS (sampled after every frame), the current VmRSS, the memory bank's entries by kind
(permanent / long-term / working / recent) and bytes, and with ``--store`` the mask cache's bytes.
Exits 1 if the bank ever holds more entries or bytes than its configuration allows.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_engine import SyntheticVideo, memory_kb  # noqa: E402

from vos_core.config import SessionConfig  # noqa: E402
from vos_core.inference.results import FrameResult  # noqa: E402
from vos_core.inference.session import InferenceSession  # noqa: E402
from vos_core.memory.bank import MemoryBank  # noqa: E402
from vos_core.memory.entries import EntryKind  # noqa: E402
from vos_core.models.registry import FALLBACK_ARCH  # noqa: E402
from vos_core.threads import ThreadBudget  # noqa: E402

CHECKPOINTS = (100, 1000, 5000, 10000)
MB = 1024.0 * 1024.0


def bank_limit_bytes(bank: MemoryBank, full_entry: int) -> int:
    """Most bytes the policy allows: every entry and recent frame at most a full entry's size."""
    cfg = bank.config
    permanent = bank.count(EntryKind.PERMANENT)
    return full_entry * (permanent + cfg.working_size + cfg.long_term_size + cfg.recent_frames)


def check_bank(bank: MemoryBank, full_entry: int, given: int) -> list[str]:
    cfg, problems = bank.config, []
    if bank.count(EntryKind.WORKING) > cfg.working_size:
        problems.append(f"{bank.count(EntryKind.WORKING)} working entries > {cfg.working_size}")
    if bank.count(EntryKind.LONG_TERM) > cfg.long_term_size:
        problems.append(f"{bank.count(EntryKind.LONG_TERM)} long-term entries > {cfg.long_term_size}")
    if bank.count(EntryKind.PERMANENT) != given:
        problems.append(f"{bank.count(EntryKind.PERMANENT)} permanent entries != {given} given")
    if len(bank.recent) > cfg.recent_frames:
        problems.append(f"{len(bank.recent)} recent frames > {cfg.recent_frames}")
    if bank.nbytes > bank_limit_bytes(bank, full_entry):
        problems.append(f"{bank.nbytes} bytes > {bank_limit_bytes(bank, full_entry)}")
    return problems


class StoreSink:
    """Results into the app's MaskStore of a temporary project (needs a QCoreApplication)."""

    def __init__(self, n_frames: int, hw: tuple[int, int], folder: Path, cache_mb: int) -> None:
        from PySide6.QtCore import QCoreApplication

        from app.model.mask_store import MaskStore
        from app.model.project import Project

        self.app = QCoreApplication.instance() or QCoreApplication([])
        self.project = Project(folder / "bench.vosproj", folder / "bench.mp4", n_frames, hw)
        self.project.masks_dir.mkdir(parents=True)
        self.store = MaskStore(self.project, cache_bytes=cache_mb * 1024 * 1024, autosave_ms=500)

    def put(self, result: FrameResult) -> None:
        self.store.set(result.index, result.labels, "user" if result.given else "propagated")
        self.app.processEvents()

    def describe(self) -> str:
        cached = self.store._cache_bytes / MB  # noqa: SLF001 - a benchmark may look inside
        limit = self.store._cache_limit / MB  # noqa: SLF001
        return f"  store cache {cached:6.1f}/{limit:.0f} MB pending {self.store.pending:4d}"

    def close(self) -> None:
        self.store.close()


@contextlib.contextmanager
def maybe_store(cache_mb: int | None, n_frames: int, hw: tuple[int, int]) -> Iterator[StoreSink | None]:
    if cache_mb is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        sink = StoreSink(n_frames, hw, Path(folder), cache_mb)
        try:
            yield sink
        finally:
            sink.close()


def row(done: int, rss_max: float, rss: float, bank: MemoryBank, full_entry: int, extra: str) -> str:
    kinds = (EntryKind.PERMANENT, EntryKind.LONG_TERM, EntryKind.WORKING)
    counts = "/".join(str(bank.count(kind)) for kind in kinds)
    return (
        f"{done:>6} {rss_max / 1024:>9.0f} {rss / 1024:>8.0f}   {counts:>7} {len(bank.recent):>6} "
        f"{bank.nbytes / MB:>9.2f} {bank_limit_bytes(bank, full_entry) / MB:>9.2f}{extra}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10000, help="video length (default 10000)")
    parser.add_argument("--height", type=int, default=480, help="frame height; width is 16:9 (default 480)")
    parser.add_argument("--objects", type=int, default=2, help="objects in the video (default 2)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads, 0 = all cores")
    parser.add_argument("--arch", default=FALLBACK_ARCH)
    parser.add_argument("--store", action="store_true", help="also keep every mask in the app's MaskStore")
    parser.add_argument("--store-cache-mb", type=int, default=256, help="MaskStore cache (default 256 MB)")
    args = parser.parse_args(argv)
    if args.frames < 2 or args.height < 64 or args.objects < 1:
        parser.error("need --frames >= 2, --height >= 64 and --objects >= 1")
    width = 2 * round(args.height * 854 / 480 / 2)
    hw = (args.height, width)
    config = SessionConfig(arch=args.arch, process_height=args.height, threads=args.threads)
    ThreadBudget.of(config.threads).apply()
    video = SyntheticVideo(args.frames, args.objects, hw=hw, seed=1)
    t0 = time.perf_counter()
    session = InferenceSession(video, config)
    checkpoints = {c for c in CHECKPOINTS if c <= args.frames} | {args.frames}
    print(f"video {width}x{args.height}, {args.frames} frames, {args.objects} objects, arch {args.arch}, "
          f"processed at {args.height}p; memory policy {config.memory}")  # fmt: skip
    print(f"{'frames':>6} {'RSSmax MB':>9} {'RSS MB':>8}   {'P/LT/W':>7} {'recent':>6} "
          f"{'bank MB':>9} {'limit MB':>9}")  # fmt: skip
    failures: list[str] = []
    rss_max = 0.0
    with maybe_store(args.store_cache_mb if args.store else None, args.frames, hw) as sink:
        first = session.annotate(0, video.labels(0))
        full_entry = max(e.features.nbytes for e in session.bank.entries())  # the given frame
        if sink is not None:
            sink.put(first)
        t_run = time.perf_counter()
        for done, result in enumerate(session.propagate(0, args.frames - 1), start=2):
            if sink is not None:
                sink.put(result)
            rss, _ = memory_kb()
            rss_max = max(rss_max, rss)
            problems = check_bank(session.bank, full_entry, given=1)
            if problems and not failures:
                failures = [f"frame {result.index}: {p}" for p in problems]
            if done in checkpoints:
                extra = sink.describe() if sink is not None else ""
                print(row(done, rss_max, rss, session.bank, full_entry, extra), flush=True)
        run_s = time.perf_counter() - t_run
    print(f"{args.frames - 1} frames propagated in {run_s:.0f}s ({(args.frames - 1) / run_s:.1f} fps); "
          f"setup {t_run - t0:.1f}s")  # fmt: skip
    if failures:
        print("BANK OVER ITS LIMITS: " + "; ".join(failures))
        return 1
    print("bank within its configured limits at every frame: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
