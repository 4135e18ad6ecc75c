#!/usr/bin/env bash
# The portal as in production, on this machine: two (or N) replicas on PostgreSQL behind nginx.
#   DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/mujiu scripts/stack.sh start [--replicas 3] [--port 8080]
#   scripts/stack.sh status | stop
# PostgreSQL must be running; nginx is installed from Debian when missing (as root). The stack's
# pid files, logs and nginx configuration are in data/stack/ (STACK_DIR to choose another).
# docs/operations.md, "两个副本与 nginx / Two replicas behind nginx".
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "start" ]; then
  bash scripts/setup.sh
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "==> 安装 nginx"
      bash scripts/apt-install.sh nginx  # the package, not a running system service
    else
      echo "缺少 nginx（sudo apt-get install nginx）。" >&2; exit 1
    fi
  fi
  case "${DATABASE_URL:-}" in
    postgresql*) ;;
    *) echo "请用 DATABASE_URL 指定 PostgreSQL 数据库（postgresql+psycopg://…）：各副本共用它。" >&2; exit 1 ;;
  esac
  .venv/bin/python manage.py migrate
  mode=$(.venv/bin/python -c 'from db.config import app_mode; print(app_mode())')
  if [ "$mode" = "demo" ]; then
    .venv/bin/python manage.py load-demo --if-empty
    .venv/bin/python manage.py print-logins
  fi
fi
exec .venv/bin/python -m deploy.stack "$@"
