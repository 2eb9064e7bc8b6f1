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
# # Week 15 — Self-attention and a small GPT
#
# Last week we turned Shakespeare into integers and trained a **bigram** model: every character
# predicted the next one from itself alone. The characters of a context never talked to each
# other. This week they do. We build, step by step, the mechanism that lets each position of a
# sequence gather information from the positions before it, **self-attention**, and then stack
# it into a small **GPT** (a decoder-only transformer) that writes Shakespeare-like text.
#
# The plan:
#
# 1. the data pipeline of week 14 (given) and the bigram model's best loss, our baseline;
# 2. three ways to let a token average its past: a loop, a matrix product, a masked softmax;
# 3. keys, queries and values: a single head of self-attention on random data, with the
#    course's numbers;
# 4. why the scores are scaled by $1/\sqrt{\text{head\_size}}$;
# 5. the building blocks as modules: `Head`, `MultiHeadAttention`, `FeedForward`, `Block`;
# 6. the `GPT` itself, its training loop, its validation loss and its samples.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions,
# classes **and attributes** (`key`, `query`, `value`, `tril`, `heads`, `proj`, ...): the grader
# creates your modules, loads its own weights into them by these names and compares the
# outputs with its own implementation. Run the notebook from top to bottom; the *Check* cells
# test a few cases for you, and the grader runs more tests that you do not see.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0              # seed for the weights, the batches and the samples
FAST = False          # True: a small GPT and a short run (used while grading)
DEVICE = "cpu"        # "cuda" trains the GPT on a GPU
DATA_DIR = "data"     # folder that holds input.txt
N_EMBD = 64           # width of the GPT (FAST uses a smaller one)
N_HEAD = 4            # attention heads per block
N_LAYER = 4           # transformer blocks
BLOCK_SIZE = 32       # context length
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
STEPS = 2000          # optimisation steps of the full run

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(SEED)
if FAST:   # grading mode: a GPT small enough to train in a few seconds on one CPU core
    N_EMBD, N_HEAD, N_LAYER, BLOCK_SIZE, LEARNING_RATE, STEPS = 32, 4, 1, 16, 1e-2, 200
print("torch", torch.__version__, "| device", DEVICE, "| GPT:", dict(n_embd=N_EMBD, n_head=N_HEAD, n_layer=N_LAYER,
      block_size=BLOCK_SIZE, steps=STEPS, lr=LEARNING_RATE))

# %% [markdown] nbgrader={"grade": false, "grade_id": "data_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. The data, and the loss to beat
#
# The next cell is last week's pipeline, given: the text, its sorted vocabulary of 65 characters,
# `encode`/`decode`, a 90% / 10% train / validation split, and `get_batch`, which draws
# `batch_size` random windows of `block_size` characters (`x`) together with the same windows
# shifted by one character (`y`, the targets: `y[:, t]` is the character that follows
# `x[:, :t+1]`). It draws the window starts with the `generator` it is given, on the CPU, so the
# batches are the same on every device.
#
# The bigram model of week 14 needs no training to know its best loss: the maximum-likelihood
# bigram model is the table of bigram **counts** of the training text, each row divided by its
# sum. Its loss on the validation text (a tiny $+0.01$ keeps the few pairs that never occur in
# the training text from getting probability 0) is the loss a model that looks at one character
# can reach, and the number our GPT has to beat. For reference: a model that knows nothing
# scores $\ln 65 = 4.17$; one that knows only how frequent each character is (the *unigram*
# model), about 3.3.

# %% nbgrader={"grade": false, "grade_id": "load_data", "locked": true, "schema_version": 3, "solution": false}
with open(os.path.join(DATA_DIR, "input.txt"), encoding="utf-8") as f:
    text = f.read()
chars = sorted(set(text))
vocab_size = len(chars)
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for ch, i in stoi.items()}


def encode(s):
    return [stoi[c] for c in s]


def decode(ids):
    return "".join(itos[i] for i in ids)


data = torch.tensor(encode(text), dtype=torch.long)
n_train = int(0.9 * len(data))
train_data, val_data = data[:n_train], data[n_train:]


def get_batch(data, batch_size, block_size, generator=None):
    """Random windows x (batch_size, block_size) and their targets y, shifted by one (CPU)."""
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y


counts = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)
counts.index_put_((train_data[:-1], train_data[1:]), torch.ones(n_train - 1, dtype=torch.float64), accumulate=True)
bigram_probs = (counts + 0.01) / (counts + 0.01).sum(1, keepdim=True)
bigram_val_loss = -bigram_probs[val_data[:-1], val_data[1:]].log().mean().item()
unigram = torch.bincount(train_data, minlength=vocab_size).double() / n_train
print(f"{len(text):,} characters, vocabulary of {vocab_size}; {len(train_data):,} train / {len(val_data):,} validation tokens")
print(f"validation loss: uniform {math.log(vocab_size):.4f}, unigram {-unigram[val_data].log().mean():.4f}, "
      f"best bigram {bigram_val_loss:.4f}")
xb, yb = get_batch(train_data, 4, 8, generator=torch.Generator().manual_seed(1337))
print(repr(decode(xb[0].tolist())), "->", repr(decode(yb[0].tolist())))

# %% [markdown] nbgrader={"grade": false, "grade_id": "talk_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Letting tokens talk: averaging the past
#
# Take a batch of `B` sequences of `T` tokens, each token a vector of `C` channels: a tensor of
# shape `(B, T, C)`. We want the token at position `t` to collect information from the tokens
# at positions $0, 1, \dots, t$: **itself and its past**, never the future, since the future is
# exactly what the model must predict (looking at it would be cheating). The token at position
# 5 may look at positions 4, 3, 2, 1, 0 and at itself.
#
# The simplest way to communicate is to **average**:
#
# $$\text{xbow}[b, t] = \frac{1}{t + 1} \sum_{i \le t} x[b, i]$$
#
# ("bag of words": the average forgets in which order the past came, which we will repair with
# position embeddings later).
#
# **Task (version 1).** Write `bow_loop(x)` with two `for` loops over `b` and `t`, as in the
# lecture: `xbow[b, t]` is the mean over the rows `x[b, :t+1]`. Return a new tensor of the shape
# and dtype of `x`.

# %% nbgrader={"grade": false, "grade_id": "bow_loop", "locked": false, "schema_version": 3, "solution": true}
def bow_loop(x):
    """Running means over the time axis of x (B, T, C), computed with loops."""
    ### BEGIN SOLUTION
    B, T, C = x.shape
    xbow = torch.zeros((B, T, C), dtype=x.dtype, device=x.device)
    for b in range(B):
        for t in range(T):
            xprev = x[b, :t + 1]
            xbow[b, t] = torch.mean(xprev, 0)
    return xbow
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "bow_loop_demo", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(1337)
B, T, C = 4, 8, 2
xs = torch.randn(B, T, C)
xbow = bow_loop(xs)
print(xs[0])
print(xbow[0])

# %% nbgrader={"grade": true, "grade_id": "check_bow_loop", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert tuple(xbow.shape) == (4, 8, 2), f"bow_loop should keep the shape (B, T, C) = (4, 8, 2), got {tuple(xbow.shape)}"
assert torch.allclose(xbow[0, 0], xs[0, 0]), "the first position has only itself to average: xbow[b, 0] == x[b, 0]"
assert torch.allclose(xbow[0], torch.tensor([[0.1808, -0.0700], [-0.0894, -0.4926], [0.1490, -0.3199], [0.3504, -0.2238],
                                             [0.3525, 0.0545], [0.0688, -0.0396], [0.0927, -0.0682], [-0.0341, 0.1332]]),
                      atol=1e-4), "xbow[0] should be the course's running means (seed 1337)"
assert torch.allclose(xbow[2, 5], xs[2, :6].mean(0)), "xbow[2, 5] is the mean of x[2, 0], ..., x[2, 5] (position 5 included)"
print("bow_loop: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "checkpoint_talk", "locked": true, "schema_version": 3, "solution": false}
# ### Checkpoint
#
# 1. In a sequence of 8 tokens (positions 1 to 8), which tokens may the token at position 5
#    gather information from, and why not from the others?
# 2. What is lost when a token simply averages its past?
#
# <details><summary>Answers</summary>
#
# 1. From positions 1, 2, 3, 4 **and itself**. Positions 6, 7 and 8 are the future: they are what
#    the model has to predict, so looking at them would be cheating (at generation time they do
#    not exist yet).
# 2. The order: an average is the same whichever way the past is arranged (a "bag of words").
# </details>

# %% [markdown] nbgrader={"grade": false, "grade_id": "matrix_md", "locked": true, "schema_version": 3, "solution": false}
# ### Version 2: the same with one matrix product
#
# Loops are slow. A matrix product does weighted sums of rows, all at once. With
# `torch.manual_seed(42); b = torch.randint(0, 10, (3, 2)).float()`:
#
# * **Goal 1, column sums in every row**: `torch.ones(3, 3) @ b`. Row `i` of the result is
#   $\sum_j 1 \cdot b_j$: all rows equal the column sums;
# * **Goal 2, cumulative sums**: a lower-triangular matrix of ones, `torch.tril(torch.ones(3, 3))`,
#   keeps in row `i` only the rows $j \le i$ of `b`;
# * **Goal 3, running means**: divide each row of the triangle by its sum (row `i` holds
#   `i + 1` ones), so row `i` is $[\frac{1}{i+1}, \dots, \frac{1}{i+1}, 0, \dots, 0]$. Note
#   `keepdim=True`: the row sums must stay a column `(3, 1)` to divide the rows; a `(3,)` vector
#   would be broadcast as a row and divide the *columns*.

# %% nbgrader={"grade": false, "grade_id": "matrix_demo", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(42)
b = torch.randint(0, 10, (3, 2)).float()
a_sum = torch.ones(3, 3)
a_cum = torch.tril(torch.ones(3, 3))
a_mean = a_cum / torch.sum(a_cum, 1, keepdim=True)
for name, a in [("goal 1, sums", a_sum), ("goal 2, cumulative sums", a_cum), ("goal 3, running means", a_mean)]:
    print(name, "\na =", a, "\na @ b =", a @ b)

# %% [markdown] nbgrader={"grade": false, "grade_id": "bow_matmul_md", "locked": true, "schema_version": 3, "solution": false}
# The `(T, T)` matrix of Goal 3 is our averaging: `wei @ x` with `x` of shape `(B, T, C)`
# broadcasts `wei` over the batch, `(T, T) @ (B, T, C) -> (B, T, C)`.
#
# **Task.** Write `averaging_weights(T)`: the float32 `(T, T)` matrix whose row `t` holds
# $1/(t+1)$ in its first `t + 1` entries and 0 after. Then `bow_matmul(x)`: the running means of
# `x` as `averaging_weights(T) @ x` (the weights on the device of `x`).

# %% nbgrader={"grade": false, "grade_id": "bow_matmul", "locked": false, "schema_version": 3, "solution": true}
def averaging_weights(T):
    """The (T, T) row-normalised lower-triangular matrix of ones (float32)."""
    ### BEGIN SOLUTION
    wei = torch.tril(torch.ones(T, T))
    wei = wei / wei.sum(1, keepdim=True)
    return wei
    ### END SOLUTION


def bow_matmul(x):
    """Running means over the time axis of x (B, T, C), as one matrix product."""
    ### BEGIN SOLUTION
    wei = averaging_weights(x.shape[1]).to(x.device)
    return wei @ x
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "bow_matmul_demo", "locked": true, "schema_version": 3, "solution": false}
print(averaging_weights(T))
xbow2 = bow_matmul(xs)
print("largest difference to the loop:", (xbow2 - xbow).abs().max().item())
print("torch.allclose(xbow2, xbow):           ", torch.allclose(xbow2, xbow))
print("torch.allclose(xbow2, xbow, atol=1e-6):", torch.allclose(xbow2, xbow, atol=1e-6))

# %% [markdown] nbgrader={"grade": false, "grade_id": "allclose_md", "locked": true, "schema_version": 3, "solution": false}
# The two versions agree to about $10^{-8}$, yet `torch.allclose` with its default tolerances
# (`rtol=1e-5`, `atol=1e-8`) may say `False`: a loop of float32 means and a matrix product add
# the same numbers in a different order, and the rounding differs in the last bits. A value near
# zero then fails the default test, whose absolute tolerance is tiny. Compare floating-point
# results with a tolerance that fits the arithmetic, here `atol=1e-6`, never with `==`.

# %% nbgrader={"grade": true, "grade_id": "check_bow_matmul", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_w = averaging_weights(3)
assert _w.dtype == torch.float32 and tuple(_w.shape) == (3, 3), "averaging_weights(3) is a float32 (3, 3) matrix"
assert torch.allclose(_w, torch.tensor([[1, 0, 0], [1 / 2, 1 / 2, 0], [1 / 3, 1 / 3, 1 / 3]])), \
    "averaging_weights(3) should have the rows [1, 0, 0], [1/2, 1/2, 0], [1/3, 1/3, 1/3]"
assert torch.allclose(averaging_weights(8)[7], torch.full((8,), 0.125)), "the last row of averaging_weights(8) is all 1/8"
assert torch.allclose(_w @ b, torch.tensor([[2.0, 7.0], [4.0, 5.5], [14 / 3, 16 / 3]])), "Goal 3: the running means of b"
assert torch.allclose(xbow2, xbow, atol=1e-6), "bow_matmul(x) should equal bow_loop(x) up to rounding (atol=1e-6)"
print("bow_matmul: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "softmax_md", "locked": true, "schema_version": 3, "solution": false}
# ### Version 3: a masked softmax
#
# One more way to get the same matrix, and the one attention uses. Start from weights that are
# all **0** (the affinities between tokens, for now all equal), set the entries above the
# diagonal, the future, to $-\infty$ with `masked_fill(tril == 0, float('-inf'))`, and take the
# softmax along each row (`dim=-1`). $e^{-\infty} = 0$, so the future gets weight 0, and the $t+1$
# equal entries of row `t` share the rest: $1/(t+1)$ each, the running means again.
#
# Why this detour? In version 3 the weights **start** at zero but need not stay equal: soon they
# will be computed from the data, and the softmax turns any scores into positive weights that sum
# to one, while the mask keeps the future out.
#
# **Task.** Write `bow_softmax(x)`, version 3 in full (zeros, mask, softmax, product).

# %% nbgrader={"grade": false, "grade_id": "bow_softmax", "locked": false, "schema_version": 3, "solution": true}
def bow_softmax(x):
    """Running means over the time axis of x (B, T, C) with a masked softmax of zeros."""
    ### BEGIN SOLUTION
    T = x.shape[1]
    tril = torch.tril(torch.ones(T, T, device=x.device))
    wei = torch.zeros((T, T), device=x.device)
    wei = wei.masked_fill(tril == 0, float("-inf"))
    wei = F.softmax(wei, dim=-1)
    return wei @ x
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_bow_softmax", "locked": true, "points": 0, "schema_version": 3, "solution": false}
xbow3 = bow_softmax(xs)
assert tuple(xbow3.shape) == (4, 8, 2), "bow_softmax keeps the shape (B, T, C)"
assert torch.allclose(xbow3, xbow, atol=1e-6), "version 3 should give the running means of version 1"
_x = torch.randn(2, 5, 3)
assert torch.allclose(bow_softmax(_x)[:, 4], _x.mean(1), atol=1e-6), "the last position averages the whole sequence"
print("bow_softmax: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "kq_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Self-attention: keys, queries and values
#
# Uniform weights treat every earlier token alike. But tokens matter to each other in different
# amounts: a vowel may look for the consonants before it. The weights should depend on the
# **data**. In self-attention every token emits two vectors:
#
# * a **query**, "what am I looking for?";
# * a **key**, "what do I contain?".
#
# The affinity of token `t` with token `s` is the dot product of `t`'s query with `s`'s key; a
# query and a key that are aligned give a large score, and through the softmax a large weight.
# With `k = key(x)` and `q = query(x)` (two linear layers without bias, `C -> head_size`), all the
# scores at once are `q @ k.transpose(-2, -1)`: `(B, T, hs) @ (B, hs, T) -> (B, T, T)`. Unlike the
# averaging matrix, every sequence of the batch now gets its own `wei`.
#
# Finally the token does not aggregate the raw `x` but a third projection, the **value**
# `v = value(x)`: `x` is the token's private information, `v` what it shares with this head.
# `out = wei @ v` has shape `(B, T, head_size)`.
#
# **Task.** Write `attention_scores(q, k, scale=True)`: `q @ k.transpose(-2, -1)`, multiplied
# by `head_size ** -0.5` when `scale` is true (Section 4 explains why; `head_size` is the last
# dimension of `k`). Then `single_head_demo(...)`, the lecture's experiment: seed torch with
# `torch.manual_seed(seed)`, draw `x = torch.randn(B, T, C)`, create
# `key`, `query`, `value = nn.Linear(C, head_size, bias=False)` **in this order** (each layer
# draws its initial weights from torch's random generator, so the order decides which layer gets
# which numbers), compute the scores with `attention_scores(q, k, scale=scale)`, mask the future,
# softmax, and return `(wei, out)` with `out = wei @ v`. The lecture's version did not scale
# yet: `scale=False` reproduces its numbers.

# %% nbgrader={"grade": false, "grade_id": "single_head", "locked": false, "schema_version": 3, "solution": true}
def attention_scores(q, k, scale=True):
    """Affinities q @ k^T of shape (..., T, T); times head_size ** -0.5 when scale is true."""
    ### BEGIN SOLUTION
    wei = q @ k.transpose(-2, -1)
    if scale:
        wei = wei * k.shape[-1] ** -0.5
    return wei
    ### END SOLUTION


def single_head_demo(seed=1337, B=4, T=8, C=32, head_size=16, scale=False):
    """The lecture's single head on x = randn(B, T, C): returns (wei (B, T, T), out (B, T, head_size))."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    x = torch.randn(B, T, C)
    key = nn.Linear(C, head_size, bias=False)
    query = nn.Linear(C, head_size, bias=False)
    value = nn.Linear(C, head_size, bias=False)
    k, q, v = key(x), query(x), value(x)
    wei = attention_scores(q, k, scale=scale)
    tril = torch.tril(torch.ones(T, T))
    wei = wei.masked_fill(tril == 0, float("-inf"))
    wei = F.softmax(wei, dim=-1)
    out = wei @ v
    return wei, out
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "single_head_run", "locked": true, "schema_version": 3, "solution": false}
wei, out = single_head_demo()
print("out:", tuple(out.shape))
print(wei[0])

# %% [markdown] nbgrader={"grade": false, "grade_id": "wei_md", "locked": true, "schema_version": 3, "solution": false}
# Read the last row of the first sequence, the weights of the 8th token:
#
# `[0.0210, 0.0843, 0.0555, 0.2297, 0.0573, 0.0709, 0.2423, 0.2391]`
#
# (The course text prints `0.2023` for the 7th entry; that row would sum to 0.96. The true value
# is `0.2423`, so its claim that position 4 gets the most weight after the token itself is wrong:
# position 7 does, just ahead of position 4.) The 8th token built a query from its content and
# position ("I am a vowel at position 8, looking for consonants"), every earlier token a key
# ("I am a consonant at position 4"); where they align, the weight is large, and the output of
# the 8th token is mostly made of the values of those tokens.

# %% nbgrader={"grade": true, "grade_id": "check_single_head", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_q = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
_k = torch.tensor([[[3.0, 1.0], [1.0, 1.0]]])
assert torch.allclose(attention_scores(_q, _k, scale=False), torch.tensor([[[3.0, 1.0], [2.0, 2.0]]])), \
    "attention_scores(q, k, scale=False)[b, t, s] is the dot product of query t with key s"
assert torch.allclose(attention_scores(_q, _k), torch.tensor([[[3.0, 1.0], [2.0, 2.0]]]) / math.sqrt(2)), \
    "with scale=True the scores are divided by sqrt(head_size) (here 2)"
assert tuple(wei.shape) == (4, 8, 8) and tuple(out.shape) == (4, 8, 16), "wei is (4, 8, 8) and out (4, 8, 16)"
assert torch.allclose(wei[0, 1], torch.tensor([0.1574, 0.8426, 0, 0, 0, 0, 0, 0]), atol=1e-4), \
    "row 1 of wei[0] should be the course's [0.1574, 0.8426, 0, ...]: create key, then query, then value"
assert torch.allclose(wei[0, 7], torch.tensor([0.0210, 0.0843, 0.0555, 0.2297, 0.0573, 0.0709, 0.2423, 0.2391]), atol=1e-4), \
    "the last row of wei[0] should be [0.0210, 0.0843, 0.0555, 0.2297, 0.0573, 0.0709, 0.2423, 0.2391]"
assert torch.allclose(wei.sum(-1), torch.ones(4, 8)), "every row of wei sums to 1"
print("single head: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "crux_md", "locked": true, "schema_version": 3, "solution": false}
# ### The crux of attention
#
# 1. Attention is a **communication mechanism**: nodes of a directed graph look at the nodes
#    that point to them and aggregate their values with a weighted sum whose weights depend on
#    the data. In our decoder, node `t` is pointed to by the nodes $0 \dots t$.
# 2. It has **no notion of space**: it acts on a *set* of vectors. That is why tokens get a
#    position embedding added to their token embedding.
# 3. The sequences of a batch never talk to each other: each is processed on its own.
# 4. **Self**-attention: keys, queries and values all come from the same `x`.
#    **Cross**-attention: the queries come from `x`, the keys and values from another source
#    (for example an encoder).
# 5. An **encoder** block lets all tokens talk to each other: it is the same code without the
#    mask (useful when the whole input is known, as in sentiment analysis, not for predicting
#    the next token).
# 6. **Scaled** attention multiplies `wei` by $1/\sqrt{\text{head\_size}}$ (i.e. divides by
#    $\sqrt{\text{head\_size}}$; the course text's "division by $1/\sqrt{\text{head\_size}}$" is a
#    slip). Section 4 shows why.

# %% [markdown] nbgrader={"grade": false, "grade_id": "checkpoint_crux", "locked": true, "schema_version": 3, "solution": false}
# ### Checkpoint: true or false?
#
# 1. Within a batch, the tokens of one sequence can attend to the tokens of another sequence.
# 2. Without position embeddings, a head cannot tell "ab" from "ba" apart at the last position.
# 3. In cross-attention the queries, keys and values all come from the same `x`.
# 4. An encoder block is a decoder block without the mask.
# 5. `wei` is the same matrix for every sequence of a batch.
#
# <details><summary>Answers</summary>
#
# 1. False: every sequence is processed on its own (crux 3).
# 2. True: attention acts on a set; the last token's query meets the same keys and values in
#    either order (crux 2).
# 3. False: that is self-attention; in cross-attention the keys and values come from elsewhere.
# 4. True (crux 5).
# 5. False since keys and queries: each sequence gets its own affinities (it was true for the
#    uniform averaging matrix).
# </details>

# %% [markdown] nbgrader={"grade": false, "grade_id": "scale_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Why scale the scores
#
# If the entries of `q` and `k` have unit variance, a dot product of `head_size` of their
# products has variance `head_size`: the scores grow with the head. The softmax of large scores
# is nearly **one-hot**: each token would listen to a single other token, and the gradients of
# the other weights vanish, above all at initialisation. Multiplying the scores by
# $1/\sqrt{\text{head\_size}}$ brings their variance back to about 1 and keeps the softmax
# diffuse.
#
# **Task.** Write `sharpen(logits, factor)`: the softmax over the last dimension of
# `logits * factor`. The course's example: `sharpen([0.1, -0.2, 0.3, -0.2, 0.5], 8)` is already
# dominated by its largest entry.

# %% nbgrader={"grade": false, "grade_id": "sharpen", "locked": false, "schema_version": 3, "solution": true}
def sharpen(logits, factor):
    """softmax(logits * factor) over the last dimension."""
    ### BEGIN SOLUTION
    return F.softmax(logits * factor, dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "scale_demo", "locked": true, "schema_version": 3, "solution": false}
_g = torch.Generator().manual_seed(SEED)
_hs = 16
_k, _q = torch.randn(4, 8, _hs, generator=_g), torch.randn(4, 8, _hs, generator=_g)
print(f"var(k) {_k.var():.4f}  var(q) {_q.var():.4f}  var(q k^T) {attention_scores(_q, _k, scale=False).var():.4f}  "
      f"var(q k^T / sqrt({_hs})) {attention_scores(_q, _k).var():.4f}")
_l = torch.tensor([0.1, -0.2, 0.3, -0.2, 0.5])
print("softmax(l)    ", sharpen(_l, 1))
print("softmax(8 * l)", sharpen(_l, 8))

# %% nbgrader={"grade": true, "grade_id": "check_sharpen", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert torch.allclose(sharpen(_l, 1), torch.tensor([0.1925, 0.1426, 0.2351, 0.1426, 0.2872]), atol=1e-4), \
    "sharpen(l, 1) is the plain softmax [0.1925, 0.1426, 0.2351, 0.1426, 0.2872]"
assert torch.allclose(sharpen(_l, 8), torch.tensor([0.0326, 0.0030, 0.1615, 0.0030, 0.8000]), atol=1e-4), \
    "sharpen(l, 8) should be [0.0326, 0.0030, 0.1615, 0.0030, 0.8000]"
assert 0.6 < float(attention_scores(_q, _k).var()) < 1.6, "scaled scores of unit-variance q and k have a variance near 1"
print("sharpen: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "head_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. The building blocks as modules
#
# ### One head
#
# `Head(n_embd, head_size, block_size, causal=True)` packs Section 3 into a module:
#
# * three linear layers without bias, `n_embd -> head_size`, created in the order `key`,
#   `query`, `value`;
# * the lower-triangular matrix of ones `tril`, `(block_size, block_size)`, registered as a
#   **buffer** (`self.register_buffer("tril", ...)`): it is part of the module's state (it moves
#   with `.to(device)` and is saved in its `state_dict`) but it is not a parameter, so the
#   optimiser never changes it;
# * `forward(x)` for `x` of shape `(B, T, n_embd)` with any `T <= block_size` (the first tokens of
#   a generated text come in short): the **scaled** scores
#   `attention_scores(q, k)`, the mask `self.tril[:T, :T] == 0` filled with $-\infty$ when
#   `causal` is true, the softmax over the last dimension, and `wei @ v`, shape
#   `(B, T, head_size)`. With `causal=False` it is an encoder head: no mask at all.

# %% nbgrader={"grade": false, "grade_id": "head", "locked": false, "schema_version": 3, "solution": true}
class Head(nn.Module):
    """One head of (scaled, by default causal) self-attention."""

    def __init__(self, n_embd, head_size, block_size, causal=True):
        super().__init__()
        ### BEGIN SOLUTION
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.causal = causal
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        ### END SOLUTION

    def forward(self, x):
        """(B, T, n_embd) -> (B, T, head_size), for T <= block_size."""
        ### BEGIN SOLUTION
        B, T, C = x.shape
        k = self.key(x)
        q = self.query(x)
        wei = attention_scores(q, k)
        if self.causal:
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = F.softmax(wei, dim=-1)
        v = self.value(x)
        return wei @ v
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_head", "locked": true, "points": 0, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
_h = Head(12, 5, block_size=8)
assert [n for n, _ in _h.named_parameters()] == ["key.weight", "query.weight", "value.weight"], \
    "Head has exactly three bias-free linear layers named key, query and value"
assert "tril" in dict(_h.named_buffers()), "register tril as a buffer: self.register_buffer('tril', ...)"
_x = torch.randn(3, 8, 12)
_o = _h(_x)
assert tuple(_o.shape) == (3, 8, 5), f"Head(12, 5, 8) maps (3, 8, 12) to (3, 8, 5), got {tuple(_o.shape)}"
assert tuple(_h(_x[:, :3]).shape) == (3, 3, 5), "Head must also accept sequences shorter than block_size"
_x2 = _x.clone()
_x2[:, 5:] = torch.randn(3, 3, 12)
assert torch.allclose(_h(_x2)[:, :5], _o[:, :5], atol=1e-6), "a causal head: changing tokens 5.. must not change outputs 0..4"
assert torch.allclose(_o[:, 0], _h.value(_x[:, 0]), atol=1e-6), "the first token can only attend to itself: out[:, 0] = value(x[:, 0])"
print("Head: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "mha_md", "locked": true, "schema_version": 3, "solution": false}
# ### Several heads, a feed-forward layer, and a block
#
# * **Multi-head attention** runs `num_heads` heads side by side, each with its own keys, queries
#   and values (each can look for something else), concatenates their outputs along the last
#   dimension and mixes them with a linear projection back to `n_embd`.
#   `MultiHeadAttention(n_embd, num_heads, head_size, block_size, causal=True)`: an
#   `nn.ModuleList` `heads` of `Head(n_embd, head_size, block_size, causal)` and
#   `proj = nn.Linear(num_heads * head_size, n_embd)` (with bias).
# * Attention is the *communication*; then every token *thinks* about what it gathered, on its
#   own: `FeedForward(n_embd)` is `net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(),
#   nn.Linear(4 * n_embd, n_embd))`, applied to each position separately.
# * A transformer **block** `Block(n_embd, n_head, block_size, causal=True)` chains them with
#   two ideas from week 10 that make deep stacks trainable: **residual connections** (each part
#   adds its result to its input, so gradients flow straight through the sum) and **layer
#   normalisation**, here *before* each part ("pre-LN", as in GPT-2 and later models):
#
#   $$x \leftarrow x + \text{sa}(\text{ln1}(x)), \qquad x \leftarrow x + \text{ffwd}(\text{ln2}(x))$$
#
#   with `sa = MultiHeadAttention(n_embd, n_head, n_embd // n_head, block_size, causal)` (the
#   heads share the width: `n_head` heads of `n_embd // n_head` channels),
#   `ffwd = FeedForward(n_embd)`, `ln1 = nn.LayerNorm(n_embd)`, `ln2 = nn.LayerNorm(n_embd)`.

# %% nbgrader={"grade": false, "grade_id": "blocks", "locked": false, "schema_version": 3, "solution": true}
class MultiHeadAttention(nn.Module):
    """num_heads heads in parallel, concatenated and projected back to n_embd."""

    def __init__(self, n_embd, num_heads, head_size, block_size, causal=True):
        super().__init__()
        ### BEGIN SOLUTION
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, causal) for _ in range(num_heads)])
        self.proj = nn.Linear(num_heads * head_size, n_embd)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return self.proj(out)
        ### END SOLUTION


class FeedForward(nn.Module):
    """Linear n_embd -> 4 n_embd, ReLU, linear back to n_embd, position by position."""

    def __init__(self, n_embd):
        super().__init__()
        ### BEGIN SOLUTION
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.net(x)
        ### END SOLUTION


class Block(nn.Module):
    """Pre-LN transformer block: x + sa(ln1(x)), then x + ffwd(ln2(x))."""

    def __init__(self, n_embd, n_head, block_size, causal=True):
        super().__init__()
        ### BEGIN SOLUTION
        head_size = n_embd // n_head
        self.sa = MultiHeadAttention(n_embd, n_head, head_size, block_size, causal)
        self.ffwd = FeedForward(n_embd)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_blocks", "locked": true, "points": 0, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
_m = MultiHeadAttention(16, 4, 4, block_size=8)
assert len(_m.heads) == 4 and isinstance(_m.heads, nn.ModuleList), "heads is an nn.ModuleList of num_heads Head modules"
assert tuple(_m(torch.randn(2, 8, 16)).shape) == (2, 8, 16), "MultiHeadAttention maps (B, T, n_embd) to (B, T, n_embd)"
_f = FeedForward(6)
assert sum(p.numel() for p in _f.parameters()) == 6 * 24 + 24 + 24 * 6 + 6, "FeedForward(6): 6 -> 24 -> 6, with biases"
_b = Block(16, 4, block_size=8)
assert sum(p.numel() for p in _b.parameters()) == 3 * 16 * 16 + 16 * 16 + 16 + (16 * 64 + 64 + 64 * 16 + 16) + 4 * 16, \
    "Block(16, 4, 8): 4 heads of 4 channels, a projection, a feed-forward layer and two LayerNorms"
_x = torch.randn(2, 8, 16)
_x2 = _x.clone()
_x2[:, 6:] = torch.randn(2, 2, 16)
assert torch.allclose(_b(_x)[:, :6], _b(_x2)[:, :6], atol=1e-5), "a causal block: the future must not change the past"
print("blocks: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "gpt_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. The GPT
#
# `GPT(vocab_size, n_embd, n_head, n_layer, block_size)` is the bigram model of week 14 with
# attention in the middle:
#
# * `token_embedding_table = nn.Embedding(vocab_size, n_embd)` and
#   `position_embedding_table = nn.Embedding(block_size, n_embd)`: the input of the blocks is the
#   sum of the token's embedding and the embedding of its position `0 .. T-1` (created on the
#   device of `idx`). This is how attention, which sees only a set, learns about order;
# * `blocks = nn.Sequential` of `n_layer` `Block(n_embd, n_head, block_size)`;
# * a final `ln_f = nn.LayerNorm(n_embd)` and `lm_head = nn.Linear(n_embd, vocab_size)`, which
#   turns each position's vector into logits over the vocabulary;
# * `self.block_size = block_size`, for `generate`.
#
# `forward(idx, targets=None)` takes `idx` of shape `(B, T)`, `T <= block_size`, and returns
# `(logits, loss)`: logits of shape `(B, T, vocab_size)`, and the cross-entropy of the logits with
# `targets` (`F.cross_entropy` wants `(B*T, vocab_size)` and `(B*T,)`: reshape), or `None` when
# there are no targets.
#
# `generate(idx, max_new_tokens, generator=None)` extends `idx` `(B, T)` one token at a time,
# `max_new_tokens` times: crop the context to its last `block_size` tokens (the position table
# has no more rows), take the logits of the **last** position, turn them into probabilities with
# a softmax, **sample** one token per row with
# `torch.multinomial(probs.cpu(), num_samples=1, generator=generator)` (on the CPU, so a seeded
# generator gives the same text on every device; move the result to `idx`'s device), and append
# it along the time axis. It returns the whole sequence, `(B, T + max_new_tokens)`.

# %% nbgrader={"grade": false, "grade_id": "gpt", "locked": false, "schema_version": 3, "solution": true}
class GPT(nn.Module):
    """A character-level decoder-only transformer."""

    def __init__(self, vocab_size, n_embd, n_head, n_layer, block_size):
        super().__init__()
        ### BEGIN SOLUTION
        self.block_size = block_size
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)
        ### END SOLUTION

    def forward(self, idx, targets=None):
        """Logits (B, T, vocab_size) and the mean cross-entropy with targets (None without targets)."""
        ### BEGIN SOLUTION
        B, T = idx.shape
        tok_emb = self.token_embedding_table(idx)
        pos_emb = self.position_embedding_table(torch.arange(T, device=idx.device))
        x = self.blocks(tok_emb + pos_emb)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            loss = None
        else:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss
        ### END SOLUTION

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, generator=None):
        """idx (B, T) extended by max_new_tokens sampled tokens: (B, T + max_new_tokens)."""
        ### BEGIN SOLUTION
        for _ in range(max_new_tokens):
            idx_cond = idx[:, -self.block_size:]
            logits, _ = self(idx_cond)
            probs = F.softmax(logits[:, -1, :], dim=-1)
            idx_next = torch.multinomial(probs.cpu(), num_samples=1, generator=generator).to(idx.device)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "gpt_size", "locked": true, "schema_version": 3, "solution": false}
_course = GPT(65, n_embd=64, n_head=4, n_layer=4, block_size=32)
print(f"the course's configuration (65 symbols, n_embd 64, 4 heads, 4 layers, block 32): "
      f"{sum(p.numel() for p in _course.parameters()):,} parameters")
del _course

# %% nbgrader={"grade": true, "grade_id": "check_gpt", "locked": true, "points": 0, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
_g = GPT(vocab_size, 16, 2, 2, block_size=8)
_idx = torch.randint(vocab_size, (3, 8))
_logits, _loss = _g(_idx, _idx)
assert tuple(_logits.shape) == (3, 8, vocab_size), "logits have shape (B, T, vocab_size)"
assert _g(_idx)[1] is None, "without targets the loss is None"
assert abs(_loss.item() - math.log(vocab_size)) < 1.0, "a fresh GPT should have a loss near ln(vocab_size)"
assert tuple(_g(_idx[:, :3])[0].shape) == (3, 3, vocab_size), "GPT must accept T < block_size"
_idx2 = _idx.clone()
_idx2[:, 4:] = (_idx2[:, 4:] + 1) % vocab_size
assert torch.allclose(_g(_idx2)[0][:, :4], _logits[:, :4], atol=1e-5), "the logits at t may not depend on tokens after t"
_out = _g.generate(_idx[:, :2], 10, generator=torch.Generator().manual_seed(0))
assert tuple(_out.shape) == (3, 12) and torch.equal(_out[:, :2], _idx[:, :2]), "generate appends max_new_tokens tokens"
print("GPT: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ### Training and evaluation
#
# **Task.** Write the two loops.
#
# * `estimate_loss(model, data, batch_size, block_size, iters, generator=None)`: the mean of the
#   losses of `iters` batches `get_batch(data, batch_size, block_size, generator)` (moved to the
#   model's device), computed in **evaluation mode** and without building a graph
#   (`torch.no_grad()`); put the model back in **training mode** before returning the mean as a
#   Python float. (Our GPT has no dropout, so the mode changes nothing here; models that have
#   dropout or batch norm depend on it, and the habit costs nothing.)
# * `train_gpt(model, data, steps, batch_size, block_size, lr=1e-3, generator=None)`: create
#   `torch.optim.AdamW(model.parameters(), lr=lr)` (other settings at their defaults), put the
#   model in training mode, and do `steps` steps: a batch from
#   `get_batch(data, batch_size, block_size, generator)` moved to the model's device, the loss,
#   the gradients zeroed, `backward`, an optimiser step. Return the list of the `steps` losses
#   (Python floats).

# %% nbgrader={"grade": false, "grade_id": "train", "locked": false, "schema_version": 3, "solution": true}
def estimate_loss(model, data, batch_size, block_size, iters, generator=None):
    """Mean loss of `iters` random batches, in eval mode and without gradients (a float)."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    model.eval()
    losses = []
    with torch.no_grad():
        for _ in range(iters):
            xb, yb = get_batch(data, batch_size, block_size, generator)
            _, loss = model(xb.to(device), yb.to(device))
            losses.append(loss.item())
    model.train()
    return sum(losses) / len(losses)
    ### END SOLUTION


def train_gpt(model, data, steps, batch_size, block_size, lr=1e-3, generator=None):
    """`steps` AdamW steps on random batches of `data`; returns the list of losses."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        xb, yb = get_batch(data, batch_size, block_size, generator)
        _, loss = model(xb.to(device), yb.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_run", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
model = GPT(vocab_size, N_EMBD, N_HEAD, N_LAYER, BLOCK_SIZE).to(DEVICE)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
_start = time.time()
losses = train_gpt(model, train_data, STEPS, BATCH_SIZE, BLOCK_SIZE, lr=LEARNING_RATE,
                   generator=torch.Generator().manual_seed(SEED + 1))
print(f"{STEPS} steps in {time.time() - _start:.1f} s; first loss {losses[0]:.3f}, last {losses[-1]:.3f}")
val_loss = estimate_loss(model, val_data, 64, BLOCK_SIZE, 20, generator=torch.Generator().manual_seed(SEED + 2))
print(f"validation loss {val_loss:.4f} (best bigram {bigram_val_loss:.4f}, uniform {math.log(vocab_size):.4f})")
sample_ids = model.generate(torch.zeros((1, 1), dtype=torch.long, device=DEVICE), 200 if FAST else 500,
                            generator=torch.Generator().manual_seed(SEED + 3))
sample_text = decode(sample_ids[0].tolist())
print(sample_text)

# %% nbgrader={"grade": true, "grade_id": "check_train", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(losses) == STEPS and all(isinstance(v, float) for v in losses), "train_gpt returns one float loss per step"
assert abs(losses[0] - math.log(vocab_size)) < 0.8, "the first loss of a fresh GPT is near ln(vocab_size)"
assert isinstance(val_loss, float) and model.training, "estimate_loss returns a float and leaves the model in training mode"
assert val_loss < bigram_val_loss, f"the GPT should beat the best bigram model ({bigram_val_loss:.3f}), got {val_loss:.3f}"
assert isinstance(sample_text, str) and set(sample_text) <= set(chars), "generate produces characters of the vocabulary"
print("training: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * Averaging the past three ways: loops, a row-normalised `tril` matrix product, and a softmax of
#   a masked matrix of zeros. They agree up to rounding: compare floats with a tolerance.
# * Self-attention makes the weights data-dependent: queries meet keys in `q @ k^T`, the mask
#   keeps the future out, the softmax makes weights, and the weights mix the values.
# * Scale the scores by $1/\sqrt{\text{head\_size}}$, or the softmax saturates towards one-hot.
# * Heads run in parallel and are projected back; a feed-forward layer thinks per position;
#   residual connections and pre-LayerNorm make the blocks stackable.
# * A GPT adds token and position embeddings, stacks blocks, normalises and reads out logits; it
#   generates by sampling one token at a time from a context cropped to `block_size`. Even a
#   one-block GPT trained for a few seconds beats the best possible bigram model.
