"""Hidden tests for week03_optimizers_from_scratch: exponentially weighted averages, SGD with
momentum in the I2DL and the PyTorch conventions, RMSprop, Adam, a driver loop, learning-rate
schedules, L2 cost and gradient, inverted dropout and batch norm with running statistics.

Total: 32 points over 18 tests.

Every function is graded on its own, on inputs made here from `grading_seed`, against oracles
computed here in float64: `torch.optim.SGD/RMSprop/Adam` run step by step on a hidden quadratic
bowl (gradients A w - b, computed in the probe's loop as plain NumPy; the learning rate changed
between steps where a schedule is tested) and on the parameters of a tiny tanh network (the
gradients of torch's own run are sent to the kernel, so the student's update sees exactly the
gradients torch's optimiser saw), `torch.optim.lr_scheduler` for the schedules, torch autograd
and centred differences for the L2 gradient, `nn.BatchNorm1d` for batch norm, and NumPy's
`default_rng` for the dropout mask (the notebook fixes the draw `rng.random(a.shape) <
keep_prob`). `minimize` runs with a spy update written here. Probes contain inputs and calls
only and return plain data.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from grader.testing import assert_close, is_close, remember

F64 = torch.float64
# Optimiser trajectories: float64 in another order agrees to about 1e-13; an update computed in
# float32 inside (the variants' float32_torch_inside alternative) to about 1e-6 after 8 steps.
# Every graded mistake moves a point by far more than 2e-5 relative.
RTOL, ATOL = 2e-5, 1e-8
N_STEPS = 8                # optimiser steps on the bowl
NET_STEPS = 5              # optimiser steps on the tiny network


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, 31, k])


def _lit(array) -> str:
    """A literal that round-trips float64 exactly."""
    return repr(np.asarray(array, dtype=float).tolist())


def _bowl(rng: np.random.Generator):
    dim = int(rng.integers(3, 7))
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    A = q @ np.diag(np.linspace(1.0, float(rng.uniform(5, 25)), dim)) @ q.T
    A = (A + A.T) / 2
    return A, rng.normal(size=dim), rng.normal(size=dim)


def _cfg_text(cfg: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in cfg.items()) + "}"


@remember
def _torch_bowl(name: str, kwargs: dict, A, b, w0, steps: int, lrs=None):
    """torch.optim.<name>(**kwargs) on the bowl; lrs[k + 1] is set after step k (a schedule)."""
    p = torch.tensor(w0, dtype=F64, requires_grad=True)
    opt = getattr(torch.optim, name)([p], **kwargs)
    At, bt = torch.tensor(A, dtype=F64), torch.tensor(b, dtype=F64)
    out = []
    for k in range(steps):
        p.grad = At @ p.detach() - bt
        opt.step()
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[k + 1]
        out.append(p.detach().numpy().copy())
    return out


def _bowl_probe(function: str, A, b, w0, configs, steps: int, lrs=None) -> str:
    """Probe: run `function` from w0 with each config; returns the iterates of each run."""
    lines = [f"_A = np.array({_lit(A)})", f"_b = np.array({_lit(b)})", "_runs = []"]
    for cfg in configs:
        lines += [f"_w = np.array({_lit(w0)})", f"_c = {_cfg_text(cfg)}", "_traj = []",
                  f"for _k in range({steps}):",
                  f"    _w, _c = {function}(_w, _A @ _w - _b, _c)",
                  "    _traj.append(np.array(_w, dtype=float))"]
        if lrs is not None:
            lines.append(f"    _c['learning_rate'] = {lrs!r}[_k + 1]")
        lines.append("_runs.append(_traj)")
    lines.append("_runs")
    return "\n".join(lines)


def _check_runs(got, expected_runs, function: str, descriptions, hint: str) -> None:
    assert isinstance(got, list) and len(got) == len(expected_runs), \
        f"{function}: the probe should return {len(expected_runs)} runs, got {str(got)[:200]}"
    for run, expected, desc in zip(got, expected_runs, descriptions):
        for k, (w, e) in enumerate(zip(run, expected)):
            # a coordinate near 0 carries the rounding of the point's largest ones: an update
            # computed in float32 missed 2e-5 of 0.000216 (a point of size 0.12) under one
            # grading seed of five when the tolerance was relative to each coordinate alone
            atol = ATOL + RTOL * float(np.max(np.abs(np.asarray(e, dtype=float)), initial=0.0))
            if not is_close(w, e, rtol=RTOL, atol=atol):
                assert_close(w, e, f"{function} {desc}: the point after step {k + 1} of {len(expected)} "
                                   f"(steps before it agreed) {hint}", rtol=RTOL, atol=atol)


@remember
def _torch_net_run(seed: int, name: str, kwargs: dict, steps: int):
    """A tiny 3-5-2 tanh network in float64 trained by torch.optim.<name>: initial parameters,
    the gradients before each step, and the parameters after each step (plain lists)."""
    gen = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) * 0.7)
    X = torch.randn(16, 3, generator=gen, dtype=F64)
    Y = torch.randn(16, 2, generator=gen, dtype=F64)
    opt = getattr(torch.optim, name)(net.parameters(), **kwargs)
    p0 = [p.detach().numpy().copy() for p in net.parameters()]
    grads, params = [], []
    for _ in range(steps):
        opt.zero_grad()
        ((net(X) - Y) ** 2).mean().backward()
        grads.append([p.grad.numpy().copy() for p in net.parameters()])
        opt.step()
        params.append([p.detach().numpy().copy() for p in net.parameters()])
    return p0, grads, params


def _net_probe(function: str, p0, grads, cfg: dict) -> str:
    return "\n".join([
        f"_P = [np.array(_p) for _p in {[np.asarray(p).tolist() for p in p0]!r}]",
        f"_G = {[[np.asarray(g).tolist() for g in step] for step in grads]!r}",
        f"_C = [{_cfg_text(cfg)} for _p in _P]",
        "_out = []",
        "for _g in _G:",
        "    for _i in range(len(_P)):",
        f"        _P[_i], _C[_i] = {function}(_P[_i], np.array(_g[_i]), _C[_i])",
        "    _out.append([np.array(_p, dtype=float) for _p in _P])",
        "_out"])


def _check_net(got, params, function: str, desc: str, hint: str) -> None:
    names = ["layer 1 weight (5, 3)", "layer 1 bias (5,)", "layer 2 weight (2, 5)", "layer 2 bias (2,)"]
    assert isinstance(got, list) and len(got) == len(params), \
        f"{function} on the tiny network: expected {len(params)} steps of parameters, got {str(got)[:200]}"
    for k, (step, expected) in enumerate(zip(got, params)):
        for name, w, e in zip(names, step, expected):
            if not is_close(w, e, rtol=RTOL, atol=ATOL):
                assert_close(w, e, f"{function} {desc} on a tiny 3-5-2 tanh network ({name}, each parameter "
                                   f"with its own config dict, torch's gradients): parameters after step {k + 1} "
                                   f"{hint}", rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- EWA
def _ewa_oracle(values, beta, correct):
    """The unrolled sum V_t = (1 - beta) sum_i beta**(t - i) theta_i (divided by 1 - beta**t)."""
    values = np.asarray(values, dtype=float)
    out = []
    for t in range(1, len(values) + 1):
        w = (1 - beta) * beta ** (t - np.arange(1, t + 1))
        v = np.tensordot(w, values[:t], axes=1)
        out.append(v / (1 - beta ** t) if correct else v)
    return np.array(out)


@pytest.mark.points(2)
def test_ewa(student, reference, grading_seed):
    """ewa: exponentially weighted averages without bias correction"""
    rng = _rng(grading_seed, 1)
    cases = [(np.round(rng.normal(10, 4, 9), 4), 0.9), (np.round(rng.normal(0, 1, 6), 4), 0.5),
             (np.round(rng.normal(0, 1, (5, 3)), 4), 0.98)]
    probe = "[" + ", ".join(f"ewa(np.array({_lit(v)}), {beta!r})" for v, beta in cases) + "]"
    got = student.eval(probe)
    for (values, beta), g in zip(cases, got):
        assert_close(g, _ewa_oracle(values, beta, False),
                     f"ewa(values, {beta}) for values = {values.tolist()} (V_0 = 0, V_t = {beta} V_(t-1) + "
                     f"{1 - beta:.2g} theta_t; the result holds V_1..V_n, one per value)", rtol=1e-9, atol=1e-12)
    assert_close(got, reference.eval(probe), "averages compared with the reference solution", rtol=1e-9, atol=1e-12)
    # whole-degree temperatures given as a Python list of ints: the averages are still floats
    temps = [int(t) for t in rng.integers(5, 25, 7)]
    got = student.eval(f"np.asarray(ewa({temps!r}, 0.9), dtype=float)")
    assert_close(got, _ewa_oracle(np.array(temps, dtype=float), 0.9, False),
                 f"ewa({temps}, 0.9) for a list of integers: the averages are floats (an output array made like the "
                 "integer input, np.empty_like(values) or np.zeros_like(values), cuts every average to an integer; "
                 "convert with np.asarray(values, dtype=float) first)", rtol=1e-9, atol=1e-12)


@pytest.mark.points(2)
def test_ewa_bias_correction(student, grading_seed):
    """ewa: bias correction V_t / (1 - beta**t) with t starting at 1"""
    rng = _rng(grading_seed, 2)
    t1, t2 = (float(v) for v in np.round(rng.uniform(5, 15, 2), 3))
    fixture = f"ewa(np.array([{t1!r}, {t2!r}]), 0.98, bias_correction=True)"
    got = student.eval(fixture)
    assert_close(got, [t1, (0.0196 * t1 + 0.02 * t2) / 0.0396],
                 f"{fixture}: V_1 = 0.02 theta_1 divided by 1 - 0.98 = 0.02 gives theta_1 back, and "
                 "V_2 = 0.0196 theta_1 + 0.02 theta_2 is divided by 1 - 0.98**2 = 0.0396 (is t counted from 1?)",
                 rtol=1e-9)
    cases = [(np.round(rng.normal(3, 2, 10), 4), 0.9), (np.round(rng.normal(0, 1, (6, 2)), 4), 0.7)]
    probe = "[" + ", ".join(f"ewa(np.array({_lit(v)}), {beta!r}, bias_correction=True)" for v, beta in cases) + \
        f", ewa(np.array({_lit(cases[0][0])}), 0.9, False)]"
    got = student.eval(probe)
    for (values, beta), g in zip(cases, got):
        assert_close(g, _ewa_oracle(values, beta, True),
                     f"ewa(values, {beta}, bias_correction=True) for values = {values.tolist()} "
                     "(each V_t divided by 1 - beta**t, t = 1 for the first value)", rtol=1e-9, atol=1e-12)
    assert_close(got[2], _ewa_oracle(cases[0][0], 0.9, False),
                 "ewa(values, 0.9, False) passing bias_correction positionally: no correction", rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- SGD with momentum
@pytest.mark.points(1)
def test_sgd_momentum_step(student, grading_seed):
    """sgd_momentum: one I2DL step, the I2DL fixture and the defaults"""
    probe = ("_w = np.linspace(-0.4, 0.6, 20).reshape(4, 5); _dw = np.linspace(-0.6, 0.4, 20).reshape(4, 5)\n"
             "_n, _c = sgd_momentum(_w, _dw, {'learning_rate': 1e-3, 'velocity': np.linspace(0.6, 0.9, 20).reshape(4, 5)})\n"
             "[_n, _c['velocity'], bool(np.array_equal(_w, np.linspace(-0.4, 0.6, 20).reshape(4, 5)))]")
    got = student.eval(probe)
    w = np.linspace(-0.4, 0.6, 20).reshape(4, 5)
    dw = np.linspace(-0.6, 0.4, 20).reshape(4, 5)
    v = 0.9 * np.linspace(0.6, 0.9, 20).reshape(4, 5) - 1e-3 * dw
    assert_close(float(np.asarray(got[0])[0, 0]), 0.1406,
                 "I2DL fixture (w = linspace(-0.4, 0.6, 20), dw = linspace(-0.6, 0.4, 20), v = linspace(0.6, 0.9, 20), "
                 "lr 1e-3, momentum 0.9 by default): next_w[0, 0] (v = 0.9 * 0.6 + 1e-3 * 0.6 = 0.5406, w + v = 0.1406; "
                 "is the velocity mu * v - lr * dw and the step w + v?)", rtol=1e-9)
    assert_close(got[0], w + v, "I2DL fixture: next_w", rtol=1e-9)
    assert_close(got[1], v, "I2DL fixture: config['velocity'] after the step", rtol=1e-9)
    assert got[2] is True, "sgd_momentum changed the array w it was given: compute a new array (w + v), not w += v"
    rng = _rng(grading_seed, 3)
    w0, g0 = np.round(rng.normal(size=(3, 2)), 4), np.round(rng.normal(size=(3, 2)), 4)
    probe = (f"_a, _c = sgd_momentum(np.array({_lit(w0)}), np.array({_lit(g0)}), {{}})\n"
             f"_b, _d = sgd_momentum(_a, np.array({_lit(g0)}), _c)\n[_a, _b]")
    got = student.eval(probe)
    v1 = -1e-2 * g0
    v2 = 0.9 * v1 - 1e-2 * g0
    assert_close(got, [w0 + v1, w0 + v1 + v2],
                 "sgd_momentum with config {} twice (defaults learning_rate 1e-2, momentum 0.9, velocity starting "
                 "at zeros; the second call must use the velocity stored by the first)", rtol=1e-9)


@pytest.mark.points(2)
def test_sgd_momentum_bowl(student, grading_seed):
    """sgd_momentum on a hidden quadratic: equal to torch.optim.SGD at a constant lr, I2DL's rule when it changes"""
    rng = _rng(grading_seed, 4)
    A, b, w0 = _bowl(rng)
    configs = [{"learning_rate": float(rng.choice([0.02, 0.04])), "momentum": float(rng.choice([0.5, 0.8]))},
               {"learning_rate": 0.03, "momentum": 0.95}, {}]
    expected = [_torch_bowl("SGD", {"lr": c.get("learning_rate", 1e-2), "momentum": c.get("momentum", 0.9)},
                            A, b, w0, N_STEPS) for c in configs]
    got = student.eval(_bowl_probe("sgd_momentum", A, b, w0, configs, N_STEPS))
    _check_runs(got, expected, "sgd_momentum", [f"with config {c}" for c in configs],
                "compared with torch.optim.SGD, which at a constant learning rate takes the same steps "
                "(v = mu v - lr dw, w + v; the velocity must be kept in config between calls)")
    # with a learning rate that changes after every step, I2DL's rule differs from PyTorch's
    lrs = [0.05 * 0.7 ** k for k in range(N_STEPS + 1)]
    w, v, traj = w0.copy(), np.zeros_like(w0), []
    for k in range(N_STEPS):
        v = 0.8 * v - lrs[k] * (A @ w - b)
        w = w + v
        traj.append(w.copy())
    got = student.eval(_bowl_probe("sgd_momentum", A, b, w0, [{"learning_rate": 0.05, "momentum": 0.8}], N_STEPS, lrs))
    _check_runs(got, [traj], "sgd_momentum", ["with momentum 0.8 and config['learning_rate'] multiplied by 0.7 after each step"],
                "by the I2DL rule v = mu v - lr dw, w = w + v, with the learning rate of that step (this is not "
                "PyTorch's convention, where lr multiplies the whole buffer)")


@pytest.mark.points(2)
def test_sgd_momentum_torch_bowl(student, grading_seed):
    """sgd_momentum_torch on a hidden quadratic, step by step equal to torch.optim.SGD (also with a schedule)"""
    rng = _rng(grading_seed, 5)
    A, b, w0 = _bowl(rng)
    configs = [{"learning_rate": float(rng.choice([0.02, 0.04])), "momentum": float(rng.choice([0.5, 0.8])),
                "weight_decay": 0.0},
               {"learning_rate": 0.03, "momentum": 0.9, "weight_decay": float(rng.choice([0.1, 0.3]))},
               {"learning_rate": 0.05, "momentum": 0.0, "weight_decay": 0.05}, {}]
    expected = [_torch_bowl("SGD", {"lr": c.get("learning_rate", 1e-2), "momentum": c.get("momentum", 0.9),
                                    "weight_decay": c.get("weight_decay", 0.0)}, A, b, w0, N_STEPS) for c in configs]
    got = student.eval(_bowl_probe("sgd_momentum_torch", A, b, w0, configs, N_STEPS))
    _check_runs(got, expected, "sgd_momentum_torch", [f"with config {c}" for c in configs],
                "compared with torch.optim.SGD (g = dw + weight_decay * w; b = g on the first step, then "
                "b = mu b + g; w - lr b; defaults lr 1e-2, momentum 0.9, weight_decay 0)")
    lrs = [0.06 * 0.6 ** k for k in range(N_STEPS + 1)]
    cfg = {"learning_rate": 0.06, "momentum": 0.85, "weight_decay": 0.02}
    expected = [_torch_bowl("SGD", {"lr": 0.06, "momentum": 0.85, "weight_decay": 0.02}, A, b, w0, N_STEPS, lrs)]
    got = student.eval(_bowl_probe("sgd_momentum_torch", A, b, w0, [cfg], N_STEPS, lrs))
    _check_runs(got, expected, "sgd_momentum_torch", [f"with config {cfg} and the learning rate multiplied by 0.6 after each step "
                                                      "(as a torch scheduler does)"],
                "compared with torch.optim.SGD: the buffer holds raw gradients (b = mu b + g) and the learning "
                "rate of the current step multiplies the whole buffer (w - lr b); the I2DL velocity is not this")


@pytest.mark.points(2)
def test_sgd_momentum_torch_network(student, grading_seed):
    """sgd_momentum_torch on a tiny network's parameters, equal to torch.optim.SGD"""
    cfg = {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    p0, grads, params = _torch_net_run(grading_seed, "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}, NET_STEPS)
    got = student.eval(_net_probe("sgd_momentum_torch", p0, grads, cfg))
    _check_net(got, params, "sgd_momentum_torch", f"with config {cfg}",
               "compared with torch.optim.SGD (b = g on the first step, b = mu b + g after; w - lr b)")


# --------------------------------------------------------------------------- RMSprop
@pytest.mark.points(2)
def test_rmsprop_bowl(student, grading_seed):
    """rmsprop on a hidden quadratic, step by step equal to torch.optim.RMSprop"""
    rng = _rng(grading_seed, 6)
    A, b, w0 = _bowl(rng)
    configs = [{"learning_rate": float(rng.choice([0.01, 0.03])), "alpha": float(rng.choice([0.9, 0.8])),
                "epsilon": 1e-8, "weight_decay": 0.0},
               {"learning_rate": 0.02, "alpha": 0.99, "epsilon": float(rng.choice([0.1, 0.3])), "weight_decay": 0.0},
               {"learning_rate": 0.05, "alpha": 0.7, "epsilon": 1e-3, "weight_decay": float(rng.choice([0.1, 0.2]))},
               {}]
    expected = [_torch_bowl("RMSprop", {"lr": c.get("learning_rate", 1e-2), "alpha": c.get("alpha", 0.99),
                                        "eps": c.get("epsilon", 1e-8), "weight_decay": c.get("weight_decay", 0.0)},
                            A, b, w0, N_STEPS) for c in configs]
    got = student.eval(_bowl_probe("rmsprop", A, b, w0, configs, N_STEPS))
    _check_runs(got, expected, "rmsprop", [f"with config {c}" for c in configs],
                "compared with torch.optim.RMSprop (s = alpha s + (1 - alpha) g**2 with alpha the decay rate; "
                "w - lr g / (sqrt(s) + eps) with eps OUTSIDE the square root; no bias correction; "
                "defaults lr 1e-2, alpha 0.99, eps 1e-8)")


@pytest.mark.points(1)
def test_rmsprop_network(student, grading_seed):
    """rmsprop on a tiny network's parameters, equal to torch.optim.RMSprop"""
    cfg = {"learning_rate": 0.01, "alpha": 0.95, "epsilon": 1e-6, "weight_decay": 0.01}
    p0, grads, params = _torch_net_run(grading_seed, "RMSprop",
                                       {"lr": 0.01, "alpha": 0.95, "eps": 1e-6, "weight_decay": 0.01}, NET_STEPS)
    got = student.eval(_net_probe("rmsprop", p0, grads, cfg))
    _check_net(got, params, "rmsprop", f"with config {cfg}", "compared with torch.optim.RMSprop")


# --------------------------------------------------------------------------- Adam
@pytest.mark.points(2)
def test_adam_bowl(student, grading_seed):
    """adam on a hidden quadratic, step by step equal to torch.optim.Adam"""
    rng = _rng(grading_seed, 7)
    A, b, w0 = _bowl(rng)
    configs = [{"learning_rate": float(rng.choice([0.05, 0.1])), "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                "weight_decay": 0.0},
               {"learning_rate": 0.05, "beta1": float(rng.choice([0.5, 0.7])), "beta2": float(rng.choice([0.9, 0.95])),
                "epsilon": float(rng.choice([0.1, 0.3])), "weight_decay": 0.0},
               {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-3,
                "weight_decay": float(rng.choice([0.1, 0.2]))},
               {}]
    expected = [_torch_bowl("Adam", {"lr": c.get("learning_rate", 1e-3),
                                     "betas": (c.get("beta1", 0.9), c.get("beta2", 0.999)),
                                     "eps": c.get("epsilon", 1e-8), "weight_decay": c.get("weight_decay", 0.0)},
                            A, b, w0, N_STEPS) for c in configs]
    got = student.eval(_bowl_probe("adam", A, b, w0, configs, N_STEPS))
    _check_runs(got, expected, "adam", [f"with config {c}" for c in configs],
                "compared with torch.optim.Adam (t is incremented BEFORE use, so the first step has t = 1; "
                "m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t); w - lr m_hat / (sqrt(v_hat) + eps) "
                "with eps outside the root; weight_decay adds weight_decay * w to the gradient)")


@pytest.mark.points(2)
def test_adam_network(student, grading_seed):
    """adam on a tiny network's parameters, equal to torch.optim.Adam, with the step count t in config"""
    cfg = {"learning_rate": 0.05, "beta1": 0.85, "beta2": 0.98, "epsilon": 1e-8, "weight_decay": 0.02}
    p0, grads, params = _torch_net_run(grading_seed, "Adam",
                                       {"lr": 0.05, "betas": (0.85, 0.98), "eps": 1e-8, "weight_decay": 0.02}, NET_STEPS)
    got = student.eval(_net_probe("adam", p0, grads, cfg))
    _check_net(got, params, "adam", f"with config {cfg}", "compared with torch.optim.Adam")
    ts = student.eval("_c = {}\nfor _k in range(3):\n    _w, _c = adam(np.ones(2), np.array([0.5, -1.0]), _c)\n_c['t']")
    assert ts == 3, f"after three calls of adam sharing one config, config['t'] should be 3 (0 before the first step), got {ts!r}"


# --------------------------------------------------------------------------- the driver loop
SPY = '''
def _spy_update(w, dw, c):
    c["calls"] = c.get("calls", 0) + 1
    w *= 0.5
    w += 0.1 * c["calls"] - 0.01 * dw
    return w, c
def _spy_grad(w):
    return w ** 2 - 1.0
'''


@pytest.mark.points(2)
def test_minimize(student, grading_seed):
    """minimize: the loop passes its config on and records a copy of every point"""
    rng = _rng(grading_seed, 8)
    cases = [(np.round(rng.normal(size=3), 4), int(rng.integers(3, 6))), (np.round(rng.normal(size=(2, 2)), 4), 2),
             (np.round(rng.normal(size=2), 4), 0)]
    probe = SPY + "_out = []\n"
    for w0, steps in cases:
        probe += (f"_w0 = np.array({_lit(w0)})\n_c = {{}}\n_w, _h = minimize(_spy_update, _spy_grad, _w0, _c, {steps})\n"
                  f"_out.append([np.array(_w, dtype=float), np.asarray(_h, dtype=float), _c.get('calls'), "
                  f"bool(np.array_equal(_w0, np.array({_lit(w0)})))])\n")
    got = student.eval(probe + "_out")
    for (w0, steps), (w, h, calls, unchanged) in zip(cases, got):
        x, hist = w0.copy(), [w0.copy()]
        for k in range(1, steps + 1):
            x = 0.5 * x + 0.1 * k - 0.01 * (x ** 2 - 1.0)
            hist.append(x.copy())
        what = (f"minimize(update, grad_fn, w0 = {w0.tolist()}, config = {{}}, steps = {steps}) with the grader's spy "
                "update (it changes the w it is given in place, counts its calls in config['calls'] and returns w)")
        assert_close(np.asarray(h).shape, [steps + 1, *w0.shape],
                     f"{what}: the shape of history (w0 plus one row per step)")
        assert_close(h, np.array(hist), f"{what}: history (record a COPY of each point: the update may change "
                                         "the array later; pass the same config to every call)", rtol=1e-9)
        assert_close(w, hist[-1], f"{what}: the returned w", rtol=1e-9)
        assert calls == (steps if steps else None), \
            f"{what}: the update should be called {steps} times with the config it was given, config['calls'] is {calls!r}"
        assert unchanged is True, f"{what}: w0 was changed in place; start from a copy (np.array(w0, dtype=float))"


# --------------------------------------------------------------------------- schedules
@pytest.mark.points(2)
def test_lr_schedules(student, reference, grading_seed):
    """inverse_time_decay and exp_decay, equal to LambdaLR and ExponentialLR"""
    got = student.eval("[inverse_time_decay(0.2, 1.0, _e) for _e in (1, 2, 3, 4)]")
    assert_close(got, [0.1, 0.2 / 3, 0.05, 0.04],
                 "inverse_time_decay(0.2, 1.0, epoch) for epochs 1..4 (lr0 / (1 + decay_rate * epoch): the table "
                 "0.1, 0.0667, 0.05, 0.04)", rtol=1e-9)
    rng = _rng(grading_seed, 9)
    lr0 = float(np.round(rng.uniform(0.05, 0.5), 3))
    dec = float(np.round(rng.uniform(0.2, 2.0), 3))
    gamma = float(np.round(rng.uniform(0.5, 0.97), 3))
    epochs = list(range(8))
    probe = (f"[[inverse_time_decay({lr0!r}, {dec!r}, _e) for _e in {epochs!r}], "
             f"[exp_decay({lr0!r}, {gamma!r}, _e) for _e in {epochs!r}], exp_decay(0.3, 0.5, 3), inverse_time_decay(0.3, 0.5, 2)]")
    got = student.eval(probe)
    expected = []
    for make in (lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + dec * e)),
                 lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma)):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
        sched, lrs = make(opt), []
        for _ in epochs:
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        expected.append(lrs)
    assert_close(got[0], expected[0], f"inverse_time_decay({lr0}, {dec}, epoch) for epochs 0..7, compared with "
                                      f"LambdaLR(lambda epoch: 1 / (1 + {dec} * epoch))", rtol=1e-9)
    assert_close(got[1], expected[1], f"exp_decay({lr0}, {gamma}, epoch) for epochs 0..7, compared with "
                                      f"ExponentialLR(gamma={gamma}) (lr0 * decay_rate ** epoch)", rtol=1e-9)
    assert_close(got[2:], [0.0375, 0.15], "exp_decay(0.3, 0.5, 3) = 0.3 * 0.5**3 and inverse_time_decay(0.3, 0.5, 2) "
                                          "= 0.3 / (1 + 0.5 * 2)", rtol=1e-9)
    assert_close(got, reference.eval(probe), "learning rates compared with the reference solution", rtol=1e-9)


# --------------------------------------------------------------------------- L2
def _weights(rng):
    return [np.round(rng.normal(size=(int(rng.integers(2, 5)), int(rng.integers(2, 5)))), 4),
            np.round(rng.normal(size=int(rng.integers(2, 6))), 4)]


@pytest.mark.points(1)
def test_l2_cost(student, grading_seed):
    """l2_cost: lambda / (2 m) times the sum of squares of all weight arrays"""
    rng = _rng(grading_seed, 10)
    cases = [(_weights(rng), float(rng.choice([0.1, 0.7, 2.0])), int(rng.integers(5, 50))) for _ in range(2)]
    cases.append((cases[0][0][:1], 1.0, 1))
    probe = "[" + ", ".join("l2_cost([" + ", ".join(f"np.array({_lit(W)})" for W in Ws) + f"], {lam!r}, {m!r})"
                            for Ws, lam, m in cases) + "]"
    got = student.eval(probe)
    for (Ws, lam, m), g in zip(cases, got):
        assert_close(g, lam / (2 * m) * sum(float(np.sum(W ** 2)) for W in Ws),
                     f"l2_cost(weights of shapes {[W.shape for W in Ws]}, lambd={lam}, m={m}) "
                     "(lambd / (2 m) times the sum of the squared entries of EVERY array)", rtol=1e-9)


@pytest.mark.points(2)
def test_l2_grad(student, grading_seed):
    """l2_grad: lambda / m * W, checked with a centred difference and torch autograd"""
    rng = _rng(grading_seed, 11)
    for lam, m in [(float(rng.choice([0.3, 0.9])), int(rng.integers(3, 20))), (2.5, 7)]:
        W = np.round(rng.normal(size=(int(rng.integers(2, 5)), 3)), 4)
        got = student.eval(f"l2_grad(np.array({_lit(W)}), {lam!r}, {m!r})")
        Wt = torch.tensor(W, dtype=F64, requires_grad=True)
        (lam / (2 * m) * (Wt ** 2).sum()).backward()

        def cost(X, lam=lam, m=m):
            return lam / (2 * m) * float(np.sum(X ** 2))

        numeric = np.zeros_like(W)
        h = 1e-5
        for idx in np.ndindex(W.shape):
            Wp, Wm = W.copy(), W.copy()
            Wp[idx] += h
            Wm[idx] -= h
            numeric[idx] = (cost(Wp) - cost(Wm)) / (2 * h)
        what = f"l2_grad(W of shape {W.shape}, lambd={lam}, m={m})"
        assert_close(got, numeric, f"{what} compared with a centred difference of lambd / (2 m) * sum(W**2) "
                                   "(the gradient is lambd / m * W: did you forget the / m or add a 2?)",
                     rtol=1e-6, atol=1e-8)
        assert_close(got, Wt.grad.numpy(), f"{what} compared with torch autograd", rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- dropout
@pytest.mark.points(2)
def test_dropout_mask(student, grading_seed):
    """dropout_forward: the mask rng.random(shape) < keep_prob and the survivors divided by keep_prob"""
    rng = _rng(grading_seed, 12)
    cases = [((4, 7), float(rng.choice([0.8, 0.7])), int(rng.integers(1000))),
             ((3, 2, 5), float(rng.choice([0.5, 0.3])), int(rng.integers(1000))), ((6,), 1.0, 5)]
    probe = "_out = []\n"
    arrays = []
    for shape, kp, s in cases:
        a = np.round(rng.normal(size=shape), 4)
        arrays.append(a)
        probe += (f"_r = np.random.default_rng({s})\n_o, _m = dropout_forward(np.array({_lit(a)}), {kp!r}, _r)\n"
                  "_out.append([np.asarray(_o, dtype=float), np.asarray(_m), float(_r.random())])\n")
    got = student.eval(probe + "_out")
    for (shape, kp, s), a, (out, mask, after) in zip(cases, arrays, got):
        r = np.random.default_rng(s)
        m = r.random(shape) < kp
        what = f"dropout_forward(a of shape {shape}, keep_prob={kp}, np.random.default_rng({s}))"
        assert_close(np.asarray(mask).shape, list(shape), f"{what}: the mask's shape")
        assert np.array_equal(np.asarray(mask).astype(bool), m), \
            (f"{what}: the mask should be rng.random(a.shape) < keep_prob (True = kept; {m.mean():.2f} of the entries "
             f"kept here), got a mask keeping {np.asarray(mask).astype(float).mean():.2f}: is the comparison the "
             "right way round, and is it one draw of the whole shape?")
        assert_close(out, a * m / kp, f"{what}: the output a * mask / keep_prob (inverted dropout divides the "
                                      "kept entries by keep_prob so the expected value is unchanged)", rtol=1e-9)
        assert_close(after, float(r.random()), f"{what}: the next number drawn from rng after the call "
                                               "(draw exactly one rng.random(a.shape))", rtol=1e-12)


@pytest.mark.points(1)
def test_dropout_eval_and_mean(student, grading_seed):
    """dropout_forward: identity in evaluation mode; the mean is preserved in training"""
    rng = _rng(grading_seed, 13)
    a = np.round(rng.normal(size=(3, 4)), 4)
    kp = float(rng.choice([0.6, 0.9]))
    probe = (f"_r = np.random.default_rng(3)\n_o, _m = dropout_forward(np.array({_lit(a)}), {kp!r}, _r, train=False)\n"
             "_big, _ = dropout_forward(np.full((400, 250), 2.0), 0.25, np.random.default_rng(4))\n"
             "[np.asarray(_o, dtype=float), _m is None, float(_r.random()), float(np.mean(_big)), "
             "sorted(set(np.round(np.ravel(_big), 9).tolist()))]")
    got = student.eval(probe)
    what = f"dropout_forward(a, keep_prob={kp}, rng, train=False)"
    assert_close(got[0], a, f"{what}: in evaluation mode the output is the input unchanged (no mask, no scaling)",
                 rtol=1e-12)
    assert got[1] is True, f"{what}: the mask returned in evaluation mode should be None"
    assert_close(got[2], float(np.random.default_rng(3).random()),
                 f"{what}: evaluation mode should draw no random numbers (the next draw from rng changed)", rtol=1e-12)
    assert got[4] == [0.0, 8.0], \
        f"dropout_forward(np.full((400, 250), 2.0), 0.25, rng): entries should be 0 or 2 / 0.25 = 8, got values {got[4][:5]}"
    assert abs(got[3] - 2.0) < 0.1, \
        (f"dropout_forward(np.full((400, 250), 2.0), 0.25, rng): inverted dropout keeps the mean at 2.0 (within 0.1 "
         f"over 100000 entries), got {got[3]:.4f}: divide by keep_prob, and keep with probability keep_prob")


# --------------------------------------------------------------------------- batch norm
def _torch_bn(batches, gamma, beta, momentum, eps, test_batches=()):
    """nn.BatchNorm1d in float64: train-mode outputs and running stats per batch, then eval outputs."""
    bn = nn.BatchNorm1d(len(gamma), eps=eps, momentum=momentum).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma, dtype=F64))
        bn.bias.copy_(torch.tensor(beta, dtype=F64))
    out = []
    bn.train()
    for x in batches:
        y = bn(torch.tensor(x, dtype=F64)).detach().numpy()
        out.append([y, bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()])
    bn.eval()
    for x in test_batches:
        y = bn(torch.tensor(x, dtype=F64)).detach().numpy()
        out.append([y, bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()])
    return out


def _bn_probe(batches, gamma, beta, param: dict, test_batches=()) -> str:
    lines = [f"_g = np.array({_lit(gamma)})", f"_be = np.array({_lit(beta)})", f"_p = {_cfg_text(param)}", "_out = []"]
    for mode, xs in (("train", batches), ("test", test_batches)):
        for x in xs:
            if mode == "test":
                lines.append("_p['mode'] = 'test'")
            lines += [f"_y, _p = batchnorm_forward(np.array({_lit(x)}), _g, _be, _p)",
                      "_out.append([np.asarray(_y, dtype=float), np.array(_p['running_mean'], dtype=float), "
                      "np.array(_p['running_var'], dtype=float)])"]
    lines.append("_out")
    return "\n".join(lines)


@pytest.mark.points(2)
def test_batchnorm_train(student, grading_seed):
    """batchnorm_forward in train mode: batch statistics with the biased variance, equal to nn.BatchNorm1d"""
    rng = _rng(grading_seed, 14)
    for n, d, eps, param in [(int(rng.integers(5, 9)), 3, 1e-5, {"mode": "train"}),
                             (4, int(rng.integers(2, 5)), 0.5, {"eps": 0.5, "momentum": 0.2})]:
        x = np.round(rng.normal(float(rng.uniform(-3, 3)), float(rng.uniform(0.5, 3)), (n, d)), 4)
        gamma, beta = np.round(rng.normal(size=d), 4), np.round(rng.normal(size=d), 4)
        (y, rm, rv), = _torch_bn([x], gamma, beta, param.get("momentum", 0.1), eps)
        (gy, grm, grv), = student.eval(_bn_probe([x], gamma, beta, param))
        what = (f"batchnorm_forward(x of shape {(n, d)}, gamma, beta, {param}) on a fresh bn_param"
                + ("" if "mode" in param else " (no 'mode' key: train mode is the default)"))
        assert_close(gy, y, f"{what}: the output compared with nn.BatchNorm1d(eps={eps}) in train mode (normalise each "
                            "column with the batch mean and the BIASED variance (divide by N), then gamma x_hat + beta)",
                     rtol=1e-7, atol=1e-9)
        assert_close(grm, rm, f"{what}: running_mean after one step (starts at zeros; "
                              f"(1 - momentum) * running + momentum * batch mean, momentum {param.get('momentum', 0.1)})",
                     rtol=1e-7, atol=1e-10)
        assert_close(grv, rv, f"{what}: running_var after one step (starts at ones; updated with the UNBIASED batch "
                              "variance, N / (N - 1) times the biased one, as nn.BatchNorm1d does)", rtol=1e-7, atol=1e-10)


@pytest.mark.points(2)
def test_batchnorm_running_and_eval(student, grading_seed):
    """batchnorm_forward over several steps, then test mode: running statistics as nn.BatchNorm1d keeps them"""
    rng = _rng(grading_seed, 15)
    d = int(rng.integers(2, 5))
    momentum = float(rng.choice([0.1, 0.3, 0.5]))
    eps = float(rng.choice([1e-5, 1e-3]))
    batches = [np.round(rng.normal(float(rng.uniform(-2, 2)), float(rng.uniform(0.5, 3)), (n, d)), 4)
               for n in (int(rng.integers(3, 7)), 8, 2, int(rng.integers(4, 10)))]
    tests = [np.round(rng.normal(0, 2, (5, d)), 4), np.round(rng.normal(0, 2, (1, d)), 4)]
    gamma, beta = np.round(rng.normal(size=d), 4), np.round(rng.normal(size=d), 4)
    expected = _torch_bn(batches, gamma, beta, momentum, eps, tests)
    param = {"mode": "train", "eps": eps, "momentum": momentum}
    got = student.eval(_bn_probe(batches, gamma, beta, param, tests))
    assert isinstance(got, list) and len(got) == len(expected), f"expected {len(expected)} results, got {str(got)[:200]}"
    for k, ((gy, grm, grv), (y, rm, rv)) in enumerate(zip(got, expected)):
        train = k < len(batches)
        what = (f"batchnorm_forward with bn_param {param} (nn.BatchNorm1d(momentum={momentum}): running = "
                f"(1 - {momentum}) * running + {momentum} * batch statistic), "
                + (f"training step {k + 1} of {len(batches)} (batch sizes {[len(x) for x in batches]})" if train else
                   f"then bn_param['mode'] = 'test', test batch {k - len(batches) + 1} of {len(tests)} "
                   f"({len(tests[k - len(batches)])} rows)"))
        assert_close(grm, rm, f"{what}: running_mean", rtol=1e-7, atol=1e-10)
        assert_close(grv, rv, f"{what}: running_var" + (" (the UNBIASED batch variance goes into it)" if train else
                                                        " (test mode must not update the running statistics)"),
                     rtol=1e-7, atol=1e-10)
        assert_close(gy, y, f"{what}: the output" + ("" if train else " (test mode normalises with the running mean "
                                                                      "and variance, not the batch's)"),
                     rtol=1e-7, atol=1e-9)
