"""母舅名册: everyone who mediates or is dispatched, with live figures; add, edit, deactivate;
Excel template, import (preview, row errors, idempotent) and export.

Personal data: mediators' phones are shown in full only to roles with "roster.view_phone".
Nobody with history (dispatches, duty shifts, stays) is ever deleted: deactivate instead.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import and_, case, cast, func, or_, select, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from db.models import (Case, Department, Dispatch, DisputeCategory, DutyShift, GovernanceCentre, Grid, MediationRoom,
                       Mediator, Rotation, Township, User)
from db.models.org import MEDIATOR_KINDS
from services import audit, clock, inputs
from services.cases import ladder
from services.metrics import dashboard
from services.errors import ConcurrentEdit, NotFound, ValidationError
from services.exports import is_formula_like, safe_row
from services.roles import Actor, may, require
from services.validation import mask_phone, normalise_mobile

BACKGROUNDS = ("老干部", "老党员", "老教师", "老军人", "老模范", "退休干部", "司法所退休", "退休法官")
KIND_BY_LABEL = {label: key for key, label in MEDIATOR_KINDS.items()}
MAX_IMPORT_ROWS = 5000
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")

# kind -> (unit test, what the unit must be)
UNIT_RULES: dict[str, tuple[Callable[["Unit"], bool], str]] = {
    "station": (lambda u: u.type == "room" and u.kind == "station", "派出所母舅驻所调解室"),
    "village": (lambda u: u.type == "room" and u.kind == "village", "村（社区）母舅住村工作室"),
    "city_brand": (lambda u: u.type == "centre" and u.kind == "city", "市综治中心"),
    "lawyer": (lambda u: u.type == "centre", "综治中心"),
    "grid_worker": (lambda u: u.type == "township", "乡镇（街道）"),
    "duty_cadre": (lambda u: u.type == "township", "乡镇（街道）"),
    "department": (lambda u: u.type in ("township", "centre"), "乡镇（街道）或综治中心"),
}


def display_phone(role: str | None, phone: str | None) -> str:
    return (phone or "") if role and may(role, "roster.view_phone") else mask_phone(phone)


# ------------------------------------------------------------------ units

@dataclass(frozen=True)
class Unit:
    type: str  # room / centre / township
    id: int
    code: str
    name: str
    kind: str | None  # room kind, centre level, or None for a township
    township_id: int | None

    @property
    def label(self) -> str:
        return f"{self.name}（{self.code}）"


def units(session: Session, township_id: int | None = None) -> list[Unit]:
    """Every unit a person can belong to (≈160 rows), for pickers and the import."""
    out: list[Unit] = []
    tq = select(Township).order_by(Township.code)
    rq = select(MediationRoom).order_by(MediationRoom.code)
    cq = select(GovernanceCentre).order_by(GovernanceCentre.code)
    if township_id is not None:
        tq = tq.where(Township.id == township_id)
        rq = rq.where(MediationRoom.township_id == township_id)
        cq = cq.where(GovernanceCentre.township_id == township_id)
    out += [Unit("centre", c.id, c.code, c.name, c.level, c.township_id) for c in session.scalars(cq)]
    out += [Unit("township", t.id, t.code, t.name, None, t.id) for t in session.scalars(tq)]
    out += [Unit("room", r.id, r.code, r.name, r.kind, r.township_id) for r in session.scalars(rq)]
    return out


def _unit_index(session: Session) -> dict[str, Unit]:
    index: dict[str, Unit] = {}
    for u in units(session):
        index.setdefault(u.name, u)
        index[u.code] = u
    return index


# ------------------------------------------------------------------ validation

@dataclass
class MediatorInput:
    name: str = ""
    kind: str = ""
    phone: str = ""
    unit_code: str = ""
    department: str = ""
    specialties: list[str] = field(default_factory=list)
    background: str = ""
    note: str = ""
    active_from: dt.date | None = None
    code: str = ""


@dataclass
class _Lookups:
    units: dict[str, Unit]
    categories: dict[str, str]  # code -> code, name -> code
    departments: set[str]

    @classmethod
    def load(cls, session: Session) -> "_Lookups":
        cats: dict[str, str] = {}
        for code, name in session.execute(select(DisputeCategory.code, DisputeCategory.name)):
            cats[code] = code
            cats[name] = code
        return cls(_unit_index(session), cats, set(session.scalars(select(Department.name))))


def _check(data: MediatorInput, lk: _Lookups) -> tuple[dict, dict[str, str]]:
    """Normalised column values and per-field Chinese errors."""
    e: dict[str, str] = {}
    v: dict = {}
    name = inputs.clean(data.name, multiline=False)
    if not 2 <= len(name) <= 30:
        e["name"] = "姓名应为 2–30 个字。"
    elif is_formula_like(name) or not re.fullmatch(r"[\w·•．.\s]+", name):
        e["name"] = "姓名只能包含文字（可含间隔号“·”），不能以 = + - @ 开头或含有符号。"
    v["name"] = name
    kind = (data.kind or "").strip()
    kind = KIND_BY_LABEL.get(kind, kind)
    if kind not in MEDIATOR_KINDS:
        e["kind"] = f"人员类别“{data.kind or ''}”未知，应为：{'、'.join(MEDIATOR_KINDS.values())}。"
    v["kind"] = kind
    phone = normalise_mobile(data.phone)
    if phone is None:
        e["phone"] = "手机号码应为 11 位，以 13–19 开头（可带 +86）。"
    v["phone"] = phone
    unit = lk.units.get((data.unit_code or "").strip())
    v["room_id"] = v["centre_id"] = v["township_id"] = None
    if not (data.unit_code or "").strip():
        e["unit"] = "请选择所属单位。"
    elif unit is None:
        e["unit"] = f"所属单位“{data.unit_code}”不存在（请填写单位编码，见模板“单位编码”表）。"
    elif kind in UNIT_RULES and not UNIT_RULES[kind][0](unit):
        e["unit"] = f"{MEDIATOR_KINDS[kind]}的所属单位应为{UNIT_RULES[kind][1]}，而“{unit.name}”不是。"
    elif unit is not None:
        v[{"room": "room_id", "centre": "centre_id", "township": "township_id"}[unit.type]] = unit.id
    dept = (data.department or "").strip()
    if kind == "department":
        if not dept:
            e["department"] = "部门人员须填写所属部门。"
        elif dept not in lk.departments:
            known = "、".join(sorted(lk.departments)) or "（尚未登记部门）"
            e["department"] = f"部门“{dept}”未登记，已登记的部门：{known}。"
    if len(dept) > 50:
        e["department"] = "部门/单位名称不超过 50 个字。"
    v["department"] = dept
    specs: list[str] = []
    unknown = []
    for s in data.specialties or []:
        s = str(s).strip()
        if not s:
            continue
        code = lk.categories.get(s)
        if code is None:
            unknown.append(s)
        elif code not in specs:
            specs.append(code)
    if unknown:
        e["specialties"] = f"未知的纠纷类别：{'、'.join(unknown)}。"
    v["specialties"] = specs
    background = (data.background or "").strip()
    if len(background) > 50:
        e["background"] = "人员背景不超过 50 个字。"
    v["background"] = background
    note = (data.note or "").strip()
    if len(note) > 500:
        e["note"] = "备注不超过 500 字。"
    v["note"] = note
    if data.active_from is not None and not isinstance(data.active_from, dt.date):
        e["active_from"] = "起始日期格式应为 2023-07-01。"
    v["active_from"] = data.active_from
    code = (data.code or "").strip()
    if code and not _CODE.match(code):
        e["code"] = "编码只能含字母、数字、- 和 _，不超过 40 位。"
    v["code"] = code
    return v, e


def _next_code(session: Session, taken: set[str] | None = None) -> str:
    nums = [int(c[1:]) for c in session.scalars(select(Mediator.code).where(Mediator.code.like("M%")))
            if c[1:].isdigit()]
    n = max(nums, default=0) + 1
    while f"M{n:04d}" in (taken or set()):
        n += 1
    return f"M{n:04d}"


def _flush(session: Session) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ConcurrentEdit("编码与名册中已有人员重复（可能刚被他人添加），请刷新后重试。") from None


_FIELDS = ("name", "kind", "phone", "room_id", "centre_id", "township_id", "department", "specialties",
           "background", "note")


def add_mediator(session: Session, actor: Actor, data: MediatorInput) -> Mediator:
    require(actor, "roster.manage")
    v, e = _check(data, _Lookups.load(session))
    if not e:
        if v["code"] and session.scalar(select(Mediator.id).where(Mediator.code == v["code"])):
            e["code"] = f"编码 {v['code']} 已被使用。"
        same = session.scalar(select(Mediator.code).where(Mediator.name == v["name"], Mediator.phone == v["phone"]))
        if same:
            e["name"] = f"名册中已有同名同号的人员（编码 {same}），请直接编辑。"
    if e:
        raise ValidationError(e)
    m = Mediator(code=v["code"] or _next_code(session), active=True, active_from=v["active_from"] or clock.today(),
                 **{k: v[k] for k in _FIELDS})
    session.add(m)
    _flush(session)
    audit.record(session, actor, "roster.add", "mediator", m.id, code=m.code, name=m.name, kind=m.kind)
    return m


def update_mediator(session: Session, actor: Actor, mediator_id: int, data: MediatorInput) -> Mediator:
    require(actor, "roster.manage")
    m = _get(session, mediator_id)
    v, e = _check(data, _Lookups.load(session))
    if e:
        raise ValidationError(e)
    changes = {k: (getattr(m, k), v[k]) for k in _FIELDS if getattr(m, k) != v[k]}
    if v["active_from"] is not None and v["active_from"] != m.active_from:
        changes["active_from"] = (m.active_from, v["active_from"])
    for k, (_, new) in changes.items():
        setattr(m, k, new)
    session.flush()
    if changes:
        audit.record(session, actor, "roster.edit", "mediator", m.id, code=m.code,
                     changes={k: [str(a), str(b)] if k != "phone" else ["***", "***"] for k, (a, b) in changes.items()})
    return m


def _get(session: Session, mediator_id: int) -> Mediator:
    m = session.get(Mediator, mediator_id) if mediator_id else None
    if m is None:
        raise NotFound("人员不存在。")
    return m


def history(session: Session, mediator_id: int) -> dict[str, int]:
    """What ties the person to the record: dispatches, duty shifts, stays, grids, accounts."""
    out = {}
    for label, model, col in (("调度记录", Dispatch, Dispatch.mediator_id), ("值班记录", DutyShift, DutyShift.mediator_id),
                              ("轮驻/随驻", Rotation, Rotation.mediator_id), ("网格", Grid, Grid.grid_worker_id),
                              ("登录账号", User, User.mediator_id), ("承办案件", Case, Case.current_mediator_id)):
        n = session.scalar(select(func.count()).select_from(model).where(col == mediator_id)) or 0
        if n:
            out[label] = n
    return out


def deactivate(session: Session, actor: Actor, mediator_id: int, reason: str = "",
               on_date: dt.date | None = None) -> list[dt.date]:
    """Mark inactive from `on_date` (today). Returns the future duty nights that are now gaps."""
    require(actor, "roster.manage")
    m = _get(session, mediator_id)
    if not m.active:
        raise ValidationError({"deactivate": f"{m.name}已是停用状态。"})
    on_date = on_date or clock.today()
    m.active = False
    m.active_to = on_date
    session.flush()
    nights = list(session.scalars(select(DutyShift.duty_date).where(
        DutyShift.mediator_id == m.id, DutyShift.duty_date >= on_date).order_by(DutyShift.duty_date)))
    audit.record(session, actor, "roster.deactivate", "mediator", m.id, code=m.code, name=m.name,
                 reason=(reason or "").strip()[:200], on=on_date.isoformat(), gap_nights=[d.isoformat() for d in nights])
    return nights


def reactivate(session: Session, actor: Actor, mediator_id: int) -> Mediator:
    require(actor, "roster.manage")
    m = _get(session, mediator_id)
    if m.active:
        raise ValidationError({"deactivate": f"{m.name}已在岗。"})
    m.active, m.active_to = True, None
    session.flush()
    audit.record(session, actor, "roster.reactivate", "mediator", m.id, code=m.code, name=m.name)
    return m


def delete_mediator(session: Session, actor: Actor, mediator_id: int) -> None:
    """Only a person added by mistake, with no history at all, may be deleted."""
    require(actor, "roster.manage")
    m = _get(session, mediator_id)
    ties = history(session, m.id)
    if ties:
        raise ValidationError({"deactivate": "该人员已有" + "、".join(f"{k} {n} 条" for k, n in ties.items())
                               + "，不能删除，只能停用。"})
    code, name = m.code, m.name
    session.delete(m)
    session.flush()
    audit.record(session, actor, "roster.delete", "mediator", mediator_id, code=code, name=name)


# ------------------------------------------------------------------ the list, with live figures

@dataclass
class RosterFilter:
    township_id: int | None = None
    unit_code: str | None = None
    kind: str | None = None
    specialty: str | None = None
    active: bool | None = True
    search: str = ""


@dataclass
class RosterPage:
    rows: list[dict]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _filtered(flt: RosterFilter):
    R, C = aliased(MediationRoom), aliased(GovernanceCentre)
    township_expr = func.coalesce(Mediator.township_id, R.township_id, C.township_id)
    q = (select(Mediator.id).outerjoin(R, R.id == Mediator.room_id).outerjoin(C, C.id == Mediator.centre_id))
    if flt.township_id is not None:
        q = q.where(township_expr == flt.township_id)
    if flt.unit_code:
        q = q.where(or_(R.code == flt.unit_code, C.code == flt.unit_code,
                        and_(Mediator.room_id.is_(None), Mediator.centre_id.is_(None),
                             Mediator.township_id == select(Township.id).where(Township.code == flt.unit_code)
                             .scalar_subquery())))
    if flt.kind:
        q = q.where(Mediator.kind == flt.kind)
    if flt.specialty:
        q = q.where(cast(Mediator.specialties, String).like(f'%"{flt.specialty}"%'))
    if flt.active is not None:
        q = q.where(Mediator.active.is_(flt.active))
    if (flt.search or "").strip():
        s = f"%{flt.search.strip()}%"
        q = q.where(or_(Mediator.name.like(s), Mediator.code.like(s)))
    return q


def figures(session: Session, ids: list[int]) -> dict[int, dict]:
    """Per person, one GROUP BY over their dispatches: open cases, cases this month, success
    (settled / resolved) and satisfaction (satisfied or basic / followed up)."""
    if not ids:
        return {}
    now = clock.local(clock.now())
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(clock.UTC)
    open_s = ladder.statuses_in(ladder.OPEN)
    done_s = ladder.statuses_in(ladder.RESOLVED) + ladder.statuses_in(ladder.CLOSED)

    def n(cond):
        return func.count(func.distinct(case((cond, Case.id))))

    rows = session.execute(
        select(Dispatch.mediator_id, n(Case.status.in_(open_s)), n(Dispatch.notified_at >= month_start),
               n(Case.status.in_(done_s)), n(and_(Case.status.in_(done_s), Case.settled_at.isnot(None))),
               n(Case.followed_up_at.isnot(None)),
               n(and_(Case.followed_up_at.isnot(None), Case.satisfaction.in_(("satisfied", "basic")))))
        .join(Case, Case.id == Dispatch.case_id).where(Dispatch.mediator_id.in_(ids))
        .group_by(Dispatch.mediator_id)).all()
    return {r[0]: {"open": r[1], "month": r[2], "resolved": r[3], "settled": r[4], "followed": r[5],
                   "satisfied": r[6]} for r in rows}


def list_roster(session: Session, actor: Actor, flt: RosterFilter | None = None, page: int = 1,
                page_size: int = 50) -> RosterPage:
    flt = flt or RosterFilter()
    page_size = max(1, min(int(page_size), 500))
    ids_q = _filtered(flt)
    total = session.scalar(select(func.count()).select_from(ids_q.subquery())) or 0
    page = max(1, min(int(page), max(1, -(-total // page_size))))
    ids = list(session.scalars(ids_q.order_by(Mediator.code).limit(page_size).offset((page - 1) * page_size)))
    return RosterPage(_rows(session, actor.role, ids), total, page, page_size)


def _rows(session: Session, role: str, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    people = list(session.scalars(select(Mediator).where(Mediator.id.in_(ids)).order_by(Mediator.code)))
    rooms = {i: (c, n, t) for i, c, n, t in session.execute(
        select(MediationRoom.id, MediationRoom.code, MediationRoom.name, MediationRoom.township_id)
        .where(MediationRoom.id.in_({m.room_id for m in people if m.room_id})))}
    centres = {i: (c, n, t) for i, c, n, t in session.execute(
        select(GovernanceCentre.id, GovernanceCentre.code, GovernanceCentre.name, GovernanceCentre.township_id)
        .where(GovernanceCentre.id.in_({m.centre_id for m in people if m.centre_id})))}
    towns = {i: (c, n) for i, c, n in session.execute(select(Township.id, Township.code, Township.name))}
    cats = dict(session.execute(select(DisputeCategory.code, DisputeCategory.name)).all())
    figs = figures(session, ids)
    out = []
    for m in people:
        if m.room_id in rooms:
            ucode, uname, tid = rooms[m.room_id]
        elif m.centre_id in centres:
            ucode, uname, tid = centres[m.centre_id]
        else:
            tid = m.township_id
            ucode, uname = towns.get(tid, ("", ""))
        f = figs.get(m.id, {})
        out.append({
            "id": m.id, "code": m.code, "name": m.name, "kind": m.kind, "kind_name": MEDIATOR_KINDS.get(m.kind, m.kind),
            "unit_code": ucode, "unit": uname, "township": towns.get(tid, ("", ""))[1] if tid else "",
            "phone": display_phone(role, m.phone), "department": m.department,
            "specialties": [cats.get(c, c) for c in (m.specialties or [])], "specialty_codes": list(m.specialties or []),
            "background": m.background, "note": m.note, "active": m.active,
            "active_from": m.active_from, "active_to": m.active_to,
            "status": "在岗" if m.active else f"停用（{m.active_to or ''}）",
            "open_cases": f.get("open", 0), "month_cases": f.get("month", 0),
            "success_rate": dashboard.pct(dashboard.rate(f.get("settled", 0), f.get("resolved", 0))),
            "satisfaction": dashboard.pct(dashboard.rate(f.get("satisfied", 0), f.get("followed", 0))),
            "success_ratio": dashboard.rate(f.get("settled", 0), f.get("resolved", 0)),
            "satisfaction_ratio": dashboard.rate(f.get("satisfied", 0), f.get("followed", 0)),
        })
    return out


def person(session: Session, actor: Actor, mediator_id: int) -> dict:
    """One person's row (for the edit form)."""
    rows = _rows(session, actor.role, [mediator_id])
    if not rows:
        raise NotFound("人员不存在。")
    return rows[0]


# ------------------------------------------------------------------ Excel

COLUMNS: list[tuple[str, str, str]] = [  # key, header, help
    ("code", "编码", "已有人员的编码；新增人员可留空（系统按“姓名+手机号”匹配，没有则自动编号）"),
    ("name", "姓名", "必填，2–30 个字"),
    ("kind", "人员类别", "必填：" + "、".join(MEDIATOR_KINDS.values())),
    ("phone", "手机号", "必填，11 位手机号，可带 +86"),
    ("unit", "所属单位编码", "必填，见“单位编码”表；驻所母舅填驻所调解室，住村母舅填住村工作室，市级品牌母舅和律师填综治中心，"
                         "网格员、值班干部填乡镇（街道）"),
    ("department", "部门/律所", "部门轮驻/随驻人员必填已登记的部门名称；律师可填律所"),
    ("specialties", "擅长纠纷类别", "可多项，用顿号或逗号分隔，填类别名称或编码"),
    ("background", "人员背景", "住村母舅可填：" + "、".join(BACKGROUNDS)),
    ("active", "在岗", "是 / 否，留空为“是”"),
    ("active_from", "起始日期", "可留空，格式 2023-07-01"),
    ("note", "备注", "可留空"),
]
_HEADER_TO_KEY = {h: k for k, h, _ in COLUMNS}
_REQUIRED = ("name", "kind", "phone", "unit")


def _xlsx(sheets: list[tuple[str, list[list]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(safe_row(r))
        if rows:
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for i, _ in enumerate(rows[0], start=1):
                ws.column_dimensions[ws.cell(1, i).column_letter].width = 18
            ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_xlsx(session: Session) -> bytes:
    """The import template: a header row, one example row, a 说明 sheet and the unit codes."""
    example = ["", "张三", "住村母舅", "13900001111", "R-T13-V01", "", "邻里纠纷、婚姻家庭", "老党员", "是", "2023-07-01", ""]
    notes = [["列名", "填写说明"]] + [[h, help_] for _, h, help_ in COLUMNS]
    notes += [[], ["纠纷类别编码", "名称"]] + [[c.code, c.name] for c in session.scalars(
        select(DisputeCategory).order_by(DisputeCategory.sort_order))]
    notes += [[], ["导入规则", "有编码按编码匹配，否则按“姓名+手机号”匹配：匹配到则更新，否则新增；有误的行不导入并列出原因；"
                   "同一文件重复导入不会产生任何变化。"]]
    type_names = {"room": "调解室", "centre": "综治中心", "township": "乡镇（街道）"}
    unit_rows = [["单位编码", "单位名称", "类型"]] + [[u.code, u.name, type_names[u.type]] for u in units(session)]
    return _xlsx([("母舅名册", [[h for _, h, _ in COLUMNS], example]), ("说明", notes), ("单位编码", unit_rows)])


@dataclass
class ImportRow:
    line: int  # the Excel row number
    raw: dict[str, str]
    errors: list[str] = field(default_factory=list)
    action: str = ""  # insert / update / unchanged / error
    mediator_id: int | None = None
    values: dict | None = None

    ACTIONS = {"insert": "新增", "update": "更新", "unchanged": "无变化", "error": "有误"}

    @property
    def action_name(self) -> str:
        return self.ACTIONS.get(self.action, self.action)


@dataclass
class ImportPreview:
    rows: list[ImportRow]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def invalid(self) -> list[ImportRow]:
        return [r for r in self.rows if r.action == "error"]

    def table(self) -> list[dict]:
        return [{"行号": r.line, "处理": r.action_name, "姓名": r.raw.get("name", ""), "编码": r.raw.get("code", ""),
                 "类别": r.raw.get("kind", ""), "所属单位": r.raw.get("unit", ""), "原因": "；".join(r.errors)}
                for r in self.rows]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = inputs.clean(value, multiline=False)
    if text.startswith("'") and is_formula_like(text[1:]):  # our own export's quoting: read back as typed
        text = text[1:]
    return text


def _header(row) -> tuple[list[str | None], list[str]]:
    """The column keys of a header row, and the required columns it lacks."""
    keys = [_HEADER_TO_KEY.get(_cell(h).rstrip("*＊ ")) for h in row or ()]
    return keys, [h for k, h, _ in COLUMNS if k in _REQUIRED and k not in keys]


def _read_rows(raw: bytes) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable upload gets the same answer
        raise ValidationError({"file": "无法读取该文件，请上传 Excel（.xlsx）文件，可先下载导入模板。"}) from None
    try:
        ws = wb["母舅名册"] if "母舅名册" in wb.sheetnames else wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        keys, missing = _header(next(it, None))
        first = 2
        if missing and len(missing) == len(_REQUIRED):  # a file exported from 母舅名册: a title line first
            second, second_missing = _header(next(it, None))
            if not second_missing:
                keys, missing, first = second, second_missing, 3
        if missing:
            raise ValidationError({"file": f"表头缺少必填列：{'、'.join(missing)}。请使用导入模板。"})
        rows = []
        for line, values in enumerate(it, start=first):
            rec = {k: _cell(v) for k, v in zip(keys, values) if k}
            if not any(rec.values()):
                continue
            rows.append((line, rec))
            if len(rows) > MAX_IMPORT_ROWS:
                raise ValidationError({"file": f"一次最多导入 {MAX_IMPORT_ROWS} 行，请分批导入。"})
        return rows
    finally:
        wb.close()


def _parse_date(text: str) -> dt.date | None | str:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError:
        return "bad"


def parse_import(session: Session, raw: bytes, progress: Callable[[int, int], None] | None = None) -> ImportPreview:
    """Read the file and decide, row by row, what importing it would do (nothing is written)."""
    lk = _Lookups.load(session)
    rows = [ImportRow(line, rec) for line, rec in _read_rows(raw)]
    codes = {r.raw.get("code") for r in rows if r.raw.get("code")}
    names = {r.raw.get("name") for r in rows if r.raw.get("name")}
    by_code = {m.code: m for m in session.scalars(select(Mediator).where(Mediator.code.in_(codes)))} if codes else {}
    by_name_phone: dict[tuple[str, str], list[Mediator]] = {}
    if names:
        for m in session.scalars(select(Mediator).where(Mediator.name.in_(names))):
            by_name_phone.setdefault((m.name, m.phone), []).append(m)
    seen: dict[object, int] = {}
    for i, row in enumerate(rows, start=1):
        rec = row.raw
        active_text = rec.get("active", "")
        start = _parse_date(rec.get("active_from", ""))
        data = MediatorInput(name=rec.get("name", ""), kind=rec.get("kind", ""), phone=rec.get("phone", ""),
                             unit_code=rec.get("unit", ""), department=rec.get("department", ""),
                             specialties=re.split(r"[、,，;；/\s]+", rec.get("specialties", "")),
                             background=rec.get("background", ""), note=rec.get("note", ""),
                             active_from=None if start == "bad" else start, code=rec.get("code", ""))
        v, e = _check(data, lk)
        if start == "bad":
            e["active_from"] = "起始日期格式应为 2023-07-01。"
        if active_text not in ("", "是", "否", "在岗", "停用", "Y", "N", "y", "n", "1", "0"):
            e["active"] = "“在岗”应填 是 或 否。"
        v["active"] = active_text not in ("否", "停用", "N", "n", "0")
        key = v["code"] or (v["name"], v["phone"])
        if key in seen:
            e["dup"] = f"与第 {seen[key]} 行重复"
        elif not e:
            seen[key] = row.line
        row.errors = list(e.values())
        if not e:
            match = by_code.get(v["code"]) if v["code"] else None
            if match is None and not v["code"]:
                hits = by_name_phone.get((v["name"], v["phone"]), [])
                if len(hits) > 1:
                    row.errors.append(f"名册中有 {len(hits)} 名同名同号人员，请填写编码以区分")
                match = hits[0] if len(hits) == 1 else None
            if not row.errors:
                row.values = v
                row.mediator_id = match.id if match else None
                row.action = "insert" if match is None else ("update" if _differs(match, v) else "unchanged")
        if row.errors:
            row.action = "error"
        if progress and (i % 20 == 0 or i == len(rows)):
            progress(i, len(rows) * 2)
    return ImportPreview(rows)


def _differs(m: Mediator, v: dict) -> bool:
    if any(getattr(m, k) != v[k] for k in _FIELDS):
        return True
    if v["active_from"] is not None and v["active_from"] != m.active_from:
        return True
    return m.active != v["active"]


@dataclass
class ImportResult:
    inserted: int
    updated: int
    unchanged: int
    preview: ImportPreview

    @property
    def invalid(self) -> list[ImportRow]:
        return self.preview.invalid

    def summary(self) -> str:
        return (f"新增 {self.inserted} 人，更新 {self.updated} 人，无变化 {self.unchanged} 人，"
                f"有误 {len(self.invalid)} 行（未导入）")


def import_roster(session: Session, actor: Actor, raw: bytes,
                  progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Valid rows in (insert or update), invalid rows listed; the same file twice changes nothing."""
    require(actor, "roster.manage")
    preview = parse_import(session, raw, progress)
    total = len(preview.rows)
    taken: set[str] = set()
    inserted, updated, changed_ids = 0, 0, []
    today = clock.today()
    for i, row in enumerate(preview.rows, start=1):
        v = row.values
        if row.action == "insert":
            code = v["code"] or _next_code(session, taken)
            taken.add(code)
            m = Mediator(code=code, active=v["active"], active_from=v["active_from"] or today,
                         active_to=None if v["active"] else today, **{k: v[k] for k in _FIELDS})
            session.add(m)
            _flush(session)
            row.mediator_id = m.id
            inserted += 1
            changed_ids.append(m.id)
        elif row.action == "update":
            m = session.get(Mediator, row.mediator_id)
            for k in _FIELDS:
                setattr(m, k, v[k])
            if v["active_from"] is not None:
                m.active_from = v["active_from"]
            if m.active != v["active"]:
                m.active, m.active_to = v["active"], (None if v["active"] else today)
            updated += 1
            changed_ids.append(m.id)
        if progress and (i % 20 == 0 or i == total):
            progress(total + i, total * 2)
    session.flush()
    result = ImportResult(inserted, updated, preview.count("unchanged"), preview)
    if inserted or updated:
        audit.record(session, actor, "roster.import", "mediator", None, inserted=inserted, updated=updated,
                     unchanged=result.unchanged, invalid=len(result.invalid), ids=changed_ids[:500])
    return result


def error_report_xlsx(rows: list[ImportRow]) -> bytes:
    """The invalid rows as they were uploaded, with the reason, ready to fix and re-import."""
    header = ["原行号"] + [h for _, h, _ in COLUMNS] + ["错误原因"]
    body = [[r.line] + [r.raw.get(k, "") for k, _, _ in COLUMNS] + ["；".join(r.errors)] for r in rows]
    return _xlsx([("导入错误", [header] + body)])


def export_xlsx(session: Session, actor: Actor, flt: RosterFilter | None = None) -> bytes:
    """The filtered roster as 母舅名册 exports it (services.lists.ROSTER: the import template's
    columns plus the figures, phones masked unless allowed); the export is logged."""
    from dataclasses import asdict

    from services import listing, lists
    return listing.export(session, actor, lists.ROSTER, asdict(flt or RosterFilter())).data
