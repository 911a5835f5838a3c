"""Propagate given masks through a video from the command line.

    python -m vos_core.propagate SOURCE --masks PATH --out DIR [--arch NAME] [--process-height N]
        [--threads N] [--backward] [--overwrite] [--quiet] [--debug]

SOURCE is a video file or a folder of frames; PATH is a mask of the first frame (palette PNG) or a
folder of masks named by frame index (``00012.png``). Every given mask is used. ``DIR`` receives
one palette PNG per frame, ``00000.png`` ..., at the original resolution.

Propagation runs forward from the first given frame to the end and backward from it to the start.
With ``--backward`` it runs backward from the *last* given frame to the start and forward from it
to the end. Frames that cannot be decoded (a damaged video) keep the mask of the neighbouring frame
and are listed in one ``warning:`` line on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vos_core.cli_common import (
    OneLineParser,
    add_model_args,
    add_run_args,
    run_cli,
    session_config,
    staged_output_dir,
)
from vos_core.config import SessionConfig
from vos_core.data.frames import FrameSource, open_source
from vos_core.data.masks import masks_from_folder, write_mask
from vos_core.errors import VosInputError
from vos_core.inference.results import FrameResult
from vos_core.inference.session import Direction, InferenceSession


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="vos-propagate",
        description="Propagate object masks through a video or a folder of frames.",
    )
    parser.add_argument("source", metavar="SOURCE", help="video file or folder of frames")
    parser.add_argument(
        "--masks", required=True, metavar="PATH",
        help="mask of the first frame (palette PNG) or a folder of masks named by frame index",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder of palette PNGs")
    add_model_args(parser)
    parser.add_argument(
        "--backward", action="store_true",
        help="anchor on the last given frame: propagate backward to the start, then forward",
    )
    add_run_args(parser)
    return parser


def mask_name(index: int) -> str:
    return f"{index:05d}.png"


class HoldBadFrames:
    """The frames of ``source``; an undecodable frame is replaced by the last frame read (else the
    nearest decodable one), so propagation carries the masks over it. ``held`` lists such frames."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self.held: set[int] = set()
        self._last: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.source)

    def read(self, index: int) -> np.ndarray:
        try:
            rgb = self.source.read(index)
        except VosInputError:
            self.held.add(index)
            if self._last is None:
                self._last = self._nearest_good(index)
            return self._last.copy()
        self._last = rgb
        return rgb

    def _nearest_good(self, index: int) -> np.ndarray:
        n = len(self.source)
        for distance in range(1, n):
            for other in (index - distance, index + distance):
                if 0 <= other < n and other not in self.held:
                    try:
                        return self.source.read(other)
                    except VosInputError:
                        self.held.add(other)
        raise VosInputError(f"no frame of {self.source.path} can be decoded")


def load_masks(path: str | Path, source: FrameSource) -> dict[int, np.ndarray]:
    """The given masks, checked against the video (count, size, at least one object)."""
    masks = masks_from_folder(path, n_frames=len(source), expected_hw=source.size)
    if not any(np.any(labels) for labels in masks.values()):
        raise VosInputError(f"the mask(s) in {path} contain no objects (all pixels are background)")
    return masks


def plan(n_frames: int, given: Iterable[int], backward: bool = False) -> list[tuple[int, int, Direction]]:
    """The propagation runs ``(start, end, direction)`` that cover every frame of the video once."""
    indices = sorted(given)
    anchor = indices[-1] if backward else indices[0]
    forward = (anchor, n_frames - 1, "forward")
    back = (anchor, 0, "backward")
    runs: list[tuple[int, int, Direction]] = [back, forward] if backward else [forward, back]
    return [run for run in runs if run[0] != run[1]]


def propagate_all(
    session: InferenceSession,
    masks: dict[int, np.ndarray],
    n_frames: int,
    backward: bool = False,
) -> Iterable[FrameResult]:
    """Annotate every given frame, then yield one result per remaining frame of the video.

    Given frames are yielded when annotated (and not again when propagation passes them).
    """
    for index in sorted(masks):
        yield session.annotate(index, masks[index])
    for start, end, direction in plan(n_frames, masks, backward):
        for result in session.propagate(start, end, direction):
            if not result.given:
                yield result


def run(
    source: FrameSource,
    masks: dict[int, np.ndarray],
    out: Path,
    config: SessionConfig,
    backward: bool = False,
    progress: bool = True,
) -> float:
    """Write one mask per frame into the existing folder ``out``; return the frames per second."""
    n_frames = len(source)
    frames = HoldBadFrames(source)
    session = InferenceSession(frames, config)
    written: set[int] = set()
    start = time.perf_counter()
    with tqdm(
        total=n_frames, unit="frame", desc=source.name, file=sys.stderr, disable=not progress,
        dynamic_ncols=True, leave=False,
    ) as bar:
        for result in propagate_all(session, masks, n_frames, backward):
            write_mask(out / mask_name(result.index), result.labels)
            written.add(result.index)
            bar.update(1)
    missing = sorted(set(range(n_frames)) - written)
    if missing:  # cannot happen unless the session skips frames: never rename a partial result
        raise RuntimeError(f"frames {missing[:5]} were not produced")
    if frames.held:
        held = sorted(frames.held)
        listed = ", ".join(str(i) for i in held[:10]) + (", ..." if len(held) > 10 else "")
        print(
            f"warning: {len(held)} frame(s) of {source.path} could not be decoded ({listed}); "
            f"their masks continue from the neighbouring frame",
            file=sys.stderr,
        )
    return n_frames / max(time.perf_counter() - start, 1e-9)


def _main(args: argparse.Namespace) -> int:
    config = session_config(args)
    with open_source(args.source) as source:
        if len(source) == 0:
            raise VosInputError(f"{args.source} has no frames")
        masks = load_masks(args.masks, source)
        with staged_output_dir(args.out, overwrite=args.overwrite) as partial:
            fps = run(source, masks, partial, config, args.backward, progress=not args.quiet)
    print(f"wrote {len(source)} masks to {args.out} ({fps:.1f} fps)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vos-propagate`` / ``python -m vos_core.propagate``; returns the exit code."""
    return run_cli(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
