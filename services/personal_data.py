"""Reading personal data leaves a trace (个人信息保护): a staff member opening a case's unmasked
parties, and any export of them. Both go through here, inside the caller's transaction."""
from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Case, Party
from services import audit
from services.cases import intake
from services.cases import workflow
from services.errors import NotFound, PermissionDenied
from services.roles import MEDIATOR, Actor, may, require


def _case(session: Session, actor: Actor, case_id: int) -> Case:
    require(actor, "case.view_personal")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在。")
    if actor.role == MEDIATOR and not workflow.in_mediator_scope(session, actor, case):
        raise PermissionDenied("该案件不在您的调解范围内。")
    return case


def record_view(session: Session, actor: Actor, case_id: int) -> bool:
    """The actor saw this case's parties unmasked. Returns False (nothing logged) for masked roles."""
    if not may(actor.role, "case.view_personal"):
        return False
    case = _case(session, actor, case_id)
    audit.record(session, actor, "personal.view", "case", case.id, "查看当事人（未脱敏）", label=case.number)
    return True


def export_parties(session: Session, actor: Actor, case_id: int) -> bytes:
    """The case's parties as an Excel file, for roles that see them unmasked; the export is logged."""
    from openpyxl import Workbook
    case = _case(session, actor, case_id)
    rows = list(session.scalars(select(Party).where(Party.case_id == case.id).order_by(Party.id)))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("当事人")
    ws.append(["案件编号", "姓名", "身份", "手机号码", "身份证号码", "住址"])
    for p in rows:
        ws.append([case.number, p.name, intake.PARTY_ROLES.get(p.role, p.role), p.mobile, p.id_card or "", p.address])
    audit.record(session, actor, "personal.export", "case", case.id, f"导出当事人 {len(rows)} 人", label=case.number,
                 rows=len(rows))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
