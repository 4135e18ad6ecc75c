"""Check-in links (签到链接): a personal link per dispatched person, opened on their phone with no login.

The link is the credential. `issue()` makes a token of 192 random bits (`secrets.token_urlsafe(24)`),
returns it once to the staff member who issued it and stores only its SHA-256, as login sessions
do (services.sessions). A link works while all of these hold:
- it is not revoked (staff revoke it, or issue a new one for the same dispatch);
- it is younger than 24 hours;
- its case is still being mediated (调解中) at the level the link was issued for.
Anything else (unknown, malformed, expired, revoked) is `None` to the caller: the web page answers
all of them alike, so a token cannot be probed.

The person's three taps go through services.cases.workflow.transition() as MOVES side actions:
"depart" (已出发), "arrive" (已到场, the same row staff use, so the arrival clock and the
quick-response rate count it) and "handover" (已移交/已结束). Each is stamped with the server's
clock, never a time sent by the phone, and a repeated tap keeps the first time.

Police times are not stamped from the link: the 已移交 tap ends the dispatched person's own work on
site; the police hand-over (and the police arrival it is measured from) stays with the staff's
民警到场/移交 form (docs/checkin.md).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Case, CheckinLink, DisputeCategory, Dispatch, Mediator, Party, Township, Village
from services import audit, clock
from services.cases import intake, workflow
from services.errors import IllegalTransition, NotFound, PermissionDenied
from services.redact import mask_phone
from services.roles import MEDIATOR, Actor, require

LIFETIME = dt.timedelta(hours=24)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
STEPS = {"depart": "已出发", "arrive": "已到场", "handover": "已移交/已结束"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def countdown(due_at: dt.datetime | None, now: dt.datetime, arrived_at: dt.datetime | None = None) -> str:
    """The arrival clock in words: 剩余 N 分钟 / 已超时 N 分钟 (whole minutes, rounded up), or the
    arrival when someone is there; "" with no clock running."""
    if arrived_at is not None:
        late = due_at is not None and arrived_at > due_at
        return f"已到场（{clock.fmt(arrived_at)[11:16]}{'，超时' if late else ''}）"
    if due_at is None:
        return ""
    seconds = (due_at - now).total_seconds()
    if seconds >= 0:
        return f"剩余 {math.ceil(seconds / 60)} 分钟"
    return f"已超时 {math.ceil(-seconds / 60)} 分钟"


def _active(session: Session, dispatch_id: int) -> CheckinLink | None:
    return session.scalar(select(CheckinLink).where(CheckinLink.dispatch_id == dispatch_id,
                                                    CheckinLink.revoked_at.is_(None))
                          .order_by(CheckinLink.id.desc()).limit(1))


def _dispatch_and_case(session: Session, actor: Actor, dispatch_id: int) -> tuple[Dispatch, Case]:
    require(actor, "case.dispatch")
    d = session.get(Dispatch, dispatch_id)
    if d is None:
        raise NotFound("调度记录不存在。")
    case = session.get(Case, d.case_id)
    if actor.role == MEDIATOR and not workflow.in_mediator_scope(session, actor, case):
        raise PermissionDenied("该案件不在您的调解范围内。")
    return d, case


def issue(session: Session, actor: Actor, dispatch_id: int) -> str:
    """A new link for one dispatched person; any earlier link of the same dispatch stops working.
    Returns the raw token (shown once; only its hash is kept)."""
    d, case = _dispatch_and_case(session, actor, dispatch_id)
    if case.status != "mediating":
        raise IllegalTransition("案件已不在调解中，不能生成签到链接。")
    now = clock.now()
    old = _active(session, d.id)
    if old is not None:
        old.revoked_at, old.revoked_by_id = now, actor.user_id
    token = new_token()
    session.add(CheckinLink(dispatch_id=d.id, case_id=case.id, level=case.level, token_hash=_hash(token),
                            issued_at=now, expires_at=now + LIFETIME, issued_by_id=actor.user_id,
                            departed_at=old.departed_at if old else None,
                            finished_at=old.finished_at if old else None))
    session.flush()
    audit.record(session, actor, "checkin.issue", "case", case.id, label=case.number, dispatch_id=d.id,
                 replaced=old is not None)
    return token


def revoke(session: Session, actor: Actor, dispatch_id: int) -> bool:
    """Staff: the person's link stops working at once. False when there was none."""
    d, case = _dispatch_and_case(session, actor, dispatch_id)
    link = _active(session, d.id)
    if link is None:
        return False
    link.revoked_at, link.revoked_by_id = clock.now(), actor.user_id
    session.flush()
    audit.record(session, actor, "checkin.revoke", "case", case.id, label=case.number, dispatch_id=d.id)
    return True


def _alive(link: CheckinLink | None, case: Case | None, now: dt.datetime) -> bool:
    return (link is not None and case is not None and link.revoked_at is None and now < link.expires_at
            and case.level == link.level and case.status == "mediating")


def links(session: Session, case_id: int) -> dict[int, dict]:
    """The case's links by dispatch id, for the staff's panel (no token: it is not stored)."""
    case = session.get(Case, case_id)
    now = clock.now()
    out: dict[int, dict] = {}
    for link in session.scalars(select(CheckinLink).where(CheckinLink.case_id == case_id)
                                .order_by(CheckinLink.id)):
        out[link.dispatch_id] = {"issued_at": link.issued_at, "expires_at": link.expires_at,
                                 "revoked": link.revoked_at is not None, "alive": _alive(link, case, now),
                                 "departed_at": link.departed_at, "finished_at": link.finished_at}
    return out


def _lookup(session: Session, token: str) -> tuple[CheckinLink, Dispatch, Case] | None:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    link = session.scalar(select(CheckinLink).where(CheckinLink.token_hash == _hash(token)))
    if link is None:
        return None
    case = session.get(Case, link.case_id)
    if not _alive(link, case, clock.now()):
        return None
    return link, session.get(Dispatch, link.dispatch_id), case


def _caller_phone(session: Session, case_id: int) -> str:
    parties = list(session.scalars(select(Party).where(Party.case_id == case_id).order_by(Party.id)))
    caller = next((p for p in parties if p.role == "applicant"), parties[0] if parties else None)
    return mask_phone(caller.mobile) if caller else ""


def page_view(session: Session, token: str) -> dict | None:
    """What the person's phone shows, an allow-list: the place (with the address, which they need to
    get there), category, their arrival deadline and clock, the caller's masked phone and their
    own taps. None for any link that does not work."""
    found = _lookup(session, token)
    if found is None:
        return None
    link, d, case = found
    now = clock.now()
    name = lambda model, id_: session.scalar(select(model.name).where(model.id == id_)) if id_ else ""  # noqa: E731
    return {"case_number": case.number, "township": name(Township, case.township_id) or "",
            "village": name(Village, case.village_id) or "", "address": case.address or "",
            "category": name(DisputeCategory, case.category_id) or "",
            "duty": intake.DUTIES.get(d.duty, d.duty), "notified_at": d.notified_at, "due_at": d.due_at,
            "countdown": countdown(d.due_at, now, d.arrived_at), "caller_phone": _caller_phone(session, case.id),
            "departed_at": link.departed_at, "arrived_at": d.arrived_at, "finished_at": link.finished_at,
            "expires_at": link.expires_at}


def _link_actor(session: Session, d: Dispatch) -> Actor:
    """The dispatched person, acting through their link (no account): the audit names them."""
    m = session.get(Mediator, d.mediator_id)
    return Actor(user_id=None, username="checkin_link", role=MEDIATOR,
                 display_name=f"{m.name if m else ''}（签到链接）", mediator_id=d.mediator_id)


def tap(session: Session, token: str, step: str) -> str | None:
    """One tap on the link: "recorded", "already" (a repeat: the first time stays), or None when the
    link does not work. The time is the server's."""
    found = _lookup(session, token)
    if found is None or step not in STEPS:
        return None
    link, d, case = found
    now = clock.now()
    actor = _link_actor(session, d)
    if step == "depart":
        if link.departed_at is not None or d.arrived_at is not None:
            return "already"
        workflow.transition(session, actor, case.id, "depart", None, dispatch_id=d.id)
        link.departed_at = now
    elif step == "arrive":
        if d.arrived_at is not None:
            return "already"
        workflow.transition(session, actor, case.id, "arrive", None, dispatch_id=d.id, arrived_at=now)
    else:
        if link.finished_at is not None:
            return "already"
        workflow.transition(session, actor, case.id, "handover", None, dispatch_id=d.id)
        link.finished_at = now
    session.flush()
    return "recorded"
