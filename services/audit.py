"""The audit trail: one call, inside the caller's transaction."""
from __future__ import annotations

from sqlalchemy.orm import Session

from db.models import AuditEvent
from services import clock
from services.roles import Actor


def record(session: Session, actor: Actor | None, action: str, entity_type: str = "",
           entity_id: int | None = None, note: str = "", **detail) -> AuditEvent:
    event = AuditEvent(
        at=clock.now(),
        user_id=actor.user_id if actor else None,
        username=actor.username if actor else "",
        role=actor.role if actor else "",
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        detail=detail,
        note=note,
    )
    session.add(event)
    session.flush()
    return event
