"""The one detector of personal numbers in free text, and the masks.

Finds mainland mobiles (with +86/0086, spaces, dashes, dots, brackets), landlines with an area
code (0791-8888 1234, (0795)6234567), 18- and 15-digit resident ID numbers, in ASCII or full-width
digits, and masks them. Used for everything that leaves for a citizen (the public page), for
roles without personal access (leaders, trainers: pages and their documents), for exports and
for log lines; `contains_personal_number()` refuses staff answers that a citizen will read.
"""
from __future__ import annotations

import re

from services.inputs import number_kind

# Full-width digits and separators -> ASCII, one character for one, so spans stay in place.
_WIDTH = str.maketrans("０１２３４５６７８９＋－．（）　ｘＸ－", "0123456789+-.() xX-")
# A run of digits with at most two separators between digits, optionally prefixed by +86/0086.
_RUN = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|00)86[ \-.]{0,2})?\(?\d(?:[ \-.()]{0,2}\d){5,40}[Xx]?(?![0-9A-Za-z])")
_GROUP = re.compile(r"\d+[Xx]?")


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


def _classify(digits: str, groups: int = 1) -> str | None:
    """The masked form of a digit string that is a personal number (services.inputs.number_kind
    says which), else None. A 15-digit (old) ID only counts unbroken: a mobile followed by a date
    must stay a mobile and a date."""
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:  # "+86 138…": the "+" is not in the digits
        digits = digits[2:]
    kind = number_kind(digits, old_id=groups == 1)
    if kind == "mobile":
        return mask_phone(digits)
    if kind == "id":
        return mask_id(digits.upper())
    if kind == "landline":
        return digits[:4] + "****" + digits[-2:]
    return None


def _find_in_run(run: str, offset: int) -> list[tuple[int, int, str]]:
    """Personal numbers inside one run of digit groups: the longest group sequences first."""
    groups = [(m.start(), m.end(), m.group()) for m in _GROUP.finditer(run)]
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(groups):
        for j in range(min(len(groups), i + 8), i, -1):  # at most 8 groups make one number
            digits = "".join(g[2] for g in groups[i:j])
            masked = _classify(digits, j - i)
            if masked:
                start = groups[i][0]
                if i == 0 and run[:1] in "+(":
                    start = 0
                found.append((offset + start, offset + groups[j - 1][1], masked))
                i = j
                break
        else:
            i += 1
    return found


def find_personal_numbers(text: str | None) -> list[tuple[int, int, str]]:
    """[(start, end, masked)] for every phone or ID number in the text, in order."""
    if not text:
        return []
    folded = text.translate(_WIDTH)
    out: list[tuple[int, int, str]] = []
    for m in _RUN.finditer(folded):
        out.extend(_find_in_run(m.group(), m.start()))
    return out


def contains_personal_number(text: str | None) -> bool:
    return bool(find_personal_numbers(text))


def redact(text: str | None, replacements: dict[str, str] | None = None) -> str:
    """Free text as a citizen or a role without personal access may see it: known personal values
    (names, addresses; longest first) replaced by their masks, then every phone and ID number masked."""
    if not text:
        return text or ""
    for value in sorted(replacements or {}, key=len, reverse=True):
        text = text.replace(value, replacements[value])
    parts, last = [], 0
    for start, end, masked in find_personal_numbers(text):
        parts.append(text[last:start])
        parts.append(masked)
        last = end
    parts.append(text[last:])
    return "".join(parts)
