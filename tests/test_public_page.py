"""The public dispute-code page, as a citizen's phone gets it (Starlette TestClient, both databases)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.engine import get_engine, session_scope
from db.models import Dispatch, Mediator, OnlineRequest
from services.codes import dispute_codes
from tests.conftest import _migrated_with_org, wipe_transactional
from tests.test_dispute_codes import make_case, valid_id
from tests.ui import ensure_user
from web import public
from web.routes import routes

MARKERS = {
    "name": "龚鹤翔QZ",
    "mobile": "13977712345",
    "id_card": valid_id("36098119800101777"),
    "address": "MARKADDR剑南路77号",
    "case_address": "MARKCASEADDR东门巷",
    "description": "MARKDESC涉及祖坟",
    "note": "MARKNOTEdispatch",
    "transfer_note": "MARKNOTEtransfer分歧大",
    "agreement": "MARKAGREE三千元",
    "follow_note": "MARKNOTEfollow满意",
}


@pytest.fixture
def client(db_url):
    public.reset_limits()
    with TestClient(Starlette(routes=routes()), client=("203.0.113.7", 50000)) as c:
        yield c
    public.reset_limits()


@pytest.fixture
def staff(db_url):
    return ensure_user(db_url, "staff")


@pytest.fixture
def web(ui_url):
    """(client, engine, staff) on SQLite only: for the HTTP behaviour (headers, 404s, limits, escaping),
    which does not depend on the database; the data and rules tests run on both."""
    from db.engine import get_engine
    public.reset_limits()
    with TestClient(Starlette(routes=routes()), client=("203.0.113.8", 50000)) as c:
        yield c, get_engine(ui_url), ensure_user(ui_url, "staff")
    public.reset_limits()


def new_case(engine, staff, state, markers=None):
    with session_scope(engine) as s:
        case = make_case(s, staff, state, markers)
        token = dispute_codes.issue_for_case(s, case.id).token
        return case.id, case.number, token


def _strip_dynamic(headers):
    return {k: v for k, v in headers.items() if k.lower() not in ("date", "server")}


def test_page_shows_stage_and_none_of_the_private_data(client, engine, staff):
    case_id, number, token = new_case(engine, staff, "court", MARKERS)
    with session_scope(engine) as s:  # the dispatched mediator's private phone and name must not appear either
        mediator = s.scalar(select(Mediator).join(Dispatch, Dispatch.mediator_id == Mediator.id)
                            .where(Dispatch.case_id == case_id))
        private = list(MARKERS.values()) + [mediator.phone, mediator.name, staff.display_name, staff.username]
    r = client.get(f"/c/{token}")
    assert r.status_code == 200
    body = r.text
    assert number in body
    assert "邻里纠纷" in body  # category
    assert "正在引导司法程序" in body  # current stage in plain words
    for step in ("已受理", "现场调解中", "已移送驻所调解室", "已移送市综治中心", "已引导司法程序"):
        assert step in body
    assert "0795-" in body  # the room's or centre's public phone
    for marker in private:
        assert marker not in body, marker
    assert "<script" not in body.lower()


def test_settled_case_timeline_reads_like_the_article(client, engine, staff):
    _, _, token = new_case(engine, staff, "closed_settled", MARKERS)
    body = client.get(f"/c/{token}").text
    steps = re.findall(r"<li>([^<]+)<span>(\d{4}-\d{2}-\d{2})</span></li>", body)
    assert [s for s, _ in steps] == ["已受理", "现场调解中", "调解成功", "已回访", "已办结"]
    assert "MARKNOTE" not in body and "MARKAGREE" not in body


def test_unknown_revoked_and_malformed_tokens_look_identical(web):
    client, engine, staff = web
    case_id, _, token = new_case(engine, staff, "mediating")
    with session_scope(engine) as s:
        dispute_codes.revoke_and_reissue(s, staff, case_id)
    answers = [client.get(path) for path in (
        f"/c/{token}",  # revoked
        "/c/" + "x" * 32,  # never existed
        "/c/%3Cscript%3E",  # malformed
        "/c/short",
    )]
    assert {r.status_code for r in answers} == {404}
    assert len({r.content for r in answers}) == 1
    assert len({tuple(sorted(_strip_dynamic(r.headers).items())) for r in answers}) == 1
    assert "没有找到该解纷码" in answers[0].text


def test_revoked_then_reissued_link_works(web):
    client, engine, staff = web
    case_id, number, token = new_case(engine, staff, "mediating")
    with session_scope(engine) as s:
        new = dispute_codes.revoke_and_reissue(s, staff, case_id).token
    assert client.get(f"/c/{token}").status_code == 404
    r = client.get(f"/c/{new}")
    assert r.status_code == 200 and number in r.text


def test_security_headers_on_every_answer(web):
    client, engine, staff = web
    _, _, token = new_case(engine, staff, "settled")
    for r in (client.get(f"/c/{token}"), client.get("/c/" + "y" * 30),
              client.post(f"/c/{token}/request", data={"kind": "legal_consultation", "mobile": "bad"})):
        h = r.headers
        assert h["cache-control"] == "no-store"
        assert h["referrer-policy"] == "no-referrer"
        assert "noindex" in h["x-robots-tag"]
        assert h["x-content-type-options"] == "nosniff"
        csp = h["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
        assert "set-cookie" not in h


def test_a_burst_of_bad_tokens_gets_429(web):
    client, engine, staff = web
    _, _, token = new_case(engine, staff, "mediating")
    codes = [client.get(f"/c/bad{i:030d}").status_code for i in range(public.MISS_LIMIT)]
    assert codes == [404] * public.MISS_LIMIT
    assert client.get("/c/" + "z" * 32).status_code == 429
    assert client.get(f"/c/{token}").status_code == 429  # a valid token is no way around it
    with TestClient(Starlette(routes=routes()), client=("198.51.100.9", 1)) as other:
        assert other.get(f"/c/{token}").status_code == 200  # another address is unaffected


def test_limiter_memory_is_bounded():
    w = public.SlidingWindow(limit=3, window=60, max_keys=100)
    for i in range(1000):
        w.add(f"10.0.{i // 256}.{i % 256}")
    assert len(w._hits) == 100


def test_html_is_escaped(web):
    client, engine, staff = web
    case_id, _, token = new_case(engine, staff, "mediating")
    r = client.post(f"/c/{token}/request", data={"kind": "legal_consultation", "mobile": "<b>x</b>",
                                                 "note": "<script>alert(1)</script>"})
    assert r.status_code == 400
    assert "<script>alert" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "&lt;b&gt;x&lt;/b&gt;" in r.text


# ------------------------------------------------------------------------------ the request form

def _count(engine):
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(OnlineRequest))


def test_consultation_request_is_confirmed_with_a_number(client, engine, staff):
    _, _, token = new_case(engine, staff, "mediating")
    r = client.post(f"/c/{token}/request", data={"kind": "legal_consultation", "mobile": "+86 139-0000-1111",
                                                 "note": "想了解宅基地界线的法律规定"})
    assert r.status_code == 200
    number = re.search(r"丰线〔\d{4}〕\d{6}", r.text).group(0)
    assert "139****1111" in r.text and "13900001111" not in r.text
    page = client.get(f"/c/{token}").text
    assert number in page and "线上法律咨询" in page and "等待工作人员受理" in page
    assert "想了解宅基地" not in page  # the citizen's note is for staff only
    with session_scope(engine) as s:
        req = s.scalar(select(OnlineRequest))
        assert (req.mobile, req.status, req.number) == ("13900001111", "requested", number)


def test_bad_mobile_and_long_note_are_refused_beside_the_fields(client, engine, staff):
    _, _, token = new_case(engine, staff, "mediating")
    r = client.post(f"/c/{token}/request", data={"kind": "legal_consultation", "mobile": "12345", "note": "长" * 201})
    assert r.status_code == 400
    assert "请填写正确的 11 位手机号码" in r.text and "不超过 200 字" in r.text
    assert _count(engine) == 0


def test_duplicate_pending_request_is_refused(client, engine, staff):
    _, _, token = new_case(engine, staff, "mediating")
    data = {"kind": "video_mediation", "mobile": "13900001111"}
    assert client.post(f"/c/{token}/request", data=data).status_code == 200
    r = client.post(f"/c/{token}/request", data=data)
    assert r.status_code == 400 and "请勿重复提交" in r.text
    assert _count(engine) == 1


# kind -> states where it is accepted; every other state refuses it with a plain message
ACCEPTED = {
    "judicial_confirmation": {"settled", "closed_settled"},
    "online_hearing": {"court", "litigation"},
    "reminder": {"registered", "mediating", "court"},
    "video_mediation": {"registered", "mediating", "settled", "terminated", "court", "litigation"},
    "legal_consultation": {"registered", "mediating", "settled", "terminated", "court", "litigation"},
}
REFUSAL = {"judicial_confirmation": "调解成功", "online_hearing": "司法程序", "reminder": "无需催办",
           "video_mediation": "已办结", "legal_consultation": "已办结"}


def test_each_kind_is_refused_where_it_makes_no_sense(client, engine, staff):
    made = 0
    for state in ("registered", "mediating", "settled", "closed_settled", "terminated", "closed_terminated",
                  "court", "litigation"):
        _, _, token = new_case(engine, staff, state)
        page = client.get(f"/c/{token}").text
        for kind, states in ACCEPTED.items():
            r = client.post(f"/c/{token}/request", data={"kind": kind, "mobile": "13900001111"})
            if state in states:
                assert r.status_code == 200, (kind, state, r.text)
                assert f'value="{kind}"' in page  # offered on the form
                made += 1
            else:
                assert r.status_code == 400, (kind, state)
                assert REFUSAL[kind] in r.text, (kind, state)
                assert f'value="{kind}"' not in page  # not even offered
            public.posts.clear()  # this test is about the rules, not the post rate limit
    assert _count(engine) == made


def test_post_only_accepts_form_posts_to_valid_tokens(web):
    client, engine, staff = web
    _, _, token = new_case(engine, staff, "mediating")
    assert client.post(f"/c/{token}/request", json={"kind": "reminder", "mobile": "13900001111"}).status_code == 415
    assert client.post("/c/" + "q" * 32 + "/request", data={"kind": "reminder", "mobile": "13900001111"}).status_code == 404
    assert client.post(f"/c/{token}/request", content=b"note=" + b"x" * 5000,
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 413
    assert client.get(f"/c/{token}/request", follow_redirects=False).headers["location"] == f"/c/{token}"
    assert _count(engine) == 0


def test_form_posts_are_rate_limited(web):
    client, engine, staff = web
    _, _, token = new_case(engine, staff, "mediating")
    codes = [client.post(f"/c/{token}/request", data={"kind": "reminder", "mobile": "1"}).status_code
             for _ in range(public.POST_LIMIT + 1)]
    assert codes[:public.POST_LIMIT] == [400] * public.POST_LIMIT and codes[-1] == 429


def test_reader_connections_keep_the_password():
    from sqlalchemy import create_engine
    kwargs = public.Readers.connect_kwargs(create_engine("postgresql+psycopg://mujiu:s3cret@db.example:5432/mujiu"))
    assert kwargs["password"] == "s3cret" and kwargs["dbname"] == "mujiu" and kwargs["autocommit"] is True


# ---- PostgreSQL: the page reads on its own connections (web.public.Readers)

@pytest.fixture(scope="module", params=["postgresql"])
def _pg_page_db(request, _tmp_dir):
    url, cleanup = _migrated_with_org(request.param, _tmp_dir)
    yield url
    public.readers.close_all()
    cleanup()


@pytest.fixture
def pg_web(_pg_page_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", _pg_page_db)
    public.reset_limits()
    with TestClient(Starlette(routes=routes()), client=("203.0.113.9", 50000)) as c:
        yield c, get_engine(_pg_page_db), ensure_user(_pg_page_db, "staff")
    public.reset_limits()
    wipe_transactional(_pg_page_db)


def test_page_select_is_planned_once_per_connection(pg_web):
    """The page's SELECT is a server-side prepared statement on the page's connections. Without it
    PostgreSQL plans the query on every scan (~1.1 ms of CPU each: the throughput target is missed)."""
    client, engine, staff = pg_web
    tokens = [new_case(engine, staff, state)[2] for state in ("registered", "mediating", "settled")]
    for token in tokens * 2:
        assert client.get(f"/c/{token}").status_code == 200
    idle = public.readers._idle[engine]
    assert 1 <= len(idle) <= public.PAGE_THREADS
    with idle[-1].cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        statements = [r[0] for r in cur.fetchall()]
    assert any("FROM dispute_code d" in st for st in statements), statements


def test_page_answers_after_the_database_dropped_its_connections(pg_web):
    """A database restart (or an idle timeout) kills the page's connections: the next scan still works."""
    client, engine, staff = pg_web
    _, number, token = new_case(engine, staff, "mediating")
    assert number in client.get(f"/c/{token}").text
    with engine.connect() as c:
        killed = c.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    assert killed >= 1
    r = client.get(f"/c/{token}")
    assert r.status_code == 200 and number in r.text
    r = client.get(f"/c/{token}")  # and the connection it reopened is kept for the next one
    assert r.status_code == 200 and number in r.text


def test_unreachable_database_gets_a_plain_503_page(monkeypatch):
    """Database down: the citizen gets a short Chinese page with no trace, and the form says the same."""
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    public.reset_limits()
    token = "A" * 32
    with TestClient(Starlette(routes=routes()), client=("203.0.113.10", 50000), raise_server_exceptions=False) as c:
        for r in (c.get(f"/c/{token}"),
                  c.post(f"/c/{token}/request", data={"kind": "reminder", "mobile": "13900001111"})):
            assert r.status_code == 503
            assert "系统暂时无法查询" in r.text and "Traceback" not in r.text and "psycopg" not in r.text
            assert r.headers["cache-control"] == "no-store" and r.headers["retry-after"] == "30"
    public.reset_limits()
