"""Simplified Chinese and English: every key has both, every visible string goes through the
catalogue, and switching the language at runtime changes every string of every open window."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QWidget,
)

from tests.conftest import i18n_tool
from tests.i18n_checks import assert_chinese
from ui.i18n import tr, translator
from ui.qtcompat import emit

pytest_plugins = ("tests.ui_fixtures",)

WAIT = 15000
UI = Path(__file__).resolve().parents[1] / "ui"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # Chinese, or its full-width punctuation
SAME_IN_BOTH = {"tx.col.id", "none"}  # "#" and "—"


def test_every_tray_key_has_both_languages_and_mnemonics_in_both():
    entries = [e for e in i18n_tool().entries() if e.key.startswith("tray.")]
    assert len(entries) > 100
    for e in entries:
        assert e.en.strip() and e.zh and e.zh.strip(), e.key
        if e.key.removeprefix("tray.") not in SAME_IN_BOTH:
            assert e.en != e.zh and CJK.search(e.zh), e.key
        assert ("&" in e.en) == ("&" in e.zh), f"{e.key}: a mnemonic in one language only"


def test_no_visible_string_bypasses_the_catalogue():
    """Text setters and menu entries in ui/ get their words from tr(), never from a literal: a literal
    given to one of them may only hold placeholders and punctuation (e.g. f"{subject} — {when}")."""
    setter = re.compile(
        r"\.(setText|setWindowTitle|setPlaceholderText|setTabText|setToolTip|setItemText|"
        r"addAction|addTab|addItem|showMessage|setHtml)\(\s*f?(\"(?:[^\"\\\\]|\\\\.)*\"|"
        r"'(?:[^'\\\\]|\\\\.)*')"
    )
    offenders, checked = [], 0
    for path in UI.rglob("*.py"):  # ui/windows/ too
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in setter.finditer(line):
                checked += 1
                words = re.sub(r"\{[^{}]*\}", "", m.group(2)[1:-1])
                if re.search(r"[^\W\d_]", words):
                    offenders.append(f"{path.relative_to(UI)}:{n}: {line.strip()}")
    assert checked >= 5 and offenders == []


def texts(window: QWidget) -> dict[str, str]:
    """Every string a user can see in a window, by a stable name."""
    out = {"title": window.windowTitle()}
    for i, w in enumerate(window.findChildren(QWidget)):
        name = f"{type(w).__name__}#{i}"
        if isinstance(w, QLabel) and w.text():
            out[name] = w.text()
        elif isinstance(w, QAbstractButton) and w.text():
            out[name] = w.text()
        elif isinstance(w, QLineEdit) and w.placeholderText():
            out[name + ".placeholder"] = w.placeholderText()
        elif isinstance(w, QTabWidget):
            out.update({f"{name}.tab{t}": w.tabText(t) for t in range(w.count())})
        elif isinstance(w, QComboBox):
            out.update(
                {
                    f"{name}.item{t}": w.itemText(t)
                    for t in range(w.count())
                    if w.itemData(t) is None or w.itemData(t) in ("", "en", "zh", "body", "subject")
                }
            )
        elif isinstance(w, QTextBrowser) and w.toPlainText():
            out[name] = w.toPlainText()
        elif isinstance(w, QTableView):
            model = w.model()
            out.update(
                {
                    f"{name}.header{c}": model.headerData(c, Qt.Orientation.Horizontal)
                    for c in range(model.columnCount())
                }
            )
    return out


def _user_data(client) -> list[str]:
    """What the agent holds of the user's own mail: shown as it is, in any language."""
    flags = client.flags()["flags"]
    data = [str(f.get(k) or "") for f in flags for k in ("subject", "counterpart", "folder", "account")]
    for f in flags:
        detail = client.flag(f["id"])
        data += [str(v) for v in _strings(detail)]
    data += [str(v) for v in _strings(client.appeals())] + [str(v) for v in _strings(client.outbox())]
    return [d for d in data if d and not CJK.search(d)]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in ("status", "kind", "tier", "choice", "direction", "verdict", "explanation"):
                yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_switching_the_language_changes_every_string(qtbot, real_agent, link_factory, monkeypatch):
    client = real_agent.client()
    key = next(f["id"] for f in client.flags()["flags"] if f["subject"] == "Re: order 4471")
    client.file_appeal(key, "normal discount")
    tray = link_factory(real_agent)
    tray.start()
    flags = tray.show_flags()
    with qtbot.waitSignal(flags.detailLoaded, timeout=WAIT):
        pass
    windows = {
        "flags": flags,
        "appeals": tray.show_appeals(),
        "transparency": tray.show_transparency(),
        "settings": tray.show_settings(),
        "about": tray.show_about(),
    }
    qtbot.waitUntil(
        lambda: bool(
            windows["settings"].settings
            and windows["appeals"].model.rows
            and windows["transparency"].item is None
            and tray.link.status
        ),
        timeout=WAIT,
    )
    windows["appeal"] = flags.open_appeal()
    tray.notify(tr("notify.appeal.title"), "x")
    windows["notices"] = tray.windows["notices"]
    menu = {name: action.text() for name, action in tray.actions.items()}
    before = {w: texts(win) for w, win in windows.items()}
    cells_before = [flags.proxy.index(r, c).data() for r in range(flags.proxy.rowCount()) for c in (1, 4)]

    settings = windows["settings"]
    index = settings.language.findData("zh")
    settings.language.setCurrentIndex(index)
    emit(settings.language.activated, index)  # as when the user picks it
    assert translator().lang == "zh"
    after = {w: texts(win) for w, win in windows.items()}
    unchanged = []
    for w in windows:
        assert before[w].keys() == after[w].keys(), w
        for name, text in before[w].items():
            if text not in ("#", "—") and after[w][name] == text:
                unchanged.append((w, name, text))
    assert unchanged == [], unchanged
    assert all(CJK.search(t) for w in after for t in after[w].values() if t not in ("#", "—"))
    # …and none shows English words, but for the user's own data (subjects, addresses, mail text).
    shown = {f"{w}.{name}": text for w in after for name, text in after[w].items()}
    shown |= {f"menu.{name}": action.text() for name, action in tray.actions.items()}
    shown["tooltip"] = tray.tooltip()
    assert_chinese(shown, data=_user_data(client))
    assert all(
        CJK.search(action.text()) and action.text() != menu[name] for name, action in tray.actions.items()
    )
    assert CJK.search(tray.tooltip())
    cells_after = [flags.proxy.index(r, c).data() for r in range(flags.proxy.rowCount()) for c in (1, 4)]
    assert all(CJK.search(c) for c in cells_after) and cells_after != cells_before
    assert after["flags"]["title"] == "我的标记 — Mailwarden"
    assert tr("menu.flags") == "我的标记(&F)"  # mnemonics in the Chinese way
    # The agent remembers the choice: a tray started later (after a log-off) is in Chinese at once.
    qtbot.waitUntil(lambda: client.settings()["language"] == "zh", timeout=WAIT)
    translator().set_language("en")
    second = link_factory(real_agent)
    second.start()
    qtbot.waitUntil(lambda: translator().lang == "zh", timeout=WAIT)
    # Back to English: every string comes back exactly.
    translator().set_language("en")
    assert {w: texts(win) for w, win in windows.items() if w != "notices"} == {
        w: t for w, t in before.items() if w != "notices"
    }
    assert {name: action.text() for name, action in tray.actions.items()} == menu


def test_follow_the_system_language(qtbot, real_agent, link_factory, monkeypatch):
    monkeypatch.setenv("MAILWARDEN_LANG", "zh")
    translator().set_language("")  # "" = the system locale
    assert translator().lang == "zh" and tr("close") == "关闭(&C)"
    monkeypatch.setenv("MAILWARDEN_LANG", "en")
    translator().set_language("")
    assert translator().lang == "en"


def test_no_string_promises_that_no_mail_text_leaves():
    # Snippets do leave (the matched phrase and a few masked words): the tray says so, in both
    # languages, and nothing claims the body never does (issue 15).
    entries = {e.key: e for e in i18n_tool().entries()}
    for e in entries.values():
        assert not re.search(r"never (?:be )?upload|no mail body", e.en, re.I), e.key
        assert "绝不会上传" not in e.zh and "正文不会" not in e.zh, e.key
    intro = entries["tray.tx.intro"]
    assert "matched phrase and a few words around it" in intro.en and "masked" in intro.en
    assert "只上传命中短语及其前后几个词" in intro.zh and "均已遮盖" in intro.zh
