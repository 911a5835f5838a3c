"""Application-wide names, icons and colours used by the views."""

from __future__ import annotations

import functools

from PySide6.QtGui import QColor, QIcon

ORG_NAME = "VosAnnotator"
APP_NAME = "VOS Annotator"
APP_VERSION = "0.1.0"

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".avi", ".mov", ".webm")
VIDEO_FILTER = "Videos (*.mp4 *.mkv *.avi *.mov *.webm);;All files (*)"

# Semantic icon name -> qtawesome name (Font Awesome 6 solid).
_ICONS: dict[str, str] = {
    "app": "fa6s.layer-group",
    "open_video": "fa6s.film",
    "open_folder": "fa6s.folder-open",
    "import": "fa6s.file-import",
    "export": "fa6s.file-export",
    "undo": "fa6s.rotate-left",
    "redo": "fa6s.rotate-right",
    "fit": "fa6s.expand",
    "propagate_forward": "fa6s.forward",
    "propagate_backward": "fa6s.backward",
    "propagate_next": "fa6s.forward-fast",
    "propagate_range": "fa6s.arrows-left-right-to-line",
    "update_around": "fa6s.arrows-left-right",
    "worst": "fa6s.triangle-exclamation",
    "pause": "fa6s.pause",
    "play": "fa6s.play",
    "stop": "fa6s.stop",
    "brush": "fa6s.paintbrush",
    "eraser": "fa6s.eraser",
    "polygon": "fa6s.draw-polygon",
    "fill": "fa6s.fill-drip",
    "box": "fa6s.vector-square",
    "click": "fa6s.hand-pointer",
    "clear": "fa6s.trash-can",
    "commit": "fa6s.floppy-disk",
    "reseed": "fa6s.seedling",
    "reset": "fa6s.broom",
    "memory": "fa6s.memory",
    "pin": "fa6s.thumbtack",
    "evict": "fa6s.trash",
    "settings": "fa6s.gear",
    "add": "fa6s.plus",
    "delete": "fa6s.minus",
    "colour": "fa6s.palette",
    "step_forward": "fa6s.forward-step",
    "step_backward": "fa6s.backward-step",
    "follow": "fa6s.location-crosshairs",
    "plot": "fa6s.chart-line",
}

ICON_COLOUR = "#3a3f44"

# Kinds of memory entries (EntryKind values) -> display name and colour.
KIND_NAMES = {"permanent": "permanent", "working": "working", "long_term": "long-term"}
KIND_COLOURS = {"permanent": QColor("#2e7d32"), "working": QColor("#1565c0"), "long_term": QColor("#8e24aa")}

# Timeline marks.
MARK_ANNOTATED = QColor("#2e7d32")
MARK_PROPAGATED = QColor("#64b5f6")
MARK_LOW_CONFIDENCE = QColor("#e53935")
MARK_CURRENT = QColor("#ff9800")


@functools.cache
def icon(name: str) -> QIcon:
    """The icon for a semantic name; an empty icon when qtawesome cannot draw it."""
    key = _ICONS.get(name)
    if key is None:
        return QIcon()
    try:
        import qtawesome

        return qtawesome.icon(key, color=ICON_COLOUR, color_disabled="#b0b4b8")
    except Exception:  # noqa: BLE001 - icons are decoration, never fatal
        return QIcon()
