"""A verification in plain words, zh or en: what is proven, what is not, every check. The CLI
prints it and the PDF page lays it out, so both say exactly the same."""

from __future__ import annotations

from dataclasses import dataclass

from companion.evidence.bundle import Check, Verification
from companion.i18n import say, t

CHECK_ORDER = ("content", "chain", "period", "device", "log", "timestamp", "dkim")


@dataclass(frozen=True)
class Description:
    title: str
    verdict: str
    ok: bool
    facts: tuple[tuple[str, str], ...]  # (label, value) about the message
    proven: tuple[str, ...]
    not_proven: tuple[str, ...]
    checks: tuple[tuple[str, str, str, str], ...]  # (label, status key, status text, detail)
    headings: tuple[str, str, str]  # proven, not proven, checks
    sep: str  # between a label and its value: "：" in Chinese, ": " in English


def describe(v: Verification, lang: str) -> Description:
    r = v.record
    facts = (
        (t("evidence.fingerprint", lang), r.sha256),
        (t("evidence.message_id", lang), r.message_id or "-"),
        (t("evidence.date", lang), r.date or "-"),
        (t("evidence.direction", lang), t(f"direction.{r.direction}", lang)),
        (t("evidence.store", lang), f"{r.store} {r.position}".strip()),
        (t("evidence.seen_at", lang), _time(r.seen_at) + " UTC"),
    ) + (((t("evidence.device", lang), v.device_id),) if v.device_id else ())
    return Description(
        title=t("evidence.title", lang),
        verdict=t("evidence.verified" if v.ok else "evidence.not_verified", lang),
        ok=v.ok,
        facts=facts,
        proven=tuple(_proven(v, lang)),
        not_proven=tuple(_not_proven(v, lang)),
        checks=tuple(
            (
                t(f"evidence.check.{c.key}", lang),
                c.status,
                t(f"evidence.status.{c.status}", lang),
                _detail(c, lang),
            )
            for c in sorted(v.checks, key=lambda c: CHECK_ORDER.index(c.key))
        ),
        headings=(t("evidence.proven", lang), t("evidence.not_proven", lang), t("evidence.checks", lang)),
        sep="：" if lang == "zh" else ": ",
    )


def _proven(v: Verification, lang: str) -> list[str]:
    if not v.ok:
        return []
    r = v.record
    out = [t(f"evidence.p.{v.content}", lang)]
    if v.proven_time:
        out.append(t("evidence.p.time", lang, time=_time(v.proven_time), tsa=v.time_source or "?"))
    if v.seq is not None:
        out.append(t("evidence.p.chain", lang, seq=v.seq, seen_at=_time(r.seen_at)))
    if v.status("device") == "ok":
        out.append(t("evidence.p.device", lang, device=v.device_id))
    if v.status("log") == "ok":
        origin = next(c.detail for c in v.checks if c.key == "log")
        out.append(t("evidence.p.log", lang, origin=origin))
    if v.status("dkim") == "ok" and v.dkim is not None:
        fetched = min(s.key.fetched_at for s in v.dkim.signatures if s.status == "pass" and s.key)
        recorded = [s.key.fetched_at for s in r.dkim.signatures if s.key] if r.dkim else []
        out.append(
            t(
                "evidence.p.dkim",
                lang,
                domains=", ".join(v.dkim.passed_domains),
                fetched_at=_time(min(recorded) if recorded else fetched)[:10],
            )
        )
    return out


def _not_proven(v: Verification, lang: str) -> list[str]:
    r = v.record
    out: list[str] = []
    if v.content is None:  # nothing else matters: the bundle is about another message
        return [t("evidence.n.differs", lang)]
    failed = [
        t(f"evidence.check.{c.key}", lang) for c in v.checks if c.status == "failed" and c.key != "content"
    ]
    if failed:
        out.append(t("evidence.n.failed", lang, checks="; ".join(failed)))
    if not v.proven_time:
        out.append(t("evidence.n.no_time", lang, seen_at=_time(r.seen_at)))
    if v.status("chain") != "ok":
        out.append(t("evidence.n.no_chain", lang))
    elif v.status("period") != "ok":
        out.append(t("evidence.n.no_period", lang))
    else:
        if v.status("device") != "ok":
            out.append(t("evidence.n.no_device", lang))
        if v.status("log") != "ok":
            out.append(t("evidence.n.no_log", lang))
    out.append(t("evidence.n.author", lang))
    out.append(t("evidence.n.delivery", lang))
    out.append(t("evidence.n.before", lang, seen_at=_time(r.seen_at)))
    if r.form != "rfc822":
        out.append(t("evidence.n.outlook", lang))
    if v.proven_time and not v.tsa_root_pinned:
        out.append(t("evidence.n.tsa_root", lang, root=v.tsa_root, sha256=_spaced(v.tsa_root_sha256 or "")))
    if v.status("log") == "ok" and not v.collector_key_pinned:
        out.append(t("evidence.n.collector_key", lang))
    return out


def _detail(check: Check, lang: str) -> str:
    """The check's detail in words where it is one of a few known ones; a failure's diagnostic
    (which proof broke and how) is shown as the library said it."""
    if check.key == "content":
        return t(f"evidence.detail.{check.detail}", lang)
    if check.key == "dkim" and check.status == "absent":
        return t(f"evidence.detail.dkim.{check.detail}", lang) if check.detail else ""
    return say(check.detail, lang) if check.status in ("ok", "failed") else ""


def _time(iso: str) -> str:
    """2026-11-02T10:00:00+00:00 -> 2026-11-02 10:00:00"""
    return iso.replace("T", " ").removesuffix("+00:00")


def _spaced(hex_text: str) -> str:
    return " ".join(hex_text[i : i + 8] for i in range(0, len(hex_text), 8))


def as_text(d: Description) -> str:
    """The description as terminal text."""
    marks = {"ok": "✓", "failed": "✗", "absent": "–"}
    lines = [f"{d.title}{d.sep}{d.verdict}", ""]
    lines += [f"  {label}{d.sep}{value}" for label, value in d.facts]
    if d.proven:
        lines += ["", d.headings[0]] + [f"  • {p}" for p in d.proven]
    lines += ["", d.headings[1]] + [f"  • {p}" for p in d.not_proven]
    lines += ["", d.headings[2]]
    for label, status, text, detail in d.checks:
        lines.append(f"  {marks[status]} {label}{d.sep}{text}" + (f" ({detail})" if detail else ""))
    return "\n".join(lines)
