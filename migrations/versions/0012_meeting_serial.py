"""meeting.serial: the minutes' 期号, stored when the meeting is recorded so that it never changes

Before, the 期号 was the meeting's ordinal among its year's meetings computed at print time, so a
meeting dated earlier but recorded later renumbered minutes already issued. Existing meetings keep
the number they printed with (the same ordinal), and the year's counter continues after them.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("serial", sa.Integer(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, held_on FROM meeting ORDER BY held_on, id")).all()
    last: dict[int, int] = {}
    for mid, held_on in rows:
        year = int(str(held_on)[:4])
        last[year] = last.get(year, 0) + 1
        conn.execute(sa.text("UPDATE meeting SET serial = :n WHERE id = :id"), {"n": last[year], "id": mid})
    for year, value in last.items():
        conn.execute(sa.text("DELETE FROM counter WHERE kind = 'minutes' AND year = :y"), {"y": year})
        conn.execute(sa.text("INSERT INTO counter (kind, year, value) VALUES ('minutes', :y, :v)"),
                     {"y": year, "v": value})


def downgrade() -> None:
    op.execute("DELETE FROM counter WHERE kind = 'minutes'")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("serial")
