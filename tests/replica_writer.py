"""A stand-in for one replica's writes, run as its own process by tests/test_browser_failover.py: two of
them against one PostgreSQL database are two replicas writing at the same moment.

    python -m tests.replica_writer register <database url> <count> <tag>   # staff register cases
    python -m tests.replica_writer rollup <database url>                   # a leader opens the dashboard

Each prints "ready" once imported and connected, then waits for the test's go (a shared advisory
lock the test holds exclusively: both writers start within a millisecond of each other), works, and
prints one line of JSON.
"""
from __future__ import annotations

import datetime as dt
import json
import sys

GO_LOCK = 20261202  # the advisory lock the test holds until both writers wait on it


def _wait_for_go(engine) -> None:
    from sqlalchemy import text
    with engine.connect() as c:
        print("ready", flush=True)
        c.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": GO_LOCK})
        c.execute(text("SELECT pg_advisory_unlock_shared(:k)"), {"k": GO_LOCK})
        c.commit()


def register(url: str, count: int, tag: str, wait: bool = True) -> dict:
    """`count` cases, one transaction each, as a clerk's 登记案件 clicks are (after the go, unless
    wait=False)."""
    from sqlalchemy import select

    from db.engine import get_engine, session_scope
    from db.models import DisputeCategory, Township, User, Village
    from services import auth, clock
    from services.cases import intake
    engine = get_engine(url)
    with session_scope(engine) as s:
        staff = auth.actor_for(s.scalar(select(User).where(User.username == "staff")))
        township = s.scalar(select(Township).where(Township.mode == "station").order_by(Township.code))
        village_id = s.scalar(select(Village.id).where(Village.township_id == township.id).order_by(Village.code))
        category_id = s.scalar(select(DisputeCategory.id).where(DisputeCategory.code == "neighbor"))
        township_id = township.id
    if wait:
        _wait_for_go(engine)
    numbers = []
    for i in range(count):
        with session_scope(engine) as s:
            case = intake.register_case(s, staff, intake.CaseInput(
                source="110", police_incident_no=f"JJ-{tag}-{i:03d}", received_at=clock.now() - dt.timedelta(minutes=1),
                township_id=township_id, village_id=village_id, category_id=category_id, complexity="simple",
                description="两户因排水沟堵塞发生争执（并发登记测试）",
                parties=[intake.PartyInput(name="王小明", role="applicant", mobile="13800138000")]))
            numbers.append(case.number)
    return {"numbers": numbers}


def rollup(url: str) -> dict:
    """The dashboard's first step (pages/dashboard.py: ensure_fresh, then the figures)."""
    from db.engine import get_engine, session_scope
    from services import clock
    from services.metrics import dashboard
    engine = get_engine(url)
    today = clock.local(clock.now()).date()
    _wait_for_go(engine)
    with session_scope(engine) as s:
        refreshed = dashboard.ensure_fresh(s)
        received = dashboard.totals(s, dashboard.Period(today, today))["received"]
    return {"refreshed": refreshed, "received_today": received}


if __name__ == "__main__":
    kind, url, *rest = sys.argv[1:]
    result = register(url, int(rest[0]), rest[1]) if kind == "register" else rollup(url)
    print(json.dumps(result), flush=True)
