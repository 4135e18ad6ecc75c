"""The check-in page (签到链接) for dispatched people: plain HTML for a phone, no login, no script.

    GET  /k/{token}   the case's place, category, arrival deadline and clock, the caller's masked
                      phone, a button that calls the centre, and three buttons
    POST /k/{token}   one tap (step = depart / arrive / handover), answered by a redirect back
                      (POST/redirect/GET: a reload never taps twice)

The same habits as the public dispute-code page (web/public.py), whose helpers this reuses: one
identical 404 page for unknown, malformed, expired and revoked links; misses and taps rate-limited
per client address; every response with no-store, no-referrer, noindex, nosniff, DENY framing and
a CSP without script; errors logged by type only, never with the token (there is no access log).

Cross-site request forgery: the only credential is the secret token in the form's own URL, and
there is no cookie, so a foreign site cannot build a working form without already holding the
link. Besides, a POST is refused (403) when the browser says it comes from another site
(`Sec-Fetch-Site: cross-site`) or its `Origin` names another host than the one it was sent to.
"""
from __future__ import annotations

from html import escape
from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from db.engine import session_scope
from services import clock
from services.cases import checkin
from services.errors import DomainError
from web.public import (DB_DOWN, SECURITY_HEADERS, SlidingWindow, _client, _html, _limited, _response, centre_phone, form_body,
                        guarded, misses, unavailable)

TAP_LIMIT, TAP_WINDOW = 30, 600.0  # taps per address per ten minutes
MAX_BODY = 512
taps = SlidingWindow(TAP_LIMIT, TAP_WINDOW)

GONE_HTML = _html("签到链接无效", "<header><h1>调度签到</h1></header><main><section><h2>签到链接无效或已失效</h2>"
                  "<p>链接可能已过期（24 小时）、已作废，或案件已转入其他层级。请联系综治中心重新获取。</p>"
                  "{phone}</section></main>")
REFUSED_HTML = _html("无法提交", "<header><h1>调度签到</h1></header><main><section><h2>无法提交</h2>"
                     "<p>请在签到页面上点击按钮提交。</p></section></main>")
RETRY_HTML = _html("暂时无法记录", "<header><h1>调度签到</h1></header><main><section><h2>暂时无法记录</h2>"
                   "<p>请返回签到页面重试；如有急事，请直接致电综治中心。</p></section></main>")


def _phone_line() -> str:
    phone = centre_phone()
    return f"<p>综治中心电话：<a href=\"tel:{escape(phone)}\">{escape(phone)}</a></p>" if phone else ""


def gone() -> HTMLResponse:
    return _response(GONE_HTML.replace("{phone}", _phone_line()), 404)


def _hm(value) -> str:
    return clock.fmt(value)[11:16] if value else ""


def render(token: str, view: dict, done: str = "", again: bool = False) -> str:
    e = escape
    place = " · ".join(x for x in (view["township"], view["village"]) if x)
    phone = centre_phone()
    call = (f"<p><a href=\"tel:{e(phone)}\"><b>拨打综治中心（由中心转接报警人）</b></a></p>" if phone
            else "<p class=\"muted\">请联系综治中心转接报警人。</p>")
    flash = ""
    if done in checkin.STEPS:
        flash = (f"<section><p class=\"ok\">{'已记录过“' + e(checkin.STEPS[done]) + '”，保留首次时间' if again else '已记录：' + e(checkin.STEPS[done])}</p></section>")
    stamps = {"depart": view["departed_at"], "arrive": view["arrived_at"], "handover": view["finished_at"]}
    buttons = "".join(
        f"<form method=\"post\" action=\"/k/{e(token)}\" accept-charset=\"utf-8\">"
        f"<input type=\"hidden\" name=\"step\" value=\"{step}\">"
        f"<button type=\"submit\">{e(label)}{'（' + _hm(stamps[step]) + '）' if stamps[step] else ''}</button></form>"
        for step, label in checkin.STEPS.items())
    body = (
        "<header><h1>调度签到</h1><p>请到场后点击“已到场”，时间以服务器为准</p></header><main>" + flash +
        "<section><dl>"
        f"<dt>案件编号</dt><dd>{e(view['case_number'])}</dd>"
        f"<dt>纠纷类别</dt><dd>{e(view['category'])}</dd>"
        f"<dt>地点</dt><dd>{e(place)}</dd>"
        f"<dt>详细地址</dt><dd>{e(view['address']) or '—'}</dd>"
        f"<dt>您的职责</dt><dd>{e(view['duty'])}</dd>"
        f"<dt>到场时限</dt><dd>{e(clock.fmt(view['due_at']))}</dd></dl>"
        f"<p class=\"stage\">{e(view['countdown'])}</p></section>"
        f"<section><h2>报警人</h2><p>电话：{e(view['caller_phone']) or '—'}</p>{call}</section>"
        f"<section><h2>签到</h2>{buttons}</section>"
        f"<footer>链接有效至 {e(clock.fmt(view['expires_at']))}，请勿转发</footer></main>")
    return _html(f"调度签到 {view['case_number']}", body)


def _view(token: str) -> dict | None:
    with session_scope() as s:
        return checkin.page_view(s, token)


def _tap(token: str, step: str) -> str | None:
    with session_scope() as s:
        return checkin.tap(s, token, step)


def _cross_site(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()
    return False


async def checkin_page(request: Request) -> Response:
    ip = _client(request)
    token = request.path_params["token"]
    if (limited := _limited(ip, misses, *((taps,) if request.method == "POST" else ()))):
        return limited
    if not checkin.TOKEN_RE.match(token):
        misses.add(ip)
        return gone()
    if request.method == "POST":
        return await _post(request, ip, token)
    try:
        view = await run_in_threadpool(_view, token)
    except DB_DOWN:
        return unavailable()
    if view is None:
        misses.add(ip)
        return gone()
    q = request.query_params
    return _response(render(token, view, q.get("done", ""), q.get("again") == "1"))


async def _post(request: Request, ip: str, token: str) -> Response:
    if _cross_site(request):
        return _response(REFUSED_HTML, 403)
    body = await form_body(request, MAX_BODY)
    if isinstance(body, int):
        return _response(REFUSED_HTML, body)
    taps.add(ip)
    try:
        step = (parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=5).get("step") or [""])[0]
    except ValueError:
        return _response(REFUSED_HTML, 400)
    if step not in checkin.STEPS:
        return _response(REFUSED_HTML, 400)
    try:
        result = await run_in_threadpool(_tap, token, step)
    except DB_DOWN:
        return unavailable()
    except DomainError:  # e.g. a clerk changed the case at the same moment: nothing was saved
        return _response(RETRY_HTML, 409)
    if result is None:
        misses.add(ip)
        return gone()
    again = "&again=1" if result == "already" else ""
    return RedirectResponse(f"/k/{token}?done={step}{again}", status_code=303, headers=SECURITY_HEADERS)


async def anything_else(request: Request) -> Response:
    ip = _client(request)
    if (limited := _limited(ip, misses)):
        return limited
    misses.add(ip)
    return gone()


def reset_limits() -> None:
    taps.clear()


def routes() -> list[Route]:
    return [
        Route("/k/{token}", guarded(checkin_page), methods=["GET", "HEAD", "POST"]),
        Route("/k/{rest:path}", guarded(anything_else), methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/k", guarded(anything_else), methods=["GET", "HEAD", "POST"]),
    ]
