"""Application entry point: ``vos-annotator [VIDEO_OR_FOLDER] [--project DIR]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.resources import APP_NAME, APP_VERSION, ORG_NAME, icon


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vos-annotator", description="Annotate objects in videos.")
    parser.add_argument(
        "path", nargs="?", help="a video file (mp4, mkv, avi, mov, webm) or a folder of frames"
    )
    parser.add_argument("--project", metavar="DIR", help="project folder (default: next to the video)")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.project and not args.path:
        print("--project needs a video or frame folder", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(APP_VERSION)
    app.setWindowIcon(icon("app"))
    from app.main_window import MainWindow  # after the QApplication exists (icons, fonts)

    window = MainWindow()
    window.show()
    if args.path:
        QTimer.singleShot(0, lambda: window.open_path(args.path, args.project))
    signal.signal(signal.SIGINT, lambda *_: window.close())
    keep_python_alive = QTimer()  # lets Python handle Ctrl+C while Qt runs
    keep_python_alive.timeout.connect(lambda: None)
    keep_python_alive.start(250)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
