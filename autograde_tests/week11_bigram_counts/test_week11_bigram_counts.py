"""Hidden tests for week11_bigram_counts: a character bigram model built by counting.

PYTEST_DONT_REWRITE: students see only the assertion messages, and grading must give the same
text whether or not the grader itself runs under pytest (whose assertion rewriting would
otherwise append its own explanation to failed `assert`s).

Total: 20 points over 12 tests.

Probes send hidden inputs (random words, count matrices and probability tables drawn from
`grading_seed` with local NumPy generators) into the kernels and get plain data back. The
expected answers are computed here, in the grader process, with NumPy in float64 (the
"oracle"); sampling is compared with the reference kernel on the same generator seed and
checked for its statistical properties.
"""

from __future__ import annotations

import math
import string

import numpy as np
import pytest

from grader.testing import assert_close

LETTERS = string.ascii_lowercase
STOI = {".": 0, **{ch: i + 1 for i, ch in enumerate(LETTERS)}}
ITOS = {i: ch for ch, i in STOI.items()}
INDEX_28 = {**{ch: i for i, ch in enumerate(LETTERS)}, "<S>": 26, "<E>": 27}
SETUP = f"import torch\n_stoi = {STOI!r}\n_itos = {{i: ch for ch, i in _stoi.items()}}\n"


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, salt])


def _words(rng: np.random.Generator, n: int, letters: str = LETTERS, lo: int = 1, hi: int = 9) -> list[str]:
    """Random lowercase strings (not real names: the counting code must not care)."""
    weights = rng.dirichlet(np.ones(len(letters)) * 0.7)
    return ["".join(rng.choice(list(letters), size=int(rng.integers(lo, hi + 1)), p=weights))
            for _ in range(n)]


def _bigrams(word: str) -> list[tuple[str, str]]:
    tokens = ["<S>", *word, "<E>"]
    return list(zip(tokens, tokens[1:]))


def _counts(words: list[str], index: dict[str, int], size: int, start: str, end: str) -> np.ndarray:
    counts = np.zeros((size, size), dtype=np.int64)
    for word in words:
        tokens = [start, *word, end]
        for a, b in zip(tokens, tokens[1:]):
            counts[index[a], index[b]] += 1
    return counts


def _counts27(words: list[str]) -> np.ndarray:
    return _counts(words, STOI, 27, ".", ".")


def _probs(counts: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    p = counts.astype(np.float64) + smoothing
    return p / p.sum(axis=1, keepdims=True)


def _log_likelihood(P: np.ndarray, words: list[str]) -> float:
    counts = _counts27(words)
    used = counts > 0
    with np.errstate(divide="ignore"):
        return float((counts[used] * np.log(P[used])).sum())


def _n_bigrams(words: list[str]) -> int:
    return sum(len(w) + 1 for w in words)


def _random_probs(rng: np.random.Generator, end: float | None = None) -> np.ndarray:
    """A random 27x27 row-stochastic table; with `end`, every letter row ends a name with that
    probability and the '.' row never ends at once (so names are short and non-empty)."""
    P = rng.dirichlet(np.ones(27) * 0.5, size=27)
    if end is not None:
        P[:, 0] = 0.0
        P = P / P.sum(axis=1, keepdims=True) * (1 - end)
        P[1:, 0] = end
        P[0] = P[0] / P[0].sum()
    return P


def _tensor(array: np.ndarray) -> str:
    """Probe source for a float32 tensor with these values."""
    return f"torch.tensor({np.asarray(array, dtype=np.float64).tolist()!r}, dtype=torch.float32)"


def _expected_length(P: np.ndarray) -> float:
    """Expected number of characters sampled from '.' until '.' (the final '.' included)."""
    # T[i] = 1 + sum_{j != 0} P[i, j] T[j]
    A = np.eye(27) - P * (np.arange(27) != 0)[None, :]
    T = np.linalg.solve(A, np.ones(27))
    return float(T[0])


# --------------------------------------------------------------------------- vocabulary, bigrams
@pytest.mark.points(1)
def test_vocab(student, grading_seed):
    """build_vocab: '.' first, then the sorted characters"""
    rng = _rng(grading_seed, 1)
    letters = "".join(sorted(rng.choice(list(LETTERS), size=9, replace=False)))
    words = _words(rng, 30, letters)
    used = sorted(set("".join(words)))
    expected_stoi = [[".", 0]] + [[ch, i + 1] for i, ch in enumerate(used)]
    probe = (f"_s, _i = build_vocab({words!r})\n"
             "[sorted([k, v] for k, v in _s.items()), sorted([int(k), v] for k, v in _i.items())]")
    got_stoi, got_itos = student.eval(probe)
    assert sorted(got_stoi, key=lambda kv: kv[1]) == expected_stoi, (
        f"for names using the letters {''.join(used)!r}, stoi should map '.' to 0 and the sorted letters "
        f"to 1, 2, ...: expected {dict(expected_stoi)}, got {dict(got_stoi)}")
    assert got_itos == [[i, ch] for ch, i in expected_stoi], "itos should map every index back to its character"
    data = student.eval("_s, _i = build_vocab(words); sorted([k, v] for k, v in _s.items())")
    assert data == sorted([k, v] for k, v in STOI.items()), \
        "on the names data, stoi should be '.' = 0, 'a' = 1, ..., 'z' = 26"


@pytest.mark.points(1)
def test_word_bigrams(student, grading_seed):
    """word_bigrams: the pairs of one name with <S> and <E>"""
    words = _words(_rng(grading_seed, 2), 12, lo=1, hi=8)
    got = student.eval(f"[[list(pair) for pair in word_bigrams(w)] for w in {words!r}]")
    for word, pairs in zip(words, got):
        expected = [list(p) for p in _bigrams(word)]
        assert len(pairs) == len(word) + 1, \
            f"word_bigrams({word!r}) should give {len(word) + 1} bigrams (one more than letters), got {len(pairs)}"
        assert pairs == expected, f"word_bigrams({word!r}): expected {expected}, got {pairs}"


# --------------------------------------------------------------------------- counting
@pytest.mark.points(2)
def test_count_matrix_28(student, reference, grading_seed):
    """the 28x28 count matrix and its wasted row and column"""
    words = _words(_rng(grading_seed, 3), 60)
    got = student.eval(f"_N = count_bigrams_28({words!r}); [_N, _N.is_floating_point()]")
    counts, is_float = got
    assert not is_float, "count_bigrams_28 should return integer counts (torch.int32), not floats"
    expected = _counts(words, INDEX_28, 28, "<S>", "<E>")
    assert_close(counts, expected, "count_bigrams_28 on 60 hidden words (rows: first token, "
                 "columns: second token; a..z = 0..25, <S> = 26, <E> = 27)")
    data = student.eval("N28")  # the notebook's count_bigrams_28(words) on the names data
    assert not np.any(data[27]), "on the names data, the row of <E> (index 27) should be all zeros"
    assert not np.any(data[:, 26]), "on the names data, the column of <S> (index 26) should be all zeros"
    assert_close(data, reference.eval("N28"), "count_bigrams_28 on the names data",
                 rtol=0, atol=0)


@pytest.mark.points(2)
def test_count_matrix_27(student, reference, grading_seed):
    """the 27x27 count matrix with '.' at index 0"""
    words = _words(_rng(grading_seed, 4), 60)
    counts, is_float = student.eval(SETUP + f"_N = count_bigrams({words!r}, _stoi); [_N, _N.is_floating_point()]")
    assert not is_float, "count_bigrams should return integer counts (torch.int32), not floats"
    assert_close(counts, _counts27(words), "count_bigrams on 60 hidden words ('.' = 0, 'a' = 1, ...; "
                 "'.' before and after every name)", rtol=0, atol=0)
    n_words, n_bigrams = len(words), _n_bigrams(words)
    assert counts[0].sum() == n_words, f"row '.' should count each of the {n_words} first letters once"
    assert counts.sum() == n_bigrams, f"{n_words} words with {n_bigrams - n_words} letters give {n_bigrams} bigrams"
    # N is the notebook's count_bigrams(words, stoi) on the names data
    assert_close(student.eval("N"), reference.eval("N"), "count_bigrams on the names data", rtol=0, atol=0)


# --------------------------------------------------------------------------- probabilities
@pytest.mark.points(2)
def test_probabilities(student, grading_seed):
    """counts_to_probs: rows sum to 1, smoothing adds fake counts"""
    rng = _rng(grading_seed, 5)
    counts = rng.integers(0, 40, size=(27, 27)) * (rng.random((27, 27)) < 0.7)
    counts[:, 1] += 1   # no empty row
    src = f"torch.tensor({counts.tolist()!r}, dtype=torch.int32)"
    got = student.eval(f"import torch\n_N = {src}\n[counts_to_probs(_N), counts_to_probs(_N, 1), counts_to_probs(_N, 2.5)]")
    for P, k in zip(got, (0, 1, 2.5)):
        P = np.asarray(P, dtype=np.float64)
        assert P.shape == (27, 27), f"counts_to_probs should keep the shape (27, 27), got {P.shape}"
        sums = P.sum(axis=1)
        bad = int(np.argmax(np.abs(sums - 1)))
        assert np.allclose(sums, 1, atol=1e-5), (
            f"with smoothing={k}, every row of the probabilities should sum to 1, but row {bad} sums to "
            f"{sums[bad]:.4f} (divide each row by its own sum: keepdim=True)")
        assert_close(P, _probs(counts, k), f"counts_to_probs of a hidden count matrix with smoothing={k}",
                     rtol=1e-5, atol=1e-7)


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
        "sample_name should return a string"
    for i, (name, want) in enumerate(zip(got, expected)):
        assert name == want, (
            f"name {i + 1} drawn with torch.Generator().manual_seed({seed}) should be {want!r}, got {name!r} "
            "(draw every index with torch.multinomial(P[ix], num_samples=1, replacement=True, "
            "generator=generator), starting from row 0)")


@pytest.mark.points(2)
def test_sampling_properties(student, grading_seed):
    """sample_name: names end at '.', first letters follow P[0], lengths and max_len are right"""
    rng = _rng(grading_seed, 7)
    P = _random_probs(rng, end=0.2)
    seed = int(rng.integers(1, 2**31 - 1))
    probe = (SETUP + f"_P = {_tensor(P)}\n_g = torch.Generator().manual_seed({seed})\n"
             "[[sample_name(_P, _itos, _g) for _ in range(3000)], "
             "[sample_name(_P, _itos, _g, max_len=3) for _ in range(200)]]")
    names, short = student.eval(probe)
    for name in names:
        assert isinstance(name, str) and name, f"sample_name returned {name!r}, expected a non-empty string"
        assert name.endswith(".") and name.count(".") == 1, \
            f"every name should stop right after its first '.', got {name!r}"
        assert set(name[:-1]) <= set(LETTERS), f"names should contain letters of itos only, got {name!r}"
    first = np.array([STOI[name[0]] for name in names])
    freq = np.bincount(first, minlength=27) / len(names)
    worst = int(np.argmax(np.abs(freq - P[0])))
    assert np.allclose(freq, P[0], atol=0.03), (
        f"over 3000 samples the first letters should follow row 0 of P: {ITOS[worst]!r} should start "
        f"about {P[0, worst]:.3f} of the names, got {freq[worst]:.3f}")
    mean_len, expected = float(np.mean([len(n) for n in names])), _expected_length(P)
    assert abs(mean_len - expected) < 0.4, (
        f"with this P a name (final '.' included) should have {expected:.2f} characters on average, "
        f"got {mean_len:.2f}: sample the next character from the row of the current one")
    assert all(isinstance(n, str) and 1 <= len(n) <= 3 for n in short), \
        "with max_len=3 no name should have more than 3 characters"
    assert any(len(n) == 3 and not n.endswith(".") for n in short), \
        "with max_len=3 some names should be cut after 3 letters"


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
    assert_close(got[0], ll, f"log_likelihood of 40 hidden words ({n} bigrams, ln of each probability, "
                 "summed)", rtol=1e-4, atol=1e-4)
    assert_close(got[1], -ll / n, f"nll of 40 hidden words: minus the log-likelihood divided by the {n} "
                 "bigrams", rtol=1e-4, atol=1e-6)
    one = words[:1]
    assert_close(got[2], -_log_likelihood(P32, one) / _n_bigrams(one),
                 f"nll of the single word {one[0]!r} ({_n_bigrams(one)} bigrams)", rtol=1e-4, atol=1e-6)


@pytest.mark.points(1)
def test_nll_dataset(student, reference):
    """nll of the names data under the counting model"""
    words = reference.eval("words")
    counts = _counts27(words)
    for k in (0, 1):
        P = _probs(counts, k)
        expected = -_log_likelihood(P, words) / _n_bigrams(words)
        got = student.eval(f"import torch\nnll({_tensor(P)}, words, stoi)")
        assert_close(got, expected, f"nll of the whole names data with {'+1' if k else 'no'} smoothing",
                     rtol=1e-4, atol=1e-6)


@pytest.mark.points(2)
def test_smoothing(student, reference):
    """smoothing: 'jqaguar' infinite without it, finite with it; large counts tend to ln 27"""
    words = reference.eval("words")
    counts = _counts27(words)
    assert counts[STOI["j"], STOI["q"]] == 0, "grader setup: this data set should never contain 'jq'"
    got = student.eval("[nll(counts_to_probs(N, k), ['jqaguar'], stoi) for k in (0, 1)]")
    assert got[0] == math.inf, f"without smoothing the NLL of 'jqaguar' should be inf ('jq' never occurs), got {got[0]!r}"
    expected = -_log_likelihood(_probs(counts, 1), ["jqaguar"]) / 8
    assert_close(got[1], expected, "NLL of 'jqaguar' with +1 smoothing (finite)", rtol=1e-4, atol=1e-6)
    ks = [0, 1, 10, 1000, 1_000_000]
    sweep = student.eval(f"[nll(counts_to_probs(N, k), words, stoi) for k in {ks!r}]")
    expected = [-_log_likelihood(_probs(counts, k), words) / _n_bigrams(words) for k in ks]
    assert_close(sweep, expected, f"NLL of the names data with {ks} fake counts", rtol=1e-4, atol=1e-5)
    assert all(a < b for a, b in zip(sweep, sweep[1:])), "more fake counts should raise the NLL on the data"
    assert abs(sweep[-1] - math.log(27)) < 0.01, "with a million fake counts the NLL should be close to ln 27"


# --------------------------------------------------------------------------- short answers
@pytest.mark.points(2)
def test_distribution_quiz(student):
    """distribution_name: Bernoulli, binomial, categorical or multinomial"""
    cases = [(K, n) for K in (2, 3, 6, 27) for n in (1, 2, 10, 1000)]
    got = student.eval(f"[distribution_name(K, n) for K, n in {cases!r}]")
    for (K, n), answer in zip(cases, got):
        expected = ("bernoulli" if n == 1 else "binomial") if K == 2 else ("categorical" if n == 1 else "multinomial")
        assert answer == expected, f"{n} trial(s) with {K} possible outcomes each: expected {expected!r}, got {answer!r}"


@pytest.mark.points(1)
def test_quiz(student):
    """short answers: baseline, log-likelihood bounds, the 28x28 matrix"""
    got = student.eval("QUIZ")
    assert isinstance(got, dict), "QUIZ should be a dictionary"
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
    assert got.get("zero_row_token") == "<E>", "QUIZ['zero_row_token']: nothing can follow one of the two tokens"
    assert got.get("zero_column_token") == "<S>", "QUIZ['zero_column_token']: one of the two tokens never follows a letter"
