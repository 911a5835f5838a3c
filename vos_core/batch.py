"""Propagate many videos at once: a local process pool, or one Ray task per video on a cluster.

    python -m vos_core.batch MANIFEST --out DIR [--workers N] [--threads N] [--ray ADDRESS]
        [--arch NAME] [--adapt|--no-adapt] ... [--quiet]

MANIFEST lists the videos, as JSON or as plain text (any other suffix). Relative paths are relative
to the manifest's folder. JSON::

    {"videos": [
        {"source": "clips/a.mp4", "masks": "clips/a_first.png"},
        {"source": "clips/b", "masks": "clips/b_masks/", "name": "b"},
        {"source": "clips/c.mp4", "labels": "clips/c_coco.json", "format": "coco"}
    ]}

(a bare list of entries works too). Text: one video per line, ``SOURCE  FIRST_MASKS  [NAME]``
(shell-style quoting for paths with spaces, ``#`` starts a comment). ``masks`` is a palette PNG or a
folder of them (as ``vos_core.propagate --masks``); ``labels`` is a COCO JSON, a YOLO-seg folder or
a CVAT for video XML (:mod:`vos_core.formats`; ``format`` is guessed when left out; in the text form
a ``.json``, an ``.xml`` or a folder with ``data.yaml`` counts as labels). ``name`` (default: the
source's name) must be unique: it is the video's folder under ``DIR``.

Each video is one ``vos_core.propagate`` run (:func:`vos_core.propagate.propagate_video`, with
``--resume``) into ``DIR/NAME``: masks are written as they come, so a killed batch run again with
the same command finishes every video to the same bytes as an uninterrupted one, and videos already
complete are skipped. Labels are first turned into palette PNGs in ``DIR/.given/NAME`` (with their
object names in ``objects.json``). A bad entry (missing file, unreadable masks, ...) is reported on
one ``error:`` line and skipped; the others run; the exit code is then 2.

Locally, ``--workers`` processes (default: the cores divided by ``--threads``, default 1 per video,
so that workers × threads never exceeds the cores) each show a progress bar under the overall one.
With ``--ray ADDRESS`` (``pip install -e ".[cluster]"``; ``auto`` for the cluster this machine is
part of, ``local`` to start one here) each video is one Ray task asking for ``--threads`` CPUs, run
by the cluster's workers, which write into ``DIR`` themselves: ``DIR`` must be storage every node
sees (the same path everywhere).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shlex
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from vos_core.cli_common import OneLineParser, add_model_args, positive_int, run_cli, session_config
from vos_core.config import SessionConfig
from vos_core.errors import VosError, VosInputError
from vos_core.threads import ThreadBudget, cpu_cores

GIVEN = ".given"


@dataclass(frozen=True)
class Entry:
    """One video of the manifest: ``masks`` (PNG or folder) or ``labels`` (with their format)."""

    name: str
    source: Path
    masks: Path | None = None
    labels: Path | None = None
    format: str | None = None


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    message: str


# ----------------------------------------------------------------------------------------- manifest
def _looks_like_labels(path: Path) -> bool:
    return path.suffix.lower() in (".json", ".xml") or (path / "data.yaml").is_file()


def _entries_from_json(text: str) -> Iterator[dict | str]:
    data = json.loads(text)
    items = data.get("videos") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise VosInputError('a JSON manifest is a list of videos or {"videos": [...]}')
    yield from items


def _entries_from_text(text: str) -> Iterator[dict | str]:
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            fields = shlex.split(line, comments=True)
        except ValueError as error:
            yield f"line {number}: {error}"
            continue
        if not fields:
            continue
        if len(fields) not in (2, 3):
            yield f"line {number}: expected SOURCE FIRST_MASKS [NAME], got {len(fields)} fields"
            continue
        item = {"source": fields[0], "given": fields[1]}
        if len(fields) == 3:
            item["name"] = fields[2]
        yield item


def read_manifest(path: str | Path) -> tuple[list[Entry], list[Outcome]]:
    """The manifest's good entries and, for each bad one, an :class:`Outcome` saying why."""
    manifest = Path(path)
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise VosInputError(f"cannot read the manifest {manifest}: {error}") from error
    try:
        items = list(
            _entries_from_json(text) if manifest.suffix.lower() == ".json" else _entries_from_text(text)
        )
    except ValueError as error:
        raise VosInputError(f"{manifest} is not a JSON manifest ({error})") from error
    base = manifest.absolute().parent
    entries: list[Entry] = []
    bad: list[Outcome] = []
    names: set[str] = set()
    for index, item in enumerate(items, start=1):
        label = f"entry {index}"
        if isinstance(item, str):
            bad.append(Outcome(label, False, item))
            continue
        if not isinstance(item, dict) or "source" not in item:
            bad.append(Outcome(label, False, "no 'source'"))
            continue
        source = base / str(item["source"])
        name = str(item.get("name") or source.stem)
        if name in names or not name or "/" in name or name.startswith("."):
            bad.append(
                Outcome(name or label, False, f"the name {name!r} is empty, hidden, a path or used twice")
            )
            continue
        given = item.get("given")
        masks = item.get("masks") or (given if given and not _looks_like_labels(base / given) else None)
        labels = item.get("labels") or (given if given and masks is None else None)
        if bool(masks) == bool(labels):
            bad.append(Outcome(name, False, "give either 'masks' (PNG or folder) or 'labels'"))
            continue
        names.add(name)
        entries.append(
            Entry(
                name,
                source,
                base / masks if masks else None,
                base / labels if labels else None,
                item.get("format"),
            )
        )
    return entries, bad


# ------------------------------------------------------------------------------------------- a video
def given_masks(entry: Entry, out: Path) -> Path:
    """The first masks of ``entry`` as a path ``vos_core.propagate`` reads: its PNG/folder, or its
    labels written as palette PNGs into ``out/.given/NAME`` (same bytes every time)."""
    if entry.masks is not None:
        return entry.masks
    from vos_core.data.atomic import atomic_write_bytes
    from vos_core.data.frames import open_source
    from vos_core.data.masks import mask_file_name, write_mask
    from vos_core.formats import guess_format, read_labels

    assert entry.labels is not None
    key = entry.format or guess_format(entry.labels)
    with open_source(entry.source) as source:
        imported = read_labels(key, entry.labels, len(source), source.size)
    if not any(labels.any() for labels in imported.masks.values()):
        raise VosInputError(f"the labels in {entry.labels} hold no object for this video")
    folder = out / GIVEN / entry.name
    folder.mkdir(parents=True, exist_ok=True)
    for frame, labels in sorted(imported.masks.items()):
        if labels.any():
            write_mask(folder / mask_file_name(frame), labels)
    objects = [{"id": obj.id, "name": obj.name} for obj in imported.objects]
    atomic_write_bytes(folder / "objects.json", (json.dumps({"objects": objects}, indent=1) + "\n").encode())
    return folder


def run_entry(
    entry: Entry, out: Path, config: SessionConfig, progress: bool, position: int | None
) -> Outcome:
    """Propagate one video into ``out/NAME`` (resuming what is there); never raises for bad input."""
    from vos_core.propagate import propagate_video

    ThreadBudget.of(config.threads).apply()
    try:
        masks = given_masks(entry, out)
        message = propagate_video(entry.source, masks, out / entry.name, config, resume=True,
                                  progress=progress, position=position)  # fmt: skip
        return Outcome(entry.name, True, message)
    except (VosError, OSError) as error:
        return Outcome(entry.name, False, str(error))
    except Exception as error:  # noqa: BLE001 - one video's failure must not stop the others
        return Outcome(entry.name, False, f"internal error: {type(error).__name__}: {error}")


_SLOT: int | None = None


def _take_slot(counter) -> None:  # pool initializer: each worker process gets its own bar line
    global _SLOT
    with counter.get_lock():
        counter.value += 1
        _SLOT = int(counter.value)


def _pooled(entry: Entry, out: Path, config: SessionConfig, progress: bool) -> Outcome:
    return run_entry(entry, out, config, progress, _SLOT)


# ------------------------------------------------------------------------------------------- running
def run_local(entries: Sequence[Entry], out: Path, config: SessionConfig, workers: int, progress: bool):
    """Yield each video's :class:`Outcome` as it finishes, ``workers`` processes at a time."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited torch threads
    counter = context.Value("i", 0)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_take_slot, initargs=(counter,)
    ) as pool:
        futures = [pool.submit(_pooled, entry, out, config, progress) for entry in entries]
        for future in as_completed(futures):
            yield future.result()


def run_ray(entries: Sequence[Entry], out: Path, config: SessionConfig, address: str):
    """Yield each video's :class:`Outcome` as its Ray task finishes (one task per video)."""
    try:
        import ray
    except ImportError as error:
        raise VosInputError('--ray needs Ray: pip install -e ".[cluster]"') from error
    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, include_dashboard=False,
                 log_to_driver=False)  # fmt: skip
    task = ray.remote(num_cpus=max(1, config.threads))(run_entry)
    pending = [task.remote(entry, out, config, False, None) for entry in entries]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="vos-batch", description="Propagate the first masks of many videos.")
    parser.add_argument("manifest", metavar="MANIFEST", help="JSON or text list of videos and first masks")
    parser.add_argument("--out", required=True, metavar="DIR", help="one folder of masks per video here")
    add_model_args(parser)
    parser.set_defaults(threads=1)
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="videos at once (default: the cores divided by --threads)")  # fmt: skip
    parser.add_argument("--ray", default=None, metavar="ADDRESS",
                        help="one Ray task per video on the cluster: auto, local, host:port")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    return parser


def _main(args: argparse.Namespace) -> int:
    config = session_config(args)
    if config.threads < 1:
        raise VosInputError("--threads must be at least 1 per video in a batch")
    cores = cpu_cores()
    workers = args.workers or max(1, cores // config.threads)
    if args.ray is None and workers * config.threads > cores:
        raise VosInputError(
            f"{workers} workers × {config.threads} threads is more than the {cores} cores: "
            f"lower --workers or --threads"
        )
    entries, bad = read_manifest(args.manifest)
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    for outcome in bad:
        print(f"error: {outcome.name}: {outcome.message} (skipped)", file=sys.stderr)
    outcomes = (
        run_ray(entries, out, config, args.ray)
        if args.ray is not None
        else run_local(entries, out, config, min(workers, max(1, len(entries))), not args.quiet)
    )
    failed = len(bad)
    with tqdm(total=len(entries), unit="video", desc="videos", file=sys.stderr, disable=args.quiet,
              position=0, dynamic_ncols=True) as bar:  # fmt: skip
        for outcome in outcomes:
            if outcome.ok:
                bar.write(f"{outcome.name}: {outcome.message}", file=sys.stdout)
            else:
                failed += 1
                bar.write(f"error: {outcome.name}: {outcome.message} (skipped)", file=sys.stderr)
            bar.update(1)
    done = len(entries) - (failed - len(bad))
    print(
        f"{done} of {len(entries) + len(bad)} videos done in {out}" + (f"; {failed} failed" if failed else "")
    )
    return 2 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m vos_core.batch``; returns the exit code."""
    return run_cli(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
