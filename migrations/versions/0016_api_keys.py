"""The intake API of the 110 and 12345 platforms (web/api.py, docs/api.md)

`api_key`: one row per platform key: the SHA-256 of its token (the raw token is never stored), a
short prefix for lists, who created and revoked it, when it was last used, and its rate limit's
fixed window (the minute counted and the requests in it), shared by every replica.
`api_call`: one row per accepted call; UNIQUE(source, external_id) makes a repeated or concurrent
post of the same 接警单号/工单号 answer with the same case.

Revision ID: 0016_api_keys
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0016_api_keys"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("name", sa.String(30), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["app_user.id"], name=op.f("fk_api_key_created_by_id_app_user")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["app_user.id"], name=op.f("fk_api_key_revoked_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_key_token_hash")),
    )
    op.create_table(
        "api_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("external_id", sa.String(40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("new_case", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["dispute_case.id"], name=op.f("fk_api_call_case_id_dispute_case"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["key_id"], ["api_key.id"], name=op.f("fk_api_call_key_id_api_key")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_call")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_api_call_source_external_id")),
    )
    op.create_index(op.f("ix_api_call_case_id"), "api_call", ["case_id"])
    op.create_index(op.f("ix_api_call_key_id"), "api_call", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_api_call_key_id", table_name="api_call")
    op.drop_index("ix_api_call_case_id", table_name="api_call")
    op.drop_table("api_call")
    op.drop_table("api_key")
