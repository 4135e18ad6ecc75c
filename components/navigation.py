"""The page registry: one role × page table, the source of every role's menu and of the README's
roles section (`roles_table_markdown`; tests/test_navigation.py checks the README against it).

`st.navigation` is built from this table on every rerun, so a page missing from a role's list
cannot be opened by that role, not even by typing its URL; each page's guard re-checks it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.roles import ADMIN, LEADER, MEDIATOR, ROLES, STAFF, TASKFORCE, TRAINER, Actor

W, R = "办理", "只读"  # a role works on the page, or only reads it

# columns of the table, in this order
ROLE_ORDER = (ADMIN, STAFF, LEADER, TASKFORCE, MEDIATOR, TRAINER)


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    section: str
    access: dict[str, str] = field(hash=False)  # role -> W or R
    station_mediators_only: bool = False  # mediator accounts of village rooms do not get it
    demo_only: bool = False  # absent from every menu in production mode

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.access)

    @property
    def url_path(self) -> str:
        return self.path.removeprefix("pages/").removesuffix(".py")


def _a(**roles: str) -> dict[str, str]:
    return dict(roles)


CASES = _a(staff=W, leader=R, taskforce=W, mediator=W, trainer=R)  # mediators: their own cases only
OVERSIGHT = _a(staff=W, leader=R, taskforce=W, trainer=R)
EVERYONE = _a(admin=W, staff=W, leader=R, taskforce=W, mediator=W, trainer=R)

PAGES: list[PageSpec] = [
    PageSpec("pages/home.py", "工作台", ":material/home:", "首页", EVERYONE),
    # cases: the closed loop
    PageSpec("pages/case_intake.py", "案件登记", ":material/add_circle:", "案件办理", _a(staff=W, mediator=W, trainer=R),
             station_mediators_only=True),
    PageSpec("pages/case_list.py", "案件列表", ":material/list_alt:", "案件办理", CASES),
    PageSpec("pages/case_detail.py", "案件详情", ":material/description:", "案件办理", CASES),
    PageSpec("pages/ladder_board.py", "分级调处看板", ":material/view_kanban:", "案件办理", CASES),
    PageSpec("pages/follow_up.py", "回访", ":material/call:", "案件办理", OVERSIGHT),
    PageSpec("pages/overdue.py", "超时预警", ":material/alarm:", "案件办理", CASES),
    PageSpec("pages/flowchart.py", "流程图", ":material/account_tree:", "案件办理",
             _a(admin=R, staff=R, leader=R, taskforce=R, mediator=R, trainer=R)),
    # roster and duty
    PageSpec("pages/roster.py", "母舅名册", ":material/groups:", "母舅与值班",
             _a(admin=W, staff=W, leader=R, taskforce=R, mediator=R, trainer=R)),
    PageSpec("pages/duty.py", "值班安排", ":material/calendar_month:", "母舅与值班",
             _a(admin=W, staff=W, leader=R, taskforce=R, mediator=R, trainer=R)),
    # dispute codes and online services
    PageSpec("pages/online_services.py", "线上服务", ":material/support_agent:", "解纷码与线上服务", OVERSIGHT),
    PageSpec("pages/video_links.py", "视频连线", ":material/videocam:", "解纷码与线上服务", OVERSIGHT),
    # dashboards and assessment
    PageSpec("pages/dashboard.py", "领导驾驶舱", ":material/monitoring:", "驾驶舱与考核",
             _a(staff=R, leader=R, taskforce=R, trainer=R)),
    PageSpec("pages/assessment.py", "考核排名", ":material/leaderboard:", "驾驶舱与考核",
             _a(admin=W, staff=R, leader=R, taskforce=W, trainer=R)),
    PageSpec("pages/awards.py", "奖惩登记", ":material/military_tech:", "驾驶舱与考核", _a(leader=R, taskforce=W, trainer=R)),
    # task force instruments
    PageSpec("pages/notices.py", "风险提示与督办", ":material/campaign:", "专班工作", _a(staff=R, leader=R, taskforce=W, trainer=R)),
    PageSpec("pages/meetings.py", "协调会", ":material/groups_3:", "专班工作", _a(staff=R, leader=R, taskforce=W, trainer=R)),
    PageSpec("pages/bulletins.py", "工作专报", ":material/newspaper:", "专班工作", _a(staff=R, leader=R, taskforce=W, trainer=R)),
    # administration
    PageSpec("pages/admin_settings.py", "系统设置", ":material/settings:", "系统管理", _a(admin=W)),
    PageSpec("pages/admin_users.py", "用户管理", ":material/manage_accounts:", "系统管理", _a(admin=W)),
    PageSpec("pages/org.py", "组织机构", ":material/account_tree:", "系统管理", _a(admin=W)),
    PageSpec("pages/audit_log.py", "操作日志", ":material/history:", "系统管理", _a(admin=W, taskforce=R)),
    PageSpec("pages/demo_reset.py", "演示数据", ":material/restart_alt:", "系统管理", _a(admin=W, trainer=W),
             demo_only=True),
]


def allowed(spec: PageSpec, role: str, mediator_kind: str | None = None, mode: str = "demo") -> bool:
    if role not in spec.access:
        return False
    if spec.demo_only and mode != "demo":
        return False
    if spec.station_mediators_only and role == MEDIATOR and mediator_kind != "station":
        return False
    return True


def pages_for(role: str, mediator_kind: str | None = "station", mode: str = "demo") -> list[PageSpec]:
    return [p for p in PAGES if allowed(p, role, mediator_kind, mode)]


def pages_for_actor(actor: Actor, mode: str) -> list[PageSpec]:
    return pages_for(actor.role, actor.mediator_kind, mode)


def roles_table_markdown() -> str:
    """The README's role × page table, generated from PAGES."""
    head = "| 页面 | " + " | ".join(f"{ROLES[r]} {r}" for r in ROLE_ORDER) + " |"
    lines = [head, "|---|" + "---|" * len(ROLE_ORDER)]
    for p in PAGES:
        cells = []
        for r in ROLE_ORDER:
            cell = p.access.get(r, "")
            if cell and r == MEDIATOR and p.station_mediators_only:
                cell += "（仅驻所母舅）"
            if cell and p.demo_only:
                cell += "（仅演示模式）"
            cells.append(cell)
        lines.append(f"| {p.title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
