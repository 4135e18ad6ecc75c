"""The public dispute-code page (解纷码): plain HTML for WeChat's browser, no login, no script.

    GET  /c/{token}           progress page with the online-services form
    POST /c/{token}/request   the form post (kind, mobile, note) -> confirmation with a number

Unknown, revoked and malformed tokens get one identical 404 page. Repeated misses from one
client address are answered 429 for a minute (in-memory sliding window per address, bounded
memory); form posts are limited per address too. Every response carries no-store, no-referrer,
noindex, nosniff and a Content-Security-Policy that allows no script at all.

Forwarded headers (X-Forwarded-For) are trusted only from the addresses the operator lists in
PUBLIC_TRUSTED_PROXIES (comma-separated addresses or networks, e.g. "10.0.0.5,192.168.1.0/24");
unset, none are trusted, not even 127.0.0.1 (serve.py applies it to uvicorn's proxy handling).

Every error inside these routes, and every path under /c/ that is not one of them, answers with
a Chinese page and the same security headers; the log gets the error's type, never the request's
values (a citizen's mobile or note).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import math
import os
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from html import escape
from urllib.parse import parse_qs

import psycopg
import sqlalchemy.exc
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from db.engine import get_engine, session_scope
from services.codes import dispute_codes
from services.codes import online_services
from services.errors import NotFound, ValidationError
from services import settings as app_settings
from services.redact import mask_phone

log = logging.getLogger("mujiu.public")

MISS_LIMIT, MISS_WINDOW = 20, 60.0  # bad tokens per address per minute before 429
POST_LIMIT, POST_WINDOW = 10, 600.0  # form posts per address per ten minutes
PAGE_THREADS = int(os.environ.get("PUBLIC_PAGE_THREADS", "2") or 2)
MAX_TRACKED = 10_000  # addresses remembered per limiter (least recently seen dropped first)
MAX_BODY = 4096

CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.6 -apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
color:#1f2933;background:#f3f5f7}header{background:#b42318;color:#fff;padding:14px 16px}header h1{margin:0;font-size:20px}
header p{margin:2px 0 0;font-size:13px;opacity:.9}main{max-width:560px;margin:0 auto;padding:12px}
section{background:#fff;border-radius:10px;padding:14px 16px;margin:0 0 12px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:17px;margin:0 0 8px}dl{margin:0;display:grid;grid-template-columns:6em 1fr;gap:4px 8px}dt{color:#52606d}dd{margin:0}
.stage{font-size:22px;font-weight:700;color:#b42318;margin:6px 0 0}ol{list-style:none;margin:0;padding:0}
ol li{position:relative;padding:0 0 10px 22px;border-left:2px solid #d9e2ec;margin-left:6px}
ol li:before{content:"";position:absolute;left:-7px;top:5px;width:12px;height:12px;border-radius:50%;background:#b42318}
ol li span{color:#52606d;font-size:14px;margin-left:8px}.req{border-top:1px solid #e4e7eb;padding:8px 0}
.req:first-child{border-top:0}.muted{color:#52606d;font-size:14px}label{display:block;margin:8px 0 4px;font-weight:600}
.opt{display:block;font-weight:400;padding:6px 0}input[type=tel],textarea{width:100%;font-size:16px;padding:8px;
border:1px solid #9aa5b1;border-radius:6px}textarea{height:5em}button{width:100%;margin-top:12px;padding:12px;font-size:17px;
border:0;border-radius:8px;background:#b42318;color:#fff}.err{color:#b42318;font-size:14px;margin:2px 0}
.ok{font-size:18px;font-weight:700;color:#0b7a3e}a{color:#0b5cad}footer{text-align:center;color:#7b8794;font-size:12px;padding:8px}
"""
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'self'; "
                                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
}


def _html(title: str, body: str) -> str:
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<meta name=\"robots\" content=\"noindex,nofollow\"><meta name=\"referrer\" content=\"no-referrer\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>")


def _response(body: str, status: int = 200, **extra: str) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **extra})


NOT_FOUND_HTML = _html("没有找到该解纷码", "<header><h1>解纷码</h1></header><main><section><h2>没有找到该解纷码</h2>"
                       "<p>请核对二维码或链接是否完整；如有疑问，请联系办理案件的调解室或综治中心。</p>"
                       "{phone}</section></main>")
TOO_MANY_HTML = _html("操作太频繁", "<header><h1>解纷码</h1></header><main><section><h2>操作太频繁</h2>"
                      "<p>请稍后再试。</p></section></main>")
ERROR_HTML = _html("暂时无法处理", "<header><h1>解纷码</h1></header><main><section><h2>暂时无法处理您的请求</h2>"
                   "<p>请返回上一页重试；如有急事，请直接联系办理案件的调解室或综治中心。</p></section></main>")
BAD_FORM_HTML = _html("无法提交", "<header><h1>解纷码</h1></header><main><section><h2>无法提交</h2>"
                      "<p>请通过页面上的表单提交申请。</p></section></main>")
UNAVAILABLE_HTML = _html("暂时无法查询", "<header><h1>解纷码</h1></header><main><section><h2>系统暂时无法查询</h2>"
                         "<p>请稍后再扫码查看；如有急事，请直接联系办理案件的调解室或综治中心。</p></section></main>")
# The database cannot be reached (down, restarting, or SQLite locked for too long): a plain page, not a trace.
DB_DOWN = (psycopg.OperationalError, sqlalchemy.exc.OperationalError)


_centre_phone: tuple[float, str] = (0.0, "")


def centre_phone() -> str:
    """The centre's public phone (系统设置 → 中心对外电话), read at most once a minute."""
    global _centre_phone
    at, phone = _centre_phone
    if time.monotonic() - at > 60 or not at:
        try:
            with session_scope() as s:
                phone = (app_settings.get(s, app_settings.CENTRE_PHONE, "")
                         or dispute_codes.org.city(s).get("public_phone", "") or "")
        except Exception:  # noqa: BLE001 - the 404 page must answer even without a database
            phone = ""
        _centre_phone = (time.monotonic(), phone)
    return phone


def reset_centre_phone() -> None:
    global _centre_phone
    _centre_phone = (0.0, "")


def _not_found_html() -> str:
    phone = centre_phone()
    line = (f"<p>咨询电话：<a href=\"tel:{escape(phone)}\">{escape(phone)}</a></p>" if phone else "")
    return NOT_FOUND_HTML.replace("{phone}", line)


def not_found() -> HTMLResponse:
    return _response(_not_found_html(), 404)


def unavailable() -> HTMLResponse:
    return _response(UNAVAILABLE_HTML, 503, **{"Retry-After": "30"})


def too_many(seconds: float = MISS_WINDOW) -> HTMLResponse:
    return _response(TOO_MANY_HTML, 429, **{"Retry-After": str(max(1, math.ceil(seconds)))})


def error_page(exc: BaseException) -> HTMLResponse:
    """Any unexpected error: a Chinese page; the log names the error's type and nothing it carried."""
    log.error("public page error: %s", type(exc).__name__)
    return _response(ERROR_HTML, 500)


class SlidingWindow:
    """Events per key in the last `window` seconds; at most `max_keys` keys kept (LRU)."""

    def __init__(self, limit: int, window: float, max_keys: int = MAX_TRACKED):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._hits: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque | None:
        hits = self._hits.get(key)
        if hits is not None:
            while hits and hits[0] <= now - self.window:
                hits.popleft()
        return hits

    def exceeded(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._recent(key, now)
            return hits is not None and len(hits) >= self.limit

    def retry_after(self, key: str) -> float:
        """Seconds until this key may act again (the real window, not a fixed guess)."""
        now = time.monotonic()
        with self._lock:
            hits = self._recent(key, now)
            if not hits:
                return 0.0
            return hits[0] + self.window - now

    def add(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._recent(key, now)
            if hits is None:
                hits = self._hits[key] = deque(maxlen=self.limit)
                while len(self._hits) > self.max_keys:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(key)
            hits.append(now)

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


misses = SlidingWindow(MISS_LIMIT, MISS_WINDOW)
posts = SlidingWindow(POST_LIMIT, POST_WINDOW)


def reset_limits() -> None:
    misses.clear()
    posts.clear()


def trusted_proxies() -> str:
    """PUBLIC_TRUSTED_PROXIES: addresses/networks whose X-Forwarded-For is believed; default none."""
    return os.environ.get("PUBLIC_TRUSTED_PROXIES", "").strip()


def _client(request: Request) -> str:
    # uvicorn has already applied X-Forwarded-For, from PUBLIC_TRUSTED_PROXIES only (serve.py)
    return request.client.host if request.client else "-"


def _limited(ip: str, *windows: SlidingWindow) -> HTMLResponse | None:
    for w in windows:
        if w.exceeded(ip):
            return too_many(w.retry_after(ip))
    return None


def guarded(endpoint):
    """Wrap an endpoint: whatever goes wrong, a Chinese page with the security headers."""
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except DB_DOWN:
            return unavailable()
        except Exception as exc:  # noqa: BLE001 - the citizen gets a page, never a trace
            return error_page(exc)
    run.__name__ = endpoint.__name__
    return run


# ---------------------------------------------------------------------------- rendering

def _field_error(errors: dict, key: str) -> str:
    return f"<p class=\"err\">{escape(errors[key])}</p>" if key in errors else ""


def _form(token: str, view: dict, form: dict, errors: dict) -> str:
    kinds = view["allowed_kinds"]
    if not kinds:
        return ("<section><h2>申请线上服务</h2>" + "".join(_field_error(errors, k) for k in ("kind", "mobile", "note", "_"))
                + "<p class=\"muted\">本案已办结，暂无可申请的线上服务；如有疑问请拨打上方联系电话。</p></section>")
    chosen = form.get("kind") or ("legal_consultation" if "legal_consultation" in kinds else kinds[0])
    options = "".join(
        f"<label class=\"opt\"><input type=\"radio\" name=\"kind\" value=\"{escape(k)}\""
        f"{' checked' if k == chosen else ''}> {escape(online_services.KINDS[k])}</label>" for k in kinds)
    return (
        "<section><h2>申请线上服务</h2>"
        f"<form method=\"post\" action=\"/c/{escape(token)}/request\" accept-charset=\"utf-8\">"
        f"<label>服务类型</label>{options}{_field_error(errors, 'kind')}"
        "<label for=\"mobile\">手机号码</label>"
        f"<input id=\"mobile\" type=\"tel\" name=\"mobile\" maxlength=\"20\" autocomplete=\"tel\" "
        f"value=\"{escape(form.get('mobile', ''))}\" placeholder=\"11 位手机号码\">{_field_error(errors, 'mobile')}"
        f"<label for=\"note\">简要说明（选填，{online_services.NOTE_MAX} 字以内）</label>"
        f"<textarea id=\"note\" name=\"note\" maxlength=\"{online_services.NOTE_MAX}\">{escape(form.get('note', ''))}</textarea>"
        f"{_field_error(errors, 'note')}{_field_error(errors, '_')}"
        "<button type=\"submit\">提交申请</button>"
        "<p class=\"muted\">工作人员将在 1 个工作日内与您联系。手机号码仅用于联系您，不会公开。</p></form></section>")


def render_page(token: str, view: dict, form: dict | None = None, errors: dict | None = None) -> str:
    e = escape
    steps = "".join(f"<li>{e(s['label'])}<span>{e(s['date'])}</span></li>" for s in view["timeline"])
    reqs = "".join(
        "<div class=\"req\">"
        f"<div><b>{e(r['kind'])}</b> <span class=\"muted\">{e(r['number'])} · {e(r['date'])}</span></div>"
        f"<div>{e(r['status'])}{'：' + e(r['scheduled']) if r['scheduled'] else ''}</div>"
        + (f"<div class=\"muted\">{e(r['outcome'])}</div>" if r["outcome"] else "") + "</div>"
        for r in view["requests"])
    phone = view["unit_phone"]
    phone_html = f"<a href=\"tel:{e(phone)}\">{e(phone)}</a>" if phone else "—"
    body = (
        f"<header><h1>{e(view['city_name'])} 解纷码</h1><p>矛盾纠纷办理进度查询</p></header><main>"
        "<section><dl>"
        f"<dt>案件编号</dt><dd>{e(view['case_number'])}</dd>"
        f"<dt>纠纷类别</dt><dd>{e(view['category'])}</dd>"
        f"<dt>受理日期</dt><dd>{e(view['registered_on'])}</dd></dl>"
        f"<p class=\"stage\">{e(view['stage'])}</p></section>"
        f"<section><h2>办理进度</h2><ol>{steps}</ol></section>"
        f"<section><h2>承办单位</h2><p>{e(view['unit_name'])}<br>联系电话：{phone_html}</p></section>"
        + (f"<section><h2>我的线上服务申请</h2>{reqs}</section>" if reqs else "")
        + _form(token, view, form or {}, errors or {})
        + "<footer>本页面不显示当事人个人信息</footer></main>")
    return _html(f"解纷码 {view['case_number']}", body)


def render_confirmation(token: str, view: dict, number: str, kind: str, mobile: str) -> str:
    e = escape
    body = (
        f"<header><h1>{e(view['city_name'])} 解纷码</h1><p>矛盾纠纷办理进度查询</p></header><main><section>"
        f"<p class=\"ok\">申请已提交</p><dl><dt>申请编号</dt><dd>{e(number)}</dd>"
        f"<dt>服务类型</dt><dd>{e(online_services.KINDS.get(kind, ''))}</dd>"
        f"<dt>联系手机</dt><dd>{e(mask_phone(mobile))}</dd></dl>"
        "<p>工作人员将在 1 个工作日内与您电话联系，办理结果会显示在进度页面上。请记下申请编号。</p>"
        f"<p><a href=\"/c/{e(token)}\">返回办理进度</a></p></section></main>")
    return _html("申请已提交", body)


# ---------------------------------------------------------------------------- endpoints

def _session():
    return session_scope()


def _read_view(token: str) -> dict | None:
    """Read the public facts. On PostgreSQL: one prepared SELECT on one of the page's own psycopg
    connections (no ORM session, no BEGIN/COMMIT); SQLite keeps the ordinary session."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        with _session() as s:
            return dispute_codes.public_view(s, token)
    if not dispute_codes.TOKEN_RE.match(token):
        return None
    try:
        found = _fetch_pg(engine, token)
    except psycopg.OperationalError:
        # a database restart or an idle timeout ends every idle connection: drop them, try once anew
        readers.close_all(engine)
        found = _fetch_pg(engine, token)
    return None if found is None else dispute_codes.build_public_view(*found, dispute_codes.city_for(engine))


def _fetch_pg(engine: Engine, token: str):
    conn = readers.get(engine)
    try:
        found = dispute_codes.fetch_pg(conn, token)
    except BaseException:
        readers.discard(conn)
        raise
    readers.put(engine, conn)
    return found


class Readers:
    """The public page's own PostgreSQL connections: autocommit, statement preparing on, reused
    last-in-first-out, at most one per reading thread (PUBLIC_PAGE_THREADS) and database.

    Not the main engine's pool: that one turns psycopg's preparing off (with `prepare_threshold=None`
    psycopg ignores even an explicit `prepare=True`, and the page's SELECT was planned afresh on
    every request, ~1.1 ms of server CPU), and an ORM session around one SELECT cost ~0.15 ms of
    Python per page. Measured in bench/bench_public_page.py (docs/dispute-codes.md)."""

    def __init__(self):
        self._idle: dict[object, list] = {}
        self._lock = threading.Lock()

    @staticmethod
    def connect_kwargs(engine: Engine) -> dict:
        """psycopg.connect() arguments from the engine's URL (password included), as SQLAlchemy builds them."""
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        assert not cargs
        return {**cparams, "autocommit": True, "connect_timeout": 5}

    def get(self, engine: Engine):
        with self._lock:
            idle = self._idle.get(engine)
            if idle:
                return idle.pop()
        return psycopg.connect(**self.connect_kwargs(engine))

    def put(self, engine: Engine, conn) -> None:
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.discard(conn)
            return
        with self._lock:
            idle = self._idle.setdefault(engine, [])
            if len(idle) < PAGE_THREADS:
                idle.append(conn)
                return
        conn.close()

    @staticmethod
    def discard(conn) -> None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - already broken; nothing left to release
            pass

    def close_all(self, engine: Engine | None = None) -> None:
        """Close the idle connections (of one engine, or of all)."""
        with self._lock:
            if engine is None:
                conns = [c for idle in self._idle.values() for c in idle]
                self._idle.clear()
            else:
                conns = self._idle.pop(engine, [])
        for conn in conns:
            self.discard(conn)


readers = Readers()


# A few threads for the page's blocking database read. Starlette's default threadpool has 40:
# under keep-alive load they contend for the GIL and stretch the tail latency.
_read_pool = ThreadPoolExecutor(max_workers=PAGE_THREADS, thread_name_prefix="public-page")


async def progress_page(request: Request) -> Response:
    """GET /c/{token}. The lookup runs in a small dedicated thread pool."""
    ip = _client(request)
    if (limited := _limited(ip, misses)):
        return limited
    if request.method not in ("GET", "HEAD"):
        return _response(_not_found_html(), 405, Allow="GET")
    token = request.path_params["token"]
    view = None
    if dispute_codes.TOKEN_RE.match(token):
        try:
            view = await asyncio.get_running_loop().run_in_executor(_read_pool, _read_view, token)
        except DB_DOWN:
            return unavailable()
    if view is None:
        misses.add(ip)
        return not_found()
    return _response(render_page(token, view))


def _submit(token: str, kind: str, mobile: str, note: str) -> tuple[str, dict | None, str | dict]:
    """('ok', view, (number, mobile)) | ('invalid', view, errors) | ('missing', None, {})"""
    try:
        with _session() as s:
            req = online_services.submit_public(s, token, kind, mobile, note)
            number, mobile = req.number, req.mobile
    except NotFound:
        return "missing", None, {}
    except ValidationError as exc:
        return "invalid", _read_view(token), exc.fields
    try:  # saved: confirm it even if the database went away just now (the page only needs the city's name)
        view = _read_view(token)
    except DB_DOWN:
        view = {"city_name": ""}
    return "ok", view, (number, mobile)


async def form_body(request: Request, limit: int) -> bytes | int:
    """A plain HTML form's body, or the status to refuse it with: 415 (not a urlencoded form),
    413 (longer than `limit` bytes; reading stops there)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return 415
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return 413
    return body


async def request_service(request: Request) -> Response:
    """POST /c/{token}/request: a plain HTML form post, answered by a redirect to the confirmation
    (POST/redirect/GET: reloading the confirmation shows it again, it never posts twice).
    GET /c/{token}/request?n=<number>: that confirmation."""
    ip = _client(request)
    token = request.path_params["token"]
    if request.method == "GET":
        if (limited := _limited(ip, misses)):
            return limited
        return await confirmation(request, ip, token)
    if (limited := _limited(ip, misses, posts)):
        return limited
    if not dispute_codes.TOKEN_RE.match(token):
        misses.add(ip)
        return not_found()
    body = await form_body(request, MAX_BODY)
    if isinstance(body, int):
        return (_response(BAD_FORM_HTML, 415) if body == 415 else
                _response(_html("内容过长", "<main><section><h2>提交的内容过长。</h2></section></main>"), 413))
    posts.add(ip)
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10, keep_blank_values=True)
    except ValueError:  # more than 10 fields: not our form
        return _response(BAD_FORM_HTML, 400)
    form = {k: (fields.get(k) or [""])[0] for k in ("kind", "mobile", "note")}
    try:
        outcome, view, result = await run_in_threadpool(_submit, token, form["kind"], form["mobile"], form["note"])
    except DB_DOWN:  # the request was not saved (its transaction never committed)
        return unavailable()
    if outcome == "missing" or view is None:
        misses.add(ip)
        return not_found()
    if outcome == "invalid":
        return _response(render_page(token, view, form, result), 400)
    number, _mobile = result
    return RedirectResponse(f"/c/{token}/request?n={number}", status_code=303, headers=SECURITY_HEADERS)


def _confirmation_facts(token: str, number: str):
    with _session() as s:
        return online_services.public_confirmation(s, token, number)


async def confirmation(request: Request, ip: str, token: str) -> Response:
    number = request.query_params.get("n", "")
    if not dispute_codes.TOKEN_RE.match(token):
        misses.add(ip)
        return not_found()
    facts = await run_in_threadpool(_confirmation_facts, token, number) if number else None
    if facts is None:  # no such request for this code: back to the progress page
        return RedirectResponse(f"/c/{token}", status_code=303, headers=SECURITY_HEADERS)
    view = await run_in_threadpool(_read_view, token)
    if view is None:
        misses.add(ip)
        return not_found()
    return _response(render_confirmation(token, view, facts["number"], facts["kind"], facts["mobile"]))


async def anything_else(request: Request) -> Response:
    """/c/x/y, /c/<token>/foo, an encoded slash: the Chinese 404, not the Streamlit shell."""
    ip = _client(request)
    if (limited := _limited(ip, misses)):
        return limited
    misses.add(ip)
    return not_found()


def routes() -> list[Route]:
    return [
        Route("/c/{token}", guarded(progress_page), methods=["GET", "HEAD", "POST"]),
        Route("/c/{token}/request", guarded(request_service), methods=["GET", "POST"]),
        Route("/c/{rest:path}", guarded(anything_else), methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/c", guarded(anything_else), methods=["GET", "HEAD", "POST"]),
    ]
