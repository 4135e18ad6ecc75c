"""Online service requests and video links: the state machine, SLA, validation and permissions (both databases)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import AuditEvent, OnlineRequest, VideoLink
from services import clock
from services.codes import dispute_codes
from services.codes import online_services as svc
from services.codes import video_links
from services.errors import ConcurrentEdit, IllegalTransition, NotFound, PermissionDenied, ValidationError
from tests.test_dispute_codes import make_case
from tests.ui import ensure_user


class _Actors(dict):
    """Users made on first use (argon2 hashing costs ~0.2 s each); call outside an open session."""

    def __init__(self, url):
        super().__init__()
        self.url = url

    def __missing__(self, role):
        self[role] = ensure_user(self.url, role)
        return self[role]


@pytest.fixture
def actors(db_url):
    return _Actors(db_url)


@pytest.fixture
def request_id(actors, engine):
    with session_scope(engine) as s:
        case = make_case(s, actors["staff"], "mediating")
        token = dispute_codes.issue_for_case(s, case.id).token
        return svc.submit_public(s, token, "video_mediation", "139 0000 1111", "希望视频调解").id


def _status(engine, rid):
    with session_scope(engine) as s:
        return s.get(OnlineRequest, rid).status


def test_full_flow_with_audit(engine, actors, request_id):
    staff, taskforce = actors["staff"], actors["taskforce"]
    when = clock.now() + dt.timedelta(days=1)
    with session_scope(engine) as s:
        svc.accept(s, staff, request_id)
        svc.schedule(s, staff, request_id, when, [{"role": "mediator", "name": "刘调解"},
                                                  {"role": "judge_assistant", "name": "法院周助理"}])
        req = svc.complete(s, taskforce, request_id, "已通过视频连线组织双方调解，达成一致意见。")
        assert (req.status, req.mobile) == ("done", "13900001111")
        assert req.accepted_at and req.scheduled_at == when and req.done_at
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "online_request")
                                 .order_by(AuditEvent.id)))
        assert actions == ["online.request", "online.accept", "online.schedule", "online.done"]


ILLEGAL = [
    ([], "done"),  # done needs a schedule first
    ([], "schedule"),  # must be accepted first
    (["accept"], "accept"),
    (["decline"], "accept"),
    (["decline"], "decline"),
]


def test_illegal_moves_are_refused_in_chinese(engine, actors):
    staff = actors["staff"]
    with session_scope(engine) as s:
        case = make_case(s, staff, "mediating")
        token = dispute_codes.issue_for_case(s, case.id).token
    for moves, refused in ILLEGAL:
        with session_scope(engine) as s:
            s.query(OnlineRequest).delete()  # one pending request per kind: start afresh
            rid = svc.submit_public(s, token, "video_mediation", "13900001111", "").id
            for m in moves:
                if m == "accept":
                    svc.accept(s, staff, rid)
                else:
                    svc.decline(s, staff, rid, "经核实已由法院立案受理。")
        before = _status(engine, rid)
        with pytest.raises((IllegalTransition, ValidationError)) as exc, session_scope(engine) as s:
            if refused == "accept":
                svc.accept(s, staff, rid)
            elif refused == "decline":
                svc.decline(s, staff, rid, "重复")
            elif refused == "schedule":
                svc.schedule(s, staff, rid, clock.now() + dt.timedelta(days=1), [{"role": "lawyer", "name": "王律师"}])
            else:
                svc.complete(s, staff, rid, "已办结")
        assert "不能" in exc.value.message, (moves, refused)
        assert _status(engine, rid) == before


def test_decline_and_outcome_texts_are_checked(engine, actors, request_id):
    staff = actors["staff"]
    with pytest.raises(ValidationError) as exc, session_scope(engine) as s:
        svc.decline(s, staff, request_id, " ")
    assert exc.value.fields == {"reason": "请填写不予办理的原因（将在解纷码页面向群众显示）。"}
    with pytest.raises(ValidationError) as exc, session_scope(engine) as s:
        svc.decline(s, staff, request_id, "请联系身份证 360981198001017777 的申请人")
    assert "reason" in exc.value.fields
    assert _status(engine, request_id) == "requested"


def test_schedule_validation(engine, actors, request_id):
    staff = actors["staff"]
    with session_scope(engine) as s:
        svc.accept(s, staff, request_id)
    with pytest.raises(ValidationError) as exc, session_scope(engine) as s:
        svc.schedule(s, staff, request_id, clock.now() - dt.timedelta(days=1), [{"role": "chef", "name": "x"}])
    assert set(exc.value.fields) == {"when", "participants"}
    assert _status(engine, request_id) == "accepted"


def test_second_clerk_acting_on_a_stale_screen_is_told(engine, actors, request_id):
    actors["taskforce"]
    with session_scope(engine) as s:
        svc.accept(s, actors["staff"], request_id, expected_status="requested")
    with pytest.raises(ConcurrentEdit), session_scope(engine) as s:
        svc.decline(s, actors["taskforce"], request_id, "无需办理。", expected_status="requested")
    assert _status(engine, request_id) == "accepted"


@pytest.mark.parametrize("role", ["leader", "trainer"])
def test_read_only_roles_cannot_handle_or_log(engine, actors, request_id, role):
    who = actors[role]
    for call in (lambda s: svc.accept(s, who, request_id),
                 lambda s: svc.decline(s, who, request_id, "不予办理。"),
                 lambda s: video_links.log_link(s, who, video_links.VideoLinkInput())):
        with pytest.raises(PermissionDenied, match="只读"), session_scope(engine) as s:
            call(s)
    assert _status(engine, request_id) == "requested"
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(VideoLink)) == 0


def test_public_submission_validation_saves_nothing(engine, actors):
    with session_scope(engine) as s:
        case = make_case(s, actors["staff"], "registered")
        token = dispute_codes.issue_for_case(s, case.id).token
    with pytest.raises(ValidationError) as exc, session_scope(engine) as s:
        svc.submit_public(s, token, "judicial_confirmation", "1234", "x" * 201)
    assert set(exc.value.fields) == {"kind", "mobile", "note"}
    assert "调解成功" in exc.value.fields["kind"] and "手机号码" in exc.value.fields["mobile"]
    with pytest.raises(NotFound), session_scope(engine) as s:
        svc.submit_public(s, "x" * 32, "reminder", "13900001111", "")
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(OnlineRequest)) == 0


@pytest.mark.parametrize("requested,due", [
    ((2026, 12, 2, 10), (2026, 12, 3, 10)),  # Wednesday -> Thursday
    ((2026, 12, 4, 15), (2026, 12, 7, 15)),  # Friday -> Monday
    ((2026, 12, 5, 10), (2026, 12, 8, 0)),  # Saturday: counts from Monday 00:00
])
def test_sla_is_one_working_day(requested, due):
    assert svc.sla_due(clock.local_dt(*requested)) == clock.local_dt(*due).astimezone(clock.UTC)


def test_queue_flags_overdue_and_pages_in_sql(engine, actors, request_id):
    with session_scope(engine) as s:
        req = s.get(OnlineRequest, request_id)
        req.requested_at -= dt.timedelta(days=5)
        req.sla_due_at = svc.sla_due(req.requested_at)
    with session_scope(engine) as s:
        rows, total = svc.queue(s, "pending")
        assert total == 1 and rows[0]["overdue"] and rows[0]["kind"] == "远程视频调解"
        assert svc.overdue_count(s) == 1
        assert svc.queue(s, "done") == ([], 0)
        assert svc.counts_by_status(s) == {"requested": 1}


def test_video_link_validation_and_counts(engine, actors):
    staff = actors["staff"]
    bad = video_links.VideoLinkInput(started_at=clock.now() + dt.timedelta(days=2), duration_minutes=0,
                                     initiated_by="x", purpose="y", participants=["room"], case_number="无此案件",
                                     result="")
    with pytest.raises(ValidationError) as exc, session_scope(engine) as s:
        video_links.log_link(s, staff, bad)
    assert set(exc.value.fields) == {"started_at", "duration_minutes", "initiated_by", "purpose", "participants",
                                     "room_id", "case_number", "result"}
    with session_scope(engine) as s:
        case = make_case(s, staff, "mediating")
        for month, purpose in ((7, "guidance"), (7, "mediation"), (8, "mediation")):
            video_links.log_link(s, staff, video_links.VideoLinkInput(
                started_at=clock.local_dt(2023, month, 31 if month == 7 else 1, 23, 30), duration_minutes=30,
                initiated_by="city_centre", purpose=purpose, participants=["room", "city_centre"],
                room_id=case.room_id, case_number=case.number, result="远程调解成功。"))
    with session_scope(engine) as s:
        assert video_links.counts_by_purpose(s) == {"业务指导": 1, "远程调解": 2}
        months = {r["月份"]: r["合计"] for r in video_links.counts_by_month(s)}
        assert months == {"2023-07": 2, "2023-08": 1}  # 23:30 Beijing time on 31 July stays in July
        assert video_links.totals(s)["video_links"] == 3
        rows, total = video_links.list_links(s)
        assert total == 3 and rows[0]["案件编号"] == case.number


def test_leader_reads_the_citizens_note_with_numbers_masked(engine, actors):
    staff, leader = actors["staff"], actors["leader"]
    with session_scope(engine) as s:
        case = make_case(s, staff, "mediating")
        token = dispute_codes.issue_for_case(s, case.id).token
        rid = svc.submit_public(s, token, "legal_consultation", "13900001111", "我的另一个号码 13700000002，请回电").id
    with session_scope(engine) as s:
        seen = svc.contact(s, leader, rid)
        assert seen["mobile"] == "139****1111" and "13700000002" not in seen["note"] and "137****0002" in seen["note"]
        assert svc.contact(s, staff, rid)["note"] == "我的另一个号码 13700000002，请回电"
