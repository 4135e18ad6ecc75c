"""merge the check-in link (0014_checkin) and the written agreement (0014_agreement) into one head

Revision ID: 0015
Revises: 0014_checkin, 0014_agreement
"""

revision = "0015"
down_revision = ("0014_checkin", "0014_agreement")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
