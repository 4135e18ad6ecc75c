"""Dispute codes: issued once per case, unguessable, revocable; the QR and the printed code card.

Also holds `make_case()`, which the other dispute-code tests use to build cases in each state
through the real services (register_case + transition).
"""
from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
from PIL import Image
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import AuditEvent, Case, DisputeCode, Mediator, Township, Village
from services import clock
from services.cases import intake
from services.codes import dispute_codes
from services.roster import org
from services.cases import workflow
from services.errors import PermissionDenied
from services.validation import id_check_digit
from tests.ui import ensure_user

STATES = ("registered", "mediating", "settled", "closed_settled", "terminated", "closed_terminated", "court",
          "litigation")


def valid_id(prefix17: str) -> str:
    return prefix17 + id_check_digit(prefix17)


def make_case(session, actor, state: str = "mediating", markers: dict | None = None, mode: str = "station") -> Case:
    """A case registered and moved through the real workflow to `state`; markers planted in its
    party name/mobile/ID/address, description and event notes."""
    m = markers or {}
    town = session.scalar(select(Township).where(Township.mode == mode).order_by(Township.code))
    village = session.scalar(select(Village).where(Village.township_id == town.id).order_by(Village.code))
    cat = org.categories(session)[0]
    data = intake.CaseInput(
        source="walk_in", received_at=clock.now() - dt.timedelta(hours=3), township_id=town.id,
        village_id=village.id, category_id=cat.id, complexity="simple",
        description=f"邻里因排水沟堵塞发生争执 {m.get('description', '')}", address=m.get("case_address", ""),
        parties=[intake.PartyInput(name=m.get("name", "张三"), mobile=m.get("mobile", "13800138000"),
                                  id_card=m.get("id_card", ""), address=m.get("address", ""))])
    case = intake.register_case(session, actor, data)
    dispute_codes.issue_for_case(session, case.id)
    if state == "registered":
        return case
    person = session.scalar(select(Mediator).where(Mediator.room_id == case.room_id).order_by(Mediator.id))

    def move(action, **kw):
        workflow.transition(session, actor, case.id, action, None, **kw)

    move("dispatch", people=[(person.id, person.kind)], note=m.get("note", ""))
    if state in ("settled", "closed_settled"):
        move("settle", agreement_summary=f"赔偿修缮费用 {m.get('agreement', '')}")
        if state == "closed_settled":
            move("follow_up", method="phone", satisfaction="satisfied", agreement_holds=True,
                 note=m.get("follow_note", "当事人满意"))
            move("close")
    elif state in ("terminated", "closed_terminated"):
        move("terminate", reason_code="withdrawn", note=m.get("end_note", "当事人撤回申请"))
        if state == "closed_terminated":
            move("close")
    elif state in ("court", "litigation"):
        while session.get(Case, case.id).level != "court":
            move("transfer", note=m.get("transfer_note", "双方分歧较大，调解不成"))
        if state == "litigation":
            move("litigate", court_name="丰城市人民法院", note="引导起诉")
    session.flush()
    return session.get(Case, case.id)


@pytest.fixture
def staff(db_url):
    return ensure_user(db_url, "staff")


@pytest.fixture
def s(staff, engine):
    """A session opened after the users exist (SQLite holds its write lock for the whole test)."""
    with session_scope(engine) as sess:
        yield sess


def test_every_case_gets_one_unguessable_code(s, staff):
    case = make_case(s, staff, "registered")
    code = dispute_codes.issue_for_case(s, case.id)
    again = dispute_codes.issue_for_case(s, case.id)
    assert again.id == code.id and again.token == code.token  # idempotent
    assert len(code.token) >= 32  # 24 random bytes = 192 bits, base64url
    assert case.number not in code.token and str(case.id) != code.token
    other = make_case(s, staff, "registered")
    assert dispute_codes.issue_for_case(s, other.id).token != code.token
    assert dispute_codes.case_for_token(s, code.token) == case.id


def test_revoke_and_reissue_kills_the_old_link(s, staff):
    case = make_case(s, staff, "mediating")
    old = dispute_codes.issue_for_case(s, case.id).token
    new = dispute_codes.revoke_and_reissue(s, staff, case.id)
    assert new.token != old
    assert dispute_codes.public_view(s, old) is None
    assert dispute_codes.public_view(s, new.token)["case_number"] == case.number
    assert dispute_codes.issue_for_case(s, case.id).token == new.token
    assert s.scalar(select(func.count()).select_from(DisputeCode).where(
        DisputeCode.case_id == case.id, DisputeCode.revoked_at.is_(None))) == 1
    assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "code.reissue")) == "code.reissue"


@pytest.mark.parametrize("role", ["leader", "trainer", "mediator"])
def test_read_only_roles_cannot_reissue(staff, engine, db_url, role):
    other = ensure_user(db_url, role)
    with session_scope(engine) as s:
        case = make_case(s, staff, "mediating")
        token = dispute_codes.issue_for_case(s, case.id).token
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        dispute_codes.revoke_and_reissue(s, other, case.id)
    with session_scope(engine) as s:
        assert dispute_codes.case_for_token(s, token) == case.id  # nothing changed


def test_public_url_uses_configured_base(s, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert dispute_codes.public_url("abc", s) == "http://localhost:8501/c/abc"
    from services import settings
    settings.put(s, "public_base_url", "https://jfm.example.gov.cn/")
    assert dispute_codes.public_url("abc", s) == "https://jfm.example.gov.cn/c/abc"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://env.example.cn")
    assert dispute_codes.public_url("abc", s) == "https://env.example.cn/c/abc"


def test_qr_png_is_a_square_image_of_the_expected_size():
    png = dispute_codes.qr_png("A" * 32, box_size=10)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    w, h = img.size
    assert w == h and w % 10 == 0 and 250 <= w <= 600  # (modules + 2×4 border) × 10 px


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
@pytest.mark.parametrize("size,width_pt", [("A6", 297.6), ("A4", 595.3)])
def test_code_card_pdf_has_case_number_and_instructions(s, staff, size, width_pt, tmp_path):
    case = make_case(s, staff, "registered")
    pdf = dispute_codes.code_card_pdf(s, case.id, size)
    path = tmp_path / "card.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert case.number in text
    assert "丰城市" in text and "微信扫一扫" in text
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert f"{width_pt:.1f}"[:3] in info.split("Page size:")[1]


def test_code_card_without_a_chinese_font_tells_the_operator_what_to_install(s, staff, monkeypatch):
    """The card finds its face through services/documents/fonts.py, like the official documents."""
    from services.documents import fonts
    case = make_case(s, staff, "registered")
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])
    monkeypatch.setattr(fonts, "_KNOWN_FONT_FILES", {})
    fonts.find_faces.cache_clear()
    try:
        with pytest.raises(fonts.FontMissing) as err:
            dispute_codes.code_card_pdf(s, case.id, "A6")
    finally:
        fonts.find_faces.cache_clear()
    assert "无法生成解纷码卡片" in err.value.message and "apt-get install -y fonts-noto-cjk" in err.value.message
