"""The notices window: where notifications go when the desktop has no system tray."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.agent_link import AgentLink
from ui.i18n import tr
from ui.windows.widgets import Window


class NoticeWindow(Window):
    """The in-app fallback for notifications when the desktop has no system tray."""

    def __init__(self, link: AgentLink, parent: QWidget | None = None) -> None:
        super().__init__(link, parent)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.resize(520, 260)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("notices.title"))
        self.close_button.setText(tr("notices.close"))

    def reload(self) -> None:
        pass

    def add(self, title: str, text: str) -> None:
        self.list.insertItem(0, f"{title}\n{text}")
