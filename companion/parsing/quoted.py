"""Find the parts of a mail body quoted from earlier mail: "> " lines and reply/forward history.

Speed matters (this runs on every body, some of them megabytes): every pattern starts with a literal "\\n"
so the regex engine can skip quickly from line break to line break, instead of trying "^" at every
character; the first line is checked separately with the same pattern minus the "\\n".
"""

from __future__ import annotations

import re

from companion.message import Span

_EOL = r"[ \t\r]*(?:\n|\Z)"
# "-----Original Message-----", "---------- Forwarded message ---------", "------ 原始邮件 ------" ...
_SEPARATOR = (
    r"[ \t]*-{2,}[ \t]*(?:(?i:original message|forwarded message)|原始邮件|原始郵件|转发邮件|轉寄郵件)"
    r"[ \t]*-*" + _EOL
)
_APPLE_FORWARD = r"[ \t]*Begin forwarded message:" + _EOL
# "On <date>, <who> wrote:", possibly wrapped onto a second line (Gmail wraps long ones). Written as
# two alternatives of greedy [^\n]* (which the engine backtracks in a tight loop) rather than one lazy,
# optional-group pattern, which is ten times slower on long lines that start with "On ".
_WROTE = r"[ \t]*On (?:[^\n]*|[^\n]*\n[^\n]*)wrote:" + _EOL
_CN_WROTE = r"[ \t]*在(?:[^\n]*|[^\n]*\n[^\n]*)(?:写道|寫道)[:：]?" + _EOL
# Outlook-style header block: From: ... then Sent:/Date: within the next four lines.
_FIELD = r"[ \t]*\**[ \t]*(?:{names})[ \t]*\**[ \t]*[:：]"
_HEADER_BLOCK = (
    _FIELD.format(names="From|发件人|寄件者|寄件人")
    + r"[^\n]*\n(?:[^\n]*\n){0,3}?"
    + _FIELD.format(names="Sent|Date|发送时间|日期|寄件日期|傳送時間|发送日期")
)
_MARKER = "(?:" + "|".join((_SEPARATOR, _APPLE_FORWARD, _WROTE, _CN_WROTE, _HEADER_BLOCK)) + ")"
_MARKER_AT_START = re.compile(_MARKER)
_MARKER_AFTER_NL = re.compile("\n" + _MARKER)

# A run of consecutive "> " lines, each with its line break, matched as one span.
_QUOTE_RUN = r"(?:[ \t]*>[^\n]*(?:\n|\Z))+"
_QUOTE_AT_START = re.compile(_QUOTE_RUN)
_QUOTE_AFTER_NL = re.compile("\n(" + _QUOTE_RUN + ")")


def _history_start(text: str) -> int | None:
    """Offset of the line where quoted history begins, if any."""
    if _MARKER_AT_START.match(text):
        return 0
    m = _MARKER_AFTER_NL.search(text)
    return m.start() + 1 if m else None


def _quote_lines(text: str) -> list[tuple[int, int]]:
    """Spans of runs of "> " lines, each including its final line break."""
    spans: list[tuple[int, int]] = []
    pos = 0
    m = _QUOTE_AT_START.match(text)
    if m:
        spans.append((0, m.end()))
        pos = m.end()
    spans.extend(m.span(1) for m in _QUOTE_AFTER_NL.finditer(text, pos))
    return spans


def find_quoted_spans(text: str) -> tuple[Span, ...]:
    """Sorted, merged character spans of `text` that quote earlier mail."""
    if not text:
        return ()
    spans = _quote_lines(text)
    start = _history_start(text)
    if start is not None:
        # Everything from the history marker on is quoted; keep only quote lines before it.
        spans = [(s, min(e, start)) for s, e in spans if s < start]
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], len(text))
        else:
            spans.append((start, len(text)))
    return tuple(Span(s, e) for s, e in spans)
