"""What every window is made of: the Window base (language, Escape, F5, the agent's errors) and the
sortable, filterable table of the agent's rows (RowsModel, its Columns, and the view over it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Slot,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QWidget

from companion.agent.errors import AgentNotRunning
from ui.agent_link import AgentLink
from ui.i18n import tr, translator
from ui.qtcompat import emit

SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def tab_order(*widgets: QWidget) -> None:
    """Tab goes through `widgets` in this order (keyboard users reach every control)."""
    for a, b in zip(widgets, widgets[1:], strict=False):
        QWidget.setTabOrder(a, b)


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


def table_view(model: RowsModel) -> tuple[QTableView, QSortFilterProxyModel]:
    """The rows in a sortable, filterable table, newest first (the first column, descending)."""
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
    view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
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
