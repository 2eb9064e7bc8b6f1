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
# # Week 10 (optional companion) — Sequence pieces from scratch: GRU and LSTM cells, word vectors, beam search, attention
#
# This notebook is an **optional companion** of week 10 (the Transformer) that also reaches back
# to week 9 (recurrent networks) and forward to weeks 14-15 (sampling from a language model).
# The weekly exercises *use* `nn.GRU`, `nn.LSTM`, pretrained tokenizers and `generate`; here you
# **build the small pieces yourself in NumPy** and compare each one with the library:
#
# 1. a **GRU cell** and an **LSTM cell** in the notation of Andrew Ng's *Sequence Models* course,
#    re-map PyTorch's `nn.GRUCell` / `nn.LSTMCell` weights into it, and roll a cell over a
#    sequence so that it equals `nn.GRU` / `nn.LSTM`;
# 2. **word vectors**: cosine similarity, analogies ("man is to woman as king is to ?"), and the
#    *neutralise* and *equalise* steps of debiasing (Bolukbasi et al., 2016);
# 3. **beam search** with length normalisation over a toy language model;
# 4. **attention scores** (dot, multiplicative, additive), the softmax weights and the context
#    vector of a sequence-to-sequence decoder.
#
# **Conventions (read them once).** The recurrent cells use Ng's *column* layout: an input batch
# `x` is `(n_x, m)` (features × examples), a hidden state `(n_a, m)`, weights `(n_a, n_a + n_x)`
# that act on the stacked column vector $[a^{\langle t-1 \rangle}; x^{\langle t \rangle}]$
# (previous state **first**), biases `(n_a, 1)`. A sequence is `(n_x, m, T_x)`. Parameters come
# in a dict (`params["Wu"]`, `params["bu"]`, ...). Attention uses the row layout of PyTorch
# (`(batch, ...)`). Everything is NumPy in float64; PyTorch only appears as the thing we compare
# with.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line), keep the names and signatures, run the notebook top to
# bottom. The *Check* cells test a few cases; the grader runs many more on hidden sizes.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True while grading (nothing here trains, so it changes nothing)
DEVICE = "cpu"       # where the PyTorch modules we compare with live ("cuda" works too)
DATA_DIR = "data"    # not used: every number of this notebook is made here
N_X = 3              # input features of the demo cells
N_A = 5              # hidden units of the demo cells
M = 4                # examples in a demo batch
T_X = 6              # length of the demo sequence

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(SEED)
np.random.seed(SEED)
rng = np.random.default_rng(SEED)
print("numpy", np.__version__, "| torch", torch.__version__, "| device", DEVICE)


def sigmoid(z):
    """The logistic function 1 / (1 + exp(-z)), elementwise (given)."""
    return 1.0 / (1.0 + np.exp(-z))


# %% [markdown] nbgrader={"grade": false, "grade_id": "gru_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. The GRU cell
#
# A plain RNN computes $a^{\langle t \rangle} = \tanh(W_a [a^{\langle t-1 \rangle}; x^{\langle t \rangle}] + b_a)$
# and forgets quickly: the gradient through many `tanh` steps vanishes. The **gated recurrent
# unit** keeps a memory cell $c^{\langle t \rangle}$ (for the GRU it is also the output,
# $a^{\langle t \rangle} = c^{\langle t \rangle}$) and two *gates*, vectors of numbers in
# $(0, 1)$ made by a sigmoid:
#
# $$\Gamma_u = \sigma(W_u [c^{\langle t-1 \rangle}; x^{\langle t \rangle}] + b_u) \quad\text{(update gate)}$$
# $$\Gamma_r = \sigma(W_r [c^{\langle t-1 \rangle}; x^{\langle t \rangle}] + b_r) \quad\text{(relevance, or reset, gate)}$$
# $$\tilde c^{\langle t \rangle} = \tanh(W_c [\Gamma_r * c^{\langle t-1 \rangle}; x^{\langle t \rangle}] + b_c) \quad\text{(candidate)}$$
# $$c^{\langle t \rangle} = \Gamma_u * \tilde c^{\langle t \rangle} + (1 - \Gamma_u) * c^{\langle t-1 \rangle}$$
#
# ($*$ is the elementwise product.) When $\Gamma_u \approx 0$ the cell keeps its old value, which
# is how a GRU carries "the cat ... **was**" over many steps. The candidate uses `tanh` (values in
# $(-1, 1)$), the gates use the sigmoid.
#
# **Erratum.** The course notes write $\Gamma_u * c^{\langle t-1 \rangle}$ inside the candidate of
# the full GRU. The gate applied to the previous state there is the **relevance** gate
# $\Gamma_r$; $\Gamma_u$ only mixes the candidate with the old value.
#
# **Two GRUs in the wild.** The formula above (Cho et al. 2014, Ng) applies $\Gamma_r$ to
# $c^{\langle t-1 \rangle}$ *before* the matrix product ("reset before"). PyTorch's `nn.GRUCell`
# (and cuDNN, and Keras with `reset_after=True`) applies it *after* the product and the hidden
# bias: $\tilde c = \tanh(W_{c,x} x + b_c + \Gamma_r * (W_{c,c}\, c^{\langle t-1 \rangle} + b_{c,h}))$,
# where $W_c = [W_{c,c}, W_{c,x}]$ is split into the columns acting on the previous state and the
# columns acting on the input. The two are different functions (a matrix does not commute with an
# elementwise product), so `gru_cell` takes `reset_after=False` (Ng) or `True` (PyTorch). The
# candidate may have a second bias `params["bc_h"]` on its hidden side (PyTorch has one); when it is
# missing it is zero. With `reset_after=False` it is simply added to $b_c$ (it is not gated).
#
# **Task.** Write `gru_cell(xt, c_prev, params, reset_after=False)` returning $c^{\langle t \rangle}$
# of shape `(n_a, m)`. Shapes: `xt (n_x, m)`, `c_prev (n_a, m)`, `Wu, Wr, Wc (n_a, n_a + n_x)`,
# `bu, br, bc (n_a, 1)`, optional `bc_h (n_a, 1)`.

# %% nbgrader={"grade": false, "grade_id": "gru_cell", "locked": false, "schema_version": 3, "solution": true}
def gru_cell(xt, c_prev, params, reset_after=False):
    """One GRU step in Ng's notation; returns c_next (n_a, m).

    reset_after=False: c_tilde = tanh(Wc [Gamma_r * c_prev; xt] + bc + bc_h)
    reset_after=True:  c_tilde = tanh(Wc_x xt + bc + Gamma_r * (Wc_c c_prev + bc_h))
    where Wc = [Wc_c, Wc_x] (the first n_a columns act on c_prev) and bc_h defaults to 0.
    """
    ### BEGIN SOLUTION
    n_a = c_prev.shape[0]
    concat = np.concatenate([c_prev, xt], axis=0)
    gamma_u = sigmoid(params["Wu"] @ concat + params["bu"])
    gamma_r = sigmoid(params["Wr"] @ concat + params["br"])
    bc_h = params.get("bc_h", 0.0)
    Wc_c, Wc_x = params["Wc"][:, :n_a], params["Wc"][:, n_a:]
    if reset_after:
        c_tilde = np.tanh(Wc_x @ xt + params["bc"] + gamma_r * (Wc_c @ c_prev + bc_h))
    else:
        c_tilde = np.tanh(Wc_c @ (gamma_r * c_prev) + Wc_x @ xt + params["bc"] + bc_h)
    return gamma_u * c_tilde + (1 - gamma_u) * c_prev
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "demo_params", "locked": true, "schema_version": 3, "solution": false}
def random_params(names, n_a, n_x, rng):
    """A dict of random weights (n_a, n_a + n_x) and biases (n_a, 1) for the given gate names."""
    params = {}
    for name in names:
        params["W" + name] = rng.normal(size=(n_a, n_a + n_x)) * 0.5
        params["b" + name] = rng.normal(size=(n_a, 1)) * 0.1
    return params


gru_params = random_params(["u", "r", "c"], N_A, N_X, rng)
x_demo = rng.normal(size=(N_X, M))
c_demo = rng.normal(size=(N_A, M)) * 0.5
print("c_next shape:", gru_cell(x_demo, c_demo, gru_params).shape)

# %% nbgrader={"grade": true, "grade_id": "check_gru_cell", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# Check: shape, and what the gates do when they are saturated (closed forms, no other code).
out = gru_cell(x_demo, c_demo, gru_params)
assert out.shape == (N_A, M), f"gru_cell should return (n_a, m) = {(N_A, M)}, got {out.shape}"
keep = dict(gru_params, bu=np.full((N_A, 1), -50.0))          # Gamma_u = 0: keep the old value
assert np.allclose(gru_cell(x_demo, c_demo, keep), c_demo), \
    "with Gamma_u = 0 (bu = -50) the cell must return c_prev: c = Gamma_u*c_tilde + (1-Gamma_u)*c_prev"
take = dict(gru_params, bu=np.full((N_A, 1), 50.0), br=np.full((N_A, 1), -50.0))   # Gamma_u = 1, Gamma_r = 0
expected = np.tanh(gru_params["Wc"][:, N_A:] @ x_demo + gru_params["bc"])
assert np.allclose(gru_cell(x_demo, c_demo, take), expected), \
    "with Gamma_u = 1 and Gamma_r = 0 the cell must return tanh(Wc_x x + bc): the candidate ignores c_prev"
zero = {k: np.zeros_like(v) for k, v in gru_params.items()}    # all gates 0.5, candidate tanh(0) = 0
assert np.allclose(gru_cell(x_demo, c_demo, zero), 0.5 * c_demo), "with zero weights c_next = 0.5 * c_prev"
print("gru_cell checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "lstm_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. The LSTM cell
#
# The **long short-term memory** cell separates the memory $c$ from the output $a$ and uses three
# gates; the forget gate replaces the GRU's $1 - \Gamma_u$:
#
# $$\tilde c^{\langle t \rangle} = \tanh(W_c [a^{\langle t-1 \rangle}; x^{\langle t \rangle}] + b_c)$$
# $$\Gamma_u = \sigma(W_u [\cdot] + b_u), \quad \Gamma_f = \sigma(W_f [\cdot] + b_f), \quad \Gamma_o = \sigma(W_o [\cdot] + b_o)$$
# $$c^{\langle t \rangle} = \Gamma_u * \tilde c^{\langle t \rangle} + \Gamma_f * c^{\langle t-1 \rangle}, \qquad
#   a^{\langle t \rangle} = \Gamma_o * \tanh(c^{\langle t \rangle})$$
#
# where $[\cdot] = [a^{\langle t-1 \rangle}; x^{\langle t \rangle}]$. Unlike the GRU the update and
# forget gates are independent: the cell can both keep the old memory and add new content.
#
# **Task.** Write `lstm_cell(xt, a_prev, c_prev, params)` returning the pair `(a_next, c_next)`,
# both `(n_a, m)`; `params` has `Wf, bf, Wu, bu, Wc, bc, Wo, bo`.

# %% nbgrader={"grade": false, "grade_id": "lstm_cell", "locked": false, "schema_version": 3, "solution": true}
def lstm_cell(xt, a_prev, c_prev, params):
    """One LSTM step in Ng's notation; returns (a_next, c_next), each (n_a, m)."""
    ### BEGIN SOLUTION
    concat = np.concatenate([a_prev, xt], axis=0)
    gamma_f = sigmoid(params["Wf"] @ concat + params["bf"])
    gamma_u = sigmoid(params["Wu"] @ concat + params["bu"])
    gamma_o = sigmoid(params["Wo"] @ concat + params["bo"])
    c_tilde = np.tanh(params["Wc"] @ concat + params["bc"])
    c_next = gamma_u * c_tilde + gamma_f * c_prev
    a_next = gamma_o * np.tanh(c_next)
    return a_next, c_next
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_lstm_cell", "locked": true, "points": 0, "schema_version": 3, "solution": false}
lstm_params = random_params(["f", "u", "c", "o"], N_A, N_X, rng)
a_demo = rng.normal(size=(N_A, M)) * 0.5
result = lstm_cell(x_demo, a_demo, c_demo, lstm_params)
assert isinstance(result, tuple) and len(result) == 2, "lstm_cell should return the pair (a_next, c_next)"
assert result[0].shape == (N_A, M) and result[1].shape == (N_A, M), "a_next and c_next should both be (n_a, m)"
big = np.full((N_A, 1), 50.0)
# forget = 1, update = 0, output = 1: the memory is kept and a = tanh(c_prev)
kept = dict(lstm_params, bf=big, bu=-big, bo=big)
a_next, c_next = lstm_cell(x_demo, a_demo, c_demo, kept)
assert np.allclose(c_next, c_demo) and np.allclose(a_next, np.tanh(c_demo)), \
    "with Gamma_f = 1, Gamma_u = 0, Gamma_o = 1 the cell must keep c_prev and output tanh(c_prev)"
# forget = 0, update = 1: the memory becomes the candidate tanh(Wc [a; x] + bc)
fresh = dict(lstm_params, bf=-big, bu=big, bo=big)
concat = np.vstack([a_demo, x_demo])
assert np.allclose(lstm_cell(x_demo, a_demo, c_demo, fresh)[1], np.tanh(lstm_params["Wc"] @ concat + lstm_params["bc"])), \
    "with Gamma_f = 0 and Gamma_u = 1, c_next must be the candidate tanh(Wc [a_prev; x] + bc) (a_prev stacked first)"
print("lstm_cell checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "mapping_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. From PyTorch's cells to Ng's notation
#
# PyTorch stores the weights of all gates **stacked** in two matrices, one for the input and one
# for the hidden state, each in the layout of `nn.Linear` (`(out, in)`), and adds *two* biases:
#
# | | `weight_ih` `(k·H, n_x)` | `weight_hh` `(k·H, H)` | rows, in this order |
# |---|---|---|---|
# | `nn.GRUCell` | $W_{ir}, W_{iz}, W_{in}$ | $W_{hr}, W_{hz}, W_{hn}$ | r, z, n |
# | `nn.LSTMCell` | $W_{ii}, W_{if}, W_{ig}, W_{io}$ | $W_{hi}, W_{hf}, W_{hg}, W_{ho}$ | i, f, g, o |
#
# The GRU of PyTorch computes
# $r = \sigma(W_{ir}x + b_{ir} + W_{hr}h + b_{hr})$, $z = \sigma(W_{iz}x + b_{iz} + W_{hz}h + b_{hz})$,
# $n = \tanh(W_{in}x + b_{in} + r * (W_{hn}h + b_{hn}))$ and $h' = (1 - z) * n + z * h$.
# So its $z$ is the **keep** gate: Ng's update gate is $\Gamma_u = 1 - z = \sigma(-(\ldots))$,
# i.e. **negate** $z$'s weights and biases. The mapping, with $W = [W_{h\cdot}, W_{i\cdot}]$
# (hidden columns first, as in $[c; x]$):
#
# * GRU: $W_u = -[W_{hz}, W_{iz}]$, $b_u = -(b_{iz} + b_{hz})$; $W_r = [W_{hr}, W_{ir}]$,
#   $b_r = b_{ir} + b_{hr}$; $W_c = [W_{hn}, W_{in}]$, $b_c = b_{in}$, $b_{c,h} = b_{hn}$ (kept
#   apart: it is multiplied by $r$), and the cell is run with `reset_after=True`.
# * LSTM: $i \to \Gamma_u$, $f \to \Gamma_f$, $g \to \tilde c$ (the `tanh` one), $o \to \Gamma_o$;
#   each bias is $b_{i\cdot} + b_{h\cdot}$.
#
# A cell made with `bias=False` has `bias_ih = bias_hh = None`: the biases are then zeros.
#
# **Task.** Write `params_from_torch(cell)` for an `nn.GRUCell` (keys `Wu, bu, Wr, br, Wc, bc,
# bc_h`) or an `nn.LSTMCell` (keys `Wf, bf, Wu, bu, Wc, bc, Wo, bo`), returning float64 NumPy
# arrays (biases `(H, 1)`). The cell may live on any device. Then write
# `rnn_forward(x, a0, params, cell="gru", reset_after=False)` that runs `gru_cell` or `lstm_cell`
# (the LSTM memory starts at zero) over `x (n_x, m, T_x)` and returns every hidden state,
# `(n_a, m, T_x)`.

# %% nbgrader={"grade": false, "grade_id": "params_from_torch", "locked": false, "schema_version": 3, "solution": true}
def params_from_torch(cell):
    """Ng-style parameter dict (float64 NumPy) of an nn.GRUCell or nn.LSTMCell."""
    ### BEGIN SOLUTION
    H = cell.hidden_size

    def arr(t):
        return t.detach().cpu().double().numpy()

    w_ih, w_hh = arr(cell.weight_ih), arr(cell.weight_hh)
    if cell.bias_ih is None:
        b_ih = b_hh = np.zeros(w_ih.shape[0])
    else:
        b_ih, b_hh = arr(cell.bias_ih), arr(cell.bias_hh)

    def W(k):
        return np.concatenate([w_hh[k * H:(k + 1) * H], w_ih[k * H:(k + 1) * H]], axis=1)

    def b(k, which=(True, True)):
        total = np.zeros(H)
        if which[0]:
            total = total + b_ih[k * H:(k + 1) * H]
        if which[1]:
            total = total + b_hh[k * H:(k + 1) * H]
        return total.reshape(H, 1)

    if isinstance(cell, nn.GRUCell):
        return {"Wr": W(0), "br": b(0), "Wu": -W(1), "bu": -b(1), "Wc": W(2),
                "bc": b(2, (True, False)), "bc_h": b(2, (False, True))}
    if isinstance(cell, nn.LSTMCell):
        return {"Wu": W(0), "bu": b(0), "Wf": W(1), "bf": b(1), "Wc": W(2), "bc": b(2),
                "Wo": W(3), "bo": b(3)}
    raise TypeError(f"expected an nn.GRUCell or nn.LSTMCell, got {type(cell).__name__}")
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "rnn_forward", "locked": false, "schema_version": 3, "solution": true}
def rnn_forward(x, a0, params, cell="gru", reset_after=False):
    """Run gru_cell or lstm_cell over x (n_x, m, T_x) from a0 (n_a, m); returns a (n_a, m, T_x)."""
    ### BEGIN SOLUTION
    n_a, m = a0.shape
    T_x = x.shape[2]
    a = np.zeros((n_a, m, T_x))
    a_t, c_t = a0, np.zeros_like(a0)
    for t in range(T_x):
        if cell == "gru":
            a_t = gru_cell(x[:, :, t], a_t, params, reset_after=reset_after)
        else:
            a_t, c_t = lstm_cell(x[:, :, t], a_t, c_t, params)
        a[:, :, t] = a_t
    return a
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_params_from_torch", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# Check: your cells with re-mapped weights against PyTorch's (computed by PyTorch, not by your code).
TOL = 1e-5 if str(DEVICE) == "cpu" else 3e-3   # a GPU may multiply float32 matrices in TF32
torch.manual_seed(SEED)
t_gru = nn.GRUCell(N_X, N_A).to(DEVICE)
t_lstm = nn.LSTMCell(N_X, N_A).to(DEVICE)
xt_t = torch.tensor(x_demo.T, dtype=torch.float32, device=DEVICE)          # PyTorch: (m, n_x)
h_t = torch.tensor(c_demo.T, dtype=torch.float32, device=DEVICE)
with torch.no_grad():
    want_gru = t_gru(xt_t, h_t).cpu().double().numpy().T
    want_a, want_c = (v.cpu().double().numpy().T for v in t_lstm(xt_t, (h_t, h_t)))
p_gru = params_from_torch(t_gru)
assert set(p_gru) == {"Wu", "bu", "Wr", "br", "Wc", "bc", "bc_h"}, f"GRU keys: got {sorted(p_gru)}"
assert p_gru["Wu"].shape == (N_A, N_A + N_X) and p_gru["bu"].shape == (N_A, 1), "Wu (n_a, n_a + n_x), bu (n_a, 1)"
assert np.allclose(gru_cell(x_demo, c_demo, p_gru, reset_after=True), want_gru, atol=TOL), \
    "gru_cell(..., params_from_torch(gru), reset_after=True) should equal nn.GRUCell: is Gamma_u = 1 - z?"
p_lstm = params_from_torch(t_lstm)
got_a, got_c = lstm_cell(x_demo, c_demo, c_demo, p_lstm)
assert np.allclose(got_c, want_c, atol=TOL) and np.allclose(got_a, want_a, atol=TOL), \
    "lstm_cell with params_from_torch(lstm) should equal nn.LSTMCell: PyTorch stacks the gates as i, f, g, o"
# the whole sequence against nn.GRU / nn.LSTM (one layer; their weights copied into the cells above)
x_seq = rng.normal(size=(N_X, M, T_X))
a0 = rng.normal(size=(N_A, M)) * 0.5
for name, module, cell_t in [("gru", nn.GRU(N_X, N_A), t_gru), ("lstm", nn.LSTM(N_X, N_A), t_lstm)]:
    module = module.to(DEVICE)
    with torch.no_grad():
        for p in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]:
            getattr(cell_t, p).copy_(getattr(module, p + "_l0"))
        h0 = torch.tensor(a0.T[None], dtype=torch.float32, device=DEVICE)
        state = h0 if name == "gru" else (h0, torch.zeros_like(h0))
        out_t = module(torch.tensor(x_seq.transpose(2, 1, 0), dtype=torch.float32, device=DEVICE), state)[0]
    want = out_t.cpu().double().numpy().transpose(2, 1, 0)                   # (T, m, n_a) -> (n_a, m, T)
    got = rnn_forward(x_seq, a0, params_from_torch(cell_t), cell=name, reset_after=True)
    assert got.shape == (N_A, M, T_X), f"rnn_forward should return (n_a, m, T_x), got {got.shape}"
    assert np.allclose(got, want, atol=TOL), f"rnn_forward(cell='{name}') should equal nn.{name.upper()}"
print("params_from_torch and rnn_forward checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "words_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Word vectors: similarity and analogies
#
# A word embedding gives each word a vector; directions in the space carry meaning. The lecture's
# hand-made table has four interpretable features (real embeddings learn 50-300 unnamed ones):
#
# | | Man | Woman | King | Queen | Apple | Orange |
# |---|---|---|---|---|---|---|
# | Gender | −1 | 1 | −0.95 | 0.97 | 0.00 | 0.01 |
# | Royal | 0.01 | 0.02 | 0.93 | 0.95 | −0.01 | 0.00 |
# | Age | 0.03 | 0.02 | 0.70 | 0.69 | 0.03 | −0.02 |
# | Food | 0.09 | 0.01 | 0.02 | 0.01 | 0.95 | 0.97 |
#
# Here $e_{man} - e_{woman} = [-2, -0.01, 0.01, 0.08] \approx [-2, 0, 0, 0]$ and
# $e_{king} - e_{queen} = [-1.92, -0.02, 0.01, 0.01] \approx [-2, 0, 0, 0]$: the same "gender"
# direction. So "man is to woman as king is to ?" asks for the word $w$ whose vector is closest
# to $e_{king} - e_{man} + e_{woman}$, measured by the **cosine similarity**
#
# $$\text{sim}(u, v) = \frac{u^\top v}{\lVert u \rVert_2 \lVert v \rVert_2} = \cos\phi,$$
#
# which ignores the vectors' lengths (1: same direction, 0: orthogonal, −1: opposite).
#
# **The trap.** The nearest word to $e_c - e_a + e_b$ is very often one of the three input words
# themselves (usually $c$ or $b$). The search must **skip the input words**, compared without
# regard to case ("King" is "king").
#
# **Task.** Write `cosine_similarity(u, v)` (1-D arrays, returns a float) and
# `complete_analogy(word_a, word_b, word_c, table)`: `table` maps lower-case words to 1-D vectors;
# return the word $w$ (a key of the table, not one of the inputs) that maximises
# $\text{sim}(e_w, e_c - e_a + e_b)$.

# %% nbgrader={"grade": false, "grade_id": "word_table", "locked": true, "schema_version": 3, "solution": false}
FEATURES = ["gender", "royal", "age", "food"]
TABLE = {
    "man":    np.array([-1.00, 0.01, 0.03, 0.09]),
    "woman":  np.array([1.00, 0.02, 0.02, 0.01]),
    "king":   np.array([-0.95, 0.93, 0.70, 0.02]),
    "queen":  np.array([0.97, 0.95, 0.69, 0.01]),
    "apple":  np.array([0.00, -0.01, 0.03, 0.95]),
    "orange": np.array([0.01, 0.00, -0.02, 0.97]),
}
print("e_man - e_woman  =", TABLE["man"] - TABLE["woman"])
print("e_king - e_queen =", TABLE["king"] - TABLE["queen"])


# %% nbgrader={"grade": false, "grade_id": "cosine_similarity", "locked": false, "schema_version": 3, "solution": true}
def cosine_similarity(u, v):
    """cos of the angle between the 1-D arrays u and v, as a float."""
    ### BEGIN SOLUTION
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "complete_analogy", "locked": false, "schema_version": 3, "solution": true}
def complete_analogy(word_a, word_b, word_c, table):
    """a is to b as c is to ?: the table's word (not a, b or c) closest to e_c - e_a + e_b."""
    ### BEGIN SOLUTION
    word_a, word_b, word_c = word_a.lower(), word_b.lower(), word_c.lower()
    target = table[word_c] - table[word_a] + table[word_b]
    best_word, best_sim = None, -np.inf
    for word, vector in table.items():
        if word.lower() in (word_a, word_b, word_c):
            continue
        sim = cosine_similarity(vector, target)
        if sim > best_sim:
            best_word, best_sim = word, sim
    return best_word
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_words", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert abs(cosine_similarity(np.array([1.0, 0.0]), np.array([3.0, 3.0])) - math.sqrt(0.5)) < 1e-12, \
    "cos([1, 0], [3, 3]) = 3 / (1 * sqrt(18)) = 0.7071: divide by both norms"
assert abs(cosine_similarity(np.array([2.0, 1.0]), np.array([-4.0, -2.0])) + 1) < 1e-12, "opposite vectors: -1"
assert complete_analogy("man", "woman", "king", TABLE) == "queen", "man : woman :: king : queen"
assert complete_analogy("Woman", "Man", "Queen", TABLE) == "king", \
    "woman : man :: queen : king (the input words are skipped whatever their case)"
print("word-vector checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "debias_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Debiasing: neutralise and equalise
#
# Embeddings learned from text pick up its biases: "receptionist" lies closer to "woman" than to
# "man". Bolukbasi et al. (2016) remove the component along a **bias axis** $g$ (for gender,
# e.g. $g = e_{woman} - e_{man}$, or an average of several such differences):
#
# * **Neutralise** a word that should carry no gender (receptionist, doctor): remove its
#   projection on $g$,
#   $$e^{bias} = \frac{e \cdot g}{\lVert g \rVert_2^2}\, g, \qquad e^{debiased} = e - e^{bias}.$$
#   The result is orthogonal to $g$. (Divide by $\lVert g\rVert^2$, not $\lVert g\rVert$: the
#   projection of $e$ on the *direction* $g / \lVert g \rVert$ times that direction.)
# * **Equalise** a pair that should differ *only* in gender (actor/actress, grandmother/
#   grandfather): make the two words symmetric about the axis, so that every neutralised word is
#   equally far from both. With $\mu = (e_{w1} + e_{w2})/2$, its parts
#   $\mu_B = \frac{\mu \cdot g}{\lVert g \rVert^2} g$ and $\mu_\perp = \mu - \mu_B$, and each
#   word's projection $e_{wB} = \frac{e_w \cdot g}{\lVert g \rVert^2} g$:
#   $$e_{w}^{new} = \mu_\perp + \sqrt{\lvert 1 - \lVert \mu_\perp \rVert^2 \rvert}\;
#     \frac{e_{wB} - \mu_B}{\lVert e_{wB} - \mu_B \rVert}.$$
#   Both words share the part $\mu_\perp$ orthogonal to $g$ and have opposite parts along $g$;
#   for unit-length input vectors (the method assumes normalised embeddings) both results have
#   length 1. (This is the paper's formula. The Coursera assignment divides by
#   $\lVert e_w - \mu_\perp - \mu_B \rVert$ instead, which gives the same symmetry but not unit
#   length when the two words also differ off the axis.)
#
# **Task.** Write `neutralize(e, g)` and `equalize(pair, bias_axis, table)`; `pair` is a pair of
# words (keys of `table`), and `equalize` returns the two new vectors `(e1, e2)` without changing
# the table.

# %% nbgrader={"grade": false, "grade_id": "neutralize", "locked": false, "schema_version": 3, "solution": true}
def neutralize(e, g):
    """e without its component along the bias axis g (1-D arrays)."""
    ### BEGIN SOLUTION
    e_bias = (np.dot(e, g) / np.dot(g, g)) * g
    return e - e_bias
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "equalize", "locked": false, "schema_version": 3, "solution": true}
def equalize(pair, bias_axis, table):
    """The equalised vectors (e1, e2) of the two words in pair (Bolukbasi et al.)."""
    ### BEGIN SOLUTION
    g = bias_axis
    w1, w2 = pair
    e_w1, e_w2 = table[w1], table[w2]
    mu = (e_w1 + e_w2) / 2
    mu_B = (np.dot(mu, g) / np.dot(g, g)) * g
    mu_orth = mu - mu_B
    e_w1B = (np.dot(e_w1, g) / np.dot(g, g)) * g
    e_w2B = (np.dot(e_w2, g) / np.dot(g, g)) * g
    scale = np.sqrt(np.abs(1 - np.dot(mu_orth, mu_orth)))
    e1 = mu_orth + scale * (e_w1B - mu_B) / np.linalg.norm(e_w1B - mu_B)
    e2 = mu_orth + scale * (e_w2B - mu_B) / np.linalg.norm(e_w2B - mu_B)
    return e1, e2
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_debias", "locked": true, "points": 0, "schema_version": 3, "solution": false}
g = TABLE["woman"] - TABLE["man"]
unit = {w: v / np.linalg.norm(v) for w, v in TABLE.items()}
print("cos(king, g) before:", round(cosine_similarity(unit["king"], g), 4))
king_n = neutralize(unit["king"], g)
print("cos(king, g) after: ", round(cosine_similarity(king_n, g), 4))
assert abs(np.dot(king_n, g)) < 1e-10, "the neutralised vector must be orthogonal to g"
assert np.allclose(neutralize(np.array([3.0, 4.0]), np.array([2.0, 0.0])), [0.0, 4.0]), \
    "neutralize([3, 4], g=[2, 0]) = [0, 4]: divide e.g by ||g||^2 = 4, not by ||g||"
e1, e2 = equalize(("king", "queen"), g, unit)
assert abs(np.linalg.norm(e1) - np.linalg.norm(e2)) < 1e-10, "equalised words must have the same norm"
assert abs(np.dot(e1 + e2, g)) < 1e-10, "equalised words are symmetric: (e1 + e2) has no part along g"
assert np.allclose(neutralize(e1 - e2, g), 0, atol=1e-10), "equalised words differ only along g"
assert abs(np.linalg.norm(e1) - 1) < 1e-10, "for unit inputs the equalised vectors have length 1"
print("equalised king, queen:", np.round(e1, 3), np.round(e2, 3))

# %% [markdown] nbgrader={"grade": false, "grade_id": "beam_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Beam search with length normalisation
#
# A conditional language model gives $P(y^{\langle t \rangle} \mid x, y^{\langle 1 \rangle}, \ldots,
# y^{\langle t-1 \rangle})$; we want the sentence with the largest $P(y \mid x) = \prod_t P(\ldots)$,
# in practice the largest sum of **log**-probabilities (a product of many small numbers underflows).
# **Greedy** decoding takes the single most likely word at each step; it can miss the best
# sentence ("going" is more frequent than "visiting", yet "Jane is visiting ..." is better).
# **Beam search** with width $k$ keeps the $k$ best partial sentences:
#
# 1. start with the one hypothesis `(start,)` of score 0;
# 2. at each step extend every *open* hypothesis by every token of the vocabulary (score = old
#    score + log-probability of the token), and keep the $k$ best of all these candidates,
#    ranked by their score (the sum of log-probabilities);
# 3. a kept candidate that ends with `eos`, or has reached `max_len` generated tokens, is
#    **finished**: it is set aside and never extended again; the others stay open. Stop when no
#    hypothesis is open.
# 4. among all finished hypotheses return the one with the best **normalised** score
#    $\frac{1}{T_y^{\alpha}} \sum_{t=1}^{T_y} \log P(y^{\langle t \rangle} \mid \ldots)$, where
#    $T_y$ counts the generated tokens (including `eos`, **not** the start token).
#
# Without normalisation ($\alpha = 0$) every extra token multiplies in a probability below one, so
# short outputs win; $\alpha = 1$ compares the average log-probability per token; $\alpha = 0.7$
# is the usual compromise. Width $k = 1$ is exactly greedy decoding. A larger $k$ finds better
# sentences and costs more; beam search is not guaranteed to find the best one (if
# $P(y^* \mid x) > P(\hat y \mid x)$ for the human translation $y^*$, the search is at fault,
# otherwise the model).
#
# **Task.** Write `beam_search(step_logprobs, start, k, max_len, eos, alpha=0.7)`.
# `step_logprobs(prefix)` takes a tuple of token ids (starting with `start`) and returns a 1-D
# array of log-probabilities of the next token (length = vocabulary size). Return the pair
# `(tokens, score)`: the best finished hypothesis as a list of generated ids (without the start
# token; ending with `eos` if it was produced) and its normalised score as a float.

# %% nbgrader={"grade": false, "grade_id": "beam_search", "locked": false, "schema_version": 3, "solution": true}
def beam_search(step_logprobs, start, k, max_len, eos, alpha=0.7):
    """Best (tokens, normalised score) found by beam search of width k."""
    ### BEGIN SOLUTION
    beams = [((start,), 0.0)]
    finished = []
    while beams:
        candidates = []
        for prefix, score in beams:
            logp = np.asarray(step_logprobs(prefix), dtype=float)
            for token in range(len(logp)):
                candidates.append((prefix + (token,), score + float(logp[token])))
        candidates.sort(key=lambda c: c[1], reverse=True)
        beams = []
        for prefix, score in candidates[:k]:
            if prefix[-1] == eos or len(prefix) - 1 >= max_len:
                finished.append((prefix, score))
            else:
                beams.append((prefix, score))

    def normalised(hyp):
        return hyp[1] / (len(hyp[0]) - 1) ** alpha

    best = max(finished, key=normalised)
    return list(best[0][1:]), float(normalised(best))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "toy_lm", "locked": true, "schema_version": 3, "solution": false}
# A toy language model: the next-token distribution depends on the last token only (a bigram
# table). Tokens: 0 = <eos>, 1 = <start>, 2.. = words.
def table_lm(probs):
    """step_logprobs for a bigram table probs[last_token] -> distribution of the next token."""
    with np.errstate(divide="ignore"):                  # log 0 = -inf: a token that never comes
        logp = np.log(np.asarray(probs, dtype=float))
    return lambda prefix: logp[prefix[-1]]


# P(eos | start) = 0.4 beats every single word, but "2 then eos" has 0.35 * 0.9 = 0.315 spread
# over two tokens: with alpha = 1 its average log-probability is better.
TOY = [[1.0, 0.0, 0.0, 0.0],        # after eos (never used)
       [0.4, 0.0, 0.35, 0.25],      # after start
       [0.9, 0.0, 0.05, 0.05],      # after word 2
       [0.3, 0.0, 0.3, 0.4]]        # after word 3
lm = table_lm(TOY)
for alpha in [0.0, 0.7, 1.0]:
    print(f"alpha={alpha}: width 1 ->", beam_search(lm, 1, 1, 5, 0, alpha), "| width 3 ->", beam_search(lm, 1, 3, 5, 0, alpha))

# %% nbgrader={"grade": true, "grade_id": "check_beam_search", "locked": true, "points": 0, "schema_version": 3, "solution": false}
tokens, score = beam_search(lm, 1, 3, 5, 0, alpha=0.0)
assert tokens == [0] and abs(score - math.log(0.4)) < 1e-9, \
    f"alpha = 0: the best is [eos] with log 0.4 = {math.log(0.4):.4f}; got {tokens}, {score}"
tokens, score = beam_search(lm, 1, 3, 5, 0, alpha=1.0)
assert tokens == [2, 0] and abs(score - math.log(0.315) / 2) < 1e-9, \
    f"alpha = 1: the best is [2, eos] with log(0.35 * 0.9) / 2 = {math.log(0.315) / 2:.4f}; got {tokens}, {score}"
# width 1 is greedy: the most likely token each time, here eos at once
assert beam_search(lm, 1, 1, 5, 0, alpha=1.0)[0] == [0], "width 1 must be greedy: eos (0.4) is the best first token"
# no eos is ever likely: the hypotheses stop at max_len generated tokens
loop = table_lm([[1, 0, 0, 0], [0.01, 0, 0.99, 0], [0.01, 0, 0.98, 0.01], [0.01, 0, 0.01, 0.98]])
tokens, score = beam_search(loop, 1, 2, 4, 0, alpha=0.0)
assert tokens == [2, 2, 2, 2], f"a hypothesis stops after max_len = 4 generated tokens; got {tokens}"
print("beam_search checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ### Beam search over a trained model
#
# The toy tables above were written by hand. Here a tiny GRU language model (PyTorch's `nn.GRU`,
# trained for a few seconds on `DEVICE`) learns from five "sentences" in which the most frequent
# first word leads to unlikely continuations: greedy decoding commits to that first word, while
# a beam keeps the alternatives and finds a more probable sentence. `step_logprobs` runs the
# model on the prefix and returns the log-softmax of its last output.

# %% nbgrader={"grade": false, "grade_id": "train_demo", "locked": true, "schema_version": 3, "solution": false}
EOS, START = 0, 1
# word 2 starts most sentences, but what follows it is spread over three words; word 3 is always
# followed by 6 and then the end: P([3, 6, eos]) = 0.4 beats every sentence that starts with 2.
SENTENCES = [[2, 4, 0], [2, 5, 0], [2, 7, 0], [3, 6, 0], [3, 6, 0]] * 4 + [[2, 4, 0]] * 2
VOCAB = 8
torch.manual_seed(SEED)
embed = nn.Embedding(VOCAB, 16).to(DEVICE)
gru = nn.GRU(16, 32, batch_first=True).to(DEVICE)
head = nn.Linear(32, VOCAB).to(DEVICE)
model_params = list(embed.parameters()) + list(gru.parameters()) + list(head.parameters())
optimizer = torch.optim.Adam(model_params, lr=0.03)
data = torch.tensor([[START] + s for s in SENTENCES], device=DEVICE)
inputs, targets = data[:, :-1], data[:, 1:]
for step in range(60 if FAST else 200):
    logits = head(gru(embed(inputs))[0])
    loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"training loss after {step + 1} steps: {loss.item():.3f}")


@torch.no_grad()
def gru_step_logprobs(prefix):
    ids = torch.tensor([list(prefix)], device=DEVICE)
    return torch.log_softmax(head(gru(embed(ids))[0])[0, -1], dim=-1).cpu().double().numpy()


for width in [1, 2, 3]:
    tokens, score = beam_search(gru_step_logprobs, START, width, 4, EOS, alpha=0.7)
    print(f"width {width}: {tokens}  normalised log-probability {score:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_trained_beam", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# The model has learned the sentence frequencies (the loss floor, the entropy of the data, is about 0.45).
assert beam_search(gru_step_logprobs, START, 1, 4, EOS, alpha=0.7)[0] == [2, 4, 0], \
    "greedy decoding takes the frequent first word 2 and then its most likely follower 4"
assert beam_search(gru_step_logprobs, START, 2, 4, EOS, alpha=0.7)[0] == [3, 6, 0], \
    "a beam of width 2 keeps the start 3 and finds the more probable sentence [3, 6, eos]"
print("beam search over the trained GRU: checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "attention_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Attention scores and the context vector
#
# In a sequence-to-sequence model the decoder state $s_t$ looks at the encoder's hidden states
# $h_1, \ldots, h_N$. It scores each of them, turns the scores into weights with a softmax over
# the $N$ positions, and reads a **context vector**, the weighted average of the $h_i$:
#
# $$e_i = \text{score}(s_t, h_i), \qquad \alpha_i = \frac{\exp(e_i)}{\sum_{j=1}^N \exp(e_j)}, \qquad
#   a_t = \sum_{i=1}^N \alpha_i h_i .$$
#
# Three classic scores (CS224n):
#
# * **dot**: $e_i = s^\top h_i$ (needs $d_s = d_h$);
# * **multiplicative** (Luong): $e_i = s^\top W h_i$ with $W$ of shape $(d_s, d_h)$;
# * **additive** (Bahdanau): $e_i = v^\top \tanh(W_1 h_i + W_2 s)$ with $W_1 (d_a, d_h)$,
#   $W_2 (d_a, d_s)$, $v (d_a)$: a one-hidden-layer network with a `tanh`.
#
# The Transformer of week 10 uses the dot score scaled by $1/\sqrt{d_k}$ with learned projections.
#
# **Task.** Batched, row layout: `s (B, d_s)`, `H (B, N, d_h)`. Write
# `attention_scores(s, H, kind="dot", params=None)` returning the scores `(B, N)` (`params` is
# `{"W": ...}` for `"mult"` and `{"W1": ..., "W2": ..., "v": ...}` for `"add"`), and
# `attention(s, H, kind="dot", params=None)` returning `(weights (B, N), context (B, d_h))` by
# calling `attention_scores`. Make the softmax stable (subtract the largest score of each row).

# %% nbgrader={"grade": false, "grade_id": "attention_scores", "locked": false, "schema_version": 3, "solution": true}
def attention_scores(s, H, kind="dot", params=None):
    """Scores e (B, N) of the decoder states s (B, d_s) against the encoder states H (B, N, d_h)."""
    ### BEGIN SOLUTION
    if kind == "dot":
        return np.einsum("bd,bnd->bn", s, H)
    if kind == "mult":
        return np.einsum("bd,de,bne->bn", s, params["W"], H)
    if kind == "add":
        hidden = np.tanh(H @ params["W1"].T + (s @ params["W2"].T)[:, None, :])
        return hidden @ params["v"]
    raise ValueError(f"unknown kind {kind!r}")
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "attention", "locked": false, "schema_version": 3, "solution": true}
def attention(s, H, kind="dot", params=None):
    """(weights (B, N), context (B, d_h)): softmax of the scores over N, and sum_i weights_i h_i."""
    ### BEGIN SOLUTION
    e = attention_scores(s, H, kind, params)
    e = e - e.max(axis=1, keepdims=True)
    weights = np.exp(e) / np.exp(e).sum(axis=1, keepdims=True)
    context = np.einsum("bn,bnd->bd", weights, H)
    return weights, context
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_attention", "locked": true, "points": 0, "schema_version": 3, "solution": false}
B, N, D, D_A = 2, 5, 4, 3
s_demo = rng.normal(size=(B, D))
H_demo = rng.normal(size=(B, N, D))
att_params = {"W": rng.normal(size=(D, D)), "W1": rng.normal(size=(D_A, D)), "W2": rng.normal(size=(D_A, D)),
              "v": rng.normal(size=D_A)}
s_t, H_t = torch.tensor(s_demo, device=DEVICE), torch.tensor(H_demo, device=DEVICE)
P = {k: torch.tensor(v, device=DEVICE) for k, v in att_params.items()}
want_scores = {"dot": (H_t @ s_t[:, :, None])[:, :, 0],
               "mult": (H_t @ (P["W"].T @ s_t.T).T[:, :, None])[:, :, 0],
               "add": torch.tanh(H_t @ P["W1"].T + (s_t @ P["W2"].T)[:, None, :]) @ P["v"]}
for kind, want in want_scores.items():
    got = attention_scores(s_demo, H_demo, kind, att_params)
    assert got.shape == (B, N), f"{kind}: scores should be (B, N) = {(B, N)}, got {got.shape}"
    assert np.allclose(got, want.cpu().numpy()), f"{kind}: scores differ from PyTorch's"
    weights, context = attention(s_demo, H_demo, kind, att_params)
    want_w = torch.softmax(want, dim=1)
    assert np.allclose(weights.sum(axis=1), 1), f"{kind}: each row of weights must sum to 1 (softmax over N)"
    assert np.allclose(weights, want_w.cpu().numpy()), f"{kind}: weights differ from torch.softmax(scores, dim=1)"
    assert np.allclose(context, (want_w[:, None, :] @ H_t)[:, 0].cpu().numpy()), f"{kind}: context = sum_i w_i h_i"
big_w, _ = attention(s_demo * 1000, H_demo)
assert np.all(np.isfinite(big_w)), "the softmax must be stable for large scores (subtract the row maximum)"
print("attention checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "outro", "locked": true, "schema_version": 3, "solution": false}
# ## What you built
#
# * GRU and LSTM cells that equal PyTorch's once the stacked weights are re-mapped (and the two
#   conventions of the GRU's reset gate and update gate are understood);
# * cosine similarity, analogies that skip their inputs, and the two debiasing steps;
# * beam search: width 1 is greedy, a wide beam is exhaustive search, and the length
#   normalisation decides between short and long outputs;
# * the three classic attention scores, which the Transformer of week 10 replaces by scaled dot
#   products of learned projections.
