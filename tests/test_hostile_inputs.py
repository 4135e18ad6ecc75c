"""Bad and hostile input (issue 12): a catalogue of nasty strings sent through the services that
store text and through every public route, on SQLite and PostgreSQL.

Each answer is either a clear Chinese error beside the field, or a stored value that reads back
as typed (after the documented clean-up: control and bidi characters removed, trimmed); never a
500 or an English error, never a hang, never a half-saved record.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.engine import session_scope
from db.models import OnlineRequest
from services import inputs, settings
from services.codes import dispute_codes
from services.codes import online_services
from services.errors import ValidationError
from services.redact import contains_personal_number, redact
from tests.test_dispute_codes import make_case, valid_id
from tests.ui import ensure_user
from web import public
from web.routes import routes

CJK = re.compile(r"[\u4e00-\u9fff]")

# name -> (typed, what a reader gets back; None: refused with a Chinese message is also fine)
CATALOGUE: dict[str, tuple[str, str]] = {
    "nul": ("调解\x00记录", "调解记录"),
    "c0 and del": ("甲\x01\x07\x1b乙\x7f丙", "甲乙丙"),
    "bidi override": ("\u202e协议已签\u202c订", "协议已签订"),
    "bidi isolates and marks": ("\u2066甲\u2069\u200e乙\u200f", "甲乙"),
    "zero width and bom": ("\ufeff甲\u200b乙", "甲乙"),
    "crlf": ("第一行\r\n第二行", "第一行\n第二行"),
    "markdown": ("**粗体** [点我](javascript:alert(1)) # 标题", "**粗体** [点我](javascript:alert(1)) # 标题"),
    "html": ("<script>alert(1)</script><b>x</b>", "<script>alert(1)</script><b>x</b>"),
    "sql-like": ("'; DROP TABLE dispute_case; -- \" OR 1=1", "'; DROP TABLE dispute_case; -- \" OR 1=1"),
    "emoji": ("满意👍🏻👨‍👩‍👧", "满意👍🏻👨‍👩‍👧"),
    "unbroken 60": ("https://example.invalid/" + "a" * 60, "https://example.invalid/" + "a" * 60),
    "padded": ("  \t 前后空白 \n ", "前后空白"),
}
LONG = "长" * 10_000
WORD = "W" * 10_000


# ------------------------------------------------------------------------------ the input layer

@pytest.mark.parametrize("name", CATALOGUE)
def test_clean_removes_control_and_bidi_characters_only(name):
    typed, expected = CATALOGUE[name]
    assert inputs.clean(typed) == expected


def test_mixed_width_mobile_is_normalised():
    assert inputs.normalise_mobile("138００１３８０００") == "13800138000"
    assert inputs.normalise_mobile("＋86 138-0013-8000") == "13800138000"
    assert inputs.normalise_mobile("1380013800") is None


def test_id_numbers_need_a_real_past_birth_date():
    good = valid_id("36098119850612123")
    assert inputs.normalise_id_card(good) == good
    assert inputs.normalise_id_card(good.translate(str.maketrans("0123456789", "０１２３４５６７８９"))) == good
    month_13 = valid_id("36098119851332123")
    assert inputs.normalise_id_card(month_13) is None
    future = valid_id("36098120991231123")
    assert inputs.normalise_id_card(future) is None
    with pytest.raises(ValidationError) as err:
        inputs.id_card(month_13)
    assert "出生日期" in err.value.fields["id_card"]


def test_born_today_means_today_in_beijing_not_on_the_server():
    """"Today" is clock.today(): Beijing time, following a frozen clock, whatever the machine's date."""
    from services import clock
    clock.freeze(clock.local_dt(2020, 5, 1, 0, 30))  # still 30 April in UTC
    try:
        assert clock.today() == dt.date(2020, 5, 1)
        born_today, born_tomorrow = valid_id("36098120200501123"), valid_id("36098120200502123")
        assert inputs.normalise_id_card(born_today) == born_today
        assert inputs.normalise_id_card(born_tomorrow) is None  # the server's own date is years later
        with pytest.raises(ValidationError) as err:
            inputs.date_in_range(dt.date(2030, 6, 1), "日期", "day")
        assert err.value.fields["day"] == "日期应在 2000年01月01日 至 2030年05月09日 之间。"
    finally:
        clock.freeze(None)


def test_length_errors_name_the_limit_in_chinese():
    with pytest.raises(ValidationError) as err:
        inputs.text(LONG, "纠纷简要情况", "description", 2000)
    assert err.value.fields == {"description": "纠纷简要情况不能超过 2000 字（现 10000 字），请删减后再保存。"}


# ------------------------------------------------------------------------------ redaction

@pytest.mark.parametrize("text,hidden", [
    ("请联系 139 1234 5678 或 360981-19850612-1236", ["1234 5678", "19850612"]),
    ("电话：１３９１２３４５６７８", ["１２３４５６７８"]),
    ("+86 139-1234-5678", ["1234-5678"]),
    ("0086 13912345678", ["12345678"]),
    ("座机 0795-6201234 或 (0791)88881234", ["6201234", "88881234"]),
    ("138.0013.8000", ["0013.8000"]),
    ("身份证 36098119850612123６", ["19850612"]),
])
def test_phones_and_ids_in_any_form_are_masked(text, hidden):
    out = redact(text)
    assert contains_personal_number(text)
    for h in hidden:
        assert h not in out
    assert "****" in out


def test_ordinary_numbers_stay():
    text = "案件编号 丰综〔2026〕000123 号，赔偿 30000 元，2026-06-12 调解，共 3 人"
    assert redact(text) == text and not contains_personal_number(text)


def test_redaction_of_a_long_digit_run_is_fast():
    started = time.monotonic()
    redact(("1 " * 20_000) + "-".join(["139"] * 5000))
    assert time.monotonic() - started < 20


# ------------------------------------------------------------------------------ online services

@pytest.fixture
def staff(db_url):
    return ensure_user(db_url, "staff")


def _new_case(engine, staff, state="mediating"):
    with session_scope(engine) as s:
        case = make_case(s, staff, state)
        return case.id, dispute_codes.issue_for_case(s, case.id).token


def _count(engine):
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(OnlineRequest))


@pytest.mark.parametrize("outcome", [
    "请联系 139 1234 5678 或 360981-19850612-1236",
    "请致电１３９１２３４５６７８",
    "电话 +86 139-1234-5678",
    "请拨打 0795-6201234 联系承办人",
])
def test_outcome_with_a_phone_or_id_in_any_form_is_refused(engine, staff, outcome):
    _, token = _new_case(engine, staff)
    with session_scope(engine) as s:
        req = online_services.submit_public(s, token, "legal_consultation", "13900001111", "")
        online_services.accept(s, staff, req.id)
        online_services.schedule(s, staff, req.id, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1),
                                 [{"role": "lawyer", "name": "李律师"}])
        rid = req.id
    with session_scope(engine) as s, pytest.raises(ValidationError) as err:
        online_services.complete(s, staff, rid, outcome)
    assert "不能包含手机号码、电话号码或身份证号码" in err.value.fields["outcome"]
    with session_scope(engine) as s:
        assert s.get(OnlineRequest, rid).status == "scheduled"


@pytest.mark.parametrize("name", CATALOGUE)
def test_public_note_reads_back_cleaned(engine, staff, name):
    typed, expected = CATALOGUE[name]
    _, token = _new_case(engine, staff)
    with session_scope(engine) as s:
        rid = online_services.submit_public(s, token, "legal_consultation", "138００１３８０００", typed).id
    with session_scope(engine) as s:
        req = s.get(OnlineRequest, rid)
        assert (req.note, req.mobile) == (expected, "13800138000")


def test_parallel_duplicate_requests_store_one(engine, staff):
    _, token = _new_case(engine, staff)
    outcomes, barrier = [], threading.Barrier(3)

    def post():
        barrier.wait()
        try:
            with session_scope(engine) as s:
                online_services.submit_public(s, token, "video_mediation", "13900001111", "")
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append(exc.fields.get("kind", ""))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("ok") == 1
    assert all("请勿重复提交" in o for o in outcomes if o != "ok")
    assert _count(engine) == 1


# ------------------------------------------------------------------------------ public routes

@pytest.fixture
def client(db_url):
    public.reset_limits()
    public.reset_centre_phone()
    with TestClient(Starlette(routes=routes()), client=("203.0.113.70", 50000)) as c:
        yield c
    public.reset_limits()
    public.reset_centre_phone()


def _chinese_page_with_headers(r, status):
    assert r.status_code == status, (r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("text/html")
    assert CJK.search(r.text) and "Internal Server Error" not in r.text and "Bad Request" not in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"


def test_more_than_ten_form_fields_get_a_chinese_page(client, engine, staff):
    _, token = _new_case(engine, staff)
    body = "&".join(f"f{i}=1" for i in range(12))
    r = client.post(f"/c/{token}/request", content=body,
                    headers={"content-type": "application/x-www-form-urlencoded"})
    _chinese_page_with_headers(r, 400)
    assert _count(engine) == 0


@pytest.mark.parametrize("path", ["/c/x/y", "/c/{token}/foo", "/c/{token}%2Ffoo", "/c/a%2Fb", "/c/{token}/request/x"])
def test_odd_paths_under_c_get_the_chinese_404(client, engine, staff, path):
    _, token = _new_case(engine, staff)
    r = client.get(path.format(token=token))
    _chinese_page_with_headers(r, 404)
    assert "没有找到该解纷码" in r.text


def test_unexpected_error_gets_the_chinese_page_and_no_personal_data_in_the_log(client, engine, staff,
                                                                              monkeypatch, caplog):
    _, token = _new_case(engine, staff)

    def boom(*_a, **_k):
        raise RuntimeError("note=我的电话13900001111")
    monkeypatch.setattr(online_services, "submit_public", boom)
    with caplog.at_level(logging.DEBUG):
        r = client.post(f"/c/{token}/request", data={"kind": "reminder", "mobile": "13900001111",
                                                     "note": "我家住在MARKNOTE"})
    _chinese_page_with_headers(r, 500)
    assert "13900001111" not in caplog.text and "MARKNOTE" not in caplog.text


@pytest.mark.parametrize("name", ["nul", "bidi override", "markdown", "sql-like", "emoji", "c0 and del"])
def test_public_form_with_hostile_notes_saves_them_cleaned(client, engine, staff, name):
    typed, expected = CATALOGUE[name]
    _, token = _new_case(engine, staff)
    r = client.post(f"/c/{token}/request", data={"kind": "legal_consultation", "mobile": "13900001111",
                                                 "note": typed})
    assert r.status_code == 200 and "申请已提交" in r.text
    with session_scope(engine) as s:
        assert s.scalar(select(OnlineRequest.note)) == expected


def test_confirmation_survives_a_reload(client, engine, staff):
    _, token = _new_case(engine, staff)
    r = client.post(f"/c/{token}/request", data={"kind": "legal_consultation", "mobile": "13900001111"},
                    follow_redirects=False)
    assert r.status_code == 303
    again = client.get(r.headers["location"])
    assert again.status_code == 200 and "申请已提交" in again.text and "139****1111" in again.text
    assert client.get(r.headers["location"]).text == again.text
    assert _count(engine) == 1


def test_retry_after_is_the_real_submission_window(client, engine, staff):
    _, token = _new_case(engine, staff)
    for _ in range(public.POST_LIMIT):
        client.post(f"/c/{token}/request", data={"kind": "reminder", "mobile": "1"})
    r = client.post(f"/c/{token}/request", data={"kind": "reminder", "mobile": "1"})
    assert r.status_code == 429
    assert public.POST_WINDOW - 60 < int(r.headers["retry-after"]) <= public.POST_WINDOW


def test_404_page_gives_the_centres_phone(client, engine, staff, db_url, clean_settings):
    admin = ensure_user(db_url, "admin")
    with session_scope(engine) as s:
        settings.set_centre_phone(s, admin, "0795-6201234")
    r = client.get("/c/" + "n" * 32)
    assert r.status_code == 404 and "0795-6201234" in r.text


def test_the_centres_phone_is_a_landline_mobile_12345_or_400_number(engine, db_url, clean_settings):
    admin = ensure_user(db_url, "admin")
    with session_scope(engine) as s:
        stored = [settings.set_centre_phone(s, admin, v) for v in
                  ("0795-6201234", "12345", "400-123-4567", "１３８００１３８０００", "010-12345678")]
    assert stored == ["0795-6201234", "12345", "400-123-4567", "13800138000", "010-12345678"]
    for bad in ("110", "0795-62", "12306x", "23800138000", "36098119850612123X", ""):
        with session_scope(engine) as s, pytest.raises(ValidationError) as err:
            settings.set_centre_phone(s, admin, bad)
        assert err.value.fields == {"centre_phone": "请填写正确的中心对外电话，例如 0795-6201234 或 12345。"}, bad


def test_forwarded_for_is_believed_only_from_configured_proxies(db_url, monkeypatch):
    import uvicorn

    import serve  # noqa: F401 - applies PUBLIC_TRUSTED_PROXIES to uvicorn's proxy handling

    def burst():
        public.reset_limits()
        config = uvicorn.Config(app=Starlette(routes=routes()))
        config.load()
        with TestClient(config.loaded_app, client=("127.0.0.1", 40000)) as c:
            return [c.get("/c/" + "b" * 32, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                    for i in range(40)]

    monkeypatch.delenv("PUBLIC_TRUSTED_PROXIES", raising=False)
    codes = burst()
    assert codes[:public.MISS_LIMIT] == [404] * public.MISS_LIMIT and set(codes[public.MISS_LIMIT:]) == {429}
    monkeypatch.setenv("PUBLIC_TRUSTED_PROXIES", "127.0.0.1")
    assert set(burst()) == {404}  # behind a configured proxy each citizen counts on their own
    public.reset_limits()


# ------------------------------------------------------------------------------ documents

def _every_field(kind: str, word: str) -> dict:
    from services import documents as od
    values = {k: word for k in od.template_fields(kind)}
    values.update(serial=1, date=dt.date(2026, 12, 6), case_count=1, item_count=1, issue_no=1,
                  status_date=word, deadline=word, copy_to=[word, word])
    if kind == "meeting_minutes":
        values["item_rows"] = [["1", word, word, word, word], ["2", word, word, word, word]]
    if kind == "bulletin":
        values["township_rows"] = [[word, 1, word, word]]
        values["practices"] = [{"heading": word, "text": word}]
    return values


@pytest.mark.parametrize("kind", ["meeting_minutes", "risk_notice", "supervision_order", "bulletin"])
@pytest.mark.parametrize("word", ["W" * 10_000, "国" * 10_000, "https://example.invalid/" + "a" * 60],
                         ids=["latin-10k", "cjk-10k", "url-60"])
def test_every_document_kind_finishes_on_unbroken_words(kind, word):
    from services import documents as od
    from concurrent.futures import ThreadPoolExecutor
    doc = od.fill_template(kind, _every_field(kind, word))
    # it used to hang (100 % CPU, gigabytes of memory): a guard against never finishing, not a speed
    # limit (about 8 s on a busy 2-core machine; speed is not what this test is about)
    pool = ThreadPoolExecutor(1)
    try:
        docx, pdf = pool.submit(lambda: (od.render_docx(doc), od.render_pdf(doc))).result(timeout=600)
    finally:
        pool.shutdown(wait=False)
    assert docx.startswith(b"PK") and pdf.startswith(b"%PDF")


def test_a_cut_table_cell_says_so_in_the_pdf(tmp_path):
    import subprocess

    from services import documents as od
    doc = od.fill_template("meeting_minutes", _every_field("meeting_minutes", "国" * 10_000))
    path = tmp_path / "m.pdf"
    path.write_bytes(od.render_pdf(doc))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "未印出" in re.sub(r"\s", "", text)


# ------------------------------------------------------------------------------ spreadsheets

def _formula_cells(raw: bytes) -> list[str]:
    import io

    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(raw))
    return [f"{ws.title}!{c.coordinate}={c.value}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f" or (isinstance(c.value, str) and c.value[:1] in "=+-@")]


def test_roster_import_refuses_formula_names_and_no_export_holds_a_formula(engine):
    from sqlalchemy.orm import Session

    from services.roster import mediators
    from tests.test_roster import actor, xlsx
    with Session(engine) as s:  # never committed: the kept roster stays as it was
        staff = actor(s, "staff")
        raw = xlsx([
            ["", '=HYPERLINK("http://x","y")', "住村母舅", "13900001111", "R-T13-V01", "", "", "", "", "", ""],
            ["", "@SUM(1)", "住村母舅", "13900001113", "R-T13-V01", "", "", "", "", "", ""],
            ["", "赵德明", "住村母舅", "13900001112", "R-T13-V01", "", "", "-2+3", "", "", "+1-2 备注"],
        ])
        result = mediators.import_roster(s, staff, raw)
        assert result.inserted == 1 and len(result.invalid) == 2
        assert all("姓名" in " ".join(r.errors) for r in result.invalid)
        assert "不能以 = + - @ 开头" in " ".join(result.invalid[1].errors)
        assert _formula_cells(mediators.error_report_xlsx(result.invalid)) == []
        exported = mediators.export_xlsx(s, staff, mediators.RosterFilter(active=None))
        assert _formula_cells(exported) == []
        assert mediators.parse_import(s, exported).count("unchanged") >= 1 and not mediators.parse_import(s, exported).invalid
        s.rollback()


def test_statistics_export_neutralises_formula_cells():
    from services.metrics import dashboard
    from services.exports import csv_bytes
    period = type("P", (), {"text": "2026年", "start": dt.date(2026, 1, 1), "end": dt.date(2026, 12, 31)})()
    exp = dashboard.export_xlsx("统计", period, "全市", ["单位", "件数"], [["=1+1", 3], ["-2+3", 4], ["@SUM(1)", 5]])
    assert _formula_cells(exp.data) == []
    assert csv_bytes([["=1+1", 2]]).decode("utf-8-sig").startswith("'=1+1,2")


# ------------------------------------------------------------------------------ demo codes

def test_demo_tokens_cannot_be_computed_from_the_seed():
    import random

    from services.demo import codes as demo_codes
    first, second = demo_codes._token(random.Random(2023)), demo_codes._token(random.Random(2023))
    assert first != second and dispute_codes.TOKEN_RE.match(first) and dispute_codes.TOKEN_RE.match(second)
    rng_a, rng_b = random.Random(7), random.Random(7)
    demo_codes._token(rng_a), demo_codes._token(rng_b)
    assert rng_a.random() == rng_b.random()  # the rest of the demo stays reproducible


# ------------------------------------------------------------------------------ users, logs, create-admin

def test_long_user_name_is_a_field_error_and_no_sql_parameters_reach_the_log(engine, caplog):
    from services import auth
    from services.roles import ADMIN, SYSTEM
    with caplog.at_level(logging.DEBUG), session_scope(engine) as s, pytest.raises(ValidationError) as err:
        auth.create_user(s, SYSTEM, "long_name_user", "名" * 51, ADMIN, "Correct-horse-9-battery")
    assert err.value.fields == {"display_name": "姓名不能超过 50 字（现 51 字），请删减后再保存。"}
    assert engine.hide_parameters  # a failing statement's error text never carries the values (hashes, mobiles)


def _manage(args, env_extra, db_url):
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "ADMIN_PASSWORD"}
    env.update(DATABASE_URL=db_url, APP_MODE="production", **env_extra)
    return subprocess.run([sys.executable, "manage.py", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_create_admin_without_a_password_says_so_in_chinese(db_url):
    r = _manage(["create-admin", "ops_admin"], {}, db_url)
    assert r.returncode == 3
    assert "Traceback" not in r.stderr and "EOFError" not in r.stderr and "启动失败" not in r.stderr
    assert "没有读到密码" in r.stderr and "ADMIN_PASSWORD" in r.stderr


def test_create_admin_takes_the_password_from_the_environment(db_url):
    from db.models import User
    r = _manage(["create-admin", "ops_admin2"], {"ADMIN_PASSWORD": "Correct-horse-9-battery"}, db_url)
    assert r.returncode == 0, r.stderr
    with session_scope() as s:
        assert s.scalar(select(User.role).where(User.username == "ops_admin2")) == "admin"
    again = _manage(["create-admin", "ops_admin2"], {"ADMIN_PASSWORD": "Correct-horse-9-battery"}, db_url)
    assert again.returncode == 4 and "已存在" in again.stderr and "Traceback" not in again.stderr


# ------------------------------------------------------------------------------ organisation file

def _org_problem(mutate) -> str:
    import json

    from services.roster import org
    data = json.loads(org.DEFAULT_ORG_FILE.read_text(encoding="utf-8"))
    mutate(data)
    with pytest.raises(ValidationError) as err:
        org.load_org(None, org.parse_org(json.dumps(data, ensure_ascii=False).encode()))
    return err.value.fields["file"]


def test_broken_org_file_lists_every_problem_in_chinese():
    def break_it(d):
        del d["townships"][0]["code"]
        del d["mediators"][1]["name"]
        d["grids"] = {"not": "a list"}
    text = _org_problem(break_it)
    assert "乡镇（街道）第 1 项缺少：编码" in text and "人员第 2 项" in text and "缺少：名称" in text
    assert "网格应为列表" in text
    assert not re.search(r"[A-Za-z_]{4,}", text)  # no English section or field names


def test_broken_reference_is_named_in_chinese():
    def break_it(d):
        d["villages"][0]["township"] = "T99"
    text = _org_problem(break_it)
    assert "所属乡镇引用了不存在的编码 T99" in text and "villages" not in text and "township" not in text


# ------------------------------------------------------------------------------ Markdown

MARKDOWN_ACTIVE = re.compile(r"(?<!\\)[*_\[\]`<>$~#|]")


def test_plain_leaves_no_markdown_active_character():
    from components.context import plain
    for typed, _ in CATALOGUE.values():
        assert not MARKDOWN_ACTIVE.search(plain(typed))
    assert "[点我]" not in plain("[点我](javascript:alert(1))")


def test_duplicate_110_warning_shows_the_number_as_typed_not_as_markdown(ui_url):
    from tests.test_case_pages import INTAKE, case_count, fill_intake, make_case as make_intake_case, submit_form
    from tests.ui import app_as
    incident = "**JJ**[点我](javascript:alert(1))"
    _, number = make_intake_case(ui_url, incident=incident)
    at = app_as(ui_url, "staff", INTAKE)
    fill_intake(at, ui_url, "13700001111", incident=incident)
    submit_form(at, "in")
    assert case_count(ui_url) == 1
    warning = next(w.value for w in at.warning if number in w.value)
    assert "请勿重复登记" in warning and not MARKDOWN_ACTIVE.search(warning)


# ------------------------------------------------------------------------------ public address (系统设置)

@pytest.fixture
def clean_settings():
    """The setting table is kept between tests (conftest ORG_TABLES): drop what these tests set.
    Request it after db_url/ui_url, so that it is torn down while DATABASE_URL still points there."""
    yield
    import os

    from sqlalchemy import delete

    from db.engine import get_engine
    from db.models import Setting
    url = os.environ.get("DATABASE_URL")
    if url:
        with session_scope(get_engine(url)) as s:
            s.execute(delete(Setting).where(Setting.key.in_([settings.PUBLIC_BASE_URL, settings.CENTRE_PHONE])))
    public.reset_centre_phone()


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "jfm.example.gov.cn", "https://", "https://u:p@x.cn",
                                 "https://x.cn/?a=1", "ftp://x.cn", "https://x .cn"])
def test_public_base_url_is_validated(engine, db_url, bad, clean_settings):
    admin = ensure_user(db_url, "admin")
    with session_scope(engine) as s, pytest.raises(ValidationError) as err:
        settings.set_public_base_url(s, admin, bad)
    assert "对外访问地址" in err.value.fields["public_base_url"] or "https://" in err.value.fields["public_base_url"]


def test_public_base_url_is_saved_audited_and_used_by_the_qr(engine, db_url, monkeypatch, clean_settings):
    from db.models import AuditEvent
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    admin = ensure_user(db_url, "admin")
    with session_scope(engine) as s:
        assert settings.set_public_base_url(s, admin, " https://jfm.example.gov.cn/ ") == "https://jfm.example.gov.cn"
    with session_scope(engine) as s:
        assert dispute_codes.public_url("T" * 32, s) == "https://jfm.example.gov.cn/c/" + "T" * 32
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "setting.change").order_by(AuditEvent.id.desc()))
        assert event.detail["key"] == "public_base_url" and event.detail["new"] == "https://jfm.example.gov.cn"


def test_qr_panel_warns_in_red_while_the_address_is_localhost(ui_url, monkeypatch, clean_settings):
    from tests.test_code_pages import _panel
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    staff = ensure_user(ui_url, "staff")
    with session_scope() as s:
        case_id = make_case(s, staff, "mediating").id
    at = _panel(ui_url, "staff", case_id)
    assert any("本机地址" in e.value for e in at.error)
    admin = ensure_user(ui_url, "admin")
    with session_scope() as s:
        settings.set_public_base_url(s, admin, "https://jfm.example.gov.cn")
    at = _panel(ui_url, "staff", case_id)
    assert not any("本机地址" in e.value for e in at.error)


def test_admin_sets_the_public_address_on_the_settings_page(ui_url, monkeypatch, clean_settings):
    from tests.ui import app_as, by_key
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    at = app_as(ui_url, "admin", "pages/admin_settings.py")
    assert any("本机地址" in e.value for e in at.error)
    by_key(at.text_input, "public_base_url").input("not a url")
    at.button(key="FormSubmitter:public_access_form-保存对外访问设置").click().run()
    assert "对外访问地址应为" in "".join(c.value for c in at.caption)
    by_key(at.text_input, "public_base_url").input("https://jfm.example.gov.cn")
    by_key(at.text_input, "centre_phone").input("0795-6201234")
    at.button(key="FormSubmitter:public_access_form-保存对外访问设置").click().run()
    assert not at.exception
    with session_scope() as s:
        assert settings.get(s, settings.PUBLIC_BASE_URL) == "https://jfm.example.gov.cn"
        assert settings.get(s, settings.CENTRE_PHONE) == "0795-6201234"


# ------------------------------------------------------------------------------ masked roles and free text

PERSONAL = "当事人张斌东（电话17381337463，身份证362202199003214441）"


def _docx_text(raw: bytes) -> str:
    import io

    from docx import Document
    d = Document(io.BytesIO(raw))
    return "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])


def _personal_case(engine):
    from services.cases import intake
    from tests.factories import case_input
    from tests.test_meetings import actor
    with session_scope(engine) as s:
        data = case_input(s, parties=[intake.PartyInput(name="张斌东", role="applicant", mobile="17381337463",
                                                       id_card="362202199003214441")])
        return intake.register_case(s, actor("staff"), data).id


def _hidden(text: str) -> bool:
    return "17381337463" not in text and "362202199003214441" not in text and "张斌东" not in text


@pytest.mark.parametrize("role", ["leader", "trainer"])
def test_minutes_free_text_is_masked_for_leaders_on_the_page_and_in_the_files(engine, role):
    from services.taskforce import meetings
    from tests.test_meetings import DAY, actor
    case_id = _personal_case(engine)
    data = meetings.MeetingInput(kind="coordination", held_on=DAY, place="市综治中心", convened_by="专班 熊建国",
                                 topic="宅基地纠纷协调", attending_units=["剑光街道"], attendees=["熊建国"],
                                 decisions=PERSONAL + "，由街道牵头复测。", case_ids=[case_id])
    items = [meetings.ActionInput("回访" + PERSONAL, "剑光街道综治中心", DAY + dt.timedelta(days=3))]
    with session_scope(engine) as s:
        mid = meetings.create_meeting(s, actor("taskforce"), data, items).id
    with session_scope(engine) as s:
        view = meetings.get(s, actor(role), mid)
        assert _hidden(view["decisions"]) and _hidden(view["items"][0]["task"])
        assert "173****7463" in view["decisions"]
        _, docx = meetings.render(s, actor(role), mid, "docx")
        assert _hidden(_docx_text(docx))
        staff_view = meetings.get(s, actor("taskforce"), mid)
        assert PERSONAL in staff_view["decisions"]  # the task force keeps what it typed


@pytest.mark.parametrize("role", ["leader", "trainer"])
def test_notice_situation_is_masked_for_leaders_on_the_page_and_in_the_docx(engine, role):
    from services.taskforce import instruments
    from tests.test_meetings import DAY, actor
    case_id = _personal_case(engine)
    with session_scope(engine) as s:
        iid = instruments.create_draft(s, actor("taskforce"), "risk_notice", instruments.InstrumentInput(
            subject="宅基地纠纷", addressee="剑光街道综治中心", facts=PERSONAL + "多次争执。", risk="有激化风险",
            measures="限期组织调解", deadline=DAY + dt.timedelta(days=7), case_ids=[case_id])).id
    with session_scope(engine) as s:
        assert _hidden(instruments.get(s, actor(role), iid)["facts"])
        _, docx = instruments.render(s, actor(role), iid, "docx")
        assert _hidden(_docx_text(docx))
        assert PERSONAL in instruments.get(s, actor("taskforce"), iid)["facts"]


# ------------------------------------------------------------------------------ the catalogue through the services

def _write_case_description(engine, text):
    from db.models import Case
    from services.cases import intake
    from tests.factories import case_input
    from tests.test_meetings import actor
    with session_scope(engine) as s:
        cid = intake.register_case(s, actor("staff"), case_input(s, description="邻里纠纷：" + text)).id
    with session_scope(engine) as s:
        return s.get(Case, cid).description, "邻里纠纷："


def _write_meeting(engine, text):
    from db.models import Meeting
    from services.taskforce import meetings
    from tests.test_meetings import DAY, actor
    data = meetings.MeetingInput(kind="coordination", held_on=DAY, place="市综治中心", convened_by="熊建国",
                                 topic="协调" + text, attending_units=["剑光街道"], attendees=["熊建国"],
                                 decisions="议定：" + text, case_ids=[])
    with session_scope(engine) as s:
        mid = meetings.create_meeting(s, actor("taskforce"), data, []).id
    with session_scope(engine) as s:
        m = s.get(Meeting, mid)
        assert m.topic == inputs.clean("协调" + text)
        return m.decisions, "议定："


def _write_notice(engine, text):
    from db.models import Instrument
    from services.taskforce import instruments
    from tests.test_meetings import DAY, actor
    with session_scope(engine) as s:
        iid = instruments.create_draft(s, actor("taskforce"), "risk_notice", instruments.InstrumentInput(
            subject="纠纷", addressee="剑光街道综治中心", facts="基本情况：" + text, risk="风险",
            measures="限期调解", deadline=DAY + dt.timedelta(days=7))).id
    with session_scope(engine) as s:
        return s.get(Instrument, iid).facts, "基本情况："


def _write_outcome(engine, text):
    staff = ensure_user(str(engine.url.render_as_string(hide_password=False)), "staff")
    _, token = _new_case(engine, staff)
    with session_scope(engine) as s:
        rid = online_services.submit_public(s, token, "reminder", "13900001111", "").id
        online_services.accept(s, staff, rid)
    with session_scope(engine) as s:
        online_services.complete(s, staff, rid, "已办结：" + text)
    with session_scope(engine) as s:
        return s.get(OnlineRequest, rid).outcome, "已办结："


WRITERS = {"case description": _write_case_description, "meeting": _write_meeting, "risk notice": _write_notice,
           "online outcome": _write_outcome}
HOSTILE = {**{k: v[0] for k, v in CATALOGUE.items()}, "10k": LONG, "unbroken 10k": WORD,
           "mixed width": "１３８００１３８０００ 与 138００１３８000"}


def _rows(engine):
    from db.models import Case, Instrument, Meeting
    with session_scope(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Case, Meeting, Instrument, OnlineRequest))


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_stored_cleaned_or_refused_in_chinese(engine, staff, writer, hostile):
    text = HOSTILE[hostile]
    before = _rows(engine)
    started = time.monotonic()
    try:
        stored, prefix = WRITERS[writer](engine, text)
    except ValidationError as exc:
        assert exc.fields and all(CJK.search(m) for m in exc.fields.values()), exc.fields
        if writer != "online outcome":  # that one saved its request before the refused answer
            assert _rows(engine) == before  # nothing half-saved
        assert hostile in ("10k", "unbroken 10k", "mixed width") or writer == "online outcome"
    else:
        assert stored == inputs.clean(prefix + text)
    assert time.monotonic() - started < 20


def test_ten_thousand_characters_in_intake_say_the_limit(engine, staff):
    with pytest.raises(ValidationError) as err:
        _write_case_description(engine, LONG)
    assert err.value.fields["description"] == "案情描述不能超过 2000 字（现 10005 字），请删减后再保存。"


def test_user_name_on_the_home_page_is_not_markdown(ui_url):
    from streamlit.testing.v1 import AppTest

    from services import auth
    from services.roles import SYSTEM
    from tests.ui import ROOT
    with session_scope() as s:
        user = auth.create_user(s, SYSTEM, "md_name_user", "[点我](javascript:alert(1))**粗**", "staff",
                                "Correct-horse-9-battery")
        me = auth.actor_for(user)
    at = AppTest.from_file(str(ROOT / "pages/home.py"), default_timeout=60)
    at.session_state["actor"] = me
    at.run()
    greeting = next(m.value for m in at.markdown if "您好" in m.value)
    assert "点我" in greeting and not MARKDOWN_ACTIVE.search(greeting)
