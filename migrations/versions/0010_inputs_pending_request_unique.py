"""inputs: at most one pending online request per case and kind, enforced by the database

The public form's duplicate check was a SELECT before the INSERT: three parallel posts stored two
requests. A partial unique index makes the second INSERT fail, atomically, on both databases.
Pending duplicates already stored are declined (the oldest stays) so the index can be built.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

PENDING = "status IN ('requested', 'accepted', 'scheduled')"


def upgrade() -> None:
    op.execute(
        "UPDATE online_request SET status = 'declined', declined_at = updated_at, "
        "decline_reason = '重复申请，已与同类申请合并办理。' "
        f"WHERE {PENDING} AND id NOT IN (SELECT MIN(id) FROM online_request WHERE {PENDING} GROUP BY case_id, kind)")
    with op.batch_alter_table('online_request', schema=None) as batch_op:
        batch_op.create_index('ux_online_request_pending_kind', ['case_id', 'kind'], unique=True,
                              sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))


def downgrade() -> None:
    with op.batch_alter_table('online_request', schema=None) as batch_op:
        batch_op.drop_index('ux_online_request_pending_kind', sqlite_where=sa.text(PENDING),
                            postgresql_where=sa.text(PENDING))
