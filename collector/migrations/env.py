"""Alembic environment: always given a live connection by collector.migrations.runner."""

from __future__ import annotations

from alembic import context

from collector.storage import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the runner drives migrations
    raise RuntimeError("run migrations with `mailwarden-collector migrate --db URL`")

context.configure(
    connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite"
)
with context.begin_transaction():
    context.run_migrations()
