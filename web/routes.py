"""Route table for st.App. Features add their routes here."""
from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from web import api, auth, checkin, public

log = logging.getLogger("mujiu.ready")


async def healthz(_request):
    """The process answers (for a proxy's liveness check)."""
    return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})


def _ready() -> str | None:
    """None when the database answers and its schema is at the latest migration; else why not."""
    from db.config import database_url
    from db.engine import get_engine
    from db.migrate import is_at_head
    try:
        return None if is_at_head(get_engine(database_url())) else "schema not at the latest migration"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason goes to the log only
        log.warning("not ready: %s", type(exc).__name__)
        return "database unreachable"


async def readyz(_request):
    """Ready to serve (for the proxy and monitoring): 200 "ready", else 503 with a short reason
    (never the exception's text: it may name the database host or user)."""
    why = await run_in_threadpool(_ready)
    return PlainTextResponse("ready" if why is None else f"not ready: {why}", status_code=200 if why is None else 503,
                             headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [Route("/healthz", healthz), Route("/readyz", readyz), *auth.routes(), *public.routes(),
            *checkin.routes(), *api.routes()]
