"""The audit trail is append-only in the database (migration 0011): triggers refuse UPDATE and
DELETE of audit_event on both databases. Two callers may still empty every table: the demo reset
(demo mode only) and the test suite between tests. On PostgreSQL they TRUNCATE, which row
triggers do not see (revoke TRUNCATE from the portal's role in production, see docs/security.md);
on SQLite `delete_all` lifts the triggers inside the caller's transaction and puts them back
before it commits, so no other connection ever sees the table unguarded.
"""
from __future__ import annotations

from sqlalchemy import delete, text


def delete_all(conn, tables) -> None:
    """SQLite: DELETE every row of `tables` (children first), audit_event included."""
    saved = [row[1] for row in conn.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"))]
    names = [row[0] for row in conn.execute(text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"))]
    for name in names:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    for table in reversed(list(tables)):
        conn.execute(delete(table))
    for ddl in saved:
        conn.execute(text(ddl))
