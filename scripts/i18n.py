"""The message catalogue, managed with Babel (docs/i18n.md says how to add a string).

Sources, edited by developers and translators:
  companion/locale/mailwarden.pot                    every string: msgctxt = its key, msgid = English
  companion/locale/zh_CN/LC_MESSAGES/mailwarden.po   the Simplified Chinese of each (msgstr)
Built from them (never committed):
  companion/locale/{en,zh_CN}/LC_MESSAGES/mailwarden.mo   key -> text, what companion.i18n reads
Generated from them and committed (the extension is built from its folder as it is):
  thunderbird_ext/_locales/{en,zh_CN}/messages.json        the "ext." keys, in the WebExtension format

  python scripts/i18n.py compile      build the .mo files (make i18n; the package build does it too)
  python scripts/i18n.py update       merge the .pot into the .po: new keys untranslated, changed
                                      English marked fuzzy (pybabel update, keyed by msgctxt)
  python scripts/i18n.py extension    write the extension's messages.json files
  python scripts/i18n.py check        list untranslated, fuzzy and placeholder mismatches (exit 1)
  python scripts/i18n.py add KEY EN ZH [--note TEXT]
  python scripts/i18n.py remove KEY...  drop strings no part uses any more
  python scripts/i18n.py set KEY [--en TEXT] [--zh TEXT]
                                      change a string (a new English without --zh makes the
                                      Chinese fuzzy: a translator must confirm it)
  python scripts/i18n.py fold [--prefix P] FILE
                                      add dict entries of the old Python catalogues, pasted in FILE
                                      ("key": {"en": …, "zh": …}, or "key": ("en", "zh"), one or more)
  python scripts/i18n.py merge-file BASE OURS THEIRS
                                      git's merge driver for the .pot/.po files (.gitattributes;
                                      `make install` registers it): a three-way merge by key, so two
                                      branches that each add strings at the end never conflict
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parents[1]
LOCALE_DIR = REPO / "companion" / "locale"
DOMAIN = "mailwarden"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
TRANSLATIONS = {"zh_CN": LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.po"}
RUNTIME_LOCALES = ("en", "zh_CN")  # companion.i18n.LOCALES
EXTENSION_LOCALES = REPO / "thunderbird_ext" / "_locales"
EXTENSION_PREFIX = "ext."
FORMAT_FLAG = "python-brace-format"


@dataclass(frozen=True)
class Entry:
    key: str
    en: str
    zh: str | None  # None: not translated yet (or fuzzy)
    note: str = ""


def mo_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


def placeholders(text: str) -> set[str]:
    """The {names} a text formats (str.format syntax, as companion.i18n.t fills them)."""
    try:
        return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<malformed braces>"}


# -- reading and writing the sources ----------------------------------------------------------------


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def write_catalog(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, ignore_obsolete=True, include_previous=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def _messages(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id and m.context)


def entries() -> list[Entry]:
    """Every string of the template with its Chinese (None when missing or fuzzy)."""
    zh = {m.context: m for m in _messages(read_catalog(TRANSLATIONS["zh_CN"], "zh_CN"))}
    found = []
    for m in _messages(read_catalog(TEMPLATE)):
        t = zh.get(m.context)
        translated = t is not None and t.string and not t.fuzzy and t.id == m.id
        found.append(Entry(m.context, m.id, t.string if translated else None, " ".join(m.auto_comments)))
    return found


def problems() -> list[str]:
    """What keeps the catalogue from being complete: missing or fuzzy Chinese, placeholders that
    differ between the languages, duplicate keys."""
    found = []
    for e in entries():
        if e.zh is None:
            found.append(f"{e.key}: no Chinese translation (or it is fuzzy): {e.en!r}")
        elif placeholders(e.en) != placeholders(e.zh):
            found.append(
                f"{e.key}: placeholders differ: en {sorted(placeholders(e.en))}, zh {sorted(placeholders(e.zh))}"
            )
    return found


# -- building ---------------------------------------------------------------------------------------


def runtime_catalogs() -> dict[str, dict[str, str]]:
    """locale -> key -> text, as the runtime reads them. An untranslated Chinese entry falls back to
    English here (never a missing key at runtime); the tests refuse it."""
    all_entries = entries()
    return {
        "en": {e.key: e.en for e in all_entries},
        "zh_CN": {e.key: e.zh if e.zh is not None else e.en for e in all_entries},
    }


def compile_all() -> list[Path]:
    written = []
    for locale, texts in runtime_catalogs().items():
        catalog = Catalog(locale=locale, domain=DOMAIN, project="Mailwarden", charset="utf-8")
        for key, text in texts.items():
            catalog.add(key, text)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        path = mo_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != buffer.getvalue():
            path.write_bytes(buffer.getvalue())
        written.append(path)
    return written


def stale() -> bool:
    """Whether a .mo file is missing or older than the sources it is built from."""
    newest = max(TEMPLATE.stat().st_mtime, *(p.stat().st_mtime for p in TRANSLATIONS.values()))
    return any(not mo_path(loc).is_file() or mo_path(loc).stat().st_mtime < newest for loc in RUNTIME_LOCALES)


def update() -> None:
    """Merge the template into each translation, as `pybabel update` does, matching entries by key
    (msgctxt): a new key comes untranslated; a key whose English changed keeps its translation,
    marked fuzzy with the previous English shown (#| msgid), until a translator confirms it; a key
    gone from the template is dropped."""
    template = read_catalog(TEMPLATE)
    for locale, path in TRANSLATIONS.items():
        old = read_catalog(path, locale)
        previous = {m.context: m for m in _messages(old)}
        merged = _empty_like(old, locale, template.creation_date)
        for m in _messages(template):
            was = previous.get(m.context)
            flags = set(m.flags) | ({"fuzzy"} if was is not None and was.fuzzy else set())
            changed = was is not None and was.id != m.id and bool(was.string)
            merged.add(
                m.id,
                was.string if was is not None else "",
                context=m.context,
                flags=flags | ({"fuzzy"} if changed else set()),
                auto_comments=m.auto_comments,
                user_comments=was.user_comments if was is not None else (),
                previous_id=was.id if changed else (was.previous_id if was is not None and was.fuzzy else ()),
            )
        write_catalog(merged, path)


def _empty_like(catalog: Catalog, locale: str | None, creation_date) -> Catalog:
    """A catalogue with the header of `catalog` and no messages."""
    return Catalog(
        locale=locale,
        domain=DOMAIN,
        header_comment=catalog.header_comment,
        project=catalog.project,
        version=catalog.version,
        copyright_holder=catalog.copyright_holder,
        msgid_bugs_address=catalog.msgid_bugs_address,
        creation_date=creation_date,
        revision_date=catalog.revision_date,
        last_translator=catalog.last_translator,
        language_team=catalog.language_team,
        fuzzy=False,
    )


# -- the extension's messages.json -------------------------------------------------------------------


def _webext_message(text: str, order: list[str]) -> dict:
    """ "Reason: {reason}" -> {"message": "Reason: $REASON$", "placeholders": {"reason": {"content": "$1"}}}."""
    message = re.sub(r"\{(\w+)\}", lambda m: f"${m.group(1).upper()}$", text.replace("$", "$$"))
    entry: dict = {"message": message}
    names = [n for n in order if n in placeholders(text)]
    if names:
        entry["placeholders"] = {n: {"content": f"${order.index(n) + 1}"} for n in names}
    return entry


def extension_messages() -> dict[str, dict[str, dict]]:
    """WebExtension locale -> messages.json content, from the "ext." keys. The positional
    substitutions ($1, $2…) follow the order of the placeholders in the English text."""
    out: dict[str, dict[str, dict]] = {"en": {}, "zh_CN": {}}
    for e in entries():
        if not e.key.startswith(EXTENSION_PREFIX):
            continue
        name = e.key[len(EXTENSION_PREFIX) :]
        order = [n for _, n, _, _ in string.Formatter().parse(e.en) if n]
        out["en"][name] = _webext_message(e.en, order) | ({"description": e.note} if e.note else {})
        out["zh_CN"][name] = _webext_message(e.zh if e.zh is not None else e.en, order)
    return out


def extension_files() -> dict[Path, str]:
    return {
        EXTENSION_LOCALES / locale / "messages.json": json.dumps(messages, ensure_ascii=False, indent=2)
        + "\n"
        for locale, messages in extension_messages().items()
    }


def write_extension() -> list[Path]:
    for path, text in extension_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(extension_files())


# -- adding strings --------------------------------------------------------------------------------


def add(new: list[Entry]) -> list[str]:
    """Add entries to the template and the Chinese catalogue; a key already there with the same
    texts is left alone, with other texts it is an error (change it in the .po files by hand)."""
    template = read_catalog(TEMPLATE)
    zh = read_catalog(TRANSLATIONS["zh_CN"], "zh_CN")
    existing = {m.context: m for m in _messages(template)}
    existing_zh = {m.context: m for m in _messages(zh)}
    done, errors = [], []
    for e in new:
        if e.key in existing:
            if existing[e.key].id != e.en or (existing_zh.get(e.key) and existing_zh[e.key].string != e.zh):
                errors.append(f"{e.key} exists with other texts: edit the catalogue by hand")
            continue
        flags = [FORMAT_FLAG] if placeholders(e.en) else []
        comments = [e.note] if e.note else []
        template.add(e.en, "", context=e.key, flags=flags, auto_comments=comments)
        zh.add(e.en, e.zh or "", context=e.key, flags=flags, auto_comments=comments)
        done.append(e.key)
    if errors:
        raise SystemExit("\n".join(errors))
    write_catalog(template, TEMPLATE)
    write_catalog(zh, TRANSLATIONS["zh_CN"])
    return done


def set_texts(key: str, en: str | None = None, zh: str | None = None) -> None:
    """Change the English and/or the Chinese of an existing key (a new English alone leaves the
    Chinese fuzzy, for a translator to confirm, as `update` does)."""
    template = read_catalog(TEMPLATE)
    if not any(m.context == key for m in _messages(template)):
        raise SystemExit(f"no key {key} in the catalogue: add it")
    if en is not None:
        rebuilt = _empty_like(template, None, template.creation_date)
        for m in _messages(template):
            flags = set(m.flags)
            if m.context == key:
                flags = flags - {FORMAT_FLAG} | ({FORMAT_FLAG} if placeholders(en) else set())
            rebuilt.add(
                en if m.context == key else m.id,
                "",
                context=m.context,
                flags=flags,
                auto_comments=m.auto_comments,
            )
        write_catalog(rebuilt, TEMPLATE)
        update()
    if zh is not None:
        catalog = read_catalog(TRANSLATIONS["zh_CN"], "zh_CN")
        z = next(m for m in _messages(catalog) if m.context == key)
        z.string = zh
        z.flags.discard("fuzzy")
        z.previous_id = []
        write_catalog(catalog, TRANSLATIONS["zh_CN"])


def remove(keys: list[str]) -> None:
    template = read_catalog(TEMPLATE)
    for m in list(_messages(template)):
        if m.context in keys:
            template.delete(m.id, context=m.context)
    write_catalog(template, TEMPLATE)
    update()


def parse_dict_entries(text: str, prefix: str = "") -> list[Entry]:
    """Entries of the old Python catalogues: `"key": {"en": "…", "zh": "…"},` (companion.i18n,
    collector.dashboard.i18n) or `"key": ("…", "…"),` (ui.i18n, English then Chinese)."""
    text = text.strip()
    literal = ast.literal_eval(text if text.startswith("{") and text.endswith("}") else "{" + text + "}")
    found = []
    for key, value in literal.items():
        en, zh = (value["en"], value["zh"]) if isinstance(value, dict) else value
        found.append(Entry(f"{prefix}.{key}" if prefix else key, en, zh))
    return found


# -- merging two branches' catalogues (git merge driver) ---------------------------------------------


def _fingerprint(m: Message | None) -> tuple | None:
    if m is None:
        return None
    return (m.id, m.string, m.fuzzy, tuple(m.auto_comments), tuple(m.user_comments), m.previous_id)


def merge_files(base: Path, ours: Path, theirs: Path) -> list[str]:
    """Merge THEIRS into OURS by key (msgctxt), against their common BASE; write OURS. An entry one
    side changed and the other did not takes the change; one both changed differently keeps ours
    and is reported (git then marks the file as conflicted). New keys keep each side's order."""
    catalogs = [read_catalog(p) for p in (base, ours, theirs)]
    b, o, t = ({m.context: m for m in _messages(c)} for c in catalogs)
    merged = _empty_like(
        catalogs[1], catalogs[1].locale and str(catalogs[1].locale), catalogs[1].creation_date
    )
    merged.mime_headers = catalogs[1].mime_headers
    conflicts = []
    for key in [*o, *(k for k in t if k not in o)]:
        mb, mo, mt = b.get(key), o.get(key), t.get(key)
        fo, ft, fb = _fingerprint(mo), _fingerprint(mt), _fingerprint(mb)
        if fo == ft or ft == fb:
            chosen = mo
        elif fo == fb:
            chosen = mt
        else:
            chosen = mo if mo is not None else mt
            conflicts.append(key)
        if chosen is not None:
            merged[chosen.id] = chosen  # keyed by (id, context) inside Babel
    write_catalog(merged, ours)
    return conflicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("compile")
    sub.add_parser("update")
    sub.add_parser("extension")
    sub.add_parser("check")
    p_add = sub.add_parser("add")
    p_add.add_argument("key")
    p_add.add_argument("en")
    p_add.add_argument("zh")
    p_add.add_argument("--note", default="")
    p_remove = sub.add_parser("remove")
    p_remove.add_argument("keys", nargs="+")
    p_set = sub.add_parser("set")
    p_set.add_argument("key")
    p_set.add_argument("--en")
    p_set.add_argument("--zh")
    p_fold = sub.add_parser("fold")
    p_fold.add_argument("--prefix", default="", help="tray, dash, outlook…: the part's key prefix")
    p_fold.add_argument("file", type=Path)
    p_merge = sub.add_parser("merge-file")
    p_merge.add_argument("base", type=Path)
    p_merge.add_argument("ours", type=Path)
    p_merge.add_argument("theirs", type=Path)
    args = parser.parse_args(argv)

    if args.command == "merge-file":
        conflicts = merge_files(args.base, args.ours, args.theirs)
        for key in conflicts:
            print(f"{key}: changed differently on both sides (ours kept)", file=sys.stderr)
        return 1 if conflicts else 0

    if args.command == "compile":
        for path in compile_all():
            print(path.relative_to(REPO))
    elif args.command == "update":
        update()
    elif args.command == "extension":
        for path in write_extension():
            print(path.relative_to(REPO))
    elif args.command == "check":
        found = problems()
        print("\n".join(found) or "the catalogue is complete")
        return 1 if found else 0
    elif args.command == "add":
        print("\n".join(add([Entry(args.key, args.en, args.zh, args.note)])) or "nothing new")
    elif args.command == "remove":
        remove(args.keys)
    elif args.command == "set":
        set_texts(args.key, args.en, args.zh)
    elif args.command == "fold":
        added = add(parse_dict_entries(args.file.read_text(encoding="utf-8"), args.prefix))
        print(f"{len(added)} entries added")
    if args.command in ("add", "remove", "set", "fold", "update"):
        compile_all()
        write_extension()
    return 0


if __name__ == "__main__":
    sys.exit(main())
