"""Time: everything stored in UTC; business rules (22:00, days) read Beijing time."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Current time, aware UTC. Tests may freeze it with `freeze()`."""
    return _frozen if _frozen is not None else dt.datetime.now(UTC)


def freeze(at: dt.datetime | None) -> None:
    global _frozen
    _frozen = at.astimezone(UTC) if at is not None else None


def today() -> dt.date:
    """Today's date in Beijing time: the one "today" of every business rule and form default."""
    return local(now()).date()


def local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(LOCAL_TZ)


def local_dt(year, month, day, hour=0, minute=0, second=0) -> dt.datetime:
    """An aware datetime from Beijing wall-clock parts."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=LOCAL_TZ)


def fmt(value: dt.datetime | None, with_seconds: bool = False) -> str:
    if value is None:
        return ""
    return local(value).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")
