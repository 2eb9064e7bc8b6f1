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
# # Week 13 — A multilayer perceptron as a generative model of names
#
# Our bigram models of the last two weeks looked at **one** character to guess the next one.
# Their samples show it: the names they invent are rarely pronounceable. The obvious fix, a
# longer context, does not work with counting: with 3 characters of context the table would have
# $27^3 = 19{,}683$ rows of 27 counts each, and most of them would stay empty. The more context,
# the emptier the table, and the more data we would need to fill it.
#
# This week we follow a different route, the one taken by Bengio et al. (2003), *A Neural
# Probabilistic Language Model*: every character gets a small learned **vector** (an embedding),
# and a neural network reads the vectors of the last few characters to predict the next one.
#
# The plan:
#
# 1. the idea of the paper;
# 2. turning names into (context, next character) training examples;
# 3. train / dev / test splits;
# 4. the model: an embedding table, a `tanh` hidden layer and an output layer;
# 5. minibatch training;
# 6. health checks: a sensible initial loss, no saturated `tanh` units, a principled
#    initialisation scale;
# 7. finding a learning rate with a sweep;
# 8. training with learning-rate decay, evaluation and sampling new names.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Do not rename the given functions or their arguments: the
# grader calls them by name, with its own inputs, and compares the results with its own PyTorch
# computations. Run the notebook from top to bottom; the cells titled *Check* test a few cases for
# you. Your functions should not change global variables: everything they need comes in through
# their arguments (apart from the vocabulary `stoi`, given below).

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for the weight initialisation and the minibatches
FAST = False         # True: short runs (used while grading)
DEVICE = "cpu"       # everything this week runs on the CPU
DATA_DIR = "data"    # folder that holds names.txt
FAST_STEPS = 2000    # training steps when FAST is True (30,000 otherwise)

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math
import random
import string

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

random.seed(SEED)
torch.manual_seed(SEED)

# %% [markdown] nbgrader={"grade": false, "grade_id": "paper_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. The idea: Bengio et al. (2003)
#
# The paper builds a **word-level** language model with a vocabulary of 17,000 words. Its key
# move against the *curse of dimensionality* (the explosion of possible contexts as the context
# grows) is to stop treating words as unrelated symbols:
#
# * every word is mapped to a point in an $m$-dimensional space ($m = 30$ in the paper), stored
#   as one row of a matrix $C$ of shape $17{,}000 \times 30$. The rows start at random places and
#   are **learned** together with the rest of the network;
# * to predict the next word, the network looks up the rows of the previous words, concatenates
#   them, passes them through a hidden layer with a `tanh` non-linearity, and ends with an output
#   layer of 17,000 units followed by a softmax;
# * the parameters are $C$, the weights and biases of the hidden layer, and the weights and biases
#   of the output layer. All of them are trained by gradient descent on the cross-entropy loss.
#
# Why this generalises: if training has placed *cat* near *dog* and *room* near *bedroom*, a
# sentence the model has never seen ("a dog was running in a ...") still gets sensible
# predictions from similar sentences it has seen ("the cat is walking in the bedroom").
#
# We do the same for **characters**: a vocabulary of 27 symbols (26 letters and `.`, which marks
# the start and the end of a name), a table `C` of shape $27 \times$ `n_embd`, and a context of
# 3 characters.
#
# A remark on the lookup: `C[i]` is the same as multiplying the one-hot vector of `i` by `C`,
# i.e. a linear layer without a bias *applied to one-hot inputs*. Indexing is just much cheaper,
# which is what `torch.nn.Embedding` does.

# %% nbgrader={"grade": false, "grade_id": "embedding_demo", "locked": true, "schema_version": 3, "solution": false}
C_demo = torch.randn(27, 2)
i = 5
print("row 5 of C:          ", C_demo[i])
print("one_hot(5) @ C:      ", F.one_hot(torch.tensor(i), num_classes=27).float() @ C_demo)

# %% [markdown] nbgrader={"grade": false, "grade_id": "data_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. From names to training examples
#
# The data is a list of lowercase names, one per line. The vocabulary is fixed: `.` gets index 0,
# `a` to `z` get 1 to 26.

# %% nbgrader={"grade": false, "grade_id": "load_data", "locked": true, "schema_version": 3, "solution": false}
words = open(DATA_DIR + "/names.txt").read().split()
chars = "." + string.ascii_lowercase
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for ch, i in stoi.items()}
vocab_size = len(chars)

print(f"{len(words)} names, for example {words[:6]}")
print(f"longest: {max(len(w) for w in words)} letters; vocabulary of {vocab_size} symbols")


# %% [markdown] nbgrader={"grade": false, "grade_id": "build_dataset_md", "locked": true, "schema_version": 3, "solution": false}
# With a context of `block_size` characters, a name produces one example per character plus one
# for the end marker. The context starts as `block_size` dots and slides one step to the left
# after each character. For `emma` and `block_size = 3`:
#
# ```text
# ... -> e        [0, 0, 0]    -> 5
# ..e -> m        [0, 0, 5]    -> 13
# .em -> m        [0, 5, 13]   -> 13
# emm -> a        [5, 13, 13]  -> 1
# mma -> .        [13, 13, 1]  -> 0
# ```
#
# **Task.** Write `build_dataset(words, block_size=3)`. It returns `X`, an `int64` tensor of shape
# `(N, block_size)` with one context per row, and `Y`, an `int64` tensor of shape `(N,)` with the
# index of the character that follows. The examples of the names come one after the other, in the
# order of `words` and of the characters within each name. Use the global `stoi`.

# %% nbgrader={"grade": false, "grade_id": "build_dataset", "locked": false, "schema_version": 3, "solution": true}
def build_dataset(words, block_size=3):
    """Contexts X (N, block_size) and next-character targets Y (N,), both int64 tensors.

    Each name starts with a context of `block_size` zeros ('.') and ends with the target 0 ('.').
    """
    ### BEGIN SOLUTION
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X = torch.tensor(X, dtype=torch.int64).view(len(Y), block_size)
    Y = torch.tensor(Y, dtype=torch.int64)
    return X, Y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "build_dataset_demo", "locked": true, "schema_version": 3, "solution": false}
Xd, Yd = build_dataset(["emma", "olivia"])
for x, y in zip(Xd.tolist(), Yd.tolist()):
    print("".join(itos[i] for i in x), "->", itos[y], "   ", x, "->", y)

# %% nbgrader={"grade": true, "grade_id": "check_build_dataset", "locked": true, "points": 0, "schema_version": 3, "solution": false}
Xd, Yd = build_dataset(["emma", "olivia"])
assert Xd.dtype == torch.int64 and Yd.dtype == torch.int64, "X and Y should be int64 tensors"
assert tuple(Xd.shape) == (12, 3) and tuple(Yd.shape) == (12,), \
    f"emma and olivia give 5 + 7 = 12 examples: X should have shape (12, 3), Y (12,); got {tuple(Xd.shape)}, {tuple(Yd.shape)}"
assert Xd.tolist() == [[0, 0, 0], [0, 0, 5], [0, 5, 13], [5, 13, 13], [13, 13, 1], [0, 0, 0],
                       [0, 0, 15], [0, 15, 12], [15, 12, 9], [12, 9, 22], [9, 22, 9], [22, 9, 1]], \
    "the contexts of emma and olivia are not right (each name starts again from '...')"
assert Yd.tolist() == [5, 13, 13, 1, 0, 15, 12, 9, 22, 9, 1, 0], \
    "the targets of emma and olivia are not right (the last target of a name is 0, the end marker '.')"
assert tuple(build_dataset(["ava"], block_size=5)[0].shape) == (4, 5), "block_size=5 should give 5 columns"
print("build_dataset: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "split_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Train, dev and test splits
#
# A model with 12,000 parameters can memorise a lot, so the training loss alone says little about
# how well it generalises. We split the **names** (not the examples, so that no name is shared
# between splits) into
#
# * 80% **training** names, used to fit the parameters;
# * 10% **dev** (validation) names, used to compare settings such as the learning rate or the
#   layer sizes;
# * 10% **test** names, used once, at the very end, to report the final quality.
#
# **Task.** Write `split_words(words, seed=42)`. Shuffle a *copy* of the list with
# `random.Random(seed).shuffle(...)` (a private generator, so the split does not depend on other
# random draws in the notebook; the caller's list must not change). With `n = len(words)`,
# `n1 = int(0.8 * n)` and `n2 = int(0.9 * n)`, return the three lists `shuffled[:n1]`,
# `shuffled[n1:n2]` and `shuffled[n2:]`. (Leave the global `words` in the order of the file: the
# next cell splits it, and every student's split must be the same.)

# %% nbgrader={"grade": false, "grade_id": "split_words", "locked": false, "schema_version": 3, "solution": true}
def split_words(words, seed=42):
    """Shuffle a copy of `words` with random.Random(seed) and cut it 80% / 10% / 10%."""
    ### BEGIN SOLUTION
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)
    n1 = int(0.8 * len(shuffled))
    n2 = int(0.9 * len(shuffled))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "make_splits", "locked": true, "schema_version": 3, "solution": false}
BLOCK_SIZE = 3
train_words, dev_words, test_words = split_words(words, seed=42)
Xtr, Ytr = build_dataset(train_words, BLOCK_SIZE)
Xdev, Ydev = build_dataset(dev_words, BLOCK_SIZE)
Xte, Yte = build_dataset(test_words, BLOCK_SIZE)
print(f"names: {len(train_words)} train, {len(dev_words)} dev, {len(test_words)} test")
print("examples:", tuple(Xtr.shape), tuple(Xdev.shape), tuple(Xte.shape))

# %% nbgrader={"grade": true, "grade_id": "check_split_words", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_ten = list("abcdefghij")
_tr, _dev, _te = split_words(_ten, seed=0)
assert _ten == list("abcdefghij"), "split_words changed the list it was given: shuffle a copy"
assert (len(_tr), len(_dev), len(_te)) == (8, 1, 1), "10 words should be split 8 / 1 / 1"
assert sorted(_tr + _dev + _te) == list("abcdefghij"), "the three splits together should hold every word exactly once"
_file = open(DATA_DIR + "/names.txt").read().split()   # names.txt afresh, in the order of the file
random.Random(42).shuffle(_file)
assert set(train_words).isdisjoint(dev_words) and set(train_words).isdisjoint(test_words), "no name may be in two splits"
assert len(train_words) + len(dev_words) + len(test_words) == len(_file), "the splits should cover all names"
assert (train_words[:3], dev_words[:3]) == (_file[:3], _file[int(0.8 * len(_file)):][:3]), \
    "the splits should be names.txt shuffled with random.Random(42), cut at int(0.8 n) and int(0.9 n)"
assert len(Xtr) == sum(len(w) + 1 for w in train_words), "Xtr should have one row per character plus one per name"
print("split_words: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "model_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. The model
#
# With an embedding size `n_embd` and `n_hidden` hidden units the network has five parameter
# tensors:
#
# | name | shape | role |
# |---|---|---|
# | `C`  | `(vocab_size, n_embd)` | the embedding table |
# | `W1` | `(block_size * n_embd, n_hidden)` | hidden layer weights |
# | `b1` | `(n_hidden,)` | hidden layer biases |
# | `W2` | `(n_hidden, vocab_size)` | output layer weights |
# | `b2` | `(vocab_size,)` | output layer biases |
#
# For `n_embd = 10`, `n_hidden = 200` that is $270 + 6000 + 200 + 5400 + 27 = 11{,}897$ numbers.
#
# The forward pass for a batch of contexts `X` of shape `(B, block_size)`:
#
# 1. `emb = C[X]`, shape `(B, block_size, n_embd)`: one embedding per context character;
# 2. concatenate the embeddings of each row: `emb.view(B, block_size * n_embd)`;
# 3. `h = tanh(emb @ W1 + b1)`, shape `(B, n_hidden)`;
# 4. `logits = h @ W2 + b2`, shape `(B, vocab_size)`. The loss is the cross-entropy of the
#    logits with the targets, `F.cross_entropy(logits, Y)`, which applies the softmax for us
#    (and more stably than doing it by hand).
#
# ### How to initialise
#
# If we draw everything from the standard normal distribution (`torch.randn`), training works but
# starts badly, as Section 6 will show. Three initialisations, to compare later:
#
# * `"naive"`: every tensor straight from `torch.randn`;
# * `"output"`: as `"naive"`, but the **output layer** is tamed: `W2` multiplied by `0.01` and
#   `b2` set to zero, so the first logits are all close to 0;
# * `"kaiming"`: as `"output"`, and in addition the **hidden layer** is scaled: `W1` multiplied
#   by `kaiming_std(block_size * n_embd)` (explained in Section 6) and `b1` by `0.01`.
#
# **Task.** Write `kaiming_std(fan_in, gain=5/3)`, which returns `gain / sqrt(fan_in)`, and
# `init_params(...)`. Draw the five tensors with `torch.randn(shape, generator=generator)` **in
# the order `C`, `W1`, `b1`, `W2`, `b2`** (the grader regenerates them from the same generator),
# then apply the scaling of the requested `init`, and finally make every tensor a leaf that
# requires a gradient (`requires_grad_()`, after the scaling). Return a dict with the keys
# `"C"`, `"W1"`, `"b1"`, `"W2"`, `"b2"`.

# %% nbgrader={"grade": false, "grade_id": "init_params", "locked": false, "schema_version": 3, "solution": true}
def kaiming_std(fan_in, gain=5/3):
    """Standard deviation gain / sqrt(fan_in) that keeps pre-activations at about unit scale."""
    ### BEGIN SOLUTION
    return gain / math.sqrt(fan_in)
    ### END SOLUTION


def init_params(n_embd=10, n_hidden=200, block_size=3, vocab_size=27, init="kaiming", generator=None):
    """Parameters of the MLP as a dict {"C", "W1", "b1", "W2", "b2"} of float32 leaf tensors
    that require gradients.

    init: "naive" (plain randn), "output" (W2 * 0.01, b2 = 0) or "kaiming" (as "output", plus
    W1 * kaiming_std(block_size * n_embd) and b1 * 0.01).
    """
    if init not in ("naive", "output", "kaiming"):
        raise ValueError(f"unknown init {init!r}")
    ### BEGIN SOLUTION
    fan_in = block_size * n_embd
    C = torch.randn((vocab_size, n_embd), generator=generator)
    W1 = torch.randn((fan_in, n_hidden), generator=generator)
    b1 = torch.randn(n_hidden, generator=generator)
    W2 = torch.randn((n_hidden, vocab_size), generator=generator)
    b2 = torch.randn(vocab_size, generator=generator)
    if init in ("output", "kaiming"):
        W2 = W2 * 0.01
        b2 = b2 * 0
    if init == "kaiming":
        W1 = W1 * kaiming_std(fan_in)
        b1 = b1 * 0.01
    params = {"C": C, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
    for p in params.values():
        p.requires_grad_()
    return params
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "count_params", "locked": true, "schema_version": 3, "solution": false}
_p = init_params(10, 200, generator=torch.Generator().manual_seed(SEED))
print({name: tuple(p.shape) for name, p in _p.items()})
print("number of parameters:", sum(p.nelement() for p in _p.values()))
print("with n_embd=2, n_hidden=100:", sum(p.nelement() for p in init_params(2, 100).values()))

# %% nbgrader={"grade": true, "grade_id": "check_init_params", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_p = init_params(10, 200, generator=torch.Generator().manual_seed(0))
assert sorted(_p) == ["C", "W1", "W2", "b1", "b2"], "init_params should return a dict with keys C, W1, b1, W2, b2"
assert sum(p.nelement() for p in _p.values()) == 11897, "n_embd=10, n_hidden=200 should give 11,897 parameters"
assert tuple(_p["W1"].shape) == (30, 200) and tuple(_p["W2"].shape) == (200, 27), "W1 should be (30, 200) and W2 (200, 27)"
assert all(p.requires_grad and p.is_leaf for p in _p.values()), "every parameter should be a leaf tensor that requires grad"
assert float(_p["b2"].detach().abs().max()) == 0.0, "with the default init, b2 should be zero"
assert abs(kaiming_std(30) - (5 / 3) / math.sqrt(30)) < 1e-12, "kaiming_std(30) should be (5/3) / sqrt(30)"
print("init_params: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "forward_md", "locked": true, "schema_version": 3, "solution": false}
# **Task.** Write `forward(params, X)`, which returns the pair `(logits, h)` (the hidden
# activations are handy for the health checks below), and `evaluate(params, X, Y)`, which returns
# the mean cross-entropy loss on `(X, Y)` as a Python float. `evaluate` needs no gradients: run it
# under `torch.no_grad()`.

# %% nbgrader={"grade": false, "grade_id": "forward", "locked": false, "schema_version": 3, "solution": true}
def forward(params, X):
    """Logits (B, vocab_size) and tanh activations h (B, n_hidden) for contexts X (B, block_size)."""
    ### BEGIN SOLUTION
    emb = params["C"][X]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    return logits, h
    ### END SOLUTION


def evaluate(params, X, Y):
    """Mean cross-entropy of the model on (X, Y), as a float."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        logits, _ = forward(params, X)
        return F.cross_entropy(logits, Y).item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_forward", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_p = init_params(10, 200, generator=torch.Generator().manual_seed(0))
_logits, _h = forward(_p, Xtr[:32])
assert tuple(_logits.shape) == (32, 27), f"logits should have shape (32, 27), got {tuple(_logits.shape)}"
assert tuple(_h.shape) == (32, 200), f"h should have shape (32, 200), got {tuple(_h.shape)}"
assert float(_h.abs().max()) <= 1.0, "h should be the tanh activations, between -1 and 1"
assert isinstance(evaluate(_p, Xtr[:100], Ytr[:100]), float), "evaluate should return a Python float"
print("forward: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "minibatch_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Minibatch training
#
# A forward and backward pass over all ~100,000 training examples for every single update is
# slow. Instead, each step picks a small random **minibatch** (32 examples here), computes the
# loss and the gradient on it alone, and updates the parameters. (With batches of one example this
# is called *stochastic* gradient descent; with the whole training set, *batch* gradient descent.)
# The gradient of a minibatch is only an estimate of the full gradient, but it is so much cheaper
# that taking many noisy steps beats taking a few exact ones.
#
# **Task.**
#
# * `get_batch(X, Y, batch_size, generator=None)`: draw `batch_size` row indices with
#   `torch.randint(0, X.shape[0], (batch_size,), generator=generator)` and return the matching
#   rows of `X` and `Y`.
# * `train_step(params, X, Y, lr)`: one step of gradient descent on the batch `(X, Y)`: forward,
#   cross-entropy loss, reset the gradients (set each `p.grad` to `None`), backward, then update
#   every parameter in place with `p.data -= lr * p.grad`. Return the loss measured **before** the
#   update, as a float.

# %% nbgrader={"grade": false, "grade_id": "train_step", "locked": false, "schema_version": 3, "solution": true}
def get_batch(X, Y, batch_size, generator=None):
    """A random minibatch (rows drawn with replacement by torch.randint)."""
    ### BEGIN SOLUTION
    ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
    return X[ix], Y[ix]
    ### END SOLUTION


def train_step(params, X, Y, lr):
    """One gradient-descent step on (X, Y); returns the loss before the update as a float."""
    ### BEGIN SOLUTION
    logits, _ = forward(params, X)
    loss = F.cross_entropy(logits, Y)
    for p in params.values():
        p.grad = None
    loss.backward()
    for p in params.values():
        p.data -= lr * p.grad
    return loss.item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_train_step", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_p = init_params(10, 200, generator=torch.Generator().manual_seed(0))
_xb, _yb = get_batch(Xtr, Ytr, 32, generator=torch.Generator().manual_seed(1))
assert tuple(_xb.shape) == (32, 3) and tuple(_yb.shape) == (32,), "get_batch(Xtr, Ytr, 32) should give 32 rows"
_first = train_step(_p, _xb, _yb, 0.1)
assert isinstance(_first, float), "train_step should return the loss as a Python float"
_later = [train_step(_p, _xb, _yb, 0.1) for _ in range(20)]
assert _later[-1] < _first, "20 steps on the same batch should lower its loss"
_p = init_params(10, 200, generator=torch.Generator().manual_seed(0))
_w = _p["W2"].detach().clone()
train_step(_p, _xb, _yb, 0.0)
assert torch.equal(_p["W2"].detach(), _w), "train_step(..., lr=0.0) must not change the parameters (use the lr argument)"
_g = _p["W2"].grad.clone()
train_step(_p, _xb, _yb, 0.0)
assert torch.allclose(_p["W2"].grad, _g), "with lr=0 a second train_step should give the same gradient: reset p.grad first"
print(f"loss on one batch: {_first:.3f} -> {_later[-1]:.3f}")
print("train_step: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "health_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Health checks of a network
#
# Before a long training run, two quick checks save a lot of time:
#
# 1. **the initial loss is what it should be;**
# 2. **the hidden units are not saturated or dead.**
#
# ### 6.1 The initial loss
#
# Before training the network knows nothing, so the best it can do is to give each of the 27
# characters the same probability, $1/27$. The cross-entropy of that uniform guess is
# $-\ln(1/27) = \ln 27 \approx 3.2958$ (often quoted as "3.29"; it rounds to 3.30).
#
# **Task.** Write `expected_initial_loss(vocab_size=27)`, the loss of a uniform prediction.

# %% nbgrader={"grade": false, "grade_id": "expected_initial_loss", "locked": false, "schema_version": 3, "solution": true}
def expected_initial_loss(vocab_size=27):
    """Cross-entropy of the uniform distribution over vocab_size classes."""
    ### BEGIN SOLUTION
    return -math.log(1 / vocab_size)
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "initial_loss_md", "locked": true, "schema_version": 3, "solution": false}
# Let us compare the three initialisations on the training set.
#
# With `"naive"` weights the logits are huge (each is a sum of 200 terms of size about 1), so the
# softmax puts nearly all its mass on a few characters. When the target is a different one, the
# network is **confidently wrong**, and the loss is many times larger than $\ln 27$. The first
# thousands of training steps would be spent only on shrinking the logits (the familiar
# "hockey stick" at the start of the loss curve).
#
# The remedy is in the layer that produces the logits: set `b2` to zero and multiply `W2` by a
# small number such as 0.01. The logits then start near 0 (centred on zero, which keeps things
# symmetric) and the prediction near uniform.

# %% nbgrader={"grade": false, "grade_id": "initial_loss_demo", "locked": true, "schema_version": 3, "solution": false}
print(f"expected initial loss: {expected_initial_loss():.4f}")
for init in ["naive", "output", "kaiming"]:
    _p = init_params(10, 200, init=init, generator=torch.Generator().manual_seed(SEED))
    print(f"init={init!r:10} loss on the training set: {evaluate(_p, Xtr, Ytr):.4f}")

# %% nbgrader={"grade": true, "grade_id": "check_expected_initial_loss", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert abs(expected_initial_loss() - 3.2958) < 1e-4, "the expected initial loss with 27 characters is ln 27 = 3.2958"
assert abs(expected_initial_loss(2) - math.log(2)) < 1e-12, "with 2 classes the uniform loss is ln 2"
_p = init_params(10, 200, init="output", generator=torch.Generator().manual_seed(0))
assert abs(evaluate(_p, Xtr, Ytr) - expected_initial_loss()) < 0.1, \
    "after fixing the output layer the initial loss should be within 0.1 of ln 27"
print("expected_initial_loss: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "saturation_md", "locked": true, "schema_version": 3, "solution": false}
# ### 6.2 Saturated `tanh` units
#
# Now look at the hidden activations `h` of a batch of 32 examples. With the `"output"`
# initialisation (hidden layer still drawn from plain `randn`) most of them sit at $-1$ or $+1$.
# Why that hurts: the backward rule of `tanh` (from our week-2 engine) is
# `x.grad += (1 - t**2) * out.grad`, with `t = tanh(x)`. When `t` is $\pm 1$ the factor
# `1 - t**2` is 0, and no gradient flows back through that unit to its weights or to the layers
# below. A unit that is saturated for **every** example never learns: it is a **dead** neuron,
# and it stays dead.
#
# We measure this with a threshold of 0.99:
#
# * the **saturation fraction**: the share of all entries of `h` with `|h| > 0.99`;
# * the **dead units**: the columns (hidden units) of `h` where `|h| > 0.99` for *every* row
#   (every example of the batch). In a picture of the boolean matrix `|h| > 0.99` with one row
#   per example, a dead unit is an entirely white column.
#
# **Task.** Write `saturation_fraction(h, threshold=0.99)`, a Python float, and
# `dead_neurons(h, threshold=0.99)`, a boolean tensor with one entry per column of `h`.

# %% nbgrader={"grade": false, "grade_id": "saturation", "locked": false, "schema_version": 3, "solution": true}
def saturation_fraction(h, threshold=0.99):
    """Fraction of the entries of h whose absolute value exceeds threshold (a float)."""
    ### BEGIN SOLUTION
    return (h.abs() > threshold).float().mean().item()
    ### END SOLUTION


def dead_neurons(h, threshold=0.99):
    """Boolean tensor (n_hidden,): True for the columns of h saturated on every row."""
    ### BEGIN SOLUTION
    return (h.abs() > threshold).all(dim=0)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "saturation_demo", "locked": true, "schema_version": 3, "solution": false}
_xb, _ = get_batch(Xtr, Ytr, 32, generator=torch.Generator().manual_seed(SEED))
fig, axes = plt.subplots(2, 2, figsize=(12, 6))
for col, init in enumerate(["output", "kaiming"]):
    _p = init_params(10, 200, init=init, generator=torch.Generator().manual_seed(SEED))
    with torch.no_grad():
        _, _h = forward(_p, _xb)
    print(f"init={init!r:10} h: {tuple(_h.shape)}, saturated fraction {saturation_fraction(_h):.3f}, "
          f"dead units {int(dead_neurons(_h).sum())}")
    axes[0, col].hist(_h.flatten().tolist(), 50)
    axes[0, col].set_title(f"tanh activations, init={init!r}")
    axes[1, col].imshow((_h.abs() > 0.99).numpy(), cmap="gray", interpolation="nearest")
    axes[1, col].set_title("|h| > 0.99 (white): rows = examples, columns = units")
plt.tight_layout()
plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_saturation", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_h = torch.tensor([[0.995, 0.2, -1.0], [-0.999, -0.5, 0.3]])
assert abs(saturation_fraction(_h) - 0.5) < 1e-6, "3 of the 6 entries have |h| > 0.99: the fraction is 0.5"
assert dead_neurons(_h).tolist() == [True, False, False], "only the first column is saturated in every row"
assert abs(saturation_fraction(_h, threshold=0.9999) - 1 / 6) < 1e-6, "use the threshold argument"
print("saturation: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "kaiming_md", "locked": true, "schema_version": 3, "solution": false}
# ### 6.3 A principled initialisation scale
#
# Both problems had the same culprit: the **spread of the pre-activations**. A product `x @ w`
# adds up `fan_in` terms, so if `x` and `w` have unit variance, the result has variance `fan_in`
# and standard deviation $\sqrt{\text{fan\_in}}$. The next cell shows it with `fan_in = 10`:
# `x` has standard deviation about 1, `x @ w` about $\sqrt{10} \approx 3.16$; multiplying `w`
# by `k` multiplies that by `k`.
#
# Which `k` keeps the standard deviation at 1? Dividing by $\sqrt{\text{fan\_in}}$. He et al.
# (2015, "Kaiming" initialisation) work this out for ReLU networks and obtain a standard deviation
# of $\sqrt{2 / \text{fan\_in}}$: the factor 2 in the variance compensates for ReLU zeroing half
# of its inputs. PyTorch writes the general rule as
#
# $$\text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_in}}}$$
#
# (`torch.nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity=...)`), where the **gain**
# depends on the non-linearity: `torch.nn.init.calculate_gain` gives 1 for a linear layer,
# $\sqrt 2$ for ReLU (the gain is $\sqrt 2$; the 2 is the factor in the *variance*), and
# $5/3$ for `tanh`, a squashing function that needs a slightly larger input to keep its output
# spread. This is the `kaiming_std` you wrote; our `"kaiming"` initialisation uses it for `W1`
# (fan-in 30), so $\text{std} = (5/3)/\sqrt{30} \approx 0.30$.

# %% nbgrader={"grade": false, "grade_id": "variance_demo", "locked": true, "schema_version": 3, "solution": false}
_g = torch.Generator().manual_seed(SEED)
_x = torch.randn(1000, 10, generator=_g)
for label, k in [("k = 1", 1.0), ("k = 5", 5.0), ("k = 0.05", 0.05), ("k = 1/sqrt(10)", 1 / 10 ** 0.5)]:
    _w = torch.randn(10, 200, generator=_g) * k
    _y = _x @ _w
    print(f"{label:15} x: mean {_x.mean():+.4f} std {_x.std():.4f}   x @ w: mean {_y.mean():+.4f} std {_y.std():.4f}")
print("gains:", {nl: round(torch.nn.init.calculate_gain(nl), 4) for nl in ["linear", "relu", "tanh"]})

# %% nbgrader={"grade": true, "grade_id": "check_kaiming_std", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert abs(kaiming_std(10, gain=1.0) - 1 / math.sqrt(10)) < 1e-12, "kaiming_std(10, gain=1) should be 1/sqrt(10)"
assert abs(kaiming_std(50, gain=math.sqrt(2)) - math.sqrt(2 / 50)) < 1e-12, "with the ReLU gain sqrt(2) the std is sqrt(2/fan_in)"
_p = init_params(10, 200, generator=torch.Generator().manual_seed(0))
assert 0.25 < float(_p["W1"].detach().std()) < 0.36, "with init='kaiming' W1 should have a standard deviation near (5/3)/sqrt(30) = 0.30"
print("kaiming_std: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "lr_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Finding a learning rate
#
# Most useful learning rates lie between $10^{-3}$ and $10^0$. Rather than trying them one full
# training run at a time, a **sweep** tries them all in a single run: over `n` steps, the learning
# rate grows exponentially from $10^{-3}$ to $1$. The exponents are evenly spaced,
# `lre = torch.linspace(-3, 0, n)`, and the rates are `lrs = 10 ** lre`; step `i` uses `lrs[i]`
# on a fresh minibatch. Plotting the loss against the exponent gives a curve that first falls
# (the rate is too small to matter, then good) and then climbs again (the rate is too large). A
# good rate sits at the bottom of the valley, before the climb.
#
# The raw curve is noisy (each loss comes from another batch of 32), so we smooth it with a
# **moving average** over `window` consecutive steps before looking for its minimum.
#
# **Task.**
#
# * `lr_sweep(params, X, Y, n=1000, batch_size=32, generator=None)`: for `i` in `range(n)`, draw
#   a minibatch with `get_batch` and do one `train_step` with the rate `lrs[i]` (as a float).
#   Return `(lre, losses)`, two lists of `n` floats.
# * `pick_lr(lre, losses, window=50)`: compute the averages
#   `avg[j] = mean(losses[j : j + window])` for `j = 0 .. n - window` (both ends included:
#   `n - window + 1` full windows), find the `j` with the smallest average, and return the
#   learning rate at the middle of that window, `10 ** lre[j + window // 2]` (also for an odd
#   `window`).

# %% nbgrader={"grade": false, "grade_id": "lr_sweep", "locked": false, "schema_version": 3, "solution": true}
def lr_sweep(params, X, Y, n=1000, batch_size=32, generator=None):
    """One train_step per learning rate 10**linspace(-3, 0, n); returns (lre, losses) as lists."""
    ### BEGIN SOLUTION
    lre = torch.linspace(-3, 0, n)
    lrs = 10 ** lre
    losses = []
    for i in range(n):
        Xb, Yb = get_batch(X, Y, batch_size, generator=generator)
        losses.append(train_step(params, Xb, Yb, lrs[i].item()))
    return lre.tolist(), losses
    ### END SOLUTION


def pick_lr(lre, losses, window=50):
    """Learning rate at the centre of the window with the lowest average loss."""
    ### BEGIN SOLUTION
    averages = [sum(losses[j:j + window]) / window for j in range(len(losses) - window + 1)]
    best = min(range(len(averages)), key=averages.__getitem__)
    return 10 ** lre[best + window // 2]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "lr_sweep_demo", "locked": true, "schema_version": 3, "solution": false}
n_sweep = 300 if FAST else 1000
_p = init_params(10, 200, generator=torch.Generator().manual_seed(SEED))
sweep_lre, sweep_losses = lr_sweep(_p, Xtr, Ytr, n=n_sweep, generator=torch.Generator().manual_seed(SEED + 1))
best_lr = pick_lr(sweep_lre, sweep_losses, window=n_sweep // 20)
print(f"suggested learning rate: {best_lr:.3f}")
plt.figure(figsize=(8, 3))
plt.plot(sweep_lre, sweep_losses, lw=0.5)
plt.axvline(math.log10(best_lr), color="red")
plt.xlabel("exponent of the learning rate"); plt.ylabel("minibatch loss")
plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_lr_sweep", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(sweep_lre) == n_sweep and len(sweep_losses) == n_sweep, "lr_sweep should return n exponents and n losses"
assert abs(sweep_lre[0] + 3) < 1e-6 and abs(sweep_lre[-1]) < 1e-6, "the exponents should run from -3 to 0"
_toy_lre = [-3 + 3 * i / 99 for i in range(100)]
_toy_losses = [(e + 1) ** 2 for e in _toy_lre]
assert 0.08 < pick_lr(_toy_lre, _toy_losses, window=5) < 0.125, "a curve with its minimum at exponent -1 should give a rate of about 0.1"
print("lr_sweep: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. Training, evaluation and sampling
#
# The sweep suggests a rate of the order of $0.1$ (the exact value moves with the random batches); we
# train with $0.1$, the safer side of the valley. Once the loss stops improving at that
# rate, **learning-rate decay** helps: divide the rate by 10 and train a while longer, with
# smaller steps that settle closer to a minimum. We train 30,000 steps (20,000 at $0.1$, then
# 10,000 at $0.01$); in grading mode (`FAST`) the run is much shorter, with the same two-thirds /
# one-third split.
#
# **Task.** Write `train(params, X, Y, steps, lr=0.1, decay_at=None, batch_size=32, generator=None)`:
# `steps` calls of `train_step`, each on a fresh `get_batch`; step `i` (counting from 0) uses
# `lr` while `decay_at` is `None` or `i < decay_at`, and `lr / 10` from step `decay_at` on (so
# `decay_at=0` trains at `lr / 10` throughout).
# Return the list of the losses returned by `train_step`.

# %% nbgrader={"grade": false, "grade_id": "train", "locked": false, "schema_version": 3, "solution": true}
def train(params, X, Y, steps, lr=0.1, decay_at=None, batch_size=32, generator=None):
    """Minibatch gradient descent with one tenfold learning-rate decay; returns the losses."""
    ### BEGIN SOLUTION
    losses = []
    for i in range(steps):
        rate = lr if decay_at is None or i < decay_at else lr / 10
        Xb, Yb = get_batch(X, Y, batch_size, generator=generator)
        losses.append(train_step(params, Xb, Yb, rate))
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_run", "locked": true, "schema_version": 3, "solution": false}
steps = FAST_STEPS if FAST else 30_000
decay_at = steps * 2 // 3
model = init_params(10, 200, init="kaiming", generator=torch.Generator().manual_seed(SEED))
train_losses = train(model, Xtr, Ytr, steps, lr=0.1, decay_at=decay_at,
                     generator=torch.Generator().manual_seed(SEED + 2))
train_loss = evaluate(model, Xtr, Ytr)
dev_loss = evaluate(model, Xdev, Ydev)
print(f"{steps} steps: train loss {train_loss:.4f}, dev loss {dev_loss:.4f}")
plt.figure(figsize=(8, 3))
plt.plot(torch.tensor(train_losses).view(-1, 50).mean(1).tolist() if steps % 50 == 0 else train_losses)
plt.xlabel("step / 50"); plt.ylabel("minibatch loss (averaged)")
plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_train", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(train_losses) == steps, "train should return one loss per step"
assert train_losses[0] < expected_initial_loss() + 0.1, "with init='kaiming' the first loss should be close to ln 27"
assert dev_loss < 2.6, f"after training the dev loss should be well below ln 27 = 3.30 (below 2.6), got {dev_loss:.4f}"
assert abs(train_loss - dev_loss) < 0.2, "train and dev losses should be close: this small model hardly overfits"
print("train: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "test_md", "locked": true, "schema_version": 3, "solution": false}
# Only now, with every choice made, do we look at the test split, once. Its loss estimates how
# the model does on names it has never seen. Then we let the model invent names: start from the
# context `...`, sample the next character from the softmax of the logits, slide the context and
# repeat until the model produces `.`.

# %% nbgrader={"grade": false, "grade_id": "sample_demo", "locked": true, "schema_version": 3, "solution": false}
print(f"test loss: {evaluate(model, Xte, Yte):.4f}")
_g = torch.Generator().manual_seed(SEED + 3)
for _ in range(10):
    context, out = [0] * BLOCK_SIZE, []
    while True:
        with torch.no_grad():
            logits, _ = forward(model, torch.tensor([context]))
        ix = torch.multinomial(F.softmax(logits, dim=1), num_samples=1, generator=_g).item()
        if ix == 0 or len(out) > 30:
            break
        out.append(itos[ix])
        context = context[1:] + [ix]
    print("".join(out))

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * Embeddings beat counting: a context of 3 characters needs a table of 19,683 rows when
#   counting, but only 27 learned vectors and a small network here.
# * `build_dataset` turns each name into one (context, next character) example per character
#   plus one for the end marker, the context padded with `.`.
# * Split by names into train / dev / test; tune on dev, report on test once.
# * Minibatches make every step cheap; a sweep over exponentially spaced learning rates finds a
#   good rate in one run; a tenfold decay at the end refines the result.
# * Health checks: the initial loss should be about $\ln 27 = 3.2958$ (tame the output layer:
#   `b2 = 0`, small `W2`); few `tanh` units should be saturated and none dead (tame the hidden
#   layer: weights with standard deviation $\text{gain}/\sqrt{\text{fan\_in}}$, gain $5/3$ for
#   `tanh`).
