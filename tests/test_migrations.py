"""The schema comes only from Alembic, works on both databases, and matches the models; a failing
migration leaves the schema as it was."""
import shutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from db.migrate import downgrade, upgrade
from db.models import Base
from tests.ui import ROOT


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


BROKEN = '''"""a broken migration, made by tests/test_migrations.py"""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("broken_probe", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("setting", sa.Column("broken_col", sa.Integer))
    {failure}


def downgrade() -> None:
    pass
'''


@pytest.fixture(params=["raise RuntimeError('迁移脚本出错')", "op.execute('SELECT no_such_column FROM setting')"],
                ids=["python-error", "sql-error"])
def broken_migrations(request, tmp_path, monkeypatch):
    """A copy of migrations/ with one more revision on top that changes the schema, then fails;
    db.migrate points at it (as the portal and manage.py would after a bad deploy)."""
    import db.migrate
    from alembic.script import ScriptDirectory
    real = db.migrate.alembic_config
    head = ScriptDirectory.from_config(real("sqlite://")).get_current_head()
    shutil.copytree(ROOT / "migrations", tmp_path / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "migrations" / "versions" / "9999_broken.py").write_text(
        BROKEN.format(head=head, failure=request.param), encoding="utf-8")

    def config(url):
        cfg = real(url)
        cfg.set_main_option("script_location", str(tmp_path / "migrations"))
        return cfg
    monkeypatch.setattr(db.migrate, "alembic_config", config)
    return head


def _version(url):
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return MigrationContext.configure(conn).get_current_heads()
    finally:
        eng.dispose()


def test_a_failing_migration_changes_nothing_and_says_so_once(fresh_url, broken_migrations, capsys):
    """A bad deploy: the migration fails halfway. The schema is exactly as before (the whole upgrade is
    one transaction, DDL included, on both databases) and the operator reads one Chinese message."""
    import manage
    upgrade(fresh_url, broken_migrations)  # the real schema, at the real head
    with pytest.raises(SystemExit) as exc:
        manage.main(["migrate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "数据库迁移失败" in err and "保持原样" in err and "Traceback" not in err
    assert "无法连接数据库" not in err  # the database was reachable: not reported as a connection problem
    assert _version(fresh_url) == (broken_migrations,)
    assert "broken_probe" not in _tables(fresh_url)
    eng = create_engine(fresh_url)
    try:
        assert "broken_col" not in {c["name"] for c in inspect(eng).get_columns("setting")}
    finally:
        eng.dispose()
    assert _drift(fresh_url) == []


def test_the_portal_page_reports_a_failing_migration_without_a_trace(fresh_url, broken_migrations):
    from streamlit.testing.v1 import AppTest

    from tests.ui import APP
    upgrade(fresh_url, broken_migrations)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("数据库结构升级失败" in e.value for e in at.error)
    assert not at.text_input  # no login form on a schema that is not at head
    assert _version(fresh_url) == (broken_migrations,)
