"""Propagate given masks through a video from the command line.

    python -m vos_core.propagate SOURCE --masks PATH --out DIR [--arch NAME] [--process-height N]
        [--threads N] [--backward] [--overwrite | --resume] [--quiet] [--debug]

SOURCE is a video file or a folder of frames; PATH is a mask of the first frame (palette PNG) or a
folder of masks named by frame index (``00012.png``). Every given mask is used. ``DIR`` receives
one palette PNG per frame, ``00000.png`` ..., at the original resolution.

Propagation runs forward from the first given frame to the end and backward from it to the start.
With ``--backward`` it runs backward from the *last* given frame to the start and forward from it
to the end. Frames that cannot be decoded (a damaged video) keep the mask of the neighbouring frame
and are listed in one ``warning:`` line on stderr.

Every input is checked (source, masks, architecture and its weights, output folder) before ``DIR``
is created, so bad input writes nothing. Each mask is then written as soon as it is computed, each
file atomically, so an interrupted run (Ctrl-C, a kill, a crash) keeps every finished mask.
``DIR/.vos-propagate.json`` records what the run was started with (:class:`RunManifest`) and whether
it completed. ``--resume`` finishes an interrupted run and gives the same files, byte for byte, as an
uninterrupted one; it refuses a ``DIR`` started with another source, masks, architecture, weights or
settings. Resuming replays the run from its start and skips the writes of masks already on disk (the
memory of every architecture is rebuilt exactly that way, without a state file to keep in step).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vos_core.cli_common import (
    OneLineParser,
    add_model_args,
    add_run_args,
    check_output_dir,
    make_output_dir,
    remove_temp_files,
    run_cli,
    session_config,
)
from vos_core.config import SessionConfig
from vos_core.data.atomic import atomic_write_bytes
from vos_core.data.frames import FrameSource, open_source
from vos_core.data.masks import mask_file_name, masks_from_folder, write_mask
from vos_core.errors import VosInputError
from vos_core.inference.results import FrameResult
from vos_core.inference.session import Direction, InferenceSession
from vos_core.threads import ThreadBudget

MANIFEST_NAME = ".vos-propagate.json"


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
    parser.add_argument(
        "--resume", action="store_true",
        help="finish an interrupted run in DIR (same source, masks, architecture and settings)",
    )
    add_run_args(parser)
    return parser


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


# ---------------------------------------------------------------------------- the run's record
@dataclass(frozen=True)
class RunManifest:
    """What a run was started with; a resumed run must match it field for field.

    source: absolute path; frames, height, width: its length and frame size; first_frame: SHA-256 of
    frame 0's pixels (a replaced video at the same path); masks: SHA-256 of the given masks (frame
    indices and labels); arch, weights: the architecture and the SHA-256 of its weights file (None for
    a training-free one); process_height, threads, backward, adapt, adapt_steps, adapt_copies, flip:
    the settings that change the result (records written before these existed read as without them;
    steps and copies are recorded only when adapting, so a record of an adapted run from before they
    were recorded does not match a run with today's adaptation).
    """

    source: str
    frames: int
    height: int
    width: int
    first_frame: str
    masks: str
    arch: str
    weights: str | None
    process_height: int | None
    threads: int
    backward: bool
    adapt: bool = False
    adapt_steps: int | None = None
    adapt_copies: int | None = None
    flip: bool = False

    @staticmethod
    def of(
        source: FrameSource, masks: dict[int, np.ndarray], config: SessionConfig, backward: bool
    ) -> RunManifest:
        from vos_core.models.registry import get_spec
        from vos_core.weights import weights_dir

        masks_hash = hashlib.sha256()
        for index in sorted(masks):
            labels = np.ascontiguousarray(masks[index], dtype=np.uint8)
            masks_hash.update(f"{index}:{labels.shape[0]}x{labels.shape[1]};".encode())
            masks_hash.update(labels.tobytes())
        weights_file = get_spec(config.arch).weights
        weights = None
        if weights_file is not None and (weights_dir() / weights_file).is_file():
            weights = hashlib.sha256((weights_dir() / weights_file).read_bytes()).hexdigest()
        try:
            first = hashlib.sha256(np.ascontiguousarray(source.read(0)).tobytes()).hexdigest()
        except VosInputError:
            first = "undecodable"
        height, width = source.size
        return RunManifest(
            source=str(Path(source.path).absolute()), frames=len(source), height=height, width=width,
            first_frame=first, masks=masks_hash.hexdigest(), arch=config.arch, weights=weights,
            process_height=config.process_height, threads=config.threads, backward=backward,
            adapt=config.adapt.enabled,
            adapt_steps=config.adapt.steps if config.adapt.enabled else None,
            adapt_copies=config.adapt.copies if config.adapt.enabled else None,
            flip=config.flip,
        )  # fmt: skip

    def differences(self, other: RunManifest) -> list[str]:
        """``"arch ('stcn', now 'propagation')"`` for every field where ``other`` differs."""
        return [
            f"{f.name} ({getattr(self, f.name)!r}, now {getattr(other, f.name)!r})"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


def write_manifest(out: Path, manifest: RunManifest, complete: bool) -> None:
    text = json.dumps({"run": asdict(manifest), "complete": complete}, indent=1, sort_keys=True)
    atomic_write_bytes(out / MANIFEST_NAME, (text + "\n").encode())


def read_manifest(out: Path) -> tuple[RunManifest, bool] | None:
    """The manifest in ``out`` and whether its run completed; None when there is none."""
    path = out / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunManifest(**data["run"]), bool(data["complete"])
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise VosInputError(f"the run record {path} is unreadable ({error}); use --overwrite") from error


def written_frames(out: Path, n_frames: int) -> set[int]:
    """The frames whose mask file is in ``out`` (always whole: every mask is written atomically)."""
    return {i for i in range(n_frames) if (out / mask_file_name(i)).is_file()}


def plan_output(out: Path, manifest: RunManifest, resume: bool, overwrite: bool) -> set[int]:
    """Check ``out`` against this run before anything is written; return the frames already done
    (empty unless resuming). Raises ``VosInputError`` for a run that must not go into ``out``."""
    if resume and overwrite:
        raise VosInputError("--resume and --overwrite exclude each other")
    found = read_manifest(out) if out.is_dir() else None
    if not resume or not out.is_dir() or not any(out.iterdir()):
        if found is not None and not found[1] and not overwrite:
            done = len(written_frames(out, found[0].frames))
            raise VosInputError(
                f"output folder {out} holds an unfinished run ({done} of {found[0].frames} masks): "
                f"add --resume to finish it, or --overwrite to start again"
            )
        check_output_dir(out, overwrite)
        return set()
    if found is None:
        raise VosInputError(
            f"cannot resume: {out} holds no run of vos_core.propagate (no {MANIFEST_NAME})"
        )
    differences = found[0].differences(manifest)
    if differences:
        raise VosInputError(
            f"cannot resume {out}: it was started with a different {'; '.join(differences)}; "
            f"repeat the original command with --resume, or use --overwrite to start again"
        )
    return written_frames(out, manifest.frames)


# ---------------------------------------------------------------------------- running
def run(
    session: InferenceSession,
    frames: HoldBadFrames,
    masks: dict[int, np.ndarray],
    out: Path,
    backward: bool = False,
    done: frozenset[int] = frozenset(),
    progress: bool = True,
    position: int | None = None,
) -> tuple[int, float]:
    """Write one mask per frame into ``out`` as soon as it is computed, skipping the ``done`` frames
    (whose masks are computed all the same: later frames depend on them). Returns the number of
    masks written and the frames per second."""
    n_frames = len(frames)
    produced: set[int] = set()
    wrote = 0
    start = time.perf_counter()
    with tqdm(
        total=n_frames, unit="frame", desc=frames.source.name, file=sys.stderr, disable=not progress,
        dynamic_ncols=True, leave=False, position=position,
    ) as bar:
        for result in propagate_all(session, masks, n_frames, backward):
            if result.index not in done:
                write_mask(out / mask_file_name(result.index), result.labels)
                wrote += 1
            produced.add(result.index)
            bar.update(1)
    missing = sorted(set(range(n_frames)) - produced)
    if missing:  # cannot happen unless the session skips frames: never mark a partial result complete
        raise RuntimeError(f"frames {missing[:5]} were not produced")
    if frames.held:
        held = sorted(frames.held)
        listed = ", ".join(str(i) for i in held[:10]) + (", ..." if len(held) > 10 else "")
        print(
            f"warning: {len(held)} frame(s) of {frames.source.path} could not be decoded ({listed}); "
            f"their masks continue from the neighbouring frame",
            file=sys.stderr,
        )
    return wrote, n_frames / max(time.perf_counter() - start, 1e-9)


def propagate_video(
    source_path: str | Path,
    masks_path: str | Path,
    out_path: str | Path,
    config: SessionConfig,
    backward: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    position: int | None = None,
) -> str:
    """One run of this tool (what the command line does after parsing, also run per video by
    ``vos_core.batch``): check every input, write the masks into ``out_path`` as they come, record
    the run; returns the line to print. The caller applies the thread budget. ``position``: the
    progress bar's line (several bars at once)."""
    requested = Path(out_path)
    with open_source(source_path) as source:
        if len(source) == 0:
            raise VosInputError(f"{source_path} has no frames")
        masks = load_masks(masks_path, source)
        manifest = RunManifest.of(source, masks, config, backward)
        done = plan_output(requested.absolute(), manifest, resume, overwrite)
        if len(done) == len(source):  # resuming a run that had written every mask
            write_manifest(requested.absolute(), manifest, complete=True)
            return f"{out_path} is already complete ({len(source)} masks)"
        frames = HoldBadFrames(source)
        session = InferenceSession(frames, config)  # builds the model: a weights error writes nothing
        # every input is valid: from here on, results go into OUT as they come
        out = make_output_dir(requested, overwrite=overwrite, keep=resume)
        remove_temp_files(out)
        write_manifest(out, manifest, complete=False)
        try:
            wrote, fps = run(session, frames, masks, out, backward, frozenset(done), progress, position)
        except BaseException:
            kept = len(written_frames(out, len(source)))
            print(
                f"note: {kept} of {len(source)} masks are in {out_path}; run the same command with "
                f"--resume to finish",
                file=sys.stderr,
            )
            raise
        write_manifest(out, manifest, complete=True)
    already = f"; {len(done)} were there already" if done else ""
    return f"wrote {wrote} masks to {out_path} ({fps:.1f} fps{already})"


def _main(args: argparse.Namespace) -> int:
    config = session_config(args)
    ThreadBudget.of(config.threads).apply()
    print(
        propagate_video(
            args.source, args.masks, args.out, config, args.backward, args.resume, args.overwrite,
            not args.quiet,
        )
    )  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vos-propagate`` / ``python -m vos_core.propagate``; returns the exit code."""
    return run_cli(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
