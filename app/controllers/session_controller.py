"""Glue between the open :class:`Document` and the engine: opening and closing videos, propagation
commands, memory commands, and the contribution of each memory entry to each processed frame (for
the memory panel). The per-frame memory size for the plot is the document's (a run's undo reverts
it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.controllers.settings import AppSettings
from app.model.document import Document
from app.workers.engine_client import EngineClient
from vos_core import EntryInfo, FrameResult, VosError

EngineFactory = Callable[[], EngineClient]


class SessionController(QObject):
    document_changed = Signal(object)  # Document | None
    error = Signal(str, str)  # title, user-facing message
    info = Signal(str)  # status-bar message
    result_received = Signal(int)  # frame index of an engine result (after the document applied it)
    running_changed = Signal(bool)
    engine_started = Signal(object)  # the EngineClient, once created: connect to its own signals
    frames_changed = Signal(object)  # list[int]: the frames the last run changed (after it ended)

    def __init__(
        self,
        settings: AppSettings,
        engine_factory: EngineFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.document: Document | None = None
        self._engine_factory = engine_factory or (lambda: EngineClient(settings.session_config()))
        self._engine: EngineClient | None = None
        self.contributions: dict[int, dict[int, float]] = {}
        self.running = False
        self.attached = False  # the document receives the engine's results
        self._result_connected = False
        self._summary: tuple[str, list[int]] | None = None  # of the run that is ending

    # ------------------------------------------------------------------ engine
    @property
    def engine(self) -> EngineClient:
        """The engine client, started on first use."""
        if self._engine is None:
            engine = self._engine_factory()
            engine.ready.connect(self._on_engine_ready)
            engine.failed.connect(lambda message: self.error.emit("Engine error", message))
            engine.run_started.connect(self._on_run_started)
            engine.run_summary.connect(self._on_run_summary)
            engine.run_finished.connect(self._on_run_finished)
            self._engine = engine
            self.engine_started.emit(engine)
        return self._engine

    @property
    def has_engine(self) -> bool:
        return self._engine is not None

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop the engine thread and close the document (masks are flushed)."""
        ok = True
        if self._engine is not None:
            ok = self._engine.shutdown(timeout_ms)
            if ok:
                self._engine = None
                self._result_connected = False
        self.close_document()
        return ok

    def apply_settings(self, settings: AppSettings) -> None:
        """Use new settings. Engine settings go to the running session, which applies them in
        place (keeping its memory) or, when it cannot (another model, processing height), is
        rebuilt from the annotations."""
        engine_changed = settings.session_config() != self.settings.session_config()
        self.settings = settings
        if engine_changed and self._engine is not None and self.document is not None:
            self.engine.configure(settings.session_config())
            self.document.restore_pins()  # a rebuilt session has no mask of a pinned prediction
            self.document.set_settings(settings.session_config())
            self.info.emit("Engine settings changed")

    # ------------------------------------------------------------------ documents
    def open(self, path: str | Path, project_dir: str | Path | None = None) -> bool:
        """Open a video or frame folder (closing the current one). Errors are reported, not raised."""
        try:
            document = Document.open(path, project_dir)
        except VosError as error:
            self.error.emit("Cannot open", str(error))
            return False
        except OSError as error:
            self.error.emit("Cannot open", f"{path}: {error.strerror or error}")
            return False
        self.close_document()
        if len(document.objects) == 0:
            document.objects.add()
        self.document = document
        self.contributions.clear()
        # The document is attached when the engine reports the new video ready: results of the
        # previous video still queued by then arrive before that, and go nowhere.
        self.attached = False
        self.engine.open_video(
            str(document.video_path), self.settings.session_config(), document.project.adaptation_dir
        )
        self.document_changed.emit(document)
        problems = document.project.problems  # e.g. corrupt masks set aside, a read-only folder
        if problems:
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            self.error.emit("Opened with problems", f"{problems[0]}{more}")
        return True

    def _on_engine_ready(self, _arch: str) -> None:
        document, engine = self.document, self._engine
        if document is None or engine is None or self.attached:
            return
        document.attach_engine(engine)
        # after the document's own connection, so results are in the mask store when we see them
        if self._result_connected:
            engine.frame_ready.disconnect(self._on_result)
        engine.frame_ready.connect(self._on_result)
        self._result_connected = True
        self.attached = True

    def _ready(self) -> bool:
        """True when the engine has the open video; otherwise says why not."""
        if self.document is not None and not self.attached:
            self.info.emit("The engine is still loading the video (or failed to: see the error)")
        return self.document is not None and self.attached

    def close_document(self) -> None:
        document, self.document = self.document, None
        if document is None:
            return
        if self._engine is not None:
            self._engine.stop()
        self.attached = False
        document.close()
        document.deleteLater()
        self.contributions.clear()
        self.document_changed.emit(None)

    # ------------------------------------------------------------------ propagation
    def propagate(self, start: int, end: int) -> bool:
        """Propagate the mask of ``start`` to ``end`` (either direction). A user mask on ``start`` is
        already a reference (a permanent entry) unless marked otherwise; then it is the seed."""
        document = self.document
        if document is None or not self._ready():
            return False
        if start == end:
            self.info.emit("Nothing to propagate: the range is a single frame")
            return False
        if document.masks.get(start) is None:
            self.error.emit(
                "Nothing to propagate",
                f"Frame {start} has no mask. Paint or box the object on this frame first.",
            )
            return False
        direction = "forward" if end > start else "backward"
        return document.propagate(start, end, direction)

    def update_around(self, frame: int) -> bool:
        """After a correction on ``frame`` (a reference): re-propagate both sides of it up to the
        neighbouring references (or the ends), fused with the masks there and stopping early where
        they no longer change. The status bar then says what ran and how long it took."""
        document = self.document
        if document is None or not self._ready():
            return False
        if not document.is_reference(frame):
            self.error.emit(
                "Nothing to update around",
                f"Frame {frame} is not a reference. Correct it first (brush, box or clicks): "
                "then the frames around it are updated from it.",
            )
            return False
        self.engine.update_around(frame)
        return True

    def worst_frame(self) -> int | None:
        """The frame the quality estimate ranks worst among those not corrected yet (predicted
        frames, no mask of yours); None when there is none."""
        document = self.document
        if document is None:
            return None
        corrected = set(document.masks.annotated_frames())
        candidates = {f: q for f, q in document.confidence.items() if f not in corrected}
        return min(candidates, key=lambda f: (candidates[f], f)) if candidates else None

    def next_annotated(self, frame: int) -> int:
        """The next user-annotated frame after ``frame``, else the last frame."""
        document = self.document
        if document is None:
            return frame
        later = [f for f in document.masks.annotated_frames() if f > frame]
        return min(later) if later else document.frame_count - 1

    def pause(self, paused: bool) -> None:
        if self._engine is not None:
            if paused:
                self._engine.pause()
            else:
                self._engine.resume()

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.stop()

    # ------------------------------------------------------------------ memory
    def set_use_as_reference(self, frame: int, use: bool) -> None:
        """Use the user mask of ``frame`` as a reference (a permanent memory entry) or not."""
        document = self.document
        if document is None:
            return
        document.set_use_as_reference(frame, use)
        if document.masks.source(frame) == "user":
            what = "a reference" if use else "not a reference (kept out of memory)"
            self.info.emit(f"Frame {frame} is {what}")

    def reseed(self, frame: int) -> bool:
        """Reset memory to the references and propagate from ``frame`` (one undo step, then the run)."""
        document = self.document
        if document is None or not self._ready():
            return False
        if document.masks.get(frame) is None:
            self.error.emit("Nothing to reseed from", f"Frame {frame} has no mask.")
            return False
        message = document.reseed(frame)
        if message is None:
            self.info.emit("Nothing to reseed: the video has one frame")
            return False
        self.info.emit(message)
        return True

    def reset_memory(self, keep_permanent: bool) -> None:
        if self.document is not None and self._ready():
            self.info.emit(self.document.reset_memory(keep_permanent))

    def _entry(self, entry_id: int) -> EntryInfo | None:
        stats = self.document.memory_stats if self.document is not None else None
        return next((e for e in stats.entries if e.id == entry_id), None) if stats is not None else None

    def pin(self, entry_id: int, pinned: bool) -> None:
        """Pin (or unpin) the frame of a memory entry (one undo step)."""
        entry = self._entry(entry_id)
        if entry is not None and self.document is not None:
            self.info.emit(self.document.set_pinned(entry.frame, pinned))

    def evict(self, entry_id: int) -> None:
        """Evict a memory entry (one undo step); a reference becomes an ordinary frame, and says so."""
        entry = self._entry(entry_id)
        if entry is not None and self.document is not None:
            self.info.emit(self.document.evict(entry.frame, entry.kind))

    def mark_reviewed(self, frame: int) -> None:
        if self.document is not None:
            self.info.emit(self.document.mark_reviewed(frame))

    # ------------------------------------------------------------------ engine events
    def _on_result(self, result: FrameResult) -> None:
        if self.document is None:
            return
        index = int(result.index)
        if not result.given:
            self.contributions[index] = {e.id: e.contribution for e in result.memory.entries}
        self.result_received.emit(index)

    def _on_run_started(self, start: int, end: int, direction: str) -> None:
        self.running = True
        self.running_changed.emit(True)

    def _on_run_summary(self, text: str, changed: object) -> None:
        self._summary = (text, list(changed))  # type: ignore[call-overload]

    def _on_run_finished(self, completed: bool) -> None:
        self.running = False
        self.running_changed.emit(False)
        summary, self._summary = self._summary, None
        if summary is None:
            self.info.emit("Propagation finished" if completed else "Propagation stopped")
            return
        self.info.emit(summary[0])
        self.frames_changed.emit(summary[1])
