"""Test data built through the real services (register_case, transition)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from db.models import DisputeCategory, Township, User, Village
from services import auth, clock
from services.cases import intake
from services.roles import SYSTEM


def actor(session, role: str, username: str | None = None, mediator_id: int | None = None):
    username = username or f"f_{role}"
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = auth.create_user(session, SYSTEM, username, f"测试{role}", role, "test1234", mediator_id=mediator_id)
    return auth.actor_for(user)


def place(session, mode: str = "station"):
    t = session.scalar(select(Township).where(Township.mode == mode).order_by(Township.code))
    v = session.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
    return t, v


def case_input(session, mode: str = "station", **overrides) -> intake.CaseInput:
    t, v = place(session, mode)
    cat = session.scalar(select(DisputeCategory).where(DisputeCategory.code == "neighbor"))
    data = dict(source="walk_in", received_at=clock.now() - dt.timedelta(minutes=30), township_id=t.id,
                village_id=v.id, category_id=cat.id, complexity="simple", description="两户因排水沟堵塞发生争执",
                parties=[intake.PartyInput(name="王小明", role="applicant", mobile="13800138000")])
    data.update(overrides)
    return intake.CaseInput(**data)
