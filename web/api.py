"""The intake API of the 110 and 12345 platforms: JSON over plain routes (docs/api.md).

    GET  /api/v1/openapi.json                     the OpenAPI 3.1 document (no key needed)
    GET  /api/v1/services                         the dispute categories a call may name
    POST /api/v1/calls                            a call: 201 with the new case, 200 for a repeat
    GET  /api/v1/calls/{source}/{external_id}     where the call's case stands

Every other request needs `Authorization: Bearer <key>` (services.api_keys): a missing, unknown,
revoked or malformed key is 401, and misses are limited per client address (20 a minute, in
memory, like the public page's). A known key's requests are counted in the database, one fixed
minute per key, against the setting api_rate_limit: over it, 429 with Retry-After.

Answers are JSON in UTF-8 (ensure_ascii=False), `no-store`. Errors are {"error": 中文} plus, for bad
fields, {"fields": {field: 中文}}. An unexpected error answers one Chinese sentence; the log gets
the error's type only, never a request's values (caller names and phones) or a key. Bodies are
`application/json` up to 64 KB (413 beyond, read no further). Any other path under /api/ is a
JSON 404, never the Streamlit page.
"""
from __future__ import annotations

import json
import logging
import math
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.engine import session_scope
from services import api_keys
from services.cases import calls
from services.errors import PermissionDenied, ValidationError
from web import openapi
from web.public import DB_DOWN, SlidingWindow, _client

log = logging.getLogger("mujiu.api")

MAX_BODY = 64 * 1024
MISS_LIMIT, MISS_WINDOW = 20, 60.0  # refused keys per client address per minute before 429
misses = SlidingWindow(MISS_LIMIT, MISS_WINDOW)
AUTH_HEADER = {"WWW-Authenticate": 'Bearer realm="mujiu-api"'}

MESSAGES = {
    "no_key": "缺少接口密钥：请在请求头中提供 Authorization: Bearer <接口密钥>。",
    "bad_key": "接口密钥无效或已作废，请联系综治中心管理员。",
    "too_many_misses": "密钥错误次数过多，请稍后再试。",
    "content_type": "请求体须为 JSON，请设置 Content-Type: application/json（UTF-8）。",
    "too_large": f"请求体超过 {MAX_BODY // 1024} KB，未处理。",
    "bad_json": "请求体不是合法的 UTF-8 JSON。",
    "not_object": "请求体应为一个 JSON 对象。",
    "invalid": "提交的字段有误，请按 fields 中的说明修改后重新提交。",
    "not_found": "未找到该警情：编号不存在，或不属于本平台。",
    "no_route": "接口地址不存在，请对照接口文档 /api/v1/openapi.json。",
    "method": "该接口不支持此请求方法。",
    "unavailable": "系统暂时无法处理，请稍后重试。",
    "error": "系统处理该请求时出错，请稍后重试；如持续出现，请联系综治中心。",
}


def _json(data, status: int = 200, **headers: str) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "no-store", **headers})


def error(status: int, message: str, fields: dict | None = None, **headers: str) -> Response:
    return _json({"error": message, **({"fields": fields} if fields else {})}, status, **headers)


def _too_many(message: str, seconds: float) -> Response:
    return error(429, message, **{"Retry-After": str(max(1, math.ceil(seconds)))})


def guarded(endpoint):
    """Whatever goes wrong inside: a JSON answer in Chinese; the log names the error's type only."""
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except DB_DOWN:
            return error(503, MESSAGES["unavailable"], **{"Retry-After": "30"})
        except Exception as exc:  # noqa: BLE001 - the platform gets a sentence, never a trace
            log.error("api error: %s", type(exc).__name__)
            return error(500, MESSAGES["error"])
    run.__name__ = endpoint.__name__
    return run


# ---------------------------------------------------------------- the key and the rate limit
def _check_key(token: str) -> tuple[api_keys.KeyInfo | None, float | None, int]:
    """(key or None, seconds to wait when over the limit, the limit). Its own short transaction,
    so the count stands whatever the request does next."""
    with session_scope() as s:
        key = api_keys.authenticate(s, token)
        if key is None:
            return None, None, 0
        limit = api_keys.rate_limit(s)
        return key, api_keys.count_request(s, key.id, limit), limit


async def authorise(request: Request) -> api_keys.KeyInfo | Response:
    ip = _client(request)
    if misses.exceeded(ip):
        return _too_many(MESSAGES["too_many_misses"], misses.retry_after(ip))
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        misses.add(ip)
        return error(401, MESSAGES["no_key"], **AUTH_HEADER)
    key, wait, limit = await run_in_threadpool(_check_key, token.strip())
    if key is None:
        misses.add(ip)
        return error(401, MESSAGES["bad_key"], **{"WWW-Authenticate": 'Bearer realm="mujiu-api", error="invalid_token"'})
    if wait is not None:
        return _too_many(f"调用过于频繁：每个接口密钥每分钟最多调用 {limit} 次，请 {math.ceil(wait)} 秒后再试。", wait)
    return key


async def read_json(request: Request) -> dict | Response:
    """The body as a JSON object, or the answer refusing it (415, 413, 400)."""
    ctype, *params = [p.strip().lower() for p in request.headers.get("content-type", "").split(";")]
    charset = next((p.removeprefix("charset=").strip('"') for p in params if p.startswith("charset=")), "utf-8")
    if ctype != "application/json" or charset not in ("utf-8", "utf8"):
        return error(415, MESSAGES["content_type"])
    try:
        declared = int(request.headers.get("content-length", "0") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return error(413, MESSAGES["too_large"])
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return error(413, MESSAGES["too_large"])
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return error(400, MESSAGES["bad_json"])
    if not isinstance(data, dict):
        return error(400, MESSAGES["not_object"])
    return data


# ---------------------------------------------------------------- endpoints
async def openapi_json(_request: Request) -> Response:
    return _json(openapi.document())


def _services() -> list[dict]:
    with session_scope() as s:
        return calls.services(s)


async def list_services(request: Request) -> Response:
    key = await authorise(request)
    if isinstance(key, Response):
        return key
    return _json(await run_in_threadpool(_services))


def _accept(key: api_keys.KeyInfo, payload: dict) -> tuple[int, dict]:
    try:
        with session_scope() as s:
            accepted = calls.accept(s, key, payload)
    except ValidationError as exc:
        return 422, {"error": MESSAGES["invalid"], "fields": exc.fields}
    except PermissionDenied as exc:
        return 403, {"error": exc.message}
    return (201 if accepted.created else 200), accepted.body


async def post_call(request: Request) -> Response:
    key = await authorise(request)
    if isinstance(key, Response):
        return key
    payload = await read_json(request)
    if isinstance(payload, Response):
        return payload
    status, body = await run_in_threadpool(_accept, key, payload)
    headers = {"Location": f"/api/v1/calls/{body['source']}/{body['external_id']}"} if status in (200, 201) else {}
    return _json(body, status, **headers)


def _status(key: api_keys.KeyInfo, source: str, external_id: str) -> dict | None:
    with session_scope() as s:
        return calls.status(s, key, source, external_id)


async def get_call(request: Request) -> Response:
    key = await authorise(request)
    if isinstance(key, Response):
        return key
    source, external_id = request.path_params["source"], request.path_params["external_id"]
    body = await run_in_threadpool(_status, key, source, external_id)
    return _json(body) if body is not None else error(404, MESSAGES["not_found"])


# a known address asked with another method: 405 with Allow (the catch-all below would say 404)
ALLOWED = ((re.compile(r"^/api/v1/(openapi\.json|services)$"), "GET, HEAD"), (re.compile(r"^/api/v1/calls$"), "POST"),
           (re.compile(r"^/api/v1/calls/[^/]+/[^/]+$"), "GET, HEAD"))


async def no_route(request: Request) -> Response:
    path = request.url.path.rstrip("/") if request.url.path != "/" else "/"
    allow = next((methods for pattern, methods in ALLOWED if pattern.match(path)), None)
    if allow is not None and path == request.url.path:
        return error(405, MESSAGES["method"], Allow=allow)
    return error(404, MESSAGES["no_route"])


def reset_limits() -> None:
    misses.clear()


def routes() -> list[Route]:
    return [
        Route("/api/v1/openapi.json", guarded(openapi_json), methods=["GET", "HEAD"]),
        Route("/api/v1/services", guarded(list_services), methods=["GET", "HEAD"]),
        Route("/api/v1/calls", guarded(post_call), methods=["POST"]),
        Route("/api/v1/calls/{source}/{external_id}", guarded(get_call), methods=["GET", "HEAD"]),
        Route("/api/{rest:path}", guarded(no_route), methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/api", guarded(no_route), methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    ]
