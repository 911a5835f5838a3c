"""What the engine thread tells the GUI: the :class:`EngineSignals` it emits on (an object living in
the GUI thread, so connected slots run there) and :func:`describe_error`, the one-line message of
every failure it reports with ``failed``."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from vos_core import VosError


def describe_error(error: BaseException) -> str:
    """A one-line, user-facing message for an exception raised by the engine."""
    if isinstance(error, VosError):  # may quote a multi-line library message (e.g. torch.load)
        return " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, MemoryError):
        return "The engine ran out of memory: lower the processing height or close other programs"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"Engine error ({type(error).__name__}){': ' + text if text else ''}"


class EngineSignals(QObject):
    """The engine's signals, declared once. The object lives in the GUI thread; the engine thread
    emits on it, so every connected slot or function runs in the GUI thread."""

    ready = Signal(str)  # architecture name, after a session was built or reconfigured
    device_ready = Signal(str)  # the device that session runs on ("CPU", "CUDA (<GPU>)"), just before
    frame_ready = Signal(object)  # FrameResult
    progress = Signal(int, int, float, float)  # done, total, frames/s, eta seconds
    memory_changed = Signal(object)  # MemoryStats
    run_started = Signal(int, int, str)  # start, end, direction
    adapting = Signal(int)  # a run learns from this many references first (seconds), then frames follow
    learning = Signal(int, int, float)  # that refit's optimiser steps done, total, seconds left
    refused = Signal(str)  # a command that cannot run now (the engine is learning): dropped, not queued
    run_summary = Signal(str, object)  # what ran, its seconds; the frames it changed (before run_finished)
    run_finished = Signal(bool)  # True when the run reached its end frame
    failed = Signal(str)
    busy_changed = Signal(bool)
    paused_changed = Signal(bool)
