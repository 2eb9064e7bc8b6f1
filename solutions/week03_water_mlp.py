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
# # Week 03 — Hello, PyTorch: from tensors to a water-potability classifier
#
# Last week we built a tiny autograd engine for single numbers. PyTorch does the same job for
# whole arrays of numbers (**tensors**), on a CPU or a GPU, and adds layers, loss functions,
# optimisers and data loaders. Deep learning differs from classical machine learning in that
# the network learns its own features from the data (*representation learning*) instead of
# relying on features designed by hand.
#
# This week you will:
#
# 1. create tensors and predict the shapes of element-wise operations (broadcasting) and of
#    matrix products;
# 2. compute a linear layer by hand and compare it with `nn.Linear`;
# 3. write sigmoid, softmax and cross-entropy yourself and check them against the course's numbers;
# 4. count the parameters of a network and freeze some of them;
# 5. write one step of SGD with momentum and weight decay that matches `torch.optim.SGD`, and
#    your own dropout;
# 6. load the water-potability data (missing values, imbalanced classes), clean and scale it
#    using the training split only, and wrap it in a `Dataset` and a `DataLoader`;
# 7. build a class-based network with batch normalisation and Kaiming initialisation, check that
#    it can overfit one batch, then train it and measure its accuracy.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions and
# classes: the grader calls them by name. Run the notebook from top to bottom; the *Check* cells
# test a few cases for you. The grader runs more tests that you do not see: it compares your
# functions with PyTorch on other inputs, and measures the accuracy of your trained model on
# water samples it keeps to itself.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True: a shorter training run (used while grading)
DEVICE = "cpu"       # this week's models are tiny: everything runs on the CPU
DATA_DIR = "data"    # folder that holds water_potability.csv
EPOCHS = 20          # training epochs of the full run (FAST uses fewer)
BATCH_SIZE = 32

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import csv
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(SEED)
np.random.seed(SEED)
print("torch", torch.__version__)

# %% [markdown] nbgrader={"grade": false, "grade_id": "tensors_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Tensors
#
# A **tensor** is PyTorch's n-dimensional array: like a NumPy array, plus the bookkeeping needed
# for automatic differentiation and the ability to live on a GPU.
#
# * `torch.tensor(data)` builds a tensor from a (nested) Python list or a NumPy array and
#   **infers the data type**: integers give `torch.int64`, floats give `torch.float32`.
# * `torch.from_numpy(array)` wraps a NumPy array without copying it (the two share memory).
# * `torch.Tensor(data)` (capital T) always gives `float32`. Prefer `torch.tensor`, whose result
#   type you can predict from the data.
#
# Every tensor has a `shape` (a `torch.Size`, which behaves like a tuple), a `dtype` and a
# `device` (`cpu`, or `cuda:0` for the first GPU). `tensor.to(device)` returns a copy on another
# device; the operands of an operation must sit on the same device.

# %% nbgrader={"grade": false, "grade_id": "tensors_demo", "locked": true, "schema_version": 3, "solution": false}
t = torch.tensor([[1, 2, 3], [4, 5, 6]])
print(type(t).__name__, t.shape, t.dtype, t.device)
print(torch.from_numpy(np.array([1, 2, 3])))
print("torch.tensor([1, 2]) ->", torch.tensor([1, 2]).dtype, "| torch.Tensor([1, 2]) ->", torch.Tensor([1, 2]).dtype)
print("moved to", t.to(DEVICE).device)

# %% [markdown] nbgrader={"grade": false, "grade_id": "broadcast_md", "locked": true, "schema_version": 3, "solution": false}
# ### Element-wise operations and broadcasting
#
# `a + b`, `a * b`, `a - b`, ... work **element by element**. With
# `a = [[1, 1], [2, 2]]` and `b = [[2, 2], [3, 3]]` we get `a + b = [[3, 3], [5, 5]]` and
# `a * b = [[2, 2], [6, 6]]` (`*` is *not* the matrix product).
#
# The shapes need not be equal. **Broadcasting** lets PyTorch (and NumPy) act as if an operand
# were copied along some dimensions so that the shapes match, without really copying anything.
# The rule, for two shapes:
#
# 1. line the shapes up **from the right** (the last dimensions face each other); if one shape
#    is shorter, treat its missing leading dimensions as size 1;
# 2. in every position the two sizes must be **equal, or one of them must be 1**. A size 1 is
#    stretched to the other size;
# 3. the result has, in every position, the larger of the two sizes.
#
# Examples: `(3,) + (2, 3) -> (2, 3)`; `(4, 1) + (1, 5) -> (4, 5)`; `(8, 1, 6) + (7, 1) -> (8, 7, 6)`;
# and `(2, 2) + (2, 3)` fails, because in the last position 2 and 3 differ and neither is 1.
# PyTorch's message says exactly that:
# *The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1.*
#
# ### Matrix products
#
# `torch.matmul(a, b)` (or `a @ b`) is the matrix product, and its result shape follows these rules:
#
# * both 1-D, `(n,)` and `(n,)`: the dot product, a 0-dimensional tensor of shape `()`;
# * both at least 2-D: the last two dimensions are matrices, `(..., n, k) @ (..., k, m) -> (..., n, m)`;
#   the inner sizes `k` must be equal, and the leading ("batch") dimensions are **broadcast**;
# * a 1-D **first** operand `(k,)` is treated as a row `(1, k)`, and that 1 is removed from the result;
# * a 1-D **second** operand `(k,)` is treated as a column `(k, 1)`, and that 1 is removed from the result.
#
# So `(3, 4) @ (4,) -> (3,)`, `(10, 3, 4) @ (4,) -> (10, 3)`, `(10, 3, 4) @ (10, 4, 5) -> (10, 3, 5)`
# and `(10, 3, 4) @ (4, 5) -> (10, 3, 5)`.
#
# **Task.** Write `broadcast_shape` and `matmul_shape`, which predict result shapes (or raise a
# `ValueError`) without creating any tensor. Use plain Python: tuples and integers.

# %% nbgrader={"grade": false, "grade_id": "broadcast_demo", "locked": true, "schema_version": 3, "solution": false}
a = torch.tensor([[1, 1], [2, 2]])
b = torch.tensor([[2, 2], [3, 3]])
print("a + b =", (a + b).tolist(), "   a * b =", (a * b).tolist())
try:
    a + torch.tensor([[2, 2, 4], [3, 3, 4]])
except RuntimeError as error:
    print("RuntimeError:", error)
print("(4, 1) + (1, 5) ->", tuple((torch.zeros(4, 1) + torch.zeros(1, 5)).shape))


# %% nbgrader={"grade": false, "grade_id": "shapes", "locked": false, "schema_version": 3, "solution": true}
def broadcast_shape(shape_a: tuple, shape_b: tuple) -> tuple:
    """The shape of `a + b` for tensors of shapes shape_a and shape_b (tuples of ints).

    Raise ValueError when the shapes cannot be broadcast together.
    """
    ### BEGIN SOLUTION
    ndim = max(len(shape_a), len(shape_b))
    padded_a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)
    padded_b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)
    result = []
    for size_a, size_b in zip(padded_a, padded_b):
        if size_a != size_b and size_a != 1 and size_b != 1:
            raise ValueError(f"cannot broadcast {tuple(shape_a)} with {tuple(shape_b)}")
        result.append(size_b if size_a == 1 else size_a)
    return tuple(result)
    ### END SOLUTION


def matmul_shape(shape_a: tuple, shape_b: tuple) -> tuple:
    """The shape of `torch.matmul(a, b)` for tensors of shapes shape_a and shape_b (at least 1-D each).

    Raise ValueError when the inner sizes differ or the batch dimensions cannot be broadcast.
    """
    ### BEGIN SOLUTION
    a, b = tuple(shape_a), tuple(shape_b)
    drop_row = len(a) == 1
    drop_col = len(b) == 1
    if drop_row:
        a = (1,) + a
    if drop_col:
        b = b + (1,)
    if a[-1] != b[-2]:
        raise ValueError(f"inner sizes differ: {a[-1]} and {b[-2]}")
    batch = broadcast_shape(a[:-2], b[:-2])
    rows = () if drop_row else (a[-2],)
    cols = () if drop_col else (b[-1],)
    return batch + rows + cols
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "matmul_demo", "locked": true, "schema_version": 3, "solution": false}
for shape_a, shape_b in [((3,), (3,)), ((3, 4), (4,)), ((10, 3, 4), (4,)), ((10, 3, 4), (10, 4, 5)), ((10, 3, 4), (4, 5))]:
    real = tuple(torch.matmul(torch.randn(shape_a), torch.randn(shape_b)).shape)
    print(f"{str(shape_a):12} @ {str(shape_b):12} -> torch: {str(real):12} matmul_shape: {matmul_shape(shape_a, shape_b)}")

# %% nbgrader={"grade": true, "grade_id": "check_shapes", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert broadcast_shape((2, 2), (2, 2)) == (2, 2), "equal shapes broadcast to themselves"
assert broadcast_shape((3,), (2, 3)) == (2, 3), "(3,) + (2, 3) should give (2, 3): missing leading dimensions count as 1"
assert broadcast_shape((8, 1, 6), (7, 1)) == (8, 7, 6), "(8, 1, 6) + (7, 1) should give (8, 7, 6): align the shapes from the right"
try:
    broadcast_shape((2, 2), (2, 3))
except ValueError:
    pass
else:
    raise AssertionError("(2, 2) + (2, 3) cannot be broadcast: broadcast_shape should raise ValueError")
assert matmul_shape((3,), (3,)) == (), "vector @ vector is a 0-dimensional tensor, shape ()"
assert matmul_shape((10, 3, 4), (4,)) == (10, 3), "(10, 3, 4) @ (4,) should give (10, 3)"
assert matmul_shape((10, 3, 4), (4, 5)) == (10, 3, 5), "(10, 3, 4) @ (4, 5) should give (10, 3, 5)"
print("shapes: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "linear_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. A linear layer by hand
#
# `nn.Linear(in_features, out_features)` holds a weight matrix $W$ of shape
# `(out_features, in_features)` and a bias $b$ of shape `(out_features,)`. For a batch $x$ of shape
# `(batch, in_features)`, one row per sample, it computes
#
# $$y = x\,W^\top + b \qquad\text{shape } (\text{batch}, \text{out\_features}),$$
#
# so every output neuron takes a weighted sum of all inputs plus its bias (the layer is *fully
# connected*). The number of rows in a batch is the **batch size**.
#
# The course's layer `nn.Linear(3, 2)` had
# $W = \begin{pmatrix}-0.1971 & -0.4996 & 0.1233\\ 0.2203 & 0.3508 & -0.1402\end{pmatrix}$,
# $b = (-0.4006,\ 0.0538)$ and mapped the sample $x = (0.3471,\ 0.4547,\ -0.2356)$ of shape `(1, 3)`
# to $(-0.7252,\ 0.3228)$ of shape `(1, 2)`.
#
# **Task.** Write `linear_forward(x, W, b)` with tensor operations (no `nn.Linear`), and
# `linear_from_weights(W, b)`, which returns an `nn.Linear` whose weight and bias are copies of the
# given tensors. Changing a layer's parameters in place must be done inside `torch.no_grad()`
# (the change is not part of any computation to differentiate), or by assigning new
# `nn.Parameter`s.

# %% nbgrader={"grade": false, "grade_id": "linear", "locked": false, "schema_version": 3, "solution": true}
def linear_forward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x @ W.T + b for x of shape (batch, in), W of shape (out, in) and b of shape (out,)."""
    ### BEGIN SOLUTION
    return x @ W.T + b
    ### END SOLUTION


def linear_from_weights(W: torch.Tensor, b: torch.Tensor) -> nn.Linear:
    """An nn.Linear with the right sizes whose weight and bias equal (copies of) W and b."""
    ### BEGIN SOLUTION
    out_features, in_features = W.shape
    layer = nn.Linear(in_features, out_features)
    with torch.no_grad():
        layer.weight.copy_(W)
        layer.bias.copy_(b)
    return layer
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "linear_demo", "locked": true, "schema_version": 3, "solution": false}
W_course = torch.tensor([[-0.1971, -0.4996, 0.1233], [0.2203, 0.3508, -0.1402]])
b_course = torch.tensor([-0.4006, 0.0538])
x_course = torch.tensor([[0.3471, 0.4547, -0.2356]])
print("by hand:  ", linear_forward(x_course, W_course, b_course))
print("nn.Linear:", linear_from_weights(W_course, b_course)(x_course))

# %% nbgrader={"grade": true, "grade_id": "check_linear", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_y = linear_forward(x_course, W_course, b_course)
assert tuple(_y.shape) == (1, 2), f"the output for one sample of 3 features through a 3 -> 2 layer has shape (1, 2), got {tuple(_y.shape)}"
assert torch.allclose(_y, torch.tensor([[-0.7252, 0.3228]]), atol=1e-4), f"the course's example should give [[-0.7252, 0.3228]], got {_y.tolist()}"
_layer = linear_from_weights(W_course, b_course)
assert isinstance(_layer, nn.Linear) and (_layer.in_features, _layer.out_features) == (3, 2), "linear_from_weights should return nn.Linear(3, 2) here"
assert torch.allclose(_layer(x_course), _y, atol=1e-6), "the nn.Linear should compute the same as linear_forward"
print("linear: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "sequential_md", "locked": true, "schema_version": 3, "solution": false}
# ### Stacking layers
#
# `nn.Sequential(nn.Linear(10, 18), nn.Linear(18, 20), nn.Linear(20, 5))` passes its input
# through the layers in order: 10 features in, 5 numbers out. Each layer's input size must equal
# the previous layer's output size. The raw outputs of a network are called **logits**; at the
# start they mean nothing, because the weights are random.
#
# A stack of linear layers is still **one** linear map: $x W_1^\top + b_1$ followed by $W_2$ and $b_2$
# is $x (W_2 W_1)^\top + (W_2 b_1 + b_2)$. However many we stack, such a network can only
# represent linear relationships. **Activation functions**, non-linear functions applied between
# the layers, remove that limit. The cell below checks the collapse numerically.

# %% nbgrader={"grade": false, "grade_id": "sequential_demo", "locked": true, "schema_version": 3, "solution": false}
stack = nn.Sequential(nn.Linear(10, 18), nn.Linear(18, 20), nn.Linear(20, 5))
print(stack)
with torch.no_grad():
    W_total, b_total = torch.eye(10), torch.zeros(10)
    for layer in stack:
        W_total, b_total = layer.weight @ W_total, layer.weight @ b_total + layer.bias
    x_demo = torch.randn(4, 10)
    print("three layers == one layer:", torch.allclose(stack(x_demo), linear_forward(x_demo, W_total, b_total), atol=1e-5))


# %% [markdown] nbgrader={"grade": false, "grade_id": "activations_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Activations and the cross-entropy loss
#
# **Sigmoid** squeezes one logit into $(0, 1)$, which we read as the probability of the positive
# class in a **binary** problem: $\sigma(z) = \dfrac{1}{1 + e^{-z}}$. The course's logit 6 gives
# $\sigma(6) \approx 0.9975$. A single linear layer followed by a sigmoid is logistic regression.
#
# **Softmax** turns a vector of $K$ logits into $K$ probabilities that are positive and sum to 1
# (**multi-class** problems): $\operatorname{softmax}(z)_i = \dfrac{e^{z_i}}{\sum_j e^{z_j}}$. The
# logits $(4.3,\ 6.1,\ 2.3)$ give $(0.1392,\ 0.8420,\ 0.0188)$. The `dim` argument says along which
# dimension the values must sum to 1: for a batch of shape `(batch, K)` that is the last one,
# `dim=-1`, one distribution per row.
#
# Two numerical details matter:
#
# * $e^{z}$ overflows to `inf` for $z$ above about 89 in float32. Softmax does not change when the
#   same number is subtracted from every logit, so subtract the **largest** logit first: all
#   exponents are then $\le 0$.
# * The loss needs $\log \operatorname{softmax}(z)_i = z_i - \log\sum_j e^{z_j}$; compute
#   $\log\sum_j e^{z_j}$ stably as $m + \log\sum_j e^{z_j - m}$ with $m = \max_j z_j$
#   (`torch.logsumexp` does this), rather than taking the log of a probability that may have
#   rounded to 0.
#
# **Cross-entropy** compares a predicted distribution $q$ with the target distribution $p$:
# $H(p, q) = -\sum_i p_i \log q_i$. With a single correct class $c$ the target is its **one-hot**
# vector (`F.one_hot(torch.tensor(0), num_classes=3)` is `[1, 0, 0]`) and the loss is simply
# $-\log q_c$. In the binary case it reads $-y \log\hat y - (1 - y)\log(1 - \hat y)$. PyTorch's
# `nn.CrossEntropyLoss` takes **logits** (it applies the softmax itself) and either class indices
# or probability targets, and averages over the batch: for the logits $(-0.1211,\ 0.1059)$ and
# the one-hot target $(1, 0)$ it gives $0.8131$.
#
# **Task.** Write `sigmoid`, `softmax` (stable) and `cross_entropy` from these formulas, with
# `torch.exp`, `torch.log`, `torch.logsumexp`, sums and maxima. Do not call `torch.sigmoid`,
# `torch.softmax` or the functions of `torch.nn.functional`.

# %% nbgrader={"grade": false, "grade_id": "activations", "locked": false, "schema_version": 3, "solution": true}
def sigmoid(z: torch.Tensor) -> torch.Tensor:
    """1 / (1 + exp(-z)), element by element."""
    ### BEGIN SOLUTION
    return 1.0 / (1.0 + torch.exp(-z))
    ### END SOLUTION


def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along dimension `dim`; subtract the maximum first so that large logits do not overflow."""
    ### BEGIN SOLUTION
    shifted = z - z.max(dim=dim, keepdim=True).values
    exps = torch.exp(shifted)
    return exps / exps.sum(dim=dim, keepdim=True)
    ### END SOLUTION


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over a batch of logits of shape (batch, K).

    `target` holds either class indices (an integer tensor of shape (batch,)) or a probability
    (e.g. one-hot) target of shape (batch, K). Returns a 0-dimensional tensor, like
    nn.CrossEntropyLoss().
    """
    ### BEGIN SOLUTION
    log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    if target.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        target = torch.zeros_like(logits).scatter_(-1, target.long().unsqueeze(-1), 1.0)
    return -(target * log_probs).sum(dim=-1).mean()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "activations_demo", "locked": true, "schema_version": 3, "solution": false}
print("sigmoid(6)         =", sigmoid(torch.tensor([[6.0]])))
print("softmax(4.3, 6.1, 2.3) =", softmax(torch.tensor([[4.3, 6.1, 2.3]])))
print("one-hot of class 0:", F.one_hot(torch.tensor(0), num_classes=3))
scores = torch.tensor([[-0.1211, 0.1059]])
print("cross-entropy, one-hot target:", cross_entropy(scores, torch.tensor([[1.0, 0.0]])),
      "| class index:", cross_entropy(scores, torch.tensor([0])),
      "| nn.CrossEntropyLoss:", nn.CrossEntropyLoss()(scores, torch.tensor([[1.0, 0.0]])))

# %% nbgrader={"grade": true, "grade_id": "check_activations", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert abs(sigmoid(torch.tensor(6.0)).item() - 0.9975) < 1e-4, "sigmoid(6) should be about 0.9975"
_p = softmax(torch.tensor([[4.3, 6.1, 2.3]]))
assert torch.allclose(_p, torch.tensor([[0.1392, 0.8420, 0.0188]]), atol=1e-4), f"softmax of (4.3, 6.1, 2.3) should be (0.1392, 0.8420, 0.0188), got {_p.tolist()}"
assert torch.isfinite(softmax(torch.tensor([[1000.0, 0.0]]))).all(), "softmax of large logits should not overflow: subtract the maximum first"
assert torch.allclose(softmax(torch.ones(2, 3), dim=0), torch.full((2, 3), 0.5)), "softmax(z, dim=0) should make every column sum to 1"
assert abs(cross_entropy(scores, torch.tensor([[1.0, 0.0]])).item() - 0.8131) < 1e-4, "the course's cross-entropy example gives 0.8131"
assert abs(cross_entropy(scores, torch.tensor([0])).item() - 0.8131) < 1e-4, "with the class index 0 as target the loss is also 0.8131"
print("activations: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "relu_md", "locked": true, "schema_version": 3, "solution": false}
# ### Saturation, ReLU and Leaky ReLU
#
# The sigmoid's derivative $\sigma(z)(1 - \sigma(z))$ is at most $0.25$ and almost 0 for large
# $|z|$: these flat ends are its **saturation regions**. Backpropagation multiplies such small
# factors layer after layer, so the first layers of a deep sigmoid network barely learn: the
# **vanishing gradient** problem.
#
# **ReLU**, $\max(z, 0)$, passes positive inputs unchanged with derivative 1, however large they
# are, and outputs 0 (derivative 0) for negative inputs. A neuron whose input is negative for
# every sample never gets a gradient again (a *dying* ReLU). **Leaky ReLU** keeps a small slope
# for negative inputs (`negative_slope`, 0.01 by default), so its gradient is never exactly 0.
# The cell below lets autograd compute the three derivatives.

# %% nbgrader={"grade": false, "grade_id": "relu_demo", "locked": true, "schema_version": 3, "solution": false}
z = torch.tensor([-10.0, -1.0, 0.5, 10.0], requires_grad=True)
for name, fn in [("sigmoid", torch.sigmoid), ("relu", nn.ReLU()), ("leaky relu (0.05)", nn.LeakyReLU(negative_slope=0.05))]:
    (grad,) = torch.autograd.grad(fn(z).sum(), z)
    print(f"{name:18} derivative at {z.tolist()}: {[round(g, 5) for g in grad.tolist()]}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "parameters_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Counting and freezing parameters
#
# The input layer has one neuron per feature, the output layer one per class (one single neuron
# for a regression or a binary problem with a sigmoid). Between them we choose the number and the
# sizes of the hidden layers; more of them means more parameters, i.e. more **capacity**.
#
# A layer `nn.Linear(n_in, n_out)` has $n_\text{in} \cdot n_\text{out}$ weights and $n_\text{out}$
# biases. For `nn.Linear(8, 4)` then `nn.Linear(4, 2)`: $8\cdot4 + 4 = 36$ and $4 \cdot 2 + 2 = 10$,
# together **46**. The stack $16 \to 4 \to 2 \to 1$ has **81**, $10 \to 18 \to 20 \to 5$ has **683**,
# and the $9 \to 16 \to 8 \to 1$ network we train below has **305** (plus those of its batch-norm
# layers). In PyTorch, every parameter tensor knows its number of elements: `p.numel()`.
#
# **Fine-tuning** reuses a network trained on a similar task: we load its weights, **freeze** some
# layers (usually the early ones, which compute general features) and train the rest with a small
# learning rate. A frozen parameter has `requires_grad = False`: autograd computes no gradient
# for it, and the optimiser leaves it alone. `model.named_parameters()` lists the parameters with
# their names: for `nn.Sequential(nn.Linear(64, 128), nn.Linear(128, 256))` these are
# `'0.weight'`, `'0.bias'`, `'1.weight'` and `'1.bias'`.
#
# **Task.** Write `count_parameters` (all parameters, or only the trainable ones),
# `mlp_parameter_count`, which computes the count of a stack of linear layers from its sizes with
# the formula above (without building a model), and `freeze`. Compare whole names: in a stack of
# twelve layers, freezing `'1.weight'` must leave `'11.weight'` alone.

# %% nbgrader={"grade": false, "grade_id": "counting", "locked": false, "schema_version": 3, "solution": true}
def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of numbers in the model's parameters; with trainable_only, only those with requires_grad."""
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
    ### END SOLUTION


def mlp_parameter_count(sizes: list[int]) -> int:
    """Parameters of nn.Linear(sizes[0], sizes[1]), nn.Linear(sizes[1], sizes[2]), ... (weights and biases)."""
    ### BEGIN SOLUTION
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    ### END SOLUTION


def freeze(model: nn.Module, names: list[str]) -> None:
    """Set requires_grad = False on the parameters called `names` (as in model.named_parameters()).

    Raise KeyError if a name is not a parameter of the model.
    """
    ### BEGIN SOLUTION
    params = dict(model.named_parameters())
    for name in names:
        if name not in params:
            raise KeyError(f"the model has no parameter called {name!r}")
        params[name].requires_grad = False
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "counting_demo", "locked": true, "schema_version": 3, "solution": false}
for sizes in [[8, 4, 2], [16, 4, 2, 1], [10, 18, 20, 5], [9, 16, 8, 1]]:
    net = nn.Sequential(*[nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
    print(f"{sizes}: count_parameters = {count_parameters(net)}, formula = {mlp_parameter_count(sizes)}")

pretrained = nn.Sequential(nn.Linear(64, 128), nn.Linear(128, 256))
freeze(pretrained, ["0.weight"])
print({name: p.requires_grad for name, p in pretrained.named_parameters()})
print("trainable:", count_parameters(pretrained, trainable_only=True), "of", count_parameters(pretrained))

# %% nbgrader={"grade": true, "grade_id": "check_counting", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert count_parameters(nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 2))) == 46, "Linear(8, 4) then Linear(4, 2) has 46 parameters"
assert mlp_parameter_count([16, 4, 2, 1]) == 81, "the stack 16 -> 4 -> 2 -> 1 has 81 parameters"
assert mlp_parameter_count([9, 16, 8, 1]) == 305, "the stack 9 -> 16 -> 8 -> 1 has 305 parameters"
assert not pretrained[0].weight.requires_grad and pretrained[0].bias.requires_grad, "freeze(model, ['0.weight']) should freeze only that weight"
assert count_parameters(pretrained, trainable_only=True) == 41344 - 64 * 128, "with '0.weight' frozen, 41344 - 8192 parameters stay trainable"
print("counting: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "optim_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. The training loop and the optimiser
#
# Training repeats, for every batch:
#
# 1. `optimizer.zero_grad()`: PyTorch **adds** new gradients to `.grad` (as our `+=` did last
#    week), so the old ones must be cleared first;
# 2. forward pass: `outputs = model(features)`;
# 3. `loss = criterion(outputs, labels)`;
# 4. `loss.backward()`: fills every parameter's `.grad`;
# 5. `optimizer.step()`: updates the parameters.
#
# Plain gradient descent updates $p \leftarrow p - \eta\,g$ with the learning rate $\eta$ and the
# gradient $g$ (by hand: `with torch.no_grad(): p -= lr * p.grad`). Good learning rates usually lie
# between 1 and 0.0001: too small and training crawls, too large and the loss oscillates or
# explodes.
#
# **Momentum** gives the optimiser inertia: it keeps moving in the direction of the previous
# steps, which carries it through flat regions and over small bumps (such as a shallow local
# minimum). PyTorch's `optim.SGD(params, lr, momentum=mu)` keeps a velocity $v$ per parameter
# (starting at 0):
#
# $$v \leftarrow \mu\,v + g, \qquad p \leftarrow p - \eta\,v.$$
#
# (Some texts write $v \leftarrow \gamma v + \eta g,\ p \leftarrow p - v$. With a fixed learning rate both
# give the same steps, only their $v$ differs by the factor $\eta$; either form is accepted here.)
# Useful values of $\mu$ lie between 0.5 and 0.99.
#
# **Weight decay** discourages large weights, a remedy for overfitting. `optim.SGD(...,
# weight_decay=wd)` adds $wd \cdot p$ to the gradient before the momentum step:
# $g \leftarrow g + wd\,p$. (This is the gradient of an extra loss term $\frac{wd}{2}\lVert p\rVert^2$.
# Old code writes it `d_p.add_(weight_decay, p.data)`, a form current PyTorch rejects with a
# warning; today it is `d_p.add(p, alpha=weight_decay)`.) Values are small, e.g. $10^{-4}$ to
# $10^{-3}$: the larger, the stronger the regularisation and the slower the training.
#
# **Task.** Write `sgd_momentum_step`, which does one step of PyTorch's SGD (no dampening, no
# Nesterov) on a list of parameters, updating the parameters and the velocity tensors **in place**
# (the velocity in either of the two forms above). Skip parameters whose `.grad` is `None` (frozen
# ones, for example).

# %% nbgrader={"grade": false, "grade_id": "sgd", "locked": false, "schema_version": 3, "solution": true}
def sgd_momentum_step(params: list, velocities: list, lr: float, momentum: float = 0.0,
                      weight_decay: float = 0.0) -> None:
    """One step of torch.optim.SGD(params, lr, momentum, weight_decay) by hand.

    params: tensors with .grad; velocities: tensors of the same shapes (zeros before the first
    step), updated in place. Parameters whose .grad is None are left unchanged.
    """
    ### BEGIN SOLUTION
    with torch.no_grad():
        for p, v in zip(params, velocities):
            if p.grad is None:
                continue
            g = p.grad + weight_decay * p
            v.mul_(momentum).add_(g)
            p.sub_(lr * v)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sgd_demo", "locked": true, "schema_version": 3, "solution": false}
# 1. the hand-written step against torch.optim.SGD on the same small network
torch.manual_seed(SEED)
net_a = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
net_b = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
net_b.load_state_dict(net_a.state_dict())
x_toy, y_toy = torch.randn(8, 4), torch.randn(8, 1)
velocities = [torch.zeros_like(p) for p in net_a.parameters()]
torch_sgd = torch.optim.SGD(net_b.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
for _ in range(5):
    for net in (net_a, net_b):
        net.zero_grad()
        F.mse_loss(net(x_toy), y_toy).backward()
    sgd_momentum_step(list(net_a.parameters()), velocities, lr=0.1, momentum=0.9, weight_decay=0.01)
    torch_sgd.step()
gap = max((p - q).abs().max().item() for p, q in zip(net_a.parameters(), net_b.parameters()))
print(f"largest difference from torch.optim.SGD after 5 steps: {gap:.2e}")

# 2. momentum on f(w) = w^4 - 3 w^2 + w, which has a shallow minimum near w = 1.13
#    and a deeper one near w = -1.30; we start at w = 2.5
for mu in (0.0, 0.5, 0.9):
    w = torch.tensor([2.5], requires_grad=True)
    v = [torch.zeros(1)]
    for _ in range(200):
        w.grad = None
        (w ** 4 - 3 * w ** 2 + w).sum().backward()
        sgd_momentum_step([w], v, lr=0.01, momentum=mu)
    print(f"momentum {mu}: ends at w = {w.item():+.3f}, f(w) = {(w ** 4 - 3 * w ** 2 + w).item():+.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_sgd", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert gap < 1e-5, f"sgd_momentum_step should match torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01); largest difference {gap:.2e}"
_p = torch.tensor([1.0, -2.0], requires_grad=True)
_p.grad = torch.tensor([0.5, 0.5])
_v = [torch.zeros(2)]
sgd_momentum_step([_p], _v, lr=0.1)
assert torch.allclose(_p.detach(), torch.tensor([0.95, -2.05])), "without momentum one step is p - lr * grad"
_frozen = torch.tensor([3.0])
sgd_momentum_step([_frozen], [torch.zeros(1)], lr=0.1, momentum=0.9)
assert _frozen.item() == 3.0, "a parameter whose .grad is None must not change"
print("sgd: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "dropout_md", "locked": true, "schema_version": 3, "solution": false}
# ### Dropout
#
# Overfitting has three usual causes and remedies: too much capacity (a smaller model, or
# **dropout**), weights that grow too large (**weight decay**), and too little data (more data,
# or data augmentation).
#
# `nn.Dropout(p)` sets each element of its input to 0 with probability $p$ **during training**,
# so that no neuron can rely on any particular other neuron. It goes after an activation
# function. The surviving elements are multiplied by $\frac{1}{1-p}$, which keeps the expected
# value of every element unchanged ("inverted dropout"). In **evaluation** mode dropout does
# nothing at all, which is why we switch with `model.train()` and `model.eval()`. The fraction
# of zeros in one call is random: for $20 \times 16 = 320$ elements and $p = 0.2$ it is close to
# 0.2 and always a multiple of $1/320$.
#
# **Task.** Write `dropout(x, p, training)` without `nn.Dropout`: build a random mask with
# `torch.rand_like`. Do not modify `x`.

# %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true}
def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout: in training, zero each element with probability p and scale the others
    by 1 / (1 - p); in evaluation (training=False) return x unchanged."""
    ### BEGIN SOLUTION
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return torch.zeros_like(x)
    keep = (torch.rand_like(x) >= p).to(x.dtype)
    return x * keep / (1.0 - p)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "dropout_demo", "locked": true, "schema_version": 3, "solution": false}
x_ones = torch.ones(20, 16)
ours = dropout(x_ones, 0.2)
theirs = nn.Dropout(p=0.2)(x_ones)
print("fraction of zeros, ours:", (ours == 0).float().mean().item(), "| nn.Dropout:", (theirs == 0).float().mean().item())
print("values kept:", sorted(set(ours.flatten().tolist())), "| in eval mode:", torch.equal(dropout(x_ones, 0.2, training=False), x_ones))

# %% nbgrader={"grade": true, "grade_id": "check_dropout", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_x = torch.ones(200, 100)
_y = dropout(_x, 0.25)
assert abs((_y == 0).float().mean().item() - 0.25) < 0.02, "about a quarter of the elements should be zero for p = 0.25"
assert torch.allclose(_y[_y != 0], torch.tensor(1 / 0.75)), "kept elements should be scaled by 1 / (1 - p)"
assert torch.equal(dropout(_x, 0.25, training=False), _x), "in evaluation mode dropout returns its input unchanged"
assert torch.equal(_x, torch.ones(200, 100)), "dropout must not modify its input"
print("dropout: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "water_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. The water-potability data
#
# Each row of `water_potability.csv` describes one water sample with nine measurements:
#
# | column | meaning |
# |---|---|
# | `ph` | acidity, 0-14 (7 is neutral) |
# | `Hardness` | dissolved calcium and magnesium (mg/L) |
# | `Solids` | total dissolved solids (ppm) |
# | `Chloramines` | disinfectant (ppm) |
# | `Sulfate` | mg/L |
# | `Conductivity` | electrical conductivity (μS/cm) |
# | `Organic_carbon` | ppm |
# | `Trihalomethanes` | by-products of chlorination (μg/L) |
# | `Turbidity` | cloudiness (NTU) |
#
# and the label `Potability`: 1 if the water is safe to drink, 0 if not. It is a **binary
# classification** problem with 9 input features, so our network has 9 input neurons and one
# output neuron (a logit; the sigmoid turns it into the probability of "potable").
#
# Two things make this table less tidy than the toy examples:
#
# * **missing values**: some `ph`, `Sulfate` and `Trihalomethanes` cells are empty. A network
#   cannot take `NaN`, so we fill them in (**impute**) with the column's median;
# * **class imbalance**: about 61% of the samples are not potable. A "model" that always answers 0
#   is already right 61% of the time, so accuracy must be read against that baseline, and the F1
#   score (the harmonic mean of precision and recall) tells more than accuracy when classes are
#   unbalanced.
#
# The columns also have very different scales (pH about 7, dissolved solids about 20,000). We
# rescale every column to $[0, 1]$ with **min-max scaling**, $(x - \min) / (\max - \min)$.
#
# We split the rows into **training** (70%, to fit the parameters), **validation** (15%, to choose
# hyperparameters and watch for overfitting) and **test** data (15%, used once at the end). The
# medians, minima and maxima must be computed on the **training split only** and then applied
# unchanged to the other splits and to any new sample. Otherwise information from the
# validation and test rows leaks into training and the final scores are too optimistic.
#
# **Task.** Write `load_water_csv` with the `csv` module (pick the columns by their names in the
# header, not by position; an empty cell becomes `np.nan`), then `fit_preprocessing` and
# `preprocess`.

# %% nbgrader={"grade": false, "grade_id": "water_columns", "locked": true, "schema_version": 3, "solution": false}
WATER_FEATURES = ["ph", "Hardness", "Solids", "Chloramines", "Sulfate", "Conductivity",
                  "Organic_carbon", "Trihalomethanes", "Turbidity"]
WATER_LABEL = "Potability"


# %% nbgrader={"grade": false, "grade_id": "load_csv", "locked": false, "schema_version": 3, "solution": true}
def load_water_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Read the water CSV: returns (features, labels).

    features: float64 array of shape (n, 9), columns in the order of WATER_FEATURES, np.nan where
    a cell is empty; labels: int64 array of shape (n,) from the Potability column.
    """
    ### BEGIN SOLUTION
    features, labels = [], []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            features.append([float(row[name]) if row[name].strip() else np.nan for name in WATER_FEATURES])
            labels.append(int(float(row[WATER_LABEL])))
    return np.array(features, dtype=np.float64).reshape(-1, len(WATER_FEATURES)), np.array(labels, dtype=np.int64)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "load_demo", "locked": true, "schema_version": 3, "solution": false}
X_all, y_all = load_water_csv(DATA_DIR + "/water_potability.csv")
print("features", X_all.shape, X_all.dtype, "| labels", y_all.shape, y_all.dtype)
for name, rate in zip(WATER_FEATURES, np.isnan(X_all).mean(axis=0)):
    if rate > 0:
        print(f"  missing {name}: {rate:.1%}")
print(f"potable: {y_all.mean():.1%}; always answering 'not potable' is right {1 - y_all.mean():.1%} of the time")

rng = np.random.default_rng(SEED)
order = rng.permutation(len(y_all))
n_train, n_val = int(0.70 * len(order)), int(0.15 * len(order))
train_idx, val_idx, test_idx = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
print("split:", len(train_idx), "train,", len(val_idx), "validation,", len(test_idx), "test")


# %% nbgrader={"grade": false, "grade_id": "preprocessing", "locked": false, "schema_version": 3, "solution": true}
def fit_preprocessing(X: np.ndarray) -> dict:
    """Statistics of the (training) features X, shape (n, 9), NaN where missing.

    Returns {"median": ..., "min": ..., "max": ...}, each an array of shape (9,): the column
    medians ignoring NaN, and the column minima and maxima after the NaNs are replaced by the medians.
    """
    ### BEGIN SOLUTION
    median = np.nanmedian(X, axis=0)
    filled = np.where(np.isnan(X), median, X)
    return {"median": median, "min": filled.min(axis=0), "max": filled.max(axis=0)}
    ### END SOLUTION


def preprocess(X: np.ndarray, stats: dict) -> np.ndarray:
    """Replace NaNs by stats["median"], then scale each column to (x - min) / (max - min) with the
    given statistics (never recomputed from X). Returns a new float32 array; X is not modified."""
    ### BEGIN SOLUTION
    filled = np.where(np.isnan(X), stats["median"], X)
    return ((filled - stats["min"]) / (stats["max"] - stats["min"])).astype(np.float32)
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "dataset_md", "locked": true, "schema_version": 3, "solution": false}
# ### `Dataset` and `DataLoader`
#
# A `torch.utils.data.Dataset` is any object with `__len__` (the number of samples) and
# `__getitem__(i)` (the `i`-th sample, here the pair `(features, label)`). `TensorDataset(X, y)` is a
# ready-made one; writing our own lets us decide what a sample looks like. Tensors fed to the
# model must have the parameters' type, `float32`, and we give each label the shape `(1,)` so
# that a batch of labels, `(batch, 1)`, has the shape of the network's output.
#
# A `DataLoader(dataset, batch_size=..., shuffle=True)` draws the samples in a new random order
# every epoch and stacks them into batches: features `(batch, 9)`, labels `(batch, 1)`. The last
# batch is smaller when the batch size does not divide the number of samples.
#
# **Task.** Write `WaterDataset`.

# %% nbgrader={"grade": false, "grade_id": "dataset", "locked": false, "schema_version": 3, "solution": true}
class WaterDataset(Dataset):
    """Samples (features, label) from preprocessed features (n, 9) and 0/1 labels (n,)."""

    def __init__(self, features: np.ndarray, labels: np.ndarray):
        """Store the features as a float32 tensor (n, 9) and the labels as a float32 tensor (n, 1)."""
        ### BEGIN SOLUTION
        super().__init__()
        self.features = torch.tensor(np.asarray(features), dtype=torch.float32)
        self.labels = torch.tensor(np.asarray(labels), dtype=torch.float32).reshape(-1, 1)
        ### END SOLUTION

    def __len__(self) -> int:
        ### BEGIN SOLUTION
        return len(self.labels)
        ### END SOLUTION

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The tuple (features of shape (9,), label of shape (1,)), both float32."""
        ### BEGIN SOLUTION
        return self.features[idx], self.labels[idx]
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "loaders", "locked": true, "schema_version": 3, "solution": false}
stats = fit_preprocessing(X_all[train_idx])
train_set = WaterDataset(preprocess(X_all[train_idx], stats), y_all[train_idx])
val_set = WaterDataset(preprocess(X_all[val_idx], stats), y_all[val_idx])
test_set = WaterDataset(preprocess(X_all[test_idx], stats), y_all[test_idx])
train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True,
                          generator=torch.Generator().manual_seed(SEED))
val_loader = DataLoader(val_set, batch_size=256)
test_loader = DataLoader(test_set, batch_size=256)

features, labels = next(iter(train_loader))
print("one batch:", tuple(features.shape), features.dtype, tuple(labels.shape), labels.dtype)
print("training features after scaling: min", features.min().item(), "max", features.max().item())

# %% nbgrader={"grade": true, "grade_id": "check_data", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert X_all.shape == (len(y_all), 9) and X_all.dtype == np.float64, "load_water_csv should return features of shape (n, 9), float64"
assert np.isnan(X_all[:, 0]).any() and not np.isnan(X_all[:, 1]).any(), "empty ph cells should become NaN; Hardness has no missing values"
assert set(np.unique(y_all)) == {0, 1}, "labels are 0 and 1"
assert np.allclose(stats["median"], np.nanmedian(X_all[train_idx], axis=0)), "the medians should come from the training rows only, ignoring NaNs"
_Z = preprocess(X_all[train_idx], stats)
assert _Z.dtype == np.float32 and not np.isnan(_Z).any(), "preprocess should return float32 values without NaN"
assert np.allclose(_Z.min(axis=0), 0) and np.allclose(_Z.max(axis=0), 1), "scaled training columns should span exactly [0, 1]"
assert np.isnan(X_all).any(), "preprocess must not fill the NaNs of its input in place"
assert len(train_set) == len(train_idx), "len(WaterDataset) is the number of samples"
_sample = train_set[0]
assert isinstance(_sample, tuple) and len(_sample) == 2, "a sample is the tuple (features, label)"
assert tuple(_sample[0].shape) == (9,) and tuple(_sample[1].shape) == (1,), "features have shape (9,), the label shape (1,)"
assert _sample[0].dtype == torch.float32 and _sample[1].dtype == torch.float32, "features and label should be float32"
print("data: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "model_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. A class-based network
#
# Beyond a simple stack, we write a network as a subclass of `nn.Module`: `__init__` creates the
# layers (first calling `super().__init__()`), and `forward(x)` says how the input flows through
# them. Calling `model(x)` runs `forward`. Layers stored as attributes are registered
# automatically: their parameters appear in `model.parameters()`.
#
# Our network, `WaterNet`, maps 9 features to one logit through two hidden layers of 16 and 8
# neurons, and uses two tools against unstable gradients:
#
# * **batch normalisation**: `nn.BatchNorm1d(n)` standardises each of its `n` inputs over the
#   batch (mean 0, standard deviation 1; in evaluation mode it uses running averages gathered
#   during training), then rescales and shifts it with two learnable parameters per feature. It
#   goes **after a linear layer and before its activation**;
# * **Kaiming (He) initialisation**: for ReLU networks, draw each weight from
#   $U(-\sqrt{6/n_\text{in}},\ \sqrt{6/n_\text{in}})$ (`nn.init.kaiming_uniform_(w, nonlinearity="relu")`),
#   so that the signal keeps its scale from layer to layer. PyTorch's default for `nn.Linear` is
#   the narrower $U(-1/\sqrt{n_\text{in}},\ 1/\sqrt{n_\text{in}})$: $\pm 0.125$ for 64 inputs. (A very
#   spread-out start gives extreme first logits and a very high first loss.) Biases start at 0.
#
# ```
# x -> fc1 (9 -> 16) -> bn1 -> ReLU -> dropout -> fc2 (16 -> 8) -> bn2 -> ReLU -> dropout -> fc3 (8 -> 1) -> logit
# ```
#
# The network returns the **logit**. Its loss is `nn.BCEWithLogitsLoss`, the binary cross-entropy
# $-y\log\sigma(z) - (1-y)\log(1-\sigma(z))$ computed directly from the logit $z$, which is more
# accurate than a sigmoid followed by `nn.BCELoss` (no $\log 0$). A logit above 0 means a
# probability above 0.5, i.e. the prediction "potable".
#
# **Task.** Write `WaterNet` with exactly these attribute names: `fc1`, `bn1`, `fc2`, `bn2`, `fc3`
# and `dropout` (one `nn.Dropout(p_dropout)`, used after both hidden activations).

# %% nbgrader={"grade": false, "grade_id": "model", "locked": false, "schema_version": 3, "solution": true}
class WaterNet(nn.Module):
    """9 -> 16 -> 8 -> 1 with batch normalisation, ReLU, dropout and Kaiming-uniform initialisation."""

    def __init__(self, p_dropout: float = 0.1):
        """Create fc1, bn1, fc2, bn2, fc3 and dropout; Kaiming-uniform weights (ReLU), zero biases."""
        ### BEGIN SOLUTION
        super().__init__()
        self.fc1 = nn.Linear(9, 16)
        self.bn1 = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 8)
        self.bn2 = nn.BatchNorm1d(8)
        self.fc3 = nn.Linear(8, 1)
        self.dropout = nn.Dropout(p_dropout)
        for layer in (self.fc1, self.fc2, self.fc3):
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, 1) for features of shape (batch, 9)."""
        ### BEGIN SOLUTION
        x = self.dropout(F.relu(self.bn1(self.fc1(x))))
        x = self.dropout(F.relu(self.bn2(self.fc2(x))))
        return self.fc3(x)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "model_demo", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
net = WaterNet()
print(net)
print("parameters:", count_parameters(net), "(305 in the linear layers + 2 * (16 + 8) in batch norm)")
default_layer = nn.Linear(64, 128)
print(f"default init of Linear(64, 128): [{default_layer.weight.min().item():.4f}, {default_layer.weight.max().item():.4f}]"
      f"; Kaiming bound of fc1: {math.sqrt(6 / 9):.4f}, largest |weight| {net.fc1.weight.abs().max().item():.4f}")
print("logits of one batch:", tuple(net(features).shape))

# %% nbgrader={"grade": true, "grade_id": "check_model", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# the model is checked on inputs of our own, so that a problem in the data does not show up here
_inputs = torch.rand(32, 9, generator=torch.Generator().manual_seed(0))
assert count_parameters(net) == 353, f"WaterNet should have 353 parameters, got {count_parameters(net)}"
assert isinstance(net.bn1, nn.BatchNorm1d) and net.bn1.num_features == 16 and net.bn2.num_features == 8, "bn1 and bn2 should be BatchNorm1d(16) and BatchNorm1d(8)"
assert net.fc1.weight.abs().max().item() <= math.sqrt(6 / 9) + 1e-6 and net.fc1.weight.abs().max().item() > 0.5, "fc1's weights should be Kaiming-uniform: within +-sqrt(6/9), wider than the default +-1/3"
assert torch.all(net.fc1.bias == 0), "biases should start at zero"
net.eval()
assert tuple(net(_inputs).shape) == (32, 1), f"the output for a batch of 32 should have shape (32, 1), got {tuple(net(_inputs).shape)}"
assert torch.equal(net(_inputs), net(_inputs)), "in eval mode two forward passes on the same input should agree (dropout off)"
net.train()
assert not torch.isnan(features).any(), \
    "WaterNet is fine, but the training batch `features` contains NaN: preprocess should fill the missing values"

print("model: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "training_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. Training and evaluating
#
# **Accuracy** is the fraction of correct predictions (we compute it by hand; libraries such as
# `torchmetrics` offer ready-made metrics). With one logit per sample, the prediction is "potable"
# when the logit is above 0.
#
# After each training epoch we measure the **validation loss** without training: `model.eval()`
# (dropout off, batch norm uses its running averages), inside `torch.no_grad()` (no graph is
# built), averaging `loss.item()` over the batches; then `model.train()` switches training mode back
# on for the next epoch.
#
# The two losses tell how the model is doing:
#
# * both high: **underfitting** (too little capacity or training);
# * training loss low but validation loss high: **overfitting**, the model does not generalise.
#
# **Task.** Write `binary_accuracy`, `train_epoch` (one pass over the loader following the five
# steps of Section 5; returns the mean of the batch losses), `evaluate` (returns the mean batch
# loss and the accuracy over all samples, and leaves the model in training mode) and `predict`,
# which takes **raw** feature rows, as in the CSV (NaN where missing), and returns 0/1 predictions.

# %% nbgrader={"grade": false, "grade_id": "training", "locked": false, "schema_version": 3, "solution": true}
def binary_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples where (logit > 0) equals the 0/1 label; logits and labels have the same shape."""
    ### BEGIN SOLUTION
    return ((logits > 0).float() == labels).float().mean().item()
    ### END SOLUTION


def train_epoch(model: nn.Module, loader, criterion, optimizer) -> float:
    """One epoch in training mode: for each batch zero the gradients, forward, loss, backward, step.

    Returns the mean of the batches' loss values (a float).
    """
    ### BEGIN SOLUTION
    model.train()
    total = 0.0
    for features, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(features), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)
    ### END SOLUTION


def evaluate(model: nn.Module, loader, criterion) -> dict:
    """Loss and accuracy on a loader, in eval mode and without gradients.

    Returns {"loss": mean of the batches' losses, "accuracy": correct predictions / samples};
    the model is back in training mode afterwards.
    """
    ### BEGIN SOLUTION
    model.eval()
    total_loss, correct, count = 0.0, 0.0, 0
    with torch.no_grad():
        for features, labels in loader:
            outputs = model(features)
            total_loss += criterion(outputs, labels).item()
            correct += ((outputs > 0).float() == labels).sum().item()
            count += labels.shape[0]
    model.train()
    return {"loss": total_loss / len(loader), "accuracy": correct / count}
    ### END SOLUTION


def predict(model: nn.Module, stats: dict, X_raw: np.ndarray) -> np.ndarray:
    """0/1 predictions (int array of shape (n,)) for raw feature rows X_raw (n, 9), NaN where missing.

    Preprocess with the training statistics, run the model in eval mode without gradients,
    and predict 1 where the logit is above 0.
    """
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(preprocess(np.asarray(X_raw, dtype=np.float64), stats)))
    return (logits[:, 0] > 0).long().numpy()
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "overfit_md", "locked": true, "schema_version": 3, "solution": false}
# ### First, overfit one batch
#
# Before a long training run, check that the model *can* learn: train it on **one** batch only,
# with the optimiser's default learning rate, until the loss is close to 0 and the accuracy on
# that batch is 1.0. If even that fails, there is a bug in the model, the loss or the data,
# and more epochs will not help. (Written out, the loop is the usual one: zero the gradients,
# forward, loss, backward, step, here for a fixed number of steps on the same batch.)
#
# Then comes the usual recipe for a good model: (1) make it large enough to overfit the training
# set, (2) reduce overfitting (dropout, weight decay, more data or augmentation, a smaller model)
# while watching the validation loss and metric, and (3) tune the hyperparameters (learning
# rate, momentum, batch size, sizes of the layers) with a grid or a random search.
#
# **Task.** Write `overfit_one_batch` with `torch.optim.Adam` at its default learning rate and
# `nn.BCEWithLogitsLoss`.

# %% nbgrader={"grade": false, "grade_id": "overfit", "locked": false, "schema_version": 3, "solution": true}
def overfit_one_batch(model: nn.Module, features: torch.Tensor, labels: torch.Tensor,
                      steps: int = 300) -> tuple[float, float]:
    """Train `model` (in training mode) for `steps` steps on this one batch with Adam (default
    learning rate) and BCEWithLogitsLoss. Returns (loss, accuracy) of the last step, as floats."""
    ### BEGIN SOLUTION
    optimizer = torch.optim.Adam(model.parameters())
    criterion = nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        outputs = model(features)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
    return loss.item(), binary_accuracy(outputs, labels)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "overfit_demo", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
small_batch = (features[:16], labels[:16])
overfit_loss, overfit_acc = overfit_one_batch(WaterNet(p_dropout=0.0), *small_batch, steps=300)
print(f"one batch of 16 after 300 steps: loss {overfit_loss:.4f}, accuracy {overfit_acc:.2f}")

# %% nbgrader={"grade": false, "grade_id": "fit", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
model = WaterNet(p_dropout=0.1)
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
n_epochs = 6 if FAST else EPOCHS
history = {"train_loss": [], "val_loss": [], "val_accuracy": []}
for epoch in range(n_epochs):
    train_loss = train_epoch(model, train_loader, criterion, optimizer)
    val = evaluate(model, val_loader, criterion)
    history["train_loss"].append(train_loss)
    history["val_loss"].append(val["loss"])
    history["val_accuracy"].append(val["accuracy"])
    print(f"epoch {epoch + 1:2d}: train loss {train_loss:.4f} | validation loss {val['loss']:.4f}, accuracy {val['accuracy']:.3f}")

test_result = evaluate(model, test_loader, criterion)
test_predictions = predict(model, stats, X_all[test_idx])
majority = max(y_all[test_idx].mean(), 1 - y_all[test_idx].mean())
print(f"test accuracy {test_result['accuracy']:.3f} (from raw rows with predict: {(test_predictions == y_all[test_idx]).mean():.3f}); "
      f"always predicting the majority class: {majority:.3f}")

if not FAST:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history["train_loss"], label="training loss")
    ax.plot(history["val_loss"], label="validation loss")
    ax.set_xlabel("epoch")
    ax.legend()
    plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_training", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_logits = torch.tensor([[2.0], [-1.0], [0.3], [-0.2]])
_labels = torch.tensor([[1.0], [0.0], [0.0], [0.0]])
assert abs(binary_accuracy(_logits, _labels) - 0.75) < 1e-9, "a logit above 0 predicts 1: here 3 of 4 predictions are right"
assert not torch.isnan(small_batch[0]).any(), \
    "the batch used for overfitting contains NaN, so no network can learn from it: preprocess should fill the missing values"
assert overfit_acc == 1.0 and overfit_loss < 0.2, f"overfit_one_batch should overfit one batch of 16 (accuracy 1.0, loss near 0), got accuracy {overfit_acc:.2f}, loss {overfit_loss:.3f}"
assert len(history["train_loss"]) == n_epochs and history["train_loss"][-1] < history["train_loss"][0], \
    f"the training loss (train_epoch's return value) should go down, got {[round(v, 4) for v in history['train_loss']]}"
_probe_net = WaterNet()
evaluate(_probe_net, val_loader, criterion)
assert _probe_net.training, "evaluate() should leave the model in training mode"
# the test accuracy computed here directly, in eval mode, to tell evaluate's mistakes from the model's
model.eval()
with torch.no_grad():
    _pairs = [(model(_x), _y) for _x, _y in test_loader]
model.train()
_direct = torch.cat([((_out > 0).float() == _y).float() for _out, _y in _pairs]).mean().item()
assert abs(test_result["accuracy"] - _direct) < 1e-6, \
    (f"evaluate(model, test_loader, criterion) reports the accuracy {test_result['accuracy']:.4f}, but the model in eval mode "
     f"gets {_direct:.4f} right: evaluate should call model.eval(), predict 1 where the logit is above 0 and divide by the "
     f"number of samples")
assert _direct > majority + 0.05, f"the trained model should clearly beat always answering the majority class ({majority:.3f}), got {_direct:.3f}"
assert set(np.unique(test_predictions)) <= {0, 1} and test_predictions.shape == (len(test_idx),), "predict returns one 0/1 value per row"
print("training: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * Tensors carry a shape, a dtype and a device. Element-wise operations broadcast shapes aligned
#   from the right; `matmul` multiplies the last two dimensions and broadcasts the rest.
# * `nn.Linear` computes $xW^\top + b$; stacked linear layers stay linear until an activation
#   comes between them. Sigmoid and softmax turn logits into probabilities, and cross-entropy
#   (computed from logits for numerical stability) compares them with the targets.
# * A parameter count is a sum of `numel()`; freezing sets `requires_grad = False`.
# * An optimiser step is `zero_grad`, forward, loss, `backward`, `step`; momentum adds inertia and
#   weight decay shrinks the weights. Dropout is active only in training mode.
# * Real tables need cleaning: impute missing values and scale features with statistics from the
#   training split only, and judge accuracy against the majority-class baseline.
# * Overfit one batch first, then train, watching the training and validation losses.
