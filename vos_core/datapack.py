"""Make a training pack (``vos_core.data.pack``): DAVIS 2016 train clips without the dev split and
static images, decoded once, resized to the training scale, memory-mappable, within a size budget.

    python -m vos_core.datapack --out DIR --max-mb N [--davis ROOT] [--static ROOT] [--crop 384]
                                [--scale F] [--sets a,b] [--no-davis] [--no-static]

``--davis`` / ``--static`` default to ``../shared/data/davis2016-train`` and ``../shared/data/static``
(every static set there: ecssd, pascal_s, weizmann_horse, duts_tr, pennfudan, about 12,900 images;
instance ids of multi-object masks are kept); ``--crop`` is the training crop the pack is made for
(frames are stored at most 1.25x, static images at most 1.3x its size, never enlarged); ``--scale``
shrinks everything further. When the budget is too small the pack is downscaled, then thinned (every
k-th static image, then every n-th DAVIS frame, then every m-th sequence and image): the manifest
says what was dropped. The trainer reads a pack with ``--pack DIR``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vos_core.cli_common import OneLineParser, positive_int, run_cli
from vos_core.data.pack import write_pack

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vos_core.datapack", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="pack folder to create (must not exist)")
    p.add_argument("--max-mb", type=float, required=True, help="size budget in MiB")
    p.add_argument("--davis", type=Path, default=SHARED / "davis2016-train", help="DAVIS 2016 train root")
    p.add_argument("--static", type=Path, default=SHARED / "static", help="root of the static image sets")
    p.add_argument("--no-davis", action="store_true", help="no DAVIS clips")
    p.add_argument("--no-static", action="store_true", help="no static images")
    p.add_argument("--sets", help="comma-separated static sets (default: every set under --static)")
    p.add_argument("--crop", type=positive_int, default=384,
                   help="training crop the pack is for (default 384)")
    p.add_argument("--scale", type=float, default=1.0, help="extra scale factor in (0, 1] (default 1)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def _main(args: argparse.Namespace) -> int:
    sets = [s.strip() for s in args.sets.split(",") if s.strip()] if args.sets else None

    def progress(done: int, total: int) -> None:
        if not args.quiet and (done == total or done % 500 == 0):
            print(f"{done}/{total} images", file=sys.stderr, flush=True)

    manifest = write_pack(args.out, args.max_mb, davis=None if args.no_davis else args.davis,
                          static=None if args.no_static else args.static, crop=args.crop, scale=args.scale,
                          sets=sets, progress=progress)
    groups = manifest["groups"]
    n_seq = sum(1 for g in groups if g["kind"] == "davis" and g["count"])
    n_img = sum(g["count"] for g in groups if g["kind"] == "static")
    print(f"{args.out}: {manifest['items']} items ({n_seq} DAVIS sequences, {n_img} static images), "
          f"{manifest['bytes'] / 2**20:.1f} MiB of {args.max_mb:g}")
    for line in manifest["decisions"]:
        print(f"  {line}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
