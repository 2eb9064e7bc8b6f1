"""A benchmark's results file: the part its script writes, and the hand-written sections it keeps.

Everything from the first ``## `` heading to the end is written by hand (earlier runs, side-by-side
measurements made with scratch scripts) and survives a rerun of the script unchanged.
"""
from __future__ import annotations

from pathlib import Path


def split_notes(path: Path) -> tuple[list[str], list[str]]:
    """(the generated lines, the hand-written sections) of ``path``; both empty if it is missing."""
    if not path.is_file():
        return [], []
    text = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(text) if line.startswith("## ")), len(text))
    return text[:start], text[start:]


def write_results(out: str, text: str, keep_notes: bool = True) -> None:
    """Write a benchmark's generated ``text`` to ``out`` (``-``: print it instead), followed by the
    hand-written sections the file already has (``keep_notes``)."""
    if out == "-":
        print(text)
        return
    path = Path(out)
    _, notes = split_notes(path) if keep_notes else ([], [])
    path.write_text(text.rstrip("\n") + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else ""))
    print(f"wrote {out}")
