"""The MOVES table (services.cases.ladder) and the one state change (services.cases.case_state), as plain
tests: every allowed move, every forbidden one, the side actions' gates, and random sequences of
moves through transition() that never leave the states the table allows."""
import datetime as dt
import itertools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from db.engine import session_scope
from db.models import Case, Dispatch, Party
from services import clock
from services.cases import case_state
from services.cases import intake
from services.cases import ladder
from services.cases import workflow
from services.errors import IllegalTransition, PermissionDenied, ValidationError
from tests.factories import actor, case_input

LADDER_ACTIONS = ["dispatch", "transfer", "settle", "terminate", "litigate", "follow_up", "reopen", "close"]
T0 = dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC)
LIMITS = case_state.Limits(arrival_minutes=15, follow_up_days=7,
                           level_days={"onsite": 0, "station_room": 3, "village_room": 3, "township": 7, "city": 15,
                                       "court": 30})


def state(mode="station", level="onsite", status="registered", **kw):
    return {"mode": mode, "level": level, "status": status, "source": "12345", "received_at": T0, "room_id": 1,
            "followed_up_at": None, "satisfaction": None, "settled_at": None, "first_notified_at": None,
            "first_arrival_at": None, "reopen_count": 0, "waiting_dispatches": 0, **kw}


def test_ladders_read_like_the_article():
    assert [ladder.level_name("station", lv) for lv in ladder.LADDERS["station"]] == [
        "现场调解", "驻所母舅调解室", "市综治中心", "引导司法程序"]
    assert [ladder.level_name("village", lv) for lv in ladder.LADDERS["village"]] == [
        "现场调解", "住村母舅工作室", "乡镇综治中心", "市综治中心（线上）", "引导司法程序"]


def test_every_row_is_complete_and_every_action_has_one_row():
    assert len(ladder.RULES) == len(ladder.MOVES)
    for r in ladder.MOVES:
        assert r.staff_label and r.audit_label and r.permission.startswith("case.")
        assert set(r.from_status) <= set(ladder.STATUSES) and set(r.from_levels) <= set(ladder.LEVELS)
        assert r.to_status is None or r.to_status in ladder.STATUSES
        for label, message in r.required.values():
            assert label and message.endswith("。")
    # what the audit log and the pages call each action comes from the table
    from services import audit
    assert audit.ACTION_LABELS["case.arrive"] == ladder.RULES["arrive"].audit_label


EXPECTED = {
    # (status, is_last_rung) -> ladder actions allowed (follow-up not yet satisfactory)
    ("registered", False): {"dispatch", "terminate"},
    ("mediating", False): {"settle", "transfer", "terminate"},
    ("mediating", True): {"litigate", "terminate"},
    ("settled", False): {"follow_up"},  # reopen only as a follow-up's outcome
    ("terminated", False): {"close"},
    ("litigation", True): {"close"},
    ("closed", False): set(),
    ("closed", True): set(),
}


@pytest.mark.parametrize("mode", ["station", "village"])
def test_every_allowed_and_forbidden_move(mode):
    for level in ladder.LADDERS[mode]:
        last = level == "court"
        for status in ladder.STATUSES:
            if (status, last) not in EXPECTED:
                continue
            s = state(mode, level, status)
            allowed = set(ladder.allowed(s)) & set(LADDER_ACTIONS)
            assert allowed == EXPECTED[(status, last)], (mode, level, status)
            for action in LADDER_ACTIONS:
                if action in allowed:
                    ladder.check(s, action)
                else:
                    with pytest.raises(IllegalTransition) as exc:
                        ladder.check(s, action)
                    assert exc.value.message  # a Chinese reason, not an empty refusal


@pytest.mark.parametrize("mode", ["station", "village"])
def test_transfer_moves_exactly_one_rung_up(mode):
    rungs = ladder.LADDERS[mode]
    for lower, upper in itertools.pairwise(rungs):
        out = case_state.apply(state(mode, lower, "mediating"), "transfer", {"note": "分歧较大"}, T0, LIMITS)
        assert out.after == (upper, "mediating")
        assert out.changes["level_due_at"] == case_state.level_due(LIMITS, upper, T0)
    with pytest.raises(IllegalTransition, match="最后一级|引导司法程序"):
        ladder.check(state(mode, "court", "mediating"), "transfer")


def test_close_after_settlement_needs_a_satisfactory_follow_up():
    with pytest.raises(IllegalTransition, match="回访"):
        ladder.check(state(level="station_room", status="settled"), "close")
    ok = state(level="station_room", status="settled", followed_up_at=T0, satisfaction="basic")
    assert case_state.apply(ok, "close", {}, T0, LIMITS).after == ("station_room", "closed")


def test_reopen_is_only_the_outcome_of_a_follow_up():
    s = state(level="station_room", status="settled", settled_at=T0)
    with pytest.raises(IllegalTransition, match="回访"):
        ladder.check(s, "reopen")
    out = case_state.apply(s, "follow_up", {"method": "phone", "satisfaction": "dissatisfied", "agreement_holds": False,
                                            "note": "对方未付款"}, T0 + dt.timedelta(days=2), LIMITS)
    assert out.rule.action == "reopen" and out.after == ("station_room", "mediating")
    assert out.changes["settled_at"] is None and out.changes["reopen_count"] == 1


def test_levels_of_the_other_ladder_are_refused():
    assert ladder.allowed(state("station", "township", "mediating")) == []
    with pytest.raises(IllegalTransition):
        ladder.check(state("station", "village_room", "mediating"), "settle")


@pytest.mark.parametrize("action, s, why", [
    ("add_dispatch", state(status="settled"), "不能执行"),
    ("add_dispatch", state(status="registered"), "不能执行"),
    ("police", state(status="mediating", source="12345"), "110"),
    ("police", state(status="closed", source="110"), "不能执行"),
    ("arrive", state(status="mediating", waiting_dispatches=0), "尚未到场"),
    ("arrive", state(status="settled", waiting_dispatches=1), "不能执行"),
    ("reroute", state(level="station_room", status="mediating"), "现场调解"),
    ("reroute", state(status="terminated"), "不能执行"),
    ("record_session", state(status="registered"), "不能执行"),
    ("record_session", state(status="closed"), "不能执行"),
    ("judicial_apply", state(status="terminated"), "不能执行"),
    ("judicial_apply", state(status="closed", settled_at=None), "调解成功"),
    ("judicial_apply", state(status="settled", settled_at=T0, judicial_status="applied"), "不能重复申请"),
    ("judicial_result", state(status="settled", settled_at=T0), "没有待法院答复"),
    ("judicial_rejected", state(status="settled", settled_at=T0, judicial_status="applied"), "司法确认结果"),
    ("settle", state(mode="village", level="township", status="mediating", actor_kind="village"), "驻所、住村母舅"),
    ("settle", state(mode="station", level="city", status="mediating", actor_kind="station"), "驻所、住村母舅"),
])

def test_side_actions_are_gated_by_the_table(action, s, why):
    with pytest.raises(IllegalTransition, match=why):
        ladder.check(s, action)


def test_room_mediators_settle_below_the_centres_and_city_mediators_anywhere():
    for kind, level, ok in (("village", "village_room", True), ("station", "onsite", True),
                            ("city_brand", "city", True), (None, "township", True), ("village", "township", False)):
        s = state(mode="village", level=level, status="mediating", actor_kind=kind)
        assert (ladder.refusal(s, "settle") is None) == ok, (kind, level)


def test_required_fields_come_from_the_table_with_their_chinese_messages():
    with pytest.raises(ValidationError) as exc:
        case_state.apply(state(status="mediating"), "terminate", {"note": " "}, T0, LIMITS)
    assert exc.value.fields == {"reason_code": "请选择终止原因。", "note": "请填写终止说明。"}
    with pytest.raises(ValidationError) as exc:
        case_state.apply(state(), "dispatch", {"people": []}, T0, LIMITS)
    assert exc.value.fields["people"] == ladder.RULES["dispatch"].required["people"][1]


def test_the_public_words_come_from_the_table():
    from services.codes.dispute_codes import _step_label
    assert _step_label("transfer", "township") == "已移送乡镇综治中心"
    assert _step_label("dispatch", "onsite") == "现场调解中"
    assert _step_label("arrive", "onsite") is None  # internal steps never reach the citizen
    assert _step_label("close", "city") == ladder.RULES["close"].public_label


# ------------------------------------------------------------------ random sequences through transition()
ROLE_FOR = {"register": "staff", "dispatch": "staff", "depart": "staff", "handover": "staff", "add_dispatch": "staff", "arrive": "staff", "police": "staff", "reroute": "staff",
            "transfer": "staff", "settle": "staff", "terminate": "staff", "litigate": "staff",
            "follow_up": "taskforce", "close": "taskforce", "reopen": "taskforce",
            "record_session": "staff", "judicial_apply": "staff", "judicial_result": "staff",
            "judicial_rejected": "staff", "party_details": "staff"}


def _payload(s, c: Case, action: str, variant: int) -> dict:
    """A complete payload for the action (variant picks among valid answers)."""
    now = clock.now()
    if action in ("dispatch", "add_dispatch"):
        return {"people": [(m["mediator_id"], m["duty"]) for m in intake.suggest_dispatch(s, c.id)[:1 + variant % 2]]}
    if action == "arrive":
        d = s.scalar(select(Dispatch).where(Dispatch.case_id == c.id, Dispatch.arrived_at.is_(None)).limit(1))
        return {"dispatch_id": d.id if d else None, "arrived_at": now}
    if action == "police":
        return {"police_arrived_at": c.received_at, "police_handover_at": now}
    if action == "reroute":
        return {"room_id": c.room_id, "reason": "改由驻所调解室处理"}
    if action == "follow_up":
        sat = ("satisfied", "basic", "dissatisfied")[variant % 3]
        return {"method": "phone", "satisfaction": sat, "agreement_holds": variant % 4 != 3, "note": "回访情况说明"}
    if action == "settle":  # with or without structured terms and the intention to apply
        party = s.scalar(select(Party.id).where(Party.case_id == c.id).limit(1))
        terms = [{"obligation": "赔偿修缮费用", "party_id": party, "amount": "500", "manner": "现金",
                  "due_on": clock.today() + dt.timedelta(days=variant)}] if variant % 2 else []
        return {"agreement_summary": "双方和解", "terms": terms, "judicial_intent": variant % 3 == 0}
    if action == "record_session":
        return {"held_at": now, "place": "调解室", "process": "双方陈述", "result": "同意和解"}
    if action == "judicial_apply":
        return {"applied_on": clock.today(), "court": "丰城市人民法院", "channel": ("online", "paper")[variant % 2]}
    if action in ("judicial_result", "judicial_rejected"):
        if variant % 3 == 2:
            return {"result": "rejected", "result_on": clock.today(), "reject_reason": "违反法律规定"}
        return {"result": "confirmed", "result_on": clock.today(), "ruling_no": "（2024）赣0981民特12号"}
    if action == "party_details":
        party = s.scalar(select(Party.id).where(Party.case_id == c.id).limit(1))
        return {"party_id": party, "sex": "MF"[variant % 2], "ethnicity": "汉族", "occupation": "务农"}
    return {"note": "处理情况说明", "agreement_summary": "双方和解", "reason_code": "withdrawn",
            "court_name": "丰城市人民法院"}


def _invariants(s, c: Case):
    assert c.level in ladder.LADDERS[c.mode] and c.status in ladder.STATUSES
    assert (c.level_due_at is not None) == (c.status in ladder.OPEN_STATUSES)
    assert (c.settled_at is not None) == (c.status == "settled" or (c.status == "closed" and c.settled_level is not None))
    if c.status == "closed":  # only the agreement's paperwork goes on after archiving
        assert set(ladder.allowed(workflow.state_of(s, c))) <= {"judicial_apply", "judicial_result", "party_details"}
    assert (c.judicial_status is None) or c.settled_at is not None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["station", "village"]), source=st.sampled_from(["110", "12345"]),
       steps=st.lists(st.tuples(st.sampled_from(list(ladder.RULES)), st.integers(0, 11)), max_size=12))
def test_random_sequences_never_leave_the_table(engine, mode, source, steps):
    _walk(engine, mode, source, steps)


# the written agreement's rows need a settlement first: a walk weighted towards them reaches them
AGREEMENT_WALK = ["dispatch", "settle", "record_session", "judicial_apply", "judicial_result", "judicial_rejected",
                  "party_details", "follow_up", "close", "transfer"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["station", "village"]),
       steps=st.lists(st.tuples(st.sampled_from(AGREEMENT_WALK), st.integers(0, 11)), min_size=3, max_size=12))
def test_random_agreement_sequences_never_leave_the_table(engine, mode, steps):
    _walk(engine, mode, "12345", [("dispatch", 0), ("settle", 1)] + steps)


def _walk(engine, mode, source, steps):
    with session_scope(engine) as s:
        number = uuid.uuid4().hex[:12].upper()
        extra = {"police_incident_no": f"J{number}"} if source == "110" else {"hotline_order_no": f"GD{number}"}
        cid = intake.register_case(s, actor(s, "staff"), case_input(s, mode, source=source, **extra)).id
    for action, variant in steps:
        with session_scope(engine) as s:
            c = s.get(Case, cid)
            before = workflow.state_of(s, c)
            expected = ladder.refusal(before, action)
            payload = _payload(s, c, action, variant)
            version = c.version
            try:
                with s.begin_nested():
                    c = workflow.transition(s, actor(s, ROLE_FOR[action]), cid, action, version, **payload)
            except (IllegalTransition, ValidationError, PermissionDenied) as exc:
                # refused: the table said no (or a side action had nothing valid to act on); nothing changed
                assert expected is not None or isinstance(exc, ValidationError), (action, before, exc)
                s.expire_all()
                assert s.get(Case, cid).version == version
                continue
            assert expected is None, (action, before)
            r = ladder.RULES[action]
            if action == "follow_up" and c.status == "mediating":
                r = ladder.RULES["reopen"]
            if action == "judicial_result":  # the court's answer is what the case now records
                assert c.judicial_status == payload["result"]
            assert (c.level, c.status) == (ladder.target_level(r, before["mode"], before["level"]),
                                           r.to_status or before["status"])
            assert c.version == version + 1
            _invariants(s, c)
