"""Drive the main window offscreen on a generated 854×480 video and save screenshots.

    QT_QPA_PLATFORM=offscreen python bench/screenshots.py [--out screenshots]

Writes 01_empty.png, 02_propagating.png, 03_masks.png, 04_memory_panel.png, 05_contours.png and
06_side_by_side.png. Settings and the project live in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

WIDTH, HEIGHT, FRAMES = 854, 480, 30
WINDOW = (1440, 900)


def disc(index: int) -> tuple[int, int, int]:
    """Centre x, centre y and radius of the red ball in frame ``index``."""
    return 160 + 12 * index, 300 - round(90 * np.sin(index / 9)), 52


def card(index: int) -> tuple[int, int, int, int]:
    """Box of the blue card in frame ``index``."""
    x0 = 620 - 6 * index
    return x0, 120, x0 + 110, 250


def make_video(path: Path) -> Path:
    """A ball and a card moving over a textured floor, as H.264."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    floor = 120 + 35 * np.sin(xx / 23.0) * np.cos(yy / 31.0) + 20 * (yy / HEIGHT)
    base = np.stack([floor + 10, floor + 5, floor - 15], axis=-1)
    background = np.clip(base + rng.normal(0, 9, base.shape), 0, 255).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for i in range(FRAMES):
            frame = background.copy()
            x0, y0, x1, y1 = card(i)
            frame[y0:y1, x0:x1] = (40, 90, 200)
            frame[y0 + 20 : y0 + 40, x0 + 15 : x1 - 15] = (230, 230, 240)
            cx, cy, r = disc(i)
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            shade = np.clip(1.1 - ((xx - cx + 15) ** 2 + (yy - cy + 15) ** 2) / (2.2 * r * r), 0.55, 1.1)
            frame[inside] = (np.array([220, 40, 35]) * shade[inside, None]).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def first_mask() -> np.ndarray:
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    labels = np.zeros((HEIGHT, WIDTH), np.uint8)
    cx, cy, r = disc(0)
    labels[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 1
    x0, y0, x1, y1 = card(0)
    labels[y0:y1, x0:x1] = 2
    return labels


def wait(app: QApplication, condition: Callable[[], bool], timeout: float = 300.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not condition():
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    return condition()


def settle(app: QApplication, seconds: float = 0.4) -> None:
    wait(app, lambda: False, seconds)


def save(widget: QWidget, out: Path, name: str) -> None:
    path = out / name
    widget.grab().save(str(path))
    print(f"wrote {path} ({widget.width()}×{widget.height()})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"), help="output folder")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vos-screens-"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    QCoreApplication.setOrganizationName("VosAnnotatorScreenshots")
    QCoreApplication.setApplicationName("VOS Annotator")
    from app.main_window import MainWindow

    window = MainWindow()
    window.resize(*WINDOW)
    window.show()
    settle(app)
    save(window, out, "01_empty.png")

    video = make_video(work / "ball_and_card.mp4")
    if not window.open_path(video):
        print("could not open the video:", window.errors)
        return 1
    document = window.document
    assert document is not None
    wait(app, lambda: window.controller.attached, 120)
    document.add_object("Card")
    document.rename_object(1, "Ball")
    document.recolour_object(1, "#ffc400")
    document.edit_mask(0, first_mask(), "Paint")
    window.objects_panel.select_row(0)
    settle(app)
    progress: list[int] = []
    window.controller.engine.progress.connect(lambda done, *_: progress.append(done))
    window.actions.propagate_forward.trigger()
    wait(app, lambda: len(progress) >= 8)
    settle(app, 0.3)
    save(window, out, "02_propagating.png")
    wait(app, lambda: not window.controller.running)

    window.presenter.go_to(22)
    panel = window.memory_panel
    document.edit_mask(22, document.masks.get(22), "Correct")  # frame 22 becomes a reference
    window.actions.propagate_forward.trigger()  # the run writes it as a permanent entry
    wait(app, lambda: not window.controller.running)
    wait(app, lambda: any(e.frame == 22 and e.kind.value == "permanent" for e in panel.model.entries), 60)
    working = [e for e in panel.model.entries if e.kind.value == "working"]
    if working:  # pin one entry through the panel, as a user would
        panel.select_entry(working[0].id)
        panel.pin_button.click()
        wait(app, lambda: any(e.pinned for e in panel.model.entries), 30)
    settle(app, 1.0)
    save(window, out, "03_masks.png")
    save(window.memory_dock, out, "04_memory_panel.png")

    window.actions.overlays[list(window.actions.overlays)[1]].trigger()  # contour only
    settle(app)
    save(window, out, "05_contours.png")
    window.actions.overlays[list(window.actions.overlays)[3]].trigger()  # side by side
    settle(app)
    save(window, out, "06_side_by_side.png")
    window.close()
    if window.errors:
        print("errors shown:", window.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
