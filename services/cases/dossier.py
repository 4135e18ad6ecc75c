"""Case paperwork (案件文书) and the archive dossier (卷宗): who may download them, the audit
trail of every download, and the assembly of their data from the database.

The papers carry the parties' full personal data (they are the legal record), so only roles with
case.view_personal download them; leaders are refused, trainers get masked specimens (培训样本).
Each download (one document, a dossier, a month's ZIP) leaves an audit event. Rendering is
services.documents.case_papers.

`load()` builds the renderers' input (case_papers.CasePapers) from services.cases.papers.case_papers
(the one reader of a case's parties, terms, sessions, confirmation, follow-ups and events) plus the
case's place, committee and mediators; what was never entered prints as a blank for handwriting.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import replace
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (Case, Dispatch, DisputeCategory, FollowUp, GovernanceCentre, Grid, MediationRoom,
                       Mediator, Township, Village)
from services import audit, clock, personal_data
from services.cases import case_queries, intake, ladder, papers
from services.documents import case_papers as cp
from services.errors import DomainError, NotFound, PermissionDenied
from services.roles import ROLES, SYSTEM, Actor, may
from services.validation import mask_address, mask_id, mask_name, mask_phone, party_replacements, redact_text

PERMISSION = "case.view_personal"
FORMATS = ("docx", "pdf")
# people dispatched in these duties are not the case's people's mediators (they sign nothing)
NOT_MEDIATORS = frozenset({"grid_worker"})


SPECIMEN = "case.papers_specimen"  # trainers: masked specimen copies (培训样本), for demonstrating


def can_download(actor: Actor) -> bool:
    return may(actor.role, PERMISSION) or may(actor.role, SPECIMEN)


def is_specimen(actor: Actor) -> bool:
    """The actor gets masked specimens, not the legal record (a trainer)."""
    return not may(actor.role, PERMISSION) and may(actor.role, SPECIMEN)


def _require(actor: Actor) -> None:
    """Leaders (and any role without case.view_personal or specimens) are refused in Chinese."""
    if not can_download(actor):
        exc = PermissionDenied(f"{ROLES.get(actor.role, actor.role)}账号不能下载案件文书："
                               "文书含当事人完整的个人信息，仅办案人员可以下载。")
        exc.action = PERMISSION
        raise exc


def _case(session: Session, actor: Actor, case_id: int) -> Case:
    _require(actor)
    if is_specimen(actor):  # trainers read every case (masked)
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound("案件不存在。")
        return case
    return personal_data._case(session, actor, case_id)   # exists, and in a mediator's scope


# ---------------------------------------------------------------------------- assembly
def _name(session: Session, model, id_: int | None) -> str:
    return case_queries._name(session, model, id_)


def _party(x: dict) -> cp.PartyPaper:
    """One party of case_papers(), with the agreement's fields (sex, ethnicity, birth date,
    occupation) where entered; blanks for handwriting where not."""
    return cp.PartyPaper(name=x["name"], side=x["role"] or "当事人", sex=x["sex"] or None,
                         ethnicity=x["ethnicity"] or None, birth_date=x["birth_date"],
                         occupation=x["occupation"] or None, address=x["address"] or None,
                         id_number=x["id_card"] or None, phone=x["mobile"] or None)


def _terms(data: dict) -> list[cp.Term]:
    """The structured terms of the agreement; each names the party who owes it."""
    out = []
    for t in data["terms"]:
        who = t["party_name"]
        text = t["obligation"] if not who or t["obligation"].startswith(who) else f"{who}{t['obligation']}"
        out.append(cp.Term(text, t["amount"], t["manner"] or None, t["due_on"]))
    return out


def _sessions(data: dict) -> list[cp.MediationSession]:
    """The mediation sessions recorded on the case (人民调解记录), oldest first."""
    return [cp.MediationSession(m["held_at"], m["place"],
                                [x for x in (m["mediators"], m["participants"]) if x], m["process"], m["result"])
            for m in data["sessions"]]


def _confirmation(data: dict) -> cp.Confirmation | None:
    """The latest application for judicial confirmation (None: none was made)."""
    conf = data["confirmation"]
    return None if conf is None else cp.Confirmation(conf["court"], conf["applied_on"])


def _term_performance(data: dict, answered: list[dict]) -> list[str] | None:
    """A follow-up's answer per term, in the agreement's order (None when it answered none)."""
    if not answered:
        return None
    by_position = {t["position"]: t["performance_name"] for t in answered}
    return [by_position.get(t["position"], "") for t in data["terms"]]


def _city_centre(session: Session) -> str:
    return session.scalar(select(GovernanceCentre.name).where(GovernanceCentre.township_id.is_(None))
                          .order_by(GovernanceCentre.id)) or ""


def _committee(session: Session, c: Case) -> str:
    """The room or centre that settled (else handles) the case."""
    level = c.settled_level or c.level
    if level in ("township",):
        name = session.scalar(select(GovernanceCentre.name).where(GovernanceCentre.township_id == c.township_id))
        return name or _name(session, Township, c.township_id) + "综治中心"
    if level in ("city", "court"):
        return _city_centre(session)
    return _name(session, MediationRoom, c.room_id) or _name(session, Township, c.township_id) + "综治中心"


def _court(session: Session) -> str:
    """The competent basic people's court: the county-level city's own."""
    city = _city_centre(session).removesuffix("综治中心")
    return f"{city}人民法院" if city else ""


def _mediators(session: Session, c: Case) -> list[str]:
    rows = session.execute(select(Dispatch.mediator_id, Dispatch.duty).where(Dispatch.case_id == c.id)
                           .order_by(Dispatch.id)).all()
    ids = [r.mediator_id for r in rows if r.duty not in NOT_MEDIATORS]
    if c.current_mediator_id:
        ids.append(c.current_mediator_id)
    names = dict(session.execute(select(Mediator.id, Mediator.name).where(Mediator.id.in_(ids or [0]))).all())
    return list(dict.fromkeys(names[i] for i in ids if i in names))


def load(session: Session, actor: Actor, case_id: int) -> cp.CasePapers:
    """The case's papers data, unmasked (the caller is allowed to see personal data)."""
    c = _case(session, actor, case_id)
    specimen = is_specimen(actor)
    # the agreement's terms, sessions, confirmation; read in full for a specimen too, which is masked
    # below before anything is rendered
    data = papers.case_papers(session, SYSTEM if specimen else actor, c.id)
    parties = [_party(x) for x in data["parties"]]
    timeline = [cp.TimelineEntry(e["at"], e["who"], e["action_name"], e["note"] or "") for e in data["events"]]
    follow_ups = [cp.FollowUpPaper(f["done_at"], f["method"], f["by"], f["satisfaction"], f["agreement_holds"],
                                   _term_performance(data, f["terms"]), f["note"] or "") for f in data["follow_ups"]]
    category = session.get(DisputeCategory, c.category_id)
    end_reason = ""
    if c.ended_at is not None:
        if c.court_name:
            end_reason = f"已引导诉讼（{c.court_name}）"
        else:
            why = "，".join(x for x in (ladder.TERMINATION_REASONS.get(c.end_reason_code, ""), c.end_reason) if x)
            end_reason = f"调解终止（{why}）" if why else "调解终止"
    registered = next((t for t, e in zip(timeline, data["events"]) if e["action"] == "register"), None)
    p = cp.CasePapers(
        case_id=c.id, case_number=c.number, category=category.name if category else "",
        category_code=category.code if category else "", source=intake.SOURCES.get(c.source, c.source),
        received_at=c.received_at,
        place=" · ".join(x for x in (_name(session, Township, c.township_id), _name(session, Village, c.village_id),
                                     _name(session, Grid, c.grid_id)) if x),
        address=c.address or "", description=c.description or "",
        complexity=intake.COMPLEXITY.get(c.complexity, c.complexity), complexity_code=c.complexity,
        mode=ladder.MODE_NAMES.get(c.mode, c.mode), committee=_committee(session, c), status=c.status,
        status_name=ladder.status_name(c.status), parties=parties, mediators=_mediators(session, c),
        police_incident_no=c.police_incident_no or "", hotline_order_no=c.hotline_order_no or "",
        registered_by=case_queries._name_of_user(session, c.created_by_id) or (registered.who if registered else ""),
        registered_at=c.created_at, route=_name(session, MediationRoom, c.room_id),
        settled_at=c.settled_at, settled_level=ladder.level_name(c.mode, c.settled_level) if c.settled_level else "",
        agreement_summary=c.agreement_summary or "", agreement_amount=c.agreement_amount,
        terms=_terms(data), sessions=_sessions(data), confirmation=_confirmation(data),
        court=_court(session), follow_ups=follow_ups, ended_at=c.ended_at, end_reason=end_reason,
        closed_at=c.closed_at, timeline=timeline)
    return _masked(p) if specimen else p


def _masked(p: cp.CasePapers) -> cp.CasePapers:
    """A trainer's specimen: the parties' names, numbers and addresses masked as on screen, and
    masked wherever the free text repeats them (services.validation.redact_text, the rule the case
    view uses for leaders and trainers); dates of birth and occupations left out."""
    known = party_replacements([SimpleNamespace(name=x.name, mobile=x.phone, id_card=x.id_number, address=x.address)
                                for x in p.parties], p.address)

    def text(value):
        return redact_text(value, known) if value else value

    parties = [replace(x, name=mask_name(x.name), phone=mask_phone(x.phone), id_number=mask_id(x.id_number),
                       address=mask_address(x.address), birth_date=None, occupation=None) for x in p.parties]
    return replace(
        p, specimen=True, parties=parties, address=mask_address(p.address), description=text(p.description),
        agreement_summary=text(p.agreement_summary), disputed=text(p.disputed), end_reason=text(p.end_reason),
        terms=[replace(t, obligation=text(t.obligation), manner=text(t.manner)) for t in p.terms],
        sessions=[replace(m, place=text(m.place), participants=[text(x) for x in m.participants], said=text(m.said),
                          agreed=text(m.agreed)) for m in p.sessions],
        follow_ups=[replace(f, note=text(f.note)) for f in p.follow_ups],
        timeline=[replace(e, note=text(e.note)) for e in p.timeline])


# ---------------------------------------------------------------------------- what the panel offers
def available(session: Session, actor: Actor, case_id: int) -> dict:
    """The documents this case's state has ({kind: name}) and whether its dossier exists; nothing
    is logged (no personal data leaves)."""
    c = _case(session, actor, case_id)
    followed_up = c.followed_up_at is not None or session.scalar(
        select(FollowUp.id).where(FollowUp.case_id == c.id).limit(1)) is not None
    # only what cp.applicable reads: the case panel asks on every run of 案件详情, load() reads everything
    shape = SimpleNamespace(status=c.status, settled_at=c.settled_at, follow_ups=[1] if followed_up else [],
                            closed_at=c.closed_at)
    return {"number": c.number, "documents": {k: cp.NAMES[k] for k in cp.applicable(shape)},
            "dossier": c.closed_at is not None}


# ---------------------------------------------------------------------------- downloads (audited)
def document_file(session: Session, actor: Actor, case_id: int, kind: str, fmt: str) -> tuple[str, bytes]:
    """One document of the case as DOCX or PDF: (file name, bytes). The download is logged."""
    if fmt not in FORMATS:
        raise DomainError("文件格式只能是 DOCX 或 PDF。")
    p = load(session, actor, case_id)
    if kind not in cp.NAMES:
        raise DomainError("没有这种案件文书。")
    if kind not in cp.applicable(p):
        raise DomainError(f"该案件目前（{p.status_name}）没有{cp.NAMES[kind]}。")
    data = cp.render(kind, p, fmt)
    audit.record(session, actor, "papers.download", "case", p.case_id,
                 f"下载{cp.NAMES[kind]}（{fmt.upper()}{'，培训样本' if p.specimen else ''}）",
                 label=p.case_number, kind=kind, format=fmt, specimen=p.specimen)
    return cp.file_name(kind, p, fmt), data


def _dossier(p: cp.CasePapers) -> bytes:
    if p.closed_at is None:
        raise DomainError(f"该案件尚未闭环归档（{p.status_name}），没有卷宗。")
    return cp.dossier_pdf(p)[0]


def dossier_file(session: Session, actor: Actor, case_id: int) -> tuple[str, bytes]:
    """The closed case's dossier as one PDF. The download is logged."""
    p = load(session, actor, case_id)
    data = _dossier(p)
    audit.record(session, actor, "papers.dossier", "case", p.case_id,
                 f"下载卷宗（PDF{'，培训样本' if p.specimen else ''}）", label=p.case_number, specimen=p.specimen)
    return cp.file_name("dossier", p, "pdf"), data


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first = month.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return (clock.local_dt(first.year, first.month, 1), clock.local_dt(nxt.year, nxt.month, 1))


def closed_in_month(session: Session, actor: Actor, month: dt.date) -> list[tuple[int, str]]:
    """(id, number) of the cases closed in the month (Beijing time) within the actor's scope."""
    _require(actor)
    if month.replace(day=1) > clock.today().replace(day=1):
        raise DomainError(f"{month.year}年{month.month}月尚未到来，请选择已过去的月份或本月。")
    start, end = month_bounds(month)
    conds = [Case.closed_at >= start, Case.closed_at < end, Case.status == "closed"]
    scope = case_queries.scope_condition(session, actor)
    if scope is not None:
        conds.append(scope)
    return [(r.id, r.number) for r in session.execute(select(Case.id, Case.number).where(*conds)
                                                      .order_by(Case.number))]


# One ZIP holds at most this many dossiers: a PDF costs about a second of CPU, so a busy month
# (800 closed cases) in one file would keep the server busy for a quarter of an hour.
ZIP_PART = 50


def zip_parts(n: int) -> int:
    """How many ZIPs (parts) a month of n closed cases is split into."""
    return max(1, -(-n // ZIP_PART))


def month_zip(session: Session, actor: Actor, month: dt.date, part: int = 1) -> tuple[str, bytes]:
    """The cases closed in the month as ZIPs of at most ZIP_PART dossiers (part 1, 2, …, in case
    number order), one PDF each, named by case number. One audit event lists the cases."""
    cases = closed_in_month(session, actor, month)
    label = f"{month.year}年{month.month}月"
    if not cases:
        raise DomainError(f"{label}没有闭环归档的案件。")
    parts = zip_parts(len(cases))
    if not 1 <= part <= parts:
        raise DomainError(f"{label}的卷宗共 {parts} 包，没有第 {part} 包。")
    cases = cases[(part - 1) * ZIP_PART: part * ZIP_PART]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for case_id, _ in cases:
            p = load(session, actor, case_id)
            z.writestr(cp.file_name("dossier", p, "pdf"), _dossier(p))
    which = f"第 {part}/{parts} 包" if parts > 1 else ""
    audit.record(session, actor, "papers.month_zip", "export", None, f"下载{label}卷宗{which} {len(cases)} 件",
                 label=f"{label}卷宗", month=month.strftime("%Y-%m"), part=part, cases=[n for _, n in cases])
    suffix = f"_第{part}包" if parts > 1 else ""
    return f"卷宗_{month:%Y-%m}{suffix}.zip", buf.getvalue()
