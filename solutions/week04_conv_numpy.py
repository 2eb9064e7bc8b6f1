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
# # Week 04 (optional companion) — Convolution and pooling from scratch in NumPy, residual blocks, and what a convolution costs
#
# This notebook is an **optional companion of week 04**. In the week's exercise you used
# `nn.Conv2d` and `nn.MaxPool2d`, and wrote a 2-D cross-correlation for one picture with
# PyTorch tensors. Here you build the whole layer yourself, the way a library does it, and then
# check it against the library:
#
# 1. the output size of a convolution, zero padding, and one step of a convolution;
# 2. the **forward pass** of a convolutional layer and of max and average pooling on a batch of
#    pictures with several channels, in NumPy;
# 3. their **backward passes** (the gradients with respect to the input, the filters and the
#    biases), checked with finite differences and with PyTorch's autograd;
# 4. a **residual block** (ResNet) in PyTorch, with an identity or a projection shortcut;
# 5. the arithmetic of network design: parameter counts, and how many multiplications a
#    convolution, a 1x1 "bottleneck" (Inception) and a depthwise-separable convolution
#    (MobileNet) need;
# 6. a tiny ResNet trained for a few seconds.
#
# **Layout.** This notebook uses the layout of Andrew Ng's course, not PyTorch's: a batch of
# activations is a NumPy array of shape `(m, n_H, n_W, n_C)` (examples, height, width,
# channels: "NHWC"), the filters of a layer are one array `W` of shape `(f, f, n_C_prev, n_C)`
# and the biases an array `b` of shape `(1, 1, 1, n_C)`. PyTorch keeps pictures as
# `(m, n_C, n_H, n_W)` ("NCHW") and the weights of `nn.Conv2d` as `(n_C, n_C_prev, f, f)`;
# Section 7 moves between the two.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions: the
# grader calls them by name. Write the NumPy parts with NumPy only (loops are fine: the arrays are
# small); do not call PyTorch inside them. Run the notebook from top to bottom; the *Check* cells
# test a few cases, the grader runs more on other shapes, strides and paddings.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True: a shorter training run (used while grading)
DEVICE = "cpu"       # "cuda" to train the tiny ResNet on a GPU
DATA_DIR = "data"    # not used: every picture of this notebook is generated here
IMG_SIZE = 12        # side of the generated pictures of the training run
TRAIN_STEPS = 150    # training steps of the tiny ResNet in the full run (FAST uses fewer)

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

np.random.seed(SEED)
torch.manual_seed(SEED)
np.set_printoptions(precision=4, suppress=True)
print("numpy", np.__version__, "| torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "edges_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Edge detection: what a filter does
#
# A filter is a small grid of weights slid over the picture; at every position the weights are
# multiplied with the pixels under them and the products added up. The **vertical edge
# detector**
#
# $$K = \begin{pmatrix} 1 & 0 & -1 \\ 1 & 0 & -1 \\ 1 & 0 & -1 \end{pmatrix}$$
#
# answers "how much brighter is the left of this patch than its right?". On a $6 \times 6$
# picture whose left half is bright (10) and right half dark (0), every $3 \times 3$ patch that
# straddles the boundary gives $3 \cdot 10 - 0 = 30$, and patches of one colour give 0: the
# output is $4 \times 4$, every row $(0, 30, 30, 0)$, a bright band where the edge is. The
# mirrored picture (dark on the left) gives rows $(0, -30, -30, 0)$: the sign tells a
# light-to-dark edge from a dark-to-light one. (The band is wide only because the picture is
# tiny.) The horizontal detector is the transpose, rows $(1, 1, 1)$, $(0, 0, 0)$, $(-1, -1, -1)$.
#
# Two famous hand-made variants weight the centre row more: **Sobel**
# $\begin{pmatrix} 1 & 0 & -1 \\ 2 & 0 & -2 \\ 1 & 0 & -1 \end{pmatrix}$ and **Scharr**
# $\begin{pmatrix} 3 & 0 & -3 \\ 10 & 0 & -10 \\ 3 & 0 & -3 \end{pmatrix}$. A CNN does not use
# hand-made filters: it treats the nine numbers as **parameters** and learns them by gradient
# descent, finding edge detectors (and much else) by itself.
#
# (Two slips in the notes this part follows: a $5 \times 5$ example shows a filter with a
# diagonal of ones and still claims the output of the edge detector, and the Sobel filter's
# middle row is garbled. The filters above are the right ones.)
#
# **Cross-correlation or convolution?** In mathematics a convolution first flips the filter
# (upside down and left to right); what deep learning calls a convolution does not flip it: it
# is a *cross-correlation*. Since the filter is learned, the flip does not matter, and every
# library (PyTorch's `F.conv2d`, TensorFlow's `tf.nn.conv2d`) computes the unflipped version.
# So will you: **never flip the filter** in this notebook.

# %% [markdown] nbgrader={"grade": false, "grade_id": "size_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Output size, padding and stride
#
# A filter of side $f$ fits in $n - f + 1$ positions along a side of length $n$: a $6 \times 6$
# picture and a $3 \times 3$ filter give $4 \times 4$. Two problems follow: every layer shrinks
# the picture (so a deep network could have only a few layers), and the pixels of the border
# are covered by fewer positions than those in the middle, so their information counts less.
#
# **Padding** adds a frame of $p$ zeros around the picture, which becomes
# $(n + 2p) \times (n + 2p)$; the output has the side $n + 2p - f + 1$.
#
# * a **valid** convolution has no padding: $n - f + 1$;
# * a **same** convolution keeps the size: $n + 2p - f + 1 = n$ gives $p = (f - 1)/2$, which is
#   why filters have odd sides (3, 5, 7): the padding is then the same on both sides, and the
#   filter has a centre pixel.
#
# **Stride.** With stride $s$ the filter jumps $s$ pixels at a time. Positions whose window would
# leave the (padded) picture are dropped, so the side of the output is
#
# $$n_\text{out} = \left\lfloor \frac{n + 2p - f}{s} \right\rfloor + 1 .$$
#
# A $7 \times 7$ picture, a $3 \times 3$ filter and stride 2 give $\lfloor 4/2 \rfloor + 1 = 3$.
# (Erratum: one formula in the notes writes this with a *ceiling* and, for the width, a
# "$-1$". Both are wrong: $\lceil (n + 2p - f)/s + 1 \rceil$ counts a window that does not fit
# when $s$ does not divide $n + 2p - f$, and "$-1$" is off by two. Use the floor and $+1$.)
# Pooling uses the same formula with $p = 0$.
#
# **Zero padding in NumPy.** `np.pad(X, pad_width, mode="constant", constant_values=0)` takes
# one `(before, after)` pair **per axis**. A batch `X` of shape `(m, n_H, n_W, n_C)` is padded
# only along the height and the width: `((0, 0), (pad, pad), (pad, pad), (0, 0))`. Padding the
# examples or the channels would invent new pictures or new channels. (The notes' version
# passes the four pairs as separate arguments instead of one tuple, which `np.pad` refuses.)
#
# **Task.** Write `conv_output_size(n, f, p, s)` and `zero_pad(X, pad)` (a new array; `X` is
# left unchanged).

# %% nbgrader={"grade": false, "grade_id": "size_and_pad", "locked": false, "schema_version": 3, "solution": true}
def conv_output_size(n: int, f: int, p: int = 0, s: int = 1) -> int:
    """Side of the output of a convolution (or pooling) of a side n with a filter of side f,
    padding p and stride s: floor((n + 2p - f) / s) + 1, as a Python int."""
    ### BEGIN SOLUTION
    return (n + 2 * p - f) // s + 1
    ### END SOLUTION


def zero_pad(X: np.ndarray, pad: int) -> np.ndarray:
    """X of shape (m, n_H, n_W, n_C) with `pad` zeros added before and after the height and the
    width: shape (m, n_H + 2 pad, n_W + 2 pad, n_C). The examples and channels are not padded."""
    ### BEGIN SOLUTION
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "size_demo", "locked": true, "schema_version": 3, "solution": false}
print("6x6 * 3x3:", conv_output_size(6, 3), "| 7x7 * 3x3, stride 2:", conv_output_size(7, 3, 0, 2),
      "| 'same' 5x5 filter on 32, p = 2:", conv_output_size(32, 5, 2, 1))
x_demo = np.random.default_rng(SEED).normal(size=(4, 3, 3, 2))
x_pad = zero_pad(x_demo, 2)
print("x:", x_demo.shape, "-> zero_pad(x, 2):", x_pad.shape)
print("first row of the first channel of the padded first picture:", x_pad[0, 2, :, 0])

# %% nbgrader={"grade": true, "grade_id": "check_size_and_pad", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert conv_output_size(6, 3) == 4 and conv_output_size(6, 3, 0, 1) == 4, "a 6x6 picture and a 3x3 filter give 4x4"
assert conv_output_size(7, 3, 0, 2) == 3, "7x7 with a 3x3 filter and stride 2 gives floor(4 / 2) + 1 = 3"
assert conv_output_size(8, 3, 0, 2) == 3, "8x8 with a 3x3 filter and stride 2 gives floor(5 / 2) + 1 = 3 (a floor, not a ceiling)"
assert all(conv_output_size(n, f, (f - 1) // 2) == n for n in (5, 8, 13) for f in (1, 3, 5, 7)), "p = (f - 1) / 2 keeps the size ('same')"
assert x_pad.shape == (4, 7, 7, 2), f"zero_pad(x, 2) of a (4, 3, 3, 2) batch has the shape (4, 7, 7, 2), got {x_pad.shape}"
assert np.array_equal(x_pad[:, 2:-2, 2:-2, :], x_demo), "the original values sit in the middle of the padded array"
_border = np.ones(x_pad.shape, dtype=bool)
_border[:, 2:-2, 2:-2, :] = False
assert not np.any(x_pad[_border]), "everything added by zero_pad is zero"
assert zero_pad(x_demo, 0).shape == x_demo.shape, "zero_pad(x, 0) changes nothing"
print("output size and padding: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "step_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. One step of a convolution
#
# A picture with $n_{C,\text{prev}}$ channels (3 for RGB) is convolved with filters that have as
# many channels: a filter is a volume $f \times f \times n_{C,\text{prev}}$. One step multiplies
# the filter with the volume of the picture under it, element by element, adds up **all**
# $f \cdot f \cdot n_{C,\text{prev}}$ products and the filter's bias:
#
# $$z = \sum_{i, j, k} W_{ijk}\, a_{ijk} + b .$$
#
# The result is one number, whatever the number of channels. (This is the course text's example
# with two channels and two kernels, $19 + 37 = 56$, written as one sum.)
#
# **Task.** Write `conv_single_step(a_slice_prev, W, b)`: `a_slice_prev` and `W` have the shape
# `(f, f, n_C_prev)`, `b` holds one number (an array of shape `(1, 1, 1)`). Return a Python
# float.
#
# (A version trap: the notes write `float(b)`. NumPy 2.4, the version of this course, refuses to
# turn an array with dimensions into a float ("only 0-dimensional arrays can be converted to Python
# scalars"); older versions only warned. Take the number out with `b.item()`, `np.squeeze(b)` or
# `np.sum(b)`.)

# %% nbgrader={"grade": false, "grade_id": "single_step", "locked": false, "schema_version": 3, "solution": true}
def conv_single_step(a_slice_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> float:
    """sum(a_slice_prev * W) + b for a slice and a filter of shape (f, f, n_C_prev) and a bias b
    holding one number (shape (1, 1, 1)); a Python float."""
    ### BEGIN SOLUTION
    s = np.multiply(a_slice_prev, W)
    return float(np.sum(s) + np.asarray(b).item())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_single_step", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_a = np.arange(18, dtype=float).reshape(3, 3, 2)
_w = np.ones((3, 3, 2))
_z = conv_single_step(_a, _w, np.array([[[-1.0]]]))
assert isinstance(_z, float), f"conv_single_step returns a Python float, got {type(_z).__name__}"
assert _z == 152.0, f"0 + 1 + ... + 17 = 153, minus the bias 1: expected 152.0, got {_z}"
assert conv_single_step(_a, -_w, np.zeros((1, 1, 1))) == -153.0, "with a zero bias: -153"
print("conv_single_step: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "forward_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. The forward pass of a convolutional layer
#
# A layer $l$ has $n_C$ filters, stacked into `W` of shape $(f, f, n_{C,\text{prev}}, n_C)$, and
# one bias per filter, `b` of shape $(1, 1, 1, n_C)$. Each filter slid over the picture gives one
# output channel, so the output volume is
# $n_H \times n_W \times n_C$ with $n_H = \lfloor (n_{H,\text{prev}} + 2p - f)/s \rfloor + 1$
# (the same for $n_W$), and for a batch of $m$ pictures `Z` has the shape $(m, n_H, n_W, n_C)$.
# The layer then applies an activation, $A = g(Z)$ (ReLU, say), done outside the function below.
#
# The output position $(h, w)$ reads the window of the **padded** input that starts at row
# `vert_start = h * s` and column `horiz_start = w * s` and is $f$ wide: `vert_end = vert_start + f`
# (the stride moves the window; it does not change its size). The filter `c` is `W[:, :, :, c]`
# and its bias `b[:, :, :, c]`: **one bias per output channel**, the same at every position.
#
# ```text
# for i in range(m):                       # every picture
#     for h in range(n_H):                 # every output row
#         for w in range(n_W):             # every output column
#             for c in range(n_C):         # every filter
#                 slice = padded_input[i, vert_start:vert_end, horiz_start:horiz_end, :]
#                 Z[i, h, w, c] = conv_single_step(slice, W[:, :, :, c], b[:, :, :, c])
# ```
#
# The function returns `Z` and a **cache**, the tuple `(A_prev, W, b, hparameters)`, which the
# backward pass needs (Section 6). `hparameters` is a dict `{"stride": s, "pad": p}`.
#
# (The notes' version reads `hparameter["stride"]`, a name that does not exist; their backward
# pass has more slips, listed in Section 6.)
#
# **Task.** Write `conv_forward(A_prev, W, b, hparameters)`. Use your `conv_output_size`,
# `zero_pad` and `conv_single_step` (or NumPy directly: vectorising over the channels or the
# batch is fine).

# %% nbgrader={"grade": false, "grade_id": "conv_forward", "locked": false, "schema_version": 3, "solution": true}
def conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, hparameters: dict):
    """Forward pass of a convolutional layer (cross-correlation, no activation).

    A_prev: (m, n_H_prev, n_W_prev, n_C_prev); W: (f, f, n_C_prev, n_C); b: (1, 1, 1, n_C);
    hparameters: {"stride": s, "pad": p}.
    Returns (Z, cache): Z of shape (m, n_H, n_W, n_C), cache = (A_prev, W, b, hparameters).
    """
    ### BEGIN SOLUTION
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    n_H = conv_output_size(n_H_prev, f, pad, stride)
    n_W = conv_output_size(n_W_prev, f, pad, stride)
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice_prev = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                for c in range(n_C):
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])
    cache = (A_prev, W, b, hparameters)
    return Z, cache
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "forward_demo", "locked": true, "schema_version": 3, "solution": false}
picture = np.zeros((6, 6))
picture[:, :3] = 10.0                                   # bright left half, dark right half
vertical = np.array([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]])
batch = np.stack([picture, picture[:, ::-1]])[..., None]            # (2, 6, 6, 1): the picture and its mirror
Z_edges, _ = conv_forward(batch, vertical[:, :, None, None], np.zeros((1, 1, 1, 1)), {"stride": 1, "pad": 0})
print("light to dark:\n", Z_edges[0, :, :, 0])
print("dark to light:\n", Z_edges[1, :, :, 0])

rng = np.random.default_rng(SEED)
A_demo = rng.normal(size=(2, 5, 7, 3))
W_demo = rng.normal(size=(3, 3, 3, 4))
b_demo = rng.normal(size=(1, 1, 1, 4))
Z_demo, cache_demo = conv_forward(A_demo, W_demo, b_demo, {"stride": 2, "pad": 1})
print("A_prev", A_demo.shape, "* W", W_demo.shape, "with stride 2, pad 1 -> Z", Z_demo.shape)

# %% nbgrader={"grade": true, "grade_id": "check_conv_forward", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert Z_edges.shape == (2, 4, 4, 1), f"a 6x6 picture and a 3x3 filter give a 4x4 output: expected (2, 4, 4, 1), got {Z_edges.shape}"
assert np.array_equal(Z_edges[0, :, :, 0], np.tile([0.0, 30, 30, 0], (4, 1))), "light to dark: every row is [0, 30, 30, 0]"
assert np.array_equal(Z_edges[1, :, :, 0], np.tile([0.0, -30, -30, 0], (4, 1))), "dark to light: every row is [0, -30, -30, 0]"
assert Z_demo.shape == (2, 3, 4, 4), f"(5 + 2 - 3) // 2 + 1 = 3 rows, (7 + 2 - 3) // 2 + 1 = 4 columns, 4 filters: got {Z_demo.shape}"
_torch_Z = F.conv2d(torch.tensor(A_demo).permute(0, 3, 1, 2), torch.tensor(W_demo).permute(3, 2, 0, 1),
                    torch.tensor(b_demo).reshape(-1), stride=2, padding=1).permute(0, 2, 3, 1).numpy()
assert np.allclose(Z_demo, _torch_Z, atol=1e-10), "conv_forward should agree with F.conv2d after the change of layout"
assert len(cache_demo) == 4 and np.array_equal(cache_demo[0], A_demo) and cache_demo[3] == {"stride": 2, "pad": 1}, \
    "the cache is the tuple (A_prev, W, b, hparameters)"
print("conv_forward: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "pool_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Pooling
#
# A pooling layer shrinks the height and width: it slides an $f \times f$ window with stride $s$
# over **every channel separately** and keeps the largest value (**max pooling**) or the mean
# (**average pooling**) of each window. The number of channels does not change, and the output
# side is $\lfloor (n - f)/s \rfloor + 1$ (no padding). Max pooling keeps a feature that was found
# anywhere in the window ("is there an edge here?") and makes the network a little robust to small
# shifts. A pooling layer has **hyperparameters** ($f$, $s$, the mode) but **nothing to learn**.
# The usual choice is $f = 2, s = 2$, which halves the height and width; windows may also overlap
# ($s < f$).
#
# (The notes' `pool_forward` never reads `f` from `hparameters`, writes its output at `[i, w, h, c]`
# with the height and width swapped, and uses a slice that was never defined; it also calls the mode
# "average" in one place and "mean" in another. Here the modes are `"max"` and `"average"`.)
#
# **Task.** Write `pool_forward(A_prev, hparameters, mode)` with `hparameters = {"f": f,
# "stride": s}`. Return the output of shape `(m, n_H, n_W, n_C)` and the cache
# `(A_prev, hparameters)`.

# %% nbgrader={"grade": false, "grade_id": "pool_forward", "locked": false, "schema_version": 3, "solution": true}
def pool_forward(A_prev: np.ndarray, hparameters: dict, mode: str = "max"):
    """Max or average pooling of A_prev (m, n_H_prev, n_W_prev, n_C), channel by channel.

    hparameters: {"f": window side, "stride": s}; mode: "max" or "average"; no padding.
    Returns (A, cache): A of shape (m, n_H, n_W, n_C), cache = (A_prev, hparameters).
    """
    ### BEGIN SOLUTION
    (m, n_H_prev, n_W_prev, n_C) = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    n_H = conv_output_size(n_H_prev, f, 0, stride)
    n_W = conv_output_size(n_W_prev, f, 0, stride)
    A = np.zeros((m, n_H, n_W, n_C))
    for h in range(n_H):
        vert_start = h * stride
        for w in range(n_W):
            horiz_start = w * stride
            window = A_prev[:, vert_start:vert_start + f, horiz_start:horiz_start + f, :]
            if mode == "max":
                A[:, h, w, :] = window.max(axis=(1, 2))
            elif mode == "average":
                A[:, h, w, :] = window.mean(axis=(1, 2))
            else:
                raise ValueError(f"unknown pooling mode {mode!r}")
    cache = (A_prev, hparameters)
    return A, cache
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "pool_demo", "locked": true, "schema_version": 3, "solution": false}
A_pool_demo = np.random.default_rng(SEED + 1).normal(size=(2, 5, 5, 3))
for _hp in ({"f": 2, "stride": 2}, {"f": 3, "stride": 1}):
    for _mode in ("max", "average"):
        _out, _ = pool_forward(A_pool_demo, _hp, mode=_mode)
        print(f"{_mode:7s} pooling with {_hp}: {A_pool_demo.shape} -> {_out.shape}")

# %% nbgrader={"grade": true, "grade_id": "check_pool_forward", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_x = torch.tensor(A_pool_demo).permute(0, 3, 1, 2)
for _hp in ({"f": 2, "stride": 2}, {"f": 3, "stride": 1}, {"f": 2, "stride": 3}):
    _max, _cache = pool_forward(A_pool_demo, _hp, mode="max")
    _avg, _ = pool_forward(A_pool_demo, _hp, mode="average")
    _want_max = F.max_pool2d(_x, _hp["f"], _hp["stride"]).permute(0, 2, 3, 1).numpy()
    _want_avg = F.avg_pool2d(_x, _hp["f"], _hp["stride"]).permute(0, 2, 3, 1).numpy()
    assert _max.shape == _want_max.shape, f"pool_forward with {_hp}: expected the shape {_want_max.shape}, got {_max.shape}"
    assert np.allclose(_max, _want_max), f"max pooling with {_hp} should agree with F.max_pool2d"
    assert np.allclose(_avg, _want_avg), f"average pooling with {_hp} should agree with F.avg_pool2d"
    assert np.array_equal(_cache[0], A_pool_demo) and _cache[1] == _hp, "the cache is the tuple (A_prev, hparameters)"
assert np.array_equal(pool_forward(A_pool_demo, {"f": 2, "stride": 2})[0], pool_forward(A_pool_demo, {"f": 2, "stride": 2}, "max")[0]), \
    "the default mode is 'max'"
print("pool_forward: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "backward_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. The backward passes
#
# Libraries compute these for you, but writing them once shows where the gradients of a CNN come
# from. The backward pass of a layer receives $dZ = \partial J / \partial Z$ (same shape as
# `Z`) and returns the gradients with respect to the layer's input and parameters.
#
# **Convolution.** Each output $Z[i, h, w, c]$ was $\sum W[:, :, :, c] \odot
# \text{slice} + b[c]$, where the slice is the window of the padded input at $(h, w)$. So every
# output position sends gradient back to the window it read and to the filter it used:
#
# * `dA_prev_pad[i, window] += W[:, :, :, c] * dZ[i, h, w, c]` (the filter, weighted by the
#   output's gradient, added to the window; windows overlap, so **add**, do not assign);
# * `dW[:, :, :, c] += slice * dZ[i, h, w, c]`, summed over all positions **and all examples of
#   the batch** (one filter is shared by all of them);
# * `db[:, :, :, c] += dZ[i, h, w, c]`, also summed over positions and examples.
#
# The loops are those of the forward pass: `vert_start = h * stride`, `vert_end = vert_start + f`,
# likewise for the columns, with the whole filter `W[:, :, :, c]` (all input channels). At the end
# the padding is cut off: `dA_prev` is `dA_prev_pad` without its border of `pad` rows and columns.
# Careful with `X[pad:-pad]`: for `pad = 0` it is `X[0:-0]`, an **empty** array; slice with
# `pad:pad + n_H_prev` instead. (The notes' version has this slice, and also uses `h` for the
# columns' start, `+ stride` instead of `+ f` for their end, and a filter slice with one axis
# missing.)
#
# **Max pooling** passes the gradient of a window to the entry that was the maximum, and nothing
# to the others (they did not affect the output). We use PyTorch's rule for **ties**: the gradient
# goes to the **first** largest entry of the window in row-major order, the one `np.argmax` of the
# flattened window picks (a mask `window == window.max()` would give it to every tied entry, and
# the gradient would be counted twice). **Average pooling** spreads the gradient of a window evenly:
# each of its $f^2$ entries receives `dA[i, h, w, c] / (f * f)`. With overlapping windows an entry
# collects gradient from every window it belongs to, so again **add**.
#
# **How to know a gradient is right.** Compare it with a **centred difference**: for the
# scalar $J = \sum Z \odot dZ$ (whose gradient with respect to `Z` is exactly `dZ`),
# $\partial J / \partial x \approx (J(x + \varepsilon) - J(x - \varepsilon)) / 2\varepsilon$, one entry
# of $x$ at a time, with $\varepsilon \approx 10^{-6}$ in float64. The error of this estimate shrinks
# like $\varepsilon^2$. The cell after the task does this for you, and compares with PyTorch's
# autograd as well.
#
# **Task.** Write `conv_backward(dZ, cache)` (returns `dA_prev, dW, db` of the shapes of
# `A_prev, W, b`) and `pool_backward(dA, cache, mode)` (returns `dA_prev` of the shape of
# `A_prev`). The caches are those of the forward functions.

# %% nbgrader={"grade": false, "grade_id": "conv_backward", "locked": false, "schema_version": 3, "solution": true}
def conv_backward(dZ: np.ndarray, cache: tuple):
    """Backward pass of conv_forward. dZ: (m, n_H, n_W, n_C); cache = (A_prev, W, b, hparameters).

    Returns (dA_prev, dW, db) with the shapes of A_prev (m, n_H_prev, n_W_prev, n_C_prev),
    W (f, f, n_C_prev, n_C) and b (1, 1, 1, n_C), summed over the batch where parameters are shared.
    """
    ### BEGIN SOLUTION
    (A_prev, W, b, hparameters) = cache
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    (m, n_H, n_W, n_C) = dZ.shape
    dA_prev = np.zeros(A_prev.shape)
    dW = np.zeros(W.shape)
    db = np.zeros((1, 1, 1, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = zero_pad(dA_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                for c in range(n_C):
                    da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += W[:, :, :, c] * dZ[i, h, w, c]
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
        dA_prev[i] = da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :]
    return dA_prev, dW, db
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "pool_backward", "locked": false, "schema_version": 3, "solution": true}
def pool_backward(dA: np.ndarray, cache: tuple, mode: str = "max") -> np.ndarray:
    """Backward pass of pool_forward. dA: (m, n_H, n_W, n_C); cache = (A_prev, hparameters).

    max: each window's gradient goes to its first largest entry (row-major order, like
    np.argmax of the flattened window); average: spread evenly over the f * f entries.
    Overlapping windows add up. Returns dA_prev with the shape of A_prev.
    """
    ### BEGIN SOLUTION
    (A_prev, hparameters) = cache
    f = hparameters["f"]
    stride = hparameters["stride"]
    (m, n_H, n_W, n_C) = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            vert_start = h * stride
            for w in range(n_W):
                horiz_start = w * stride
                for c in range(n_C):
                    if mode == "max":
                        window = A_prev[i, vert_start:vert_start + f, horiz_start:horiz_start + f, c]
                        r, q = np.unravel_index(np.argmax(window), window.shape)
                        dA_prev[i, vert_start + r, horiz_start + q, c] += dA[i, h, w, c]
                    elif mode == "average":
                        dA_prev[i, vert_start:vert_start + f, horiz_start:horiz_start + f, c] += dA[i, h, w, c] / (f * f)
                    else:
                        raise ValueError(f"unknown pooling mode {mode!r}")
    return dA_prev
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "gradcheck", "locked": true, "schema_version": 3, "solution": false}
def numerical_gradient(fn, x, upstream, eps=1e-6):
    """Centred differences of J(x) = sum(fn(x) * upstream) with respect to every entry of x."""
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        old = x[index]
        x[index] = old + eps
        plus = np.sum(fn(x) * upstream)
        x[index] = old - eps
        minus = np.sum(fn(x) * upstream)
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


rng = np.random.default_rng(SEED + 2)
A_g = rng.normal(size=(2, 5, 4, 2))
W_g = rng.normal(size=(3, 3, 2, 3))
b_g = rng.normal(size=(1, 1, 1, 3))
hp_g = {"stride": 2, "pad": 1}
Z_g, cache_g = conv_forward(A_g, W_g, b_g, hp_g)
dZ_g = rng.normal(size=Z_g.shape)
dA_g, dW_g, db_g = conv_backward(dZ_g, cache_g)


# the oracle: PyTorch in float64, in its own layout
def torch_conv(A, W, b, hp):
    return F.conv2d(A.permute(0, 3, 1, 2), W.permute(3, 2, 0, 1), b.reshape(-1),
                    stride=hp["stride"], padding=hp["pad"]).permute(0, 2, 3, 1)


_t = [torch.tensor(v, requires_grad=True) for v in (A_g, W_g, b_g)]
(torch_conv(*_t, hp_g) * torch.tensor(dZ_g)).sum().backward()
num_dA = numerical_gradient(lambda a: conv_forward(a, W_g, b_g, hp_g)[0], A_g.copy(), dZ_g)
num_dW = numerical_gradient(lambda w: conv_forward(A_g, w, b_g, hp_g)[0], W_g.copy(), dZ_g)
print("conv_backward, relative error against centred differences:  dA", f"{relative_error(dA_g, num_dA):.1e}",
      "| dW", f"{relative_error(dW_g, num_dW):.1e}")
print("conv_backward, relative error against PyTorch's autograd:    dA", f"{relative_error(dA_g, _t[0].grad.numpy()):.1e}",
      "| dW", f"{relative_error(dW_g, _t[1].grad.numpy()):.1e}", "| db", f"{relative_error(db_g, _t[2].grad.numpy()):.1e}")

A_p = rng.permutation(2 * 6 * 6 * 2).reshape(2, 6, 6, 2) / 10.0        # distinct values: no ties
for _hp, _mode in (({"f": 2, "stride": 2}, "max"), ({"f": 3, "stride": 1}, "max"), ({"f": 3, "stride": 2}, "average")):
    _out, _cache = pool_forward(A_p, _hp, _mode)
    _dA = rng.normal(size=_out.shape)
    _num = numerical_gradient(lambda a: pool_forward(a, _hp, _mode)[0], A_p.copy(), _dA)
    print(f"pool_backward ({_mode}, {_hp}): relative error against centred differences",
          f"{relative_error(pool_backward(_dA, _cache, _mode), _num):.1e}")

# %% nbgrader={"grade": true, "grade_id": "check_backward", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert dA_g.shape == A_g.shape and dW_g.shape == W_g.shape and db_g.shape == (1, 1, 1, 3), \
    "conv_backward returns dA_prev, dW, db with the shapes of A_prev, W and b"
assert np.allclose(dA_g, _t[0].grad.numpy(), atol=1e-8), "dA_prev should agree with PyTorch's autograd"
assert np.allclose(dW_g, _t[1].grad.numpy(), atol=1e-8), "dW should agree with PyTorch's autograd (summed over the batch)"
assert np.allclose(db_g, _t[2].grad.numpy().reshape(1, 1, 1, -1), atol=1e-8), "db is the sum of dZ over the batch and the positions"
_Z0, _c0 = conv_forward(A_g, W_g, b_g, {"stride": 1, "pad": 0})
assert conv_backward(np.ones_like(_Z0), _c0)[0].shape == A_g.shape, "pad = 0 works too (mind the slice X[0:-0])"
_x = torch.tensor(A_p, requires_grad=True)
F.max_pool2d(_x.permute(0, 3, 1, 2), 3, 1).permute(0, 2, 3, 1).sum().backward()
_out, _cache = pool_forward(A_p, {"f": 3, "stride": 1})
assert np.allclose(pool_backward(np.ones_like(_out), _cache), _x.grad.numpy()), \
    "max pooling with overlapping windows: pool_backward should agree with PyTorch's autograd"
_tied = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
assert pool_backward(np.ones((1, 1, 1, 1)), (_tied, {"f": 2, "stride": 2})).reshape(2, 2).tolist() == [[0, 1], [0, 0]], \
    "ties: the gradient goes to the first largest entry in row-major order only"
assert np.allclose(pool_backward(np.full((1, 1, 1, 1), 8.0), (_tied, {"f": 2, "stride": 2}), "average"), 2.0), \
    "average pooling spreads 8 evenly over a 2x2 window: 2 each"
print("backward passes: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "layout_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. NHWC and NCHW
#
# The same numbers, two layouts. To compare your layer with PyTorch (as the checks above do):
#
# | | this notebook (Ng, TensorFlow) | PyTorch |
# |---|---|---|
# | activations | `(m, n_H, n_W, n_C)` | `(m, n_C, n_H, n_W)`: `A.permute(0, 3, 1, 2)` |
# | weights | `(f, f, n_C_prev, n_C)` | `(n_C, n_C_prev, f, f)`: `W.permute(3, 2, 0, 1)` |
# | bias | `(1, 1, 1, n_C)` | `(n_C,)`: `b.reshape(-1)` |
# | padding, stride | `{"pad": p, "stride": s}` | `F.conv2d(x, w, b, stride=s, padding=p)` |
#
# The output comes back with `.permute(0, 2, 3, 1)`. A `reshape` instead of a `permute` would
# give the right shape and scrambled numbers. Both libraries compute the unflipped
# cross-correlation, so no kernel is flipped in the conversion.
#
# ## 8. Classic networks and parameter counts
#
# **LeNet-5** (1998, digits): conv 5x5 with 6 filters, pooling, conv 5x5 with 16 filters,
# pooling, then linear layers 400 → 120 → 84 → 10: about 60,000 parameters (61,706 in the version
# below). The height and width shrink while the channels grow, a pattern still used today.
# **AlexNet** (2012) is similar but far larger (about 60 million parameters, ReLU instead of
# sigmoid and tanh). **VGG-16** uses only 3x3 "same" convolutions with stride 1 and 2x2 max pooling
# with stride 2, doubling the channels (64, 128, 256, 512) after each pooling: about 138 million
# parameters (138,357,544), most of them in its first linear layer.
#
# A parameter is a number the optimizer changes: a weight or bias with `requires_grad=True`.
# The running mean and variance of a batch norm are **buffers**, not parameters, and a frozen
# layer (`requires_grad_(False)`) is not trained. A layer used twice in a model is one set of
# parameters; `model.parameters()` lists it once.
#
# **Task.** Write `count_params(model)`: the number of trainable parameters of a `nn.Module`.

# %% nbgrader={"grade": false, "grade_id": "count_params", "locked": false, "schema_version": 3, "solution": true}
def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (requires_grad=True) of `model`, each shared tensor once;
    buffers (batch-norm running statistics) are not parameters. A Python int."""
    ### BEGIN SOLUTION
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "lenet_demo", "locked": true, "schema_version": 3, "solution": false}
lenet5 = nn.Sequential(
    nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),            # 32x32x1 -> 28x28x6 -> 14x14x6
    nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),           # -> 10x10x16 -> 5x5x16
    nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
print("LeNet-5:", f"{count_params(lenet5):,}", "parameters; output", tuple(lenet5(torch.zeros(1, 1, 32, 32)).shape))
if not FAST:
    from torchvision.models import vgg16
    print("VGG-16:", f"{count_params(vgg16(weights=None)):,}", "parameters")

# %% nbgrader={"grade": true, "grade_id": "check_count_params", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert count_params(lenet5) == 61_706, f"LeNet-5 above has 61,706 parameters, got {count_params(lenet5)}"
_bn = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8))
assert count_params(_bn) == 3 * 8 * 9 + 16, "a batch norm has 2 parameters per channel; its running statistics are buffers"
_frozen = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
_frozen[0].requires_grad_(False)
assert count_params(_frozen) == 8, "frozen parameters are not trainable: only the second layer's 6 + 2 count"
print("count_params: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "resnet_md", "locked": true, "schema_version": 3, "solution": false}
# ## 9. Residual blocks
#
# Deep plain networks are hard to train: past some depth the *training* error grows again,
# although a deeper network could in principle copy a shallower one. A **residual block** adds a
# *shortcut* (skip connection) around two layers:
#
# $$a^{[l+2]} = g\big(z^{[l+2]} + a^{[l]}\big), \qquad z^{[l+2]} = W^{[l+2]} a^{[l+1]} + b^{[l+2]} .$$
#
# The addition comes **before** the activation $g$ (ReLU). Why it helps: if weight decay pushes
# $W^{[l+2]}$ and $b^{[l+2]}$ to zero, the block computes $g(a^{[l]}) = a^{[l]}$ (the input of the
# block is already the output of a ReLU, so it is non-negative): the identity is easy to learn,
# so an extra block does not hurt, and gradient descent can only improve from there. The shortcut
# also gives the gradient a direct path to the early layers. ResNets with 152 layers train well.
#
# In a convolutional ResNet the two layers are 3x3 convolutions, each followed by a batch norm:
#
# ```text
# x ─ conv1 (3x3, stride s, pad 1) ─ bn1 ─ ReLU ─ conv2 (3x3, stride 1, pad 1) ─ bn2 ─(+)─ ReLU ─> out
#  └──────────────────────────── shortcut(x) ──────────────────────────────────────────┘
# ```
#
# The sum needs both branches to have the same shape. When the block keeps the shape
# (`in_c == out_c` and stride 1) the shortcut is the **identity**. Otherwise it is a
# **projection** $W_s a^{[l]}$: a 1x1 convolution with `out_c` filters and the block's **stride**
# (so that it halves the height and width too), followed by a batch norm. The convolutions have no
# bias (`bias=False`): the batch norm after them has its own shift, which would cancel a bias.
#
# **Task.** Write `ResidualBlock(in_c, out_c, stride)` with the attributes `conv1`, `bn1`,
# `conv2`, `bn2` and `shortcut`, where `shortcut` is `nn.Identity()` or
# `nn.Sequential(nn.Conv2d(in_c, out_c, 1, stride=stride, bias=False), nn.BatchNorm2d(out_c))`.
# The grader copies its own weights into these names.

# %% nbgrader={"grade": false, "grade_id": "residual_block", "locked": false, "schema_version": 3, "solution": true}
class ResidualBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)) on NCHW tensors (PyTorch's layout).

    conv1: 3x3, in_c -> out_c, stride `stride`, padding 1, no bias; conv2: 3x3, out_c -> out_c,
    stride 1, padding 1, no bias; bn1, bn2: BatchNorm2d(out_c); shortcut: nn.Identity() when
    in_c == out_c and stride == 1, otherwise nn.Sequential(1x1 conv with stride `stride` and no
    bias, BatchNorm2d(out_c)).
    """

    def __init__(self, in_c: int, out_c: int, stride: int = 1):
        ### BEGIN SOLUTION
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, out_c, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_c)
        self.conv2 = nn.Conv2d(out_c, out_c, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_c)
        if stride == 1 and in_c == out_c:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(in_c, out_c, kernel_size=1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_c))
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "residual_demo", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
for _args in ((8, 8, 1), (8, 16, 2), (8, 8, 2)):
    _block = ResidualBlock(*_args)
    print(f"ResidualBlock{_args}: {tuple(_block(torch.randn(2, _args[0], 10, 10)).shape)},",
          count_params(_block), "parameters, shortcut", type(_block.shortcut).__name__)
identity_block = ResidualBlock(4, 4, 1)
with torch.no_grad():
    identity_block.conv2.weight.zero_()
x_res = torch.randn(3, 4, 6, 6)
print("second conv zeroed: block(x) == relu(x)?", torch.allclose(identity_block(x_res), F.relu(x_res)))

# %% nbgrader={"grade": true, "grade_id": "check_residual", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert tuple(ResidualBlock(8, 8, 1)(torch.randn(2, 8, 10, 10)).shape) == (2, 8, 10, 10), "ResidualBlock(8, 8, 1) keeps the shape"
assert tuple(ResidualBlock(8, 16, 2)(torch.randn(2, 8, 10, 10)).shape) == (2, 16, 5, 5), "ResidualBlock(8, 16, 2) halves height and width"
assert isinstance(ResidualBlock(8, 8, 1).shortcut, nn.Identity), "same shape: the shortcut is nn.Identity()"
assert count_params(ResidualBlock(8, 8, 1)) == 2 * 8 * 8 * 9 + 2 * 2 * 8, "identity block: two 3x3 convolutions and two batch norms"
assert count_params(ResidualBlock(8, 16, 2)) == 8 * 16 * 9 + 16 * 16 * 9 + 8 * 16 + 3 * 2 * 16, \
    "projection block: two 3x3 convolutions, a 1x1 convolution, three batch norms"
assert torch.allclose(identity_block(x_res), F.relu(x_res), atol=1e-6), \
    "with conv2's weights zero the identity block returns relu(x): the addition comes before the last ReLU"
print("ResidualBlock: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "cost_md", "locked": true, "schema_version": 3, "solution": false}
# ## 10. What a convolution costs: 1x1 convolutions, Inception and MobileNet
#
# **A 1x1 convolution** looks at one pixel at a time, but across all its channels: a small fully
# connected network applied to every pixel ("network in network"). With fewer filters than input
# channels it shrinks the number of channels cheaply, the way pooling shrinks height and width.
#
# **Counting multiplications.** Every output number of a convolution costs one multiplication
# per filter weight, $f \cdot f \cdot n_{C,\text{prev}}$, and there are $n_H \cdot n_W \cdot n_C$
# output numbers:
#
# $$\text{cost} = (f \cdot f \cdot n_{C,\text{prev}}) \times (n_H \cdot n_W) \times n_C
# \quad\text{(filter size × output positions × filters).}$$
#
# *Inception's bottleneck.* Turning a $28 \times 28 \times 192$ volume into $28 \times 28 \times 32$
# with 32 "same" 5x5 filters costs $28 \cdot 28 \cdot 32 \cdot 5 \cdot 5 \cdot 192 = 120{,}422{,}400$
# multiplications (about 120 million). First shrinking to 16 channels with a 1x1 convolution costs
# $28 \cdot 28 \cdot 16 \cdot 192 = 2{,}408{,}448$, then the 5x5 convolution on 16 channels
# $28 \cdot 28 \cdot 32 \cdot 5 \cdot 5 \cdot 16 = 10{,}035{,}200$: $12{,}443{,}648$ in total (the
# notes' "2.4M + 10M ≈ 12.4M"), ten times less, with the same output shape.
#
# *MobileNet's depthwise-separable convolution* splits a normal convolution in two:
#
# * a **depthwise** convolution: one $f \times f$ filter **per input channel**, each applied to its
#   own channel only (no sum over channels), so the output has $n_{C,\text{prev}}$ channels:
#   $f \cdot f \times n_H \cdot n_W \times n_{C,\text{prev}}$ multiplications;
# * a **pointwise** convolution: $n_C$ filters of size $1 \times 1 \times n_{C,\text{prev}}$:
#   $n_{C,\text{prev}} \times n_H \cdot n_W \times n_C$ multiplications.
#
# For a $6 \times 6 \times 3$ input, $3 \times 3$ filters and 5 output channels (so a $4 \times 4$
# output): the normal convolution costs $3 \cdot 3 \cdot 3 \cdot 16 \cdot 5 = 2160$, the depthwise
# part $3 \cdot 3 \cdot 16 \cdot 3 = 432$ and the pointwise part $3 \cdot 16 \cdot 5 = 240$:
# $672$, a ratio of $672 / 2160 = 0.311 = 1/5 + 1/9$. In general the ratio is
# $\frac{1}{n_C} + \frac{1}{f^2}$: with $f = 3$ and hundreds of channels, about ten times cheaper.
#
# **Task.** Write `conv_mult_cost(n_H, n_W, f, n_C_prev, n_C)` (the multiplications of a normal
# convolution whose **output** is $n_H \times n_W \times n_C$) and
# `depthwise_separable_cost(n_H, n_W, f, n_C_prev, n_C)`, which returns the pair
# `(depthwise, pointwise)` for the same output. Python ints.

# %% nbgrader={"grade": false, "grade_id": "costs", "locked": false, "schema_version": 3, "solution": true}
def conv_mult_cost(n_H: int, n_W: int, f: int, n_C_prev: int, n_C: int) -> int:
    """Multiplications of a convolution with n_C filters of size f x f x n_C_prev whose output
    is n_H x n_W x n_C: (f * f * n_C_prev) * (n_H * n_W) * n_C."""
    ### BEGIN SOLUTION
    return int(f * f * n_C_prev * n_H * n_W * n_C)
    ### END SOLUTION


def depthwise_separable_cost(n_H: int, n_W: int, f: int, n_C_prev: int, n_C: int) -> tuple:
    """(depthwise, pointwise) multiplications of a depthwise-separable convolution with the
    output n_H x n_W x n_C: one f x f filter per input channel, then n_C filters 1 x 1 x n_C_prev."""
    ### BEGIN SOLUTION
    depthwise = f * f * n_H * n_W * n_C_prev
    pointwise = n_C_prev * n_H * n_W * n_C
    return int(depthwise), int(pointwise)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "cost_demo", "locked": true, "schema_version": 3, "solution": false}
direct = conv_mult_cost(28, 28, 5, 192, 32)
bottleneck = conv_mult_cost(28, 28, 1, 192, 16) + conv_mult_cost(28, 28, 5, 16, 32)
print(f"5x5 conv on 28x28x192 -> 32 channels: {direct:,} multiplications; with a 1x1 bottleneck of 16: {bottleneck:,}")
normal = conv_mult_cost(4, 4, 3, 3, 5)
depthwise, pointwise = depthwise_separable_cost(4, 4, 3, 3, 5)
print(f"MobileNet example: normal {normal}, depthwise {depthwise} + pointwise {pointwise} = {depthwise + pointwise},",
      f"ratio {(depthwise + pointwise) / normal:.3f} = 1/5 + 1/9 = {1 / 5 + 1 / 9:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_costs", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert direct == 120_422_400, f"28 * 28 * 32 * 5 * 5 * 192 = 120,422,400, got {direct:,}"
assert bottleneck == 12_443_648, f"2,408,448 + 10,035,200 = 12,443,648, got {bottleneck:,}"
assert normal == 2160 and (depthwise, pointwise) == (432, 240), "MobileNet's example: 2160 vs 432 + 240"
assert abs((depthwise + pointwise) / normal - (1 / 5 + 1 / 9)) < 1e-12, "the ratio is 1 / n_C + 1 / f^2"
print("costs: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ## 11. A tiny ResNet, trained
#
# Your residual blocks stacked: a 3x3 convolution stem, an identity block, a projection block
# that halves the picture and doubles the channels, global average pooling and a linear layer.
# The pictures are generated: noise with a vertical or a horizontal bright bar somewhere (the
# edge detectors of Section 1 are exactly what the first layer needs). A few Adam steps suffice.

# %% nbgrader={"grade": false, "grade_id": "train_demo", "locked": true, "schema_version": 3, "solution": false}
def make_bars(n, size, generator):
    """Noisy pictures (n, 1, size, size) with a bright vertical (label 0) or horizontal (1) bar."""
    labels = torch.randint(0, 2, (n,), generator=generator)
    where = torch.randint(1, size - 1, (n,), generator=generator)
    pictures = 0.3 * torch.randn(n, 1, size, size, generator=generator)
    for k in range(n):
        if labels[k] == 0:
            pictures[k, 0, :, where[k]] += 1.0
        else:
            pictures[k, 0, where[k], :] += 1.0
    return pictures, labels


torch.manual_seed(SEED)
gen = torch.Generator().manual_seed(SEED)
x_train, y_train = make_bars(256, IMG_SIZE, gen)
x_test, y_test = make_bars(200, IMG_SIZE, gen)
tiny_resnet = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
    ResidualBlock(8, 8, 1), ResidualBlock(8, 16, 2),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2)).to(DEVICE)
optimizer = torch.optim.Adam(tiny_resnet.parameters(), lr=0.01)
losses = []
for step in range(20 if FAST else TRAIN_STEPS):
    batch_idx = torch.randint(0, len(x_train), (32,), generator=gen)
    optimizer.zero_grad()
    loss = F.cross_entropy(tiny_resnet(x_train[batch_idx].to(DEVICE)), y_train[batch_idx].to(DEVICE))
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
tiny_resnet.eval()
with torch.no_grad():
    test_accuracy = (tiny_resnet(x_test.to(DEVICE)).argmax(1).cpu() == y_test).float().mean().item()
print(f"{count_params(tiny_resnet):,} parameters; loss {np.mean(losses[:5]):.3f} -> {np.mean(losses[-5:]):.3f};",
      f"test accuracy {test_accuracy:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_training", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert np.mean(losses[-5:]) < np.mean(losses[:5]), "the training loss should go down"
assert test_accuracy > 0.7, f"the tiny ResNet should tell vertical from horizontal bars, got accuracy {test_accuracy:.3f}"
print("training: all checks passed")
