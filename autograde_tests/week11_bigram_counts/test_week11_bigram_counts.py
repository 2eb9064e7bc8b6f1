"""Hidden tests for week11_bigram_counts: a character bigram model built by counting.

PYTEST_DONT_REWRITE: students see only the assertion messages, and grading must give the same
text whether or not the grader itself runs under pytest (whose assertion rewriting would
otherwise append its own explanation to failed `assert`s).

Total: 24 points over 16 tests.

Probes send hidden inputs (random words, vocabularies of other sizes, count matrices and
probability tables drawn from `grading_seed` with local NumPy generators) into the kernels and
get plain data back. Every function is graded on inputs made here, never on the student's own
globals (`words`, `stoi`, `N`, `P`), so one bug costs its points once: the names data is read
afresh from the data file inside the probe. (One shortcut: where the count matrices the
notebook's locked cells made of the whole data equal the reference's exactly, the data is not
counted again; where they differ, it is.) The expected answers are computed here, in the
grader process, with NumPy in float64 (the "oracle"); sampling is compared with the reference
kernel on the same generator seed and checked for its statistical properties (the first letters,
how likely every pair of consecutive characters is under P, the mean length; each bound at 6
standard deviations of a correct sampler's spread, so a sampler drawn from another generator, or
in another way, passes).

Tolerances: values summed over a few hundred bigrams allow 1e-4 (relative); the negative
log-likelihood of the whole names data (228,146 bigrams) allows 1e-3, which is what the
lecture's loop needs (it adds one float32 `logprob` at a time and is up to 4e-4 off the exact
value, 2e-3 with a million fake counts, which is therefore only compared with ln 27); a wrong constant (no smoothing where 10 fake counts were asked, counting tokens instead
of bigrams) is still more than 3e-3 off.
"""

from __future__ import annotations

import math
import string

import numpy as np
import pytest

from grader.testing import assert_close, notebook_value, remember

LETTERS = string.ascii_lowercase
STOI = {".": 0, **{ch: i + 1 for i, ch in enumerate(LETTERS)}}
ITOS = {i: ch for ch, i in STOI.items()}
INDEX_28 = {**{ch: i for i, ch in enumerate(LETTERS)}, "<S>": 26, "<E>": 27}
SETUP = f"import torch\n_stoi = {STOI!r}\n_itos = {{i: ch for ch, i in _stoi.items()}}\n"
# The names data, read afresh in the kernel: a student's in-place shuffle of `words` or a wrong
# `stoi` must not change what their other functions are graded on.
NAMES = '_W = open(DATA_DIR + "/names.txt", encoding="ascii").read().splitlines()\n'
DATA_NLL_RTOL = 1e-3


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, salt])


def _words(rng: np.random.Generator, n: int, letters: str = LETTERS, lo: int = 1, hi: int = 9) -> list[str]:
    """Random lowercase strings (not real names: the counting code must not care)."""
    weights = rng.dirichlet(np.ones(len(letters)) * 0.7)
    return ["".join(rng.choice(list(letters), size=int(rng.integers(lo, hi + 1)), p=weights))
            for _ in range(n)]


def _other_vocab(rng: np.random.Generator, size: int, extra: str = "") -> dict[str, int]:
    """A stoi with '.' at 0 and `size - 1` other characters in a shuffled (not sorted) order."""
    pool = list(LETTERS + extra)
    chars = [str(ch) for ch in rng.choice(pool, size=size - 1, replace=False)]
    return {".": 0, **{ch: i + 1 for i, ch in enumerate(chars)}}


def _bigrams(word: str) -> list[tuple[str, str]]:
    tokens = ["<S>", *word, "<E>"]
    return list(zip(tokens, tokens[1:]))


@remember  # counting the names data in Python takes 0.1 s, three times a submission
def _counts(words: list[str], index: dict[str, int], size: int, start: str, end: str) -> np.ndarray:
    counts = np.zeros((size, size), dtype=np.int64)
    for word in words:
        tokens = [start, *word, end]
        for a, b in zip(tokens, tokens[1:]):
            counts[index[a], index[b]] += 1
    return counts


def _counts_v(words: list[str], stoi: dict[str, int]) -> np.ndarray:
    return _counts(words, stoi, len(stoi), ".", ".")


def _counts27(words: list[str]) -> np.ndarray:
    return _counts_v(words, STOI)


def _probs(counts: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    p = counts.astype(np.float64) + smoothing
    return p / p.sum(axis=1, keepdims=True)


def _log_likelihood(P: np.ndarray, words: list[str], stoi: dict[str, int] = STOI) -> float:
    counts = _counts_v(words, stoi)
    used = counts > 0
    with np.errstate(divide="ignore"):
        return float((counts[used] * np.log(P[used])).sum())


def _n_bigrams(words: list[str]) -> int:
    return sum(len(w) + 1 for w in words)


def _random_probs(rng: np.random.Generator, end: float | None = None, size: int = 27) -> np.ndarray:
    """A random size x size row-stochastic table; with `end`, every other row ends a name with
    that probability and the '.' row never ends at once (so names are short and non-empty)."""
    P = rng.dirichlet(np.ones(size) * 0.5, size=size)
    if end is not None:
        P[:, 0] = 0.0
        P = P / P.sum(axis=1, keepdims=True) * (1 - end)
        P[1:, 0] = end
        P[0] = P[0] / P[0].sum()
    return P


def _tensor(array: np.ndarray) -> str:
    """Probe source for a float32 tensor with these values."""
    return f"torch.tensor({np.asarray(array, dtype=np.float64).tolist()!r}, dtype=torch.float32)"


def _int_tensor(array: np.ndarray, dtype: str = "torch.int32") -> str:
    return f"torch.tensor({np.asarray(array).astype(int).tolist()!r}, dtype={dtype})"


def _length_moments(P: np.ndarray) -> tuple[float, float]:
    """Mean and variance of the number of characters sampled from '.' until '.' (final '.' included)."""
    # L_i = 1 + (L_j if the next character j is not '.' else 0), j drawn from row i:
    # T = E[L] solves (I - Q) T = 1 and S = E[L^2] solves (I - Q) S = 1 + 2 Q T, with Q = P without column 0
    Q = P * (np.arange(len(P)) != 0)[None, :]
    A = np.eye(len(P)) - Q
    T = np.linalg.solve(A, np.ones(len(P)))
    S = np.linalg.solve(A, 1 + 2 * Q @ T)
    return float(T[0]), float(S[0] - T[0] ** 2)


def _transition_z(P: np.ndarray, names: list[str]) -> tuple[float, np.ndarray]:
    """How much likelier (z > 0) or less likely (z < 0) the names' transitions are under P than
    draws from P's rows would be, in standard deviations, overall and for each row.

    Each transition i -> j adds ln P[i, j]; a draw from row i adds on average minus the row's
    entropy, with the row's variance of ln P. Summed over the transitions, the difference is a
    sum of independent-given-the-past zero-mean terms, so it is close to normal."""
    P = P / P.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_p = np.log(P)
    finite = np.where(P > 0, log_p, 0.0)
    entropy = -(P * finite).sum(axis=1)
    variance = (P * finite**2).sum(axis=1) - entropy**2
    total, mean, var = np.zeros(len(P)), np.zeros(len(P)), np.zeros(len(P))
    for name in names:
        prev = 0
        for ch in name:
            nxt = STOI[ch]
            total[prev] += log_p[prev, nxt]
            mean[prev] -= entropy[prev]
            var[prev] += variance[prev]
            prev = nxt
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = np.where(var > 0, (total - mean) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
        overall = float((total.sum() - mean.sum()) / math.sqrt(var.sum()))
    return overall, rows


def _names_words(reference) -> list[str]:
    return reference.eval(NAMES + "_W")


def _counted_in_notebook(student, reference, name: str) -> bool:
    """Whether the count matrix the notebook's locked cell made of the whole names data
    (``N28 = count_bigrams_28(words)``, ``N = count_bigrams(words, stoi)``) is exactly the
    reference's: then counting the data again in a probe (0.2 s of a lecture-style loop per
    5000 names) cannot tell anything new. Otherwise (another count, or the notebook's
    ``words``, ``stoi`` or ``N`` changed on the way) the test counts the data itself, with its
    own names and stoi: a student is never graded on their own globals."""
    mine = notebook_value(student, name, "[_v, str(_v.dtype)]")
    if mine is None:
        return False
    counts, dtype = mine
    expected, expected_dtype = notebook_value(reference, name, "[_v, str(_v.dtype)]")
    return (dtype == expected_dtype and np.shape(counts) == np.shape(expected)
            and np.array_equal(counts, expected))


# --------------------------------------------------------------------------- vocabulary, bigrams
@pytest.mark.points(1)
def test_vocab(student, grading_seed):
    """build_vocab: '.' first, then the sorted characters"""
    rng = _rng(grading_seed, 1)
    letters = "".join(sorted(str(ch) for ch in rng.choice(list(LETTERS), size=9, replace=False)))
    words = _words(rng, 30, letters)
    used = sorted(set("".join(words)))
    expected_stoi = {".": 0, **{ch: i + 1 for i, ch in enumerate(used)}}
    expected_itos = {i: ch for ch, i in expected_stoi.items()}
    probe = (f"_s, _i = build_vocab({words!r})\n"
             "[sorted([k, v] for k, v in _s.items()), sorted([int(k), v] for k, v in _i.items())]")
    got_stoi, got_itos = student.eval(probe)
    got_stoi = {k: v for k, v in got_stoi}
    assert got_stoi == expected_stoi, (
        f"build_vocab on 30 hidden names that use the letters {''.join(used)!r} (first names "
        f"{words[:3]!r}): stoi should map '.' to 0 and the sorted letters to 1, 2, ...: expected "
        f"{expected_stoi}, got {got_stoi}")
    got_itos = {k: v for k, v in got_itos}
    assert got_itos == expected_itos, (
        f"build_vocab on the same names: itos should map every index back to its character: "
        f"expected {expected_itos}, got {got_itos}")
    data = dict(student.eval(NAMES + "_s, _i = build_vocab(_W); sorted([k, v] for k, v in _s.items())"))
    assert data == STOI, (
        f"build_vocab on the names data: expected stoi {STOI}, got {data}")


@pytest.mark.points(1)
def test_word_bigrams(student, grading_seed):
    """word_bigrams: the pairs of one name with <S> and <E>"""
    words = _words(_rng(grading_seed, 2), 12, lo=1, hi=8)
    got = student.eval(f"[[list(pair) for pair in word_bigrams(w)] for w in {words!r}]")
    for word, pairs in zip(words, got):
        expected = [list(p) for p in _bigrams(word)]
        assert len(pairs) == len(word) + 1, (
            f"word_bigrams({word!r}) should give {len(word) + 1} bigrams (one more than letters), "
            f"got {len(pairs)}: {pairs}")
        assert pairs == expected, f"word_bigrams({word!r}): expected {expected}, got {pairs}"


# --------------------------------------------------------------------------- counting
@pytest.mark.points(2)
def test_count_matrix_28(student, reference, grading_seed):
    """the 28x28 count matrix and its wasted row and column"""
    words = _words(_rng(grading_seed, 3), 60)
    counts, dtype = student.eval(f"_N = count_bigrams_28({words!r}); [_N, str(_N.dtype)]")
    assert dtype == "torch.int32", (
        f"count_bigrams_28 on 60 hidden words should return a torch.int32 tensor, got {dtype} "
        "(create it with torch.zeros((28, 28), dtype=torch.int32))")
    expected = _counts(words, INDEX_28, 28, "<S>", "<E>")
    assert_close(counts, expected, f"count_bigrams_28 on 60 hidden words (the first ones {words[:3]!r}; "
                 "rows: first token, columns: second token; a..z = 0..25, <S> = 26, <E> = 27)",
                 rtol=0, atol=0)
    if _counted_in_notebook(student, reference, "N28"):
        return
    data = student.eval(NAMES + "count_bigrams_28(_W[:5000])")   # the first 5000 names keep the probe short
    assert not np.any(data[27]), (
        f"count_bigrams_28 on the first 5000 names: the row of <E> (index 27) should be all zeros, got "
        f"{np.asarray(data[27]).tolist()}")
    assert not np.any(data[:, 26]), (
        f"count_bigrams_28 on the first 5000 names: the column of <S> (index 26) should be all zeros, got "
        f"{np.asarray(data[:, 26]).tolist()}")
    assert_close(data, reference.eval(NAMES + "count_bigrams_28(_W[:5000])"),
                 "count_bigrams_28 on the first 5000 names of the data", rtol=0, atol=0)


@pytest.mark.points(2)
def test_count_matrix_27(student, reference, grading_seed):
    """the 27x27 count matrix with '.' at index 0"""
    words = _words(_rng(grading_seed, 4), 60)
    counts, dtype = student.eval(SETUP + f"_N = count_bigrams({words!r}, _stoi); [_N, str(_N.dtype)]")
    assert dtype == "torch.int32", (
        f"count_bigrams(words, stoi) on 60 hidden words should return a torch.int32 tensor, got {dtype} "
        "(create it with dtype=torch.int32)")
    assert_close(counts, _counts27(words), f"count_bigrams on 60 hidden words (the first ones {words[:3]!r}) "
                 "with the 27-token stoi ('.' = 0, 'a' = 1, ...; '.' before and after every name)",
                 rtol=0, atol=0)
    n_words, n_bigrams = len(words), _n_bigrams(words)
    assert counts[0].sum() == n_words, (
        f"count_bigrams on 60 hidden words: row '.' should count each of the {n_words} first letters once, "
        f"its sum is {int(counts[0].sum())}")
    assert counts.sum() == n_bigrams, (
        f"count_bigrams on 60 hidden words: {n_words} words with {n_bigrams - n_words} letters give "
        f"{n_bigrams} bigrams, the counts sum to {int(counts.sum())}")
    if _counted_in_notebook(student, reference, "N"):
        return
    probe = SETUP + NAMES + "count_bigrams(_W[:5000], _stoi)"
    assert_close(student.eval(probe), reference.eval(probe),
                 "count_bigrams(words, stoi) on the first 5000 names of the data with the 27-token stoi", rtol=0, atol=0)


@pytest.mark.points(1)
def test_count_matrix_other_vocab(student, grading_seed):
    """count_bigrams: any vocabulary, of any size"""
    rng = _rng(grading_seed, 14)
    for size, extra in ((7, ""), (33, "ABCDEFGHIJ-'")):
        stoi = _other_vocab(rng, size, extra)
        letters = "".join(ch for ch in stoi if ch != ".")
        words = _words(rng, 40, letters)
        counts, dtype = student.eval(f"import torch\n_N = count_bigrams({words!r}, {stoi!r}); [_N, str(_N.dtype)]")
        what = (f"count_bigrams(words, stoi) with a {size}-token stoi {stoi} and 40 hidden words "
                f"(the first ones {words[:3]!r})")
        assert dtype == "torch.int32", f"{what}: expected a torch.int32 tensor, got {dtype}"
        assert_close(counts, _counts_v(words, stoi), f"{what} (a {size}x{size} matrix, N[stoi[a], stoi[b]] "
                     "counts 'a followed by b'; use len(stoi) and the stoi you are given)", rtol=0, atol=0)


# --------------------------------------------------------------------------- probabilities
@pytest.mark.points(2)
def test_probabilities(student, grading_seed):
    """counts_to_probs: float32, rows sum to 1, smoothing adds fake counts"""
    rng = _rng(grading_seed, 5)
    counts = rng.integers(0, 40, size=(27, 27)) * (rng.random((27, 27)) < 0.7)
    counts[:, 1] += 1   # no empty row
    got = student.eval(f"import torch\n_N = {_int_tensor(counts)}\n"
                       "[[_P, str(_P.dtype)] for _P in (counts_to_probs(_N), counts_to_probs(_N, 1), "
                       "counts_to_probs(_N, 2.5))]")
    for (P, dtype), k in zip(got, (0, 1, 2.5)):
        call = ("counts_to_probs(N)" if k == 0 else f"counts_to_probs(N, {k})") + " for a hidden 27x27 int32 N"
        assert dtype == "torch.float32", f"{call} should return a float32 tensor, got {dtype}"
        P = np.asarray(P, dtype=np.float64)
        assert P.shape == (27, 27), f"{call} should keep the shape (27, 27), got {P.shape}"
        sums = P.sum(axis=1)
        bad = int(np.argmax(np.abs(sums - 1)))
        assert np.allclose(sums, 1, atol=1e-5), (
            f"{call}: every row of the probabilities should sum to 1, but row {bad} sums to "
            f"{sums[bad]:.4f} (divide each row by its own sum: keepdim=True)")
        assert_close(P, _probs(counts, k), call, rtol=1e-5, atol=1e-7)


@pytest.mark.points(1)
def test_probabilities_other_sizes(student, grading_seed):
    """counts_to_probs: any vocabulary size, and N itself left unchanged"""
    rng = _rng(grading_seed, 15)
    for size, k, dtype in ((5, 0, "torch.int32"), (5, 0.5, "torch.int32"), (31, 3, "torch.int32"),
                           (8, 1, "torch.float32")):
        counts = rng.integers(0, 20, size=(size, size)) * (rng.random((size, size)) < 0.6)
        counts[:, 0] += 1
        src = _int_tensor(counts, dtype) if dtype != "torch.float32" else _tensor(counts)
        got, after = student.eval(f"import torch\n_N = {src}\n_P = counts_to_probs(_N, {k!r})\n[_P, _N]")
        call = f"counts_to_probs(N, {k!r}) for a hidden {size}x{size} {dtype} count matrix N"
        assert_close(after, counts, f"{call} changed N itself (add the fake counts to a copy, e.g. "
                     "P = (N + smoothing).float(); the caller still needs the counts): N afterwards",
                     rtol=0, atol=0)
        assert_close(got, _probs(counts, k), call, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- sampling
@pytest.mark.points(2)
def test_sampling_matches_reference(student, reference, grading_seed):
    """sample_name: the same names as the reference for the same generator seed"""
    rng = _rng(grading_seed, 6)
    P = _random_probs(rng, end=0.25)
    seed = int(rng.integers(1, 2**31 - 1))
    probe = (SETUP + f"_P = {_tensor(P)}\n_g = torch.Generator().manual_seed({seed})\n"
             "[sample_name(_P, _itos, _g) for _ in range(25)] + "
             "[sample_name(_P, _itos, _g, max_len=4) for _ in range(10)]")
    got, expected = student.eval(probe), reference.eval(probe)
    assert isinstance(got, list) and all(isinstance(name, str) for name in got), \
        f"sample_name(P, itos, generator) should return a string, got {got[:3]!r}"
    for i, (name, want) in enumerate(zip(got, expected)):
        call = (f"sample_name(P, itos, g{', max_len=4' if i >= 25 else ''}) (call {i + 1} in a row with a hidden "
                f"27x27 P and g = torch.Generator().manual_seed({seed}))")
        assert name == want, (
            f"{call}: expected {want!r}, got {name!r} (draw every index with torch.multinomial(P[ix], "
            "num_samples=1, replacement=True, generator=generator), starting from row 0; stop after the "
            "'.' or after max_len characters)")


@pytest.mark.points(1)
def test_sampling_other_vocab(student, reference, grading_seed):
    """sample_name: another vocabulary, and max_len of 1 and 2"""
    rng = _rng(grading_seed, 16)
    stoi = _other_vocab(rng, 6)
    itos = {i: ch for ch, i in stoi.items()}
    P = _random_probs(rng, end=0.3, size=6)
    seed = int(rng.integers(1, 2**31 - 1))
    probe = (f"import torch\n_P = {_tensor(P)}\n_itos = {itos!r}\n_g = torch.Generator().manual_seed({seed})\n"
             "[sample_name(_P, _itos, _g) for _ in range(12)] + "
             "[sample_name(_P, _itos, _g, max_len=m) for m in (1, 2, 1, 2, 1, 2)]")
    got, expected = student.eval(probe), reference.eval(probe)
    for i, (name, want) in enumerate(zip(got, expected)):
        extra = "" if i < 12 else f", max_len={(1, 2)[(i - 12) % 2]}"
        assert name == want, (
            f"sample_name(P, itos, g{extra}) (call {i + 1} in a row) with the 6-token itos {itos}, a hidden "
            f"6x6 P and g = torch.Generator().manual_seed({seed}): expected {want!r}, got {name!r} "
            "(use the itos you are given to turn indices into characters)")


@pytest.mark.points(2)
def test_sampling_properties(student, grading_seed):
    """sample_name: names end at '.', each character follows its predecessor's row of P, max_len is right"""
    rng = _rng(grading_seed, 7)
    P = _random_probs(rng, end=0.2)
    P32 = P.astype(np.float32).astype(np.float64)
    seed = int(rng.integers(1, 2**31 - 1))
    n, n_short = 800, 100
    probe = (SETUP + f"_P = {_tensor(P)}\n_g = torch.Generator().manual_seed({seed})\n"
             f"[[sample_name(_P, _itos, _g) for _ in range({n})], "
             f"[sample_name(_P, _itos, _g, max_len=3) for _ in range({n_short})]]")
    names, short = student.eval(probe)
    call = f"{n} calls of sample_name(P, itos, g) with a hidden 27x27 P"
    for name in names:
        assert isinstance(name, str) and name, f"{call}: one returned {name!r}, expected a non-empty string"
        assert name.endswith(".") and name.count(".") == 1, \
            f"{call}: every name should stop right after its first '.', got {name!r}"
        assert set(name[:-1]) <= set(LETTERS), f"{call}: names should contain letters of itos only, got {name!r}"
    # Statistical checks at 6 standard deviations each (29 of them: a correct sampler fails one in
    # well under a million gradings; over 500 tables no deviation reached 4). The wrong
    # samplers of variants.yaml are 15 to 80 standard deviations off with these sizes.
    first = np.bincount([STOI[name[0]] for name in names], minlength=27) / n
    allowed = 6 * np.sqrt(P32[0] * (1 - P32[0]) / n) + 3 / n
    worst = int(np.argmax(np.abs(first - P32[0]) / allowed))
    assert abs(first[worst] - P32[0, worst]) <= allowed[worst], (
        f"{call}: the first letters should follow row 0 of P: {ITOS[worst]!r} should start "
        f"about {P32[0, worst]:.3f} of the names, got {first[worst]:.3f}")
    overall, rows = _transition_z(P32, names)
    row = int(np.argmax(np.abs(rows)))
    assert abs(overall) <= 6, (
        f"{call}: the characters do not follow P: the pairs of consecutive characters are "
        f"{'less' if overall < 0 else 'more'} likely under P than characters drawn from P would be "
        f"({abs(overall):.0f} standard deviations; the most off are the characters after {ITOS[row]!r}): "
        "draw each next character from the row of P of the character just drawn")
    mean_len = float(np.mean([len(name) for name in names]))
    expected, variance = _length_moments(P32)
    assert abs(mean_len - expected) <= 6 * math.sqrt(variance / n), (
        f"{call}: with this P a name (final '.' included) should have {expected:.2f} characters on average, "
        f"got {mean_len:.2f}: sample the next character from the row of the current one")
    lengths = sorted({len(name) for name in short if isinstance(name, str)})
    assert all(isinstance(name, str) and 1 <= len(name) <= 3 for name in short), (
        f"{n_short} calls of sample_name(P, itos, g, max_len=3): no name should have more than 3 characters, "
        f"got lengths {lengths}")
    assert any(len(name) == 3 and not name.endswith(".") for name in short), \
        f"{n_short} calls of sample_name(P, itos, g, max_len=3): some names should be cut after 3 letters, none was"


# --------------------------------------------------------------------------- likelihood
@pytest.mark.points(2)
def test_nll_hidden(student, grading_seed):
    """log_likelihood and nll on hidden words and probabilities"""
    rng = _rng(grading_seed, 8)
    P = _random_probs(rng)
    words = _words(rng, 40)
    P32 = P.astype(np.float32).astype(np.float64)
    ll = _log_likelihood(P32, words)
    n = _n_bigrams(words)
    got = student.eval(SETUP + f"_P = {_tensor(P)}\n_W = {words!r}\n"
                       "[log_likelihood(_P, _W, _stoi), nll(_P, _W, _stoi), nll(_P, _W[:1], _stoi)]")
    assert_close(got[0], ll, f"log_likelihood(P, words, stoi) with a hidden 27x27 P and 40 hidden words "
                 f"({n} bigrams; ln of each probability, summed)", rtol=1e-4, atol=1e-4)
    assert_close(got[1], -ll / n, f"nll(P, words, stoi) with the same 40 words: minus the log-likelihood "
                 f"divided by the {n} bigrams", rtol=1e-4, atol=1e-6)
    one = words[:1]
    assert_close(got[2], -_log_likelihood(P32, one) / _n_bigrams(one),
                 f"nll(P, [{one[0]!r}], stoi) ({_n_bigrams(one)} bigrams)", rtol=1e-4, atol=1e-6)


@pytest.mark.points(1)
def test_nll_other_vocab(student, grading_seed):
    """log_likelihood and nll with another vocabulary"""
    rng = _rng(grading_seed, 17)
    stoi = _other_vocab(rng, 9)
    letters = "".join(ch for ch in stoi if ch != ".")
    P = _random_probs(rng, size=9)
    words = _words(rng, 30, letters)
    P32 = P.astype(np.float32).astype(np.float64)
    ll = _log_likelihood(P32, words, stoi)
    n = _n_bigrams(words)
    got = student.eval(f"import torch\n_P = {_tensor(P)}\n_W = {words!r}\n_s = {stoi!r}\n"
                       "[log_likelihood(_P, _W, _s), nll(_P, _W, _s)]")
    what = (f"with the 9-token stoi {stoi}, a hidden 9x9 P and 30 hidden words (the first ones "
            f"{words[:3]!r}; {n} bigrams)")
    assert_close(got[0], ll, f"log_likelihood(P, words, stoi) {what} (look the indices up in the stoi you "
                 "are given)", rtol=1e-4, atol=1e-4)
    assert_close(got[1], -ll / n, f"nll(P, words, stoi) {what}", rtol=1e-4, atol=1e-6)


@pytest.mark.points(1)
def test_nll_dataset(student, reference):
    """nll of the names data under the counting model"""
    words = _names_words(reference)
    counts = _counts27(words)
    # one model (a second, without smoothing, caught no mutant more and cost a lecture-style loop
    # over the whole data, seconds for some students)
    P = _probs(counts, 1)
    expected = -_log_likelihood(P, words) / _n_bigrams(words)
    got = student.eval(SETUP + NAMES + f"nll({_tensor(P)}, _W, _stoi)")
    assert_close(got, expected, f"nll(P, words, stoi) on the names data ({_n_bigrams(words)} bigrams) "
                 "with the counting model's P, +1 smoothing", rtol=DATA_NLL_RTOL, atol=1e-6)


@pytest.mark.points(2)
def test_smoothing(student, reference):
    """smoothing: 'jqaguar' infinite without it, finite with it; large counts tend to ln 27"""
    words = _names_words(reference)
    counts = _counts27(words)
    assert counts[STOI["j"], STOI["q"]] == 0, "grader setup: this data set should never contain 'jq'"
    setup = SETUP + f"_N = {_int_tensor(counts)}\n"
    got = student.eval(setup + "[nll(counts_to_probs(_N, k), ['jqaguar'], _stoi) for k in (0, 1)]")
    assert got[0] == math.inf, (
        f"nll(counts_to_probs(N), ['jqaguar'], stoi) with the counts of the names data: expected inf "
        f"('jq' never occurs, so its probability is 0 and ln 0 = -inf), got {got[0]!r}")
    expected = -_log_likelihood(_probs(counts, 1), ["jqaguar"]) / 8
    assert_close(got[1], expected, "nll(counts_to_probs(N, 1), ['jqaguar'], stoi) with the counts of the "
                 "names data (+1 smoothing: finite)", rtol=1e-4, atol=1e-6)
    ks = [0, 10, 1000, 1_000_000]
    # the model of the whole data, scored on its first 5000 names (four calls of a lecture-style
    # loop over all the names would take several seconds)
    part = words[:5000]
    sweep = student.eval(setup + NAMES + f"[nll(counts_to_probs(_N, k), _W[:5000], _stoi) for k in {ks!r}]")
    expected = [-_log_likelihood(_probs(counts, k), part) / _n_bigrams(part) for k in ks]
    # With a million fake counts every term is almost ln(1/27): a float32 sum of them, one term at
    # a time, drifts by up to 2e-3 (relative), so that value is only checked against ln 27 below.
    assert_close(sweep[:3], expected[:3], f"nll(counts_to_probs(N, k), words[:5000], stoi) with N the counts of the "
                 f"names data, for k = {ks[:3]}", rtol=DATA_NLL_RTOL, atol=1e-5)
    if all(a < b for a, b in zip(expected, expected[1:])):
        assert all(a < b for a, b in zip(sweep, sweep[1:])), \
            f"more fake counts should raise the NLL on the data: for k = {ks} got {sweep}"
    assert abs(sweep[-1] - math.log(27)) < 0.01, \
        f"with a million fake counts the NLL should be close to ln 27 = {math.log(27):.4f}, got {sweep[-1]!r}"


# --------------------------------------------------------------------------- short answers
@pytest.mark.points(2)
def test_distribution_quiz(student):
    """distribution_name: Bernoulli, binomial, categorical or multinomial"""
    cases = [(K, n) for K in (2, 3, 6, 27) for n in (1, 2, 10, 1000)]
    got = student.eval(f"[distribution_name(K, n) for K, n in {cases!r}]")
    for (K, n), answer in zip(cases, got):
        expected = ("bernoulli" if n == 1 else "binomial") if K == 2 else ("categorical" if n == 1 else "multinomial")
        assert answer == expected, (
            f"distribution_name({K}, {n}) ({n} trial(s) with {K} possible outcomes each): expected "
            f"{expected!r}, got {answer!r}")


@pytest.mark.points(1)
def test_quiz(student):
    """short answers: baseline, log-likelihood bounds, the 28x28 matrix"""
    got = student.eval("QUIZ")
    assert isinstance(got, dict), f"QUIZ should be a dictionary, got {got!r}"
    expected = {
        "uniform_probability": (1 / 27, "the probability of each of the 27 tokens under the know-nothing model"),
        "max_log_likelihood": (0.0, "the largest possible log-likelihood (every probability equal to 1)"),
        "uniform_nll": (math.log(27), "the NLL of the know-nothing model"),
        "cross_entropy_example": (-math.log(0.7), "the cross-entropy for [0.1, 0.7, 0.2] with the second class true"),
        "matrix_size_with_start_end": (28, "the side of the count matrix with '<S>' and '<E>'"),
    }
    for key, (value, what) in expected.items():
        answer = got.get(key)
        assert isinstance(answer, (int, float)) and not isinstance(answer, bool), \
            f"QUIZ[{key!r}] should be a number, got {answer!r}"
        assert_close(answer, value, f"QUIZ[{key!r}] ({what})", rtol=1e-3, atol=1e-4)
    assert got.get("zero_row_token") == "<E>", (
        f"QUIZ['zero_row_token']: nothing can follow one of the two tokens; got {got.get('zero_row_token')!r}")
    assert got.get("zero_column_token") == "<S>", (
        f"QUIZ['zero_column_token']: one of the two tokens never follows a letter; got "
        f"{got.get('zero_column_token')!r}")
