"""What leaves this computer: every queued or sent upload, exactly as it was signed."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.agent_link import AgentLink
from ui.i18n import tr, tr_or
from ui.qtcompat import emit
from ui.windows.format import short_time
from ui.windows.widgets import Column, RowsModel, Window, tab_order, table_view


class TransparencyWindow(Window):
    loaded = Signal()

    def __init__(self, link: AgentLink, parent: QWidget | None = None) -> None:
        super().__init__(link, parent)
        self.item: dict[str, Any] | None = None
        self.model = RowsModel(
            [
                Column("tx.col.id", lambda r: str(r["id"]), lambda r: r["id"]),
                Column("tx.col.kind", lambda r: tr_or("tx.kind", r.get("kind", ""))),
                Column("tx.col.status", lambda r: tr_or("tx.status", r.get("status", ""))),
                Column(
                    "tx.col.seq",
                    lambda r: "" if r.get("seq") is None else str(r["seq"]),
                    lambda r: r.get("seq") or 0,
                ),
                Column(
                    "tx.col.created",
                    lambda r: short_time(r.get("created_at")),
                    lambda r: r.get("created_at") or "",
                ),
                Column(
                    "tx.col.acked",
                    lambda r: short_time(r.get("acked_at")) if r.get("acked_at") else "",
                    lambda r: r.get("acked_at") or "",
                ),
            ],
            self,
        )
        self.view, self.proxy = table_view(self.model)
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.count = QLabel()
        self.info = QLabel()
        self.info.setTextFormat(Qt.TextFormat.PlainText)  # holds the collector's error text
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.pretty = QPlainTextEdit()
        self.raw = QPlainTextEdit()
        for edit in (self.pretty, self.raw):
            edit.setReadOnly(True)
            edit.setFont(mono)
            edit.setTabChangesFocus(True)
        self.raw.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.pretty, "")
        self.tabs.addTab(self.raw, "")
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.reload)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        bottom = QWidget()
        bv = QVBoxLayout(bottom)
        bv.setContentsMargins(0, 0, 0, 0)
        bv.addWidget(self.info)
        bv.addWidget(self.tabs, 1)
        split.addWidget(bottom)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.error)
        layout.addWidget(split, 1)
        row = QHBoxLayout()
        row.addWidget(self.count, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        tab_order(self.view, self.tabs, self.pretty, self.raw, self.refresh_button, self.close_button)
        self.resize(960, 680)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("tx.title"))
        self.intro.setText(tr("tx.intro"))
        self.tabs.setTabText(0, tr("tx.tab.pretty"))
        self.tabs.setTabText(1, tr("tx.tab.raw"))
        self.count.setText(tr("tx.count", n=len(self.model.rows)))
        self.refresh_button.setText(tr("refresh"))
        self.close_button.setText(tr("close"))
        self.model.retranslate()
        self._render_info()

    def reload(self) -> None:
        self.link.call("transparency", on_done=self._loaded, on_error=self.show_error)

    def _loaded(self, answer: dict[str, Any]) -> None:
        self.answered()
        current = self.item["id"] if self.item else None
        self.model.set_rows(answer.get("items", []))
        self.count.setText(tr("tx.count", n=len(self.model.rows)))
        self.view.resizeColumnsToContents()
        target = 0
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole)["id"] == current:
                target = r
        if self.proxy.rowCount():
            self.view.selectRow(target)
        else:
            self.show_item(None)
        emit(self.loaded)

    def _selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_item(current.data(Qt.ItemDataRole.UserRole) if current.isValid() else None)

    def show_item(self, item: dict[str, Any] | None) -> None:
        self.item = item
        if item is None:
            self.pretty.setPlainText("")
            self.raw.setPlainText("")
        else:
            try:
                pretty = json.dumps(json.loads(item["raw"]), indent=2, ensure_ascii=False)
            except ValueError:
                pretty = item["raw"]
            self.pretty.setPlainText(pretty)
            self.raw.setPlainText(item["raw"])  # exactly the queued bytes (UTF-8 text)
        self._render_info()

    def _render_info(self) -> None:
        item = self.item
        if item is None:
            self.info.setText(tr("tx.none_selected"))
            return
        lines = [
            tr("tx.signature", value=item.get("signature") or tr("none")),
            tr(
                "tx.chain",
                seq=tr("none") if item.get("seq") is None else item["seq"],
                prev=item.get("prev_hash") or tr("none"),
            ),
            tr("tx.digest", bytes=item.get("bytes"), sha=item.get("sha256")),
        ]
        if item.get("last_error"):
            lines.append(tr("tx.error", error=item["last_error"]))
        self.info.setText("\n".join(lines))
