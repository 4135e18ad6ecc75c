"""母舅名册: filters, the roster with live figures, add/edit/deactivate, Excel import and export."""
import pandas as pd
import streamlit as st

from components import lists
from components.context import can, db, field_error, guard, run_action
from components.tables import dataframe
from db.models.org import MEDIATOR_KINDS
from services.roster import org
from services.roster import mediators
from services.errors import ValidationError
from services.lists import ROSTER

me = guard(__file__)
st.title("母舅名册")

with db() as s:
    towns = {t.id: t.name for t in org.townships(s)}
    cats = {c.code: c.name for c in org.categories(s)}
    all_units = {u.code: u.label for u in mediators.units(s)}

tid = st.session_state.get("roster_township_id")  # the units offered follow the township chosen
with db() as s:
    unit_opts = {u.code: u.label for u in mediators.units(s, tid)} if tid else {}
listed = lists.show(lists.ListView(
    "roster", ROSTER, page_size=50, unit="人", search="姓名或编码", search_label="姓名或编码",
    note="在办、本月、成功率（调解成功/已办结）、满意率（满意与基本满意/已回访）按派给本人的案件实时统计"
    + ("" if can("roster.view_phone") else "；手机号已脱敏"),
    filters=[lists.Filter("township_id", "乡镇（街道）", towns), lists.Filter("unit_code", "所属单位", unit_opts),
             lists.Filter("kind", "人员类别", MEDIATOR_KINDS), lists.Filter("specialty", "擅长类别", cats),
             lists.Filter("active", "状态", {True: "在岗", False: "停用"}, default=True)]))

if not can("roster.manage"):
    st.stop()


def person_form(prefix: str, r: dict | None = None) -> mediators.MediatorInput:
    r = r or {}
    kinds = list(MEDIATOR_KINDS)
    name = st.text_input("姓名", r.get("name", ""), key=f"{prefix}_name")
    field_error("name")
    k = st.selectbox("人员类别", kinds, index=kinds.index(r["kind"]) if r else 0, format_func=MEDIATOR_KINDS.get,
                     key=f"{prefix}_kind", placeholder="请选择")
    field_error("kind")
    phone = st.text_input("手机号", r.get("phone", ""), key=f"{prefix}_phone")
    field_error("phone")
    codes = list(all_units)
    u = st.selectbox("所属单位", codes, index=codes.index(r["unit_code"]) if r.get("unit_code") in codes else 0,
                     format_func=all_units.get, key=f"{prefix}_unit", placeholder="请选择")
    field_error("unit")
    dept = st.text_input("部门/律所（部门人员必填）", r.get("department", ""), key=f"{prefix}_dept")
    field_error("department")
    specs = st.multiselect("擅长纠纷类别", list(cats), default=r.get("specialty_codes", []), format_func=cats.get,
                           key=f"{prefix}_specs", placeholder="请选择（可多选）", select_all=False)
    field_error("specialties")
    bg = st.text_input("人员背景（五老人员等）", r.get("background", ""), help="、".join(mediators.BACKGROUNDS),
                       key=f"{prefix}_bg")
    note = st.text_input("备注", r.get("note", ""), key=f"{prefix}_note")
    return mediators.MediatorInput(name, k, phone, u, dept, specs, bg, note)


tab_add, tab_edit, tab_import = st.tabs(["新增人员", "编辑 / 停用", "Excel 导入"])
with tab_add, st.form("roster_add_form", enter_to_submit=False):
    data = person_form("add")
    if st.form_submit_button("新增", type="primary"):
        if run_action(mediators.add_mediator, data, success="已加入名册"):
            st.rerun()

with tab_edit:
    options = {r["id"]: f"{r['code']} {r['name']}（{r['status']}）" for r in listed.rows}
    pid = st.selectbox("选择人员（当前页）", list(options), format_func=options.get, key="roster_edit_pick", placeholder="请选择")
    if pid is not None:
        with db() as s:
            current = mediators.person(s, me, pid)
        with st.form(f"roster_edit_form_{pid}", enter_to_submit=False):
            data = person_form(f"edit{pid}", current)
            if st.form_submit_button("保存修改", type="primary"):
                if run_action(mediators.update_mediator, pid, data, success="已保存"):
                    st.rerun()
        reason = st.text_input("停用原因", key="roster_deact_reason")
        field_error("deactivate")
        if current["active"] and st.button("停用", key="roster_deactivate"):
            nights = run_action(mediators.deactivate, pid, reason, success="已停用（保留历史记录）")
            if isinstance(nights, list) and nights:
                st.warning("该人员已排的值班成为空档，请到“值班安排”补排：" + "、".join(f"{d:%m-%d}" for d in nights))
        if not current["active"] and st.button("恢复在岗", key="roster_reactivate"):
            if run_action(mediators.reactivate, pid, success="已恢复在岗"):
                st.rerun()

with tab_import:
    with db() as s:
        template = mediators.template_xlsx(s)
    st.download_button("下载导入模板", template, "母舅名册导入模板.xlsx", on_click="ignore", key="roster_template")
    upload = st.file_uploader("上传名册（.xlsx）", type=["xlsx"], key="roster_upload")
    field_error("file")
    if upload is not None:
        raw = upload.getvalue()
        try:
            with db() as s:
                preview = mediators.parse_import(s, raw)
        except ValidationError as exc:
            st.error(exc.message)
            st.stop()
        st.write(f"预览：新增 {preview.count('insert')}，更新 {preview.count('update')}，"
                 f"无变化 {preview.count('unchanged')}，有误 {preview.count('error')}")
        dataframe(pd.DataFrame(preview.table()), hide_index=True, width="stretch", key="roster_preview")
        if preview.invalid:
            st.download_button("下载错误报告", mediators.error_report_xlsx(preview.invalid), "名册导入错误报告.xlsx",
                               on_click="ignore", key="roster_error_report")
        if st.button("导入有效行", type="primary", key="roster_import"):
            bar = st.progress(0.0, text="正在导入……")
            result = run_action(mediators.import_roster, raw,
                                progress=lambda done, total: bar.progress(min(1.0, done / max(total, 1))))
            if result:
                st.success("导入完成：" + result.summary())
