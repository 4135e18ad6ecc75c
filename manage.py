"""Operator commands: migrate, load-demo, print-logins, create-admin, backup, restore.

    python manage.py migrate            # upgrade the database to the latest schema
    python manage.py load-demo --if-empty
    python manage.py create-admin USERNAME   # asks for a password twice (production first start)
    ADMIN_PASSWORD=... python manage.py create-admin USERNAME   # unattended: password from the environment
    python manage.py backup [--dir backups]                      # pg_dump / SQLite copy + manifest
    python manage.py restore FILE --into URL [--force]           # checksum, restore, verify (docs/operations.md)

Exit codes: 0 done; 2 configuration or database problem; 3 no usable password given (nothing read,
the two entries differ, interrupted); 4 refused by the rules (user exists, password too weak, ...).
Every message is Chinese and names what to do; no traceback.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.exc import OperationalError, SQLAlchemyError


EXIT_CONFIG, EXIT_NO_PASSWORD, EXIT_REFUSED = 2, 3, 4


def _fail(message: str, code: int = EXIT_CONFIG, prefix: str = "启动失败") -> None:
    print(f"\n{prefix}：{message}\n", file=sys.stderr)
    sys.exit(code)


def cmd_migrate(_args) -> None:
    from sqlalchemy import text

    from db.config import database_url
    from db.engine import get_engine
    from db.migrate import upgrade
    url = database_url()
    try:  # reachability first, so that a failing migration is not reported as a connection problem
        with get_engine(url).connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        _fail(f"无法连接数据库（{_safe(url)}）。请检查 DATABASE_URL、数据库是否已启动、用户和权限。\n原因：{exc.orig}")
    try:
        upgrade(url)
    except Exception as exc:  # noqa: BLE001 - any failure inside a migration: one message, schema unchanged
        reason = exc.orig if isinstance(exc, SQLAlchemyError) and getattr(exc, "orig", None) else exc
        _fail("数据库迁移失败，数据库结构保持原样（整个升级在一个事务中回滚）。"
              f"请联系管理员检查 migrations/ 与数据库状态。\n原因：{type(reason).__name__}: {reason}")
    print(f"数据库已升级到最新结构：{_safe(url)}")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def cmd_load_demo(args) -> None:
    from db.engine import session_scope
    from services import demo
    with session_scope() as s:
        if args.if_empty and not demo.is_empty(s):
            print("数据库已有数据，跳过演示数据加载。")
            return
        demo.load_demo(s)
    print("演示数据已加载。")


def cmd_print_logins(_args) -> None:
    from services import demo
    print("\n演示账号（仅演示模式可用）:")
    print(f"  {'用户名':<10}{'密码':<10}{'角色':<12}可见内容")
    for user, pw, role, what in demo.account_table():
        print(f"  {user:<12}{pw:<12}{role:<14}{what}")
    from services.demo import api
    print("\n演示接口密钥（仅演示模式可用，用法见 docs/api.md）:")
    for platform, token in api.token_table():
        print(f"  {platform:<12}{token}")
    print()


def _admin_password() -> str:
    """ADMIN_PASSWORD from the environment, else asked twice on the terminal."""
    import os
    fail = "创建管理员失败"
    env = os.environ.get("ADMIN_PASSWORD")
    if env:
        return env
    try:
        first = getpass.getpass("新管理员密码：")
        second = getpass.getpass("再次输入密码：")
    except (EOFError, KeyboardInterrupt):
        _fail("没有读到密码。请在终端中运行本命令并按提示输入两次密码，"
              "或通过环境变量 ADMIN_PASSWORD 提供密码。", EXIT_NO_PASSWORD, fail)
    if not first:
        _fail("密码不能为空。", EXIT_NO_PASSWORD, fail)
    if first != second:
        _fail("两次输入的密码不一致，管理员未创建，请重新运行。", EXIT_NO_PASSWORD, fail)
    return first


def cmd_create_admin(args) -> None:
    from db.engine import session_scope
    from services import auth
    from services.errors import DomainError
    from services.roles import ADMIN, SYSTEM
    password = _admin_password()
    try:
        with session_scope() as s:
            auth.create_user(s, SYSTEM, args.username, args.username, ADMIN, password)
    except DomainError as exc:
        _fail(exc.message, EXIT_REFUSED, "创建管理员失败")
    except OperationalError:
        _fail("无法连接数据库，请检查 DATABASE_URL 并先运行 python manage.py migrate。", EXIT_CONFIG, "创建管理员失败")
    print(f"管理员 {args.username} 已创建。")


def cmd_backup(args) -> None:
    from pathlib import Path

    from db.backup import BackupError, backup
    from db.config import database_url
    url = database_url()
    try:
        report = backup(url, Path(args.dir))
    except BackupError as exc:
        _fail(str(exc), EXIT_CONFIG, "备份失败")
    except OperationalError:
        _fail(f"无法连接数据库（{_safe(url)}）。", EXIT_CONFIG, "备份失败")
    rows = sum(report.counts.values())
    print(f"备份完成：{report.path}（{report.path.stat().st_size:,} 字节，{len(report.counts)} 张表，"
          f"{rows:,} 行）\nSHA-256：{report.sha256}\n清单：{report.path.name}.json")


def cmd_restore(args) -> None:
    from pathlib import Path

    from db.backup import BackupError, restore
    try:
        report = restore(Path(args.file), args.into, force=args.force)
    except BackupError as exc:
        _fail(str(exc), EXIT_REFUSED, "恢复失败")
    except OperationalError:
        _fail(f"无法连接目标数据库（{_safe(args.into)}）：请先创建一个空数据库。", EXIT_CONFIG, "恢复失败")
    print(f"恢复完成并已核对：{_safe(args.into)}，结构为最新版本，{len(report.counts)} 张表的行数与备份清单一致。")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="manage.py")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate").set_defaults(func=cmd_migrate)
    p = sub.add_parser("load-demo")
    p.add_argument("--if-empty", action="store_true")
    p.set_defaults(func=cmd_load_demo)
    sub.add_parser("print-logins").set_defaults(func=cmd_print_logins)
    p = sub.add_parser("create-admin")
    p.add_argument("username")
    p.set_defaults(func=cmd_create_admin)
    p = sub.add_parser("backup", help="备份当前数据库（DATABASE_URL）")
    p.add_argument("--dir", default="backups", help="备份目录（默认 backups/）")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="把备份恢复到一个空数据库并核对")
    p.add_argument("file")
    p.add_argument("--into", required=True, help="目标数据库 URL（须为空库，否则需 --force）")
    p.add_argument("--force", action="store_true", help="目标库已有数据时仍覆盖")
    p.set_defaults(func=cmd_restore)
    args = parser.parse_args(argv)
    from db.config import ConfigError
    from services.errors import DomainError
    try:
        args.func(args)
    except ConfigError as exc:
        _fail(str(exc))
    except DomainError as exc:
        _fail(exc.message)


if __name__ == "__main__":
    main()
