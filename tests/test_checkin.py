"""Check-in links for dispatched people (services.cases.checkin, web/checkin.py), both databases:
the token, its expiry and revocation, the taps through transition(), the phone page and its refusals,
the police-time fix and the countdown words."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.engine import session_scope
from db.models import AuditEvent, Case, CaseEvent, CheckinLink, Dispatch, Mediator, Township, Village
from services import clock
from services.cases import case_queries, checkin, intake, workflow
from services.errors import PermissionDenied
from services.roster import org
from tests.factories import actor
from tests.test_dispute_codes import make_case
from tests.test_public_page import MARKERS
from tests.ui import ensure_user
from web import checkin as web_checkin
from web import public
from web.routes import routes


@pytest.fixture
def staff(db_url):
    return ensure_user(db_url, "staff")


@pytest.fixture
def client(db_url):
    public.reset_limits()
    web_checkin.reset_limits()
    with TestClient(Starlette(routes=routes()), client=("203.0.113.9", 50000)) as c:
        yield c
    public.reset_limits()
    web_checkin.reset_limits()
    clock.freeze(None)


def _case(engine, staff, markers=None):
    """A case being mediated on site with one person dispatched: (case id, dispatch id)."""
    with session_scope(engine) as s:
        case = make_case(s, staff, "mediating", markers)
        d = s.scalar(select(Dispatch).where(Dispatch.case_id == case.id))
        return case.id, d.id


def _issue(engine, staff, dispatch_id):
    with session_scope(engine) as s:
        return checkin.issue(s, staff, dispatch_id)


def test_token_is_long_random_and_stored_only_as_its_hash(engine, staff):
    _, did = _case(engine, staff)
    token = _issue(engine, staff, did)
    assert len(token) >= 32  # 192 bits in URL-safe base64
    with session_scope(engine) as s:
        link = s.scalar(select(CheckinLink).where(CheckinLink.dispatch_id == did))
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (link.token_hash,)
        assert link.expires_at - link.issued_at == dt.timedelta(hours=24)
        audit = s.scalar(select(AuditEvent).where(AuditEvent.action == "checkin.issue"))
        assert audit is not None and token not in str(audit.detail)


def test_link_dies_after_24_hours(engine, staff, client):
    _, did = _case(engine, staff)
    token = _issue(engine, staff, did)
    assert client.get(f"/k/{token}").status_code == 200
    clock.freeze(clock.now() + dt.timedelta(hours=24, seconds=1))
    assert client.get(f"/k/{token}").status_code == 404


def test_link_dies_when_the_case_leaves_its_level(engine, staff, client):
    cid, did = _case(engine, staff)
    token = _issue(engine, staff, did)
    with session_scope(engine) as s:
        workflow.transition(s, staff, cid, "transfer", None, note="现场调解未果")
    assert client.get(f"/k/{token}").status_code == 404


def test_revoke_and_reissue(engine, staff, client):
    _, did = _case(engine, staff)
    first = _issue(engine, staff, did)
    second = _issue(engine, staff, did)  # a new link replaces the old one
    assert client.get(f"/k/{first}").status_code == 404
    assert client.get(f"/k/{second}").status_code == 200
    with session_scope(engine) as s:
        assert checkin.revoke(s, staff, did)
    assert client.get(f"/k/{second}").status_code == 404
    with session_scope(engine) as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "checkin.revoke")) is not None


def test_read_only_roles_cannot_issue(engine, staff, db_url):
    _, did = _case(engine, staff)
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        checkin.issue(s, actor(s, "leader"), did)


def test_unknown_expired_and_revoked_links_get_the_same_chinese_page(engine, staff, client):
    _, did = _case(engine, staff)
    revoked = _issue(engine, staff, did)
    with session_scope(engine) as s:
        checkin.revoke(s, staff, did)
    _, did2 = _case(engine, staff)
    expired = _issue(engine, staff, did2)
    clock.freeze(clock.now() + dt.timedelta(hours=25))
    pages = [client.get(f"/k/{t}") for t in (revoked, expired, checkin.new_token(), "short")]
    assert {r.status_code for r in pages} == {404}
    assert len({r.text for r in pages}) == 1
    assert "签到链接无效或已失效" in pages[0].text
    assert "Content-Security-Policy" in pages[0].headers and pages[0].headers["Cache-Control"] == "no-store"


def test_page_shows_place_deadline_and_only_the_masked_phone(engine, staff, client):
    cid, did = _case(engine, staff, MARKERS)
    token = _issue(engine, staff, did)
    with session_scope(engine) as s:
        m = s.scalar(select(Mediator).join(Dispatch, Dispatch.mediator_id == Mediator.id).where(Dispatch.id == did))
        d = s.get(Dispatch, did)
        private = [MARKERS[k] for k in ("name", "mobile", "id_card", "address", "description", "note")] + [m.phone]
        due = clock.fmt(d.due_at)
    body = client.get(f"/k/{token}").text
    assert MARKERS["case_address"] in body  # where to go
    assert "139****2345" in body  # the caller's masked phone
    assert due in body and "分钟" in body
    for value in private:
        assert value not in body, value
    assert "<script" not in body.lower()


def test_taps_are_server_timed_idempotent_and_audited(engine, staff, client):
    cid, did = _case(engine, staff)
    token = _issue(engine, staff, did)
    t1 = clock.now().replace(microsecond=0) + dt.timedelta(minutes=3)
    clock.freeze(t1)
    r = client.post(f"/k/{token}", data={"step": "depart", "at": "2000-01-01 00:00"}, follow_redirects=False)
    assert r.status_code == 303
    clock.freeze(t1 + dt.timedelta(minutes=5))
    assert "已记录：已到场" in client.post(f"/k/{token}", data={"step": "arrive"}).text
    clock.freeze(t1 + dt.timedelta(minutes=9))
    again = client.post(f"/k/{token}", data={"step": "arrive"})
    assert "保留首次时间" in again.text
    client.post(f"/k/{token}", data={"step": "handover"})
    with session_scope(engine) as s:
        d = s.get(Dispatch, did)
        case = s.get(Case, cid)
        link = s.scalar(select(CheckinLink).where(CheckinLink.dispatch_id == did))
        assert link.departed_at == t1
        assert d.arrived_at == t1 + dt.timedelta(minutes=5)  # the first tap's time, not the second's
        assert case.first_arrival_at == t1 + dt.timedelta(minutes=5)
        assert link.finished_at == t1 + dt.timedelta(minutes=9)
        actions = [e.action for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid)
                                                .order_by(CaseEvent.id))]
        assert actions[-3:] == ["depart", "arrive", "handover"]
        assert s.scalar(select(AuditEvent.actor_name).where(AuditEvent.action == "case.depart")).endswith("（签到链接）")


def test_cross_site_posts_are_refused(engine, staff, client):
    _, did = _case(engine, staff)
    token = _issue(engine, staff, did)
    r = client.post(f"/k/{token}", data={"step": "arrive"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = client.post(f"/k/{token}", data={"step": "arrive"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    with session_scope(engine) as s:
        assert s.get(Dispatch, did).arrived_at is None


def test_staff_get_no_form_for_the_link_only_steps(engine, staff):
    cid, _ = _case(engine, staff)
    with session_scope(engine) as s:
        allowed = case_queries.allowed_actions(s, staff, s.get(Case, cid))
    assert "arrive" in allowed and "depart" not in allowed and "handover" not in allowed


def test_police_time_runs_from_police_arrival_to_handover(engine, staff):
    """A 110 case whose police arrived 10 minutes after the call and handed over 10 minutes later:
    10 minutes of police time, not 20."""
    with session_scope(engine) as s:
        town = s.scalar(select(Township).where(Township.mode == "station").order_by(Township.code))
        village = s.scalar(select(Village).where(Village.township_id == town.id).order_by(Village.code))
        received = clock.now().replace(microsecond=0) - dt.timedelta(minutes=30)
        data = intake.CaseInput(source="110", police_incident_no="J20260001", received_at=received,
                                township_id=town.id, village_id=village.id,
                                category_id=org.categories(s)[0].id, complexity="simple", description="邻里因排水沟堵塞发生争执",
                                parties=[intake.PartyInput(name="张三", mobile="13800138000")])
        cid = intake.register_case(s, staff, data).id
        workflow.record_police(s, staff, cid, None, received + dt.timedelta(minutes=10),
                               received + dt.timedelta(minutes=20))
        view = case_queries.case_view(s, staff, cid)
        note = s.scalar(select(CaseEvent.note).where(CaseEvent.case_id == cid, CaseEvent.action == "police"))
    assert view["police_minutes"] == 10
    assert note == "民警处警用时 10 分钟"


def test_countdown_words():
    due = dt.datetime(2026, 3, 1, 2, 15, tzinfo=dt.UTC)
    assert checkin.countdown(due, due - dt.timedelta(minutes=14, seconds=30)) == "剩余 15 分钟"
    assert checkin.countdown(due, due - dt.timedelta(minutes=3)) == "剩余 3 分钟"
    assert checkin.countdown(due, due + dt.timedelta(minutes=7)) == "已超时 7 分钟"
    assert checkin.countdown(None, due) == ""
    assert checkin.countdown(due, due, arrived_at=due - dt.timedelta(minutes=1)).startswith("已到场")


def _case_110(engine, staff, police_arrived_minutes_ago: int | None):
    """A 110 case being mediated, one person dispatched with a link; the police arrival recorded
    `police_arrived_minutes_ago` minutes ago (None: not recorded). Returns (case id, token)."""
    with session_scope(engine) as s:
        town = s.scalar(select(Township).where(Township.mode == "station").order_by(Township.code))
        village = s.scalar(select(Village).where(Village.township_id == town.id).order_by(Village.code))
        now = clock.now().replace(microsecond=0)
        data = intake.CaseInput(source="110", police_incident_no=f"J{now:%H%M%S}{police_arrived_minutes_ago}",
                                received_at=now - dt.timedelta(minutes=40), township_id=town.id,
                                village_id=village.id, category_id=org.categories(s)[0].id, complexity="simple",
                                description="邻里因排水沟堵塞发生争执", parties=[intake.PartyInput(name="张三", mobile="13800138000")])
        case = intake.register_case(s, staff, data)
        person = intake.suggest_dispatch(s, case.id)[0]
        workflow.transition(s, staff, case.id, "dispatch", case.version, people=[(person["mediator_id"], person["duty"])])
        if police_arrived_minutes_ago is not None:
            workflow.record_police(s, staff, case.id, None, now - dt.timedelta(minutes=police_arrived_minutes_ago), None)
        did = s.scalar(select(Dispatch.id).where(Dispatch.case_id == case.id))
        return case.id, checkin.issue(s, staff, did)


def test_the_handover_tap_on_a_110_call_ends_the_police_time(engine, staff, client):
    """已移交: the officers hand the scene over to the person who taps, so the police time on the
    incident runs from the police arrival to that tap (server time)."""
    cid, token = _case_110(engine, staff, police_arrived_minutes_ago=12)
    tapped = clock.now().replace(microsecond=0)
    clock.freeze(tapped)
    client.post(f"/k/{token}", data={"step": "arrive"})
    client.post(f"/k/{token}", data={"step": "handover"})
    with session_scope(engine) as s:
        case = s.get(Case, cid)
        assert case.police_handover_at == tapped
        assert case_queries.case_view(s, staff, cid)["police_minutes"] == 12
        note = s.scalar(select(CaseEvent.note).where(CaseEvent.case_id == cid, CaseEvent.action == "handover"))
    assert note.endswith("民警移交，处警用时 12 分钟")


def test_a_recorded_police_handover_is_kept_and_a_non_110_case_has_none(engine, staff, client):
    cid, token = _case_110(engine, staff, police_arrived_minutes_ago=None)
    recorded = clock.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    with session_scope(engine) as s:
        workflow.record_police(s, staff, cid, None, recorded - dt.timedelta(minutes=10), recorded)
    client.post(f"/k/{token}", data={"step": "handover"})
    with session_scope(engine) as s:
        assert s.get(Case, cid).police_handover_at == recorded  # staff's record stays
    other, did = _case(engine, staff)  # a walk-in case: no police
    client.post(f"/k/{_issue(engine, staff, did)}", data={"step": "handover"})
    with session_scope(engine) as s:
        assert s.get(Case, other).police_handover_at is None
