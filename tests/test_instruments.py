"""Risk notices and supervision orders: numbering, states, overdue, documents, permissions."""
import datetime as dt
import io
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import AuditEvent, Counter, Instrument
from services import clock
from services.cases import intake
from services.taskforce import instruments
from services.errors import ConcurrentEdit, DomainError, PermissionDenied, ValidationError
from services.roles import Actor
from tests.factories import case_input


def actor(_session, role: str) -> Actor:
    """An actor without a user row (no password hashing: keeps these tests fast)."""
    return Actor(user_id=None, username=f"t_{role}", role=role, display_name=f"测试{role}")

DAY = dt.date(2026, 12, 1)


@pytest.fixture
def frozen():
    def at(day: dt.date, hour: int = 10):
        clock.freeze(clock.local_dt(day.year, day.month, day.day, hour))
    at(DAY)
    yield at
    clock.freeze(None)


def _case(engine, mode="station", **overrides):
    with session_scope(engine) as s:
        c = intake.register_case(s, actor(s, "staff"), case_input(s, mode, **overrides))
        return c.id, c.number


def _draft(engine, case_ids, kind="risk_notice"):
    with session_scope(engine) as s:
        return instruments.draft_from_case(s, actor(s, "taskforce"), kind, case_ids).id


def _issue(engine, iid):
    with session_scope(engine) as s:
        return instruments.issue(s, actor(s, "taskforce"), iid, None).doc_number


def _plain(engine, kind="risk_notice", **kw):
    data = dict(subject="某小区漏水纠纷", addressee="剑光街道综治中心", measures="限期组织调解", deadline=DAY + dt.timedelta(days=7))
    data.update(kw)
    with session_scope(engine) as s:
        return instruments.create_draft(s, actor(s, "taskforce"), kind, instruments.InstrumentInput(**data)).id


def test_draft_from_case_fills_the_facts_and_links_both_ways(engine, frozen):
    # intake typed the caller's name and numbers into the description: the official draft masks them
    cid, number = _case(engine, description="王小明反映两户因排水沟堵塞发生争执，回电 13800138000，另一号码 13911112222")
    iid = _draft(engine, [cid])
    with session_scope(engine) as s:
        view = instruments.get(s, actor(s, "taskforce"), iid)
        assert view["state"] == "draft" and view["doc_number"] == ""
        assert view["cases"] == [number] and number in view["facts"]
        assert view["addressee"].endswith("综治中心") and view["measures"] and view["deadline"] > DAY
        assert [r["id"] for r in instruments.for_case(s, cid)] == [iid]  # the case page sees it
        assert "王小明" not in view["facts"] and "13800138000" not in view["facts"]  # no party data
        assert "13911112222" not in view["facts"] and "王**反映两户因排水沟堵塞发生争执" in view["facts"]
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "instrument.draft")) == 1
        found = instruments.search_cases(s, number[-6:])  # the picker finds the case by part of its number
        assert found[0][0] == cid and found[0][1].startswith(number)
    with session_scope(engine) as s, pytest.raises(ValidationError, match="请至少选择一件案件"):
        instruments.draft_from_case(s, actor(s, "taskforce"), "risk_notice", [])


def test_numbers_are_per_kind_and_year_and_restart_in_a_new_year(engine, frozen):
    a, b, c = _plain(engine), _plain(engine), _plain(engine, kind="supervision_order")
    assert _issue(engine, a) == "丰综治风提〔2026〕1号"
    assert _issue(engine, c) == "丰综治督〔2026〕1号"  # the other kind's sequence is independent
    assert _issue(engine, b) == "丰综治风提〔2026〕2号"
    frozen(dt.date(2027, 1, 2))
    d = _plain(engine, deadline=dt.date(2027, 1, 9))
    assert _issue(engine, d) == "丰综治风提〔2027〕1号"
    with session_scope(engine) as s:
        counters = {(k, y): v for k, y, v in s.execute(select(Counter.kind, Counter.year, Counter.value))}
        assert counters[("risk_notice", 2026)] == 2 and counters[("risk_notice", 2027)] == 1
        assert counters[("supervision_order", 2026)] == 1


def test_ten_people_issuing_at_once_get_distinct_consecutive_numbers(engine, frozen):
    ids = [_plain(engine) for _ in range(10)]
    results, errors = [], []
    start = threading.Barrier(10)

    def worker(iid):
        try:
            start.wait()
            results.append(_issue(engine, iid))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(results) == sorted(f"丰综治风提〔2026〕{n}号" for n in range(1, 11))
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(Instrument.serial))) == list(range(1, 11))


def test_issue_refuses_missing_fields_and_past_deadline_and_saves_nothing(engine, frozen):
    iid = _plain(engine, addressee="", measures="  ", deadline=None)
    with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
        instruments.issue(s, actor(s, "taskforce"), iid, None)
    assert exc.value.fields == {"addressee": "请填写主送单位。", "measures": "请填写工作要求（需采取的措施）。",
                                "deadline": "请填写反馈期限。"}
    past = _plain(engine, deadline=DAY - dt.timedelta(days=1))
    with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
        instruments.issue(s, actor(s, "taskforce"), past, None)
    assert exc.value.fields == {"deadline": "反馈期限不能早于今天。"}
    with session_scope(engine) as s:
        assert set(s.scalars(select(Instrument.state))) == {"draft"}
        assert s.scalar(select(func.count()).select_from(Counter).where(Counter.kind == "risk_notice")) == 0


def test_state_rules_reply_only_after_issue_close_only_after_reply(engine, frozen):
    iid = _plain(engine)
    with session_scope(engine) as s, pytest.raises(DomainError, match="未发出的文书不能登记回复"):
        instruments.record_reply(s, actor(s, "taskforce"), iid, None, DAY, "已化解")
    _issue(engine, iid)
    with session_scope(engine) as s, pytest.raises(DomainError, match="只有已回复的文书才能办结"):
        instruments.close(s, actor(s, "taskforce"), iid, None)
    with session_scope(engine) as s, pytest.raises(DomainError, match="不能再修改"):
        instruments.update_draft(s, actor(s, "taskforce"), iid, None, instruments.InstrumentInput(subject="x"))
    with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
        instruments.record_reply(s, actor(s, "taskforce"), iid, None, DAY + dt.timedelta(days=1), "",
                                 "a.exe", b"MZ")
    assert set(exc.value.fields) == {"reply_date", "reply_summary", "reply_file"}
    with session_scope(engine) as s, pytest.raises(ValidationError, match="不能超过 10 MB"):
        instruments.record_reply(s, actor(s, "taskforce"), iid, None, DAY, "已化解", "big.pdf",
                                 b"0" * (10 * 1024 * 1024 + 1))
    with session_scope(engine) as s:
        inst = instruments.record_reply(s, actor(s, "taskforce"), iid, None, DAY, "已组织调解，双方达成协议",
                                        "回复.txt", "已化解".encode())
        version = inst.version
    with session_scope(engine) as s:
        assert instruments.reply_file(s, actor(s, "leader"), iid) == ("回复.txt", "已化解".encode())
    with session_scope(engine) as s, pytest.raises(ConcurrentEdit):
        instruments.close(s, actor(s, "taskforce"), iid, version - 1)
    with session_scope(engine) as s:
        assert instruments.close(s, actor(s, "taskforce"), iid, version, "已办结").state == "closed"


def test_overdue_is_computed_from_the_deadline_and_counted_per_unit(engine, frozen):
    a = _plain(engine, addressee="剑光街道综治中心", deadline=DAY + dt.timedelta(days=3))
    b = _plain(engine, addressee="剑光街道综治中心", deadline=DAY + dt.timedelta(days=3))
    c = _plain(engine, addressee="孙渡街道综治中心", deadline=DAY + dt.timedelta(days=10))
    for iid in (a, b, c):
        _issue(engine, iid)
    frozen(DAY + dt.timedelta(days=3))  # the deadline day itself is not overdue
    with session_scope(engine) as s:
        assert instruments.counts(s)["overdue"] == 0
    frozen(DAY + dt.timedelta(days=4))
    with session_scope(engine) as s:
        instruments.record_reply(s, actor(s, "taskforce"), b, None, DAY + dt.timedelta(days=4), "逾期回复")
    with session_scope(engine) as s:
        page = instruments.list_instruments(s, actor(s, "leader"), instruments.Filters(overdue=True))
        assert [r["id"] for r in page["rows"]] == [a] and page["rows"][0]["overdue"]
        units = {r["unit"]: r for r in instruments.overdue_by_unit(s)}
        assert units["剑光街道综治中心"] == {"unit": "剑光街道综治中心", "issued": 2, "overdue": 1, "late_replies": 1}
        assert units["孙渡街道综治中心"]["overdue"] == 0
        assert instruments.overdue_by_unit(s)[0]["unit"] == "剑光街道综治中心"
        assert [r["id"] for r in instruments.overdue_list(s)] == [a]


def test_only_the_task_force_drafts_and_issues(engine, frozen):
    cid, _ = _case(engine)
    iid = _plain(engine)
    for role in ("staff", "leader", "trainer", "mediator"):
        who = actor(None, role)
        for call in (lambda s: instruments.draft_from_case(s, who, "risk_notice", [cid]),
                     lambda s: instruments.issue(s, who, iid, None),
                     lambda s: instruments.update_draft(s, who, iid, None, instruments.InstrumentInput(subject="改")),
                     lambda s: instruments.record_reply(s, who, iid, None, DAY, "x")):
            with session_scope(engine) as s, pytest.raises(PermissionDenied) as exc:
                call(s)
            if role == "leader":
                assert exc.value.message == "领导账号为只读，不能进行此操作。"
        with session_scope(engine) as s:
            inst = s.get(Instrument, iid)
            assert (inst.state, inst.doc_number, inst.subject) == ("draft", None, "某小区漏水纠纷")
            assert s.scalar(select(func.count()).select_from(Instrument)) == 1
            if role == "mediator":
                with pytest.raises(PermissionDenied):
                    instruments.list_instruments(s, who)
            else:  # staff, leaders and trainers read the register
                assert instruments.list_instruments(s, who)["total"] == 1


poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                             reason="poppler-utils not installed")


@poppler
def test_docx_and_pdf_hold_number_addressee_and_case_numbers(engine, frozen, tmp_path):
    (c1, n1), (c2, n2) = _case(engine), _case(engine)
    iid = _draft(engine, [c1, c2])
    number = _issue(engine, iid)
    with session_scope(engine) as s:
        addressee = s.get(Instrument, iid).addressee
        name, docx_bytes = instruments.render(s, actor(s, "leader"), iid, "docx")
        pdf_bytes = instruments.render(s, actor(s, "leader"), iid, "pdf")[1] if engine.dialect.name == "sqlite" else None
    assert name == f"风险提示函_{number}.docx"
    d = Document(io.BytesIO(docx_bytes))
    text = "\n".join(p.text for p in d.paragraphs)
    assert number in text and f"{addressee}：" in text and n1 in text and n2 in text
    assert "请主要负责同志亲自过问" in text  # the instrument's own measures are printed
    if pdf_bytes is None:  # the PDF does not depend on the database: printed once, on SQLite
        return
    pdf = tmp_path / "n.pdf"
    pdf.write_bytes(pdf_bytes)
    layer = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(layer.split())
    assert "风险的提示函" in flat and number in flat and n1 in flat and addressee in flat
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    assert list(tmp_path.glob("p*.png"))


SHIPPED_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "official"


def _number_format(folder, kind: str, doc_number: str) -> None:
    """A copy of the shipped template of `kind` in `folder`, with another document number format."""
    tpl = json.loads((SHIPPED_TEMPLATES / f"{kind}.json").read_text(encoding="utf-8"))
    tpl["doc_number"] = doc_number
    (folder / f"{kind}.json").write_text(json.dumps(tpl, ensure_ascii=False), encoding="utf-8")


def test_the_number_issued_follows_the_template_and_stays_once_issued(engine, frozen, tmp_path, monkeypatch):
    """An admin edits the number format in templates/official/<kind>.json: the next number issued
    has it (the format used to be fixed in code, so the edit did nothing)."""
    monkeypatch.setenv("OFFICIAL_TEMPLATES_DIR", str(tmp_path))
    _number_format(tmp_path, "risk_notice", "丰综治风险〔{year}〕第{serial}号")
    _number_format(tmp_path, "supervision_order", "丰督办〔{year}〕{serial}号")
    notice, order = _plain(engine, risk="有激化风险"), _plain(engine, kind="supervision_order")
    assert _issue(engine, notice) == "丰综治风险〔2026〕第1号"
    assert _issue(engine, order) == "丰督办〔2026〕1号"
    draft = _plain(engine, kind="supervision_order")
    with session_scope(engine) as s:
        assert instruments.document(s, actor(s, "taskforce"), draft).doc_number == "丰督办〔2026〕（待编）号"
    _number_format(tmp_path, "risk_notice", "丰综治风提〔{year}〕{serial}号")
    with session_scope(engine) as s:  # a notice already issued keeps its number on every printout
        assert instruments.document(s, actor(s, "taskforce"), notice).doc_number == "丰综治风险〔2026〕第1号"
    _number_format(tmp_path, "risk_notice", "丰综治风提〔{year}〕号")  # no {serial}: every number the same
    later = _plain(engine)
    with pytest.raises(DomainError, match=r"risk_notice.json.*\{serial\}"), session_scope(engine) as s:
        instruments.issue(s, actor(s, "taskforce"), later, None)
    with session_scope(engine) as s:
        assert s.get(Instrument, later).state == "draft"
        assert s.scalar(select(Counter.value).where(Counter.kind == "risk_notice")) == 1  # rolled back


def test_supervision_order_document_prints_measures_and_draft_marker(engine, frozen):
    cid, number = _case(engine)
    iid = _draft(engine, [cid], kind="supervision_order")
    with session_scope(engine) as s:
        doc = instruments.document(s, actor(s, "taskforce"), iid)
    assert doc.doc_number == "丰综治督〔2026〕（待编）号"
    body = "\n".join(b.text for b in doc.body) + str([b.rows for b in doc.body if b.rows])
    assert number in body and "立即组织驻所" in body
    assert doc.title.startswith("关于督促办理") and doc.addressee


def test_a_user_without_a_display_name_is_recorded_by_role_never_by_login_name():
    from services.roles import TASKFORCE, Actor, person_name
    assert person_name(Actor(user_id=7, username="zhang_san01", role=TASKFORCE)) == "专班"
    assert person_name(Actor(user_id=7, username="zhang_san01", role=TASKFORCE, display_name="张三")) == "张三"


def test_the_register_masks_a_party_named_in_the_subject_for_read_only_roles(engine, frozen):
    """The register (and its Excel export, fed by the same function) showed the subject as typed
    to leaders and trainers, while the notice itself masked it."""
    cid, _ = _case(engine)  # its party is 王小明
    _plain(engine, subject="王小明家排水沟纠纷", case_ids=[cid])
    with session_scope(engine) as s:
        for role in ("leader", "trainer"):
            subject = instruments.list_instruments(s, actor(s, role))["rows"][0]["subject"]
            assert "王小明" not in subject and subject.startswith("王**"), (role, subject)
        assert instruments.list_instruments(s, actor(s, "taskforce"))["rows"][0]["subject"] == "王小明家排水沟纠纷"
