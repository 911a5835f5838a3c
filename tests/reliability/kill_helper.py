"""Child process for the SIGKILL tests: works on a project and reports progress on stdout.

    python kill_helper.py propagate VIDEO    engine results -> mask store; "saved <frame>" once on disk
    python kill_helper.py export VIDEO OUT   DAVIS export; "exported <n>" after each frame
    python kill_helper.py autosave VIDEO     rounds of user edits, autosaved by the store's timer;
                                             "saved <round>" once a whole round is on disk

Every mode prints "ready" first and never ends by itself (the test kills it). Offscreen, no window.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QCoreApplication  # noqa: E402

from app.model.document import Document  # noqa: E402
from tests.reliability.corpus import first_mask  # noqa: E402


def say(text: str) -> None:
    print(text, flush=True)


def wait_for(app: QCoreApplication, condition: Callable[[], bool], timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            say("timeout")
            sys.exit(3)
        app.processEvents()
        time.sleep(0.002)


def round_labels(round_: int, frame: int, hw: tuple[int, int]) -> np.ndarray:
    """The user mask of ``frame`` in edit round ``round_`` (unique per round and frame, ids 1..3)."""
    height, width = hw
    labels = np.zeros(hw, np.uint8)
    labels[(round_ + frame) % height, :] = 1 + round_ % 3
    labels[:, (7 * round_ + frame) % width] = 1 + (round_ + 1) % 3
    labels[: 1 + frame % 4, : 1 + round_ % 5] = 3
    return labels


def idle_forever(app: QCoreApplication) -> None:
    say("finished")
    while True:
        app.processEvents()
        time.sleep(0.05)


def propagate(app: QCoreApplication, video: Path) -> None:
    from app.workers.engine_client import EngineClient
    from vos_core.config import SessionConfig

    document = Document.open(video, autosave_ms=20)
    document.add_object("square")
    document.edit_mask(0, first_mask(document.size))
    assert document.save()
    engine = EngineClient(SessionConfig(threads=1))
    document.attach_engine(engine)
    ready: list[str] = []
    engine.ready.connect(ready.append)
    engine.failed.connect(lambda message: say(f"failed {message}"))
    engine.open_video(str(video))
    wait_for(app, lambda: bool(ready))

    def on_result(result: object) -> None:  # connected after the document: the mask is in the store
        index = int(result.index)  # type: ignore[attr-defined]
        if document.save():
            say(f"saved {index}")

    engine.frame_ready.connect(on_result)
    finished: list[bool] = []
    engine.run_finished.connect(finished.append)
    say("ready")
    document.propagate(0, document.frame_count - 1)
    wait_for(app, lambda: bool(finished), timeout_s=600)
    idle_forever(app)


def export(app: QCoreApplication, video: Path, out: Path) -> None:
    from app.workers.export import ExportWorker, export_job_for

    document = Document.open(video)
    document.add_object("square")
    document.add_object("band")
    for frame in range(document.frame_count):
        document.masks.set(frame, round_labels(1, frame, document.size), "propagated")
    assert document.save()
    worker = ExportWorker(export_job_for(document, out, per_object=True, overlay_video=True))
    worker.progress.connect(lambda done, _total: say(f"exported {done}"))
    say("ready")
    worker.run()  # synchronous: progress is printed from this thread
    say(f"error {worker.error}" if worker.error else "done")
    idle_forever(app)


def autosave(app: QCoreApplication, video: Path) -> None:
    document = Document.open(video, autosave_ms=20)
    for name in ("a", "b", "c"):
        document.add_object(name)
    say("ready")
    round_ = 0
    while True:
        round_ += 1
        for frame in range(document.frame_count):
            document.edit_mask(frame, round_labels(round_, frame, document.size), f"round {round_}")
            app.processEvents()  # the autosave timer fires in the middle of a round too
        document.rename_object(1, f"round {round_}")
        wait_for(app, lambda: document.masks.all_saved)  # by the autosave timer, no flush()
        say(f"saved {round_}")


def main(argv: list[str]) -> None:
    app = QCoreApplication(sys.argv[:1])
    mode, video = argv[0], Path(argv[1])
    if mode == "propagate":
        propagate(app, video)
    elif mode == "export":
        export(app, video, Path(argv[2]))
    elif mode == "autosave":
        autosave(app, video)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
