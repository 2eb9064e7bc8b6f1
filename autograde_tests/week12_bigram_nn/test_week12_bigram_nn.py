"""Hidden tests for week12_bigram_nn: the bigram model as a one-layer network.

PYTEST_DONT_REWRITE: students see only the assertion messages, and grading must give the same
text whether or not the grader itself runs under pytest (whose assertion rewriting would
otherwise append its own explanation to failed `assert`s).

Total: 20 points over 11 tests.

Hidden inputs (index tensors, weight matrices, random words) are drawn from `grading_seed`
with local NumPy generators and sent into the kernels as literals. Expected values (the
softmax, the loss, its gradient, gradient-descent steps, the counting model's NLL) are
computed here, in the grader process, with PyTorch in float64.
"""

from __future__ import annotations

import math
import string

import numpy as np
import pytest
import torch

from grader.testing import assert_close

LETTERS = string.ascii_lowercase
STOI = {".": 0, **{ch: i + 1 for i, ch in enumerate(LETTERS)}}
V = 27
F64 = torch.float64


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, salt])


def _words(rng: np.random.Generator, n: int, lo: int = 1, hi: int = 8) -> list[str]:
    weights = rng.dirichlet(np.ones(26) * 0.7)
    return ["".join(rng.choice(list(LETTERS), size=int(rng.integers(lo, hi + 1)), p=weights))
            for _ in range(n)]


def _pairs(words: list[str]) -> tuple[list[int], list[int]]:
    xs, ys = [], []
    for word in words:
        tokens = [".", *word, "."]
        for a, b in zip(tokens, tokens[1:]):
            xs.append(STOI[a])
            ys.append(STOI[b])
    return xs, ys


def _indices(rng: np.random.Generator, n: int, high: int = V) -> list[int]:
    return rng.integers(0, high, size=n).tolist()


def _weights(rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Random weights, rounded to float32 so that the kernel and the oracle start identical."""
    return (rng.standard_normal((V, V)) * scale).astype(np.float32)


def _tensor(array, dtype: str = "torch.float32", grad: bool = False) -> str:
    extra = ", requires_grad=True" if grad else ""
    return f"torch.tensor({np.asarray(array).tolist()!r}, dtype={dtype}{extra})"


def _long(values) -> str:
    return f"torch.tensor({list(values)!r}, dtype=torch.int64)"


def _loss64(W: torch.Tensor, xs, ys, lam: float) -> torch.Tensor:
    logits = W[torch.tensor(xs)]
    return torch.nn.functional.cross_entropy(logits, torch.tensor(ys)) + lam * (W ** 2).mean()


def _train64(W0: np.ndarray, xs, ys, steps: int, lr: float, lam: float):
    W = torch.tensor(W0, dtype=F64, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = _loss64(W, xs, ys, lam)
        losses.append(loss.item())
        (grad,) = torch.autograd.grad(loss, W)
        with torch.no_grad():
            W -= lr * grad
    return losses, W.detach().numpy()


def _count_model(xs, ys) -> tuple[np.ndarray, np.ndarray, float]:
    """(counts, probabilities, average NLL) of the counting model on these pairs."""
    counts = np.zeros((V, V))
    np.add.at(counts, (np.asarray(xs), np.asarray(ys)), 1)
    rows = counts.sum(axis=1, keepdims=True)
    P = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    used = counts > 0
    nll = float(-(counts[used] * np.log(P[used])).sum() / counts.sum())
    return counts, P, nll


def _cross_entropy(W: np.ndarray, xs, ys) -> float:
    return _loss64(torch.tensor(np.asarray(W), dtype=F64), xs, ys, 0.0).item()


def _softmax_rows(W: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.tensor(np.asarray(W), dtype=F64), dim=1).numpy()


def _data_pairs(reference, n_words: int) -> tuple[list[int], list[int]]:
    return _pairs(reference.eval(f"words[:{n_words}]"))


# --------------------------------------------------------------------------- data
@pytest.mark.points(2)
def test_training_pairs(student, reference, grading_seed):
    """make_bigram_xy: one (input, target) pair per bigram"""
    got = student.eval("_x, _y = make_bigram_xy(['emma'], stoi); [_x.tolist(), _y.tolist()]")
    assert got == [[0, 5, 13, 13, 1], [5, 13, 13, 1, 0]], \
        f"'emma' should give xs = [0, 5, 13, 13, 1] and ys = [5, 13, 13, 1, 0], got xs = {got[0]}, ys = {got[1]}"
    words = _words(_rng(grading_seed, 1), 25)
    xs, ys = _pairs(words)
    got = student.eval(f"_x, _y = make_bigram_xy({words!r}, stoi); [_x.tolist(), _y.tolist(), str(_x.dtype), str(_y.dtype)]")
    assert got[2:] == ["torch.int64", "torch.int64"], f"xs and ys should be int64 tensors, got {got[2]} and {got[3]}"
    assert len(got[0]) == len(xs), f"25 hidden words with {len(xs) - 25} letters give {len(xs)} pairs, got {len(got[0])}"
    assert got[0] == xs, "xs for 25 hidden words: the index of the first character of every bigram, '.' around each name"
    assert got[1] == ys, "ys for 25 hidden words: the index of the character that follows, '.' around each name"
    n_data = reference.eval("sum(len(w) + 1 for w in words)")
    assert student.eval("xs.numel()") == n_data, f"the whole data set should give {n_data} training pairs"


@pytest.mark.points(2)
def test_one_hot(student, grading_seed):
    """encode_one_hot: float32 rows of length 27 with a single 1"""
    idx = _indices(_rng(grading_seed, 2), 12, high=10)   # largest index below 10: num_classes matters
    enc, dtype = student.eval(f"import torch\n_e = encode_one_hot({_long(idx)}); [_e, str(_e.dtype)]")
    enc = np.asarray(enc)
    assert enc.shape == (12, V), (
        f"encoding 12 indices that are all below 10 should still give shape (12, 27), got {enc.shape} "
        "(pass num_classes to F.one_hot)")
    assert dtype == "torch.float32", f"the encoding should be float32 (neural networks need floats), got {dtype}"
    expected = np.eye(V)[idx]
    assert_close(enc, expected, "one-hot encoding of hidden indices", rtol=0, atol=0)


# --------------------------------------------------------------------------- forward and loss
@pytest.mark.points(2)
def test_forward(student, grading_seed):
    """bigram_probs: the softmax of xenc @ W, row by row"""
    rng = _rng(grading_seed, 3)
    W = _weights(rng, 1.5)
    idx = _indices(rng, 40)
    got = student.eval(f"import torch\n_W = {_tensor(W)}\nbigram_probs(encode_one_hot({_long(idx)}), _W)")
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == (40, V), f"40 inputs should give probabilities of shape (40, 27), got {got.shape}"
    sums = got.sum(axis=1)
    assert np.allclose(sums, 1, atol=1e-5), \
        f"each row (one input) should sum to 1, but a row sums to {sums[np.argmax(np.abs(sums - 1))]:.4f}"
    assert np.all(got > 0), "all probabilities should be positive (exponentiate the logits)"
    assert_close(got, _softmax_rows(W)[idx], "probabilities for hidden inputs and weights (exp of the logits, "
                 "then each row divided by its sum)", rtol=1e-4, atol=1e-6)
    emma = [0, 5, 13, 13, 1]
    got = student.eval(f"import torch\nbigram_probs(encode_one_hot({_long(emma)}), {_tensor(W)})")
    assert_close(np.asarray(got, dtype=np.float64), _softmax_rows(W)[emma],
                 "probabilities for the inputs of 'emma' (. e m m a)", rtol=1e-4, atol=1e-6)


@pytest.mark.points(2)
def test_loss(student, grading_seed):
    """bigram_loss: average NLL plus lam times the mean squared weight"""
    rng = _rng(grading_seed, 4)
    W = _weights(rng)
    xs, ys = _indices(rng, 50), _indices(rng, 50)
    Wt = torch.tensor(W, dtype=F64)
    setup = f"import torch\n_W = {_tensor(W)}\n_p = bigram_probs(encode_one_hot({_long(xs)}), _W)\n_y = {_long(ys)}\n"
    got = student.eval(setup + "[float(bigram_loss(_p, _y, _W)), float(bigram_loss(_p, _y, _W, 0.3)), "
                       "float(bigram_loss(bigram_probs(encode_one_hot(_y), torch.zeros(27, 27)), _y, torch.zeros(27, 27), 2.0))]")
    nll = _loss64(Wt, xs, ys, 0.0).item()
    assert_close(got[0], nll, "loss of 50 hidden pairs without regularisation (minus the mean log-probability "
                 "of the targets)", rtol=1e-4, atol=1e-6)
    assert_close(got[1], _loss64(Wt, xs, ys, 0.3).item(), "loss with lam = 0.3 (NLL + 0.3 * mean of W**2)",
                 rtol=1e-4, atol=1e-6)
    assert_close(got[2], math.log(27), "loss when every weight is 0 (uniform model, ln 27)", rtol=1e-5, atol=1e-6)


@pytest.mark.points(2)
def test_gradient(student, grading_seed):
    """the gradient of the loss with respect to W"""
    rng = _rng(grading_seed, 5)
    W = _weights(rng)
    xs, ys = _indices(rng, 60), _indices(rng, 60)
    lam = 0.2
    got = student.eval(f"import torch\n_W = {_tensor(W, grad=True)}\n"
                       f"_l = bigram_loss(bigram_probs(encode_one_hot({_long(xs)}), _W), {_long(ys)}, _W, {lam})\n"
                       "_l.backward()\n_W.grad")
    Wt = torch.tensor(W, dtype=F64, requires_grad=True)
    (grad,) = torch.autograd.grad(_loss64(Wt, xs, ys, lam), Wt)
    assert got is not None, "after loss.backward(), W.grad should hold the gradient"
    assert_close(np.asarray(got), grad.numpy(), f"gradient of the loss (lam = {lam}) with respect to W",
                 rtol=1e-3, atol=1e-5)


# --------------------------------------------------------------------------- training
@pytest.mark.points(3)
def test_gradient_descent_steps(student, grading_seed):
    """train_bigram: exact gradient-descent steps, losses before each update"""
    rng = _rng(grading_seed, 6)
    W0 = _weights(rng)
    xs, ys = _indices(rng, 200), _indices(rng, 200)
    steps, lr, lam = 4, 2.0, 0.1
    got = student.eval(f"import torch\n_W = {_tensor(W0, grad=True)}\n"
                       f"_l = train_bigram({_long(xs)}, {_long(ys)}, _W, {steps}, {lr}, {lam})\n"
                       "[[float(v) for v in _l], _W.detach()]")
    losses, W = got
    want_losses, want_W = _train64(W0, xs, ys, steps, lr, lam)
    assert isinstance(losses, list) and len(losses) == steps, \
        f"train_bigram(..., steps={steps}) should return {steps} losses, got {losses!r}"
    assert_close(losses[0], want_losses[0], "the first loss (before any update)", rtol=1e-4, atol=1e-6)
    assert_close(losses, want_losses, f"the {steps} losses of gradient descent with lr = {lr}, lam = {lam} "
                 "(reset W.grad before every backward; step against the gradient)", rtol=1e-4, atol=1e-5)
    assert_close(np.asarray(W), want_W, f"W after {steps} steps, updated in place", rtol=1e-4, atol=1e-4)


@pytest.mark.points(1)
def test_loss_at_init(student, reference, grading_seed):
    """the loss of random weights on the names data"""
    xs, ys = _data_pairs(reference, 1500)
    W0 = _weights(_rng(grading_seed, 7))
    got = student.eval(f"import torch\n_W = {_tensor(W0, grad=True)}\n"
                       f"train_bigram({_long(xs)}, {_long(ys)}, _W, 1, 0.0)[0]")
    assert_close(got, _loss64(torch.tensor(W0, dtype=F64), xs, ys, 0.0).item(),
                 f"loss of random weights on the first 1500 names ({len(xs)} pairs)", rtol=1e-4, atol=1e-6)
    nb, ref = student.eval("losses[0]"), reference.eval("losses[0]")
    assert_close(nb, ref, "the first loss of the notebook's training run (seed 2147483647)", rtol=1e-4, atol=1e-6)


def _trained(student, reference, grading_seed):
    xs, ys = _data_pairs(reference, 1200)
    W0 = _weights(_rng(grading_seed, 8))
    steps, lr = 80, 50.0
    got = student.eval(f"import torch\n_W = {_tensor(W0, grad=True)}\n"
                       f"_l = train_bigram({_long(xs)}, {_long(ys)}, _W, {steps}, {lr}, 0.0)\n"
                       "[_l[0], _l[-1], _W.detach()]")
    return xs, ys, W0, got, steps, lr


@pytest.mark.points(2)
def test_training_reaches_counting_loss(student, reference, grading_seed):
    """training approaches the counting model's loss from above"""
    xs, ys, W0, (first, last, W), steps, lr = _trained(student, reference, grading_seed)
    _, _, count_nll = _count_model(xs, ys)
    ce = _cross_entropy(W, xs, ys)
    start = _cross_entropy(W0, xs, ys)
    assert ce < start - 0.5, (
        f"{steps} steps of gradient descent (lr = {lr}) on {len(xs)} pairs should lower the loss from "
        f"{start:.4f} by far, got {ce:.4f}")
    assert ce > count_nll - 1e-3, (
        f"the network reached {ce:.4f}, below the counting model's {count_nll:.4f}: that is impossible "
        "for a bigram model on its own training data")
    assert ce < count_nll + 0.07, (
        f"after {steps} steps the cross-entropy should be within 0.07 of the counting model's "
        f"{count_nll:.4f}, got {ce:.4f}")
    assert last < first, f"the losses returned by train_bigram should go down, got {first:.4f} then {last:.4f}"
    assert abs(first - start) < 1e-3 * start, f"the first loss should be the loss of the initial weights, {start:.4f}"


@pytest.mark.points(2)
def test_learned_probs_match_counts(student, reference, grading_seed):
    """the trained network's probabilities agree with the counting model"""
    xs, ys, _, (_, _, W), steps, _ = _trained(student, reference, grading_seed)
    counts, P_count, _ = _count_model(xs, ys)
    P_nn = _softmax_rows(W)
    share = counts.sum(axis=1) / counts.sum()
    gap = 0.5 * np.abs(P_nn - P_count).sum(axis=1)          # total-variation distance per row
    weighted = float((share * gap).sum())
    assert weighted < 0.05, (
        f"after {steps} steps softmax(W) should be close to the counting model's probabilities: "
        f"the average distance between their rows is {weighted:.3f} (should be below 0.05)")
    row0 = float(np.abs(P_nn[0] - P_count[0]).max())
    assert row0 < 0.01, (
        f"the first-letter probabilities (row '.') of the network and of the counts should agree within "
        f"0.01, differ by up to {row0:.3f}")


@pytest.mark.points(1)
def test_regularisation(student, reference, grading_seed):
    """regularisation pulls the weights to 0 and the model towards uniform"""
    xs, ys = _data_pairs(reference, 600)
    steps, lr = 15, 10.0
    got = student.eval(
        "import torch\n_out = []\n"
        f"for _lam in (0.0, 1.0):\n"
        "    _W = torch.zeros((27, 27), requires_grad=True)\n"
        f"    _l = train_bigram({_long(xs)}, {_long(ys)}, _W, {steps}, {lr}, _lam)\n"
        "    _out.append([_l[0], _W.detach()])\n_out")
    (first0, W0), (first1, W1) = got
    for first, lam in ((first0, 0.0), (first1, 1.0)):
        assert_close(first, math.log(27), f"the first loss from W = 0 with lam = {lam} (uniform: ln 27)",
                     rtol=1e-5, atol=1e-6)
    _, want = _train64(np.zeros((V, V)), xs, ys, steps, lr, 1.0)
    assert_close(np.asarray(W1), want, f"W after {steps} steps with lam = 1.0 from W = 0", rtol=1e-3, atol=1e-4)
    assert (np.asarray(W1) ** 2).mean() < (np.asarray(W0) ** 2).mean(), \
        "with lam = 1 the weights should stay smaller than without regularisation"


# --------------------------------------------------------------------------- short answers
@pytest.mark.points(1)
def test_quiz(student):
    """short answers: table sizes, one-hot length, the uniform loss"""
    got = student.eval("QUIZ")
    assert isinstance(got, dict), "QUIZ should be a dictionary"
    expected = {
        "rows_context_1": (27, "rows of the table with 1 character of context"),
        "rows_context_2": (729, "rows of the table with 2 characters of context"),
        "rows_context_3": (19683, "rows of the table with 3 characters of context"),
        "one_hot_length_without_num_classes": (14, "one-hot length for [0, 5, 13, 13, 1] without num_classes"),
        "loss_all_weights_zero": (math.log(27), "the loss when every weight is 0"),
    }
    for key, (value, what) in expected.items():
        answer = got.get(key)
        assert isinstance(answer, (int, float)) and not isinstance(answer, bool), \
            f"QUIZ[{key!r}] should be a number, got {answer!r}"
        assert_close(answer, value, f"QUIZ[{key!r}] ({what})", rtol=1e-3, atol=1e-4)
    assert got.get("network_beats_counting") is False, \
        "QUIZ['network_beats_counting']: can a bigram network beat the counts on the training data?"
