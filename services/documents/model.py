"""What a document is: the parts of an official document (公文) both renderers print, and the
checks every document passes before it is printed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.errors import DomainError

HEADER_STYLES = ("doc_number", "bulletin", "plain")
BLOCK_KINDS = ("p", "h1", "h2", "h3", "table")
KINDS = ("risk_notice", "supervision_order", "bulletin", "meeting_minutes")
# case paperwork (services/documents/case_papers.py): printed with the "plain" header
CASE_PAPER_KINDS = ("mediation_agreement", "mediation_record", "confirmation_application", "follow_up_record",
                    "registration_form", "closing_summary", "dossier_cover", "dossier_contents")


class OfficialDocError(DomainError, ValueError):
    """A document or template that cannot be printed; the message says what to fix."""


@dataclass
class Block:
    kind: str   # "p", "h1" (一、), "h2" ((一)), "h3" (1.), "table"
    text: str = ""
    rows: list[list[str]] | None = None


@dataclass
class OfficialDocument:
    issuing_body: str
    doc_number: str
    title: str
    addressee: str
    body: list[Block]
    issuer: str
    date: dt.date
    copy_to: list[str] = field(default_factory=list)
    attachments_note: str = ""
    # "doc_number": red issuing body, document number under it, red rule (letters, orders).
    # "bulletin": red publication name (e.g. 工作专报), doc_number holds the issue ("第16期"),
    # then a line "issuer ... date" above the red rule; no signature at the end.
    # "plain": no red header and no 版记: the title on the first line, the number (if any) under
    # it flush right; signature blocks are part of the body (people's mediation documents).
    header_style: str = "doc_number"
    copy_to_label: str = "抄送"          # bulletins use e.g. "报送"


def format_date_cn(d: dt.date) -> str:
    """2026-12-06 -> '2026年12月6日' (Arabic numerals, no leading zeros, as GB/T 9704 asks)."""
    return f"{d.year}年{d.month}月{d.day}日"


def check_document(doc: OfficialDocument) -> None:
    problems = []
    for name, label in (("issuing_body", "发文机关标志"), ("title", "标题")):
        if not str(getattr(doc, name) or "").strip():
            problems.append(f"{label}不能为空")
    if doc.header_style not in HEADER_STYLES:
        problems.append(f"版头样式“{doc.header_style}”无效，应为 doc_number、bulletin 或 plain")
    if doc.header_style == "doc_number" and not str(doc.issuer or "").strip():
        problems.append("发文机关署名不能为空")
    if not isinstance(doc.date, dt.date):
        problems.append("成文日期必须是日期")
    for i, b in enumerate(doc.body, 1):
        if b.kind not in BLOCK_KINDS:
            problems.append(f"正文第{i}段的类型“{b.kind}”无效，应为 p、h1、h2、h3 或 table")
        elif b.kind == "table" and not b.rows:
            problems.append(f"正文第{i}段是表格，但没有行")
    if problems:
        raise OfficialDocError("公文内容有误：" + "；".join(problems) + "。")

