"""One shape for every list the portal shows (and exports): columns, a feeding function, pages.

A list is a `ListDef`: its Chinese name, its columns (header, the row field, a format) and the
service function that feeds it. That function is called as

    fetch(session, actor, filters: dict, request: PageRequest) -> Page

with the filter values by name and the page wanted, and returns the rows of that page (plain
dicts, already masked for the actor's role), the total when it is known, and the token of the
next page. The screen (components/lists.py) and the Excel export call the same function, so the
file holds exactly what the screen would show, page after page.

Paging is "next / previous" only: a page is named by the token the previous page returned (None
for the first). Offset paging returns the next offset (`offset_page`); a keyset list (the case
list, the audit trail) returns the key of the last row it showed, so a deep page costs what the
first does, and may offer `jump` (a date -> the token of the page starting at that date). The
component keeps a stack of tokens, so a list can move to keyset paging without any change to the
screen.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from services.roles import Actor, may

FORMATS = ("text", "int", "decimal", "percent", "yuan", "date", "datetime", "list")


@dataclass(frozen=True)
class Column:
    header: str  # Chinese, as the table and the file show it
    field: str  # the key in the row dict
    format: str = "text"  # one of FORMATS: how the screen writes it and which number format the file gets
    personal: bool = False  # holds personal data (the feeding function masks it per role)
    on_screen: bool = True  # False: in the exported file only (e.g. a login name, an import code)
    in_file: bool = True  # False: on screen only (a duration in words, exported as a number beside it)

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(self.format)


@dataclass(frozen=True)
class PageRequest:
    size: int = 20
    token: Any = None  # None: the first page; otherwise the `next` of the page before
    count: bool = True  # False: the caller knows the total already (a later page): lists may skip counting


@dataclass
class Page:
    rows: list[dict]
    total: int | None = None  # None when counting would cost too much (keyset lists)
    next: Any = None  # the token of the following page; None on the last page
    estimated: bool = False  # `total` is an estimate (shown as 约 N)


Fetch = Callable[[Session, Actor, dict, PageRequest], Page]


@dataclass(frozen=True)
class ListDef:
    name: str  # 案件列表, 超时预警 …: the title line and the file name of an export
    columns: tuple[Column, ...]
    fetch: Fetch
    personal_permission: str | None = None  # the permission that shows the personal columns unmasked
    export_action: str | None = None  # an export always logged under this action (else see `audit_action`)
    max_batch: int = 200  # the largest page the feeding function serves (exports read in batches of this)
    max_rows: int | None = None  # an export stops here (said in its title line)
    jump: Callable[[Any], Any] | None = None  # a date -> the token of the page starting there (keyset lists)

    @property
    def screen_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.on_screen)

    @property
    def file_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.in_file)

    @property
    def personal(self) -> bool:
        return any(c.personal for c in self.columns)

    def audit_action(self, role: str) -> str | None:
        """How an export by this role is logged: the list's own action, else 导出个人信息 when the
        file holds personal data the role sees unmasked, else not at all."""
        if self.export_action:
            return self.export_action
        if self.personal and (self.personal_permission is None or may(role, self.personal_permission)):
            return "personal.export"
        return None


# ------------------------------------------------------------------ offset paging helpers
def offset_of(request: PageRequest) -> int:
    return max(0, int(request.token or 0))


def offset_page(rows: list[dict], total: int, request: PageRequest) -> Page:
    """A page found by offset: the next token is the next offset, None after the last row."""
    end = offset_of(request) + len(rows)
    return Page(rows, total, end if rows and end < total else None)


def page_number(request: PageRequest) -> int:
    """The 1-based page number of an offset request (for services that take page numbers)."""
    return offset_of(request) // max(1, request.size) + 1


def slice_page(rows: list[dict], request: PageRequest) -> Page:
    """A page of a short list held in memory (a week of duty, the user accounts)."""
    start = offset_of(request)
    return offset_page(rows[start:start + request.size], len(rows), request)


def all_rows(session: Session, actor: Actor, spec: ListDef, filters: dict,
             batch: int | None = None) -> Iterator[dict]:
    """Every row matching the filters, read page by page through the list's own function."""
    request = PageRequest(size=min(batch or spec.max_batch, spec.max_batch))
    while True:
        page = spec.fetch(session, actor, filters, request)
        yield from page.rows
        if page.next is None or not page.rows:
            return
        request = PageRequest(size=request.size, token=page.next)


# ------------------------------------------------------------------ 导出 Excel
def export(session: Session, actor: Actor, spec: ListDef, filters: dict, filter_text: str = "全部",
           name: str | None = None):
    """All rows matching the filters (read in batches through the list's function, so masked
    exactly as on screen) as an Excel file named for the list and the day; its title line names
    the list, the filters and the export time. Logged when it holds personal data (see
    `ListDef.audit_action`) or when the list always logs its exports."""
    from services import audit, clock, exports
    from services.metrics.dashboard import Export

    name = name or spec.name
    now = clock.local(clock.now())
    rows = all_rows(session, actor, spec, filters)
    if spec.max_rows:
        rows = islice(rows, spec.max_rows)
    cut = f"，至多导出 {spec.max_rows:,} 条" if spec.max_rows else ""
    title = f"{name}（筛选条件：{filter_text}；导出时间：{now:%Y-%m-%d %H:%M}；共 {{rows}} 条{cut}）"
    data, n = exports.list_workbook(name, title, spec.file_columns, rows)
    action = spec.audit_action(actor.role)
    if action:
        detail = {"rows": n}
        if spec.personal:
            full = spec.personal_permission is None or may(actor.role, spec.personal_permission)
            detail["personal"] = "full" if full else "masked"
        audit.record(session, actor, action, "export", None, f"筛选条件：{filter_text}", label=name, **detail)
    return Export(exports.list_filename(name, now.date()), data)
