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
# # Week 02 (optional companion) — Layers, losses and a classifier in NumPy, checked numerically
#
# This is an **optional companion** to week 2's exercise. In week 2 you built a scalar autograd
# engine: every number was a `Value` that knew how to pass its gradient back. Real libraries do
# not work number by number: a layer takes a whole **array** (a batch of examples), and its
# backward pass is written once, by hand, as array formulas. This notebook builds those pieces
# from scratch in NumPy (the style of TUM's *Introduction to Deep Learning* exercises) and
# checks every backward pass against a numerical gradient, which is exactly how the library
# authors test theirs.
#
# The plan:
#
# 1. a **gradient check**: the centred difference for arrays and the relative error;
# 2. **activation layers** (sigmoid, ReLU, leaky ReLU, tanh) with a forward pass that returns a
#    cache and a backward pass that uses it;
# 3. the **affine (fully connected) layer** for inputs of any shape `(N, d1, ..., dk)`;
# 4. **losses from scratch**: softmax and cross-entropy from logits (numerically stable), and
#    binary cross-entropy;
# 5. a **logistic-regression classifier**, a gradient-descent optimizer and a small solver that
#    trains it on generated 2-D data.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Do not rename the given functions, classes or arguments,
# and keep the conventions the docstrings state (what a cache holds, which shapes come back):
# the grader calls your code with its own inputs. Use NumPy only, in float64. The cells titled
# *Check* test a few cases; the grader runs more, on shapes you do not see, and compares every
# backward pass with PyTorch's autograd and with a centred difference.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0            # seed for the generated data and the initial weights
FAST = False        # True: a shorter training run (used while grading)
DEVICE = "cpu"      # unused: everything here is NumPy on the CPU
DATA_DIR = "data"   # unused: the data are generated in the notebook
N_SAMPLES = 200     # points in the generated 2-D data set
EPOCHS = 1000       # gradient-descent steps of the full training run (FAST uses 200)
LR = 0.5            # learning rate of the training run

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import numpy as np

np.set_printoptions(precision=6, suppress=True)

# %% [markdown] nbgrader={"grade": false, "grade_id": "gradcheck_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Checking gradients numerically
#
# Every backward pass we write below is a formula derived by hand, and hand derivations go
# wrong: a transposed matrix, a missing $1/N$, a sign. The cure is to compare with the
# definition of the derivative. For a scalar function the **centred difference**
#
# $$f'(x) \approx \frac{f(x+h) - f(x-h)}{2h}$$
#
# has an error that shrinks like $h^2$; the one-sided (forward) difference
# $\frac{f(x+h)-f(x)}{h}$ is off by about $\tfrac{h}{2} f''(x)$, which is far too much to tell a
# right gradient from a slightly wrong one.
#
# A layer maps an array `x` to an array `out`. In backpropagation we never need the full
# Jacobian: we receive the **upstream gradient** `dout` $= \partial L/\partial\,\text{out}$ (same
# shape as `out`) and must return $\partial L/\partial x$. By the chain rule, entry $i$ of it is
#
# $$\frac{\partial L}{\partial x_i} = \sum_j \frac{\partial L}{\partial\,\text{out}_j}
#   \frac{\partial\,\text{out}_j}{\partial x_i}
#   \approx \sum_j \text{dout}_j\,\frac{f(x + h e_i)_j - f(x - h e_i)_j}{2h}.$$
#
# So `numerical_gradient(f, x, df, h)` nudges **one entry of `x` at a time** up and down by `h`,
# evaluates `f` twice, and takes the sum of `df` times the difference quotient. Two traps:
#
# * change the entry **in place** and put the old value back afterwards: the caller's array must
#   come out unchanged (many `f`s read `x` from the enclosing scope, so perturbing a copy that
#   `f` never sees would give zero);
# * `f(x)` may return a view of `x` or an array that the next call overwrites: copy the result of
#   the first evaluation before you make the second.
#
# To compare an analytic gradient with a numerical one we use the **relative error**
#
# $$\operatorname{rel\_error}(a, b) = \max_i \frac{|a_i - b_i|}{\max(10^{-8}, |a_i| + |b_i|)},$$
#
# which does not care whether the gradients are of size $10^{-3}$ or $10^{3}$. In float64 a
# correct backward pass typically gives $10^{-8}$ or less; a wrong one gives $10^{-2}$ to $1$.

# %% nbgrader={"grade": false, "grade_id": "rel_error", "locked": false, "schema_version": 3, "solution": true}
def rel_error(a, b) -> float:
    """Largest relative difference max |a - b| / max(1e-8, |a| + |b|), entry by entry, as a float."""
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "numerical_gradient", "locked": false, "schema_version": 3, "solution": true}
def numerical_gradient(f, x: np.ndarray, df, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of sum(df * f(x)) with respect to the float array `x`.

    `f` takes the array `x` and returns an array (or a number); `df` has the shape of f(x)
    (the upstream gradient; use 1.0 for a scalar f). Perturb each entry of `x` in place by +h
    and -h, call f(x) each time, and put the entry back: `x` must be unchanged afterwards.
    Returns an array of the shape of `x`.
    """
    ### BEGIN SOLUTION
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = np.array(f(x), dtype=float, copy=True)
        x[i] = old - h
        minus = np.array(f(x), dtype=float, copy=True)
        x[i] = old
        grad[i] = np.sum((plus - minus) * df) / (2 * h)
        it.iternext()
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_gradcheck", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# Check: the gradient of sum(df * x**2) is 2 * x * df, and x comes back unchanged.


def _centred(f, a, df, h=1e-6):
    """The checks' own centred difference of sum(df * f()), where f reads the array a."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + h
        up = np.array(f(), dtype=float)
        a[i] = old - h
        down = np.array(f(), dtype=float)
        a[i] = old
        g[i] = np.sum((up - down) * df) / (2 * h)
    return g


_x = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]])
_x_before = _x.copy()
_df = np.array([[1.0, 2.0, -1.0], [0.5, 3.0, 1.0]])
_g = numerical_gradient(lambda v: v ** 2, _x, _df)
assert _g.shape == _x.shape, f"numerical_gradient should return the shape of x {_x.shape}, got {_g.shape}"
assert np.allclose(_g, 2 * _x_before * _df, rtol=1e-8, atol=1e-8), \
    f"gradient of sum(df * x**2) should be 2*x*df = {2 * _x_before * _df}, got {_g} (centred difference?)"
assert np.allclose(_x, _x_before, rtol=1e-12, atol=1e-15), "numerical_gradient must put every entry of x back"
assert abs(numerical_gradient(lambda v: np.sum(v ** 3), np.array([2.0]), 1.0)[0] - 12.0) < 1e-6, \
    "the derivative of x**3 at 2 is 12"
assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0, "rel_error of equal arrays is 0"
assert abs(rel_error(np.array([1.0, 3.0]), np.array([1.0, 1.0])) - 0.5) < 1e-12, \
    "rel_error([1, 3], [1, 1]) = max(0, 2/4) = 0.5"
print("numerical gradient and rel_error look right")

# %% [markdown] nbgrader={"grade": false, "grade_id": "activations_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Activation layers with caches
#
# A layer is two functions. `forward(x)` computes the output and returns a **cache**: whatever the
# backward pass will need. `backward(dout, cache)` turns the upstream gradient into the
# gradient with respect to the input. Activations act entry by entry, so
# $\partial L/\partial x = \text{dout} \odot f'(x)$ (an element-wise product, not a matrix
# product). The derivatives:
#
# | layer | forward $f(x)$ | derivative $f'(x)$ |
# |---|---|---|
# | sigmoid | $\sigma(x) = 1/(1+e^{-x})$ | $\sigma(x)\,(1-\sigma(x))$ |
# | tanh | $\tanh x$ | $1-\tanh^2 x$ |
# | ReLU | $\max(0, x)$ | $1$ if $x>0$, else $0$ |
# | leaky ReLU (slope $a$) | $x$ if $x>0$, else $a x$ | $1$ if $x>0$, else $a$ |
#
# **Our conventions** (the grader relies on them):
#
# * every activation's cache is **its input `x`** (the seed exercise cached the input for
#   sigmoid but the output for ReLU; a backward pass that mixes the two up is a classic bug:
#   $\sigma(x)(1-\sigma(x))$ is not $x(1-x)$);
# * at exactly $x = 0$ ReLU's derivative is taken as $0$ and leaky ReLU's as the slope $a$, as in
#   PyTorch (the derivative does not exist there; any choice is a convention, this is ours).
#
# **Numerical stability of the sigmoid.** $e^{-x}$ overflows for $x < -709$, and the form
# $e^{x}/(1+e^{x})$ gives `inf/inf = nan` for large $x$. Compute it so that `exp` only ever sees
# a non-positive number: $\sigma(x) = 1/(1+e^{-x})$ for $x \ge 0$ and $e^{x}/(1+e^{x})$ for
# $x<0$. Your sigmoid must give 1.0 at $x=1000$ and 0.0 at $x=-1000$ without a `nan`.

# %% nbgrader={"grade": false, "grade_id": "sigmoid", "locked": false, "schema_version": 3, "solution": true}
class Sigmoid:
    def forward(self, x: np.ndarray):
        """Element-wise logistic sigmoid of an array of any shape, stable for large |x|.

        Returns (out, cache) with cache = x (the input).
        """
        ### BEGIN SOLUTION
        x = np.asarray(x, dtype=float)
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return out, x
        ### END SOLUTION

    def backward(self, dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
        """Gradient with respect to the input x (= cache), given the upstream gradient dout."""
        ### BEGIN SOLUTION
        s, _ = self.forward(cache)
        return dout * s * (1.0 - s)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "relu", "locked": false, "schema_version": 3, "solution": true}
class Relu:
    def forward(self, x: np.ndarray):
        """max(0, x) element-wise. Returns (out, cache) with cache = x (the input)."""
        ### BEGIN SOLUTION
        out = np.maximum(0.0, x)
        return out, x
        ### END SOLUTION

    def backward(self, dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
        """dout where the input x (= cache) is > 0, and 0 where x <= 0."""
        ### BEGIN SOLUTION
        return dout * (cache > 0)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "leaky_relu", "locked": false, "schema_version": 3, "solution": true}
class LeakyRelu:
    def __init__(self, slope: float = 0.01):
        self.slope = slope

    def forward(self, x: np.ndarray):
        """x where x > 0, slope * x elsewhere. Returns (out, cache) with cache = x (the input)."""
        ### BEGIN SOLUTION
        out = np.where(x > 0, x, self.slope * x)
        return out, x
        ### END SOLUTION

    def backward(self, dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
        """dout where the input x (= cache) is > 0, slope * dout where x <= 0."""
        ### BEGIN SOLUTION
        return np.where(cache > 0, dout, self.slope * dout)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "tanh", "locked": false, "schema_version": 3, "solution": true}
class Tanh:
    def forward(self, x: np.ndarray):
        """tanh(x) element-wise. Returns (out, cache) with cache = x (the input)."""
        ### BEGIN SOLUTION
        return np.tanh(x), x
        ### END SOLUTION

    def backward(self, dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
        """Gradient with respect to the input x (= cache): dout * (1 - tanh(x)**2)."""
        ### BEGIN SOLUTION
        t = np.tanh(cache)
        return dout * (1.0 - t ** 2)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_activations", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# Check: values from the I2DL exercise, stability, caches, and each backward pass against a
# centred difference computed here (not with your numerical_gradient).
_x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
_out, _cache = Sigmoid().forward(_x)
assert np.allclose(_out[0, :2], [0.37754067, 0.39913012], atol=1e-8), \
    f"sigmoid(linspace(-0.5, 0.5, 12)) should start 0.37754067, 0.39913012; got {_out[0, :2]}"
assert np.array_equal(_cache, _x), "the cache of every activation is its input x"
_big, _ = Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0]))
assert np.allclose(_big, [0.0, 0.5, 1.0]) and not np.isnan(_big).any(), \
    f"sigmoid([-1000, 0, 1000]) should be [0, 0.5, 1] without nan, got {_big}"
_rng = np.random.default_rng(1)
_x = _rng.normal(size=(4, 5))
_dout = _rng.normal(size=(4, 5))
_h = 1e-6
for _layer, _f in [(Sigmoid(), lambda v: 1 / (1 + np.exp(-v))), (Tanh(), np.tanh),
                   (Relu(), lambda v: np.maximum(v, 0)), (LeakyRelu(0.1), lambda v: np.where(v > 0, v, 0.1 * v))]:
    _out, _cache = _layer.forward(_x)
    assert np.allclose(_out, _f(_x)), f"{type(_layer).__name__}.forward gives wrong values"
    _expected = _dout * (_f(_x + _h) - _f(_x - _h)) / (2 * _h)  # element-wise layers: one difference each
    _dx = _layer.backward(_dout, _cache)
    assert np.allclose(_dx, _expected, rtol=1e-5, atol=1e-7), \
        f"{type(_layer).__name__}.backward differs from the centred difference: largest gap {np.max(np.abs(_dx - _expected)):.3g}"
assert Relu().backward(np.ones(3), np.array([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 1.0], \
    "ReLU's derivative at exactly 0 is taken as 0 (our convention, as in PyTorch)"
print("activation layers look right")

# %% [markdown] nbgrader={"grade": false, "grade_id": "affine_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. The affine layer
#
# A fully connected layer computes $\text{out} = x W + b$ for a batch of $N$ rows. Images and
# other inputs come as `(N, d1, ..., dk)`; the layer first **flattens each example** to a row of
# $D = d_1 \cdots d_k$ numbers, so `x.reshape(N, -1)` has shape `(N, D)`, `w` is `(D, M)`, `b` is
# `(M,)` and `out` is `(N, M)` (row-major: one example per row, unlike Andrew Ng's column
# layout).
#
# The backward pass, with `dout` of shape `(N, M)`:
#
# $$dx = \text{dout}\, W^\top \;\text{(then reshaped back to } x\text{'s shape)},\qquad
#   dW = x_{\text{flat}}^\top\, \text{dout},\qquad db = \textstyle\sum_{n} \text{dout}_{n,:}.$$
#
# Check the shapes: $(N,M)(M,D) = (N,D)$, $(D,N)(N,M) = (D,M)$, and $db$ sums over the batch axis
# (axis 0), giving `(M,)`. There is **no** division by $N$ here: averaging over the batch is the
# loss's job, and its gradient already carries the $1/N$. The gradient $dx$ must have the shape
# of the input `x`, not the flattened `(N, D)`: the layer before expects its own shape back.
#
# Convention: `affine_forward` returns `(out, cache)` with `cache = (x, w, b)`, the original
# (not flattened) `x`.

# %% nbgrader={"grade": false, "grade_id": "affine_forward", "locked": false, "schema_version": 3, "solution": true}
def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray):
    """out = x.reshape(N, D) @ w + b for x of shape (N, d1, ..., dk), w (D, M), b (M,).

    Returns (out, cache): out has shape (N, M), cache = (x, w, b).
    """
    ### BEGIN SOLUTION
    n = x.shape[0]
    out = x.reshape(n, -1) @ w + b
    return out, (x, w, b)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "affine_backward", "locked": false, "schema_version": 3, "solution": true}
def affine_backward(dout: np.ndarray, cache):
    """Gradients of the affine layer: returns (dx, dw, db).

    dout has shape (N, M), cache = (x, w, b) as affine_forward returned it; dx has the shape of
    x (N, d1, ..., dk), dw the shape of w (D, M), db the shape of b (M,).
    """
    ### BEGIN SOLUTION
    x, w, b = cache
    n = x.shape[0]
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(n, -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_affine", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# Check: the fixed example of the I2DL exercise, shapes, and the gradients against centred
# differences computed here.
_x = np.linspace(-0.1, 0.5, num=2 * 120).reshape(2, 4, 5, 6)
_w = np.linspace(-0.2, 0.3, num=120 * 3).reshape(120, 3)
_b = np.linspace(-0.3, 0.1, num=3)
_out, _ = affine_forward(_x, _w, _b)
_want = np.array([[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]])
assert _out.shape == (2, 3) and np.allclose(_out, _want, atol=1e-7), f"affine_forward: expected {_want}, got {_out}"
_rng = np.random.default_rng(2)
_x, _w, _b = _rng.normal(size=(3, 2, 2)), _rng.normal(size=(4, 5)), _rng.normal(size=5)
_dout = _rng.normal(size=(3, 5))
_out, _cache = affine_forward(_x, _w, _b)
_dx, _dw, _db = affine_backward(_dout, _cache)
assert _dx.shape == _x.shape, f"dx must have the shape of x {_x.shape}, got {_dx.shape}"
assert _dw.shape == _w.shape and _db.shape == _b.shape, f"dw, db shapes {_dw.shape}, {_db.shape}"

_fwd = lambda: _x.reshape(3, -1) @ _w + _b  # noqa: E731
for _name, _got, _arr in [("dx", _dx, _x), ("dw", _dw, _w), ("db", _db, _b)]:
    _num = _centred(_fwd, _arr, _dout)
    assert np.allclose(_got, _num, rtol=1e-5, atol=1e-7), f"{_name} differs from the centred difference:\n{_got}\nvs\n{_num}"
print("affine layer looks right")

# %% [markdown] nbgrader={"grade": false, "grade_id": "softmax_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Losses from scratch
#
# ### Softmax and cross-entropy from logits
#
# A classifier with $C$ classes outputs one score (**logit**) $z_c$ per class. Softmax turns a row
# of logits into probabilities, $p_c = e^{z_c} / \sum_k e^{z_k}$. For example
# $\operatorname{softmax}([5, 2, -1, 3]) \approx [0.842, 0.042, 0.002, 0.114]$: the largest logit
# gets most of the mass, and the probabilities sum to 1.
#
# $e^{1000}$ overflows to `inf`, and `inf/inf` is `nan`. Softmax does not change when the same
# number is subtracted from every logit of a row (the factor $e^{-m}$ cancels), so subtract the
# **row maximum** first: the largest exponent is then $e^0 = 1$ and nothing overflows.
#
# The cross-entropy of an example with true class $y$ is $-\log p_y$, averaged over the batch.
# Do not compute $\log$ of a probability that may have rounded to 0: with the shifted logits
# $s = z - \max z$,
#
# $$-\log p_y = -s_y + \log \sum_k e^{s_k}$$
#
# (the *log-sum-exp* form) is exact even when $p_y$ is $10^{-400}$.
#
# The gradient of the **mean** cross-entropy with respect to the logits is beautifully simple:
#
# $$\frac{\partial L}{\partial z_{n,c}} = \frac{p_{n,c} - [c = y_n]}{N},$$
#
# the probabilities minus the one-hot labels, divided by the batch size $N$ because the loss is a
# mean. (For one example this is D2L's $\operatorname{softmax}(o)_j - y_j$.) This is why the last
# layer of a classification network is a plain affine layer: the softmax lives inside the loss.
#
# Convention: `cross_entropy_forward` returns `(loss, cache)` with `cache = (probs, labels)`, and
# `cross_entropy_backward(cache)` returns the gradient with respect to the logits.

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true}
def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of an (N, C) array (subtract each row's maximum first)."""
    ### BEGIN SOLUTION
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "cross_entropy", "locked": false, "schema_version": 3, "solution": true}
def cross_entropy_forward(logits: np.ndarray, labels: np.ndarray):
    """Mean cross-entropy of (N, C) logits and integer labels (N,), computed stably.

    Returns (loss, cache): loss is a float, cache = (probs, labels) with probs = softmax(logits).
    """
    ### BEGIN SOLUTION
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    loss = float(np.mean(log_norm - shifted[np.arange(n), labels]))
    probs = np.exp(shifted - log_norm[:, None])
    return loss, (probs, labels)
    ### END SOLUTION


def cross_entropy_backward(cache) -> np.ndarray:
    """Gradient of the mean cross-entropy with respect to the logits: (probs - onehot) / N."""
    ### BEGIN SOLUTION
    probs, labels = cache
    n = probs.shape[0]
    dlogits = probs.copy()
    dlogits[np.arange(n), labels] -= 1.0
    return dlogits / n
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_cross_entropy", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# Check: the softmax example, huge logits, and the gradient against a centred difference.
_p = softmax(np.array([[5.0, 2.0, -1.0, 3.0]]))
assert np.allclose(_p, [[0.842, 0.042, 0.002, 0.114]], atol=5e-4), f"softmax([5, 2, -1, 3]) = [0.842, 0.042, 0.002, 0.114], got {_p}"
_huge = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
_p = softmax(_huge)
assert not np.isnan(_p).any() and np.allclose(_p.sum(axis=1), 1.0), f"softmax of logits +-1000 gave {_p} (subtract the row maximum)"
_loss, _ = cross_entropy_forward(_huge, np.array([1, 1]))
assert np.isfinite(_loss) and abs(_loss - (2000 + np.log1p(np.exp(-1.0))) / 2) < 1e-9, \
    f"cross-entropy of logits +-1000 should be finite ({(2000 + np.log1p(np.exp(-1.0))) / 2}), got {_loss} (log-sum-exp)"
_rng = np.random.default_rng(3)
_z, _y = _rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])


def _ce(z):
    s = z - z.max(axis=1, keepdims=True)
    return np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(_y)), _y])


_loss, _cache = cross_entropy_forward(_z, _y)
assert abs(_loss - _ce(_z)) < 1e-10, f"cross-entropy: expected {_ce(_z)}, got {_loss}"
_dz = cross_entropy_backward(_cache)
_num = _centred(lambda: np.array(_ce(_z)), _z, 1.0)
assert np.allclose(_dz, _num, rtol=1e-5, atol=1e-8), f"cross_entropy_backward differs from the centred difference:\n{_dz}\nvs\n{_num}"
print("softmax and cross-entropy look right")

# %% [markdown] nbgrader={"grade": false, "grade_id": "bce_md", "locked": true, "schema_version": 3, "solution": false}
# ### Binary cross-entropy
#
# For two classes one output suffices: the probability $\hat y \in (0,1)$ of class 1, usually a
# sigmoid. The binary cross-entropy of a batch is the mean of
#
# $$\ell(\hat y, y) = -\bigl[y \log \hat y + (1-y)\log(1-\hat y)\bigr],$$
#
# and its gradient with respect to each prediction, for the **mean** over the $N$ entries, is
#
# $$\frac{\partial L}{\partial \hat y_n} = \frac{1}{N}\left(-\frac{y_n}{\hat y_n} +
#   \frac{1-y_n}{1-\hat y_n}\right).$$
#
# A prediction of exactly 0 or 1 makes a $\log 0 = -\infty$ appear, and $0 \cdot (-\infty)$ is
# `nan` even when the label agrees. **Clip** the predictions to $[\varepsilon, 1-\varepsilon]$
# with a tiny $\varepsilon$ (we use $10^{-12}$) before taking logs and dividing. (Keras and
# PyTorch do something similar; the fully stable alternative is to work from the logit, as we
# did for softmax.) Both arrays may have any shape (here `(N, 1)`); $N$ is the number of
# entries.

# %% nbgrader={"grade": false, "grade_id": "bce", "locked": false, "schema_version": 3, "solution": true}
def bce_forward(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities y_pred and 0/1 labels y_true (same shape).

    Clip y_pred to [1e-12, 1 - 1e-12] first. Returns a float.
    """
    ### BEGIN SOLUTION
    p = np.clip(y_pred, 1e-12, 1 - 1e-12)
    return float(np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))))
    ### END SOLUTION


def bce_backward(y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """Gradient of bce_forward's mean loss with respect to y_pred (the shape of y_pred)."""
    ### BEGIN SOLUTION
    p = np.clip(y_pred, 1e-12, 1 - 1e-12)
    return (-y_true / p + (1 - y_true) / (1 - p)) / y_pred.size
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_bce", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# Check: a value by hand, predictions of exactly 0 and 1, and the gradient.
_yp = np.array([[0.9], [0.2], [0.6]])
_yt = np.array([[1.0], [0.0], [1.0]])
_want = -(np.log(0.9) + np.log(0.8) + np.log(0.6)) / 3
assert abs(bce_forward(_yp, _yt) - _want) < 1e-10, f"bce: expected {_want}, got {bce_forward(_yp, _yt)}"
_edge = bce_forward(np.array([[1.0], [0.0]]), np.array([[1.0], [0.0]]))
assert np.isfinite(_edge) and _edge < 1e-6, f"perfect predictions 1 and 0 should give a loss of about 0, got {_edge} (clip)"
_grad = bce_backward(_yp, _yt)
_want = np.array([[-1 / 0.9], [1 / 0.8], [-1 / 0.6]]) / 3
assert _grad.shape == _yp.shape and np.allclose(_grad, _want), f"bce_backward: expected {_want.ravel()}, got {_grad.ravel()}"
print("binary cross-entropy looks right")

# %% [markdown] nbgrader={"grade": false, "grade_id": "classifier_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Logistic regression: model, optimizer, solver
#
# Logistic regression is the smallest neural network: one affine map and a sigmoid,
# $\hat y = \sigma(x^\top w + b)$. Following the I2DL exercise we **fold the bias into the
# weights**: append a column of ones to the `(N, D)` inputs, $\tilde X = [X \mid 1]$ of shape
# `(N, D+1)`, and keep one weight matrix `W` of shape `(D+1, 1)` whose **last** row is the bias.
# Then
#
# $$\hat y = \sigma(\tilde X W) \in (0,1)^{N\times 1}, \qquad
#   \frac{\partial L}{\partial W} = \tilde X^\top \bigl(\text{dout} \odot \hat y \odot (1-\hat y)\bigr),$$
#
# where `dout` $= \partial L/\partial \hat y$ is what the loss's backward pass returns. With BCE
# this simplifies to $\tilde X^\top(\hat y - y)/N$ (Andrew Ng's $dZ = A - Y$), but we keep the
# layers separate so that any loss can be plugged in.
#
# `predict` turns probabilities into labels with a **threshold on the probability** (0.5 by
# default), not on the logit.
#
# The optimizer does one gradient-descent step $W \leftarrow W - \eta\, dW$; the solver's step is
# forward, loss, backward, update, in that order, **every** step with a fresh forward pass (the
# gradient must belong to the current weights); `fit` repeats it and records the losses.

# %% nbgrader={"grade": false, "grade_id": "classifier", "locked": false, "schema_version": 3, "solution": true}
class Classifier:
    """Logistic regression with the bias folded into W (last row)."""

    def __init__(self, num_features: int, seed: int = 0, weight_scale: float = 1e-3):
        self.W = weight_scale * np.random.default_rng(seed).standard_normal((num_features + 1, 1))
        self.cache = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Probabilities sigmoid([X | 1] @ W) of shape (N, 1) for X of shape (N, D).

        Keep what backward needs in self.cache. Use a sigmoid that is stable for large |z|.
        """
        ### BEGIN SOLUTION
        X_tilde = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1)
        z = X_tilde @ self.W
        e = np.exp(-np.abs(z))
        y = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        self.cache = (X_tilde, y)
        return y
        ### END SOLUTION

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dW (shape of W) for the upstream gradient dout (N, 1) of the last forward call."""
        ### BEGIN SOLUTION
        X_tilde, y = self.cache
        return X_tilde.T @ (dout * y * (1.0 - y))
        ### END SOLUTION

    def predict(self, X: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """0/1 integer labels (N, 1): 1 where the probability is >= threshold."""
        ### BEGIN SOLUTION
        return (self.forward(X) >= threshold).astype(int)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sgd", "locked": false, "schema_version": 3, "solution": true}
class SGD:
    """Plain gradient descent on model.W."""

    def __init__(self, model, lr: float = 0.1):
        self.model = model
        self.lr = lr

    def step(self, dW: np.ndarray) -> None:
        """Update the model's weights in place: W <- W - lr * dW."""
        ### BEGIN SOLUTION
        self.model.W -= self.lr * dW
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "solver", "locked": false, "schema_version": 3, "solution": true}
def solver_step(model, optimizer, X: np.ndarray, y: np.ndarray) -> float:
    """One training step: forward pass, bce_forward loss, bce_backward, model.backward, optimizer.step.

    Returns the loss of this step (computed before the update) as a float.
    """
    ### BEGIN SOLUTION
    y_pred = model.forward(X)
    loss = bce_forward(y_pred, y)
    dout = bce_backward(y_pred, y)
    dW = model.backward(dout)
    optimizer.step(dW)
    return loss
    ### END SOLUTION


def fit(model, optimizer, X: np.ndarray, y: np.ndarray, epochs: int) -> list:
    """Call solver_step `epochs` times on the whole data; return the list of the losses."""
    ### BEGIN SOLUTION
    losses = []
    for _ in range(epochs):
        losses.append(solver_step(model, optimizer, X, y))
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_classifier", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# Check: shapes, the bias row, the gradient against a centred difference, one optimizer step.
_model = Classifier(2)
assert _model.W.shape == (3, 1), "W has one row per feature plus the bias row"
_model.W = np.array([[0.5], [-1.0], [0.25]])
_X = np.array([[1.0, 2.0], [0.0, 0.0], [-1.0, 0.5]])
_y = _model.forward(_X)
assert _y.shape == (3, 1), f"forward should return shape (N, 1), got {_y.shape}"
assert abs(_y[1, 0] - 1 / (1 + np.exp(-0.25))) < 1e-12, "for x = 0 the output is sigmoid(bias) (bias = last row of W)"
_dout = np.array([[1.0], [-2.0], [0.5]])
_dW = _model.backward(_dout)
_num = _centred(lambda: 1 / (1 + np.exp(-(_X @ _model.W[:2] + _model.W[2]))), _model.W, _dout)
assert np.allclose(_dW, _num, rtol=1e-5, atol=1e-8), f"Classifier.backward differs from the centred difference:\n{_dW}\nvs\n{_num}"
assert _model.predict(_X).tolist() == [[0], [1], [0]], f"predict: expected [[0], [1], [0]], got {_model.predict(_X).tolist()}"
_W0 = _model.W.copy()
SGD(_model, lr=0.1).step(np.ones((3, 1)))
assert np.allclose(_model.W, _W0 - 0.1), "SGD.step: W <- W - lr * dW"
print("classifier and optimizer look right")

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ### Training on generated data
#
# Two overlapping Gaussian clouds in the plane, one per class, drawn with a seeded generator.
# We standardise the features (mean 0, standard deviation 1), which makes one learning rate suit
# both weights, and train with full-batch gradient descent.

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false}
def make_data(n: int, seed: int):
    """n points (n//2 per class) from two Gaussian clouds: X (n, 2) standardised, y (n, 1) of 0/1."""
    rng = np.random.default_rng(seed)
    half = n // 2
    X = np.concatenate([rng.normal([-1.0, -0.5], 1.0, size=(half, 2)),
                        rng.normal([1.0, 0.5], 1.0, size=(n - half, 2))])
    y = np.concatenate([np.zeros(half), np.ones(n - half)])[:, None]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y


X_data, y_data = make_data(N_SAMPLES, SEED)
print(X_data.shape, y_data.shape, y_data.mean())

# %% nbgrader={"grade": false, "grade_id": "train", "locked": true, "schema_version": 3, "solution": false}
model = Classifier(num_features=2, seed=SEED)
optimizer = SGD(model, lr=LR)
n_epochs = 200 if FAST else EPOCHS
losses = fit(model, optimizer, X_data, y_data, n_epochs)
accuracy = float(np.mean(model.predict(X_data) == y_data))
print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} after {n_epochs} steps; training accuracy {accuracy:.3f}")
print("learned W (two weights, then the bias):", model.W.ravel())

# %% nbgrader={"grade": true, "grade_id": "check_train", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(losses) == n_epochs, f"fit should return one loss per epoch ({n_epochs}), got {len(losses)}"
assert abs(losses[0] - np.log(2)) < 1e-2, f"with tiny initial weights the first loss is about log 2 = 0.693, got {losses[0]}"
assert losses[-1] < losses[0] - 0.2, f"the loss should fall clearly: {losses[0]:.4f} -> {losses[-1]:.4f}"
assert accuracy > 0.8, f"training accuracy should be above 0.8 on these clouds, got {accuracy:.3f}"
print("training works")

# %% [markdown] nbgrader={"grade": false, "grade_id": "outro", "locked": true, "schema_version": 3, "solution": false}
# ## What you built
#
# * A gradient check: the tool every library author uses to test a backward pass. Keep it: the
#   next time a network does not learn, check its gradients numerically first.
# * Activation, affine and loss layers as `forward`/`backward` pairs with explicit caches: what
#   `torch.autograd.Function` does for every PyTorch operation.
# * Logistic regression trained by a solver loop with the same four steps as every PyTorch
#   training loop: forward, loss, backward, step.
#
# Stacking `affine -> relu -> affine -> ... -> cross-entropy` with these pieces gives a
# multi-layer classifier; PyTorch's `nn.Linear`, `nn.ReLU` and `nn.CrossEntropyLoss` are exactly
# these layers with autograd doing the bookkeeping.
