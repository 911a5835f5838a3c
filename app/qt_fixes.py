"""Work-around for a reference-counting bug of the pinned Qt binding (PySide6 6.12 on CPython 3.11).

``SignalInstance.emit()`` and ``SignalInstance.disconnect()`` return ``True`` without taking a
reference to it, so every call from Python drops one reference to ``True``. Before CPython 3.12
made ``True`` immortal, the count reaches zero after some thousands of calls and the interpreter
aborts ("Fatal Python error: bool_dealloc"): the app died after a few thousand propagated frames.

:func:`install` (run when :mod:`app` is imported) measures whether the binding has the bug and, only
then, wraps the two methods to give the reference back. It is a no-op on a fixed binding.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBE_CALLS = 64
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

    checks: dict[str, Callable[[], object]] = {"emit": probe.signal.emit, "disconnect": reconnect}
    for name, call in checks.items():
        lost = _dropped(call)
        if lost >= _PROBE_CALLS // 2:
            setattr(SignalInstance, name, _give_back(getattr(SignalInstance, name)))
            _installed.append(name)
            for _ in range(lost):  # what the probe itself took
                _incref()(True)
    return list(_installed)
