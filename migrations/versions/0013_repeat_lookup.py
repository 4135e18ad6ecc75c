"""Indexes for the repeat-dispute lookups (services.cases.repeats)

A case's earlier cases are found by its parties' mobiles (ix_party_mobile, since 0002), their ID
numbers and the incident address within 12 months: an index on party.id_card and one on
dispute_case (address, received_at), so each lookup reads a few index entries instead of
scanning the party or case table.

Revision ID: 0013_repeat_lookup
Revises: 0012 (0012_meeting_serial.py)
"""
from alembic import op

revision = "0013_repeat_lookup"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_party_id_card", "party", ["id_card"])
    op.create_index("ix_dispute_case_address_received", "dispute_case", ["address", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_dispute_case_address_received", table_name="dispute_case")
    op.drop_index("ix_party_id_card", table_name="party")
