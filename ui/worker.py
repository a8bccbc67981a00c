"""Work off the GUI thread: every call to the agent runs on a QThreadPool thread and its result (or
error) comes back to the GUI thread by a queued signal, so no window ever waits for the network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from ui.qtcompat import emit

MAX_THREADS = 3  # a status poll, a window's load and an appeal at once; more would only use memory


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self.fn = fn
        self.signals = signals
        self.setAutoDelete(True)

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # handed to the GUI thread, which shows it
            emit(self.signals.failed, exc)
        else:
            emit(self.signals.done, result)


class Runner(QObject):
    """submit(fn, on_done, on_error): fn runs on a worker thread; the callbacks on the GUI thread."""

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(MAX_THREADS)
            pool.setExpiryTimeout(30000)  # idle threads go away: an idle tray keeps none
        self.pool = pool
        self._live: set[_Signals] = set()  # keeps each task's signals alive until it has answered

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        signals = _Signals()  # created here, so it lives in the GUI thread: its signals are queued to it
        self._live.add(signals)

        def finish(callback: Callable[[Any], None] | None, value: Any) -> None:
            self._live.discard(signals)
            if callback is not None:
                callback(value)

        signals.done.connect(lambda value: finish(on_done, value))
        signals.failed.connect(lambda exc: finish(on_error, exc))
        self.pool.start(_Task(fn, signals))

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)
