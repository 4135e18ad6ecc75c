"""The organisation file and the demo command."""
import json

import pytest
from sqlalchemy import func, select

from db.engine import get_engine, session_scope
from db.migrate import upgrade
from db.models import Case, Dispatch, GovernanceCentre, Grid, MediationRoom, Mediator, PoliceStation, Township, User
from services import auth, demo
from services.roster import mediators, org
from services.errors import DomainError, PermissionDenied, ValidationError
from services.roles import LEADER, TRAINER
from tests.factories import actor


def _count(s, model, *where):
    return s.scalar(select(func.count()).select_from(model).where(*where))


def test_org_fixture_is_loaded_with_the_shape_of_the_city(session):
    assert _count(session, PoliceStation) == 32
    assert _count(session, Township) == 32
    assert _count(session, Township, Township.mode == "station") == 12
    assert _count(session, MediationRoom, MediationRoom.kind == "station") == 32
    assert _count(session, GovernanceCentre, GovernanceCentre.level == "city") == 1
    assert _count(session, Grid, Grid.grid_worker_id.is_(None)) == 0
    # every station room has 3-4 station mediators
    per_room = session.execute(select(Mediator.room_id, func.count()).where(Mediator.kind == "station")
                               .group_by(Mediator.room_id)).all()
    assert len(per_room) == 32 and all(3 <= n <= 4 for _, n in per_room)


def test_org_reload_is_idempotent_and_updates_by_code(fresh_url):
    upgrade(fresh_url)
    data = org.read_org_file()
    with session_scope(get_engine(fresh_url)) as s:
        org.load_org(s, data)
    data["townships"][0]["name"] = "剑光新区街道"
    with session_scope(get_engine(fresh_url)) as s:
        org.load_org(s, data)
    with session_scope(get_engine(fresh_url)) as s:
        assert _count(s, Township) == 32
        assert _count(s, Mediator) == len(data["mediators"])
        assert s.scalar(select(Township.name).where(Township.code == data["townships"][0]["code"])) == "剑光新区街道"


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["villages"][0].update(township="T99"), "T99"),
    (lambda d: d["mediators"][0].update(phone="12345"), "手机号"),
    (lambda d: d["townships"][0].update(mode="city"), "模式"),
    (lambda d: d.pop("grids"), "网格"),
])
def test_bad_org_file_is_refused_with_reason_and_nothing_saved(fresh_url, mutate, needle):
    upgrade(fresh_url)
    data = org.read_org_file()
    mutate(data)
    with pytest.raises(ValidationError) as exc:
        with session_scope(get_engine(fresh_url)) as s:
            org.load_org(s, org.parse_org(json.dumps(data).encode()))
    assert needle in exc.value.message
    with session_scope(get_engine(fresh_url)) as s:
        assert _count(s, Township) == 0


def test_demo_loads_accounts_for_every_role_and_resets(demo_url):
    """The demo as the run's template loaded it on an empty database (tests/conftest.py), then reset."""
    eng = get_engine(demo_url)
    with session_scope(eng) as s:
        roles = set(s.scalars(select(User.role)))
        assert roles == {"admin", "staff", "leader", "taskforce", "mediator", "trainer"}
        assert s.scalar(select(User.mediator_id).where(User.username == "mediator")) is not None
        assert auth.login(s, "staff", demo.DEMO_PASSWORD).ok
        with pytest.raises(DomainError):
            demo.load_demo(s)  # not empty any more
    with session_scope(eng) as s:
        trainer = auth.actor_for(s.scalar(select(User).where(User.role == TRAINER)))
        s.scalar(select(User).where(User.username == "staff")).display_name = "改过的名字"
    with session_scope(eng) as s:
        demo.reset_demo(s, trainer)
    with session_scope(eng) as s:
        assert s.scalar(select(User.display_name).where(User.username == "staff")) != "改过的名字"
        leader = auth.actor_for(s.scalar(select(User).where(User.role == LEADER)))
    with pytest.raises(PermissionDenied):
        with session_scope(eng) as s:
            demo.reset_demo(s, leader)


def test_demo_is_refused_in_production(fresh_url, monkeypatch):
    upgrade(fresh_url)
    monkeypatch.setenv("APP_MODE", "production")
    with pytest.raises(DomainError) as exc:
        with session_scope(get_engine(fresh_url)) as s:
            demo.load_demo(s)
    assert "生产模式" in exc.value.message


def test_demo_city_centre_people_carry_dispatches_and_load(demo_url):
    """Cases that reached the city centre have its brand mediators (品牌母舅) and lawyers among their
    dispatches: the roster shows them with cases in hand and a success rate, not all zeros."""
    with session_scope(get_engine(demo_url)) as s:
        for kind in ("city_brand", "lawyer"):
            n = s.scalar(select(func.count(func.distinct(Dispatch.case_id)))
                         .join(Mediator, Mediator.id == Dispatch.mediator_id)
                         .join(Case, Case.id == Dispatch.case_id)
                         .where(Mediator.kind == kind, Dispatch.duty == kind))
            assert n > 10, kind
            rows = mediators.list_roster(s, actor(s, "staff"), mediators.RosterFilter(kind=kind), page_size=500).rows
            assert sum(r["open_cases"] for r in rows) > 0, kind  # 在办: the live cases at the city centre
            assert any(r["success_ratio"] for r in rows), kind  # 调解成功率 from the 2023 cases
