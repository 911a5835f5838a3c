"""``ObjectInfo``: one annotated object (id, name, colour, visibility). Plain Python, no Qt."""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass
from typing import Any

MIN_OBJECT_ID = 1
MAX_OBJECT_ID = 255
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


# Display colours of objects 1-10: saturated and bright, so a mask stands out on most scenes (the
# DAVIS palette's #800000, #008000, ... are dark). Only the screen uses them: mask files and exports
# keep the label indices and the DAVIS palette.
_DISPLAY_COLOURS = (
    "#00e5ff", "#ff3d9a", "#ffd400", "#7cff3d", "#ff7a00",
    "#a64dff", "#ff3b3b", "#3d7cff", "#00ff9c", "#ff4dff",
)  # fmt: skip
_GOLDEN = 0.618033988749895


def default_colour(object_id: int) -> str:
    """The default display colour of ``object_id`` as ``"#rrggbb"``: a fixed bright colour for
    objects 1-10, then bright hues spread by the golden ratio (all distinct for 1-255)."""
    object_id = int(object_id)
    if 1 <= object_id <= len(_DISPLAY_COLOURS):
        return _DISPLAY_COLOURS[object_id - 1]
    hue = (0.5 + object_id * _GOLDEN) % 1.0
    value = 1.0 if object_id % 2 else 0.88
    saturation = 0.9 if object_id % 3 else 0.7
    red, green, blue = (round(255 * c) for c in colorsys.hsv_to_rgb(hue, saturation, value))
    return f"#{red:02x}{green:02x}{blue:02x}"


def default_name(object_id: int) -> str:
    return f"Object {object_id}"


def is_hex_colour(value: object) -> bool:
    return isinstance(value, str) and bool(_HEX_COLOUR.match(value))


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> ``(r, g, b)``."""
    if not is_hex_colour(colour):
        raise ValueError(f"colour must be '#rrggbb', got {colour!r}")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def check_object_id(object_id: int) -> int:
    if isinstance(object_id, bool) or not isinstance(object_id, int):
        raise ValueError(f"object id must be an int, got {object_id!r}")
    if not MIN_OBJECT_ID <= object_id <= MAX_OBJECT_ID:
        raise ValueError(f"object id must be {MIN_OBJECT_ID}..{MAX_OBJECT_ID}, got {object_id}")
    return object_id


@dataclass(frozen=True)
class ObjectInfo:
    """One object: ``id`` is its label value in the masks (1..255)."""

    id: int
    name: str
    colour: str
    visible: bool = True

    def __post_init__(self) -> None:
        check_object_id(self.id)
        if not isinstance(self.name, str):
            raise ValueError(f"object name must be a string, got {self.name!r}")
        if not is_hex_colour(self.colour):
            raise ValueError(f"object colour must be '#rrggbb', got {self.colour!r}")
        object.__setattr__(self, "colour", self.colour.lower())
        if not isinstance(self.visible, bool):
            raise ValueError(f"object visibility must be true/false, got {self.visible!r}")

    @classmethod
    def new(cls, object_id: int, name: str | None = None, colour: str | None = None) -> ObjectInfo:
        """An object with the default name / DAVIS colour where not given."""
        return cls(object_id, name or default_name(object_id), colour or default_colour(object_id))

    @property
    def rgb(self) -> tuple[int, int, int]:
        return hex_to_rgb(self.colour)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "colour": self.colour, "visible": self.visible}

    @classmethod
    def from_json(cls, data: object) -> ObjectInfo:
        """Parse one ``project.json`` object entry; raises ``ValueError`` when malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"an object entry must be a mapping, got {type(data).__name__}")
        missing = [key for key in ("id", "name", "colour") if key not in data]
        if missing:
            raise ValueError(f"object entry is missing {', '.join(missing)}")
        return cls(data["id"], data["name"], data["colour"], data.get("visible", True))
