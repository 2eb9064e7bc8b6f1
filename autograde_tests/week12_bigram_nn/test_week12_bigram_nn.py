"""Hidden tests for week12_bigram_nn: the bigram model as a one-layer network.

PYTEST_DONT_REWRITE: students see only the assertion messages, and grading must give the same
text whether or not the grader itself runs under pytest (whose assertion rewriting would
otherwise append its own explanation to failed `assert`s).

Total: 20 points over 11 tests.

Hidden inputs (index tensors, weight matrices, random words, vocabularies) are drawn from
`grading_seed` with local NumPy generators and sent into the kernels as literals. Expected
values (the softmax, the loss, its gradient, gradient-descent steps, the counting model's NLL)
are computed here, in the grader process, with PyTorch in float64; the names data comes from
the reference kernel, never from the student's globals.

Each function is graded on its own: bigram_loss gets probabilities made here, and the tests of
train_bigram's loop run the student's train_bigram with *fakes* in place of the student's
encode_one_hot, bigram_probs and bigram_loss (its code rebound to a namespace where those names
are the test's, grader.testing.with_fakes), so a bug in a helper costs its points once. The
fakes compute something else on purpose (a fixed random code per index, xenc @ W without a
softmax, a squared error against random targets): no correct implementation of a graded
function is ever sent into the student's kernel (DESIGN.md section 4). What the loop should do
with them is computed here. The two tests of what training achieves (the counting model's loss,
its probabilities) grade the student's training itself, with the student's own helpers.
"""

from __future__ import annotations

import math
import string

import numpy as np
import pytest
import torch

from grader.testing import assert_close, is_close, tensor_src, with_fakes

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


def _pairs(words: list[str], stoi: dict[str, int] = STOI) -> tuple[list[int], list[int]]:
    xs, ys = [], []
    for word in words:
        tokens = [".", *word, "."]
        for a, b in zip(tokens, tokens[1:]):
            xs.append(stoi[a])
            ys.append(stoi[b])
    return xs, ys


def _indices(rng: np.random.Generator, n: int, high: int = V) -> list[int]:
    return rng.integers(0, high, size=n).tolist()


def _weights(rng: np.random.Generator, scale: float = 1.0, size: int = V) -> np.ndarray:
    """Random weights, rounded to float32 so that the kernel and the oracle start identical."""
    return (rng.standard_normal((size, size)) * scale).astype(np.float32)


def _tensor(array, dtype: str = "torch.float32", grad: bool = False) -> str:
    return tensor_src(array, dtype.removeprefix("torch."), requires_grad=grad)


def _long(values) -> str:
    return f"torch.tensor({list(values)!r}, dtype=torch.int64)"


def _first_difference(got: list, want: list) -> str:
    """Where two lists first differ, in words."""
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return f"entry #{i} should be {b}, got {a} (expected starts {want[:8]}, got {got[:8]})"
    return f"expected {len(want)} entries, got {len(got)}"


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


# Probe code: fakes for the helpers train_bigram calls. They behave differently from the answers
# on purpose (never send a correct implementation into the student's kernel): `_CODES` and
# `_TARGETS` are random (V, V) matrices the test sends as data.
FAKES = '''import torch
def _fake_one_hot(xs, num_classes=27):
    return _CODES[xs]
def _fake_probs(xenc, W):
    return xenc @ W
def _fake_loss(probs, ys, W, lam=0.0):
    return ((probs - _TARGETS[ys]) ** 2).mean() + 0.5 * lam * (W ** 2).mean()
'''
WITH_FAKES = ("train_bigram ran with the grader's stand-ins for encode_one_hot, bigram_probs and bigram_loss (they "
              "compute something else on purpose -- a random code per index, xenc @ W without a softmax, a squared "
              "error -- so that only your loop is graded)")


def _fakes_probe(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray]:
    """Probe code defining the fakes and `_train_bigram` (the student's, running with them), and
    the fakes' data."""
    codes = rng.standard_normal((V, V)).round(4).astype(np.float32)
    targets = rng.standard_normal((V, V)).round(4).astype(np.float32)
    code = (FAKES + f"_CODES = {_tensor(codes)}\n_TARGETS = {_tensor(targets)}\n" +
            with_fakes("train_bigram", {"encode_one_hot": "_fake_one_hot", "bigram_probs": "_fake_probs",
                                        "bigram_loss": "_fake_loss"}))
    return code, codes, targets


def _fake_train64(W0: np.ndarray, codes: np.ndarray, targets: np.ndarray, xs, ys, steps: int, lr: float, lam: float):
    """The losses and final W of train_bigram's loop running with the fakes, in float64."""
    W = torch.tensor(np.asarray(W0), dtype=F64, requires_grad=True)
    enc = torch.tensor(codes, dtype=F64)[torch.tensor(xs)]
    wanted = torch.tensor(targets, dtype=F64)[torch.tensor(ys)]
    losses = []
    for _ in range(steps):
        loss = ((enc @ W - wanted) ** 2).mean() + 0.5 * lam * (W ** 2).mean()
        losses.append(loss.item())
        (grad,) = torch.autograd.grad(loss, W)
        with torch.no_grad():
            W -= lr * grad
    return losses, W.detach().numpy()


def _check_run(call: str, losses, W, fake: tuple, true: tuple, rtol: float = 1e-5) -> None:
    """train_bigram's losses and final W against the fakes' run; the true run is accepted too
    (the helpers' work written inline instead of called)."""
    if is_close(losses, true[0], rtol=rtol, atol=1e-6) and is_close(np.asarray(W), true[1], rtol=rtol, atol=1e-5):
        return
    assert_close(losses[0], fake[0][0], f"{call}: the first loss (the loss of the initial W, before any update; "
                 f"{WITH_FAKES})", rtol=rtol, atol=1e-6)
    assert_close(losses, fake[0], f"{call}: the losses, each measured before its update (reset W.grad before every "
                 f"backward; step against the gradient with this lr and lam; {WITH_FAKES})", rtol=rtol, atol=1e-6)
    assert_close(np.asarray(W), fake[1], f"{call}: the caller's W after the steps (update it in place; {WITH_FAKES})",
                 rtol=rtol, atol=1e-5)


# --------------------------------------------------------------------------- data
@pytest.mark.points(2)
def test_training_pairs(student, reference, grading_seed):
    """make_bigram_xy: one (input, target) pair per bigram"""
    got = student.eval("_x, _y = make_bigram_xy(['emma'], stoi); [_x.tolist(), _y.tolist()]")
    assert got == [[0, 5, 13, 13, 1], [5, 13, 13, 1, 0]], \
        (f"make_bigram_xy(['emma'], stoi) should give xs = [0, 5, 13, 13, 1] and ys = [5, 13, 13, 1, 0], "
         f"got xs = {got[0]}, ys = {got[1]}")
    rng = _rng(grading_seed, 1)
    words = _words(rng, 25)
    # another vocabulary: '.' stays 0, the letters get other indices
    perm = rng.permutation(26) + 1
    other = {".": 0, **{ch: int(perm[i]) for i, ch in enumerate(LETTERS)}}
    names = reference.eval("list(words[:300])")
    cases = [("25 hidden words", words, STOI, "stoi"),
             ("the same 25 words", words, other, "another vocabulary (the letters shuffled, '.' = 0)"),
             ("the first 300 names of names.txt", names, STOI, "stoi")]
    probe = ("_out = []\n"
             f"for _ws, _st in {[(c[1], c[2]) for c in cases]!r}:\n"
             "    _x, _y = make_bigram_xy(_ws, _st)\n"
             "    _out.append([type(_x).__name__, type(_y).__name__, str(_x.dtype), str(_y.dtype), _x.tolist(), _y.tolist()])\n"
             "_out")
    got = student.eval(probe)
    for (what, ws, stoi, which), (tx, ty, dx, dy, gx, gy) in zip(cases, got):
        xs, ys = _pairs(ws, stoi)
        call = f"make_bigram_xy({what}, {which})"
        assert tx == ty == "Tensor", f"{call} should return two torch tensors, got a {tx} and a {ty}"
        assert (dx, dy) == ("torch.int64", "torch.int64"), \
            f"{call}: xs and ys should be int64 tensors (torch.long), got {dx} and {dy}"
        letters = sum(len(w) for w in ws)
        assert len(gx) == len(xs) and len(gy) == len(ys), \
            (f"{call}: {len(ws)} names with {letters} letters give {len(xs)} pairs (one per letter, plus one for "
             f"the '.' that ends each name), got {len(gx)} inputs and {len(gy)} targets")
        assert gx == xs, (f"{call}, xs (the index of the first character of every bigram, '.' before each name, "
                          f"from the stoi you are given): {_first_difference(gx, xs)}")
        assert gy == ys, (f"{call}, ys (the index of the character that follows, '.' after each name, from the "
                          f"stoi you are given): {_first_difference(gy, ys)}")


@pytest.mark.points(2)
def test_one_hot(student, grading_seed):
    """encode_one_hot: float32 rows of length num_classes with a single 1"""
    rng = _rng(grading_seed, 2)
    idx = _indices(rng, 12, high=10)   # largest index below 10: num_classes matters
    idx5 = _indices(rng, 9, high=5)
    idx40 = _indices(rng, 7, high=40)
    cases = [(idx, None), (idx5, 5), (idx, 12), (idx40, 40), ([0, 26, 3], 27)]
    probe = ("import torch\n_out = []\n"
             f"for _i, _n in {cases!r}:\n"
             "    _e = encode_one_hot(torch.tensor(_i, dtype=torch.int64)) if _n is None else "
             "encode_one_hot(torch.tensor(_i, dtype=torch.int64), num_classes=_n)\n"
             "    _out.append([_e, str(_e.dtype)])\n_out")
    got = student.eval(probe)
    for (i, n), (enc, dtype) in zip(cases, got):
        width = 27 if n is None else n
        call = (f"encode_one_hot(xs) for {len(i)} indices that are all below {max(i) + 1}" if n is None
                else f"encode_one_hot(xs, num_classes={n}) for {len(i)} indices {i}")
        enc = np.asarray(enc)
        assert enc.shape == (len(i), width), \
            (f"{call} should give shape ({len(i)}, {width}), got {enc.shape} "
             + ("(pass num_classes to F.one_hot; the default is 27)" if n is None
                else "(use the num_classes argument, do not fix 27)"))
        assert dtype == "torch.float32", f"{call}: the encoding should be float32 (networks compute with floats), got {dtype}"
        assert_close(enc, np.eye(width)[i], f"{call}: row k should be 0 everywhere but 1 at column xs[k]",
                     rtol=0, atol=0)


# --------------------------------------------------------------------------- forward and loss
@pytest.mark.points(2)
def test_forward(student, grading_seed):
    """bigram_probs: the softmax of xenc @ W, row by row"""
    rng = _rng(grading_seed, 3)
    W = _weights(rng, 1.5)
    W6 = _weights(rng, 1.5, size=6)
    cases = [("40 hidden inputs", _indices(rng, 40), W, 27),
             ("the inputs of 'emma' (. e m m a)", [0, 5, 13, 13, 1], W, 27),
             ("27 hidden inputs (as many rows as columns)", _indices(rng, 27), W, 27),
             ("6 inputs with a vocabulary of 6 and W of shape (6, 6)", _indices(rng, 6, high=6), W6, 6)]
    probe = "import torch\n[" + ", ".join(
        f"bigram_probs(torch.nn.functional.one_hot({_long(i)}, {v}).float(), {_tensor(w)})" for _, i, w, v in cases) + "]"
    got = student.eval(probe)
    for (what, idx, w, v), probs in zip(cases, got):
        probs = np.asarray(probs, dtype=np.float64)
        call = f"bigram_probs(xenc, W) for {what}"
        assert probs.shape == (len(idx), v), \
            f"{call} should give one row of {v} probabilities per input, shape {(len(idx), v)}, got {probs.shape}"
        sums = probs.sum(axis=1)
        worst = int(np.argmax(np.abs(sums - 1)))
        assert np.allclose(sums, 1, atol=1e-5), \
            (f"{call}: each row (one input) should sum to 1, but row {worst} sums to {sums[worst]:.6f} "
             "(divide each row by its own sum: counts.sum(1, keepdim=True))")
        assert np.all(probs > 0), f"{call}: every probability should be positive (exponentiate the logits)"
        assert_close(probs, _softmax_rows(w)[idx], f"{call} (exp of the logits xenc @ W, then each row divided "
                     "by its sum)", rtol=1e-5, atol=1e-7)


@pytest.mark.points(2)
def test_loss(student, grading_seed):
    """bigram_loss: average NLL plus lam times the mean squared weight"""
    rng = _rng(grading_seed, 4)
    cases = []
    for n, size, lam, default in [(50, V, 0.0, True), (50, V, 0.3, False), (13, 5, 0.7, False), (8, V, 2.0, False)]:
        W = _weights(rng, size=size) * (0 if lam == 2.0 else 1)
        xs, ys = _indices(rng, n, high=size), _indices(rng, n, high=size)
        probs = torch.softmax(torch.tensor(W, dtype=F64)[xs], dim=1).numpy().astype(np.float32)
        cases.append((n, size, lam, default, W, ys, probs))
    probe = "import torch\n[" + ", ".join(
        (f"float(bigram_loss({_tensor(p)}, {_long(y)}, {_tensor(w)}))" if default else
         f"float(bigram_loss({_tensor(p)}, {_long(y)}, {_tensor(w)}, {lam}))")
        for _, _, lam, default, w, y, p in cases) + "]"
    got = student.eval(probe)
    for (n, size, lam, default, W, ys, probs), value in zip(cases, got):
        p64 = torch.tensor(probs, dtype=F64)
        nll = -p64[torch.arange(n), torch.tensor(ys)].log().mean().item()
        want = nll + lam * float((torch.tensor(W, dtype=F64) ** 2).mean())
        call = (f"bigram_loss(probs, ys, W{'' if default else f', lam={lam}'}) for {n} hidden targets, "
                f"W of shape ({size}, {size})" + (" all zero" if lam == 2.0 else ""))
        hint = ("minus the mean log-probability of the targets" if lam == 0 else
                f"the mean NLL plus {lam} times the mean of W**2 over all {size * size} weights")
        assert_close(value, want, f"{call}: {hint}", rtol=1e-5, atol=1e-6)


@pytest.mark.points(2)
def test_gradient(student, grading_seed):
    """the gradients of bigram_probs and bigram_loss with respect to W"""
    rng = _rng(grading_seed, 5)
    W = _weights(rng)
    xs, ys = _indices(rng, 60), _indices(rng, 60)
    R = rng.standard_normal((60, V)).astype(np.float32)
    lam = 0.2
    got = student.eval(
        f"import torch\n_W = {_tensor(W, grad=True)}\n_xenc = torch.nn.functional.one_hot({_long(xs)}, 27).float()\n"
        f"(bigram_probs(_xenc, _W) * {_tensor(R)}).sum().backward()\n_g1 = _W.grad\n"
        f"_V = {_tensor(W, grad=True)}\n_c = (_xenc @ _V).exp()\n"
        f"_l = bigram_loss(_c / _c.sum(1, keepdim=True), {_long(ys)}, _V, {lam})\n"
        "_l.backward()\n[_g1, _V.grad]")
    Wt = torch.tensor(W, dtype=F64, requires_grad=True)
    probs = torch.softmax(Wt[torch.tensor(xs)], dim=1)
    (g_probs,) = torch.autograd.grad((probs * torch.tensor(R, dtype=F64)).sum(), Wt)
    (g_loss,) = torch.autograd.grad(_loss64(Wt, xs, ys, lam), Wt)
    assert got[0] is not None, \
        ("after backward() through bigram_probs(xenc, W), W.grad is None: compute the probabilities from W with "
         "torch operations so that autograd can follow them")
    assert_close(np.asarray(got[0]), g_probs.numpy(), "gradient with respect to W of sum(R * bigram_probs(xenc, W)) "
                 "for 60 hidden inputs and weights R", rtol=1e-4, atol=1e-6)
    assert got[1] is not None, \
        "after bigram_loss(probs, ys, W, lam).backward(), W.grad is None: keep the loss a tensor built from probs and W"
    assert_close(np.asarray(got[1]), g_loss.numpy(), f"gradient with respect to W of bigram_loss(softmax(xenc @ W), "
                 f"ys, W, lam={lam}) for 60 hidden pairs", rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- training
@pytest.mark.points(3)
def test_gradient_descent_steps(student, grading_seed):
    """train_bigram: exact gradient-descent steps, losses before each update"""
    rng = _rng(grading_seed, 6)
    W0 = _weights(rng)
    xs, ys = _indices(rng, 200), _indices(rng, 200)
    fakes, codes, targets = _fakes_probe(rng)
    runs = [(4, 2.0, 0.1, True), (3, 0.5, 0.0, False), (2, 7.0, 1.5, True)]
    probe = fakes + "_out = []\n"
    for steps, lr, lam, pass_lam in runs:
        probe += (f"_W = {_tensor(W0, grad=True)}\n"
                  f"_l = _train_bigram({_long(xs)}, {_long(ys)}, _W, {steps}, {lr}{f', {lam}' if pass_lam else ''})\n"
                  "_out.append([[type(_v).__name__ for _v in _l] if isinstance(_l, list) else type(_l).__name__, "
                  "[float(_v) for _v in _l], _W.detach()])\n")
    got = student.eval(probe + "_out")
    for (steps, lr, lam, pass_lam), (types, losses, W) in zip(runs, got):
        call = (f"train_bigram(xs, ys, W, steps={steps}, lr={lr}{f', lam={lam}' if pass_lam else ''}) on 200 hidden "
                "pairs and weights")
        assert isinstance(types, list), f"{call} should return a list of losses, got a {types}"
        assert len(losses) == steps, f"{call} should return {steps} losses (one per step), got {len(losses)}"
        assert all(t == "float" for t in types), \
            (f"{call} should return the losses as Python floats (loss.item()), got {sorted(set(types))}: a list of "
             "tensors keeps every step's graph alive")
        _check_run(call, losses, W, _fake_train64(W0, codes, targets, xs, ys, steps, lr, lam),
                   _train64(W0, xs, ys, steps, lr, lam))


@pytest.mark.points(1)
def test_loss_at_init(student, grading_seed):
    """train_bigram returns the loss before the first update and leaves W alone with lr = 0"""
    rng = _rng(grading_seed, 7)
    W0 = _weights(rng)
    xs, ys = _indices(rng, 150), _indices(rng, 150)
    fakes, codes, targets = _fakes_probe(rng)
    got = student.eval(fakes + f"_W = {_tensor(W0, grad=True)}\n"
                       f"_l = _train_bigram({_long(xs)}, {_long(ys)}, _W, 1, 0.0)\n[_l[0], _W.detach()]")
    call = "train_bigram(xs, ys, W, steps=1, lr=0.0) for random W and 150 hidden pairs"
    if not is_close(got[0], _train64(W0, xs, ys, 1, 0.0, 0.0)[0][0], rtol=1e-5, atol=1e-6):
        assert_close(got[0], _fake_train64(W0, codes, targets, xs, ys, 1, 0.0, 0.0)[0][0],
                     f"{call}: the loss it returns should be the loss of W itself ({WITH_FAKES})", rtol=1e-5, atol=1e-6)
    assert_close(np.asarray(got[1]), W0, f"{call} should leave W unchanged", rtol=0, atol=0)


def _trained(student, reference, grading_seed):
    """The student's training itself (with the student's own helpers) on the first 1200 names."""
    xs, ys = _data_pairs(reference, 1200)
    W0 = _weights(_rng(grading_seed, 8))
    steps, lr = 80, 50.0
    got = student.eval(f"_W = {_tensor(W0, grad=True)}\n"
                       f"_l = train_bigram({_long(xs)}, {_long(ys)}, _W, {steps}, {lr}, 0.0)\n"
                       "[float(_l[0]), float(_l[-1]), _W.detach()]")
    return xs, ys, W0, got, steps, lr


@pytest.mark.points(2)
def test_training_reaches_counting_loss(student, reference, grading_seed):
    """training approaches the counting model's loss from above"""
    xs, ys, W0, (first, last, W), steps, lr = _trained(student, reference, grading_seed)
    _, _, count_nll = _count_model(xs, ys)
    ce = _cross_entropy(W, xs, ys)
    start = _cross_entropy(W0, xs, ys)
    call = f"train_bigram(xs, ys, W, steps={steps}, lr={lr}) on the first 1200 names ({len(xs)} pairs)"
    assert ce < start - 0.5, f"{call} should lower the loss from {start:.4f} by far, got {ce:.4f}"
    assert ce > count_nll - 1e-3, (
        f"{call}: the network reached {ce:.4f}, below the counting model's {count_nll:.4f}: that is impossible "
        "for a bigram model on its own training data")
    assert ce < count_nll + 0.07, (
        f"{call}: the cross-entropy after training should be within 0.07 of the counting model's "
        f"{count_nll:.4f}, got {ce:.4f}")
    assert last < first, f"{call}: the losses it returns should go down, got {first:.4f} first and {last:.4f} last"
    assert abs(first - start) < 1e-5 * start, \
        f"{call}: the first loss should be the loss of the initial weights, {start:.6f}, got {first:.6f}"


@pytest.mark.points(2)
def test_learned_probs_match_counts(student, reference, grading_seed):
    """the trained network's probabilities agree with the counting model"""
    xs, ys, _, (_, _, W), steps, lr = _trained(student, reference, grading_seed)
    counts, P_count, _ = _count_model(xs, ys)
    P_nn = _softmax_rows(W)
    share = counts.sum(axis=1) / counts.sum()
    gap = 0.5 * np.abs(P_nn - P_count).sum(axis=1)          # total-variation distance per row
    weighted = float((share * gap).sum())
    call = f"train_bigram(xs, ys, W, steps={steps}, lr={lr}) on the first 1200 names"
    assert weighted < 0.05, (
        f"after {call}, softmax(W) should be close to the counting model's probabilities: "
        f"the average distance between their rows is {weighted:.3f} (should be below 0.05)")
    row0 = float(np.abs(P_nn[0] - P_count[0]).max())
    assert row0 < 0.01, (
        f"after {call}, the first-letter probabilities (row '.') of the network and of the counts should agree "
        f"within 0.01, differ by up to {row0:.3f}")


@pytest.mark.points(1)
def test_regularisation(student, grading_seed):
    """train_bigram passes lam on to the loss"""
    rng = _rng(grading_seed, 9)
    xs, ys = _indices(rng, 120), _indices(rng, 120)
    fakes, codes, targets = _fakes_probe(rng)
    W0 = _weights(rng, scale=0.5)
    steps, lr, lams = 15, 3.0, (0.0, 1.0, 3.0)
    got = student.eval(
        fakes + "_out = []\n"
        f"for _lam in {lams!r}:\n"
        f"    _W = {_tensor(W0, grad=True)}\n"
        f"    _l = _train_bigram({_long(xs)}, {_long(ys)}, _W, {steps}, {lr}, _lam)\n"
        "    _out.append([[float(_v) for _v in _l], _W.detach()])\n_out")
    for lam, (losses, W) in zip(lams, got):
        call = f"train_bigram(xs, ys, W, steps={steps}, lr={lr}, lam={lam}) on 120 hidden pairs"
        assert len(losses) == steps, f"{call} should return {steps} losses, got {len(losses)}"
        _check_run(call + " (the penalty lam * ... should change the losses and the steps)", losses, W,
                   _fake_train64(W0, codes, targets, xs, ys, steps, lr, lam), _train64(W0, xs, ys, steps, lr, lam),
                   rtol=1e-4)


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
