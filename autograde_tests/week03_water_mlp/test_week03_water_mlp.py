"""Hidden tests for week03_water_mlp: PyTorch from tensors to a trained water-potability MLP.

Total: 35 points over 18 tests.

Every probe runs in the student's kernel (and the same probe in the reference kernel) and
returns plain data: numbers, strings, lists, dicts and NumPy arrays. Expected values are
computed here, in the grader process, with PyTorch in float64 or NumPy (oracles independent of
the reference), and compared with both answers where the answer is deterministic. Random
inputs are drawn from `grading_seed`; the hidden water samples of the model-quality test come
from the dataset's own generator (`grader.datasets.water.make_rows`) with a seed derived from
`grading_seed`: their features go into the kernel, their labels stay here.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked (the engine uses --assert=plain, but an outer pytest session may rewrite this module).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.data.datasets.water import FEATURES, LABEL, make_rows
from grader.testing import assert_close

F64 = torch.float64

# Accuracy the trained model must reach on the hidden rows. Calibration (FAST grading run,
# 1000 hidden rows, several grading seeds): the reference reaches about 0.77; a linear model
# about 0.70 at best; always answering "not potable" about 0.61. The standard error of an
# accuracy on 1000 rows is about 0.013, so 0.70 leaves a margin of five of them.
QUALITY_THRESHOLD = 0.70
N_HIDDEN = 1000


# --------------------------------------------------------------------------- helpers
def _lit(array) -> str:
    """A Python literal for a float array: nested lists, None for NaN."""
    def conv(v):
        if isinstance(v, list):
            return [conv(x) for x in v]
        return None if math.isnan(v) else float(v)
    return repr(conv(np.asarray(array, dtype=float).tolist()))


def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, k])


def _round(a, decimals: int = 4):
    return np.round(np.asarray(a, dtype=float), decimals)


def _outcome_probe(function: str, cases) -> str:
    """Probe: call function(tuple(a), tuple(b)) for each case; a list of result lists, or the error."""
    return f"""
_results = []
for _a, _b in {cases!r}:
    try:
        _r = {function}(tuple(_a), tuple(_b))
        _results.append([int(_x) for _x in _r])
    except ValueError:
        _results.append("ValueError")
    except Exception as _e:
        _results.append((type(_e).__name__ + ": " + str(_e)[:200]).rstrip(": "))
_results
"""


def _check_shape_cases(got, ref, cases, expected, function: str, hint: str) -> None:
    assert isinstance(got, list) and len(got) == len(cases), f"{function} did not answer every case"
    for (a, b), answer, ref_answer, want in zip(cases, got, ref, expected):
        call = f"{function}({tuple(a)}, {tuple(b)})"
        if want == "ValueError":
            assert answer == "ValueError", (
                f"{call} should raise ValueError ({hint}), got {answer!r}")
        else:
            assert not isinstance(answer, str), f"{call} raised {answer}; PyTorch gives the shape {tuple(want)}"
            assert answer == list(want), f"{call}: expected {tuple(want)}, got {tuple(answer)}"
        assert answer == ref_answer, f"{call}: your answer {answer!r} differs from the reference solution's"


# --------------------------------------------------------------------------- 1. shapes
def _random_shape_pair(rng: np.random.Generator):
    nd_a, nd_b = int(rng.integers(0, 5)), int(rng.integers(0, 5))
    a = [int(rng.choice([1, 2, 3, 4])) for _ in range(nd_a)]
    b = [int(rng.choice([1, 2, 3, 4])) for _ in range(nd_b)]
    if rng.random() < 0.6:  # make it compatible, aligned from the right
        for i in range(1, min(nd_a, nd_b) + 1):
            if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
                b[-i] = int(rng.choice([1, a[-i]]))
    return a, b


def _torch_broadcast(a, b):
    try:
        return list(torch.broadcast_shapes(tuple(a), tuple(b)))
    except RuntimeError:
        return "ValueError"


@pytest.mark.points(2)
def test_broadcast_shapes(student, reference, grading_seed):
    """broadcast_shape follows PyTorch's broadcasting rules"""
    rng = _rng(grading_seed, 1)
    cases = [([2, 2], [2, 2]), ([2, 2], [2, 3]), ([3], [2, 3]), ([4, 1], [1, 5]), ([8, 1, 6], [7, 1]),
             ([2, 3], [2]), ([5, 1, 3], [1, 4, 1]), ([1], [3, 1, 2]), ([3, 1], [2, 1, 4])]
    seen = {(tuple(a), tuple(b)) for a, b in cases}
    while len(cases) < 30:
        a, b = _random_shape_pair(rng)
        if (tuple(a), tuple(b)) not in seen:
            seen.add((tuple(a), tuple(b)))
            cases.append((a, b))
    expected = [_torch_broadcast(a, b) for a, b in cases]
    probe = _outcome_probe("broadcast_shape", cases)
    _check_shape_cases(student.eval(probe), reference.eval(probe), cases, expected, "broadcast_shape",
                       "align the shapes from the right; sizes must be equal or one of them 1")


def _torch_matmul_shape(a, b):
    try:
        return list(torch.matmul(torch.zeros(a), torch.zeros(b)).shape)
    except RuntimeError:
        return "ValueError"


@pytest.mark.points(2)
def test_matmul_shapes(student, reference, grading_seed):
    """matmul_shape predicts the shape of torch.matmul, including 1-D operands and batches"""
    rng = _rng(grading_seed, 2)
    cases = [([3], [3]), ([3, 4], [4]), ([10, 3, 4], [4]), ([10, 3, 4], [10, 4, 5]), ([10, 3, 4], [4, 5]),
             ([4], [4, 5]), ([4], [2, 4, 5]), ([2, 3], [4, 5]), ([3], [4]), ([2, 1, 3, 4], [5, 4, 2]),
             ([2, 3, 4], [3, 4, 5])]
    while len(cases) < 30:
        nd_a, nd_b = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        k = int(rng.integers(1, 5))
        a = [int(rng.integers(1, 4)) for _ in range(nd_a - 1)] + [k]
        b = [int(rng.integers(1, 4)) for _ in range(nd_b)]
        if nd_b >= 2:
            b[-2] = k if rng.random() < 0.85 else k + 1
        else:
            b[0] = k if rng.random() < 0.85 else k + 1
        if nd_a > 2 and nd_b > 2 and rng.random() < 0.5:  # compatible batch dimensions
            b[-3] = int(rng.choice([1, a[-3]]))
        cases.append((a, b))
    expected = [_torch_matmul_shape(a, b) for a, b in cases]
    probe = _outcome_probe("matmul_shape", cases)
    _check_shape_cases(student.eval(probe), reference.eval(probe), cases, expected, "matmul_shape",
                       "the inner sizes must match and the batch dimensions must broadcast")


# --------------------------------------------------------------------------- 2. linear layer
@pytest.mark.points(2)
def test_linear_layer(student, reference, grading_seed):
    """A linear layer by hand (x W^T + b) and an nn.Linear with given weights"""
    rng = _rng(grading_seed, 3)
    x, W, b = _round(rng.normal(size=(5, 4))), _round(rng.normal(size=(3, 4))), _round(rng.normal(size=3))
    probe = f"""
_x = torch.tensor({_lit(x)}, dtype=torch.float64)
_W = torch.tensor({_lit(W)}, dtype=torch.float64)
_b = torch.tensor({_lit(b)}, dtype=torch.float64)
_course = linear_forward(torch.tensor([[0.3471, 0.4547, -0.2356]]),
                         torch.tensor([[-0.1971, -0.4996, 0.1233], [0.2203, 0.3508, -0.1402]]),
                         torch.tensor([-0.4006, 0.0538]))
_random = linear_forward(_x, _W, _b)
_W2, _b2 = _W.clone(), _b.clone()
_layer = linear_from_weights(_W2, _b2)
_is_linear = isinstance(_layer, nn.Linear)
_sizes = [int(_layer.in_features), int(_layer.out_features)] if _is_linear else None
with torch.no_grad():
    _layer_out = _layer(_x.to(_layer.weight.dtype)).double()
_W2.add_(1.0)
_b2.add_(1.0)
_out = {{"course": _course.detach(), "random": _random.detach(), "is_linear": _is_linear, "sizes": _sizes,
        "layer_out": _layer_out, "weight_after": _layer.weight.detach().double(),
        "bias_after": _layer.bias.detach().double(),
        "trainable": bool(_layer.weight.requires_grad and _layer.bias.requires_grad)}}
_out
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    xt, Wt, bt = (torch.tensor(v, dtype=F64) for v in (x, W, b))
    expected = F.linear(xt, Wt, bt).numpy()

    assert_close(got["course"], np.array([[-0.7252, 0.3228]]), "linear_forward on the course's example", atol=1e-4)
    assert_close(got["random"], expected, "linear_forward(x, W, b) for x of shape (5, 4) and W of shape (3, 4): x @ W.T + b",
                 rtol=1e-9, atol=1e-9)
    assert got["is_linear"], "linear_from_weights should return an nn.Linear"
    assert got["sizes"] == [4, 3], f"for W of shape (3, 4) the layer should be nn.Linear(4, 3), got in/out sizes {got['sizes']}"
    assert_close(got["layer_out"], expected, "output of the layer made by linear_from_weights", rtol=1e-5, atol=1e-5)
    assert_close(got["weight_after"], W, "the layer's weight after W was changed (it should hold a copy of W, not W itself)",
                 rtol=1e-6, atol=1e-6)
    assert_close(got["bias_after"], b, "the layer's bias after b was changed (it should hold a copy of b)", rtol=1e-6, atol=1e-6)
    assert got["trainable"], "the layer's weight and bias should still be trainable parameters (requires_grad=True)"
    assert_close(got["random"], ref["random"], "linear_forward, compared with the reference solution", rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- 3. activations and loss
@pytest.mark.points(2)
def test_sigmoid_softmax(student, reference, grading_seed):
    """sigmoid and a numerically stable softmax along any dimension"""
    rng = _rng(grading_seed, 4)
    z = np.concatenate([[6.0, 0.0, -30.0, 30.0], _round(rng.normal(scale=3.0, size=6))])
    t = _round(rng.normal(scale=2.0, size=(3, 4, 5)))
    big = [[1000.0, 999.0, -1000.0], [-500.0, -501.0, -499.0]]
    probe = f"""
_z = torch.tensor({_lit(z)}, dtype=torch.float64)
_t = torch.tensor({_lit(t)}, dtype=torch.float64)
{{"sigmoid": sigmoid(_z),
  "course": softmax(torch.tensor([[4.3, 6.1, 2.3]])),
  "dim0": softmax(_t, dim=0), "dim1": softmax(_t, dim=1), "last": softmax(_t, dim=-1), "default": softmax(_t),
  "big": softmax(torch.tensor({big!r}, dtype=torch.float64))}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    tt = torch.tensor(t, dtype=F64)

    assert_close(got["sigmoid"], torch.sigmoid(torch.tensor(z, dtype=F64)).numpy(),
                 f"sigmoid of {z.tolist()}", rtol=1e-9, atol=1e-12)
    assert_close(got["course"], np.array([[0.1392, 0.8420, 0.0188]]), "softmax of the course's logits (4.3, 6.1, 2.3)", atol=1e-4)
    assert_close(got["last"], torch.softmax(tt, dim=-1).numpy(),
                 "softmax(t, dim=-1) of a (3, 4, 5) tensor: each row along the last dimension should sum to 1",
                 rtol=1e-9, atol=1e-12)
    assert_close(got["default"], torch.softmax(tt, dim=-1).numpy(), "softmax(t) with the default dim=-1", rtol=1e-9, atol=1e-12)
    assert_close(got["dim0"], torch.softmax(tt, dim=0).numpy(),
                 "softmax(t, dim=0): normalise along dimension 0, the one given by dim", rtol=1e-9, atol=1e-12)
    assert_close(got["dim1"], torch.softmax(tt, dim=1).numpy(),
                 "softmax(t, dim=1): normalise along dimension 1, the one given by dim", rtol=1e-9, atol=1e-12)
    assert_close(got["big"], torch.softmax(torch.tensor(big, dtype=F64), dim=-1).numpy(),
                 "softmax of very large logits (1000, 999, -1000): subtract the maximum before exp so that nothing overflows",
                 rtol=1e-9, atol=1e-12)
    for key in ("sigmoid", "last", "dim0", "dim1", "big"):
        assert_close(got[key], ref[key], f"{key} output, compared with the reference solution", rtol=1e-9, atol=1e-12)


@pytest.mark.points(2)
def test_cross_entropy(student, reference, grading_seed):
    """Cross-entropy from logits, with class-index or probability targets, averaged over the batch"""
    rng = _rng(grading_seed, 5)
    logits = _round(rng.normal(scale=2.0, size=(6, 4)))
    classes = rng.integers(0, 4, size=6).tolist()
    soft = rng.random((6, 4)) + 0.05
    soft = _round(soft / soft.sum(axis=1, keepdims=True), 6)
    soft = soft / soft.sum(axis=1, keepdims=True)
    probe = f"""
_logits = torch.tensor({_lit(logits)}, dtype=torch.float64)
_scores = torch.tensor([[-0.1211, 0.1059]])
_loss = cross_entropy(_logits, torch.tensor({classes!r}))
{{"course_onehot": float(cross_entropy(_scores, torch.tensor([[1.0, 0.0]]))),
  "course_index": float(cross_entropy(_scores, torch.tensor([0]))),
  "index": float(_loss), "shape": list(_loss.shape),
  "soft": float(cross_entropy(_logits, torch.tensor({_lit(soft)}, dtype=torch.float64))),
  "single": float(cross_entropy(_logits[:1], torch.tensor({classes[:1]!r}))),
  "big": float(cross_entropy(torch.tensor([[1000.0, -1000.0], [0.0, 800.0]], dtype=torch.float64), torch.tensor([1, 1])))}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    lt = torch.tensor(logits, dtype=F64)

    assert_close(got["course_onehot"], 0.8131, "cross-entropy of the course's logits (-0.1211, 0.1059) with the one-hot target (1, 0)", atol=1e-4)
    assert_close(got["course_index"], 0.8131, "cross-entropy of the course's example with the class index 0 as target", atol=1e-4)
    assert got["shape"] == [], f"cross_entropy should return a 0-dimensional tensor (one number for the batch), got shape {tuple(got['shape'])}"
    assert_close(got["single"], F.cross_entropy(lt[:1], torch.tensor(classes[:1])).item(),
                 "cross-entropy of one sample: -log softmax(logits)[target]", rtol=1e-9, atol=1e-12)
    assert_close(got["index"], F.cross_entropy(lt, torch.tensor(classes)).item(),
                 "cross-entropy of a batch of 6 samples with class-index targets: the MEAN over the batch, like nn.CrossEntropyLoss",
                 rtol=1e-9, atol=1e-12)
    assert_close(got["soft"], F.cross_entropy(lt, torch.tensor(soft, dtype=F64)).item(),
                 "cross-entropy with probability targets: mean over the batch of -sum(p * log softmax(logits))",
                 rtol=1e-9, atol=1e-12)
    big_expected = F.cross_entropy(torch.tensor([[1000.0, -1000.0], [0.0, 800.0]], dtype=F64), torch.tensor([1, 1])).item()
    assert_close(got["big"], big_expected, "cross-entropy of very large logits (the wrong class 2000 ahead in the first "
                 "sample): use log-softmax (logits - logsumexp), not log(softmax), so that the loss stays finite", rtol=1e-9)
    for key in ("index", "soft", "big"):
        assert_close(got[key], ref[key], f"cross-entropy ({key}), compared with the reference solution", rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- 4. parameters
@pytest.mark.points(2)
def test_count_parameters(student, reference, grading_seed):
    """Counting parameters: the course's networks (46, 81, 683, 305) and others"""
    rng = _rng(grading_seed, 6)
    course = [[8, 4, 2], [16, 4, 2, 1], [10, 18, 20, 5], [9, 16, 8, 1], [6, 4, 1]]
    randoms = [[int(v) for v in rng.integers(1, 40, size=int(rng.integers(2, 6)))] for _ in range(5)]
    probe = f"""
_models = {{
    "stack " + str(_s): nn.Sequential(*[nn.Linear(_i, _o) for _i, _o in zip(_s[:-1], _s[1:])])
    for _s in {course + randoms!r}}}
_models["Linear(5, 3, bias=False)"] = nn.Linear(5, 3, bias=False)
_models["9-16-8-1 with BatchNorm1d"] = nn.Sequential(nn.Linear(9, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                                     nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
{{"count": {{_k: count_parameters(_m) for _k, _m in _models.items()}},
  "formula": [mlp_parameter_count(_s) for _s in {course + randoms!r}]}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)

    def formula(sizes):
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))

    assert [formula(s) for s in course] == [46, 81, 683, 305, 33]
    expected_count = {f"stack {s}": formula(s) for s in course + randoms}
    expected_count["Linear(5, 3, bias=False)"] = 15
    expected_count["9-16-8-1 with BatchNorm1d"] = 353
    for key, want in expected_count.items():
        assert got["count"].get(key) == want, (
            f"count_parameters of {key} should be {want} (the sum of p.numel() over all parameters), got {got['count'].get(key)}")
    for sizes, answer in zip(course + randoms, got["formula"]):
        assert answer == formula(sizes), (
            f"mlp_parameter_count({sizes}) should be {formula(sizes)}: each nn.Linear(n_in, n_out) has "
            f"n_in * n_out weights and n_out biases; got {answer}")
    assert got == ref, "parameter counts differ from the reference solution"


@pytest.mark.points(1)
def test_freeze(student, reference):
    """Freezing parameters by name: no gradient, no update, not counted as trainable"""
    probe = """
_model = nn.Sequential(nn.Linear(64, 128), nn.Linear(128, 256))
_before = {_n: _p.detach().clone() for _n, _p in _model.named_parameters()}
_result = freeze(_model, ["0.weight"])
_flags = {_n: bool(_p.requires_grad) for _n, _p in _model.named_parameters()}
_trainable = count_parameters(_model, trainable_only=True)
_all = count_parameters(_model)
_opt = torch.optim.SGD(_model.parameters(), lr=0.1)
_model(torch.ones(4, 64)).pow(2).mean().backward()
_opt.step()
_changed = {_n: bool(not torch.equal(_p.detach(), _before[_n])) for _n, _p in _model.named_parameters()}
try:
    freeze(_model, ["2.weight"])
    _unknown = "no error"
except KeyError:
    _unknown = "KeyError"
except Exception as _e:
    _unknown = type(_e).__name__
_other = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
freeze(_other, ["2.bias", "0.bias"])
{"flags": _flags, "trainable": _trainable, "all": _all, "changed": _changed, "unknown": _unknown,
 "other": {_n: bool(_p.requires_grad) for _n, _p in _other.named_parameters()},
 "other_trainable": count_parameters(_other, trainable_only=True)}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert got["flags"] == {"0.weight": False, "0.bias": True, "1.weight": True, "1.bias": True}, (
        f"after freeze(model, ['0.weight']) only 0.weight should have requires_grad=False, got {got['flags']}")
    assert got["changed"] == {"0.weight": False, "0.bias": True, "1.weight": True, "1.bias": True}, (
        f"after an optimizer step only the frozen 0.weight should stay unchanged; changed: {got['changed']}")
    assert got["all"] == 41344, f"count_parameters(model) counts all 41344 parameters, frozen or not; got {got['all']}"
    assert got["trainable"] == 41344 - 64 * 128, (
        f"count_parameters(model, trainable_only=True) should leave out the frozen 64 * 128 weights: "
        f"{41344 - 64 * 128}, got {got['trainable']}")
    assert got["unknown"] == "KeyError", f"freeze with a name the model does not have should raise KeyError, got {got['unknown']}"
    assert got["other"] == {"0.weight": True, "0.bias": False, "2.weight": True, "2.bias": False}, (
        f"freeze(model, ['2.bias', '0.bias']) should freeze exactly those two, got {got['other']}")
    assert got["other_trainable"] == 8, f"with both biases frozen, 3 * 2 + 2 * 1 = 8 weights stay trainable, got {got['other_trainable']}"
    assert got == ref, "the results differ from the reference solution"


# --------------------------------------------------------------------------- 5. optimiser and dropout
SGD_CONFIGS = [(0.1, 0.0, 0.0), (0.05, 0.9, 0.0), (0.05, 0.9, 0.01), (0.2, 0.5, 0.1), (0.3, 0.0, 0.05)]


def _sgd_oracle(w0, b0, X, Y, lr, momentum, wd, steps):
    w = torch.tensor(w0, dtype=F64, requires_grad=True)
    b = torch.tensor(b0, dtype=F64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr, momentum=momentum, weight_decay=wd)
    Xt, Yt = torch.tensor(X, dtype=F64), torch.tensor(Y, dtype=F64)
    for _ in range(steps):
        opt.zero_grad()
        ((Xt @ w + b - Yt) ** 2).mean().backward()
        opt.step()
    bufs = [opt.state[p].get("momentum_buffer") for p in (w, b)]
    return w.detach().numpy(), b.detach().numpy(), [None if v is None else v.numpy() for v in bufs]


@pytest.mark.points(3)
def test_sgd_momentum_step(student, reference, grading_seed):
    """The hand-written SGD step matches torch.optim.SGD with momentum and weight decay"""
    rng = _rng(grading_seed, 7)
    w0, b0 = _round(rng.normal(size=(3, 2))), _round(rng.normal(size=2))
    X, Y = _round(rng.normal(size=(5, 3))), _round(rng.normal(size=(5, 2)))
    steps = 4
    probe = f"""
_runs = []
for _lr, _mu, _wd in {SGD_CONFIGS!r}:
    _w = torch.tensor({_lit(w0)}, dtype=torch.float64, requires_grad=True)
    _b = torch.tensor({_lit(b0)}, dtype=torch.float64, requires_grad=True)
    _frozen = torch.tensor([1.5, -2.5], dtype=torch.float64)
    _X = torch.tensor({_lit(X)}, dtype=torch.float64)
    _Y = torch.tensor({_lit(Y)}, dtype=torch.float64)
    _vel = [torch.zeros_like(_w), torch.zeros_like(_b), torch.zeros_like(_frozen)]
    for _step in range({steps}):
        _w.grad = None
        _b.grad = None
        ((_X @ _w + _b - _Y) ** 2).mean().backward()
        sgd_momentum_step([_w, _b, _frozen], _vel, lr=_lr, momentum=_mu, weight_decay=_wd)
    _runs.append({{"w": _w.detach(), "b": _b.detach(), "frozen": _frozen, "vw": _vel[0], "vb": _vel[1]}})
_runs
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert isinstance(got, list) and len(got) == len(SGD_CONFIGS), "the probe did not return one result per setting"
    for (lr, mu, wd), answer, ref_answer in zip(SGD_CONFIGS, got, ref):
        where = f"after {steps} steps with lr={lr}, momentum={mu}, weight_decay={wd}"
        w, b, bufs = _sgd_oracle(w0, b0, X, Y, lr, mu, wd, steps)
        hint = []
        if mu:
            hint.append("velocity v = momentum * v + g, then p -= lr * v")
        if wd:
            hint.append("the gradient first gets weight_decay * p added: g = grad + weight_decay * p")
        hint = f" ({'; '.join(hint)})" if hint else " (p -= lr * grad)"
        assert_close(answer["w"], w, f"weights {where}, compared with torch.optim.SGD{hint}", rtol=1e-9, atol=1e-10)
        assert_close(answer["b"], b, f"bias {where}, compared with torch.optim.SGD{hint}", rtol=1e-9, atol=1e-10)
        assert_close(answer["frozen"], np.array([1.5, -2.5]), f"a parameter whose .grad is None, {where} (it must be skipped)")
        if mu:
            assert_close(answer["vw"], bufs[0], f"velocity of the weights {where} (torch's momentum buffer; update it in place)",
                         rtol=1e-9, atol=1e-10)
            assert_close(answer["vb"], bufs[1], f"velocity of the bias {where} (torch's momentum buffer)", rtol=1e-9, atol=1e-10)
        assert_close([answer["w"], answer["b"]], [ref_answer["w"], ref_answer["b"]],
                     f"parameters {where}, compared with the reference solution", rtol=1e-9, atol=1e-10)


@pytest.mark.points(2)
def test_dropout(student, reference):
    """Dropout: zero with probability p and rescale the rest in training; identity in evaluation"""
    probe = """
_x = torch.randn(400, 250) + 3.0
_x_copy = _x.clone()
_res = {}
for _p in (0.1, 0.5, 0.8):
    _y = dropout(_x, _p, True)
    _kept = _y != 0
    _res[str(_p)] = {"shape": list(_y.shape), "zeros": float((~_kept).float().mean()),
                     "scale": float((_y[_kept] / _x[_kept]).max()), "scale_min": float((_y[_kept] / _x[_kept]).min())}
_res["unchanged_input"] = bool(torch.equal(_x, _x_copy))
_res["eval"] = bool(torch.equal(dropout(_x, 0.5, False), _x))
_res["eval_kw"] = bool(torch.equal(dropout(_x, 0.5, training=False), _x))
_res["p0"] = bool(torch.allclose(dropout(_x, 0.0, True), _x))
_res["random"] = bool(not torch.equal(dropout(_x, 0.5, True), dropout(_x, 0.5, True)))
_res
"""
    got = student.eval(probe)
    for p in (0.1, 0.5, 0.8):
        r = got[str(p)]
        assert r["shape"] == [400, 250], f"dropout should keep the input's shape (400, 250), got {tuple(r['shape'])}"
        assert abs(r["zeros"] - p) < 0.01, (
            f"with p = {p} about {p:.0%} of the elements should be set to zero (each with probability p), got {r['zeros']:.1%}")
        assert_close([r["scale_min"], r["scale"]], [1 / (1 - p), 1 / (1 - p)],
                     f"ratio output / input of the kept elements for p = {p} (they should be scaled by 1 / (1 - p))", rtol=1e-5)
    assert got["unchanged_input"], "dropout must not modify its input tensor"
    assert got["eval"] and got["eval_kw"], "with training=False dropout should return its input unchanged"
    assert got["p0"], "with p = 0 dropout keeps every element unchanged"
    assert got["random"], "two calls of dropout in training mode should drop different elements (a new random mask each time)"
    ref = reference.eval(probe)
    assert ref["eval"] and ref["unchanged_input"]


# --------------------------------------------------------------------------- 6. data
def _csv_text(features, labels, order) -> str:
    lines = [",".join(order)]
    for row, label in zip(features, labels):
        values = dict(zip(FEATURES, row), **{LABEL: label})
        cells = []
        for name in order:
            v = values[name]
            cells.append(str(int(v)) if name == LABEL else ("" if np.isnan(v) else repr(float(v))))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


@pytest.mark.points(1)
def test_load_csv(student, reference, grading_seed):
    """load_water_csv reads the columns by name and turns empty cells into NaN"""
    rng = _rng(grading_seed, 8)
    features, labels = make_rows(20, int(rng.integers(1 << 30)))
    features[3, 1] = np.nan  # a missing value in a column that is usually complete
    order = [LABEL] + [FEATURES[i] for i in rng.permutation(len(FEATURES))]
    text = _csv_text(features, labels, order)
    probe = f"""
import os as _os, tempfile as _tempfile
_dir = _tempfile.mkdtemp()
_path = _os.path.join(_dir, "water_hidden.csv")
with open(_path, "w") as _f:
    _f.write({text!r})
_X, _y = load_water_csv(_path)
{{"X": np.asarray(_X), "y": np.asarray(_y), "X_dtype": str(np.asarray(_X).dtype), "y_kind": np.asarray(_y).dtype.kind}}
"""
    got = student.eval(probe)
    assert_close(got["X"], features, "features read from a CSV whose columns are in another order "
                 f"({', '.join(order)}); pick them by name in the order of WATER_FEATURES, NaN for empty cells",
                 rtol=1e-12, atol=1e-12)
    assert got["X_dtype"] == "float64", f"features should be a float64 array, got {got['X_dtype']}"
    assert_close(got["y"], labels, "labels from the Potability column", rtol=0, atol=0)
    assert got["y_kind"] in "iu", "labels should be an integer array"
    ref = reference.eval(probe)
    assert_close(got["X"], ref["X"], "features, compared with the reference solution", rtol=1e-12, atol=1e-12)


@pytest.mark.points(3)
def test_preprocessing(student, reference, grading_seed):
    """Imputation and min-max scaling fitted on one set of rows and applied unchanged to others"""
    rng = _rng(grading_seed, 9)
    train, _ = make_rows(60, int(rng.integers(1 << 30)))
    other, _ = make_rows(25, int(rng.integers(1 << 30)))
    other[0, 4] = np.nan
    other[1, 0] = np.nan
    other[2, 2] = 1e5  # a value above the training maximum: scaled past 1, not clipped or refitted
    probe = f"""
_train = np.array({_lit(train)}, dtype=float)
_other = np.array({_lit(other)}, dtype=float)
_other_copy = _other.copy()
_stats = fit_preprocessing(_train)
_Z = preprocess(_other, _stats)
{{"median": np.asarray(_stats["median"], dtype=float), "min": np.asarray(_stats["min"], dtype=float),
  "max": np.asarray(_stats["max"], dtype=float), "Z": np.asarray(_Z, dtype=float), "dtype": str(np.asarray(_Z).dtype),
  "input_unchanged": bool(np.array_equal(_other, _other_copy, equal_nan=True))}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    median = np.nanmedian(train, axis=0)
    filled = np.where(np.isnan(train), median, train)
    lo, hi = filled.min(axis=0), filled.max(axis=0)
    expected = (np.where(np.isnan(other), median, other) - lo) / (hi - lo)

    assert_close(got["median"], median, "stats['median']: the column medians of the training rows, ignoring NaN", rtol=1e-9)
    assert_close(got["min"], lo, "stats['min']: the column minima of the training rows after imputation", rtol=1e-9)
    assert_close(got["max"], hi, "stats['max']: the column maxima of the training rows after imputation", rtol=1e-9)
    assert got["input_unchanged"], "preprocess must not modify its input array (fill the NaNs in a copy)"
    assert got["dtype"] == "float32", f"preprocess should return float32 values, got {got['dtype']}"
    assert_close(got["Z"], expected, "preprocess(other_rows, stats): NaN -> training median, then (x - training min) / "
                 "(training max - training min), using the given stats and never statistics of the new rows", rtol=1e-5, atol=1e-6)
    assert_close(got["Z"], ref["Z"], "preprocessed rows, compared with the reference solution", rtol=1e-5, atol=1e-6)


@pytest.mark.points(2)
def test_water_dataset(student, reference, grading_seed):
    """WaterDataset returns (features, label) pairs of float32 tensors and works with a DataLoader"""
    rng = _rng(grading_seed, 10)
    feats = _round(rng.random((10, 9)), 6)
    labels = rng.integers(0, 2, size=10).tolist()
    probe = f"""
_ds = WaterDataset(np.array({_lit(feats)}), np.array({labels!r}))
_item = _ds[3]
_loader = DataLoader(_ds, batch_size=4, shuffle=False)
_batches = [[list(_f.shape), list(_l.shape), str(_f.dtype), str(_l.dtype)] for _f, _l in _loader]
{{"is_dataset": isinstance(_ds, Dataset), "len": len(_ds), "item_type": type(_item).__name__, "item_len": len(_item),
  "feat": _item[0], "label": _item[1], "feat_dtype": str(_item[0].dtype), "label_dtype": str(_item[1].dtype),
  "batches": _batches, "last_labels": [_l for _f, _l in _loader][-1]}}
"""
    got = student.eval(probe)
    assert got["is_dataset"], "WaterDataset should subclass torch.utils.data.Dataset"
    assert got["len"] == 10, f"len() of a WaterDataset of 10 rows should be 10, got {got['len']}"
    assert got["item_type"] == "tuple" and got["item_len"] == 2, (
        f"dataset[i] should be the tuple (features, label), got a {got['item_type']} of length {got['item_len']}")
    assert got["feat_dtype"] == "torch.float32" and got["label_dtype"] == "torch.float32", (
        f"features and label should be float32 tensors (the type of the model's parameters), got {got['feat_dtype']} and {got['label_dtype']}")
    assert_close(got["feat"], feats[3], "features of sample 3", rtol=1e-6, atol=1e-7)
    assert_close(got["label"], np.array([float(labels[3])]), "label of sample 3 (a tensor of shape (1,))")
    assert got["batches"] == [[[4, 9], [4, 1], "torch.float32", "torch.float32"]] * 2 + [[[2, 9], [2, 1], "torch.float32", "torch.float32"]], (
        f"a DataLoader with batch_size=4 over 10 samples should give batches of features (4, 9) and labels (4, 1), "
        f"the last one of 2; got {got['batches']}")
    assert_close(got["last_labels"], np.array(labels[8:], dtype=float).reshape(2, 1), "labels of the last batch")
    ref = reference.eval(probe)
    assert ref["len"] == 10


# --------------------------------------------------------------------------- 7. the network
def _net_oracle(sd: dict, x: np.ndarray, training: bool, running=None) -> np.ndarray:
    t = {k: torch.tensor(np.asarray(v), dtype=F64) for k, v in sd.items() if np.asarray(v).dtype.kind == "f"}
    h = torch.tensor(x, dtype=F64)
    for fc, bn in (("fc1", "bn1"), ("fc2", "bn2")):
        h = F.linear(h, t[f"{fc}.weight"], t[f"{fc}.bias"])
        src = running or t
        h = F.batch_norm(h, None if training else src[f"{bn}.running_mean"], None if training else src[f"{bn}.running_var"],
                         t[f"{bn}.weight"], t[f"{bn}.bias"], training=training, eps=1e-5)
        h = torch.relu(h)
    return F.linear(h, t["fc3.weight"], t["fc3.bias"]).numpy()


@pytest.mark.points(3)
def test_water_net(student, reference, grading_seed):
    """WaterNet: layers, batch norm before ReLU, Kaiming initialisation, logits out, dropout only in training"""
    rng = _rng(grading_seed, 11)
    x = _round(rng.random((12, 9)), 5)
    probe = f"""
_net = WaterNet(p_dropout=0.0)
_children = {{_n: type(_m).__name__ for _n, _m in _net.named_children()}}
_x = torch.tensor({_lit(x)}, dtype=torch.float32)
_sd0 = {{_k: _v.detach().clone() for _k, _v in _net.state_dict().items() if _v.dtype.is_floating_point}}
_net.train()
with torch.no_grad():
    _out_train = _net(_x)
_sd1 = {{_k: _v.detach().clone() for _k, _v in _net.state_dict().items() if _v.dtype.is_floating_point}}
_net.eval()
with torch.no_grad():
    _out_eval = _net(_x)
_drop = WaterNet(p_dropout=0.5)
_drop.train()
with torch.no_grad():
    _differ = not torch.equal(_drop(_x), _drop(_x))
    _drop.eval()
    _same = torch.equal(_drop(_x), _drop(_x))
{{"children": _children, "sd0": _sd0, "sd1": _sd1, "out_train": _out_train, "out_eval": _out_eval,
  "n_params": int(sum(_p.numel() for _p in _net.parameters())), "train_differs": bool(_differ), "eval_same": bool(_same),
  "dropout_p": float(getattr(getattr(_drop, "dropout", None), "p", -1.0))}}
"""
    got = student.eval(probe)
    for name, kind in [("fc1", "Linear"), ("bn1", "BatchNorm1d"), ("fc2", "Linear"), ("bn2", "BatchNorm1d"),
                       ("fc3", "Linear"), ("dropout", "Dropout")]:
        assert got["children"].get(name) == kind, (
            f"WaterNet should have an attribute {name} of type nn.{kind}; its layers are {got['children']}")
    sd = got["sd0"]
    shapes = {k: tuple(np.asarray(v).shape) for k, v in sd.items()}
    for key, shape in [("fc1.weight", (16, 9)), ("fc2.weight", (8, 16)), ("fc3.weight", (1, 8)),
                       ("bn1.weight", (16,)), ("bn2.weight", (8,))]:
        assert shapes.get(key) == shape, f"{key} should have shape {shape} (9 -> 16 -> 8 -> 1), got {shapes.get(key)}"
    assert got["n_params"] == 353, f"WaterNet should have 353 parameters (305 + 48 in batch norm), got {got['n_params']}"
    for fc, fan_in in (("fc1", 9), ("fc2", 16)):
        bound = math.sqrt(6 / fan_in)
        biggest = float(np.abs(sd[f"{fc}.weight"]).max())
        assert biggest <= bound + 1e-6 and biggest > 0.6 * bound, (
            f"{fc}'s weights should be Kaiming-uniform for ReLU, within +-sqrt(6/{fan_in}) = {bound:.3f} and filling that "
            f"range; the largest |weight| is {biggest:.3f} (PyTorch's default stays within +-{1 / math.sqrt(fan_in):.3f})")
    for fc in ("fc1", "fc2", "fc3"):
        assert_close(np.asarray(sd[f"{fc}.bias"]), np.zeros_like(np.asarray(sd[f"{fc}.bias"])), f"{fc}'s bias at initialisation (zeros)")
    assert tuple(np.asarray(got["out_train"]).shape) == (12, 1), (
        f"WaterNet should return logits of shape (batch, 1), got {tuple(np.asarray(got['out_train']).shape)}")
    assert_close(got["out_train"], _net_oracle(sd, x, training=True),
                 "output in training mode (expected fc1 -> bn1 -> ReLU -> fc2 -> bn2 -> ReLU -> fc3, a logit without sigmoid)",
                 rtol=1e-4, atol=1e-5)
    assert_close(got["out_eval"], _net_oracle(sd, x, training=False, running={
        k: torch.tensor(np.asarray(v), dtype=F64) for k, v in got["sd1"].items()}),
        "output in eval mode (batch norm uses its running statistics)", rtol=1e-4, atol=1e-5)
    assert got["dropout_p"] == 0.5, f"WaterNet(p_dropout=0.5) should use nn.Dropout(0.5), got p = {got['dropout_p']}"
    assert got["train_differs"], "with p_dropout=0.5 two forward passes in training mode should differ (dropout is active)"
    assert got["eval_same"], "in eval mode two forward passes should give the same output (dropout is off)"
    ref = reference.eval(probe)
    assert ref["n_params"] == 353


# --------------------------------------------------------------------------- 8. training
@pytest.mark.points(1)
def test_binary_accuracy(student, reference, grading_seed):
    """binary_accuracy: a logit above 0 predicts 1"""
    rng = _rng(grading_seed, 12)
    logits = _round(rng.normal(size=(50, 1)), 3)
    logits[logits == 0] = 0.5
    logits[:5] = [[0.2], [0.4], [-0.3], [0.7], [-0.1]]  # logits between 0 and 0.5: probabilities above 0.5
    labels = (rng.random((50, 1)) < 0.5).astype(float)
    labels[:5] = [[1.0], [1.0], [0.0], [1.0], [0.0]]
    probe = f"""
float(binary_accuracy(torch.tensor({_lit(logits)}), torch.tensor({_lit(labels)})))
"""
    got = student.eval(probe)
    expected = float(((logits > 0).astype(float) == labels).mean())
    assert_close(got, expected, "binary_accuracy on 50 logits (predict 1 where the logit is above 0, "
                 "i.e. where the probability sigmoid(logit) is above 0.5)", rtol=1e-6, atol=1e-6)
    assert_close(got, reference.eval(probe), "binary_accuracy, compared with the reference solution", rtol=1e-6, atol=1e-6)


def _loop_data(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    X = _round(rng.normal(size=(10, 9)), 4)
    y = (rng.random((10, 1)) < 0.5).astype(float)
    return X, y, rng


@pytest.mark.points(2)
def test_train_epoch(student, reference, grading_seed):
    """train_epoch: zero_grad, forward, loss, backward, step for every batch; returns the mean batch loss"""
    X, y, rng = _loop_data(grading_seed, 13)
    w0, b0 = _round(rng.normal(scale=0.5, size=(1, 9)), 4), _round(rng.normal(scale=0.5, size=1), 4)
    probe = f"""
_model = nn.Linear(9, 1)
with torch.no_grad():
    _model.weight.copy_(torch.tensor({_lit(w0)}))
    _model.bias.copy_(torch.tensor({_lit(b0)}))
_loader = DataLoader(torch.utils.data.TensorDataset(torch.tensor({_lit(X)}, dtype=torch.float32),
                                                    torch.tensor({_lit(y)}, dtype=torch.float32)), batch_size=4)
_opt = torch.optim.SGD(_model.parameters(), lr=0.5)
_model.eval()
_loss = train_epoch(_model, _loader, nn.BCEWithLogitsLoss(), _opt)
{{"loss": float(_loss), "weight": _model.weight.detach(), "bias": _model.bias.detach(), "training": bool(_model.training)}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    w = torch.tensor(w0, dtype=F64, requires_grad=True)
    b = torch.tensor(b0, dtype=F64, requires_grad=True)
    losses = []
    for start in range(0, 10, 4):
        xb, yb = torch.tensor(X[start:start + 4], dtype=F64), torch.tensor(y[start:start + 4], dtype=F64)
        loss = F.binary_cross_entropy_with_logits(F.linear(xb, w, b), yb)
        gw, gb = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= 0.5 * gw
            b -= 0.5 * gb
        losses.append(loss.item())

    assert_close(got["weight"], w.detach().numpy(), "weights after one epoch of 3 batches with SGD(lr=0.5): each step must "
                 "use only its own batch's gradient (call optimizer.zero_grad() before backward)", rtol=1e-4, atol=1e-5)
    assert_close(got["bias"], b.detach().numpy(), "bias after one epoch", rtol=1e-4, atol=1e-5)
    assert_close(got["loss"], sum(losses) / len(losses), "the value returned by train_epoch: the mean of the 3 batches' "
                 "losses, each measured before its update", rtol=1e-4, atol=1e-6)
    assert got["training"], "train_epoch should put the model in training mode (model.train())"
    assert_close(got["loss"], ref["loss"], "train_epoch's loss, compared with the reference solution", rtol=1e-5, atol=1e-6)


@pytest.mark.points(1)
def test_evaluate(student, reference, grading_seed):
    """evaluate: eval mode, no gradients, mean batch loss and accuracy, then back to training mode"""
    X, y, rng = _loop_data(grading_seed, 14)
    w1, b1 = _round(rng.normal(scale=0.5, size=(6, 9)), 4), _round(rng.normal(scale=0.5, size=6), 4)
    w2, b2 = _round(rng.normal(scale=0.8, size=(1, 6)), 4), _round(rng.normal(scale=0.5, size=1), 4)
    probe = f"""
_model = nn.Sequential(nn.Linear(9, 6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 1))
with torch.no_grad():
    for _layer, _w, _b in ((_model[0], {_lit(w1)}, {_lit(b1)}), (_model[3], {_lit(w2)}, {_lit(b2)})):
        _layer.weight.copy_(torch.tensor(_w))
        _layer.bias.copy_(torch.tensor(_b))
_before = [_p.detach().clone() for _p in _model.parameters()]
_loader = DataLoader(torch.utils.data.TensorDataset(torch.tensor({_lit(X)}, dtype=torch.float32),
                                                    torch.tensor({_lit(y)}, dtype=torch.float32)), batch_size=4)
_model.train()
_r1 = evaluate(_model, _loader, nn.BCEWithLogitsLoss())
_r2 = evaluate(_model, _loader, nn.BCEWithLogitsLoss())
{{"r1": {{"loss": float(_r1["loss"]), "accuracy": float(_r1["accuracy"])}}, "r2": {{"loss": float(_r2["loss"]), "accuracy": float(_r2["accuracy"])}},
  "training": bool(_model.training), "grads": [_p.grad is None for _p in _model.parameters()],
  "unchanged": all(torch.equal(_p, _q) for _p, _q in zip(_model.parameters(), _before))}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    t = lambda a: torch.tensor(a, dtype=F64)  # noqa: E731
    logits = F.linear(torch.relu(F.linear(t(X), t(w1), t(b1))), t(w2), t(b2))
    batch_losses = [F.binary_cross_entropy_with_logits(logits[s:s + 4], t(y[s:s + 4])).item() for s in range(0, 10, 4)]
    accuracy = float(((logits.numpy() > 0).astype(float) == y).mean())

    assert_close(got["r1"]["loss"], sum(batch_losses) / 3, "evaluate's loss: the mean of the 3 batches' losses with dropout "
                 "switched off (model.eval())", rtol=1e-4, atol=1e-6)
    assert_close(got["r1"]["accuracy"], accuracy, "evaluate's accuracy: correct predictions / number of samples (10)",
                 rtol=1e-6, atol=1e-9)
    assert_close(got["r2"], got["r1"], "a second call of evaluate on the same data (it must not change the model)", rtol=1e-6)
    assert got["unchanged"], "evaluate must not change the model's parameters"
    assert all(got["grads"]), "evaluate should compute no gradients (use torch.no_grad() and no backward())"
    assert got["training"], "after evaluate the model should be back in training mode (model.train())"
    assert_close(got["r1"], ref["r1"], "evaluate's result, compared with the reference solution", rtol=1e-5, atol=1e-7)


@pytest.mark.points(1)
def test_overfit_one_batch(student, reference, grading_seed):
    """overfit_one_batch drives a small network to accuracy 1.0 on one batch"""
    rng = _rng(grading_seed, 15)
    features, labels = make_rows(16, int(rng.integers(1 << 30)))
    median = np.nanmedian(features, axis=0)
    filled = np.where(np.isnan(features), median, features)
    X = _round((filled - filled.mean(axis=0)) / filled.std(axis=0), 5)
    y = labels.reshape(-1, 1).astype(float)
    probe = f"""
_model = nn.Sequential(nn.Linear(9, 32), nn.ReLU(), nn.Linear(32, 1))
_X = torch.tensor({_lit(X)}, dtype=torch.float32)
_y = torch.tensor({_lit(y)}, dtype=torch.float32)
_before = nn.BCEWithLogitsLoss()(_model(_X), _y).item()
_loss, _acc = overfit_one_batch(_model, _X, _y, steps=400)
with torch.no_grad():
    _after = nn.BCEWithLogitsLoss()(_model(_X), _y).item()
[float(_loss), float(_acc), _before, _after]
"""
    loss, acc, before, after = student.eval(probe)
    assert acc == 1.0, f"after 400 steps on one batch of 16 samples the accuracy on that batch should be 1.0, got {acc:.3f}"
    assert 0 <= loss < 0.15, f"after 400 steps on one batch the loss should be close to 0, got {loss:.4f} (it started at {before:.4f})"
    assert after <= loss + 1e-3, (
        f"overfit_one_batch should return the loss of its last step: it returned {loss:.4f}, but the model's loss "
        f"on the batch is now {after:.4f}")
    ref = reference.eval(probe)
    assert ref[1] == 1.0


@pytest.mark.points(3)
def test_model_quality(student, reference, grading_seed):
    """The trained model predicts hidden water samples well (accuracy threshold)"""
    features, labels = make_rows(N_HIDDEN, grading_seed % (1 << 31) + 12345)
    probe = f"""
_pred = predict(model, stats, np.array({_lit(features)}, dtype=float))
np.asarray(_pred)
"""
    got = np.asarray(student.eval(probe))
    assert got.shape == (N_HIDDEN,), f"predict should return one value per row, shape ({N_HIDDEN},), got {got.shape}"
    values = set(np.unique(got).tolist())
    assert values <= {0, 1}, f"predict should return 0/1 labels, got the values {sorted(values)[:5]}"
    accuracy = float((got == labels).mean())
    ref_accuracy = float((np.asarray(reference.eval(probe)) == labels).mean())
    majority = float(max(labels.mean(), 1 - labels.mean()))
    assert accuracy >= QUALITY_THRESHOLD, (
        f"your trained model's accuracy on {N_HIDDEN} hidden water samples (raw rows, NaN where missing) is "
        f"{accuracy:.3f}; it should be at least {QUALITY_THRESHOLD:.2f} (always answering the majority class gives "
        f"{majority:.3f}, the reference model {ref_accuracy:.3f}). Check predict (training statistics, eval mode) and the training loop")
