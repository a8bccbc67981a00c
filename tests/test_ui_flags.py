"""My flags and appeals, against a real agent whose database was filled by scanning the demo mailbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from ui.windows.appeals import AppealsWindow
from ui.windows.flags import FlagsWindow, merged_ranges

if TYPE_CHECKING:
    from tests.ui_fixtures import RealAgent

pytest_plugins = ("tests.ui_fixtures",)  # offscreen Qt, the real agent, the tray factory

WAIT = 15000


def open_window(qtbot, tray, name: str):
    window = getattr(tray, f"show_{name}")()  # shown: it asks the agent, on a worker thread
    with qtbot.waitSignal(window.loaded, timeout=WAIT):
        pass  # the answer arrives through the event loop
    return window


def open_flags(qtbot, tray) -> FlagsWindow:
    return open_window(qtbot, tray, "flags")


def rows_of(window) -> list[dict]:
    proxy = window.proxy
    return [proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(proxy.rowCount())]


def select(qtbot, window: FlagsWindow, row: int) -> dict:
    with qtbot.waitSignal(window.detailLoaded, timeout=WAIT):
        window.view.selectRow(row)
    assert window.detail is not None
    return window.detail


def flagged_in_db(agent: RealAgent) -> dict[str, dict]:
    rows = agent.query(
        "SELECT key, subject, direction, counterpart FROM messages"
        " WHERE key IN (SELECT message_key FROM findings)"
    )
    return {r["key"]: r for r in rows}


def test_flags_window_lists_what_the_database_holds(qtbot, real_agent, link_factory):
    tray = link_factory(real_agent)
    window = open_flags(qtbot, tray)
    db = flagged_in_db(real_agent)
    shown = rows_of(window)
    assert len(shown) == len(db) == 5
    assert {
        r["id"]: {
            "key": r["id"],
            "subject": r["subject"],
            "direction": r["direction"],
            "counterpart": r["counterpart"],
        }
        for r in shown
    } == db
    headers = [
        window.proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(window.proxy.columnCount())
    ]
    assert headers == ["Date", "Sent/received", "Counterpart", "Subject", "Tier", "Rule"]
    # Newest first by default; the cells say sent/received and the tier in words.
    dates = [r["date"] for r in shown]
    assert dates == sorted(dates, reverse=True)
    cells = {window.proxy.index(r, 1).data() for r in range(len(shown))}
    assert cells == {"sent", "received"}
    tiers = {window.proxy.index(r, 4).data() for r in range(len(shown))}
    assert tiers == {"forbidden", "needs approval"}
    # Sorting by subject (click on the header), then filtering.
    window.view.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    subjects = [window.proxy.index(r, 3).data() for r in range(len(shown))]
    assert subjects == sorted(subjects)
    window.view.sortByColumn(4, Qt.SortOrder.DescendingOrder)  # the most serious first
    assert window.proxy.index(0, 4).data() == "forbidden"
    qtbot.keyClicks(window.filter, "BANK")  # in any column, whatever the case: subjects and rule ids
    expected = {
        r["subject"]
        for r in shown
        if "bank" in r["subject"].lower() or any("bank" in f["rule"] for f in r["findings"])
    }
    assert len(expected) == 3 and window.proxy.rowCount() == 3
    assert {window.proxy.index(r, 3).data() for r in range(3)} == expected
    window.filter.clear()
    qtbot.keyClicks(window.filter, "offbook")  # a rule id
    assert [window.proxy.index(r, 3).data() for r in range(window.proxy.rowCount())] == ["Re: order 4471"]
    assert window.count.text() == "5 flagged message(s)"


def test_every_match_is_highlighted_at_its_offsets(qtbot, real_agent, link_factory):
    tray = link_factory(real_agent)
    window = open_flags(qtbot, tray)
    for row in range(window.proxy.rowCount()):
        flag = select(qtbot, window, row)
        findings = real_agent.query("SELECT * FROM findings WHERE message_key = ?", (flag["id"],))
        fields = [
            ((r["field"], r["field_name"]), r["text"])
            for r in real_agent.query(
                "SELECT field, field_name, text FROM flagged_fields WHERE message_key = ?"
                " ORDER BY field, field_name",
                (flag["id"],),
            )
        ]
        assert {(f["rule"], f["start"], f["end"]) for f in flag["findings"]} == {
            (f["rule"], f["start"], f["end"]) for f in findings
        }
        assert window.field.count() == len(fields)
        for i, (field, text) in enumerate(fields):
            window.field.setCurrentIndex(i)
            assert window.excerpt.toPlainText() == text
            mine = [f for f in findings if (f["field"], f["field_name"]) == field]
            for f in mine:
                assert text[f["start"] : f["end"]] == f["text"]
            assert window.highlighted_ranges() == merged_ranges([(f["start"], f["end"]) for f in mine])
            assert mine and window.highlighted_ranges()
        why = window.why.toPlainText()
        for f in findings:
            assert f["explanation_en"] in why and f["rule"] in why
        if any(f["quoted"] for f in findings):
            assert "in quoted text" in why
        if any(not f["quoted"] for f in findings):
            assert "in your own text" in why
        expected = (
            "received mail: nothing to decide" if flag["direction"] == "received" else "no pre-send decision"
        )
        assert expected in why


def test_the_decision_taken_at_send_time_is_shown(qtbot, real_agent, link_factory):
    from companion.records import Database
    from tests.fixtures import record_presend as record

    flag = next(
        f for f in real_agent.client().flags()["flags"] if f["subject"] == "回复：询价：不锈钢阀门 500 件"
    )
    # What a mail-client hook records when the user sends a warned mail with a justification: the
    # demo's Sent mail carries the key of that decision in its X-Mailwarden header.
    db = Database(real_agent.paths.database)
    details = {"subject": flag["subject"], "to": [flag["counterpart"]], "body": "我们保证全网最低价。"}
    record(db, "thunderbird", details, "justified", justification="价格已获陈经理批准", key="demo-decision-5")
    db.close()
    tray = link_factory(real_agent)
    window = open_flags(qtbot, tray)
    assert window.select(flag["id"])
    qtbot.waitUntil(lambda: window.detail is not None and window.detail["id"] == flag["id"], timeout=WAIT)
    why = window.why.toPlainText()
    assert "sent with a justification" in why and "价格已获陈经理批准" in why


def test_an_appeal_filed_in_the_dialog_reaches_the_database_and_survives_a_restart(
    qtbot, real_agent, link_factory
):
    tray = link_factory(real_agent)
    tray.start()
    window = open_flags(qtbot, tray)
    key = next(r["id"] for r in rows_of(window) if r["subject"] == "Re: order 4471")
    window.select(key)
    qtbot.waitUntil(lambda: window.detail is not None and window.detail["id"] == key, timeout=WAIT)
    dialog = window.open_appeal()
    assert dialog is not None and not dialog.submit.isEnabled()  # the reason is required
    qtbot.keyClicks(dialog.reason, "   ")
    assert not dialog.submit.isEnabled()
    dialog.reason.clear()
    qtbot.keyClicks(dialog.reason, "normal discount, ")  # typed (QTest types ASCII only)
    dialog.reason.insert("已报备")  # then Chinese, as an input method commits it
    dialog.rule.setCurrentIndex(dialog.rule.findData("offbook.private-deal"))
    qtbot.keyClicks(dialog.comment, "see CRM #4471")
    with qtbot.waitSignal(dialog.filed, timeout=WAIT):
        qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _dialog(window) is None, timeout=WAIT)  # closed and deleted, not kept as a child
    rows = real_agent.query("SELECT * FROM appeals")
    assert [(r["message_key"], r["rule"], r["reason"], r["comment"], r["status"]) for r in rows] == [
        (key, "offbook.private-deal", "normal discount, 已报备", "see CRM #4471", "pending")
    ]
    # The agent stops (reboot, update): the tray says so; the appeal is still there afterwards.
    real_agent.stop()
    qtbot.waitUntil(lambda: tray.state == "stopped", timeout=WAIT)
    real_agent.start()
    qtbot.waitUntil(lambda: tray.state in ("attention", "ok"), timeout=WAIT)
    appeals = open_window(qtbot, tray, "appeals")
    assert isinstance(appeals, AppealsWindow)
    cells = [[appeals.proxy.index(0, c).data() for c in range(6)]]
    assert cells[0][1:] == [
        "Re: order 4471",
        "offbook.private-deal",
        "normal discount, 已报备",
        "pending",
        "",
    ]


def test_an_appeal_decided_by_the_reviewer_comes_back_and_is_notified(
    qtbot, real_agent, link_factory, file_keystore
):
    from companion.enroll import enroll
    from companion.outbox import upload_pending
    from companion.policy_update import pull_decisions
    from companion.records import Database
    from tests.fake_collector import FakeCollector

    client = real_agent.client()
    key = next(f["id"] for f in client.flags()["flags"] if f["subject"] == "Re: order 4471")
    appeal_id = client.file_appeal(key, "normal discount, approved")["appeal"]["id"]
    tray = link_factory(real_agent)
    tray.start()
    appeals = open_window(qtbot, tray, "appeals")
    assert appeals.proxy.index(0, 4).data() == "pending"
    qtbot.waitUntil(lambda: tray.link.watching, timeout=WAIT)  # the tray knows the appeals as they are now
    collector = FakeCollector().up()
    try:
        paths = real_agent.paths
        db = Database(paths.database)
        try:  # what `mailwarden upload` does: send the appeal, later fetch the reviewer's decision
            enroll(paths, collector.url, "good-token", "sales", db=db, hostname="PC-1")
            assert upload_pending(db, paths)["accepted"] == 1
            collector.state.decisions.append(
                {
                    "id": 1,
                    "appeal_id": appeal_id,
                    "status": "upheld",
                    "comment": "agreed, the rule is too strict here",
                    "decided_at": datetime.now(UTC).isoformat(),
                }
            )
            with qtbot.waitSignal(tray.notified, timeout=WAIT) as notified:
                assert pull_decisions(db, paths)["updated"] == 1
        finally:
            db.close()
    finally:
        collector.down()
    title, text = notified.args
    assert title == "Appeal decided" and "upheld" in text and "agreed, the rule is too strict here" in text
    assert tray.windows["notices"].isVisible()  # no system tray here: the in-app fallback
    with qtbot.waitSignal(appeals.loaded, timeout=WAIT):
        appeals.reload()
    assert [appeals.proxy.index(0, c).data() for c in (4, 5)] == [
        "upheld",
        "agreed, the rule is too strict here",
    ]


def test_a_dialog_closed_while_its_appeal_is_being_saved(qtbot, real_agent, link_factory):
    """The agent still stores the appeal; its answer finds the dialog gone and touches nothing of it."""
    import shiboken6

    tray = link_factory(real_agent)
    window = open_flags(qtbot, tray)
    select(qtbot, window, 0)
    dialog = window.open_appeal()
    assert dialog is not None
    qtbot.keyClicks(dialog.reason, "closed at once")
    dialog.send()
    dialog.reject()  # Cancel / Esc before the agent answered
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=WAIT)
    qtbot.waitUntil(lambda: len(real_agent.query("SELECT id FROM appeals")) == 1, timeout=WAIT)
    tray.link.runner.wait(WAIT)
    qtbot.wait(100)  # the answer is delivered to a deleted dialog: nothing raises
    assert _dialog(window) is None


def test_a_window_opened_while_the_agent_is_stopped_loads_once_it_is_back(qtbot, tmp_path, link_factory):
    from tests.ui_fixtures import make_agent
    from ui.i18n import tr

    agent = make_agent(tmp_path / "agent", start=False)
    try:
        tray = link_factory(agent)  # autostart off: the agent stays stopped until we start it
        tray.start()
        qtbot.waitUntil(lambda: tray.state == "stopped", timeout=WAIT)
        tray.link.stop()
        statuses: list = []
        tray.link.statusChanged.connect(statuses.append)
        tray.link.refresh()
        tray.link.runner.wait(WAIT)
        qtbot.waitUntil(lambda: not tray.link._polling, timeout=WAIT)
        qtbot.wait(50)
        assert statuses == [None]  # one poll, one statusChanged
        window = tray.show_flags()
        qtbot.waitUntil(lambda: window.error.isVisible(), timeout=WAIT)
        assert window.error.text() == tr("agent.not_running") and window.model.rows == []
        assert window.error.textFormat() == Qt.TextFormat.PlainText  # the agent's text is never HTML
        agent.start()
        agent.wait_scanned()
        with qtbot.waitSignal(window.loaded, timeout=WAIT):
            tray.link.refresh()  # the next poll finds the agent: the window loads by itself
        assert not window.error.isVisible() and len(window.model.rows) == 5
    finally:
        agent.kill_all()


def test_usable_by_keyboard_alone(qtbot, real_agent, link_factory):
    from PySide6.QtWidgets import QLabel, QPushButton

    tray = link_factory(real_agent)
    window = open_flags(qtbot, tray)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    for widget in (window, *[tray.show_appeals(), tray.show_transparency(), tray.show_settings()]):
        for label in widget.findChildren(QLabel):
            if label.buddy() is not None:
                assert "&" in label.text(), label.text()  # Alt+letter reaches the field
        for button in widget.findChildren(QPushButton):
            assert "&" in button.text() or button.text() in (tr_cancel(),), button.text()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # Ctrl+F: the filter
    assert window.filter.hasFocus()
    # Tab walks filter -> refresh -> table -> field -> excerpt -> explanation -> appeal -> close.
    chain, widget = [], window.filter
    for _ in range(60):
        widget = widget.nextInFocusChain()
        if widget is window.filter:
            break
        chain.append(widget)
    wanted = [
        window.refresh_button,
        window.view,
        window.field,
        window.excerpt,
        window.why,
        window.appeal_button,
        window.close_button,
    ]
    assert [w for w in chain if any(w is x for x in wanted)] == wanted
    # From the table, choose a flag and appeal it without the mouse.
    window.view.setFocus()
    with qtbot.waitSignal(window.detailLoaded, timeout=WAIT):
        qtbot.keyClick(window.view, Qt.Key.Key_Down)
    key = window.detail["id"]
    window.appeal_button.setFocus()
    qtbot.keyClick(window.appeal_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _dialog(window) is not None and _dialog(window).isVisible(), timeout=WAIT)
    dialog = _dialog(window)
    qtbot.waitUntil(dialog.reason.hasFocus, timeout=WAIT)  # the dialog opens on the required field
    qtbot.keyClicks(dialog.reason, "keyboard only")
    with qtbot.waitSignal(dialog.filed, timeout=WAIT):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # Enter: the default button files it
    assert real_agent.query("SELECT message_key, reason FROM appeals") == [
        {"message_key": key, "reason": "keyboard only"}
    ]
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # Esc closes the window
    assert not window.isVisible()


def tr_cancel() -> str:
    from ui.i18n import tr

    return tr("appeal.cancel")


def _dialog(window):
    from ui.windows.appeals import AppealDialog

    found = window.findChildren(AppealDialog)
    return found[-1] if found else None
