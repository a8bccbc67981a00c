"""The access log's signed day heads (append-only, like the log).

Revision ID: 0101
Revises: 0100
"""

import sqlalchemy as sa
from alembic import op

revision = "0101"
down_revision = "0100"
branch_labels = None
depends_on = None

PG_GUARD = """
CREATE TRIGGER access_log_heads_no_update BEFORE UPDATE OR DELETE ON access_log_heads
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
"""
SQLITE_GUARDS = (
    "CREATE TRIGGER access_log_heads_no_update BEFORE UPDATE ON access_log_heads "
    "BEGIN SELECT RAISE(ABORT, 'access_log_heads is append-only'); END",
    "CREATE TRIGGER access_log_heads_no_delete BEFORE DELETE ON access_log_heads "
    "BEGIN SELECT RAISE(ABORT, 'access_log_heads is append-only'); END",
)


def upgrade() -> None:
    op.create_table(
        "access_log_heads",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)  # the function comes with migration 0100
    else:
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS access_log_heads_no_update ON access_log_heads")
    op.drop_table("access_log_heads")
