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
# # Week 03 (optional companion) — Optimisers, dropout, L2 and batch norm from scratch
#
# This is an **optional companion** to week 3 (*Hello, PyTorch*). In the weekly exercise you
# called `optim.SGD(model.parameters(), lr=..., momentum=...)`, `optim.Adam`, `nn.Dropout`,
# `weight_decay=...` and `nn.BatchNorm1d` and let PyTorch do the arithmetic. Here you write that
# arithmetic yourself, in NumPy (float64), and check it **step by step** against PyTorch. After
# this notebook the words *momentum*, *bias correction*, *eps*, *weight decay*, *inverted dropout*
# and *running statistics* should each mean one exact formula to you, including the places where
# textbooks and libraries disagree.
#
# The plan:
#
# 1. the test bed: a quadratic bowl and plain gradient descent;
# 2. exponentially weighted averages (EWA) and bias correction;
# 3. SGD with momentum in two conventions (the I2DL/CS231n one and PyTorch's);
# 4. RMSprop;
# 5. Adam;
# 6. a small driver loop that runs any of them;
# 7. learning-rate schedules and `torch.optim.lr_scheduler`;
# 8. L2 regularisation and weight decay;
# 9. inverted dropout;
# 10. batch normalisation with running statistics, equal to `nn.BatchNorm1d`;
# 11. a short training run of a tiny network with *your* Adam.
#
# **Conventions used everywhere.** Arrays are NumPy float64. An update function has the shape
# `update(w, dw, config) -> (next_w, config)`: `w` is the current parameter (any shape), `dw` the
# gradient of the loss at `w`, and `config` a dict with the hyper-parameters and the optimiser's
# *state* (velocities, averages, step counter). Missing keys get their defaults. The function
# must **not** change `w` or `dw` in place; it returns the new parameter and the (updated) dict.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Do not rename the given functions or arguments: the grader
# calls them by name. The cells titled *Check* test a few cases; the grader runs more tests that
# you do not see, and compares every step of your optimisers with `torch.optim` on problems it
# makes up.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0            # seed for the random problems and the tiny network
FAST = False        # True: shorter demo runs (used while grading)
DEVICE = "cpu"      # where the PyTorch comparisons run ("cpu" or "cuda")
DATA_DIR = "data"   # unused: every problem is generated in the notebook
N_STEPS = 30 if FAST else 200       # steps of the optimiser demos
TRAIN_STEPS = 40 if FAST else 300   # steps of the tiny-network training run
HIDDEN = 8                          # hidden units of the tiny network

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import numpy as np
import torch
import torch.nn as nn

np.random.seed(SEED)
torch.manual_seed(SEED)
np.set_printoptions(precision=5, suppress=True)

# %% [markdown] nbgrader={"grade": false, "grade_id": "bowl_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. The test bed: a quadratic bowl
#
# Training a network means solving an optimisation problem: find parameters $w$ that make the
# loss $J(w)$ small. An optimiser only ever sees the gradient $\nabla J(w)$ at the current point,
# so we can study optimisers on a problem whose gradient we know exactly, the quadratic
#
# $$J(w) = \tfrac12 w^\top A w - b^\top w, \qquad \nabla J(w) = A w - b,$$
#
# with $A$ symmetric positive definite. Its minimum is at $w^\star = A^{-1} b$. When $A$ has very
# different eigenvalues (a long narrow valley), plain gradient descent
# $w \leftarrow w - \alpha \nabla J(w)$ has a hard time: a learning rate $\alpha$ small enough for
# the steep direction crawls along the flat one, and a larger one oscillates across the valley.
# That is exactly what momentum, RMSprop and Adam try to fix. Optimal learning rates in practice
# lie somewhere between `1` and `0.0001`; the right one depends on the problem.
#
# The cell below makes such a bowl and runs plain gradient descent. It also shows how to run a
# `torch.optim` optimiser on a NumPy problem: we set `p.grad` ourselves and call `step()`.

# %% nbgrader={"grade": false, "grade_id": "bowl_demo", "locked": true, "schema_version": 3, "solution": false}
def make_bowl(dim, seed, condition=20.0):
    """A random quadratic bowl: (A, b) with eigenvalues of A between 1 and `condition`."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    A = q @ np.diag(np.linspace(1.0, condition, dim)) @ q.T
    b = rng.normal(size=dim)
    return A, b


def bowl_loss(A, b, w):
    return 0.5 * w @ A @ w - b @ w


def torch_run(make_optimizer, A, b, w0, steps, scheduler=None):
    """Run a torch.optim optimiser on the bowl (float64); returns the list of iterates."""
    p = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([p])
    sched = scheduler(opt) if scheduler is not None else None
    At, bt = torch.tensor(A), torch.tensor(b)
    out = [w0.copy()]
    for _ in range(steps):
        p.grad = At @ p.detach() - bt
        opt.step()
        if sched is not None:
            sched.step()
        out.append(p.detach().numpy().copy())
    return out


A_demo, b_demo = make_bowl(5, SEED)
w_star = np.linalg.solve(A_demo, b_demo)
w = np.zeros(5)
for _ in range(N_STEPS):
    w = w - 0.04 * (A_demo @ w - b_demo)
print("plain GD after", N_STEPS, "steps: loss", bowl_loss(A_demo, b_demo, w), " optimum", bowl_loss(A_demo, b_demo, w_star))
gd = torch_run(lambda ps: torch.optim.SGD(ps, lr=0.04), A_demo, b_demo, np.zeros(5), N_STEPS)
print("torch.optim.SGD gives the same point:", np.allclose(gd[-1], w))

# %% [markdown] nbgrader={"grade": false, "grade_id": "ewa_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Exponentially weighted averages and bias correction
#
# All the optimisers below keep a *running average* of something (gradients, squared
# gradients). The average they use is the **exponentially weighted average** (EWA) of a sequence
# $\theta_1, \theta_2, \dots$:
#
# $$V_0 = 0, \qquad V_t = \beta V_{t-1} + (1-\beta)\,\theta_t \quad (t = 1, 2, \dots).$$
#
# Unrolled, $V_t = (1-\beta)\sum_{i \le t} \beta^{t-i}\theta_i$: recent values weigh most and the
# weights decay geometrically. It averages over roughly the last $1/(1-\beta)$ values: $\beta = 0.9$
# is about 10 days of temperature readings, $\beta = 0.98$ about 50, $\beta = 0.5$ about 2.
#
# **Bias correction.** Because $V_0 = 0$, the first averages are too small: with $\beta = 0.98$,
# $V_1 = 0.02\,\theta_1$ and $V_2 = 0.0196\,\theta_1 + 0.02\,\theta_2$. The weights of $V_t$ sum to
# $1-\beta^t$, so dividing by that fixes the start:
#
# $$\hat V_t = \frac{V_t}{1-\beta^t}, \qquad \text{e.g. } t = 2,\ \beta = 0.98:\ 1 - 0.98^2 = 0.0396.$$
#
# Note the exponent is the step number $t$ **starting at 1** (with $t = 0$ you would divide by
# zero). For large $t$, $\beta^t \to 0$ and the correction disappears.
#
# **Task.** Implement `ewa(values, beta, bias_correction=False)`, returning the array
# $[V_1, \dots, V_n]$ (or $[\hat V_1, \dots, \hat V_n]$) for the values $\theta_1..\theta_n$ along the
# first axis.

# %% nbgrader={"grade": false, "grade_id": "ewa", "locked": false, "schema_version": 3, "solution": true}
def ewa(values, beta, bias_correction=False):
    """Exponentially weighted averages of `values` (theta_1 .. theta_n along the first axis).

    V_0 = 0, V_t = beta * V_{t-1} + (1 - beta) * theta_t for t = 1..n.
    Returns a float array of the same shape as `values` holding V_1 .. V_n, or, with
    bias_correction=True, V_t / (1 - beta**t).
    """
    ### BEGIN SOLUTION
    values = np.asarray(values, dtype=float)
    out = np.empty_like(values)
    v = np.zeros(values.shape[1:])
    for t in range(1, len(values) + 1):
        v = beta * v + (1 - beta) * values[t - 1]
        out[t - 1] = v / (1 - beta ** t) if bias_correction else v
    return out
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "ewa_demo", "locked": true, "schema_version": 3, "solution": false}
rng_demo = np.random.default_rng(SEED)
temps = 10 + 5 * np.sin(np.arange(60) / 9) + rng_demo.normal(0, 2, 60)
for beta in (0.5, 0.9, 0.98):
    plain, fixed = ewa(temps, beta), ewa(temps, beta, bias_correction=True)
    print(f"beta={beta}: first raw averages {plain[:3]}, corrected {fixed[:3]} (data starts {temps[:3]})")

# %% nbgrader={"grade": true, "grade_id": "check_ewa", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_v = ewa([3.0, 5.0], 0.98)
assert np.allclose(_v, [0.02 * 3.0, 0.0196 * 3.0 + 0.02 * 5.0]), f"ewa([3, 5], 0.98) should be [0.06, 0.1588], got {_v}"
_vh = ewa([3.0, 5.0], 0.98, bias_correction=True)
assert np.isclose(_vh[1], (0.0196 * 3.0 + 0.02 * 5.0) / 0.0396), \
    f"the corrected V_2 divides by 1 - 0.98**2 = 0.0396: expected {(0.0196 * 3 + 0.02 * 5) / 0.0396:.6f}, got {_vh[1]}"
assert np.isclose(_vh[0], 3.0), f"the corrected V_1 equals theta_1 exactly (3.0), got {_vh[0]}: is t starting at 1?"
_c = ewa(np.full(20, 7.0), 0.9, bias_correction=True)
assert np.allclose(_c, 7.0), f"bias-corrected averages of a constant sequence are that constant, got {_c[:4]}"
print("ewa: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "momentum_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. SGD with momentum: two conventions
#
# *Momentum* lets the optimiser keep going in directions where the previous steps agreed and
# cancels the back-and-forth across a valley. It keeps a **velocity** and steps along it instead
# of along the raw gradient. Values of the momentum $\mu$ between 0.5 and 0.99 are typical; with
# $\mu = 0$ it is plain gradient descent. There are several ways to write it, and libraries use
# different ones, so you implement two and keep them apart:
#
# **I2DL / CS231n convention** (`sgd_momentum`): the velocity already contains the learning rate
# and the minus sign,
#
# $$v \leftarrow \mu v - \alpha\, dw, \qquad w \leftarrow w + v, \qquad v_0 = 0.$$
#
# **PyTorch convention** (`sgd_momentum_torch`, what `torch.optim.SGD(momentum=mu)` does with
# `dampening=0`, `nesterov=False`): the *buffer* accumulates raw gradients and the learning rate
# multiplies it at the step,
#
# $$b \leftarrow \mu b + g, \qquad w \leftarrow w - \alpha\, b, \qquad \text{first step: } b = g.$$
#
# Here $g$ is the gradient, plus `weight_decay * w` when weight decay is on (section 8). With a
# constant $\alpha$ the two give the same iterates ($v = -\alpha b$), but as soon as the learning
# rate changes during training (a schedule, section 7) they differ: in PyTorch's convention a new
# learning rate applies to the whole accumulated buffer at once, in I2DL's only to new gradients.
#
# Andrew Ng's course writes a third form, $v \leftarrow \beta v + (1-\beta)\,dw$,
# $w \leftarrow w - \alpha v$: an EWA of the gradients. It equals PyTorch's with `dampening=beta`
# (except on the first step) and with the learning rate scaled by $1-\beta$; we do not implement it.
#
# **Tasks.** `sgd_momentum(w, dw, config)` with `config` keys `learning_rate` (default 1e-2),
# `momentum` (0.9) and state `velocity` (zeros at first); `sgd_momentum_torch(w, dw, config)`
# with `learning_rate` (1e-2), `momentum` (0.9), `weight_decay` (0.0) and state
# `momentum_buffer` (absent or `None` before the first step).

# %% nbgrader={"grade": false, "grade_id": "sgd_momentum", "locked": false, "schema_version": 3, "solution": true}
def sgd_momentum(w, dw, config=None):
    """One step of SGD with momentum, I2DL convention: v = mu * v - lr * dw; next_w = w + v.

    config: 'learning_rate' (default 1e-2), 'momentum' (default 0.9), state 'velocity' (an array
    like w; zeros when missing). Stores the new velocity in config['velocity'].
    Returns (next_w, config); w and dw are not changed in place.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w, dtype=float))
    ### BEGIN SOLUTION
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    ### END SOLUTION
    return next_w, config


def sgd_momentum_torch(w, dw, config=None):
    """One step of SGD with momentum as torch.optim.SGD does it (dampening 0, not Nesterov).

    g = dw + weight_decay * w; b = g on the first step (no buffer yet), else b = mu * b + g;
    next_w = w - lr * b.
    config: 'learning_rate' (1e-2), 'momentum' (0.9), 'weight_decay' (0.0), state
    'momentum_buffer' (None or missing before the first step). Returns (next_w, config).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("weight_decay", 0.0)
    ### BEGIN SOLUTION
    g = dw + config["weight_decay"] * w
    buf = config.get("momentum_buffer")
    if buf is None:
        buf = np.array(g, dtype=float, copy=True)
    else:
        buf = config["momentum"] * buf + g
    next_w = w - config["learning_rate"] * buf
    config["momentum_buffer"] = buf
    ### END SOLUTION
    return next_w, config


# %% [markdown] nbgrader={"grade": false, "grade_id": "momentum_fixture_md", "locked": true, "schema_version": 3, "solution": false}
# The I2DL exercise checks its momentum step on fixed arrays: `w = linspace(-0.4, 0.6, 20)`,
# `dw = linspace(-0.6, 0.4, 20)`, `v = linspace(0.6, 0.9, 20)` (all reshaped to (4, 5)),
# learning rate 1e-3 and momentum 0.9. By hand: $v_{00} = 0.9 \cdot 0.6 - 10^{-3}\cdot(-0.6) = 0.5406$
# and $w_{00} = -0.4 + 0.5406 = 0.1406$.

# %% nbgrader={"grade": true, "grade_id": "check_momentum", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_w = np.linspace(-0.4, 0.6, 20).reshape(4, 5)
_dw = np.linspace(-0.6, 0.4, 20).reshape(4, 5)
_cfg = {"learning_rate": 1e-3, "velocity": np.linspace(0.6, 0.9, 20).reshape(4, 5)}
_next, _cfg = sgd_momentum(_w, _dw, _cfg)
assert np.isclose(_next[0, 0], 0.1406) and np.isclose(_cfg["velocity"][0, 0], 0.5406), \
    f"I2DL fixture: expected next_w[0,0] = 0.1406 and v[0,0] = 0.5406, got {_next[0, 0]:.6f} and {_cfg['velocity'][0, 0]:.6f}"
assert np.isclose(_next[3, 4], 1.4096) and np.isclose(_cfg["velocity"][3, 4], 0.8096), \
    f"I2DL fixture: expected next_w[3,4] = 1.4096 and v[3,4] = 0.8096, got {_next[3, 4]:.6f}, {_cfg['velocity'][3, 4]:.6f}"
assert np.allclose(_w, np.linspace(-0.4, 0.6, 20).reshape(4, 5)), "sgd_momentum changed w in place: build a new array"

# PyTorch's SGD on the bowl, with a learning rate that halves every 5 steps (oracle: torch.optim)
_ref = torch_run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.1), A_demo, b_demo,
                 np.ones(5), 12, scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, 5, 0.5))
_w, _cfg = np.ones(5), {"learning_rate": 0.05, "momentum": 0.8, "weight_decay": 0.1}
for _k in range(12):
    _w, _cfg = sgd_momentum_torch(_w, A_demo @ _w - b_demo, _cfg)
    _cfg["learning_rate"] = 0.05 * 0.5 ** ((_k + 1) // 5)
    assert np.allclose(_w, _ref[_k + 1], rtol=1e-5, atol=1e-8), \
        f"sgd_momentum_torch differs from torch.optim.SGD at step {_k + 1}: expected {_ref[_k + 1]}, got {_w}"
print("sgd_momentum and sgd_momentum_torch: all checks passed")

# %% nbgrader={"grade": false, "grade_id": "momentum_demo", "locked": true, "schema_version": 3, "solution": false}
for mu in (0.0, 0.5, 0.9):
    w, cfg = np.zeros(5), {"learning_rate": 0.04, "momentum": mu}
    for _ in range(N_STEPS):
        w, cfg = sgd_momentum(w, A_demo @ w - b_demo, cfg)
    print(f"momentum {mu}: loss after {N_STEPS} steps {bowl_loss(A_demo, b_demo, w):.6f}")
# The conventions agree at a constant learning rate and disagree once it changes:
w1, c1, w2, c2 = np.zeros(5), {"learning_rate": 0.04}, np.zeros(5), {"learning_rate": 0.04}
for k in range(10):
    w1, c1 = sgd_momentum(w1, A_demo @ w1 - b_demo, c1)
    w2, c2 = sgd_momentum_torch(w2, A_demo @ w2 - b_demo, c2)
    if k == 4:
        c1["learning_rate"] = c2["learning_rate"] = 0.01
print("I2DL vs PyTorch convention after an lr change: largest difference", np.abs(w1 - w2).max())

# %% [markdown] nbgrader={"grade": false, "grade_id": "rmsprop_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. RMSprop
#
# RMSprop divides each coordinate's step by a running root-mean-square of its recent gradients:
# steep directions (large gradients) get smaller steps and flat ones larger steps. It keeps an EWA
# of the squared gradient, element by element:
#
# $$s \leftarrow \alpha s + (1-\alpha)\, g^2, \qquad w \leftarrow w - \text{lr}\,\frac{g}{\sqrt{s} + \varepsilon}, \qquad s_0 = 0.$$
#
# Two traps when you compare with PyTorch's `torch.optim.RMSprop(lr, alpha, eps)`:
#
# * **`alpha` is the decay rate** of the average (Ng calls it $\beta_2$, default 0.99 in PyTorch,
#   0.999 in Ng's notes); $(1-\alpha)$ multiplies the *new* squared gradient.
# * **`eps` sits outside the square root** in PyTorch ($\sqrt{s} + \varepsilon$); Ng's notes write
#   $\sqrt{s + \varepsilon}$. Both keep the division safe, but they are different numbers, and with
#   a large `eps` visibly so.
#
# PyTorch's RMSprop does **no bias correction** (unlike Adam). With `weight_decay` the gradient
# becomes $g = dw + \text{weight\_decay}\cdot w$ first.
#
# **Task.** `rmsprop(w, dw, config)` with keys `learning_rate` (1e-2), `alpha` (0.99), `epsilon`
# (1e-8), `weight_decay` (0.0) and state `square_avg` (zeros at first).

# %% nbgrader={"grade": false, "grade_id": "rmsprop", "locked": false, "schema_version": 3, "solution": true}
def rmsprop(w, dw, config=None):
    """One RMSprop step as torch.optim.RMSprop does it (not centered, no momentum).

    g = dw + weight_decay * w; s = alpha * s + (1 - alpha) * g**2;
    next_w = w - lr * g / (sqrt(s) + eps).
    config: 'learning_rate' (1e-2), 'alpha' (0.99), 'epsilon' (1e-8), 'weight_decay' (0.0),
    state 'square_avg' (zeros when missing). Returns (next_w, config).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("alpha", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("weight_decay", 0.0)
    s = config.get("square_avg", np.zeros_like(w, dtype=float))
    ### BEGIN SOLUTION
    g = dw + config["weight_decay"] * w
    s = config["alpha"] * s + (1 - config["alpha"]) * g * g
    next_w = w - config["learning_rate"] * g / (np.sqrt(s) + config["epsilon"])
    config["square_avg"] = s
    ### END SOLUTION
    return next_w, config


# %% nbgrader={"grade": true, "grade_id": "check_rmsprop", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_ref = torch_run(lambda ps: torch.optim.RMSprop(ps, lr=0.02, alpha=0.9, eps=0.1), A_demo, b_demo, np.ones(5), 10)
_w, _cfg = np.ones(5), {"learning_rate": 0.02, "alpha": 0.9, "epsilon": 0.1}
for _k in range(10):
    _w, _cfg = rmsprop(_w, A_demo @ _w - b_demo, _cfg)
    assert np.allclose(_w, _ref[_k + 1], rtol=1e-5, atol=1e-8), \
        f"rmsprop differs from torch.optim.RMSprop(lr=0.02, alpha=0.9, eps=0.1) at step {_k + 1}: expected {_ref[_k + 1]}, got {_w}"
_w1, _ = rmsprop(np.array([2.0]), np.array([3.0]), {"learning_rate": 0.1, "alpha": 0.75, "epsilon": 0.0})
assert np.isclose(_w1[0], 2.0 - 0.1 * 3.0 / np.sqrt(0.25 * 9.0)), \
    f"first step with alpha 0.75, eps 0: s = 0.25 * 9, step 0.1 * 3 / 1.5 = 0.2, so 1.8; got {_w1[0]}"
print("rmsprop: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "adam_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Adam
#
# Adam (*adaptive moment estimation*) combines momentum (an EWA $m$ of the gradients) and RMSprop
# (an EWA $v$ of the squared gradients), **with bias correction** of both, because both start at 0.
# With the step counter $t$ stored in the state (0 before the first step, **incremented first**, so
# the first step uses $t = 1$):
#
# $$\begin{aligned}
# t &\leftarrow t + 1, & m &\leftarrow \beta_1 m + (1-\beta_1)\, g, & v &\leftarrow \beta_2 v + (1-\beta_2)\, g^2,\\
# \hat m &= \frac{m}{1-\beta_1^{\,t}}, & \hat v &= \frac{v}{1-\beta_2^{\,t}}, &
# w &\leftarrow w - \text{lr}\,\frac{\hat m}{\sqrt{\hat v} + \varepsilon}.
# \end{aligned}$$
#
# Defaults: $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\varepsilon = 10^{-8}$ (PyTorch and Ng; Keras uses
# $10^{-7}$ and the I2DL exercise $10^{-4}$). Two errata in the course notes this fixes: the update
# line needs the learning rate $\text{lr}$ in front, and the correction is $1-\beta_2^{\,t}$ (a power),
# not $1-\beta_2 t$. As in RMSprop, PyTorch puts $\varepsilon$ outside the root:
# $\sqrt{\hat v} + \varepsilon$. (`torch.optim.Adam` computes the same number rearranged as
# $\frac{\text{lr}}{1-\beta_1^t}\, m / (\sqrt{v}/\sqrt{1-\beta_2^t} + \varepsilon)$.) `weight_decay`
# in `torch.optim.Adam` adds `weight_decay * w` to the gradient (L2); `AdamW` instead shrinks
# the weights directly, which is *not* the same for Adam.
#
# **Task.** `adam(w, dw, config)` with keys `learning_rate` (1e-3), `beta1` (0.9), `beta2`
# (0.999), `epsilon` (1e-8), `weight_decay` (0.0) and state `m`, `v` (zeros) and `t` (0).

# %% nbgrader={"grade": false, "grade_id": "adam", "locked": false, "schema_version": 3, "solution": true}
def adam(w, dw, config=None):
    """One Adam step with bias correction, as torch.optim.Adam does it (amsgrad off).

    g = dw + weight_decay * w; t = t + 1; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g**2;
    next_w = w - lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t).
    config: 'learning_rate' (1e-3), 'beta1' (0.9), 'beta2' (0.999), 'epsilon' (1e-8),
    'weight_decay' (0.0), state 'm', 'v' (zeros when missing) and 't' (0 when missing).
    Returns (next_w, config) with the new m, v and t stored in config.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("weight_decay", 0.0)
    config.setdefault("m", np.zeros_like(w, dtype=float))
    config.setdefault("v", np.zeros_like(w, dtype=float))
    config.setdefault("t", 0)
    ### BEGIN SOLUTION
    b1, b2 = config["beta1"], config["beta2"]
    g = dw + config["weight_decay"] * w
    t = config["t"] + 1
    m = b1 * config["m"] + (1 - b1) * g
    v = b2 * config["v"] + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    ### END SOLUTION
    return next_w, config


# %% nbgrader={"grade": true, "grade_id": "check_adam", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_w1, _c1 = adam(np.array([1.0, -2.0]), np.array([0.5, -3.0]), {"learning_rate": 0.1, "epsilon": 0.0})
assert np.allclose(_w1, [0.9, -1.9]), \
    f"with eps = 0 the first bias-corrected Adam step is lr * sign(g) = 0.1 * sign(g): expected [0.9, -1.9], got {_w1}"
assert _c1["t"] == 1, f"after one step config['t'] should be 1, got {_c1['t']}"
_ref = torch_run(lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.95), eps=0.01, weight_decay=0.2),
                 A_demo, b_demo, np.ones(5), 10)
_w, _cfg = np.ones(5), {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "epsilon": 0.01, "weight_decay": 0.2}
for _k in range(10):
    _w, _cfg = adam(_w, A_demo @ _w - b_demo, _cfg)
    assert np.allclose(_w, _ref[_k + 1], rtol=1e-5, atol=1e-8), \
        f"adam differs from torch.optim.Adam(lr=0.05, betas=(0.8, 0.95), eps=0.01, weight_decay=0.2) at step {_k + 1}: expected {_ref[_k + 1]}, got {_w}"
print("adam: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "minimize_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. A driver loop
#
# All the update functions share one signature, so one loop runs any of them: compute the
# gradient at the current point, call the update, keep the state dict for the next call, record
# the new point. Two details matter: the loop must pass the **same** `config` object (the state
# lives there) from one step to the next, and it must record a **copy** of each point, because an
# update function is allowed to return an array that a later step changes in place.
#
# **Task.** `minimize(update, grad_fn, w0, config, steps)` returns `(w, history)` where
# `history` is an array with `steps + 1` rows: `w0` and the point after each step.

# %% nbgrader={"grade": false, "grade_id": "minimize", "locked": false, "schema_version": 3, "solution": true}
def minimize(update, grad_fn, w0, config, steps):
    """Run `steps` steps of `update(w, grad_fn(w), config) -> (w, config)` from w0.

    Returns (w, history): the last point and an array of shape (steps + 1, *w0.shape) with w0
    and the point after each step (copies). w0 is not changed in place.
    """
    ### BEGIN SOLUTION
    w = np.array(w0, dtype=float, copy=True)
    history = [w.copy()]
    for _ in range(steps):
        w, config = update(w, grad_fn(w), config)
        history.append(np.array(w, dtype=float, copy=True))
    return w, np.array(history)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "minimize_demo", "locked": true, "schema_version": 3, "solution": false}
def bowl_grad(w):
    return A_demo @ w - b_demo


for name, update, cfg in [("SGD", sgd_momentum, {"learning_rate": 0.04, "momentum": 0.0}),
                          ("SGD+momentum", sgd_momentum, {"learning_rate": 0.04, "momentum": 0.9}),
                          ("RMSprop", rmsprop, {"learning_rate": 0.05}),
                          ("Adam", adam, {"learning_rate": 0.1})]:
    w_end, hist = minimize(update, bowl_grad, np.zeros(5), cfg, N_STEPS)
    print(f"{name:13s} loss after {N_STEPS} steps: {bowl_loss(A_demo, b_demo, w_end): .6f} (optimum {bowl_loss(A_demo, b_demo, w_star): .6f})")

# %% nbgrader={"grade": true, "grade_id": "check_minimize", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_w0 = np.array([3.0, -1.0])
_wl, _h = minimize(lambda w, dw, c: (w - 0.5 * dw, c), lambda w: 2 * w, _w0, {}, 3)
assert _h.shape == (4, 2), f"history of 3 steps holds 4 points (w0 and one per step): expected shape (4, 2), got {_h.shape}"
assert np.allclose(_h[:, 0], [3.0, 0.0, 0.0, 0.0]) and np.allclose(_wl, 0.0), \
    f"w - 0.5 * 2w = 0 after the first step: expected history[:, 0] = [3, 0, 0, 0], got {_h[:, 0]}"
assert np.allclose(_w0, [3.0, -1.0]), "minimize changed w0 in place"
print("minimize: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "schedule_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Learning-rate schedules
#
# Near a minimum, a fixed learning rate keeps the noisy mini-batch steps bouncing around; letting
# it shrink over the epochs lets training settle. Two classic schedules from Ng's course:
#
# * inverse-time decay: $\alpha = \dfrac{\alpha_0}{1 + \text{decay\_rate}\cdot\text{epoch}}$;
#   with $\alpha_0 = 0.2$ and decay rate 1, epochs 1, 2, 3, 4 give 0.1, 0.0667, 0.05, 0.04;
# * exponential decay: $\alpha = \alpha_0 \cdot \text{decay\_rate}^{\text{epoch}}$ (e.g. $0.95^{\text{epoch}}$).
#
# PyTorch implements schedules as objects wrapping the optimiser: `ExponentialLR(opt, gamma)` is
# exponential decay with `decay_rate = gamma`, and inverse-time decay is
# `LambdaLR(opt, lambda epoch: 1 / (1 + decay_rate * epoch))`. Their epoch counter starts at 0
# (the initial learning rate $\alpha_0$) and advances by one with each `scheduler.step()`.
#
# **Tasks.** `inverse_time_decay(lr0, decay_rate, epoch)` and `exp_decay(lr0, decay_rate, epoch)`,
# each returning a float.

# %% nbgrader={"grade": false, "grade_id": "schedules", "locked": false, "schema_version": 3, "solution": true}
def inverse_time_decay(lr0, decay_rate, epoch):
    """lr0 / (1 + decay_rate * epoch), as a float."""
    ### BEGIN SOLUTION
    return float(lr0 / (1 + decay_rate * epoch))
    ### END SOLUTION


def exp_decay(lr0, decay_rate, epoch):
    """lr0 * decay_rate ** epoch, as a float."""
    ### BEGIN SOLUTION
    return float(lr0 * decay_rate ** epoch)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_schedules", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_table = [inverse_time_decay(0.2, 1.0, e) for e in (1, 2, 3, 4)]
assert np.allclose(_table, [0.1, 0.2 / 3, 0.05, 0.04]), f"alpha0 0.2, decay 1, epochs 1-4: expected [0.1, 0.0667, 0.05, 0.04], got {_table}"
_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
_sched = torch.optim.lr_scheduler.ExponentialLR(_opt, gamma=0.9)
for _e in range(1, 6):
    _opt.step()
    _sched.step()
    assert np.isclose(exp_decay(0.3, 0.9, _e), _opt.param_groups[0]["lr"]), \
        f"exp_decay(0.3, 0.9, {_e}) should equal ExponentialLR's lr after {_e} steps, {_opt.param_groups[0]['lr']}"
print("schedules: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "l2_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. L2 regularisation and weight decay
#
# A model that fits the training set far better than the validation set (high variance) can be
# reined in by penalising large weights. L2 regularisation adds to the cost $J$ over $m$ examples
#
# $$J_{\text{reg}} = J + \frac{\lambda}{2m}\sum_l \lVert W^{[l]} \rVert_F^2, \qquad
# \frac{\partial J_{\text{reg}}}{\partial W^{[l]}} = dW^{[l]} + \frac{\lambda}{m} W^{[l]}$$
#
# (usually only the weight matrices, not the biases). A gradient step then reads
#
# $$W \leftarrow W - \alpha\Big(dW + \frac{\lambda}{m} W\Big) = \Big(1 - \frac{\alpha\lambda}{m}\Big) W - \alpha\, dW,$$
#
# which is why it is called **weight decay**: every step first shrinks $W$ by the factor
# $1 - \alpha\lambda/m$ (the course notes drop the $\alpha$ in this factor; it belongs there).
# PyTorch's optimisers take `weight_decay=wd` and add `wd * w` to the gradient, the same thing with
# $\text{wd} = \lambda/m$ (PyTorch's losses are means over the batch, so the $1/m$ is folded in).
#
# **Tasks.** `l2_cost(weights, lambd, m)` for a list of weight arrays, and `l2_grad(W, lambd, m)`,
# the term to add to `dW`.

# %% nbgrader={"grade": false, "grade_id": "l2", "locked": false, "schema_version": 3, "solution": true}
def l2_cost(weights, lambd, m):
    """The L2 penalty lambd / (2 m) * sum of the squared entries of every array in `weights`."""
    ### BEGIN SOLUTION
    return float(lambd / (2 * m) * sum(np.sum(np.square(W)) for W in weights))
    ### END SOLUTION


def l2_grad(W, lambd, m):
    """The gradient of l2_cost with respect to one weight array W: lambd / m * W."""
    ### BEGIN SOLUTION
    return lambd / m * np.asarray(W, dtype=float)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_l2", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_Ws = [np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([3.0])]
assert np.isclose(l2_cost(_Ws, 0.7, 5), 0.7 / 10 * (1 + 4 + 0.25 + 9)), \
    f"l2_cost: expected 0.7 / (2 * 5) * 14.25 = 0.9975, got {l2_cost(_Ws, 0.7, 5)}"
_Wt = torch.tensor(_Ws[0], requires_grad=True)
(0.7 / (2 * 5) * (_Wt ** 2).sum()).backward()
assert np.allclose(l2_grad(_Ws[0], 0.7, 5), _Wt.grad.numpy()), \
    f"l2_grad should be lambd / m * W = {_Wt.grad.numpy()}, got {l2_grad(_Ws[0], 0.7, 5)}"
print("l2: all checks passed")

# %% nbgrader={"grade": false, "grade_id": "l2_demo", "locked": true, "schema_version": 3, "solution": false}
# Weight decay in torch.optim.SGD is the L2 gradient with wd = lambd / m:
W0, dW, lr, lambd, m = np.array([1.0, -2.0, 0.5]), np.array([0.1, 0.2, -0.3]), 0.1, 0.6, 4
p = torch.tensor(W0, requires_grad=True)
opt = torch.optim.SGD([p], lr=lr, weight_decay=lambd / m)
p.grad = torch.tensor(dW)
opt.step()
print("torch SGD with weight_decay:", p.detach().numpy(), " (1 - lr*lambd/m) W - lr dW:", (1 - lr * lambd / m) * W0 - lr * dW)

# %% [markdown] nbgrader={"grade": false, "grade_id": "dropout_md", "locked": true, "schema_version": 3, "solution": false}
# ## 9. Inverted dropout
#
# Dropout switches off a random subset of a layer's units at every training step, so the network
# cannot rely on any single unit. Ng's notation uses the **keep probability** `keep_prob`; PyTorch's
# `nn.Dropout(p)` uses the **drop** probability $p = 1 - \text{keep\_prob}$. *Inverted* dropout
# divides the survivors by `keep_prob`, so that the expected value of every unit is unchanged:
# $E[a \cdot d / \text{keep\_prob}] = a$. Because of that, at test time nothing needs rescaling:
# **in evaluation mode dropout is the identity** (`model.eval()` in PyTorch).
#
# The random draw is part of the contract (so the grader can reproduce your mask): draw one
# uniform number per entry with `rng.random(a.shape)` from the `numpy.random.Generator` you are
# given and keep the entries where that number is `< keep_prob`:
#
# ```
# mask = rng.random(a.shape) < keep_prob      # True = kept
# out  = a * mask / keep_prob
# ```
#
# In evaluation mode (`train=False`) return `(a, None)` and draw nothing.
#
# **Task.** `dropout_forward(a, keep_prob, rng, train=True) -> (out, mask)`.

# %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true}
def dropout_forward(a, keep_prob, rng, train=True):
    """Inverted dropout. Training: mask = rng.random(a.shape) < keep_prob (True = kept),
    out = a * mask / keep_prob; returns (out, mask) with a boolean mask.
    Evaluation (train=False): returns (a, None) without drawing random numbers.
    """
    ### BEGIN SOLUTION
    if not train:
        return a, None
    mask = rng.random(a.shape) < keep_prob
    out = a * mask / keep_prob
    return out, mask
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_dropout", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_a = np.ones((200, 100))
_out, _mask = dropout_forward(_a, 0.8, np.random.default_rng(1))
assert _mask.shape == _a.shape and _mask.dtype == bool, f"the mask should be a boolean array of shape {_a.shape}"
assert abs(_mask.mean() - 0.8) < 0.01, f"with keep_prob 0.8 about 80% of the entries are kept, got {_mask.mean():.3f}"
assert set(np.unique(_out)) <= {0.0, 1.25}, f"kept ones become 1 / 0.8 = 1.25, dropped ones 0; got values {np.unique(_out)[:5]}"
assert abs(_out.mean() - 1.0) < 0.02, f"inverted dropout keeps the mean: expected about 1.0, got {_out.mean():.4f}"
_expected_mask = np.random.default_rng(1).random(_a.shape) < 0.8
assert np.array_equal(_mask, _expected_mask), "the mask should be rng.random(a.shape) < keep_prob (one draw per entry)"
_e, _m = dropout_forward(_a[:3, :3] * 2, 0.5, np.random.default_rng(1), train=False)
assert np.array_equal(_e, _a[:3, :3] * 2) and _m is None, "in evaluation mode dropout returns its input unchanged and None"
print("dropout_forward: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "bn_md", "locked": true, "schema_version": 3, "solution": false}
# ## 10. Batch normalisation with running statistics
#
# Normalising the inputs to zero mean and unit variance makes the cost surface rounder and
# training faster. Batch norm does the same for the inputs of every layer, using the statistics
# of the current mini-batch $x$ of shape $(N, D)$, feature by feature:
#
# $$\mu = \frac1N \sum_i x_i, \qquad \sigma^2 = \frac1N \sum_i (x_i - \mu)^2, \qquad
# \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \qquad y = \gamma \hat x + \beta.$$
#
# $\gamma$ and $\beta$ are learned, so the layer can undo the normalisation if that helps (and a
# bias in the layer before is redundant: $\beta$ takes its role). At **test time** there may be a
# single example, so batch statistics are meaningless: the layer uses **running averages** of
# $\mu$ and $\sigma^2$ collected during training (an EWA, section 2), *without* updating them.
#
# PyTorch's `nn.BatchNorm1d(D, eps=1e-5, momentum=0.1)` fixes the details:
#
# * **its `momentum` is the weight of the new batch**:
#   `running = (1 - momentum) * running + momentum * batch_stat`, so `momentum=0.1` means an EWA
#   with $\beta = 0.9$. Keras's `BatchNormalization(momentum=0.99)` means the opposite (0.99 is the
#   weight of the old value).
# * the running statistics start at `running_mean = 0`, `running_var = 1`;
# * the **normalisation uses the biased variance** ($1/N$), but **`running_var` is updated with the
#   unbiased variance** $\frac{N}{N-1}\sigma^2$.
#
# **Task.** `batchnorm_forward(x, gamma, beta, bn_param) -> (out, bn_param)` where `bn_param` holds
# `mode` (`"train"` or `"test"`), `eps` (default 1e-5), `momentum` (default 0.1, PyTorch's meaning)
# and the state `running_mean`, `running_var` (zeros and ones of length D when missing). In train
# mode normalise with the batch statistics and update the running ones; in test mode normalise with
# the running statistics and leave them as they are.

# %% nbgrader={"grade": false, "grade_id": "batchnorm", "locked": false, "schema_version": 3, "solution": true}
def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm over the first axis of x (N, D), equal to nn.BatchNorm1d(D, eps, momentum).

    bn_param: 'mode' ('train' or 'test', default 'train'), 'eps' (1e-5), 'momentum' (0.1: the
    weight of the NEW batch statistic), state 'running_mean' (zeros(D)) and 'running_var' (ones(D)).
    Train: normalise with the batch mean and biased variance; update
    running = (1 - momentum) * running + momentum * stat, using the UNBIASED batch variance for
    running_var. Test: normalise with the running statistics, change nothing.
    Returns (out, bn_param) with the running statistics stored in bn_param.
    """
    ### BEGIN SOLUTION
    mode = bn_param.get("mode", "train")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d))
    running_var = bn_param.get("running_var", np.ones(d))
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        x_hat = (x - mu) / np.sqrt(var + eps)
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    elif mode == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
    else:
        raise ValueError(f"mode should be 'train' or 'test', not {mode!r}")
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return gamma * x_hat + beta, bn_param
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_batchnorm", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_rng = np.random.default_rng(SEED)
_bn = nn.BatchNorm1d(3, momentum=0.3).double().to(DEVICE)
_gamma, _beta = _rng.normal(size=3), _rng.normal(size=3)
with torch.no_grad():
    _bn.weight.copy_(torch.tensor(_gamma))
    _bn.bias.copy_(torch.tensor(_beta))
_param = {"mode": "train", "momentum": 0.3}
for _k in range(3):
    _x = _rng.normal(2.0, 3.0, size=(6, 3))
    _out, _param = batchnorm_forward(_x, _gamma, _beta, _param)
    _bn.train()
    _expected = _bn(torch.tensor(_x, device=DEVICE)).detach().cpu().numpy()
    assert np.allclose(_out, _expected, atol=1e-10), f"train-mode output differs from nn.BatchNorm1d at step {_k + 1}"
    assert np.allclose(_param["running_var"], _bn.running_var.cpu().numpy(), atol=1e-10), \
        f"running_var after step {_k + 1}: expected {_bn.running_var.cpu().numpy()}, got {_param['running_var']} (unbiased batch variance?)"
    assert np.allclose(_param["running_mean"], _bn.running_mean.cpu().numpy(), atol=1e-10), \
        f"running_mean after step {_k + 1}: expected {_bn.running_mean.cpu().numpy()}, got {_param['running_mean']}"
_param["mode"] = "test"
_x = _rng.normal(size=(2, 3))
_out, _param = batchnorm_forward(_x, _gamma, _beta, _param)
_bn.eval()
assert np.allclose(_out, _bn(torch.tensor(_x, device=DEVICE)).detach().cpu().numpy(), atol=1e-10), \
    "test-mode output differs from nn.BatchNorm1d in eval mode: use the running statistics"
print("batchnorm_forward: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ## 11. A short training run with your Adam
#
# Now the real thing: a tiny network (2 inputs, `HIDDEN` tanh units, 1 output) learns a wavy
# function. PyTorch computes the gradients with `backward()`; **your** `adam` updates every
# parameter (each with its own state dict), and the same run with `torch.optim.Adam` follows the
# same path: the two loss curves should agree to many digits. The model and data live on
# `DEVICE`; only the update goes through NumPy.

# %% nbgrader={"grade": false, "grade_id": "train_demo", "locked": true, "schema_version": 3, "solution": false}
def make_net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1)).double().to(DEVICE)


gen = torch.Generator().manual_seed(SEED)
X_train = torch.rand(128, 2, generator=gen, dtype=torch.float64) * 4 - 2
y_train = torch.sin(X_train[:, :1] * 2) * torch.cos(X_train[:, 1:])
X_train, y_train = X_train.to(DEVICE), y_train.to(DEVICE)
loss_fn = nn.MSELoss()

net_mine, net_torch = make_net(SEED), make_net(SEED)
configs = [{"learning_rate": 0.02, "weight_decay": 1e-3} for _ in net_mine.parameters()]
opt = torch.optim.Adam(net_torch.parameters(), lr=0.02, weight_decay=1e-3)
curve_mine, curve_torch = [], []
for step in range(TRAIN_STEPS):
    net_mine.zero_grad()
    loss = loss_fn(net_mine(X_train), y_train)
    loss.backward()
    curve_mine.append(loss.item())
    with torch.no_grad():
        for i, p in enumerate(net_mine.parameters()):
            new_p, configs[i] = adam(p.detach().cpu().numpy(), p.grad.detach().cpu().numpy(), configs[i])
            p.copy_(torch.tensor(new_p, dtype=p.dtype, device=p.device))
    opt.zero_grad()
    loss_t = loss_fn(net_torch(X_train), y_train)
    loss_t.backward()
    opt.step()
    curve_torch.append(loss_t.item())
print(f"loss: start {curve_mine[0]:.4f}, after {TRAIN_STEPS} steps {curve_mine[-1]:.4f} (torch.optim.Adam: {curve_torch[-1]:.4f})")
print("largest difference between the two curves:", max(abs(a - b) for a, b in zip(curve_mine, curve_torch)))

# %% nbgrader={"grade": true, "grade_id": "check_training", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert curve_mine[-1] < 0.7 * curve_mine[0], f"the loss should fall during training: {curve_mine[0]:.4f} -> {curve_mine[-1]:.4f}"
assert np.allclose(curve_mine, curve_torch, rtol=1e-4, atol=1e-7), \
    "your Adam and torch.optim.Adam should give the same loss curve on the same network"
print("training run: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary_md", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# | what | formula (as PyTorch does it) | trap |
# |---|---|---|
# | EWA | $V_t = \beta V_{t-1} + (1-\beta)\theta_t$, $\hat V_t = V_t/(1-\beta^t)$ | $t$ starts at 1 |
# | SGD momentum (I2DL) | $v = \mu v - \alpha\,dw$, $w = w + v$ | differs from PyTorch's once the lr changes |
# | SGD momentum (PyTorch) | $b = \mu b + g$ (first $b = g$), $w = w - \alpha b$ | |
# | RMSprop | $s = \alpha s + (1-\alpha) g^2$, $w = w - \text{lr}\,g/(\sqrt s + \varepsilon)$ | `alpha` is the decay; eps outside the root |
# | Adam | bias-corrected $\hat m$, $\hat v$; $w = w - \text{lr}\,\hat m/(\sqrt{\hat v}+\varepsilon)$ | $t$ incremented before use |
# | weight decay | $g = dw + \text{wd}\cdot w$, $\text{wd} = \lambda/m$ | the decay factor is $1-\alpha\lambda/m$ |
# | dropout | `mask = rng.random(shape) < keep_prob`, `a * mask / keep_prob` | identity in eval mode |
# | batch norm | biased variance to normalise, unbiased for `running_var`; `momentum` = weight of the new batch | Keras's momentum means the opposite |
