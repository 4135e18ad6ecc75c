"""Benchmark: the public dispute-code page under keep-alive load, against 100,000 codes on PostgreSQL.

    .venv/bin/python bench/bench_public_page.py                 # build (once) and measure
    .venv/bin/python bench/bench_public_page.py --rebuild       # drop and rebuild the database
    .venv/bin/python bench/bench_public_page.py --seconds 10 --connections 16 --skip-streamlit-run

1. Creates (or reuses) the PostgreSQL database `mujiu_bench` at TEST_PG_ADMIN_URL's server, upgraded
   to the latest migration, with the organisation and 100,000 minimal cases, each with its
   register/dispatch events and an active dispute code (bulk inserts in chunks).
2. Starts `uvicorn serve:app --loop uvloop --http httptools` (how scripts/start.sh serves the portal) on a free loopback port and
   loads GET /c/<random token> with wrk (Debian's `wrk`; keep-alive connections; a Lua script picks a
   random token from 5,000 per request), then does the same under `streamlit run serve.py` for contrast.
3. Prints requests/s, p50 and p99 latency per server. Loopback only; bounded in time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB_NAME = "mujiu_bench"
N_CASES = 100_000
LUA = """
local tokens = {}
for line in io.lines("%s") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/c/" .. tokens[math.random(#tokens)])
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


def build(rebuild: bool) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME}).scalar()
        if exists and rebuild:
            c.execute(text(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)'))
            exists = False
        if not exists:
            c.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    from db.engine import get_engine, session_scope
    from db.migrate import upgrade
    from db.models import Case, CaseEvent, DisputeCategory, DisputeCode, MediationRoom, Township, Village
    from services.roster import org
    url = bench_url()
    upgrade(url)
    engine = get_engine(url)
    with session_scope(engine) as s:
        have = s.scalar(select(func.count()).select_from(DisputeCode))
        if have >= N_CASES:
            print(f"reusing {DB_NAME}: {have:,} codes")
            return
        if s.scalar(select(func.count()).select_from(Township)) == 0:
            org.load_org(s, org.read_org_file())
    t0 = time.time()
    rng = random.Random(7)
    with session_scope(engine) as s:
        rooms = s.execute(select(MediationRoom.id, MediationRoom.township_id).where(MediationRoom.kind == "station")).all()
        villages = {t: v for v, t in s.execute(select(Village.id, Village.township_id))}
        cats = list(s.scalars(select(DisputeCategory.id)))
        base = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        for start in range(0, N_CASES, 10_000):
            cases, events, codes = [], [], []
            for i in range(start, min(start + 10_000, N_CASES)):
                room_id, town_id = rooms[i % len(rooms)]
                at = base + dt.timedelta(minutes=5 * i)
                level, status = rng.choice([("onsite", "mediating"), ("station_room", "mediating"),
                                            ("station_room", "settled"), ("onsite", "registered")])
                cases.append({"id": i + 1, "number": f"丰-B-{i + 1:07d}", "source": "110", "received_at": at,
                              "township_id": town_id, "village_id": villages.get(town_id), "category_id": rng.choice(cats),
                              "complexity": "simple", "description": "基准测试案件", "mode": "station",
                              "room_id": room_id, "level": level, "status": status, "level_entered_at": at,
                              "created_at": at, "updated_at": at, "version": 1})
                events.append({"case_id": i + 1, "at": at, "action": "register", "to_level": "onsite",
                               "to_status": "registered", "note": "", "detail": {}})
                if status != "registered":
                    events.append({"case_id": i + 1, "at": at + dt.timedelta(minutes=3), "action": "dispatch",
                                   "to_level": "onsite", "to_status": "mediating", "note": "", "detail": {}})
                codes.append({"case_id": i + 1, "token": secrets.token_urlsafe(24), "issued_at": at})
            s.execute(insert(Case), cases)
            s.execute(insert(CaseEvent), events)
            s.execute(insert(DisputeCode), codes)
        s.execute(text("SELECT setval(pg_get_serial_sequence('dispute_case', 'id'), (SELECT max(id) FROM dispute_case))"))
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    print(f"built {N_CASES:,} cases and codes in {time.time() - t0:.1f} s")


def tokens_file(n: int = 5000) -> str:
    from db.engine import get_engine
    with get_engine(bench_url()).connect() as c:
        tokens = [r[0] for r in c.execute(text(
            "SELECT token FROM dispute_code WHERE revoked_at IS NULL ORDER BY md5(token) LIMIT :n"), {"n": n})]
    path = Path(tempfile.gettempdir()) / "mujiu_bench_tokens.txt"
    path.write_text("\n".join(tokens) + "\n")
    return str(path)


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server at {url} did not come up")


def start(kind: str, port: int, log) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=bench_url(), APP_MODE="demo")
    py = sys.executable
    if kind.startswith("uvicorn"):
        cmd = [py, "-m", "uvicorn", "serve:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "--no-access-log"]
        cmd += ["--http", "h11", "--loop", "asyncio"] if kind == "uvicorn h11" else ["--http", "httptools", "--loop", "uvloop"]
    else:
        cmd = [py, "-m", "streamlit", "run", "serve.py", "--server.address", "127.0.0.1", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false", "--logger.level", "warning"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _ms(value: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", value)
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n


def run_wrk(base: str, tokens: str | None, seconds: int, connections: int, threads: int) -> dict:
    """wrk against random public pages (tokens file) or, with tokens=None, the URL itself."""
    script = []
    if tokens:
        lua = Path(tempfile.gettempdir()) / "mujiu_bench.lua"
        lua.write_text(LUA % tokens)
        script = ["-s", str(lua)]
    # warm-up: threadpool, connection pool, prepared plans
    subprocess.run(["wrk", "-t1", "-c4", "-d2s", *script, base], capture_output=True, timeout=60)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *script, base],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": int(non2xx.group(1)) if non2xx else 0, "raw": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-streamlit-run", action="store_true")
    ap.add_argument("--h11", action="store_true",
                    help="also measure uvicorn --http h11 --loop asyncio (uvicorn's pure-Python defaults)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    build(args.rebuild)
    tokens = tokens_file()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    servers = ["uvicorn"] + (["uvicorn h11"] if args.h11 else []) + ([] if args.skip_streamlit_run else ["streamlit run"])
    results = {}
    for kind in servers:
        port = free_port()
        log = open(Path(tempfile.gettempdir()) / f"mujiu_bench_{kind.replace(' ', '_')}.log", "wb")
        proc = start(kind, port, log)
        try:
            wait_ready(f"http://127.0.0.1:{port}/_stcore/health")
            results[kind] = run_wrk(f"http://127.0.0.1:{port}", tokens, args.seconds, args.connections, args.threads)
            if kind == "uvicorn":  # the ceiling of the stack on this machine now: a route that does nothing
                results["uvicorn /healthz"] = run_wrk(f"http://127.0.0.1:{port}/healthz", None, args.seconds,
                                                      args.connections, args.threads)
        finally:
            stop(proc)
            log.close()
    print(f"\nload average before the run: {load}")
    print(f"GET /c/<token>, {N_CASES:,} codes on PostgreSQL, {args.connections} keep-alive connections, "
          f"{args.seconds} s, wrk -t{args.threads}")
    print(f"{'server':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for kind, r in results.items():
        print(f"{kind:<22}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>10}")
    target = results["uvicorn"]
    ok = target["rps"] >= 1500 and target["p99"] < 25
    print(f"target >= 1,500 req/s at p99 < 25 ms under uvicorn: {'met' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
