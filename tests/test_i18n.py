"""The message catalogue (docs/i18n.md): complete in both languages, built from its sources, true to
the glossary, naming every key the code asks for; and the CLI, run in Chinese, shows no English."""

from __future__ import annotations

import ast
import json
import re
import shutil

import click
import pytest
from click.testing import CliRunner

from companion.cli import cli
from companion.cli_catalogue import entry_keys
from companion.i18n import Msg, lookup, msg, t
from tests.conftest import REPO, build_eml, i18n_tool
from tests.i18n_checks import assert_chinese, english_words
from tests.test_store_thunderbird import _profile_whose_accounts_name_other_folders

CJK = re.compile(r"[\u4e00-\u9fff]")
SAME_IN_BOTH = {"tray.tx.col.id", "tray.none", "ext.extensionName", "cli_out.install-outlook.default_value"}


@pytest.fixture(scope="module")
def entries():
    return i18n_tool().entries()


# -- the catalogue -----------------------------------------------------------------------------------


def test_the_catalogue_is_complete_and_consistent(entries):
    assert i18n_tool().problems() == []
    keys = [e.key for e in entries]
    assert len(keys) == len(set(keys)) > 500
    for e in entries:
        words = re.sub(r"\{[^{}]*\}|%\(\w+\)s", "", e.en)
        if e.key not in SAME_IN_BOTH and re.search("[A-Za-z]{2}", words):
            assert CJK.search(e.zh), f"{e.key}: the Chinese has no Chinese: {e.zh!r}"


def test_the_code_reads_what_the_sources_say(entries):
    """The compiled .mo files are the sources of this commit (the session builds them when stale)."""
    for e in entries:
        assert lookup(e.key, "en") == e.en and lookup(e.key, "zh") == e.zh, e.key
    assert lookup("no.such.key", "en") is None
    with pytest.raises(KeyError):
        t("no.such.key", "en")


def test_the_extension_locales_are_generated_from_the_catalogue():
    for path, text in i18n_tool().extension_files().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run python scripts/i18n.py extension"
        )
    en = json.loads((REPO / "thunderbird_ext/_locales/en/messages.json").read_text(encoding="utf-8"))
    assert en["truncated"]["placeholders"] == {"shown": {"content": "$1"}, "total": {"content": "$2"}}
    assert en["truncated"]["message"] == "Only the first $SHOWN$ of $TOTAL$ findings are shown."


def _glossary() -> list[dict[str, str]]:
    rows = []
    lines = (REPO / "docs/glossary.md").read_text(encoding="utf-8").splitlines()
    table = [line for line in lines if line.startswith("|")][2:]  # after the header and its rule
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(dict(zip(("term", "en", "zh", "avoid_en", "avoid_zh"), cells, strict=True)))
    return rows


def _as_term(word: str) -> str:
    """A Latin word is a term on its own, not inside a path or a name (collector.db); CJK anywhere."""
    if re.fullmatch(r"[A-Za-z ]+", word):
        return rf"(?<![\w./-]){re.escape(word)}(?![\w./-])"
    return re.escape(word)


def test_every_string_uses_the_glossary_terms(entries):
    rows = _glossary()
    assert len(rows) > 20
    assert {"汇总服务器", "后台服务", "本机的 Mailwarden"} <= {r["zh"] for r in rows}
    avoid_zh = {w.strip() for r in rows for w in r["avoid_zh"].split(",") if w.strip()}
    avoid_en = {w.strip() for r in rows for w in r["avoid_en"].split(",") if w.strip()}
    assert {"助手", "后台代理", "collector"} <= avoid_zh and "companion" in avoid_en
    bad = []
    for e in entries:
        bad += [(e.key, w, e.zh) for w in avoid_zh if re.search(_as_term(w), e.zh)]
        bad += [(e.key, w, e.en) for w in avoid_en if re.search(rf"\b{re.escape(w)}\b", e.en, re.I)]
    assert bad == []


# -- keys named by the code ------------------------------------------------------------------------------


# Functions that take a catalogue key, and where the key is; each part looks under its prefix first.
KEY_CALLS = {"t": 0, "msg": 0, "Msg": 0, "has": 0, "tr": 0, "translate": 1, "text": 0}
PART_PREFIX = {"ui": "tray.", "collector": "dash.", "outlook_bridge": "outlook.", "companion": ""}
ERROR_CLASS = re.compile(r"(Error|NotRunning)$")


def _literal_keys() -> list[tuple[str, str, str]]:
    """(file, key — or a key prefix ending with "*" —, part prefix) of every key in the code."""
    found = []
    for folder, prefix in PART_PREFIX.items():
        for path in (REPO / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None) or ""
                if ERROR_CLASS.search(name):  # SomeError(key="…", values=…)
                    for kw in node.keywords:
                        if kw.arg == "key" and isinstance(kw.value, ast.Constant | ast.JoinedStr):
                            found.append((path.name, _key_of(kw.value), ""))
                if name == "text" and folder != "outlook_bridge":
                    continue  # the Outlook window's text(); elsewhere other things are called text
                index = KEY_CALLS.get(name)
                if index is not None and len(node.args) > index:
                    arg = node.args[index]
                    if isinstance(arg, ast.Constant | ast.JoinedStr):
                        found.append((path.name, _key_of(arg), prefix))
        for path in (REPO / folder).rglob("*.html"):
            for key in re.findall(r"\bt\('([^']+)'", path.read_text(encoding="utf-8")):
                found.append((path.name, key + "*" if key.endswith(".") else key, prefix))
    return [f for f in found if f[1] is not None]


def _key_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    head = node.values[0] if node.values else None
    if isinstance(head, ast.Constant) and isinstance(head.value, str):
        return head.value + "*"  # f"tier.{tier}": some key must start so
    return None


def test_every_key_the_code_names_is_in_the_catalogue(entries):
    keys = {e.key for e in entries}
    found = _literal_keys()
    assert len(found) > 300
    missing = []
    for file, key, prefix in found:
        if key.endswith("*"):
            stem = key[:-1]
            if not any(k.startswith((prefix + stem, stem)) for k in keys):
                missing.append((file, key))
        elif prefix + key not in keys and key not in keys:
            missing.append((file, key))
    assert missing == []


def test_every_command_and_option_has_its_help_in_the_catalogue():
    keys = list(entry_keys(cli))
    assert "cli" in keys and "cli.check" in keys and "cli.check.exit_code" in keys
    assert [k for k in keys if lookup(k, "en") is None] == []

    def walk(command):
        yield command
        for sub in getattr(command, "commands", {}).values():
            yield from walk(sub)

    literal = [
        (c.name, p.name)
        for c in walk(cli)
        for p in c.params
        if isinstance(p, click.Option) and p.help and p.name != "version"  # click words --version
    ]
    assert literal == [], "help texts belong in the catalogue (cli.<command>.<option>)"


# -- managing the catalogue ------------------------------------------------------------------------------


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """scripts/i18n.py working on copies of the sources."""
    tool = i18n_tool()
    pot = tmp_path / "mailwarden.pot"
    po = tmp_path / "zh_CN.po"
    shutil.copyfile(tool.TEMPLATE, pot)
    shutil.copyfile(tool.TRANSLATIONS["zh_CN"], po)
    monkeypatch.setattr(tool, "TEMPLATE", pot)
    monkeypatch.setattr(tool, "TRANSLATIONS", {"zh_CN": po})
    return tool


def test_new_english_makes_the_chinese_fuzzy_until_a_translator_confirms_it(scratch):
    scratch.set_texts("flags.none", en="Nothing of yours was flagged.")
    entry = next(e for e in scratch.entries() if e.key == "flags.none")
    assert entry.en == "Nothing of yours was flagged." and entry.zh is None
    po = scratch.TRANSLATIONS["zh_CN"].read_text(encoding="utf-8")
    block = po[po.index('msgctxt "flags.none"') - 80 : po.index('msgctxt "flags.none"') + 200]
    assert "#, fuzzy" in block and '#| msgid "No flagged mail."' in block and "没有被标记的邮件。" in block
    assert any("flags.none" in p for p in scratch.problems())
    scratch.set_texts("flags.none", zh="您的邮件中没有被标记的内容。")
    assert next(e for e in scratch.entries() if e.key == "flags.none").zh == "您的邮件中没有被标记的内容。"
    assert scratch.problems() == []


def test_old_python_catalogue_entries_fold_in_with_their_prefix(scratch):
    companion_style = '"demo.bye": {"en": "Bye {name}", "zh": "再见 {name}"},'
    tray_style = '"menu.export": ("&Export…", "导出(&E)…"),\n"menu.print": ("&Print", "打印(&P)"),'
    assert scratch.add(scratch.parse_dict_entries(companion_style)) == ["demo.bye"]
    assert scratch.add(scratch.parse_dict_entries(tray_style, "tray")) == [
        "tray.menu.export",
        "tray.menu.print",
    ]
    added = {e.key: (e.en, e.zh) for e in scratch.entries()}
    assert added["tray.menu.export"] == ("&Export…", "导出(&E)…") and added["demo.bye"] == (
        "Bye {name}",
        "再见 {name}",
    )
    assert scratch.add(scratch.parse_dict_entries(companion_style)) == []  # already there: nothing to do
    with pytest.raises(SystemExit, match="exists with other texts"):
        scratch.add(scratch.parse_dict_entries('"demo.bye": {"en": "Goodbye", "zh": "再见"}'))


def test_a_message_is_said_in_the_language_of_its_reader():
    error = msg("error.cannot_read", source="a.eml", reason=Msg("error.os.not_found"))
    assert error.text("en") == "cannot read a.eml: no such file or folder" == str(error)
    assert error.text("zh") == "无法读取 a.eml：文件或文件夹不存在"


def test_the_detector_finds_english_in_chinese():
    assert english_words("扫描：idle，上次完成于 2026-12-07") == ["idle"]
    assert english_words("错误: cannot read x.eml") == ["cannot", "read"]
    assert english_words("部门=sales-east · appeals=2,1") == ["appeals"]
    assert english_words("用法： mailwarden check [OPTIONS] FILES...", kept={"check"}) == []
    assert english_words("规则 commit.lowest-price 在 --json 中，见 https://x.example/a") == []
    assert english_words("规则 'x'：未知的级别 'nope'（应为以下之一：'info', 'approval'）") == []


# -- the CLI in Chinese ----------------------------------------------------------------------------------


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _zh(*args: str, input: bytes | None = None):
    return CliRunner().invoke(
        cli, list(args), input=input, env={"MAILWARDEN_LANG": "zh"}, prog_name="mailwarden"
    )


COMMAND_NAMES = {name for path, _ in _commands(cli) for name in path}


def test_every_help_of_the_cli_is_chinese():
    texts = {}
    for path, _ in _commands(cli):
        result = _zh(*path, "--help")
        assert result.exit_code == 0, result.output
        texts[" ".join(("mailwarden", *path, "--help"))] = result.output
    assert "用法" in texts["mailwarden --help"] and "选项" in texts["mailwarden check --help"]
    assert_chinese(texts, kept=COMMAND_NAMES)


def test_the_cli_outputs_are_chinese(tmp_path, isolated_home):
    mails = {
        "warn.eml": build_eml("我们保证最低价。", subject="报价"),
        "block.eml": build_eml("我们私下交易吧，别让公司知道。", subject="合作"),
        "pass.eml": build_eml("附件是装箱单。", subject="装箱单"),
    }
    for name, raw in mails.items():
        (tmp_path / name).write_bytes(raw)
    profile = _profile_whose_accounts_name_other_folders(tmp_path / "tb")
    bad_policy = tmp_path / "bad.toml"
    bad_policy.write_text('[policy]\nversion = "1"\n\n[[rule]]\nid = "x"\n', encoding="utf-8")
    outputs = {}

    def run(*args: str, input: bytes | None = None) -> None:
        result = _zh(*args, input=input)
        outputs[" ".join(args)] = result.output + result.stderr

    run("check", *(str(tmp_path / n) for n in mails))
    run("check", str(tmp_path / "missing.eml"), str(REPO / "Makefile"))
    run("check", "--text", "-", input="我们保证最低价".encode())
    run("check", "--role", "nobody", str(tmp_path / "pass.eml"))
    run("check", "--exit-code", "--no-such-option", "x")
    run("check", "--policy", str(bad_policy), str(tmp_path / "pass.eml"))
    run("policy", "validate", str(bad_policy))
    run("policy", "validate", str(REPO / "companion/policy/default_policy.toml"))
    run("scan", str(tmp_path), str(profile), str(tmp_path / "nowhere"))
    run("flags")
    run("stores")
    run("status")
    run("stop")
    run("install-outlook")
    run("install-thunderbird", "--fail-mode", "open")
    run("no-such-command")
    assert "不是电子邮件" in outputs[f"check {tmp_path / 'missing.eml'} {REPO / 'Makefile'}"]
    assert "后台服务未运行" in outputs["status"]
    assert "没有读取任何邮件" in outputs[f"scan {tmp_path} {profile} {tmp_path / 'nowhere'}"]
    data = [str(tmp_path), str(REPO), "nobody"]  # paths and the role the user typed
    assert_chinese(outputs, data=data, kept=COMMAND_NAMES)


def test_every_help_of_the_collector_cli_is_chinese():
    from collector.cli import main

    texts = {}
    for path, _ in _commands(main):
        result = CliRunner().invoke(
            main, [*path, "--help"], env={"MAILWARDEN_LANG": "zh"}, prog_name="mailwarden-collector"
        )
        assert result.exit_code == 0, result.output
        texts[" ".join(("mailwarden-collector", *path))] = result.output
    assert [k for k in entry_keys(main) if lookup(k, "en") is None] == []
    from collector.admin import ROLES

    assert_chinese(texts, kept={name for path, _ in _commands(main) for name in path} | set(ROLES))


def test_two_branches_that_add_strings_merge_by_key(tmp_path):
    # git's merge driver for the catalogue (.gitattributes): both sides' additions kept, one side's
    # change taken, a change made differently on both sides reported (ours kept).
    tool = i18n_tool()

    def po(path, *entries):
        lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
        for key, en, zh in entries:
            lines += [f'msgctxt "{key}"', f'msgid "{en}"', f'msgstr "{zh}"', ""]
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    base = po(tmp_path / "base.po", ("a", "A", "甲"), ("b", "B", "乙"))
    ours = po(tmp_path / "ours.po", ("a", "A", "甲甲"), ("b", "B", "乙"), ("x", "X", "十"))
    theirs = po(tmp_path / "theirs.po", ("a", "A", "甲"), ("b", "B2", "乙二"), ("y", "Y", "十一"))
    assert tool.merge_files(base, ours, theirs) == []
    merged = {m.context: (m.id, m.string) for m in tool.read_catalog(ours) if m.context}
    assert merged == {"a": ("A", "甲甲"), "b": ("B2", "乙二"), "x": ("X", "十"), "y": ("Y", "十一")}
    assert [m.context for m in tool.read_catalog(ours) if m.context] == ["a", "b", "x", "y"]

    clash = po(tmp_path / "clash.po", ("a", "A", "丙"), ("b", "B", "乙"))
    ours = po(tmp_path / "ours2.po", ("a", "A", "甲甲"), ("b", "B", "乙"))
    assert tool.merge_files(base, ours, clash) == ["a"]
