"""ASGI entry: the Streamlit UI and the plain HTTP routes in one server.

    uvicorn serve:app --host 0.0.0.0 --port 8501

Served by uvicorn rather than `streamlit run` because uvicorn sets TCP_NODELAY on accepted
connections; under `streamlit run` every keep-alive request to a plain route stalls ~44 ms
(see docs/architecture.md). The Streamlit UI behaves the same either way.
"""
from __future__ import annotations

from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager

# Our router (app.py) lists every page through st.navigation. Turn Streamlit's legacy
# auto-discovery of pages/ off before the first session, so no page can ever be run
# without the router, not even on a fresh process's first request.
PagesManager.uses_pages_directory = False

import streamlit as st  # noqa: E402

from web.routes import routes  # noqa: E402

app = st.App(str(Path(__file__).with_name("app.py")), routes=routes())
