"""Case papers through the service (services/cases/dossier.py), on SQLite and PostgreSQL: who may
download them, the audit event of every download, the loader's data from today's tables, and the
month's ZIP of dossiers."""
from __future__ import annotations

import io
import zipfile

import pytest
from docx import Document
from sqlalchemy import select

from db.engine import session_scope
from db.models import AuditEvent, Case, Party
from services import audit, clock
from services.cases import dossier, intake, workflow
from services.documents import FontMissing
from services.errors import DomainError, PermissionDenied
from tests.factories import actor, case_input


def _do(engine, role, cid, action, **payload):
    with session_scope(engine) as s:
        workflow.transition(s, actor(s, role), cid, action, s.get(Case, cid).version, **payload)


def _case(engine, upto: str, description: str = "两户因排水沟堵塞发生争执") -> int:
    """A case taken through the real workflow up to `upto`: mediating, settled or closed."""
    parties = [intake.PartyInput(name="王小明", role="applicant", mobile="13800138000",
                                 id_card="360981198001011234", address="幸福小区3栋101室"),
               intake.PartyInput(name="李大海", role="respondent", mobile="13900139000")]
    with session_scope(engine) as s:
        cid = intake.register_case(s, actor(s, "staff"), case_input(s, description=description,
                                                                    parties=parties)).id
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, cid)[:2]]
    _do(engine, "staff", cid, "dispatch", people=people)
    if upto in ("settled", "closed"):
        _do(engine, "staff", cid, "settle", agreement_summary="李大海疏通排水沟并赔偿损失", agreement_amount="3000")
    if upto == "closed":
        _do(engine, "taskforce", cid, "follow_up", method="phone", satisfaction="satisfied", agreement_holds=True)
        _do(engine, "taskforce", cid, "close")
    return cid


def _events(engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        s.expunge_all()
        return rows


def _docx_text(data: bytes) -> str:
    d = Document(io.BytesIO(data))
    return "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])


def test_loader_reads_todays_tables_unmasked_and_leaves_the_missing_parts_empty(engine):
    cid = _case(engine, "settled")
    with session_scope(engine) as s:
        p = dossier.load(s, actor(s, "staff"), cid)
        number = s.get(Case, cid).number
    assert p.case_number == number and p.category == "邻里纠纷" and p.status == "settled"
    first = p.parties[0]
    assert (first.name, first.side, first.phone, first.id_number) == ("王小明", "申请人", "13800138000",
                                                                      "360981198001011234")
    assert (first.sex, first.ethnicity, first.birth_date, first.occupation) == (None, None, None, None)
    assert p.terms == [] and p.sessions == [] and p.confirmation is None
    assert p.agreement_summary == "李大海疏通排水沟并赔偿损失" and p.settled_at is not None
    assert p.committee and p.mediators and p.court.endswith("人民法院")
    assert [e.action for e in p.timeline][:2] == ["登记受理", "调度派员"]


def test_staff_downloads_each_document_of_a_settled_case_and_each_download_is_audited(engine):
    cid = _case(engine, "settled")
    with session_scope(engine) as s:
        staff = actor(s, "staff")
        offered = dossier.available(s, staff, cid)
        number = offered["number"]
        assert list(offered["documents"].values()) == ["纠纷登记表", "人民调解记录", "人民调解协议书", "司法确认申请书"]
        assert offered["dossier"] is False
        files = {kind: dossier.document_file(s, staff, cid, kind, "docx") for kind in offered["documents"]}
    assert files["mediation_agreement"][0] == f"{number}_人民调解协议书.docx"
    text = _docx_text(files["mediation_agreement"][1])
    serial = int(number.rsplit("-", 1)[1])
    assert f"编号：丰调协〔{number.split('-')[1]}〕{serial}号" in text
    assert "360981198001011234" in text and "1. 李大海疏通排水沟并赔偿损失，金额3,000元" in text
    assert "13800138000" in _docx_text(files["registration_form"][1])
    events = _events(engine, "papers.download")
    assert [(e.object_label, e.detail["kind"], e.detail["format"], e.username) for e in events] == [
        (number, k, "docx", "f_staff") for k in offered["documents"]]
    assert audit.action_label("papers.download") == "下载案件文书"


def test_agreement_pdf_download_is_audited(engine, tmp_path):
    cid = _case(engine, "settled")
    with session_scope(engine) as s:
        try:
            name, data = dossier.document_file(s, actor(s, "taskforce"), cid, "mediation_agreement", "pdf")
        except FontMissing as e:
            pytest.skip(e.message)
    assert name.endswith("_人民调解协议书.pdf") and data[:5] == b"%PDF-"
    assert [(e.role, e.detail["format"]) for e in _events(engine, "papers.download")] == [("taskforce", "pdf")]


@pytest.mark.parametrize("role", ["leader"])
def test_a_leader_is_refused_in_chinese_and_nothing_is_logged(engine, role):
    cid = _case(engine, "closed")
    with session_scope(engine) as s:
        who = actor(s, role)
        for call in (lambda: dossier.document_file(s, who, cid, "mediation_agreement", "docx"),
                     lambda: dossier.dossier_file(s, who, cid),
                     lambda: dossier.month_zip(s, who, clock.today()),
                     lambda: dossier.available(s, who, cid)):
            with pytest.raises(PermissionDenied) as exc:
                call()
            assert "不能下载案件文书" in exc.value.message and "个人信息" in exc.value.message
    assert dossier.can_download(who) is False
    assert _events(engine, "papers.download") == [] and _events(engine, "papers.dossier") == []


def test_a_document_the_case_does_not_have_yet_is_refused(engine):
    cid = _case(engine, "mediating")
    with session_scope(engine) as s:
        staff = actor(s, "staff")
        assert list(dossier.available(s, staff, cid)["documents"]) == ["registration_form", "mediation_record"]
        with pytest.raises(DomainError, match="没有人民调解协议书"):
            dossier.document_file(s, staff, cid, "mediation_agreement", "docx")
        with pytest.raises(DomainError, match="尚未闭环归档"):
            dossier.dossier_file(s, staff, cid)
    assert _events(engine, "papers.download") == []


def test_the_months_zip_holds_one_dossier_per_closed_case_and_is_audited(engine):
    closed = [_case(engine, "closed", f"第{i}件闭环纠纷") for i in (1, 2)]
    _case(engine, "settled", "已调解未闭环")
    with session_scope(engine) as s:
        numbers = sorted(s.get(Case, cid).number for cid in closed)
        try:
            name, data = dossier.month_zip(s, actor(s, "staff"), clock.today())
        except FontMissing as e:
            pytest.skip(e.message)
    assert name == f"卷宗_{clock.today():%Y-%m}.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == [f"{n}_卷宗.pdf" for n in numbers]
        assert all(z.read(n)[:5] == b"%PDF-" for n in z.namelist())
    (event,) = _events(engine, "papers.month_zip")
    assert event.detail["cases"] == numbers and event.note.endswith("卷宗 2 件")
    assert audit.action_label("papers.month_zip") == "下载月度卷宗包"


def test_a_month_without_closed_cases_or_in_the_future_is_refused_in_chinese(engine):
    today = clock.today()
    with session_scope(engine) as s:
        staff = actor(s, "staff")
        with pytest.raises(DomainError, match="没有闭环归档的案件"):
            dossier.month_zip(s, staff, today.replace(year=today.year - 1))
        with pytest.raises(DomainError, match="尚未到来"):
            dossier.month_zip(s, staff, today.replace(year=today.year + 1, day=1))
    assert _events(engine, "papers.month_zip") == []


def test_dossier_download_is_audited(engine):
    cid = _case(engine, "closed")
    with session_scope(engine) as s:
        try:
            name, data = dossier.dossier_file(s, actor(s, "staff"), cid)
        except FontMissing as e:
            pytest.skip(e.message)
        number = s.get(Case, cid).number
        assert s.scalar(select(Party.name).where(Party.case_id == cid).order_by(Party.id)) == "王小明"
    assert name == f"{number}_卷宗.pdf" and data[:5] == b"%PDF-"
    assert [e.object_label for e in _events(engine, "papers.dossier")] == [number]


def test_a_mediator_gets_no_papers_of_a_case_outside_their_scope(engine):
    cid = _case(engine, "settled")
    with session_scope(engine) as s:
        outsider = actor(s, "mediator")   # a mediator account tied to no room or dispatch of this case
        with pytest.raises(PermissionDenied, match="不在您的调解范围内"):
            dossier.document_file(s, outsider, cid, "mediation_agreement", "docx")
    assert _events(engine, "papers.download") == []


def test_a_busy_month_comes_in_parts_of_at_most_zip_part_dossiers(engine, monkeypatch):
    """800 closed cases in one file would keep the server busy for a quarter of an hour: a ZIP holds
    at most ZIP_PART dossiers, in case-number order, and names its part."""
    closed = [_case(engine, "closed", f"第{i}件闭环纠纷") for i in (1, 2, 3)]
    monkeypatch.setattr(dossier, "ZIP_PART", 2)
    month = clock.today()
    with session_scope(engine) as s:
        numbers = sorted(s.get(Case, cid).number for cid in closed)
        staff = actor(s, "staff")
        got = [dossier.month_zip(s, staff, month, part) for part in (1, 2)]
        with pytest.raises(DomainError, match="共 2 包，没有第 3 包"):
            dossier.month_zip(s, staff, month, 3)
    assert [name for name, _ in got] == [f"卷宗_{month:%Y-%m}_第1包.zip", f"卷宗_{month:%Y-%m}_第2包.zip"]
    held = []
    for _, data in got:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            held.append(sorted(z.namelist()))
    assert held == [[f"{n}_卷宗.pdf" for n in numbers[:2]], [f"{numbers[2]}_卷宗.pdf"]]
    assert [e.detail["part"] for e in _events(engine, "papers.month_zip")] == [1, 2]


def test_the_papers_print_the_terms_sessions_confirmation_and_party_details_recorded_on_the_case(engine):
    """Terms, sessions, the application for judicial confirmation and the parties' agreement fields,
    entered through the case's MOVES rows, reach the documents (not blanks for handwriting)."""
    import datetime as dt
    cid = _case(engine, "mediating")
    with session_scope(engine) as s:
        p1, p2 = s.scalars(select(Party.id).where(Party.case_id == cid).order_by(Party.id)).all()
    _do(engine, "staff", cid, "record_session", held_at=clock.now(), place="剑光驻所调解室",
        process="双方陈述积水经过，母舅释法说理", result="李大海同意疏通水沟并赔偿")
    _do(engine, "staff", cid, "settle", agreement_summary="疏通水沟并赔偿", agreement_copies=3, judicial_intent=True,
        terms=[{"obligation": "疏通屋后排水沟", "party_id": p2, "amount": "", "manner": "自行施工",
                "due_on": clock.today() + dt.timedelta(days=7)},
               {"obligation": "李大海赔偿王小明修缮费", "party_id": p2, "amount": "3000", "manner": "银行转账",
                "due_on": clock.today() + dt.timedelta(days=10)}])
    _do(engine, "staff", cid, "party_details", party_id=p1, sex="M", ethnicity="汉族", birth_date=dt.date(1980, 1, 1),
        occupation="丰城市某建材公司")
    _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    with session_scope(engine) as s:
        staff = actor(s, "staff")
        p = dossier.load(s, staff, cid)
        agreement = _docx_text(dossier.document_file(s, staff, cid, "mediation_agreement", "docx")[1])
        record = _docx_text(dossier.document_file(s, staff, cid, "mediation_record", "docx")[1])
    assert [t.obligation for t in p.terms] == ["李大海疏通屋后排水沟", "李大海赔偿王小明修缮费"]
    assert (p.parties[0].sex, p.parties[0].ethnicity, p.parties[0].occupation) == ("男", "汉族", "丰城市某建材公司")
    assert p.confirmation is not None and p.confirmation.court == "丰城市人民法院"
    for text in ("李大海疏通屋后排水沟", "李大海赔偿王小明修缮费", "3,000", "银行转账", "汉族", "丰城市某建材公司"):
        assert text in agreement, text
    for text in ("剑光驻所调解室", "双方陈述积水经过，母舅释法说理", "李大海同意疏通水沟并赔偿"):
        assert text in record, text


def test_a_trainer_gets_masked_specimens_marked_as_such_and_each_download_is_logged(engine):
    """培训 demonstrates the papers: the same documents and dossier, every title marked 培训样本, the
    parties' names, mobiles, ID numbers and addresses masked, also where the free text repeats them."""
    cid = _case(engine, "closed", "王小明家院落积水，李大海（13900139000）拒不疏通")
    with session_scope(engine) as s:
        trainer = actor(s, "trainer")
        assert dossier.can_download(trainer) and dossier.is_specimen(trainer)
        p = dossier.load(s, trainer, cid)
        name, docx = dossier.document_file(s, trainer, cid, "mediation_agreement", "docx")
        dossier_name, pdf = dossier.dossier_file(s, trainer, cid)
    text = _docx_text(docx)
    assert name.startswith("培训样本_") and dossier_name.startswith("培训样本_") and pdf[:5] == b"%PDF-"
    assert "人民调解协议书（培训样本）" in text and "本件为培训样本" in text and "非正式文书" in text
    for secret in ("王小明", "李大海", "13800138000", "13900139000", "360981198001011234", "幸福小区3栋101室"):
        assert secret not in text, secret
        assert secret not in repr(p), secret
    assert "王**" in text and "138****8000" in text
    events = _events(engine, "papers.download") + _events(engine, "papers.dossier")
    assert [(e.role, e.detail["specimen"]) for e in events] == [("trainer", True), ("trainer", True)]
