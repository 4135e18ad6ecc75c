#!/usr/bin/env bash
# Set up and run the whole test suite: services on SQLite and PostgreSQL, pages with AppTest,
# browser flows in Debian's Chromium. Extra arguments go to pytest.
#   TEST_PG_ADMIN_URL   server used to create throwaway test databases
#                       (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
#   REQUIRE_POSTGRES=1 / REQUIRE_BROWSER=1   fail instead of skipping when missing (CI sets both)
#   REQUIRE_NO_SKIPS=1                        fail the run on any skipped test (CI sets it)
#   TEST_WORKERS        parallel pytest workers (default 3; 0 runs in this process, e.g. for pdb)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
missing=()
command -v chromium >/dev/null || missing+=(chromium)
# the tests use the headless build of the same Chromium when present (less CPU per test)
command -v chromium-headless-shell >/dev/null || missing+=(chromium-headless-shell)
fc-list :lang=zh 2>/dev/null | grep -qi "noto" || missing+=(fonts-noto-cjk)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
# LibreOffice Writer lays out the Word files in one test; pg_dump/pg_restore for the restore drill
command -v soffice >/dev/null || missing+=(libreoffice-writer-nogui)
command -v pg_dump >/dev/null || missing+=(postgresql-client)
# two replicas behind nginx (tests/test_browser_failover.py); Debian puts it in /usr/sbin
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> 安装 ${missing[*]}（浏览器测试与文档测试需要）"
    bash scripts/apt-install.sh "${missing[@]}"
  else
    echo "提示：缺少 ${missing[*]}，浏览器/文档测试可能被跳过或变慢（sudo apt-get install ${missing[*]}）。" >&2
  fi
fi
# --dist load: tests go to the workers in chunks of the collection order, then one by one as
# they finish; each worker starts its own live portals (tests/conftest.py)
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-3}" --dist load "$@"
