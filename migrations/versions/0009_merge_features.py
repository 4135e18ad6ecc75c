"""merge the feature branches (codes, roster, assessment, task force) into one head

Revision ID: 0009
Revises: 0003, 0004, 0005, 0006
"""

revision = "0009"
down_revision = ("0003", "0004", "0005", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
