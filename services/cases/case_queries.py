"""Read side of the closed loop: case list, case view, board, follow-up queue, overdue list, flowchart.

Nothing here writes. Lists are filtered and paginated in SQL; aggregates are GROUP BY/COUNT.
Mediators (role mediator) see only the cases in their scope, the same rule as
services.cases.workflow.in_mediator_scope: current mediator, a dispatch to them, or their room.

Overdue (an open case needs action now):
- level:     open and level_due_at < now (the level's time limit, services.settings "level_time_limits")
- arrival:   open, first_notified_at set, first_arrival_at null and arrival_due_at < now (15-minute clock)
- follow_up: settled, followed_up_at null and follow_up_due_at < now
- judicial:  an agreement (settled, or closed after a settlement) whose parties intend to apply for
             judicial confirmation, no application yet, and 25 to 30 days since it took effect
             (Beijing dates; the court accepts a joint application within 30 days)
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import and_, case as sql_case, exists, false, func, or_, select, union
from sqlalchemy.orm import Session

from db.models import (Case, CaseEvent, Dispatch, DisputeCategory, FollowUp, Grid, MediationRoom, Mediator, Party,
                       PoliceStation, Township, User, Village)
from db.models.org import MEDIATOR_KINDS
from services import api_keys, clock, refdata
from services.cases import agreements, case_state
from services.cases import intake
from services.cases import ladder
from services.cases import workflow
from services.errors import NotFound, PermissionDenied
from services.roles import MEDIATOR, PLATFORM, Actor, may, role_name
from services.validation import (mask_address, mask_id, mask_name, mask_phone, normalise_mobile,
                                 party_replacements, redact_text)

OPEN_STATUSES = ladder.statuses_in(ladder.OPEN)
STATUS_CATEGORIES = {ladder.OPEN: "未办结", ladder.RESOLVED: "已化解/已办结", ladder.CLOSED: "已闭环"}
OVERDUE_KINDS = {"arrival": "到场超时", "level": "层级办理超时", "follow_up": "回访超时",
                 "judicial": "司法确认临近30日"}
# The duty a person is dispatched in, from the kind of person (services.cases.intake.DUTIES).
DUTY_FOR_KIND = {"grid_worker": "grid_worker", "village": "village", "station": "station",
                 "duty_cadre": "duty_cadre", "city_brand": "city_brand", "lawyer": "lawyer",
                 "department": "department"}


@dataclass
class CaseFilters:
    search: str = ""
    township_id: int | None = None
    police_station_id: int | None = None
    mode: str | None = None
    category_id: int | None = None
    level: str | None = None
    status: str | None = None  # a status code (ladder.STATUSES) or a category: open / resolved / closed
    overdue: str | None = None  # None, "any", or one of OVERDUE_KINDS
    repeat: bool = False  # 重复纠纷: an earlier case of the same party or address (services.cases.repeats)


# ------------------------------------------------------------------ SQL building blocks
def overdue_condition(kind: str, now: dt.datetime):
    """The SQL condition for one overdue kind (the docstring of this module says why)."""
    if kind == "level":
        return and_(Case.status.in_(OPEN_STATUSES), Case.level_due_at < now)
    if kind == "arrival":
        return and_(Case.status.in_(OPEN_STATUSES), Case.first_notified_at.isnot(None),
                    Case.first_arrival_at.is_(None), Case.arrival_due_at < now)
    if kind == "follow_up":
        return and_(Case.status == "settled", Case.followed_up_at.is_(None), Case.follow_up_due_at < now)
    if kind == "judicial":
        first, last = _judicial_window(now)
        return and_(Case.status.in_(("settled", "closed")), Case.settled_at.isnot(None),
                    Case.judicial_intent.is_(True), Case.judicial_status.is_(None),
                    Case.agreement_effective_on >= first, Case.agreement_effective_on <= last)
    if kind == "any":
        return or_(*(overdue_condition(k, now) for k in OVERDUE_KINDS))
    raise ValueError(kind)


def _judicial_window(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """Effective dates whose 30-day application period is in its last days (day 25 to day 30)."""
    today = clock.local(now).date()
    return (today - dt.timedelta(days=agreements.APPLY_WITHIN_DAYS),
            today - dt.timedelta(days=agreements.WARN_AFTER_DAYS))


def overdue_kinds(c, now: dt.datetime) -> list[str]:
    """The same rules in Python, for a loaded row (a Case or a Row with the same attributes)."""
    kinds = []
    is_open = c.status in OPEN_STATUSES
    if is_open and c.first_notified_at is not None and c.first_arrival_at is None \
            and c.arrival_due_at is not None and c.arrival_due_at < now:
        kinds.append("arrival")
    if is_open and c.level_due_at is not None and c.level_due_at < now:
        kinds.append("level")
    if c.status == "settled" and c.followed_up_at is None and c.follow_up_due_at is not None \
            and c.follow_up_due_at < now:
        kinds.append("follow_up")
    first, last = _judicial_window(now)
    if c.status in ("settled", "closed") and c.settled_at is not None and c.judicial_intent \
            and c.judicial_status is None and c.agreement_effective_on is not None \
            and first <= c.agreement_effective_on <= last:
        kinds.append("judicial")
    return kinds


def scope_condition(session: Session, actor: Actor, case=Case):
    """None for roles that see every case; the mediator's own cases otherwise. `case`: the Case
    entity or an alias of it (services.cases.repeats scopes the earlier cases of a case)."""
    if actor.role != MEDIATOR:
        return None
    if actor.mediator_id is None:
        return false()
    room_id = session.scalar(select(Mediator.room_id).where(Mediator.id == actor.mediator_id))
    conds = [case.current_mediator_id == actor.mediator_id,
             exists().where(Dispatch.case_id == case.id, Dispatch.mediator_id == actor.mediator_id)]
    if room_id is not None:
        conds.append(case.room_id == room_id)
    return or_(*conds)


# a whole case number as the portal writes them (丰-2023-001913): found by equality
CASE_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,4}-\d{4}-\d{6,}")  # services.numbering: 6 digits


def _search_condition(term: str, personal: bool = True):
    """Case number, 110 incident number, 12345 order number; and, only for roles that may see
    personal data, a party's name or mobile (otherwise a search would tell who is party to what)."""
    term = (term or "").strip()
    if not term:
        return None
    mobile = normalise_mobile(term)
    if mobile is not None:
        return Case.id.in_(select(Party.case_id).where(Party.mobile == mobile)) if personal else false()
    if CASE_NUMBER.fullmatch(term):  # a whole case number: its unique index, not four trigram searches
        return Case.id.in_(select(Case.id).where(Case.number == term))
    # ids first, one indexed branch per column (trigram GIN indexes on PostgreSQL), then the
    # union; a single OR across columns and tables cannot use those indexes (docs/dashboard.md)
    branches = [select(Case.id).where(Case.number.icontains(term, autoescape=True)),
                select(Case.id).where(Case.police_incident_no.icontains(term, autoescape=True)),
                select(Case.id).where(Case.hotline_order_no.icontains(term, autoescape=True))]
    if personal:
        branches.append(select(Party.case_id).where(Party.name.contains(term, autoescape=True)))
    return Case.id.in_(union(*branches))


def _conditions(session: Session, actor: Actor, f: CaseFilters, now: dt.datetime, search: bool = True) -> list:
    conds = []
    scope = scope_condition(session, actor)
    if scope is not None:
        conds.append(scope)
    if search:
        cond = _search_condition(f.search, may(actor.role, "case.view_personal"))
        if cond is not None:
            conds.append(cond)
    for col, value in ((Case.township_id, f.township_id), (Case.police_station_id, f.police_station_id),
                       (Case.mode, f.mode), (Case.category_id, f.category_id), (Case.level, f.level)):
        if value not in (None, ""):
            conds.append(col == value)
    if f.status in STATUS_CATEGORIES:
        conds.append(Case.status.in_(ladder.statuses_in(f.status)))
    elif f.status:
        conds.append(Case.status == f.status)
    if f.overdue:
        conds.append(overdue_condition(f.overdue, now))
    if f.repeat:
        from services.cases import repeats  # repeats reads this module's scope and row helpers
        conds.append(repeats.repeat_condition(session, actor))
    return conds


_ROW_COLUMNS = (Case.id, Case.number, Case.received_at, Case.mode, Case.level, Case.status, Case.complexity,
                Case.source, Case.version, Case.level_due_at, Case.first_notified_at, Case.first_arrival_at,
                Case.arrival_due_at, Case.followed_up_at, Case.follow_up_due_at, Case.settled_at,
                Case.judicial_intent, Case.judicial_status, Case.agreement_effective_on,
                Township.name.label("township"), DisputeCategory.name.label("category"),
                Mediator.name.label("mediator"))


def _row_query(*conds):
    return (select(*_ROW_COLUMNS)
            .join(Township, Township.id == Case.township_id)
            .join(DisputeCategory, DisputeCategory.id == Case.category_id)
            .outerjoin(Mediator, Mediator.id == Case.current_mediator_id)
            .where(*conds))


def _row_dict(r, now: dt.datetime) -> dict:
    kinds = overdue_kinds(r, now)
    return {
        "id": r.id, "number": r.number, "received_at": r.received_at, "township": r.township,
        "category": r.category, "mode": r.mode, "mode_name": ladder.MODE_NAMES.get(r.mode, r.mode),
        "level": r.level, "level_name": ladder.level_name(r.mode, r.level), "status": r.status,
        "status_name": ladder.status_name(r.status), "status_category": ladder.STATUSES[r.status][1],
        "stage": ladder.stage_label(r.mode, r.level, r.status), "complexity": r.complexity,
        "complexity_name": intake.COMPLEXITY.get(r.complexity, r.complexity), "source": r.source,
        "source_name": intake.SOURCES.get(r.source, r.source), "mediator": r.mediator or "",
        "version": r.version, "level_due_at": r.level_due_at, "arrival_due_at": r.arrival_due_at,
        "first_arrival_at": r.first_arrival_at,
        "follow_up_due_at": r.follow_up_due_at, "settled_at": r.settled_at,
        "overdue": kinds, "overdue_names": [OVERDUE_KINDS[k] for k in kinds],
    }


# ------------------------------------------------------------------ the case list
# Counting every matching row costs a scan of them all (32 ms for a whole city of 1,000,000 cases):
# the list counts at most this many exactly and estimates above it, saying so (约 1,000,000 件).
EXACT_COUNT_LIMIT = 10_000
# A search collects the matching ids first (one indexed query per column, docs/dashboard.md); a term
# that matches more than this many cases is used as a subquery instead (it narrows nothing useful).
SEARCH_IDS_LIMIT = 5_000


@dataclass
class CasePage:
    rows: list[dict]
    total: int | None  # exact, or the planner's estimate when `estimated`; None when not counted
    estimated: bool = False
    next: tuple | None = None  # (received_at, id) of the last row: where the next page starts; None at the end


def after_date(day: dt.date) -> tuple:
    """The keyset token that starts a list at the cases received on `day` (Beijing time) or earlier."""
    return (clock.local_dt(day.year, day.month, day.day) + dt.timedelta(days=1), 0)


def _count(session: Session, conds: list) -> tuple[int, bool]:
    """The number of matching cases: exact up to EXACT_COUNT_LIMIT, else PostgreSQL's estimate."""
    capped = select(Case.id).where(*conds).limit(EXACT_COUNT_LIMIT + 1).subquery()
    n = session.scalar(select(func.count()).select_from(capped)) or 0
    if n <= EXACT_COUNT_LIMIT:
        return n, False
    if session.get_bind().dialect.name != "postgresql":
        return session.scalar(select(func.count()).select_from(Case).where(*conds)) or 0, False
    query = select(Case.id).where(*conds).compile(session.get_bind(), compile_kwargs={"render_postcompile": True})
    plan = session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {query}", query.params).scalar()
    estimate = int((plan[0] if isinstance(plan, list) else plan)["Plan"]["Plan Rows"])
    return max(estimate, EXACT_COUNT_LIMIT + 1), True


def _search_ids(session: Session, f: CaseFilters, personal: bool) -> list[int] | None:
    """The ids a search term matches, collected first (each branch uses its own index), or None
    for no search; too many matches fall back to the subquery."""
    cond = _search_condition(f.search, personal)
    if cond is None:
        return None
    ids = list(session.scalars(select(Case.id).where(cond).limit(SEARCH_IDS_LIMIT + 1)))
    return ids if len(ids) <= SEARCH_IDS_LIMIT else None


def list_cases(session: Session, actor: Actor, filters: CaseFilters | None = None, after: tuple | None = None,
               page_size: int = 20, count: bool = True) -> CasePage:
    """One page of cases, newest received first, by keyset: `after` is the `next` of the page
    before (or `after_date`), None for the first page. Deep pages cost what the first does.
    `count=False` skips the count (the screen keeps the first page's for the pages after it)."""
    f = filters or CaseFilters()
    now = clock.now()
    personal = may(actor.role, "case.view_personal")
    ids = _search_ids(session, f, personal)
    conds = _conditions(session, actor, f, now, search=ids is None)
    if ids is not None:
        conds.append(Case.id.in_(ids) if ids else false())
    total, estimated = _count(session, conds) if count else (None, False)
    page_size = max(1, min(int(page_size), 200))
    q = _row_query(*conds)
    if after is not None:
        at, last_id = after
        q = q.where(or_(Case.received_at < at, and_(Case.received_at == at, Case.id < last_id)))
    q = q.order_by(Case.received_at.desc(), Case.id.desc()).limit(page_size + 1)
    rows = [_row_dict(r, now) for r in session.execute(q)]
    more = len(rows) > page_size
    rows = rows[:page_size]
    return CasePage(rows, total, estimated, (rows[-1]["received_at"], rows[-1]["id"]) if more else None)


def find_case_id(session: Session, actor: Actor, number: str) -> int:
    """The id of the case with this number (exact), within the actor's scope."""
    conds = [Case.number == (number or "").strip()]
    scope = scope_condition(session, actor)
    if scope is not None:
        conds.append(scope)
    case_id = session.scalar(select(Case.id).where(*conds))
    if case_id is None:
        raise NotFound("未找到该编号的案件（或不在您的办理范围内）。")
    return case_id


# ------------------------------------------------------------------ the case view
def allowed_actions(session: Session, actor: Actor, c: Case) -> list[str]:
    """What this actor may do to the case now: the MOVES rows the case's state allows, filtered by
    the actor's permissions (transition() checks both again)."""
    return [a for a in ladder.allowed(workflow.state_of(session, c, actor))
            if may(actor.role, ladder.RULES[a].permission) and not ladder.RULES[a].by_link]


def _name(session: Session, model, id_: int | None) -> str:
    if id_ is None:
        return ""
    if model.__table__.name in refdata.NAMED:  # a unit or a category: reference data
        return refdata.name(session, model, id_)
    return session.scalar(select(model.name).where(model.id == id_)) or ""


def case_view(session: Session, actor: Actor, case_id: int) -> dict:
    """Everything the detail page shows, as plain data; personal data masked unless the role needs it."""
    c = session.get(Case, case_id)
    if c is None:
        raise NotFound("案件不存在。")
    if actor.role == MEDIATOR and not workflow.in_mediator_scope(session, actor, c):
        raise PermissionDenied("该案件不在您的调解范围内。")
    now = clock.now()
    personal = may(actor.role, "case.view_personal")
    phones = may(actor.role, "roster.view_phone")
    party_rows = list(session.scalars(select(Party).where(Party.case_id == c.id).order_by(Party.id)))
    parties = [{"id": p.id, "name": p.name if personal else mask_name(p.name),
                "role": intake.PARTY_ROLES.get(p.role, p.role),
                "mobile": p.mobile if personal else mask_phone(p.mobile),
                "id_card": (p.id_card or "") if personal else mask_id(p.id_card),
                "address": p.address if personal else mask_address(p.address),
                # the agreement's fields: personal data too, hidden whole for roles that do not need it
                "sex": agreements.SEXES.get(p.sex or "", "") if personal else ("*" if p.sex else ""),
                "ethnicity": p.ethnicity if personal else ("*" if p.ethnicity else ""),
                "birth_date": (p.birth_date.isoformat() if p.birth_date else "") if personal
                else ("****-**-**" if p.birth_date else ""),
                "occupation": p.occupation if personal else ("***" if p.occupation else "")}
               for p in party_rows]
    # free text (description, notes, agreement, reasons) may quote names and numbers: masked too
    known = None if personal else party_replacements(party_rows, c.address)

    def text(value):
        return value if personal else redact_text(value, known)
    # children are queried, not read through relationships, so rows flushed in this session show
    rows = list(session.scalars(select(Dispatch).where(Dispatch.case_id == c.id).order_by(Dispatch.id)))
    people = {m.id: m for m in session.scalars(select(Mediator).where(
        Mediator.id.in_([d.mediator_id for d in rows] + [c.current_mediator_id or 0])))}
    dispatches = []
    for d in rows:
        m = people.get(d.mediator_id)
        late = (d.arrived_at is not None and d.arrived_at > d.due_at) or (d.arrived_at is None and d.due_at < now)
        dispatches.append({
            "id": d.id, "mediator_id": d.mediator_id, "name": m.name if m else "",
            "phone": (m.phone if phones else mask_phone(m.phone)) if m else "",
            "kind": MEDIATOR_KINDS.get(m.kind, m.kind) if m else "", "duty": intake.DUTIES.get(d.duty, d.duty),
            "notified_at": d.notified_at, "due_at": d.due_at, "arrived_at": d.arrived_at, "late": late,
            "minutes": int((d.arrived_at - d.notified_at).total_seconds() // 60) if d.arrived_at else None,
            "note": text(d.note)})
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == c.id).order_by(CaseEvent.id)))
    names = _user_names(session, events)
    timeline = [{"at": e.at, "who": person_name(names, e.user_id, e.username), "role": role_name(e.role),
                 "action": e.action, "action_name": _event_name(e),
                 "from": ladder.level_name(c.mode, e.from_level) if e.from_level in ladder.LEVELS else "",
                 "to": ladder.level_name(c.mode, e.to_level) if e.to_level in ladder.LEVELS else "",
                 "from_status": ladder.status_name(e.from_status) if e.from_status in ladder.STATUSES else "",
                 "to_status": ladder.status_name(e.to_status) if e.to_status in ladder.STATUSES else "",
                 "note": text(e.note)}
                for e in events]
    follow_ups = [{"done_at": f.done_at, "method": workflow.FOLLOW_UP_METHODS.get(f.method, f.method),
                   "by": f.by_name, "agreement_holds": f.agreement_holds,
                   "satisfaction": workflow.SATISFACTION.get(f.satisfaction, f.satisfaction), "note": text(f.note)}
                  for f in session.scalars(select(FollowUp).where(FollowUp.case_id == c.id).order_by(FollowUp.id))]
    police_minutes = case_state.police_minutes(c.police_arrived_at, c.police_handover_at)
    kinds = overdue_kinds(c, now)
    return {
        "id": c.id, "number": c.number, "version": c.version, "source": c.source,
        "source_name": intake.SOURCES.get(c.source, c.source), "police_incident_no": c.police_incident_no or "",
        "police_officer": c.police_officer, "police_station": _name(session, PoliceStation, c.police_station_id),
        "hotline_order_no": c.hotline_order_no or "", "received_at": c.received_at,
        "township": _name(session, Township, c.township_id), "village": _name(session, Village, c.village_id),
        "grid": _name(session, Grid, c.grid_id), "address": c.address if personal else mask_address(c.address),
        "category": _name(session, DisputeCategory, c.category_id), "complexity": c.complexity,
        "complexity_name": intake.COMPLEXITY.get(c.complexity, c.complexity), "description": text(c.description),
        "mode": c.mode, "mode_name": ladder.MODE_NAMES.get(c.mode, c.mode),
        "room": _name(session, MediationRoom, c.room_id), "room_id": c.room_id, "after_hours": c.after_hours,
        "route_overridden": c.route_overridden, "route_note": text(c.route_note),
        "level": c.level, "level_name": ladder.level_name(c.mode, c.level), "status": c.status,
        "status_name": ladder.status_name(c.status), "status_category": ladder.STATUSES[c.status][1],
        "stage": ladder.stage_label(c.mode, c.level, c.status), "ladder": ladder_strip(c.mode, c.level, c.status),
        "level_entered_at": c.level_entered_at, "level_due_at": c.level_due_at,
        "current_mediator": _handler(session, c, people, rows),
        "first_notified_at": c.first_notified_at, "arrival_due_at": c.arrival_due_at,
        "first_arrival_at": c.first_arrival_at, "police_arrived_at": c.police_arrived_at,
        "police_handover_at": c.police_handover_at, "police_minutes": police_minutes,
        "settled_at": c.settled_at,
        "settled_level": ladder.level_name(c.mode, c.settled_level) if c.settled_level else "",
        "agreement_summary": text(c.agreement_summary), "agreement_amount": c.agreement_amount,
        "ended_at": c.ended_at, "end_reason_code": c.end_reason_code,
        "end_reason_name": ladder.TERMINATION_REASONS.get(c.end_reason_code, ""), "end_reason": text(c.end_reason),
        "court_name": c.court_name, "follow_up_due_at": c.follow_up_due_at, "followed_up_at": c.followed_up_at,
        "satisfaction": workflow.SATISFACTION.get(c.satisfaction, "") if c.satisfaction else "",
        "closed_at": c.closed_at, "reopen_count": c.reopen_count,
        "created_by": _name_of_user(session, c.created_by_id) or _platform_registrar(timeline),
        "created_at": c.created_at,
        "parties": parties, "personal_visible": personal, "dispatches": dispatches,
        "late_arrivals": sum(1 for d in dispatches if d["late"]), "timeline": timeline, "follow_ups": follow_ups,
        "overdue": kinds, "overdue_names": [OVERDUE_KINDS[k] for k in kinds],
        "allowed_actions": allowed_actions(session, actor, c),
        **_agreement_view(session, c, parties, text, now),
    }


def follow_up_terms(session: Session, actor: Actor, case_id: int) -> list[dict]:
    """The agreement's terms the follow-up asks about: id, position, obligation, party, due date."""
    from db.models import AgreementTerm
    view_roles = may(actor.role, "case.follow_up") or may(actor.role, "case.mediate")
    if not view_roles:
        raise PermissionDenied("您的角色不能回访。")
    personal = may(actor.role, "case.view_personal")
    rows = session.execute(select(AgreementTerm, Party.name).outerjoin(Party, Party.id == AgreementTerm.party_id)
                           .where(AgreementTerm.case_id == case_id).order_by(AgreementTerm.position)).all()
    return [{"id": t.id, "position": t.position, "obligation": t.obligation, "due_on": t.due_on,
             "party": (name or "") if personal else mask_name(name or "")} for t, name in rows]


def _agreement_view(session: Session, c: Case, parties: list[dict], text, now: dt.datetime) -> dict:
    """The written agreement on the detail page: terms, sessions, judicial confirmation, warning."""
    from db.models import AgreementTerm, JudicialConfirmation, MediationSession
    names = {p["id"]: p["name"] for p in parties}
    terms = [{"id": t.id, "position": t.position, "obligation": text(t.obligation), "party_id": t.party_id,
              "party": names.get(t.party_id, ""), "amount": t.amount, "manner": text(t.manner), "due_on": t.due_on,
              "performance": t.performance, "performance_name": agreements.PERFORMANCE.get(t.performance or "", ""),
              "late": t.performance != "performed" and t.due_on < clock.local(now).date()}
             for t in session.scalars(select(AgreementTerm).where(AgreementTerm.case_id == c.id)
                                      .order_by(AgreementTerm.position))]
    sessions = [{"id": m.id, "held_at": m.held_at, "place": text(m.place), "mediators": m.mediators,
                 "participants": text(m.participants), "process": text(m.process), "result": text(m.result)}
                for m in session.scalars(select(MediationSession).where(MediationSession.case_id == c.id)
                                         .order_by(MediationSession.held_at, MediationSession.id))]
    conf = session.scalar(select(JudicialConfirmation).where(JudicialConfirmation.case_id == c.id)
                          .order_by(JudicialConfirmation.id.desc()).limit(1))
    warning = ""
    if "judicial" in overdue_kinds(c, now):
        deadline = c.agreement_effective_on + dt.timedelta(days=agreements.APPLY_WITHIN_DAYS)
        warning = (f"当事人拟申请司法确认，协议于 {c.agreement_effective_on:%Y-%m-%d} 生效，须在 {deadline:%Y-%m-%d} 前"
                   "共同向法院申请，目前尚未申请。")
    return {
        "terms": terms, "sessions": sessions, "agreement_copies": c.agreement_copies,
        "agreement_effective_on": c.agreement_effective_on, "judicial_intent": bool(c.judicial_intent),
        "judicial_status": c.judicial_status, "judicial_warning": warning,
        "confirmation": None if conf is None else {
            "applied_on": conf.applied_on, "court": conf.court, "applicants": text(conf.applicants),
            "channel_name": agreements.CHANNELS.get(conf.channel, conf.channel),
            "online_request_id": conf.online_request_id,
            "result_name": agreements.RESULTS.get(conf.result or "", "待法院裁定"), "result_on": conf.result_on,
            "ruling_no": conf.ruling_no, "reject_reason": text(conf.reject_reason)},
    }


def _user_names(session: Session, events: list) -> dict:
    """Display names of the events' users, by user id and by username (older rows may lack the id)."""
    ids = {e.user_id for e in events if e.user_id is not None}
    usernames = {e.username for e in events if e.user_id is None and e.username}
    if not ids and not usernames:
        return {}
    rows = session.execute(select(User.id, User.username, User.display_name)
                           .where(or_(User.id.in_(ids), User.username.in_(usernames)))).all()
    return {**{r.id: r.display_name for r in rows}, **{r.username: r.display_name for r in rows}}


def person_name(names: dict, user_id: int | None, username: str) -> str:
    """Who did it, by name: a username never stands for a person on screen or in a document."""
    if user_id in names:
        return names[user_id]
    if user_id is None and username in names:
        return names[username]
    if user_id is None and (platform := api_keys.platform_name(username)):
        return platform  # a call posted by the 110 / 12345 platform (web/api.py)
    return "系统" if not username or username == "system" else "已删除的用户"


def _handler(session: Session, c: Case, people: dict, dispatches: list) -> str:
    """Who handles the case at its current level: the case's mediator; else the last person sent to
    it at this level (not a grid worker); else the level's body, waiting for someone to be assigned
    (a transfer moves the case to the next level without naming a person)."""
    if c.current_mediator_id in people:
        return people[c.current_mediator_id].name
    here = [d for d in dispatches if d.duty != "grid_worker" and d.notified_at >= c.level_entered_at]
    if here:
        m = session.get(Mediator, here[-1].mediator_id)
        if m is not None:
            return m.name
    body = ladder.level_name(c.mode, c.level)
    if c.level in ("station_room", "village_room") and c.room_id:
        body = _name(session, MediationRoom, c.room_id)
    elif c.level == "township":
        body = _name(session, Township, c.township_id) + body.removeprefix("乡镇")
    return f"{body}（待指派调解人）" if ladder.STATUSES[c.status][1] == ladder.OPEN else body


def _platform_registrar(timeline: list[dict]) -> str:
    """"110 接警平台" when a platform registered the case through the API (no account did)."""
    first = next((t for t in timeline if t["action"] == "register"), None)
    return first["who"] if first is not None and first["role"] == role_name(PLATFORM) else ""


def _name_of_user(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    return session.scalar(select(User.display_name).where(User.id == user_id)) or ""


def ladder_strip(mode: str, level: str, status: str) -> list[dict]:
    """The case's ladder as steps: done (passed), current, ahead."""
    steps = list(ladder.LADDERS[mode])
    here = steps.index(level) if level in steps else 0
    return [{"code": code, "name": ladder.level_name(mode, code),
             "state": "done" if i < here else ("current" if i == here else "ahead")}
            for i, code in enumerate(steps)]


def _event_name(e: CaseEvent) -> str:
    """The timeline's words for an event; a follow-up says what the party answered."""
    name = ladder.RULES[e.action].audit_label if e.action in ladder.RULES else e.action
    if e.action in ("follow_up", "reopen") and e.detail:
        said = workflow.follow_up_outcome(e.detail.get("satisfaction"), e.detail.get("agreement_holds"),
                                          e.action == "reopen")
        return f"回访（{said}）" if said else name
    return name


def dispatch_options(session: Session, actor: Actor, case_id: int) -> list[dict]:
    """People to dispatch: the suggestions first (preselected), then everyone else staff may choose."""
    c = session.get(Case, case_id)
    if c is None:
        raise NotFound("案件不存在。")
    if actor.role == MEDIATOR and not workflow.in_mediator_scope(session, actor, c):
        raise PermissionDenied("该案件不在您的调解范围内。")
    out, seen = [], set()
    for s in intake.suggest_dispatch(session, case_id):
        if s["mediator_id"] in seen:
            continue
        seen.add(s["mediator_id"])
        out.append({"mediator_id": s["mediator_id"], "duty": s["duty"], "suggested": s.get("suggested", True),
                    "preselect": s.get("preselect", True),
                    "label": f"{s['name']}（{intake.DUTIES.get(s['duty'], s['duty'])}，{s['reason']}）"})
    for m in intake.dispatchable_people(session, case_id):
        if m.id in seen:
            continue
        seen.add(m.id)
        out.append({"mediator_id": m.id, "duty": DUTY_FOR_KIND.get(m.kind, "department"), "suggested": False,
                    "label": f"{m.name}（{MEDIATOR_KINDS.get(m.kind, m.kind)}）"})
    return out


# ------------------------------------------------------------------ board, queues, overdue
def board(session: Session, actor: Actor, mode: str, township_id: int | None = None,
          category_id: int | None = None, per_column: int = 8) -> list[dict]:
    """Open cases per ladder level of one mode: count, overdue count and the most urgent cards."""
    now = clock.now()
    f = CaseFilters(township_id=township_id, category_id=category_id, mode=mode, status=ladder.OPEN)
    conds = _conditions(session, actor, f, now)
    late = overdue_condition("any", now)
    counts = {lvl: (n, k) for lvl, n, k in session.execute(
        select(Case.level, func.count(), func.sum(sql_case((late, 1), else_=0)))
        .where(*conds).group_by(Case.level))}
    columns = []
    for lvl in ladder.LADDERS[mode]:
        n, k = counts.get(lvl, (0, 0))
        cards = []
        if n:
            q = (_row_query(*conds, Case.level == lvl)
                 .order_by(sql_case((late, 0), else_=1), Case.level_due_at.asc().nulls_last(), Case.id)
                 .limit(per_column))
            for r in session.execute(q):
                row = _row_dict(r, now)
                row["colour"] = card_colour(row, now)
                cards.append(row)
        columns.append({"level": lvl, "name": ladder.level_name(mode, lvl), "count": n, "overdue": int(k or 0),
                        "cards": cards})
    return columns


def card_colour(row: dict, now: dt.datetime) -> str:
    """red: overdue; orange: level due within 24 hours; green: on time."""
    if row["overdue"]:
        return "red"
    due = row.get("level_due_at")
    if due is not None and due - now < dt.timedelta(hours=24):
        return "orange"
    return "green"


def overdue_cases(session: Session, actor: Actor, kind: str, offset: int = 0,
                  limit: int = 50) -> tuple[list[dict], int]:
    """One kind of overdue case, the oldest due first, a page at a time, and how many there are."""
    now = clock.now()
    order = {"arrival": Case.arrival_due_at, "level": Case.level_due_at, "follow_up": Case.follow_up_due_at,
             "judicial": Case.agreement_effective_on}
    scope = scope_condition(session, actor)
    conds = [overdue_condition(kind, now)] + ([scope] if scope is not None else [])
    total = session.scalar(select(func.count()).select_from(Case).where(*conds)) or 0
    q = _row_query(*conds).order_by(order[kind], Case.id).limit(limit).offset(max(0, offset))
    return [_row_dict(r, now) for r in session.execute(q)], total


def follow_up_cases(session: Session, actor: Actor, ready: bool = False, offset: int = 0,
                    limit: int = 50) -> tuple[list[dict], int]:
    """The follow-up queue a page at a time: settled cases waiting for their follow-up (by due
    date), or (`ready`) followed up with a satisfied answer and waiting to be closed."""
    now = clock.now()
    if ready:
        conds = [ladder.sql_allows("close"), Case.status == "settled"]
        order = (Case.followed_up_at, Case.id)
    else:
        conds = [ladder.sql_allows("follow_up"), Case.followed_up_at.is_(None)]
        order = (Case.follow_up_due_at.asc().nulls_last(), Case.id)
    scope = scope_condition(session, actor)
    if scope is not None:
        conds.append(scope)
    total = session.scalar(select(func.count()).select_from(Case).where(*conds)) or 0
    q = _row_query(*conds).order_by(*order).limit(limit).offset(max(0, offset))
    return [_row_dict(r, now) for r in session.execute(q)], total


def follow_up_queue(session: Session, actor: Actor, limit: int = 50) -> dict:
    """Settled cases waiting for their follow-up (overdue first, then by due date), and those
    followed up and ready to close."""
    items, total = follow_up_cases(session, actor, offset=0, limit=limit)
    conds = [ladder.sql_allows("follow_up"), Case.followed_up_at.is_(None), Case.follow_up_due_at < clock.now()]
    scope = scope_condition(session, actor)
    if scope is not None:
        conds.append(scope)
    overdue = session.scalar(select(func.count()).select_from(Case).where(*conds)) or 0
    to_close, _ = follow_up_cases(session, actor, ready=True, offset=0, limit=limit)
    return {"total": total, "overdue": overdue, "items": items, "to_close": to_close}


def overdue_list(session: Session, actor: Actor, limit: int = 50) -> dict[str, dict]:
    """Everything overdue, per kind: the count and the oldest items first."""
    out = {}
    for kind, label in OVERDUE_KINDS.items():
        items, n = overdue_cases(session, actor, kind, 0, limit)
        out[kind] = {"name": label, "count": n, "items": items}
    return out


# ------------------------------------------------------------------ the flowchart
def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def flowchart_dot(time_limits: dict | None = None) -> str:
    """非警务警情联动处置流程图 as Graphviz DOT, drawn only from services.cases.ladder (levels, ladders and
    the MOVES table), so the chart cannot disagree with the rules transition() applies."""
    limits = time_limits or {}
    colours = {"transfer": "#d9822b", "settle": "#2e7d32", "terminate": "#757575", "litigate": "#1565c0",
               "follow_up": "#2e7d32", "close": "#37474f", "reopen": "#c62828", "dispatch": "#455a64"}
    lines = ["digraph closed_loop {", "  rankdir=TB; compound=true; newrank=true;",
             '  node [shape=box, style="rounded,filled", fillcolor="#f5f7fa", fontname="Noto Sans CJK SC", '
             'fontsize=11];',
             '  edge [fontname="Noto Sans CJK SC", fontsize=9];']
    for code, name in intake.SOURCES.items():
        lines.append(f"  src_{code} [label={_q(name)}, fillcolor=\"#e3f2fd\"];")
        lines.append(f"  src_{code} -> triage;")
    lines.append(f'  triage [label={_q("登记受理 · 按发生地分流")}, shape=diamond, fillcolor="#fff8e1"];')

    def limit_text(level: str) -> str:
        if level not in limits:
            return ""
        days = int(limits[level])
        return "\\n时限：当日" if days == 0 else f"\\n时限：{days} 天"

    def moves_from(mode: str, level: str, status: str) -> list[ladder.Rule]:
        """The table's rows that change the state from here (side actions are not drawn)."""
        return [r for r in ladder.MOVES if r.moves and status in r.from_status and level in r.from_levels
                and (r.to_level != "next" or ladder.next_level(mode, level))]

    outcome_nodes: set[str] = set()
    for mode, steps in ladder.LADDERS.items():
        lines.append(f"  subgraph cluster_{mode} {{")
        where = "城区、集镇" if mode == "station" else "农村、偏远地区"
        lines.append(f"    label={_q(ladder.MODE_NAMES[mode] + '（' + where + '）')};")
        lines.append('    style="rounded"; color="#90a4ae";')
        for level in steps:
            label = _q(ladder.level_name(mode, level)).rstrip('"') + limit_text(level) + '"'
            lines.append(f"    {mode}_{level} [label={label}];")
        lines.append("  }")
        for r in moves_from(mode, steps[0], "registered"):
            if r.to_status == "mediating":
                label = _q(ladder.MODE_NAMES[mode] + " · " + r.staff_label)
                lines.append(f"  triage -> {mode}_{steps[0]} [label={label}, color=\"{colours[r.action]}\"];")
        for level in steps:
            for r in moves_from(mode, level, "mediating"):
                if r.to_status == "mediating":
                    to = ladder.target_level(r, mode, level)
                    lines.append(f"  {mode}_{level} -> {mode}_{to} [label={_q('调解不成功 · ' + r.staff_label)}, "
                                 f"color=\"{colours[r.action]}\", fontcolor=\"{colours[r.action]}\"];")
                else:
                    outcome_nodes.add(r.to_status)
                    lines.append(f"  {mode}_{level} -> st_{r.to_status} [color=\"{colours[r.action]}\"];")
    for status in sorted(outcome_nodes) + ["closed"]:
        lines.append(f"  st_{status} [label={_q(ladder.status_name(status))}, fillcolor=\"#e8f5e9\"];")
    lines.append(f'  followup [label={_q("专班回访（满意度、协议履行）")}, fillcolor="#fff3e0"];')
    # after the outcome: the rows that start from each resolved status
    for status in sorted(outcome_nodes):
        for r in ladder.MOVES:
            if status not in r.from_status or not r.moves:
                continue
            if r.action == "follow_up":
                lines.append(f"  st_{status} -> followup [label={_q(r.staff_label)}, color=\"{colours[r.action]}\"];")
            elif r.action == "close" and status != "settled":
                lines.append(f"  st_{status} -> st_closed [label={_q(r.staff_label)}, color=\"{colours[r.action]}\"];")
            elif r.action == "close":
                lines.append(f"  followup -> st_closed [label={_q('满意 · ' + r.staff_label)}, "
                             f"color=\"{colours[r.action]}\"];")
            elif r.action == "reopen":
                for mode, steps in ladder.LADDERS.items():
                    lines.append(f"  followup -> {mode}_{steps[1]} [label={_q('不满意/协议未履行 · 原层级重新调处')}, "
                                 f"style=dashed, color=\"{colours[r.action]}\", fontcolor=\"{colours[r.action]}\", "
                                 f"lhead=cluster_{mode}, constraint=false];")
    lines.append("}")
    return "\n".join(line for line in lines if line)


FLOW_LEGEND = {
    "调解不成功 · 移送（橙色）": "本级调解不成功，填写原因后移送上一级",
    "调解成功（绿色）": "记录协议要点和金额，进入专班回访队列",
    "终止（灰色）": "当事人撤回、不属于纠纷或移交其他部门，须写明原因",
    "引导诉讼（蓝色）": "最后一级：引导当事人向法院起诉，记录法院名称",
    "回访不满意（红色虚线）": "回到案件原调解层级重新调处",
}


# ------------------------------------------------------------------ look-ups for the forms
def rooms(session: Session) -> list[tuple[int, str]]:
    return refdata.rooms(session)  # reference data: this process's copy (services/refdata.py)


def police_stations(session: Session) -> list[tuple[int, str]]:
    return refdata.police_stations(session)


def route_preview(session: Session, township_id: int | None, village_id: int | None, at: dt.datetime) -> dict | None:
    """The routing the case would get (services.cases.intake.route_for), in words, before it is saved."""
    if not township_id or not village_id:
        return None
    route = intake.route_for(session, township_id, village_id, at)
    text = f"{ladder.MODE_NAMES[route.mode]} · {_name(session, MediationRoom, route.room_id) or '（未设调解室）'}"
    if route.after_hours:
        text += "；接报时在驻所调解室服务时间以外，由乡镇值班干部会同派出所处置"
    if route.note:
        text += f"；{route.note}"
    return {"mode": route.mode, "room_id": route.room_id, "text": text}
