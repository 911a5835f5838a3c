"""The adaptation switch: Settings > Engine checkbox, QSettings, and the project's settings snapshot."""

from __future__ import annotations

from dataclasses import replace

from app.controllers.settings import AppSettings
from app.model.settings import config_from_dict, config_to_dict
from app.views.settings_dialog import SettingsDialog
from vos_core.config import AdaptConfig, MemoryConfig, SessionConfig


def test_adapt_setting_round_trips_and_reaches_the_engine_config() -> None:
    assert AppSettings().adapt is AdaptConfig().enabled
    assert AppSettings().session_config().adapt == AdaptConfig()
    off = AppSettings(adapt=False)
    off.save()
    loaded = AppSettings.load()
    assert loaded == off and loaded.session_config().adapt == AdaptConfig(enabled=False)


def test_dialog_checkbox(qtbot: object) -> None:
    dialog = SettingsDialog(AppSettings(adapt=False))
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    assert not dialog.adapt.isChecked()
    assert dialog.session_config().adapt.enabled is False
    dialog.adapt.setChecked(True)
    assert dialog.result_settings().adapt is True and dialog.session_config().adapt.enabled
    dialog.adapt.setChecked(False)
    dialog._defaults()
    assert dialog.adapt.isChecked() is AppSettings().adapt


def test_project_snapshot_keeps_adapt_and_old_snapshots_load() -> None:
    adapt = AdaptConfig(enabled=False, steps=12)
    config = SessionConfig(arch="stcn", memory=MemoryConfig(every=3), adapt=adapt)
    assert config_from_dict(config_to_dict(config)) == config
    old = config_to_dict(config)
    del old["adapt"]  # a project saved before adaptation existed
    assert config_from_dict(old) == replace(config, adapt=AdaptConfig())
    broken = {**config_to_dict(config), "adapt": {"steps": -1}}
    assert config_from_dict(broken) == SessionConfig()  # invalid: the defaults, as for any field
