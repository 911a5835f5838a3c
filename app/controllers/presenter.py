"""Presents the open :class:`Document` in the window's widgets: the frame on the canvas, timeline
marks, the objects, memory and plot panels and the status bar, and follows propagation."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from app.controllers.session_controller import SessionController
from app.controllers.settings import AppSettings
from app.model.document import Document
from app.views.canvas import MaskCanvas
from app.views.memory_panel import MemoryPanel
from app.views.objects_panel import ObjectsPanel
from app.views.plot_panel import PlotPanel
from app.views.status_panel import StatusPanel
from app.views.timeline import Timeline
from vos_core import MemoryStats

REFRESH_MS = 150  # marks and plots are redrawn at most this often while results stream in


class DocumentPresenter(QObject):
    follow_changed = Signal(bool)
    #: (the frame on screen has a mask, it is a reference): for the "Use as reference" action
    reference_state_changed = Signal(bool, bool)

    def __init__(
        self,
        controller: SessionController,
        canvas: MaskCanvas,
        timeline: Timeline,
        objects: ObjectsPanel,
        memory: MemoryPanel,
        plot: PlotPanel,
        status: StatusPanel,
        settings: AppSettings,
    ) -> None:
        super().__init__(controller)
        self.controller = controller
        self.canvas, self.timeline, self.objects, self.memory, self.plot, self.status = (
            canvas, timeline, objects, memory, plot, status,
        )  # fmt: skip
        self.settings = settings
        self.document: Document | None = None
        self.follow = settings.follow
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self.refresh_marks)
        controller.document_changed.connect(self.set_document)
        controller.result_received.connect(self._on_result)
        timeline.frame_requested.connect(lambda frame: self.go_to(frame, user=True))
        plot.frame_clicked.connect(lambda frame: self.go_to(frame, user=True))
        timeline.slider.reference_toggled.connect(controller.set_use_as_reference)
        memory.frame_activated.connect(lambda frame: self.go_to(frame, user=True))
        objects.active_changed.connect(self._on_active_object)
        self.apply_settings(settings)

    # ------------------------------------------------------------------ settings
    def apply_settings(self, settings: AppSettings) -> None:
        self.settings = settings
        self.canvas.set_overlay(settings.overlay_mode, settings.overlay_opacity)
        self.plot.set_threshold(settings.low_confidence)
        self.refresh_marks()

    def set_follow(self, follow: bool) -> None:
        if follow != self.follow:
            self.follow = follow
            self.follow_changed.emit(follow)

    # ------------------------------------------------------------------ document
    def set_document(self, document: Document | None) -> None:
        self.document = document
        self.objects.set_model(None if document is None else document.objects)
        if document is None:
            self.canvas.clear()
            self.timeline.set_count(0)
            self.plot.set_count(0)
            self.memory.set_frame_reader(None)
            self.status.set_frame(0, 0)
            self.status.set_memory(None)
            self.status.set_model(None)
            self.status.set_device(None)
            self.reference_state_changed.emit(False, False)
            return
        document.current_changed.connect(self.show_frame)
        document.masks.changed.connect(self._on_mask_changed)
        document.objects.objects_changed.connect(self._on_objects_changed)
        document.confidence_changed.connect(lambda _frame: self._refresh.start())
        document.memory_changed.connect(self._on_memory)
        document.references_changed.connect(self._on_references_changed)
        self.timeline.set_count(document.frame_count, document.fps)
        self.plot.set_count(document.frame_count)
        self.memory.set_frame_reader(document.frame)
        self.status.set_model(self.settings.arch, "loading…")
        self._on_objects_changed()
        self._on_memory(document.memory_stats)
        self.show_frame(document.current_frame)
        self.refresh_marks()

    def go_to(self, frame: int, user: bool = True) -> None:
        """Show ``frame``. Navigating by hand during a run stops following the propagation."""
        document = self.document
        if document is None:
            return
        if user and self.controller.running and self.follow:
            self.set_follow(False)
        frame = max(0, min(document.frame_count - 1, int(frame)))
        if frame == document.current_frame:
            self.show_frame(frame)
        else:
            document.set_current_frame(frame)  # current_changed -> show_frame

    def step(self, delta: int) -> None:
        if self.document is not None:
            self.go_to(self.document.current_frame + delta)

    def show_frame(self, frame: int) -> None:
        document = self.document
        if document is None:
            return
        self.canvas.set_frame(frame, document.frame(frame), document.masks.get(frame))
        self.timeline.set_frame(frame)
        self.plot.set_current(frame)
        self.status.set_frame(frame, document.frame_count)
        self.memory.set_contributions(self.controller.contributions.get(frame))
        self._emit_reference_state()

    def _emit_reference_state(self) -> None:
        document = self.document
        if document is None:
            self.reference_state_changed.emit(False, False)
            return
        frame = document.current_frame  # any mask can be used as a reference (a prediction too)
        self.reference_state_changed.emit(document.masks.has_mask(frame), document.is_reference(frame))

    def _on_references_changed(self, frame: int) -> None:
        document = self.document
        if document is not None and frame == document.current_frame:
            self._emit_reference_state()
        self.refresh_marks()

    # ------------------------------------------------------------------ updates
    def _on_mask_changed(self, frame: int) -> None:
        document = self.document
        if document is not None and frame == document.current_frame:
            self.canvas.set_labels(document.masks.get(frame))
            self._emit_reference_state()
        if not self._refresh.isActive():
            self._refresh.start()

    def _on_objects_changed(self) -> None:
        document = self.document
        if document is None:
            return
        self.canvas.set_objects(document.objects.colour_table(), set(document.objects.visible_ids()))
        self._on_active_object(self.objects.active_object)

    def _on_active_object(self, object_id: int) -> None:
        document = self.document
        info = None if document is None else document.objects.get(object_id)
        if object_id:
            self.canvas.set_active_object(object_id)
        self.status.set_object(info.name if info is not None else None)

    def _on_memory(self, stats: MemoryStats | None) -> None:
        self.memory.set_stats(stats)
        if stats is None:
            self.status.set_memory(None)
        else:
            self.status.set_memory(stats.total_bytes, len(stats.entries))

    def _on_result(self, frame: int) -> None:
        document = self.document
        if document is None:
            return
        if self.follow and self.controller.running and not self.canvas.editing:
            self.go_to(frame, user=False)
        elif frame == document.current_frame:
            self.memory.set_contributions(self.controller.contributions.get(frame))
        if not self._refresh.isActive():
            self._refresh.start()

    def refresh_marks(self) -> None:
        document = self.document
        if document is None:
            return
        threshold = self.settings.low_confidence
        confidence = document.confidence
        low = [f for f, c in confidence.items() if c < threshold]
        self.timeline.set_marks(
            document.masks.annotated_frames(),
            document.masks.propagated_frames(),
            low,
            references=document.reference_frames(),
            reviewed=document.reviewed_only(),
        )
        self.plot.set_confidence(confidence)
        self.plot.set_memory(document.memory_mb)
