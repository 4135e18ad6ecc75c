"""Repeat disputes (重复纠纷): the earlier cases of the same party or the same place.

Two cases are linked when a party of one has the same mobile or the same ID number as a party
of the other (both are stored normalised by services.cases.intake), or when both cases have the
same incident address (`Case.address`, exact text after trimming; an empty address links
nothing). "Earlier" means received before (same time: the lower id) and at most WINDOW_DAYS
before.

Scope and masking follow the case list (services.cases.case_queries): a mediator finds only
earlier cases within their own scope, so a case they may not open is never mentioned; roles
without `case.view_personal` see the matching number masked, and cannot look up by typed
numbers or addresses at all (the intake draft lookup returns nothing for them).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, func, or_, select, union
from sqlalchemy.orm import Session, aliased

from db.models import Case, DisputeCategory, Party, Township
from services import clock
from services.cases import ladder
from services.cases import workflow
from services.cases.case_queries import scope_condition
from services.errors import NotFound, PermissionDenied
from services.metrics.dashboard import minus_days
from services.inputs import clean, normalise_id_card, normalise_mobile
from services.redact import mask_address, mask_id, mask_phone
from services.roles import MEDIATOR, Actor, may

WINDOW_DAYS = 365  # "the last 12 months"
ALERT_DAYS = 90  # 重复纠纷预警: 3 or more cases within 90 days
ALERT_MIN_CASES = 3
LIMIT = 20


def _earlier(E, later, days: int, dialect: str):
    """E was received before `later` (ties: the lower id), at most `days` before."""
    return and_(E.id != later.id,
                or_(E.received_at < later.received_at, and_(E.received_at == later.received_at, E.id < later.id)),
                E.received_at >= minus_days(later.received_at, days, dialect))


def _outcome(c) -> str:
    if c.settled_at is not None:
        return f"调解成功（{ladder.level_name(c.mode, c.settled_level)}）" if c.settled_level else "调解成功"
    if c.court_name:
        return f"引导诉讼（{c.court_name}）"
    if c.end_reason_code:
        return "终止：" + ladder.TERMINATION_REASONS.get(c.end_reason_code, "其他")
    return "办理中" if ladder.STATUSES[c.status][1] == ladder.OPEN else ladder.status_name(c.status)


def _keys(mobiles, id_cards, address) -> tuple[list[str], list[str], str]:
    ms = sorted({m for m in (normalise_mobile(x) for x in mobiles or ()) if m})
    ids = sorted({i for i in (normalise_id_card(x) for x in id_cards or ()) if i})
    return ms, ids, clean(address or "", multiline=False).strip()


def _lookup(session: Session, actor: Actor, mobiles: list[str], id_cards: list[str], address: str,
            before: dt.datetime, exclude_id: int | None, limit: int) -> list[dict]:
    branches = []
    if mobiles:
        branches.append(select(Party.case_id.label("cid")).where(Party.mobile.in_(mobiles)))
    if id_cards:
        branches.append(select(Party.case_id.label("cid")).where(Party.id_card.in_(id_cards)))
    if address:
        branches.append(select(Case.id.label("cid")).where(Case.address == address,
                                                           Case.received_at >= before - dt.timedelta(days=WINDOW_DAYS),
                                                           Case.received_at <= before))
    if not branches:
        return []
    conds = [Case.id.in_(union(*branches)), Case.received_at <= before,
             Case.received_at >= before - dt.timedelta(days=WINDOW_DAYS)]
    if exclude_id is not None:
        conds.append(Case.id != exclude_id)
    scope = scope_condition(session, actor)
    if scope is not None:
        conds.append(scope)
    q = (select(Case.id, Case.number, Case.received_at, Case.mode, Case.level, Case.status, Case.settled_at,
                Case.settled_level, Case.court_name, Case.end_reason_code, Case.address,
                Township.name.label("township"), DisputeCategory.name.label("category"))
         .join(Township, Township.id == Case.township_id)
         .join(DisputeCategory, DisputeCategory.id == Case.category_id)
         .where(*conds).order_by(Case.received_at.desc(), Case.id.desc()).limit(max(1, min(int(limit), 100))))
    rows = session.execute(q).all()
    if exclude_id is not None:  # a case registered at the same moment counts only when it came first
        rows = [r for r in rows if r.received_at < before or r.id < exclude_id]
    return _with_reasons(session, actor, rows, mobiles, id_cards, address)


def _with_reasons(session: Session, actor: Actor, rows, mobiles, id_cards, address) -> list[dict]:
    """Each row with what links it, masked unless the role may see personal data."""
    personal = may(actor.role, "case.view_personal")
    found: dict[int, list[str]] = {}
    ids = [r.id for r in rows]
    if ids:
        for p in session.execute(select(Party.case_id, Party.mobile, Party.id_card).where(
                Party.case_id.in_(ids), or_(Party.mobile.in_(mobiles or [""]), Party.id_card.in_(id_cards or [""])))
                .order_by(Party.id)):
            if p.mobile in mobiles:
                found.setdefault(p.case_id, []).append(
                    "同一手机号 " + (p.mobile if personal else mask_phone(p.mobile)))
            if p.id_card and p.id_card in id_cards:
                found.setdefault(p.case_id, []).append(
                    "同一身份证号 " + (p.id_card if personal else mask_id(p.id_card)))
    out = []
    for r in rows:
        reasons = list(dict.fromkeys(found.get(r.id, [])))
        if address and r.address == address:
            reasons.append("同一地址 " + (address if personal else mask_address(address)))
        out.append({"id": r.id, "number": r.number, "received_at": r.received_at, "township": r.township,
                    "category": r.category, "level_name": ladder.level_name(r.mode, r.level),
                    "status_name": ladder.status_name(r.status), "outcome": _outcome(r),
                    "match": "；".join(reasons)})
    return out


def earlier_for_draft(session: Session, actor: Actor, mobiles=(), id_cards=(), address: str = "",
                      received_at: dt.datetime | None = None, limit: int = LIMIT) -> list[dict]:
    """Before saving a registration: the earlier cases (12 months before `received_at`, default
    now) of any typed mobile or ID number, or of the typed address; newest first. Numbers typed in
    any format (`+86 139-1234-5678`) are normalised; invalid ones are ignored.

    Roles that may not see personal data get nothing: otherwise typing a number would tell them
    who is party to what (the same rule as the case list's search)."""
    if not may(actor.role, "case.view_personal"):
        return []
    ms, ids, addr = _keys(mobiles, id_cards, address)
    return _lookup(session, actor, ms, ids, addr, received_at or clock.now(), None, limit)


def earlier_for_case(session: Session, actor: Actor, case_id: int, limit: int = LIMIT) -> list[dict]:
    """The earlier cases (12 months before it) of the case's parties or address, itself excluded."""
    c = session.get(Case, case_id)
    if c is None:
        raise NotFound("案件不存在。")
    if actor.role == MEDIATOR and not workflow.in_mediator_scope(session, actor, c):
        raise PermissionDenied("该案件不在您的调解范围内。")
    parties = session.execute(select(Party.mobile, Party.id_card).where(Party.case_id == c.id)).all()
    ms = sorted({p.mobile for p in parties if p.mobile})
    ids = sorted({p.id_card for p in parties if p.id_card})
    return _lookup(session, actor, ms, ids, (c.address or "").strip(), c.received_at, c.id, limit)


def repeat_condition(session: Session, actor: Actor, days: int = WINDOW_DAYS):
    """SQL condition on `Case` for the case list's 重复纠纷 filter: at least one earlier case of
    the same party (mobile or ID number) or address within `days`, within the actor's scope."""
    return _linked_exists(session, actor, Case, days)


def _linked_exists(session: Session, actor: Actor, later, days: int):
    dialect = session.get_bind().dialect.name
    E, P, Q = aliased(Case), aliased(Party), aliased(Party)
    when = [_earlier(E, later, days, dialect)]
    scope = scope_condition(session, actor, E)
    if scope is not None:
        when.append(scope)
    by_mobile = exists(select(1).select_from(P).join(Q, Q.mobile == P.mobile).join(E, E.id == Q.case_id)
                       .where(P.case_id == later.id, P.mobile != "", *when))
    by_id = exists(select(1).select_from(P).join(Q, Q.id_card == P.id_card).join(E, E.id == Q.case_id)
                   .where(P.case_id == later.id, P.id_card.isnot(None), P.id_card != "", *when))
    by_address = exists(select(1).select_from(E).where(E.address == later.address, *when))
    return or_(by_mobile, by_id, and_(later.address != "", by_address))


def _pairs(session: Session, since: dt.datetime, days: int):
    """(later case id, earlier case id) for every link whose later case was received since `since`
    and whose earlier one came at most `days` before it."""
    dialect = session.get_bind().dialect.name
    L, E, P, Q = aliased(Case), aliased(Case), aliased(Party), aliased(Party)
    win = [L.received_at >= since, _earlier(E, L, days, dialect)]
    by_mobile = (select(L.id.label("later"), E.id.label("earlier")).select_from(L)
                 .join(P, P.case_id == L.id).join(Q, and_(Q.mobile == P.mobile, Q.mobile != ""))
                 .join(E, E.id == Q.case_id).where(*win))
    by_id = (select(L.id.label("later"), E.id.label("earlier")).select_from(L)
             .join(P, and_(P.case_id == L.id, P.id_card.isnot(None), P.id_card != ""))
             .join(Q, Q.id_card == P.id_card).join(E, E.id == Q.case_id).where(*win))
    by_address = (select(L.id.label("later"), E.id.label("earlier")).select_from(L)
                  .join(E, and_(E.address == L.address, L.address != "")).where(*win))
    return union(by_mobile, by_id, by_address).subquery()


def alerts(session: Session, actor: Actor, days: int = ALERT_DAYS, min_cases: int = ALERT_MIN_CASES,
           limit: int = 50) -> list[dict]:
    """重复纠纷预警 for the task force: cases received in the last `days` days that are at least the
    `min_cases`-th case of the same party or address within `days` days, newest first, each with
    its earlier cases (ids and numbers) to put into a risk notice. No personal data."""
    from services.taskforce import instruments  # the notices page's readers may see this list
    instruments.can_read(actor)
    since = clock.now() - dt.timedelta(days=days)
    pairs = _pairs(session, since, days)
    counted = (select(pairs.c.later, func.count(func.distinct(pairs.c.earlier)).label("n"))
               .group_by(pairs.c.later).having(func.count(func.distinct(pairs.c.earlier)) >= min_cases - 1)
               .subquery())
    conds = []
    scope = scope_condition(session, actor)
    if scope is not None:
        conds.append(scope)
    q = (select(Case.id, Case.number, Case.received_at, Case.mode, Case.level, Case.status, Case.settled_at,
                Case.settled_level, Case.court_name, Case.end_reason_code, counted.c.n,
                Township.name.label("township"), DisputeCategory.name.label("category"))
         .join(counted, counted.c.later == Case.id)
         .join(Township, Township.id == Case.township_id)
         .join(DisputeCategory, DisputeCategory.id == Case.category_id)
         .where(*conds).order_by(Case.received_at.desc(), Case.id.desc()).limit(limit))
    rows = session.execute(q).all()
    earlier: dict[int, list[tuple[int, str]]] = {}
    if rows:
        for later_id, eid, number in session.execute(
                select(pairs.c.later, pairs.c.earlier, Case.number).join(Case, Case.id == pairs.c.earlier)
                .where(pairs.c.later.in_([r.id for r in rows])).order_by(Case.received_at, Case.id)):
            if (eid, number) not in earlier.setdefault(later_id, []):
                earlier[later_id].append((eid, number))
    return [{"id": r.id, "number": r.number, "received_at": r.received_at, "township": r.township,
             "category": r.category, "level_name": ladder.level_name(r.mode, r.level),
             "status_name": ladder.status_name(r.status), "outcome": _outcome(r), "count": int(r.n) + 1,
             "earlier_ids": [i for i, _ in earlier.get(r.id, [])],
             "earlier_numbers": [n for _, n in earlier.get(r.id, [])]} for r in rows]
