"""Reference data cached per process (services/refdata.py): a change made through the services is seen
on the next lookup and on the next page run, in this process at once and in another process within
`refdata.CHECK_SECONDS`; a rolled-back change is never seen; and one rerun of each key page sends no
more SQL statements than the budget below (a count, not a timing)."""
from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from db.engine import get_engine, session_scope
from db.migrate import upgrade
from db.models import Case, User
from services import admin_config, refdata, sessions, settings
from services.cases import case_queries
from services.codes import dispute_codes
from services.roster import org
from services.roles import ADMIN, Actor
from tests.test_admin_config import eng  # noqa: F401 - restores categories and settings afterwards
from tests.test_code_pages import _panel, setup  # noqa: F401 - a case with its code, on the page tests' database
from tests.ui import APP, app_as, by_key

ROOT_DIR = str(Path(__file__).resolve().parent.parent)
ADMIN_ACTOR = Actor(user_id=None, username="admin_t", role=ADMIN, display_name="管理员")


def _names(engine, active_only=True):
    with session_scope(engine) as s:
        return [c.name for c in org.categories(s, active_only)]


# ------------------------------------------------------------------ the services, both databases
def test_a_category_added_renamed_and_deleted_is_seen_by_the_next_lookup(eng):  # noqa: F811
    assert "山塘水利纠纷" not in _names(eng)  # the process's copy is built here
    with session_scope(eng) as s:
        cat = admin_config.add_category(s, ADMIN_ACTOR, "山塘水利纠纷", "t_pond")
    assert "山塘水利纠纷" in _names(eng)
    with session_scope(eng) as s:
        admin_config.rename_category(s, ADMIN_ACTOR, cat.id, "山塘纠纷")
    assert "山塘纠纷" in _names(eng) and "山塘水利纠纷" not in _names(eng)
    with session_scope(eng) as s:
        admin_config.set_category_active(s, ADMIN_ACTOR, cat.id, False)
    assert "山塘纠纷" not in _names(eng) and "山塘纠纷" in _names(eng, active_only=False)
    with session_scope(eng) as s:
        admin_config.delete_category(s, ADMIN_ACTOR, cat.id)
    assert "山塘纠纷" not in _names(eng, active_only=False)


def test_a_changed_setting_is_seen_at_once_and_a_rolled_back_one_never(eng):  # noqa: F811
    with session_scope(eng) as s:
        before = settings.get(s, "follow_up_days")
        idle = sessions.limits(s)[0]
    with session_scope(eng) as s:
        admin_config.update_number(s, ADMIN_ACTOR, "follow_up_days", before + 2)
    with session_scope(eng) as s:
        assert settings.get(s, "follow_up_days") == before + 2
    # a change inside a transaction that fails: the transaction reads its own value, nobody else ever does
    with pytest.raises(RuntimeError):
        with session_scope(eng) as s:
            admin_config.update_number(s, ADMIN_ACTOR, "follow_up_days", before + 5)
            assert settings.get(s, "follow_up_days") == before + 5
            raise RuntimeError("rolled back")
    with session_scope(eng) as s:
        assert settings.get(s, "follow_up_days") == before + 2
    with session_scope(eng) as s:
        sessions.update_limits(s, ADMIN_ACTOR, idle + 7, 12)
    with session_scope(eng) as s:
        assert sessions.limits(s) == (idle + 7, 12)
        sessions.update_limits(s, ADMIN_ACTOR, idle, 12)


def test_case_work_keeps_the_copy_and_only_writes_to_reference_tables_drop_it(eng):  # noqa: F811
    from sqlalchemy import text
    from tests import factories
    from services.cases import intake
    with session_scope(eng) as s:
        staff = factories.actor(s, "staff")
        intake.register_case(s, staff, factories.case_input(s))  # warms what a registration reads
    _names(eng)
    builds = refdata.stats["builds"]
    with session_scope(eng) as s:
        intake.register_case(s, staff, factories.case_input(s))  # numbering's textual UPDATE counter included
        s.execute(text("UPDATE dispute_case SET township_id = township_id WHERE id = -1"))  # names a column only
    _names(eng)
    assert refdata.stats["builds"] == builds  # a registered case is no reason to read the categories again
    with session_scope(eng) as s:
        s.execute(text("UPDATE dispute_category SET name = name WHERE id = -1"))
    _names(eng)
    assert refdata.stats["builds"] == builds + 1


def test_a_value_taken_from_the_copy_cannot_change_the_copy(eng):  # noqa: F811
    with session_scope(eng) as s:
        city = settings.get(s, "city")  # stored by the org loader
        city["name"] = "改掉"
        assert settings.get(s, "city")["name"] != "改掉"


def test_a_unit_renamed_by_loading_the_org_file_is_seen_in_lookups_and_case_views(fresh_url):
    upgrade(fresh_url)
    engine = get_engine(fresh_url)
    data = org.read_org_file()
    with session_scope(engine) as s:
        org.load_org(s, data)
    town = data["townships"][0]
    with session_scope(engine) as s:
        assert town["name"] in [t.name for t in org.townships(s)]
        town_id = next(t.id for t in org.townships(s) if t.name == town["name"])
        assert refdata.name(s, org.Township, town_id) == town["name"]
    town["name"] = "改名测试街道"
    with session_scope(engine) as s:
        org.load_org(s, data, ADMIN_ACTOR)
    with session_scope(engine) as s:
        assert "改名测试街道" in [t.name for t in org.townships(s)]
        assert refdata.name(s, org.Township, town_id) == "改名测试街道"
        assert dict(case_queries.police_stations(s))  # the other look-ups still answer
        assert org.city(s)["name"]


CHANGE_ELSEWHERE = """
import sys
from db.engine import get_engine, session_scope
from services import admin_config
from services.roles import ADMIN, Actor
with session_scope(get_engine(sys.argv[1])) as s:
    admin_config.add_category(s, Actor(user_id=None, username="other", role=ADMIN), "另一进程类别", "t_other")
"""


def test_a_change_made_by_another_process_is_seen_after_the_check_interval(eng, monkeypatch):  # noqa: F811
    url = eng.url.render_as_string(hide_password=False)
    monkeypatch.setattr(refdata, "CHECK_SECONDS", 3600)  # this process checks only when told to
    assert "另一进程类别" not in _names(eng)
    subprocess.run([sys.executable, "-c", CHANGE_ELSEWHERE, url], cwd=ROOT_DIR, check=True, timeout=120)
    assert "另一进程类别" not in _names(eng)  # within the interval: this process's copy
    monkeypatch.setattr(refdata, "CHECK_SECONDS", 0)
    assert "另一进程类别" in _names(eng)  # the generation row changed: the copy was dropped


# ------------------------------------------------------------------ the next page run (AppTest)
def test_a_category_added_by_the_admin_is_offered_on_the_next_run_of_the_pages(ui_url):
    at = app_as(ui_url, "staff", "pages/ladder_board.py")
    assert not at.exception
    assert "山塘水利纠纷" not in by_key(at.selectbox, "lb_category").options
    engine = get_engine(ui_url)
    with session_scope(engine) as s:
        cat = admin_config.add_category(s, ADMIN_ACTOR, "山塘水利纠纷", "t_pond")
    try:
        at.run()
        assert "山塘水利纠纷" in by_key(at.selectbox, "lb_category").options
        at.switch_page("pages/case_intake.py").run()
        assert any("山塘水利纠纷" in o for el in at.selectbox if el.label == "纠纷类别" for o in el.options)
    finally:
        with session_scope(engine) as s:
            admin_config.delete_category(s, ADMIN_ACTOR, cat.id)
    at.run()
    assert not any("山塘水利纠纷" in o for el in at.selectbox if el.label == "纠纷类别" for o in el.options)


def test_the_city_renamed_in_the_org_file_is_on_the_next_home_run(ui_url):
    at = app_as(ui_url, "staff")
    engine = get_engine(ui_url)
    with session_scope(engine) as s:
        old = org.city(s)
    assert any(old["name"] in el.value for el in at.subheader)
    try:
        with session_scope(engine) as s:
            settings.put(s, "city", {**old, "name": "测试市"})
        at.run()
        assert any("测试市非警务警情联动处置体系" in el.value for el in at.subheader)
    finally:
        with session_scope(engine) as s:
            settings.put(s, "city", old)


# ------------------------------------------------------------------ SQL statements per rerun
# One warm rerun of each key page as the demo's `staff`, statements counted by a listener on every
# engine. Before the reference data was cached: home 13, case list 11, case detail 26, ladder board 12,
# dashboard 7. A budget includes the one generation check a run may make (refdata.CHECK_SECONDS).
# case detail: 16 for the case itself and its 解纷码, then the panels added since: the written agreement
# (terms, sessions, confirmation: 3), earlier disputes (3), the check-in links (1), the task force's
# notices and meetings of the case (4), the case papers on offer (2)
BUDGET = {"pages/home.py": 3, "pages/case_list.py": 6, "pages/case_detail.py": 26, "pages/ladder_board.py": 8,
          "pages/dashboard.py": 3}


@pytest.fixture
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE (db/engine.py) starts, it asks nothing
            seen.append(" ".join(statement.split()))
    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


@pytest.mark.parametrize("path", list(BUDGET))
def test_one_rerun_of_a_key_page_stays_within_its_statement_budget(demo_url, monkeypatch, statements, path):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("DATABASE_URL", demo_url)
    engine = get_engine(demo_url)
    with session_scope(engine) as s:
        user = s.scalar(select(User).where(User.username == "staff"))
        token = sessions.create(s, user.id, "127.0.0.1", "AppTest")
        case_id = s.scalar(select(Case.id).where(Case.status == "mediating").order_by(Case.id))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["session_token"] = token
    at.run()
    at.switch_page(path)
    at.session_state["case_id"] = case_id
    at.run()
    at.run()  # warm: reference data, dashboard figures and chart specs cached
    assert not at.exception, at.exception
    statements.clear()
    at.run()
    assert not at.exception, at.exception
    repeated = [q for q, n in collections.Counter(statements).items() if n > 1 and not q.startswith("SELECT dispute_case.id")]
    # the cross-process generation check (at most once a second; SQLite quotes the column "key")
    checks = sum(1 for q in statements if re.match(r'SELECT setting\.value FROM setting WHERE setting\.("key"|key) =', q))
    assert len(statements) - checks <= BUDGET[path], "\n".join(statements)
    assert checks <= 1, statements
    assert not repeated, repeated  # no query twice in one run (the board's one query per column aside)


# ------------------------------------------------------------------ per-session: the 解纷码 image
def test_the_qr_image_is_drawn_once_per_link_and_anew_after_a_reissue(setup, monkeypatch):  # noqa: F811
    url, case_id, _, _ = setup
    drawn: list[str] = []
    real = dispute_codes.qr_png

    def counting(token, session=None, box_size=10):
        drawn.append(token)
        return real(token, session, box_size=box_size)
    monkeypatch.setattr(dispute_codes, "qr_png", counting)
    at = _panel(url, "staff", case_id)
    at.run()
    at.run()
    assert not at.exception, at.exception
    assert len(drawn) == 1  # three runs, one drawing
    by_key(at.button, f"qr_reissue_{case_id}").click().run()
    assert not at.exception, at.exception
    assert len(drawn) == 2 and drawn[1] != drawn[0]  # the new link gets a new image at once
    (link,) = at.code
    assert link.value.endswith(f"/c/{drawn[1]}")
