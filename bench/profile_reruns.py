"""Where a rerun spends its time: SQL statements (count, repeats) and a cProfile of one warm rerun
of each key page, through AppTest, as the demo's `staff` account.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<demo db> \
        .venv/bin/python bench/profile_reruns.py [--profile] [--page pages/dashboard.py]

A diagnostic, not a test: it prints what it sees.
"""
from __future__ import annotations

import argparse
import cProfile
import collections
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("APP_MODE", "demo")

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

PAGES = ["pages/home.py", "pages/case_list.py", "pages/case_detail.py", "pages/ladder_board.py", "pages/dashboard.py",
         "pages/case_intake.py"]
seen: list[str] = []


@event.listens_for(Engine, "before_cursor_execute")
def _count(conn, cursor, statement, params, context, executemany):
    seen.append(statement)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--page", action="append")
    ap.add_argument("--user", default="staff")
    args = ap.parse_args()
    from tests.ui import AppTest, APP
    from db.engine import get_engine, session_scope
    from services import sessions
    from db.models import User
    from sqlalchemy import select
    url = os.environ["DATABASE_URL"]
    with session_scope(get_engine(url)) as s:
        uid = s.scalar(select(User.id).where(User.username == args.user))
        token = sessions.create(s, uid, "127.0.0.1", "profile")
    for page in args.page or PAGES:
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["session_token"] = token
        at.run()
        at.switch_page(page)
        if page == "pages/case_detail.py":
            from db.models import Case
            with session_scope(get_engine(url)) as s:
                at.session_state["case_id"] = s.scalar(select(Case.id).where(Case.status == "mediating").order_by(Case.id))
        at.run()
        at.run()  # warm
        seen.clear()
        t = time.perf_counter()
        prof = cProfile.Profile() if args.profile else None
        if prof:  # the script runs in AppTest's thread: profile the page where the router runs it
            import components.errors as errors
            original = errors.run_page

            def profiled(page, _orig=original):
                prof.enable()
                try:
                    _orig(page)
                finally:
                    prof.disable()
            errors.run_page = profiled
        at.run()
        if prof:
            errors.run_page = original
        ms = (time.perf_counter() - t) * 1000
        assert not at.exception, at.exception
        reps = collections.Counter(" ".join(x.split())[:160] for x in seen)
        print(f"\n== {page}: {len(seen)} statements, {ms:.0f} ms (AppTest rerun)")
        for stmt, n in reps.most_common():
            print(f"  {n:3d}  {stmt}")
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
