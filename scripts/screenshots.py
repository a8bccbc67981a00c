"""Render each tray window in English and Simplified Chinese to docs/screenshots/tray-*.png.

Runs headless (Qt's offscreen platform) against a real agent started in a temporary data directory
whose database is filled by scanning the demo mailbox; a small protocol collector on 127.0.0.1
(tests/fake_collector.py) takes the summaries and an appeal and sends a decision back, so every
window shows real data. Nothing touches the user's own data directory or credential store.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei")


def wait_for(app, what: str, check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        app.processEvents()
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        time.sleep(0.02)
    for _ in range(5):
        app.processEvents()


def prepare(root: Path):
    """A running agent with flags, a pre-send decision, appeals (one decided) and an outbox."""
    import companion.keystore
    from companion.enroll import enroll
    from companion.outbox import upload_pending
    from companion.policy_update import pull_decisions
    from companion.records import Database
    from companion.summary import queue_summary
    from tests.fake_collector import FakeCollector
    from tests.fixtures import record_presend as record
    from tests.ui_fixtures import make_agent

    companion.keystore._usable_keyring = lambda: None  # the device key goes to the temporary directory
    agent = make_agent(root)
    os.environ["MAILWARDEN_HOME"] = str(agent.home)
    client = agent.client()
    flags = {f["subject"]: f for f in client.flags()["flags"]}
    quote = flags["回复：询价：不锈钢阀门 500 件"]
    order = flags["Re: order 4471"]
    db = Database(agent.paths.database)
    record(  # the decision the demo's sent mail names in its X-Mailwarden header
        db,
        "thunderbird",
        {"subject": quote["subject"], "to": [quote["counterpart"]], "body": "我们保证全网最低价，终身保修。"},
        "justified",
        justification="价格已获陈经理批准",
        key="demo-decision-5",
    )
    first = client.file_appeal(order["id"], "这是正常的返点，已报备财务", comment="见 CRM 4471")["appeal"][
        "id"
    ]
    collector = FakeCollector().up()
    try:
        enroll(agent.paths, collector.url, "good-token", "sales-east", db=db, hostname="PC-0421")
        queue_summary(db, agent.paths)
        upload_pending(db, agent.paths)
        collector.state.decisions.append(
            {
                "id": 1,
                "appeal_id": first,
                "status": "upheld",
                "comment": "同意，已更新规则",
                "decided_at": "2026-11-25T09:00:00+00:00",
            }
        )
        pull_decisions(db, agent.paths)
        client.file_appeal(quote["id"], "price approved by my manager", rule="commit.lowest-price")
        queue_summary(db, agent.paths)
    finally:
        collector.down()
        db.close()
    return agent


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtGui import QFont, QFontDatabase
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    families = set(QFontDatabase.families())
    for family in CJK_FONTS:
        if family in families:
            app.setFont(QFont(family, 10))
            break
    with tempfile.TemporaryDirectory(prefix="mailwarden-shots-") as tmp:
        agent = prepare(Path(tmp))
        try:
            written = shoot(app, agent, out)
        finally:
            agent.kill_all()
    for path in written:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


def shoot(app, agent, out: Path) -> list[Path]:
    from ui.i18n import translator
    from ui.tray import TrayApp

    written = []
    for lang in ("en", "zh"):
        translator().set_language(lang)
        tray = TrayApp(agent.paths, autostart=False, poll_ms=60000, use_tray=False)
        tray.language_from_agent = False
        tray.start()
        wait_for(app, "the status", lambda t=tray: t.link.status is not None)

        def save(name: str, widget, lang: str = lang) -> None:
            app.processEvents()
            path = out / f"tray-{name}-{lang}.png"
            widget.grab().save(str(path))
            written.append(path)

        flags = tray.show_flags()
        wait_for(app, "the flags", lambda f=flags: f.model.rows)
        flags.select(
            next(r["id"] for r in flags.model.rows if r["subject"] == "回复：询价：不锈钢阀门 500 件")
        )
        wait_for(app, "a flag's detail", lambda f=flags: f.detail and f.detail["subject"].startswith("回复"))
        save("flags", flags)
        dialog = flags.open_appeal()
        dialog.reason.setText("price approved by my manager" if lang == "en" else "价格已获经理批准")
        save("appeal-dialog", dialog)
        dialog.reject()
        flags.close()
        appeals = tray.show_appeals()
        wait_for(app, "the appeals", lambda a=appeals: a.model.rows)
        save("appeals", appeals)
        appeals.close()
        tx = tray.show_transparency()
        wait_for(app, "the outbox", lambda t=tx: t.item is not None)
        tx.view.selectRow(next(r for r in range(tx.proxy.rowCount()) if tx.proxy.index(r, 3).data() == "1"))
        save("transparency", tx)
        tx.tabs.setCurrentIndex(1)
        save("transparency-raw", tx)
        tx.close()
        settings = tray.show_settings()
        wait_for(app, "the settings", lambda s=settings: s.settings)
        save("settings", settings)
        settings.close()
        about = tray.show_about()
        save("about", about)
        about.close()
        tray.menu.adjustSize()
        save("menu", tray.menu)
        save("states", states_sheet())
        tray.link.stop()
        tray.link.runner.wait(10000)
        app.processEvents()
    return written


def states_sheet():
    """The four tray icons with what each says (its tooltip), as the user sees them at a glance."""
    from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

    from ui.i18n import tr
    from ui.tray import icon

    sheet = QWidget()
    grid = QGridLayout(sheet)
    for row, (state, text) in enumerate(
        [
            ("ok", tr("state.ok")),
            ("attention", tr("state.attention", n=2)),
            ("offline", tr("state.offline", n=3)),
            ("stopped", tr("state.stopped")),
        ]
    ):
        picture = QLabel()
        picture.setPixmap(icon(state).pixmap(32, 32))
        grid.addWidget(picture, row, 0)
        grid.addWidget(QLabel(text), row, 1)
    sheet.adjustSize()
    return sheet


if __name__ == "__main__":
    sys.exit(main(sys.argv))
