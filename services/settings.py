"""Admin-editable settings with defaults in code; values live in the `setting` table."""
from __future__ import annotations

from sqlalchemy.orm import Session

from db.models import Setting
from services import audit, clock
from services.roles import Actor, require

DEFAULTS: dict[str, object] = {
    "demo_loaded": False,
    # days allowed at each ladder level; 0 = the same (local) day
    "level_time_limits": {"onsite": 0, "station_room": 3, "village_room": 3, "township": 7, "city": 15,
                          "court": 30},
    "arrival_minutes": 15,  # on site within 15 minutes of notification
    "follow_up_days": 7,  # follow-up due after settlement
    "station_room_hours": {"open": 8, "close": 22},  # station rooms serve 08:00-22:00; duty cadre after
}


def get(session: Session, key: str, default=None):
    row = session.get(Setting, key)
    if row is not None:
        return row.value
    return DEFAULTS.get(key, default)


def put(session: Session, key: str, value, actor: Actor | None = None, action: str = "settings.manage") -> None:
    if actor is not None:
        require(actor, action)
    row = session.get(Setting, key)
    old = row.value if row else None
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=clock.now()))
    else:
        row.value = value
        row.updated_at = clock.now()
    session.flush()
    if actor is not None:
        audit.record(session, actor, "setting.change", "setting", None, key=key, old=old, new=value)
