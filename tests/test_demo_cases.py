"""The demo cases: the article's figures, a legal ladder history, numbering, live open cases."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import and_, func, select

from db.engine import get_engine, session_scope
from db.migrate import upgrade
from db.models import Case, CaseEvent, Counter, Dispatch, FollowUp, Mediator, Party, User
from services import clock, demo
from services.cases import intake
from services.cases import ladder
from services.roster import org
from services.demo import cases as demo_cases
from services.auth import actor_for
from services.cases import case_queries as q
from services.roles import STAFF, TASKFORCE, Actor
from services.validation import normalise_id_card
from tests.conftest import BACKENDS, new_database

NOW = clock.local_dt(2026, 11, 20, 10, 30)
START, END = demo_cases.WINDOW_START, demo_cases.WINDOW_END


@pytest.fixture(scope="module", params=BACKENDS)
def demo_url(request, _tmp_dir):
    """Organisation, demo accounts and this step, once per backend (the other steps are not ours)."""
    url, cleanup = new_database(request.param, _tmp_dir)
    upgrade(url)
    clock.freeze(NOW)
    try:
        with session_scope(get_engine(url)) as s:
            org.load_org(s, org.read_org_file())
            demo._demo_accounts(s)
            demo_cases.load(s, random.Random(2023))
        yield url
    finally:
        clock.freeze(None)
        cleanup()


@pytest.fixture
def s(demo_url):
    clock.freeze(NOW)
    with session_scope(get_engine(demo_url)) as session:
        yield session
    clock.freeze(None)


def _n(s, *where, model=Case):
    return s.scalar(select(func.count()).select_from(model).where(*where))


def test_figures_land_on_the_article(s):
    window = and_(Case.received_at >= START, Case.received_at < END)
    total = _n(s, window)
    assert 4900 <= total <= 5000
    assert 0.65 <= _n(s, window, Case.mode == "station") / total <= 0.69
    reached_room = s.scalar(select(func.count(func.distinct(CaseEvent.case_id))).join(Case, Case.id == CaseEvent.case_id)
                            .where(window, CaseEvent.to_level == "station_room"))
    assert 2250 <= reached_room <= 2450
    assert 0.980 <= _n(s, window, Case.settled_at.isnot(None)) / total <= 0.990
    # every historical case is closed; every settled one followed up with a satisfied answer
    assert _n(s, window, Case.status != "closed") == 0
    assert _n(s, window, Case.settled_at.isnot(None), Case.satisfaction.notin_(("satisfied", "basic"))) == 0
    answers = dict(s.execute(select(FollowUp.satisfaction, func.count()).join(Case, Case.id == FollowUp.case_id)
                             .where(window).group_by(FollowUp.satisfaction)).all())
    assert (answers["satisfied"] + answers["basic"]) / sum(answers.values()) >= 0.985
    assert answers.get("dissatisfied", 0) > 0  # a few reopened and settled again
    assert _n(s, window, Case.reopen_count > 0) == answers["dissatisfied"]
    # a tail at the township and city centres and a few guided to the courts
    assert _n(s, window, Case.settled_level == "township") > 20
    assert _n(s, window, Case.settled_level == "city") > 20
    courts = s.scalars(select(Case.court_name).where(window, Case.court_name != "")).all()
    assert 5 <= len(courts) <= 40 and all("人民法院" in c for c in courts)
    # quick response: first arrival within the arrival clock
    on_time = _n(s, window, Case.first_arrival_at <= Case.arrival_due_at)
    assert 0.94 <= on_time / total <= 0.98
    # 110 cases: police handed over 15-25 minutes after arriving
    police = s.execute(select(Case.police_arrived_at, Case.police_handover_at)
                       .where(window, Case.source == "110")).all()
    assert len(police) > total * 0.4
    assert all(dt.timedelta(minutes=15) <= h - a <= dt.timedelta(minutes=25) for a, h in police)


def test_parties_have_unique_mobiles_and_valid_id_numbers(s):
    # a mobile is one person's: a party who calls again (a repeat dispute) comes back whole
    people = s.execute(select(Party.mobile, Party.name, Party.id_card, Party.address).distinct()).all()
    assert len(people) == s.scalar(select(func.count(func.distinct(Party.mobile))))
    assert len(people) < _n(s, model=Party)  # some parties are in more than one case
    ids = s.scalars(select(Party.id_card).where(Party.id_card.isnot(None))).all()
    assert len(ids) > 1000
    assert all(normalise_id_card(i) == i for i in ids)
    assert any(i.endswith("X") for i in ids)
    assert _n(s, Case.source == "110", Case.police_incident_no.is_(None)) == 0
    assert _n(s, Case.source == "12345", Case.hotline_order_no.is_(None)) == 0


def _replay(s, case: Case) -> None:
    """Every event continues from the state the previous one left, by a row of the MOVES table
    the state allowed, and lands where that row leads."""
    events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    assert events[0].action == "register" and (events[0].to_level, events[0].to_status) == ("onsite", "registered")
    st = {"mode": case.mode, "level": "onsite", "status": "registered", "source": case.source,
          "followed_up_at": None, "satisfaction": None, "waiting_dispatches": 0}
    last_at = events[0].at
    for e in events[1:]:
        assert (e.from_level, e.from_status) == (st["level"], st["status"]), (case.number, e.action)
        assert e.at >= last_at, (case.number, e.action)
        rule = ladder.RULES[e.action]
        assert ladder.refusal(st, rule.via or e.action) is None, (case.number, e.action)
        if e.action in ("dispatch", "add_dispatch"):
            st["waiting_dispatches"] += len(e.detail["people"])
        elif e.action == "arrive":
            st["waiting_dispatches"] -= 1
        target = (ladder.target_level(rule, case.mode, st["level"]), rule.to_status or st["status"])
        assert (e.to_level, e.to_status) == target, (case.number, e.action)
        if e.action in ("follow_up", "reopen"):
            st.update(followed_up_at=e.at, satisfaction=e.detail["satisfaction"])
        elif e.action == "settle":
            st.update(followed_up_at=None, satisfaction=None, settled_at=e.at, judicial_status=None)
        elif e.action == "judicial_apply":
            st["judicial_status"] = "applied"
        elif e.action in ("judicial_result", "judicial_rejected"):
            st["judicial_status"] = e.detail["result"]
        if e.action == "reopen":
            st["settled_at"] = None
        st.update(level=e.to_level, status=e.to_status)
        last_at = e.at
    assert (case.level, case.status) == (st["level"], st["status"])
    assert case.version == len(events)
    assert case.updated_at == last_at


def test_a_sample_of_case_histories_replays_through_the_ladder(s):
    ids = s.scalars(select(Case.id).order_by(Case.id)).all()
    sample = random.Random(7).sample(ids, 200)
    for case in s.scalars(select(Case).where(Case.id.in_(sample))):
        _replay(s, case)
        open_ = case.status in ladder.statuses_in(ladder.OPEN)
        assert (case.level_due_at is not None) == open_
        if case.settled_at is not None:
            assert case.settled_level in ladder.LADDERS[case.mode]
            assert case.follow_up_due_at == case.settled_at + dt.timedelta(days=7)
        if case.status == "closed" and case.settled_at is not None:
            assert case.followed_up_at is not None and _n(s, FollowUp.case_id == case.id, model=FollowUp) >= 1
        if case.ended_at is not None and case.court_name:
            assert case.level == "court"


def test_live_cases_at_every_level_of_both_ladders_some_overdue(s):
    now = clock.now()
    live = Case.received_at >= now - dt.timedelta(days=21)
    assert _n(s, live, Case.received_at > now) == 0
    assert _n(s, CaseEvent.at > now, model=CaseEvent) == 0
    open_ = Case.status.in_(ladder.statuses_in(ladder.OPEN))
    for mode, levels in ladder.LADDERS.items():
        for level in levels:
            assert _n(s, live, open_, Case.mode == mode, Case.level == level, Case.status == "mediating") > 0, \
                (mode, level)
        assert _n(s, live, Case.mode == mode, Case.status == "registered") > 0
    assert _n(s, live, open_, Case.level_due_at < now) >= 5
    assert _n(s, live, open_, Case.first_arrival_at.is_(None), Case.arrival_due_at < now) >= 2
    awaiting = _n(s, live, Case.status == "settled", Case.followed_up_at.is_(None))
    assert 12 <= awaiting <= 20
    assert _n(s, live, Case.status == "settled", Case.follow_up_due_at < now) >= 3
    assert _n(s, live, open_, Case.reopen_count > 0) >= 1
    # the first live case is the agreement at day 26 of its 30 days (test_agreements_and_confirmations)
    recent = Case.received_at >= now - dt.timedelta(days=30)
    assert s.scalar(select(func.min(Case.number)).where(recent)) == "丰-2026-000001"
    # the demo mediator accounts each have open cases dispatched to them
    for username in ("mediator", "village"):
        mid = s.scalar(select(User.mediator_id).where(User.username == username))
        mine = s.scalar(select(func.count(func.distinct(Dispatch.case_id))).join(Case, Case.id == Dispatch.case_id)
                        .where(Dispatch.mediator_id == mid, open_))
        assert mine >= 3, username


def test_new_registrations_continue_the_numbering(s):
    live_count = _n(s, Case.received_at >= clock.local_dt(2026, 1, 1))
    assert s.scalar(select(Counter.value).where(Counter.kind == "case", Counter.year == 2023)) == \
        _n(s, Case.received_at < clock.local_dt(2024, 1, 1))
    staff = actor_for(s.scalar(select(User).where(User.username == "staff")))
    village = s.scalar(select(Case.village_id).where(Case.mode == "station").limit(1))
    township = s.scalar(select(Case.township_id).where(Case.village_id == village).limit(1))
    category = s.scalar(select(Case.category_id).limit(1))

    def register(received):
        return intake.register_case(s, staff, intake.CaseInput(
            source="walk_in", received_at=received, township_id=township, village_id=village, category_id=category,
            description="两户因宅基地边界发生争执", parties=[intake.PartyInput(name="测试人", mobile="13900000001")]))

    assert register(clock.now() - dt.timedelta(minutes=5)).number == f"丰-{clock.local(clock.now()).year}-{live_count + 1:06d}"
    late_2023 = register(clock.local_dt(2023, 12, 20, 9))
    assert late_2023.number == "丰-2023-004957"


def test_the_same_seed_gives_the_same_cases(s, demo_url):
    ctx = demo_cases._Ctx(s, random.Random(2023))
    sims = demo_cases._historical(ctx)
    sims.sort(key=lambda x: x.row["received_at"])
    stored = s.execute(select(Case.received_at, Case.description, Case.mode, Case.status)
                       .where(Case.received_at < END).order_by(Case.id)).all()
    assert [(x.row["received_at"], x.row["description"], x.row["mode"], x.row["status"]) for x in sims] == \
        [tuple(r) for r in stored]
    assert _n(s, Mediator.active.is_(True), model=Mediator) > 0


def test_live_descriptions_quote_the_caller_and_a_leader_reads_them_masked(s):
    """Trainers can show the free-text masking without typing: new calls name their caller and number."""
    from services.cases import case_queries
    c = s.scalar(select(Case).where(Case.status == "registered", Case.description.contains("来电人"))
                 .order_by(Case.id).limit(1))
    assert c is not None
    caller = s.scalar(select(Party).where(Party.case_id == c.id).order_by(Party.id).limit(1))
    assert caller.name in c.description and caller.mobile in c.description
    leader = case_queries.case_view(s, actor_for(s.scalar(select(User).where(User.username == "leader"))), c.id)
    assert caller.name not in leader["description"] and caller.mobile not in leader["description"]
    assert caller.mobile[:3] + "****" + caller.mobile[-4:] in leader["description"]


def test_the_sql_twin_of_the_table_picks_the_same_cases_as_the_rules(s):
    """ladder.sql_allows(action) (used by the queues) selects exactly the cases for which
    ladder.refusal(state, action) is None, over the demo's cases in every state."""
    from services.cases import workflow
    waiting = dict(s.execute(select(Dispatch.case_id, func.count()).where(Dispatch.arrived_at.is_(None))
                             .group_by(Dispatch.case_id)).all())
    states = {}
    for c in s.scalars(select(Case)):
        st = {name: getattr(c, name) for name in workflow.STATE_FIELDS}
        states[c.id] = {**st, "waiting_dispatches": waiting.get(c.id, 0)}
    assert {st["status"] for st in states.values()} >= {"registered", "mediating", "settled", "closed"}
    for action in ladder.RULES:
        by_sql = set(s.scalars(select(Case.id).where(ladder.sql_allows(action))))
        by_rules = {cid for cid, st in states.items() if ladder.refusal(st, action) is None}
        assert by_sql == by_rules, action
        if action in ("dispatch", "settle", "follow_up", "close", "arrive", "police", "transfer"):
            assert by_rules, action  # the demo has cases where each of these is possible


def test_some_disputes_repeat_and_one_party_calls_a_third_time(s):
    """docs/demo-data.md, "Repeat disputes": 3–5% of the cases have an earlier case of the same
    party or place within 12 months, some of them still open, and one is the third in 90 days."""
    from services.cases import repeats
    staff = Actor(user_id=None, username="d", role=STAFF)
    total = _n(s)
    n = q.list_cases(s, staff, q.CaseFilters(repeat=True)).total
    assert 0.03 <= n / total <= 0.05, n
    still_open = q.list_cases(s, staff, q.CaseFilters(repeat=True, status="open")).total
    assert still_open >= 3
    flagged = repeats.alerts(s, Actor(user_id=None, username="t", role=TASKFORCE))
    assert flagged and flagged[0]["count"] >= 3 and flagged[0]["status_name"] in ("待调度", "调解中")
    assert len(repeats.earlier_for_case(s, staff, flagged[0]["id"])) >= 2


def test_agreements_sessions_and_judicial_confirmations(s):
    from db.models import AgreementTerm, JudicialConfirmation, MediationSession
    window = and_(Case.received_at >= demo_cases.WINDOW_START, Case.received_at < demo_cases.WINDOW_END)
    settled = _n(s, window, Case.settled_at.isnot(None))
    with_terms = s.scalar(select(func.count(func.distinct(AgreementTerm.case_id))).join(
        Case, Case.id == AgreementTerm.case_id).where(window))
    assert with_terms == settled  # every settled article-period case has structured terms
    assert _n(s, window, Case.settled_at.isnot(None), Case.agreement_effective_on.is_(None)) == 0
    assert s.scalar(select(func.count()).select_from(MediationSession)) > 500
    applied = s.scalar(select(func.count()).select_from(JudicialConfirmation).join(
        Case, Case.id == JudicialConfirmation.case_id).where(window))
    confirmed = s.scalar(select(func.count()).select_from(JudicialConfirmation).where(
        JudicialConfirmation.result == "confirmed", JudicialConfirmation.ruling_no.like("（20__）赣0981民特%号")))
    assert 0.08 * settled <= applied <= 0.12 * settled
    assert confirmed >= 0.8 * applied
    assert _n(s, window, Case.judicial_status == "confirmed") == confirmed
    # every term of an archived case was answered at its follow-up
    assert s.scalar(select(func.count()).select_from(AgreementTerm).join(Case, Case.id == AgreementTerm.case_id)
                    .where(window, AgreementTerm.performance.is_(None))) == 0
    assert _n(s, Party.ethnicity != "", model=Party) > 500
    assert _n(s, Party.birth_date.isnot(None), model=Party) > 100


def test_one_live_agreement_is_near_its_30_day_mark_without_an_application(s):
    staff = Actor(user_id=None, username="d", role=STAFF)
    items, n = q.overdue_cases(s, staff, "judicial")
    assert n == 1
    view = q.case_view(s, staff, items[0]["id"])
    assert view["judicial_warning"] and "司法确认临近30日" in view["overdue_names"]
    assert view["terms"] and view["status"] == "settled"
