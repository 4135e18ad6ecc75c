"""协调会: minutes (coordination meetings and monthly reviews), action items with status updates,
open and overdue items across all meetings; the chosen meeting as a 会议纪要 (DOCX/PDF)."""
import pandas as pd
import streamlit as st

from components import forms
from components import taskforce_widgets as tw
from components.context import can, db, guard, plain
from components.tables import dataframe
from db.engine import session_scope
from services import documents, meetings, metrics
from services.errors import DomainError

me = guard(__file__)
st.title("协调会")
writer = can("taskforce.issue")
tw.flash()

with db() as s:
    counts = meetings.item_counts(s)
    open_items = meetings.open_items(s, limit=100)
c1, c2 = st.columns(2)
c1.metric("未完成交办事项", counts["open"])
c2.metric("其中超期", counts["overdue"])

st.subheader("未完成的交办事项")
if open_items:
    st.caption("超期的以红色标出。")
    tw.items_table(open_items, "mt_open_items")
else:
    st.caption("所有交办事项均已完成。")

if writer:
    with st.expander("登记会议纪要", icon=":material/edit_note:"):
        tw.meeting_form()

st.subheader("会议纪要")
c1, c2 = st.columns(2)
kind = c1.selectbox("会议类型", [None, *meetings.KINDS], format_func=lambda k: "全部" if k is None else meetings.KINDS[k],
                    key="mt_f_kind", placeholder="请选择")
page_no = c2.number_input("页码", min_value=1, value=1, step=1, key="mt_page")
with db() as s:
    page = meetings.list_meetings(s, me, kind, int(page_no))
st.caption(f"共 {page['total']} 次会议，每页 20 次。")
if not page["rows"]:
    st.info("暂无会议纪要。")
    st.stop()
dataframe(pd.DataFrame([{"日期": r["held_on"].isoformat(), "类型": r["kind_name"], "议题": r["topic"],
                            "召集人": r["convened_by"], "交办事项": r["items"], "未完成": r["open"],
                            "超期": r["overdue"], "研究案件": "、".join(r["cases"])} for r in page["rows"]]),
             hide_index=True, width="stretch", key="mt_table")

labels = {r["id"]: f"{r['held_on'].isoformat()} {r['kind_name']}：{r['topic']}" for r in page["rows"]}
chosen = forms.pick_record("查看纪要", labels, "mt")
with db() as s:
    view = meetings.get(s, me, chosen)
st.subheader(plain(view["topic"]))
st.text(f"{view['kind_name']}    日期：{view['held_on']}    地点：{view['place']}    召集人：{view['convened_by']}")
st.text("参会单位：" + ("、".join(view["attending_units"]) or "—"))
st.text("参会人员：" + ("、".join(view["attendees"]) or "—"))
st.text("研究案件：" + ("、".join(n for _, n in view["cases"]) or "—"))
st.markdown("**议定事项**")
st.text(view["decisions"] or "—")
if view["kind"] == "monthly_review" and view["figures"]:
    f = view["figures"]
    st.markdown(f"**统计数据（{view['period_start']} 至 {view['period_end']}）**")
    c = st.columns(4)
    c[0].metric("受理", f"{f.get('received', 0):,}")
    c[1].metric("调解成功", f"{f.get('settled', 0):,}")
    c[2].metric("调解成功率", metrics.pct(f.get("success_rate")))
    c[3].metric("满意率", metrics.pct(f.get("satisfaction_rate")))
st.markdown("**交办事项**")
if view["items"]:
    tw.items_table(view["items"], "mt_items")
else:
    st.caption("本次会议无交办事项。")


def _minutes(meeting_id: int, fmt: str):
    """The file is made only when the button is clicked (callable data), as on 工作专报."""
    def make() -> bytes:
        with session_scope() as s:
            return meetings.render(s, me, meeting_id, fmt)[1]
    return make


try:  # a broken template is said here in Chinese, not as a failed download
    with db() as s:
        meetings.document(s, me, view["id"])
except DomainError as exc:
    st.error(exc.message)
else:
    c1, c2 = st.columns(2)
    c1.download_button("下载纪要（Word）", _minutes(view["id"], "docx"), on_click="ignore", mime=tw.DOCX_MIME,
                       file_name=meetings.minutes_filename(view["held_on"], view["kind"], "docx"),
                       key=f"mt_{view['id']}_docx", icon=":material/description:")
    try:
        documents.cjk_faces()  # cached; without a Chinese font, the operator's instructions instead
    except DomainError as exc:
        c2.error(exc.message)
    else:
        c2.download_button("下载纪要（PDF）", _minutes(view["id"], "pdf"), on_click="ignore", mime="application/pdf",
                           file_name=meetings.minutes_filename(view["held_on"], view["kind"], "pdf"),
                           key=f"mt_{view['id']}_pdf", icon=":material/picture_as_pdf:")
if writer:
    tw.item_update_form(view["id"], view["items"])
