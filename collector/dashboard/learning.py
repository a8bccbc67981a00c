"""Learning from appeals, the dashboard's side: one click on an upheld appeal queues its
allow-phrase for the next policy version and opens that draft in the policy editor.

The phrase and the policy text come from `Collector.draft_exception` (collector/learning.py); this
module keeps the queue (table policy_changes: which appeal gave which phrase, and in which
version it was published) so that several appeals can go into one new version.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from collector import learning as text_learning
from collector.dashboard.tables import policy_changes
from collector.service import Collector, CollectorError


def suggested_phrase(snippet: str) -> str:
    """What the one-click form offers: the clause around the match (never the bare match, which
    would switch the rule off for everybody)."""
    return text_learning.exception_phrase(snippet or "") or ""


def add_allow_phrase(collector: Collector, appeal_pk: int, phrase: str | None, user: str) -> str:
    """Queue the allow-phrase of an upheld appeal (checked by drafting it); return the phrase."""
    draft = collector.draft_exception(appeal_pk, phrase or None, reviewer=user)  # refuses unless upheld
    with collector.storage.transaction() as tx:
        appeal = tx.get("appeals", {"id": appeal_pk})
        assert appeal is not None
        # A second click on the same appeal replaces its phrase (one allow id per appeal).
        tx.conn.execute(
            sa.delete(policy_changes).where(
                policy_changes.c.appeal_pk == appeal_pk, policy_changes.c.published_version.is_(None)
            )
        )
        tx.conn.execute(
            sa.insert(policy_changes).values(
                appeal_pk=appeal_pk,
                rule=appeal["rule"],
                phrase=draft["phrase"],
                created_by=user,
                created_at=collector.now(),
            )
        )
    return draft["phrase"]


def pending(collector: Collector) -> list[dict[str, Any]]:
    with collector.storage.read() as tx:
        rows = tx.conn.execute(
            sa.select(policy_changes)
            .where(policy_changes.c.published_version.is_(None))
            .order_by(policy_changes.c.id)
        )
        return [dict(r._mapping) for r in rows]


def draft(collector: Collector, user: str) -> str:
    """The policy in force plus one [[allow]] table per queued appeal, under the next version."""
    changes = pending(collector)
    current = collector.current_policy()
    if current is None:
        raise CollectorError(409, "no_policy", "no policy is published yet")
    text, version = current["policy"], None
    for change in changes:
        made = collector.draft_exception(change["appeal_pk"], change["phrase"], base_text=text, reviewer=user)
        text, version = made["policy"], version or made["version"]
    if version is not None:  # each step bumped the version again: one new version is enough
        start, end, _ = text_learning.policy_version_span(text)
        text = text[:start] + version + text[end:]
    return text


def mark_published(collector: Collector, version: str, allowed_phrases: set[str]) -> int:
    """Queued phrases that the published policy allows are done."""
    if not allowed_phrases:
        return 0
    with collector.storage.transaction() as tx:
        return tx.conn.execute(
            sa.update(policy_changes)
            .where(policy_changes.c.published_version.is_(None), policy_changes.c.phrase.in_(allowed_phrases))
            .values(published_version=version)
        ).rowcount
