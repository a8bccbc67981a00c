"""Settings: the collector, the enrolment, the policy in force, the last upload; the language."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.agent_link import AgentLink
from ui.i18n import tr
from ui.qtcompat import emit
from ui.windows.format import short_time
from ui.windows.widgets import Window, tab_order


class SettingsWindow(Window):
    loaded = Signal()
    languageChosen = Signal(str)

    def __init__(self, link: AgentLink, parent: QWidget | None = None) -> None:
        super().__init__(link, parent)
        self.settings: dict[str, Any] = {}
        self.labels = {k: QLabel() for k in ("collector", "enrolment", "policy", "sync", "language")}
        self.values = {k: QLabel() for k in ("collector", "enrolment", "policy", "sync")}
        for v in self.values.values():
            v.setTextFormat(Qt.TextFormat.PlainText)
            v.setWordWrap(True)
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.language = QComboBox()
        for code in ("", "en", "zh"):
            self.language.addItem("", code)
        self.labels["language"].setBuddy(self.language)
        self.language.activated.connect(self._language_activated)
        self.monitoring = QLabel()
        self.monitoring.setWordWrap(True)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)
        form = QFormLayout()
        for k in ("collector", "enrolment", "policy", "sync"):
            form.addRow(self.labels[k], self.values[k])
        form.addRow(self.labels["language"], self.language)
        layout = QVBoxLayout(self)
        layout.addWidget(self.error)
        layout.addLayout(form)
        layout.addWidget(self.monitoring)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        tab_order(self.language, self.close_button)
        self.resize(620, 300)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("settings.title"))
        for k in ("collector", "enrolment", "policy", "sync", "language"):
            self.labels[k].setText(tr(f"settings.{k}"))
        for i, key in enumerate(("settings.lang.system", "settings.lang.en", "settings.lang.zh")):
            self.language.setItemText(i, tr(key))
        self.monitoring.setText(tr("settings.monitoring"))
        self.close_button.setText(tr("close"))
        self._render()

    def reload(self) -> None:
        self.link.call("settings", on_done=self._loaded, on_error=self.show_error)

    def _loaded(self, settings: dict[str, Any]) -> None:
        self.answered()
        self.settings = settings
        self.language.setCurrentIndex(max(0, self.language.findData(settings.get("language", ""))))
        self._render()
        emit(self.loaded)

    def _render(self) -> None:
        s = self.settings
        status = self.link.status or {}
        sync = status.get("sync") or {}
        if not s:
            for v in self.values.values():
                v.setText(tr("loading"))
            return
        self.values["collector"].setText(s.get("collector_url") or tr("none"))
        self.values["enrolment"].setText(
            tr(
                "settings.enrolled",
                at=short_time(s.get("enrolled_at")),
                device=s.get("device_id"),
                department=s.get("department") or tr("none"),
            )
            if s.get("enrolled")
            else tr("settings.not_enrolled")
        )
        key = (
            "settings.policy.installed"
            if s.get("policy_source") == "installed"
            else "settings.policy.default"
        )
        self.values["policy"].setText(tr(key, version=s.get("policy_version", "")))
        self.values["sync"].setText(
            f"{short_time(sync.get('last_upload'))}; " + tr("settings.queued", n=sync.get("queued", 0))
        )

    def _language_activated(self, index: int) -> None:
        emit(self.languageChosen, self.language.itemData(index))
