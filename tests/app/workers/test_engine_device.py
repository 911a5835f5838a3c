"""The engine says which device its session runs on (the status bar shows it)."""

from __future__ import annotations

import pytest

from app.workers.engine_client import EngineClient
from vos_core import SessionConfig

TIMEOUT = 120_000


def test_the_engine_reports_its_device(qtbot, video, no_thread_leaks) -> None:  # noqa: ANN001
    engine = EngineClient()
    devices: list[str] = []
    engine.device_ready.connect(devices.append)
    try:
        with qtbot.waitSignal(engine.ready, timeout=TIMEOUT):
            engine.open_video(str(video.path), SessionConfig(threads=1, device="cpu"))
        assert devices == ["CPU"]  # emitted before ready
    finally:
        assert engine.shutdown(30_000)


@pytest.mark.parametrize("present", [False, True])
def test_device_setting(qtbot, monkeypatch: pytest.MonkeyPatch, present: bool) -> None:  # noqa: ANN001
    from app.controllers import settings as settings_module
    from app.views import settings_dialog
    from app.views.status_panel import StatusPanel

    monkeypatch.setattr(settings_dialog, "cuda_available", lambda: present)
    monkeypatch.setattr(settings_module, "cuda_available", lambda: present)
    chosen = settings_module.AppSettings(device="cuda")
    dialog = settings_dialog.SettingsDialog(chosen)
    qtbot.addWidget(dialog)
    items = [dialog.device.itemData(i) for i in range(dialog.device.count())]
    assert items == ["auto", "cpu", "cuda"]
    cuda_item = dialog.device.model().item(2)
    assert cuda_item.isEnabled() == present  # greyed without CUDA
    assert dialog.result_settings().device == ("cuda" if present else "auto")
    assert chosen.session_config().device == ("cuda" if present else "auto")
    dialog.device.setCurrentIndex(1)
    assert dialog.session_config().device == "cpu"
    dialog._defaults()
    assert dialog.result_settings().device == "auto"
    saved = settings_module.AppSettings(device="cpu")
    saved.save()
    assert settings_module.AppSettings.load().device == "cpu"

    from PySide6.QtWidgets import QStatusBar

    bar = QStatusBar()
    qtbot.addWidget(bar)
    panel = StatusPanel(bar)
    panel.set_device("CPU")
    assert panel.device.text() == "on CPU"
    panel.set_device(None)
    assert panel.device.text() == ""
