"""The tray's windows. Each one only shows what the agent answers and sends the user's requests to
it (through AgentLink, on worker threads); none reads the database or decides anything itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFontDatabase, QKeySequence, QShortcut, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from companion.agent.errors import AgentNotRunning
from ui.agent_link import AgentLink
from ui.i18n import explanation, tr, tr_or, translator
from ui.qtcompat import emit

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
TIER_RANK = {"info": 0, "allowed": 1, "approval": 2, "forbidden": 3}
TIER_COLOR = {"forbidden": "#ff8a80", "approval": "#ffd54f", "info": "#b3e5fc", "allowed": "#c8e6c9"}


def _esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def utf16_offset(text: str, index: int) -> int:
    """Qt counts UTF-16 code units; the agent's offsets count code points."""
    return len(text[:index].encode("utf-16-le")) // 2


def code_point_offset(text: str, utf16: int) -> int:
    count = 0
    for i, ch in enumerate(text):
        if count >= utf16:
            return i
        count += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def merged_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def top_tier(flag: dict[str, Any]) -> str:
    findings = flag.get("findings") or []
    counted = [f for f in findings if not f.get("quoted")] or findings
    return max((f.get("tier", "") for f in counted), key=lambda t: TIER_RANK.get(t, -1), default="")


def field_label(field: dict[str, str]) -> str:
    """A finding's field ({"kind", "name"}, as the agent gives it) in the user's language."""
    kind, name = field.get("kind", ""), field.get("name", "")
    if kind.startswith("attachment"):
        return tr("field.attachment", name=name)
    return tr_or("field", kind)


def short_time(value: str | None) -> str:
    """An ISO time from the agent, in the computer's local time, to the minute."""
    if not value:
        return tr("none")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    if when.tzinfo is not None:
        when = when.astimezone()  # local time
    return when.strftime("%Y-%m-%d %H:%M")


class Column:
    def __init__(
        self, header: str, show: Callable[[dict], str], sort: Callable[[dict], Any] | None = None
    ) -> None:
        self.header, self.show, self.sort = header, show, sort or show


class RowsModel(QAbstractTableModel):
    """Rows of plain dicts from the agent; the columns say how to show (translated) and sort them."""

    def __init__(self, columns: list[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def retranslate(self) -> None:
        emit(self.headerDataChanged, Qt.Orientation.Horizontal, 0, len(self.columns) - 1)
        if self.rows:
            emit(self.dataChanged, self.index(0, 0), self.index(len(self.rows) - 1, len(self.columns) - 1))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.show(row)
        if role == SORT_ROLE:
            return column.sort(row)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.columns[section].header)
        return None


def _table(model: RowsModel) -> tuple[QTableView, QSortFilterProxyModel]:
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setFilterKeyColumn(-1)  # every column
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setTabKeyNavigation(False)  # Tab leaves the table: keyboard users reach every control
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view, proxy


class Window(QWidget):
    """A top-level window that follows the language and closes with Escape; F5 reloads."""

    def __init__(self, link: AgentLink, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.link = link
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # the agent's message: never rendered as HTML
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b71c1c")
        self.error.hide()
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.reload)
        translator().changed.connect(self._language_changed)  # a slot of ours: disconnected when we go
        self._stale = False  # the last load failed: load again once the agent answers
        link.statusChanged.connect(self._status_changed)

    @Slot(str)
    def _language_changed(self, _lang: str) -> None:
        self.retranslate()

    def retranslate(self) -> None:  # pragma: no cover - every window overrides it
        pass

    def reload(self) -> None:  # pragma: no cover - every window overrides it
        pass

    @Slot(object)
    def _status_changed(self, status: Any) -> None:
        if status is not None and self._stale and self.isVisible():
            self._stale = False
            self.reload()

    def show_error(self, exc: Exception) -> None:
        self._stale = True
        if isinstance(exc, AgentNotRunning):
            self.error.setText(tr("agent.not_running"))
        else:  # the agent's own message (its API speaks English), framed in the user's language
            self.error.setText(tr("agent.error", message=str(exc)))
        self.error.show()

    def answered(self) -> None:
        self.error.hide()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.reload()


# -- My flags --------------------------------------------------------------------------------


class FlagsWindow(Window):
    loaded = Signal()  # the flags list arrived
    detailLoaded = Signal()  # a flag's detail arrived

    def __init__(self, link: AgentLink, parent: QWidget | None = None) -> None:
        super().__init__(link, parent)
        self.detail: dict[str, Any] | None = None
        self._wanted: str | None = None  # the flag whose detail was asked for last
        self.model = RowsModel(
            [
                Column("flags.col.date", lambda r: short_time(r.get("date")), lambda r: r.get("date") or ""),
                Column("flags.col.direction", lambda r: tr_or("direction", r.get("direction", ""))),
                Column("flags.col.counterpart", lambda r: r.get("counterpart") or ""),
                Column("flags.col.subject", lambda r: r.get("subject") or ""),
                Column(
                    "flags.col.tier",
                    lambda r: tr_or("tier", top_tier(r)),
                    lambda r: TIER_RANK.get(top_tier(r), -1),
                ),
                Column(
                    "flags.col.rule", lambda r: ", ".join(sorted({f["rule"] for f in r.get("findings", [])}))
                ),
            ],
            self,
        )
        self.view, self.proxy = _table(self.model)
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.view.selectionModel().currentRowChanged.connect(self._selected)

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.filter_label = QLabel()
        self.filter = QLineEdit()
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.filter_label.setBuddy(self.filter)
        self.count = QLabel()
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.reload)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, self.filter.setFocus)

        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.field_label = QLabel()
        self.field = QComboBox()
        self.field.currentIndexChanged.connect(self._show_field)
        self.field_label.setBuddy(self.field)
        self.excerpt_label = QLabel()
        self.excerpt = QTextEdit()
        self.excerpt.setReadOnly(True)
        self.excerpt.setTabChangesFocus(True)
        self.excerpt_label.setBuddy(self.excerpt)
        self.why = QTextBrowser()
        self.why.setOpenLinks(False)
        self.why.setTabChangesFocus(True)
        self.appeal_button = QPushButton()
        self.appeal_button.setEnabled(False)
        self.appeal_button.clicked.connect(self.open_appeal)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)

        top = QHBoxLayout()
        top.addWidget(self.filter_label)
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        top.addWidget(self.refresh_button)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addLayout(top)
        lv.addWidget(self.view)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.heading)
        row = QHBoxLayout()
        row.addWidget(self.excerpt_label)
        row.addStretch(1)
        row.addWidget(self.field_label)
        row.addWidget(self.field)
        rv.addLayout(row)
        rv.addWidget(self.excerpt, 2)
        rv.addWidget(self.why, 3)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.appeal_button)
        buttons.addWidget(self.close_button)
        rv.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.error)
        layout.addWidget(split, 1)
        for a, b in [
            (self.filter, self.refresh_button),
            (self.refresh_button, self.view),
            (self.view, self.field),
            (self.field, self.excerpt),
            (self.excerpt, self.why),
            (self.why, self.appeal_button),
            (self.appeal_button, self.close_button),
        ]:
            QWidget.setTabOrder(a, b)
        self.resize(1100, 620)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("flags.title"))
        self.intro.setText(tr("flags.intro"))
        self.filter_label.setText(tr("flags.filter"))
        self.filter.setPlaceholderText(tr("flags.filter.placeholder"))
        self.refresh_button.setText(tr("refresh"))
        self.appeal_button.setText(tr("flags.appeal"))
        self.close_button.setText(tr("close"))
        self.field_label.setText(tr("flags.field"))
        self.excerpt_label.setText(tr("flags.excerpt"))
        self.count.setText(tr("flags.count", n=len(self.model.rows)))
        self.model.retranslate()
        for i in range(self.field.count()):
            self.field.setItemText(i, field_label(self._excerpt(i)["field"]))
        self._render_why()

    def reload(self) -> None:
        self.link.call("flags", limit=500, on_done=self._loaded, on_error=self.show_error)

    def _loaded(self, answer: dict[str, Any]) -> None:
        self.answered()
        current = self.detail["id"] if self.detail else None
        self.model.set_rows(answer.get("flags", []))
        self.count.setText(tr("flags.count", n=len(self.model.rows)))
        self.view.resizeColumnsToContents()
        seqs = [r.get("seq") or 0 for r in self.model.rows]
        if seqs:  # the user is looking at them: they are no longer new
            self.link.call(
                "mark_flags_seen", max(seqs), on_done=lambda _a: self.link.refresh(), on_error=lambda _e: None
            )
        if current:
            self.select(current)
        elif self.proxy.rowCount():
            self.view.selectRow(0)
        else:
            self._render_why()
        emit(self.loaded)

    def select(self, key: str) -> bool:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole)["id"] == key:
                self.view.selectRow(r)
                return True
        return False

    def _selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.data(Qt.ItemDataRole.UserRole) if current.isValid() else None
        if row is None:
            return
        self._wanted = row["id"]
        self.link.call("flag", row["id"], on_done=self._detail, on_error=self.show_error)

    def _detail(self, answer: dict[str, Any]) -> None:
        if answer["flag"]["id"] != self._wanted:
            return  # the user has moved on: an answer for an earlier selection arrived late
        self.answered()
        self.detail = answer["flag"]
        self.appeal_button.setEnabled(True)
        fields = self.detail.get("excerpts") or []
        self.field.blockSignals(True)
        self.field.clear()
        for i, excerpt in enumerate(fields):
            self.field.addItem(field_label(excerpt["field"]), i)
        self.field.blockSignals(False)
        self.field.setEnabled(len(fields) > 1)
        self._show_field()
        self._render_why()
        emit(self.detailLoaded)

    def _show_field(self) -> None:
        """The field's text, every finding highlighted at its start/end (one colour per tier)."""
        flag = self.detail or {}
        excerpt = self._excerpt(self.field.currentIndex())
        field, text = excerpt["field"], excerpt["text"]
        self.excerpt.setPlainText(text)
        cursor = QTextCursor(self.excerpt.document())
        for f in flag.get("findings", []):
            if f.get("field") != field or f["end"] <= f["start"]:
                continue
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(TIER_COLOR.get(f.get("tier"), "#ffd54f")))
            fmt.setToolTip(f"{f['rule']}: {explanation(f.get('explanation'))}")
            cursor.setPosition(utf16_offset(text, f["start"]))
            cursor.setPosition(utf16_offset(text, f["end"]), QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(fmt)
        self.excerpt.moveCursor(QTextCursor.MoveOperation.Start)

    def _excerpt(self, index: int) -> dict[str, Any]:
        """The flagged field shown at `index` of the field box: {"field", "text"}."""
        excerpts = (self.detail or {}).get("excerpts") or []
        return excerpts[index] if 0 <= index < len(excerpts) else {"field": {}, "text": ""}

    def highlighted_ranges(self) -> list[tuple[int, int]]:
        """Read back from the document: the code-point ranges shown highlighted (for tests)."""
        doc = self.excerpt.document()
        text = self.excerpt.toPlainText()
        ranges = []
        block = doc.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                frag = it.fragment()
                if frag.charFormat().background().style() != Qt.BrushStyle.NoBrush:
                    start = code_point_offset(text, frag.position())
                    ranges.append((start, code_point_offset(text, frag.position() + frag.length())))
                it += 1
            block = block.next()
        return merged_ranges(ranges)

    def _render_why(self) -> None:
        flag = self.detail
        if not flag:
            self.heading.setText(tr("flags.none_selected"))
            self.why.setHtml("")
            return
        self.heading.setText(
            f"{flag.get('subject') or ''} — {tr_or('direction', flag.get('direction', ''))} — "
            f"{flag.get('counterpart') or ''} — {short_time(flag.get('date'))}"
        )
        parts = [f"<p><b>{_esc(tr('flags.why'))}</b></p><ul>"]
        for f in flag.get("findings", []):
            where = tr("flags.quoted") if f.get("quoted") else tr("flags.not_quoted")
            color = TIER_COLOR.get(f.get("tier"), "#ffd54f")
            parts.append(
                f"<li><span style='background:{color}'>&nbsp;{_esc(f.get('text'))}&nbsp;</span> "
                f"[{_esc(tr_or('tier', f.get('tier', '')))}] <code>{_esc(f.get('rule'))}</code> — "
                f"{_esc(field_label(f.get('field') or {}))} {f.get('start')}–{f.get('end')}, {_esc(where)}<br>"
                f"{_esc(explanation(f.get('explanation')))}</li>"
            )
        parts.append(f"</ul><p><b>{_esc(tr('flags.at_send'))}</b></p><ul>")
        decisions = flag.get("decisions") or []
        if flag.get("direction") != "sent":
            parts.append(f"<li>{_esc(tr('flags.received_no_decision'))}</li>")
        elif not decisions:
            parts.append(f"<li>{_esc(tr('flags.no_decision'))}</li>")
        for d in decisions:
            line = tr(
                "decision.line", at=short_time(d.get("at")), choice=tr_or("choice", d.get("choice", ""))
            )
            if d.get("justification"):
                line += " — " + tr("decision.justification", text=d["justification"])
            parts.append(f"<li>{_esc(line)}</li>")
        parts.append("</ul>")
        if flag.get("appeals"):
            parts.append(f"<p><b>{_esc(tr('flags.appeals'))}</b></p><ul>")
            for a in flag["appeals"]:
                parts.append(
                    f"<li>{_esc(short_time(a.get('created_at')))}: {_esc(a.get('reason'))} — "
                    f"{_esc(tr_or('appeal.status', a.get('status', '')))}</li>"
                )
            parts.append("</ul>")
        self.why.setHtml("".join(parts))

    def open_appeal(self) -> AppealDialog | None:
        if not self.detail:
            return None
        dialog = AppealDialog(self.link, self.detail, self)
        dialog.filed.connect(lambda _a: self.reload())
        dialog.open()
        return dialog


# -- Appeals -----------------------------------------------------------------------------------


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
        for a, b in [
            (self.rule, self.reason),
            (self.reason, self.comment),
            (self.comment, self.submit),
            (self.submit, self.cancel),
        ]:
            QWidget.setTabOrder(a, b)
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
        self.view, self.proxy = _table(self.model)
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
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
        QWidget.setTabOrder(self.view, self.refresh_button)
        QWidget.setTabOrder(self.refresh_button, self.close_button)
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


# -- What leaves this computer -----------------------------------------------------------------


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
        self.view, self.proxy = _table(self.model)
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
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
        for a, b in [
            (self.view, self.tabs),
            (self.tabs, self.pretty),
            (self.pretty, self.raw),
            (self.raw, self.refresh_button),
            (self.refresh_button, self.close_button),
        ]:
            QWidget.setTabOrder(a, b)
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


# -- Settings, About, notices --------------------------------------------------------------------


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
        QWidget.setTabOrder(self.language, self.close_button)
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
