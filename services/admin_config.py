"""系统设置 (admin): dispute categories, ladder time limits, arrival clock, follow-up days,
station-room hours. Every write requires "settings.manage" and leaves an audit record
(settings through services.settings.put, categories through services.audit.record).
"""
from __future__ import annotations

import re

from sqlalchemy import String, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Case, DisputeCategory, Mediator
from services import audit, settings
from services.cases import ladder
from services.errors import DomainError, NotFound, ValidationError
from services.roles import Actor, require

NUMBERS = ("arrival_minutes", "follow_up_days")  # the settings that are one number each (tab 时限与服务时间)
API_NUMBERS = ("api_rate_limit",)  # one-number settings of tab 对接平台 (services.api_keys)
NAME_MAX = 30
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,29}$")


# ---------------------------------------------------------------- reading
def current(session: Session) -> dict:
    """The values the settings page shows (defaults filled in)."""
    return {
        "level_time_limits": {**settings.DEFAULTS["level_time_limits"], **settings.get(session, "level_time_limits")},
        **{key: int(settings.get(session, key)) for key in NUMBERS + API_NUMBERS},
        "station_room_hours": dict(settings.get(session, "station_room_hours")),
    }


def list_categories(session: Session) -> list[dict]:
    """All categories in display order with the number of cases using each (one GROUP BY)."""
    used = dict(session.execute(select(Case.category_id, func.count()).group_by(Case.category_id)).all())
    return [{"id": c.id, "code": c.code, "name": c.name, "sort_order": c.sort_order, "active": c.active,
             "cases": used.get(c.id, 0)}
            for c in session.scalars(select(DisputeCategory).order_by(DisputeCategory.sort_order, DisputeCategory.id))]


# ---------------------------------------------------------------- settings
def update_level_time_limits(session: Session, actor: Actor, limits: dict) -> dict:
    """Days allowed at each ladder level (0 = the same day), in the spec's range."""
    require(actor, "settings.manage")
    spec = settings.SPECS["level_time_limits"]
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for level, name in ladder.LEVELS.items():
        days = spec.whole(limits.get(level))
        if days is None:
            errors[f"limit_{level}"] = f"{name}：{spec.refusal()}"
        else:
            clean[level] = days
    unknown = sorted(set(limits) - set(ladder.LEVELS))
    if unknown:
        errors["_"] = f"未知的调解层级：{'、'.join(unknown)}"
    if errors:
        raise ValidationError(errors)
    settings.put(session, "level_time_limits", clean, actor=actor)
    return clean


def update_number(session: Session, actor: Actor, key: str, value) -> int:
    """A one-number setting (arrival_minutes, follow_up_days, api_rate_limit), checked against its
    spec; the refusal names the range and the unit and is shown beside the field named like the key."""
    require(actor, "settings.manage")
    if key not in NUMBERS + API_NUMBERS:
        raise DomainError("未知的设置项。")
    spec = settings.SPECS[key]
    number = spec.whole(value)
    if number is None:
        raise ValidationError({key: spec.refusal()})
    settings.put(session, key, number, actor=actor)
    return number


def update_station_room_hours(session: Session, actor: Actor, open_hour, close_hour) -> dict:
    """Station rooms serve from open to close (local whole hours, open < close); the duty cadre after."""
    require(actor, "settings.manage")
    spec = settings.SPECS["station_room_hours"]
    errors: dict[str, str] = {}
    value = {part: spec.whole(v) for (part, _), v in zip(spec.parts, (open_hour, close_hour))}
    for part, label in spec.parts:
        if value[part] is None:
            errors[f"station_{part}"] = spec.refusal(label)
    if not errors and value["open"] >= value["close"]:
        errors["station_close"] = "结束时间须晚于开始时间。"
    if errors:
        raise ValidationError(errors)
    settings.put(session, "station_room_hours", value, actor=actor)
    return value


# ---------------------------------------------------------------- categories
def _category(session: Session, category_id: int) -> DisputeCategory:
    cat = session.get(DisputeCategory, category_id) if category_id else None
    if cat is None:
        raise NotFound("纠纷类别不存在。")
    return cat


def _clean_name(session: Session, name: str, exclude_id: int | None = None, field: str = "name") -> str:
    name = (name or "").strip()
    if len(name) < 2 or len(name) > NAME_MAX:
        raise ValidationError({field: f"类别名称应为 2–{NAME_MAX} 个字。"})
    clash = session.scalar(select(DisputeCategory.id).where(func.lower(DisputeCategory.name) == name.lower()))
    if clash is not None and clash != exclude_id:
        raise ValidationError({field: f"已有名为“{name}”的类别。"})
    return name


def _new_code(session: Session) -> str:
    n = session.scalar(select(func.count()).select_from(DisputeCategory)) + 1
    while session.scalar(select(DisputeCategory.id).where(DisputeCategory.code == f"cat{n}")) is not None:
        n += 1
    return f"cat{n}"


def add_category(session: Session, actor: Actor, name: str, code: str = "") -> DisputeCategory:
    """A new category at the end of the list. The code (used by mediator specialties) is
    given in lower-case letters, digits and underscores, or generated."""
    require(actor, "settings.manage")
    name = _clean_name(session, name)
    code = (code or "").strip()
    if code:
        if not _CODE.match(code):
            raise ValidationError({"code": "编码须以小写字母开头，由小写字母、数字或下划线组成（2–30 位）。"})
        if session.scalar(select(DisputeCategory.id).where(DisputeCategory.code == code)) is not None:
            raise ValidationError({"code": f"编码 {code} 已被使用。"})
    else:
        code = _new_code(session)
    last = session.scalar(select(func.max(DisputeCategory.sort_order))) or 0
    cat = DisputeCategory(code=code, name=name, sort_order=last + 1, active=True)
    session.add(cat)
    session.flush()
    audit.record(session, actor, "category.add", "dispute_category", cat.id, code=code, name=name)
    return cat


def rename_category(session: Session, actor: Actor, category_id: int, name: str) -> DisputeCategory:
    require(actor, "settings.manage")
    cat = _category(session, category_id)
    name = _clean_name(session, name, exclude_id=cat.id, field="rename")
    old = cat.name
    cat.name = name
    session.flush()
    audit.record(session, actor, "category.rename", "dispute_category", cat.id, old=old, new=name)
    return cat


def move_category(session: Session, actor: Actor, category_id: int, step: int) -> None:
    """Move one place up (step -1) or down (+1); the order is renumbered 1..n."""
    require(actor, "settings.manage")
    if step not in (-1, 1):
        raise ValidationError({"step": "只能上移或下移一位。"})
    cats = list(session.scalars(select(DisputeCategory).order_by(DisputeCategory.sort_order, DisputeCategory.id)))
    i = next((k for k, c in enumerate(cats) if c.id == category_id), None)
    if i is None:
        raise NotFound("纠纷类别不存在。")
    j = i + step
    if not 0 <= j < len(cats):
        raise DomainError("已在最前，不能上移。" if step < 0 else "已在最后，不能下移。")
    cats[i], cats[j] = cats[j], cats[i]
    for k, c in enumerate(cats, start=1):
        c.sort_order = k
    session.flush()
    audit.record(session, actor, "category.reorder", "dispute_category", category_id, step=step,
                 order=[c.code for c in cats])


def set_category_active(session: Session, actor: Actor, category_id: int, active: bool) -> DisputeCategory:
    """Deactivate (hidden from new registrations, kept on old cases) or reactivate."""
    require(actor, "settings.manage")
    cat = _category(session, category_id)
    if not active and cat.active:
        others = session.scalar(select(func.count()).select_from(DisputeCategory)
                                .where(DisputeCategory.active.is_(True), DisputeCategory.id != cat.id))
        if not others:
            raise DomainError("至少保留一个启用的纠纷类别。")
    cat.active = bool(active)
    session.flush()
    audit.record(session, actor, "category.activate" if active else "category.deactivate", "dispute_category",
                 cat.id, name=cat.name)
    return cat


def category_in_use(session: Session, cat: DisputeCategory) -> str | None:
    """Why the category cannot be deleted, or None."""
    cases = session.scalar(select(func.count()).select_from(Case).where(Case.category_id == cat.id))
    if cases:
        return f"类别“{cat.name}”已有 {cases} 件案件使用，不能删除，可以停用。"
    pattern = f'%"{cat.code}"%'
    people = session.scalar(select(func.count()).select_from(Mediator)
                            .where(cast(Mediator.specialties, String).like(pattern)))
    if people:
        return f"类别“{cat.name}”是 {people} 名调解员的擅长领域，不能删除，可以停用。"
    return None


def delete_category(session: Session, actor: Actor, category_id: int) -> None:
    """Delete a category nobody uses (a typo just added); anything in use can only be deactivated."""
    require(actor, "settings.manage")
    cat = _category(session, category_id)
    why = category_in_use(session, cat)
    if why:
        raise DomainError(why)
    name, code = cat.name, cat.code
    try:
        with session.begin_nested():
            session.delete(cat)
            session.flush()
    except IntegrityError:  # referenced from a table added later (e.g. another feature's records)
        raise DomainError(f"类别“{name}”已被其他记录引用，不能删除，可以停用。") from None
    audit.record(session, actor, "category.delete", "dispute_category", category_id, code=code, name=name)
