"""What the box and click back ends (:mod:`app.views.box_session`, :mod:`app.views.click_session`)
need of the canvas that owns them: a protocol, so that they do not import the canvas (which imports
them) and the views stay free of import cycles."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class ClickMarks(Protocol):
    """The click markers drawn on the canvas."""

    def add_click(self, x: float, y: float, positive: bool) -> None: ...

    def clear_clicks(self) -> None: ...

    def keep_clicks(self, count: int) -> None:
        """Keep the markers of the first ``count`` clicks, drop the others."""


class EditHost(Protocol):
    """The canvas as a segmentation back end sees it."""

    #: Signal(str): a status-bar message
    message: Any
    marks: ClickMarks
    active_object: int

    @property
    def rgb(self) -> np.ndarray | None:
        """The frame on screen (H×W×3 RGB), None when there is none."""

    @property
    def frame_index(self) -> int: ...

    @property
    def frame_labels(self) -> np.ndarray | None:
        """The labels on screen (H×W), None when the frame has none."""

    def labels_for_edit(self) -> np.ndarray | None:
        """A writable copy of the current frame's labels (zeros when it has none); None: no frame."""

    def finish_edit(self, labels: np.ndarray, text: str) -> None:
        """The edit is done: ``labels`` are the frame's new labels."""

    def cancel_edit(self) -> None:
        """The edit came to nothing: show the frame's labels as they were."""
