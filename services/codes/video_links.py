"""视频连线: remote sessions logged whether a citizen asked or the city centre started them.

Counts by purpose and by month (Beijing time) come from SQL GROUP BY and feed the dashboards
(the article: 59 video links, 85 remote consultations).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from db.models import Case, MediationRoom, OnlineRequest, VideoLink
from services import audit, clock
from services.errors import ValidationError
from services.roles import Actor, require

INITIATORS = {"citizen": "群众申请", "city_centre": "市综治中心发起"}
PURPOSES = {"guidance": "业务指导", "consultation": "法律咨询", "mediation": "远程调解"}
PARTICIPANTS = {"room": "调解室", "city_centre": "市综治中心", "lawyer": "律师"}
CONSULTATION_KINDS = ("legal_consultation", "video_mediation")


@dataclass
class VideoLinkInput:
    started_at: dt.datetime | None = None
    duration_minutes: int | None = None
    initiated_by: str = ""
    purpose: str = ""
    participants: list[str] = field(default_factory=list)
    room_id: int | None = None
    case_number: str = ""
    request_number: str = ""
    result: str = ""


def log_link(session: Session, actor: Actor, data: VideoLinkInput) -> VideoLink:
    require(actor, "video.log")
    e: dict[str, str] = {}
    if data.started_at is None or data.started_at.tzinfo is None:
        e["started_at"] = "请填写连线日期和时间。"
    elif data.started_at > clock.now() + dt.timedelta(minutes=5):
        e["started_at"] = "连线时间不能晚于当前时间。"
    if not isinstance(data.duration_minutes, int) or not 1 <= data.duration_minutes <= 600:
        e["duration_minutes"] = "时长应为 1–600 分钟。"
    if data.initiated_by not in INITIATORS:
        e["initiated_by"] = "请选择发起方。"
    if data.purpose not in PURPOSES:
        e["purpose"] = "请选择连线目的。"
    parts = [p for p in dict.fromkeys(data.participants or []) if p in PARTICIPANTS]
    if len(parts) < 2 or len(parts) != len(set(data.participants or [])):
        e["participants"] = "请选择至少两方参加连线（调解室、市综治中心、律师）。"
    if "room" in parts and data.room_id is None:
        e["room_id"] = "调解室参加时请选择是哪个调解室。"
    if data.room_id is not None and session.get(MediationRoom, data.room_id) is None:
        e["room_id"] = "所选调解室不存在。"
    case_id = request_id = None
    if (data.case_number or "").strip():
        case_id = session.scalar(select(Case.id).where(Case.number == data.case_number.strip()))
        if case_id is None:
            e["case_number"] = "没有找到该案件编号。"
    if (data.request_number or "").strip():
        req = session.execute(select(OnlineRequest.id, OnlineRequest.case_id)
                              .where(OnlineRequest.number == data.request_number.strip())).first()
        if req is None:
            e["request_number"] = "没有找到该线上服务申请编号。"
        else:
            request_id = req.id
            if case_id is not None and req.case_id != case_id:
                e["request_number"] = "该申请不属于所填案件。"
            case_id = case_id or req.case_id
    result = (data.result or "").strip()
    if len(result) < 2:
        e["result"] = "请填写连线结果。"
    elif len(result) > 1000:
        e["result"] = "连线结果不超过 1000 字。"
    if e:
        raise ValidationError(e)
    link = VideoLink(started_at=data.started_at, duration_minutes=data.duration_minutes,
                     initiated_by=data.initiated_by, case_id=case_id, request_id=request_id, room_id=data.room_id,
                     participants=parts, purpose=data.purpose, result=result, logged_by_id=actor.user_id,
                     logged_at=clock.now())
    session.add(link)
    session.flush()
    audit.record(session, actor, "video.log", "video_link", link.id, case_id=case_id, purpose=data.purpose)
    return link


def list_links(session: Session, page: int = 0, page_size: int = 50) -> tuple[list[dict], int]:
    q = (select(VideoLink, Case.number, MediationRoom.name, OnlineRequest.number)
         .outerjoin(Case, Case.id == VideoLink.case_id)
         .outerjoin(MediationRoom, MediationRoom.id == VideoLink.room_id)
         .outerjoin(OnlineRequest, OnlineRequest.id == VideoLink.request_id)
         .order_by(VideoLink.started_at.desc(), VideoLink.id.desc()).limit(page_size).offset(page * page_size))
    rows = [{
        "时间": clock.fmt(v.started_at), "时长（分钟）": v.duration_minutes, "发起方": INITIATORS.get(v.initiated_by, ""),
        "目的": PURPOSES.get(v.purpose, ""), "参加方": "、".join(PARTICIPANTS.get(p, p) for p in v.participants or []),
        "调解室": room or "", "案件编号": number or "", "申请编号": req_number or "", "结果": v.result,
    } for v, number, room, req_number in session.execute(q)]
    return rows, session.scalar(select(func.count()).select_from(VideoLink)) or 0


def _local_month(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(literal_column("'Asia/Shanghai'"), VideoLink.started_at), "YYYY-MM")
    return func.strftime("%Y-%m", VideoLink.started_at, "+8 hours")


def counts_by_purpose(session: Session) -> dict[str, int]:
    rows = session.execute(select(VideoLink.purpose, func.count()).group_by(VideoLink.purpose)).all()
    return {PURPOSES.get(p, p): n for p, n in rows}


def counts_by_month(session: Session) -> list[dict]:
    month = _local_month(session).label("month")
    rows = session.execute(select(month, VideoLink.purpose, func.count()).group_by(month, VideoLink.purpose)
                           .order_by(month)).all()
    out: dict[str, dict] = {}
    for m, purpose, n in rows:
        row = out.setdefault(m, {"月份": m, **{name: 0 for name in PURPOSES.values()}, "合计": 0})
        row[PURPOSES.get(purpose, purpose)] += n
        row["合计"] += n
    return list(out.values())


def totals(session: Session, start: dt.datetime | None = None, end: dt.datetime | None = None) -> dict[str, int]:
    """Dashboard figures for a period: video links, and remote consultations/mediations done online."""
    links = select(func.count()).select_from(VideoLink)
    consults = select(func.count()).select_from(OnlineRequest).where(
        OnlineRequest.kind.in_(CONSULTATION_KINDS), OnlineRequest.status == "done")
    if start is not None:
        links, consults = links.where(VideoLink.started_at >= start), consults.where(OnlineRequest.requested_at >= start)
    if end is not None:
        links, consults = links.where(VideoLink.started_at < end), consults.where(OnlineRequest.requested_at < end)
    return {"video_links": session.scalar(links) or 0, "consultations": session.scalar(consults) or 0}


def room_choices(session: Session) -> dict[int, str]:
    """Mediation rooms for the form's select box, by code."""
    return dict(session.execute(select(MediationRoom.id, MediationRoom.name).order_by(MediationRoom.code)).all())
