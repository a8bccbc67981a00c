"""My flags: the mails flagged on this computer, each finding highlighted where it is, why it
was flagged, what was chosen at send time; an appeal from here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ui.agent_link import AgentLink
from ui.i18n import explanation, tr, tr_or
from ui.qtcompat import emit
from ui.windows.appeals import AppealDialog
from ui.windows.format import TIER_COLOR, TIER_RANK, escape, field_label, short_time, top_tier
from ui.windows.widgets import Column, RowsModel, Window, tab_order, table_view


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
        self.view, self.proxy = table_view(self.model)
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
        tab_order(
            self.filter,
            self.refresh_button,
            self.view,
            self.field,
            self.excerpt,
            self.why,
            self.appeal_button,
            self.close_button,
        )
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
        parts = [f"<p><b>{escape(tr('flags.why'))}</b></p><ul>"]
        for f in flag.get("findings", []):
            where = tr("flags.quoted") if f.get("quoted") else tr("flags.not_quoted")
            color = TIER_COLOR.get(f.get("tier"), "#ffd54f")
            parts.append(
                f"<li><span style='background:{color}'>&nbsp;{escape(f.get('text'))}&nbsp;</span> "
                f"[{escape(tr_or('tier', f.get('tier', '')))}] <code>{escape(f.get('rule'))}</code> — "
                f"{escape(field_label(f.get('field') or {}))} {f.get('start')}–{f.get('end')}, {escape(where)}<br>"
                f"{escape(explanation(f.get('explanation')))}</li>"
            )
        parts.append(f"</ul><p><b>{escape(tr('flags.at_send'))}</b></p><ul>")
        decisions = flag.get("decisions") or []
        if flag.get("direction") != "sent":
            parts.append(f"<li>{escape(tr('flags.received_no_decision'))}</li>")
        elif not decisions:
            parts.append(f"<li>{escape(tr('flags.no_decision'))}</li>")
        for d in decisions:
            line = tr(
                "decision.line", at=short_time(d.get("at")), choice=tr_or("choice", d.get("choice", ""))
            )
            if d.get("justification"):
                line += " — " + tr("decision.justification", text=d["justification"])
            parts.append(f"<li>{escape(line)}</li>")
        parts.append("</ul>")
        if flag.get("appeals"):
            parts.append(f"<p><b>{escape(tr('flags.appeals'))}</b></p><ul>")
            for a in flag["appeals"]:
                parts.append(
                    f"<li>{escape(short_time(a.get('created_at')))}: {escape(a.get('reason'))} — "
                    f"{escape(tr_or('appeal.status', a.get('status', '')))}</li>"
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
