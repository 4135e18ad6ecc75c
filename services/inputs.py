"""The one input layer: normalise and validate what people type, before anything is stored.

Normalise:
- every text: control characters (C0/C1 except tab and newline; NUL included), bidi controls
  (U+200E/F, U+202A–U+202E, U+2066–U+2069), zero-width space, BOM and lone surrogates are
  removed; line ends become "\\n"; the value is trimmed. Single-line fields also turn tabs and
  newlines into spaces. Ordinary text is NOT width-folded: full-width Chinese punctuation stays.
- numbers (mobiles, ID numbers, phone numbers): NFKC first, so "１３８００１３８０００" is a mobile.

Recognise: `number_kind` is the one definition of a mainland mobile, resident ID and landline
(services.redact and services.settings use it too).

Validate: length (the limit is named in the Chinese message), mobile, resident ID (python-stdnum's
`cn.ric`: check digit, real date of birth, known region; plus: born not in the future), dates in a
range. Errors are `ValidationError({field: 中文})`, collected per field by `Checker`.

Safety net: `install()` hooks every ORM session (before_flush) so any string written to the
database passes `clean()` and respects its column's length, even from a service that forgot.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from services import clock
from services.errors import ValidationError

# C0 except \t \n \r; DEL; C1; zero-width space; LRM/RLM; LRE..RLO; LRI..PDI; BOM; lone surrogates.
_STRIP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069"
                    "\ufeff\ud800-\udfff]")
# What a mainland personal number looks like, once separators and the country code are gone. The
# one definition: typed fields (normalise_mobile, normalise_id_card), the redaction of free text
# (services.redact) and the centre's phone (services.settings) all ask `number_kind`.
MOBILE = re.compile(r"1[3-9]\d{9}")
ID_NUMBER = re.compile(r"\d{17}[\dXx]")  # resident ID since 1999 (GB 11643)
OLD_ID_NUMBER = re.compile(r"\d{15}")  # the first-generation card
LANDLINE = re.compile(r"0[1-9]\d{8,10}")  # area code (3-4 digits) + a 7-8 digit number


def clean(value: Any, multiline: bool = True) -> str:
    """Text as it is stored: control and bidi characters removed, CRLF -> LF, trimmed."""
    if value is None:
        return ""
    s = str(value).replace("\r\n", "\n").replace("\r", "\n")
    s = _STRIP.sub("", s)
    if not multiline:
        s = re.sub(r"[\t\n]+", " ", s)
    return s.strip()


def fold(value: Any) -> str:
    """NFKC for values where digits matter (full-width digits and signs become ASCII), then clean."""
    return clean(unicodedata.normalize("NFKC", str(value or "")), multiline=False)


def too_long(label: str, limit: int, length: int) -> str:
    return f"{label}不能超过 {limit} 字（现 {length} 字），请删减后再保存。"


def text(value: Any, label: str, field: str, max_len: int, *, required: bool = False, min_len: int = 0,
         multiline: bool = True) -> str:
    """One cleaned text field or ValidationError({field: message})."""
    s = clean(value, multiline)
    if required and not s:
        raise ValidationError({field: f"请填写{label}。"})
    if s and len(s) < min_len:
        raise ValidationError({field: f"{label}至少 {min_len} 字。"})
    if len(s) > max_len:
        raise ValidationError({field: too_long(label, max_len, len(s))})
    return s


# ---------------------------------------------------------------------------- numbers

def number_kind(digits: str, old_id: bool = True) -> str | None:
    """"mobile", "id" or "landline" for a string of digits (no separators, no country code);
    None for anything else. `old_id=False` leaves 15 digits unrecognised (in running text a
    mobile followed by a date must stay a mobile and a date)."""
    if MOBILE.fullmatch(digits):
        return "mobile"
    if ID_NUMBER.fullmatch(digits) or (old_id and OLD_ID_NUMBER.fullmatch(digits)):
        return "id"
    if LANDLINE.fullmatch(digits):
        return "landline"
    return None


def normalise_mobile(raw: Any) -> str | None:
    """'+86 138-0013-8000', '１３８００１３８０００' -> '13800138000'; None when not a mainland mobile."""
    if raw is None:
        return None
    s = re.sub(r"[\s\-().]", "", fold(raw))
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    return s if number_kind(s) == "mobile" else None


def id_check_digit(first17: str) -> str:
    """The 18th character of a resident ID (python-stdnum's cn.ric)."""
    from stdnum.cn import ric
    return ric.calc_check_digit(first17 + "?")  # stdnum reads the first 17 of a full number


def normalise_id_card(raw: Any, today: dt.date | None = None) -> str | None:
    """An 18-character resident ID (GB 11643) checked with python-stdnum's cn.ric (check digit, a
    real date of birth) and born no later than today; 'x' upper-cased. Else None.

    Not checked: the region code. stdnum knows today's codes only, and IDs issued under a code that
    was later renamed (362202, the old 宜春 code) stay valid for life."""
    if raw is None:
        return None
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError as StdnumError
    s = re.sub(r"[\s\-.]", "", fold(raw)).upper()
    if len(s) != 18 or number_kind(s) != "id":
        return None
    try:
        if ric.calc_check_digit(s) != s[17]:
            return None
        born = ric.get_birth_date(s)
    except StdnumError:
        return None
    return s if born <= (today or clock.today()) else None


def _number(value: Any, normalise, field: str, message: str, required: bool) -> str | None:
    """A typed personal number, normalised, or ValidationError({field: message}); None when empty
    and not required."""
    if not clean(value) and not required:
        return None
    n = normalise(value)
    if n is None:
        raise ValidationError({field: message})
    return n


def mobile(value: Any, field: str = "mobile", label: str = "手机号码", required: bool = True) -> str | None:
    return _number(value, normalise_mobile, field, f"请填写正确的 11 位{label}。", required)


def id_card(value: Any, field: str = "id_card", label: str = "身份证号码", required: bool = False) -> str | None:
    return _number(value, normalise_id_card, field,
                   f"{label}不正确：应为 18 位，出生日期真实且不晚于今天，校验位正确。", required)


def date_in_range(value: Any, label: str, field: str, earliest: dt.date | None = None,
                  latest: dt.date | None = None) -> dt.date:
    earliest = earliest or dt.date(2000, 1, 1)
    latest = latest or clock.today() + dt.timedelta(days=3660)
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        raise ValidationError({field: f"请选择{label}。"})
    if not earliest <= day <= latest:
        raise ValidationError({field: f"{label}应在 {earliest:%Y年%m月%d日} 至 {latest:%Y年%m月%d日} 之间。"})
    return value


class Checker:
    """Collects one message per field, so a form shows every problem at once.

        c = Checker(); title = c.text(data.title, "标题", "title", 200, required=True); c.done()
    """

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def _run(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            for k, v in exc.fields.items():
                self.errors.setdefault(k, v)
            return None

    def text(self, *args, **kwargs) -> str:
        out = self._run(text, *args, **kwargs)
        return out if out is not None else clean(args[0] if args else "")

    def mobile(self, *args, **kwargs):
        return self._run(mobile, *args, **kwargs)

    def id_card(self, *args, **kwargs):
        return self._run(id_card, *args, **kwargs)

    def date(self, *args, **kwargs):
        return self._run(date_in_range, *args, **kwargs)

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def done(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


# ---------------------------------------------------------------------------- the ORM safety net

def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean_json(v) for k, v in value.items()}
    return value


def _before_flush(session, _flush_context, _instances) -> None:
    from sqlalchemy import JSON, String, inspect
    errors: dict[str, str] = {}
    for obj in list(session.new) + list(session.dirty):
        state = inspect(obj)
        loaded = state.dict  # only values in memory: an expired attribute would cost a SELECT mid-flush
        for attr in state.mapper.column_attrs:
            col = attr.columns[0]
            value = loaded.get(attr.key)
            if value is None:
                continue
            if isinstance(col.type, String) and isinstance(value, str):
                cleaned = _STRIP.sub("", value.replace("\r\n", "\n"))
                if cleaned != value:
                    setattr(obj, attr.key, cleaned)
                limit = getattr(col.type, "length", None)
                if limit and len(cleaned) > limit:
                    label = col.info.get("label") or col.comment or "输入内容"
                    errors.setdefault(attr.key, too_long(label, limit, len(cleaned)))
            elif isinstance(col.type, JSON) and isinstance(value, (list, dict)):
                cleaned = _clean_json(value)
                if cleaned != value:
                    setattr(obj, attr.key, cleaned)
    if errors:
        raise ValidationError(errors)


_installed = False


def install() -> None:
    """Hook the safety net into every SQLAlchemy Session (idempotent)."""
    global _installed
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    event.listen(Session, "before_flush", _before_flush)
    _installed = True
