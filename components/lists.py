"""One list component for every list screen: filters, a search box, the table, 上一页/下一页, the
record picker with its actions (open a record by id), and 导出 Excel of all matching rows.

A page declares what it lists and calls `show`:

    listed = lists.show(lists.ListView(
        "cl", services.lists.CASES,                      # widget-key scope and the list (columns + service)
        filters=[lists.Filter("township_id", "乡镇（街道）", towns), ...],
        search="案件编号、110 警情编号或 12345 工单号", page_size=20,
        pick="打开案件", pick_label=lambda r: r["number"],
        actions=[lists.Action("open", "打开", open_case)]))
    listed.rows, listed.picked                           # the page on screen, the chosen record's id

Widget keys are `{scope}_{name}` (`cl_township_id`, `cl_search`, `cl_next`, `cl_pick`); the
picker is `forms.pick_record`, so the chosen record is held by id. A change of any filter goes
back to the first page. Pages are a stack of the tokens the service returned (services.listing),
hence only "previous" and "next".
"""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from components import forms
from components.dates import ANY_DATE
from components.context import actor, db
from components.tables import dataframe, one_decimal, percent, red_rows, yuan
from services import clock, exports, listing
from services.listing import Column, ListDef, Page, PageRequest

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Filter:
    """One filter widget. `options` maps a value to its Chinese label (select and multi)."""
    key: str  # the name the list's service reads; the widget key is `{scope}_{key}`
    label: str
    options: dict = field(default_factory=dict)
    kind: str = "select"  # select (None = 全部) | multi | dates (a range) | text | check
    default: Any = None


@dataclass(frozen=True)
class Action:
    """A button acting on the picked record: `run(record_id)`."""
    key: str
    label: str
    run: Callable[[Hashable], None]
    icon: str = ":material/open_in_new:"


@dataclass
class ListView:
    scope: str
    spec: ListDef
    filters: Sequence[Filter] = ()
    search: str | None = None  # the search box's placeholder; None: no search box
    search_label: str = "搜索"
    page_size: int = 20
    fixed: dict = field(default_factory=dict)  # filter values the page decides (not widgets)
    fixed_text: str = ""  # how the export's title line names them
    filters_in: str | None = None  # fold the filters into an expander with this title
    unit: str = "条"  # 共 N 件 / 条 / 人
    note: str = ""  # said after the count (the order, what the figures mean)
    empty: str = "没有符合条件的记录。"
    pick: str | None = None  # label of the record picker; None: no picker
    pick_scope: str | None = None  # the picker's scope (default: the list's)
    pick_label: Callable[[dict], str] = lambda r: str(r["id"])
    actions: Sequence[Action] = ()
    row_click: Callable[[Hashable], None] | None = None  # a click on a table row runs this with the row's id
    red: str | None = None  # rows whose field is true are drawn in red
    export: bool = True  # 导出 Excel of every matching row (not only this page)
    export_name: str | None = None  # the file's and title line's name (default: the list's)
    jump: str | None = None  # label of a date box that starts the list at that date (keyset lists)


@dataclass
class Listed:
    page: Page
    filters: dict  # the values the service was given
    picked: Hashable | None = None

    @property
    def rows(self) -> list[dict]:
        return self.page.rows


# ------------------------------------------------------------------ filters
def _widget(view: ListView, f: Filter, where):
    key = f"{view.scope}_{f.key}"
    if f.kind == "select":
        opts = list(f.options)
        return where.selectbox(f.label, opts, index=opts.index(f.default) if f.default in opts else None,
                               format_func=lambda v: f.options.get(v, str(v)), key=key, placeholder="全部")
    if f.kind == "multi":
        return where.multiselect(f.label, list(f.options), default=f.default or [], key=key,
                                 format_func=lambda v: f.options.get(v, str(v)), placeholder="全部（可多选）",
                                 select_all=False)
    if f.kind == "dates":
        return where.date_input(f.label, value=f.default or (), key=key, format="YYYY-MM-DD")
    if f.kind == "text":
        return where.text_input(f.label, key=key, max_chars=60)
    if f.kind == "check":
        return where.checkbox(f.label, value=bool(f.default), key=key)
    raise ValueError(f.kind)


def _value_text(f: Filter, value) -> str:
    if f.kind == "multi":
        return "、".join(str(f.options.get(v, v)) for v in value)
    if f.kind == "dates":
        start, end = (tuple(value) + (None, None))[:2] if isinstance(value, (tuple, list)) else (value, value)
        return f"{start or '…'} 至 {end or '…'}"
    if f.kind == "check":
        return "是"
    if f.kind == "text":
        return f"含“{value}”"
    return str(f.options.get(value, value))


def _blank(f: Filter, value) -> bool:
    if f.kind == "check":
        return not value
    return value is None or (isinstance(value, (str, list, tuple)) and not value)


def _filters(view: ListView) -> tuple[dict, str]:
    """The filter values by name, and the same in words (for the export's title line)."""
    values: dict = {}
    if view.search is not None:
        values["search"] = st.text_input(view.search_label, key=f"{view.scope}_search", placeholder=view.search,
                                         max_chars=60)
    if view.filters:
        box = st.expander(view.filters_in) if view.filters_in else st.container()
        with box:
            per_row = 4
            for start in range(0, len(view.filters), per_row):
                chunk = view.filters[start:start + per_row]
                for f, col in zip(chunk, st.columns(len(chunk) if len(view.filters) > 1 else 1)):
                    values[f.key] = _widget(view, f, col)
    words = [f"{f.label}：{_value_text(f, values[f.key])}" for f in view.filters if not _blank(f, values[f.key])]
    if values.get("search"):
        words.insert(0, f"{view.search_label}：“{values['search'].strip()}”")
    if view.fixed_text:
        words.insert(0, view.fixed_text)
    return {**values, **view.fixed}, "；".join(words) or "全部"


# ------------------------------------------------------------------ cells as the screen writes them
def screen_cell(column: Column, value):
    if value is None:
        return None
    fmt = column.format
    if fmt == "datetime" and hasattr(value, "tzinfo"):
        return clock.fmt(value)
    if fmt == "date" and hasattr(value, "isoformat"):
        return value.isoformat()
    if fmt == "percent":
        return percent(value)
    if fmt == "yuan":
        return yuan(float(value))
    if fmt == "decimal":
        return one_decimal(value)
    if fmt == "list":
        return "、".join(str(v) for v in value)
    return value


def _table(view: ListView, rows: list[dict]):
    cols = view.spec.screen_columns
    df = pd.DataFrame([{c.header: screen_cell(c, r.get(c.field)) for c in cols} for r in rows],
                      columns=[c.header for c in cols])
    data = red_rows(df, [bool(r.get(view.red)) for r in rows]) if view.red else df
    kwargs = {"hide_index": True, "width": "stretch", "key": f"{view.scope}_table"}
    if view.row_click is None:
        dataframe(data, **kwargs)
        return None
    event = dataframe(data, on_select="rerun", selection_mode="single-row", **kwargs)
    picked = event.selection.rows if event is not None and hasattr(event, "selection") else []
    return rows[picked[0]]["id"] if picked else None


# ------------------------------------------------------------------ the list
def show(view: ListView) -> Listed:
    me = actor()
    filters, words = _filters(view)
    day = _jump(view)
    tokens_key, seen_key = f"{view.scope}_tokens", f"{view.scope}_seen_filters"
    signature = repr((sorted(filters.items(), key=lambda kv: kv[0]), day))
    if st.session_state.get(seen_key) != signature or tokens_key not in st.session_state:
        st.session_state[seen_key] = signature  # a new search starts on its first page
        st.session_state[tokens_key] = [view.spec.jump(day) if day else None]
    tokens = st.session_state[tokens_key]
    # the first page counts; the pages after it show that count (a deep page of a keyset list then
    # costs what its rows cost). A new filter or date starts again on a first page, with a new count.
    counted_key = f"{view.scope}_counted"
    counted = st.session_state.get(counted_key)
    known = counted is not None and counted[0] == signature and len(tokens) > 1
    with db() as s:
        page = view.spec.fetch(s, me, filters, PageRequest(view.page_size, tokens[-1], count=not known))
    if known and page.total is None:
        page.total, page.estimated = counted[1], counted[2]
    elif len(tokens) == 1:
        st.session_state[counted_key] = (signature, page.total, page.estimated)
    st.caption(_count_text(view, page, len(tokens), day))
    if not page.rows:
        st.info(view.empty)
        if len(tokens) > 1:
            _pager(view, tokens, page)
        return Listed(page, filters)
    clicked = _table(view, page.rows)
    if clicked is not None:
        view.row_click(clicked)
    _pager(view, tokens, page)
    if view.export:
        _export_button(view, me, filters, words)
    picked = _picker(view, page.rows)
    return Listed(page, filters, picked)


def _jump(view: ListView):
    """The date the list starts at (None: the newest), for keyset lists that offer it."""
    if not view.jump or view.spec.jump is None:
        return None
    return st.date_input(view.jump, value=None, key=f"{view.scope}_jump", format="YYYY-MM-DD", **ANY_DATE,
                         help="从该日（含）及以前接报的记录开始显示；清空则回到最新")


def _count_text(view: ListView, page: Page, number: int, day) -> str:
    """共 1,234 件，第 2 / 62 页 | 约 1,000,000 件，第 2 页 | 第 2 页, with the list's note."""
    where = f"自 {day.isoformat()} 起" if day else ""
    if page.total is None:
        text = f"{where}第 {number} 页，每页 {view.page_size} {view.unit}"
    elif page.estimated:
        text = f"约 {round_estimate(page.total):,} {view.unit}（估算），{where}第 {number} 页"
    elif day:
        text = f"共 {page.total:,} {view.unit}，{where}第 {number} 页"
    else:
        text = f"共 {page.total:,} {view.unit}，第 {number} / {max(1, math.ceil(page.total / view.page_size))} 页"
    return text + (f"（{view.note}）" if view.note else "")


def round_estimate(n: int) -> int:
    """An estimate to two significant figures: 1,003,418 -> 1,000,000; 12,345 -> 12,000."""
    digits = len(str(abs(int(n))))
    return int(round(n, 2 - digits)) if digits > 2 else int(n)


def _pager(view: ListView, tokens: list, page: Page) -> None:
    if len(tokens) <= 1 and page.next is None:
        return  # one page only: nothing to turn
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("上一页", key=f"{view.scope}_prev", disabled=len(tokens) <= 1, icon=":material/chevron_left:"):
        tokens.pop()
        st.rerun()
    if c2.button("下一页", key=f"{view.scope}_next", disabled=page.next is None, icon=":material/chevron_right:"):
        tokens.append(page.next)
        st.rerun()


def _export_button(view: ListView, me, filters: dict, words: str) -> None:
    """导出 Excel: the file is made when clicked (callable data), from all rows matching the filters."""
    name = view.export_name or view.spec.name

    def make() -> bytes:
        with db() as s:
            return listing.export(s, me, view.spec, filters, words, name).data

    today = clock.local(clock.now()).date()
    st.download_button("导出 Excel", make, exports.list_filename(name, today), on_click="ignore",
                       mime=XLSX_MIME, key=f"{view.scope}_export", icon=":material/download:",
                       help="导出符合当前筛选条件的全部记录（不只本页）" + ("；含个人信息的导出记入操作日志" if view.spec.personal else ""))


def _picker(view: ListView, rows: list[dict]) -> Hashable | None:
    if view.pick is None:
        return None
    labels = {r["id"]: view.pick_label(r) for r in rows}
    if not view.actions:
        return forms.pick_record(view.pick, labels, view.pick_scope or view.scope)
    c1, *buttons = st.columns([3] + [1] * len(view.actions), vertical_alignment="bottom")
    picked = forms.pick_record(view.pick, labels, view.pick_scope or view.scope, container=c1)
    for action, col in zip(view.actions, buttons):
        if col.button(action.label, key=f"{view.scope}_{action.key}", icon=action.icon) and picked is not None:
            action.run(picked)
    return picked
