"""The written mediation agreement, mediation sessions and judicial confirmation

Structured agreement terms (agreement_term), mediation sessions (mediation_session, 人民调解记录),
the judicial confirmation step (judicial_confirmation); on the case the copies, the date the
agreement takes effect, whether the parties intend to apply for judicial confirmation and where
that stands; on the party the fields the agreement document names (sex, ethnicity, date of birth,
occupation); on the follow-up each term's performance. Runs beside 0014_checkin (same parent).

Revision ID: 0014_agreement
Revises: 0013_repeat_lookup
"""
import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision = "0014_agreement"
down_revision = "0013_repeat_lookup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dispute_case") as b:
        b.add_column(sa.Column("agreement_copies", sa.Integer(), nullable=True))
        b.add_column(sa.Column("agreement_effective_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("judicial_intent", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("judicial_status", sa.String(20), nullable=True))
    with op.batch_alter_table("party") as b:
        b.add_column(sa.Column("sex", sa.String(1), nullable=True))
        b.add_column(sa.Column("ethnicity", sa.String(20), nullable=False, server_default=""))
        b.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        b.add_column(sa.Column("occupation", sa.String(100), nullable=False, server_default=""))
    with op.batch_alter_table("follow_up") as b:
        b.add_column(sa.Column("term_performance", sa.JSON(), nullable=True))
    op.create_table(
        "agreement_term",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("dispute_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("obligation", sa.Text(), nullable=False),
        sa.Column("party_id", sa.Integer(), sa.ForeignKey("party.id", ondelete="SET NULL"), nullable=True),
        sa.Column("amount", sa.Numeric(14, 2), nullable=True),
        sa.Column("manner", sa.String(200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("performance", sa.String(20), nullable=True),
        sa.Column("checked_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_agreement_term_case_id", "agreement_term", ["case_id"])
    op.create_index("ix_agreement_term_party_id", "agreement_term", ["party_id"])
    op.create_index("ix_agreement_term_due_on", "agreement_term", ["due_on"])
    op.create_table(
        "mediation_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("dispute_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("held_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("mediators", sa.String(200), nullable=False),
        sa.Column("participants", sa.String(300), nullable=False),
        sa.Column("process", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_mediation_session_case_id", "mediation_session", ["case_id"])
    op.create_table(
        "judicial_confirmation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("dispute_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("court", sa.String(100), nullable=False),
        sa.Column("applicants", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("online_request_id", sa.Integer(), sa.ForeignKey("online_request.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("result", sa.String(20), nullable=True),
        sa.Column("result_on", sa.Date(), nullable=True),
        sa.Column("ruling_no", sa.String(60), nullable=False),
        sa.Column("reject_reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_judicial_confirmation_case_id", "judicial_confirmation", ["case_id"])
    op.create_index("ix_judicial_confirmation_online_request_id", "judicial_confirmation", ["online_request_id"])


def downgrade() -> None:
    op.drop_table("judicial_confirmation")
    op.drop_table("mediation_session")
    op.drop_table("agreement_term")
    with op.batch_alter_table("follow_up") as b:
        b.drop_column("term_performance")
    with op.batch_alter_table("party") as b:
        b.drop_column("occupation")
        b.drop_column("birth_date")
        b.drop_column("ethnicity")
        b.drop_column("sex")
    with op.batch_alter_table("dispute_case") as b:
        b.drop_column("judicial_status")
        b.drop_column("judicial_intent")
        b.drop_column("agreement_effective_on")
        b.drop_column("agreement_copies")
