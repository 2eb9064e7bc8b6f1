"""Hidden tests for week09_forecasting: time-based split, sliding windows, recurrent cells by hand,
recurrent shapes, the sequence-to-vector Net, an LSTM/GRU forecaster, its training, baselines and
error measures, architecture types.

Total: 42 points over 18 tests.

Each function is graded on its own, on inputs made here from `grading_seed`: series, windows,
weights of recurrent cells (made here with torch's own `nn.RNNCell`, sent as literals), small
models built in the probe with weights chosen by the test. Only the quality test uses what the
notebook trained, since the student's training is what it grades. No probe contains a correct
implementation of a graded function: probes send data, call the student's functions and return
plain data.

Expected values are computed here, in the grader process, with independent oracles: PyTorch's
`nn.RNNCell`, `nn.RNN`, `nn.GRU` and `nn.LSTM` in float64 with the student's (or the test's)
weights, torch.optim on the same models, NumPy in float64, closed forms. The reference kernel is
asked the same probes as a cross-check of the grader's setup.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked (the engine uses --assert=plain, but an outer pytest session may rewrite this module).
"""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn as nn

from grader.testing import array_src, assert_close, assert_on_meta, on_meta_device, remember

F64 = torch.float64

# Quality of the notebook's trained forecaster on hidden data: a week of readings from the
# notebook's generator with a seed derived from grading_seed (576 windows of 96 readings), scaled
# with the reference's training statistics. The score is the ratio of the model's RMSE to the best
# of the two baselines (naive last value, seasonal naive a day ago); below 1 beats both.
# Calibration (FAST run on one CPU thread, notebook seeds 0-7, three hidden weeks each, 24 runs):
# the reference's ratio lies in 0.817-0.919 (mean 0.852, standard deviation about 0.02; seed 4 is the
# worst). A model that learned nothing (predicting the training mean) scores about 2.0; one that
# copies the last value (e.g. trained on targets taken from inside the window) about 1.0. 0.96 leaves
# two standard deviations below the reference's worst run for another batch order, a GPU and a
# correct loop written differently, and still asks for a model that beats both baselines.
QUALITY_RATIO = 0.96
STEPS_PER_DAY = 96


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, k])


def _round(a, decimals: int = 4):
    return np.round(np.asarray(a, dtype=float), decimals)


def _lit(array) -> str:
    """A Python literal for a numeric array: nested lists of floats."""
    return repr(np.asarray(array, dtype=float).tolist())


def _state_src(name: str, state: dict, dtype: str = "torch.float64") -> str:
    """Probe lines that copy the arrays of `state` into the module called `name`."""
    lines = [f"_sd = {name}.state_dict()", "with torch.no_grad():"]
    for key, value in state.items():
        lines.append(f"    _sd[{key!r}].copy_(torch.tensor({_lit(value)}, dtype={dtype}))")
    return "\n".join(lines) + "\n"


def _first_diff(got, expected) -> str:
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        return f"expected the shape {expected.shape}, got {got.shape}"
    bad = np.argwhere(~np.isclose(got, expected, rtol=0, atol=1e-9))
    if not len(bad):
        return "equal"
    where = tuple(int(i) for i in bad[0])
    return (f"{len(bad)} entries differ, the first at index {where}: expected {expected[where]:.6g}, "
            f"got {got[where]:.6g}")


def make_consumption(n_days: int, seed: int) -> np.ndarray:
    """The notebook's (locked) data generator: consumption in kW, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_days * STEPS_PER_DAY)
    hour = (t % STEPS_PER_DAY) / 4
    weekday = (t // STEPS_PER_DAY) % 7
    daily = 1.0 + 0.7 * np.exp(-((hour - 8) / 1.5) ** 2) + 1.2 * np.exp(-((hour - 19.5) / 2.0) ** 2)
    weekend = np.where(weekday >= 5, 0.5 * np.exp(-((hour - 13) / 3) ** 2) - 0.2 * np.exp(-((hour - 8) / 1.5) ** 2), 0.0)
    noise = rng.normal(0, 0.12, len(t))
    return np.clip(daily + weekend + noise, 0, None).astype(np.float32)


def _windows(values: np.ndarray, length: int, horizon: int, step: int):
    """The test's own windows (the oracle of create_sequences)."""
    starts = list(range(0, len(values) - length - horizon + 1, step))
    X = np.array([values[s:s + length] for s in starts], dtype=float).reshape(len(starts), length)
    y = np.array([values[s + length + horizon - 1] for s in starts], dtype=float)
    return X, y


# --------------------------------------------------------------------------- 1. splitting and scaling
@pytest.mark.points(1)
def test_seq_length_for(student, reference):
    """seq_length_for: readings that cover some hours at a given sampling interval (24 h of 15 min = 96)"""
    cases = [(24, 15, 96), (6, 15, 24), (24, 60, 24), (1.5, 5, 18), (48, 30, 96), (2, 10, 12), (0.5, 1, 30)]
    probe = f"[seq_length_for(_h, _m) for _h, _m, _ in {cases!r}] + [seq_length_for(12)]"
    got = student.eval(probe)
    for (hours, minutes, want), answer in zip(cases + [(12, 15, 48)], got):
        assert answer == want and isinstance(answer, int), (
            f"seq_length_for({hours}, {minutes}) should be the int {want} (hours * 60 / minutes_per_sample readings), "
            f"got {answer!r}")
    assert reference.eval(probe)[0] == 96


def _split_case(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    n = int(rng.integers(15, 26))
    times = np.cumsum(rng.integers(1, 4, n)) + int(rng.integers(0, 50))
    values = _round(rng.normal(2, 1, n), 3)
    return times, values


@pytest.mark.points(2)
def test_split_by_time_boundary(student, reference, grading_seed):
    """split_by_time on sorted rows: strictly before split_time is training, from split_time on is test"""
    times, values = _split_case(grading_seed, 1)
    cuts = [int(times[len(times) // 3]), int(times[2 * len(times) // 3]) + 0, int(times[0]), int(times[-1]) + 1,
            int(times[5]) + 1 if times[6] > times[5] + 1 else int(times[5])]
    probe = f"""
_t = np.array({times.tolist()!r})
_v = np.array({_lit(values)})
_out = []
for _cut in {cuts!r}:
    _tr, _te = split_by_time(_t, _v, _cut)
    _out.append([np.asarray(_tr, dtype=float), np.asarray(_te, dtype=float)])
_out
"""
    got = student.eval(probe)
    for cut, (train, test) in zip(cuts, got):
        call = f"split_by_time(timestamps, values, {cut}) with the sorted timestamps {times.tolist()}"
        want_train, want_test = values[times < cut], values[times >= cut]
        assert np.asarray(train).shape == want_train.shape and np.asarray(test).shape == want_test.shape, (
            f"{call}: expected {len(want_train)} training rows (timestamps < {cut}) and {len(want_test)} test rows "
            f"(timestamps >= {cut}), got {np.asarray(train).shape[0]} and {np.asarray(test).shape[0]}. A row at exactly "
            "split_time belongs to the test part; no row may be lost or repeated")
        assert_close(train, want_train, f"{call}: the training values, in time order", rtol=0, atol=0)
        assert_close(test, want_test, f"{call}: the test values, in time order", rtol=0, atol=0)
    ref = reference.eval(probe)
    assert_close(ref[0][0], values[times < cuts[0]], "grader setup: the reference's split", rtol=0, atol=0)


@pytest.mark.points(2)
def test_split_by_time_unsorted(student, reference, grading_seed):
    """split_by_time on rows in any order and on datetime64 timestamps: each part in time order, no randomness, inputs unchanged"""
    times, values = _split_case(grading_seed, 2)
    times[4:7] = times[4]            # three readings with the same timestamp: they keep their order
    times[-3:-1] = times[-3]
    rng = _rng(grading_seed, 3)
    order = rng.permutation(len(times))
    t_mixed, v_mixed = times[order], values[order]
    stable = np.argsort(t_mixed, kind="stable")
    times, values = t_mixed[stable], v_mixed[stable]
    cut = int(times[len(times) // 2])
    probe = f"""
_t = np.array({t_mixed.tolist()!r})
_v = np.array({_lit(v_mixed)})
_t0, _v0 = _t.copy(), _v.copy()
_runs = [split_by_time(_t, _v, {cut}) for _ in range(2)]
_dt = np.datetime64("2024-03-01T00:00") + _t * np.timedelta64(15, "m")
_dtr, _dte = split_by_time(_dt, _v, np.datetime64("2024-03-01T00:00") + {cut} * np.timedelta64(15, "m"))
{{"runs": [[np.asarray(_a, dtype=float), np.asarray(_b, dtype=float)] for _a, _b in _runs],
  "datetime": [np.asarray(_dtr, dtype=float), np.asarray(_dte, dtype=float)],
  "unchanged": bool(np.array_equal(_t, _t0) and np.array_equal(_v, _v0))}}
"""
    got = student.eval(probe)
    want_train, want_test = values[times < cut], values[times >= cut]
    call = (f"split_by_time(timestamps, values, {cut}) with the rows in the order timestamps = {t_mixed.tolist()}, "
            f"values = {v_mixed.tolist()}")
    train, test = got["runs"][0]
    assert_close(train, want_train, f"{call}: the training values (timestamps < {cut}) sorted by time "
                 "(sort the rows by their timestamps with a stable sort, np.argsort(..., kind='stable'), and keep every value with "
                 "its own timestamp; rows with equal timestamps keep their order)",
                 rtol=0, atol=0)
    assert_close(test, want_test, f"{call}: the test values (timestamps >= {cut}) sorted by time", rtol=0, atol=0)
    assert_close(got["runs"][1], got["runs"][0], f"{call} a second time: the same split (no random shuffling)", rtol=0, atol=0)
    assert got["unchanged"], f"{call}: the arrays passed in must not change (sort a copy, not the caller's arrays in place)"
    assert_close(got["datetime"], [want_train, want_test],
                 f"{call.replace('timestamps = ', 'datetime64 timestamps from minute offsets ')}: the same split with "
                 "datetime64 timestamps and a datetime64 split_time", rtol=0, atol=0)
    ref = reference.eval(probe)
    assert_close(ref["runs"][0][0], want_train, "grader setup: the reference's split", rtol=0, atol=0)


@pytest.mark.points(2)
def test_standardise(student, reference, grading_seed):
    """standardise: mean and population std of the TRAINING part scale both parts; inputs unchanged"""
    rng = _rng(grading_seed, 4)
    cases = []
    for n_train, n_test, shift in ((int(rng.integers(20, 40)), int(rng.integers(8, 15)), 3.0), (7, 5, -1.0)):
        train = _round(rng.normal(5, 2, n_train), 3)
        test = _round(rng.normal(5 + shift, 1, n_test), 3)
        cases.append((train, test))
    probe = f"""
_out = []
for _train, _test in {[[_lit(a), _lit(b)] for a, b in cases]!r}:
    _a, _b = np.array(eval(_train)), np.array(eval(_test))
    _a0, _b0 = _a.copy(), _b.copy()
    _r = standardise(_a, _b)
    _out.append({{"train": np.asarray(_r[0], dtype=float), "test": np.asarray(_r[1], dtype=float),
                 "mean": float(_r[2]), "std": float(_r[3]),
                 "types": [isinstance(_r[2], float), isinstance(_r[3], float)],
                 "unchanged": bool(np.array_equal(_a, _a0) and np.array_equal(_b, _b0))}})
_out
"""
    got = student.eval(probe)
    for (train, test), answer in zip(cases, got):
        mean, std = float(train.mean()), float(train.std())
        call = f"standardise(train of {len(train)} values, test of {len(test)} values with another mean)"
        assert answer["unchanged"], f"{call}: the arrays passed in must not change (compute new arrays, not -= in place)"
        assert_close(answer["mean"], mean, f"{call}: the mean returned, the mean of the TRAINING part only",
                     rtol=1e-9, atol=1e-9)
        assert_close(answer["std"], std, f"{call}: the std returned, np.std of the TRAINING part (ddof=0, dividing by n; "
                     f"ddof=1 would give {train.std(ddof=1):.6f}; train and test together {np.std(np.r_[train, test]):.6f})",
                     rtol=1e-9, atol=1e-9)
        assert answer["types"] == [True, True], f"{call}: mean and std should be floats (float(...)), not arrays or tensors"
        assert_close(answer["train"], (train - mean) / std, f"{call}: the scaled training part (x - mean) / std",
                     rtol=1e-9, atol=1e-9)
        assert_close(answer["test"], (test - mean) / std, f"{call}: the scaled test part, with the TRAINING mean and std "
                     "(statistics of the test part, or of everything, let the future leak into training)",
                     rtol=1e-9, atol=1e-9)
    ref = reference.eval(probe)
    assert_close(ref[0]["mean"], float(cases[0][0].mean()), "grader setup", rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- 2. windows
def _sequence_probe(values: np.ndarray, settings: list, dtype: str = "np.float64") -> str:
    return f"""
_v = np.array({_lit(values)}, dtype={dtype})
_v0 = _v.copy()
_out = []
for _args in {settings!r}:
    _X, _y = create_sequences(_v, *_args)
    _X, _y = np.asarray(_X), np.asarray(_y)
    _out.append({{"X": _X.astype(float), "y": _y.astype(float), "dtypes": [str(_X.dtype), str(_y.dtype)]}})
{{"out": _out, "unchanged": bool(np.array_equal(_v, _v0))}}
"""


def _check_windows(got, values, settings):
    for args, answer in zip(settings, got["out"]):
        length, horizon, step = (list(args) + [1, 1])[:3]
        X, y = _windows(values, length, horizon, step)
        call = (f"create_sequences(values of length {len(values)}, seq_length={length}"
                + (f", horizon={horizon}" if len(args) > 1 else "") + (f", step={step}" if len(args) > 2 else "") + ")")
        n = len(y)
        assert np.asarray(answer["X"]).shape == X.shape and np.asarray(answer["y"]).shape == y.shape, (
            f"{call}: expected X of shape {X.shape} and y of shape {y.shape} (floor((n - seq_length - horizon) / step) + 1 "
            f"= {n} windows: the last window's target values[s + seq_length + horizon - 1] must lie in the series), got "
            f"{np.asarray(answer['X']).shape} and {np.asarray(answer['y']).shape}")
        if n:
            assert np.array_equal(answer["X"], X), (
                f"{call}: the windows X, window i = values[i * step : i * step + seq_length]: {_first_diff(answer['X'], X)}")
            assert np.array_equal(answer["y"], y), (
                f"{call}: the targets y, y[i] = values[i * step + seq_length + horizon - 1] (horizon 1 is the value right "
                f"after the window, not its last value): {_first_diff(answer['y'], y)}")
    assert got["unchanged"], "create_sequences must not change the series passed in"


@pytest.mark.points(2)
def test_create_sequences_next_value(student, reference, grading_seed):
    """create_sequences with the defaults: windows of seq_length values, each followed by its target; dtype kept"""
    rng = _rng(grading_seed, 5)
    values = _round(rng.normal(size=int(rng.integers(20, 30))), 3)
    settings = [[3], [5], [1], [len(values) - 1]]
    got = student.eval(_sequence_probe(values, settings))
    _check_windows(got, values, settings)
    got32 = student.eval(_sequence_probe(values, [[4], [len(values)]], "np.float32"))
    assert got32["out"][0]["dtypes"] == ["float32", "float32"], (
        f"create_sequences(float32 values, 4): X and y should keep the dtype float32 of the values, got {got32['out'][0]['dtypes']}")
    assert got32["out"][1]["dtypes"] == ["float32", "float32"], (
        f"create_sequences(float32 values of length {len(values)}, {len(values)}): the series is too short for one window; "
        f"the empty X and y should still have the dtype float32 of the values (np.empty(..., dtype=values.dtype)), got "
        f"{got32['out'][1]['dtypes']}")
    ref = reference.eval(_sequence_probe(values, settings))
    assert np.array_equal(ref["out"][0]["y"], values[3:]), "grader setup"


@pytest.mark.points(3)
def test_create_sequences_horizon_step(student, reference, grading_seed):
    """create_sequences with horizon and step: the target horizon steps after the window, windows step apart, none missing at the end"""
    rng = _rng(grading_seed, 6)
    values = _round(rng.normal(size=int(rng.integers(31, 40))), 3)
    n = len(values)
    settings = [[4, 2, 1], [3, 1, 3], [5, 3, 2], [2, 4, 5], [6, 1, 4], [7, 5, 1],
                [n - 3, 3, 1],        # exactly one window
                [n - 3, 4, 2],        # too short: no window
                [n - 9, 4, 5]]        # (n - L - h) a multiple of the step: the last window ends at the last value
    got = student.eval(_sequence_probe(values, settings))
    _check_windows(got, values, settings)
    empty = got["out"][7]
    assert np.asarray(empty["X"]).shape == (0, n - 3), (
        f"create_sequences(values of length {n}, seq_length={n - 3}, horizon=4, step=2): the series is too short for one "
        f"window; X should have the shape (0, {n - 3}), got {np.asarray(empty['X']).shape}")
    ref = reference.eval(_sequence_probe(values, settings))
    assert np.asarray(ref["out"][6]["y"]).shape == (1,), "grader setup"


@pytest.mark.points(1)
def test_to_tensors(student, reference, grading_seed):
    """to_tensors: windows (N, L) -> float32 (N, L, 1), targets (N,) -> float32 (N, 1)"""
    rng = _rng(grading_seed, 7)
    out = []
    for n, length in ((5, 4), (3, 7)):
        X, y = _round(rng.normal(size=(n, length)), 3), _round(rng.normal(size=n), 3)
        out.append((X, y))
    probe = f"""
_out = []
for _X, _y in {[[_lit(X), _lit(y)] for X, y in out]!r}:
    _Xt, _yt = to_tensors(np.array(eval(_X)), np.array(eval(_y)))
    _out.append({{"shapes": [list(_Xt.shape), list(_yt.shape)], "dtypes": [str(_Xt.dtype), str(_yt.dtype)],
                 "X": _Xt.double(), "y": _yt.double()}})
_out
"""
    got = student.eval(probe)
    for (X, y), answer in zip(out, got):
        n, length = X.shape
        call = f"to_tensors(X of shape {X.shape}, y of shape {y.shape})"
        assert answer["shapes"] == [[n, length, 1], [n, 1]], (
            f"{call}: expected tensors of shapes ({n}, {length}, 1) (batch, sequence length, features: a feature axis at the "
            f"END, unsqueeze(-1)) and ({n}, 1), got {answer['shapes']}")
        assert answer["dtypes"] == ["torch.float32", "torch.float32"], f"{call}: both should be float32, got {answer['dtypes']}"
        assert_close(answer["X"][:, :, 0], X, f"{call}: the windows' values", rtol=1e-6, atol=1e-6)
        assert_close(answer["y"][:, 0], y, f"{call}: the targets' values", rtol=1e-6, atol=1e-6)
    assert reference.eval(probe)[0]["shapes"] == [[5, 4, 1], [5, 1]]


# --------------------------------------------------------------------------- 3. baselines and metrics
@pytest.mark.points(2)
def test_baselines(student, reference, grading_seed):
    """naive_forecast is each window's last value; seasonal_naive_forecast the value one season before the target, for every horizon"""
    rng = _rng(grading_seed, 8)
    X = _round(rng.normal(size=(5, 10)), 3)
    cases = [(4, 1), (4, 2), (10, 1), (7, 3), (3, 3), (6, 5)]
    probe = f"""
_X = np.array({_lit(X)})
_X0 = _X.copy()
{{"naive": np.asarray(naive_forecast(_X), dtype=float),
  "seasonal": [np.asarray(seasonal_naive_forecast(_X, _s, _h), dtype=float) for _s, _h in {cases!r}],
  "default": np.asarray(seasonal_naive_forecast(_X, 6), dtype=float), "unchanged": bool(np.array_equal(_X, _X0))}}
"""
    got = student.eval(probe)
    assert_close(got["naive"], X[:, -1], "naive_forecast(X) for 5 windows of 10 values: the last value of each window",
                 rtol=0, atol=0)
    for (season, horizon), answer in zip(cases + [(6, 1)], got["seasonal"] + [got["default"]]):
        column = 10 - 1 + horizon - season
        assert_close(answer, X[:, column],
                     f"seasonal_naive_forecast(X, season={season}, horizon={horizon}) for windows of length 10: the target "
                     f"lies at window position 9 + {horizon}, one season earlier is column 9 + {horizon} - {season} = {column} "
                     "(X[:, -season] is right for horizon 1 only)", rtol=0, atol=0)
    assert got["unchanged"], "the baselines must not change the windows passed in"
    ref = reference.eval(probe)
    assert_close(ref["seasonal"][1], X[:, 7], "grader setup", rtol=0, atol=0)


@pytest.mark.points(2)
def test_mae_rmse(student, reference, grading_seed):
    """mae and rmse: one number each, for targets and forecasts of shapes (N,) and (N, 1) in any mix (no broadcasting to N x N)"""
    rng = _rng(grading_seed, 9)
    y = _round(rng.normal(2, 1, 9), 3)
    p = _round(y + rng.normal(0, 0.4, 9), 3)
    shapes = [("(N,)", "(N,)"), ("(N,)", "(N, 1)"), ("(N, 1)", "(N,)"), ("(N, 1)", "(N, 1)")]
    probe = f"""
_y, _p = np.array({_lit(y)}), np.array({_lit(p)})
_forms = {{"(N,)": lambda _a: _a, "(N, 1)": lambda _a: _a.reshape(-1, 1)}}
_out = []
for _sy, _sp in {shapes!r}:
    _a, _b = _forms[_sy](_y), _forms[_sp](_p)
    _m, _r = mae(_a, _b), rmse(_a, _b)
    _out.append([float(_m), float(_r), isinstance(_m, float), isinstance(_r, float)])
_t = [float(mae(torch.tensor(_y), torch.tensor(_p).reshape(-1, 1))), float(rmse(list(_y), list(_p)))]
{{"out": _out, "other_types": _t}}
"""
    got = student.eval(probe)
    want_mae = float(np.mean(np.abs(y - p)))
    want_rmse = float(np.sqrt(np.mean((y - p) ** 2)))
    for (sy, sp), (m, r, tm, tr) in zip(shapes, got["out"]):
        call = f"for 9 targets of shape {sy} and 9 forecasts of shape {sp}"
        hint = " (flatten both first: (N,) - (N, 1) broadcasts to an N x N matrix)" if sy != sp else ""
        assert_close(m, want_mae, f"mae {call}: mean(|y - y_hat|){hint}", rtol=1e-9, atol=1e-12)
        assert_close(r, want_rmse, f"rmse {call}: sqrt(mean((y - y_hat) ** 2)){hint}", rtol=1e-9, atol=1e-12)
        assert tm and tr, f"mae and rmse {call} should return one float each (float(...)), not an array or a tensor"
    assert_close(got["other_types"], [want_mae, want_rmse],
                 "mae(tensor of shape (9,), tensor of shape (9, 1)) and rmse(list, list)", rtol=1e-9, atol=1e-12)
    ref = reference.eval(probe)
    assert_close(ref["out"][1][1], want_rmse, "grader setup", rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- 4. recurrent cells
@pytest.mark.points(3)
def test_numpy_rnn(student, reference, grading_seed):
    """NumpyRNN: step and forward equal nn.RNNCell (no bias) with the same weights, then y = W_hy h; h0 or zeros"""
    rng = _rng(grading_seed, 10)
    cases = []
    for k, (n_in, hidden, n_out, steps) in enumerate(((3, 4, 2, 6), (1, 5, 1, 5), (2, 3, 3, 4))):
        torch.manual_seed(grading_seed % (1 << 31) + k)
        cell = nn.RNNCell(n_in, hidden, bias=False).double()
        W_xh, W_hh = _round(cell.weight_ih.detach().numpy() * 2), _round(cell.weight_hh.detach().numpy() * 2)
        W_hy = _round(rng.normal(0, 0.7, (n_out, hidden)))
        xs = _round(rng.normal(size=(steps, n_in)), 3)
        h0 = _round(rng.normal(0, 0.5, hidden)) if k != 1 else None
        cases.append((W_xh, W_hh, W_hy, xs, h0))
    probe_cases = [[_lit(a), _lit(b), _lit(c), _lit(d), None if e is None else _lit(e)] for a, b, c, d, e in cases]
    probe = f"""
_out = []
for _wxh, _whh, _why, _xs, _h0 in {probe_cases!r}:
    _h0a = None if _h0 is None else np.array(eval(_h0))
    _h0c = None if _h0a is None else _h0a.copy()
    _cell = NumpyRNN(np.array(eval(_wxh)), np.array(eval(_whh)), np.array(eval(_why)), _h0a)
    _ys, _h = _cell.forward(np.array(eval(_xs)))
    _h = np.array(_h, dtype=float)
    _h_kept = np.asarray(_cell.forward(np.array(eval(_xs)))[1])
    _h_second = np.array(_h_kept, dtype=float)
    _cell.step(np.array(eval(_xs))[0])
    _h_kept = np.array(_h_kept, dtype=float)
    _cell2 = NumpyRNN(np.array(eval(_wxh)), np.array(eval(_whh)), np.array(eval(_why)), None if _h0a is None else _h0a.copy())
    _steps = [np.asarray(_cell2.step(_x), dtype=float) for _x in np.array(eval(_xs))[:2]]
    _out.append({{"ys": np.asarray(_ys, dtype=float), "h": _h, "h_kept": _h_kept, "h_second": _h_second, "steps": _steps,
                 "state": np.asarray(_cell2.h, dtype=float),
                 "h0_unchanged": True if _h0a is None else bool(np.array_equal(_h0a, _h0c))}})
_out
"""
    got = student.eval(probe)
    expected_ys = []
    for (W_xh, W_hh, W_hy, xs, h0), answer in zip(cases, got):
        hidden, n_in = W_xh.shape
        cell = nn.RNNCell(n_in, hidden, bias=False).double()
        with torch.no_grad():
            cell.weight_ih.copy_(torch.tensor(W_xh))
            cell.weight_hh.copy_(torch.tensor(W_hh))
        h = torch.zeros(1, hidden, dtype=F64) if h0 is None else torch.tensor(h0).reshape(1, -1)
        hs, ys = [], []
        with torch.no_grad():
            for x in xs:
                h = cell(torch.tensor(x).reshape(1, -1), h)
                hs.append(h[0].numpy().copy())
                ys.append(W_hy @ hs[-1])
        expected_ys.append(np.array(ys))
        call = (f"NumpyRNN(W_xh {W_xh.shape}, W_hh {W_hh.shape}, W_hy {W_hy.shape}, h0={'None' if h0 is None else 'a vector'})"
                f".forward(xs of shape {xs.shape})")
        hint = "h = tanh(W_hh @ h + W_xh @ x) with the previous h, then y = W_hy @ h with the new h"
        assert_close(answer["ys"], np.array(ys), f"{call}: the outputs ys (one row per step), compared with nn.RNNCell "
                     f"(bias=False, weight_ih = W_xh, weight_hh = W_hh) and y = W_hy h; {hint}"
                     + ("; h0=None means a zero state" if h0 is None else "; the state starts at h0"),
                     rtol=1e-7, atol=1e-9)
        assert_close(answer["h"], hs[-1], f"{call}: the final state returned", rtol=1e-7, atol=1e-9)
        assert np.array_equal(answer["h_kept"], answer["h_second"]), (
            f"{call} run a second time, then one more step(x): the final state that forward returned changed with that "
            "step; return a copy of self.h (self.h.copy()), not the array the cell keeps updating")
        assert_close(answer["steps"], [ys[0], ys[1]], f"{call.split('.forward')[0]}: two calls of step(x), one per input row: "
                     "the outputs (step must keep the new state in self.h for the next call)", rtol=1e-7, atol=1e-9)
        assert_close(answer["state"], hs[1], f"{call.split('.forward')[0]}: the attribute h after two steps",
                     rtol=1e-7, atol=1e-9)
        assert answer["h0_unchanged"], f"{call}: the h0 array passed in must not change (keep a copy of it)"
    ref = reference.eval(probe)
    assert_close(ref[0]["ys"], expected_ys[0], "grader setup: the reference's outputs", rtol=1e-7, atol=1e-9)


@pytest.mark.points(3)
def test_concat_rnn_cell(student, reference, grading_seed):
    """ConcatRNNCell: tanh(linear([x, h])) equals nn.RNNCell once linear.weight = [weight_ih | weight_hh], bias = b_ih + b_hh"""
    rng = _rng(grading_seed, 11)
    cases = []
    for k, (n_in, hidden, batch, start) in enumerate(((3, 4, 2, "h0"), (1, 6, 3, "None"), (5, 2, 4, "h0"))):
        torch.manual_seed(grading_seed % (1 << 31) + 100 + k)
        cell = nn.RNNCell(n_in, hidden).double()
        state = {k2: _round(v.detach().numpy() * 1.5) for k2, v in cell.state_dict().items()}
        xs = _round(rng.normal(size=(3, batch, n_in)), 3)
        h0 = _round(rng.normal(0, 0.5, (batch, hidden))) if start == "h0" else None
        cases.append((n_in, hidden, state, xs, h0))
    probe_cases = []
    for n_in, hidden, state, xs, h0 in cases:
        weight = np.concatenate([state["weight_ih"], state["weight_hh"]], axis=1)
        bias = state["bias_ih"] + state["bias_hh"]
        probe_cases.append([n_in, hidden, _lit(weight), _lit(bias), _lit(xs), None if h0 is None else _lit(h0)])
    probe = f"""
{on_meta_device("ConcatRNNCell")}
_out = []
for _i, _hsz, _w, _b, _xs, _h0 in {probe_cases!r}:
    _cell = ConcatRNNCell(_i, _hsz)
    _shapes = {{_k: list(_v.shape) for _k, _v in _cell.named_parameters()}}
    _cell = _cell.double()
    with torch.no_grad():
        _cell.linear.weight.copy_(torch.tensor(eval(_w), dtype=torch.float64))
        _cell.linear.bias.copy_(torch.tensor(eval(_b), dtype=torch.float64))
    _h = None if _h0 is None else torch.tensor(eval(_h0), dtype=torch.float64)
    _hs = []
    for _x in torch.tensor(eval(_xs), dtype=torch.float64):
        _h = _cell(_x) if _h is None else _cell(_x, _h)
        _hs.append(_h.detach().clone())
    _f = ConcatRNNCell(_i, _hsz)(torch.randn(2, _i))
    _meta = _meta_try(lambda: _ConcatRNNCell(_i, _hsz).to("meta")(torch.empty(2, _i, device="meta")))
    _out.append({{"shapes": _shapes, "hs": torch.stack(_hs), "float_out": [list(_f.shape), str(_f.dtype)], "meta": _meta}})
_out
"""
    got = student.eval(probe)
    for (n_in, hidden, state, xs, h0), answer in zip(cases, got):
        call = f"ConcatRNNCell({n_in}, {hidden})"
        assert answer["shapes"] == {"linear.weight": [hidden, n_in + hidden], "linear.bias": [hidden]}, (
            f"{call}: its parameters should be those of one nn.Linear({n_in} + {hidden}, {hidden}) called `linear`: "
            f"{{'linear.weight': [{hidden}, {n_in + hidden}], 'linear.bias': [{hidden}]}}; got {answer['shapes']}")
        cell = nn.RNNCell(n_in, hidden).double()
        with torch.no_grad():
            for key, value in state.items():
                getattr(cell, key).copy_(torch.tensor(value))
            h = torch.zeros(xs.shape[1], hidden, dtype=F64) if h0 is None else torch.tensor(h0)
            hs = []
            for x in xs:
                h = cell(torch.tensor(x), h)
                hs.append(h.numpy().copy())
        assert_close(answer["hs"], np.array(hs),
                     f"{call} with linear.weight = [weight_ih | weight_hh] (input columns first) and linear.bias = bias_ih + "
                     f"bias_hh of an nn.RNNCell, run 3 steps on batches of shape {xs.shape[1:]} starting from "
                     f"{'h=None (a zero state)' if h0 is None else 'a given h'}: the hidden states, compared with that "
                     "nn.RNNCell; expected tanh(linear(torch.cat([x, h], dim=1)))", rtol=1e-7, atol=1e-9)
        assert answer["float_out"] == [[2, hidden], "torch.float32"], (
            f"{call}(x) for a float32 batch x of shape (2, {n_in}) and h=None: expected a float32 state (2, {hidden}), got "
            f"{answer['float_out']}")
        assert_on_meta(answer["meta"], f"{call}.to(device)(x) with h=None for a batch x of shape (2, {n_in}) on that device",
                       "create the zero state with device=x.device (torch.zeros(...) alone makes it on the CPU, which "
                       "fails on a GPU)")
    ref = reference.eval(probe)
    assert ref[0]["float_out"][0] == [2, 4], "grader setup"


# --------------------------------------------------------------------------- 5. shapes, Net, Forecaster
@remember
def _true_shapes(cell: str, batch: int, seq_len: int, n_in: int, hidden: int, layers: int, batch_first: bool):
    module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](n_in, hidden, layers, batch_first=batch_first)
    x = torch.zeros((batch, seq_len, n_in) if batch_first else (seq_len, batch, n_in))
    with torch.no_grad():
        out, state = module(x)
    if cell == "lstm":
        return {"output": list(out.shape), "h_n": list(state[0].shape), "c_n": list(state[1].shape)}
    return {"output": list(out.shape), "h_n": list(state.shape), "c_n": None}


@pytest.mark.points(2)
def test_recurrent_shapes(student, reference, grading_seed):
    """recurrent_shapes: output (batch-first or not) and h_n of shape (num_layers, batch, hidden) whatever batch_first says"""
    rng = _rng(grading_seed, 12)
    cases = [["rnn", 4, 96, 1, 32, 2, True], ["lstm", 3, 5, 10, 20, 2, False], ["gru", 3, 5, 10, 20, 2, False]]
    for cell in ("rnn", "gru", "lstm", "lstm", "gru"):
        cases.append([cell, int(rng.integers(2, 7)), int(rng.integers(3, 9)), int(rng.integers(1, 4)),
                      int(rng.integers(2, 9)), int(rng.integers(1, 5)), bool(rng.integers(2))])
    cases.append(["lstm", 5, 4, 2, 3, 3, True])
    probe = f"""
_out = []
for _c in {cases!r}:
    _s = recurrent_shapes(*_c[:6], batch_first=_c[6])
    _out.append({{_k: (None if _s.get(_k) is None else list(_s[_k])) for _k in ("output", "h_n", "c_n")}})
_out
"""
    got = student.eval(probe)
    for case, answer in zip(cases, got):
        want = _true_shapes(*case)
        call = (f"recurrent_shapes({case[0]!r}, batch_size={case[1]}, seq_len={case[2]}, input_size={case[3]}, "
                f"hidden_size={case[4]}, num_layers={case[5]}, batch_first={case[6]})")
        assert answer["output"] == want["output"], (
            f"{call}['output']: nn.{case[0].upper()} returns the output of shape {tuple(want['output'])} "
            f"({'batch, seq_len, hidden' if case[6] else 'seq_len, batch, hidden: batch_first=False'}), got {answer['output']}")
        assert answer["h_n"] == want["h_n"], (
            f"{call}['h_n']: the final hidden state of every layer has the shape {tuple(want['h_n'])} = (num_layers, batch, "
            f"hidden), whatever batch_first says (the course text's '(batch_size, hidden_size)' is wrong); got {answer['h_n']}")
        assert answer["c_n"] == want["c_n"], (
            f"{call}['c_n']: expected {want['c_n'] if want['c_n'] is None else tuple(want['c_n'])} (only the LSTM has a cell "
            f"state, shaped like h_n), got {answer['c_n']}")
    assert reference.eval(probe)[0]["h_n"] == [2, 4, 32]


def _oracle_forward(kind: str, state: dict, n_in: int, hidden: int, layers: int, x: np.ndarray) -> np.ndarray:
    """fc(last step of the last layer) of nn.RNN / nn.GRU / nn.LSTM in float64 with the given weights."""
    rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](n_in, hidden, layers, batch_first=True).double()
    fc = nn.Linear(hidden, 1).double()
    with torch.no_grad():
        for key, value in state.items():
            module, name = key.split(".", 1)
            getattr({"rnn": rnn, "fc": fc}[module], name).copy_(torch.tensor(np.asarray(value, dtype=float)))
        out, _ = rnn(torch.tensor(x))
        return fc(out[:, -1, :]).numpy()


def _expected_count(kind: str, n_in: int, hidden: int, layers: int) -> int:
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    total = 0
    for layer in range(layers):
        inputs = n_in if layer == 0 else hidden
        total += gates * (hidden * inputs + hidden * hidden + 2 * hidden)
    return total + hidden + 1


def _model_probe(constructor: str, configs: list, xs: list) -> str:
    return f"""
{on_meta_device(constructor)}
_out = []
for _k, (_args, _x) in enumerate(zip({configs!r}, {[_lit(x) for x in xs]!r})):
    torch.manual_seed(_k)
    _net = {constructor}(*_args)
    _y = _net(torch.tensor(eval(_x), dtype=torch.float32))
    _state = {{_n: _p.detach().double() for _n, _p in _net.named_parameters()}}
    _y64 = _net.double()(torch.tensor(eval(_x), dtype=torch.float64))
    _meta = _meta_try(lambda: _{constructor}(*_args).to("meta")(torch.empty(_y.shape[0], 4, _args[-3], device="meta")))
    _out.append({{"count": sum(_p.numel() for _p in _net.parameters()), "state": _state,
                 "rnn": type(getattr(_net, "rnn", None)).__name__, "y": _y.detach().double(), "y64": _y64.detach(),
                 "dtype64": str(_y64.dtype), "meta": _meta}})
_out
"""


def _check_models(got, kinds, configs, xs, constructor):
    for kind, args, x, answer in zip(kinds, configs, xs, got):
        n_in, hidden, layers = args[-3:]
        call = f"{constructor}({', '.join(map(repr, args))})"
        want = _expected_count(kind, n_in, hidden, layers)
        expected_type = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}[kind]
        assert answer["rnn"] == expected_type, f"{call}.rnn should be an nn.{expected_type}, got {answer['rnn']}"
        assert answer["count"] == want, (
            f"{call} should have {want:,} parameters (nn.{expected_type}({n_in}, {hidden}, {layers}) and nn.Linear({hidden}, 1)), "
            f"got {answer['count']:,}: do the sizes follow the arguments?")
        state = answer["state"]
        names = {n for n in state if n.startswith("rnn.") or n.startswith("fc.")}
        assert names == set(state) and "fc.weight" in state, (
            f"{call}: the parameters should belong to `rnn` and `fc` only, got {sorted(state)}")
        expected = _oracle_forward(kind, state, n_in, hidden, layers, x)
        assert_close(answer["y"], expected,
                     f"{call} on a batch of shape {x.shape}: the forecasts, compared with nn.{expected_type}(batch_first=True) "
                     "and its fc with the same weights, zero initial state, fc applied to out[:, -1, :] (the LAST time step of "
                     "the last layer)", rtol=1e-4, atol=1e-5)
        assert answer["dtype64"] == "torch.float64", f"{call}.double() on a float64 batch should return float64, got {answer['dtype64']}"
        assert_close(answer["y64"], expected, f"{call}.double() on the same batch in float64 (any initial state must have the "
                     "dtype and device of x)", rtol=1e-7, atol=1e-9)
        assert_on_meta(answer["meta"], f"{call}.to(device) on a batch of shape ({x.shape[0]}, 4, {n_in}) on that device",
                       "make an initial state with device=x.device (torch.zeros(...) alone makes it on the CPU, which "
                       "fails on a GPU)")


@pytest.mark.points(3)
def test_seq2vec_net(student, reference, grading_seed):
    """Net: nn.RNN(batch_first=True) + nn.Linear(hidden, 1) on the last step; sizes follow the arguments (3,265 parameters by default)"""
    rng = _rng(grading_seed, 13)
    configs = [[1, 32, 2], [3, 8, 1], [2, 5, 3]]
    xs = [_round(rng.normal(size=(3, 7, c[0])), 3) for c in configs]
    got = student.eval(_model_probe("Net", configs, xs))
    _check_models(got, ["rnn"] * 3, configs, xs, "Net")
    assert got[0]["count"] == 3265
    ref = reference.eval(_model_probe("Net", configs, xs))
    assert ref[0]["count"] == 3265, "grader setup"


@pytest.mark.points(3)
def test_forecaster(student, reference, grading_seed):
    """Forecaster: nn.LSTM or nn.GRU (batch_first) + nn.Linear on the last step of the last layer (12,961 / 9,729 parameters)"""
    rng = _rng(grading_seed, 14)
    configs = [["lstm", 1, 32, 2], ["gru", 1, 32, 2], ["lstm", 2, 6, 3], ["gru", 3, 5, 2], ["lstm", 1, 4, 1]]
    xs = [_round(rng.normal(size=(3, 6, c[1])), 3) for c in configs]
    got = student.eval(_model_probe("Forecaster", configs, xs))
    _check_models(got, [c[0] for c in configs], configs, xs, "Forecaster")
    ref = reference.eval(_model_probe("Forecaster", configs, xs))
    assert [r["count"] for r in ref[:2]] == [12961, 9729], "grader setup"


# --------------------------------------------------------------------------- 6. training
def _train_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 1)).double()


def _train_case(grading_seed: int):
    rng = _rng(grading_seed, 15)
    state = {"1.weight": _round(rng.normal(0, 0.5, (5, 6))), "1.bias": _round(rng.normal(0, 0.1, 5)),
             "2.weight": _round(1 + rng.normal(0, 0.1, 5)), "2.bias": _round(rng.normal(0, 0.1, 5)),
             "2.running_mean": np.zeros(5), "2.running_var": np.ones(5),
             "4.weight": _round(rng.normal(0, 0.5, (1, 5))), "4.bias": _round(rng.normal(0, 0.1, 1))}
    X = _round(rng.normal(size=(14, 6, 1)), 3)
    y = _round(X[:, -2:, 0].sum(axis=1, keepdims=True) + rng.normal(0, 0.1, (14, 1)), 3)
    return state, X, y


_TRAIN_SETTINGS = [  # batch size, optimizer, learning rate, device, epochs, criterion
    (5, "SGD", 0.1, "'cpu'", 2, "nn.MSELoss()"),
    (4, "Adam", 0.02, "torch.device('cpu')", 1, "nn.MSELoss()"),
    (6, "SGD", 0.05, "'cpu'", 1, "_Pinball()"),
]

# The quantile ("pinball") loss of a 90% forecast, a loss forecasters use when missing high costs
# more than missing low. Unlike the squared error it is not symmetric, so it tells
# criterion(outputs, targets) from criterion(targets, outputs). Defined in the probe and here.
_PINBALL_SRC = """
class _Pinball(nn.Module):
    def forward(self, outputs, targets):
        d = targets - outputs
        return torch.maximum(0.9 * d, -0.1 * d).mean()
"""
_pinball: dict = {"nn": nn, "torch": torch}
exec(_PINBALL_SRC, _pinball)


def _train_oracle(state, X, y, batch, opt_name, lr, epochs, criterion_src):
    model = _train_model()
    sd = model.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            sd[key].copy_(torch.tensor(value, dtype=F64))
    optimizer = getattr(torch.optim, opt_name)(model.parameters(), lr=lr)
    criterion = eval(criterion_src, _pinball)
    Xt, yt = torch.tensor(X, dtype=F64), torch.tensor(y, dtype=F64)
    model.train()
    means = []
    for _ in range(epochs):
        losses = []
        for s in range(0, len(X), batch):
            optimizer.zero_grad()
            loss = criterion(model(Xt[s:s + batch]), yt[s:s + batch])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        means.append(sum(losses) / len(losses))
    return means, {k: v.detach().numpy() for k, v in model.state_dict().items()}


@pytest.mark.points(3)
def test_train_epoch(student, reference, grading_seed):
    """train_epoch: training mode, then zero_grad, forward, loss, backward, step for every batch; the mean batch loss"""
    state, X, y = _train_case(grading_seed)
    settings_src = "[" + ", ".join(f"({b}, {o!r}, {lr}, {dv}, {ep}, {c})" for b, o, lr, dv, ep, c in _TRAIN_SETTINGS) + "]"
    set_weights = "".join("    " + line + "\n" for line in _state_src("_model", state).splitlines())
    probe = f"""{_PINBALL_SRC}
_X = torch.tensor({_lit(X)}, dtype=torch.float64)
_y = torch.tensor({_lit(y)}, dtype=torch.float64)
_out = []
for _batch, _opt_name, _lr, _device, _epochs, _criterion in {settings_src}:
    _model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 1)).double()
{set_weights}    _model.eval()   # handed over in eval mode: train_epoch must switch to training mode
    _opt = getattr(torch.optim, _opt_name)(_model.parameters(), lr=_lr)
    _loader = DataLoader(TensorDataset(_X, _y), batch_size=_batch, shuffle=False)
    _losses = [train_epoch(_model, _loader, _criterion, _opt, _device) for _ in range(_epochs)]
    _out.append({{"losses": [float(_l) for _l in _losses],
                 "state": {{_k: _v.detach().clone() for _k, _v in _model.state_dict().items()}}}})
_out
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (batch, opt_name, lr, device, epochs, criterion), answer, ref_answer in zip(_TRAIN_SETTINGS, got, ref):
        means, params = _train_oracle(state, X, y, batch, opt_name, lr, epochs, criterion)
        if criterion == "_Pinball()":
            criterion = ("a quantile loss (pinball, 90%: mean(max(0.9 * (targets - outputs), -0.1 * (targets - outputs))), "
                         "not symmetric in its two arguments)")
        call = (f"train_epoch(model, loader, {criterion}, {opt_name}(lr={lr}), {device}) called {epochs} time(s) on 14 "
                f"windows in batches of {batch}, for a Flatten -> Linear -> BatchNorm1d -> Tanh -> Linear model handed over "
                "in eval mode")
        hint = ("model.train(), then for every batch: optimizer.zero_grad(), outputs = model(windows), "
                "loss = criterion(outputs, targets) (the outputs first, as every PyTorch loss takes them), loss.backward(), "
                "optimizer.step()")
        for key, value in params.items():
            assert_close(answer["state"][key], value, f"{call}: {key!r} afterwards, compared with {hint}",
                         rtol=1e-6, atol=1e-9)
        assert_close(answer["losses"], means, f"{call}: the values returned, the mean of each epoch's batch losses "
                     "(loss.item() of every batch, averaged over the batches)", rtol=1e-6, atol=1e-9)
        assert_close(ref_answer["losses"], means, "grader setup: the reference's losses", rtol=1e-6, atol=1e-9)


@pytest.mark.points(2)
def test_predict(student, reference, grading_seed):
    """predict: eval mode, no gradients, batches of batch_size, a NumPy array of shape (N,)"""
    rng = _rng(grading_seed, 16)
    length = 5
    state = {"1.weight": _round(rng.normal(0, 0.5, (6, length))), "1.bias": _round(rng.normal(0, 0.1, 6)),
             "2.weight": _round(1 + rng.normal(0, 0.2, 6)), "2.bias": _round(rng.normal(0, 0.2, 6)),
             "2.running_mean": _round(rng.normal(0, 0.5, 6)), "2.running_var": _round(rng.uniform(0.5, 2, 6)),
             "5.weight": _round(rng.normal(0, 0.8, (1, 6))), "5.bias": _round(rng.normal(0, 0.1, 1))}
    X = _round(rng.normal(size=(23, length, 1)), 3)
    t = {k: torch.tensor(v, dtype=F64) for k, v in state.items()}
    h = torch.nn.functional.linear(torch.tensor(X, dtype=F64).flatten(1), t["1.weight"], t["1.bias"])
    h = torch.relu(torch.nn.functional.batch_norm(h, t["2.running_mean"], t["2.running_var"], t["2.weight"], t["2.bias"],
                                                  training=False))
    expected = torch.nn.functional.linear(h, t["5.weight"], t["5.bias"]).numpy().reshape(-1)
    probe = f"""
_model = nn.Sequential(nn.Flatten(), nn.Linear({length}, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 1)).double()
{_state_src("_model", state)}_model.train()   # handed over in training mode: predict must switch to eval mode
_before = {{_k: _v.clone() for _k, _v in _model.state_dict().items()}}
_sizes, _modes = [], []
def _spy(_m, _inputs):
    _sizes.append(int(_inputs[0].shape[0]))
    _modes.append(torch.is_grad_enabled())
_hook = _model.register_forward_pre_hook(_spy)
_X = torch.tensor({_lit(X)}, dtype=torch.float64)
_p5 = predict(_model, _X, "cpu", 5)
_sizes5 = list(_sizes)
_model.train()
_p11 = predict(_model, _X, "cpu", 11)
_sizes11 = _sizes[len(_sizes5):]
_sizes[:] = _sizes5
_model.train()
_pd = predict(_model, _X, torch.device("cpu"))
_n_default = len(_sizes)
_model.train()
_big = predict(_model, _X.repeat(14, 1, 1)[:300], "cpu")
_hook.remove()
{{"p5": np.asarray(_p5, dtype=float), "pd": np.asarray(_pd, dtype=float), "type": type(_p5).__name__,
  "p11": np.asarray(_p11, dtype=float), "sizes11": _sizes11,
  "sizes5": _sizes5, "sizes_default": _sizes[len(_sizes5):_n_default], "sizes_big": _sizes[_n_default:],
  "big": np.asarray(_big, dtype=float), "modes": _modes,
  "unchanged": all(torch.equal(_v, _before[_k]) for _k, _v in _model.state_dict().items()),
  "grads": all(_p.grad is None for _p in _model.parameters())}}
"""
    got = student.eval(probe)
    call = ("predict(model, X, 'cpu', batch_size) for 23 windows of shape (5, 1) and a Flatten -> Linear -> BatchNorm1d -> ReLU "
            "-> Dropout(0.5) -> Linear model handed over in training mode")
    assert got["type"] == "ndarray", f"{call}: should return a NumPy array, got a {got['type']}"
    assert_close(got["p5"], expected, f"{call} with batch_size=5: the forecasts, shape (23,), in eval mode (model.eval(): "
                 "no dropout, batch norm's running statistics)", rtol=1e-7, atol=1e-9)
    assert got["sizes11"] == [11, 11, 1], (
        f"{call} with batch_size=11: the model should see batches of sizes [11, 11, 1] (the last window is a batch of "
        f"its own), got {got['sizes11']}")
    assert_close(got["p11"], expected, f"{call} with batch_size=11: the forecasts", rtol=1e-7, atol=1e-9)
    assert_close(got["pd"], expected, f"{call} with the default batch_size: the forecasts", rtol=1e-7, atol=1e-9)
    assert got["sizes5"] == [5, 5, 5, 5, 3], (
        f"{call} with batch_size=5: the model should see batches of sizes [5, 5, 5, 5, 3], got {got['sizes5']}")
    assert got["sizes_default"] == [23], (
        f"{call} with the default batch_size=256: the model should see one batch of 23, got {got['sizes_default']}")
    assert got["sizes_big"] == [256, 44], (
        f"predict(model, X, 'cpu') for 300 windows with the default batch_size=256: the model should see batches of sizes "
        f"[256, 44], got {got['sizes_big']}")
    assert_close(got["big"], np.tile(expected, 14)[:300], "predict(model, X, 'cpu') for 300 windows: the forecasts",
                 rtol=1e-7, atol=1e-9)
    assert got["modes"] and not any(got["modes"]), (
        f"{call}: the model ran {sum(got['modes'])} of its {len(got['modes'])} forward passes with gradient tracking on: "
        "run them inside `with torch.no_grad():`")
    assert got["grads"] and got["unchanged"], f"{call}: predict must not change the model or compute gradients"
    ref = reference.eval(probe)
    assert_close(ref["p5"], expected, "grader setup: the reference's forecasts", rtol=1e-7, atol=1e-9)


@remember
def _hidden_week(seed: int):
    return make_consumption(7, seed)


@pytest.mark.points(4)
def test_forecaster_beats_baselines(student, reference, grading_seed):
    """The trained forecaster beats the naive and seasonal-naive baselines on a hidden week (RMSE ratio threshold)"""
    length, mean, std = reference.eval("[int(SEQ_LENGTH), float(train_mean), float(train_std)]")
    series = _hidden_week(grading_seed % (1 << 31) + 909)
    X, y = _windows(((series - mean) / std).astype(np.float32), length, 1, 1)
    probe = f"""
_X = torch.from_numpy({array_src(X.astype(np.float32))}).unsqueeze(-1)
_was_training = model.training
model.eval()
try:
    with torch.no_grad():
        _device = next(model.parameters()).device
        _p = torch.cat([model(_X[_s:_s + 200].to(_device)).reshape(-1).cpu() for _s in range(0, len(_X), 200)])
finally:
    model.train(_was_training)
_p.double().numpy()
"""
    got = np.asarray(student.eval(probe), dtype=float)
    assert got.shape == (len(y),), (
        f"the notebook's trained `model` on {len(y)} hidden windows of shape ({length}, 1) should give one forecast each, got "
        f"the shape {got.shape}")
    y_kw = y * std + mean

    def score(pred):
        return float(np.sqrt(np.mean((pred * std + mean - y_kw) ** 2)))

    model_rmse = score(got)
    naive, seasonal = score(X[:, -1]), score(X[:, length - STEPS_PER_DAY])
    ratio = model_rmse / min(naive, seasonal)
    ref_ratio = score(np.asarray(reference.eval(probe), dtype=float)) / min(naive, seasonal)
    assert np.isfinite(ratio) and ratio <= QUALITY_RATIO, (
        f"the notebook's trained forecaster (`model`, in eval mode) on a hidden week of readings (scaled with the training "
        f"statistics): RMSE {model_rmse:.4f} kW against naive (last value) {naive:.4f} kW and seasonal naive (a day ago) "
        f"{seasonal:.4f} kW, a ratio of {ratio:.3f} to the better baseline; it should be at most {QUALITY_RATIO} (the "
        f"reference model: {ref_ratio:.3f}). Check train_epoch, the windows and their targets, and the scaling")


# --------------------------------------------------------------------------- 7. architecture types
@pytest.mark.points(2)
def test_architecture_quiz(student, reference):
    """Architecture types of eight tasks (seq2seq, seq2vec, vec2seq, encoder-decoder), and the RNN/LSTM/GRU statements"""
    expected = {
        "sentiment of a sequence of words": "seq2vec",
        "translate text from Bulgarian to Greek": "encoder-decoder",
        "real-time speech recognition": "seq2seq",
        "speech recognition that first listens, then replies": "encoder-decoder",
        "image captioning": "vec2seq",
        "today's stock price from the last 30 days": "seq2vec",
        "generate text on a given topic": "vec2seq",
        "video classification frame by frame": "seq2seq",
    }
    probe = "[{str(_k): (None if _v is None else str(_v)) for _k, _v in ARCHITECTURES.items()}, sorted(map(str, RNN_STATEMENTS))]"
    answers, statements = student.eval(probe)
    missing = sorted(set(expected) - set(answers))
    assert not missing, f"ARCHITECTURES should keep all eight use cases; missing {missing}"
    wrong = [task for task, want in expected.items() if str(answers[task]).strip().lower() != want]
    assert not wrong, (
        f"ARCHITECTURES: {len(wrong)} of 8 answers are wrong, e.g. {wrong[0]!r}: {answers[wrong[0]]!r}. Ask: does the input "
        "come as a sequence or as one vector? Is an output used at every step, only at the end, or only after the whole input "
        "has been read?")
    assert [s.strip().upper() for s in statements] == ["B", "C"], (
        f"RNN_STATEMENTS: expected the letters of the two correct statements, got {statements}. Plain RNNs have a short "
        "memory; no cell is always better than another")
    assert reference.eval(probe)[1] == ["B", "C"]
