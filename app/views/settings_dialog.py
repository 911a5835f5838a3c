"""Settings dialog: engine model, device and memory policy, processing height, overlay look,
low-confidence threshold. Values persist through :class:`AppSettings` (QSettings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.views.overlay import OverlayMode
from vos_core import SessionConfig, cuda_available, get_spec, usable_arch_names

if TYPE_CHECKING:
    from app.controllers.settings import AppSettings


def _spin(low: int, high: int, value: int, tip: str, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setSuffix(suffix)
    return spin


class SettingsDialog(QDialog):
    """Edit :class:`AppSettings`; ``result_settings()`` / ``session_config()`` after ``accept``."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._initial = settings
        self.arch = QComboBox()
        for name in usable_arch_names():
            self.arch.addItem(name, name)
        index = self.arch.findData(settings.arch)
        self.arch.setCurrentIndex(max(0, index))
        self.arch_description = QLabel()
        self.arch_description.setWordWrap(True)
        self.arch_description.setStyleSheet("color: #555;")
        self.arch.currentIndexChanged.connect(self._describe)
        self._describe()
        self.every = _spin(1, 100, settings.memory_every, "A predicted frame becomes memory every N frames")
        self.working = _spin(1, 64, settings.working_size, "Recent predicted frames kept in working memory")
        self.long_term = _spin(0, 256, settings.long_term_size, "Compressed older entries kept")
        self.height = _spin(
            0, 2160, settings.process_height,
            "Frames are processed at most this tall (the model's own height: chosen on the dev split)", " px",
        )
        self.height.setSingleStep(16)
        self.height.setSpecialValueText("model's own")
        self.threads = _spin(0, 64, settings.threads, "CPU threads for the engine (0: all cores but one)")
        self.threads.setSpecialValueText("automatic")
        self.device = QComboBox()
        self.device.setToolTip("Where the engine runs; the status bar shows the device in use")
        for text, name in (("Automatic (CUDA when present)", "auto"), ("CPU", "cpu"), ("CUDA GPU", "cuda")):
            self.device.addItem(text, name)
        if not cuda_available():  # greyed: torch sees no CUDA device on this machine
            item = self.device.model().item(self.device.findData("cuda"))  # type: ignore[attr-defined]
            item.setEnabled(False)
            item.setToolTip("No CUDA device found on this machine")
        self.device.setCurrentIndex(self._device_index(settings.device))
        self.adapt = QCheckBox("Learn from the given masks (adaptation)")
        self.adapt.setToolTip(
            "Before a run, the engine fine-tunes its own copy of the model on this video's given masks "
            "(up to about 10 s per new or changed mask on 2 CPU cores): fewer corrections"
        )
        self.adapt.setChecked(settings.adapt)
        engine = QGroupBox("Engine")
        form = QFormLayout(engine)
        form.addRow("Model", self.arch)
        form.addRow("", self.arch_description)
        form.addRow("Device", self.device)
        form.addRow("Memory every", self.every)
        form.addRow("Working memory size", self.working)
        form.addRow("Long-term memory size", self.long_term)
        form.addRow("Processing height", self.height)
        form.addRow("CPU threads", self.threads)
        form.addRow("", self.adapt)

        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(settings.overlay_opacity * 100))
        self.opacity.setToolTip("Opacity of the colour fill")
        self.mode = QComboBox()
        for mode in OverlayMode:
            self.mode.addItem(mode.title, mode.value)
        self.mode.setCurrentIndex(max(0, self.mode.findData(settings.overlay_mode)))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(settings.low_confidence)
        self.threshold.setToolTip("Frames below this confidence get a red mark on the timeline")
        self.follow = QCheckBox("Show frames as they are propagated")
        self.follow.setChecked(settings.follow)
        view = QGroupBox("Display")
        form2 = QFormLayout(view)
        form2.addRow("Overlay opacity", self.opacity)
        form2.addRow("Overlay style", self.mode)
        form2.addRow("Low-confidence threshold", self.threshold)
        form2.addRow("", self.follow)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._defaults)
        layout = QVBoxLayout(self)
        layout.addWidget(engine)
        layout.addWidget(view)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)

    def _describe(self) -> None:
        name = self.arch.currentData()
        try:
            self.arch_description.setText(get_spec(name).description if name else "")
        except KeyError:
            self.arch_description.setText("")

    def _device_index(self, name: str) -> int:
        """The row of ``name``, or "auto" when it is unknown or greyed out."""
        index = self.device.findData(name)
        item = self.device.model().item(index) if index >= 0 else None  # type: ignore[attr-defined]
        return index if item is not None and item.isEnabled() else self.device.findData("auto")

    def _defaults(self) -> None:
        self._load(type(self._initial)())

    def _load(self, s: AppSettings) -> None:
        self.arch.setCurrentIndex(max(0, self.arch.findData(s.arch)))
        self.every.setValue(s.memory_every)
        self.working.setValue(s.working_size)
        self.long_term.setValue(s.long_term_size)
        self.height.setValue(s.process_height)
        self.threads.setValue(s.threads)
        self.device.setCurrentIndex(self._device_index(s.device))
        self.adapt.setChecked(s.adapt)
        self.opacity.setValue(round(s.overlay_opacity * 100))
        self.mode.setCurrentIndex(max(0, self.mode.findData(s.overlay_mode)))
        self.threshold.setValue(s.low_confidence)
        self.follow.setChecked(s.follow)

    def _height(self) -> int:
        """0 (the model's own height) or at least the engine's minimum of 64."""
        value = self.height.value()
        return value if value == 0 else max(64, value)

    def result_settings(self) -> AppSettings:
        return self._initial.with_(
            arch=str(self.arch.currentData() or self._initial.arch),
            memory_every=self.every.value(),
            working_size=self.working.value(),
            long_term_size=self.long_term.value(),
            process_height=self._height(),
            threads=self.threads.value(),
            device=str(self.device.currentData()),
            adapt=self.adapt.isChecked(),
            overlay_opacity=self.opacity.value() / 100.0,
            overlay_mode=str(self.mode.currentData()),
            low_confidence=round(self.threshold.value(), 2),
            follow=self.follow.isChecked(),
        )

    def session_config(self) -> SessionConfig:
        return self.result_settings().session_config()
