"""协调会: minutes (coordination meetings and monthly reviews), action items with status updates,
open and overdue items across all meetings; the chosen meeting as a 会议纪要 (DOCX/PDF)."""
import streamlit as st

from components import lists
from components import taskforce_widgets as tw
from components.context import db, plain
from db.engine import session_scope
from services import documents
from services.taskforce import meetings
from services.metrics import dashboard
from services.errors import DomainError
from services.lists import MEETINGS

me, writer = tw.taskforce_page(__file__, "协调会")

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
listed = lists.show(lists.ListView("mt", MEETINGS, unit="次", empty="暂无会议纪要。", pick="查看纪要",
                                   filters=[lists.Filter("kind", "会议类型", meetings.KINDS)],
                                   pick_label=lambda r: f"{r['held_on'].isoformat()} {r['kind_name']}：{r['topic']}"))
view = tw.chosen_view(meetings.get, listed, me)
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
    c[2].metric("调解成功率", dashboard.pct(f.get("success_rate")))
    c[3].metric("满意率", dashboard.pct(f.get("satisfaction_rate")))
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
