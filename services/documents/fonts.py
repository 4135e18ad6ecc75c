"""Chinese fonts for every PDF the portal makes (official documents, the dispute-code card).

Free faces are found at run time with `fc-list :lang=zh` (once per process) and chosen per role:
song (仿宋 stand-in, body text), song_bold (小标宋: header, title), hei (黑体: 一、 headings),
kai (楷体: （一） headings) and sans (a plain regular sans, the dispute-code card). Noto CJK
`.ttc` files hold several faces; the Simplified Chinese one is chosen by its family name
"… CJK SC". Without any Chinese font, `cjk_faces()` raises FontMissing, whose Chinese message
tells the operator what to install.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from services.errors import DomainError

ROLES = ("song", "song_bold", "hei", "kai", "sans")


@dataclass(frozen=True)
class Face:
    path: str
    index: int = 0


class FontMissing(DomainError, RuntimeError):
    """No Chinese font on the server: PDFs cannot be made until fonts-noto-cjk is installed."""


def install_hint(what: str) -> str:
    """The operator's instruction when `what` (e.g. "PDF 公文") cannot be made for want of a font."""
    space = " " if what[:1].isascii() else ""  # 无法生成 PDF 公文, 无法生成解纷码卡片
    return (f"未找到可用的中文字体（Noto CJK），无法生成{space}{what}。"
            "请运维人员在服务器上安装中文字体：apt-get install -y fonts-noto-cjk，然后重试。")


# Used only when fc-list itself is missing; Debian/Ubuntu paths of fonts-noto-cjk.
_KNOWN_FONT_FILES = {
    "song": [("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2)],
    "song_bold": [("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2)],
    "hei": [("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
            ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)],
    "sans": [("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)],
}
_SERIF = ("Noto Serif CJK SC", "Source Han Serif SC", "Serif CJK")
_SANS = ("Noto Sans CJK SC", "Source Han Sans SC", "Sans CJK", "Hei", "黑")


def _fc_list() -> list[tuple[str, int, str, str]]:
    """(file, face index, families, style) of every font fontconfig knows with Chinese."""
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, ":lang=zh", "--format", "%{file}\t%{index}\t%{family}\t%{style}\n"],
            capture_output=True, text=True, timeout=20, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0]:
            try:
                rows.append((parts[0], int(parts[1] or 0), parts[2], parts[3]))
            except ValueError:
                continue
    return rows


def _pick(rows, family_words: tuple[str, ...], bold: bool | None, avoid=("Mono",)) -> Face | None:
    """The first face whose family contains one of `family_words` (in that order of preference)
    with the wanted weight; among equals, a "Regular" style first (not Light or Black)."""
    for word in family_words:
        found = []
        for path, index, families, style in rows:
            if word.lower() not in families.lower() or any(a in families for a in avoid):
                continue
            is_bold = "bold" in style.lower() or "粗" in style
            if bold is None or is_bold == bold:
                found.append(("regular" not in style.lower(), path, index))
        if found:
            _, path, index = min(found)
            return Face(path, index)
    return None


@lru_cache(maxsize=1)
def find_faces() -> dict[str, Face]:
    """Font file and face per role (see ROLES), looked up once per process; empty when the
    server has no Chinese font at all."""
    rows = _fc_list()
    faces: dict[str, Face | None] = {
        "song": _pick(rows, _SERIF + ("Song", "宋"), False),
        "song_bold": _pick(rows, _SERIF, True),
        "hei": _pick(rows, _SANS, True) or _pick(rows, _SANS, None),
        "kai": _pick(rows, ("Kai", "楷"), None),
        "sans": _pick(rows, _SANS, False) or _pick(rows, _SANS, None),
    }
    if faces["song"] is None:
        faces["song"] = _pick(rows, ("CJK SC", "CJK", ""), None)
    for role, candidates in _KNOWN_FONT_FILES.items():
        if faces.get(role) is None:
            faces[role] = next((Face(p, i) for p, i in candidates if os.path.exists(p)), None)
    if faces["song"] is None:
        return {}
    faces["song_bold"] = faces["song_bold"] or faces["song"]
    faces["hei"] = faces["hei"] or faces["song_bold"]
    faces["kai"] = faces["kai"] or faces["song"]
    faces["sans"] = faces["sans"] or faces["hei"]
    return {k: v for k, v in faces.items() if v is not None}


def cjk_faces(what: str = "PDF 公文") -> dict[str, Face]:
    """Every role's face; FontMissing (saying that `what` cannot be made) without a Chinese font."""
    faces = find_faces()
    if not faces:
        raise FontMissing(install_hint(what))
    return faces
