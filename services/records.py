"""Records edited by several people at once: load the one a user saw, save it, and say in Chinese
when it is gone or someone else changed it first.

A model with `version_id_col` raises StaleDataError at flush when another transaction changed the
row since it was read; the version (or status) the user's screen showed is checked on load.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.errors import ConcurrentEdit, NotFound

T = TypeVar("T")


@dataclass(frozen=True)
class Wording:
    missing: str   # NotFound: "该文书不存在。"
    changed: str   # ConcurrentEdit: "该文书已被他人修改，请刷新页面后重新操作。"


def wording(noun: str) -> Wording:
    """The usual pair of messages for `noun` (e.g. "文书")."""
    return Wording(f"该{noun}不存在。", f"该{noun}已被他人修改，请刷新页面后重新操作。")


def load_versioned(session: Session, model: type[T], record_id: int, expected, what: Wording, *,
                   field: str = "version") -> T:
    """The record, or NotFound; ConcurrentEdit when `expected` (None: not checked) is not the
    record's `field` any more (its version, or e.g. the status the user acted on)."""
    record = session.get(model, record_id)
    if record is None:
        raise NotFound(what.missing)
    if expected is not None and getattr(record, field) != expected:
        raise ConcurrentEdit(what.changed)
    return record


def flush_versioned(session: Session, what: Wording) -> None:
    """Flush; a row another user changed in the meantime becomes ConcurrentEdit."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentEdit(what.changed) from exc
