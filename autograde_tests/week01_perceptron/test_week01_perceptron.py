"""Hidden tests for week01_perceptron: gradient descent by finite differences, perceptron gates,
an XOR network, NumPy, Matplotlib and seeded random numbers.

Total: 24 points over 18 tests.

Every probe runs in the student's kernel (and the same probe in the reference kernel) and
returns plain data only. Expected values are computed here, in the grader process, by small
independent oracles (NumPy, pure Python, NumPy's legacy RandomState, whose stream equals the
global `np.random` generator after `np.random.seed`). Hidden inputs are drawn from
`grading_seed`. Plot probes return what was drawn (line data, offsets, bar heights, labels,
ticks, scales) and close their figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.testing import assert_close

X_ROWS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
TRUTH = {
    "AND": [0.0, 0.0, 0.0, 1.0],
    "OR": [0.0, 1.0, 1.0, 1.0],
    "NAND": [1.0, 1.0, 1.0, 0.0],
    "x1 AND NOT x2": [0.0, 0.0, 1.0, 0.0],
    "NOR": [1.0, 0.0, 0.0, 0.0],
}
HEIGHT = [1.73, 1.68, 1.71, 1.89, 1.79]
WEIGHT = [65.4, 59.2, 63.6, 88.4, 68.7]
HIST_VALUES = [0, 0.6, 1.4, 1.6, 2.2, 2.5, 2.6, 3.2, 3.5, 3.9, 4.2, 6]


def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng(grading_seed * 100 + k)


def _lit(values) -> str:
    """A Python literal for a list (or nested list) of floats."""
    return repr(np.asarray(values, dtype=float).tolist())


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def _gate(params, x1, x2):
    w1, w2, b = params
    return _sigmoid(w1 * np.asarray(x1) + w2 * np.asarray(x2) + b)


def _gate_loss(params, y):
    x = np.array(X_ROWS)
    return float(np.mean((_gate(params, x[:, 0], x[:, 1]) - np.asarray(y)) ** 2))


# --------------------------------------------------------------------------- oracles
def _oracle_train_multiplier(w0, xs, ys, lr, eps, epochs):
    xs, ys = np.asarray(xs), np.asarray(ys)

    def loss(w):
        return float(np.mean((w * xs - ys) ** 2))

    w, losses = float(w0), []
    for _ in range(epochs):
        base = loss(w)
        losses.append(base)
        w -= lr * (loss(w + eps) - base) / eps
    return w, losses


def _oracle_train_gate(params0, y, lr, eps, epochs):
    params, losses = [float(p) for p in params0], []
    for _ in range(epochs):
        base = _gate_loss(params, y)
        losses.append(base)
        grads = []
        for i in range(3):
            nudged = list(params)
            nudged[i] += eps
            grads.append((_gate_loss(nudged, y) - base) / eps)
        params = [p - lr * g for p, g in zip(params, grads)]
    return params, losses


def _oracle_walk(rs: np.random.RandomState, n_throws: int = 100):
    """The specified walk; also which rules fired (floor at 0, a fall, a six)."""
    step, walk, events = 0, [0], set()
    for _ in range(n_throws):
        dice = rs.randint(1, 7)
        if dice <= 2:
            if step == 0:
                events.add("floor")
            step = max(0, step - 1)
        elif dice <= 5:
            step += 1
        else:
            events.add("six")
            step += rs.randint(1, 7)
        if rs.rand() <= 0.001:
            events.add("fall")
            step = 0
        walk.append(step)
    return walk, events


def _oracle_win(seed: int, n_walks: int, target: int = 60, n_throws: int = 100) -> float:
    rs = np.random.RandomState(seed)
    ends = [_oracle_walk(rs, n_throws)[0][-1] for _ in range(n_walks)]
    return float(np.mean(np.array(ends) >= target))


# --------------------------------------------------------------------------- Part A
@pytest.mark.points(1)
def test_numeric_derivative(student, reference, grading_seed):
    """Forward-difference derivative (f(x + eps) - f(x)) / eps"""
    rng = _rng(grading_seed, 1)
    a, b = np.round(rng.uniform(0.5, 2.0, 2), 3)
    x = float(np.round(rng.uniform(-2, 2), 3))
    eps = float(rng.choice([0.1, 0.05, 0.02]))
    probe = (f"[numeric_derivative(lambda t: {a!r} * t ** 3 + {b!r} * t, {x!r}, {eps!r}),\n"
             f" numeric_derivative(lambda t: t ** 2, {x!r}),\n"
             f" numeric_derivative(lambda t: 5.0 * t - 1.0, {x!r}, 0.5)]")
    got = student.eval(probe)
    ref = reference.eval(probe)

    def f(t):
        return a * t ** 3 + b * t

    assert isinstance(got, list) and len(got) == 3, "numeric_derivative should return a number"
    assert_close(got[2], 5.0, "derivative of the straight line 5t - 1 (any difference quotient gives 5 exactly)",
                 rtol=1e-9)
    assert_close(got[0], (f(x + eps) - f(x)) / eps,
                 f"numeric_derivative of {a}*t**3 + {b}*t at {x} with eps = {eps} "
                 "(use the forward difference (f(x + eps) - f(x)) / eps with the given eps)", rtol=1e-9)
    assert_close(got[1], ((x + 1e-3) ** 2 - x ** 2) / 1e-3,
                 f"numeric_derivative of t**2 at {x} with the default eps (it should be 1e-3)", rtol=1e-9)
    assert_close(got, ref, "derivatives compared with the reference solution", rtol=1e-9)


@pytest.mark.points(1)
def test_multiplier_loss(student, reference, grading_seed):
    """Mean squared error of the multiply-by-w model"""
    rng = _rng(grading_seed, 2)
    cases = []
    for n in (4, 7):
        xs = np.round(rng.uniform(-3, 3, n), 3)
        ys = np.round(2 * xs + rng.normal(0, 0.5, n), 3)
        w = float(np.round(rng.uniform(0, 5), 3))
        cases.append((w, xs, ys))
    probe = "[" + ", ".join(f"multiplier_loss({w!r}, np.array({_lit(xs)}), np.array({_lit(ys)}))"
                            for w, xs, ys in cases) + ", multiplier_loss(2.0, np.arange(5.0), 2 * np.arange(5.0))]"
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert_close(got[-1], 0.0, "the loss of w = 2 on examples with y = 2x (a perfect model has loss 0)")
    for (w, xs, ys), value in zip(cases, got):
        assert_close(value, float(np.mean((w * xs - ys) ** 2)),
                     f"multiplier_loss with w = {w} on {len(xs)} examples "
                     "(the mean, not the sum, of the squared errors (w * x - y)**2)", rtol=1e-9)
    assert_close(got, ref, "losses compared with the reference solution", rtol=1e-9)


@pytest.mark.points(2)
def test_train_multiplier(student, reference, grading_seed):
    """Gradient descent with a learning rate finds the multiplier"""
    rng = _rng(grading_seed, 3)
    xs = np.round(rng.uniform(1.0, 3.0, 5), 3)
    k = float(np.round(rng.uniform(1.5, 3.5), 3))
    ys = np.round(k * xs, 6)
    w0 = float(np.round(rng.uniform(0, 10), 3))
    lr, eps = 0.01, 1e-3
    probe = (f"_w, _losses = train_multiplier({w0!r}, np.array({_lit(xs)}), np.array({_lit(ys)}), "
             f"lr={lr!r}, eps={eps!r}, epochs=25)\n"
             f"_w_long, _ = train_multiplier({w0!r}, np.array({_lit(xs)}), np.array({_lit(ys)}), "
             f"lr={lr!r}, eps={eps!r}, epochs=400)\n"
             "[float(_w), [float(_l) for _l in _losses], float(_w_long)]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    want_w, want_losses = _oracle_train_multiplier(w0, xs, ys, lr, eps, 25)
    long_w, _ = _oracle_train_multiplier(w0, xs, ys, lr, eps, 400)
    w, losses, w_long = got
    assert isinstance(losses, list) and len(losses) == 25, \
        f"train_multiplier(..., epochs=25) should return 25 recorded losses, got {len(losses) if isinstance(losses, list) else losses}"
    assert_close(losses[0], want_losses[0], f"the first recorded loss (the loss at w0 = {w0}, before any update)",
                 rtol=1e-9)
    assert_close(w, want_w, f"w after 25 epochs from w0 = {w0} with lr = {lr}, eps = {eps} "
                            "(each epoch: w -= lr * forward-difference derivative of the loss)", rtol=1e-7)
    assert_close(losses, want_losses, "the 25 recorded losses (each measured before that epoch's update)", rtol=1e-7)
    assert abs(w_long - (k - eps / 2)) < 0.01, \
        f"after 400 epochs on examples y = {k} * x, w should be close to {k}, got {w_long:.4f}"
    assert_close(w_long, long_w, "w after 400 epochs", rtol=1e-7)
    assert_close(got, ref, "training compared with the reference solution", rtol=1e-7)


@pytest.mark.points(1)
def test_sigmoid_and_perceptron(student, reference, grading_seed):
    """The sigmoid and the perceptron sigmoid(w1*x1 + w2*x2 + b)"""
    rng = _rng(grading_seed, 4)
    zs = np.round(rng.uniform(-6, 6, 6), 3)
    params = [float(v) for v in np.round(rng.uniform(-3, 3, 3), 3)]
    probe = (f"_X = np.array({X_ROWS!r})\n"
             f"[np.asarray(sigmoid(np.array({_lit(zs)})), dtype=float), float(sigmoid(0.0)),\n"
             f" np.asarray(gate_forward({params!r}, _X[:, 0], _X[:, 1]), dtype=float),\n"
             f" float(gate_forward({params!r}, 1.0, 0.0)),\n"
             f" np.asarray(gate_forward([0.0, 0.0, {params[2]!r}], _X[:, 0], _X[:, 1]), dtype=float)]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    x = np.array(X_ROWS)
    assert_close(got[0], _sigmoid(zs), "sigmoid(z) = 1 / (1 + e**(-z)), element-wise on an array", rtol=1e-9)
    assert_close(got[1], 0.5, "sigmoid(0)")
    assert_close(got[2], _gate(params, x[:, 0], x[:, 1]),
                 f"gate_forward({params}, x1, x2) on the four rows of the truth table "
                 "(sigmoid(w1*x1 + w2*x2 + b))", rtol=1e-9)
    assert_close(got[3], float(_gate(params, 1.0, 0.0)), f"gate_forward({params}, 1.0, 0.0) on single numbers",
                 rtol=1e-9)
    assert_close(got[4], _sigmoid(np.full(4, params[2])),
                 f"with both weights 0 and bias {params[2]} every output should be sigmoid(bias)", rtol=1e-9)
    assert_close(got, ref, "outputs compared with the reference solution", rtol=1e-9)


@pytest.mark.points(2)
def test_train_gate(student, reference, grading_seed):
    """Training a perceptron gate with finite-difference partial derivatives"""
    rng = _rng(grading_seed, 5)
    names = list(TRUTH)
    gate = names[int(rng.integers(len(names)))]
    params0 = [float(v) for v in np.round(rng.uniform(0, 1, 3), 4)]
    lr, eps, epochs = 1.0, 1e-3, 40
    long_gate = "AND" if gate != "AND" else "OR"
    probe = (f"_X = np.array({X_ROWS!r})\n"
             f"_p, _l = train_gate({params0!r}, _X, np.array({TRUTH[gate]!r}), lr={lr!r}, eps={eps!r}, "
             f"epochs={epochs})\n"
             f"_pl, _ll = train_gate({params0!r}, _X, np.array({TRUTH[long_gate]!r}), lr=1.0, eps=1e-3, "
             "epochs=1500)\n"
             "[[float(_v) for _v in _p], [float(_v) for _v in _l], [float(_v) for _v in _pl], float(_ll[-1]),\n"
             " np.asarray(gate_forward(_pl, _X[:, 0], _X[:, 1]), dtype=float)]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    want_p, want_l = _oracle_train_gate(params0, TRUTH[gate], lr, eps, epochs)
    params, losses, long_params, last_loss, outputs = got
    assert isinstance(params, list) and len(params) == 3, "train_gate should return the 3 parameters [w1, w2, b]"
    assert isinstance(losses, list) and len(losses) == epochs, f"train_gate should record one loss per epoch ({epochs})"
    assert_close(losses[0], want_l[0], f"the first recorded loss (the loss at the starting parameters {params0})",
                 rtol=1e-9)
    assert_close(params, want_p,
                 f"the parameters after {epochs} epochs on the {gate} gate from {params0} "
                 "(estimate all three partial derivatives at the current parameters, each by nudging one "
                 "parameter by eps with a forward difference, then update all three with p -= lr * derivative)",
                 rtol=1e-6)
    assert_close(losses, want_l, f"the {epochs} recorded losses (each measured before that epoch's update)", rtol=1e-6)
    rounded = np.round(outputs).tolist()
    assert rounded == TRUTH[long_gate], \
        f"after 1500 epochs the trained {long_gate} gate should round to {TRUTH[long_gate]}, got {np.round(outputs, 3).tolist()}"
    assert last_loss < 0.01, f"after 1500 epochs the {long_gate} gate's loss should be below 0.01, got {last_loss:.4f}"
    assert_close(long_params, ref[2], f"the trained {long_gate} parameters compared with the reference solution",
                 rtol=1e-6)
    assert_close(params, ref[0], "the trained parameters compared with the reference solution", rtol=1e-6)


@pytest.mark.points(2)
def test_xor_network(student, reference, grading_seed):
    """XOR from an OR, a NAND and an AND perceptron (9 parameters)"""
    rng = _rng(grading_seed, 6)
    hidden = {key: [float(v) for v in np.round(rng.uniform(-4, 4, 3), 3)] for key in ("or", "nand", "and")}
    probe = (f"_X = np.array({X_ROWS!r})\n"
             f"_hidden = {hidden!r}\n"
             "{'params': {str(_k): [float(_v) for _v in _ps] for _k, _ps in XOR_PARAMS.items()},\n"
             " 'own': np.asarray(xor_forward(XOR_PARAMS, _X[:, 0], _X[:, 1]), dtype=float),\n"
             " 'hidden': np.asarray(xor_forward(_hidden, _X[:, 0], _X[:, 1]), dtype=float),\n"
             " 'count': int(count_parameters(XOR_PARAMS)),\n"
             " 'count_other': int(count_parameters({'a': [1.0, 2.0, 3.0], 'b': [1.0, 2.0, 3.0, 4.0, 5.0]}))}")
    got = student.eval(probe)
    ref = reference.eval(probe)
    x = np.array(X_ROWS)
    params = got["params"]
    assert set(params) == {"or", "nand", "and"}, f"XOR_PARAMS should have the keys 'or', 'nand', 'and', got {sorted(params)}"
    for key, gate in [("or", "OR"), ("nand", "NAND"), ("and", "AND")]:
        assert len(params[key]) == 3, f"XOR_PARAMS['{key}'] should be [w1, w2, b]"
        out = _gate(params[key], x[:, 0], x[:, 1])
        assert np.all(np.abs(out - TRUTH[gate]) < 0.1), \
            f"the '{key}' perceptron alone should output {TRUTH[gate]} (each within 0.1), got {np.round(out, 3).tolist()}"
    h_or = _gate(hidden["or"], x[:, 0], x[:, 1])
    h_nand = _gate(hidden["nand"], x[:, 0], x[:, 1])
    assert_close(got["hidden"], _gate(hidden["and"], h_or, h_nand),
                 "xor_forward with other parameters: the output perceptron params['and'] must read the hidden "
                 "outputs (OR output, NAND output), which both read (x1, x2)", rtol=1e-9)
    assert np.all(np.abs(got["own"] - np.array([0.0, 1.0, 1.0, 0.0])) < 0.1), \
        f"xor_forward(XOR_PARAMS, ...) should output [0, 1, 1, 0], got {np.round(got['own'], 3).tolist()}"
    assert got["count"] == 9, f"the XOR network has 9 parameters, count_parameters gave {got['count']}"
    assert got["count_other"] == 8, "count_parameters should add up the lengths of all parameter lists (3 + 5 = 8)"
    assert_close(got["hidden"], ref["hidden"], "xor_forward compared with the reference solution", rtol=1e-9)


# --------------------------------------------------------------------------- NumPy
@pytest.mark.points(1)
def test_bmi(student, reference, grading_seed):
    """Element-wise BMI with NumPy arrays"""
    rng = _rng(grading_seed, 7)
    heights = [float(v) for v in np.round(rng.uniform(1.5, 2.0, 7), 2)]
    weights = [float(v) for v in np.round(rng.uniform(45, 100, 7), 1)]
    probe = (f"_a = bmi_array({HEIGHT!r}, {WEIGHT!r})\n"
             f"_b = bmi_array({heights!r}, {weights!r})\n"
             "[type(_a).__name__, np.asarray(_a, dtype=float), np.asarray(_b, dtype=float)]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert got[0] == "ndarray", f"bmi_array should return a NumPy array (np.ndarray) even for lists, got a {got[0]}"
    assert_close(got[1], np.array([21.852, 20.975, 21.750, 24.747, 21.441]),
                 "the family's BMIs weight / height**2", atol=1e-3, rtol=0)
    assert_close(got[2], np.array(weights) / np.array(heights) ** 2,
                 "BMIs weight / height**2 of seven other people", rtol=1e-9)
    assert_close(got[2], ref[2], "BMIs compared with the reference solution", rtol=1e-9)


@pytest.mark.points(1)
def test_boolean_mask(student, reference, grading_seed):
    """Selecting values with a boolean mask"""
    rng = _rng(grading_seed, 8)
    values = np.round(rng.uniform(15, 35, 9), 2)
    threshold = float(values[int(rng.integers(9))])
    probe = (f"[np.asarray(above(np.array({_lit(values)}), {threshold!r}), dtype=float),\n"
             f" np.asarray(above(bmi_array({HEIGHT!r}, {WEIGHT!r}), 23), dtype=float)]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert_close(got[0], values[values > threshold],
                 f"above(values, {threshold}) where {threshold} is itself one of the values: keep the values "
                 "strictly greater than the threshold, in their original order", rtol=1e-12)
    assert_close(got[1], np.array([24.747]), "above(bmi, 23) for the family", atol=1e-3, rtol=0)
    assert_close(got, ref, "selections compared with the reference solution", rtol=1e-12)


@pytest.mark.points(1)
def test_select_columns(student, reference, grading_seed):
    """2-D indexing: all rows, selected columns"""
    rng = _rng(grading_seed, 9)
    table = np.round(rng.uniform(0, 10, (3, 7)), 2)
    columns = [int(c) for c in rng.permutation(7)[:3]]
    probe = (f"_np_2d = np.array([{HEIGHT!r}, {WEIGHT!r}])\n"
             f"[np.asarray(select_columns(_np_2d, [1, 2]), dtype=float),\n"
             f" np.asarray(select_columns(np.array({_lit(table)}), {columns!r}), dtype=float)]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert_close(got[0], np.array([[1.68, 1.71], [59.2, 63.6]]),
                 "select_columns(np_2d, [1, 2]): heights and weights of the 2nd and 3rd family members")
    assert_close(got[1], table[:, columns],
                 f"select_columns on a 3 x 7 array with the columns {columns} (all rows, these columns, in this order)",
                 rtol=1e-12)
    assert_close(got, ref, "selections compared with the reference solution", rtol=1e-12)


@pytest.mark.points(1)
def test_city_survey_generator(student, reference, grading_seed):
    """The seeded city survey: (n, 2) heights and weights"""
    seed = int(_rng(grading_seed, 10).integers(1, 10_000))
    n = 300
    probe = f"np.random.seed({seed})\n_c = make_city({n})\nnp.asarray(_c, dtype=float)"
    got = student.eval(probe)
    ref = reference.eval(probe)
    rs = np.random.RandomState(seed)
    heights = np.round(rs.normal(1.75, 0.2, n), 2)
    weights = np.round(rs.normal(60.32, 15, n), 2)
    assert got.shape == (n, 2), f"make_city({n}) should return an array of shape ({n}, 2), got {got.shape}"
    for col, want, what in [(0, heights, f"heights (column 0): {n} draws of np.random.normal(1.75, 0.2), "
                                         "rounded to 2 decimals, drawn before the weights"),
                            (1, weights, f"weights (column 1): {n} draws of np.random.normal(60.32, 15), "
                                         "rounded to 2 decimals, drawn after the heights")]:
        wrong = np.flatnonzero(~np.isclose(got[:, col], want, rtol=1e-12, atol=1e-12))
        if wrong.size:
            i = int(wrong[0])
            raise AssertionError(f"after np.random.seed({seed}), make_city({n}) gives wrong {what}; "
                                 f"first difference in row {i}: expected {want[i]}, got {got[i, col]}")
    assert_close(got, ref, "the survey compared with the reference solution", rtol=1e-12)


@pytest.mark.points(2)
def test_summary_statistics(student, reference, grading_seed):
    """Summary statistics: mean, median, standard deviation, correlation"""
    rng = _rng(grading_seed, 11)
    n = 41
    heights = np.round(rng.normal(1.75, 0.2, n), 2)
    weights = np.round(30 * heights + rng.normal(8, 10, n), 2)
    city = np.column_stack((heights, weights))
    probe = (f"_s = summarize(np.array({_lit(city)}))\n"
             "{str(_k): float(_v) for _k, _v in _s.items()}")
    got = student.eval(probe)
    ref = reference.eval(probe)
    expected = {
        "mean_height": (float(np.mean(heights)), "the mean height"),
        "median_height": (float(np.median(heights)), "the median height (np.median: the middle value)"),
        "std_height": (float(np.std(heights)), "the standard deviation of the heights (np.std divides by n)"),
        "mean_weight": (float(np.mean(weights)), "the mean weight (column 1)"),
        "corr_height_weight": (float(np.corrcoef(heights, weights)[0, 1]),
                               "the correlation between height and weight (off-diagonal entry of np.corrcoef)"),
    }
    missing = [key for key in expected if key not in got]
    assert not missing, f"summarize should return a dict with the key {missing[0]!r}"
    for key, (value, what) in expected.items():
        assert_close(got[key], value, f"{what}, on a survey of {n} people", rtol=1e-9)
    assert_close(got, ref, "the summary compared with the reference solution", rtol=1e-9)


# --------------------------------------------------------------------------- Matplotlib
def _plot_probe(call: str, extra: str = "") -> str:
    return (
        "import matplotlib.pyplot as _plt\n"
        f"_fig, _ax = {call}\n"
        "_r = {'lines': [_l.get_xydata() for _l in _ax.lines],\n"
        "      'collections': [_c.get_offsets().data if hasattr(_c.get_offsets(), 'mask') else _c.get_offsets()\n"
        "                      for _c in _ax.collections],\n"
        "      'title': _ax.get_title(), 'xlabel': _ax.get_xlabel(), 'ylabel': _ax.get_ylabel(),\n"
        "      'xscale': _ax.get_xscale(), 'yscale': _ax.get_yscale(), 'yticks': _ax.get_yticks(),\n"
        "      'yticklabels': [_t.get_text() for _t in _ax.get_yticklabels()],\n"
        "      'heights': [float(_p.get_height()) for _p in _ax.patches],\n"
        "      'lefts': [float(_p.get_x()) for _p in _ax.patches],\n"
        "      'is_own_figure': _ax.figure is _fig}\n"
        f"{extra}"
        "_plt.close(_fig)\n"
        "_r"
    )


@pytest.mark.points(2)
def test_line_plot(student, reference, grading_seed):
    """Line plot with axis labels, a title and custom y-ticks"""
    rng = _rng(grading_seed, 12)
    years = [int(y) for y in np.sort(rng.choice(np.arange(1800, 2100, 10), 6, replace=False))]
    pops = [float(p) for p in np.round(np.sort(rng.uniform(0.8, 9.5, 6)), 3)]
    got = student.eval(_plot_probe(f"plot_population({years!r}, {pops!r})"))
    ref = reference.eval(_plot_probe(f"plot_population({years!r}, {pops!r})"))
    assert got["is_own_figure"], "plot_population should return the figure and the axes it drew on"
    assert len(got["lines"]) == 1, f"plot_population should draw exactly one line, found {len(got['lines'])}"
    assert_close(got["lines"][0], np.column_stack([years, pops]),
                 "the line's points (year on the x-axis, population on the y-axis, from the arguments)")
    assert got["title"] == "World Population Projections", f"the title should be 'World Population Projections', got {got['title']!r}"
    assert got["xlabel"] == "Year", f"the x-axis label should be 'Year', got {got['xlabel']!r}"
    assert got["ylabel"] == "Population", f"the y-axis label should be 'Population', got {got['ylabel']!r}"
    assert_close(got["yticks"], np.array([0, 2, 4, 6, 8, 10]), "the y-tick positions (0 up to 10 in steps of 2)")
    assert got["yticklabels"] == ["0", "2B", "4B", "6B", "8B", "10B"], \
        f"the y-tick labels should be 0, 2B, 4B, 6B, 8B, 10B, got {got['yticklabels']}"
    assert_close(got["lines"], ref["lines"], "the line compared with the reference solution")


@pytest.mark.points(1)
def test_scatter_and_log_scale(student, reference, grading_seed):
    """Scatter plot, with and without a logarithmic x-axis"""
    rng = _rng(grading_seed, 13)
    xs = [float(v) for v in np.round(10 ** rng.uniform(2, 5, 8), 1)]
    ys = [float(v) for v in np.round(rng.uniform(40, 85, 8), 1)]
    probes = [_plot_probe(f"scatter_plot({xs!r}, {ys!r})"), _plot_probe(f"scatter_plot({xs!r}, {ys!r}, log_x=True)")]
    plain, logged = (student.eval(p) for p in probes)
    ref_plain, ref_logged = (reference.eval(p) for p in probes)
    for got, how in [(plain, "scatter_plot(x, y)"), (logged, "scatter_plot(x, y, log_x=True)")]:
        assert got["is_own_figure"], f"{how} should return the figure and the axes it drew on"
        assert len(got["collections"]) == 1 and not got["lines"], \
            f"{how} should draw the points with one scatter call and no lines"
        assert_close(got["collections"][0], np.column_stack([xs, ys]), f"the points drawn by {how}")
    assert plain["xscale"] == "linear", f"without log_x the x-axis should stay linear, got {plain['xscale']!r}"
    assert logged["xscale"] == "log", f"with log_x=True the x-axis should be logarithmic, got {logged['xscale']!r}"
    assert logged["yscale"] == "linear", "log_x=True makes only the x-axis logarithmic; the y-axis stays linear"
    assert_close([plain["xscale"], logged["xscale"]], [ref_plain["xscale"], ref_logged["xscale"]],
                 "the x scales compared with the reference solution")


@pytest.mark.points(1)
def test_histogram(student, reference, grading_seed):
    """Histogram bars: counts per bin"""
    rng = _rng(grading_seed, 14)
    values = [float(v) for v in np.round(rng.normal(0, 1, 60), 3)]
    bins = int(rng.integers(4, 8))
    course = student.eval(_plot_probe(f"histogram({HIST_VALUES!r}, bins=3)"))
    default = student.eval(_plot_probe(f"histogram({values!r})"))
    hidden = student.eval(_plot_probe(f"histogram({values!r}, bins={bins})"))
    ref = reference.eval(_plot_probe(f"histogram({values!r}, bins={bins})"))
    assert course["is_own_figure"], "histogram should return the figure and the axes it drew on"
    assert_close(course["heights"], [4.0, 6.0, 2.0], "bar heights of the course's 12 values with bins=3")
    counts10, _ = np.histogram(values, bins=10)
    assert_close(default["heights"], counts10.astype(float).tolist(),
                 "bar heights with the default number of bins (10)")
    counts, edges = np.histogram(values, bins=bins)
    assert_close(hidden["heights"], counts.astype(float).tolist(), f"bar heights of 60 values with bins={bins}")
    assert_close(hidden["lefts"], edges[:-1].tolist(), f"left edges of the {bins} bars", atol=1e-9)
    assert_close(hidden["heights"], ref["heights"], "bar heights compared with the reference solution")


@pytest.mark.points(1)
def test_shared_y_subplots(student, reference, grading_seed):
    """Two subplots sharing the y-axis: line left, scatter right"""
    n_points = int(_rng(grading_seed, 15).integers(30, 80))
    probe = (
        "import matplotlib.pyplot as _plt\n"
        f"_fig, _axes = sine_panels({n_points})\n"
        "_a1, _a2 = _axes\n"
        "_r = {'n_axes': len(_fig.axes), 'suptitle': _fig.get_suptitle(),\n"
        "      'left_lines': [_l.get_xydata() for _l in _a1.lines], 'left_collections': len(_a1.collections),\n"
        "      'right_offsets': [_c.get_offsets().data if hasattr(_c.get_offsets(), 'mask') else _c.get_offsets()\n"
        "                        for _c in _a2.collections], 'right_lines': len(_a2.lines),\n"
        "      'sharey': bool(_a1.get_shared_y_axes().joined(_a1, _a2)),\n"
        "      'sharex': bool(_a1.get_shared_x_axes().joined(_a1, _a2)),\n"
        "      'left_of': bool(_a1.get_position().x0 < _a2.get_position().x0)}\n"
        "_plt.close(_fig)\n"
        "_r"
    )
    got = student.eval(probe)
    ref = reference.eval(probe)
    x = np.linspace(0, 2 * np.pi, n_points)
    points = np.column_stack([x, np.sin(x ** 2)])
    assert got["n_axes"] == 2, f"sine_panels should make a figure with 2 axes, got {got['n_axes']}"
    assert got["left_of"], "the first returned axes should be the left one"
    assert got["suptitle"] == "Sharing Y axis", f"the figure title should be 'Sharing Y axis', got {got['suptitle']!r}"
    assert got["sharey"], "the two axes should share their y-axis (plt.subplots(1, 2, sharey=True))"
    assert not got["sharex"], "only the y-axis is shared, not the x-axis"
    assert len(got["left_lines"]) == 1 and got["left_collections"] == 0, "the left axes should hold one line plot"
    assert_close(got["left_lines"][0], points, f"the line: sin(x**2) at {n_points} evenly spaced x from 0 to 2 pi")
    assert len(got["right_offsets"]) == 1 and got["right_lines"] == 0, "the right axes should hold one scatter plot"
    assert_close(got["right_offsets"][0], points, "the scatter plot's points (the same as the line's)")
    assert_close(got["left_lines"], ref["left_lines"], "the line compared with the reference solution")


# --------------------------------------------------------------------------- random numbers
@pytest.mark.points(1)
def test_coin_tosses(student, reference, grading_seed):
    """Seeded coin tosses with randint(0, 2)"""
    seed = int(_rng(grading_seed, 16).integers(1, 10_000))
    probe = f"np.random.seed(123)\n_a = coin_tosses(3)\nnp.random.seed({seed})\n[_a, coin_tosses(20)]"
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert got[0] == ["heads", "tails", "heads"], \
        f"after np.random.seed(123) three tosses should be heads, tails, heads, got {got[0]}"
    rs = np.random.RandomState(seed)
    want = ["heads" if rs.randint(0, 2) == 0 else "tails" for _ in range(20)]
    assert got[1] == want, (f"20 tosses after np.random.seed({seed}): expected {want}, got {got[1]} "
                            "(one np.random.randint(0, 2) per toss, 0 is heads)")
    assert got == ref, "the tosses should match the reference solution"


def _walk_seeds(grading_seed: int) -> list[int]:
    """Seeds (from the grading seed) whose walks exercise every rule: the floor at 0, a six, a fall."""
    rng = _rng(grading_seed, 17)
    seeds, seen = [], set()
    while not {"floor", "fall", "six"} <= seen or len(seeds) < 4:
        seed = int(rng.integers(1, 1_000_000))
        _, events = _oracle_walk(np.random.RandomState(seed))
        if len(seeds) < 4 or (events - seen):
            seeds.append(seed)
            seen |= events
    return seeds


@pytest.mark.points(2)
def test_random_walk(student, reference, grading_seed):
    """The Empire State random walk follows the rules exactly"""
    seeds = _walk_seeds(grading_seed)
    probe = "_out = []\n"
    for seed in seeds:
        probe += f"np.random.seed({seed})\n_out.append([int(_s) for _s in random_walk()])\n"
    probe += f"np.random.seed({seeds[0]})\n_out.append([int(_s) for _s in random_walk(30)])\n_out"
    got = student.eval(probe)
    ref = reference.eval(probe)
    for walk, seed, n in [(w, s, 100) for w, s in zip(got, seeds)] + [(got[-1], seeds[0], 30)]:
        want, _ = _oracle_walk(np.random.RandomState(seed), n)
        assert isinstance(walk, list) and len(walk) == n + 1, \
            f"random_walk({n}) should return a list of {n + 1} steps (the start 0 and one entry per throw)"
        assert walk[0] == 0, "a walk starts at step 0"
        assert min(walk) >= 0, f"with np.random.seed({seed}) the walk went below step 0 (use max(0, step - 1))"
        if walk != want:
            i = next(i for i, (a, b) in enumerate(zip(walk, want)) if a != b)
            raise AssertionError(
                f"with np.random.seed({seed}), random_walk({n}) first differs from the rules at entry {i}: "
                f"expected step {want[i]}, got {walk[i]} (check the order of the random draws: the die, a second "
                "die only after a 6, then the fall check np.random.rand() <= 0.001)")
    assert got == ref, "the walks should match the reference solution"


@pytest.mark.points(1)
def test_win_probability(student, reference, grading_seed):
    """Estimating the chance of ending on step 60 or higher"""
    seed = int(_rng(grading_seed, 18).integers(1, 10_000))
    probe = (f"np.random.seed({seed})\n_a = win_probability(200)\n"
             f"np.random.seed({seed})\n_b = win_probability(100, target=25, n_throws=40)\n"
             "np.random.seed(123)\n_c = win_probability(500)\n"
             "[float(_a), float(_b), float(_c)]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert_close(got[2], 0.784, "the win rate of 500 walks after np.random.seed(123) (walks simulated one after "
                                "the other; a win means the LAST step is 60 or higher)", rtol=0, atol=1e-9)
    assert abs(got[0] - 0.777) < 0.1, \
        f"the estimated chance from 200 walks should be near 0.78, got {got[0]}"
    assert_close(got[0], _oracle_win(seed, 200), f"the win rate of 200 walks after np.random.seed({seed})",
                 rtol=0, atol=1e-9)
    assert_close(got[1], _oracle_win(seed, 100, target=25, n_throws=40),
                 f"win_probability(100, target=25, n_throws=40) after np.random.seed({seed}) "
                 "(use the target and n_throws arguments)", rtol=0, atol=1e-9)
    assert_close(got, ref, "the estimates compared with the reference solution", rtol=0, atol=1e-9)
