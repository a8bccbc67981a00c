"""About Mailwarden: the version."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.agent_link import AgentLink
from ui.i18n import tr
from ui.windows.widgets import Window


class AboutWindow(Window):
    def __init__(self, link: AgentLink, version: str, parent: QWidget | None = None) -> None:
        super().__init__(link, parent)
        self.version = version
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.resize(460, 160)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("about.title"))
        self.text.setText(tr("about.text", version=self.version))
        self.close_button.setText(tr("close"))

    def reload(self) -> None:
        pass
