#!/usr/bin/env bash
# Set up and start the portal: SQLite under data/ by default, demo data on an empty database.
#   DATABASE_URL=postgresql+psycopg://... APP_MODE=production scripts/start.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PORT=${PORT:-8501}
.venv/bin/python manage.py migrate
mode=$(.venv/bin/python -c 'from db.config import app_mode; print(app_mode())')
if [ "$mode" = "demo" ]; then
  .venv/bin/python manage.py load-demo --if-empty
  .venv/bin/python manage.py print-logins
fi
echo "==> 门户已启动：http://localhost:${PORT}  （Ctrl+C 停止）"
# uvloop + httptools: ~18% more public-page throughput than asyncio + h11 (docs/dispute-codes.md)
exec .venv/bin/uvicorn serve:app --host "${HOST:-0.0.0.0}" --port "$PORT" --loop uvloop --http httptools \
  --log-level warning --no-access-log
