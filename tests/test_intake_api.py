"""The intake API of the 110 and 12345 platforms (web/api.py, services/cases/calls.py,
services/api_keys.py; docs/api.md): what a platform sees over HTTP on both databases, the keys on
系统设置 (AppTest), concurrent repeats in threads and in separate processes, and the demo's keys."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.engine import get_engine, session_scope
from db.models import ApiCall, ApiKey, AuditEvent, Case, CaseEvent, DisputeCode, Township, Village
from services import api_keys, audit, clock, settings
from services.cases import calls, case_queries, intake, workflow
from services.errors import PermissionDenied
from services.roles import ADMIN, STAFF
from tests.factories import actor, case_input
from web import api, openapi
from web.routes import routes

ROOT = Path(__file__).resolve().parent.parent
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def client(db_url):
    api.reset_limits()
    with TestClient(Starlette(routes=routes()), client=("203.0.113.40", 50000)) as c:
        yield c
    api.reset_limits()
    clock.freeze(None)


@pytest.fixture
def tokens(engine):
    """One live key per platform: {source: token}."""
    with session_scope(engine) as s:
        admin = actor(s, ADMIN)
        return {source: api_keys.create_key(s, admin, source, f"测试{source}平台")[1] for source in api_keys.PLATFORMS}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def call(**overrides) -> dict:
    body = {"source": "110", "external_id": "J3609812026112000123",
            "received_at": clock.local(clock.now() - dt.timedelta(minutes=20)).isoformat(timespec="seconds"),
            "caller_name": "王小明", "caller_phone": "13800138000", "village_code": "T01-V01",
            "address": "幸福路 12 号", "service_code": "neighbor", "description": "两户因排水沟堵塞发生争执，来电人请求调解"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def count(engine, model=Case, *where) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def schema(name: str) -> Draft202012Validator:
    doc = openapi.document()
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})


# ---------------------------------------------------------------- a call becomes a case
def test_a_call_is_registered_like_the_form_registers_a_case(engine, client, tokens):
    r = client.post("/api/v1/calls", json=call(), headers=bearer(tokens["110"]))
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert "待调度" in r.content.decode("utf-8")  # UTF-8 Chinese, not \\u escapes
    body = r.json()
    assert r.headers["location"] == "/api/v1/calls/110/J3609812026112000123"
    assert body["case_number"].startswith(f"丰-{clock.local(clock.now()).year}-")
    assert (body["status"], body["portal_status"], body["portal_status_name"]) == ("open", "registered", "待调度")
    assert (body["level"], body["level_name"]) == ("onsite", "现场调解")
    with session_scope(engine) as s:
        case = s.scalar(select(Case))
        village = s.scalar(select(Village).where(Village.code == "T01-V01"))
        assert case.number == body["case_number"]
        assert (case.source, case.police_incident_no, case.hotline_order_no) == ("110", "J3609812026112000123", None)
        assert (case.village_id, case.township_id, case.address) == (village.id, village.township_id, "幸福路 12 号")
        assert [(p.name, p.mobile, p.role) for p in case.parties] == [("王小明", "13800138000", "applicant")]
        # the form's routing, dispute code and case event
        assert case.room_id == intake.route_for(s, case.township_id, case.village_id, case.received_at).room_id
        assert s.scalar(select(DisputeCode.id).where(DisputeCode.case_id == case.id)) is not None
        event = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
        assert (event.action, event.username, event.user_id) == ("register", "api:110", None)
        # the case's page and the audit log name the platform and the key
        staff = actor(s, STAFF)
        view = case_queries.case_view(s, staff, case.id)
        assert view["created_by"] == "110 接警平台"
        assert [(t["who"], t["role"]) for t in view["timeline"]] == [("110 接警平台", "对接平台")]
        rows, _ = audit.page(s, actor(s, ADMIN), audit.AuditFilter(action="case.register"))
        assert [(x["姓名"], x["用户名"], x["角色"], x["对象"]) for x in rows] == \
            [("110 接警平台·测试110平台", "api:110", "对接平台", case.number)]


def test_a_repeat_answers_200_with_the_same_case_and_saves_nothing(engine, client, tokens):
    first = client.post("/api/v1/calls", json=call(), headers=bearer(tokens["110"]))
    again = client.post("/api/v1/calls", json=call(description="再次推送：内容有改动也不新建案件"),
                        headers=bearer(tokens["110"]))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert count(engine) == count(engine, ApiCall) == 1
    assert count(engine, AuditEvent, AuditEvent.action == "case.register") == 1
    with session_scope(engine) as s:
        assert s.scalar(select(Case.description)) == "两户因排水沟堵塞发生争执，来电人请求调解"


def test_the_platform_reads_back_number_status_level_and_last_update(engine, client, tokens):
    posted = client.post("/api/v1/calls", json=call(), headers=bearer(tokens["110"])).json()
    r = client.get("/api/v1/calls/110/J3609812026112000123", headers=bearer(tokens["110"]))
    assert r.status_code == 200 and r.json() == posted
    with session_scope(engine) as s:
        staff = actor(s, STAFF)
        cid = s.scalar(select(Case.id))
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, cid)[:1]]
    clock.freeze(clock.now() + dt.timedelta(minutes=3))
    with session_scope(engine) as s:
        workflow.transition(s, staff, cid, "dispatch", None, people=people)
    r = client.get("/api/v1/calls/110/J3609812026112000123", headers=bearer(tokens["110"])).json()
    assert (r["status"], r["portal_status"], r["portal_status_name"]) == ("open", "mediating", "调解中")
    assert dt.datetime.fromisoformat(r["updated_at"]) > dt.datetime.fromisoformat(posted["updated_at"])
    with session_scope(engine) as s:
        workflow.transition(s, staff, cid, "settle", None, agreement_summary="双方达成一致，疏通排水沟")
    r = client.get("/api/v1/calls/110/J3609812026112000123", headers=bearer(tokens["110"])).json()
    assert (r["status"], r["portal_status_name"], r["case_number"]) == ("closed", "调解成功", posted["case_number"])


def test_a_platform_sees_only_its_own_calls(engine, client, tokens):
    client.post("/api/v1/calls", json=call(), headers=bearer(tokens["110"]))
    other = bearer(tokens["12345"])
    for path in ("/api/v1/calls/110/J3609812026112000123", "/api/v1/calls/12345/J3609812026112000123"):
        r = client.get(path, headers=other)
        assert r.status_code == 404 and r.json() == {"error": "未找到该警情：编号不存在，或不属于本平台。"}
    # nor may it post in the other platform's name
    r = client.post("/api/v1/calls", json=call(external_id="J-OTHER-1"), headers=other)
    assert r.status_code == 403
    assert r.json()["error"] == "该接口密钥属于12345 热线平台，只能提交来源为 12345 的警情。"
    assert count(engine) == 1
    # its own source works, and the 工单号 is the case's
    r = client.post("/api/v1/calls", json=call(source="12345", external_id="GD202611200001"), headers=other)
    assert r.status_code == 201
    with session_scope(engine) as s:
        assert s.scalar(select(Case.hotline_order_no).where(Case.number == r.json()["case_number"])) == "GD202611200001"


# ---------------------------------------------------------------- keys
def test_missing_wrong_and_malformed_keys_are_refused_with_401(engine, client, tokens):
    cases = [({}, "缺少接口密钥"), ({"Authorization": f"Basic {tokens['110']}"}, "缺少接口密钥"),
             (bearer(api_keys.new_token("110")), "接口密钥无效或已作废"),  # well formed, never issued
             (bearer("mj_110_short"), "接口密钥无效或已作废"),
             (bearer(tokens["110"][:-1] + ("A" if tokens["110"][-1] != "A" else "B")), "接口密钥无效或已作废")]
    for headers, message in cases:
        for r in (client.post("/api/v1/calls", json=call(), headers=headers),
                  client.get("/api/v1/services", headers=headers)):
            assert r.status_code == 401, headers
            assert message in r.json()["error"]
            assert r.headers["www-authenticate"].startswith("Bearer")
    assert count(engine) == 0


def test_a_revoked_key_stops_working_at_once(engine, client, tokens):
    assert client.get("/api/v1/services", headers=bearer(tokens["110"])).status_code == 200
    with session_scope(engine) as s:
        key = s.scalar(select(ApiKey).where(ApiKey.source == "110"))
        api_keys.revoke_key(s, actor(s, ADMIN), key.id)
    r = client.post("/api/v1/calls", json=call(), headers=bearer(tokens["110"]))
    assert r.status_code == 401 and r.json()["error"] == "接口密钥无效或已作废，请联系综治中心管理员。"
    assert count(engine) == 0
    assert client.get("/api/v1/services", headers=bearer(tokens["12345"])).status_code == 200  # the other key lives
    with session_scope(engine) as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("api.key%"))
                                 .order_by(AuditEvent.id)))
    assert actions == ["api.key_create", "api.key_create", "api.key_revoke"]


def test_keys_are_stored_hashed_and_only_admins_manage_them(engine):
    with session_scope(engine) as s:
        key, token = api_keys.create_key(s, actor(s, ADMIN), "110", "市局指挥中心")
        assert re.fullmatch(r"mj_110_[A-Za-z0-9_-]{43}", token)
        assert token not in (key.token_hash, key.prefix) and key.prefix == token[:13]
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "api.key_create"))
        assert token not in json.dumps(event.detail, ensure_ascii=False) and event.object_label == "110 接警平台·市局指挥中心"
    for role in (STAFF, "leader", "taskforce"):
        with pytest.raises(PermissionDenied), session_scope(engine) as s:
            api_keys.create_key(s, actor(s, role), "110", "越权创建")
        with pytest.raises(PermissionDenied), session_scope(engine) as s:
            api_keys.revoke_key(s, actor(s, role), key.id)
    assert count(engine, ApiKey) == 1 and count(engine, ApiKey, ApiKey.revoked_at.isnot(None)) == 0


def test_a_demo_key_is_refused_in_production_mode(engine, client, monkeypatch):
    token = "mj_110_demo-110-key-only-valid-in-demo-mode"
    with session_scope(engine) as s:
        api_keys.add_demo_key(s, actor(s, ADMIN), "110", "演示", token)
    assert client.get("/api/v1/services", headers=bearer(token)).status_code == 200
    monkeypatch.setenv("APP_MODE", "production")
    assert client.get("/api/v1/services", headers=bearer(token)).status_code == 401


def test_repeated_bad_keys_from_one_address_are_slowed_down(client, tokens):
    for _ in range(api.MISS_LIMIT):
        assert client.get("/api/v1/services", headers=bearer(api_keys.new_token("110"))).status_code == 401
    r = client.get("/api/v1/services", headers=bearer(tokens["110"]))  # even a good key, from that address
    assert r.status_code == 429 and r.json()["error"] == "密钥错误次数过多，请稍后再试。"
    assert 1 <= int(r.headers["retry-after"]) <= 60


# ---------------------------------------------------------------- bad input
FUTURE = "2999-01-01T08:00:00+08:00"
BAD_FIELDS = [
    ("source", {"source": "119"}, "来源平台应为 \"110\" 或 \"12345\"。"),
    ("external_id", {"external_id": None}, "请填写平台编号（110 接警单号或 12345 工单号）。"),
    ("external_id", {"external_id": "J/../1"}, "平台编号只能由字母、数字、点、横线和下划线组成"),
    ("received_at", {"received_at": "昨天上午"}, "接报时间格式不正确，应为 ISO 8601"),
    ("received_at", {"received_at": FUTURE}, "接报时间不能晚于当前时间。"),  # the form's own words
    ("received_at", {"received_at": "1999-12-31T23:00:00+08:00"}, "接报时间不能早于 2000-01-01。"),
    ("caller_name", {"caller_name": ""}, "请填写来电人姓名。"),
    ("caller_name", {"caller_name": "王" * 51}, "姓名不能超过 50 字（现 51 字）"),
    ("caller_phone", {"caller_phone": "0795-6201234"}, "手机号码应为 11 位，以 13–19 开头（可带 +86）。"),
    ("caller_phone", {"caller_phone": 13800138000}, "来电人手机号码应为字符串。"),
    ("village_code", {"village_code": "T99-V99"}, "村（社区）代码不存在"),
    ("village_code", {"township_code": "T02"}, "该村（社区）不属于所填乡镇（街道）。"),
    ("township_code", {"township_code": "T99"}, "乡镇（街道）代码不存在"),
    ("village_code", {"village_code": None, "address": None}, "请提供发生地"),
    ("address", {"village_code": None, "address": "某某路 3 号"}, "未能从地址中识别乡镇（街道）"),
    ("address", {"village_code": None, "address": "剑光街道某某路 3 号"}, "未能从地址中识别剑光街道的村（社区）"),
    ("address", {"address": "路" * 201}, "发生地址不能超过 200 字"),
    ("service_code", {"service_code": "ufo"}, "纠纷类别代码不存在或已停用"),
    ("service_code", {"service_code": None}, "请填写纠纷类别代码"),
    ("description", {"description": "吵架"}, "请填写简要案情（至少 5 个字）。"),
    ("description", {"description": "争" * 2001}, "案情描述不能超过 2000 字"),
    ("colour", {"colour": "red"}, "不支持的字段"),
]


@pytest.mark.parametrize("field,change,message", BAD_FIELDS, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD_FIELDS)])
def test_each_bad_field_gets_its_chinese_message_and_nothing_is_saved(engine, client, tokens, field, change, message):
    r = client.post("/api/v1/calls", json=call(**change), headers=bearer(tokens["110"]))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "提交的字段有误，请按 fields 中的说明修改后重新提交。"
    assert list(body["fields"]) == [field], body
    assert message in body["fields"][field] and HAN.search(body["fields"][field])
    assert schema("Error").is_valid(body)
    assert count(engine) == count(engine, ApiCall) == 0


def test_several_bad_fields_are_answered_together(client, tokens):
    r = client.post("/api/v1/calls", json=call(caller_phone="123", service_code="ufo", description="短"),
                    headers=bearer(tokens["110"]))
    assert r.status_code == 422 and set(r.json()["fields"]) == {"caller_phone", "service_code", "description"}


def test_a_free_address_naming_township_and_village_finds_the_place(engine, client, tokens):
    r = client.post("/api/v1/calls", json=call(village_code=None, address="剑光街道柳源社区幸福路 12 号"),
                    headers=bearer(tokens["110"]))
    assert r.status_code == 201
    with session_scope(engine) as s:
        case = s.scalar(select(Case))
        assert s.get(Village, case.village_id).code == "T01-V01"
        assert s.get(Township, case.township_id).code == "T01"
        assert case.address == "剑光街道柳源社区幸福路 12 号"


def test_a_time_without_offset_is_beijing_time(engine, client, tokens):
    local = clock.local(clock.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    r = client.post("/api/v1/calls", json=call(received_at=local.replace(tzinfo=None).isoformat()),
                    headers=bearer(tokens["110"]))
    assert r.status_code == 201 and r.json()["received_at"] == local.isoformat()
    with session_scope(engine) as s:
        assert s.scalar(select(Case.received_at)) == local
    r = client.post("/api/v1/calls", json=call(external_id="J-UTC-1", received_at=local.astimezone(dt.timezone.utc)
                                               .strftime("%Y-%m-%dT%H:%M:%SZ")), headers=bearer(tokens["110"]))
    assert r.status_code == 201 and r.json()["received_at"] == local.isoformat()


def test_malformed_json_and_not_an_object_answer_400(engine, client, tokens):
    headers = {**bearer(tokens["110"]), "Content-Type": "application/json"}
    for raw, message in ((b'{"source": "110",', "请求体不是合法的 UTF-8 JSON。"),
                         ("{\"source\": \"110\"}".encode("gbk") + b"\xff", "请求体不是合法的 UTF-8 JSON。"),
                         (b"[" * 50_000, "请求体不是合法的 UTF-8 JSON。"),  # too deep to parse: still a 400
                         (b'["110"]', "请求体应为一个 JSON 对象。"), (b"", "请求体不是合法的 UTF-8 JSON。")):
        r = client.post("/api/v1/calls", content=raw, headers=headers)
        assert r.status_code == 400 and r.json() == {"error": message}, raw[:20]
    assert count(engine) == 0


def test_a_body_that_is_not_json_answers_415(engine, client, tokens):
    body = json.dumps(call(), ensure_ascii=False).encode("utf-8")
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/json; charset=gbk", ""):
        r = client.post("/api/v1/calls", content=body, headers={**bearer(tokens["110"]), "Content-Type": ctype})
        assert r.status_code == 415, ctype
        assert r.json()["error"] == "请求体须为 JSON，请设置 Content-Type: application/json（UTF-8）。"
    ok = client.post("/api/v1/calls", content=body,
                     headers={**bearer(tokens["110"]), "Content-Type": "application/json; charset=UTF-8"})
    assert ok.status_code == 201
    again = client.post("/api/v1/calls", content=body,
                        headers={**bearer(tokens["110"]), "Content-Type": "Application/JSON;charset=\"utf-8\";v=1"})
    assert again.status_code == 200


def test_a_body_over_64_kb_answers_413_and_is_not_read_further(engine, client, tokens):
    big = json.dumps(call(description="争" * 30_000), ensure_ascii=False).encode("utf-8")  # ~90 KB
    assert len(big) > api.MAX_BODY
    r = client.post("/api/v1/calls", content=big, headers={**bearer(tokens["110"]), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json() == {"error": "请求体超过 64 KB，未处理。"}

    def chunks():  # no Content-Length: the limit holds while reading
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]
    r = client.post("/api/v1/calls", content=chunks(), headers={**bearer(tokens["110"]), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert count(engine) == 0


# ---------------------------------------------------------------- the rate limit
def test_the_rate_limit_answers_429_with_retry_after_and_a_chinese_message(keep_settings, engine, client, tokens):
    with session_scope(engine) as s:
        settings.put(s, api_keys.RATE_KEY, 3, actor(s, ADMIN))
    clock.freeze(clock.local_dt(2026, 11, 20, 10, 15, 40))
    h = bearer(tokens["110"])
    assert [client.get("/api/v1/services", headers=h).status_code for _ in range(3)] == [200] * 3
    r = client.post("/api/v1/calls", json=call(received_at="2026-11-20T10:00:00+08:00"), headers=h)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "20"  # the minute ends at 10:16:00
    assert r.json() == {"error": "调用过于频繁：每个接口密钥每分钟最多调用 3 次，请 20 秒后再试。"}
    assert count(engine) == 0
    assert client.get("/api/v1/services", headers=bearer(tokens["12345"])).status_code == 200  # per key
    clock.freeze(clock.local_dt(2026, 11, 20, 10, 16, 1))  # the next minute
    r = client.post("/api/v1/calls", json=call(received_at="2026-11-20T10:00:00+08:00"), headers=h)
    assert r.status_code == 201
    with session_scope(engine) as s:
        assert s.scalar(select(ApiKey.last_used_at).where(ApiKey.source == "110")) == clock.now()


def test_the_rate_limit_is_a_setting_with_its_range(keep_settings, engine):
    from services import admin_config
    from services.errors import ValidationError
    with session_scope(engine) as s:
        assert api_keys.rate_limit(s) == settings.SPECS[api_keys.RATE_KEY].default == 60
        admin_config.update_number(s, actor(s, ADMIN), api_keys.RATE_KEY, 120)
    with pytest.raises(ValidationError) as refused, session_scope(engine) as s:
        admin_config.update_number(s, actor(s, ADMIN), api_keys.RATE_KEY, 0)
    assert refused.value.fields == {"api_rate_limit": "接口调用频率上限应为 1–1000 的整数（次/分钟）。"}
    with session_scope(engine) as s:
        assert api_keys.rate_limit(s) == 120


# ---------------------------------------------------------------- one case, however many posts at once
def test_concurrent_repeats_in_threads_make_exactly_one_case(engine, client, tokens):
    n, barrier, answers = 8, threading.Barrier(8), []

    def post():
        own = TestClient(Starlette(routes=routes()), client=("203.0.113.41", 50000))
        barrier.wait(timeout=30)
        r = own.post("/api/v1/calls", json=call(), headers=bearer(tokens["110"]))
        answers.append((r.status_code, r.json().get("case_number")))

    threads = [threading.Thread(target=post) for _ in range(n)]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    assert sorted(code for code, _ in answers) == [200] * (n - 1) + [201]
    assert len({number for _, number in answers}) == 1
    assert count(engine) == count(engine, ApiCall) == 1


REPLICA = r'''
import datetime, json, os, time
from pathlib import Path
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web.routes import routes
from services import clock
if os.environ.get("FREEZE"):  # the replicas' clocks agree on the minute (as NTP-synced servers do)
    clock.freeze(datetime.datetime.fromisoformat(os.environ["FREEZE"]))
ready, n = Path(os.environ["READY_DIR"]), int(os.environ["REPLICAS"])
client = TestClient(Starlette(routes=routes()))
headers = {"Authorization": "Bearer " + os.environ["TOKEN"]}
body = json.loads(os.environ["BODY"]) if os.environ.get("BODY") else None
(ready / os.environ["ME"]).touch()
deadline = time.time() + 90
while len(list(ready.iterdir())) < n and time.time() < deadline:  # all replicas start together
    time.sleep(0.002)
out = []
for _ in range(int(os.environ.get("REPEAT", "1"))):
    r = client.post("/api/v1/calls", json=body, headers=headers) if body else client.get("/api/v1/services", headers=headers)
    out.append([r.status_code, r.json() if r.status_code != 200 or body else None])
print(json.dumps(out, ensure_ascii=False))
'''


def replicas(tmp_path, n: int, token: str, body: dict | None = None, repeat: int = 1, freeze: str = "") -> list[list]:
    """n separate Python processes (as n replicas of the portal behind a proxy), each with its own
    engine and pool, sending at the same moment. Returns each process's [status, body] list."""
    ready = tmp_path / "ready"
    ready.mkdir()
    env = {**os.environ, "READY_DIR": str(ready), "REPLICAS": str(n), "TOKEN": token, "REPEAT": str(repeat),
           "BODY": json.dumps(body) if body else "", "PYTHONPATH": str(ROOT), "FREEZE": freeze}
    procs = [subprocess.Popen([sys.executable, "-c", REPLICA], env={**env, "ME": str(i)}, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return outs


def test_concurrent_repeats_in_separate_processes_make_exactly_one_case(engine, tokens, tmp_path):
    outs = replicas(tmp_path, 4, tokens["110"], call())
    answers = [a for out in outs for a in out]
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201]
    assert len({body["case_number"] for _, body in answers}) == 1
    assert count(engine) == count(engine, ApiCall) == 1


def test_the_rate_limit_holds_across_processes(keep_settings, engine, tokens, tmp_path):
    with session_scope(engine) as s:
        settings.put(s, api_keys.RATE_KEY, 5, actor(s, ADMIN))
    outs = replicas(tmp_path, 2, tokens["110"], repeat=4, freeze="2026-11-20T10:15:30+08:00")
    codes = [code for out in outs for code, _ in out]
    assert sorted(codes) == [200] * 5 + [429] * 3
    refused = [body for out in outs for code, body in out if code == 429]
    assert all("每分钟最多调用 5 次" in b["error"] for b in refused)


# ---------------------------------------------------------------- the form and the API meet
def test_a_call_the_form_registered_first_is_linked_not_duplicated(engine, client, tokens):
    with session_scope(engine) as s:
        typed = intake.register_case(s, actor(s, STAFF), case_input(s, source="110", police_incident_no="J-FORM-1"))
        number = typed.number
    r = client.post("/api/v1/calls", json=call(external_id="J-FORM-1"), headers=bearer(tokens["110"]))
    assert r.status_code == 200 and r.json()["case_number"] == number
    assert client.get("/api/v1/calls/110/J-FORM-1", headers=bearer(tokens["110"])).json()["case_number"] == number
    assert count(engine) == 1
    with session_scope(engine) as s:
        link = s.scalar(select(AuditEvent).where(AuditEvent.action == "api.link"))
        assert (link.object_label, audit.action_label(link.action)) == (number, "平台警情关联已有案件")
        assert s.scalar(select(ApiCall.new_case)) is False


def test_the_form_refuses_a_number_the_api_registered(engine, client, tokens):
    number = client.post("/api/v1/calls", json=call(external_id="J-API-1"), headers=bearer(tokens["110"])).json()["case_number"]
    with pytest.raises(intake.DuplicateCase) as dup, session_scope(engine) as s:
        intake.register_case(s, actor(s, STAFF), case_input(s, source="110", police_incident_no="J-API-1"))
    assert number in dup.value.message and "请勿重复登记" in dup.value.message


# ---------------------------------------------------------------- the document, the routes, the errors
def test_requests_and_answers_match_the_openapi_document(engine, client, tokens):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"] == "3.1.0" and set(doc["paths"]) == {
        "/api/v1/services", "/api/v1/calls", "/api/v1/calls/{source}/{external_id}", "/api/v1/openapi.json"}
    request = schema("CallRequest")
    assert request.is_valid(openapi.EXAMPLE_CALL) and request.is_valid(call())
    assert request.is_valid(call(village_code=None, address="剑光街道柳源社区幸福路 12 号"))
    assert not request.is_valid(call(village_code=None, address=None))  # a place is required
    assert not request.is_valid(call(colour="red")) and not request.is_valid(call(caller_phone=138))
    assert schema("Call").is_valid(openapi.EXAMPLE_ANSWER)
    h = bearer(tokens["110"])
    services = client.get("/api/v1/services", headers=h).json()
    assert Draft202012Validator({"type": "array", "items": {"$ref": "#/components/schemas/Service"},
                                 "components": doc["components"]}).is_valid(services)
    assert {"service_code": "neighbor", "service_name": "邻里纠纷", "metadata": False, "type": "realtime",
            "group": "非警务警情"} in services
    answers = [client.post("/api/v1/calls", json=call(), headers=h), client.post("/api/v1/calls", json=call(), headers=h),
               client.get("/api/v1/calls/110/J3609812026112000123", headers=h)]
    for a in answers:
        schema("Call").validate(a.json())
    refusals = [(client.post("/api/v1/calls", json=call(external_id="J-2", caller_phone="1"), headers=h),
                 "/api/v1/calls", "post"),
                (client.post("/api/v1/calls", content=b"{", headers={**h, "Content-Type": "application/json"}),
                 "/api/v1/calls", "post"),
                (client.get("/api/v1/calls/110/nope", headers=h), "/api/v1/calls/{source}/{external_id}", "get"),
                (client.get("/api/v1/services"), "/api/v1/services", "get")]
    for answer, path, method in refusals:
        schema("Error").validate(answer.json())
        assert str(answer.status_code) in doc["paths"][path][method]["responses"]  # the document lists it


def test_api_paths_pass_the_portal_middleware_as_json(engine, tokens):
    """Through serve.py's middleware: no login redirect for /api/, the security headers, and no
    Streamlit page for an unknown API path."""
    from services.sessions import COOKIE
    from web.auth import is_alive
    from web.middleware import PortalMiddleware
    app = PortalMiddleware(Starlette(routes=routes()), {"", "/cases"}, is_alive, COOKIE)
    with TestClient(app, follow_redirects=False) as c:
        r = c.get("/api/v1/services")
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/json")
        assert (r.headers["x-frame-options"], r.headers["x-content-type-options"]) == ("DENY", "nosniff")
        assert r.headers["cache-control"] == "no-store"
        assert c.get("/api/v1/services", headers=bearer(tokens["110"])).status_code == 200
        r = c.get("/api/v2/calls")
        assert r.status_code == 404 and r.json()["error"].startswith("接口地址不存在")
        r = c.get("/api/v1/calls")
        assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json() == {"error": "该接口不支持此请求方法。"}
        assert c.get("/cases").status_code == 303  # a page load still goes to the login form


def test_an_unexpected_error_answers_one_sentence_and_logs_only_its_type(client, tokens, monkeypatch, caplog):
    def boom(*_args, **_kwargs):
        raise RuntimeError("王小明 13800138000 secret")
    monkeypatch.setattr(calls, "accept", boom)
    with caplog.at_level(logging.ERROR, logger="mujiu.api"):
        r = client.post("/api/v1/calls", json=call(), headers=bearer(tokens["110"]))
    assert r.status_code == 500
    assert r.json() == {"error": "系统处理该请求时出错，请稍后重试；如持续出现，请联系综治中心。"}
    assert "RuntimeError" in caplog.text and "13800138000" not in caplog.text and "王小明" not in caplog.text
    assert tokens["110"] not in caplog.text


# ---------------------------------------------------------------- 系统设置 → 对接平台 (AppTest)
def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _keys_table(at):
    return next(d.value for d in at.dataframe if "密钥前缀" in d.value.columns)


def test_admin_creates_a_key_sees_it_once_and_revokes_it(ui_url, keep_ui_settings):
    from tests.test_admin_config import _open_settings
    from tests.ui import by_key, texts
    at = _open_settings(ui_url)
    assert not at.exception, at.exception
    assert "尚未创建接口密钥。" in texts(at)
    by_key(at.selectbox, "api_key_source_g0").set_value("12345")
    by_key(at.text_input, "api_key_name_g0").input("市 12345 热线中心")
    _button(at, "生成密钥").click().run()
    assert not at.exception, at.exception
    shown = [c.value for c in at.code]
    assert len(shown) == 1 and shown[0].startswith("mj_12345_")
    token = shown[0]
    assert "离开或刷新本页后将无法再次查看" in texts(at)
    table = _keys_table(at)
    assert table["名称"].tolist() == ["市 12345 热线中心"] and table["状态"].tolist() == ["有效"]
    assert table["密钥前缀"].tolist() == [token[:15] + "…"] and token not in texts(at)  # only in the code box
    with session_scope(get_engine(ui_url)) as s:
        made = api_keys.authenticate(s, token)
        assert made.source == "12345"
    assert by_key(at.text_input, "api_key_name_g1").value == ""  # the form starts empty: no second key by mistake
    at.run()  # any later run: the token is gone for good
    assert not at.code

    by_key(at.selectbox, "api_key_pick").set_value(made.id)
    _button(at, "作废所选密钥").click().run()  # not confirmed: refused, nothing revoked
    assert "请选择密钥并勾选确认后再作废。" in [e.value for e in at.error]
    with session_scope(get_engine(ui_url)) as s:
        assert api_keys.authenticate(s, token) is not None
    by_key(at.checkbox, "api_key_sure").check()
    _button(at, "作废所选密钥").click().run()
    assert not at.exception, at.exception
    assert "密钥已作废，使用它的调用将被拒绝。" in texts(at)
    assert _keys_table(at)["状态"].tolist() == ["已作废"]
    with session_scope(get_engine(ui_url)) as s:
        assert api_keys.authenticate(s, token) is None


def test_admin_sets_the_rate_limit_on_the_page(ui_url, keep_ui_settings):
    from tests.test_admin_config import _open_settings
    from tests.ui import by_key, texts
    at = _open_settings(ui_url)
    field = by_key(at.number_input, "api_rate_limit")
    assert field.label == "接口调用频率上限（次/分钟，1–1000）" and field.value == 60
    field.set_value(0)
    _button(at, "保存接口调用频率上限").click().run()
    assert any("接口调用频率上限应为 1–1000 的整数（次/分钟）。" in c.value for c in at.caption)
    by_key(at.number_input, "api_rate_limit").set_value(30)
    _button(at, "保存接口调用频率上限").click().run()
    assert "接口调用频率上限已保存。" in texts(at)
    with session_scope(get_engine(ui_url)) as s:
        assert api_keys.rate_limit(s) == 30


def test_a_staff_member_cannot_open_the_key_page(ui_url):
    from streamlit.testing.v1 import AppTest

    from tests.ui import ensure_user
    at = AppTest.from_file(str(ROOT / "pages/admin_settings.py"), default_timeout=60)
    at.session_state["actor"] = ensure_user(ui_url, STAFF)
    at.run()
    assert [e.value for e in at.error] == ["您的角色无权访问该页面。"]
    assert not at.code and not at.button and not at.dataframe


# ---------------------------------------------------------------- the demo
def test_the_demo_has_a_key_per_platform_and_calls_that_came_through_the_api(demo_url, monkeypatch):
    from services.demo import api as demo_api
    monkeypatch.setenv("DATABASE_URL", demo_url)
    api.reset_limits()
    c = TestClient(Starlette(routes=routes()), client=("203.0.113.42", 50000))
    token = demo_api.DEMO_KEYS["110"][0]
    assert count(get_engine(demo_url), ApiCall) == count(get_engine(demo_url), Case, Case.created_by_id.is_(None),
                                                         Case.source.in_(("110", "12345")),
                                                         Case.id.in_(select(ApiCall.case_id))) == len(demo_api.CALLS)
    with session_scope(get_engine(demo_url)) as s:
        first = s.scalar(select(ApiCall).where(ApiCall.source == "110").order_by(ApiCall.id))
        keys = api_keys.list_keys(s, actor(s, ADMIN, "admin"))
        assert {(k["platform"], k["is_demo"], k["active"]) for k in keys} == {("110 接警平台", True, True),
                                                                             ("12345 热线平台", True, True)}
        assert all(k["last_used_at"] is not None for k in keys)
        registered_by = case_queries.case_view(s, actor(s, STAFF, "staff"), first.case_id)["created_by"]
    assert registered_by == "110 接警平台"
    r = c.get(f"/api/v1/calls/110/{first.external_id}", headers=bearer(token))
    assert r.status_code == 200 and r.json()["portal_status_name"] == "待调度"
    assert c.get(f"/api/v1/calls/110/{first.external_id}", headers=bearer(demo_api.DEMO_KEYS["12345"][0])).status_code == 404
    monkeypatch.setenv("APP_MODE", "production")
    assert c.get("/api/v1/services", headers=bearer(token)).status_code == 401
