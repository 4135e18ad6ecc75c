"""The restore drill, on both databases: the demo plus live changes is backed up with
`manage.py backup`, restored into a new empty database with `manage.py restore`, and the copy holds
the same rows (every table's count and a content checksum); the portal then opens the live case on
the restored database. A damaged file, a missing manifest, a non-empty target and the wrong database
kind are refused in Chinese with nothing restored."""
from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from db.backup import BackupError, backup, content_checksum, restore, table_counts
from db.engine import dispose_all, get_engine, session_scope
from db.models import DisputeCategory, Grid, Township, Village
from services import clock
from services.cases import intake, workflow
from services.roles import STAFF, Actor
from tests.conftest import new_database
from tests.ui import app_as, by_key

ROOT = Path(__file__).resolve().parent.parent
STAFF_A = Actor(user_id=None, username="drill", role=STAFF, display_name="演练员")


def manage(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def live_change(url: str) -> str:
    """What happened after the demo was loaded: a new case registered and dispatched."""
    with session_scope(get_engine(url)) as s:
        t = s.scalar(select(Township).where(Township.mode == "station").order_by(Township.code))
        v = s.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
        g = s.scalar(select(Grid).where(Grid.village_id == v.id).order_by(Grid.code))
        cat = s.scalar(select(DisputeCategory.id).where(DisputeCategory.code == "neighbor"))
        case = intake.register_case(s, STAFF_A, intake.CaseInput(
            source="walk_in", received_at=clock.now() - dt.timedelta(minutes=30), township_id=t.id,
            village_id=v.id, grid_id=g.id, category_id=cat, complexity="simple",
            description="备份演练：楼上漏水引发邻里争执", address="剑光街道演练路 1 号",
            parties=[intake.PartyInput(name="演练人", mobile="13912340000")]))
        suggestion = intake.suggest_dispatch(s, case.id)[0]
        workflow.transition(s, STAFF_A, case.id, "dispatch", case.version,
                            people=[(suggestion["mediator_id"], suggestion["duty"])])
        return case.number


def test_backup_restore_drill(demo_url, tmp_path, _tmp_dir, monkeypatch):
    backend = "postgresql" if demo_url.startswith("postgresql") else "sqlite"
    number = live_change(demo_url)
    done = manage("backup", "--dir", str(tmp_path), url=demo_url)
    assert done.returncode == 0, done.stderr
    assert "备份完成" in done.stdout and "SHA-256" in done.stdout
    data = next(p for p in tmp_path.iterdir() if p.suffix in (".dump", ".sqlite"))
    manifest = Path(str(data) + ".json")
    for f in (data, manifest):  # personal data inside: readable by the owner only
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f

    into, cleanup = new_database(backend, _tmp_dir)
    try:
        done = manage("restore", str(data), "--into", into, url=demo_url)
        assert done.returncode == 0, done.stderr
        assert "恢复完成并已核对" in done.stdout
        dispose_all()
        counts = table_counts(demo_url)
        assert table_counts(into) == counts and counts["dispute_case"] > 5000
        assert content_checksum(into) == content_checksum(demo_url)

        # the portal runs on the restored database: staff open the live case by its number
        monkeypatch.setenv("DATABASE_URL", into)
        at = app_as(into, "staff", "pages/case_detail.py")
        at.text_input(key="cd_lookup").set_value(number)
        by_key(at.button, "cd_lookup_open").click().run()
        assert not at.exception, at.exception
        assert [h.value for h in at.header] == [number]

        # a second restore into the same (now full) database is refused without --force
        again = manage("restore", str(data), "--into", into, url=demo_url)
        assert again.returncode == 4 and "目标数据库已有" in again.stderr and "--force" in again.stderr
    finally:
        dispose_all()
        cleanup()


def test_a_damaged_or_foreign_backup_is_refused_before_anything_is_restored(db_url, tmp_path, _tmp_dir):
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    data = backup(db_url, tmp_path).path
    original = data.read_bytes()
    into, cleanup = new_database(backend, _tmp_dir)
    try:
        damaged = bytearray(original)
        damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte
        data.write_bytes(bytes(damaged))
        with pytest.raises(BackupError, match="校验失败"):
            restore(data, into)
        assert table_counts(into) == {}  # nothing restored

        data.write_bytes(original)
        other = ("sqlite:///" + str(tmp_path / "other.db") if backend == "postgresql"
                 else "postgresql+psycopg://postgres@127.0.0.1:5432/none")
        kind = "sqlite" if backend == "postgresql" else "postgresql"
        with pytest.raises(BackupError, match=f"不能恢复到 {kind} 数据库"):
            restore(data, other)

        Path(str(data) + ".json").unlink()
        with pytest.raises(BackupError, match="缺少备份清单"):
            restore(data, into, force=True)
        assert table_counts(into) == {}
    finally:
        dispose_all()
        cleanup()
