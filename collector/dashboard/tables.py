"""The dashboard's own tables (created by migration 0100_dashboard), as SQLAlchemy Core objects.

They live in their own MetaData so that collector.storage stays untouched; foreign keys to the
collector's tables are declared in the migration only.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Server-side sessions: the cookie holds a random token, the table only its SHA-256.
sessions = sa.Table(
    "dashboard_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

# Append-only, hash-chained: each row carries the hash of the row before it (seq - 1).
access_log = sa.Table(
    "access_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.Integer, nullable=False, unique=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Changes waiting for the next policy version (learning from upheld appeals).
policy_changes = sa.Table(
    "policy_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("appeal_pk", sa.Integer, nullable=True),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("phrase", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("published_version", sa.String(64), nullable=True),
)

# Each day's last access-log entry, signed with the audit key (collector/keys.py): a copy kept by
# the auditor proves what the chain held that day, even after someone rewrote the chain whole.
access_log_heads = sa.Table(
    "access_log_heads",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, UTC
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(100), nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("signed_at", sa.DateTime, nullable=False),
)
