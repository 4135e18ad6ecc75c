"""Engine and session factory. Callers own the transaction: `with session_scope() as s: ...`."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.config import database_url

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """hide_parameters: an error or echo never writes the bound values (a password hash, a
    citizen's mobile) into the log. Every engine's sessions pass the input layer's safety net."""
    from services import inputs, refdata  # noqa: F401 - refdata: its listeners see reference-data writes
    inputs.install()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers locks; take the write lock at BEGIN so two
        # writers queue on busy_timeout instead of failing on lock upgrade.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"prepare_threshold": None, "connect_timeout": 5},
    )


def get_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _factories.clear()


_factories: dict[int, sessionmaker] = {}


def _factory(engine: Engine) -> sessionmaker:
    factory = _factories.get(id(engine))
    if factory is None or factory.kw.get("bind") is not engine:
        factory = _factories[id(engine)] = sessionmaker(bind=engine, expire_on_commit=False)
    return factory


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    with _factory(engine or get_engine())() as session, session.begin():
        yield session
