"""The snippet of a flag event: the matched phrase and a few words around it, nothing personal.

A reviewer needs to see the phrase and enough of its clause to judge it ("we cannot guarantee the
»lowest price«"); nobody needs the rest of the mail (PIPL art. 6, GDPR art. 5(1)(c)). So a snippet:
- keeps SnippetRules.cjk_chars Chinese characters and SnippetRules.latin_words other words on each
  side of the match (policy [snippets]), and stops earlier at a clause boundary (，。；！？ , . ; line
  breaks): context never runs into the next clause or line;
- has no context at all when the match stands on a header line (a quoted From:/收件人:/Subject:
  line), in a signature block, or in the first line of an attachment (an attached mail's subject,
  a document's title): those lines are about people, not about the phrase;
- masks personal data (companion.pii) in what it keeps, with typed placeholders in the snippet's
  language; inside the match only numbers are masked, so the phrase stays readable;
- marks the match »like this« (collector/dashboard/masking.py shows managers the marked part only).
Events of quoted text carry no snippet at all (the caller leaves it empty).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from companion.pii import People, PiiMatch, find_pii, render
from companion.pii.model import has_han
from companion.pii.names import CLOSING
from companion.policy.model import SnippetRules

if TYPE_CHECKING:
    from companion.message import Message
    from companion.policy.engine import Verdict

SNIPPET_MAX = 120
_REGION = 600  # text examined around a match for personal data (a greeting, a label before a number)
_TEXT_FIELDS = ("body", "attachment:")  # snippets keep context from these; subjects and file names never

# Clause boundaries: a snippet's context stops before these.
_BOUNDARY = set("。！？；，：!?;,:\n\r")
_HEADER_LINE = re.compile(
    r"[ \t>*]*(?:发件人|收件人|抄送|密送|主题|主旨|日期|时间|发送时间|寄件者|寄件人|收件者|副本|傳送時間|"
    r"(?i:from|to|cc|bcc|subject|date|sent|reply-to))[ \t*]*[:：]"
)
_CLOSING_LINE = re.compile(rf"[ \t>]*(?:{CLOSING}[ \t]*[,，!！。.]*|--|-- |——+|_{{3,}})[ \t]*$")
_SIGNATURE_LINES = 8  # a signature block is at most this many lines after its closing line


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    return lo, len(text) if hi < 0 else hi


def _in_signature(text: str, line_start: int) -> bool:
    """Whether the line at `line_start` follows a closing line ("Best regards,", "此致", "--") within
    a few lines, with no blank line between them."""
    pos = line_start
    for _ in range(_SIGNATURE_LINES):
        if pos == 0:
            return False
        prev_start = text.rfind("\n", 0, pos - 1) + 1
        line = text[prev_start : pos - 1]
        if not line.strip():
            return False
        if _CLOSING_LINE.fullmatch(line):
            return True
        pos = prev_start
    return False


def _context_allowed(text: str, field: str, start: int, end: int) -> bool:
    lo, _hi = _line_bounds(text, start, end)
    if _HEADER_LINE.match(text, lo) or _in_signature(text, lo):
        return False
    if field.startswith("attachment:") and not text[:lo].strip():
        return False  # the first line of an attachment: an attached mail's subject, a title
    return True


def _is_cjk(ch: str) -> bool:
    return has_han(ch) or "\u3040" <= ch <= "\u30ff" or "\uac00" <= ch <= "\ud7af"


def _edge(text: str, pos: int, step: int, rules: SnippetRules, pii: list[PiiMatch]) -> int:
    """Walk from `pos` (exclusive edge of the match) outward by `step` (-1 or +1) while the budgets
    of CJK characters and words last, stopping at a clause boundary; return the new edge."""
    chars, words = rules.cjk_chars, rules.latin_words
    n = len(text)
    while True:
        i = pos - 1 if step < 0 else pos
        while 0 <= i < n and text[i] in " \t":
            i += step
        if not 0 <= i < n or text[i] in _BOUNDARY or (text[i] == "." and _sentence_end(text, i)):
            return pos
        covering = next((m for m in pii if m.start <= i < m.end), None)
        if covering is not None:  # a placeholder counts as one word, or one character among Chinese
            beyond = covering.start - 1 if step < 0 else covering.end
            cjk = 0 <= beyond < n and _is_cjk(text[beyond])
            if (chars if cjk else words) <= 0:
                return pos
            chars, words = (chars - 1, words) if cjk else (chars, words - 1)
            pos = covering.start if step < 0 else covering.end
        elif _is_cjk(text[i]):
            if chars <= 0:
                return pos
            chars -= 1
            pos = i if step < 0 else i + 1
        else:
            if words <= 0:
                return pos
            words -= 1
            j = i
            while 0 <= j < n and not (text[j].isspace() or _is_cjk(text[j]) or text[j] in _BOUNDARY):
                if text[j] == "." and _sentence_end(text, j):
                    break
                j += step
            pos = j + 1 if step < 0 else j


def _sentence_end(text: str, i: int) -> bool:
    """A full stop ends a clause when a space or the end follows it (not 3.45, not example.com)."""
    return i + 1 >= len(text) or text[i + 1].isspace()


def _marked(text: str, match: tuple[int, int], window: tuple[int, int], pii: list[PiiMatch]) -> str:
    """The window of `text` rendered with placeholders and the match in »«."""
    (start, end), (lo, hi) = match, window
    for m in pii:  # a placeholder is never cut by a marker or by the window's edge
        if m.start < start < m.end:
            start = m.start
        if m.start < end < m.end:
            end = m.end
        if m.start < lo < m.end:
            lo = m.start
        if m.start < hi < m.end:
            hi = m.end
    lang = "zh" if has_han(text[lo:hi]) else "en"

    def part(a: int, b: int) -> str:
        inside = [
            PiiMatch(m.kind, m.start - a, m.end - a, m.text) for m in pii if a <= m.start and m.end <= b
        ]
        return render(text[a:b], inside, lang)

    inner = part(start, end)
    if len(inner) > SNIPPET_MAX - 4:
        inner = inner[: SNIPPET_MAX - 5] + "…"
    room = SNIPPET_MAX - 4 - len(inner)
    before, after = part(lo, start), part(end, hi)
    before, after = before[max(0, len(before) - room // 2) :], after[: room - min(len(before), room // 2)]
    head = "…" if lo > 0 else ""
    tail = "…" if hi < len(text) else ""
    return _one_line(f"{head}{before}»{inner}«{after}{tail}")


def snippet(
    field_text: str | None,
    field: str,
    start: int,
    end: int,
    match: str,
    *,
    people: People | tuple[People, ...] | None = None,
    rules: SnippetRules | None = None,
) -> str:
    """The snippet of one finding: "" when snippets are off, the masked match alone in »« when the
    field is not a body or attachment text (or the match stands where context is never kept), else
    the match with a few masked words of its clause around it. At most SNIPPET_MAX characters."""
    rules = rules or SnippetRules()
    if not rules.enabled:
        return ""
    if (
        not field_text
        or not field.startswith(_TEXT_FIELDS)
        or not 0 <= start <= end <= len(field_text)
        or not _context_allowed(field_text, field, start, end)
    ):
        text = field_text[start:end] if field_text and 0 <= start < end <= len(field_text) else match
        pii = find_pii(text, people, protect=(0, len(text)))
        return _marked(text, (0, len(text)), (0, len(text)), pii)
    # The region examined: about _REGION characters each side, trimmed to whole lines where it has
    # line breaks (a body converted from HTML may be one long line: never the whole of it).
    lo, hi = max(0, start - _REGION), min(len(field_text), end + _REGION)
    if lo > 0 and (cut := field_text.find("\n", lo, start)) >= 0:
        lo = cut + 1
    if hi < len(field_text) and (cut := field_text.rfind("\n", end, hi)) >= 0:
        hi = cut
    text = field_text[lo:hi]
    s, e = start - lo, end - lo
    pii = find_pii(text, people, protect=(s, e))
    window = (_edge(text, s, -1, rules, pii), _edge(text, e, +1, rules, pii))
    marked = _marked(text, (s, e), window, pii)
    # The ellipses tell that the field goes on beyond the region too.
    if window[0] == 0 and lo > 0 and not marked.startswith("…"):
        marked = "…" + marked
    if window[1] == len(text) and hi < len(field_text) and not marked.endswith("…"):
        marked += "…"
    return marked


def people_of(message: Message, own_names: tuple[str, ...] = ()) -> People:
    """The people of a mail: its sender's and recipients' addresses and display names."""
    pairs = ((a.address, a.name) for a in (message.sender, *message.recipients) if a is not None)
    return People.of(pairs, own_names)


def message_snippets(message: Message, verdict: Verdict, rules: SnippetRules) -> list[dict[str, Any]]:
    """The rule and snippet of each finding of `verdict` on `message`, as a summary would upload them
    (`mailwarden mask --snippets`; the summary itself reads the same texts from the database)."""
    fields, people = message.field_texts(), people_of(message)
    return [
        {
            "rule": f.rule,
            "snippet": ""
            if f.quoted
            else snippet(
                fields.get(f.field), str(f.field), f.start, f.end, f.text, people=people, rules=rules
            ),
        }
        for f in verdict.findings
    ]


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
