"""Backup and restore with the tools made for them: pg_dump / pg_restore on PostgreSQL, SQLite's
online backup API on the embedded default.

A backup is two files side by side:

    mujiu_<database>_<YYYYmmdd-HHMMSS>.dump|.sqlite   the data (custom format / a database file)
    the same name + .json                              its manifest: SHA-256 of the data file, when,
                                                       the schema revision and every table's row count

`restore` checks the SHA-256 before touching anything, refuses a target database that already has
tables unless forced, restores, and then verifies: the schema is at the latest migration and every
table holds the row count the manifest recorded. Both files hold personal data: they are written
readable by their owner only (0600) and belong where the database itself is kept (docs/operations.md).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

MANIFEST_SUFFIX = ".json"


class BackupError(Exception):
    """A refusal or failure, with a Chinese message the operator can act on."""


@dataclass
class Report:
    path: Path
    sha256: str
    counts: dict[str, int]
    revision: list[str]


# ------------------------------------------------------------------ helpers
def _is_pg(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _sqlite_path(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise BackupError("内存数据库无法备份或恢复，请使用文件数据库。")
    return Path(path)


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq connection string for pg_dump / pg_restore, the password through the environment."""
    u = make_url(url)
    parts = {"host": u.host, "port": u.port, "user": u.username, "dbname": u.database}
    dsn = " ".join(f"{k}={v}" for k, v in parts.items() if v)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return dsn, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian：apt-get install postgresql-client）。")
    return found


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _private(path: Path) -> None:
    os.chmod(path, 0o600)


def table_counts(url: str) -> dict[str, int]:
    """Every table's row count (alembic_version included), by name."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            return {n: conn.scalar(select(func.count()).select_from(text(_quoted(conn, n)))) for n in names}
    finally:
        engine.dispose()


def content_checksum(url: str) -> dict[str, str]:
    """Per table, a SHA-256 of every row as text, in primary-key order: two databases with the same
    checksums hold the same data (used by the restore drill)."""
    engine = create_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            for name in sorted(insp.get_table_names()):
                cols = [c["name"] for c in insp.get_columns(name)]
                keys = insp.get_pk_constraint(name).get("constrained_columns") or cols
                order = ", ".join(_quoted(conn, k) for k in keys)
                h = hashlib.sha256()
                for row in conn.execute(text(f"SELECT * FROM {_quoted(conn, name)} ORDER BY {order}")):
                    h.update(repr(tuple(_canonical(v) for v in row)).encode())
                out[name] = h.hexdigest()
    finally:
        engine.dispose()
    return out


def _canonical(value):
    """The same value reads the same on both sides of a restore (SQLite gives text for times)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return hashlib.sha256(bytes(value)).hexdigest()
    return value


def _quoted(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _revision(url: str) -> list[str]:
    from alembic.runtime.migration import MigrationContext
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


# ------------------------------------------------------------------ backup
def backup(url: str, out_dir: Path, now: dt.datetime | None = None) -> Report:
    """Write a consistent copy of the database and its manifest into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    counts = table_counts(url)
    if _is_pg(url):
        name = make_url(url).database
        path = out_dir / f"mujiu_{name}_{stamp}.dump"
        dsn, env = _libpq(url)
        # custom format: compressed, restorable table by table; one snapshot (pg_dump's own transaction)
        done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                               f"--file={path}", dsn], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            path.unlink(missing_ok=True)
            raise BackupError(f"pg_dump 失败：{done.stderr.strip()}")
    else:
        src = _sqlite_path(url)
        path = out_dir / f"mujiu_{src.stem}_{stamp}.sqlite"
        with sqlite3.connect(src) as s, sqlite3.connect(path) as d:
            s.backup(d)  # a consistent copy while the portal keeps writing (WAL included)
        counts = table_counts(f"sqlite:///{path}")  # exactly what the copy holds
    _private(path)
    report = Report(path, sha256_of(path), counts, _revision(url))
    manifest = Path(str(path) + MANIFEST_SUFFIX)
    manifest.write_text(json.dumps({
        "file": path.name, "sha256": report.sha256, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "backend": "postgresql" if _is_pg(url) else "sqlite", "revision": report.revision, "counts": counts,
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    _private(manifest)
    return report


# ------------------------------------------------------------------ restore
def read_manifest(path: Path) -> dict:
    manifest = Path(str(path) + MANIFEST_SUFFIX)
    if not path.exists():
        raise BackupError(f"备份文件不存在：{path}")
    if not manifest.exists():
        raise BackupError(f"缺少备份清单 {manifest.name}（与备份文件同目录），无法核对备份是否完整。")
    return json.loads(manifest.read_text(encoding="utf-8"))


def restore(path: Path, into_url: str, force: bool = False) -> Report:
    """Restore a backup into `into_url` and verify it. Refuses a damaged file (checksum), a backup
    of the other database kind, and a target that already has tables unless `force`."""
    path = Path(path)
    manifest = read_manifest(path)
    digest = sha256_of(path)
    if digest != manifest["sha256"]:
        raise BackupError("备份文件校验失败（SHA-256 与清单不符），文件可能已损坏或被改动，未做任何恢复。")
    kind = "postgresql" if _is_pg(into_url) else "sqlite"
    if manifest["backend"] != kind:
        raise BackupError(f"这是 {manifest['backend']} 的备份，不能恢复到 {kind} 数据库。")
    existing = _tables(into_url)
    if existing and not force:
        raise BackupError(f"目标数据库已有 {len(existing)} 张表，恢复会覆盖其中的数据。"
                          "请换一个空数据库，或确认后加 --force。")
    if kind == "postgresql":
        dsn, env = _libpq(into_url)
        args = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                f"--dbname={dsn}", str(path)]
        if existing:
            args[1:1] = ["--clean", "--if-exists"]
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_restore 失败，目标数据库保持原样（单一事务）：{done.stderr.strip()}")
        _database_settings(into_url)
    else:
        target = _sqlite_path(into_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as s, sqlite3.connect(target) as d:
            s.backup(d)
    return verify(into_url, manifest, digest, path)


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _database_settings(url: str) -> None:
    """pg_dump keeps no ALTER DATABASE settings: put back the two migration 0005 sets (jit off,
    random_page_cost 1.1) so the restored portal plans its queries as before."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("""DO $$ BEGIN
EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXECUTE format('ALTER DATABASE %I SET random_page_cost = 1.1', current_database());
EXCEPTION WHEN insufficient_privilege THEN NULL; END $$;"""))
    finally:
        engine.dispose()


def verify(url: str, manifest: dict, digest: str, path: Path) -> Report:
    """The restored database is at the latest migration and holds the manifest's row counts."""
    from db.migrate import is_at_head
    counts = table_counts(url)
    engine = create_engine(url)
    try:
        current = is_at_head(engine)
    finally:
        engine.dispose()
    if not current:
        raise BackupError("恢复后的数据库结构不是最新版本：请先运行 python manage.py migrate，再核对数据。")
    wrong = {t: (n, counts.get(t)) for t, n in manifest["counts"].items() if counts.get(t) != n}
    if wrong:
        listed = "；".join(f"{t}：备份 {a} 行，恢复后 {b} 行" for t, (a, b) in sorted(wrong.items())[:5])
        raise BackupError(f"恢复后的行数与备份清单不符：{listed}")
    return Report(path, digest, counts, _revision(url))
