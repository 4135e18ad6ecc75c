"""案件文书: the case's paperwork (DOCX/PDF) on 案件详情, and the month's archive ZIP of dossiers on
回访. Only roles that may see personal data get them (the papers carry it unmasked); the files are
made when the button is clicked, and each download is logged by services.cases.dossier."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from components.context import db
from components.dates import month_picker
from services.cases import dossier
from services.errors import DomainError
from services.roles import Actor

MIME = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "pdf": "application/pdf",
        "zip": "application/zip"}
FORMAT_LABELS = {"docx": "Word", "pdf": "PDF"}


def _document(actor: Actor, case_id: int, kind: str, fmt: str) -> bytes:
    with db() as s:
        return dossier.document_file(s, actor, case_id, kind, fmt)[1]


def _dossier(actor: Actor, case_id: int) -> bytes:
    with db() as s:
        return dossier.dossier_file(s, actor, case_id)[1]


def _read(fn, *args):
    """fn(session, *args), or None after showing its Chinese refusal."""
    try:
        with db() as s:
            return fn(s, *args)
    except DomainError as exc:
        st.error(exc.message)
        return None


def case_panel(case_id: int, actor: Actor) -> None:
    """Appended to components.case_panels.PANELS."""
    if not dossier.can_download(actor):
        return   # leaders: the papers carry unmasked personal data
    info = _read(dossier.available, actor, case_id)
    if info is None:
        return
    specimen = dossier.is_specimen(actor)
    number = ("培训样本_" if specimen else "") + info["number"]
    st.subheader("案件文书")
    if specimen:
        st.caption("培训样本：当事人姓名、号码和地址已脱敏，标题注明“培训样本”，仅供演示；"
                   "每次下载都记入操作日志。")
    else:
        st.caption("文书含当事人完整的个人信息，每次下载都记入操作日志。案件中未填写的内容（如性别、民族）印为下划线空白，供手写。")
    for kind, name in info["documents"].items():
        c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="center")
        c1.text(name)
        for col, fmt in ((c2, "docx"), (c3, "pdf")):
            col.download_button(f"{name} {FORMAT_LABELS[fmt]}", lambda kind=kind, fmt=fmt: _document(actor, case_id, kind, fmt),
                                f"{number}_{name}.{fmt}", mime=MIME[fmt], on_click="ignore",
                                key=f"papers_{case_id}_{kind}_{fmt}", icon=":material/download:")
    if info["dossier"]:
        c1, c2 = st.columns([2, 2], vertical_alignment="center")
        c1.text("卷宗（封面、卷内目录和全部文书）")
        c2.download_button("卷宗 PDF", lambda: _dossier(actor, case_id), f"{number}_卷宗.pdf", mime=MIME["pdf"],
                           on_click="ignore", key=f"papers_{case_id}_dossier", icon=":material/inventory_2:")


def _month_zip(actor: Actor, month: dt.date, part: int) -> bytes:
    with db() as s:
        return dossier.month_zip(s, actor, month, part)[1]


def month_archive(actor: Actor) -> None:
    """On 回访 (where cases are closed and archived): every dossier of a month, in ZIPs of at most
    dossier.ZIP_PART cases."""
    if not dossier.can_download(actor):
        return
    st.subheader("月度卷宗归档")
    month = month_picker("归档月份", "papers_month")
    cases = _read(dossier.closed_in_month, actor, month)
    if cases is None:
        return
    if not cases:
        st.caption(f"{month.year}年{month.month}月没有闭环归档的案件。")
        return
    parts = dossier.zip_parts(len(cases))
    st.caption(f"{month.year}年{month.month}月闭环归档 {len(cases):,} 件，每件一份卷宗 PDF，按案件编号命名；"
               f"每包至多 {dossier.ZIP_PART} 件" + (f"，共 {parts} 包" if parts > 1 else "")
               + "；点击后开始生成，每件约需 1 至 3 秒；下载记入操作日志。")
    part = 1
    if parts > 1:
        part = st.selectbox("卷宗包", list(range(1, parts + 1)), key=f"papers_part_{month:%Y%m}",
                            placeholder="请选择",
                            format_func=lambda i: f"第 {i} 包：{cases[(i - 1) * dossier.ZIP_PART][1]} 起，"
                            f"{len(cases[(i - 1) * dossier.ZIP_PART: i * dossier.ZIP_PART])} 件")
    name = f"卷宗_{month:%Y-%m}" + (f"_第{part}包" if parts > 1 else "") + ".zip"
    st.download_button(f"下载 {month.year}年{month.month}月卷宗（ZIP" + (f"，第 {part} 包" if parts > 1 else "") + "）",
                       lambda: _month_zip(actor, month, part), name, mime=MIME["zip"], on_click="ignore",
                       key=f"papers_zip_{month:%Y%m}_{part}", icon=":material/folder_zip:")
