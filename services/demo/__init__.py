"""The demo: one deterministic data set, loaded by one command and reset from the UI.

Each feature adds its own step to _steps() (a function taking the session and a seeded
random generator); the steps run in order after the organisation and accounts.
"""
from __future__ import annotations

import random
from typing import Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.append_only import delete_all
from db.config import app_mode
from db.models import Base, Mediator, Township, User
from services import audit, auth, clock, settings
from services.roster import org
from services.errors import DomainError
from services.roles import ADMIN, LEADER, MEDIATOR, STAFF, SYSTEM, TASKFORCE, TRAINER, Actor, require

DEMO_PASSWORD = "demo1234"

# username, display name, role, what they see; a mediator account is linked below.
DEMO_ACCOUNTS = [
    ("admin", "系统管理员", ADMIN, "用户、组织机构、系统设置"),
    ("staff", "综治中心 刘晓芳", STAFF, "案件登记、分流调度、分级调处"),
    ("leader", "市委政法委 领导", LEADER, "驾驶舱与排名（只读）"),
    ("taskforce", "专班 熊建国", TASKFORCE, "回访、风险提示、督办、协调会、专报"),
    ("mediator", "驻所母舅", MEDIATOR, "本人待办案件"),
    ("village", "住村母舅", MEDIATOR, "本人待办案件（住村）"),
    ("trainer", "培训讲师", TRAINER, "全部页面只读浏览、重置演示数据"),
]

DemoStep = Callable[[Session, random.Random], None]


def _steps() -> list[DemoStep]:
    """In order: the cases first (every later step reads them); the assessment's rollups after
    every step that writes cases."""
    from services.demo import api, assessment, baseline, cases, codes, roster, taskforce
    return [
        cases.load,        # ~5,000 cases Jul-Dec 2023 shaped like the article, plus live open ones
        roster.load,       # duty calendar, departments and rotations
        codes.load,        # a 解纷码 for every case, online requests, video links
        assessment.load,   # 110 totals, monthly rankings, awards, dashboard rollups
        taskforce.load,    # risk notices, supervision orders, meetings, bulletins
        baseline.load,     # Jan-Jun 2023 before the scheme (police alone), so no earlier step's data moves
        api.load,          # the platforms' demo API keys and today's calls posted through the API; appended last
    ]


def _demo_accounts(session: Session) -> None:
    station_m = session.scalar(select(Mediator).where(Mediator.kind == "station").order_by(Mediator.code))
    village_m = session.scalar(select(Mediator).where(Mediator.kind == "village").order_by(Mediator.code))
    linked = {"mediator": station_m, "village": village_m}
    for username, display, role, _ in DEMO_ACCOUNTS:
        person = linked.get(username)
        name = f"{display} {person.name}" if person else display
        auth.create_user(session, SYSTEM, username, name, role, DEMO_PASSWORD,
                         mediator_id=person.id if person else None, is_demo=True)


def is_empty(session: Session) -> bool:
    return session.scalar(select(Township.id).limit(1)) is None


def load_demo(session: Session) -> None:
    """Load the whole demo into an empty database. Deterministic: seeded generators only."""
    if app_mode() != "demo":
        raise DomainError("当前为生产模式（APP_MODE=production），不能加载演示数据。")
    if not is_empty(session):
        raise DomainError("数据库中已有数据，演示数据只能加载到空库；请使用“重置演示数据”。")
    org.load_org(session, org.read_org_file())
    _demo_accounts(session)
    for i, step in enumerate(_steps()):
        step(session, random.Random(2023 + i))
        session.flush()
    settings.put(session, "demo_loaded", True)
    audit.record(session, SYSTEM, "demo.load", "demo", None, at=clock.now().isoformat())


def wipe(session: Session) -> None:
    """Delete every row of every table (schema stays)."""
    bind = session.get_bind()
    tables = [t.name for t in Base.metadata.sorted_tables]
    if bind.dialect.name == "postgresql":
        session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:  # the demo's audit trail goes too (demo mode only): lift its append-only triggers for this
        delete_all(session.connection(), Base.metadata.sorted_tables)
    session.flush()


def reset_demo(session: Session, actor: Actor) -> None:
    """Trainer/admin: wipe and reload the demo. Refused outside demo mode."""
    require(actor, "demo.reset")
    if app_mode() != "demo" or not settings.get(session, "demo_loaded"):
        raise DomainError("当前不是演示模式，不能重置数据。")
    wipe(session)
    load_demo(session)
    audit.record(session, None, "demo.reset", "demo", None, by=actor.username, role=actor.role)


def account_table() -> list[tuple[str, str, str, str]]:
    """(username, password, role name, what they see), for the terminal, README and login page."""
    from services.roles import ROLES
    return [(u, DEMO_PASSWORD, ROLES[r], what) for u, _, r, what in DEMO_ACCOUNTS]


def demo_user_count(session: Session) -> int:
    return len(list(session.scalars(select(User.id).where(User.is_demo.is_(True)))))
