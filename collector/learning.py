"""Learning from appeals, the text side: from an upheld appeal's masked snippet to an allow-phrase
(docs/policy.md, `[[allow]]`: a match of one suppresses any finding it overlaps), and from a
policy text to a new draft carrying that allow-phrase under a newer version.

Plain functions over strings: the collector never imports `companion`, so a draft is checked
here as TOML with a `[policy]` version only; the workstation's parser checks it fully when the
signed policy arrives (and refuses it, keeping the old one, if it does not parse).
"""

from __future__ import annotations

import json
import re
import tomllib

MAX_PHRASE = 80
_MARKED = re.compile(r"»(.*?)«", re.S)
# Where the context of an exception stops: clause and sentence ends (a snippet is one line, so
# line breaks are gone), a snippet's cut edge (…) and masked personal data — a placeholder such as
# "[姓名]" (or "*" in snippets of older agents) would never match the real text again.
_STOP = re.compile(r"[.,!?;:。，、！？；：…*\[\]\n]")
_VERSION_LINE = re.compile(r'^(\s*version\s*=\s*)"([^"\n]*)"', re.M)
_TABLE_HEADER = re.compile(r"^\s*\[", re.M)


def exception_phrase(snippet: str) -> str | None:
    """The clause of `snippet` around its »match«, lower-cased, or None when there is no usable
    one (no mark, a masked or cut match). The clause (not the bare match) keeps the exception
    narrow: it allows the wording the reviewer judged harmless, not every use of the phrase."""
    found = _MARKED.search(snippet)
    if found is None:
        return None
    inner = found.group(1).strip()
    if not inner or _STOP.search(inner):
        return None
    before = _clause_end(snippet[: found.start()], from_left=False)
    after = _clause_end(snippet[found.end() :], from_left=True)
    phrase = re.sub(r"\s+", " ", f"{before}{inner}{after}").strip(" ,，、").lower()
    if len(phrase) > MAX_PHRASE:  # keep the match and as much context as fits, evenly
        spare = max(0, MAX_PHRASE - len(inner))
        phrase = f"{before[len(before) - spare // 2 :] if spare else ''}{inner}{after[: spare - spare // 2]}"
        phrase = re.sub(r"\s+", " ", phrase).strip(" ,，、").lower()
    return phrase or None


def _clause_end(text: str, from_left: bool) -> str:
    """The part of `text` next to the match up to the nearest stop, without a Latin word the stop
    (a snippet edge, a mask) cut in half: a half word would never match the real text."""
    stops = list(_STOP.finditer(text))
    if not stops:
        return text
    stop = stops[0] if from_left else stops[-1]
    piece = text[: stop.start()] if from_left else text[stop.end() :]
    if not piece or stop.group() not in "…*[]":  # punctuation ends words; an edge or a mask may not
        return piece
    edge = piece[-1] if from_left else piece[0]
    if edge.isascii() and edge.isalnum():
        words = piece.split(" ")
        piece = " ".join(words[:-1]) + " " if from_left else " " + " ".join(words[1:])
        piece = piece if piece.strip() else ""
    return piece


def bumped_version(version: str, newer: object) -> str:
    """The next version after `version`: the last number + 1 ("2026.11.1" -> "2026.11.2"), or
    `version` + ".1" when that would not compare newer with the `newer(a, b)` order given."""
    m = re.search(r"(\d+)$", version)
    if m:
        candidate = version[: m.start()] + str(int(m.group(1)) + 1)
        if newer(candidate, version):  # type: ignore[operator]
            return candidate
    return version + ".1"


def policy_version_span(text: str) -> tuple[int, int, str]:
    """(start, end, version) of the `version = "…"` string inside the [policy] table."""
    head = re.search(r"^\s*\[policy\]\s*$", text, re.M)
    if head is None:
        raise ValueError("the policy has no [policy] table")
    nxt = _TABLE_HEADER.search(text, head.end())
    stop = nxt.start() if nxt else len(text)
    m = _VERSION_LINE.search(text, head.end(), stop)
    if m is None:
        raise ValueError('the [policy] table has no version = "…" line')
    return m.start(2), m.end(2), m.group(2)


def add_allow_phrase(text: str, new_version: str, allow_id: str, phrase: str, note: str) -> str:
    """`text` with its version replaced by `new_version` and an [[allow]] table appended (after a
    comment saying where it came from). Raises ValueError when the result is not valid TOML or the
    id is taken."""
    start, end, _old = policy_version_span(text)
    draft = text[:start] + new_version + text[end:]
    try:
        existing = tomllib.loads(draft).get("allow", [])
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the policy is not valid TOML: {exc}") from None
    if any(isinstance(a, dict) and a.get("id") == allow_id for a in existing):
        raise ValueError(f"the policy already has an allow-phrase {allow_id!r}")
    comment = re.sub(r"\s+", " ", note).strip()
    # JSON string syntax is TOML basic-string syntax (escapes included).
    block = (
        f"\n# {comment}\n[[allow]]\nid = {json.dumps(allow_id)}\n"
        f"phrases = [{json.dumps(phrase, ensure_ascii=False)}]\n"
    )
    draft = draft.rstrip("\n") + "\n" + block
    tomllib.loads(draft)  # appended array-of-tables entries are valid after any table
    return draft
