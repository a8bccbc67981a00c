"""Appeals: the dialog that files one against a flag, and the window listing them with their status."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.agent_link import AgentLink
from ui.i18n import tr, tr_or, translator
from ui.qtcompat import emit
from ui.windows.format import short_time
from ui.windows.widgets import Column, RowsModel, Window, tab_order, table_view


class AppealDialog(QDialog):
    filed = Signal(object)  # the appeal, as the agent stored it

    def __init__(self, link: AgentLink, flag: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one dialog per appeal: none piles up
        self.link = link
        self.flag = flag
        self.appeal: dict[str, Any] | None = None
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.rule_label, self.rule = QLabel(), QComboBox()
        self.reason_label, self.reason = QLabel(), QLineEdit()
        self.comment_label, self.comment = QLabel(), QPlainTextEdit()
        self.comment.setTabChangesFocus(True)
        for label, widget in (
            (self.rule_label, self.rule),
            (self.reason_label, self.reason),
            (self.comment_label, self.comment),
        ):
            label.setBuddy(widget)
        self.rule.addItem("", None)
        for rule in sorted({f["rule"] for f in flag.get("findings", [])}):
            self.rule.addItem(rule, rule)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # may hold the agent's error text
        self.status.setWordWrap(True)
        self.submit = QPushButton()
        self.submit.setDefault(True)
        self.submit.setEnabled(False)
        self.cancel = QPushButton()
        self.reason.textChanged.connect(lambda text: self.submit.setEnabled(bool(text.strip())))
        self.submit.clicked.connect(self.send)
        self.cancel.clicked.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.rule_label, self.rule)
        form.addRow(self.reason_label, self.reason)
        form.addRow(self.comment_label, self.comment)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.submit)
        buttons.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addLayout(buttons)
        tab_order(self.rule, self.reason, self.comment, self.submit, self.cancel)
        self.reason.setFocus()
        self.resize(560, 360)
        translator().changed.connect(self._language_changed)
        self.retranslate()

    @Slot(str)
    def _language_changed(self, _lang: str) -> None:
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("appeal.title"))
        self.intro.setText(tr("appeal.intro"))
        self.message.setText(tr("appeal.message", subject=self.flag.get("subject") or ""))
        self.rule_label.setText(tr("appeal.rule"))
        self.rule.setItemText(0, tr("appeal.all_rules"))
        self.reason_label.setText(tr("appeal.reason"))
        self.reason.setPlaceholderText(tr("appeal.reason.placeholder"))
        self.comment_label.setText(tr("appeal.comment"))
        self.submit.setText(tr("appeal.submit"))
        self.cancel.setText(tr("appeal.cancel"))

    def send(self) -> None:
        reason = self.reason.text().strip()
        if not reason:
            self.status.setText(tr("appeal.required"))
            return
        self.submit.setEnabled(False)
        self.status.setText(tr("appeal.saving"))
        self.link.call(
            "file_appeal",
            self.flag["id"],
            reason,
            self.comment.toPlainText().strip(),
            self.rule.currentData(),
            on_done=self._filed,
            on_error=self._failed,
        )

    def _filed(self, answer: dict[str, Any]) -> None:
        if not shiboken6.isValid(self):  # closed (so deleted) while the agent stored it
            return
        self.appeal = answer["appeal"]
        emit(self.filed, self.appeal)
        self.accept()

    def _failed(self, exc: Exception) -> None:
        if not shiboken6.isValid(self):
            return
        self.status.setText(tr("agent.error", message=str(exc)))
        self.submit.setEnabled(bool(self.reason.text().strip()))


class AppealsWindow(Window):
    loaded = Signal()

    def __init__(self, link: AgentLink, parent: QWidget | None = None) -> None:
        super().__init__(link, parent)
        self.model = RowsModel(
            [
                Column(
                    "appeals.col.filed",
                    lambda r: short_time(r.get("created_at")),
                    lambda r: r.get("created_at") or "",
                ),
                Column("appeals.col.subject", lambda r: r.get("subject") or ""),
                Column("appeals.col.rule", lambda r: r.get("rule") or tr("appeal.all_rules")),
                Column("appeals.col.reason", lambda r: r.get("reason") or ""),
                Column("appeals.col.status", lambda r: tr_or("appeal.status", r.get("status", ""))),
                Column("appeals.col.reviewer", lambda r: r.get("reviewer_comment") or ""),
            ],
            self,
        )
        self.view, self.proxy = table_view(self.model)
        self.intro = QLabel()
        self.count = QLabel()
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.reload)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.error)
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        row.addWidget(self.count, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        tab_order(self.view, self.refresh_button, self.close_button)
        self.resize(900, 420)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("appeals.title"))
        self.intro.setText(tr("appeals.intro"))
        self.count.setText(tr("appeals.count", n=len(self.model.rows)))
        self.refresh_button.setText(tr("refresh"))
        self.close_button.setText(tr("close"))
        self.model.retranslate()

    def reload(self) -> None:
        self.link.call("appeals", on_done=self._loaded, on_error=self.show_error)

    def _loaded(self, answer: dict[str, Any]) -> None:
        self.answered()
        self.model.set_rows(answer.get("appeals", []))
        self.count.setText(tr("appeals.count", n=len(self.model.rows)))
        self.view.resizeColumnsToContents()
        emit(self.loaded)
