"""The page registry: every page, its menu section and the roles that may open it.

`st.navigation` is built from this list on every rerun, so a page missing from a role's
list cannot be opened by that role, not even by typing its URL.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.roles import ADMIN, LEADER, MEDIATOR, STAFF, TASKFORCE, TRAINER

ALL = frozenset({ADMIN, STAFF, LEADER, TASKFORCE, MEDIATOR, TRAINER})
READERS = frozenset({ADMIN, STAFF, LEADER, TASKFORCE, TRAINER})  # every case, read at least


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
    # --- cases (issue: the closed loop) ---
    # --- roster and duty ---
    # --- dispute codes and online services ---
    # --- dashboards and assessment ---
    # --- task force instruments ---
    # --- administration ---
    PageSpec("pages/admin_users.py", "用户管理", ":material/manage_accounts:", "系统管理", frozenset({ADMIN})),
    PageSpec("pages/org.py", "组织机构", ":material/account_tree:", "系统管理", frozenset({ADMIN, STAFF, TASKFORCE, LEADER, TRAINER})),
    PageSpec("pages/audit_log.py", "操作日志", ":material/history:", "系统管理", frozenset({ADMIN})),
    PageSpec("pages/demo_reset.py", "演示数据", ":material/restart_alt:", "系统管理", frozenset({ADMIN, TRAINER})),
]


def pages_for(role: str) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]
