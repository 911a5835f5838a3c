"""Status bar content: frame n/N, active object, model, memory size, and the propagation progress
(with frames/s and time left; before the first frame, the adaptation learning from the masks, with
its steps done and time left)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

PROGRESS_MS = 250


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class StatusPanel(QWidget):
    """Owns the permanent widgets of a status bar (it is not itself shown)."""

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.hide()
        self.bar = bar
        self.frame = self._label("No video", "Frame on screen / last frame")
        self.pixel = self._label("", "Pixel under the cursor and its object")
        self.object = self._label("", "Active object (the tools paint it)")
        self.model = self._label("", "Engine model")
        self.device = self._label("", "Device the engine runs on")
        self.memory = self._label("", "Engine memory in use")
        self.fps = self._label("", "Propagation speed and time left")
        self.progress = QProgressBar(bar)
        self._fit_progress(9999)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m")
        self.progress.hide()
        self.fps.hide()
        self._latest: tuple[int, int, float, float] | None = None
        self._paused = False
        self._learning_from = 0  # masks the current refit learns from (0: no refit)
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(PROGRESS_MS)
        self._throttle.timeout.connect(self._show_progress)
        for widget in (self.pixel, self.object, self.model, self.device, self.memory, self.fps):
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.frame)

    def _label(self, text: str, tip: str) -> QLabel:
        label = QLabel(text, self.bar)
        label.setToolTip(tip)
        label.setContentsMargins(6, 0, 6, 0)
        return label

    def set_frame(self, index: int, count: int) -> None:
        self.frame.setText(f"Frame {index} / {count - 1}" if count else "No video")

    def set_pixel(self, x: int, y: int, label: int) -> None:
        self.pixel.setText("" if x < 0 else f"x {x}, y {y}" + (f" · object {label}" if label else ""))

    def set_object(self, name: str | None) -> None:
        self.object.setText(f"Object: {name}" if name else "No object")

    def set_model(self, name: str | None, state: str = "") -> None:
        self.model.setText(f"Model: {name}{f' ({state})' if state else ''}" if name else state)

    def set_device(self, label: str | None) -> None:
        """The device the engine's session runs on ("CPU", "CUDA (<GPU>)"); None: no session."""
        self.device.setText(f"on {label}" if label else "")

    def set_memory(self, total_bytes: int | None, entries: int = 0) -> None:
        if total_bytes is None:
            self.memory.setText("")
        else:
            self.memory.setText(f"Memory: {total_bytes / (1024 * 1024):.1f} MB · {entries} entries")

    def _fit_progress(self, total: int) -> None:
        """Width from the font: the longest text of this run ("total / total") plus the style's frame
        and padding, so that "15 / 299" is never clipped whatever the font or its size."""
        longest = f"{max(1, total)} / {max(1, total)}"
        metrics = self.progress.fontMetrics()
        width = metrics.horizontalAdvance(longest) + 4 * metrics.averageCharWidth() + 16
        self.progress.setFixedWidth(max(140, width))

    def run_started(self, total: int) -> None:
        self._fit_progress(total)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(0)
        self._paused = False
        self.progress.show()
        self.fps.setText("starting…")
        self.fps.show()

    def run_adapting(self, masks: int) -> None:
        """Before a run's first frame the engine learns from the user's masks (a few seconds): a
        busy bar and "Learning from your N masks…" until the first frame's progress."""
        self._paused = False
        self._learning_from = masks
        self.progress.setRange(0, 0)  # busy: no step count yet (the masks' copies are encoded first)
        self.progress.show()
        self.fps.setText(self._learning_text())
        self.fps.show()

    def _learning_text(self, steps: str = "") -> str:
        masks = self._learning_from
        return f"Learning from your {masks} mask{'' if masks == 1 else 's'}…{steps}"

    def run_learning(self, done: int, total: int, left_s: float) -> None:
        """A refit's step ``done`` of ``total`` (Stop ends it): the bar counts steps, the label
        says how long is left, until the first frame's progress."""
        if not self._learning_from or not self.progress.isVisible():
            return
        if total != self.progress.maximum():
            self._fit_progress(total)
            self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        left = f" · {format_eta(left_s)} left" if done else ""
        self.fps.setText(self._learning_text(f" step {done} / {total}{left}"))

    def run_progress(self, done: int, total: int, fps: float, eta_s: float) -> None:
        """Shown at most every ``PROGRESS_MS`` (repainting a progress bar is not free)."""
        self._latest = (done, total, fps, eta_s)
        if not self._throttle.isActive():
            self._throttle.start()

    def _show_progress(self) -> None:
        if self._latest is None or not self.progress.isVisible():
            return
        self._learning_from = 0
        done, total, fps, eta_s = self._latest
        if total != self.progress.maximum():
            self._fit_progress(total)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.fps.setText("paused" if self._paused else f"{fps:.1f} fps · {format_eta(eta_s)} left")

    def run_paused(self, paused: bool) -> None:
        """While paused the speed and time left mean nothing: show "paused" until resumed."""
        self._paused = paused
        if paused:
            self.fps.setText("paused")
        elif self.progress.isVisible():
            self.fps.setText("resuming…")

    def run_finished(self) -> None:
        self._paused = False
        self._learning_from = 0
        self._throttle.stop()
        self._latest = None
        self.progress.hide()
        self.fps.hide()
