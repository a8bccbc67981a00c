"""HTML mail bodies to plain text, keeping line structure and marking <blockquote> text as quoted."""

from __future__ import annotations

import re
from typing import Any

_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "object", "svg", "xml"})
# Elements that end the current line when they open and close.
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "caption",
    }
)
# Blocks followed by an empty line, as a reader would see them.
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"})
_CELL = frozenset({"td", "th"})
_WS = re.compile(r"[ \t\n\r\f\v\u00a0\u200b]+")


class _Writer:
    """Collects text as lines, each remembering how deep in <blockquote> it was written."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.parts: list[str] = []
        self.depth = 0

    def text(self, s: str) -> None:
        self.parts.append(s)

    def end_line(self) -> None:
        line = _WS.sub(" ", "".join(self.parts)).strip()
        self.parts = []
        if line:
            self.lines.append((self.depth, line))

    def br(self) -> None:
        # A <br> on an empty line is a deliberate blank line (<br><br> separates paragraphs).
        if _WS.sub("", "".join(self.parts)):
            self.end_line()
        else:
            self.parts = []
            self.lines.append((self.depth, ""))

    def blank(self) -> None:
        self.end_line()
        if self.lines and self.lines[-1][1]:
            self.lines.append((self.depth, ""))

    def preformatted(self, s: str) -> None:
        # <pre> keeps its own line breaks; only the first and last pieces join surrounding text.
        pieces = s.replace("\r\n", "\n").split("\n")
        for piece in pieces[:-1]:
            self.parts.append(piece)
            line = "".join(self.parts).rstrip()
            self.parts = []
            self.lines.append((self.depth, line))
        self.parts.append(pieces[-1])

    def render(self) -> str:
        self.end_line()
        out: list[str] = []
        for depth, line in self.lines:
            if not line and (not out or not out[-1].strip("> ")):
                continue  # no leading or doubled blank lines
            prefix = "> " * depth
            out.append((prefix + line) if line else prefix.rstrip())
        while out and not out[-1].strip("> "):
            out.pop()
        return "\n".join(out)


def html_to_text(html: str) -> str:
    """Readable text of an HTML document: no scripts/styles, blocks on their own lines, quotes as "> "."""
    # Imported here: BeautifulSoup (with soupsieve) takes ~0.15 s to import, and most mail is plain text.
    from bs4 import BeautifulSoup, CData, NavigableString, Tag

    soup = BeautifulSoup(html, "html.parser")
    w = _Writer()
    pre = 0
    # Iterative walk (mail HTML can nest deeper than Python's recursion limit); ("end", tag) marks leaving.
    stack: list[Any] = [soup]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):  # ("end", tag)
            name = node[1].name
            if name == "blockquote":
                w.end_line()
                w.depth -= 1
                w.blank()
            elif name == "pre":
                pre -= 1
                w.preformatted("\n")
                w.blank()
            elif name in _PARAGRAPH:
                w.blank()
            elif name in _BLOCK:
                w.end_line()
            elif name in _CELL:
                w.text(" \t ")
            continue
        if isinstance(node, NavigableString):
            if type(node) is NavigableString or isinstance(node, CData):
                if pre:
                    w.preformatted(str(node))
                else:
                    w.text(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if name in _SKIP:
            continue
        if name == "br":
            if pre:
                w.preformatted("\n")
            else:
                w.br()
            continue
        if name == "blockquote":
            w.blank()
            w.depth += 1
        elif name == "pre":
            w.blank()
            pre += 1
        elif name in _PARAGRAPH:
            w.blank()
        elif name in _BLOCK:
            w.end_line()
        if node is not soup:
            stack.append(("end", node))
        stack.extend(reversed(node.contents))
    return w.render()
