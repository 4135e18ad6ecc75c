"""The notes stand alone: every file they point at is in the repository, none outside it."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)")  # markdown links
MENTION = re.compile(r"(?<![\w/.])((?:docs|services|pages|components|web|db|tests|scripts)/[\w./-]+\.(?:md|py))")


def test_notes_point_only_at_files_in_the_repository():
    problems = []
    for note in NOTES:
        text = note.read_text(encoding="utf-8")
        for bad in ("DOMAIN.md", "TOOLCHAIN.md", "STYLE.md", "../"):
            if bad in text:
                problems.append(f"{note.name}: mentions {bad}")
        for target in LINK.findall(text):
            if not target.startswith(("http://", "https://", "mailto:")) and not (note.parent / target).exists():
                problems.append(f"{note.name}: link to missing {target}")
        for target in MENTION.findall(text):
            if not (ROOT / target.rstrip(".")).exists():
                problems.append(f"{note.name}: names missing {target}")
    assert not problems, "\n".join(problems)
