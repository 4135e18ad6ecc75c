"""The login form and logout, served by the ASGI app beside the public page (plain HTML, no script).

    GET  /login    the form (username, password, a CSRF token); a stale session cookie is cleared
    POST /login    check the password (lockout as before), start a server-side session, set the
                   cookie and redirect (303) to `next` or /
    POST /logout   revoke the session server-side, clear the cookie, back to /login

The session cookie is HttpOnly, SameSite=Strict, Path=/, Secure when the public base URL is https.
CSRF: SameSite=Strict plus a double-submit token (a random value in a SameSite=Strict cookie and in
the form's hidden field; a post whose two copies differ is refused). Refused form posts (wrong
password, stale form, bad body) are rate limited per client address with the public page's sliding
window; successful logins do not count, so a whole office behind one address can log in at 8:30.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from html import escape
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from db.config import app_mode
from db.engine import session_scope
from services import auth, demo, sessions
from services.codes import dispute_codes
from web.public import CSS, DB_DOWN, SECURITY_HEADERS, SlidingWindow

LOGIN_LIMIT, LOGIN_WINDOW = 20, 300.0  # refused login posts per client address per five minutes
CSRF_COOKIE = "mj_csrf"
MAX_BODY = 4096

login_posts = SlidingWindow(LOGIN_LIMIT, LOGIN_WINDOW)

LOGIN_CSS = CSS + """
input[type=text],input[type=password]{width:100%;font-size:16px;padding:8px;border:1px solid #9aa5b1;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-bottom:1px solid #e4e7eb;padding:4px;text-align:left}
"""
_HASH = base64.b64encode(hashlib.sha256(LOGIN_CSS.encode()).digest()).decode()
HEADERS = {**SECURITY_HEADERS,
           "Content-Security-Policy": (f"default-src 'none'; style-src 'sha256-{_HASH}'; img-src 'self'; "
                                       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")}


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def safe_next(value: str | None) -> str:
    """Only a path on this site: never `//host`, a scheme, or a backslash trick."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value or any(ord(c) < 32 for c in value):
        return "/"
    return value


def _secure() -> bool:
    with session_scope() as s:
        return dispute_codes.base_url(s).lower().startswith("https://")


def _page(message: str = "", next_path: str = "/", username: str = "", csrf: str = "", status: int = 200,
          notice: str = "") -> HTMLResponse:
    e = escape
    demo_table = ""
    if app_mode() == "demo":
        rows = "".join(f"<tr><td>{e(u)}</td><td>{e(p)}</td><td>{e(r)}</td><td>{e(w)}</td></tr>"
                       for u, p, r, w in demo.account_table())
        demo_table = ("<section><h2>演示账号</h2><table><tr><th>用户名</th><th>密码</th><th>角色</th><th>可见内容</th></tr>"
                      f"{rows}</table></section>")
    body = (
        "<header><h1>母舅坐上 · 非警务警情联动处置平台</h1><p>丰城市 12345 与 110 非警务警情联动处置专班</p></header>"
        "<main><section><h2>登录</h2>"
        + (f"<p class=\"ok\">{e(notice)}</p>" if notice else "")
        + (f"<p class=\"err\" role=\"alert\">{e(message)}</p>" if message else "")
        + "<form method=\"post\" action=\"/login\" accept-charset=\"utf-8\">"
        f"<input type=\"hidden\" name=\"csrf\" value=\"{e(csrf)}\">"
        f"<input type=\"hidden\" name=\"next\" value=\"{e(next_path)}\">"
        "<label for=\"username\">用户名</label>"
        f"<input id=\"username\" type=\"text\" name=\"username\" maxlength=\"50\" autocomplete=\"username\" "
        f"value=\"{e(username)}\" required autofocus>"
        "<label for=\"password\">密码</label>"
        "<input id=\"password\" type=\"password\" name=\"password\" maxlength=\"128\" "
        "autocomplete=\"current-password\" required>"
        "<button type=\"submit\">登录</button></form></section>"
        f"{demo_table}</main>")
    html = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<meta name=\"robots\" content=\"noindex,nofollow\"><meta name=\"referrer\" content=\"no-referrer\">"
            f"<title>登录 · 母舅坐上</title><style>{LOGIN_CSS}</style></head><body>{body}</body></html>")
    return HTMLResponse(html, status_code=status, headers=dict(HEADERS))


def _with_csrf(response: Response, token: str, secure: bool) -> Response:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login", secure=secure)
    return response


def _form_page(request: Request, message: str = "", next_path: str = "/", username: str = "", status: int = 200,
               secure: bool = False, notice: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = _page(message, next_path, username, token, status, notice)
    return _with_csrf(response, token, secure)


async def login_form(request: Request) -> Response:
    try:
        secure = await run_in_threadpool(_secure)
    except DB_DOWN:
        secure = False
    next_path = safe_next(request.query_params.get("next"))
    token = request.cookies.get(sessions.COOKIE)
    if token and await run_in_threadpool(is_alive, token):  # already logged in: no second session
        return RedirectResponse(next_path, status_code=303, headers={"Cache-Control": "no-store"})
    notice = "您已退出登录。" if request.query_params.get("out") else ""
    response = _form_page(request, next_path=next_path, secure=secure, notice=notice)
    if token:  # a dead session's cookie: drop it
        response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    return response


def is_alive(token: str | None) -> bool:
    try:
        with session_scope() as s:
            return sessions.lookup(s, token) is not None
    except DB_DOWN:
        return False


def _login(username: str, password: str, client: str, agent: str) -> tuple[auth.LoginResult, str | None, bool]:
    with session_scope() as s:
        result = auth.login(s, username, password)
        token = sessions.create(s, result.user_id, client, agent) if result.ok else None
        secure = dispute_codes.base_url(s).lower().startswith("https://")
    return result, token, secure


async def login_post(request: Request) -> Response:
    ip = _client(request)
    if login_posts.exceeded(ip):
        return _page("操作太频繁，请稍后再试。", status=429)
    response = await _login_post(request, ip)
    if response.status_code != 303:  # only refused posts count: an office behind one address logs in all morning
        login_posts.add(ip)
    return response


async def _login_post(request: Request, ip: str) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return _page("请通过登录页面提交。", status=415)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return _page("提交的内容过长。", status=413)
    fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10, keep_blank_values=True)
    form = {k: (fields.get(k) or [""])[0] for k in ("username", "password", "csrf", "next")}
    next_path = safe_next(form["next"])
    cookie_csrf = request.cookies.get(CSRF_COOKIE, "")
    if not cookie_csrf or not hmac.compare_digest(cookie_csrf.encode(), form["csrf"].encode()):
        return _form_page(request, "页面已过期，请重新登录。", next_path, status=403)
    try:
        result, token, secure = await run_in_threadpool(
            _login, form["username"][:50], form["password"][:128], ip, request.headers.get("user-agent", ""))
    except DB_DOWN:
        return _page("系统暂时无法登录，请稍后再试。", status=503)
    if not result.ok:
        return _form_page(request, result.message, next_path, form["username"][:50], status=401, secure=secure)
    response = RedirectResponse(next_path, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(sessions.COOKIE, token, httponly=True, samesite="strict", path="/", secure=secure)
    response.delete_cookie(CSRF_COOKIE, path="/login", httponly=True, samesite="strict", secure=secure)
    return response


def _revoke(token: str | None) -> None:
    with session_scope() as s:
        alive = sessions.lookup(s, token)
        if alive is not None:
            auth.logout(s, auth.actor_for(alive.user), token)
        else:
            sessions.revoke(s, token, "logout")


async def logout_post(request: Request) -> Response:
    token = request.cookies.get(sessions.COOKIE)
    try:
        await run_in_threadpool(_revoke, token)
        secure = await run_in_threadpool(_secure)
    except DB_DOWN:
        return _page("系统暂时无法退出，请稍后再试。", status=503)
    response = RedirectResponse("/login?out=1", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    return response


def login_url(next_path: str = "/") -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="/")


def routes() -> list[Route]:
    return [
        Route("/login", login_form, methods=["GET", "HEAD"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout_post, methods=["POST"]),
    ]
