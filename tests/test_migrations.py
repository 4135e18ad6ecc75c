"""The schema comes only from Alembic, works on both databases, and matches the models."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from db.migrate import downgrade, upgrade
from db.models import Base


def _tables(url):
    eng = create_engine(url)
    try:
        return set(inspect(eng).get_table_names()) - {"alembic_version"}
    finally:
        eng.dispose()


def _drift(url):
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        eng.dispose()


def test_upgrade_downgrade_upgrade_without_drift(fresh_url):
    upgrade(fresh_url)
    assert _tables(fresh_url) == set(Base.metadata.tables)
    assert _drift(fresh_url) == []
    downgrade(fresh_url, "base")
    assert _tables(fresh_url) == set()
    upgrade(fresh_url)
    assert _tables(fresh_url) == set(Base.metadata.tables)
    assert _drift(fresh_url) == []
