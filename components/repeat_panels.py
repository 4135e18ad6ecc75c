"""疑似重复纠纷: the earlier cases of the same party or the same address (services.cases.repeats),
on 案件登记 before saving and on 案件详情. The rows come from the service already scoped and masked
for the role; each case opens by id (an 打开 button per case)."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pandas as pd
import streamlit as st

from components.case_widgets import open_case
from components.context import db
from components.tables import dataframe
from services import clock
from services.cases import repeats
from services.roles import Actor

TITLE = "疑似重复纠纷"


def show(rows: list[dict], key: str, intro: str, new_tab: bool = False) -> None:
    """The panel: a warning, the table (no Markdown: typed addresses are plain cells), 打开 buttons
    (`new_tab`: links that open the case in another tab, so a form being filled in stays as typed)."""
    st.subheader(TITLE)
    st.warning(intro, icon=":material/repeat:")
    dataframe(pd.DataFrame([{"案件编号": r["number"], "接报时间": clock.fmt(r["received_at"]),
                             "乡镇（街道）": r["township"], "纠纷类别": r["category"], "层级": r["level_name"],
                             "状态": r["status_name"], "结果": r["outcome"], "关联依据": r["match"]}
                            for r in rows]), hide_index=True, width="stretch", key=f"{key}_table")
    cols = st.columns(4)
    for i, r in enumerate(rows):
        if new_tab:
            cols[i % 4].link_button(f"打开 {r['number']}", f"case_detail?case={quote(r['number'])}",
                                    icon=":material/open_in_new:", help="在新标签页打开，本页已填写的内容保留")
        elif cols[i % 4].button(f"打开 {r['number']}", key=f"{key}_open_{r['id']}", icon=":material/open_in_new:"):
            open_case(r["id"])


def _intro(n: int, what: str) -> str:
    more = f"（仅列最近 {repeats.LIMIT} 件）" if n >= repeats.LIMIT else ""
    return f"{what}近 12 个月内已有 {n} 件同一当事人（手机号码、身份证号码）或同一发生地址的纠纷{more}，请核对是否为重复纠纷。"


def case_panel(case_id: int, actor: Actor) -> None:
    """On 案件详情: the case's earlier cases; nothing when there are none."""
    with db() as s:
        rows = repeats.earlier_for_case(s, actor, case_id)
    if rows:
        show(rows, f"rp_case_{case_id}", _intro(len(rows), "该案件之前，"))


def draft_panel(actor: Actor, key: str, parties: list[dict], address: str,
                received_at: dt.datetime | None) -> None:
    """On 案件登记, before saving: the earlier cases of the mobiles, ID numbers and address typed so far."""
    mobiles = [p.get("mobile") for p in parties]
    id_cards = [p.get("id_card") for p in parties]
    with db() as s:
        rows = repeats.earlier_for_draft(s, actor, mobiles, id_cards, address, received_at)
    if rows:
        show(rows, f"{key}_rp", _intro(len(rows), "按已填写的当事人和地址，"), new_tab=True)
        st.caption("已有案件在新标签页打开，本页已填写的内容保留。")
