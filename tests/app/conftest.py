"""Fixtures for GUI tests: generated videos, isolated QSettings, no QThread left running, generous
waits and engines stopped (never destroyed) at teardown.

Waiting: tests wait on signals and conditions (``qtbot.waitSignal``/``waitUntil``, :func:`wait_until`),
never on wall-clock sleeps. A busy machine (the annotator's usual case, and CI beside other jobs)
makes everything slower, so every positive wait gets at least ``GENEROUS_MS``
(:func:`generous_waits`): a wait ends as soon as its signal comes, so a long limit costs nothing
when things are fast, and a short one only fails slow machines.

Engines: an ``EngineClient`` still running when a test ends (a window whose close was refused, a
test that failed before its shutdown) is stopped and joined by :func:`engines_stopped`, never
destroyed with its thread running (the QThread's destruction in the middle of an ONNX Runtime call
crashed the process at teardown, issue 24).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # plain `pytest` without an installed package
    sys.path.append(str(ROOT))

from PySide6.QtCore import QCoreApplication, QSettings, QThread, QThreadPool  # noqa: E402

SQUARE = 40  # side of the moving square, in pixels at 160×120


ENGINE_READY_MS = 120_000
#: the least time any positive wait of a GUI test gets (ms): generous, for a machine kept busy
GENEROUS_MS = 300_000
#: engines that could not be stopped at a test's teardown: kept alive (never destroyed running)
_UNSTOPPED: list[object] = []
#: optimiser steps of a full refit in the GUI tests (AppSettings.adapt_steps; the app's default is 60)
TEST_ADAPT_STEPS = 8


def wait_until(condition: Callable[[], bool], timeout_s: float = GENEROUS_MS / 1000) -> None:
    """Process events until ``condition()`` (like ``qtbot.waitUntil``, usable in helpers)."""
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "timed out"
        QApplication.processEvents()
        time.sleep(0.005)  # a poll, not a wait: the limit is timeout_s


@contextmanager
def document_with_engine(qtbot, video: Path) -> Iterator[tuple[object, object]]:
    """``video`` open in a Document wired to a real EngineClient (one thread, default engine model);
    the engine is shut down and the document closed afterwards."""
    from app.model.document import Document
    from app.workers.engine_client import EngineClient
    from vos_core.config import SessionConfig

    document = Document.open(video)
    engine = EngineClient()
    document.attach_engine(engine)
    with qtbot.waitSignal(engine.ready, timeout=ENGINE_READY_MS):
        engine.open_video(str(document.video_path), SessionConfig(threads=1))
    yield document, engine
    assert engine.shutdown(30_000)
    document.close()


def square_box(index: int, width: int = 160, height: int = 120) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the square in frame ``index`` of :func:`write_video`'s video."""
    scale = width / 160
    side = round(SQUARE * scale)
    x0 = round((12 + 3 * index) * scale)
    y0 = round(height / 2 - side / 2 + 10 * np.sin(index / 5) * scale)
    return x0, y0, x0 + side, y0 + side


def make_frames(n: int, width: int = 160, height: int = 120, seed: int = 0) -> list[np.ndarray]:
    """A red square moving right over a textured background (noise + stripes)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    stripes = (40 * np.sin(xx / 7.0) + 30 * np.cos(yy / 9.0)).astype(np.int16)
    base = np.stack([stripes + 110, stripes + 120, stripes + 100], axis=-1)
    background = np.clip(base + rng.integers(-25, 25, (height, width, 3)), 0, 255).astype(np.uint8)
    frames = []
    for i in range(n):
        frame = background.copy()
        x0, y0, x1, y1 = square_box(i, width, height)
        frame[y0:y1, x0:x1] = (230, 30, 30)
        frames.append(frame)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """Write frames as an H.264 mp4 with PyAV (good quality, so colours survive)."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "ultrafast"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """``make_video(n=24, width=160, height=120, name="clip.mp4") -> path``."""

    def make(n: int = 24, width: int = 160, height: int = 120, name: str = "clip.mp4") -> Path:
        return write_video(tmp_path / name, make_frames(n, width, height))

    return make


@pytest.fixture
def small_video(make_video: Callable[..., Path]) -> Path:
    """160×120, 24 frames, 10 fps."""
    return make_video()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path) -> Iterator[Path]:
    """Each test gets its own QSettings (INI files under tmp_path, a unique organisation name)."""
    folder = tmp_path / "qsettings"
    folder.mkdir()
    old_org, old_app = QCoreApplication.organizationName(), QCoreApplication.applicationName()
    old_format = QSettings.defaultFormat()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.SystemScope, str(folder / "system"))
    QCoreApplication.setOrganizationName(f"vos-test-{uuid.uuid4().hex[:8]}")
    QCoreApplication.setApplicationName("VOS Annotator tests")
    yield folder
    QCoreApplication.setOrganizationName(old_org)
    QCoreApplication.setApplicationName(old_app)
    QSettings.setDefaultFormat(old_format)


@pytest.fixture(autouse=True)
def no_dangling_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[QThread]]:
    """Fail a test that leaves a QThread (started from Python) or a global-pool task running."""
    started: list[QThread] = []
    original = QThread.start

    def start(self: QThread, *args: object) -> None:
        started.append(self)
        original(self, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield started
    running = []
    for thread in started:
        try:
            if thread.isRunning() and not thread.wait(GENEROUS_MS):
                running.append(thread.objectName() or repr(thread))
        except RuntimeError:  # the C++ object is gone: it was cleaned up
            continue
    pool_idle = QThreadPool.globalInstance().waitForDone(GENEROUS_MS)
    assert not running, f"QThreads left running: {running}"
    assert pool_idle, "tasks left running on the global QThreadPool"


@pytest.fixture(autouse=True)
def generous_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``qtbot`` wait for a signal, a callback or a condition gets at least ``GENEROUS_MS``
    (``assertNotEmitted`` and ``qtbot.wait``, which check that nothing happens, are left alone)."""
    from pytestqt.qtbot import QtBot

    def floored(original: Callable[..., object]) -> Callable[..., object]:
        def wait(self: QtBot, *args: object, timeout: int | None = 5000, **kwargs: object) -> object:
            # raising=False waits are checks that nothing comes (assertNotEmitted waits through
            # waitSignal(..., raising=False)): they last their whole timeout, so it stays as asked
            if timeout is not None and 0 <= timeout < GENEROUS_MS and kwargs.get("raising") is not False:
                timeout = GENEROUS_MS
            return original(self, *args, timeout=timeout, **kwargs)

        return wait

    for name in ("waitSignal", "waitSignals", "waitUntil", "waitCallback"):
        monkeypatch.setattr(QtBot, name, floored(getattr(QtBot, name)))


@pytest.fixture(autouse=True)
def engines_stopped(
    no_dangling_threads: list[QThread], monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[object]]:
    """Stop and join every ``EngineClient`` the test made that still runs at its end (before the
    dangling-thread check); one that will not stop is kept alive and fails the test."""
    from app.workers.engine_client import EngineClient

    made: list[EngineClient] = []
    original = EngineClient.__init__

    def init(self: EngineClient, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(EngineClient, "__init__", init)
    yield made  # type: ignore[misc]
    stuck = []
    for engine in made:
        try:
            stopped = engine.shutdown(GENEROUS_MS)
        except RuntimeError:  # its C++ side is gone: it was shut down and deleted
            continue
        if not stopped:
            _UNSTOPPED.append(engine)
            stuck.append(engine)
    assert not stuck, f"{len(stuck)} engine thread(s) did not stop within {GENEROUS_MS} ms"


@pytest.fixture
def stroke(qtbot: object) -> Callable[..., None]:
    """``stroke(view, [(x, y), ...])``: press at the first scene point, move through the others and
    release at the last, with real mouse events on the view's viewport."""
    from PySide6.QtCore import QPointF, Qt

    def run(
        view: object, points: list[tuple[float, float]], button: Qt.MouseButton = Qt.MouseButton.LeftButton
    ) -> None:
        viewport = view.viewport()  # type: ignore[attr-defined]
        positions = [view.mapFromScene(QPointF(x, y)) for x, y in points]  # type: ignore[attr-defined]
        qtbot.mousePress(viewport, button, pos=positions[0])  # type: ignore[attr-defined]
        for pos in positions[1:]:
            qtbot.mouseMove(viewport, pos)  # type: ignore[attr-defined]
        qtbot.mouseRelease(viewport, button, pos=positions[-1])  # type: ignore[attr-defined]

    return run


@pytest.fixture
def square() -> Callable[..., tuple[int, int, int, int]]:
    """``square(index, width=160, height=120)``: the moving square's box in a generated video."""
    return square_box


@pytest.fixture
def window(qtbot: object) -> Iterator[object]:
    """The real main window (``MainWindow``), shown at 1280×800; closed after the test."""
    from app.main_window import MainWindow

    # the engine's refits stay short in tests: a small step count, through the settings (same code)
    QSettings().setValue("settings/adapt_steps", TEST_ADAPT_STEPS)
    win = MainWindow()
    qtbot.addWidget(win)  # type: ignore[attr-defined]
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)  # type: ignore[attr-defined]
    yield win
    win.close()
