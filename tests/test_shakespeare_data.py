"""The `shakespeare` dataset (weeks 14-15): the offline stand-in keeps the real file's 65-symbol
vocabulary, and the real file registers through `grader data add` (sha256) with the course's
numbers (V = 65, 1,115,394 characters, encode("First Cit"), the 90/10 split)."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader import data
from grader.data.datasets import shakespeare

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"


def _stoi(text: str) -> dict[str, int]:
    return {ch: i for i, ch in enumerate(sorted(set(text)))}


def test_stand_in_has_the_real_vocabulary_and_opening(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path))
    path = data.resolve("shakespeare", "offline")
    text = path.read_text(encoding="ascii")
    assert "".join(sorted(set(text))) == shakespeare.VOCABULARY and len(shakespeare.VOCABULARY) == 65
    assert text.startswith("First Citizen:\n")
    stoi = _stoi(text)
    assert [stoi[c] for c in "First Cit"] == [18, 47, 56, 57, 58, 1, 15, 47, 58]
    assert [stoi[c] for c in "hii there"] == [46, 47, 47, 1, 58, 46, 43, 56, 43]
    assert path.read_bytes() == (tmp_path / "offline" / "input.txt").read_bytes()
    assert shakespeare.text() == text                       # deterministic


def test_a_smaller_stand_in_still_refuses_a_missing_symbol():
    with pytest.raises(RuntimeError, match="misses symbols"):
        shakespeare.text(target_chars=50)


@pytest.mark.skipif(not REAL.is_file(), reason=f"the real tiny shakespeare is not at {REAL}")
def test_real_file_registers_with_its_sha256_and_the_course_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path))
    data.add("shakespeare", REAL)
    text = data.resolve("shakespeare", "real").read_text(encoding="utf-8")
    assert len(text) == 1_115_394 and "".join(sorted(set(text))) == shakespeare.VOCABULARY
    n = int(0.9 * len(text))
    assert (n, len(text) - n) == (1_003_854, 111_540)
    wrong = tmp_path / "other.txt"
    wrong.write_text(text[:-1], encoding="utf-8")
    with pytest.raises(data.DataError, match="sha256"):
        data.add("shakespeare", wrong)
