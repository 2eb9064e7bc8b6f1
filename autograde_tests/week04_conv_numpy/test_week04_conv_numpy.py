"""Hidden tests for week04_conv_numpy (optional companion of week 4): convolution and pooling in
NumPy (NHWC layout, weights (f, f, n_C_prev, n_C)), their backward passes, a PyTorch residual
block, parameter counts and the multiplication counts of normal, bottleneck and
depthwise-separable convolutions.

Total: 35 points over 17 tests.

Each function is graded on its own, on inputs made here from `grading_seed` (several strides,
paddings, filter sizes, channel counts and batch sizes). The backward passes get their caches
built by the probe, `(A_prev, W, b, hparameters)` and `(A_prev, hparameters)`, not from the
student's forward functions. Where a graded function calls another graded one, the probe runs it
with the grader's stand-ins (`grader.testing.with_fakes`), none of them a correct
implementation: `zero_pad` pads with 0.25 instead of 0, `conv_single_step` returns
`sum(a * W) - 3 b` instead of `sum(a * W) + b`, and `conv_output_size` is a table of the sizes
the grader computed. The expected values are computed here for both cases (stand-in used, or the
work done inline), so a mistake in a helper costs its points once.

Expected values are computed here, in the grader process, with independent oracles: PyTorch in
float64 (`F.conv2d`, `F.max_pool2d`, `F.avg_pool2d` after the change of layout, autograd for the
gradients, `F.batch_norm` for the residual block), centred differences of the PyTorch forward
(so a backward pass wrong by a constant factor cannot pass by agreeing with its own forward),
`np.pad`, and closed forms. The reference kernel is asked the same probes as a cross-check.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked (the engine uses --assert=plain, but an outer pytest session may rewrite this module).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.testing import array_src, assert_close, is_close, remember, with_fakes

F64 = torch.float64
TOL = dict(rtol=1e-5, atol=1e-6)          # float64 NumPy against float64 PyTorch; room for float32 sums
NUM_TOL = dict(rtol=1e-5, atol=2e-5)      # against centred differences (eps = 1e-6, float64)

PAD_VALUE = 0.25                          # what the stand-in zero_pad pads with
STANDINS = f'''
def _fake_pad(X, pad):
    _X = np.asarray(X)
    _padded = np.full((_X.shape[0], _X.shape[1] + 2 * pad, _X.shape[2] + 2 * pad, _X.shape[3]), {PAD_VALUE!r})
    _padded[:, pad:pad + _X.shape[1], pad:pad + _X.shape[2], :] = _X
    return _padded

def _fake_step(a_slice_prev, W, b):
    return float(np.sum(np.asarray(a_slice_prev) * np.asarray(W))) - 3.0 * float(np.sum(b))

def _fake_size(n, f, p=0, s=1):
    _key = (int(n), int(f), int(p), int(s))
    if _key not in _SIZES:
        raise KeyError(f"the grader's table of output sizes has no entry for conv_output_size{{_key}}")
    return _SIZES[_key]
'''
FAKES = {"zero_pad": "_fake_pad", "conv_single_step": "_fake_step", "conv_output_size": "_fake_size"}
STANDIN_NOTE = ("(while grading, conv_forward ran with the grader's stand-ins for the helpers it may call: zero_pad "
                f"pads with {PAD_VALUE} and conv_single_step returns sum(a * W) - 3 b, so that a mistake in a helper "
                "costs points only in its own test; the expected values allow for them, and for doing the work inline)")


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, k])


def _normal(rng: np.random.Generator, shape) -> np.ndarray:
    return np.round(rng.normal(size=shape), 3)


def _distinct(rng: np.random.Generator, shape) -> np.ndarray:
    """Values that are all different, at least 0.01 apart: max pooling has no ties."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) - n / 2) / 100.0


def _lit(array) -> str:
    return array_src(np.asarray(array, dtype=float))


def _sizes_src(cases) -> str:
    """The lookup table of the stand-in conv_output_size: every (n, f, p, s) of the cases."""
    table = {}
    for n_values, f, p, s in cases:
        for n in n_values:
            table[(int(n), int(f), int(p), int(s))] = (int(n) + 2 * int(p) - int(f)) // int(s) + 1
    return f"_SIZES = {table!r}\n"


def _closest(answer, candidates):
    """(matches one candidate, the candidate closest to the answer) for arrays."""
    answer = np.asarray(answer, dtype=float)
    best, gap = candidates[0], np.inf
    for cand in candidates:
        if answer.shape == cand.shape:
            if is_close(answer, cand, **TOL):
                return True, cand
            d = float(np.nanmax(np.abs(answer - cand))) if answer.size else 0.0
            if d < gap:
                best, gap = cand, d
    return False, best


def _nchw(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=F64).permute(0, 3, 1, 2)


def _torch_conv(A: torch.Tensor, W: torch.Tensor, b: torch.Tensor, stride: int, pad: int, pad_value: float = 0.0):
    """Z in NHWC for A (NHWC), W (f, f, n_C_prev, n_C), b (1, 1, 1, n_C), padding with pad_value."""
    x = A.permute(0, 3, 1, 2)
    if pad:
        x = F.pad(x, (pad, pad, pad, pad), value=pad_value)
    return F.conv2d(x, W.permute(3, 2, 0, 1), b.reshape(-1), stride=stride).permute(0, 2, 3, 1)


@remember
def _conv_oracle(A, W, b, stride, pad, pad_value=0.0):
    return _torch_conv(torch.tensor(A, dtype=F64), torch.tensor(W, dtype=F64), torch.tensor(b, dtype=F64),
                       stride, pad, pad_value).numpy()


@remember
def _conv_grads(A, W, b, stride, pad, dZ, pad_value=0.0):
    """(dA_prev, dW, db) by autograd for J = sum(Z * dZ)."""
    t = [torch.tensor(v, dtype=F64, requires_grad=True) for v in (A, W, b)]
    (_torch_conv(*t, stride, pad, pad_value) * torch.tensor(dZ, dtype=F64)).sum().backward()
    return [v.grad.numpy() for v in t]


def _centred(fn, x: np.ndarray, upstream: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred differences of J(x) = sum(fn(x) * upstream), entry by entry (float64)."""
    x = np.array(x, dtype=float)
    up = torch.tensor(upstream, dtype=F64)
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        old = x[index]
        x[index] = old + eps
        plus = float((fn(torch.tensor(x, dtype=F64)) * up).sum())
        x[index] = old - eps
        minus = float((fn(torch.tensor(x, dtype=F64)) * up).sum())
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@remember
def _conv_numerical(A, W, b, stride, pad, dZ):
    """Centred differences of sum(conv(A, W, b) * dZ) with respect to A and W (PyTorch forward)."""
    Wt, bt, At = torch.tensor(W, dtype=F64), torch.tensor(b, dtype=F64), torch.tensor(A, dtype=F64)
    dA = _centred(lambda a: _torch_conv(a, Wt, bt, stride, pad), A, dZ)
    dW = _centred(lambda w: _torch_conv(At, w, bt, stride, pad), W, dZ)
    return dA, dW


def _torch_pool(A: torch.Tensor, f: int, stride: int, mode: str) -> torch.Tensor:
    x = A.permute(0, 3, 1, 2)
    out = F.max_pool2d(x, f, stride) if mode == "max" else F.avg_pool2d(x, f, stride)
    return out.permute(0, 2, 3, 1)


@remember
def _pool_oracle(A, f, stride, mode):
    return _torch_pool(torch.tensor(A, dtype=F64), f, stride, mode).numpy()


@remember
def _pool_grad(A, f, stride, mode, dA):
    x = torch.tensor(A, dtype=F64, requires_grad=True)
    (_torch_pool(x, f, stride, mode) * torch.tensor(dA, dtype=F64)).sum().backward()
    return x.grad.numpy()


@remember
def _pool_numerical(A, f, stride, mode, dA):
    return _centred(lambda a: _torch_pool(a, f, stride, mode), A, dA)


def _shape_text(a) -> str:
    return str(tuple(np.shape(a)))


# --------------------------------------------------------------------------- 1. sizes and padding
@pytest.mark.points(1)
def test_conv_output_size(student, reference, grading_seed):
    """conv_output_size: floor((n + 2p - f) / s) + 1, checked against F.conv2d's output sizes"""
    rng = _rng(grading_seed, 1)
    cases = [(6, 3, 0, 1), (7, 3, 0, 2), (8, 3, 0, 2), (32, 5, 2, 1), (28, 5, 2, 1), (5, 5, 0, 1), (10, 4, 1, 3),
             (9, 2, 0, 2)]
    while len(cases) < 28:
        f = int(rng.integers(1, 7))
        cases.append((int(rng.integers(f, 40)), f, int(rng.integers(0, 4)), int(rng.integers(1, 5))))
    defaults = [(int(rng.integers(5, 30)), int(rng.integers(1, 5))) for _ in range(3)]
    probe = f"""
([conv_output_size(*_c) for _c in {cases!r}]
 + [conv_output_size(_n, _f) for _n, _f in {defaults!r}]
 + [conv_output_size(13, 3, p=1, s=2), type(conv_output_size(7, 3, 0, 2)).__name__])
"""
    got = student.eval(probe)
    for (n, f, p, s), answer in zip(cases, got):
        want = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), padding=p, stride=s).shape[-1]
        hint = ("the window must fit entirely: a floor, not a ceiling, and + 1 for the first position"
                if answer != want else "")
        assert answer == want, (f"conv_output_size({n}, {f}, {p}, {s}): F.conv2d gives an output side of {want} "
                                f"(floor(({n} + 2 * {p} - {f}) / {s}) + 1), got {answer} ({hint})")
    for (n, f), answer in zip(defaults, got[len(cases):]):
        assert answer == n - f + 1, (f"conv_output_size({n}, {f}) with the defaults p=0, s=1 should be {n} - {f} + 1 = "
                                     f"{n - f + 1}, got {answer}")
    assert got[-2] == 7, f"conv_output_size(13, 3, p=1, s=2) should be floor(12 / 2) + 1 = 7, got {got[-2]}"
    assert got[-1] == "int", f"conv_output_size should return a Python int (use //), got a {got[-1]}"
    assert reference.eval(probe)[:3] == [4, 3, 3], "grader setup: the reference's sizes"


@pytest.mark.points(2)
def test_zero_pad(student, reference, grading_seed):
    """zero_pad: zeros around the height and width only, np.pad's result, input left unchanged"""
    rng = _rng(grading_seed, 2)
    cases = []
    for pad in (1, 2, 0, 3, 1):
        shape = (int(rng.integers(1, 4)), int(rng.integers(2, 6)), int(rng.integers(2, 6)), int(rng.integers(1, 4)))
        cases.append((_normal(rng, shape), pad))
    probe = "_out = []\n"
    for X, pad in cases:
        probe += (f"_X = {_lit(X)}\n_copy = _X.copy()\n_P = zero_pad(_X, {pad})\n"
                  "_out.append({'P': np.asarray(_P, dtype=float), 'unchanged': bool(np.array_equal(_X, _copy))})\n")
    probe += "_out"
    got = student.eval(probe)
    for (X, pad), answer in zip(cases, got):
        want = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        call = f"zero_pad(X, {pad}) for X of shape {X.shape} (m, n_H, n_W, n_C)"
        P = np.asarray(answer["P"])
        assert P.shape == want.shape, (
            f"{call}: expected the shape {want.shape}, got {P.shape} (pad only the height and the width: "
            f"np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0))); padding the examples or the channels adds "
            "pictures or channels)")
        assert_close(P, want, f"{call}: the padded array (X in the middle, zeros around it)", rtol=0, atol=0)
        assert answer["unchanged"], f"{call}: X itself should not change (return a new array)"
    assert_close(reference.eval(probe)[0]["P"], np.pad(cases[0][0], ((0, 0), (1, 1), (1, 1), (0, 0))),
                 "grader setup", rtol=0, atol=0)


@pytest.mark.points(1)
def test_conv_single_step(student, reference, grading_seed):
    """conv_single_step: the sum over the whole f x f x n_C_prev volume of a * W, plus the bias"""
    rng = _rng(grading_seed, 3)
    cases = [(_normal(rng, (f, f, c)), _normal(rng, (f, f, c)), _normal(rng, (1, 1, 1))) for f, c in
             ((3, 3), (1, 4), (5, 1), (2, 2), (4, 3))]
    probe = "[(lambda _z: [float(_z), int(np.ndim(_z))])(conv_single_step(_a, _w, _b)) for _a, _w, _b in ["
    probe += ", ".join(f"({_lit(a)}, {_lit(w)}, {_lit(b)})" for a, w, b in cases) + "]]"
    got = student.eval(probe)
    for (a, w, b), (value, ndim) in zip(cases, got):
        want = float(np.sum(a * w) + b.item())
        call = f"conv_single_step(a_slice_prev, W, b) for a slice and a filter of shape {a.shape} and b = {b.item()}"
        assert ndim == 0, f"{call}: should return one number, got an array with {ndim} dimension(s)"
        assert_close(value, want, f"{call}: the sum of all {a.size} products a * W, plus b", rtol=1e-9, atol=1e-9)
    assert_close(reference.eval(probe)[0][0], float(np.sum(cases[0][0] * cases[0][1]) + cases[0][2].item()),
                 "grader setup", rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- 2. conv forward
def _conv_probe(cases, sizes_cases) -> str:
    probe = _sizes_src(sizes_cases) + STANDINS + with_fakes("conv_forward", FAKES) + "_out = []\n"
    for A, W, b, stride, pad in cases:
        probe += (f"_hp = {{'stride': {stride}, 'pad': {pad}}}\n"
                  f"_Z, _cache = _conv_forward({_lit(A)}, {_lit(W)}, {_lit(b)}, _hp)\n"
                  "_out.append({'Z': np.asarray(_Z, dtype=float), 'cache_len': len(_cache),\n"
                  "             'cache': [np.asarray(_c, dtype=float) for _c in _cache[:3]] if len(_cache) == 4 else None,\n"
                  "             'hp': dict(_cache[3]) if len(_cache) == 4 and isinstance(_cache[3], dict) else None})\n")
    return probe + "_out"


def _conv_candidates(A, W, b, stride, pad):
    """What conv_forward should return: true helpers or stand-ins, each of the two."""
    out = []
    for pad_value in (0.0, PAD_VALUE):
        Z = _conv_oracle(A, W, b, stride, pad, pad_value)
        out += [Z, Z - 4.0 * b]           # true step: corr + b; stand-in step: corr - 3 b
    return out


@pytest.mark.points(1)
def test_conv_forward_edge_example(student, reference):
    """conv_forward: the vertical edge detector on a 6x6 picture gives rows [0, 30, 30, 0] (and [0, -30, -30, 0] mirrored)"""
    picture = np.zeros((6, 6))
    picture[:, :3] = 10.0
    vertical = np.array([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]])
    A = np.stack([picture, picture[:, ::-1], picture.T])[..., None]
    W = np.stack([vertical, vertical.T], axis=-1)[:, :, None, :]        # (3, 3, 1, 2): vertical, horizontal
    b = np.zeros((1, 1, 1, 2))
    seven = np.arange(49, dtype=float).reshape(1, 7, 7, 1)
    cases = [(A, W, b, 1, 0), (seven, np.ones((3, 3, 1, 1)), np.zeros((1, 1, 1, 1)), 2, 0)]
    probe = _conv_probe(cases, [((6,), 3, 0, 1), ((7,), 3, 0, 2)])
    got = student.eval(probe)
    Z = np.asarray(got[0]["Z"])
    call = ("conv_forward(A_prev, W, b, {'stride': 1, 'pad': 0}) with the 6x6 pictures (10 on the left half, 0 on the "
            "right; its mirror; its transpose) and the vertical and horizontal edge filters")
    assert Z.shape == (3, 4, 4, 2), f"{call}: expected Z of shape (3, 4, 4, 2), got {Z.shape}"
    light_dark = np.tile([0.0, 30, 30, 0], (4, 1))
    assert_close(Z[0, :, :, 0], light_dark, f"{call}: light to dark, vertical filter (every row [0, 30, 30, 0])",
                 rtol=1e-9, atol=1e-9)
    assert_close(Z[1, :, :, 0], -light_dark, f"{call}: dark to light, vertical filter (every row [0, -30, -30, 0]; "
                 "a flipped filter gives the opposite sign: never flip it)", rtol=1e-9, atol=1e-9)
    assert_close(Z[2, :, :, 1], light_dark.T, f"{call}: the transposed picture with the horizontal filter",
                 rtol=1e-9, atol=1e-9)
    Z7 = np.asarray(got[1]["Z"])
    assert Z7.shape == (1, 3, 3, 1), (f"conv_forward on a 7x7 picture with a 3x3 filter and stride 2: expected a 3x3 "
                                      f"output, Z of shape (1, 3, 3, 1), got {Z7.shape}")
    assert_close(Z7[0, :, :, 0], _conv_oracle(*cases[1])[0, :, :, 0], "conv_forward, 7x7 picture 0..48, 3x3 filter of "
                 "ones, stride 2 (each output is the sum of the window starting at row 2h, column 2w)",
                 rtol=1e-9, atol=1e-9)
    assert_close(reference.eval(probe)[0]["Z"][0, :, :, 0], light_dark, "grader setup", rtol=0, atol=1e-9)


@pytest.mark.points(4)
def test_conv_forward(student, reference, grading_seed):
    """conv_forward: equal to F.conv2d after the change of layout, for many strides, paddings, filter sizes and channels"""
    rng = _rng(grading_seed, 4)
    cases = []
    for f, pad, stride in ((3, 1, 1), (3, 0, 2), (2, 1, 2), (5, 2, 1), (1, 0, 1), (3, 2, 3), (4, 1, 2), (3, 1, 1)):
        m, c_prev, c = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
        h, w = int(rng.integers(f + 1, 9)), int(rng.integers(f + 1, 9))
        if w == h:
            w += 1
        cases.append((_normal(rng, (m, h, w, c_prev)), _normal(rng, (f, f, c_prev, c)), _normal(rng, (1, 1, 1, c)),
                      stride, pad))
    sizes = [((A.shape[1], A.shape[2]), W.shape[0], pad, stride) for A, W, b, stride, pad in cases]
    probe = _conv_probe(cases, sizes)
    got = student.eval(probe)
    for (A, W, b, stride, pad), answer in zip(cases, got):
        call = (f"conv_forward(A_prev, W, b, {{'stride': {stride}, 'pad': {pad}}}) for A_prev of shape {A.shape} and W "
                f"of shape {W.shape}")
        truth = _conv_oracle(A, W, b, stride, pad)
        Z = np.asarray(answer["Z"])
        assert Z.shape == truth.shape, (
            f"{call}: expected Z of shape {truth.shape} (n_H = floor(({A.shape[1]} + 2 * {pad} - {W.shape[0]}) / {stride}) "
            f"+ 1, n_W likewise, one channel per filter), got {Z.shape}")
        ok, closest = _closest(Z, _conv_candidates(A, W, b, stride, pad))
        if not ok:
            assert_close(Z, closest, f"{call}, compared with F.conv2d (windows of side f starting at h * stride and "
                         "w * stride in the padded input, the whole filter W[:, :, :, c] unflipped, one bias b[..., c] "
                         f"per filter) {STANDIN_NOTE}", **TOL)
        assert answer["cache_len"] == 4 and answer["cache"] is not None, (
            f"{call}: the cache should be the tuple (A_prev, W, b, hparameters), got {answer['cache_len']} items")
        for name, value, want in zip(("A_prev", "W", "b"), answer["cache"], (A, W, b)):
            assert_close(value, want, f"{call}: the cache's {name}", rtol=0, atol=0)
        assert answer["hp"] == {"stride": stride, "pad": pad}, f"{call}: the cache's hparameters, got {answer['hp']}"
    ref = reference.eval(probe)
    assert _closest(ref[0]["Z"], _conv_candidates(*cases[0]))[0], "grader setup: the reference's conv_forward"


# --------------------------------------------------------------------------- 3. pool forward
def _pool_cases(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    cases = []
    for f, stride in ((2, 2), (3, 1), (2, 3), (3, 2), (1, 1), (4, 2), (2, 1)):
        m, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        h, w = int(rng.integers(f + 1, 9)), int(rng.integers(f + 1, 9))
        if w == h:
            w += 1
        cases.append((_distinct(rng, (m, h, w, c)), f, stride))
    return cases


def _pool_forward_probe(cases, modes) -> str:
    sizes = [((A.shape[1], A.shape[2]), f, 0, s) for A, f, s in cases]
    probe = (_sizes_src(sizes) + STANDINS + with_fakes("pool_forward", {"conv_output_size": "_fake_size"})
             + "_out = []\n")
    for (A, f, stride), mode in zip(cases, modes):
        call = "_pool_forward(_A, _hp)" if mode is None else f"_pool_forward(_A, _hp, mode={mode!r})"
        probe += (f"_A = {_lit(A)}\n_hp = {{'f': {f}, 'stride': {stride}}}\n_P, _cache = {call}\n"
                  "_out.append({'A': np.asarray(_P, dtype=float), 'cache_len': len(_cache),\n"
                  "             'cache_A': np.asarray(_cache[0], dtype=float) if len(_cache) == 2 else None,\n"
                  "             'hp': dict(_cache[1]) if len(_cache) == 2 and isinstance(_cache[1], dict) else None})\n")
    return probe + "_out"


def _check_pool_forward(got, cases, modes, label):
    for (A, f, stride), mode, answer in zip(cases, modes, got):
        kind = mode or "max"
        call = (f"pool_forward(A_prev, {{'f': {f}, 'stride': {stride}}}{'' if mode is None else f', mode={mode!r}'}) for "
                f"A_prev of shape {A.shape}")
        want = _pool_oracle(A, f, stride, kind)
        P = np.asarray(answer["A"])
        assert P.shape == want.shape, (
            f"{call}: expected the shape {want.shape} (floor((n - f) / stride) + 1 along the height and the width, the "
            f"channels unchanged), got {P.shape}")
        assert_close(P, want, f"{call}, compared with {label} (the {'largest value' if kind == 'max' else 'mean'} of each "
                     "f x f window, channel by channel, windows starting at h * stride and w * stride)", **TOL)
        assert answer["cache_len"] == 2 and answer["hp"] == {"f": f, "stride": stride}, (
            f"{call}: the cache should be the tuple (A_prev, hparameters), got {answer['cache_len']} items")
        assert_close(answer["cache_A"], A, f"{call}: the cache's A_prev", rtol=0, atol=0)


@pytest.mark.points(2)
def test_pool_forward_max(student, reference, grading_seed):
    """pool_forward, max mode (also the default): equal to F.max_pool2d, overlapping windows and gaps included"""
    cases = _pool_cases(grading_seed, 5)
    modes = ["max", "max", None, "max", "max", None, "max"]
    probe = _pool_forward_probe(cases, modes)
    _check_pool_forward(student.eval(probe), cases, modes, "F.max_pool2d")
    assert_close(reference.eval(probe)[0]["A"], _pool_oracle(*cases[0], "max"), "grader setup", **TOL)


@pytest.mark.points(2)
def test_pool_forward_average(student, reference, grading_seed):
    """pool_forward, average mode: equal to F.avg_pool2d for several window sizes and strides"""
    cases = _pool_cases(grading_seed, 6)
    modes = ["average"] * len(cases)
    probe = _pool_forward_probe(cases, modes)
    _check_pool_forward(student.eval(probe), cases, modes, "F.avg_pool2d")
    assert_close(reference.eval(probe)[0]["A"], _pool_oracle(*cases[0], "average"), "grader setup", **TOL)


# --------------------------------------------------------------------------- 4. conv backward
def _backward_cases(grading_seed: int):
    rng = _rng(grading_seed, 7)
    cases = []
    for f, pad, stride in ((3, 1, 1), (3, 0, 2), (2, 0, 1), (3, 2, 2), (1, 0, 1), (2, 1, 3), (4, 1, 2)):
        m, c_prev, c = int(rng.integers(2, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
        h, w = int(rng.integers(f + 1, 7)), int(rng.integers(f + 1, 7))
        if w == h:
            w += 1
        A, W, b = _normal(rng, (m, h, w, c_prev)), _normal(rng, (f, f, c_prev, c)), _normal(rng, (1, 1, 1, c))
        dZ = _normal(rng, _conv_oracle(A, W, b, stride, pad).shape)
        cases.append((A, W, b, stride, pad, dZ))
    return cases


def _conv_backward_probe(cases) -> str:
    probe = STANDINS + "_SIZES = {}\n" + with_fakes("conv_backward", {"zero_pad": "_fake_pad"}) + "_out = []\n"
    for A, W, b, stride, pad, dZ in cases:
        probe += (f"_cache = ({_lit(A)}, {_lit(W)}, {_lit(b)}, {{'stride': {stride}, 'pad': {pad}}})\n"
                  f"_out.append([np.asarray(_g, dtype=float) for _g in _conv_backward({_lit(dZ)}, _cache)])\n")
    return probe + "_out"


def _backward_call(A, W, stride, pad) -> str:
    return (f"conv_backward(dZ, cache) for A_prev of shape {A.shape}, W of shape {W.shape}, stride {stride}, "
            f"pad {pad}")


BACKWARD_NOTE = (f"(while grading, conv_backward ran with a stand-in zero_pad that pads with {PAD_VALUE}; the "
                 "expected dW allows for it)")


@pytest.mark.points(3)
def test_conv_backward_dA_prev(student, reference, grading_seed):
    """conv_backward: dA_prev equals PyTorch's autograd and centred differences (padding cut off, overlaps added)"""
    cases = _backward_cases(grading_seed)
    probe = _conv_backward_probe(cases)
    got = student.eval(probe)
    for (A, W, b, stride, pad, dZ), answer in zip(cases, got):
        call = _backward_call(A, W, stride, pad)
        assert len(answer) == 3, f"{call}: should return the three gradients (dA_prev, dW, db), got {len(answer)} values"
        dA = np.asarray(answer[0])
        want = _conv_grads(A, W, b, stride, pad, dZ)[0]
        hint = ("every output position adds W[:, :, :, c] * dZ[i, h, w, c] to the window it read (+=, windows overlap), "
                "then the border of pad rows and columns is cut off (X[pad:-pad] is empty when pad = 0)")
        assert dA.shape == A.shape, f"{call}: dA_prev should have the shape of A_prev, {A.shape}; got {dA.shape} ({hint})"
        assert_close(dA, want, f"{call}: dA_prev compared with PyTorch's autograd ({hint})", **TOL)
        numerical = _conv_numerical(A, W, b, stride, pad, dZ)[0]
        assert_close(dA, numerical, f"{call}: dA_prev compared with centred differences of the convolution", **NUM_TOL)
    assert_close(reference.eval(probe)[0][0], _conv_grads(*cases[0])[0], "grader setup", **TOL)


@pytest.mark.points(3)
def test_conv_backward_dW_db(student, reference, grading_seed):
    """conv_backward: dW and db equal PyTorch's autograd and centred differences (summed over positions and the batch)"""
    cases = _backward_cases(grading_seed)
    probe = _conv_backward_probe(cases)
    got = student.eval(probe)
    for (A, W, b, stride, pad, dZ), answer in zip(cases, got):
        call = _backward_call(A, W, stride, pad)
        assert len(answer) == 3, f"{call}: should return the three gradients (dA_prev, dW, db), got {len(answer)} values"
        dW, db = np.asarray(answer[1]), np.asarray(answer[2])
        true_dW = _conv_grads(A, W, b, stride, pad, dZ)[1]
        stand_in_dW = _conv_grads(A, W, b, stride, pad, dZ, PAD_VALUE)[1]
        hint = ("dW[:, :, :, c] += slice * dZ[i, h, w, c] over every position of every example of the batch (one filter "
                "is shared by all of them; a sum, not a mean)")
        assert dW.shape == W.shape, f"{call}: dW should have the shape of W, {W.shape}; got {dW.shape}"
        ok, closest = _closest(dW, [true_dW, stand_in_dW])
        if not ok:
            assert_close(dW, closest, f"{call}: dW compared with PyTorch's autograd ({hint}) {BACKWARD_NOTE}", **TOL)
        if closest is true_dW:
            numerical = _conv_numerical(A, W, b, stride, pad, dZ)[1]
            assert_close(dW, numerical, f"{call}: dW compared with centred differences of the convolution", **NUM_TOL)
        want_db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)
        assert db.shape == want_db.shape, f"{call}: db should have the shape of b, {want_db.shape}; got {db.shape}"
        assert_close(db, want_db, f"{call}: db, the sum of dZ over the batch and the positions, channel by channel",
                     **TOL)
    A, W, b, stride, pad, dZ = cases[0]
    candidates = [_conv_grads(A, W, b, stride, pad, dZ, value)[1] for value in (0.0, PAD_VALUE)]
    assert _closest(reference.eval(probe)[0][1], candidates)[0], "grader setup: the reference's dW"


# --------------------------------------------------------------------------- 5. pool backward
def _pool_backward_probe(cases, modes) -> str:
    probe = "_out = []\n"
    for (A, f, stride, dA), mode in zip(cases, modes):
        args = "" if mode is None else f", mode={mode!r}"
        probe += (f"_out.append(np.asarray(pool_backward({_lit(dA)}, ({_lit(A)}, {{'f': {f}, 'stride': {stride}}})"
                  f"{args}), dtype=float))\n")
    return probe + "_out"


def _with_upstream(cases, grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    return [(A, f, s, _normal(rng, _pool_oracle(A, f, s, "max").shape)) for A, f, s in cases]


TIED = np.array([[3.0, 3.0, 1.0, 2.0, 2.0],
                 [3.0, 0.0, 1.0, 2.0, 2.0],
                 [0.0, 5.0, 5.0, 5.0, -1.0],
                 [4.0, 5.0, 5.0, 1.0, -1.0]]).reshape(1, 4, 5, 1)


@pytest.mark.points(3)
def test_pool_backward_max(student, reference, grading_seed):
    """pool_backward, max mode: the gradient goes to each window's first largest entry only (overlaps added), as in PyTorch"""
    cases = _with_upstream(_pool_cases(grading_seed, 8), grading_seed, 9)
    tied = [(TIED, 2, 2, np.array([[[[1.0], [10.0]], [[100.0], [1000.0]]]])), (TIED, 2, 1, np.ones((1, 3, 4, 1)))]
    modes = ["max", None, "max", "max", "max", None, "max", "max", "max"]
    probe = _pool_backward_probe(cases + tied, modes)
    got = student.eval(probe)
    for (A, f, stride, dA), mode, answer in zip(cases + tied, modes, got):
        call = (f"pool_backward(dA, (A_prev, {{'f': {f}, 'stride': {stride}}}){'' if mode is None else f', mode={mode!r}'})"
                f" for A_prev of shape {A.shape}")
        want = _pool_grad(A, f, stride, "max", dA)
        hint = ("each window's gradient goes to the entry that was its maximum and nowhere else; with ties, only to the "
                "first largest entry in row-major order (np.argmax of the flattened window); an entry that is the "
                "maximum of several overlapping windows collects all their gradients (+=)")
        answer = np.asarray(answer)
        assert answer.shape == A.shape, f"{call}: dA_prev should have the shape of A_prev, {A.shape}; got {answer.shape}"
        if A is TIED:
            call += " with tied maxima, A_prev[0, :, :, 0] = " + str(TIED[0, :, :, 0].tolist())
        assert_close(answer, want, f"{call}: compared with PyTorch's autograd of F.max_pool2d ({hint})", **TOL)
        if A is not TIED:
            assert_close(answer, _pool_numerical(A, f, stride, "max", dA),
                         f"{call}: compared with centred differences of max pooling", **NUM_TOL)
    A, f, stride, dA = cases[0]
    assert_close(reference.eval(probe)[0], _pool_grad(A, f, stride, "max", dA), "grader setup", **TOL)


@pytest.mark.points(2)
def test_pool_backward_average(student, reference, grading_seed):
    """pool_backward, average mode: each window's gradient spread evenly over its f x f entries (overlaps added)"""
    cases = _with_upstream(_pool_cases(grading_seed, 10), grading_seed, 11)
    modes = ["average"] * len(cases)
    probe = _pool_backward_probe(cases, modes)
    got = student.eval(probe)
    for (A, f, stride, dA), answer in zip(cases, got):
        call = f"pool_backward(dA, (A_prev, {{'f': {f}, 'stride': {stride}}}), mode='average') for A_prev of shape {A.shape}"
        want = _pool_grad(A, f, stride, "average", dA)
        answer = np.asarray(answer)
        assert answer.shape == A.shape, f"{call}: dA_prev should have the shape of A_prev, {A.shape}; got {answer.shape}"
        assert_close(answer, want, f"{call}: compared with PyTorch's autograd of F.avg_pool2d (each of the f * f = "
                     f"{f * f} entries of a window receives dA[i, h, w, c] / {f * f}; overlapping windows add up)", **TOL)
        assert_close(answer, _pool_numerical(A, f, stride, "average", dA),
                     f"{call}: compared with centred differences of average pooling", **NUM_TOL)
    A, f, stride, dA = cases[0]
    assert_close(reference.eval(probe)[0], _pool_grad(A, f, stride, "average", dA), "grader setup", **TOL)


# --------------------------------------------------------------------------- 6. parameter counts
MODELS_SRC = '''
def _models(nn, sizes):
    (a, b, c, d) = sizes
    lenet = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                          nn.Linear(84, 10))
    bn = nn.Sequential(nn.Conv2d(a, b, 3, bias=False), nn.BatchNorm2d(b), nn.ReLU(), nn.Conv2d(b, c, 1))
    frozen = nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.Linear(c, d))
    frozen[0].requires_grad_(False)
    frozen[3].bias.requires_grad_(False)
    shared_layer = nn.Linear(c, c)
    shared = nn.Sequential(nn.Linear(a, c), shared_layer, nn.ReLU(), shared_layer, nn.Linear(c, d, bias=False))
    with_buffer = nn.Sequential(nn.Conv2d(a, d, 3, padding=1), nn.BatchNorm2d(d, affine=False))
    with_buffer.register_buffer("mask", __import__("torch").ones(a, b, c))
    return [lenet, bn, frozen, shared, with_buffer]
'''
MODEL_NAMES = ["LeNet-5 (61,706 parameters)", "conv without bias, BatchNorm2d and a 1x1 conv",
               "linear layers, the first frozen and the last one's bias frozen",
               "one linear layer used twice (shared parameters)", "a conv and a BatchNorm2d(affine=False) with a buffer"]


@pytest.mark.points(1)
def test_count_params(student, reference, grading_seed):
    """count_params: trainable parameters only (not buffers, not frozen ones), a shared layer counted once"""
    rng = _rng(grading_seed, 12)
    sizes = [int(v) for v in rng.integers(2, 9, size=4)]
    probe = MODELS_SRC + f"[count_params(_m) for _m in _models(nn, {sizes!r})]"
    got = student.eval(probe)
    namespace: dict = {}
    exec(MODELS_SRC, namespace)  # the grader's own model definitions, built here as well
    torch.manual_seed(0)
    models = namespace["_models"](nn, sizes)
    for name, model, answer in zip(MODEL_NAMES, models, got):
        want = sum(p.numel() for p in model.parameters() if p.requires_grad)
        assert answer == want, (
            f"count_params(model) for {name} (sizes {sizes}): expected {want} trainable parameters, got {answer} "
            "(sum p.numel() over model.parameters() with p.requires_grad; batch-norm statistics and other buffers are "
            "not parameters, and model.parameters() lists a shared layer once)")
    assert reference.eval(probe)[0] == 61_706, "grader setup: LeNet-5"


# --------------------------------------------------------------------------- 7. residual block
def _block_params(in_c: int, out_c: int, stride: int) -> int:
    n = 9 * in_c * out_c + 9 * out_c * out_c + 4 * out_c
    if stride != 1 or in_c != out_c:
        n += in_c * out_c + 2 * out_c
    return n


def _block_cases(grading_seed: int):
    rng = _rng(grading_seed, 13)
    c = int(rng.integers(2, 6))
    d = c + int(rng.integers(1, 4))
    return [(c, c, 1), (c, 2 * c, 2), (d, d, 2), (d, c, 1), (c, d, 3)]


@pytest.mark.points(2)
def test_residual_block_structure(student, reference, grading_seed):
    """ResidualBlock: identity shortcut when the shape is kept, 1x1 projection with the stride otherwise; shapes and parameter counts"""
    cases = _block_cases(grading_seed)
    probe = f"""
def _conv_info(_c):
    if not isinstance(_c, nn.Conv2d):
        return type(_c).__name__
    _pad = _c.padding
    if isinstance(_pad, str):   # padding="same" or "valid": the number of zeros it adds
        _pad = [(_k - 1) // 2 for _k in _c.kernel_size] if _pad == "same" else [0, 0]
    return [list(_c.kernel_size), list(_c.stride), list(_pad), _c.bias is not None, _c.in_channels, _c.out_channels]
_out = []
torch.manual_seed(0)
for _in_c, _out_c, _s in {cases!r}:
    _blk = ResidualBlock(_in_c, _out_c, _s)
    _sc = _blk.shortcut
    _info = {{"conv1": _conv_info(_blk.conv1), "conv2": _conv_info(_blk.conv2),
              "bn": [type(_blk.bn1).__name__, getattr(_blk.bn1, "num_features", None),
                     type(_blk.bn2).__name__, getattr(_blk.bn2, "num_features", None)],
              "shortcut": type(_sc).__name__,
              "params": sum(_p.numel() for _p in _blk.parameters())}}
    if isinstance(_sc, nn.Sequential):
        _info["projection"] = [_conv_info(_sc[0]) if len(_sc) > 0 else None,
                               [type(_sc[1]).__name__, getattr(_sc[1], "num_features", None)] if len(_sc) > 1 else None]
    try:
        _info["shapes"] = [list(_blk(torch.randn(2, _in_c, _h, _w)).shape) for _h, _w in ((7, 9), (8, 6))]
    except Exception as _error:
        _info["shapes"] = f"{{type(_error).__name__}}: {{_error}}"
    _out.append(_info)
_out
"""
    got = student.eval(probe)
    for (in_c, out_c, stride), info in zip(cases, got):
        name = f"ResidualBlock({in_c}, {out_c}, {stride})"
        assert info["conv1"] == [[3, 3], [stride, stride], [1, 1], False, in_c, out_c], (
            f"{name}.conv1 should be a 3x3 Conv2d({in_c}, {out_c}) with stride {stride}, padding 1 and no bias; got "
            f"[kernel, stride, padding, has bias, in, out] = {info['conv1']}")
        assert info["conv2"] == [[3, 3], [1, 1], [1, 1], False, out_c, out_c], (
            f"{name}.conv2 should be a 3x3 Conv2d({out_c}, {out_c}) with stride 1, padding 1 and no bias; got "
            f"{info['conv2']}")
        assert info["bn"] == ["BatchNorm2d", out_c, "BatchNorm2d", out_c], (
            f"{name}: bn1 and bn2 should be BatchNorm2d({out_c}), got {info['bn']}")
        if in_c == out_c and stride == 1:
            assert info["shortcut"] == "Identity", (
                f"{name} keeps the shape of its input, so its shortcut should be nn.Identity(), got {info['shortcut']}")
        else:
            assert info["shortcut"] == "Sequential" and info.get("projection") == [
                [[1, 1], [stride, stride], [0, 0], False, in_c, out_c], ["BatchNorm2d", out_c]], (
                f"{name} changes the shape, so its shortcut should be nn.Sequential(nn.Conv2d({in_c}, {out_c}, 1, "
                f"stride={stride}, bias=False), nn.BatchNorm2d({out_c})): a 1x1 projection with the block's stride; got "
                f"{info['shortcut']} {info.get('projection')}")
        assert not isinstance(info["shapes"], str), (
            f"{name} on an input of shape (2, {in_c}, 7, 9): the forward pass raised {info['shapes']} (the shortcut's "
            "output must have the shape of the main branch's: the same channels and the same stride)")
        for (h, w), shape in zip(((7, 9), (8, 6)), info["shapes"]):
            want = [2, out_c, (h - 1) // stride + 1, (w - 1) // stride + 1]
            assert shape == want, f"{name} on an input of shape (2, {in_c}, {h}, {w}): expected the shape {want}, got {shape}"
        want = _block_params(in_c, out_c, stride)
        assert info["params"] == want, f"{name}: expected {want} parameters, got {info['params']}"
    assert reference.eval(probe)[0]["params"] == _block_params(*cases[0]), "grader setup"


def _block_state(rng: np.random.Generator, in_c: int, out_c: int, stride: int) -> dict:
    state = {"conv1.weight": _normal(rng, (out_c, in_c, 3, 3)) / 2, "conv2.weight": _normal(rng, (out_c, out_c, 3, 3)) / 2}
    bns = ["bn1", "bn2"] + ([] if in_c == out_c and stride == 1 else ["shortcut.1"])
    if len(bns) == 3:
        state["shortcut.0.weight"] = _normal(rng, (out_c, in_c, 1, 1))
    for bn in bns:
        state[f"{bn}.weight"] = 1 + _normal(rng, (out_c,)) / 4
        state[f"{bn}.bias"] = _normal(rng, (out_c,)) / 4
        state[f"{bn}.running_mean"] = _normal(rng, (out_c,)) / 4
        state[f"{bn}.running_var"] = 0.5 + rng.random(out_c).round(3)
    return state


def _block_oracle(state: dict, x: np.ndarray, stride: int, train: bool) -> np.ndarray:
    t = {k: torch.tensor(v, dtype=F64) for k, v in state.items()}

    def bn(h, name):
        return F.batch_norm(h, t[f"{name}.running_mean"].clone(), t[f"{name}.running_var"].clone(), t[f"{name}.weight"],
                            t[f"{name}.bias"], training=train, eps=1e-5)

    xt = torch.tensor(x, dtype=F64)
    h = F.relu(bn(F.conv2d(xt, t["conv1.weight"], stride=stride, padding=1), "bn1"))
    h = bn(F.conv2d(h, t["conv2.weight"], padding=1), "bn2")
    short = bn(F.conv2d(xt, t["shortcut.0.weight"], stride=stride), "shortcut.1") if "shortcut.0.weight" in t else xt
    return F.relu(h + short).numpy()


@pytest.mark.points(3)
def test_residual_block_forward(student, reference, grading_seed):
    """ResidualBlock.forward: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)) in train and eval mode, with the grader's weights"""
    rng = _rng(grading_seed, 14)
    cases = []
    for in_c, out_c, stride in _block_cases(grading_seed)[:4]:
        state = _block_state(rng, in_c, out_c, stride)
        cases.append((in_c, out_c, stride, state, _normal(rng, (3, in_c, 6, 7))))
    probe = "_out = []\n"
    for in_c, out_c, stride, state, x in cases:
        probe += f"_blk = ResidualBlock({in_c}, {out_c}, {stride}).double()\n_sd = _blk.state_dict()\n_state = {{\n"
        probe += "".join(f"    {k!r}: {_lit(v)},\n" for k, v in state.items()) + "}\n"
        probe += (
            "_missing = sorted(set(_state) - set(_sd))\n"
            "if not _missing:\n"
            "    with torch.no_grad():\n"
            "        for _k, _v in _state.items():\n"
            "            _sd[_k].copy_(torch.tensor(_v, dtype=torch.float64))\n"
            f"    _x = torch.tensor({_lit(x)}, dtype=torch.float64)\n"
            "    _blk.eval()\n"
            "    with torch.no_grad():\n"
            "        _eval = _blk(_x)\n"
            "    _blk.train()\n"
            "    _train = _blk(_x).detach()\n"
            "    _out.append({'missing': [], 'train': _train, 'eval': _eval})\n"
            "else:\n"
            "    _out.append({'missing': _missing, 'train': None, 'eval': None})\n")
    probe += "_out"
    got = student.eval(probe)
    for (in_c, out_c, stride, state, x), answer in zip(cases, got):
        name = f"ResidualBlock({in_c}, {out_c}, {stride})"
        assert not answer["missing"], (
            f"{name}: the grader copies its weights into conv1, bn1, conv2, bn2 and shortcut (nn.Identity or "
            f"nn.Sequential(1x1 conv, batch norm)), but the block has no {answer['missing']}")
        hint = ("the shortcut is added to bn2's output before the last ReLU; conv1 has the block's stride, conv2 stride 1, "
                "both 3x3 with padding 1")
        for mode in ("train", "eval"):
            want = _block_oracle(state, x, stride, mode == "train")
            assert_close(answer[mode], want, f"{name}({mode} mode) on x of shape {x.shape} with the grader's weights, "
                         f"compared with the same block in PyTorch ({hint})", **TOL)
    ref = reference.eval(probe)
    assert_close(ref[0]["eval"], _block_oracle(cases[0][3], cases[0][4], cases[0][2], False), "grader setup", **TOL)


@pytest.mark.points(1)
def test_residual_block_zero_branch(student, reference, grading_seed):
    """ResidualBlock with the same shape: with conv2's weights zero the block returns relu(x) (the identity is easy to learn)"""
    rng = _rng(grading_seed, 15)
    cases = [(int(c), _normal(rng, (2, int(c), 5, 6))) for c in rng.integers(2, 6, size=2)]
    probe = "_out = []\ntorch.manual_seed(1)\n"
    for c, x in cases:
        probe += (f"_blk = ResidualBlock({c}, {c}, 1).double()\n"
                  "with torch.no_grad():\n    _blk.conv2.weight.zero_()\n"
                  f"_x = torch.tensor({_lit(x)}, dtype=torch.float64)\n"
                  "_train = _blk(_x).detach()\n_blk.eval()\n"
                  "with torch.no_grad():\n    _out.append([_train, _blk(_x)])\n")
    probe += "_out"
    got = student.eval(probe)
    for (c, x), (train, evaluation) in zip(cases, got):
        want = np.maximum(x, 0)
        for mode, answer in (("train", train), ("eval", evaluation)):
            assert_close(answer, want, f"ResidualBlock({c}, {c}, 1) freshly made, conv2.weight set to zero, {mode} mode, "
                         f"x of shape {x.shape}: the second branch gives 0, so the block should return relu(0 + x) = "
                         "relu(x) (a ReLU before the addition gives x itself; a projection instead of the identity "
                         "changes x)", **TOL)
    assert_close(reference.eval(probe)[0][1], np.maximum(cases[0][1], 0), "grader setup", **TOL)


# --------------------------------------------------------------------------- 8. costs
@pytest.mark.points(2)
def test_conv_mult_cost(student, reference, grading_seed):
    """conv_mult_cost: 120,422,400 multiplications for the 5x5 conv on 28x28x192, 12,443,648 with a 1x1 bottleneck, and more"""
    rng = _rng(grading_seed, 16)
    cases = [(28, 28, 5, 192, 32), (28, 28, 1, 192, 16), (28, 28, 5, 16, 32), (4, 4, 3, 3, 5)]
    cases += [tuple(int(v) for v in (rng.integers(1, 60), rng.integers(1, 60), rng.integers(1, 8), rng.integers(1, 300),
                                     rng.integers(1, 300))) for _ in range(5)]
    probe = f"[[conv_mult_cost(*_c), type(conv_mult_cost(*_c)).__name__] for _c in {cases!r}]"
    got = student.eval(probe)
    for (n_H, n_W, f, c_prev, c), (answer, kind) in zip(cases, got):
        want = f * f * c_prev * n_H * n_W * c
        assert answer == want, (
            f"conv_mult_cost(n_H={n_H}, n_W={n_W}, f={f}, n_C_prev={c_prev}, n_C={c}): ({f} * {f} * {c_prev}) "
            f"multiplications per output number times {n_H} * {n_W} * {c} output numbers = {want:,}, got {answer!r}")
        assert kind == "int", f"conv_mult_cost should return a Python int, got a {kind}"
    assert got[0][0] == 120_422_400 and got[1][0] + got[2][0] == 12_443_648
    assert reference.eval(probe)[0][0] == 120_422_400, "grader setup"


@pytest.mark.points(2)
def test_depthwise_separable_cost(student, reference, grading_seed):
    """depthwise_separable_cost: MobileNet's 432 + 240 = 672 against 2160 (ratio 1/n_C + 1/f^2), and more"""
    rng = _rng(grading_seed, 17)
    cases = [(4, 4, 3, 3, 5), (28, 28, 3, 192, 32), (14, 14, 5, 32, 64)]
    cases += [tuple(int(v) for v in (rng.integers(1, 60), rng.integers(1, 60), rng.integers(1, 8), rng.integers(1, 300),
                                     rng.integers(1, 300))) for _ in range(5)]
    probe = f"[[int(_v) for _v in depthwise_separable_cost(*_c)] for _c in {cases!r}]"
    got = student.eval(probe)
    for (n_H, n_W, f, c_prev, c), answer in zip(cases, got):
        want = [f * f * n_H * n_W * c_prev, c_prev * n_H * n_W * c]
        assert answer == want, (
            f"depthwise_separable_cost(n_H={n_H}, n_W={n_W}, f={f}, n_C_prev={c_prev}, n_C={c}): expected (depthwise, "
            f"pointwise) = ({want[0]:,}, {want[1]:,}): one {f}x{f} filter per input channel ({f} * {f} * {n_H} * {n_W} * "
            f"{c_prev}), then {c} filters of 1 x 1 x {c_prev} ({c_prev} * {n_H} * {n_W} * {c}); got {answer}")
        normal = f * f * c_prev * n_H * n_W * c
        assert abs(sum(answer) / normal - (1 / c + 1 / (f * f))) < 1e-12
    assert reference.eval(probe)[0] == [432, 240], "grader setup"
