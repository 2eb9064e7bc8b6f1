"""`shakespeare`: a plain-text play, one character stream (weeks 14-15: a character-level GPT).

The real file is "tiny shakespeare" (1,115,394 characters, 65 distinct symbols, opening with
"First Citizen:"), the corpus of char-rnn and nanoGPT (public-domain text; redistributed by
karpathy/char-rnn under MIT). The offline stand-in is written by a small seeded grammar below:
speeches headed by a speaker's name and a colon, verse lines of words drawn from a hand-made
Early-Modern-English word list, punctuation, blank lines between speeches. It keeps the real
file's *vocabulary* fixed: exactly the same 65 symbols (newline, space, ``!$&',-.3:;?``, ``A-Z``,
``a-z``), so the sorted vocabulary, ``stoi``/``itos`` and ids such as ``encode("First Cit") ==
[18, 47, 56, 57, 58, 1, 15, 47, 58]`` are the same on both files, and it opens with
"First Citizen:" as the real one does. Its statistics differ (a bigram model reaches a lower
loss on it than on the real text); nothing real is copied and nothing is downloaded.
"""
from __future__ import annotations

import random
from pathlib import Path

from . import Dataset

SEED = 14_2024
TARGET_CHARS = 400_000

# The 65 symbols of the real file, in sorted order.
VOCABULARY = "\n !$&',-.3:;?" + "".join(chr(c) for c in range(ord("A"), ord("Z") + 1)) + \
    "".join(chr(c) for c in range(ord("a"), ord("z") + 1))

_SPEAKERS = [
    "First Citizen", "Second Citizen", "MENENIUS", "MARCIUS", "COMINIUS", "VOLUMNIA",
    "KING RICHARD III", "QUEEN ELIZABETH", "GLOUCESTER", "BUCKINGHAM", "ROMEO", "JULIET",
    "Nurse", "FRIAR LAURENCE", "PETRUCHIO", "KATHARINA", "LUCENTIO", "DUKE VINCENTIO",
    "ISABELLA", "ANGELO", "LEONTES", "HERMIONE", "PAULINA", "Clown", "ESCALUS", "Messenger",
    "JOHN OF GAUNT", "BOLINGBROKE", "NORTHUMBERLAND", "YORK", "QUEEN MARGARET", "Servant",
    "ZOUCH", "Lord Mayor", "AUFIDIUS", "TYBALT", "MERCUTIO", "BENVOLIO", "Provost", "Page",
]

_WORDS = (
    "the and to of I you my a that in is not it with his be your for this me he but have as "
    "thou so will him what by thy all are our shall do her no we if lord on or good now king "
    "more from then they o sir let come love well how which upon make may would like man "
    "know hath there say one yet than should here was at did must some these most see heart "
    "when who go where death upon own too life day night blood honour grace eyes hand time "
    "tell speak art take hear never why fair sweet father mother brother son heaven crown "
    "noble gentle queen duke true mine doth thee think give name live poor nay world great "
    "first whose nothing dead stay again old such men tongue leave word friends rome citizen "
    "people corn famish speak resolved enemy gods patience virtue justice mercy power fortune "
    "sorrow joy kiss quickly breath sword field peace war soul state france england banish "
    "marry wherefore prithee anon hence thence whither dost wilt canst hast shalt ere oft "
    "methinks forsooth zounds zeal gaze jest judge quarrel quiet equal vex exile oxen axe "
    "prize amaze frozen dozen lazy jewel joint enjoy object quality require square squeak"
).split()

# Rare symbols of the real text, each used by a few fixed phrases so the stand-in holds all 65.
_RARE_PHRASES = [
    "three & thirty", "I'll pay thee $3", "X marks the place", "Zounds! Zeal, Jove!",
    "Quick, Queen Jane!", "Verily, Xantippe's vexed", "Yea, Oxford & York",
    "Upon my word, Katharina", "What, ho! Who's there?", "Well-a-day", "Go to, go to;",
]

_ENDS = [(".", 8), (",", 10), (";", 3), (":", 2), ("!", 2), ("?", 3), ("", 6)]


def _choice(rng: random.Random, pairs):
    items = [p for p, _ in pairs]
    weights = [w for _, w in pairs]
    return rng.choices(items, weights=weights, k=1)[0]


def _line(rng: random.Random, capital: bool) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(3, 9))]
    if rng.random() < 0.05:
        words.insert(rng.randrange(len(words) + 1), rng.choice(_RARE_PHRASES))
    if rng.random() < 0.08:   # an elision or a hyphenated compound, as the verse has them
        i = rng.randrange(len(words))
        words[i] = rng.choice(["'tis", "o'er", "ne'er", "e'en", "i'the", "self-same", "well-met"])
    text = " ".join(words)
    if capital or rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    text = text.replace(" i ", " I ")
    return text + _choice(rng, _ENDS)


def text(target_chars: int = TARGET_CHARS, seed: int = SEED) -> str:
    """The stand-in text: speeches until ``target_chars`` characters (deterministic)."""
    rng = random.Random(seed)
    parts: list[str] = ["First Citizen:\nBefore we proceed any further, hear me speak.\n"]
    size = len(parts[0])
    while size < target_chars:
        speaker = rng.choice(_SPEAKERS)
        lines = [_line(rng, capital=(i == 0)) for i in range(rng.randint(1, 8))]
        speech = f"\n{speaker}:\n" + "\n".join(lines) + "\n"
        parts.append(speech)
        size += len(speech)
    out = "".join(parts)
    missing = set(VOCABULARY) - set(out)
    if missing:   # the grammar is built to use every symbol; never ship a smaller vocabulary
        raise RuntimeError(f"the shakespeare stand-in misses symbols {sorted(missing)!r}")
    extra = set(out) - set(VOCABULARY)
    if extra:
        raise RuntimeError(f"the shakespeare stand-in has symbols outside the vocabulary: {sorted(extra)!r}")
    return out


def generate(path: Path) -> None:
    Path(path).write_text(text(), encoding="ascii")


DATASET = Dataset(
    name="shakespeare",
    filename="input.txt",
    description="tiny shakespeare, one plain-text file (character-level GPT, weeks 14-15)",
    generate=generate,
    url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    licence="public domain text (char-rnn: MIT)",
)
