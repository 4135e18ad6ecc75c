"""Input checks shared by every form: mobiles, ID card numbers, times; and the masks of personal data."""
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


def mask_address(value: str | None) -> str:
    if not value:
        return ""
    return value[:6] + "****" if len(value) > 6 else value[:2] + "****"


# Personal numbers typed into free text (descriptions, notes): mobiles, possibly with spaces or
# dashes; landlines with an area code; 18-character resident IDs.
_MOBILE_IN_TEXT = re.compile(r"(?<![\dA-Za-z])1[3-9]\d(?:[ \-]?\d){8}(?![\dA-Za-z])")
_LANDLINE_IN_TEXT = re.compile(r"(?<![\dA-Za-z])0\d{2,3}-\d{7,8}(?![\dA-Za-z])")
_ID_IN_TEXT = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


def party_replacements(parties, *addresses: str | None) -> dict[str, str]:
    """What to mask in a case's free text for a role without personal access: each party's name,
    given name (two characters or more; both readings of a four-character name), mobile, ID number
    and address, and the case's addresses.
    `parties`: objects with name, mobile, id_card, address."""
    out: dict[str, str] = {}
    for p in parties:
        name = (p.name or "").strip()
        if len(name) >= 2:
            out[name] = mask_name(name)
            for given in (name[1:], name[2:]):  # 王建国 -> 建国; 欧阳明月 -> 阳明月 and 明月
                if len(given) >= 2:
                    out.setdefault(given, "*" * len(given))
        for value, masked in ((p.mobile, mask_phone(p.mobile)), (p.id_card, mask_id(p.id_card))):
            if value:
                out[value] = masked
        if p.address and len(p.address.strip()) >= 4:
            out[p.address.strip()] = mask_address(p.address.strip())
    for a in addresses:
        if a and len(a.strip()) >= 4:
            out[a.strip()] = mask_address(a.strip())
    return out


def redact_text(text: str | None, replacements: dict[str, str] | None = None) -> str:
    """Free text as a role without personal access sees it: the case's known personal values
    replaced by their masks (longest first), then any mobile, landline or ID number masked."""
    if not text:
        return text or ""
    for value in sorted(replacements or {}, key=len, reverse=True):
        text = text.replace(value, replacements[value])
    text = _ID_IN_TEXT.sub(lambda m: mask_id(m.group()), text)
    text = _MOBILE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"[ \-]", "", m.group())), text)
    return _LANDLINE_IN_TEXT.sub(lambda m: m.group()[:4] + "****" + m.group()[-2:], text)
