"""Roles and what each may do. Pages ask `may(role, action)`; services call `require`."""
from __future__ import annotations

from dataclasses import dataclass

from services.errors import PermissionDenied

ADMIN = "admin"
STAFF = "staff"
LEADER = "leader"
TASKFORCE = "taskforce"
MEDIATOR = "mediator"
TRAINER = "trainer"
# The 110 and 12345 platforms posting calls through /api/v1 (web/api.py). No account has this
# role and it is not in ROLES (so 用户管理 never offers it); it may only register cases.
PLATFORM = "platform"

ROLES: dict[str, str] = {
    ADMIN: "管理员",
    STAFF: "综治中心工作人员",
    LEADER: "领导",
    TASKFORCE: "专班",
    MEDIATOR: "母舅调解员",
    TRAINER: "培训",
}

# action -> roles allowed. Leaders and trainers never write case or roster data.
ACTIONS: dict[str, frozenset[str]] = {
    "user.manage": frozenset({ADMIN}),
    "org.manage": frozenset({ADMIN}),
    "settings.manage": frozenset({ADMIN}),
    "api.keys": frozenset({ADMIN}),  # 系统设置 → 对接平台: create and revoke the platforms' API keys
    "demo.reset": frozenset({ADMIN, TRAINER}),
    "case.register": frozenset({STAFF, MEDIATOR, PLATFORM}),
    "case.dispatch": frozenset({STAFF, MEDIATOR}),
    "case.route_override": frozenset({STAFF}),
    "case.mediate": frozenset({STAFF, MEDIATOR, TASKFORCE}),
    "case.follow_up": frozenset({TASKFORCE, STAFF}),
    "case.close": frozenset({TASKFORCE, STAFF}),
    "case.view_personal": frozenset({ADMIN, STAFF, TASKFORCE, MEDIATOR}),
    # 培训: the case papers as masked specimens (培训样本), never the legal record with personal data
    "case.papers_specimen": frozenset({TRAINER}),
    "roster.manage": frozenset({ADMIN, STAFF}),
    "duty.manage": frozenset({ADMIN, STAFF}),
    "roster.view_phone": frozenset({ADMIN, STAFF, TASKFORCE, MEDIATOR}),
    "code.manage": frozenset({STAFF}),
    "online.handle": frozenset({STAFF, TASKFORCE}),
    "video.log": frozenset({STAFF, TASKFORCE}),
    "taskforce.issue": frozenset({TASKFORCE}),
    "assessment.manage": frozenset({TASKFORCE}),
    "assessment.weights": frozenset({ADMIN}),
    "audit.read": frozenset({ADMIN, TASKFORCE}),  # 操作日志: the admin, and the task force read-only
}

READ_ONLY_ROLES = frozenset({LEADER, TRAINER})
# roles of actors that are not accounts, with the name the audit log and the case timeline show
SYSTEM_ROLES: dict[str, str] = {PLATFORM: "对接平台"}


@dataclass(frozen=True)
class Actor:
    """Who is acting: built from the logged-in user on every rerun; holds ids only."""

    user_id: int | None
    username: str
    role: str
    display_name: str = ""
    mediator_id: int | None = None
    township_id: int | None = None
    mediator_kind: str | None = None  # a mediator account's kind (station / village ...), for its menu


SYSTEM = Actor(user_id=None, username="system", role=ADMIN, display_name="系统")


def may(role: str, action: str) -> bool:
    return role in ACTIONS.get(action, frozenset())


def require(actor: Actor, action: str) -> None:
    """Refuse the action for the actor's role. The caller's transaction rolls back; whoever catches
    the refusal (components.context.run_action) records a security event with `exc.action`."""
    if not may(actor.role, action):
        if actor.role in READ_ONLY_ROLES:
            exc = PermissionDenied(f"{ROLES.get(actor.role, actor.role)}账号为只读，不能进行此操作。")
        else:
            exc = PermissionDenied("您的角色无权进行此操作。")
        exc.action = action
        raise exc


def role_name(role: str) -> str:
    """The Chinese name of a role, the platforms' included (对接平台)."""
    return ROLES.get(role) or SYSTEM_ROLES.get(role, role)


def person_name(actor: Actor) -> str:
    """The name a record or a document shows for who did it: never the login name."""
    return actor.display_name or ROLES.get(actor.role, "系统")
