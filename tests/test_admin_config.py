"""系统设置: settings and categories on both databases, the role check, and the page."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, select, update

from db.engine import get_engine, session_scope
from db.models import AuditEvent, Case, DisputeCategory, Setting, Township, Village
from services import admin_config, clock, settings
from services.cases import intake
from services.metrics import dashboard
from services.roster import org
from services.errors import DomainError, PermissionDenied, ValidationError
from services.roles import ADMIN, LEADER, STAFF, TRAINER, Actor
from tests.conftest import wipe_transactional
from tests.ui import app_as, by_key, texts

ADMIN_ACTOR = Actor(user_id=None, username="admin_t", role=ADMIN, display_name="管理员")


@pytest.fixture
def eng(db_url):
    engine = get_engine(db_url)
    yield engine
    # settings and categories are organisation tables (kept between tests): put them back
    with session_scope(engine) as s:
        has_cases = s.scalar(select(Case.id).limit(1)) is not None
    if has_cases:
        wipe_transactional(db_url)  # cases first: they refer to the categories
    fixture = org.read_org_file()["categories"]
    with session_scope(engine) as s:
        s.execute(delete(Setting).where(Setting.key.in_(
            ("level_time_limits", "arrival_minutes", "follow_up_days", "station_room_hours"))))
        s.execute(delete(DisputeCategory).where(DisputeCategory.code.notin_([c["code"] for c in fixture])))
        for i, c in enumerate(fixture):
            s.execute(update(DisputeCategory).where(DisputeCategory.code == c["code"])
                      .values(name=c["name"], sort_order=i, active=True))


def _run(engine, fn, *args, actor=ADMIN_ACTOR):
    with session_scope(engine) as s:
        return fn(s, actor, *args)


def _cfg(engine):
    with session_scope(engine) as s:
        return admin_config.current(s)


def test_valid_changes_persist_and_are_audited(eng):
    limits = {"onsite": 1, "station_room": 5, "village_room": 4, "township": 10, "city": 20, "court": 60}
    _run(eng, admin_config.update_level_time_limits, limits)
    _run(eng, admin_config.update_number, "arrival_minutes", 20)
    _run(eng, admin_config.update_number, "follow_up_days", "10")
    _run(eng, admin_config.update_station_room_hours, 7, 21)
    cfg = _cfg(eng)
    assert cfg["level_time_limits"] == limits
    assert (cfg["arrival_minutes"], cfg["follow_up_days"]) == (20, 10)
    assert cfg["station_room_hours"] == {"open": 7, "close": 21}
    with session_scope(eng) as s:
        keys = [e.detail["key"] for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "setting.change"))]
        assert sorted(keys) == ["arrival_minutes", "follow_up_days", "level_time_limits", "station_room_hours"]
        # the new limits are what the case rules now use
        entered = clock.local_dt(2026, 3, 2, 9)
        assert intake.level_due(s, "station_room", entered) == entered + dt.timedelta(days=5)
        assert intake.level_due(s, "onsite", entered) == entered + dt.timedelta(days=1)


OUT_OF_RANGE = [
    (admin_config.update_number, ("arrival_minutes", 4), "arrival_minutes", "到场时限应为 5–120 的整数（分钟）。"),
    (admin_config.update_number, ("arrival_minutes", "十五"), "arrival_minutes", "到场时限应为 5–120 的整数（分钟）。"),
    (admin_config.update_number, ("follow_up_days", 0), "follow_up_days", "回访期限应为 1–60 的整数（天）。"),
    (admin_config.update_number, ("follow_up_days", 61), "follow_up_days", "回访期限应为 1–60 的整数（天）。"),
    (admin_config.update_number, ("follow_up_days", 7.5), "follow_up_days", "回访期限应为 1–60 的整数（天）。"),
    (admin_config.update_station_room_hours, (22, 8), "station_close", "结束时间须晚于开始时间。"),
    (admin_config.update_station_room_hours, (8, 24), "station_close", "结束时间应为 0–23 的整数（时）。"),
    (admin_config.update_station_room_hours, (-1, 20), "station_open", "开始时间应为 0–23 的整数（时）。"),
    (admin_config.update_level_time_limits,
     ({"onsite": 0, "station_room": 366, "village_room": 3, "township": 7, "city": 15, "court": 30},),
     "limit_station_room", "驻所母舅调解室：办理时限应为 0–365 的整数（天），0 表示当日办结。"),
    (admin_config.update_level_time_limits,
     ({"onsite": -1, "station_room": 3, "village_room": 3, "township": 7, "city": 15},),
     "limit_onsite", "现场调解：办理时限应为 0–365 的整数（天），0 表示当日办结。"),
]


def test_out_of_range_is_refused_on_the_field_and_nothing_changes(eng):
    before = _cfg(eng)
    for fn, args, field, message in OUT_OF_RANGE:
        with pytest.raises(ValidationError) as exc:
            _run(eng, fn, *args)
        assert exc.value.fields[field] == message, (fn.__name__, args)
    assert _cfg(eng) == before
    with session_scope(eng) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "setting.change")) == 0


def _grid_worker_reason(engine) -> str:
    """The reason 调度建议 gives for the place's grid worker on a new station-mode case."""
    with session_scope(engine) as s:
        village = s.scalar(select(Village).join(Township).where(Township.mode == "station").order_by(Village.code))
        case = intake.register_case(s, Actor(None, "staff_t", STAFF), intake.CaseInput(
            source="walk_in", received_at=clock.now(), township_id=village.township_id, village_id=village.id,
            category_id=s.scalar(select(DisputeCategory.id).order_by(DisputeCategory.id)),
            description="两户因排水沟堵塞发生争执", parties=[intake.PartyInput(name="测试人", mobile="13900000001")]))
        return next(x["reason"] for x in intake.suggest_dispatch(s, case.id) if x["duty"] == "grid_worker")


def _quick_rate_help(engine) -> str:
    with session_scope(engine) as s:
        return next(t.help for t in dashboard.headline(s, dashboard.Period.article()) if t.key == "quick_rate")


def test_messages_state_the_arrival_limit_that_is_set(eng):
    assert "15 分钟内到场" in _grid_worker_reason(eng)
    assert _quick_rate_help(eng).startswith("15 分钟内到场")
    _run(eng, admin_config.update_number, "arrival_minutes", 20)
    assert "20 分钟内到场" in _grid_worker_reason(eng)
    assert _quick_rate_help(eng).startswith("20 分钟内到场 ÷ 已调度案件")
    with session_scope(eng) as s:
        assert settings.phrase(s, "arrival_minutes") == "20 分钟"
        assert settings.phrase(s, "follow_up_days") == "7 天"
        assert settings.phrase(s, "station_room_hours") == "08:00–22:00"


def test_the_duty_cadre_suggestion_states_the_closing_hour_that_is_set(eng):
    from db.models import Mediator
    from services.roster import duty
    from tests.factories import actor, place
    _run(eng, admin_config.update_station_room_hours, 8, 21)
    day = dt.date(2026, 3, 2)
    clock.freeze(clock.local_dt(2026, 3, 2, 21, 30))
    try:
        with session_scope(eng) as s:
            staff = actor(s, "staff")
            t, v = place(s, "station")
            cadre = s.scalar(select(Mediator).where(Mediator.kind == "duty_cadre", Mediator.township_id == t.id)
                             .order_by(Mediator.code))
            duty.assign(s, staff, t.id, day, cadre.id)
            case = intake.register_case(s, staff, intake.CaseInput(
                source="walk_in", received_at=clock.local_dt(2026, 3, 2, 21, 10), township_id=t.id, village_id=v.id,
                category_id=s.scalar(select(DisputeCategory.id).order_by(DisputeCategory.id)),
                description="夜间邻里噪音纠纷双方争吵", parties=[intake.PartyInput(name="测试人", mobile="13900000001")]))
            reasons = {x["duty"]: x["reason"] for x in intake.suggest_dispatch(s, case.id)}
    finally:
        clock.freeze(None)
    assert reasons["duty_cadre"] == "21:00 后由乡镇值班干部会同派出所处置"


def test_only_an_admin_may_change_settings(eng):
    before = _cfg(eng)
    for role in (LEADER, TRAINER, STAFF):
        who = Actor(user_id=None, username=f"x_{role}", role=role)
        with pytest.raises(PermissionDenied):
            _run(eng, admin_config.update_number, "follow_up_days", 14, actor=who)
        with pytest.raises(PermissionDenied):
            _run(eng, admin_config.update_level_time_limits, dict(before["level_time_limits"]), actor=who)
        with pytest.raises(PermissionDenied):
            _run(eng, admin_config.add_category, "新类别", actor=who)
        with session_scope(eng) as s:
            first = s.scalar(select(DisputeCategory.id).order_by(DisputeCategory.id))
        with pytest.raises(PermissionDenied):
            _run(eng, admin_config.set_category_active, first, False, actor=who)
    assert _cfg(eng) == before
    with session_scope(eng) as s:
        assert s.scalar(select(func.count()).select_from(DisputeCategory).where(DisputeCategory.name == "新类别")) == 0
        assert s.scalar(select(func.count()).select_from(DisputeCategory).where(DisputeCategory.active.is_(False))) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_categories_add_rename_reorder_deactivate(eng):
    cat = _run(eng, admin_config.add_category, " 山塘水利纠纷 ", "t_water")
    with session_scope(eng) as s:
        rows = admin_config.list_categories(s)
    assert rows[-1]["name"] == "山塘水利纠纷" and rows[-1]["code"] == "t_water"
    _run(eng, admin_config.move_category, cat.id, -1)
    with session_scope(eng) as s:
        assert [c["code"] for c in admin_config.list_categories(s)][-2] == "t_water"
    _run(eng, admin_config.rename_category, cat.id, "水利纠纷")
    _run(eng, admin_config.set_category_active, cat.id, False)
    with session_scope(eng) as s:
        assert "水利纠纷" not in [c.name for c in org.categories(s)]  # hidden from new registrations
        assert "水利纠纷" in [c.name for c in org.categories(s, active_only=False)]
        audited = set(s.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "dispute_category")))
    assert audited == {"category.add", "category.reorder", "category.rename", "category.deactivate"}
    # unused: may be deleted
    _run(eng, admin_config.delete_category, cat.id)
    with session_scope(eng) as s:
        assert s.get(DisputeCategory, cat.id) is None


BAD_CATEGORIES = [
    ("邻里纠纷", "", "name", "已有名为“邻里纠纷”的类别。"),
    ("甲", "", "name", "类别名称应为 2–30 个字。"),
    ("新的类别", "Bad Code", "code", "编码须以小写字母开头，由小写字母、数字或下划线组成（2–30 位）。"),
    ("新的类别", "family", "code", "编码 family 已被使用。"),
]


def test_bad_category_input_is_refused(eng):
    with session_scope(eng) as s:
        n = s.scalar(select(func.count()).select_from(DisputeCategory))
    for name, code, field, message in BAD_CATEGORIES:
        with pytest.raises(ValidationError) as exc:
            _run(eng, admin_config.add_category, name, code)
        assert exc.value.fields == {field: message}
    with session_scope(eng) as s:
        assert s.scalar(select(func.count()).select_from(DisputeCategory)) == n


def test_a_category_in_use_is_never_deleted(eng):
    used = _run(eng, admin_config.add_category, "测试在用类别", "t_used")
    with session_scope(eng) as s:
        village = s.scalar(select(Village).join(Township).where(Township.mode == "station").limit(1))
        intake.register_case(s, Actor(None, "staff_t", STAFF), intake.CaseInput(
            source="walk_in", received_at=clock.now(), township_id=village.township_id, village_id=village.id,
            category_id=used.id, description="两户因宅基地边界发生争执",
            parties=[intake.PartyInput(name="测试人", mobile="13900000001")]))
        family_id = s.scalar(select(DisputeCategory.id).where(DisputeCategory.code == "family"))
    with pytest.raises(DomainError) as exc:
        _run(eng, admin_config.delete_category, used.id)
    assert exc.value.message == "类别“测试在用类别”已有 1 件案件使用，不能删除，可以停用。"
    with pytest.raises(DomainError, match="擅长领域"):  # a mediator specialty in the org fixture
        _run(eng, admin_config.delete_category, family_id)
    with pytest.raises(ValidationError) as exc:
        _run(eng, admin_config.rename_category, family_id, "邻里纠纷")
    assert exc.value.fields == {"rename": "已有名为“邻里纠纷”的类别。"}
    with session_scope(eng) as s:
        assert s.get(DisputeCategory, used.id) is not None
        assert s.scalar(select(DisputeCategory.name).where(DisputeCategory.id == family_id)) == "婚姻家庭"


def test_the_last_active_category_stays_active(eng):
    with session_scope(eng) as s:
        ids = s.scalars(select(DisputeCategory.id).order_by(DisputeCategory.id)).all()
    for cid in ids[:-1]:
        _run(eng, admin_config.set_category_active, cid, False)
    with pytest.raises(DomainError, match="至少保留一个"):
        _run(eng, admin_config.set_category_active, ids[-1], False)


# ---------------------------------------------------------------- the page
def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _open_settings(url):
    """Through the real router (tests.ui.app_as); while pages registered by other features are
    still missing from the tree the router cannot start, so the page script runs on its own."""
    from streamlit.testing.v1 import AppTest

    from components.navigation import PAGES
    from tests.ui import ROOT, ensure_user
    if all((ROOT / p.path).exists() for p in PAGES):
        return app_as(url, ADMIN, "pages/admin_settings.py")
    at = AppTest.from_file(str(ROOT / "pages/admin_settings.py"), default_timeout=60)
    at.session_state["actor"] = ensure_user(url, ADMIN)
    return at.run()


def test_admin_changes_follow_up_days_on_the_page(ui_url):
    at = _open_settings(ui_url)
    assert not at.exception, at.exception
    assert "7 天" in texts(at)
    by_key(at.number_input, "follow_up_days").set_value(10)
    _button(at, "保存回访期限").click().run()
    assert not at.exception, at.exception
    assert "回访期限已保存。" in texts(at)
    assert "10 天" in texts(at)
    with session_scope(get_engine(ui_url)) as s:
        assert settings.get(s, "follow_up_days") == 10
        s.execute(delete(Setting).where(Setting.key == "follow_up_days"))


def test_bad_value_on_the_page_shows_the_error_beside_the_field(ui_url):
    at = _open_settings(ui_url)
    by_key(at.number_input, "follow_up_days").set_value(0)
    _button(at, "保存回访期限").click().run()
    assert not at.exception, at.exception
    assert any("回访期限应为 1–60" in c.value for c in at.caption)  # beside the field
    assert "7 天" in texts(at)
    with session_scope(get_engine(ui_url)) as s:
        assert settings.get(s, "follow_up_days") == 7


def test_admin_adds_a_category_on_the_page_and_a_duplicate_is_refused(ui_url):
    at = _open_settings(ui_url)
    by_key(at.text_input, "cat_new_name").input("山塘水利纠纷")
    _button(at, "新增").click().run()
    assert not at.exception, at.exception
    assert "已新增类别“山塘水利纠纷”。" in texts(at)
    assert "山塘水利纠纷" in at.dataframe[0].value["名称"].tolist()
    by_key(at.text_input, "cat_new_name").input("邻里纠纷")
    _button(at, "新增").click().run()
    assert any("已有名为“邻里纠纷”的类别。" in c.value for c in at.caption)
    with session_scope(get_engine(ui_url)) as s:
        assert s.scalar(select(func.count()).select_from(DisputeCategory).where(DisputeCategory.name == "邻里纠纷")) == 1
        s.execute(delete(DisputeCategory).where(DisputeCategory.name == "山塘水利纠纷"))


def test_the_page_draws_its_inputs_and_messages_from_the_spec(ui_url, monkeypatch):
    import dataclasses
    spec = dataclasses.replace(settings.SPECS["arrival_minutes"], label="到场时间上限", hi=90, help="测试说明")
    monkeypatch.setitem(settings.SPECS, "arrival_minutes", spec)
    at = _open_settings(ui_url)
    assert not at.exception, at.exception
    field = by_key(at.number_input, "arrival_minutes")
    assert (field.label, field.help) == ("到场时间上限（分钟，5–90）", "测试说明")
    assert ("到场时间上限", "15 分钟") in [(m.label, m.value) for m in at.metric]
    follow = by_key(at.number_input, "follow_up_days")
    assert follow.label == "回访期限（天，1–60）"
    assert by_key(at.number_input, "limit_onsite").label == "现场调解（天，0–365）"
    field.set_value(100)
    _button(at, "保存到场时间上限").click().run()
    assert any("到场时间上限应为 5–90 的整数（分钟）。" in c.value for c in at.caption)  # beside the field
    with session_scope(get_engine(ui_url)) as s:
        assert settings.get(s, "arrival_minutes") == 15
