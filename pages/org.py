"""组织机构: townships and their stations; an admin may load a replacement data file."""
import pandas as pd
import streamlit as st

from components.context import can, db, field_error, guard, run_action
from components.tables import dataframe
from services.roster import org

guard(__file__)
st.title("组织机构")
with db() as s:
    counts = org.summary(s)
    rows = org.township_table(s)
cols = st.columns(len(counts))
for col, (label, n) in zip(cols, counts.items()):
    col.metric(label, f"{n:,}")
dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

if can("org.manage"):
    st.subheader("导入组织机构文件")
    st.caption("JSON 格式，与系统自带的组织机构文件相同。按编码新增或更新，不删除已有单位和人员。")
    upload = st.file_uploader("选择文件", type=["json"], key="org_upload")
    field_error("file")
    if upload is not None and st.button("导入", type="primary", key="org_import"):
        def _load(session, actor, raw):
            return org.load_org(session, org.parse_org(raw), actor)
        result = run_action(_load, upload.getvalue())
        if result:
            st.success("导入完成：" + "，".join(f"{k} {v}" for k, v in result.items()))
