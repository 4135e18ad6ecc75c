"""Case paperwork of a people's mediation case (人民调解文书) as DOCX and PDF, printed with the
official-documents engine in its "plain" layout (no red header, signature blocks in the body).

Pure Python, like the rest of services/documents: the input is a `CasePapers` (plain dataclasses
below), built from the database by services.cases.dossier.load(). Every field the database does
not (yet) hold may be None or empty; it is then printed as an underlined blank (＿＿＿) for
handwriting, and an empty list of agreement terms falls back to the agreement summary as one term.
docs/case-papers.md describes each document, the numbering and the retention rule.

    agreement(p)                  人民调解协议书 (numbered 丰调协〔2023〕123号 from the case number)
    mediation_record(p)           人民调解记录 (one table per session; a blank form when none)
    confirmation_application(p)   司法确认申请书 (a bundle: the application, then the agreement)
    follow_up_record(p)           人民调解回访记录
    registration_form(p)          矛盾纠纷受理登记表
    closing_summary(p)            结案报告
    dossier_pdf(p)                卷宗: cover, 卷内目录 with page numbers, every document in order
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from services.documents.docx_writer import render_docx_bundle
from services.documents.model import Block, OfficialDocError, OfficialDocument, format_date_cn
from services.documents.pdf_writer import render_pdf_bundle
from services.documents.templates import fill_template, format_doc_number

BLANK = "＿" * 6            # an underlined blank field, filled in by hand
SIGN = "＿" * 10            # a signature line
COPIES_DEFAULT = None       # None: one copy per party plus one for the committee
DEADLINE_DAYS = 15          # performance deadline printed when a term names none

# kind -> the name printed on downloads and in the table of contents
NAMES: dict[str, str] = {
    "registration_form": "纠纷登记表",
    "mediation_record": "人民调解记录",
    "mediation_agreement": "人民调解协议书",
    "confirmation_application": "司法确认申请书",
    "follow_up_record": "回访记录",
    "closing_summary": "结案报告",
}
DOSSIER_NAME = "卷宗"
# long-term retention (长期): categories whose agreements settle lasting rights (family status,
# land and forest use), large sums, major cases, or agreements a court confirmed; else 10 years
LONG_TERM_CATEGORIES = frozenset({"family", "land"})
LONG_TERM_AMOUNT = Decimal("50000")


# ---------------------------------------------------------------------------- the data contract
@dataclass
class PartyPaper:
    """One party (当事人) with full personal data: the papers are the legal record."""
    name: str
    side: str = "当事人"                      # 申请人 / 被申请人 / 当事人 (or 甲方, 乙方)
    sex: str | None = None                    # 男 / 女
    ethnicity: str | None = None              # 汉族 ...
    birth_date: dt.date | None = None
    occupation: str | None = None             # occupation or work unit
    address: str | None = None
    id_number: str | None = None              # 公民身份号码
    phone: str | None = None


@dataclass
class Term:
    """One agreed term: who does what, how much, how and by when."""
    obligation: str
    amount: Decimal | None = None             # yuan
    manner: str | None = None                 # 履行方式 (e.g. 银行转账, 当面交付)
    deadline: dt.date | str | None = None     # 履行期限


@dataclass
class MediationSession:
    """One mediation session (调解记录)."""
    when: dt.datetime | dt.date | None = None
    place: str | None = None
    participants: list[str] = field(default_factory=list)
    said: str | None = None                   # what the parties and the mediator said
    agreed: str | None = None                 # what was agreed at the session


@dataclass
class Confirmation:
    """A joint application for judicial confirmation (司法确认)."""
    court: str | None = None                  # the competent basic people's court
    applied_on: dt.date | None = None


@dataclass
class FollowUpPaper:
    """One follow-up (回访)."""
    done_at: dt.datetime
    method: str                               # 电话回访 / 上门回访
    by: str
    satisfaction: str                         # 满意 / 基本满意 / 不满意
    agreement_holds: bool | None = None
    # per term, in the order of CasePapers.terms: "已履行" / "未履行" / "部分履行"; None: from agreement_holds
    term_performance: list[str] | None = None
    note: str = ""


@dataclass
class TimelineEntry:
    at: dt.datetime
    who: str
    action: str                               # in Chinese (登记受理, 调度派员, 调解成功 ...)
    note: str = ""


@dataclass
class CasePapers:
    """Everything the case papers print. Times are aware datetimes (printed in Beijing time)."""
    case_id: int
    case_number: str                          # 丰-2023-000123
    category: str
    category_code: str
    source: str                               # 110 / 12345 / 来访 ...
    received_at: dt.datetime
    place: str                                # township · village · grid
    address: str
    description: str                          # the intake description: the main facts
    complexity: str
    complexity_code: str
    mode: str                                 # 驻所 / 住村
    committee: str                            # the room or centre that mediated (settled) the case
    status: str                               # ladder status code
    status_name: str
    parties: list[PartyPaper]
    mediators: list[str] = field(default_factory=list)
    police_incident_no: str = ""
    hotline_order_no: str = ""
    registered_by: str = ""
    registered_at: dt.datetime | None = None
    route: str = ""                           # where it was routed (room)
    settled_at: dt.datetime | None = None
    settled_level: str = ""
    agreement_summary: str = ""
    agreement_amount: Decimal | None = None
    terms: list[Term] = field(default_factory=list)
    disputed: str | None = None               # 争议事项, when recorded apart from the facts
    copies: int | None = COPIES_DEFAULT
    sessions: list[MediationSession] = field(default_factory=list)
    confirmation: Confirmation | None = None
    court: str = ""                           # the competent basic court (default for the application)
    follow_ups: list[FollowUpPaper] = field(default_factory=list)
    ended_at: dt.datetime | None = None
    end_reason: str = ""
    closed_at: dt.datetime | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)
    specimen: bool = False  # a masked copy for training (培训样本): every title says so


# ---------------------------------------------------------------------------- small helpers
def _local(value: dt.datetime | dt.date | None) -> dt.datetime | dt.date | None:
    if isinstance(value, dt.datetime):
        from services import clock
        return clock.local(value)
    return value


def _day(value) -> str:
    v = _local(value)
    if v is None:
        return f"{BLANK}年{BLANK[:2]}月{BLANK[:2]}日"
    if isinstance(v, dt.datetime):
        v = v.date()
    return format_date_cn(v) if isinstance(v, dt.date) else str(v)


def _minute(value) -> str:
    v = _local(value)
    if isinstance(v, dt.datetime):
        return f"{format_date_cn(v.date())}{v:%H:%M}"
    return _day(v)


def _or_blank(value) -> str:
    if value is None:
        return BLANK
    if isinstance(value, dt.date):
        return format_date_cn(value)
    text = str(value).strip()
    return text or BLANK


def yuan(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    q = Decimal(amount).quantize(Decimal("0.01"))
    return f"{q:,.2f}元".replace(".00元", "元")


def agreement_number(case_number: str) -> str:
    """丰-2023-000123 -> 丰调协〔2023〕123号, in the format of the template's doc_number."""
    return format_doc_number("mediation_agreement", _number_parts(case_number))


def _number_parts(case_number: str) -> dict:
    m = re.fullmatch(r"\s*(\D+?)-(\d{4})-0*(\d+)\s*", case_number or "")
    if not m:
        raise OfficialDocError(f"案件编号“{case_number}”不是“简称-年份-序号”的格式，无法编排协议书编号。")
    return {"prefix": m.group(1), "year": int(m.group(2)), "serial": int(m.group(3))}


def retention(p: CasePapers) -> str:
    """保管期限 of the dossier (docs/case-papers.md): 长期 or 10年."""
    if (p.category_code in LONG_TERM_CATEGORIES or p.complexity_code == "major"
            or (p.agreement_amount is not None and p.agreement_amount >= LONG_TERM_AMOUNT)
            or p.confirmation is not None):
        return "长期"
    return "10年"


def outcome(p: CasePapers) -> str:
    if p.settled_at is not None:
        return f"调解成功（{p.settled_level}）" if p.settled_level else "调解成功"
    if p.ended_at is not None:
        return p.end_reason or "调解终止"
    return p.status_name


def _term_text(t: Term) -> str:
    parts = [t.obligation.strip().rstrip("。；;")]
    if t.amount is not None:
        parts.append(f"金额{yuan(t.amount)}")
    parts.append(f"履行方式：{_or_blank(t.manner)}")
    deadline = t.deadline if isinstance(t.deadline, str) else (format_date_cn(t.deadline) if t.deadline else None)
    parts.append(f"履行期限：{deadline or BLANK}前")
    return "，".join(parts) + "。"


def terms(p: CasePapers) -> list[Term]:
    """The agreed terms; without structured terms, the agreement summary (and amount) as one term."""
    if p.terms:
        return list(p.terms)
    summary = (p.agreement_summary or "").strip()
    return [Term(obligation=summary or BLANK, amount=p.agreement_amount)]


def _party_values(party: PartyPaper) -> dict:
    return {"name": _or_blank(party.name), "side": party.side or "当事人", "sex": _or_blank(party.sex),
            "ethnicity": _or_blank(party.ethnicity), "birth_date": _or_blank(party.birth_date),
            "occupation": _or_blank(party.occupation), "address": _or_blank(party.address),
            "id_number": _or_blank(party.id_number), "phone": _or_blank(party.phone), "sign_line": SIGN}


def _common(p: CasePapers) -> dict:
    return {"committee": p.committee or BLANK, "case_number": p.case_number, "sign_line": SIGN,
            "party_names": "、".join(f"{x.name}（{x.side}）" for x in p.parties) or BLANK,
            "facts": p.description.strip() or BLANK}


def _date(value) -> dt.date:
    v = _local(value)
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    from services import clock
    return clock.today()


# ---------------------------------------------------------------------------- the documents
def agreement(p: CasePapers) -> OfficialDocument:
    if p.settled_at is None:
        raise OfficialDocError("案件尚未调解成功，没有人民调解协议书。")
    parts = _number_parts(p.case_number)
    copies = p.copies or len(p.parties) + 1
    values = {**_common(p), **parts, "date": _date(p.settled_at),
              "parties": [_party_values(x) for x in p.parties] or [_party_values(PartyPaper(name=BLANK))],
              "disputed": p.disputed, "terms": [{"text": _term_text(t)} for t in terms(p)],
              "copies": copies, "deadline_days": DEADLINE_DAYS,
              "mediator_lines": [f"{SIGN}（{m}）" for m in p.mediators] or [SIGN]}
    doc = fill_template("mediation_agreement", values)
    doc.doc_number = f"编号：{doc.doc_number}"
    return doc


def mediation_record(p: CasePapers) -> OfficialDocument:
    sessions = [{"when": _minute(s.when) if s.when else BLANK, "place": _or_blank(s.place),
                 "participants": "、".join(s.participants) or BLANK, "said": _or_blank(s.said),
                 "agreed": _or_blank(s.agreed)} for s in p.sessions]
    if not sessions:   # nothing recorded yet: one blank session form to fill in by hand
        sessions = [{"when": BLANK, "place": BLANK, "participants": BLANK, "said": BLANK, "agreed": BLANK}]
    return fill_template("mediation_record", {**_common(p), "sessions": sessions,
                                              "date": _date(p.settled_at or p.ended_at or p.received_at)})


def confirmation_application(p: CasePapers) -> list[OfficialDocument]:
    """The joint application, then the agreement it attaches."""
    if p.settled_at is None:
        raise OfficialDocError("案件尚未调解成功，不能申请司法确认。")
    conf = p.confirmation or Confirmation()
    values = {**_common(p), "date": _date(conf.applied_on or p.settled_at),
              "parties": [_party_values(x) for x in p.parties] or [_party_values(PartyPaper(name=BLANK))],
              "settled_on": _day(p.settled_at), "agreement_number": agreement_number(p.case_number),
              "terms": [{"text": _term_text(t)} for t in terms(p)],
              "court": conf.court or p.court or BLANK, "applied_on": _day(conf.applied_on)}
    return [fill_template("confirmation_application", values), agreement(p)]


def _performance(f: FollowUpPaper, n_terms: int) -> str:
    if f.term_performance:
        marks = f.term_performance
    elif f.agreement_holds is None:
        marks = [BLANK] * n_terms
    else:
        marks = ["已履行" if f.agreement_holds else "未履行"] * n_terms
    return "；".join(f"第{i}项：{m}" for i, m in enumerate(marks, 1))


def follow_up_record(p: CasePapers) -> OfficialDocument:
    if not p.follow_ups:
        raise OfficialDocError("案件尚无回访，没有回访记录。")
    n_terms = len(terms(p))
    rows = [{"when": _minute(f.done_at), "method": f.method, "by": _or_blank(f.by),
             "satisfaction": _or_blank(f.satisfaction), "performance": _performance(f, n_terms),
             "note": _or_blank(f.note)} for f in p.follow_ups]
    agreement_no = agreement_number(p.case_number) if p.settled_at or p.terms or p.agreement_summary else BLANK
    return fill_template("follow_up_record", {
        **_common(p), "follow_ups": rows, "agreement_number": agreement_no,
        "settled_on": _day(p.settled_at) if p.settled_at else BLANK, "date": _date(p.follow_ups[-1].done_at)})


def registration_form(p: CasePapers) -> OfficialDocument:
    rows = [["案件编号", p.case_number], ["来源", p.source]]
    if p.police_incident_no:
        rows.append(["110 警情编号", p.police_incident_no])
    if p.hotline_order_no:
        rows.append(["12345 工单号", p.hotline_order_no])
    rows += [["接报时间", _minute(p.received_at)], ["发生地", p.place or BLANK], ["详细地址", p.address or BLANK],
             ["纠纷类别", p.category], ["复杂程度", p.complexity], ["调解模式", p.mode],
             ["分流至", p.route or BLANK]]
    for x in p.parties:
        rows.append([f"当事人（{x.side}）", f"{x.name}；联系电话：{_or_blank(x.phone)}；"
                     f"公民身份号码：{_or_blank(x.id_number)}；住址：{_or_blank(x.address)}"])
    return fill_template("registration_form", {
        **_common(p), "rows": rows, "description": p.description.strip() or BLANK,
        "registered_by": p.registered_by or BLANK, "registered_at": _minute(p.registered_at or p.received_at),
        "date": _date(p.registered_at or p.received_at)})


def closing_summary(p: CasePapers) -> OfficialDocument:
    if p.closed_at is None:
        raise OfficialDocError("案件尚未闭环，没有结案报告。")
    rows = [["案件编号", p.case_number], ["纠纷类别", p.category],
            ["当事人", "、".join(x.name for x in p.parties) or BLANK],
            ["受理日期", _day(p.received_at)], ["调解组织", p.committee or BLANK],
            ["人民调解员", "、".join(p.mediators) or BLANK], ["调解结果", outcome(p)]]
    if p.settled_at is not None:
        rows += [["调结日期", _day(p.settled_at)], ["协议要点", p.agreement_summary or BLANK]]
        if p.agreement_amount is not None:
            rows.append(["协议金额", yuan(p.agreement_amount)])
    elif p.ended_at is not None:
        rows.append(["终止日期", _day(p.ended_at)])
    if p.follow_ups:
        last = p.follow_ups[-1]
        rows.append(["回访", f"{_day(last.done_at)} {last.method}，{last.satisfaction}"])
    rows.append(["结案日期", _day(p.closed_at)])
    timeline = [[_minute(e.at), e.who, e.action, e.note or ""] for e in p.timeline] or [[BLANK] * 4]
    return fill_template("closing_summary", {**_common(p), "rows": rows, "timeline_rows": timeline,
                                             "date": _date(p.closed_at)})


# ---------------------------------------------------------------------------- which apply, files
def applicable(p: CasePapers) -> list[str]:
    """The documents this case's state has, in dossier order."""
    kinds = ["registration_form"]
    if p.status != "registered":
        kinds.append("mediation_record")
    if p.settled_at is not None:
        kinds += ["mediation_agreement", "confirmation_application"]
    if p.follow_ups:
        kinds.append("follow_up_record")
    if p.closed_at is not None:
        kinds.append("closing_summary")
    return kinds


def documents_of(kind: str, p: CasePapers) -> list[OfficialDocument]:
    build = {"registration_form": registration_form, "mediation_record": mediation_record,
             "mediation_agreement": agreement, "confirmation_application": confirmation_application,
             "follow_up_record": follow_up_record, "closing_summary": closing_summary}.get(kind)
    if build is None:
        raise OfficialDocError(f"未知的案件文书“{kind}”。")
    out = build(p)
    return _marked(p, out if isinstance(out, list) else [out])


SPECIMEN_MARK = "（培训样本）"
SPECIMEN_NOTE = "本件为培训样本：当事人姓名、号码和地址已脱敏，非正式文书，不作办案和归档之用。"


def _marked(p: CasePapers, docs: list[OfficialDocument]) -> list[OfficialDocument]:
    """A specimen's documents say in their title and first line that they are not the legal record."""
    if p.specimen:
        for d in docs:
            d.title = f"{d.title}{SPECIMEN_MARK}"
            d.body.insert(0, Block("p", SPECIMEN_NOTE))
    return docs


def file_name(kind: str, p: CasePapers, fmt: str) -> str:
    name = DOSSIER_NAME if kind == "dossier" else NAMES[kind]
    return f"{'培训样本_' if p.specimen else ''}{p.case_number}_{name}.{fmt}"


def render(kind: str, p: CasePapers, fmt: str) -> bytes:
    """One document of the case as "docx" or "pdf" (the confirmation application with the agreement)."""
    docs = documents_of(kind, p)
    if fmt == "docx":
        return render_docx_bundle(docs)
    if fmt == "pdf":
        return render_pdf_bundle(docs, title=NAMES[kind])[0]
    raise OfficialDocError(f"不支持的文件格式“{fmt}”，可用 docx 或 pdf。")


# ---------------------------------------------------------------------------- the dossier
def dossier_kinds(p: CasePapers) -> list[str]:
    """The documents in the dossier, in order: the application only when one was made."""
    return [k for k in applicable(p) if k != "confirmation_application" or p.confirmation is not None]


def _cover(p: CasePapers, pages: int) -> OfficialDocument:
    rows = [["案件编号", p.case_number], ["当事人", "、".join(x.name for x in p.parties) or BLANK],
            ["纠纷类别", p.category], ["受理日期", _day(p.received_at)],
            ["调结日期", _day(p.settled_at or p.ended_at) if (p.settled_at or p.ended_at) else "—"],
            ["结案日期", _day(p.closed_at)], ["人民调解员", "、".join(p.mediators) or BLANK],
            ["调解结果", outcome(p)], ["归档日期", _day(p.closed_at)], ["保管期限", retention(p)],
            ["本卷页数", f"共{pages}页"]]
    return _marked(p, [fill_template("dossier_cover", {**_common(p), "rows": rows, "date": _date(p.closed_at)})])[0]


def _contents(p: CasePapers, entries: list[tuple[str, int]]) -> OfficialDocument:
    rows = [[str(i), name, str(page)] for i, (name, page) in enumerate(entries, 1)]
    return fill_template("dossier_contents", {**_common(p), "rows": rows, "date": _date(p.closed_at)})


def dossier_pdf(p: CasePapers) -> tuple[bytes, list[tuple[str, int]]]:
    """The whole case as one PDF: cover, 卷内目录 (page numbers), then every document in order.
    Returns the PDF and its table of contents [(document name, first page)]."""
    if p.closed_at is None:
        raise OfficialDocError("案件尚未闭环归档，不能生成卷宗。")
    parts: list[tuple[str, list[OfficialDocument]]] = [(NAMES[k], documents_of(k, p)) for k in dossier_kinds(p)]
    body = [d for _, docs in parts for d in docs]
    names = [name for name, _ in parts]
    # first pass with provisional page numbers: the cover and the contents take one page each
    # (checked), so where each document starts is known before the contents are printed
    title = f"{p.case_number} 人民调解卷宗"
    _, starts, pages = render_pdf_bundle([_cover(p, 0), _contents(p, [(n, 0) for n in names])] + body, title,
                                         measure=True)
    firsts = _firsts(parts, starts)
    entries = list(zip(names, firsts))
    pdf, starts, _ = render_pdf_bundle([_cover(p, pages), _contents(p, entries)] + body, title)
    if starts[:2] != [1, 2] or _firsts(parts, starts) != firsts:
        raise OfficialDocError("卷宗封面或卷内目录超过一页，页码无法编排。")
    return pdf, entries


def _firsts(parts, starts: list[int]) -> list[int]:
    firsts, i = [], 2
    for _, group in parts:
        firsts.append(starts[i])
        i += len(group)
    return firsts
