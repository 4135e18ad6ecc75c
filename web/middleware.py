"""ASGI middleware around the whole app (Streamlit UI, login form, public page): security headers
on every HTTP response, and the login gate for page loads.

- Every response gets X-Frame-Options DENY, a CSP with frame-ancestors 'none' (unless the route
  sent a stricter policy of its own, as the public page and the login form do), nosniff,
  no-referrer and noindex, the headers the public page already sent.
- A full page load of the Streamlit UI (GET / or a page's URL) without a live session is answered
  with a redirect to /login?next=<that page>, so a reload after 退出登录, an expired session or a
  replayed cookie lands on the form. The websocket app re-checks the session on every rerun too.
- With several replicas behind a proxy (docs/operations.md), `PORTAL_REPLICA=<name>` makes every
  response, and the websocket's handshake, say which replica answered (`X-Replica: <name>`): for
  the operator's curl, the proxy's log and the failover test. Unset: no such header.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool

BASE_HEADERS = {
    b"x-frame-options": b"DENY",
    b"content-security-policy": b"frame-ancestors 'none'",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-robots-tag": b"noindex, nofollow",
}

REPLICA_NAME = re.compile(r"[A-Za-z0-9._-]{1,32}")


def replica_header(name: str | None) -> tuple[bytes, bytes] | None:
    """The X-Replica header for a replica's name; None when unset or not a plain short name."""
    name = (name or "").strip()
    return (b"x-replica", name.encode()) if REPLICA_NAME.fullmatch(name) else None


def _cookie(scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


class PortalMiddleware:
    def __init__(self, app, page_paths: set[str], is_alive, cookie_name: str, replica: str | None = None):
        self.app, self.page_paths, self.is_alive, self.cookie_name = app, page_paths, is_alive, cookie_name
        self.replica = replica_header(replica)
        self.base = [*BASE_HEADERS.items(), *([self.replica] if self.replica else [])]

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and self.replica:
            async def accept_with_replica(message):
                if message["type"] == "websocket.accept":
                    message = {**message, "headers": [*message.get("headers", []), self.replica]}
                await send(message)

            await self.app(scope, receive, accept_with_replica)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        is_page = scope.get("method") in ("GET", "HEAD") and path.rstrip("/") in self.page_paths
        if is_page and not await run_in_threadpool(self.is_alive, _cookie(scope, self.cookie_name)):
            target = "/login?next=" + quote(path or "/", safe="/")
            headers = [(b"location", target.encode()), (b"cache-control", b"no-store"),
                       (b"content-length", b"0"), *self.base]
            await send({"type": "http.response.start", "status": 303, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.base if k not in present]
                if is_page and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
