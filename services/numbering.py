"""Yearly sequences that stay unique when many people issue at once, on both databases.

One row per (kind, year) in `counter`; the UPDATE ... RETURNING takes the row lock on
PostgreSQL (concurrent callers queue until the first commits), and SQLite's BEGIN IMMEDIATE
serialises writers. A missing row is created with ON CONFLICT DO NOTHING, then updated.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def next_value(session: Session, kind: str, year: int) -> int:
    for _ in range(2):
        value = session.execute(
            text("UPDATE counter SET value = value + 1 WHERE kind = :k AND year = :y RETURNING value"),
            {"k": kind, "y": year}).scalar()
        if value is not None:
            return int(value)
        session.execute(
            text("INSERT INTO counter (kind, year, value) VALUES (:k, :y, 0) ON CONFLICT (kind, year) DO NOTHING"),
            {"k": kind, "y": year})
    raise RuntimeError("counter row could not be created")  # pragma: no cover


def case_number(prefix: str, year: int, value: int) -> str:
    return f"{prefix}-{year}-{value:06d}"
