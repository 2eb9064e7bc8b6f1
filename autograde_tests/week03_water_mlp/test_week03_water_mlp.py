"""Hidden tests for week03_water_mlp: PyTorch from tensors to a trained water-potability MLP.

Total: 42 points over 21 tests.

Each function is graded on inputs made here (models with weights set by the test, statistics,
loaders, raw rows), so that one mistake costs its own points: `predict` runs with a correct
`preprocess` swapped in, `preprocess` gets correct statistics, and the quality of the trained
model is measured without the student's `predict`. Training loops are compared step by step with
torch.optim in float64 (a loop without zero_grad, another learning rate or the wrong mode shows),
and every parameter is exercised with more than one value.

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
from grader.testing import assert_close, with_fakes

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
_deep = nn.Sequential(*[nn.Linear(2, 2) for _ in range(12)])
freeze(_deep, ["1.weight"])
_none = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
freeze(_none, [])
{"flags": _flags, "trainable": _trainable, "all": _all, "changed": _changed, "unknown": _unknown,
 "other": {_n: bool(_p.requires_grad) for _n, _p in _other.named_parameters()},
 "other_trainable": count_parameters(_other, trainable_only=True),
 "deep_frozen": sorted(_n for _n, _p in _deep.named_parameters() if not _p.requires_grad),
 "deep_trainable": count_parameters(_deep, trainable_only=True),
 "none_frozen": sorted(_n for _n, _p in _none.named_parameters() if not _p.requires_grad)}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert got["flags"] == {"0.weight": False, "0.bias": True, "1.weight": True, "1.bias": True}, (
        "after freeze(model, ['0.weight']) on nn.Sequential(nn.Linear(64, 128), nn.Linear(128, 256)) only 0.weight "
        f"should have requires_grad=False, got {got['flags']}")
    assert got["changed"] == {"0.weight": False, "0.bias": True, "1.weight": True, "1.bias": True}, (
        f"after an optimizer step only the frozen 0.weight should stay unchanged; changed: {got['changed']}")
    assert got["all"] == 41344, f"count_parameters(model) counts all 41344 parameters, frozen or not; got {got['all']}"
    assert got["trainable"] == 41344 - 64 * 128, (
        f"count_parameters(model, trainable_only=True) should leave out the frozen 64 * 128 weights: "
        f"{41344 - 64 * 128}, got {got['trainable']}")
    assert got["unknown"] == "KeyError", (
        f"freeze(model, ['2.weight']) on a model without a '2.weight' should raise KeyError, got {got['unknown']}")
    assert got["other"] == {"0.weight": True, "0.bias": False, "2.weight": True, "2.bias": False}, (
        f"freeze(model, ['2.bias', '0.bias']) should freeze exactly those two, got {got['other']}")
    assert got["other_trainable"] == 8, (
        f"count_parameters(model, trainable_only=True) with both biases of Linear(3, 2), Linear(2, 1) frozen: "
        f"3 * 2 + 2 * 1 = 8 weights stay trainable, got {got['other_trainable']}")
    assert got["deep_frozen"] == ["1.weight"], (
        "freeze(model, ['1.weight']) on nn.Sequential of 12 Linear(2, 2) layers should freeze exactly '1.weight', "
        f"got the frozen parameters {got['deep_frozen']} (compare whole names with ==, not 'in' or startswith: "
        "'11.weight' contains '1.weight')")
    assert got["deep_trainable"] == 12 * 6 - 4, (
        f"count_parameters(model, trainable_only=True) after freezing '1.weight' of 12 Linear(2, 2) layers should be "
        f"{12 * 6 - 4}, got {got['deep_trainable']}")
    assert got["none_frozen"] == [], f"freeze(model, []) should freeze nothing, got the frozen parameters {got['none_frozen']}"
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
    # the parameter without a gradient sits between the others: it is skipped, the next one is not
    _vel = [torch.zeros_like(_w), torch.zeros_like(_frozen), torch.zeros_like(_b)]
    for _step in range({steps}):
        _w.grad = None
        _b.grad = None
        ((_X @ _w + _b - _Y) ** 2).mean().backward()
        sgd_momentum_step([_w, _frozen, _b], _vel, lr=_lr, momentum=_mu, weight_decay=_wd)
    _runs.append({{"w": _w.detach(), "b": _b.detach(), "frozen": _frozen, "vw": _vel[0], "vb": _vel[2]}})
# the defaults: momentum=0 and weight_decay=0 when only the learning rate is given
_w = torch.tensor({_lit(w0)}, dtype=torch.float64, requires_grad=True)
_b = torch.tensor({_lit(b0)}, dtype=torch.float64, requires_grad=True)
_vel = [torch.zeros_like(_w), torch.zeros_like(_b)]
for _step in range({steps}):
    _w.grad = None
    _b.grad = None
    ((_X @ _w + _b - _Y) ** 2).mean().backward()
    sgd_momentum_step([_w, _b], _vel, 0.2)
_runs.append({{"w": _w.detach(), "b": _b.detach()}})
_runs
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert isinstance(got, list) and len(got) == len(SGD_CONFIGS) + 1, "the probe did not return one result per setting"
    w, b, _ = _sgd_oracle(w0, b0, X, Y, 0.2, 0.0, 0.0, steps)
    assert_close([got[-1]["w"], got[-1]["b"]], [w, b], f"parameters after {steps} calls sgd_momentum_step(params, "
                 "velocities, 0.2) (only the learning rate given: momentum and weight_decay default to 0), compared with "
                 "torch.optim.SGD(lr=0.2)", rtol=1e-9, atol=1e-10)
    for (lr, mu, wd), answer, ref_answer in zip(SGD_CONFIGS, got, ref):
        where = (f"after {steps} calls sgd_momentum_step([w, frozen, b], velocities, lr={lr}, momentum={mu}, "
                 f"weight_decay={wd}) on a least-squares loss")
        w, b, bufs = _sgd_oracle(w0, b0, X, Y, lr, mu, wd, steps)
        hint = []
        if mu:
            hint.append("velocity v = momentum * v + g, then p -= lr * v")
        if wd:
            hint.append("the gradient first gets weight_decay * p added: g = grad + weight_decay * p")
        hint = f" ({'; '.join(hint)})" if hint else " (p -= lr * grad)"
        assert_close(answer["w"], w, f"weights {where}, compared with torch.optim.SGD{hint}", rtol=1e-9, atol=1e-10)
        assert_close(answer["b"], b, f"bias {where}, compared with torch.optim.SGD{hint}", rtol=1e-9, atol=1e-10)
        assert_close(answer["frozen"], np.array([1.5, -2.5]), f"a parameter whose .grad is None, {where} (it must be "
                     "skipped, and the parameters after it still updated: `continue`, not `break`)")
        if mu:
            # Both forms of the text are accepted: PyTorch's v = mu v + g (p -= lr v) keeps torch's momentum
            # buffer; v = mu v + lr g (p -= v) keeps lr times it. Either way v must be updated in place.
            for key, buf, what in (("vw", bufs[0], "weights"), ("vb", bufs[1], "bias")):
                velocity = np.asarray(answer[key], dtype=float)
                if not np.allclose(velocity, lr * buf, rtol=1e-9, atol=1e-10):
                    assert_close(velocity, buf, f"velocity of the {what} {where}: expected torch's momentum buffer "
                                 f"(v = momentum * v + g), or lr times it (v = momentum * v + lr * g), updated in place "
                                 f"in the velocities list", rtol=1e-9, atol=1e-10)
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
        call = f"dropout(x, {p}, True) for x of shape (400, 250)"
        assert r["shape"] == [400, 250], f"{call} should keep the input's shape (400, 250), got {tuple(r['shape'])}"
        assert abs(r["zeros"] - p) < 0.01, (
            f"{call}: about {p:.0%} of the elements should be set to zero (each with probability p), got {r['zeros']:.1%}")
        assert_close([r["scale_min"], r["scale"]], [1 / (1 - p), 1 / (1 - p)],
                     f"{call}: smallest and largest ratio output / input of the kept elements (they should be scaled by "
                     "1 / (1 - p))", rtol=1e-5)
    assert got["unchanged_input"], "dropout(x, p, True) must not modify its input tensor x"
    assert got["eval"] and got["eval_kw"], "dropout(x, 0.5, False) and dropout(x, 0.5, training=False) should return x unchanged"
    assert got["p0"], "dropout(x, 0.0, True) should keep every element unchanged"
    assert got["random"], "two calls dropout(x, 0.5, True) should drop different elements (a new random mask each time)"
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
{{"X": np.asarray(_X), "y": np.asarray(_y), "X_dtype": str(np.asarray(_X).dtype), "y_dtype": str(np.asarray(_y).dtype)}}
"""
    got = student.eval(probe)
    assert_close(got["X"], features, "features read from a CSV whose columns are in another order "
                 f"({', '.join(order)}); pick them by name in the order of WATER_FEATURES, NaN for empty cells",
                 rtol=1e-12, atol=1e-12)
    assert got["X_dtype"] == "float64", f"load_water_csv(path): features should be a float64 array, got {got['X_dtype']}"
    assert_close(got["y"], labels, "load_water_csv(path): labels from the Potability column", rtol=0, atol=0)
    assert got["y_dtype"] == "int64", f"load_water_csv(path): labels should be an int64 array, got {got['y_dtype']}"
    ref = reference.eval(probe)
    assert_close(got["X"], ref["X"], "features, compared with the reference solution", rtol=1e-12, atol=1e-12)


@pytest.mark.points(3)
def test_preprocessing(student, reference, grading_seed):
    """Imputation and min-max scaling fitted on one set of rows and applied unchanged to others"""
    rng = _rng(grading_seed, 9)
    train, _ = make_rows(61, int(rng.integers(1 << 30)))
    other, _ = make_rows(25, int(rng.integers(1 << 30)))
    # Refill the generated gaps, then leave out 0..6 values per column: the columns have 61, 60, 59,
    # ... known values, so the medians are taken over odd AND even counts (the middle value, or the
    # mean of the two middle values).
    for j in range(train.shape[1]):
        missing = np.isnan(train[:, j])
        train[missing, j] = rng.choice(train[~missing, j], size=int(missing.sum()))
    for j, k in enumerate([0, 1, 2, 3, 4, 5, 0, 1, 6]):
        train[rng.choice(len(train), size=k, replace=False), j] = np.nan
    other[0, 4] = np.nan
    other[1, 0] = np.nan
    other[2, 2] = 1e5  # a value above the training maximum: scaled past 1, not clipped or refitted
    median = np.nanmedian(train, axis=0)
    filled = np.where(np.isnan(train), median, train)
    lo, hi = filled.min(axis=0), filled.max(axis=0)
    # preprocess gets the correct statistics from here, so that a mistake in fit_preprocessing
    # does not cost its points again
    probe = f"""
_train = np.array({_lit(train)}, dtype=float)
_other = np.array({_lit(other)}, dtype=float)
_other_copy = _other.copy()
_stats = fit_preprocessing(_train)
_Z = preprocess(_other, {{"median": np.array({_lit(median)}), "min": np.array({_lit(lo)}), "max": np.array({_lit(hi)})}})
{{"median": np.asarray(_stats["median"], dtype=float), "min": np.asarray(_stats["min"], dtype=float),
  "max": np.asarray(_stats["max"], dtype=float), "Z": np.asarray(_Z, dtype=float), "dtype": str(np.asarray(_Z).dtype),
  "input_unchanged": bool(np.array_equal(_other, _other_copy, equal_nan=True))}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    expected = (np.where(np.isnan(other), median, other) - lo) / (hi - lo)

    known = (~np.isnan(train)).sum(axis=0)
    got_median = np.asarray(got["median"], dtype=float)
    assert got_median.shape == (9,), f"fit_preprocessing(X) for X of shape (61, 9): stats['median'] should have shape (9,), got {got_median.shape}"
    for j, name in enumerate(FEATURES):
        parity = "an even number: the mean of the two middle values" if known[j] % 2 == 0 else "an odd number: the middle value"
        assert_close(float(got_median[j]), float(median[j]), f"fit_preprocessing(X) on 61 hidden training rows: "
                     f"stats['median'][{j}] ({name}, {known[j]} known values, {parity}; NaN ignored)", rtol=1e-9)
    assert_close(got["min"], lo, "fit_preprocessing(X) on 61 hidden training rows: stats['min'], the column minima after "
                 "the NaNs are replaced by the medians", rtol=1e-9)
    assert_close(got["max"], hi, "fit_preprocessing(X) on 61 hidden training rows: stats['max'], the column maxima after "
                 "the NaNs are replaced by the medians", rtol=1e-9)
    assert got["input_unchanged"], "preprocess(X, stats) must not modify its input array X (fill the NaNs in a copy)"
    assert got["dtype"] == "float32", f"preprocess(X, stats) should return float32 values, got {got['dtype']}"
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
    """WaterNet: layers, batch norm before ReLU, Kaiming initialisation, logits out"""
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
_more = [WaterNet() for _ in range(3)]
_pooled = {{_fc: torch.cat([getattr(_m, _fc).weight.detach().flatten() for _m in [_net] + _more])
           for _fc in ("fc1", "fc2", "fc3")}}
{{"children": _children, "sd0": _sd0, "sd1": _sd1, "out_train": _out_train, "out_eval": _out_eval,
  "n_params": int(sum(_p.numel() for _p in _net.parameters())), "pooled": _pooled,
  "eps": [float(getattr(_net, _bn).eps) for _bn in ("bn1", "bn2")],
  "bn_momentum": [float(getattr(_net, _bn).momentum) for _bn in ("bn1", "bn2")]}}
"""
    got = student.eval(probe)
    for name, kind in [("fc1", "Linear"), ("bn1", "BatchNorm1d"), ("fc2", "Linear"), ("bn2", "BatchNorm1d"),
                       ("fc3", "Linear"), ("dropout", "Dropout")]:
        assert got["children"].get(name) == kind, (
            f"WaterNet() should have an attribute {name} of type nn.{kind}; its layers are {got['children']}")
    sd = got["sd0"]
    shapes = {k: tuple(np.asarray(v).shape) for k, v in sd.items()}
    for key, shape in [("fc1.weight", (16, 9)), ("fc2.weight", (8, 16)), ("fc3.weight", (1, 8)),
                       ("bn1.weight", (16,)), ("bn2.weight", (8,))]:
        assert shapes.get(key) == shape, f"WaterNet(): {key} should have shape {shape} (9 -> 16 -> 8 -> 1), got {shapes.get(key)}"
    assert got["n_params"] == 353, f"WaterNet() should have 353 parameters (305 + 48 in batch norm), got {got['n_params']}"
    assert got["eps"] == [1e-5, 1e-5] and got["bn_momentum"] == [0.1, 0.1], (
        f"bn1 and bn2 should be plain nn.BatchNorm1d(n) (eps 1e-5, momentum 0.1), got eps {got['eps']}, "
        f"momentum {got['bn_momentum']}")
    # Kaiming-uniform for ReLU: U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)). Over the weights of four
    # networks the largest |weight| comes within 10% of the bound (for fc3, 32 weights, within 20%)
    # with a probability above 0.999; narrower schemes (PyTorch's default, Xavier, fan_out) do not.
    for fc, fan_in, reach in (("fc1", 9, 0.9), ("fc2", 16, 0.9), ("fc3", 8, 0.8)):
        bound = math.sqrt(6 / fan_in)
        pooled = np.abs(np.asarray(got["pooled"][fc], dtype=float))
        biggest = float(pooled.max())
        assert reach * bound < biggest <= bound + 1e-6, (
            f"{fc}'s weights over 4 calls of WaterNet() should be Kaiming-uniform for ReLU, U(-b, b) with "
            f"b = sqrt(6 / fan_in) = sqrt(6/{fan_in}) = {bound:.3f}, filling that range; the largest |weight| is "
            f"{biggest:.3f} (PyTorch's default stays within {1 / math.sqrt(fan_in):.3f}; use "
            "nn.init.kaiming_uniform_(weight, nonlinearity='relu'), fan_in mode)")
    for fc in ("fc1", "fc2", "fc3"):
        assert_close(np.asarray(sd[f"{fc}.bias"]), np.zeros_like(np.asarray(sd[f"{fc}.bias"])),
                     f"WaterNet(): {fc}'s bias at initialisation (zeros)")
    assert tuple(np.asarray(got["out_train"]).shape) == (12, 1), (
        f"WaterNet(p_dropout=0.0) on a batch of 12 rows should return logits of shape (12, 1), got "
        f"{tuple(np.asarray(got['out_train']).shape)}")
    assert_close(got["out_train"], _net_oracle(sd, x, training=True),
                 "WaterNet(p_dropout=0.0) in training mode on 12 hidden rows (expected fc1 -> bn1 -> ReLU -> fc2 -> bn2 "
                 "-> ReLU -> fc3, a logit without sigmoid)", rtol=1e-4, atol=1e-5)
    running = {}
    xt = torch.tensor(x, dtype=F64)
    h = xt
    t = {k: torch.tensor(np.asarray(v), dtype=F64) for k, v in sd.items()}
    for fc, bn in (("fc1", "bn1"), ("fc2", "bn2")):
        h = F.linear(h, t[f"{fc}.weight"], t[f"{fc}.bias"])
        running[f"{bn}.running_mean"] = 0.1 * h.mean(0)
        running[f"{bn}.running_var"] = 0.9 + 0.1 * h.var(0, unbiased=True)
        h = torch.relu(F.batch_norm(h, None, None, t[f"{bn}.weight"], t[f"{bn}.bias"], training=True))
    for key, value in running.items():
        assert_close(got["sd1"][key], value.numpy(), f"WaterNet(p_dropout=0.0): {key} after one forward pass in "
                     "training mode on 12 rows (batch norm directly on the linear layer's output)", rtol=1e-4, atol=1e-5)
    assert_close(got["out_eval"], _net_oracle(sd, x, training=False, running={
        k: torch.tensor(np.asarray(v), dtype=F64) for k, v in got["sd1"].items()}),
        "WaterNet(p_dropout=0.0) in eval mode (batch norm uses its running statistics)", rtol=1e-4, atol=1e-5)
    ref = reference.eval(probe)
    assert ref["n_params"] == 353


def _relu(a):
    return np.maximum(np.asarray(a, dtype=float), 0.0)


@pytest.mark.points(2)
def test_water_net_dropout(student, reference, grading_seed):
    """WaterNet: one nn.Dropout(p_dropout) after each hidden ReLU, active only in training"""
    rng = _rng(grading_seed, 16)
    x = _round(rng.random((20, 9)), 5)
    probe = f"""
_net = WaterNet(p_dropout=0.5)
_net.train()
_calls = []
def _hook(_name):
    def _record(_module, _inputs, _output):
        _calls.append([_name, _inputs[0].detach().clone(), _output.detach().clone()])
    return _record
_handles = [_m.register_forward_hook(_hook(_n)) for _n, _m in _net.named_children()]
_x = torch.tensor({_lit(x)}, dtype=torch.float32)
with torch.no_grad():
    _out = _net(_x)
    _differ = not torch.equal(_net(_x), _net(_x))
    _n_train_calls = len(_calls)
    _net.eval()
    _same = torch.equal(_net(_x), _net(_x))
for _h in _handles:
    _h.remove()
{{"order": [_c[0] for _c in _calls[:_n_train_calls // 3]], "calls": [[_c[1], _c[2]] for _c in _calls[:_n_train_calls // 3]],
  "out": _out, "train_differs": bool(_differ), "eval_same": bool(_same),
  "p": float(getattr(getattr(_net, "dropout", None), "p", -1.0)),
  "p_default": float(getattr(getattr(WaterNet(), "dropout", None), "p", -1.0)),
  "p_other": float(getattr(getattr(WaterNet(0.3), "dropout", None), "p", -1.0))}}
"""
    got = student.eval(probe)
    assert got["p"] == 0.5, f"WaterNet(p_dropout=0.5).dropout should be nn.Dropout(p=0.5), got p = {got['p']}"
    assert got["p_other"] == 0.3, f"WaterNet(0.3).dropout should be nn.Dropout(p=0.3), got p = {got['p_other']}"
    assert got["p_default"] == 0.1, f"WaterNet() should use the default p_dropout=0.1, got p = {got['p_default']}"
    known = ("fc1", "bn1", "fc2", "bn2", "fc3", "dropout")
    steps = [(name, np.asarray(i, dtype=float), np.asarray(o, dtype=float))
             for name, (i, o) in zip(got["order"], got["calls"]) if name in known]
    order = [name for name, _, _ in steps]
    expected_order = ["fc1", "bn1", "dropout", "fc2", "bn2", "dropout", "fc3"]
    assert order == expected_order, (
        f"one forward pass of WaterNet(p_dropout=0.5) in training mode should call its layers in the order "
        f"{expected_order} (one nn.Dropout after EACH hidden layer's ReLU), got {order}")
    assert_close(steps[0][1], x, "WaterNet's input to fc1", rtol=1e-6, atol=1e-6)
    links = {("bn1", "dropout"): "ReLU of bn1's output", ("bn2", "dropout"): "ReLU of bn2's output"}
    for (prev, _, prev_out), (name, inp, _) in zip(steps, steps[1:]):
        wanted = _relu(prev_out) if (prev, name) in links else prev_out
        how = links.get((prev, name), f"{prev}'s output")
        assert_close(inp, wanted, f"WaterNet(p_dropout=0.5) in training mode: the input of {name} should be the {how} "
                     f"(order fc1 -> bn1 -> ReLU -> dropout -> fc2 -> bn2 -> ReLU -> dropout -> fc3)", rtol=1e-5, atol=1e-6)
    for k in (2, 5):
        inp, out = steps[k][1], steps[k][2]
        kept = out != 0
        assert np.allclose(out[kept], 2 * inp[kept], rtol=1e-5, atol=1e-6) and (~kept & (inp != 0)).any(), (
            "WaterNet(p_dropout=0.5) in training mode: dropout should zero some activations and double the others")
    assert_close(got["out"], steps[-1][2], "WaterNet's output should be fc3's output (a logit, no sigmoid)", rtol=1e-6, atol=1e-6)
    assert got["train_differs"], "WaterNet(p_dropout=0.5): two forward passes in training mode should differ (dropout active)"
    assert got["eval_same"], "WaterNet(p_dropout=0.5): in eval mode two forward passes should agree (dropout off)"
    ref = reference.eval(probe)
    assert ref["p"] == 0.5


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


def _loader_src(X, y, batch_size: int) -> str:
    return (f"DataLoader(torch.utils.data.TensorDataset(torch.tensor({_lit(X)}, dtype=torch.float32), "
            f"torch.tensor({_lit(y)}, dtype=torch.float32)), batch_size={batch_size})")


_LOSSES = {"BCEWithLogitsLoss": F.binary_cross_entropy_with_logits, "MSELoss": F.mse_loss}


def _epoch_oracle(w0, b0, X, y, loss: str, opt: dict, batch_size: int):
    """One epoch of a Linear(9, 1) in float64 with torch.optim.SGD: (mean batch loss, weight, bias)."""
    w = torch.tensor(w0, dtype=F64, requires_grad=True)
    b = torch.tensor(b0, dtype=F64, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], **opt)
    losses = []
    for start in range(0, len(X), batch_size):
        xb, yb = torch.tensor(X[start:start + batch_size], dtype=F64), torch.tensor(y[start:start + batch_size], dtype=F64)
        optimizer.zero_grad()
        value = _LOSSES[loss](F.linear(xb, w, b), yb)
        value.backward()
        optimizer.step()
        losses.append(value.item())
    return sum(losses) / len(losses), w.detach().numpy(), b.detach().numpy()


@pytest.mark.points(2)
def test_train_epoch(student, reference, grading_seed):
    """train_epoch: zero_grad, forward, loss, backward, step for every batch; returns the mean batch loss"""
    X, y, rng = _loop_data(grading_seed, 13)
    runs = [("BCEWithLogitsLoss", {"lr": 0.5}, 4), ("MSELoss", {"lr": 0.1, "momentum": 0.9}, 3)]
    params = [(_round(rng.normal(scale=0.5, size=(1, 9)), 4), _round(rng.normal(scale=0.5, size=1), 4)) for _ in runs]
    probe = "_results = []\n"
    for (loss, opt, batch_size), (w0, b0) in zip(runs, params):
        opt_src = ", ".join(f"{k}={v!r}" for k, v in opt.items())
        probe += f"""
_model = nn.Linear(9, 1)
with torch.no_grad():
    _model.weight.copy_(torch.tensor({_lit(w0)}))
    _model.bias.copy_(torch.tensor({_lit(b0)}))
_opt = torch.optim.SGD(_model.parameters(), {opt_src})
_model.eval()
_loss = train_epoch(_model, {_loader_src(X, y, batch_size)}, nn.{loss}(), _opt)
_results.append({{"loss": float(_loss), "weight": _model.weight.detach(), "bias": _model.bias.detach(),
                 "training": bool(_model.training)}})
"""
    probe += "_results\n"
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (loss, opt, batch_size), (w0, b0), answer, ref_answer in zip(runs, params, got, ref):
        n_batches = -(-len(X) // batch_size)
        mean_loss, w, b = _epoch_oracle(w0, b0, X, y, loss, opt, batch_size)
        call = (f"train_epoch(model, loader, nn.{loss}(), torch.optim.SGD(model.parameters(), "
                f"{', '.join(f'{k}={v}' for k, v in opt.items())})) with a Linear(9, 1) and {len(X)} hidden rows in "
                f"{n_batches} batches of {batch_size}")
        assert_close(answer["weight"], w, f"{call}: the weights afterwards (each step must use only its own batch's "
                     "gradient: optimizer.zero_grad() before backward; use the criterion and optimizer passed in)",
                     rtol=1e-4, atol=1e-5)
        assert_close(answer["bias"], b, f"{call}: the bias afterwards", rtol=1e-4, atol=1e-5)
        assert_close(answer["loss"], mean_loss, f"{call}: the value returned, the mean of the {n_batches} batch losses "
                     "(each measured before its update)", rtol=1e-4, atol=1e-6)
        assert answer["training"], f"{call} on a model in eval mode: train_epoch should switch it to training mode (model.train())"
        assert_close(answer["loss"], ref_answer["loss"], f"{call}: the loss, compared with the reference solution",
                     rtol=1e-5, atol=1e-6)


def _eval_model(rng):
    """Weights of Linear(9, 6) -> ReLU -> Dropout(0.5) -> Linear(6, 1) whose logits on X spread
    around 0.25 (several between 0 and 0.5: probabilities just above one half)."""
    w1, b1 = _round(rng.normal(scale=0.5, size=(6, 9)), 4), _round(rng.normal(scale=0.5, size=6), 4)
    w2 = _round(rng.normal(scale=0.8, size=(1, 6)), 4)
    return w1, b1, w2


def _eval_logits(X, w1, b1, w2, b2):
    t = lambda a: torch.tensor(np.asarray(a), dtype=F64)  # noqa: E731
    return F.linear(torch.relu(F.linear(t(X), t(w1), t(b1))), t(w2), t(b2)).numpy()


@pytest.mark.points(2)
def test_evaluate(student, reference, grading_seed):
    """evaluate: eval mode, no gradients, mean batch loss and accuracy, then back to training mode"""
    X, y, rng = _loop_data(grading_seed, 14)
    w1, b1, w2 = _eval_model(rng)
    raw = _eval_logits(X, w1, b1, w2, [0.0])
    scale = float(raw.std()) or 1.0
    w2 = _round(w2 / scale, 4)
    raw = _eval_logits(X, w1, b1, w2, [0.0])
    b2 = _round([0.25 - float(np.median(raw))], 4)
    logits = _eval_logits(X, w1, b1, w2, b2)
    y = y.copy()
    y[(logits > 0) & (logits < 0.5)] = 1.0     # a threshold of 0.5 on the logits would get these wrong
    runs = [("BCEWithLogitsLoss", 4), ("MSELoss", 3)]
    probe = f"""
_model = nn.Sequential(nn.Linear(9, 6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 1))
with torch.no_grad():
    for _layer, _w, _b in ((_model[0], {_lit(w1)}, {_lit(b1)}), (_model[3], {_lit(w2)}, {_lit(b2)})):
        _layer.weight.copy_(torch.tensor(_w))
        _layer.bias.copy_(torch.tensor(_b))
_before = [_p.detach().clone() for _p in _model.parameters()]
_model.train()
_out = []
for _criterion, _loader in ((nn.BCEWithLogitsLoss(), {_loader_src(X, y, 4)}), (nn.MSELoss(), {_loader_src(X, y, 3)})):
    _r1 = evaluate(_model, _loader, _criterion)
    _r2 = evaluate(_model, _loader, _criterion)
    _out.append({{"r1": {{"loss": float(_r1["loss"]), "accuracy": float(_r1["accuracy"])}},
                 "r2": {{"loss": float(_r2["loss"]), "accuracy": float(_r2["accuracy"])}}}})
{{"runs": _out, "training": bool(_model.training), "grads": [_p.grad is None for _p in _model.parameters()],
  "unchanged": all(torch.equal(_p, _q) for _p, _q in zip(_model.parameters(), _before))}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    accuracy = float(((logits > 0).astype(float) == y).mean())
    model = "Linear(9, 6) -> ReLU -> Dropout(0.5) -> Linear(6, 1)"
    for (loss, batch_size), answer, ref_answer in zip(runs, got["runs"], ref["runs"]):
        starts = range(0, len(X), batch_size)
        batch_losses = [_LOSSES[loss](torch.tensor(logits[s:s + batch_size]), torch.tensor(y[s:s + batch_size])).item()
                        for s in starts]
        call = f"evaluate(model, loader, nn.{loss}()) for a {model} in training mode and {len(X)} rows in batches of {batch_size}"
        assert_close(answer["r1"]["loss"], sum(batch_losses) / len(batch_losses),
                     f"{call}: 'loss', the mean of the {len(batch_losses)} batch losses computed in eval mode "
                     "(model.eval(): dropout off) with the criterion passed in", rtol=1e-4, atol=1e-6)
        assert_close(answer["r1"]["accuracy"], accuracy,
                     f"{call}: 'accuracy', the correct predictions (1 where the logit is above 0, i.e. the probability "
                     f"above 0.5) over all {len(X)} samples", rtol=1e-6, atol=1e-9)
        assert_close(answer["r2"], answer["r1"], f"{call}, called a second time (evaluate must not change the model)",
                     rtol=1e-6)
        assert_close(answer["r1"], ref_answer["r1"], f"{call}, compared with the reference solution", rtol=1e-5, atol=1e-7)
    assert got["unchanged"], "evaluate(model, loader, criterion) must not change the model's parameters"
    assert all(got["grads"]), "evaluate(model, loader, criterion) should compute no gradients (torch.no_grad(), no backward())"
    assert got["training"], "after evaluate(model, loader, criterion) the model should be back in training mode (model.train())"


def _overfit_setup(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    features, labels = make_rows(16, int(rng.integers(1 << 30)))
    median = np.nanmedian(features, axis=0)
    filled = np.where(np.isnan(features), median, features)
    X = _round((filled - filled.mean(axis=0)) / filled.std(axis=0), 5)
    y = labels.reshape(-1, 1).astype(float)
    return X, y, rng


@pytest.mark.points(1)
def test_overfit_one_batch(student, reference, grading_seed):
    """overfit_one_batch drives a small network to accuracy 1.0 on one batch"""
    X, y, _ = _overfit_setup(grading_seed, 15)
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
    call = "overfit_one_batch(model, X, y, steps=400) with a 9 -> 32 -> 1 MLP and one batch of 16 samples"
    assert acc == 1.0, f"{call}: the accuracy on that batch should be 1.0, got {acc:.3f}"
    assert 0 <= loss < 0.15, f"{call}: the loss should be close to 0, got {loss:.4f} (it started at {before:.4f})"
    assert after <= loss + 1e-3, (
        f"{call} should return the loss of its last step: it returned {loss:.4f}, but the model's loss "
        f"on the batch is now {after:.4f}")
    ref = reference.eval(probe)
    assert ref[1] == 1.0


_OVERFIT_STEPS = (1, 6)


def _overfit_oracle(X, y, weights, steps):
    """Adam (default learning rate) on BCEWithLogitsLoss, in float64, with the model
    Linear(9, 8) -> ReLU -> BatchNorm1d(8) -> Linear(8, 1) in training mode."""
    model = torch.nn.Sequential(torch.nn.Linear(9, 8), torch.nn.ReLU(), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1)).double()
    with torch.no_grad():
        for (name, p) in model.named_parameters():
            p.copy_(torch.tensor(weights[name], dtype=F64))
    optimizer = torch.optim.Adam(model.parameters())
    Xt, yt = torch.tensor(X, dtype=F64), torch.tensor(y, dtype=F64)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        out = model(Xt)
        loss = F.binary_cross_entropy_with_logits(out, yt)
        loss.backward()
        optimizer.step()
    acc = float(((out.detach().numpy() > 0).astype(float) == y).mean())
    return loss.item(), acc, {n: p.detach().numpy() for n, p in model.named_parameters()}


@pytest.mark.points(2)
def test_overfit_matches_adam(student, reference, grading_seed):
    """overfit_one_batch: the same steps as Adam with its default learning rate, in training mode"""
    X, y, rng = _overfit_setup(grading_seed, 17)
    weights = {"0.weight": _round(rng.normal(scale=0.4, size=(8, 9)), 4), "0.bias": _round(rng.normal(scale=0.2, size=8), 4),
               "2.weight": _round(1 + rng.normal(scale=0.1, size=8), 4), "2.bias": _round(rng.normal(scale=0.1, size=8), 4),
               "3.weight": _round(rng.normal(scale=0.4, size=(1, 8)), 4), "3.bias": _round(rng.normal(scale=0.1, size=1), 4)}
    setup = "".join(f"        _params[{name!r}].copy_(torch.tensor({_lit(value)}))\n" for name, value in weights.items())
    probe = f"""
_X = torch.tensor({_lit(X)}, dtype=torch.float32)
_y = torch.tensor({_lit(y)}, dtype=torch.float32)
_out = []
for _steps in {list(_OVERFIT_STEPS)!r}:
    _model = nn.Sequential(nn.Linear(9, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 1))
    _params = dict(_model.named_parameters())
    with torch.no_grad():
{setup}    _model.eval()  # handed over in eval mode: overfit_one_batch must switch it to training mode
    _loss, _acc = overfit_one_batch(_model, _X, _y, steps=_steps)
    _out.append({{"loss": float(_loss), "acc": float(_acc),
                 "params": {{_n: _p.detach().clone() for _n, _p in _model.named_parameters()}}}})
_out
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    for steps, answer, ref_answer in zip(_OVERFIT_STEPS, got, ref):
        loss, acc, params = _overfit_oracle(X, y, weights, steps)
        call = (f"overfit_one_batch(model, X, y, steps={steps}) with Linear(9, 8) -> ReLU -> BatchNorm1d(8) -> "
                f"Linear(8, 1) and hidden weights, handed over in eval mode, one batch of 16 samples")
        hint = ("torch.optim.Adam(model.parameters()) with its default learning rate, nn.BCEWithLogitsLoss, the model in "
                "training mode, optimizer.zero_grad() before every backward, exactly `steps` steps")
        for name, value in params.items():
            assert_close(answer["params"][name], value, f"{call}: parameter {name!r} afterwards, compared with {hint}",
                         rtol=1e-4, atol=2e-6)
        assert_close(answer["loss"], loss, f"{call}: the loss returned (that of the last step, before its update)",
                     rtol=1e-4, atol=1e-6)
        assert_close(answer["acc"], acc, f"{call}: the accuracy returned (that of the last step's outputs)", rtol=0, atol=1e-9)
        assert_close(answer["loss"], ref_answer["loss"], f"{call}: the loss, compared with the reference solution",
                     rtol=1e-4, atol=1e-6)


def _predict_case(grading_seed: int):
    """Raw rows (NaN where missing), training statistics that differ from the rows' own, and the
    weights of Linear(9, 6) -> BatchNorm1d(6) -> ReLU -> Dropout(0.5) -> Linear(6, 1) whose
    logits spread around 0.25."""
    rng = _rng(grading_seed, 18)
    train, _ = make_rows(200, int(rng.integers(1 << 30)))
    rows, _ = make_rows(40, int(rng.integers(1 << 30)))
    rows[3, 2] = 9e4    # far above the training maximum: refitting min/max on these rows rescales the column
    rows[7, 5] = 100.0  # far below the training minimum
    median = np.nanmedian(train, axis=0)
    filled = np.where(np.isnan(train), median, train)
    stats = {"median": median, "min": filled.min(axis=0), "max": filled.max(axis=0)}
    w1 = _round(rng.normal(scale=0.8, size=(6, 9)), 4)
    w1[:, 2] *= 4
    w1[:, 5] *= 4
    w1 = _round(w1, 4)
    b1 = _round(rng.normal(scale=0.3, size=6), 4)
    gamma, beta = _round(1 + rng.normal(scale=0.2, size=6), 4), _round(rng.normal(scale=0.2, size=6), 4)
    z = (np.where(np.isnan(rows), median, rows) - stats["min"]) / (stats["max"] - stats["min"])
    h = z @ w1.T + b1
    running_mean, running_var = _round(h.mean(axis=0) + 0.3, 4), _round(h.var(axis=0) * 1.5 + 0.01, 4)
    hidden = np.maximum((h - running_mean) / np.sqrt(running_var + 1e-5) * gamma + beta, 0)
    w2 = _round(rng.normal(scale=1.0, size=(1, 6)), 4)
    raw = hidden @ w2.T
    w2 = _round(w2 / (float(raw.std()) or 1.0), 4)
    raw = hidden @ w2.T
    b2 = _round([0.25 - float(np.median(raw))], 4)
    logits = (raw + b2)[:, 0]
    for i in np.flatnonzero(np.abs(logits) < 1e-3):   # keep every logit clearly away from the threshold
        rows[i, 8] = np.nan if not np.isnan(rows[i, 8]) else 4.0
    z = (np.where(np.isnan(rows), median, rows) - stats["min"]) / (stats["max"] - stats["min"])
    h = z @ w1.T + b1
    hidden = np.maximum((h - running_mean) / np.sqrt(running_var + 1e-5) * gamma + beta, 0)
    logits = (hidden @ w2.T + b2)[:, 0]
    weights = {"0.weight": w1, "0.bias": b1, "1.weight": gamma, "1.bias": beta, "4.weight": w2, "4.bias": b2}
    buffers = {"1.running_mean": running_mean, "1.running_var": running_var}
    return rows, stats, weights, buffers, logits


@pytest.mark.points(2)
def test_predict(student, reference, grading_seed):
    """predict: training statistics, eval mode, 1 where the logit is above 0 (probability above 0.5)"""
    rows, stats, weights, buffers, logits = _predict_case(grading_seed)
    setup = "".join(f"    _state[{name!r}].copy_(torch.tensor({_lit(value)}))\n" for name, value in {**weights, **buffers}.items())
    # predict is graded with a fake preprocess (a mistake there costs its points in its own test):
    # it hands back the rows preprocessed here, as data (never a preprocess implementation)
    z = ((np.where(np.isnan(rows), stats["median"], rows) - stats["min"]) / (stats["max"] - stats["min"])).astype(np.float32)
    probe = f"""
_Z = np.array({_lit(z)}, dtype=np.float32)
_calls = []
def _fake_preprocess(X, stats):
    _calls.append([np.asarray(X, dtype=float), {{_k: np.asarray(_v, dtype=float) for _k, _v in dict(stats).items()}}])
    return _Z.copy()
""" + with_fakes("predict", {"preprocess": "_fake_preprocess"}) + f"""
_model = nn.Sequential(nn.Linear(9, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 1))
_state = dict(_model.state_dict(keep_vars=True))
with torch.no_grad():
{setup}_model.train()
_stats = {{_k: np.array(_v) for _k, _v in {{"median": {_lit(stats["median"])}, "min": {_lit(stats["min"])},
                                           "max": {_lit(stats["max"])}}}.items()}}
_rows = np.array({_lit(rows)}, dtype=float)
_pred = _predict(_model, _stats, _rows.copy())
_pred = np.asarray(_pred)
{{"pred": _pred.astype(float), "dtype": str(_pred.dtype), "shape": list(_pred.shape), "calls": _calls}}
"""
    got = student.eval(probe)
    call = ("predict(model, stats, X_raw) for a Linear(9, 6) -> BatchNorm1d(6) -> ReLU -> Dropout(0.5) -> Linear(6, 1) "
            "handed over in training mode, training statistics made by the grader and 40 raw rows (NaN where missing, "
            "two values outside the training range; preprocess replaced by a stand-in that returns these rows preprocessed by the "
            "grader, so that a mistake in your preprocess is not counted twice)")
    for X, given in got["calls"]:   # what predict handed to preprocess (the stand-in records it)
        X = np.asarray(X)
        assert X.shape == rows.shape and np.allclose(X, rows, rtol=1e-6, atol=0, equal_nan=True), \
            f"{call}: predict should hand preprocess the raw rows X_raw (NaNs included), not another array"
        for key in ("median", "min", "max"):
            assert key in given and np.allclose(np.asarray(given[key], dtype=float), stats[key], rtol=0, atol=1e-12), \
                (f"{call}: predict should preprocess the rows with the training statistics it is given "
                 f"(stats['{key}']), never statistics refitted on X_raw: a model only knows its training data")
    assert got["shape"] == [40], f"{call}: expected one prediction per row, shape (40,), got shape {tuple(got['shape'])}"
    assert np.dtype(got["dtype"]).kind in "iu", f"{call}: expected an integer array of 0/1, got dtype {got['dtype']}"
    expected = (logits > 0).astype(float)
    pred = np.asarray(got["pred"], dtype=float)
    wrong = np.flatnonzero(pred != expected)
    if len(wrong):
        i = int(wrong[0])
        hints = []
        if np.all(pred == 1):
            hints.append("every prediction is 1: is the threshold 0 applied to probabilities?")
        if np.array_equal(pred, (logits > 0.5).astype(float)):
            hints.append("these are the predictions of 'logit > 0.5': a logit above 0 already means a probability above 0.5")
        hint = " ".join(hints) or ("fill NaNs and scale with the given stats (never refit them on X_raw), call "
                                   "model.eval() (batch norm's running statistics, no dropout), predict 1 where the "
                                   "logit is above 0")
        raise AssertionError(
            f"{call}: {len(wrong)} of 40 predictions differ; row {i} has the logit {logits[i]:.4f} (probability "
            f"{1 / (1 + math.exp(-logits[i])):.3f}), so expected {int(expected[i])}, got {int(pred[i])}. {hint}")
    ref = reference.eval(probe)
    assert_close(ref["pred"], expected, "grader setup: the reference's predictions", rtol=0, atol=0)


@pytest.mark.points(3)
def test_model_quality(student, reference, grading_seed):
    """The trained model predicts hidden water samples well (accuracy threshold)"""
    features, labels = make_rows(N_HIDDEN, grading_seed % (1 << 31) + 12345)
    # The notebook's trained `model` on hidden rows, preprocessed with the notebook's own `stats`
    # and `preprocess` (the pipeline it was trained with), run here in eval mode: predict is graded
    # on its own in test_predict.
    probe = f"""
_Z = torch.as_tensor(np.asarray(preprocess(np.array({_lit(features)}, dtype=float), stats), dtype=np.float32))
_was_training = model.training
model.eval()
try:
    with torch.no_grad():
        _logits = model(_Z)
finally:
    model.train(_was_training)
(_logits.reshape(len(_Z), -1)[:, 0] > 0).long().numpy()
"""
    got = np.asarray(student.eval(probe))
    assert got.shape == (N_HIDDEN,), f"the trained model should give one logit per row, {N_HIDDEN} in all, got {got.shape}"
    accuracy = float((got == labels).mean())
    ref_accuracy = float((np.asarray(reference.eval(probe)) == labels).mean())
    majority = float(max(labels.mean(), 1 - labels.mean()))
    assert accuracy >= QUALITY_THRESHOLD, (
        f"the notebook's trained model (model.eval(), logit > 0) on {N_HIDDEN} hidden water samples, preprocessed with "
        f"preprocess(rows, stats): accuracy {accuracy:.3f}; it should be at least {QUALITY_THRESHOLD:.2f} (always answering "
        f"the majority class gives {majority:.3f}, the reference model {ref_accuracy:.3f}). Check the training loop "
        "(train_epoch) and the preprocessing the model was trained with")
