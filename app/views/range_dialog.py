"""Ask for a frame range to propagate over."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QWidget


class RangeDialog(QDialog):
    """From (the frame whose mask is propagated) and to (inclusive); the direction follows."""

    def __init__(self, frame_count: int, start: int, end: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Propagate range")
        self.start = QSpinBox()
        self.end = QSpinBox()
        for spin, value in ((self.start, start), (self.end, end)):
            spin.setRange(0, max(0, frame_count - 1))
            spin.setValue(value)
        self.start.setToolTip("The frame whose mask is propagated")
        self.end.setToolTip("The last frame to fill in (before the start: propagates backward)")
        self.direction = QLabel()
        self.start.valueChanged.connect(self._describe)
        self.end.valueChanged.connect(self._describe)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From frame", self.start)
        form.addRow("To frame", self.end)
        form.addRow("", self.direction)
        form.addRow(buttons)
        self._describe()

    def _describe(self) -> None:
        a, b = self.start.value(), self.end.value()
        text = "nothing to do" if a == b else ("forward" if b > a else "backward")
        self.direction.setText(f"Direction: {text}, {abs(b - a)} frames")

    def frames(self) -> tuple[int, int]:
        return self.start.value(), self.end.value()
