"""Benchmark: rendering the case papers and a dossier (services/documents/case_papers.py).

    .venv/bin/python bench/bench_case_papers.py            # 5 dossiers and each document once
    .venv/bin/python bench/bench_case_papers.py --runs 20

Uses the sample case of tests/test_case_papers.py (two parties, one follow-up, closed): no
database. Reports wall and CPU time per document (DOCX, PDF) and per dossier, and the estimate for
a month's ZIP of 800 dossiers (the demo's busiest months). Figures and the command are recorded in
docs/case-papers.md. Nothing here is a test: timings vary with the machine's load.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from services.documents import case_papers as cp  # noqa: E402
from tests.test_case_papers import papers  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - wall) / runs, (time.process_time() - cpu) / runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    p = papers()
    cp.render("mediation_agreement", p, "pdf")   # font lookup, once per process
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for kind in cp.applicable(p):
        for fmt in ("docx", "pdf"):
            wall, cpu = timed(lambda kind=kind, fmt=fmt: cp.render(kind, p, fmt), args.runs)
            print(f"{cp.NAMES[kind]:<10} {fmt:<4}  wall {wall:6.2f} s  cpu {cpu:6.2f} s")
    wall, cpu = timed(lambda: cp.dossier_pdf(p), args.runs)
    print(f"dossier (8 pages)   wall {wall:6.2f} s  cpu {cpu:6.2f} s;  800 dossiers ≈ {800 * cpu / 60:.0f} CPU-minutes")


if __name__ == "__main__":
    main()
