"""/readyz for the proxy and monitoring: 200 only when the database answers and its schema is at
the latest migration; 503 with a short reason otherwise, never the database's own error text."""
from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.migrate import upgrade
from web.routes import routes


def ask(monkeypatch, url: str):
    monkeypatch.setenv("DATABASE_URL", url)
    with TestClient(Starlette(routes=routes())) as c:
        return c.get("/readyz"), c.get("/healthz")


def test_ready_when_the_schema_is_at_head(db_url, monkeypatch):
    ready, alive = ask(monkeypatch, db_url)
    assert (ready.status_code, ready.text) == (200, "ready")
    assert ready.headers["cache-control"] == "no-store" and alive.text == "ok"


def test_not_ready_before_the_migrations(fresh_url, monkeypatch):
    ready, alive = ask(monkeypatch, fresh_url)
    assert (ready.status_code, ready.text) == (503, "not ready: schema not at the latest migration")
    assert alive.status_code == 200  # the process itself is alive
    upgrade(fresh_url)
    assert ask(monkeypatch, fresh_url)[0].status_code == 200


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody:secret@127.0.0.1:1/nowhere"])
def test_not_ready_when_the_database_is_unreachable(url, monkeypatch):
    ready, _ = ask(monkeypatch, url)
    assert (ready.status_code, ready.text) == (503, "not ready: database unreachable")
    assert "secret" not in ready.text and "nobody" not in ready.text
