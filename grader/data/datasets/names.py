"""`names`: lowercase first names, one per line (weeks 11-13: character-level language models).

The real file is makemore's ``names.txt`` (32,033 names from US baby-name records, MIT licence).
The offline stand-in is written by a small hand-made syllable grammar below: a start, zero to
three middle syllables and an ending, each drawn with fixed weights from a seeded
``random.Random``. It produces name-like strings (``a``-``z`` only, 2 to 15 letters, unique,
one per line) with the statistics a bigram model needs: frequent and rare bigrams, many letter
pairs that never occur (``q`` is always followed by ``u``, ``j`` only by a vowel or ``y``), and
a few characters that dominate the ends of names. Nothing is downloaded and no real list is used.
"""
from __future__ import annotations

import random
from pathlib import Path

from . import Dataset

SEED = 11_2024
COUNT = 20_000
MIN_LEN, MAX_LEN = 2, 15

# (text, weight). Starts may be a consonant cluster followed by a vowel, or a lone vowel.
_STARTS = [
    ("a", 14), ("e", 8), ("i", 4), ("o", 2), ("u", 1),
    ("b", 5), ("br", 3), ("c", 4), ("ch", 2), ("cl", 1), ("d", 6), ("dr", 1), ("f", 2),
    ("fr", 1), ("g", 3), ("gr", 1), ("h", 4), ("j", 7), ("k", 8), ("kr", 1), ("l", 7),
    ("m", 9), ("n", 5), ("p", 2), ("qu", 1), ("r", 6), ("s", 6), ("sh", 3), ("st", 1),
    ("t", 5), ("th", 1), ("tr", 1), ("v", 2), ("w", 1), ("y", 2), ("z", 3),
]
_VOWELS = [
    ("a", 30), ("e", 20), ("i", 16), ("o", 9), ("u", 4), ("y", 3),
    ("ai", 2), ("ea", 1), ("ia", 2), ("ie", 2), ("io", 1), ("ou", 1), ("ae", 1),
]
# Consonants that may start a syllable inside a name (after a vowel).
_MIDDLE = [
    ("l", 14), ("n", 13), ("r", 13), ("m", 7), ("d", 6), ("s", 5), ("t", 5), ("v", 4),
    ("k", 4), ("b", 3), ("c", 2), ("g", 2), ("h", 2), ("j", 1), ("z", 2), ("y", 3),
    ("ll", 4), ("nn", 2), ("rr", 1), ("ss", 1), ("tt", 1), ("nd", 2), ("nt", 1),
    ("rl", 1), ("rd", 1), ("ld", 1), ("sh", 2), ("ch", 1), ("th", 1), ("x", 1),
    ("ck", 1), ("mb", 1), ("br", 1), ("st", 1), ("qu", 1), ("w", 1), ("f", 1), ("p", 1),
]
# Endings: what is appended after the last vowel.
_ENDS = [
    ("", 10), ("n", 14), ("h", 5), ("l", 4), ("r", 4), ("s", 3), ("y", 6), ("lyn", 3),
    ("lle", 2), ("son", 2), ("ton", 1), ("ley", 3), ("ne", 3), ("na", 4), ("ra", 3),
    ("la", 3), ("ya", 2), ("th", 1), ("x", 1), ("k", 1), ("d", 2), ("nn", 1), ("ette", 1),
    ("ina", 2), ("iah", 1), ("en", 2), ("on", 2), ("el", 2), ("er", 2), ("ie", 2), ("o", 1),
    ("ce", 1), ("se", 1), ("tte", 1), ("m", 1), ("ri", 1), ("ni", 1), ("z", 1), ("ven", 1),
]
_MIDDLE_SYLLABLES = [(0, 30), (1, 45), (2, 20), (3, 5)]


def _table(pairs):
    items = [text for text, _ in pairs]
    cum, total = [], 0
    for _, weight in pairs:
        total += weight
        cum.append(total)
    return items, cum


def _pick(rng: random.Random, table):  # a str, or an int from the lengths table
    items, cum = table
    return rng.choices(items, cum_weights=cum, k=1)[0]


def _name(rng: random.Random, starts, vowels, middles, ends, lengths) -> str:
    start = _pick(rng, starts)
    parts = [start]
    if start[-1] not in "aeiouy":
        parts.append(_pick(rng, vowels))
    for _ in range(_pick(rng, lengths)):
        parts.append(_pick(rng, middles))
        parts.append(_pick(rng, vowels))
    parts.append(_pick(rng, ends))
    name = "".join(parts)
    # A few cleanups that keep the strings pronounceable.
    for bad, good in (("yy", "y"), ("iii", "i"), ("aaa", "aa"), ("eee", "ee"), ("uu", "u"),
                      ("hh", "h"), ("yi", "i")):
        name = name.replace(bad, good)
    return name


def names(count: int = COUNT, seed: int = SEED) -> list[str]:
    """``count`` unique made-up names, in the (deterministic) order they were drawn."""
    rng = random.Random(seed)
    starts, vowels, middles, ends = (_table(t) for t in (_STARTS, _VOWELS, _MIDDLE, _ENDS))
    lengths = _table(_MIDDLE_SYLLABLES)
    seen: set[str] = set()
    out: list[str] = []
    tries = 0
    while len(out) < count:
        tries += 1
        if tries > 50 * count:
            raise RuntimeError("the name grammar cannot produce enough unique names")
        name = _name(rng, starts, vowels, middles, ends, lengths)
        if not (MIN_LEN <= len(name) <= MAX_LEN) or name in seen:
            continue
        seen.add(name)
        out.append(name)
    return out


def generate(path: Path) -> None:
    """Write the offline stand-in: one name per line, no trailing newline, like names.txt."""
    Path(path).write_text("\n".join(names()), encoding="ascii")


DATASET = Dataset(
    name="names",
    filename="names.txt",
    description="lowercase first names, one per line (character-level language models, weeks 11-13)",
    generate=generate,
    url="https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
    sha256="0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    licence="MIT",
)
