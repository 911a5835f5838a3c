"""``ObjectInfo``: one annotated object (id, name, colour, visibility). Plain Python, no Qt."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vos_core import davis_palette

MIN_OBJECT_ID = 1
MAX_OBJECT_ID = 255
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def default_colour(object_id: int) -> str:
    """The DAVIS palette colour of ``object_id`` as ``"#rrggbb"``."""
    red, green, blue = (int(v) for v in davis_palette()[int(object_id) % 256])
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
