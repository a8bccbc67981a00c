"""The tray icon, its menu, the notifications, and the windows opened from it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from companion import __version__
from companion.config import Paths
from ui.agent_link import ATTENTION, OFFLINE, OK, STATES, STOPPED, AgentLink, high_risk_findings
from ui.i18n import explanation, tr, tr_or, translator
from ui.qtcompat import emit

if TYPE_CHECKING:  # the windows are imported when first opened: an idle tray does not pay for them
    from ui.windows.about import AboutWindow
    from ui.windows.appeals import AppealsWindow
    from ui.windows.flags import FlagsWindow
    from ui.windows.settings import SettingsWindow
    from ui.windows.transparency import TransparencyWindow
    from ui.windows.widgets import Window

ICONS = Path(__file__).resolve().parent / "icons"


def icon(state: str) -> QIcon:
    return QIcon(str(ICONS / f"{state}.svg"))


class TrayApp(QObject):
    notified = Signal(str, str)  # every notification shown (title, text), wherever it was shown

    def __init__(
        self, paths: Paths, *, autostart: bool = True, poll_ms: int = 3000, use_tray: bool | None = None
    ) -> None:
        super().__init__()
        self.link = AgentLink(paths, autostart=autostart, poll_ms=poll_ms, parent=self)
        self.icons = {s: icon(s) for s in STATES}
        self.windows: dict[str, Window] = {}
        self.notices: list[tuple[str, str]] = []
        self.language_from_agent = True  # until the user picks one, follow what the agent remembers
        if use_tray is None:
            use_tray = QSystemTrayIcon.isSystemTrayAvailable()
        self.menu = QMenu()
        self.actions: dict[str, QAction] = {}
        for name, slot in [
            ("flags", self.show_flags),
            ("appeals", self.show_appeals),
            ("transparency", self.show_transparency),
            (None, None),
            ("settings", self.show_settings),
            ("about", self.show_about),
            (None, None),
            ("start", self.link.start_agent),
            ("quit", self.quit),
        ]:
            if name is None:
                self.menu.addSeparator()
                continue
            action = self.menu.addAction("")
            action.triggered.connect(slot)
            self.actions[name] = action
        self.tray: QSystemTrayIcon | None = None
        if use_tray:
            self.tray = QSystemTrayIcon(self.icons[STOPPED])
            self.tray.setContextMenu(self.menu)
            self.tray.activated.connect(self._activated)
            self.tray.messageClicked.connect(self.show_flags)
            self.tray.show()
        self.state = ""
        self.link.stateChanged.connect(self._state)
        self.link.statusChanged.connect(self._status)
        self.link.highRiskReceived.connect(self._high_risk)
        self.link.appealDecided.connect(self._appeal_decided)
        translator().changed.connect(self._language_changed)
        self._state(STOPPED)
        self.retranslate()

    def start(self) -> None:
        self.link.start()

    # -- state -----------------------------------------------------------------------------------

    def tooltip(self) -> str:
        status = self.link.status or {}
        if self.state == ATTENTION:
            return tr("state.attention", n=(status.get("flags") or {}).get("new", 0))
        if self.state == OFFLINE:
            return tr("state.offline", n=(status.get("sync") or {}).get("queued", 0))
        return tr("state.ok" if self.state == OK else "state.stopped")

    def _state(self, state: str) -> None:
        self.state = state
        self.actions["start"].setVisible(state == STOPPED)
        if self.tray is not None:
            self.tray.setIcon(self.icons[state])
            self.tray.setToolTip(self.tooltip())
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setWindowIcon(self.icons[state])

    def _status(self, status: dict[str, Any] | None) -> None:
        if status is not None and self.language_from_agent and status.get("language"):
            translator().set_language(status["language"])
        if self.tray is not None:
            self.tray.setToolTip(self.tooltip())

    @Slot(str)
    def _language_changed(self, _lang: str) -> None:
        self.retranslate()

    def retranslate(self) -> None:
        for name, action in self.actions.items():
            action.setText(tr(f"menu.{name}"))
        if self.tray is not None:
            self.tray.setToolTip(self.tooltip())

    # -- notifications ---------------------------------------------------------------------------

    def notify(self, title: str, text: str, critical: bool = False) -> None:
        self.notices.append((title, text))
        if self.tray is not None and QSystemTrayIcon.supportsMessages():
            kind = (
                QSystemTrayIcon.MessageIcon.Critical if critical else QSystemTrayIcon.MessageIcon.Information
            )
            self.tray.showMessage(title, text, kind, 15000)
        else:
            from ui.windows.notices import NoticeWindow

            board = self._window("notices", lambda: NoticeWindow(self.link))
            assert isinstance(board, NoticeWindow)
            board.add(title, text)
            board.show()
            board.raise_()
        emit(self.notified, title, text)

    def _high_risk(self, flag: dict[str, Any]) -> None:
        first = high_risk_findings(flag)[0]
        self.notify(
            tr("notify.high_risk.title"),
            tr(
                "notify.high_risk.text",
                subject=flag.get("subject") or "",
                counterpart=flag.get("counterpart") or "",
                explanation=explanation(first.get("explanation")),
            ),
            critical=first.get("tier") == "forbidden",
        )

    def _appeal_decided(self, appeal: dict[str, Any]) -> None:
        self.notify(
            tr("notify.appeal.title"),
            tr(
                "notify.appeal.text",
                subject=appeal.get("subject") or "",
                status=tr_or("appeal.status", appeal.get("status", "")),
                comment=appeal.get("reviewer_comment") or "",
            ).strip(),
        )

    # -- windows ---------------------------------------------------------------------------------

    def _window(self, name: str, make: Any) -> Window:
        window = self.windows.get(name)
        if window is None:
            window = self.windows[name] = make()
        return window

    def _show(self, name: str, make: Any) -> Window:
        window = self._window(name, make)
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def show_flags(self) -> FlagsWindow:
        from ui.windows.flags import FlagsWindow

        return self._show("flags", lambda: FlagsWindow(self.link))  # type: ignore[return-value]

    def show_appeals(self) -> AppealsWindow:
        from ui.windows.appeals import AppealsWindow

        return self._show("appeals", lambda: AppealsWindow(self.link))  # type: ignore[return-value]

    def show_transparency(self) -> TransparencyWindow:
        from ui.windows.transparency import TransparencyWindow

        return self._show("transparency", lambda: TransparencyWindow(self.link))  # type: ignore[return-value]

    def show_settings(self) -> SettingsWindow:
        from ui.windows.settings import SettingsWindow

        def make() -> SettingsWindow:
            window = SettingsWindow(self.link)
            window.languageChosen.connect(self.choose_language)
            return window

        return self._show("settings", make)  # type: ignore[return-value]

    def show_about(self) -> AboutWindow:
        from ui.windows.about import AboutWindow

        return self._show("about", lambda: AboutWindow(self.link, __version__))  # type: ignore[return-value]

    def choose_language(self, lang: str) -> None:
        """Switch now, and have the agent remember it ("" follows the system locale)."""
        self.language_from_agent = False
        translator().set_language(lang)
        self.link.call("update_settings", language=lang, on_done=lambda _s: None)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_flags()

    def quit(self) -> None:
        """Quit the tray only: the agent keeps running and checking mail."""
        self.link.stop()
        for window in self.windows.values():
            window.close()
        if self.tray is not None:
            self.tray.hide()
        app = QApplication.instance()
        if app is not None:
            app.quit()
