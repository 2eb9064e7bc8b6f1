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
# # Week 01 — Hello, deep learning: models, losses and gradient descent
#
# **What is deep learning?** In ordinary programming you write the steps that solve a task. In
# deep learning you write a *model*: a set of numbers (its **parameters**) combined in a fixed
# way, plus a measure of how badly the model does on examples of the task (its **loss**). A
# training procedure then adjusts the parameters until the loss is small. Nobody writes the logic
# that solves the task; the model approximates it, and it is right *most* of the time, not always.
# Large language models work like this too: given the start of a sentence, they estimate how
# likely each word is to come next.
#
# This notebook has two parts.
#
# * **Part A — models from scratch.** A one-weight "neuron" that learns to multiply by 2, using
#   only a numerical derivative and a learning rate (this *is* gradient descent); AND and OR gates
#   with a sigmoid and a bias; and an XOR network built from three such gates.
# * **Part B — the tools.** NumPy arrays (element-wise maths, boolean masks, 2-D indexing,
#   summary statistics), Matplotlib plots (line, scatter, histogram, log scale, labels, ticks,
#   subplots) and seeded random numbers, ending with a simulation: the *Empire State* random walk.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Do not rename the given functions or their arguments:
# the grader calls them by name, with its own inputs. Plotting functions must *return* the
# figure and the axes they drew on (`fig, ax`), so that the grader can inspect what you drew.
# Run the notebook from top to bottom; the cells titled *Check* test a few cases for you, and
# the grader runs more tests that you do not see.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0            # seed of NumPy's global random generator in the demos
FAST = False        # True: shorter demos (used while grading)
DEVICE = "cpu"      # unused this week: everything is NumPy
DATA_DIR = "data"   # unused this week: all data is written in the notebook

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import numpy as np
import matplotlib.pyplot as plt

np.random.seed(SEED)


# %% [markdown] nbgrader={"grade": false, "grade_id": "multiplier_md", "locked": true, "schema_version": 3, "solution": false}
# # Part A — models from scratch
#
# ## 1. A neuron that learns to multiply by 2
#
# Our first model has a single parameter $w$ and predicts $\hat y = w \cdot x$. We want it to learn
# to double its input, i.e. to discover $w = 2$, **from examples only**: pairs $(x, y)$ with
# $y = 2x$.
#
# 1. **Guess.** Start from a random $w$, say uniform in $[0, 10)$. (The interval does not
#    matter: training moves $w$ towards 2 even if 2 is not in it.)
# 2. **Measure.** The loss says how wrong the model is. We use the **mean squared error**
#    over the $n$ examples,
#    $$\text{loss}(w) = \frac{1}{n}\sum_{i=1}^{n} (w x_i - y_i)^2 .$$
#    As a function of $w$ this is a parabola with its lowest point at $w = 2$.
# 3. **Wiggle.** Change $w$ by a tiny amount $\varepsilon$ and see whether the loss goes up or
#    down. The rate of change is the **derivative**
#    $$L = \lim_{\varepsilon \to 0} \frac{\text{loss}(w + \varepsilon) - \text{loss}(w)}{\varepsilon},$$
#    which we approximate with a small but finite $\varepsilon$ (a *forward difference*).
# 4. **Step downhill.** The loss grows in the direction of $L$, so we move the other way. A step
#    of the full size $L$ can overshoot the minimum and bounce from side to side (or even
#    diverge) when $L$ is large, so we scale it by a small **learning rate**:
#    $$w \leftarrow w - \text{lr} \cdot L .$$
# 5. Repeat steps 2–4 for a number of **epochs**.
#
# This loop is **gradient descent**, the algorithm that trains every network in this course.
#
# **Task.** Implement the forward difference, the loss and the training loop.

# %% nbgrader={"grade": false, "grade_id": "multiplier", "locked": false, "schema_version": 3, "solution": true}
def numeric_derivative(f, x: float, eps: float = 1e-3) -> float:
    """Forward-difference estimate of the derivative of `f` at `x`: (f(x + eps) - f(x)) / eps."""
    ### BEGIN SOLUTION
    return (f(x + eps) - f(x)) / eps
    ### END SOLUTION


def multiplier_loss(w: float, xs, ys) -> float:
    """Mean squared error of the model y_hat = w * x on the examples (xs, ys) (1-D arrays)."""
    ### BEGIN SOLUTION
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    return float(np.mean((w * xs - ys) ** 2))
    ### END SOLUTION


def train_multiplier(w0: float, xs, ys, lr: float, eps: float, epochs: int):
    """Gradient descent on multiplier_loss, starting from w = w0.

    In every epoch: record the loss at the current w, estimate its derivative with
    numeric_derivative(..., eps), then update w -= lr * derivative.
    Returns (w, losses): the final w (a float) and the list of the `epochs` recorded losses
    (each measured before that epoch's update).
    """
    ### BEGIN SOLUTION
    w = float(w0)
    losses = []
    for _ in range(epochs):
        losses.append(multiplier_loss(w, xs, ys))
        slope = numeric_derivative(lambda v: multiplier_loss(v, xs, ys), w, eps)
        w = w - lr * slope
    return w, losses
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "multiplier_demo", "locked": true, "schema_version": 3, "solution": false}
xs = np.arange(5.0)          # 0, 1, 2, 3, 4
ys = 2 * xs                  # the behaviour we want the model to learn
w0 = np.random.uniform(0, 10)
print(f"initial guess w = {w0:.4f}, loss = {multiplier_loss(w0, xs, ys):.4f}")
w, losses = train_multiplier(w0, xs, ys, lr=0.01, eps=1e-3, epochs=100)
print(f"after {len(losses)} epochs: w = {w:.4f}, loss = {multiplier_loss(w, xs, ys):.6f}")

# Without a learning rate (lr = 1) the steps are far too large: w overshoots and explodes.
w_bad, bad_losses = train_multiplier(w0, xs, ys, lr=1.0, eps=1e-3, epochs=5)
print("losses with lr = 1:", [f"{l:.3g}" for l in bad_losses])

# %% [markdown] nbgrader={"grade": false, "grade_id": "multiplier_note", "locked": true, "schema_version": 3, "solution": false}
# The learned $w$ is not exactly 2. With a forward difference the estimated derivative of a
# parabola is off by a constant (for $\text{loss}(w) = c\,(w-2)^2$ it is $2c(w-2) + c\,\varepsilon$),
# so the descent settles where that estimate is zero: at $w = 2 - \varepsilon/2$. A smaller
# $\varepsilon$ gets closer; next week we compute derivatives exactly instead.

# %% nbgrader={"grade": true, "grade_id": "check_multiplier", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert abs(numeric_derivative(lambda t: t ** 2, 3.0) - 6.001) < 1e-9, \
    "the forward difference of t**2 at 3 with eps = 1e-3 is (3.001**2 - 9) / 0.001 = 6.001"
assert abs(multiplier_loss(3.0, [1.0, 2.0], [2.0, 4.0]) - 2.5) < 1e-12, \
    "with w = 3 the errors on (1, 2) and (2, 4) are 1 and 2, so the mean squared error is 2.5"
_w, _losses = train_multiplier(5.0, xs, ys, lr=0.01, eps=1e-3, epochs=100)
assert len(_losses) == 100, "train_multiplier should record one loss per epoch"
assert abs(_losses[0] - np.mean((5.0 * xs - ys) ** 2)) < 1e-12, \
    f"the first recorded loss should be the loss at w0 = 5, {np.mean((5.0 * xs - ys) ** 2)}, got {_losses[0]}"
_w2, _ = train_multiplier(5.0, xs, ys, lr=0.02, eps=0.1, epochs=1)
_want = 5.0 - 0.02 * (np.mean((5.1 * xs - ys) ** 2) - np.mean((5.0 * xs - ys) ** 2)) / 0.1
assert abs(_w2 - _want) < 1e-9, \
    f"one epoch with lr = 0.02 and eps = 0.1 from w0 = 5 should give w = {_want:.6f} (w -= lr * (loss(w + eps) - loss(w)) / eps, with the lr and eps passed in), got {_w2}"
assert abs(_w - 2) < 0.01, f"after 100 epochs with lr = 0.01, w should be close to 2, got {_w}"
print("multiplier: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "gates_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Logic gates: the sigmoid and the bias
#
# A logic gate maps two bits $x_1, x_2 \in \{0, 1\}$ to one bit. The AND gate outputs 1 only
# for $(1, 1)$; the OR gate outputs 1 unless both inputs are 0. A first model could be
# $w_1 x_1 + w_2 x_2$, but its output is unbounded, while we want a number between 0 and 1 that
# we can read as "how sure the model is that the answer is 1": this is now a **classification**
# task rather than a regression. So we squash the weighted sum with the **sigmoid**
#
# $$\sigma(z) = \frac{1}{1 + e^{-z}},$$
#
# which maps any real number into $(0, 1)$, with $\sigma(0) = 0.5$.
#
# **The zero-weight problem.** For the input $(0, 0)$ the weighted sum is $0$ whatever the weights
# are, so the model outputs $\sigma(0) = 0.5$, never the 0 that AND and OR need. The fix is one
# more parameter that does not multiply an input, the **bias** $b$:
#
# $$\hat y = \sigma(w_1 x_1 + w_2 x_2 + b).$$
#
# This is a **perceptron** (with a smooth sigmoid instead of a hard step). It has three
# parameters, which we keep in a list `params = [w1, w2, b]`.
#
# **Training.** We use the same recipe as before, now with three parameters. The derivative of
# the loss with respect to *one* parameter (a *partial* derivative) is estimated by nudging that
# parameter alone by $\varepsilon$, with the other two unchanged. The precise rule for one epoch:
#
# 1. compute `base = gate_loss(params, X, y)` and record it;
# 2. for each index `i` in 0, 1, 2: copy the parameters, add `eps` to entry `i` of the copy, and
#    estimate the partial derivative `(gate_loss(copy, X, y) - base) / eps`;
# 3. only then update **all** parameters at once: `params[i] -= lr * derivative[i]`.
#
# (Updating `w1` before estimating the derivative for `w2` would mix two different points of the
# loss surface.) The loss is again the mean squared error over the four rows of the truth table.
#
# **Task.** Implement `sigmoid`, `gate_forward`, `gate_loss` and `train_gate`. `sigmoid` and
# `gate_forward` must work element-wise on NumPy arrays as well as on single numbers.

# %% nbgrader={"grade": false, "grade_id": "truth_tables", "locked": true, "schema_version": 3, "solution": false}
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)   # the four possible inputs
Y_AND = np.array([0, 0, 0, 1], dtype=float)
Y_OR = np.array([0, 1, 1, 1], dtype=float)
Y_NAND = 1 - Y_AND
Y_XOR = np.array([0, 1, 1, 0], dtype=float)


# %% nbgrader={"grade": false, "grade_id": "gates", "locked": false, "schema_version": 3, "solution": true}
def sigmoid(z):
    """1 / (1 + e**(-z)), element-wise for arrays."""
    ### BEGIN SOLUTION
    return 1.0 / (1.0 + np.exp(-z))
    ### END SOLUTION


def gate_forward(params, x1, x2):
    """The perceptron sigmoid(w1 * x1 + w2 * x2 + b) for params = [w1, w2, b].

    x1 and x2 are numbers or 1-D arrays of the same length (then the result is an array).
    """
    ### BEGIN SOLUTION
    w1, w2, b = params
    return sigmoid(w1 * x1 + w2 * x2 + b)
    ### END SOLUTION


def gate_loss(params, X, y) -> float:
    """Mean squared error of gate_forward on the rows of X (shape (n, 2)) against the targets y."""
    ### BEGIN SOLUTION
    preds = gate_forward(params, X[:, 0], X[:, 1])
    return float(np.mean((preds - y) ** 2))
    ### END SOLUTION


def train_gate(params0, X, y, lr: float, eps: float, epochs: int):
    """Gradient descent on gate_loss with forward-difference partial derivatives.

    Follows the rule above: record the loss, estimate all three partial derivatives at the
    current parameters, then update all three. Returns (params, losses): the final parameters
    as a list of 3 floats and the list of the `epochs` recorded losses.
    """
    ### BEGIN SOLUTION
    params = [float(p) for p in params0]
    losses = []
    for _ in range(epochs):
        base = gate_loss(params, X, y)
        losses.append(base)
        grads = []
        for i in range(len(params)):
            nudged = list(params)
            nudged[i] += eps
            grads.append((gate_loss(nudged, X, y) - base) / eps)
        params = [p - lr * g for p, g in zip(params, grads)]
    return params, losses
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "gates_demo", "locked": true, "schema_version": 3, "solution": false}
print("no weights, no bias:", gate_forward([0.0, 0.0, 0.0], X[:, 0], X[:, 1]), "(always 0.5)")
epochs = 2000
trained = {}
for name, target in [("AND", Y_AND), ("OR", Y_OR), ("NAND", Y_NAND)]:
    params0 = np.random.rand(3)            # a random start in [0, 1)
    params, losses = train_gate(params0, X, target, lr=1.0, eps=1e-3, epochs=epochs)
    trained[name] = params
    outputs = gate_forward(params, X[:, 0], X[:, 1])
    print(f"{name:4s}: w1, w2, b = {np.round(params, 2)}, outputs {np.round(outputs, 3)}, "
          f"loss {losses[0]:.3f} -> {losses[-1]:.4f}")

# %% nbgrader={"grade": true, "grade_id": "check_gates", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert abs(sigmoid(0.0) - 0.5) < 1e-12, "sigmoid(0) should be 0.5"
assert np.allclose(sigmoid(np.array([-2.0, 0.0, 2.0])), [0.11920292, 0.5, 0.88079708]), \
    "sigmoid should work element-wise on arrays"
assert np.allclose(gate_forward([1.0, -2.0, 0.5], X[:, 0], X[:, 1]), sigmoid(np.array([0.5, -1.5, 1.5, -0.5]))), \
    "gate_forward([w1, w2, b], x1, x2) should be sigmoid(w1*x1 + w2*x2 + b) for every row"
assert abs(gate_loss([0.0, 0.0, 0.0], X, Y_AND) - 0.25) < 1e-12, "with all parameters 0 every output is 0.5, so the loss is 0.25"
_p, _l = train_gate([0.5, 0.5, 0.5], X, Y_AND, lr=1.0, eps=1e-3, epochs=2000)
assert len(_p) == 3 and len(_l) == 2000, "train_gate returns 3 parameters and one loss per epoch"
assert np.array_equal(np.round(gate_forward(_p, X[:, 0], X[:, 1])), Y_AND), "a trained AND gate should round to [0, 0, 0, 1]"
print("gates: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "xor_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. XOR: one perceptron is not enough
#
# XOR outputs 1 when exactly one input is 1. Draw the four inputs as points in the plane and
# colour them by their XOR value: the two 1s, $(0,1)$ and $(1,0)$, sit on one diagonal and the
# two 0s on the other. A perceptron decides by which side of a straight line (in general, a
# *hyperplane*) $w_1x_1 + w_2x_2 + b = 0$ a point is on, and no single line puts the two diagonals
# on different sides: XOR is **not linearly separable**. (Try `train_gate` on `Y_XOR` below: the
# outputs get stuck near 0.5.)
#
# What one gate cannot do, several can. XOR can be written with gates we already have:
#
# $$x \oplus y = (x \lor y) \land \lnot(x \land y) = \text{AND}\big(\text{OR}(x, y),\ \text{NAND}(x, y)\big).$$
#
# So we build a small **two-layer network**: a hidden layer of two perceptrons, one acting as
# OR and one as NAND, both reading $(x_1, x_2)$, and an output perceptron acting as AND on the
# two hidden outputs, in the order $(h_\text{or}, h_\text{nand})$. Each perceptron has two
# weights and a bias, so the network has $3 \times 3 = 9$ parameters.
#
# **Task.**
# 1. Choose weights by hand: fill `XOR_PARAMS` with three lists `[w1, w2, b]` under the keys
#    `"or"`, `"nand"` and `"and"`, such that each perceptron alone behaves like its gate (its
#    outputs round to the gate's truth table, and are confidently close to 0 or 1: below 0.1 or
#    above 0.9). Hint: large weights make the sigmoid almost a step.
# 2. Implement `xor_forward(params, x1, x2)` for any such dictionary of parameters, and
#    `count_parameters(params)`.

# %% nbgrader={"grade": false, "grade_id": "xor_params", "locked": false, "schema_version": 3, "solution": true}
# Define XOR_PARAMS = {"or": [w1, w2, b], "nand": [w1, w2, b], "and": [w1, w2, b]}, with numbers.
### BEGIN SOLUTION
XOR_PARAMS = {
    "or": [20.0, 20.0, -10.0],
    "nand": [-20.0, -20.0, 30.0],
    "and": [20.0, 20.0, -30.0],
}
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "xor", "locked": false, "schema_version": 3, "solution": true}
def xor_forward(params, x1, x2):
    """The two-layer network: AND(OR(x1, x2), NAND(x1, x2)) built from gate_forward.

    params is a dict with keys "or", "nand", "and", each [w1, w2, b]; the output perceptron
    reads the hidden outputs in the order (OR output, NAND output).
    """
    ### BEGIN SOLUTION
    h_or = gate_forward(params["or"], x1, x2)
    h_nand = gate_forward(params["nand"], x1, x2)
    return gate_forward(params["and"], h_or, h_nand)
    ### END SOLUTION


def count_parameters(params) -> int:
    """The total number of weights and biases in a dict of perceptron parameters."""
    ### BEGIN SOLUTION
    return sum(len(p) for p in params.values())
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "xor_demo", "locked": true, "schema_version": 3, "solution": false}
print("XOR network:", np.round(xor_forward(XOR_PARAMS, X[:, 0], X[:, 1]), 4), "targets", Y_XOR)
print("parameters:", count_parameters(XOR_PARAMS))
single, _ = train_gate(np.random.rand(3), X, Y_XOR, lr=1.0, eps=1e-3, epochs=500 if FAST else 2000)
print("one perceptron trained on XOR:", np.round(gate_forward(single, X[:, 0], X[:, 1]), 3))

# %% nbgrader={"grade": true, "grade_id": "check_xor", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert set(XOR_PARAMS) == {"or", "nand", "and"}, "XOR_PARAMS needs the keys 'or', 'nand' and 'and'"
def _perceptron(params, x1, x2):   # the check's own perceptron, independent of your gate_forward
    return 1 / (1 + np.exp(-(params[0] * x1 + params[1] * x2 + params[2])))

for _name, _target in [("or", Y_OR), ("nand", Y_NAND), ("and", Y_AND)]:
    _out = _perceptron(XOR_PARAMS[_name], X[:, 0], X[:, 1])
    assert np.all(np.abs(_out - _target) < 0.1), f"the '{_name}' perceptron should output {_target}, got {np.round(_out, 3)}"
_out = xor_forward(XOR_PARAMS, X[:, 0], X[:, 1])
assert np.all(np.abs(_out - Y_XOR) < 0.1), f"the XOR network should output [0, 1, 1, 0], got {np.round(_out, 3)}"
assert count_parameters(XOR_PARAMS) == 9, "the XOR network has 9 parameters"
print("XOR: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "packages_md", "locked": true, "schema_version": 3, "solution": false}
# # Part B — the tools
#
# ## 4. Packages and modules (reading only)
#
# Putting a whole project in one script soon gets messy: the file grows huge, most of it is
# unused at any moment, and it is hard to maintain. Python code is therefore split into
# **modules** (single `.py` files) grouped into **packages** (directories of modules). For data
# work the main packages are **NumPy** (fast arrays), **Matplotlib** (plots) and scikit-learn
# (classical machine learning). Install packages into a **virtual environment** per project
# (`python3 -m venv .venv`, activate it, then `pip install -r requirements.txt`).
#
# Ways to import, from the most to the least explicit at the place of use:
#
# * `import numpy` then `numpy.array([1, 2, 3])`;
# * `import numpy as np` then `np.array([1, 2, 3])` (the usual convention: short, yet every
#   call still says where the function comes from);
# * `from numpy import array` then `array([1, 2, 3])` (short, but far from the import line a
#   reader can no longer tell that `array` is NumPy's). Plain `import numpy` followed by
#   `array(...)` fails with `NameError`.
# * To call SciPy's `scipy.linalg.inv` as `my_inv(...)`, write `from scipy.linalg import inv as my_inv`.
#
# Importing a module *runs* it. Put a script's top-level actions under
# `if __name__ == "__main__":` so that importing the file only defines its functions.

# %% [markdown] nbgrader={"grade": false, "grade_id": "numpy_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. NumPy arrays
#
# Python lists can hold anything and are easy to change, but they cannot do maths on a whole
# collection at once. Take the heights (in metres) and weights (in kilograms) of a family of five.
# The body-mass index is weight divided by height squared, but `weight / height ** 2` on lists
# raises `TypeError: unsupported operand type(s) for ** or pow(): 'list' and 'int'`.
# A **NumPy array** (`np.ndarray`, "n-dimensional array") holds values of a *single* type and
# applies arithmetic **element by element**, in fast compiled code. The same operator can mean
# something else for the two types: `[1, 2, 3] + [1, 2, 3]` concatenates the lists into
# `[1, 2, 3, 1, 2, 3]`, while `np.array([1, 2, 3]) + np.array([1, 2, 3])` adds them into
# `array([2, 4, 6])`.
#
# Subsetting:
#
# * `bmi[1]` is the second element (indices start at 0);
# * a comparison such as `bmi > 23` gives a **boolean array**, and `bmi[bmi > 23]` keeps exactly
#   the elements where it is `True` (a *boolean mask*);
# * a 2-D array built from a list of lists has one row per inner list. `np_2d.shape` is
#   `(rows, columns)` (an *attribute*, so no parentheses). `np_2d[0, 2]` (row 0, column 2) is
#   the same element as `np_2d[0][2]`; a `:` selects everything along an axis, and a list of
#   indices selects several, so `np_2d[:, [1, 2]]` is *all rows, columns 1 and 2*.
#
# The family's BMIs are about `[21.852, 20.975, 21.750, 24.747, 21.441]`. (Printed with three
# decimals the first one is often shown as 21.851, but $65.4 / 1.73^2 = 21.8517\ldots$, which
# rounds to 21.852.)
#
# **Task.** Implement the three functions below. Each takes lists **or** arrays and returns a
# NumPy array.

# %% nbgrader={"grade": false, "grade_id": "family", "locked": true, "schema_version": 3, "solution": false}
height = [1.73, 1.68, 1.71, 1.89, 1.79]
weight = [65.4, 59.2, 63.6, 88.4, 68.7]
np_2d = np.array([height, weight])     # row 0: heights, row 1: weights
print("shape of np_2d:", np_2d.shape, "  np_2d[0, 2] =", np_2d[0, 2], "  type:", type(np_2d).__name__)
print("lists:", [1, 2, 3] + [1, 2, 3], "  arrays:", np.array([1, 2, 3]) + np.array([1, 2, 3]))


# %% nbgrader={"grade": false, "grade_id": "numpy_basics", "locked": false, "schema_version": 3, "solution": true}
def bmi_array(height, weight) -> np.ndarray:
    """Body-mass index weight / height**2 of every person, as a NumPy array."""
    ### BEGIN SOLUTION
    np_height = np.array(height, dtype=float)
    np_weight = np.array(weight, dtype=float)
    return np_weight / np_height ** 2
    ### END SOLUTION


def above(values, threshold) -> np.ndarray:
    """The elements of `values` strictly greater than `threshold`, in order (a boolean mask)."""
    ### BEGIN SOLUTION
    values = np.asarray(values)
    return values[values > threshold]
    ### END SOLUTION


def select_columns(table, columns) -> np.ndarray:
    """All rows of the 2-D array `table`, restricted to the column indices in the list `columns`."""
    ### BEGIN SOLUTION
    return np.asarray(table)[:, columns]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "numpy_demo", "locked": true, "schema_version": 3, "solution": false}
bmi = bmi_array(height, weight)
print("BMI:", np.round(bmi, 3))
print("bmi[1] =", round(bmi[1], 3), "  mask bmi > 23:", bmi > 23, "  selected:", np.round(above(bmi, 23), 3))
print("members 2 and 3:\n", select_columns(np_2d, [1, 2]))

# %% nbgrader={"grade": true, "grade_id": "check_numpy_basics", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert isinstance(bmi, np.ndarray), "bmi_array should return a NumPy array, even for list inputs"
assert np.allclose(bmi, [21.852, 20.975, 21.750, 24.747, 21.441], atol=1e-3), f"the family's BMIs are wrong: {bmi}"
assert np.allclose(above(bmi, 23), [24.747], atol=1e-3), "only the fourth person has a BMI above 23"
assert above(np.array([1, 5, 3]), 3).tolist() == [5], "`above` keeps values strictly greater than the threshold"
assert np.allclose(select_columns(np_2d, [1, 2]), [[1.68, 1.71], [59.2, 63.6]]), \
    "select_columns(np_2d, [1, 2]) should be the heights and weights of the 2nd and 3rd family members"
print("NumPy basics: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "stats_md", "locked": true, "schema_version": 3, "solution": false}
# ### Summary statistics on a city survey
#
# Suppose 5000 adults of a city report their height and weight. We simulate such a survey:
# heights from a normal distribution with mean 1.75 m and standard deviation 0.2 m, weights with
# mean 60.32 kg and standard deviation 15 kg, both rounded to 2 decimals, pasted side by side as
# the two columns of a `(5000, 2)` array with `np.column_stack`.
#
# The generator must draw **all heights first, then all weights**, from NumPy's global generator
# (`np.random.normal(mean, std, n)`), so that the same seed always gives the same survey. The
# function does not set the seed itself; the caller does, once (`np.random.seed(SEED)` below).
#
# Staring at 10 000 numbers tells us nothing; summary statistics do, and they double as a sanity
# check (a mean weight of 2000 kg would reveal a broken measurement). NumPy has them as
# functions: `np.mean`, `np.median` (the middle value after sorting), `np.std` (standard deviation;
# NumPy's default divides by $n$), `np.corrcoef` (a 2×2 matrix of correlation coefficients: the
# off-diagonal entry is the correlation between the two variables), and more (`np.sum`, `np.sort`,
# ...). Arrays also have some of them as methods (`a.mean()`, `a.std()`), **but not the median**:
# `np_city[:, 0].median()` raises `AttributeError`; use `np.median(np_city[:, 0])`.
#
# **Task.** Implement `make_city` and `summarize`. `summarize` returns a dictionary of plain floats
# with the keys `"mean_height"`, `"median_height"`, `"std_height"`, `"mean_weight"` and
# `"corr_height_weight"`.

# %% nbgrader={"grade": false, "grade_id": "city_survey", "locked": false, "schema_version": 3, "solution": true}
def make_city(n: int) -> np.ndarray:
    """A simulated survey: an (n, 2) array of heights (column 0) and weights (column 1).

    Heights ~ normal(1.75, 0.2), then weights ~ normal(60.32, 15), each drawn as n values with
    np.random.normal and rounded to 2 decimals.
    """
    ### BEGIN SOLUTION
    heights = np.round(np.random.normal(1.75, 0.2, n), 2)
    weights = np.round(np.random.normal(60.32, 15, n), 2)
    return np.column_stack((heights, weights))
    ### END SOLUTION


def summarize(city) -> dict:
    """Summary statistics of an (n, 2) height/weight array (see the keys above)."""
    ### BEGIN SOLUTION
    heights, weights = city[:, 0], city[:, 1]
    return {
        "mean_height": float(np.mean(heights)),
        "median_height": float(np.median(heights)),
        "std_height": float(np.std(heights)),
        "mean_weight": float(np.mean(weights)),
        "corr_height_weight": float(np.corrcoef(heights, weights)[0, 1]),
    }
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "city_demo", "locked": true, "schema_version": 3, "solution": false}
np.random.seed(SEED)
np_city = make_city(5000)
print("shape:", np_city.shape)
print(np_city[:3])
for key, value in summarize(np_city).items():
    print(f"{key:20s} {value:.4f}")

# %% nbgrader={"grade": true, "grade_id": "check_city_survey", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert np_city.shape == (5000, 2), f"the survey should have 5000 rows and 2 columns, got {np_city.shape}"
assert np.array_equal(np_city, np.round(np_city, 2)), "heights and weights should be rounded to 2 decimals"
_s = summarize(np_city)
assert abs(_s["mean_height"] - 1.75) < 0.02 and abs(_s["std_height"] - 0.2) < 0.01, "heights should have mean about 1.75 and std about 0.2"
assert abs(_s["mean_weight"] - 60.32) < 1.0, "weights should have mean about 60.32"
assert abs(_s["corr_height_weight"]) < 0.05, "heights and weights are drawn independently: their correlation should be near 0"
assert summarize(np.array([[1.0, 2.0], [2.0, 4.0], [6.0, 6.0]]))["median_height"] == 2.0, "the median of 1, 2, 6 is 2"
assert summarize(np.array([[6.0, 2.0], [1.0, 4.0], [7.0, 6.0], [2.0, 1.0]]))["median_height"] == 4.0, \
    "the median of 6, 1, 7, 2 (an even count) is the mean of the two middle values 2 and 6 after sorting: 4"
print("city survey: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "plots_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Matplotlib
#
# Insights have to be seen, and shared. Matplotlib's `pyplot` module (imported as `plt`) draws on
# a **figure** that holds one or more **axes** (plotting areas). `fig, ax = plt.subplots()`
# creates both; then `ax.plot(...)`, `ax.scatter(...)`, `ax.hist(...)` and `ax.set_...` methods
# draw and decorate. (The shortcuts `plt.plot`, `plt.xlabel`, ... act on the current axes.)
# In a script, `plt.show()` finally displays the figure; in a notebook figures are shown
# automatically. We *return* `fig, ax` instead, so that the grader can look at what was drawn.
#
# * **Line plot** `ax.plot(x, y)`: connects the points in order; good for a quantity that evolves
#   over time (on the x-axis). With one argument, the x-values are the indices 0, 1, 2, ...
# * **Scatter plot** `ax.scatter(x, y)`: unconnected points; good for looking for a relation
#   between two numerical variables.
# * **Logarithmic scale** `ax.set_xscale("log")` (or `plt.xscale("log")`): equal distances mean
#   equal *ratios*, which squashes large values and often makes a relation easier to see.
# * **Histogram** `ax.hist(values, bins=...)`: splits the range of the values into `bins` equal
#   intervals and draws a bar as high as the number of values in each. Matplotlib uses 10 bins
#   unless told otherwise. Too few bins hide the details; too many hide the overall shape.
#   Example: the 12 values below with `bins=3` give the intervals [0, 2), [2, 4) and [4, 6] and
#   the counts 4, 6 and 2.
# * **Customisation**: axis labels (`ax.set_xlabel`, `ax.set_ylabel`), a title (`ax.set_title`)
#   and ticks (`ax.set_yticks(positions, labels)`: the first list says where the ticks go, the
#   optional second one, of the same length, what they display).
#
# Which plot for which question? To see how exam grades are *distributed*: a histogram. To see
# whether longer answers get *higher grades*: a scatter plot.
#
# **Task.** Implement the four plotting functions. Each creates a **new** figure
# (`plt.subplots(...)`), draws only what is asked, and returns the figure and its axes.
#
# * `plot_population(year, pop)`: a line plot of `pop` against `year`, x-label `"Year"`, y-label
#   `"Population"`, title `"World Population Projections"`, and y-ticks at 0, 2, 4, 6, 8, 10
#   labelled `"0"`, `"2B"`, `"4B"`, `"6B"`, `"8B"`, `"10B"` (the population is in billions; a
#   y-axis that starts at 0 puts the growth in perspective).
# * `scatter_plot(x, y, log_x=False)`: a scatter plot; with `log_x=True` the x-axis is logarithmic.
# * `histogram(values, bins=10)`: a histogram with the given number of bins.
# * `sine_panels(n_points=400)`: `x` = `n_points` evenly spaced values from 0 to $2\pi$
#   (`np.linspace`), `y = np.sin(x ** 2)`; two axes side by side that share their y-axis
#   (`plt.subplots(1, 2, sharey=True)`), a line plot of `y` against `x` on the left, a scatter
#   plot of the same points on the right, and the figure title (`fig.suptitle`)
#   `"Sharing Y axis"`. Return `fig, (ax_left, ax_right)`.
#
# Labels or titles can spill outside the figure or overlap between subplots; `fig.tight_layout()`
# (or `plt.tight_layout()`) moves the axes so that everything fits.

# %% nbgrader={"grade": false, "grade_id": "plot_data", "locked": true, "schema_version": 3, "solution": false}
year = [1950, 1970, 1990, 2010]
pop = [2.519, 3.692, 5.263, 6.972]         # world population, billions
hist_values = [0, 0.6, 1.4, 1.6, 2.2, 2.5, 2.6, 3.2, 3.5, 3.9, 4.2, 6]


# %% nbgrader={"grade": false, "grade_id": "plots", "locked": false, "schema_version": 3, "solution": true}
def plot_population(year, pop):
    """Line plot of the world population with labels, title and y-ticks; returns (fig, ax)."""
    ### BEGIN SOLUTION
    fig, ax = plt.subplots()
    ax.plot(year, pop)
    ax.set_xlabel("Year")
    ax.set_ylabel("Population")
    ax.set_title("World Population Projections")
    ax.set_yticks([0, 2, 4, 6, 8, 10], ["0", "2B", "4B", "6B", "8B", "10B"])
    return fig, ax
    ### END SOLUTION


def scatter_plot(x, y, log_x: bool = False):
    """Scatter plot of y against x, with a logarithmic x-axis if log_x; returns (fig, ax)."""
    ### BEGIN SOLUTION
    fig, ax = plt.subplots()
    ax.scatter(x, y)
    if log_x:
        ax.set_xscale("log")
    return fig, ax
    ### END SOLUTION


def histogram(values, bins: int = 10):
    """Histogram of `values` with `bins` equal-width bins; returns (fig, ax)."""
    ### BEGIN SOLUTION
    fig, ax = plt.subplots()
    ax.hist(values, bins=bins)
    return fig, ax
    ### END SOLUTION


def sine_panels(n_points: int = 400):
    """sin(x**2) on [0, 2 pi]: line plot left, scatter right, shared y-axis; returns (fig, (ax1, ax2))."""
    ### BEGIN SOLUTION
    x = np.linspace(0, 2 * np.pi, n_points)
    y = np.sin(x ** 2)
    fig, (ax1, ax2) = plt.subplots(1, 2, sharey=True)
    fig.suptitle("Sharing Y axis")
    ax1.plot(x, y)
    ax2.scatter(x, y)
    fig.tight_layout()
    return fig, (ax1, ax2)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "plots_demo", "locked": true, "schema_version": 3, "solution": false}
fig, ax = plot_population([1800, 1850, 1900] + year, [1.0, 1.262, 1.650] + pop)   # with three older points
plt.show()
fig, ax = scatter_plot(year, pop)
plt.show()
fig, ax = histogram(hist_values, bins=3)
print("bar heights with 3 bins:", [float(p.get_height()) for p in ax.patches])
plt.show()
fig, axes = sine_panels()
plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_plots", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_fig, _ax = plot_population(year, pop)
assert np.allclose(_ax.lines[0].get_xydata(), np.column_stack([year, pop])), "the line should go through the (year, pop) points"
assert _ax.get_title() == "World Population Projections", f"wrong title: {_ax.get_title()!r}"
assert (_ax.get_xlabel(), _ax.get_ylabel()) == ("Year", "Population"), "the axis labels should be 'Year' and 'Population'"
assert list(_ax.get_yticks()) == [0, 2, 4, 6, 8, 10], "the y-ticks should be at 0, 2, ..., 10"
assert [t.get_text() for t in _ax.get_yticklabels()] == ["0", "2B", "4B", "6B", "8B", "10B"], "the y-tick labels should be 0, 2B, ..., 10B"
plt.close(_fig)
_fig, _ax = scatter_plot(year, pop, log_x=True)
assert _ax.get_xscale() == "log" and np.allclose(_ax.collections[0].get_offsets(), np.column_stack([year, pop])), \
    "scatter_plot(..., log_x=True) should draw the points on a logarithmic x-axis"
plt.close(_fig)
_fig, _ax = histogram(hist_values, bins=3)
assert [p.get_height() for p in _ax.patches] == [4, 6, 2], "with 3 bins the bars should be 4, 6 and 2 high"
plt.close(_fig)
_fig, (_a1, _a2) = sine_panels()
assert _fig.get_suptitle() == "Sharing Y axis" and len(_a1.lines) == 1 and len(_a2.collections) == 1, \
    "sine_panels: a line on the left, a scatter on the right, and the title 'Sharing Y axis'"
plt.close(_fig)
print("plots: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "random_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Random numbers
#
# The game: you are climbing the stairs of the Empire State Building and throw a die 100 times.
#
# * 1 or 2: you go **one step down** (but never below step 0);
# * 3, 4 or 5: you go **one step up**;
# * 6: you throw the die **again** and go up as many steps as it shows.
#
# You are also a bit clumsy: after every move there is a 0.1% chance that you fall down the
# stairs and must start again at step 0. You bet that after the 100 throws you will stand on
# step 60 or higher. What are your chances? Instead of working it out with equations, we
# **simulate** the game many times and count how often we win. For that we need random numbers.
#
# `np.random.rand()` returns a number in $[0, 1)$; `np.random.randint(low, high)` an integer from
# `low` up to, but **not including**, `high` (so `randint(1, 7)` is a die). These numbers are
# *pseudo-random*: a formula produces them from a starting value, the **seed**. After
# `np.random.seed(123)` the next two calls of `np.random.rand()` always return 0.6964691855978616
# and 0.28613933495037946, in any Python session on any computer. That is what makes a random
# experiment **reproducible**. Set the seed once, at the top level of a script or notebook, not
# inside the functions that draw the numbers: the functions below never call `np.random.seed`.
# (We use NumPy's classic global generator here. Its streams for a given seed never change.)
#
# A coin toss: `np.random.randint(0, 2)` gives 0 or 1; call 0 *heads* and 1 *tails*.
# After `np.random.seed(123)` three tosses give 0, 1, 0: heads, tails, heads.
#
# ### The simulation rules, precisely
#
# So that every correct solution produces exactly the same walk for the same seed, draw the
# random numbers in this order:
#
# 1. the walk starts at step 0 and is recorded as a list that begins with `[0]`;
# 2. for each of the `n_throws` throws:
#    1. `dice = np.random.randint(1, 7)`;
#    2. if `dice` is 1 or 2: `step = max(0, step - 1)`; if it is 3, 4 or 5: `step = step + 1`;
#       if it is 6: `step = step + np.random.randint(1, 7)` (a second throw, drawn only then);
#    3. then the clumsiness check: if `np.random.rand() <= 0.001`, `step = 0`;
#    4. append `step` to the list.
#
# A walk therefore has `n_throws + 1` entries. You **win** when the *last* entry is at least the
# target (60).
#
# **Task.** Implement `coin_tosses`, `random_walk` and `win_probability`, drawing from NumPy's
# global generator as specified, without seeding.

# %% nbgrader={"grade": false, "grade_id": "seed_demo", "locked": true, "schema_version": 3, "solution": false}
np.random.seed(123)
print(np.random.rand(), np.random.rand())


# %% nbgrader={"grade": false, "grade_id": "random_walk", "locked": false, "schema_version": 3, "solution": true}
def coin_tosses(n: int) -> list:
    """n coin tosses with np.random.randint(0, 2): the list of "heads" (for 0) and "tails" (for 1)."""
    ### BEGIN SOLUTION
    tosses = []
    for _ in range(n):
        coin = np.random.randint(0, 2)
        tosses.append("heads" if coin == 0 else "tails")
    return tosses
    ### END SOLUTION


def random_walk(n_throws: int = 100) -> list:
    """One Empire State walk following the rules above: the list of n_throws + 1 steps."""
    ### BEGIN SOLUTION
    step = 0
    walk = [step]
    for _ in range(n_throws):
        dice = np.random.randint(1, 7)
        if dice <= 2:
            step = max(0, step - 1)
        elif dice <= 5:
            step = step + 1
        else:
            step = step + np.random.randint(1, 7)
        if np.random.rand() <= 0.001:
            step = 0
        walk.append(int(step))
    return walk
    ### END SOLUTION


def win_probability(n_walks: int, target: int = 60, n_throws: int = 100) -> float:
    """Simulate n_walks walks one after the other; the fraction whose last step is >= target."""
    ### BEGIN SOLUTION
    ends = np.array([random_walk(n_throws)[-1] for _ in range(n_walks)])
    return float(np.mean(ends >= target))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "walk_demo", "locked": true, "schema_version": 3, "solution": false}
np.random.seed(123)
print("coin tosses:", coin_tosses(3))
np.random.seed(SEED)
n_walks = 500 if FAST else 2000
all_walks = [random_walk() for _ in range(n_walks)]
ends = np.array([walk[-1] for walk in all_walks])
print(f"{n_walks} walks: estimated chance of ending on step 60 or higher = {np.mean(ends >= 60):.3f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
for walk in all_walks[:20]:
    ax1.plot(walk)
ax1.set_xlabel("throw")
ax1.set_ylabel("step")
ax1.set_title("20 random walks")
ax2.hist(ends, bins=20)
ax2.axvline(60, color="black", linestyle="--")
ax2.set_xlabel("final step")
ax2.set_title("where the walks end")
fig.tight_layout()
plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_random_walk", "locked": true, "points": 0, "schema_version": 3, "solution": false}
np.random.seed(123)
assert coin_tosses(3) == ["heads", "tails", "heads"], "after np.random.seed(123) three tosses are heads, tails, heads"
np.random.seed(123)
_walk = random_walk()
assert len(_walk) == 101 and _walk[0] == 0, "a walk of 100 throws has 101 entries and starts at step 0"
assert min(_walk) >= 0, "the walk must never go below step 0"
np.random.seed(123)
_p = win_probability(500)
assert abs(_p - 0.784) < 1e-9, f"with np.random.seed(123), 500 walks should give a win rate of 0.784, got {_p}"
print("random walk: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * A **model** is a set of parameters combined in a fixed way; a **loss** measures how wrong it
#   is on examples; **training** changes the parameters to make the loss small.
# * **Gradient descent**: estimate how the loss changes when a parameter is nudged (here with a
#   finite difference, next week exactly) and step against it, scaled by a learning rate.
# * A perceptron $\sigma(w_1x_1 + w_2x_2 + b)$ needs a **bias** to output values near 0 for the
#   input $(0, 0)$. It separates its inputs with a straight line, so it can learn AND and OR but
#   not XOR; a two-layer network of three perceptrons (9 parameters) can.
# * NumPy arrays compute element-wise and support boolean masks and `[rows, columns]` indexing;
#   `np.mean`, `np.median`, `np.std` and `np.corrcoef` summarise data.
# * Matplotlib: line plots for trends, scatter plots for relations, histograms for distributions;
#   always label the axes and give the plot a title.
# * A seed makes pseudo-random numbers reproducible, and simulation answers questions that would
#   be hard to work out by hand.
