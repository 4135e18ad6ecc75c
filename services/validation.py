"""Input checks shared by every form: mobiles, ID card numbers, times."""
from __future__ import annotations

import re

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalise_mobile(raw: str | None) -> str | None:
    """'+86 138-0013-8000' -> '13800138000'; None when it is not a mainland mobile number."""
    if raw is None:
        return None
    s = re.sub(r"[\s\-()]", "", str(raw))
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    return s if _MOBILE.match(s) else None


def id_check_digit(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def normalise_id_card(raw: str | None) -> str | None:
    """An 18-character resident ID (GB 11643) with a valid check digit, 'x' upper-cased; else None."""
    if raw is None:
        return None
    s = str(raw).strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return None
    return s if id_check_digit(s[:17]) == s[17] else None


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "****"


def mask_id(id_no: str | None) -> str:
    if not id_no:
        return ""
    return id_no[:4] + "**********" + id_no[-4:]


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"
