"""Line breaking with the Chinese rules (禁则) for the PDF (Word and WPS break lines themselves
in the DOCX), and the balanced lines of a long title (both renderers)."""
from __future__ import annotations

import math
import re

_NO_LINE_START = set("，。、；：！？）》」』”’】〕〗〉…·%‰℃,.;:!?)]}")
_NO_LINE_END = set("（《「『“‘【〔〖〈([{")
# a case number such as 丰-2026-000002 (one CJK prefix character, then a Latin run) is one unit;
# so is a blank to fill in by hand (＿＿＿＿, the case papers), which must not break across lines
_UNIT = re.compile(r"[\u3400-\u9fff]-[A-Za-z0-9][A-Za-z0-9@#&_+\-./%:]*|[A-Za-z0-9@#&_+\-./%:]+|＿+|\s+|.",
                   re.DOTALL)


def split_units(text: str) -> list[str]:
    """Break opportunities: every CJK character, whole runs of Latin letters and digits, whole
    case numbers, whole blanks (＿＿＿)."""
    return _UNIT.findall(text)


def wrap_units(units: list[str], first: float, rest: float, width_of) -> list[list[str]]:
    """Greedy line breaking with the usual Chinese rules (禁则): no closing punctuation at the
    start of a line, no opening bracket at the end; over-long Latin runs are split."""
    expanded: list[str] = []
    for u in units:
        expanded.extend(list(u) if len(u) > 1 and width_of(u) > rest else [u])
    lines: list[list[str]] = []
    cur: list[str] = []
    cur_w, avail = 0.0, first
    for u in expanded:
        w = width_of(u)
        if cur and cur_w + w > avail + 1e-6:
            carry: list[str] = []
            if u[0] in _NO_LINE_START:
                while len(cur) > 1:
                    carry.insert(0, cur.pop())
                    if carry[0][0] not in _NO_LINE_START:
                        break
            while len(cur) > 1 and cur[-1][-1] in _NO_LINE_END:
                carry.insert(0, cur.pop())
            while cur and cur[-1].isspace():
                cur.pop()
            lines.append(cur)
            cur = [c for c in carry]
            cur_w, avail = sum(width_of(c) for c in cur), rest
            if not cur and u.isspace():
                continue
        cur.append(u)
        cur_w += w
    if cur:
        lines.append(cur)
    return lines or [[]]


_GOOD_BREAK_AFTER = set("的”》）、，：；与和及暨")


def balanced_title_lines(title: str, width_of, avail: float) -> list[str]:
    """Lines of a title. GB/T 9704 asks that a long title break where the sense allows and
    that the lines be balanced, so: n lines of similar width, each break preferring a point
    after 的 / ” / 》 / 、 etc. within four characters of the ideal. A title with explicit
    line breaks ("\n") keeps them."""
    if "\n" in title:
        return [t.strip() for t in title.split("\n") if t.strip()]
    units = split_units(title)
    widths = [width_of(u) for u in units]
    total = sum(widths)
    if total <= avail:
        return [title]
    em = width_of("国")
    if total > 4 * avail:  # no real title is that long: plain greedy lines, not an O(n²) search
        return ["".join(line) for line in wrap_units(units, avail, avail, width_of)]
    for n in range(math.ceil(total / avail), len(units) + 1):
        lines, start, left = [], 0, total
        for line_no in range(n - 1):
            target = left / (n - line_no)
            best, best_score, acc = None, None, 0.0
            for k in range(start, len(units) - 1):
                acc += widths[k]
                if acc > avail + 1e-6:
                    break
                if acc < target - 4 * em:
                    continue
                if acc > target + 4 * em:
                    break
                score = abs(acc - target) / em
                score += 0 if units[k][-1] in _GOOD_BREAK_AFTER else 4
                if units[k + 1][0] in _NO_LINE_START or units[k][-1] in _NO_LINE_END:
                    score += 100
                if best_score is None or score < best_score:
                    best, best_score = k, score
            if best is None:
                break
            lines.append("".join(units[start:best + 1]))
            left -= sum(widths[start:best + 1])
            start = best + 1
        else:
            if left <= avail + 1e-6:
                return lines + ["".join(units[start:])]
    return ["".join(line) for line in wrap_units(units, avail, avail, width_of)]


CUT_NOTE = "……（内容过长，余下部分未印出，请在系统中查看）"


def fit_lines(cell: str, width: float, width_of, max_lines: int) -> str:
    """The cell's lines, at most `max_lines`; when cut, the last lines say so (nothing disappears
    silently)."""
    lines = ["".join(line) for line in wrap_units(split_units(cell), width, width, width_of)]
    if len(lines) > max_lines:
        note = ["".join(line) for line in wrap_units(split_units(CUT_NOTE), width, width, width_of)]
        lines = lines[:max(max_lines - len(note), 1)] + note
    return "\n".join(lines)

