"""Demo step: a dispute code for every case, online service requests, and the video-link log.

Shaped on the article (July–December 2023): 59 video links and 85 remote consultations or
mediations done online (done 线上法律咨询 + 远程视频调解 requests), plus a few dozen requests of
each kind in states consistent with their cases (judicial confirmation only after a settlement,
online hearings only for cases guided to the courts, reminders only while a case was open), and
live requests on today's open cases (some past their one-working-day SLA).

Tokens: random per install, from `secrets` like real codes (a seeded token would let anyone
compute a demo server's public links from the repository). The seeded generator still draws its
192 bits per token, so the rest of the demo data stays the same on every reset. Works with no cases too
(then only the city centre's guidance links are logged).
"""
from __future__ import annotations

import base64
import datetime as dt
import random
import secrets

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.models import Case, DisputeCode, MediationRoom, Mediator, OnlineRequest, User, VideoLink
from services import clock, numbering
from services.cases import ladder
from services.roster import org
from services.codes.online_services import sla_due

LINK_START = clock.local_dt(2023, 7, 3, 9)
LINK_DAYS = 155  # to early December 2023
OUTCOMES = {
    "legal_consultation": ["律师已电话解答相关法律问题，并建议双方在调解室协商解决。",
                           "律师已线上解答赔偿标准及举证要求，当事人表示清楚。",
                           "已为您解答土地权属相关政策，建议先由村委会协调确认界线。"],
    "video_mediation": ["已通过视频连线组织双方调解，达成一致意见。",
                        "市综治中心与调解室视频连线，调解员和律师共同主持，双方达成协议。"],
    "judicial_confirmation": ["调解协议已由人民法院线上司法确认，具有强制执行效力。"],
    "online_hearing": ["已协助联系人民法院，线上开庭已完成，请留意法院送达的文书。"],
    "reminder": ["已督促承办调解室加快办理，工作人员已与您电话联系。"],
}
DECLINES = ["经核实，该事项已由人民法院立案受理，请关注法院通知。",
            "申请人联系电话多次无法接通，请核对号码后重新申请。",
            "双方已在调解室现场调解，无需另行安排线上服务。"]
RESULTS = {"guidance": ["指导调解室梳理争议焦点，明确下一步调解方案。", "指导调解室规范制作调解笔录和协议。",
                        "会商重大纠纷风险，明确属地责任和稳控措施。"],
           "consultation": ["律师远程解答法律问题，当事人表示满意。", "律师就赔偿标准提供意见，供调解参考。"],
           "mediation": ["远程调解成功，双方签订调解协议。", "远程调解后双方同意再行协商。"]}


def _token(rng: random.Random) -> str:
    rng.getrandbits(192)  # keep the seeded sequence (and every other demo value) as it was
    return base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def _chunks(session: Session, model, rows: list[dict], size: int = 2000) -> None:
    for i in range(0, len(rows), size):
        session.execute(insert(model), rows[i:i + size])


def load(session: Session, rng: random.Random) -> None:
    now = clock.now()
    staff_id = session.scalar(select(User.id).where(User.username == "staff"))
    cases = session.execute(select(Case.id, Case.received_at, Case.level, Case.status, Case.settled_at,
                                   Case.ended_at, Case.closed_at, Case.created_by_id, Case.room_id)
                            .order_by(Case.id)).all()
    _chunks(session, DisputeCode, [
        {"case_id": c.id, "token": _token(rng), "issued_at": c.received_at + dt.timedelta(minutes=rng.randint(2, 30)),
         "issued_by_id": c.created_by_id} for c in cases])

    people = [m for m in session.scalars(select(Mediator).where(
        Mediator.kind.in_(("lawyer", "city_brand", "station", "village"))).order_by(Mediator.code))]
    lawyers = [m.name for m in people if m.kind == "lawyer"] or ["律师"]
    mediators = [m.name for m in people if m.kind != "lawyer"] or ["调解员"]
    requests: list[dict] = []

    def add(case, kind: str, status: str, at: dt.datetime, scheduled: dt.datetime | None = None) -> None:
        row = {"case_id": case.id, "kind": kind, "mobile": _mobile(rng), "note": "", "status": status,
               "requested_at": at, "sla_due_at": sla_due(at), "participants": [], "outcome": "",
               "decline_reason": "", "handled_by_id": staff_id if status != "requested" else None,
               "updated_at": at, "version": 1, "accepted_at": None, "scheduled_at": None, "done_at": None,
               "declined_at": None}
        if status in ("accepted", "scheduled", "done"):
            row["accepted_at"] = at + dt.timedelta(hours=rng.uniform(0.5, 20))
            row["updated_at"] = row["accepted_at"]
        if status in ("scheduled", "done") and kind != "reminder":
            row["scheduled_at"] = scheduled or row["accepted_at"] + dt.timedelta(hours=rng.uniform(4, 48))
            row["participants"] = [{"role": "mediator", "name": rng.choice(mediators)}]
            if kind in ("legal_consultation", "video_mediation") or rng.random() < 0.5:
                row["participants"].append({"role": "lawyer", "name": rng.choice(lawyers)})
            if kind in ("judicial_confirmation", "online_hearing"):
                row["participants"].append({"role": "judge_assistant", "name": "法院 " + rng.choice("王李张刘陈") + "助理"})
        if status == "done":
            row["done_at"] = (row["scheduled_at"] or row["accepted_at"]) + dt.timedelta(hours=rng.uniform(0.5, 3))
            row["outcome"] = rng.choice(OUTCOMES[kind])
            row["updated_at"] = row["done_at"]
        if status == "declined":
            row["declined_at"] = at + dt.timedelta(hours=rng.uniform(1, 20))
            row["decline_reason"] = rng.choice(DECLINES)
            row["updated_at"] = row["declined_at"]
        requests.append(row)

    def sample(pool, n):
        return rng.sample(pool, min(n, len(pool)))

    hist = [c for c in cases if c.received_at < LINK_START + dt.timedelta(days=LINK_DAYS) and c.status == "closed"]
    settled_hist = [c for c in hist if c.settled_at is not None]
    litigated = [c for c in hist if c.level == "court" and c.settled_at is None and c.ended_at is not None]

    def while_open(c) -> dt.datetime:  # a moment while the case was still being mediated
        end = c.settled_at or c.ended_at or (c.received_at + dt.timedelta(days=3))
        return c.received_at + (end - c.received_at) * rng.uniform(0.2, 0.9)

    picked = sample(settled_hist, 55 + 30 + 20 + 8)
    for i, c in enumerate(picked):
        kind = "legal_consultation" if i < 55 else "video_mediation" if i < 85 else "reminder" if i < 105 else "legal_consultation"
        add(c, kind, "done" if i < 105 else "declined", while_open(c))
    for i, c in enumerate(sample([c for c in settled_hist if c not in picked], 30)):
        add(c, "judicial_confirmation", "done" if i < 26 else "declined",
            c.settled_at + dt.timedelta(days=rng.uniform(0.5, 4)))
    for i, c in enumerate(litigated):
        add(c, "online_hearing", "done" if i % 6 else "declined", c.ended_at + dt.timedelta(days=rng.uniform(1, 10)))

    live_open = [c for c in cases if c.status in ladder.statuses_in(ladder.OPEN)]
    live_settled = [c for c in cases if c.status == "settled"]
    live_court = [c for c in live_open if c.level == "court"]
    statuses = ["requested", "requested", "accepted", "scheduled"]

    def live_time() -> dt.datetime:  # up to four days back: some requests are past their SLA
        return now - dt.timedelta(hours=rng.uniform(1, 96))

    def future() -> dt.datetime:
        return (now + dt.timedelta(days=rng.randint(1, 3))).replace(minute=0, second=0, microsecond=0)

    for kind, pool, n in (("legal_consultation", live_open, 8), ("video_mediation", live_open, 6),
                          ("reminder", live_open, 8), ("judicial_confirmation", live_settled, 6),
                          ("online_hearing", live_court, 4)):
        for i, c in enumerate(sample(pool, n)):
            at = max(live_time(), c.received_at + dt.timedelta(minutes=30))
            status = "accepted" if kind == "reminder" and statuses[i % 4] == "scheduled" else statuses[i % 4]
            add(c, kind, status, at, future() if status == "scheduled" else None)

    requests.sort(key=lambda r: r["requested_at"])
    short = org.city(session).get("short", "丰")
    for r in requests:
        year = clock.local(r["requested_at"]).year
        r["number"] = f"{short}线〔{year}〕{numbering.next_value(session, 'online_request', year):06d}"
    _chunks(session, OnlineRequest, requests)

    # video links: the citizens' remote mediations (from their requests) and the centre's guidance
    by_number = dict(session.execute(select(OnlineRequest.number, OnlineRequest.id)).all())
    case_room = {c.id: c.room_id for c in cases}
    rooms = list(session.scalars(select(MediationRoom.id).order_by(MediationRoom.id)))
    links: list[dict] = []
    mediations = [r for r in requests if r["kind"] == "video_mediation" and r["status"] == "done"
                  and r["scheduled_at"] < LINK_START + dt.timedelta(days=LINK_DAYS)][:30]
    for r in mediations:
        links.append({"started_at": r["scheduled_at"], "initiated_by": "citizen", "case_id": r["case_id"],
                      "request_id": by_number[r["number"]], "room_id": case_room.get(r["case_id"]),
                      "purpose": "mediation"})
    consults = sample([r for r in requests if r["kind"] == "legal_consultation" and r["status"] == "done"], 8)
    for r in consults:
        links.append({"started_at": r["scheduled_at"], "initiated_by": "citizen", "case_id": r["case_id"],
                      "request_id": by_number[r["number"]], "room_id": case_room.get(r["case_id"]),
                      "purpose": "consultation"})
    while len(links) < 59:
        start = LINK_START + dt.timedelta(days=rng.uniform(0, LINK_DAYS))
        start = start.replace(hour=rng.randint(9, 17), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
        links.append({"started_at": start, "initiated_by": "city_centre", "case_id": None, "request_id": None,
                      "room_id": rng.choice(rooms) if rooms else None, "purpose": "guidance"})
    for link in links:
        parts = ["room", "city_centre"] if link["room_id"] else ["city_centre"]
        if link["purpose"] != "guidance" or rng.random() < 0.3:
            parts.append("lawyer")
        if len(parts) < 2:
            parts.append("lawyer")
        link.update(duration_minutes=rng.randint(15, 90), participants=parts, result=rng.choice(RESULTS[link["purpose"]]),
                    logged_by_id=staff_id, logged_at=link["started_at"] + dt.timedelta(hours=2))
    _chunks(session, VideoLink, links)
