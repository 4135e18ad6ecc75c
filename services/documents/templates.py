"""Templates: templates/official/<kind>.json, the wording of each kind of document, editable by an
administrator. `fill_template()` turns a template and a dict of values into an OfficialDocument."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import string
from pathlib import Path

from services.documents.model import (BLOCK_KINDS, CASE_PAPER_KINDS, HEADER_STYLES, KINDS, Block, OfficialDocError,
                                      OfficialDocument, format_date_cn)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMATTER = string.Formatter()
_CN_DIGITS = "零一二三四五六七八九"
_AUTO_FIELDS = {"date", "year", "n", "cn_n", "item"}
# The placeholder of each kind's "doc_number" that carries the running number the services draw
# from their counters; the rest of the format (the issuing organ's abbreviation, the year, 第…期)
# is the template's own.
SEQUENCE_FIELDS = {"risk_notice": "serial", "supervision_order": "serial", "bulletin": "issue_no",
                   "meeting_minutes": "serial", "mediation_agreement": "serial"}


def templates_dir() -> Path:
    """Where templates are read from: $OFFICIAL_TEMPLATES_DIR, else templates/official/."""
    env = os.environ.get("OFFICIAL_TEMPLATES_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "templates" / "official"


def cn_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")
    return str(n)


def load_template(kind: str, *, directory: Path | None = None) -> dict:
    """Read and check templates/official/<kind>.json (kind: risk_notice, supervision_order, bulletin,
    meeting_minutes)."""
    if kind not in KINDS and kind not in CASE_PAPER_KINDS:
        raise OfficialDocError(
            f"未知的公文类型“{kind}”，可用：risk_notice（风险提示函）、"
            "supervision_order（督办单）、bulletin（工作专报）、meeting_minutes（会议纪要）。")
    path = Path(directory or templates_dir()) / f"{kind}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OfficialDocError(f"找不到公文模板文件：{path}") from None
    except json.JSONDecodeError as e:
        raise OfficialDocError(
            f"公文模板 {path.name} 不是有效的 JSON（第{e.lineno}行第{e.colno}列）：{e.msg}") from None
    problems = []
    if not isinstance(data, dict):
        raise OfficialDocError(f"公文模板 {path.name} 的最外层应是一个对象 {{…}}。")
    for key in ("issuing_body", "title", "body"):
        if key not in data:
            problems.append(f"缺少“{key}”")
    if data.get("header_style", "doc_number") not in HEADER_STYLES:
        problems.append("header_style 只能是 doc_number、bulletin 或 plain")
    if data.get("header_style", "doc_number") == "doc_number" and not data.get("issuer"):
        problems.append("缺少“issuer”（发文机关署名）")
    if not isinstance(data.get("body", []), list):
        problems.append("body 应是段落列表")
    for i, entry in enumerate(_walk_entries(data.get("body", [])), 1):
        kind_ = entry.get("kind")
        if kind_ not in BLOCK_KINDS:
            problems.append(f"body 第{i}项的 kind“{kind_}”无效（可用 p、h1、h2、h3、table）")
    if not isinstance(data.get("copy_to", []), list):
        problems.append("copy_to 应是单位名称列表")
    if problems:
        raise OfficialDocError(f"公文模板 {path.name} 有误：" + "；".join(problems) + "。")
    try:
        _template_placeholders(data)
    except OfficialDocError as e:
        raise OfficialDocError(f"公文模板 {path.name} 有误：{e.message}") from None
    sequence = SEQUENCE_FIELDS.get(kind)
    if sequence and sequence not in _fields_of(data.get("doc_number", "")):
        raise OfficialDocError(
            f"公文模板 {path.name} 有误：doc_number 须含序号占位符 {{{sequence}}}，否则每份的文号都相同。")
    return data


def _walk_entries(entries):
    for e in entries:
        if isinstance(e, dict) and "blocks" in e:
            yield from _walk_entries(e["blocks"])
        elif isinstance(e, dict):
            yield e
        else:
            yield {"kind": None}


def _fields_of(text) -> list[str]:
    if not isinstance(text, str):
        return []
    names = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        raise OfficialDocError(
            f"模板文字“{text[:30]}”中的花括号不成对；占位符写作 {{名称}}，"
            "要原样印出花括号请写 {{ 或 }}。") from None
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not _IDENT.fullmatch(name):
            raise OfficialDocError(
                f"模板占位符“{{{name}}}”写法不对：名称只能由字母、数字和下划线组成，例如 {{case_number}}。")
        names.append(name)
    return names


def _entry_texts(entry: dict) -> list:
    texts = [entry.get("text", "")]
    for row in ([entry.get("header")] if entry.get("header") else []) + list(entry.get("rows") or []):
        texts.extend(row if isinstance(row, list) else [])
    return texts


def _template_placeholders(tpl: dict, *, top_level_only: bool = False) -> dict[str, None]:
    """Every placeholder name used in the template, in order of appearance; `top_level_only`
    leaves out names used only inside an "each" entry (they come from the list's items)."""
    names: dict[str, None] = {}
    for key in ("issuing_body", "doc_number", "title", "addressee", "issuer", "attachments_note"):
        names.update(dict.fromkeys(_fields_of(tpl.get(key, ""))))
    for unit in tpl.get("copy_to", []):
        names.update(dict.fromkeys(_fields_of(unit)))

    def walk(entries, inside_each: bool):
        for e in entries:
            if e.get("each"):
                names[e["each"]] = None
            nested = inside_each or bool(e.get("each"))
            if "blocks" in e:
                walk(e["blocks"], nested)
                continue
            if e.get("rows_from"):
                names[e["rows_from"]] = None
            if nested and top_level_only:
                continue
            for t in _entry_texts(e):
                names.update(dict.fromkeys(_fields_of(t)))

    walk(tpl.get("body", []), False)
    return names


def template_fields(kind: str, *, directory: Path | None = None) -> dict[str, str]:
    """Placeholders a caller must supply for `kind`, mapped to their Chinese labels (for forms).
    `date` (default today) and `year` (from the date) are filled automatically."""
    tpl = load_template(kind, directory=directory)
    labels = tpl.get("fields", {})
    return {n: labels.get(n, n) for n in _template_placeholders(tpl, top_level_only=True)
            if n not in _AUTO_FIELDS}


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, (list, tuple)) and not v)


def fill_template(kind: str, values: dict, *, directory: Path | None = None) -> OfficialDocument:
    """Build a document from templates/official/<kind>.json and `values`.

    `values` holds the placeholders; `date` (datetime.date or 'YYYY-MM-DD', default today) is
    printed as 2026年12月6日 wherever {date} appears and sets {year}; a `copy_to` list replaces
    the template's copy-to units. A placeholder without a value raises OfficialDocError (a
    ValueError) whose Chinese message names every missing one.
    """
    tpl = load_template(kind, directory=directory)
    labels = tpl.get("fields", {})
    values = dict(values or {})
    date = _coerce_date(values.get("date"))
    ctx = {**values, "date": format_date_cn(date)}
    ctx.setdefault("year", date.year)

    missing: dict[str, None] = {}

    def need(text, scope, each: str | None = None) -> bool:
        gone = [n for n in _fields_of(text) if _blank(scope.get(n))]
        missing.update(dict.fromkeys(f"{each}（每一项的 {n}）" if each else n for n in gone))
        return not gone

    def optional_ok(text, scope) -> bool:
        return all(not _blank(scope.get(n)) for n in _fields_of(text))

    blocks: list[Block] = []

    def build(entries, scope, each: str | None = None):
        for e in entries:
            items = [None]
            if e.get("each"):
                seq = scope.get(e["each"])
                if _blank(seq):
                    if not e.get("optional"):
                        missing[e["each"]] = None
                    continue
                if isinstance(seq, str) or not isinstance(seq, (list, tuple)):
                    seq = [seq]
                items = list(seq)
            for n, item in enumerate(items, 1):
                sub = scope
                if e.get("each"):
                    sub = {**scope, "item": item, "n": n, "cn_n": cn_number(n)}
                    if isinstance(item, dict):
                        sub.update(item)
                in_each = e.get("each") or each
                if "blocks" in e:
                    build(e["blocks"], sub, in_each)
                    continue
                texts = _entry_texts(e)
                rows_key = e.get("rows_from")
                rows_missing = bool(rows_key) and _blank(sub.get(rows_key))
                if e.get("optional") and (rows_missing or not all(optional_ok(t, sub) for t in texts)):
                    continue
                if rows_missing:
                    missing[rows_key] = None
                # a list, not a generator: every missing name is collected, not only the first
                if not all([need(t, sub, in_each) for t in texts]) or rows_missing:  # noqa: C419
                    continue
                if e["kind"] == "table":
                    rows = [[_fmt(c, sub) for c in e["header"]]] if e.get("header") else []
                    rows += [[_fmt(c, sub) for c in r] for r in e.get("rows") or []]
                    rows += [[str(c) for c in r] for r in sub.get(rows_key) or []] if rows_key else []
                    blocks.append(Block("table", rows=rows))
                else:
                    blocks.append(Block(e["kind"], _fmt(e.get("text", ""), sub)))

    def field_text(key, required=True):
        text = tpl.get(key, "")
        if not text:
            return ""
        if not required and not optional_ok(text, ctx):
            return ""
        return _fmt(text, ctx) if need(text, ctx) else ""

    issuing_body = field_text("issuing_body")
    doc_number = field_text("doc_number")
    title = field_text("title")
    addressee = field_text("addressee")
    issuer = field_text("issuer")
    attachments = field_text("attachments_note", required=False)
    build(tpl.get("body", []), ctx)
    if isinstance(values.get("copy_to"), (list, tuple)):
        copy_to = [str(u) for u in values["copy_to"] if str(u).strip()]
    else:
        copy_to = [_fmt(u, ctx) for u in tpl.get("copy_to", []) if need(u, ctx)]
    if missing:
        named = "、".join(f"{n}（{labels[n]}）" if n in labels else n for n in missing)
        raise OfficialDocError(f"无法生成{tpl.get('name', kind)}：缺少以下内容：{named}。")
    return OfficialDocument(
        issuing_body=issuing_body, doc_number=doc_number, title=title, addressee=addressee,
        body=blocks, issuer=issuer, date=date, copy_to=copy_to, attachments_note=attachments,
        header_style=tpl.get("header_style", "doc_number"),
        copy_to_label=tpl.get("copy_to_label", "抄送"),
    )


def _fmt(text, scope) -> str:
    if not isinstance(text, str):
        return str(text)
    try:
        return text.format_map(scope)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise OfficialDocError(f"模板文字“{text[:30]}”无法填写：{e}") from None


def format_doc_number(kind: str, values: dict, *, directory: Path | None = None) -> str:
    """The document number as the template's "doc_number" writes it, e.g. 丰综治风提〔2026〕7号
    from {"year": 2026, "serial": 7}. The services number what they issue with this, so the
    template is the one place each kind's number format lives."""
    tpl = load_template(kind, directory=directory)
    text = tpl.get("doc_number", "")
    missing = [n for n in _fields_of(text) if _blank(values.get(n))]
    if missing:
        raise OfficialDocError(f"无法编排{tpl.get('name', kind)}的文号：缺少 {'、'.join(missing)}。")
    return _fmt(text, values)


def _coerce_date(value) -> dt.date:
    if value is None or value == "":
        return dt.date.today()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise OfficialDocError(f"成文日期“{value}”无法识别，请写作 2026-12-06。") from None
