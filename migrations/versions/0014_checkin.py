"""Check-in links for dispatched people (services.cases.checkin)

One row per personal link: the dispatch it belongs to, the SHA-256 of its token (the raw token is
never stored), when it was issued, expires and was revoked, and the person's 已出发 / 已移交 taps
(the arrival stays on dispatch.arrived_at).

Revision ID: 0014_checkin
Revises: 0013_repeat_lookup
"""
import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0014_checkin"
down_revision = "0013_repeat_lookup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkin_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("issued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("departed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatch.id"], name=op.f("fk_checkin_link_dispatch_id_dispatch"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["dispute_case.id"], name=op.f("fk_checkin_link_case_id_dispute_case"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["issued_by_id"], ["app_user.id"], name=op.f("fk_checkin_link_issued_by_id_app_user")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["app_user.id"],
                                name=op.f("fk_checkin_link_revoked_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_checkin_link_token_hash")),
    )
    op.create_index(op.f("ix_checkin_link_dispatch_id"), "checkin_link", ["dispatch_id"])
    op.create_index(op.f("ix_checkin_link_case_id"), "checkin_link", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_checkin_link_case_id", table_name="checkin_link")
    op.drop_index("ix_checkin_link_dispatch_id", table_name="checkin_link")
    op.drop_table("checkin_link")
