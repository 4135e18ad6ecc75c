"""解纷码: every case's dispute code, its QR image, the printed code card and the public view.

The token is the only key of the public page: `secrets.token_urlsafe(24)` (192 bits), never
derived from the case number. Revoking a code makes its link answer exactly like a token that
never existed. `public_view()` is an allow-list: it selects only columns that may be public
(never party data, mediator names or phones, or event notes), so nothing else can leak.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import secrets
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from db.models import (Case, CaseEvent, DisputeCategory, DisputeCode, GovernanceCentre, MediationRoom,
                       OnlineRequest)
from services import audit, clock, settings
from services.cases import ladder
from services.roster import org
from services.documents.fonts import Face, cjk_faces
from services.errors import DomainError, NotFound
from services.redact import redact
from services.roles import Actor, require

DEFAULT_BASE_URL = "http://localhost:8501"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
CARD_SIZES = {"A6": (105.0, 148.0), "A4": (210.0, 297.0)}
INSTRUCTIONS = "用微信扫一扫查看办理进度，可申请远程视频调解、线上法律咨询等服务"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def active_code(session: Session, case_id: int) -> DisputeCode | None:
    return session.scalar(select(DisputeCode).where(DisputeCode.case_id == case_id,
                                                    DisputeCode.revoked_at.is_(None)))


def issue_for_case(session: Session, case_id: int) -> DisputeCode:
    """The case's active code, issued now if it has none. Called by register_case (no actor:
    every registered case gets one; the registering user is recorded as the issuer)."""
    code = active_code(session, case_id)
    if code is not None:
        return code
    created_by = session.scalar(select(Case.created_by_id).where(Case.id == case_id))
    if created_by is None and session.get(Case, case_id) is None:
        raise NotFound("案件不存在。")
    code = DisputeCode(case_id=case_id, token=new_token(), issued_at=clock.now(), issued_by_id=created_by)
    session.add(code)
    session.flush()
    return code


def revoke_and_reissue(session: Session, actor: Actor, case_id: int) -> DisputeCode:
    """Staff: the old link stops working at once; a new code (new token) replaces it."""
    require(actor, "code.manage")
    if session.get(Case, case_id) is None:
        raise NotFound("案件不存在。")
    now = clock.now()
    old = active_code(session, case_id)
    if old is not None:
        old.revoked_at, old.revoked_by_id = now, actor.user_id
        session.flush()  # the partial unique index allows the new active code only after this
    code = DisputeCode(case_id=case_id, token=new_token(), issued_at=now, issued_by_id=actor.user_id)
    session.add(code)
    session.flush()
    audit.record(session, actor, "code.reissue", "case", case_id, old_code_id=old.id if old else None,
                 new_code_id=code.id)
    return code


def case_for_token(session: Session, token: str) -> int | None:
    """The case id of an active code, or None for unknown, revoked or malformed tokens."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    return session.scalar(select(DisputeCode.case_id).where(DisputeCode.token == token,
                                                           DisputeCode.revoked_at.is_(None)))


# ---------------------------------------------------------------------------- public link and QR

def base_url(session: Session | None = None) -> str:
    """PUBLIC_BASE_URL from the environment, else the admin setting "public_base_url", else localhost."""
    url = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if not url and session is not None:
        url = str(settings.get(session, settings.PUBLIC_BASE_URL) or "").strip()
    return (url or DEFAULT_BASE_URL).rstrip("/")


def public_url(token: str, session: Session | None = None) -> str:
    return f"{base_url(session)}/c/{token}"


def qr_image(data: str, box_size: int = 10, border: int = 4):
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("L")


def qr_png(token: str, session: Session | None = None, box_size: int = 10) -> bytes:
    buf = io.BytesIO()
    qr_image(public_url(token, session), box_size=box_size).save(buf, format="PNG")
    return buf.getvalue()


# ---------------------------------------------------------------------------- code card (PDF)

def cjk_font() -> Face:
    """The card's face (a regular Simplified Chinese sans), from the fonts every PDF uses; raises
    FontMissing (a DomainError with the operator's instructions) without a Chinese font."""
    return cjk_faces("解纷码卡片")["sans"]


def code_card_pdf(session: Session, case_id: int, size: str = "A6") -> bytes:
    """A printable card: city name, case number, the QR and short instructions (A6 or A4)."""
    from fpdf import FPDF

    if size not in CARD_SIZES:
        raise DomainError("卡片尺寸只能是 A6 或 A4。")
    number = session.scalar(select(Case.number).where(Case.id == case_id))
    if number is None:
        raise NotFound("案件不存在。")
    code = issue_for_case(session, case_id)
    city = org.city(session)
    face = cjk_font()
    w, h = CARD_SIZES[size]
    k = w / CARD_SIZES["A6"][0]  # scale: A4 is the A6 layout at double size
    pdf = FPDF(unit="mm", format=(w, h))
    pdf.set_auto_page_break(False)
    pdf.set_margins(8 * k, 8 * k, 8 * k)
    pdf.add_font("cjk", "", face.path, collection_font_number=face.index)
    pdf.add_page()
    pdf.set_font("cjk", size=16 * k)
    pdf.set_xy(8 * k, 10 * k)
    pdf.cell(w - 16 * k, 9 * k, f"{city.get('name', '')} 解纷码", align="C")
    pdf.set_font("cjk", size=10 * k)
    pdf.set_xy(8 * k, 20 * k)
    pdf.cell(w - 16 * k, 6 * k, f"案件编号：{number}", align="C")
    qr_side = 70 * k
    png = io.BytesIO()
    qr_image(public_url(code.token, session), box_size=10).save(png, format="PNG")
    png.seek(0)
    pdf.image(png, x=(w - qr_side) / 2, y=29 * k, w=qr_side, h=qr_side)
    pdf.set_font("cjk", size=9.5 * k)
    pdf.set_xy(10 * k, 102 * k)
    pdf.multi_cell(w - 20 * k, 5.5 * k, INSTRUCTIONS + "。", align="L", wrapmode="CHAR")
    phone = city.get("public_phone") or ""
    if phone:
        pdf.set_xy(10 * k, pdf.get_y() + 2 * k)
        pdf.multi_cell(w - 20 * k, 5.5 * k, f"咨询电话：{phone}", align="L", wrapmode="CHAR")
    pdf.set_font("cjk", size=7 * k)
    pdf.set_xy(10 * k, h - 16 * k)
    pdf.multi_cell(w - 20 * k, 4 * k, "请妥善保管本卡片：持有二维码即可查看案件进度。", align="L", wrapmode="CHAR")
    return bytes(pdf.output())


# ---------------------------------------------------------------------------- the public view

def _step_label(action: str, to_level: str | None) -> str | None:
    """The citizen's words for a timeline step: the MOVES table's public label (None: not shown)."""
    rule = ladder.RULES.get(action)
    return rule.public_words(to_level or "onsite") if rule is not None else None


_city_cache: dict[object, tuple[float, dict]] = {}  # keyed by the engine
CITY_TTL = 60.0  # seconds; the city's name and public phone (organisation settings, the same for everyone)


def _city(session: Session) -> dict:
    """The city's name, centre and public phones, cached per database for CITY_TTL seconds."""
    import time
    key = session.get_bind().engine  # not its URL: hashing a URL renders it as text (~25 µs per page)
    hit = _city_cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    city = org.city(session)
    centre = session.execute(select(GovernanceCentre.name, GovernanceCentre.public_phone)
                             .where(GovernanceCentre.level == "city").order_by(GovernanceCentre.id).limit(1)).first()
    value = {"name": city.get("name", ""), "phone": city.get("public_phone", ""),
             "centre": centre.name if centre else f"{city.get('name', '')}综治中心",
             "centre_phone": (centre.public_phone if centre else "") or city.get("public_phone", "")}
    _city_cache[key] = (time.monotonic() + CITY_TTL, value)
    return value


def city_for(engine) -> dict:
    """`_city` for callers without a session: opens one only when the cached value has expired."""
    import time
    hit = _city_cache.get(engine)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    with Session(engine) as s:
        return _city(s)


def _unit(row, city: dict) -> tuple[str, str]:
    """(name, public phone) of the room or centre now in charge; the city centre as fallback."""
    if row.level in ("onsite", "station_room", "village_room") and row.room_name:
        return row.room_name, row.room_phone or city["centre_phone"]
    if row.level == "township" and row.township_centre:
        return row.township_centre, row.township_phone or city["centre_phone"]
    return city["centre"], city["centre_phone"]


def _fetch_generic(conn, token: str):
    """(case row, [(action, to_level, at)], [request tuples]) in three indexed queries (SQLite)."""
    q = _public_queries()
    row = conn.execute(q["case"], {"token": token}).first()
    if row is None:
        return None
    return (row, [tuple(e) for e in conn.execute(q["events"], {"case_id": row.id})],
            [tuple(r) for r in conn.execute(q["requests"], {"case_id": row.id})])


_PG_PUBLIC = """
SELECT c.id, c.number, c.received_at, c.mode, c.level, c.status, c.settled_at, cat.name AS category,
       r.name AS room_name, r.public_phone AS room_phone, g.name AS township_centre, g.public_phone AS township_phone,
       (SELECT json_agg(json_build_array(e.action, e.to_level, e.at) ORDER BY e.at, e.id)
          FROM case_event e WHERE e.case_id = c.id) AS events,
       (SELECT json_agg(json_build_array(o.number, o.kind, o.status, o.requested_at, o.scheduled_at, o.outcome,
                                         o.decline_reason) ORDER BY o.requested_at DESC)
          FROM (SELECT * FROM online_request WHERE case_id = c.id ORDER BY requested_at DESC LIMIT 20) o) AS reqs
FROM dispute_code d
JOIN dispute_case c ON c.id = d.case_id
JOIN dispute_category cat ON cat.id = c.category_id
LEFT JOIN mediation_room r ON r.id = c.room_id
LEFT JOIN governance_centre g ON g.township_id = c.township_id
WHERE d.token = %(token)s AND d.revoked_at IS NULL
"""


def _ts(value):
    return dt.datetime.fromisoformat(value).astimezone(clock.UTC) if value else None


def fetch_pg(pgconn, token: str):
    """The same facts in ONE round trip on PostgreSQL (events and requests as JSON arrays), on a
    psycopg connection whose statement preparing is on (see web/public.py)."""
    # The main engine turns psycopg's automatic preparing off (generic plans hurt the dashboards'
    # aggregates); this lookup by a unique token is the ideal prepared statement: planning costs
    # ~1 ms of server CPU against ~0.15 ms of execution, so it is prepared explicitly.
    from psycopg.rows import namedtuple_row
    with pgconn.cursor(row_factory=namedtuple_row) as cur:
        cur.execute(_PG_PUBLIC, {"token": token}, prepare=True)
        row = cur.fetchone()
    if row is None:
        return None
    events = [(a, lv, _ts(at)) for a, lv, at in row.events or []]
    reqs = [(n, k, st, _ts(ra), _ts(sa), out, dec) for n, k, st, ra, sa, out, dec in row.reqs or []]
    return row, events, reqs


@lru_cache(maxsize=1)
def _public_queries() -> dict:
    """The public page's three statements, built once (building them per request cost ~1 ms of CPU)."""
    token, case_id = bindparam("token"), bindparam("case_id")
    return {
        "case": select(Case.id, Case.number, Case.received_at, Case.mode, Case.level, Case.status, Case.settled_at,
                       DisputeCategory.name.label("category"), MediationRoom.name.label("room_name"),
                       MediationRoom.public_phone.label("room_phone"), GovernanceCentre.name.label("township_centre"),
                       GovernanceCentre.public_phone.label("township_phone"))
        .select_from(DisputeCode)
        .join(Case, Case.id == DisputeCode.case_id)
        .join(DisputeCategory, DisputeCategory.id == Case.category_id)
        .outerjoin(MediationRoom, MediationRoom.id == Case.room_id)
        .outerjoin(GovernanceCentre, GovernanceCentre.township_id == Case.township_id)
        .where(DisputeCode.token == token, DisputeCode.revoked_at.is_(None)),
        "events": select(CaseEvent.action, CaseEvent.to_level, CaseEvent.at)
        .where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id),
        "requests": select(OnlineRequest.number, OnlineRequest.kind, OnlineRequest.status, OnlineRequest.requested_at,
                           OnlineRequest.scheduled_at, OnlineRequest.outcome, OnlineRequest.decline_reason)
        .where(OnlineRequest.case_id == case_id).order_by(OnlineRequest.requested_at.desc()).limit(20),
    }


def public_view(session: Session, token: str) -> dict | None:
    """The allow-listed facts of the case behind an active token, or None (unknown/revoked/malformed).

    PostgreSQL: one indexed query (events and requests aggregated as JSON); SQLite: three. The
    city's name and phone come from a per-process cache (60 s). The public page itself reads on
    PostgreSQL through `fetch_pg` on its own connections and `build_public_view`.
    """
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        found = fetch_pg(conn.connection.driver_connection, token)
    else:
        found = _fetch_generic(conn, token)
    if found is None:
        return None
    return build_public_view(*found, _city(session))


def build_public_view(row, events, reqs, city: dict) -> dict:
    """The public view from the fetched row, its (action, to_level, at) events and its request tuples."""
    from services.codes import online_services

    timeline = []
    for action, to_level, at in events:
        label = _step_label(action, to_level)
        if label:
            timeline.append({"label": label, "date": clock.local(at).strftime("%Y-%m-%d")})
    unit_name, unit_phone = _unit(row, city)
    requests = [
        {"number": number, "kind": online_services.KINDS.get(kind, kind),
         "status": online_services.PUBLIC_STATUS.get(status, status),
         "date": clock.local(requested_at).strftime("%Y-%m-%d"),
         "scheduled": clock.fmt(scheduled_at) if status == "scheduled" else "",
         # refused at save time already; masked again here for rows saved before that check
         "outcome": redact(outcome if status == "done" else (decline_reason if status == "declined" else ""))}
        for number, kind, status, requested_at, scheduled_at, outcome, decline_reason in reqs
    ]
    state = online_services.CaseState(level=row.level, status=row.status, settled=row.settled_at is not None)
    return {
        "case_number": row.number,
        "category": row.category,
        "registered_on": clock.local(row.received_at).strftime("%Y-%m-%d"),
        "stage": ladder.stage_label(row.mode, row.level, row.status),
        "timeline": timeline,
        "unit_name": unit_name,
        "unit_phone": unit_phone,
        "requests": requests,
        "allowed_kinds": [k for k in online_services.KINDS if online_services.refusal(state, k) is None],
        "city_name": city["name"],
    }
