"""The escalation ladders and the case state machine, as data (DOMAIN.md "The escalation ladders").

Urban 驻所:  现场调解 → 驻所母舅调解室 → 市综治中心 → 引导司法程序
Rural 住村:  现场调解 → 住村母舅工作室 → 乡镇综治中心 → 市综治中心（线上）→ 引导司法程序

Everything that decides whether a move is allowed lives here; services.workflow applies it.
"""
from __future__ import annotations

from dataclasses import dataclass

# level code -> name in the UI
LEVELS: dict[str, str] = {
    "onsite": "现场调解",
    "station_room": "驻所母舅调解室",
    "village_room": "住村母舅工作室",
    "township": "乡镇综治中心",
    "city": "市综治中心",
    "court": "引导司法程序",
}

LADDERS: dict[str, tuple[str, ...]] = {
    "station": ("onsite", "station_room", "city", "court"),
    "village": ("onsite", "village_room", "township", "city", "court"),
}

MODE_NAMES = {"station": "驻所", "village": "住村"}


def level_name(mode: str, level: str) -> str:
    if mode == "village" and level == "city":
        return "市综治中心（线上）"
    return LEVELS[level]


# status code -> (name, category). Code asks for the category, not a list of names.
OPEN, RESOLVED, CLOSED = "open", "resolved", "closed"
STATUSES: dict[str, tuple[str, str]] = {
    "registered": ("待调度", OPEN),
    "mediating": ("调解中", OPEN),
    "settled": ("调解成功", RESOLVED),
    "litigation": ("已引导诉讼", RESOLVED),
    "terminated": ("已终止", RESOLVED),
    "closed": ("已闭环", CLOSED),
}


def status_name(status: str) -> str:
    return STATUSES[status][0]


def statuses_in(category: str) -> tuple[str, ...]:
    return tuple(code for code, (_, cat) in STATUSES.items() if cat == category)


TERMINATION_REASONS = {
    "withdrawn": "当事人撤回",
    "not_dispute": "不属于矛盾纠纷",
    "other_authority": "移交其他部门处理",
    "other": "其他",
}

# action -> (name, statuses it may start from)
ACTION_NAMES = {
    "register": "登记受理",
    "dispatch": "调度派员",
    "transfer": "移送上一级",
    "settle": "调解成功",
    "terminate": "终止",
    "litigate": "引导诉讼",
    "follow_up": "回访",
    "reopen": "回访后重新调处",
    "close": "闭环归档",
    "reroute": "改派调解室",
    "arrive": "到场",
    "add_dispatch": "增派人员",
    "police": "民警到场/移交",
}


@dataclass(frozen=True)
class Move:
    action: str
    to_level: str
    to_status: str


def next_level(mode: str, level: str) -> str | None:
    ladder = LADDERS[mode]
    i = ladder.index(level)
    return ladder[i + 1] if i + 1 < len(ladder) else None


def allowed_moves(mode: str, level: str, status: str, followed_up_ok: bool = False) -> dict[str, Move]:
    """The ladder moves possible from a state (follow-ups and closing included)."""
    moves: dict[str, Move] = {}
    if level not in LADDERS[mode]:
        return moves
    if status == "registered":
        moves["dispatch"] = Move("dispatch", level, "mediating")
        moves["terminate"] = Move("terminate", level, "terminated")
    elif status == "mediating":
        if level == "court":
            moves["litigate"] = Move("litigate", level, "litigation")
        else:
            moves["settle"] = Move("settle", level, "settled")
            nxt = next_level(mode, level)
            if nxt is not None:
                moves["transfer"] = Move("transfer", nxt, "mediating")
        moves["terminate"] = Move("terminate", level, "terminated")
    elif status == "settled":
        moves["follow_up"] = Move("follow_up", level, "settled")
        moves["reopen"] = Move("reopen", level, "mediating")
        if followed_up_ok:
            moves["close"] = Move("close", level, "closed")
    elif status in ("terminated", "litigation"):
        moves["close"] = Move("close", level, "closed")
    return moves


def check_move(mode: str, level: str, status: str, action: str, followed_up_ok: bool = False) -> Move:
    """The move, or a Chinese reason why it is not allowed (raised as IllegalTransition)."""
    from services.errors import IllegalTransition
    moves = allowed_moves(mode, level, status, followed_up_ok)
    if action in moves:
        return moves[action]
    where = f"{level_name(mode, level)}·{status_name(status)}"
    if action == "close" and status == "settled":
        raise IllegalTransition("调解成功的案件须先完成回访且当事人满意、协议履行，才能闭环。")
    if action == "transfer" and status == "mediating" and next_level(mode, level) is None:
        raise IllegalTransition("案件已在最后一级，不能再移送。")
    if action == "settle" and level == "court":
        raise IllegalTransition("已进入引导司法程序，只能记录引导诉讼或终止。")
    raise IllegalTransition(f"当前状态（{where}）不能执行“{ACTION_NAMES.get(action, action)}”。")


def stage_label(mode: str, level: str, status: str) -> str:
    """Plain words for the current stage (used on the case card and the public page)."""
    if status == "registered":
        return "已受理，正在调度"
    if status == "mediating":
        return f"{level_name(mode, level)}中" if level != "court" else "正在引导司法程序"
    return status_name(status)
