"""Work-around for a reference-counting bug of the pinned Qt binding (PySide6 6.12 on CPython 3.11).

``SignalInstance.emit()`` and ``SignalInstance.disconnect()`` return ``True`` without taking a
reference to it, so every call from Python drops one reference to ``True``. Before CPython 3.12
made ``True`` immortal, the count reaches zero after some thousands of calls and the interpreter
aborts ("Fatal Python error: bool_dealloc"): the app died after a few thousand propagated frames.

:func:`install` (run when :mod:`app` is imported) measures whether the binding has the bug and, only
then, wraps the two methods to give the reference back. It is a no-op on a fixed binding.

The same binding also returns ``None`` from its ``void`` methods (``QTimer.stop()``,
``QObject.deleteLater()``, ``QUndoStack.push()``, ... hundreds of them) without taking a reference:
every such call drops one reference to ``None``. A long session (runs, pause/resume, undo/redo)
makes enough calls to bring ``None``'s count to zero, and the interpreter aborts ("Fatal Python
error: none_dealloc"), usually in the garbage collection of finalisation, when the last references
go. Wrapping every void method is not practical, so when a probe shows the leak, :func:`install`
gives ``None`` a reserve of references large enough never to run out, which is what CPython 3.12
does for every build (immortal ``None``).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBE_CALLS = 64
_NONE_RESERVE = 1 << 40  # references: a million void calls a second would last 12 days
_installed: list[str] = []


class _Probe(QObject):
    signal = Signal()


def _incref() -> Callable[[object], None]:
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None
    return incref


def _dropped(call: Callable[[], object]) -> int:
    """How many references to ``True`` ``_PROBE_CALLS`` calls of ``call()`` lost."""
    before = sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        call()
    return max(0, before - sys.getrefcount(True))


def _give_back(method: Callable[..., Any]) -> Callable[..., Any]:
    incref = _incref()

    def fixed(self: SignalInstance, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        if result is True or result is False:
            incref(result)
        return result

    fixed.__name__ = method.__name__
    fixed.__doc__ = method.__doc__
    return fixed


def _none_dropped() -> int:
    """How many references to ``None`` ``_PROBE_CALLS`` calls of a void binding method lost."""
    probe = _Probe()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")  # a void method
    return max(0, before - sys.getrefcount(None))


def _reserve_none() -> None:
    """Add ``_NONE_RESERVE`` references to ``None`` (its count is the object's first field)."""
    count = ctypes.c_ssize_t.from_address(id(None))
    count.value += _NONE_RESERVE


def install() -> list[str]:
    """Patch the ``SignalInstance`` methods that drop a reference; returns their names."""
    if _installed or sys.version_info >= (3, 12):  # immortal bools: the bug cannot crash
        return list(_installed)
    probe = _Probe()

    def slot() -> None:
        pass

    def reconnect() -> object:
        probe.signal.connect(slot)
        return probe.signal.disconnect(slot)

    lost_none = _none_dropped()
    if lost_none >= _PROBE_CALLS // 2:
        _reserve_none()
        _installed.append("none")
    checks: dict[str, Callable[[], object]] = {"emit": probe.signal.emit, "disconnect": reconnect}
    for name, call in checks.items():
        lost = _dropped(call)
        if lost >= _PROBE_CALLS // 2:
            setattr(SignalInstance, name, _give_back(getattr(SignalInstance, name)))
            _installed.append(name)
            for _ in range(lost):  # what the probe itself took
                _incref()(True)
    return list(_installed)
