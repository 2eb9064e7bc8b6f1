# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Week 09 — Recurrent networks: forecasting electricity consumption
#
# Until now every sample stood on its own: a row of a table, a picture. This week the samples
# come **in order**. Sequential data (text, stock prices, audio, a meter reading every 15
# minutes) are ordered in time or space, and neighbouring points depend on each other. That
# changes how we split the data, how we build training examples, and which networks we use.
#
# This week you will:
#
# 1. split a time series **by time**, never at random, and standardise it with statistics of the
#    training part only;
# 2. cut the series into **sliding windows** (the inputs) and the values that follow them (the
#    targets), with the window length, the forecast horizon and the step as parameters;
# 3. write a recurrent cell twice by hand (NumPy, as the course text does, and PyTorch's
#    "concatenate, then one linear layer") and check both against `nn.RNNCell`;
# 4. know the shapes that `nn.RNN`, `nn.GRU` and `nn.LSTM` return (the course text gets one of
#    them wrong);
# 5. build the sequence-to-vector `Net` of the lecture and an LSTM/GRU forecaster;
# 6. train the forecaster a few epochs on an electricity-like series and compare it with two
#    baselines every forecaster must beat, with MAE and RMSE computed correctly;
# 7. name the architecture type (seq2seq, seq2vec, vec2seq, encoder-decoder) of eight tasks.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions and
# classes: the grader calls them by name, with its own inputs, and compares the results with
# PyTorch's own layers. Run the notebook from top to bottom; the *Check* cells test a few cases
# for you. Your functions must not change their inputs or global variables.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for the series, the weight initialisation and the batch order
FAST = False         # True: a shorter series, a smaller model and fewer epochs (used while grading)
DEVICE = "cpu"       # "cuda" to train the forecaster on a GPU
DATA_DIR = "data"    # unused this week: the series is generated below
N_DAYS = 56          # days of 15-minute readings (FAST uses 21)
SEQ_LENGTH = 96      # window length: 24 hours of 15-minute readings
HIDDEN_SIZE = 32     # forecaster memory (FAST uses 16)
NUM_LAYERS = 2       # stacked recurrent layers (FAST uses 1)
EPOCHS = 8           # training epochs (FAST uses 3)
BATCH_SIZE = 32

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(SEED)
np.random.seed(SEED)
if FAST:
    N_DAYS, HIDDEN_SIZE, NUM_LAYERS, EPOCHS = 21, 16, 1, 3
print("torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "data_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. The data: electricity consumption every 15 minutes
#
# The lecture's data set holds the consumption of one household in kilowatts (kW), read every
# 15 minutes for four years. We generate a series that behaves the same way, so the notebook runs
# anywhere: a daily rhythm (low at night, a peak in the morning, a bigger one in the evening), a
# weekly rhythm (weekends look different) and random noise. One day is $24 \cdot 4 = 96$
# readings; `timestamps` holds the time of every reading (NumPy `datetime64`), `consumption` the
# kilowatts.

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false}
STEPS_PER_DAY = 96


def make_consumption(n_days: int, seed: int) -> tuple:
    """An electricity-like series: (timestamps as datetime64[m], consumption in kW as float32)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_days * STEPS_PER_DAY)
    hour = (t % STEPS_PER_DAY) / 4
    weekday = (t // STEPS_PER_DAY) % 7                      # the series starts on a Monday
    daily = 1.0 + 0.7 * np.exp(-((hour - 8) / 1.5) ** 2) + 1.2 * np.exp(-((hour - 19.5) / 2.0) ** 2)
    weekend = np.where(weekday >= 5, 0.5 * np.exp(-((hour - 13) / 3) ** 2) - 0.2 * np.exp(-((hour - 8) / 1.5) ** 2), 0.0)
    noise = rng.normal(0, 0.12, len(t))
    timestamps = np.datetime64("2024-01-01T00:00") + t * np.timedelta64(15, "m")
    return timestamps, np.clip(daily + weekend + noise, 0, None).astype(np.float32)


timestamps, consumption = make_consumption(N_DAYS, SEED)
print(len(consumption), "readings from", timestamps[0], "to", timestamps[-1])
print("first hour:", consumption[:4].round(3), "kW")

# %% [markdown] nbgrader={"grade": false, "grade_id": "split_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Split by time, not by observation
#
# For tables we shuffled the rows and kept 20% for testing. With a time series that is a
# mistake: a random test reading at 10:15 would have its neighbours at 10:00 and 10:30 in the
# training set, so the model would be graded on how well it *interpolates*, with knowledge of the
# future it will never have in use. This is **look-ahead bias**.
#
# The fix: pick a moment `split_time`; everything strictly before it is for training, everything
# from it on is for testing. Simple and honest; the price is that the further a test reading lies
# from the training period ("out of time"), the less reliable the model becomes. (The course also
# mentions a *rolling window*: retrain on the last $n$ samples to predict sample $n+1$, again
# and again. The windows of Section 3 are the building block of both.)
#
# **Task.** Write `split_by_time`. Its rows may arrive in any order (log files are not always
# sorted): return each part in time order. No randomness at all.

# %% nbgrader={"grade": false, "grade_id": "split_by_time", "locked": false, "schema_version": 3, "solution": true}
def split_by_time(timestamps: np.ndarray, values: np.ndarray, split_time) -> tuple:
    """Split `values` by the time of each row.

    Rows with `timestamps < split_time` form the training part, rows with
    `timestamps >= split_time` the test part. Both parts are returned sorted by time (rows with
    equal timestamps keep their order). Returns `(train_values, test_values)` as NumPy arrays.
    Works for numbers and for `datetime64` timestamps alike.
    """
    ### BEGIN SOLUTION
    timestamps, values = np.asarray(timestamps), np.asarray(values)
    order = np.argsort(timestamps, kind="stable")
    timestamps, values = timestamps[order], values[order]
    before = timestamps < split_time
    return values[before], values[~before]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "split_demo", "locked": true, "schema_version": 3, "solution": false}
TRAIN_DAYS = int(0.75 * N_DAYS)
split_time = timestamps[0] + np.timedelta64(TRAIN_DAYS, "D")
train_series, test_series = split_by_time(timestamps, consumption, split_time)
print("split at", split_time, "->", len(train_series), "training and", len(test_series), "test readings")

# %% nbgrader={"grade": true, "grade_id": "check_split", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_tr, _te = split_by_time(np.array([3, 1, 2, 5, 4]), np.array([30.0, 10.0, 20.0, 50.0, 40.0]), 3)
assert list(_tr) == [10.0, 20.0], f"the rows before time 3, in time order, are [10, 20]; got {list(_tr)}"
assert list(_te) == [30.0, 40.0, 50.0], f"the rows from time 3 on, in time order, are [30, 40, 50]; got {list(_te)}"
assert len(train_series) == TRAIN_DAYS * 96 and len(test_series) == (N_DAYS - TRAIN_DAYS) * 96, "one day is 96 readings"
assert np.array_equal(train_series, consumption[:TRAIN_DAYS * 96]), "the series is sorted already: the training part is its beginning"
print("split: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "scale_md", "locked": true, "schema_version": 3, "solution": false}
# ### Standardising with the training statistics only
#
# Networks learn best from inputs of order 1, so we standardise: $z = (x - \mu) / \sigma$. The
# mean $\mu$ and the standard deviation $\sigma$ (NumPy's default, dividing by $n$) must come from
# the **training part alone**, and the same two numbers then scale the test part. Statistics
# over the whole series would let the test period leak into training: the same look-ahead bias
# in a quieter form.
#
# **Task.** Write `standardise`.

# %% nbgrader={"grade": false, "grade_id": "standardise", "locked": false, "schema_version": 3, "solution": true}
def standardise(train: np.ndarray, test: np.ndarray) -> tuple:
    """Return `(train_scaled, test_scaled, mean, std)`: both parts scaled with the mean and the
    (population, ddof=0) standard deviation of `train`; `mean` and `std` as Python floats.
    The inputs are left unchanged."""
    ### BEGIN SOLUTION
    mean = float(np.mean(train))
    std = float(np.std(train))
    return (train - mean) / std, (test - mean) / std, mean, std
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "scale_demo", "locked": true, "schema_version": 3, "solution": false}
train_scaled, test_scaled, train_mean, train_std = standardise(train_series, test_series)
print(f"training mean {train_mean:.4f} kW, standard deviation {train_std:.4f} kW")
print(f"scaled test part: mean {test_scaled.mean():.3f}, std {test_scaled.std():.3f} (close to, not exactly, 0 and 1)")

# %% nbgrader={"grade": true, "grade_id": "check_scale", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_a, _b, _m, _s = standardise(np.array([1.0, 2.0, 3.0, 6.0]), np.array([4.0, 10.0]))
assert abs(_m - 3.0) < 1e-12 and abs(_s - math.sqrt(3.5)) < 1e-12, f"mean 3 and std sqrt(3.5) of the training part; got {_m}, {_s}"
assert np.allclose(_b, [(4 - 3) / math.sqrt(3.5), (10 - 3) / math.sqrt(3.5)]), "the test part is scaled with the TRAINING mean and std"
assert abs(train_scaled.mean()) < 1e-4 and abs(train_scaled.std() - 1) < 1e-4, "the scaled training part has mean 0 and std 1"
print("standardise: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "windows_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Training examples: sliding windows
#
# A forecaster reads several consecutive readings and predicts the one that follows. So we cut
# the series into **windows** (inputs) and **targets**. The *sequence length* is the number of
# time steps in one window (the course text calls it "the number of features", which is
# misleading: each step here has one feature, the consumption, and a window has many steps). To
# look back 24 hours at 15-minute readings we need $24 \cdot 60 / 15 = 96$ steps.
#
# Three parameters define the windows of a series $v_0, v_1, \dots, v_{n-1}$:
#
# * `seq_length` $L$: window $i$ holds $L$ consecutive values starting at $s_i$;
# * `horizon` $h$: how far ahead the target lies. $h = 1$ is the very next reading,
#   $v_{s_i + L}$; in general the target is $v_{s_i + L + h - 1}$;
# * `step` $k$: the distance between the starts of two windows, $s_i = i \cdot k$.
#
# The last window must still have its target inside the series, $s_i + L + h - 1 \le n - 1$, so
# there are $\lfloor (n - L - h) / k \rfloor + 1$ windows (none when $n < L + h$). Two classic
# bugs: the target taken from *inside* the window ($v_{s_i + L - 1}$, the last input: the
# model then only has to copy), and one window too few or too many at the end.
#
# **Task.** Write `seq_length_for`, `create_sequences` and `to_tensors`. `nn.RNN`, `nn.GRU` and
# `nn.LSTM` with `batch_first=True` want inputs of shape (batch, sequence length, features), so
# `to_tensors` adds the feature axis at the end.

# %% nbgrader={"grade": false, "grade_id": "seq_length_for", "locked": false, "schema_version": 3, "solution": true}
def seq_length_for(hours: float, minutes_per_sample: int = 15) -> int:
    """The number of readings (an int) that cover `hours` hours when one reading is taken every
    `minutes_per_sample` minutes."""
    ### BEGIN SOLUTION
    return int(round(hours * 60 / minutes_per_sample))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "create_sequences", "locked": false, "schema_version": 3, "solution": true}
def create_sequences(values: np.ndarray, seq_length: int, horizon: int = 1, step: int = 1) -> tuple:
    """Sliding windows over a 1-D series.

    Window i starts at s = i * step and holds values[s : s + seq_length]; its target is
    values[s + seq_length + horizon - 1]. Every window whose target lies inside the series is
    made. Returns `(X, y)`: X of shape (number of windows, seq_length), y of shape (number of
    windows,), both with the dtype of `values` (shapes (0, seq_length) and (0,) when the series
    is too short).
    """
    ### BEGIN SOLUTION
    values = np.asarray(values)
    n = (len(values) - seq_length - horizon) // step + 1
    if n <= 0:
        return np.empty((0, seq_length), dtype=values.dtype), np.empty((0,), dtype=values.dtype)
    starts = np.arange(n) * step
    X = np.stack([values[s:s + seq_length] for s in starts])
    y = values[starts + seq_length + horizon - 1]
    return X, y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "to_tensors", "locked": false, "schema_version": 3, "solution": true}
def to_tensors(X: np.ndarray, y: np.ndarray) -> tuple:
    """Windows (N, L) and targets (N,) as float32 tensors of shapes (N, L, 1) and (N, 1)."""
    ### BEGIN SOLUTION
    X_t = torch.as_tensor(np.asarray(X), dtype=torch.float32).unsqueeze(-1)
    y_t = torch.as_tensor(np.asarray(y), dtype=torch.float32).reshape(-1, 1)
    return X_t, y_t
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "windows_demo", "locked": true, "schema_version": 3, "solution": false}
TRAIN_STEP = 2 if FAST else 1        # every other window while grading: half the work, little loss
X_train, y_train = create_sequences(train_scaled, SEQ_LENGTH, step=TRAIN_STEP)
X_test, y_test = create_sequences(test_scaled, SEQ_LENGTH)
X_train_t, y_train_t = to_tensors(X_train, y_train)
X_test_t, y_test_t = to_tensors(X_test, y_test)
print("training windows", tuple(X_train_t.shape), "targets", tuple(y_train_t.shape))
print("test windows    ", tuple(X_test_t.shape), "targets", tuple(y_test_t.shape))

# %% nbgrader={"grade": true, "grade_id": "check_windows", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert seq_length_for(24) == 96 and seq_length_for(24, 60) == 24, "24 hours are 96 readings of 15 minutes, or 24 of an hour"
_X, _y = create_sequences(np.arange(10.0), 3)
assert _X.shape == (7, 3) and _y.shape == (7,), f"10 values, windows of 3, horizon 1: 7 windows; got {_X.shape}, {_y.shape}"
assert list(_X[0]) == [0, 1, 2] and _y[0] == 3 and list(_X[-1]) == [6, 7, 8] and _y[-1] == 9, "window [0, 1, 2] -> 3, ..., [6, 7, 8] -> 9"
_X, _y = create_sequences(np.arange(10.0), 3, horizon=2, step=3)
assert [list(r) for r in _X] == [[0, 1, 2], [3, 4, 5]] and list(_y) == [4, 7], f"horizon 2, step 3: [0,1,2] -> 4, [3,4,5] -> 7; got {_X.tolist()}, {_y.tolist()}"
assert X_test_t.shape == (len(test_series) - SEQ_LENGTH, SEQ_LENGTH, 1), "one test window per reading after the first day"
assert X_test_t.dtype == torch.float32 and y_test_t.shape == (len(test_series) - SEQ_LENGTH, 1), "float32, targets (N, 1)"
print("windows: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "baselines_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Baselines and error measures
#
# Before training anything, ask what a forecaster with no learning at all would score. Two
# baselines are hard to beat on electricity data:
#
# * **naive (last value)**: tomorrow is like today, the next reading is like the last one:
#   $\hat y = $ the last value of the window;
# * **seasonal naive**: the value one season earlier. With a daily season of 96 readings the
#   forecast for time $t$ is the reading at $t - 96$. In a window of length $L$ whose last value
#   sits at time $s + L - 1$, the target sits at $s + L - 1 + h$, so the seasonal value is window
#   column $L - 1 + h - \text{season}$ (it must lie inside the window: $h \le \text{season} \le
#   L - 1 + h$). For $h = 1$ that is column $L - \text{season}$, i.e. `X[:, -season]`; for other
#   horizons it is not.
#
# A model is only useful if it beats both. We measure errors in kilowatts with
#
# $$\text{MAE} = \frac1N \sum_i |y_i - \hat y_i|, \qquad \text{RMSE} = \sqrt{\frac1N \sum_i (y_i - \hat y_i)^2}.$$
#
# RMSE punishes large misses more; both are in the unit of the data. A classic trap: a model
# returns predictions of shape (N, 1) and the targets have shape (N,). `y_true - y_pred` then
# *broadcasts* to an (N, N) matrix, and the mean of that is a meaningless number. Flatten both
# first.
#
# **Task.** Write `naive_forecast`, `seasonal_naive_forecast`, `mae` and `rmse`.

# %% nbgrader={"grade": false, "grade_id": "baselines", "locked": false, "schema_version": 3, "solution": true}
def naive_forecast(X: np.ndarray) -> np.ndarray:
    """The last value of every window: shape (N,) for windows X of shape (N, L)."""
    ### BEGIN SOLUTION
    return np.asarray(X)[:, -1]
    ### END SOLUTION


def seasonal_naive_forecast(X: np.ndarray, season: int, horizon: int = 1) -> np.ndarray:
    """The value one `season` before each window's target (the target lies `horizon` steps after
    the window's last value): shape (N,). Assumes horizon <= season <= L - 1 + horizon."""
    ### BEGIN SOLUTION
    X = np.asarray(X)
    return X[:, X.shape[1] - 1 + horizon - season]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "metrics", "locked": false, "schema_version": 3, "solution": true}
def mae(y_true, y_pred) -> float:
    """Mean absolute error as a Python float; inputs of shapes (N,) or (N, 1), in any mix."""
    ### BEGIN SOLUTION
    diff = np.asarray(y_true, dtype=np.float64).reshape(-1) - np.asarray(y_pred, dtype=np.float64).reshape(-1)
    return float(np.mean(np.abs(diff)))
    ### END SOLUTION


def rmse(y_true, y_pred) -> float:
    """Root mean squared error as a Python float; inputs of shapes (N,) or (N, 1), in any mix."""
    ### BEGIN SOLUTION
    diff = np.asarray(y_true, dtype=np.float64).reshape(-1) - np.asarray(y_pred, dtype=np.float64).reshape(-1)
    return float(np.sqrt(np.mean(diff ** 2)))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "baselines_demo", "locked": true, "schema_version": 3, "solution": false}
def to_kw(scaled):
    """Undo the standardisation: kilowatts again."""
    return np.asarray(scaled, dtype=np.float64) * train_std + train_mean


y_test_kw = to_kw(y_test)
baseline_scores = {}
for _name, _pred in (("naive (last value)", naive_forecast(X_test)),
                     ("seasonal naive (a day ago)", seasonal_naive_forecast(X_test, STEPS_PER_DAY))):
    baseline_scores[_name] = (mae(y_test_kw, to_kw(_pred)), rmse(y_test_kw, to_kw(_pred)))
    print(f"{_name:28s} MAE {baseline_scores[_name][0]:.4f} kW   RMSE {baseline_scores[_name][1]:.4f} kW")

# %% nbgrader={"grade": true, "grade_id": "check_baselines", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_W = np.arange(12.0).reshape(2, 6)
assert list(naive_forecast(_W)) == [5.0, 11.0], "the last value of each window"
assert list(seasonal_naive_forecast(_W, 4)) == [2.0, 8.0], "horizon 1, season 4: the target sits at 6, one season earlier is column 2"
assert list(seasonal_naive_forecast(_W, 4, horizon=2)) == [3.0, 9.0], "horizon 2, season 4: column 6 - 1 + 2 - 4 = 3"
assert abs(mae([1, 2, 3], [[2], [2], [5]]) - 1.0) < 1e-12, "MAE of errors 1, 0, 2 is 1 (shapes (3,) and (3, 1) mixed)"
assert abs(rmse([1, 2, 3], [[2], [2], [5]]) - math.sqrt(5 / 3)) < 1e-12, "RMSE of errors 1, 0, 2 is sqrt(5 / 3)"
print("baselines and metrics: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "rnn_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. The recurrent neuron
#
# A feed-forward network maps one input to one output. A **recurrent** cell also keeps a
# *hidden state* $h$, its memory, and at every time step combines the new input $x_t$ with its
# previous state:
#
# $$h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t), \qquad y_t = W_{hy} h_t.$$
#
# The same weights are used at every step; running the cell along a sequence is called
# *unrolling through time*, and the output at step $t$ depends on all inputs up to $t$. With
# shapes: $x_t$ has `input_size` entries, $h$ has `hidden_size`, so $W_{xh}$ is (hidden, input),
# $W_{hh}$ is (hidden, hidden) and $W_{hy}$ is (output, hidden). PyTorch's `nn.RNNCell` computes
# the same update, with biases, on a batch of row vectors:
# $h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})$; its `weight_ih` is our
# $W_{xh}$ and `weight_hh` our $W_{hh}$.
#
# **Task 1.** Complete `NumpyRNN`, the lecture's cell without biases, in NumPy: the constructor
# keeps the three matrices and the state (zeros when `h0` is None, otherwise a copy of `h0`);
# `step(x)` updates the state and returns $y_t$; `forward(xs)` runs `step` over the rows of `xs`.

# %% nbgrader={"grade": false, "grade_id": "numpy_rnn", "locked": false, "schema_version": 3, "solution": true}
class NumpyRNN:
    """The lecture's recurrent cell in NumPy (no biases).

    W_xh: (hidden, input), W_hh: (hidden, hidden), W_hy: (output, hidden), h0: (hidden,) or None.
    The current state is the attribute `h`, a float64 array of shape (hidden,).
    """

    def __init__(self, W_xh, W_hh, W_hy, h0=None):
        ### BEGIN SOLUTION
        self.W_xh = np.asarray(W_xh, dtype=np.float64)
        self.W_hh = np.asarray(W_hh, dtype=np.float64)
        self.W_hy = np.asarray(W_hy, dtype=np.float64)
        if h0 is None:
            self.h = np.zeros(self.W_hh.shape[0])
        else:
            self.h = np.array(h0, dtype=np.float64)
        ### END SOLUTION

    def step(self, x) -> np.ndarray:
        """One time step: update `self.h` from the input x (input,) and return y (output,)."""
        ### BEGIN SOLUTION
        self.h = np.tanh(np.dot(self.W_hh, self.h) + np.dot(self.W_xh, np.asarray(x, dtype=np.float64)))
        return np.dot(self.W_hy, self.h)
        ### END SOLUTION

    def forward(self, xs) -> tuple:
        """Run `step` over the rows of xs (T, input): return (ys of shape (T, output), the final state
        of shape (hidden,))."""
        ### BEGIN SOLUTION
        ys = [self.step(x) for x in np.asarray(xs, dtype=np.float64)]
        return np.stack(ys), self.h.copy()
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_numpy_rnn", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_cell = NumpyRNN(np.array([[1.0], [0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 1.0]]))
_ys, _h = _cell.forward(np.array([[0.5], [0.0]]))
assert _ys.shape == (2, 1) and _h.shape == (2,), f"ys (T, output) = (2, 1), h (hidden,) = (2,); got {_ys.shape}, {_h.shape}"
assert np.allclose(_h, [0.0, np.tanh(np.tanh(0.5))]), "step 1: h = [tanh(0.5), 0]; step 2: h = [0, tanh(tanh(0.5))]"
assert np.allclose(_ys[:, 0], [np.tanh(0.5), np.tanh(np.tanh(0.5))]), "y_t = W_hy h_t with the NEW state"
print("NumpyRNN: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "concat_md", "locked": true, "schema_version": 3, "solution": false}
# ### The same cell as "concatenate, then one linear layer"
#
# The two products $W_{xh} x + W_{hh} h$ are one product with a wider matrix: put $x$ and $h$
# side by side, $[x, h]$, and multiply by $[W_{xh} \mid W_{hh}]$. So the cell is
#
# $$h_t = \tanh\big(\text{Linear}([x_t, h_{t-1}])\big)$$
#
# with one `nn.Linear(input_size + hidden_size, hidden_size)`: its weight is the two matrices
# glued column-wise, **input columns first**, and its single bias plays the part of
# $b_{ih} + b_{hh}$.
#
# **Task 2.** Write `ConcatRNNCell`. The linear layer must be the attribute `linear` and the input
# must come first in the concatenation (the grader copies `nn.RNNCell`'s weights into it in that
# layout: `linear.weight = [weight_ih | weight_hh]` of shape (hidden, input + hidden),
# `linear.bias = bias_ih + bias_hh`). `x` is a batch (B, input); `h` is (B, hidden), or None for
# a zero state of the dtype and device of `x`.

# %% nbgrader={"grade": false, "grade_id": "concat_rnn_cell", "locked": false, "schema_version": 3, "solution": true}
class ConcatRNNCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int):
        ### BEGIN SOLUTION
        super().__init__()
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size + hidden_size, hidden_size)
        ### END SOLUTION

    def forward(self, x: torch.Tensor, h: torch.Tensor = None) -> torch.Tensor:
        """The next hidden state (B, hidden)."""
        ### BEGIN SOLUTION
        if h is None:
            h = torch.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        return torch.tanh(self.linear(torch.cat([x, h], dim=1)))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_concat", "locked": true, "points": 0, "schema_version": 3, "solution": false}
torch.manual_seed(0)
_ref_cell = nn.RNNCell(3, 4)
_cell = ConcatRNNCell(3, 4)
assert tuple(_cell.linear.weight.shape) == (4, 7), f"linear.weight should be (hidden, input + hidden) = (4, 7); got {tuple(_cell.linear.weight.shape)}"
with torch.no_grad():
    _cell.linear.weight.copy_(torch.cat([_ref_cell.weight_ih, _ref_cell.weight_hh], dim=1))
    _cell.linear.bias.copy_(_ref_cell.bias_ih + _ref_cell.bias_hh)
_x, _h = torch.randn(5, 3), torch.randn(5, 4)
assert torch.allclose(_cell(_x, _h), _ref_cell(_x, _h), atol=1e-6), "with the same weights the cell equals nn.RNNCell"
assert torch.allclose(_cell(_x), _ref_cell(_x), atol=1e-6), "h=None means a zero state"
print("ConcatRNNCell: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "shapes_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. `nn.RNN`, `nn.GRU`, `nn.LSTM`: what comes out
#
# `nn.RNN(input_size, hidden_size, num_layers, batch_first=...)` unrolls a cell over a whole
# sequence; with `num_layers > 1` the layers are stacked (a *deep* RNN): layer 2 reads the
# hidden states of layer 1. Calling it returns two things, `out, h_n = rnn(x, h0)`:
#
# * `out`: the hidden state of the **last layer** at **every** time step: (batch, seq_len,
#   hidden) with `batch_first=True`, (seq_len, batch, hidden) without it;
# * `h_n`: the hidden state of **every layer** at the **last** time step:
#   **(num_layers, batch, hidden)**, whatever `batch_first` says (it only concerns `x` and `out`).
#   The course text's comment "(batch_size, hidden_size)" is wrong. The initial state `h0` has the
#   same shape. A consequence worth remembering: `out[:, -1, :]` equals `h_n[-1]`.
#
# Plain RNNs forget quickly (the short-term memory problem: gradients through many `tanh` steps
# vanish or explode). Two gated cells fix it:
#
# * **GRU**: a simplified LSTM with one hidden state and no output gate; same outputs as `nn.RNN`;
# * **LSTM**: two states, a short-term `h` and a long-term `c`, and three gates (forget: what to
#   drop from `c`; input: what to write to `c`; output: what to return now). It returns
#   `out, (h_n, c_n)`, and `c_n` has the shape of `h_n`. The initial state is a pair `(h0, c0)`.
#
# Parameter counts per layer: `nn.RNN` has $H(I + H) + 2H$; a GRU three times as many weights
# (reset, update and candidate), an LSTM four times (four gates); later layers read $I = H$.
# The lecture's `nn.RNN(1, 32, 2)` with `nn.Linear(32, 1)` has 3,265 parameters, the GRU version
# 9,729, the LSTM version 12,961.
#
# **Task.** Write `recurrent_shapes`: the shapes, as tuples, that a call of such a module returns
# for an input of the given sizes, without running one (if you like, run one to check yourself).

# %% nbgrader={"grade": false, "grade_id": "recurrent_shapes", "locked": false, "schema_version": 3, "solution": true}
def recurrent_shapes(cell: str, batch_size: int, seq_len: int, input_size: int, hidden_size: int,
                     num_layers: int, batch_first: bool = True) -> dict:
    """Shapes returned by nn.RNN / nn.GRU / nn.LSTM (`cell` is "rnn", "gru" or "lstm") for an input
    of `batch_size` sequences of `seq_len` steps with `input_size` features.

    Returns {"output": tuple, "h_n": tuple, "c_n": tuple for "lstm", None otherwise}.
    """
    ### BEGIN SOLUTION
    if batch_first:
        output = (batch_size, seq_len, hidden_size)
    else:
        output = (seq_len, batch_size, hidden_size)
    h_n = (num_layers, batch_size, hidden_size)
    return {"output": output, "h_n": h_n, "c_n": h_n if cell == "lstm" else None}
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "shapes_demo", "locked": true, "schema_version": 3, "solution": false}
_gru = nn.GRU(10, 20, 2)
_out, _hn = _gru(torch.randn(5, 3, 10), torch.randn(2, 3, 20))
print("nn.GRU(10, 20, 2) on (5, 3, 10): output", tuple(_out.shape), "h_n", tuple(_hn.shape))
_lstm = nn.LSTM(10, 20, 2)
_out, (_hn, _cn) = _lstm(torch.randn(5, 3, 10), (torch.randn(2, 3, 20), torch.randn(2, 3, 20)))
print("nn.LSTM(10, 20, 2) on (5, 3, 10): output", tuple(_out.shape), "h_n", tuple(_hn.shape), "c_n", tuple(_cn.shape))

# %% nbgrader={"grade": true, "grade_id": "check_shapes", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_s = recurrent_shapes("lstm", 3, 5, 10, 20, 2, batch_first=False)
assert tuple(_s["output"]) == (5, 3, 20) and tuple(_s["h_n"]) == (2, 3, 20) and tuple(_s["c_n"]) == (2, 3, 20), f"the lecture's LSTM example; got {_s}"
_s = recurrent_shapes("rnn", 4, 96, 1, 32, 2)
assert tuple(_s["output"]) == (4, 96, 32) and tuple(_s["h_n"]) == (2, 4, 32) and _s["c_n"] is None, f"the lecture's Net on (4, 96, 1); got {_s}"
print("recurrent_shapes: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "net_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Architecture types, and the sequence-to-vector `Net`
#
# How a recurrent network is used depends on what goes in and what comes out:
#
# * **sequence-to-sequence**: a sequence in, an output at every step used (real-time
#   tasks: each output may only depend on what came so far);
# * **sequence-to-vector**: a sequence in, only the **last** output used (one answer for the
#   whole sequence: a forecast, a sentiment);
# * **vector-to-sequence**: one input, a sequence out (a caption for an image);
# * **encoder-decoder**: the whole input sequence is read first (the encoder), only then does
#   the output sequence start (the decoder): translation, where the last word may change the
#   first.
#
# Forecasting the next reading from a window is sequence-to-vector. The lecture's network:
#
# ```python
# class Net(nn.Module):
#     def __init__(self):
#         super().__init__()
#         self.rnn = nn.RNN(input_size=1, hidden_size=32, num_layers=2, batch_first=True)
#         self.fc = nn.Linear(32, 1)
#
#     def forward(self, x):
#         h0 = torch.zeros(2, x.size(0), 32)   # (num_layers, batch, hidden)
#         out, h_n = self.rnn(x, h0)           # out: (batch, seq_len, hidden); h_n: (num_layers, batch, hidden)
#         return self.fc(out[:, -1, :])        # the last time step only
# ```
#
# **Task.** Write `Net` with the sizes as arguments (the numbers 2 and 32 above must follow
# them), attributes `rnn` and `fc`, and a zero `h0` created on the device and with the dtype of
# `x` (a tensor made with `torch.zeros(...)` alone lives on the CPU, which breaks on a GPU).

# %% nbgrader={"grade": false, "grade_id": "seq2vec_net", "locked": false, "schema_version": 3, "solution": true}
class Net(nn.Module):
    """Sequence-to-vector RNN: (B, L, input_size) -> (B, 1)."""

    def __init__(self, input_size: int = 1, hidden_size: int = 32, num_layers: int = 2):
        ### BEGIN SOLUTION
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.rnn = nn.RNN(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size, dtype=x.dtype, device=x.device)
        out, h_n = self.rnn(x, h0)
        return self.fc(out[:, -1, :])
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_net", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_net = Net()
assert sum(p.numel() for p in _net.parameters()) == 3265, "nn.RNN(1, 32, 2) + nn.Linear(32, 1) have 3,265 parameters"
assert tuple(_net(torch.randn(4, 96, 1)).shape) == (4, 1), "one forecast per sequence: (4, 1)"
assert tuple(Net(3, 8, 1)(torch.randn(2, 5, 3)).shape) == (2, 1), "Net(3, 8, 1) on (2, 5, 3)"
print("Net: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "quiz_md", "locked": true, "schema_version": 3, "solution": false}
# ### Choosing the architecture
#
# **Task.** For each use case in `ARCHITECTURES`, replace `None` by one of `"seq2seq"`,
# `"seq2vec"`, `"vec2seq"` or `"encoder-decoder"`. Then answer the multiple-choice question in
# `RNN_STATEMENTS`: the set of the letters of the **correct** statements.
#
# A. Plain RNN cells are able to keep a memory track of long input sequences.
# B. LSTM cells keep two hidden states: one for short-term memory and one for long-term memory.
# C. In both LSTM and GRU cells, the hidden state is not only passed as input to the next time
#    step, but also returned (either as a copy or through an activation function) at the current
#    time step.
# D. LSTM cells always provide better results than GRU cells because they can handle more
#    complexity with three rather than two gates.

# %% nbgrader={"grade": false, "grade_id": "architecture_quiz", "locked": false, "schema_version": 3, "solution": true}
ARCHITECTURES = {
    "sentiment of a sequence of words": None,
    "translate text from Bulgarian to Greek": None,
    "real-time speech recognition": None,
    "speech recognition that first listens, then replies": None,
    "image captioning": None,
    "today's stock price from the last 30 days": None,
    "generate text on a given topic": None,
    "video classification frame by frame": None,
}
RNN_STATEMENTS = set()
### BEGIN SOLUTION
ARCHITECTURES = {
    "sentiment of a sequence of words": "seq2vec",
    "translate text from Bulgarian to Greek": "encoder-decoder",
    "real-time speech recognition": "seq2seq",
    "speech recognition that first listens, then replies": "encoder-decoder",
    "image captioning": "vec2seq",
    "today's stock price from the last 30 days": "seq2vec",
    "generate text on a given topic": "vec2seq",
    "video classification frame by frame": "seq2seq",
}
RNN_STATEMENTS = {"B", "C"}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "check_quiz", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(ARCHITECTURES) == 8, "keep the eight use cases"
assert set(ARCHITECTURES.values()) <= {"seq2seq", "seq2vec", "vec2seq", "encoder-decoder"}, f"answers must be one of the four names; got {sorted(map(str, ARCHITECTURES.values()))}"
assert isinstance(RNN_STATEMENTS, set) and RNN_STATEMENTS <= {"A", "B", "C", "D"}, "RNN_STATEMENTS is a set of letters"
print("quiz: answered (the grader checks the answers)")

# %% [markdown] nbgrader={"grade": false, "grade_id": "forecaster_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. An LSTM (or GRU) forecaster
#
# The forecaster is `Net` with a gated cell: `cell="lstm"` uses `nn.LSTM`, `cell="gru"` uses
# `nn.GRU`, both with `batch_first=True`; then `nn.Linear(hidden_size, 1)` on the last time
# step. Leaving out the initial state means zeros, so `self.rnn(x)` is enough. Mind the LSTM's
# return value: `out, (h_n, c_n)`. If you prefer `h_n` to `out`, take `h_n[-1]` (the last
# **layer**), not `h_n[0]`.
#
# **Task.** Write `Forecaster` (attributes `rnn` and `fc`).

# %% nbgrader={"grade": false, "grade_id": "forecaster", "locked": false, "schema_version": 3, "solution": true}
class Forecaster(nn.Module):
    """(B, L, input_size) -> (B, 1) with an LSTM (cell="lstm") or a GRU (cell="gru")."""

    def __init__(self, cell: str = "lstm", input_size: int = 1, hidden_size: int = 32, num_layers: int = 2):
        ### BEGIN SOLUTION
        super().__init__()
        recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = recurrent(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_forecaster", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert sum(p.numel() for p in Forecaster("lstm").parameters()) == 12961, "LSTM(1, 32, 2) + Linear(32, 1): 12,961 parameters"
assert sum(p.numel() for p in Forecaster("gru").parameters()) == 9729, "GRU(1, 32, 2) + Linear(32, 1): 9,729 parameters"
assert tuple(Forecaster("gru", 2, 8, 3)(torch.randn(5, 7, 2)).shape) == (5, 1), "Forecaster('gru', 2, 8, 3) on (5, 7, 2)"
print("Forecaster: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ## 9. Training and forecasting
#
# The training loop is the one of the earlier weeks: the model in training mode, then for every
# batch `optimizer.zero_grad()`, the forward pass, the loss, `loss.backward()`,
# `optimizer.step()`. Shuffling the **windows** of the training part is fine (each window keeps
# its own order inside, and no test reading is involved). The loss is the mean squared error,
# `nn.MSELoss()`, on the standardised values.
#
# **Task.** Write `train_epoch` (returns the mean of the batch losses, `loss.item()` per batch)
# and `predict`: the model in evaluation mode, no gradients (`torch.no_grad()`), the windows fed
# in batches of `batch_size` on `device`, the forecasts returned as a NumPy array of shape (N,)
# on the CPU.

# %% nbgrader={"grade": false, "grade_id": "train_epoch", "locked": false, "schema_version": 3, "solution": true}
def train_epoch(model: nn.Module, loader, criterion, optimizer, device) -> float:
    """One pass over `loader` (batches of (windows, targets)); the mean of the batch losses."""
    ### BEGIN SOLUTION
    model.train()
    losses = []
    for windows, targets in loader:
        windows, targets = windows.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = criterion(model(windows), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "predict", "locked": false, "schema_version": 3, "solution": true}
def predict(model: nn.Module, X: torch.Tensor, device, batch_size: int = 256) -> np.ndarray:
    """Forecasts of `model` for the windows X (N, L, features): a float NumPy array of shape (N,)."""
    ### BEGIN SOLUTION
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            outputs.append(model(X[start:start + batch_size].to(device)).reshape(-1).cpu())
    return torch.cat(outputs).numpy()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "training", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
model = Forecaster("lstm", hidden_size=HIDDEN_SIZE, num_layers=NUM_LAYERS).to(DEVICE)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01 if FAST else 0.003)
criterion = nn.MSELoss()
train_loader = DataLoader(TensorDataset(X_train_t, y_train_t), batch_size=BATCH_SIZE, shuffle=True,
                          generator=torch.Generator().manual_seed(SEED))
for epoch in range(EPOCHS):
    loss = train_epoch(model, train_loader, criterion, optimizer, DEVICE)
    print(f"epoch {epoch + 1}: mean training loss {loss:.4f}")

forecast_kw = to_kw(predict(model, X_test_t, DEVICE))
model_scores = (mae(y_test_kw, forecast_kw), rmse(y_test_kw, forecast_kw))
for _name, (_mae, _rmse) in list(baseline_scores.items()) + [("LSTM forecaster", model_scores)]:
    print(f"{_name:28s} MAE {_mae:.4f} kW   RMSE {_rmse:.4f} kW")

# %% nbgrader={"grade": true, "grade_id": "check_training", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert forecast_kw.shape == y_test_kw.shape, f"one forecast per test window: {y_test_kw.shape}, got {forecast_kw.shape}"
_best_baseline = min(r for _, r in baseline_scores.values())
assert model_scores[1] < _best_baseline, (
    f"the forecaster's test RMSE {model_scores[1]:.4f} kW should beat both baselines (best {_best_baseline:.4f} kW): "
    "check train_epoch, predict and the windows")
print("training: the forecaster beats both baselines")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary_md", "locked": true, "schema_version": 3, "solution": false}
# ### Checkpoint
#
# Your forecaster's RMSE is below the baselines', but not by a factor of ten. Why can no model
# get far below about 0.12 kW on this series?
#
# <details><summary>Answer</summary>
#
# The series is a smooth daily and weekly pattern plus independent noise of standard deviation
# 0.12 kW. The noise of the next reading cannot be predicted from the past, so even a model that
# knows the pattern exactly misses by about 0.12 kW on average (its RMSE). The naive forecasts
# carry the noise of the reading they copy as well, about $\sqrt{2} \cdot 0.12 \approx 0.17$ kW,
# plus the change of the pattern.
# </details>
#
# ## Summary
#
# * Sequential data are split **by time**; scaling statistics come from the training part only.
# * Training examples are sliding windows: the window $v_{s}, \dots, v_{s+L-1}$, the target
#   $v_{s+L+h-1}$, and $\lfloor (n - L - h)/k \rfloor + 1$ windows for step $k$.
# * A recurrent cell: $h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t)$, the same as one linear layer on
#   $[x_t, h_{t-1}]$. `nn.RNN`/`nn.GRU`/`nn.LSTM` return the outputs of every step (last layer)
#   and `h_n` of shape (num_layers, batch, hidden) (plus `c_n` for the LSTM).
# * Sequence-to-vector models use the last step, `out[:, -1, :]` (= `h_n[-1]`).
# * A forecaster must beat the naive and seasonal-naive baselines; MAE and RMSE are computed on
#   flat arrays, in the data's unit.
