"""The page registry: every page, its menu section and the roles that may open it.

`st.navigation` is built from this list on every rerun, so a page missing from a role's
list cannot be opened by that role, not even by typing its URL.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.roles import ADMIN, LEADER, MEDIATOR, STAFF, TASKFORCE, TRAINER

ALL = frozenset({ADMIN, STAFF, LEADER, TASKFORCE, MEDIATOR, TRAINER})
CASE_ROLES = frozenset({STAFF, LEADER, TASKFORCE, MEDIATOR, TRAINER})  # mediators: their own cases only
OVERSIGHT = frozenset({STAFF, LEADER, TASKFORCE, TRAINER})


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    section: str
    roles: frozenset[str]

    @property
    def url_path(self) -> str:
        return self.path.removeprefix("pages/").removesuffix(".py")


PAGES: list[PageSpec] = [
    PageSpec("pages/home.py", "工作台", ":material/home:", "首页", ALL),
    # cases: the closed loop
    PageSpec("pages/case_intake.py", "案件登记", ":material/add_circle:", "案件办理", frozenset({STAFF, MEDIATOR})),
    PageSpec("pages/case_list.py", "案件列表", ":material/list_alt:", "案件办理", CASE_ROLES),
    PageSpec("pages/case_detail.py", "案件详情", ":material/description:", "案件办理", CASE_ROLES),
    PageSpec("pages/ladder_board.py", "分级调处看板", ":material/view_kanban:", "案件办理", CASE_ROLES),
    PageSpec("pages/follow_up.py", "回访", ":material/call:", "案件办理", OVERSIGHT),
    PageSpec("pages/overdue.py", "超时预警", ":material/alarm:", "案件办理", CASE_ROLES),
    PageSpec("pages/flowchart.py", "流程图", ":material/account_tree:", "案件办理", ALL),
    # roster and duty
    PageSpec("pages/roster.py", "母舅名册", ":material/groups:", "母舅与值班", ALL),
    PageSpec("pages/duty.py", "值班安排", ":material/calendar_month:", "母舅与值班", ALL),
    # dispute codes and online services
    PageSpec("pages/online_services.py", "线上服务", ":material/support_agent:", "解纷码与线上服务", OVERSIGHT),
    PageSpec("pages/video_links.py", "视频连线", ":material/videocam:", "解纷码与线上服务", OVERSIGHT),
    # dashboards and assessment
    PageSpec("pages/dashboard.py", "领导驾驶舱", ":material/monitoring:", "驾驶舱与考核", OVERSIGHT),
    PageSpec("pages/assessment.py", "考核排名", ":material/leaderboard:", "驾驶舱与考核", OVERSIGHT | {ADMIN}),
    PageSpec("pages/awards.py", "奖惩登记", ":material/military_tech:", "驾驶舱与考核", frozenset({TASKFORCE, LEADER, TRAINER})),
    # task force instruments
    PageSpec("pages/notices.py", "风险提示与督办", ":material/campaign:", "专班工作", OVERSIGHT),
    PageSpec("pages/meetings.py", "协调会", ":material/groups_3:", "专班工作", OVERSIGHT),
    PageSpec("pages/bulletins.py", "工作专报", ":material/newspaper:", "专班工作", OVERSIGHT),
    # administration
    PageSpec("pages/admin_settings.py", "系统设置", ":material/settings:", "系统管理", frozenset({ADMIN})),
    PageSpec("pages/admin_users.py", "用户管理", ":material/manage_accounts:", "系统管理", frozenset({ADMIN})),
    PageSpec("pages/org.py", "组织机构", ":material/account_tree:", "系统管理", frozenset({ADMIN, STAFF, TASKFORCE, LEADER, TRAINER})),
    PageSpec("pages/audit_log.py", "操作日志", ":material/history:", "系统管理", frozenset({ADMIN})),
    PageSpec("pages/demo_reset.py", "演示数据", ":material/restart_alt:", "系统管理", frozenset({ADMIN, TRAINER})),
]


def pages_for(role: str) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]
