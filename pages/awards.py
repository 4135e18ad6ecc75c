"""奖惩登记: the register of rewards and sanctions; the task force adds entries from a ranking."""
import streamlit as st

from components import forms, lists
from components.context import db, field_error, guard
from services.metrics import assessment
from services.metrics.assessment import AWARD_KINDS, AwardInput
from services.lists import AWARDS
from services.metrics.dashboard import Period

me = guard(__file__)
st.title("奖惩登记")
lists.show(lists.ListView("aw", AWARDS, filters=[lists.Filter("kind", "类别", AWARD_KINDS)], page_size=30,
                          note="每条记录决定人和决定时间", empty="暂无奖惩记录。"))

if not assessment.can_write(me.role)["manage"]:
    st.caption("只读：奖惩由专班根据考核排名提出并登记。")
    st.stop()

st.subheader("新增奖惩")
forms.bound("aw_new").flash()
with db() as s:
    runs = assessment.runs(s)
run_ids = [r["id"] for r in runs]
titles = {r["id"]: r["title"] for r in runs}
c1, c2, c3 = st.columns([2, 1, 1])
run_id = c1.selectbox("依据的考核排名", run_ids, format_func=titles.get, key="aw_run", index=0 if runs else None,
                      placeholder="无（不依据排名）")
unit_type = c2.selectbox("单位类型", ["station", "room"], format_func={"station": "派出所", "room": "调解室"}.get,
                         key="aw_unit_type", placeholder="请选择")
new_kind = c3.selectbox("类别", list(AWARD_KINDS), format_func=AWARD_KINDS.get, key="aw_new_kind", placeholder="请选择")
with db() as s:
    if run_id is not None:
        ranked = assessment.league_table(s, run_id, unit_type)
        units = {r["unit_id"]: (f"第{r['rank']}名 · " if r["rank"] else "无案件 · ") + r["unit_name"] for r in ranked}
    else:
        units = dict(assessment.unit_options(s, unit_type))
run = next((r for r in runs if r["id"] == run_id), None)

form = forms.bound("aw_new")  # kept as typed when refused; empty again after a save
k = form.key
with st.form(k("form"), enter_to_submit=False):
    unit_id = st.selectbox("单位（按排名）", list(units), format_func=units.get, key=k("unit"), index=None,
                           placeholder="请选择")
    field_error("unit_id")
    c1, c2 = st.columns(2)
    start = c1.date_input("考核期间开始", value=run["period_start"] if run else Period.article().start, key=k("start"))
    end = c2.date_input("考核期间结束", value=run["period_end"] if run else Period.article().end, key=k("end"))
    field_error("period")
    reason = st.text_area("事由", key=k("reason"), placeholder="如：7—11月考核第一名；多次督办仍超时")
    field_error("reason")
    amount = interview_date = None
    who = fixes = order_no = ""
    if new_kind == "reward":
        amount = st.number_input("奖励金额（元）", 0, 10_000_000, 100_000, step=10_000, key=k("amount"))
        field_error("amount")
    elif new_kind == "interview":
        interview_date = st.date_input("约谈日期", value=None, key=k("interview_date"))
        field_error("interview_date")
        who = st.text_input("约谈人 / 被约谈人", key=k("who"))
        field_error("interview_who")
        fixes = st.text_area("商定的整改措施", key=k("fixes"))
        field_error("agreed_fixes")
    elif new_kind == "supervision":
        order_no = st.text_input("督办单编号", key=k("order_no"), placeholder="如：丰综治督〔2023〕3号")
        field_error("supervision_order_no")
    form.error_here()
    submitted = st.form_submit_button("登记", type="primary", key=k("submit"))

if submitted:
    data = AwardInput(kind=new_kind, unit_type=unit_type, unit_id=unit_id, period_start=start, period_end=end,
                      run_id=run_id, reason=reason, amount=amount, interview_date=interview_date, interview_who=who,
                      agreed_fixes=fixes, supervision_order_no=order_no)
    if form.submit(assessment.add_award, data):
        st.session_state.pop("aw_tokens", None)  # back to the first page, where the new entry is
        form.saved(f"已登记{AWARD_KINDS[new_kind]}：{units.get(unit_id, '')}")
