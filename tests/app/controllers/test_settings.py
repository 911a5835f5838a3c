"""Settings persist through QSettings and give the engine configuration."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.controllers.settings import AppSettings, add_recent_file, recent_files, remove_recent_file
from app.views.settings_dialog import SettingsDialog
from vos_core.config import SessionConfig


def test_round_trip_and_session_config() -> None:
    assert AppSettings.load() == AppSettings()
    changed = AppSettings(
        memory_every=3, working_size=6, long_term_size=2, process_height=240,
        overlay_opacity=0.3, overlay_mode="contour", low_confidence=0.75, follow=False,
    )  # fmt: skip
    changed.save()
    loaded = AppSettings.load()
    assert loaded == changed
    config = loaded.session_config()
    assert isinstance(config, SessionConfig)
    assert (config.memory.every, config.memory.working_size, config.memory.long_term_size) == (3, 6, 2)
    assert config.process_height == 240


def test_invalid_values_fall_back_to_defaults() -> None:
    QSettings().setValue("settings/process_height", "12")
    assert AppSettings.load() == AppSettings()
    QSettings().setValue("settings/process_height", "banana")
    assert AppSettings.load().process_height == 0  # the model's own height
    assert AppSettings().session_config().process_height is None


def test_recent_files() -> None:
    for name in ("a", "b", "a", "c"):
        add_recent_file(f"/videos/{name}.mp4")
    assert recent_files() == ["/videos/c.mp4", "/videos/a.mp4", "/videos/b.mp4"]
    remove_recent_file("/videos/a.mp4")
    assert recent_files() == ["/videos/c.mp4", "/videos/b.mp4"]


def test_dialog_returns_the_edited_settings(qtbot: object) -> None:
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    assert dialog.arch.count() >= 1 and dialog.arch_description.text()
    dialog.every.setValue(7)
    dialog.height.setValue(320)
    dialog.threshold.setValue(0.4)
    dialog.mode.setCurrentIndex(dialog.mode.findData("mask"))
    result = dialog.result_settings()
    assert (result.memory_every, result.process_height, result.low_confidence, result.overlay_mode) == (
        7, 320, 0.4, "mask",
    )  # fmt: skip
    assert dialog.session_config().memory.every == 7
    dialog.height.setValue(0)
    assert dialog.height.text() == "model's own" and dialog.session_config().process_height is None
    dialog.height.setValue(20)  # below the engine's minimum: raised to it
    assert dialog.result_settings().process_height == 64
    dialog._defaults()
    assert dialog.result_settings() == AppSettings()
