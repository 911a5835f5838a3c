"""The review marks of an export: which frames a person corrected and which a person checked.

Every export format (DAVIS, COCO, YOLO-seg, CVAT) can carry them in one sidecar file beside its
output, ``OUT/<name>_review.json``, so a training pipeline can weigh human-checked frames apart from
propagated ones::

    {"format": "vos-annotator review", "version": 1, "sequence": "bear", "frames": 82,
     "corrected": [0, 40], "reviewed": [12], "propagated": 79}

* ``corrected``: the frame's mask is a person's correction, used as a reference by the model;
* ``reviewed``: a person checked the frame (Mark reviewed, or a key edit / tiny change), and kept
  its mask as it is: not a reference;
* every other frame with a mask was propagated and not checked (``propagated`` counts them).

The file is written atomically (:func:`vos_core.data.atomic.atomic_write_bytes`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vos_core.data.atomic import atomic_write_bytes
from vos_core.errors import VosInputError

FORMAT_TAG = "vos-annotator review"
VERSION = 1


@dataclass(frozen=True)
class ReviewMarks:
    """Frames (0-based indices) a person corrected, and frames a person checked without correcting.
    A frame in both counts as corrected."""

    corrected: frozenset[int] = frozenset()
    reviewed: frozenset[int] = frozenset()

    @classmethod
    def of(cls, corrected: Iterable[int], reviewed: Iterable[int]) -> ReviewMarks:
        fixed = frozenset(int(f) for f in corrected)
        return cls(fixed, frozenset(int(f) for f in reviewed) - fixed)

    def state(self, frame: int) -> str:
        """``"corrected"``, ``"reviewed"`` or ``"propagated"``."""
        if frame in self.corrected:
            return "corrected"
        return "reviewed" if frame in self.reviewed else "propagated"


def review_file_name(name: str) -> str:
    return f"{name}_review.json"


def write_review(
    out: str | Path, name: str, marks: ReviewMarks, frames_with_masks: Iterable[int], n_frames: int
) -> Path:
    """Write ``OUT/<name>_review.json`` for a sequence of ``n_frames`` frames; marks outside the
    video are refused (they would be silently wrong)."""
    outside = sorted(f for f in marks.corrected | marks.reviewed if not 0 <= f < n_frames)
    if outside:
        raise VosInputError(f"review marks outside the video's {n_frames} frames: {outside[:5]}")
    with_masks = set(frames_with_masks)
    payload = {
        "format": FORMAT_TAG,
        "version": VERSION,
        "sequence": name,
        "frames": n_frames,
        "corrected": sorted(marks.corrected),
        "reviewed": sorted(marks.reviewed),
        "propagated": len(with_masks - marks.corrected - marks.reviewed),
    }
    path = Path(out) / review_file_name(name)
    atomic_write_bytes(path, (json.dumps(payload, indent=1) + "\n").encode("utf-8"))
    return path


def read_review(path: str | Path) -> ReviewMarks:
    """Read a review sidecar back; a file that is not one raises ``VosInputError``."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise VosInputError(f"Cannot read review marks {path}: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_TAG:
        raise VosInputError(f"{path} is not a review-marks file")
    try:
        return ReviewMarks.of(
            (int(f) for f in payload.get("corrected", [])), (int(f) for f in payload.get("reviewed", []))
        )
    except (TypeError, ValueError) as error:
        raise VosInputError(f"{path}: bad frame list ({error})") from error
