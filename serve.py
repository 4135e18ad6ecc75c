"""ASGI entry: the Streamlit UI and the plain HTTP routes in one server.

    uvicorn serve:app --host 0.0.0.0 --port 8501 --loop uvloop --http httptools --no-access-log

Served by uvicorn rather than `streamlit run` because uvicorn sets TCP_NODELAY on accepted
connections; under `streamlit run` every keep-alive request to a plain route stalls ~44 ms
(see docs/architecture.md). The Streamlit UI behaves the same either way.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager

# Our router (app.py) lists every page through st.navigation. Turn Streamlit's legacy
# auto-discovery of pages/ off before the first session, so no page can ever be run
# without the router, not even on a fresh process's first request.
PagesManager.uses_pages_directory = False

import streamlit as st  # noqa: E402

# `import streamlit` gives uvicorn's loggers console handlers at INFO (streamlit/logger.py), which
# turns the access log back on after `--no-access-log` turned it off: one line per request, each
# carrying a citizen's dispute-code token (the token is the key to the public page), and ~10% of
# the public page's CPU. The portal keeps no access log; put one in the reverse proxy if needed,
# with the /c/ paths redacted.
_access = logging.getLogger("uvicorn.access")
_access.handlers.clear()
_access.disabled = True

from components.navigation import PAGES  # noqa: E402
from services.sessions import COOKIE  # noqa: E402
from web.auth import is_alive  # noqa: E402
from web.middleware import PortalMiddleware  # noqa: E402

# uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise (--forwarded-allow-ips,
# FORWARDED_ALLOW_IPS): a client on the same machine could then pose as any address and walk past
# the public page's rate limits. Here the operator's PUBLIC_TRUSTED_PROXIES is the only list
# (default: none). uvicorn looks this name up when it wraps the app, which is after this import.
import uvicorn.config  # noqa: E402
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware  # noqa: E402

from web.public import trusted_proxies  # noqa: E402


def _proxy_headers(app, trusted_hosts=None):  # noqa: ARG001 - uvicorn's own default is ignored on purpose
    return ProxyHeadersMiddleware(app, trusted_hosts=trusted_proxies())


uvicorn.config.ProxyHeadersMiddleware = _proxy_headers

from web.routes import routes  # noqa: E402

# Security headers on every response, and page loads without a live session sent to /login.
# PORTAL_REPLICA names this process in an X-Replica header (several replicas behind nginx: deploy/).
_PAGE_PATHS = {""} | {"/" + p.url_path for p in PAGES}
app = PortalMiddleware(st.App(str(Path(__file__).with_name("app.py")), routes=routes()),
                       _PAGE_PATHS, is_alive, COOKIE, os.environ.get("PORTAL_REPLICA"))
