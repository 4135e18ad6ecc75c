"""Reference data cached per process: the organisation (townships, villages, grids, police stations,
rooms, centres), the dispute categories, the city and the admin settings.

Every page run used to read these afresh, several times per run. They change only when an admin
edits them (组织机构, 系统设置, categories, 母舅名册, the demo loader), so each process keeps one copy
per database and throws it away when they change:

- In this process, at once: a session that writes a row of a reference table (through the ORM, or a
  Core/text INSERT/UPDATE/DELETE/TRUNCATE naming the table through `session.execute`) marks itself;
  when it commits, this process's copy for that database is dropped.
- In other processes (several uvicorn workers or replicas): the same session also writes a fresh
  random value into the setting row `refdata_generation`, in the same transaction. A process compares
  its copy's generation with that row at most once per `CHECK_SECONDS` (one primary-key read), so another
  process's change is visible there within that time.

What is cached holds no personal data: unit names and codes, category names, settings and counts.
Mediators (names, phones) are not cached here; the home page's head count is a number. The values are
immutable (tuples, named tuples, copies of JSON values), so one copy can serve every session.
Writes made outside a session (raw SQL, `psql`, a migration) are not seen until the process restarts or
another change through the services bumps the generation.
"""
from __future__ import annotations

import copy
import re
import threading
import time
import uuid
from collections import namedtuple
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from db.models import (DisputeCategory, GovernanceCentre, Grid, MediationRoom, Mediator, PoliceStation, Setting,
                       Township, Village)

GENERATION_KEY = "refdata_generation"
CHECK_SECONDS = 1.0  # how stale another process's change may be here, at most
TABLES = {"township", "village", "grid", "police_station", "mediation_room", "governance_centre", "dispute_category",
          "mediator", "setting"}
# settings rows that are bookkeeping, not reference data (written often: they must not empty the cache)
NOT_REFERENCE = {GENERATION_KEY, "metrics_rollup_state"}


class _Copy:
    def __init__(self, generation: str | None):
        self.generation = generation
        self.checked = time.monotonic()
        self.epoch = 0  # bumped by a local invalidation: a value built before it is not stored
        self.values: dict[Any, Any] = {}


_copies: dict[str, _Copy] = {}
_lock = threading.Lock()
stats = {"builds": 0, "checks": 0}  # for tests and the profile script


def _db_key(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def _read_generation(session: Session) -> str | None:
    stats["checks"] += 1
    value = session.execute(select(Setting.__table__.c.value).where(Setting.__table__.c.key == GENERATION_KEY)).scalar()
    return None if value is None else str(value)


def _copy_for(session: Session) -> _Copy:
    key = _db_key(session)
    with _lock:
        cur = _copies.get(key)
        fresh = cur is not None and time.monotonic() - cur.checked < CHECK_SECONDS
    if fresh:
        return cur
    generation = _read_generation(session)
    with _lock:
        cur = _copies.get(key)
        if cur is None or cur.generation != generation:
            cur = _copies[key] = _Copy(generation)
        cur.checked = time.monotonic()
        return cur


def cached(session: Session, name: Any, build: Callable[[Session], Any]) -> Any:
    """The process's copy of `name` for the session's database, built by `build(session)` when missing.
    A session that has changed reference data and not yet committed reads its own changes, uncached."""
    if session.info.get("refdata_bumped") or _pending(session):
        return build(session)
    cur = _copy_for(session)
    with _lock:
        if name in cur.values:
            return cur.values[name]
        epoch = cur.epoch
    value = build(session)
    stats["builds"] += 1
    with _lock:
        if cur.epoch == epoch and _copies.get(_db_key(session)) is cur:
            cur.values[name] = value
    return value


def forget(session_or_url: Session | str | None = None) -> None:
    """Drop this process's copy (of one database, or of all)."""
    with _lock:
        if session_or_url is None:
            keys = list(_copies)
        else:
            keys = [session_or_url if isinstance(session_or_url, str) else _db_key(session_or_url)]
        for key in keys:
            cur = _copies.pop(key, None)
            if cur is not None:
                cur.epoch += 1


# ------------------------------------------------------------------ noticing a change
def _bump(session: Session) -> None:
    """Mark the transaction as changing reference data; write a new generation (once per transaction)."""
    if session.info.get("refdata_bumped"):
        return
    session.info["refdata_bumped"] = True
    table = Setting.__table__
    conn = session.connection()
    value = uuid.uuid4().hex
    done = conn.execute(table.update().where(table.c.key == GENERATION_KEY).values(value=value, updated_at=func.now()))
    if not done.rowcount:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        conn.execute(insert(table).values(key=GENERATION_KEY, value=value, updated_at=func.now())
                     .on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def _pending(session: Session) -> bool:
    return any(_is_reference(o) for o in session.new) or any(_is_reference(o) for o in session.dirty)


def _is_reference(obj) -> bool:
    table = getattr(obj, "__table__", None)
    if table is None or table.name not in TABLES:
        return False
    return not (table.name == "setting" and getattr(obj, "key", None) in NOT_REFERENCE)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx) -> None:
    if session.info.get("refdata_bumped"):
        return
    changed = list(session.new) + list(session.deleted) + [o for o in session.dirty if session.is_modified(o)]
    if any(_is_reference(o) for o in changed):
        _bump(session)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state) -> None:
    stmt = state.statement
    if isinstance(stmt, TextClause):
        if _text_targets(stmt.text) & TABLES:
            _bump(state.session)
        return
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(stmt, "table", None)
    if table is not None and getattr(table, "name", None) in TABLES:
        _bump(state.session)


_DML = re.compile(r'^\s*(?:insert\s+into|update|delete\s+from)\s+"?(\w+)"?', re.IGNORECASE)
_TRUNCATE = re.compile(r"^\s*truncate\s+(?:table\s+)?(?:only\s+)?([^;]+)", re.IGNORECASE)


def _text_targets(sql: str) -> set[str]:
    """The tables a textual INSERT/UPDATE/DELETE/TRUNCATE writes (not tables it merely mentions)."""
    if m := _DML.match(sql):
        return {m.group(1).lower()}
    if m := _TRUNCATE.match(sql):
        names = re.split(r"\s*,\s*", re.split(r"\s+(?:restart|continue|cascade|restrict)\b", m.group(1),
                                               flags=re.IGNORECASE)[0])
        return {n.strip().strip('"').lower() for n in names if n.strip()}
    return set()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("refdata_bumped", False):
        forget(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("refdata_bumped", None)


# ------------------------------------------------------------------ the reference data
Town = namedtuple("Town", "id code name kind mode police_station_id")
Place = namedtuple("Place", "id code name parent_id")  # a village (parent: township) or a grid (parent: village)
Category = namedtuple("Category", "id code name sort_order active")


def setting(session: Session, key: str, default=None):
    """An admin setting's value (a deep copy: a caller may change what it gets); None when unset.
    Bookkeeping rows (NOT_REFERENCE) are read from the database every time."""
    if key in NOT_REFERENCE:
        value = session.execute(select(Setting.__table__.c.value).where(Setting.__table__.c.key == key)).scalar()
        return value if value is not None else default
    values = cached(session, "settings", lambda s: {k: v for k, v in s.execute(
        select(Setting.__table__.c.key, Setting.__table__.c.value)) if k not in NOT_REFERENCE})
    value = values.get(key)
    return copy.deepcopy(value) if value is not None else default


def townships(session: Session) -> list[Town]:
    return list(cached(session, "townships", lambda s: tuple(Town(*r) for r in s.execute(
        select(Township.id, Township.code, Township.name, Township.kind, Township.mode, Township.police_station_id)
        .order_by(Township.code)))))


def villages(session: Session, township_id: int) -> list[Place]:
    by_town = cached(session, "villages", lambda s: _grouped(s.execute(
        select(Village.id, Village.code, Village.name, Village.township_id).order_by(Village.code))))
    return list(by_town.get(township_id, ()))


def grids(session: Session, village_id: int) -> list[Place]:
    by_village = cached(session, "grids", lambda s: _grouped(s.execute(
        select(Grid.id, Grid.code, Grid.name, Grid.village_id).order_by(Grid.code))))
    return list(by_village.get(village_id, ()))


def _grouped(rows) -> dict[int, tuple[Place, ...]]:
    out: dict[int, list[Place]] = {}
    for r in rows:
        out.setdefault(r[3], []).append(Place(*r))
    return {k: tuple(v) for k, v in out.items()}


def categories(session: Session, active_only: bool = True) -> list[Category]:
    rows = cached(session, "categories", lambda s: tuple(Category(*r) for r in s.execute(
        select(DisputeCategory.id, DisputeCategory.code, DisputeCategory.name, DisputeCategory.sort_order,
               DisputeCategory.active).order_by(DisputeCategory.sort_order, DisputeCategory.id))))
    return [c for c in rows if c.active or not active_only]


def police_stations(session: Session) -> list[tuple[int, str]]:
    return list(cached(session, "police_stations", lambda s: tuple((i, n) for i, n in s.execute(
        select(PoliceStation.id, PoliceStation.name).order_by(PoliceStation.code)))))


def rooms(session: Session) -> list[tuple[int, str]]:
    return list(cached(session, "rooms", lambda s: tuple((i, n) for i, n in s.execute(
        select(MediationRoom.id, MediationRoom.name).order_by(MediationRoom.kind, MediationRoom.code)))))


NAMED = {"township": Township, "village": Village, "grid": Grid, "dispute_category": DisputeCategory,
         "mediation_room": MediationRoom, "police_station": PoliceStation, "governance_centre": GovernanceCentre}


def name(session: Session, model, id_: int | None) -> str:
    """The name of a unit or category by id ("" for None or an unknown id)."""
    if id_ is None:
        return ""
    table = model.__table__.name
    names = cached(session, ("names", table), lambda s: dict(s.execute(select(model.id, model.name)).all()))
    return names.get(id_, "")


def summary(session: Session) -> dict[str, int]:
    """Counts of each unit kind (one query for all of them)."""
    def build(s: Session) -> dict[str, int]:
        labels = (("乡镇/街道", Township), ("村/社区", Village), ("网格", Grid), ("派出所", PoliceStation),
                  ("调解室", MediationRoom), ("综治中心", GovernanceCentre), ("人员", Mediator))
        row = s.execute(select(*[select(func.count()).select_from(m).scalar_subquery() for _, m in labels])).one()
        return {label: int(n or 0) for (label, _), n in zip(labels, row)}
    return dict(cached(session, "summary", build))
