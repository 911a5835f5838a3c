"""``Project``: the on-disk state of one annotated video.

Layout of a project folder (default ``<video_dir>/<video_stem>.vosproj/``; for a frame folder
``<folder>.vosproj`` next to it)::

    project.json        schema version, video, objects, frame sources, confidence, settings,
                        user frames marked "not a reference", pinned memory frames, reviewed
                        frames (the last three optional)
    masks/00012.png     DAVIS-palette label map of frame 12 at the video's original resolution
    pins/00012.png      the mask a pinned prediction of frame 12 was pinned with (its memory entry
                        is encoded from it, so reopening restores the pin exactly)
    adaptation/         the engine's fit to the given masks, with their digests (vos_core.adapt.store;
                        written by the engine, reused on reopen while the masks are the same)

Every file is written atomically (temp file + rename). Masks are written before the JSON that lists
them, and on load masks that the JSON does not list yet are adopted (their source is kept in the
PNG), so a crash at any moment loses no completed frame. A corrupt mask file is reported in
``problems``, renamed aside (``*.corrupt``) and skipped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from app.model.mask_files import (
    MASK_NAME,
    MaskSource,
    check_labels,
    check_source,
    inspect_mask_file,
    read_mask_file,
    write_mask_file,
)
from app.model.object_info import ObjectInfo
from vos_core import FrameSource, ProjectError, VosError, atomic_write_bytes, mask_file_name, open_source

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PROJECT_SUFFIX = ".vosproj"
PROJECT_FILE = "project.json"
MASKS_DIR = "masks"
PINS_DIR = "pins"
ADAPTATION_DIR = "adaptation"


def default_project_dir(video_path: str | Path) -> Path:
    """``<dir>/<stem>.vosproj`` for a video file, ``<folder>.vosproj`` beside a frame folder."""
    path = Path(video_path).absolute()
    if path.is_dir():
        return path.parent / f"{path.name}{PROJECT_SUFFIX}"
    return path.parent / f"{path.stem}{PROJECT_SUFFIX}"


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: Path) -> Any:
    if key not in data:
        raise ProjectError(f"Project file {where} is missing the field '{key}'")
    value = data[key]
    bad_bool = isinstance(value, bool) and kind in (int, float, (int, float))
    if bad_bool or not isinstance(value, kind):
        raise ProjectError(f"Project file {where}: field '{key}' has the wrong type")
    return value


def _frame_list(data: dict[str, Any], key: str, n_frames: int, where: Path) -> list[int]:
    values = _require(data, key, list, where)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_frames:
            raise ProjectError(f"Project file {where}: '{key}' holds an invalid frame {value!r}")
    return values


def _optional_frames(data: dict[str, Any], key: str, n_frames: int, where: Path) -> set[int]:
    """A frame list that older project files do not have (absent: empty)."""
    return set(_frame_list(data, key, n_frames, where)) if key in data else set()


class Project:
    """State of one video's annotation project. Mutated on the GUI thread; the file methods
    (``write_mask``, ``delete_mask``, ``write_json``) touch only the disk and may run on a writer
    thread."""

    def __init__(
        self, directory: str | Path, video_path: str | Path, frame_count: int, size: tuple[int, int]
    ) -> None:
        self.directory = Path(directory).absolute()
        self.video_path = Path(video_path).absolute()
        self.frame_count = int(frame_count)
        self.size: tuple[int, int] = (int(size[0]), int(size[1]))
        self.objects: list[ObjectInfo] = []
        self.sources: dict[int, MaskSource] = {}
        self.current_frame = 0
        self.settings: dict[str, Any] = {}
        self.confidence: dict[int, float] = {}
        #: user frames kept out of the engine's memory (every other user frame is a reference)
        self.not_references: set[int] = set()
        #: frames whose memory entries are pinned (restored in the engine on reopen)
        self.pinned_frames: list[int] = []
        #: frames a person checked: "Mark reviewed", or an edit that is no correction (fill holes,
        #: a tiny change); kept masks that are not references (see ``app.model.review``)
        self.reviewed: set[int] = set()
        self.problems: list[str] = []

    # ------------------------------------------------------------------ paths and queries
    @property
    def json_path(self) -> Path:
        return self.directory / PROJECT_FILE

    @property
    def masks_dir(self) -> Path:
        return self.directory / MASKS_DIR

    @property
    def adaptation_dir(self) -> Path:
        return self.directory / ADAPTATION_DIR

    def mask_path(self, frame: int) -> Path:
        return self.masks_dir / mask_file_name(frame)

    @property
    def pins_dir(self) -> Path:
        return self.directory / PINS_DIR

    def pin_path(self, frame: int) -> Path:
        return self.pins_dir / mask_file_name(frame)

    def annotated_frames(self) -> list[int]:
        return sorted(i for i, source in self.sources.items() if source == "user")

    def propagated_frames(self) -> list[int]:
        return sorted(i for i, source in self.sources.items() if source == "propagated")

    def reference_frames(self) -> list[int]:
        """User frames that are references (all but those marked "not a reference")."""
        return [i for i in self.annotated_frames() if i not in self.not_references]

    # ------------------------------------------------------------------ opening
    @classmethod
    def open_for(
        cls,
        video_path: str | Path,
        project_dir: str | Path | None = None,
        *,
        source: FrameSource | None = None,
    ) -> Project:
        """Resume the project of ``video_path`` (or create it). ``source``, when given, is the
        already opened video (its length and size are checked against the project)."""
        directory = Path(project_dir) if project_dir is not None else default_project_dir(video_path)
        if source is None:
            with open_source(video_path) as opened:
                frame_count, size = len(opened), opened.size
        else:
            frame_count, size = len(source), source.size
        project = cls(directory, video_path, frame_count, size)
        if directory.exists() and not directory.is_dir():
            raise ProjectError(f"Project folder {directory} is a file, not a folder")
        try:
            project.masks_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ProjectError(f"Cannot create project folder {directory}: {error.strerror}") from error
        project._remove_stale_json_temp()
        if project.json_path.exists():
            project._load_json()
        try:
            project._scan_masks()
        except OSError as error:
            raise ProjectError(f"Cannot read the masks of project {directory}: {error}") from error
        try:
            project.save()
        except ProjectError as error:  # e.g. a read-only folder: open anyway, tell the user
            project.problems.append(str(error))
        return project

    def _load_json(self) -> None:
        path = self.json_path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ProjectError(f"Cannot read project file {path}: {error.strerror}") from error
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            # ValueError: invalid JSON or an over-long number; RecursionError: absurd nesting
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ProjectError(f"Project file {path} is corrupt (not valid JSON: {reason})") from error
        if not isinstance(data, dict):
            raise ProjectError(f"Project file {path} is corrupt (expected a JSON object)")
        version = _require(data, "version", int, path)
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"Project {self.directory} was saved by a newer version of the app (format "
                f"{version}; this version reads format {SCHEMA_VERSION} and older). Update the app."
            )
        if version < 1:
            raise ProjectError(f"Project file {path} has an invalid format version {version}")
        self._check_video(data, path)
        self._read_state(data, path)

    def _remove_stale_json_temp(self) -> None:
        """Delete ``.project.*.tmp.json`` files left by a save that was killed mid-write."""
        stem, suffix = Path(PROJECT_FILE).stem, Path(PROJECT_FILE).suffix
        for entry in self.directory.glob(f".{stem}.*.tmp{suffix}"):
            with contextlib.suppress(OSError):
                entry.unlink()

    def _check_video(self, data: dict[str, Any], path: Path) -> None:
        _require(data, "video_path", str, path)
        frame_count = _require(data, "frame_count", int, path)
        size = _require(data, "size", list, path)
        if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
            raise ProjectError(f"Project file {path}: field 'size' must be [height, width]")
        if frame_count != self.frame_count:
            raise ProjectError(
                f"Project {self.directory} was made for a video of {frame_count} frames but "
                f"{self.video_path.name} has {self.frame_count}; open it with its own video"
            )
        if tuple(size) != self.size:
            raise ProjectError(
                f"Project {self.directory} was made for {size[1]}×{size[0]} frames but "
                f"{self.video_path.name} is {self.size[1]}×{self.size[0]} (W×H)"
            )

    def _read_state(self, data: dict[str, Any], path: Path) -> None:
        try:
            objects = [ObjectInfo.from_json(item) for item in _require(data, "objects", list, path)]
        except ValueError as error:
            raise ProjectError(f"Project file {path}: invalid object ({error})") from error
        if len({info.id for info in objects}) != len(objects):
            raise ProjectError(f"Project file {path}: two objects share an id")
        annotated = _frame_list(data, "annotated_frames", self.frame_count, path)
        propagated = _frame_list(data, "propagated_frames", self.frame_count, path)
        current = _require(data, "current_frame", int, path)
        settings = _require(data, "settings", dict, path)
        confidence_raw = _require(data, "confidence", dict, path)
        confidence: dict[int, float] = {}
        for key, value in confidence_raw.items():
            # a frame index: ASCII digits, and few enough of them for int() (it refuses > 4300)
            valid_key = isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 12
            if not valid_key or isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ProjectError(f"Project file {path}: invalid confidence entry {key!r}")
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise ProjectError(f"Project file {path}: invalid confidence entry {key!r}")
            confidence[int(key)] = number
        self.objects = objects
        self.sources = {i: "propagated" for i in propagated}
        self.sources.update({i: "user" for i in annotated})
        self.current_frame = min(max(current, 0), max(self.frame_count - 1, 0))
        self.settings = settings
        self.confidence = confidence
        # optional (older projects have neither): every user frame a reference, nothing pinned
        self.not_references = _optional_frames(data, "not_references", self.frame_count, path)
        self.pinned_frames = sorted(_optional_frames(data, "pinned_frames", self.frame_count, path))
        self.reviewed = _optional_frames(data, "reviewed_frames", self.frame_count, path)

    def _scan_masks(self) -> None:
        """Reconcile the listed frames with the mask files actually on disk."""
        on_disk: dict[int, Path] = {}
        for entry in self.masks_dir.iterdir():
            if entry.name.startswith(".") and ".tmp" in entry.name:
                with contextlib.suppress(OSError):
                    entry.unlink()  # left over by a write that was interrupted
                continue
            match = MASK_NAME.match(entry.name)
            if match is not None and entry.is_file():
                on_disk[int(match.group(1))] = entry
        for frame in [i for i in self.sources if i not in on_disk]:
            log.info("frame %d is listed but has no mask file; dropped", frame)
            del self.sources[frame]
        for frame, file in sorted(on_disk.items()):
            if frame >= self.frame_count:
                self._quarantine(file, f"mask {file.name} is past the last frame")
                continue
            source, problem = inspect_mask_file(file, self.size)
            if problem is not None:
                self.sources.pop(frame, None)
                self._quarantine(file, problem)
            elif frame not in self.sources:
                self.sources[frame] = source or "propagated"
        self.confidence = {i: c for i, c in self.confidence.items() if i in self.sources}
        self.reviewed &= set(self.sources)

    def _quarantine(self, file: Path, problem: str) -> None:
        message = f"Skipped a corrupt mask in {self.masks_dir}: {problem}"
        log.warning(message)
        self.problems.append(message)
        with contextlib.suppress(OSError):
            file.replace(file.with_name(file.name + ".corrupt"))

    # ------------------------------------------------------------------ masks (any thread)
    def read_mask(self, frame: int) -> np.ndarray | None:
        """The stored mask of ``frame``, or None when there is none or it cannot be decoded
        (the problem is then recorded in ``problems``)."""
        path = self.mask_path(frame)
        if not path.exists():
            return None
        try:
            return read_mask_file(path, self.size)
        except VosError as error:
            message = f"Skipped the mask of frame {frame}: {error}"
            log.warning(message)
            self.problems.append(message)
            return None

    def write_mask(self, frame: int, labels: np.ndarray, source: MaskSource) -> None:
        """Atomically write a mask file (raises ``VosError`` on I/O failure). Does not touch
        ``sources``: that is the caller's bookkeeping."""
        write_mask_file(self.mask_path(frame), check_labels(labels, self.size), check_source(source))

    def delete_mask(self, frame: int) -> None:
        try:
            self.mask_path(frame).unlink(missing_ok=True)
        except OSError as error:
            raise ProjectError(f"Cannot delete {self.mask_path(frame)}: {error.strerror}") from error

    def read_pin_mask(self, frame: int) -> np.ndarray | None:
        """The mask pinned frame ``frame`` was pinned with (None: none, or unreadable: then the
        problem is recorded in ``problems``)."""
        path = self.pin_path(frame)
        if not path.exists():
            return None
        try:
            return read_mask_file(path, self.size)
        except VosError as error:
            self.problems.append(f"Skipped the pinned mask of frame {frame}: {error}")
            return None

    def write_pin_mask(self, frame: int, labels: np.ndarray | None) -> None:
        """Atomically write (or, for None, delete) the pin mask of ``frame`` (raises ``VosError``)."""
        path = self.pin_path(frame)
        if labels is None:
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                raise ProjectError(f"Cannot delete {path}: {error.strerror}") from error
            return
        try:
            self.pins_dir.mkdir(exist_ok=True)
        except OSError as error:
            raise ProjectError(f"Cannot create {self.pins_dir}: {error.strerror}") from error
        write_mask_file(path, check_labels(labels, self.size), "propagated")

    # ------------------------------------------------------------------ project.json
    def to_json(self) -> dict[str, Any]:
        """A snapshot of the state as JSON-able primitives (safe to hand to another thread)."""
        return {
            "version": SCHEMA_VERSION,
            "video_path": str(self.video_path),
            "frame_count": self.frame_count,
            "size": list(self.size),
            "objects": [info.to_json() for info in self.objects],
            "annotated_frames": self.annotated_frames(),
            "propagated_frames": self.propagated_frames(),
            "current_frame": int(self.current_frame),
            "settings": json.loads(json.dumps(self.settings)),
            "confidence": {str(i): round(float(c), 5) for i, c in sorted(self.confidence.items())},
            "not_references": sorted(self.not_references),
            "pinned_frames": sorted(self.pinned_frames),
            "reviewed_frames": sorted(self.reviewed),
        }

    def write_json(self, data: dict[str, Any] | None = None) -> None:
        """Atomically write ``data`` (default: a fresh snapshot) to ``project.json``."""
        payload = json.dumps(self.to_json() if data is None else data, indent=1)
        try:
            atomic_write_bytes(self.json_path, payload.encode("utf-8"))
        except VosError as error:
            raise ProjectError(f"Cannot save the project: {error}") from error

    def save(self) -> None:
        """Write ``project.json`` now (call after the masks it lists are on disk)."""
        self.write_json()
