"""Work-arounds for bugs of the Qt binding, in one place.

PySide6 6.12.0's `Signal.emit()` returns `True` without taking a reference to it: every emit made
from Python takes one reference away from the `True` singleton, and a process that emits long
enough (a tray polling the agent all day) dies with "Fatal Python error: bool_dealloc". `emit()`
here gives the reference back when the binding is found to need it (checked once, at import).
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance


class _Probe(QObject):
    ping = Signal()


def _emit_steals_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(4):
        probe.ping.emit()
    after = sys.getrefcount(True)
    if after < before:
        for _ in range(before - after):  # repair what the probe took
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
        return True
    return False


EMIT_STEALS = _emit_steals_a_reference()


def emit(signal: SignalInstance, *args: Any) -> None:
    """signal.emit(*args), without the binding's reference-count bug."""
    result = signal.emit(*args)
    if EMIT_STEALS and isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
