"""The organisation: loading it from a data file, and the look-ups every feature uses."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.config import ROOT
from db.models import (DisputeCategory, GovernanceCentre, Grid, MediationRoom, Mediator,
                       PoliceStation, Township, Village)
from db.models.org import MEDIATOR_KINDS
from services import audit, refdata, settings
from services.errors import ValidationError
from services.roles import Actor, require
from services.validation import normalise_mobile

DEFAULT_ORG_FILE = ROOT / "fixtures" / "org_fengcheng.json"

_SECTIONS = ("city", "categories", "police_stations", "townships", "villages", "governance_centres",
             "mediation_rooms", "mediators", "grids")


def read_org_file(path: Path | str = DEFAULT_ORG_FILE) -> dict:
    return parse_org(Path(path).read_bytes())


SECTION_NAMES = {"city": "城市", "categories": "纠纷类别", "police_stations": "派出所", "townships": "乡镇（街道）",
                 "villages": "村（社区）", "governance_centres": "综治中心", "mediation_rooms": "调解室",
                 "mediators": "人员", "grids": "网格"}
FIELD_NAMES = {"code": "编码", "name": "名称", "short": "简称", "public_phone": "对外电话", "phone": "电话",
               "kind": "类别", "mode": "模式", "police_station": "所属派出所", "township": "所属乡镇",
               "village": "所属村（社区）", "level": "层级", "room": "所属调解室", "centre": "所属综治中心",
               "department": "部门", "specialties": "擅长类别", "background": "人员背景", "grid_worker": "网格员",
               "active": "启用"}
_TYPE_NAMES = {"string": "文字", "array": "列表", "object": "对象", "boolean": "是/否（true/false）",
               "integer": "整数", "null": "空"}


def _section_schema(required: list[str], strings: list[str] = ()) -> dict:
    props = {k: {"type": "string", "minLength": 1} for k in ["code", "name", *required]}
    props.update({k: {"type": ["string", "null"]} for k in strings})
    return {"type": "array", "items": {"type": "object", "required": ["code", "name", *required],
                                       "properties": props}}


ORG_SCHEMA = {
    "type": "object",
    "required": list(_SECTIONS),
    "properties": {
        "city": {"type": "object", "required": ["name"],
                 "properties": {"name": {"type": "string", "minLength": 1}, "short": {"type": "string"},
                                "public_phone": {"type": "string"}}},
        "categories": _section_schema([]),
        "police_stations": _section_schema([], ["phone"]),
        "townships": _section_schema(["kind", "mode"], ["police_station"]),
        "villages": _section_schema(["township", "kind"]),
        "governance_centres": _section_schema(["level"], ["township", "public_phone"]),
        "mediation_rooms": _section_schema(["kind", "township"], ["police_station", "village", "public_phone"]),
        "mediators": _section_schema(["kind", "phone"], ["room", "centre", "township", "department", "background"]),
        "grids": _section_schema(["village"], ["grid_worker"]),
    },
}
ORG_SCHEMA["properties"]["mediators"]["items"]["properties"]["specialties"] = {"type": "array", "items": {"type": "string"}}


def _where(data, path: list) -> str:
    """'乡镇（街道）第 3 项（编码 T03）的“模式”' from a JSON path."""
    if not path:
        return "文件"
    sec = path[0]
    out = SECTION_NAMES.get(sec, f"“{sec}”部分")
    if len(path) > 1 and isinstance(path[1], int):
        row = data.get(sec)[path[1]] if isinstance(data.get(sec), list) else None
        code = row.get("code") if isinstance(row, dict) and isinstance(row.get("code"), str) else None
        out += f"第 {path[1] + 1} 项" + (f"（编码 {code}）" if code else "")
        rest = path[2:]
    else:
        rest = path[1:]
    if rest:
        out += f"的“{FIELD_NAMES.get(rest[0], rest[0])}”"
    return out


def schema_problems(data) -> list[str]:
    """Every shape problem of an organisation file, in Chinese (jsonschema first, before any lookup)."""
    from jsonschema import Draft202012Validator
    problems = []
    for err in sorted(Draft202012Validator(ORG_SCHEMA).iter_errors(data), key=lambda e: list(map(str, e.path))):
        path = list(err.path)
        where = _where(data, path)
        if err.validator == "required":
            missing = [k for k in err.validator_value if not isinstance(err.instance, dict) or k not in err.instance]
            names = "、".join(SECTION_NAMES.get(k) if not path else FIELD_NAMES.get(k, k) for k in missing)
            problems.append(f"{where}缺少{'以下部分' if not path else ''}：{names}。")
        elif err.validator == "type":
            want = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            problems.append(f"{where}应为{'或'.join(_TYPE_NAMES.get(t, t) for t in want if t != 'null')}。")
        elif err.validator == "minLength":
            problems.append(f"{where}不能为空。")
        else:
            problems.append(f"{where}格式不正确。")
    return problems


def parse_org(raw: bytes) -> dict:
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError({"file": "组织机构文件不是 UTF-8 编码的文本，请用导出的 JSON 文件或以 UTF-8 保存后再上传。"}) from None
    except json.JSONDecodeError as exc:
        raise ValidationError({"file": f"组织机构文件不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有格式错误。"}) from None
    if not isinstance(data, dict):
        raise ValidationError({"file": "组织机构文件的顶层须为对象（以 { 开头）。"})
    problems = schema_problems(data)
    if problems:
        raise ValidationError({"file": "组织机构文件有误：\n" + "\n".join(problems[:30])
                               + (f"\n……另有 {len(problems) - 30} 处问题。" if len(problems) > 30 else "")})
    return data


def _check(data: dict) -> list[str]:
    """Every reference resolves; kinds and modes are known; phones are mobiles."""
    errors: list[str] = []
    codes = {sec: {row["code"] for row in data[sec]} for sec in _SECTIONS if sec not in ("city",)}
    for sec in codes:
        if len(codes[sec]) != len(data[sec]):
            errors.append(f"{SECTION_NAMES[sec]}中有重复的编码")

    def ref(sec: str, row: dict, field: str, target: str, required: bool = True) -> None:
        value = row.get(field)
        if value is None and not required:
            return
        if value not in codes[target]:
            errors.append(f"{SECTION_NAMES[sec]} {row.get('code')}：{FIELD_NAMES.get(field, field)}引用了不存在的编码 {value}")

    for t in data["townships"]:
        if t.get("mode") not in ("station", "village"):
            errors.append(f"乡镇 {t.get('code')}：模式须为 station（驻所）或 village（住村）")
        ref("townships", t, "police_station", "police_stations", required=False)
    for v in data["villages"]:
        ref("villages", v, "township", "townships")
    for c in data["governance_centres"]:
        ref("governance_centres", c, "township", "townships", required=c.get("level") == "township")
    for r in data["mediation_rooms"]:
        if r.get("kind") not in ("station", "village"):
            errors.append(f"调解室 {r.get('code')}：类别须为 station（驻所）或 village（住村）")
        ref("mediation_rooms", r, "township", "townships")
        ref("mediation_rooms", r, "police_station", "police_stations", required=r.get("kind") == "station")
        ref("mediation_rooms", r, "village", "villages", required=r.get("kind") == "village")
    for m in data["mediators"]:
        if m.get("kind") not in MEDIATOR_KINDS:
            errors.append(f"人员 {m.get('code')}：类别 {m.get('kind')} 未知")
        if normalise_mobile(m.get("phone", "")) is None:
            errors.append(f"人员 {m.get('code')}：手机号 {m.get('phone')} 不正确")
        ref("mediators", m, "room", "mediation_rooms", required=False)
        ref("mediators", m, "centre", "governance_centres", required=False)
        ref("mediators", m, "township", "townships", required=False)
    for g in data["grids"]:
        ref("grids", g, "village", "villages")
        ref("grids", g, "grid_worker", "mediators", required=False)
    return errors


def load_org(session: Session, data: dict, actor: Actor | None = None) -> dict[str, int]:
    """Insert or update everything by code; never deletes (people keep their history)."""
    if actor is not None:
        require(actor, "org.manage")
    errors = schema_problems(data) or _check(data)
    if errors:
        raise ValidationError({"file": "组织机构文件有误：\n" + "\n".join(errors[:30])})

    def upsert(model, code: str, **values):
        obj = session.scalar(select(model).where(model.code == code))
        if obj is None:
            obj = model(code=code, **values)
            session.add(obj)
        else:
            for k, v in values.items():
                setattr(obj, k, v)
        return obj

    ids: dict[str, dict[str, int]] = {}

    def remember(sec: str, obj) -> None:
        session.flush()
        ids.setdefault(sec, {})[obj.code] = obj.id

    for i, c in enumerate(data["categories"]):
        remember("categories", upsert(DisputeCategory, c["code"], name=c["name"], sort_order=i,
                                      active=c.get("active", True)))
    for p in data["police_stations"]:
        remember("police_stations", upsert(PoliceStation, p["code"], name=p["name"], phone=p.get("phone", "")))
    for t in data["townships"]:
        remember("townships", upsert(Township, t["code"], name=t["name"], kind=t["kind"], mode=t["mode"],
                                     police_station_id=ids["police_stations"].get(t.get("police_station"))))
    for v in data["villages"]:
        remember("villages", upsert(Village, v["code"], name=v["name"], kind=v["kind"],
                                    township_id=ids["townships"][v["township"]]))
    for c in data["governance_centres"]:
        remember("governance_centres", upsert(GovernanceCentre, c["code"], name=c["name"], level=c["level"],
                                              township_id=ids["townships"].get(c.get("township")),
                                              public_phone=c.get("public_phone", "")))
    for r in data["mediation_rooms"]:
        remember("mediation_rooms", upsert(
            MediationRoom, r["code"], name=r["name"], kind=r["kind"],
            police_station_id=ids["police_stations"].get(r.get("police_station")),
            village_id=ids["villages"].get(r.get("village")), township_id=ids["townships"][r["township"]],
            public_phone=r.get("public_phone", "")))
    for m in data["mediators"]:
        remember("mediators", upsert(
            Mediator, m["code"], name=m["name"], kind=m["kind"], phone=normalise_mobile(m["phone"]),
            room_id=ids["mediation_rooms"].get(m.get("room")), centre_id=ids["governance_centres"].get(m.get("centre")),
            township_id=ids["townships"].get(m.get("township")), department=m.get("department", ""),
            specialties=list(m.get("specialties", [])), background=m.get("background", "")))
    for g in data["grids"]:
        remember("grids", upsert(Grid, g["code"], name=g["name"], village_id=ids["villages"][g["village"]],
                                 grid_worker_id=ids["mediators"].get(g.get("grid_worker"))))
    settings.put(session, "city", data["city"])
    counts = {sec: len(data[sec]) for sec in _SECTIONS if sec != "city"}
    audit.record(session, actor, "org.load", "org", None, **counts)
    return counts


# The look-ups below are reference data, read from this process's copy (services/refdata.py), which is
# dropped when a session changes the organisation, the categories or the settings. They return plain
# immutable rows (id, code, name, ...), never ORM objects.
def city(session: Session) -> dict:
    return refdata.setting(session, "city") or {"name": "丰城市", "short": "丰", "public_phone": ""}


def townships(session: Session) -> list[refdata.Town]:
    return refdata.townships(session)


def villages(session: Session, township_id: int) -> list[refdata.Place]:
    return refdata.villages(session, township_id)


def grids(session: Session, village_id: int) -> list[refdata.Place]:
    return refdata.grids(session, village_id)


def categories(session: Session, active_only: bool = True) -> list[refdata.Category]:
    return refdata.categories(session, active_only)


def summary(session: Session) -> dict[str, int]:
    """Counts of each unit kind, for the home and org pages."""
    return refdata.summary(session)


def township_table(session: Session) -> list[dict]:
    """One row per township with its station, centre and counts (grouped in SQL)."""
    village_counts = dict(session.execute(
        select(Village.township_id, func.count()).group_by(Village.township_id)).all())
    room_counts = dict(session.execute(
        select(MediationRoom.township_id, func.count()).group_by(MediationRoom.township_id)).all())
    rows = []
    for t, station in session.execute(
            select(Township, PoliceStation.name).outerjoin(PoliceStation, Township.police_station_id == PoliceStation.id)
            .order_by(Township.code)):
        rows.append({"编码": t.code, "名称": t.name, "类型": t.kind,
                     "模式": "驻所" if t.mode == "station" else "住村", "派出所": station or "",
                     "村/社区": village_counts.get(t.id, 0), "调解室": room_counts.get(t.id, 0)})
    return rows
