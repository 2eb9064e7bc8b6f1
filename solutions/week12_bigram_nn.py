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
# # Week 12 — The bigram language model as a neural network
#
# Last week's model was a table: 27×27 counts, normalised row by row. It was built by counting,
# not learned. This week we get **the same model** a second way: a tiny neural network, one
# linear layer of 27×27 weights, trained by gradient descent to minimise the negative
# log-likelihood. We will see it arrive at (almost) the loss of the counting model, and we will
# meet smoothing again, this time as a penalty on the weights.
#
# The plan:
#
# 1. why replace a table by parameters;
# 2. the training set of (input, target) pairs;
# 3. one-hot encoding (and its two traps);
# 4. a linear layer whose outputs are log-counts, and the softmax written by hand;
# 5. the loss, and its gradient;
# 6. gradient descent to the counting model's loss;
# 7. regularisation: the gradient-based twin of smoothing;
# 8. sampling from the network.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the given names and arguments: the grader calls them.
# Run the notebook from top to bottom; the *Check* cells test a few cases for you, and the grader
# runs more tests that you do not see.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0            # offset for the sampling demo
FAST = False        # True while grading: fewer training steps (STEPS is set by the grader)
DEVICE = "cpu"      # this model is tiny: everything runs on the CPU
DATA_DIR = "data"   # folder that holds names.txt
STEPS = 200         # gradient-descent steps of the training demo
LR = 50.0           # learning rate of the training demo
LAM = 0.01          # regularisation strength of the training demo

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math

import torch
import torch.nn.functional as F

torch.manual_seed(SEED)

# %% nbgrader={"grade": false, "grade_id": "load_data", "locked": true, "schema_version": 3, "solution": false}
with open(DATA_DIR + "/names.txt", encoding="ascii") as handle:
    words = handle.read().splitlines()

# The vocabulary of last week: '.' (start and end of a name) is 0, then 'a' = 1 ... 'z' = 26.
chars = sorted(set("".join(words)))
stoi = {ch: i + 1 for i, ch in enumerate(chars)}
stoi["."] = 0
itos = {i: ch for ch, i in stoi.items()}
V = len(stoi)
print(f"{len(words)} names, vocabulary of {V} tokens")

# %% nbgrader={"grade": false, "grade_id": "count_model", "locked": true, "schema_version": 3, "solution": false}
# Last week's counting model, for comparison (no smoothing).
pairs = torch.tensor([(stoi[a], stoi[b]) for w in words for a, b in zip("." + w, w + ".")])
N = torch.bincount(pairs[:, 0] * V + pairs[:, 1], minlength=V * V).view(V, V)
P_count = N.float() / N.float().sum(1, keepdim=True)
count_nll = -torch.log(P_count[N > 0]).mul(N[N > 0]).sum().item() / N.sum().item()
print(f"counting model: average NLL {count_nll:.4f} on {int(N.sum())} bigrams")


# %% [markdown] nbgrader={"grade": false, "grade_id": "why_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. From a table to parameters
#
# A deep-learning model is nothing but a set of **parameters** (weights and biases) and a rule
# for computing an output from them. Last week's table was a *statistical* model: its numbers
# came from counting, with no training at all. It has two weaknesses:
#
# * it cannot generalise: a pair it never saw gets probability 0 (hence the smoothing);
# * it does not scale with the context. With one character of context the table has $27$ rows;
#   with two characters $27^2 = 729$ rows; with three $27^3 = 19{,}683$ rows, each of 27
#   entries. The bigger the table, the **sparser** it gets: most cells see few or no examples,
#   and filling them would need far more data.
#
# A neural network computes the probabilities from a fixed set of weights instead, and we can make
# it bigger or smarter (more context, more layers) without enumerating every context.
#
# This week the network is deliberately as weak as the table: it sees one character. So we do
# **not** expect it to beat counting. For a bigram model the counts are the best possible
# answer (they maximise the likelihood), and the network should approach the counting model's
# loss from above. The point is the method, which will carry over to the MLP next week.

# %% [markdown] nbgrader={"grade": false, "grade_id": "xy_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. The training set
#
# A network learns from pairs (input, target). Each bigram of each name, with `.` around the name,
# is one pair: the input is the first token's index, the target the index of the token that
# follows. `emma` gives five pairs:
#
# | input | target |
# |---|---|
# | `.` (0) | `e` (5) |
# | `e` (5) | `m` (13) |
# | `m` (13) | `m` (13) |
# | `m` (13) | `a` (1) |
# | `a` (1) | `.` (0) |
#
# **Task.** Write `make_bigram_xy(words, stoi)`, returning two 1-D `torch.int64` tensors `xs`
# (inputs) and `ys` (targets) with one entry per bigram of all the names, in order. Look the
# indices up in the `stoi` you are given (the grader also calls it with other vocabularies).

# %% nbgrader={"grade": false, "grade_id": "make_bigram_xy", "locked": false, "schema_version": 3, "solution": true}
def make_bigram_xy(words: list[str], stoi: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(xs, ys): int64 tensors of input and target indices, one pair per bigram ('.' around each name)."""
    ### BEGIN SOLUTION
    xs, ys = [], []
    for word in words:
        tokens = ["."] + list(word) + ["."]
        for first, second in zip(tokens, tokens[1:]):
            xs.append(stoi[first])
            ys.append(stoi[second])
    return torch.tensor(xs, dtype=torch.int64), torch.tensor(ys, dtype=torch.int64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_make_bigram_xy", "locked": true, "points": 0, "schema_version": 3, "solution": false}
xs_emma, ys_emma = make_bigram_xy(["emma"], stoi)
assert xs_emma.tolist() == [0, 5, 13, 13, 1], "for 'emma' the inputs should be [0, 5, 13, 13, 1]"
assert ys_emma.tolist() == [5, 13, 13, 1, 0], "for 'emma' the targets should be [5, 13, 13, 1, 0]"
assert xs_emma.dtype == torch.int64 and ys_emma.dtype == torch.int64, "xs and ys should be int64 tensors"
print("make_bigram_xy: all checks passed")

# %% nbgrader={"grade": false, "grade_id": "make_xy_all", "locked": true, "schema_version": 3, "solution": false}
xs, ys = make_bigram_xy(words, stoi)
print(f"{xs.numel()} training pairs")

# %% [markdown] nbgrader={"grade": false, "grade_id": "onehot_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. One-hot encoding
#
# The inputs are integers, but the integer is only a name: `m` = 13 is not "more" than `a` = 1,
# and a network multiplying 13 by a weight would treat it as if it were. **One-hot encoding**
# removes the false order: the index $i$ becomes a vector of zeros with a single 1 at position
# $i$. Think of a table of fruit, where the column "fruit = 1, 2 or 3" is replaced by three
# columns "is apple", "is mango", "is orange", each 0 or 1.
#
# `F.one_hot(xs, num_classes=27)` does it for a whole tensor. Two traps:
#
# 1. **`num_classes`.** Without it PyTorch guesses the number of classes as `xs.max() + 1`. For
#    `emma` that is 14, so the vectors are too short, and a batch whose largest index differs
#    gets vectors of another length. Always pass `num_classes` (27 for our vocabulary).
# 2. **The dtype.** `F.one_hot` returns `int64`. Neural networks compute with floating-point
#    numbers (and `int64 @ float32` raises an error), so convert with `.float()`.
#
# **Task.** Write `encode_one_hot(xs, num_classes=27)`: the float32 one-hot rows of the indices
# `xs`, each of length `num_classes` (use the argument: the grader tries other values).

# %% nbgrader={"grade": false, "grade_id": "onehot_demo", "locked": true, "schema_version": 3, "solution": false}
xs_emma, _ = make_bigram_xy(["emma"], stoi)
print(F.one_hot(xs_emma).shape, "<- without num_classes: only 14 columns")
print(F.one_hot(xs_emma, num_classes=27).shape, F.one_hot(xs_emma, num_classes=27).dtype)


# %% nbgrader={"grade": false, "grade_id": "encode_one_hot", "locked": false, "schema_version": 3, "solution": true}
def encode_one_hot(xs: torch.Tensor, num_classes: int = 27) -> torch.Tensor:
    """One-hot rows for the indices xs: a float32 tensor of shape (len(xs), num_classes)."""
    ### BEGIN SOLUTION
    return F.one_hot(xs, num_classes=num_classes).float()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_encode_one_hot", "locked": true, "points": 0, "schema_version": 3, "solution": false}
enc = encode_one_hot(xs_emma)
assert enc.shape == (5, 27), f"encoding 'emma' should give shape (5, 27), got {tuple(enc.shape)} (num_classes?)"
assert enc.dtype == torch.float32, f"the encoding should be float32, got {enc.dtype}"
assert enc[2, 13] == 1 and enc.sum() == 5, "each row should hold a single 1 at the input's index"
assert encode_one_hot(xs_emma, num_classes=20).shape == (5, 20), "encode_one_hot(xs, num_classes=20) should give 20 columns"
print("encode_one_hot: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "forward_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. One linear layer, read as log-counts
#
# The network is a single linear layer with 27 inputs and 27 outputs and **no bias**: a weight
# matrix `W` of shape (27, 27), initialised with small random numbers from `torch.randn`.
# For a batch of one-hot rows `xenc` of shape (n, 27), the outputs are `logits = xenc @ W`, 27
# real numbers per example.
#
# Because `xenc` is one-hot, `xenc @ W` simply **selects row `x` of `W`**: row $i$ of `W` plays
# the role of row $i$ of the count table. (No bias: every parameter is tied to an input
# character, exactly like the table.) The logits can be negative, so they cannot be counts or
# probabilities. We read them as **log-counts**:
#
# * `counts = logits.exp()` is positive, a "fake count" for every next character;
# * `probs = counts / counts.sum(1, keepdim=True)` normalises each row to a distribution.
#
# Exponentiate, then normalise each row: that is the **softmax**. Written by hand it makes
# plain that the network does what the table did, with `exp(W)` in place of the counts.
#
# **Task.** Write `bigram_probs(xenc, W)`: logits, exponentiate, normalise each row (over the 27
# possible next characters; in general over the columns of `W`, whatever its size). Do not call
# `F.softmax` or `torch.softmax`.

# %% nbgrader={"grade": false, "grade_id": "bigram_probs", "locked": false, "schema_version": 3, "solution": true}
def bigram_probs(xenc: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Next-character probabilities, shape (n, V) for W of shape (V, V): softmax of xenc @ W over each row, by hand."""
    ### BEGIN SOLUTION
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    return probs
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "forward_demo", "locked": true, "schema_version": 3, "solution": false}
W_demo = torch.randn((V, V), generator=torch.Generator().manual_seed(2147483647))
enc = encode_one_hot(xs_emma)
probs = bigram_probs(enc, W_demo)
print("rows sum to", probs.sum(1))
print("same as F.softmax:", torch.allclose(probs, F.softmax(enc @ W_demo, dim=1)))
print("one_hot(x) @ W is row x of W:", torch.equal(enc @ W_demo, W_demo[xs_emma]))

# %% nbgrader={"grade": true, "grade_id": "check_bigram_probs", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert probs.shape == (5, 27), "bigram_probs should return one row of 27 probabilities per input"
assert torch.allclose(probs.sum(1), torch.ones(5)), "each row of probabilities should sum to 1"
assert torch.allclose(bigram_probs(enc, torch.zeros(V, V)), torch.full((5, V), 1 / 27)), \
    "with all weights 0 every next character should get probability 1/27"
print("bigram_probs: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "loss_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. The loss
#
# The loss is last week's score: the average negative log-likelihood of the targets,
# $-\frac{1}{n}\sum_i \ln p_i[y_i]$, where `probs[i, ys[i]]` is the probability the network gives
# the correct next character of example $i$ (pick them all at once with
# `probs[torch.arange(n), ys]`).
#
# To this we add the **regularisation** term of section 7,
# $$J = \underbrace{-\frac{1}{n}\sum_{i=1}^{n} \ln p_i[y_i]}_{\text{NLL (cross-entropy)}}
# \;+\; \lambda \cdot \frac{1}{27 \cdot 27}\sum_{w \in W} w^2,$$
# where $\lambda$ (`lam`) sets its strength: the second term is $\lambda$ times the **mean** of
# the squared weights.
#
# **Task.** Write `bigram_loss(probs, ys, W, lam=0.0)`, returning $J$ as a scalar tensor (keep it
# a tensor: we will call `.backward()` on it). The mean runs over the `n` targets and over all the
# entries of `W`, whatever their numbers.

# %% nbgrader={"grade": false, "grade_id": "bigram_loss", "locked": false, "schema_version": 3, "solution": true}
def bigram_loss(probs: torch.Tensor, ys: torch.Tensor, W: torch.Tensor, lam: float = 0.0) -> torch.Tensor:
    """Average NLL of the targets ys under probs, plus lam * mean(W ** 2); a scalar tensor."""
    ### BEGIN SOLUTION
    n = ys.shape[0]
    nll = -probs[torch.arange(n), ys].log().mean()
    return nll + lam * (W ** 2).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_bigram_loss", "locked": true, "points": 0, "schema_version": 3, "solution": false}
zero = torch.zeros(V, V)
loss0 = bigram_loss(torch.full((5, V), 1 / 27), ys_emma, zero, lam=0.5)
assert abs(loss0.item() - math.log(27)) < 1e-5, "with W = 0 every probability is 1/27, so the loss is ln 27 (whatever lam is)"
ref = F.cross_entropy(enc @ W_demo, ys_emma) + 0.1 * (W_demo ** 2).mean()
assert abs(bigram_loss(F.softmax(enc @ W_demo, dim=1), ys_emma, W_demo, 0.1).item() - ref.item()) < 1e-5, \
    "the loss should equal F.cross_entropy(logits, ys) + lam * (W ** 2).mean()"
print("bigram_loss: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Gradient descent
#
# Training repeats four steps on the whole data set (full-batch gradient descent):
#
# 1. **forward**: one-hot inputs → probabilities → loss;
# 2. **reset** the old gradient, `W.grad = None`: PyTorch *adds* new gradients into `.grad`, so
#    without the reset every step would also use all the previous gradients;
# 3. **backward**: `loss.backward()` fills `W.grad` with $\partial J / \partial W$;
# 4. **update**: step against the gradient, `W.data -= lr * W.grad`.
#
# `W` must be a leaf tensor created with `requires_grad=True`. Update it **in place** (through
# `W.data`, or inside `with torch.no_grad():`) so that the caller's tensor is trained. The inputs
# never change, so encode them once, before the loop.
#
# **Task.** Write `train_bigram(xs, ys, W, steps, lr, lam=0.0)`: run `steps` steps of gradient
# descent on `W` and return the list of the `steps` loss values (Python floats), each one the loss
# *before* that step's update.

# %% nbgrader={"grade": false, "grade_id": "train_bigram", "locked": false, "schema_version": 3, "solution": true}
def train_bigram(xs: torch.Tensor, ys: torch.Tensor, W: torch.Tensor, steps: int, lr: float,
                 lam: float = 0.0) -> list[float]:
    """Full-batch gradient descent on W (updated in place); returns the loss before each update."""
    ### BEGIN SOLUTION
    xenc = encode_one_hot(xs)
    losses = []
    for _ in range(steps):
        probs = bigram_probs(xenc, W)
        loss = bigram_loss(probs, ys, W, lam)
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        W.data -= lr * W.grad
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_demo", "locked": true, "schema_version": 3, "solution": false}
W = torch.randn((V, V), generator=torch.Generator().manual_seed(2147483647), requires_grad=True)
losses = train_bigram(xs, ys, W, STEPS, LR, LAM)
for step in sorted({0, 10, STEPS // 2, STEPS - 1}):
    print(f"step {step:4d}: loss {losses[step]:.4f}")
with torch.no_grad():
    ce = F.cross_entropy(W[xs], ys).item()   # W[xs] is the same as one_hot(xs) @ W, only faster
print(f"after {STEPS} steps: cross-entropy {ce:.4f} (without the penalty); counting model {count_nll:.4f}")

# %% nbgrader={"grade": true, "grade_id": "check_training", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(losses) == STEPS, "train_bigram should return one loss per step"
assert losses[-1] < losses[0], "the loss should go down during training"
assert ce > count_nll - 1e-3, "the network cannot beat the counting model on its own training data"
print("training: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "compare_md", "locked": true, "schema_version": 3, "solution": false}
# How close is the network to the table? Compare the probabilities of the first letter of a name
# (row `.`) in the two models. With more steps the two agree ever more closely; the rows of rare
# characters, which contribute little to the loss, converge slowest.

# %% nbgrader={"grade": false, "grade_id": "compare_demo", "locked": true, "schema_version": 3, "solution": false}
with torch.no_grad():
    P_nn = F.softmax(W, dim=1)
for ch in "aeikmz":
    print(f"P(first letter = {ch!r}): network {P_nn[0, stoi[ch]].item():.4f}, counts {P_count[0, stoi[ch]].item():.4f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "reg_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Regularisation: smoothing for gradient descent
#
# Last week we added fake counts to every cell of the table. The more we added, the more uniform
# the rows became, and an unseen bigram no longer had probability 0. What is the equivalent for
# the network?
#
# Take `W = 0`. Every logit is 0, every "count" is $e^0 = 1$, and every probability is $1/27$:
# the uniform model, loss $\ln 27 \approx 3.2958$. So **pulling the weights towards 0 pulls the
# model towards uniform**, just as large fake counts did. That is what the term
# $\lambda \cdot \text{mean}(W^2)$ in the loss does: the optimiser now balances two goals, fitting
# the data (the NLL) and keeping every weight small (the penalty). A larger $\lambda$ gives a
# smoother, "dumber" model, exactly as more fake counts did; $\lambda$ plays the role of the
# amount added to the counts. (The course text writes the total as "softmax + λ…"; the first term
# is of course the NLL, the cross-entropy of the softmax outputs, not the softmax itself.)

# %% nbgrader={"grade": false, "grade_id": "reg_demo", "locked": true, "schema_version": 3, "solution": false}
small = xs[:5000], ys[:5000]
for lam in (0.0, 1.0, 10.0):
    W_reg = torch.zeros((V, V), requires_grad=True)
    hist = train_bigram(*small, W_reg, 20 if FAST else 100, 10.0, lam)
    print(f"lam = {lam:>4}: first loss {hist[0]:.4f} (= ln 27), last {hist[-1]:.4f}, "
          f"mean W^2 {(W_reg.detach() ** 2).mean().item():.4f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "sample_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. Sampling from the network
#
# Generation works as last week, with the network in place of the table: encode the current
# index, compute its 27 probabilities, and **sample** the next index with `torch.multinomial`.
# (Taking the most probable character instead, the argmax, would produce the same few names
# again and again.) Starting from the same generator seed as the counting model, a well-trained
# network produces nearly the same names: the two models have nearly the same probabilities.

# %% nbgrader={"grade": false, "grade_id": "sample_demo", "locked": true, "schema_version": 3, "solution": false}
g = torch.Generator().manual_seed(2147483647 + SEED)
for _ in range(10):
    out, ix = [], 0
    while True:
        p = bigram_probs(encode_one_hot(torch.tensor([ix])), W.detach())[0]
        ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
        out.append(itos[ix])
        if ix == 0:
            break
    print("".join(out))

# %% [markdown] nbgrader={"grade": false, "grade_id": "quiz_md", "locked": true, "schema_version": 3, "solution": false}
# ## 9. Short answers
#
# Fill in the dictionary with numbers or booleans, as asked.

# %% nbgrader={"grade": false, "grade_id": "quiz", "locked": false, "schema_version": 3, "solution": true}
QUIZ = {
    # rows of a count table whose context is 1, 2 and 3 characters (27 tokens)
    "rows_context_1": None,
    "rows_context_2": None,
    "rows_context_3": None,
    # length of each one-hot vector for xs = [0, 5, 13, 13, 1] when num_classes is left out
    "one_hot_length_without_num_classes": None,
    # the loss when every weight is 0 (a float)
    "loss_all_weights_zero": None,
    # True or False: after training, the network should reach a clearly lower NLL than counting
    "network_beats_counting": None,
}
### BEGIN SOLUTION
QUIZ = {
    "rows_context_1": 27,
    "rows_context_2": 27 ** 2,
    "rows_context_3": 27 ** 3,
    "one_hot_length_without_num_classes": 14,
    "loss_all_weights_zero": math.log(27),
    "network_beats_counting": False,
}
### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * The bigram network is one 27×27 weight matrix without bias. A one-hot input selects a row
#   of `W`; exponentiating gives fake counts, and normalising each row gives probabilities: the
#   softmax.
# * One-hot encode with `num_classes=27` and convert to `float`.
# * Gradient descent on the NLL drives the network towards the counting model's loss, the best
#   a bigram model can do on its training data. It approaches it from above and never beats it.
# * Penalising $\lambda \cdot \text{mean}(W^2)$ pulls the model towards uniform, just like fake
#   counts: regularisation.
#
# Next week the network gets more context, and the table approach has no answer to that.
