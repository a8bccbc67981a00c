"""Readable reports for the terminal: verdicts with each match highlighted in its sentence."""

from __future__ import annotations

import re

import click

from companion.i18n import has, t
from companion.message import Field
from companion.policy.engine import Finding, Verdict

_SENTENCE_END = re.compile(r"[.!?。！？\n]")
_COLORS = {"forbidden": "red", "approval": "yellow", "info": "cyan"}
_VERDICT_COLORS = {"pass": "green", "warn": "yellow", "block": "red"}


def context(text: str, start: int, end: int, width: int = 40) -> tuple[str, str, str]:
    """The sentence around [start, end), cut to `width` characters each side."""
    left = text[max(0, start - width) : start]
    right = text[end : end + width]
    cut = list(_SENTENCE_END.finditer(left))
    if cut:
        left = left[cut[-1].end() :]
    m = _SENTENCE_END.search(right)
    if m:
        right = right[: m.end()].rstrip("\n")
    return left.lstrip(), text[start:end], right


def highlight(before: str, match: str, after: str, color: bool) -> str:
    shown = click.style(match, fg="red", bold=True, underline=True) if color else f"»{match}«"
    return f"…{before}{shown}{after}…"


def field_label(field: Field, lang: str) -> str:
    """Field("body") -> 正文, Field("attachment", "报价.pdf") -> 附件 报价.pdf (a kind the catalogue
    does not know: as it is)."""
    key = f"field.{field.kind}"
    if not has(key):
        return str(field)
    return t(key, lang, name=field.name) if field.kind.startswith("attachment") else t(key, lang)


def finding_lines(finding: Finding, field_text: str | None, lang: str, color: bool) -> list[str]:
    tier = t(f"tier.{finding.tier}", lang)
    where = field_label(finding.field, lang)
    span = f" {finding.start}–{finding.end}" if finding.end > finding.start else ""
    head = f"[{tier}] {finding.rule} ({where}{span})"
    head = click.style(head, fg=_COLORS.get(finding.tier), bold=True) if color else head
    if field_text is not None and finding.end > finding.start:
        snippet = highlight(*context(field_text, finding.start, finding.end), color)
    else:
        snippet = finding.text
    lines = [f"  {head}", f"      {snippet}", f"      {finding.explanation.get(lang)}"]
    if finding.quoted:
        lines.append(f"      ({t('quoted', lang)})")
    return lines


def verdict_header(label: str, verdict: Verdict, lang: str, color: bool) -> str:
    name = t(f"verdict.{verdict.verdict}", lang)
    name = click.style(name, fg=_VERDICT_COLORS[verdict.verdict], bold=True) if color else name
    return f"{label}: {name}  ({t('policy', lang)} {verdict.policy_version})"


def verdict_report(label: str, verdict: Verdict, fields: dict[str, str], lang: str, color: bool) -> str:
    lines = [verdict_header(label, verdict, lang, color)]
    if not verdict.findings:
        lines.append(f"  {t('no_findings', lang)}")
    for finding in verdict.findings:
        lines += finding_lines(finding, fields.get(finding.field), lang, color)
    return "\n".join(lines)
