"""Route table for st.App. Features add their routes here."""
from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.routing import Route

from web import auth, checkin, public


async def healthz(_request):
    return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [Route("/healthz", healthz), *auth.routes(), *public.routes(), *checkin.routes()]
