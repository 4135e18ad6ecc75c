"""Staff pages of the dispute-code feature with AppTest: the 线上服务 queue, 视频连线, the QR panel."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from components.navigation import PAGES
from db.engine import get_engine, session_scope
from db.models import OnlineRequest, VideoLink
from services.codes import dispute_codes
from services.codes import online_services
from tests.test_dispute_codes import make_case
from tests.ui import ROOT, app_as, by_key, ensure_user, texts

ALL_PAGES_EXIST = all((ROOT / p.path).exists() for p in PAGES)


def open_page(url: str, role: str, path: str) -> AppTest:
    """Through the real router (tests.ui.app_as) once every registered page exists; until the other
    features' pages land, the router cannot build the menu, so run the page file itself (its guard
    still checks the role against the registry)."""
    if ALL_PAGES_EXIST:
        return app_as(url, role, path)
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    at.session_state["actor"] = ensure_user(url, role)
    at.run()
    return at


@pytest.fixture
def setup(ui_url):
    """A mediating case with a fresh consultation request (SQLite; the rules run on both in test_online_services)."""
    staff = ensure_user(ui_url, "staff")
    for role in ("leader", "taskforce"):
        ensure_user(ui_url, role)
    with session_scope(get_engine(ui_url)) as s:
        case = make_case(s, staff, "mediating")
        token = dispute_codes.issue_for_case(s, case.id).token
        req = online_services.submit_public(s, token, "legal_consultation", "13900001111", "想咨询宅基地问题")
        return ui_url, case.id, req.id, req.number


def _req(url, request_id):
    with session_scope(get_engine(url)) as s:
        r = s.get(OnlineRequest, request_id)
        return r.status, r.outcome, r.decline_reason, r.participants


def test_queue_accept_schedule_done(setup):
    url, _, rid, number = setup
    at = open_page(url, "staff", "pages/online_services.py")
    assert not at.exception, at.exception
    assert number in at.dataframe[0].value.to_string()
    assert "139****1111" not in texts(at) and "13900001111" in at.text[0].value  # staff may see the mobile
    by_key(at.button, "os_accept").click().run()
    assert _req(url, rid)[0] == "accepted"
    by_key(at.multiselect, "os_roles").set_value(["mediator", "lawyer"])
    by_key(at.text_input, "os_names").input("刘调解，王律师")
    by_key(at.button, "os_schedule").click().run()
    assert not at.exception
    status, _, _, parts = _req(url, rid)
    assert status == "scheduled"
    assert parts == [{"role": "mediator", "name": "刘调解"}, {"role": "lawyer", "name": "王律师"}]
    by_key(at.text_area, "os_outcome").input("律师已线上解答宅基地界线问题。")
    by_key(at.button, "os_done").click().run()
    assert _req(url, rid)[:2] == ("done", "律师已线上解答宅基地界线问题。")


def test_done_cannot_skip_scheduling_and_outcome_may_not_hold_a_phone(setup):
    url, _, rid, _ = setup
    at = open_page(url, "staff", "pages/online_services.py")
    by_key(at.button, "os_accept").click().run()
    assert [b for b in at.button if getattr(b, "key", None) == "os_done"] == []  # not offered before scheduling
    by_key(at.text_input, "os_names").input("刘调解")
    by_key(at.button, "os_schedule").click().run()
    by_key(at.text_area, "os_outcome").input("请联系 13912345678")
    by_key(at.button, "os_done").click().run()
    assert "不能包含手机号码" in texts(at)
    assert _req(url, rid)[0] == "scheduled"


def test_decline_needs_a_reason(setup):
    url, _, rid, _ = setup
    at = open_page(url, "taskforce", "pages/online_services.py")
    by_key(at.button, "os_decline").click().run()
    assert "请填写不予办理的原因" in texts(at)
    assert _req(url, rid)[0] == "requested"
    by_key(at.text_area, "os_reason").input("该事项已由法院立案受理。")
    by_key(at.button, "os_decline").click().run()
    assert _req(url, rid)[:3] == ("declined", "", "该事项已由法院立案受理。")


def test_leader_reads_the_queue_without_actions_or_mobiles(setup):
    url, _, rid, number = setup
    at = open_page(url, "leader", "pages/online_services.py")
    assert not at.exception
    assert number in at.dataframe[0].value.to_string()
    assert not [b for b in at.button if getattr(b, "key", "") and b.key.startswith("os_")]
    assert "139****1111" in at.text[0].value and "13900001111" not in texts(at) + at.text[0].value
    assert _req(url, rid)[0] == "requested"


def test_video_link_log_and_counts(ui_url):
    ensure_user(ui_url, "leader")
    at = open_page(ui_url, "staff", "pages/video_links.py")
    assert not at.exception, at.exception
    by_key(at.button, "vl_save").click().run()  # the room takes part but none is chosen; no result
    msgs = texts(at)
    assert "调解室参加时请选择是哪个调解室" in msgs and "请填写连线结果" in msgs
    with session_scope(get_engine(ui_url)) as s:
        assert s.scalar(select(func.count()).select_from(VideoLink)) == 0
    by_key(at.multiselect, "vl_parts").set_value(["city_centre", "lawyer"])
    by_key(at.selectbox, "vl_purpose").set_value("consultation")
    by_key(at.text_area, "vl_result").input("律师远程解答，当事人表示满意。")
    by_key(at.button, "vl_save").click().run()
    assert not at.exception
    with session_scope(get_engine(ui_url)) as s:
        link = s.scalar(select(VideoLink))
        assert (link.purpose, link.participants) == ("consultation", ["city_centre", "lawyer"])
    at = open_page(ui_url, "leader", "pages/video_links.py")
    assert not [b for b in at.button if getattr(b, "key", None) == "vl_save"]
    assert at.metric[0].value == "1"
    assert "律师远程解答" in at.dataframe[-1].value.to_string()


def _panel(url: str, role: str, case_id: int) -> AppTest:
    at = AppTest.from_string(
        "from components.context import actor\nfrom components import qr_panel\n"
        f"qr_panel.render({case_id}, actor())\n", default_timeout=60)
    at.session_state["actor"] = ensure_user(url, role)
    at.run()
    return at


def test_qr_panel_staff_downloads_and_reissues_leader_only_sees(setup):
    url, case_id, _, _ = setup
    with session_scope(get_engine(url)) as s:
        old = dispute_codes.issue_for_case(s, case_id).token
    at = _panel(url, "staff", case_id)
    assert not at.exception, at.exception
    assert len(at.get("image")) == 1
    (link,) = at.code
    assert link.value.endswith(f"/c/{old}")
    assert {b.key for b in at.get("download_button")} == {f"qr_png_{case_id}", f"qr_pdf_{case_id}"}
    by_key(at.button, f"qr_reissue_{case_id}").click().run()
    assert not at.exception
    with session_scope(get_engine(url)) as s:
        new = dispute_codes.issue_for_case(s, case_id).token
        assert new != old and dispute_codes.case_for_token(s, old) is None
    # Issue 11 #6: the public-link box shows the new, live link (it kept the dead one)
    (link,) = at.code
    assert link.value.endswith(f"/c/{new}") and old not in link.value
    leader = _panel(url, "leader", case_id)
    assert not leader.exception
    assert len(leader.get("image")) == 1
    assert not leader.button and not leader.get("download_button") and not leader.code


def test_qr_panel_task_force_downloads_but_cannot_reissue(setup):
    url, case_id, _, _ = setup
    at = _panel(url, "taskforce", case_id)
    assert not at.exception
    assert {b.key for b in at.get("download_button")} == {f"qr_png_{case_id}", f"qr_pdf_{case_id}"}
    assert not at.button
