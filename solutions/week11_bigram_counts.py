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
# # Week 11 — A bigram language model built by counting
#
# For the next three weeks we build models that **invent first names** that look like the ones
# they were trained on. We start with the simplest model that can do it, one that needs no
# neural network and no gradient at all: we **count** which character follows which, turn the
# counts into probabilities, and sample from them. Next week the same model is learned by
# gradient descent, and after that by a multilayer perceptron.
#
# The plan:
#
# 1. language models, n-grams and the Markov assumption;
# 2. the training examples hidden in a name, and the start/end tokens;
# 3. a 28×28 count matrix, why it wastes space, and the 27×27 matrix with a single `.` token;
# 4. from counts to probabilities (and a broadcasting trap);
# 5. four probability distributions, `torch.multinomial` and `torch.Generator`;
# 6. sampling names;
# 7. likelihood, log-likelihood and the average negative log-likelihood (NLL);
# 8. smoothing, the counting model's form of regularisation.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the given names and arguments: the grader calls them.
# Run the notebook from top to bottom; the *Check* cells test a few cases for you, and the grader
# runs more tests that you do not see. You need `torch` only.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0            # seed for the sampling demos
FAST = False        # True while grading: skips the plots
DEVICE = "cpu"      # sampling always uses a CPU torch.Generator, so this stays "cpu"
DATA_DIR = "data"   # folder that holds names.txt
N_SAMPLES = 15      # how many names the demo samples

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math

import torch
import torch.nn.functional as F

torch.manual_seed(SEED)

# %% [markdown] nbgrader={"grade": false, "grade_id": "lm_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Language models
#
# A **language model** is a procedure that, given the tokens seen so far, returns a probability
# for every token that could come next. When the tokens are single characters we speak of a
# **character-level** language model: it models strings letter by letter and can continue any
# prefix by predicting (or sampling) the next character.
#
# Tokens can also be whole words, or pieces of words: the byte-pair encoding used by the GPT
# models merges frequent character sequences into sub-word tokens.
#
# An **n-gram** model makes a simplifying bet, the *Markov assumption*: the next token depends
# only on a window of a fixed size of the tokens just before it, and on nothing earlier. The
# window holds $n-1$ tokens:
#
# | model | tokens of context |
# |---|---|
# | bigram ($n=2$) | 1 |
# | trigram ($n=3$) | 2 |
# | n-gram | $n-1$ |
#
# This week: a **character bigram model**. It looks at one character and predicts the next.

# %% nbgrader={"grade": false, "grade_id": "load_data", "locked": true, "schema_version": 3, "solution": false}
with open(DATA_DIR + "/names.txt", encoding="ascii") as handle:
    words = handle.read().splitlines()

print(f"{len(words)} names, from {min(map(len, words))} to {max(map(len, words))} letters")
print("the first few:", words[:8])


# %% [markdown] nbgrader={"grade": false, "grade_id": "bigrams_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. The training examples inside a name
#
# A single name holds several examples for a bigram model. The name `emma` says that `e` can be
# followed by `m`, `m` by `m` and `m` by `a`. It says two more things that are easy to miss: a
# name may **start** with `e`, and a name may **end** after `a`. To record these we surround the
# name with two special tokens, `<S>` (start) and `<E>` (end):
#
# `<S>e`, `em`, `mm`, `ma`, `a<E>` — five bigrams for a four-letter name. In general a name of
# length $L$ gives $L+1$ bigrams.
#
# **Task.** Write `word_bigrams(word)`, which returns the list of bigrams of one name as pairs of
# strings, in order, with `'<S>'` and `'<E>'` as the first and last tokens.

# %% nbgrader={"grade": false, "grade_id": "word_bigrams", "locked": false, "schema_version": 3, "solution": true}
def word_bigrams(word: str) -> list[tuple[str, str]]:
    """The bigrams of one name, in order, with the start token '<S>' and the end token '<E>'.

    word_bigrams("ava") == [("<S>", "a"), ("a", "v"), ("v", "a"), ("a", "<E>")]
    """
    ### BEGIN SOLUTION
    tokens = ["<S>"] + list(word) + ["<E>"]
    return list(zip(tokens, tokens[1:]))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_word_bigrams", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert word_bigrams("ava") == [("<S>", "a"), ("a", "v"), ("v", "a"), ("a", "<E>")], \
    "word_bigrams('ava') should be [('<S>', 'a'), ('a', 'v'), ('v', 'a'), ('a', '<E>')]"
assert len(word_bigrams("isabella")) == 9, "a name of 8 letters has 9 bigrams"
print("word_bigrams: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "count28_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Storing the counts
#
# There are only 26 letters plus the two special tokens, so every possible bigram fits in a
# **28×28 matrix** `N`: row = first token, column = second token, entry = how many times that
# pair occurs in the data. We number the letters `a`…`z` as 0…25, `<S>` as 26 and `<E>` as 27.
#
# **Task.** Write `count_bigrams_28(words)`, returning the 28×28 count matrix as a
# `torch.int32` tensor. Use your `word_bigrams`.

# %% nbgrader={"grade": false, "grade_id": "count_bigrams_28", "locked": false, "schema_version": 3, "solution": true}
LETTERS = "abcdefghijklmnopqrstuvwxyz"
INDEX_28 = {ch: i for i, ch in enumerate(LETTERS)}
INDEX_28["<S>"] = 26
INDEX_28["<E>"] = 27


def count_bigrams_28(words: list[str]) -> torch.Tensor:
    """Counts of every bigram of `words` in a (28, 28) int32 tensor.

    Rows are the first token, columns the second; a..z are 0..25, '<S>' is 26, '<E>' is 27.
    """
    ### BEGIN SOLUTION
    N = torch.zeros((28, 28), dtype=torch.int32)
    for word in words:
        for first, second in word_bigrams(word):
            N[INDEX_28[first], INDEX_28[second]] += 1
    return N
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "count28_look", "locked": true, "schema_version": 3, "solution": false}
N28 = count_bigrams_28(words)
print("row of <E> (what follows the end token):", N28[27].tolist())
print("column of <S> (what precedes the start token):", N28[:, 26].tolist())


# %% [markdown] nbgrader={"grade": false, "grade_id": "count27_md", "locked": true, "schema_version": 3, "solution": false}
# The printout shows the two problems of this layout. Nothing can follow `<E>`, so its **row is
# all zeros**; and `<S>` can never follow a character, so its **column is all zeros** too. We
# store and loop over $2 \cdot 28 - 1 = 55$ cells that must always be 0.
#
# The fix: one token `.` plays both roles, "start" when it is the first token of a pair and "end"
# when it is the second. We put it at **index 0** and the letters after it, so the matrix
# becomes **27×27** with no wasted row or column. With this vocabulary `emma` becomes the tokens
# `. e m m a .` with indices `0 5 13 13 1 0`.
#
# **Task.**
#
# * `build_vocab(words)` returns `(stoi, itos)`: `stoi` maps each character to its index and
#   `itos` is the reverse mapping (index to character). `'.'` is index 0; the distinct
#   characters of `words`, **sorted**, follow from index 1.
# * `count_bigrams(words, stoi)` returns the 27×27 (in general `len(stoi)`×`len(stoi)`) count
#   matrix as a `torch.int32` tensor, with `.` before and after every name.

# %% nbgrader={"grade": false, "grade_id": "build_vocab", "locked": false, "schema_version": 3, "solution": true}
def build_vocab(words: list[str]) -> tuple[dict[str, int], dict[int, str]]:
    """(stoi, itos): '.' has index 0, the sorted distinct characters of `words` follow."""
    ### BEGIN SOLUTION
    chars = sorted(set("".join(words)))
    stoi = {ch: i + 1 for i, ch in enumerate(chars)}
    stoi["."] = 0
    itos = {i: ch for ch, i in stoi.items()}
    return stoi, itos
    ### END SOLUTION


def count_bigrams(words: list[str], stoi: dict[str, int]) -> torch.Tensor:
    """Counts of the bigrams of `words` with '.' before and after each name.

    Returns a (V, V) int32 tensor, V = len(stoi); N[i, j] counts "token i followed by token j".
    """
    ### BEGIN SOLUTION
    V = len(stoi)
    N = torch.zeros((V, V), dtype=torch.int32)
    for word in words:
        tokens = ["."] + list(word) + ["."]
        for first, second in zip(tokens, tokens[1:]):
            N[stoi[first], stoi[second]] += 1
    return N
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "count_look", "locked": true, "schema_version": 3, "solution": false}
stoi, itos = build_vocab(words)
N = count_bigrams(words, stoi)
print(f"vocabulary of {len(stoi)} tokens; {int(N.sum())} bigrams in the data")
top = torch.topk(N.flatten(), 5)
for count, flat in zip(top.values.tolist(), top.indices.tolist()):
    print(f"  {itos[flat // 27] + itos[flat % 27]!r}: {count}")
print("cells that are never seen:", int((N == 0).sum()))

# %% nbgrader={"grade": true, "grade_id": "check_vocab_counts", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert stoi["."] == 0 and stoi["a"] == 1 and stoi["z"] == 26, "'.' should be index 0, then 'a' = 1 ... 'z' = 26"
assert all(itos[i] == ch for ch, i in stoi.items()), "itos should be the reverse mapping of stoi"
assert N.shape == (27, 27) and N.dtype == torch.int32, "N should be a 27x27 int32 tensor"
assert int(N.sum()) == sum(len(w) + 1 for w in words), "every name of length L gives L + 1 bigrams"
assert int(N[0].sum()) == len(words), "row '.' counts the first letter of every name once"
assert int(N[:, 0].sum()) == len(words), "column '.' counts the last letter of every name once"
print("vocabulary and counts: all checks passed")

# %% nbgrader={"grade": false, "grade_id": "heatmap", "locked": true, "schema_version": 3, "solution": false}
# A picture of the count matrix (skipped while grading).
if not FAST:
    import matplotlib.pyplot as plt

    plt.figure(figsize=(12, 12))
    plt.imshow(N, cmap="Blues")
    for i in range(27):
        for j in range(27):
            plt.text(j, i, itos[i] + itos[j], ha="center", va="bottom", color="gray", fontsize=7)
            plt.text(j, i, int(N[i, j]), ha="center", va="top", color="gray", fontsize=7)
    plt.axis("off")
    plt.show()


# %% [markdown] nbgrader={"grade": false, "grade_id": "probs_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. From counts to probabilities
#
# Row `i` of `N` says how often each token followed token `i`. Dividing the row by its sum turns
# it into a probability distribution over the next token: row 0, for instance, gives the
# probability of each first letter.
#
# With tensors this is one division, but **mind the broadcasting**. `N.sum(1)` has shape
# `(27,)`; broadcasting lines shapes up *from the right*, so `(27, 27) / (27,)` treats the sums
# as a **row** `(1, 27)` and divides column `j` by the sum of row `j`. No error is raised, the
# result is just wrong: its rows no longer sum to 1. `N.sum(1, keepdim=True)` has shape
# `(27, 1)`, a column, which divides every row by its own sum. Always check that the rows sum
# to 1.
#
# We also give the function a `smoothing` argument, a number of fake counts added to every cell
# before normalising (section 8 explains why).
#
# **Task.** Write `counts_to_probs(N, smoothing=0)`: add `smoothing` to every count, convert to
# `float32` and divide each row by its sum. It must work for a count matrix of any size and
# return a new tensor: leave `N` itself unchanged (the caller still needs the counts, and
# `N.float()` is `N` itself when `N` is already a float32 tensor, so work on `N + smoothing`).

# %% nbgrader={"grade": false, "grade_id": "counts_to_probs", "locked": false, "schema_version": 3, "solution": true}
def counts_to_probs(N: torch.Tensor, smoothing: float = 0) -> torch.Tensor:
    """Row-normalised float32 probabilities from bigram counts, after adding `smoothing` to every count."""
    ### BEGIN SOLUTION
    P = (N + smoothing).float()
    P = P / P.sum(1, keepdim=True)
    return P
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_counts_to_probs", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_counts = torch.randint(1, 50, (27, 27), generator=torch.Generator().manual_seed(0), dtype=torch.int32)
_P = counts_to_probs(_counts)
assert _P.shape == (27, 27) and _P.dtype == torch.float32, \
    f"counts_to_probs of a 27x27 int32 count matrix should be a 27x27 float32 tensor, got {_P.dtype} {tuple(_P.shape)}"
assert torch.allclose(_P.sum(1), torch.ones(27)), \
    f"every row of counts_to_probs(counts) should sum to 1 (keepdim=True?); the row sums are {_P.sum(1)[:4].tolist()} ..."
assert torch.allclose(counts_to_probs(torch.tensor([[1, 3], [2, 0]])), torch.tensor([[0.25, 0.75], [1.0, 0.0]])), \
    "counts [[1, 3], [2, 0]] should give probabilities [[0.25, 0.75], [1, 0]]"
assert torch.allclose(counts_to_probs(torch.tensor([[1, 3], [2, 0]]), 1), torch.tensor([[1 / 3, 2 / 3], [0.75, 0.25]])), \
    "with smoothing=1 the counts [[1, 3], [2, 0]] become [[2, 4], [3, 1]]"
_float_counts = torch.tensor([[1.0, 3.0], [2.0, 0.0]])
counts_to_probs(_float_counts, 1)
assert _float_counts.tolist() == [[1.0, 3.0], [2.0, 0.0]], \
    f"counts_to_probs(N, 1) should leave N unchanged, but N is now {_float_counts.tolist()}"
print("counts_to_probs: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "dist_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Four distributions, and sampling with PyTorch
#
# To generate a name we must draw the next character from a row of `P`. Which probability
# distribution describes such a draw? Four standard ones differ in two numbers: $K$, the number
# of possible outcomes of one trial, and $n$, the number of trials.
#
# | experiment | $K$ | $n$ | distribution of the result |
# |---|---|---|---|
# | toss a coin once: heads or not (0/1) | 2 | 1 | **Bernoulli** |
# | toss a coin $n$ times, count the heads | 2 | $n \ge 1$ | **binomial** |
# | roll a die once: which face (or "was it a 6?") | $K \ge 2$ | 1 | **categorical** |
# | roll a die $n$ times, count each face | $K \ge 2$ | $n \ge 1$ | **multinomial** |
#
# The multinomial generalises the other three: Bernoulli is the case $K=2, n=1$, the binomial
# is $K=2$, and the categorical is $n=1$. Picking the next character is one categorical draw
# with $K=27$; PyTorch offers it as `torch.multinomial(probs, num_samples, replacement=True)`,
# which returns the sampled **indices**.
#
# **Task.** Write `distribution_name(K, n)`, returning `"bernoulli"`, `"binomial"`,
# `"categorical"` or `"multinomial"` (lower case): the most specific of the four for an
# experiment with `K >= 2` outcomes per trial and `n >= 1` trials.

# %% nbgrader={"grade": false, "grade_id": "distribution_name", "locked": false, "schema_version": 3, "solution": true}
def distribution_name(K: int, n: int) -> str:
    """The most specific distribution for n >= 1 trials with K >= 2 outcomes each (lower case)."""
    ### BEGIN SOLUTION
    if K == 2:
        return "bernoulli" if n == 1 else "binomial"
    return "categorical" if n == 1 else "multinomial"
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "generator_md", "locked": true, "schema_version": 3, "solution": false}
# Random numbers in PyTorch come from a generator. `torch.manual_seed(s)` seeds the global one
# (the "functional" style); a `torch.Generator` object is a private stream you seed and pass
# around explicitly (the "object-oriented" style), so that other code drawing random numbers
# cannot shift your samples. Sampling functions accept it as `generator=`.
#
# Always create it on the CPU (`torch.Generator()`): a CUDA generator produces a different
# stream, and PyTorch does not promise identical streams across releases either.

# %% nbgrader={"grade": false, "grade_id": "multinomial_demo", "locked": true, "schema_version": 3, "solution": false}
g = torch.Generator().manual_seed(42)
p = torch.rand(3, generator=g)
print(p)                       # tensor([0.8823, 0.9150, 0.3829])
p = p / p.sum()
print(p)                       # tensor([0.4047, 0.4197, 0.1756])
drawn = torch.multinomial(p, num_samples=1000, replacement=True, generator=g)
for k in range(3):
    print(f"share of {k}: {(drawn == k).float().mean().item():.3f}")   # 0.404, 0.425, 0.171


# %% [markdown] nbgrader={"grade": false, "grade_id": "sample_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Sampling names
#
# To generate a name: start at the token `.` (index 0); draw the next index from row `P[ix]`;
# append its character; continue from the new index. Stop when the `.` token is drawn again, the
# end of the name, or, if a `max_len` is given, once that many characters have been drawn.
#
# **Task.** Write `sample_name(P, itos, generator, max_len=None)`. Draw each index with exactly
# one call `torch.multinomial(P[ix], num_samples=1, replacement=True, generator=generator)`
# (so that your names match ours for the same seed). Return the drawn characters as one string,
# **including** the final `'.'` when the name ended that way (for example `"emma."`).

# %% nbgrader={"grade": false, "grade_id": "sample_name", "locked": false, "schema_version": 3, "solution": true}
def sample_name(P: torch.Tensor, itos: dict[int, str], generator: torch.Generator,
                max_len: int | None = None) -> str:
    """Sample one name from the bigram probabilities P, starting after '.'.

    Returns the sampled characters, ending with '.' unless max_len characters were drawn first.
    """
    ### BEGIN SOLUTION
    out = []
    ix = 0
    while True:
        ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=generator).item()
        out.append(itos[ix])
        if ix == 0 or (max_len is not None and len(out) >= max_len):
            break
    return "".join(out)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sample_demo", "locked": true, "schema_version": 3, "solution": false}
g = torch.Generator().manual_seed(2147483647 + SEED)
P = counts_to_probs(N)
for _ in range(N_SAMPLES):
    print(sample_name(P, itos, g))

# %% nbgrader={"grade": true, "grade_id": "check_sample_name", "locked": true, "points": 0, "schema_version": 3, "solution": false}
# a fixed table and vocabulary of our own, so that only sample_name is checked here
_itos = dict(enumerate(".abcdefghijklmnopqrstuvwxyz"))
_table = torch.rand(27, 27, generator=torch.Generator().manual_seed(0)) + torch.eye(27)[0] * 2
_table = _table / _table.sum(1, keepdim=True)
g = torch.Generator().manual_seed(1)
names = [sample_name(_table, _itos, g) for _ in range(50)]
assert all(name.endswith(".") and name.count(".") == 1 for name in names), \
    f"every sampled name should end with its single '.', got for example {names[:3]}"
short = [sample_name(_table, _itos, g, max_len=3) for _ in range(50)]
assert all(len(name) <= 3 for name in short), f"max_len=3 allows at most 3 characters, got {max(short, key=len)!r}"
uniform = torch.ones(27, 27) / 27
g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
assert sample_name(uniform, _itos, g1) == sample_name(uniform, _itos, g2), "the same seed should give the same name"
print("sample_name: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "nll_md", "locked": true, "schema_version": 3, "solution": false}
# The names are poor, and they should be: a bigram model only knows one character of context.
# But is it better than no model at all? For that we need a single number that scores a model.
#
# ## 7. Likelihood and the negative log-likelihood
#
# A model that knows nothing gives every next token the same probability, $1/27 \approx 0.037$.
# Any bigram that our model gives more than 0.037 is something it has learned.
#
# To score the model on a whole data set we ask how probable it finds the data. Treating the
# $n$ bigrams $(x_i, y_i)$ as independent, the **likelihood** is the product of the
# probabilities the model gives them:
# $$L = \prod_{i=1}^{n} p(y_i \mid x_i).$$
# Training would **maximise** it. In practice a product of hundreds of thousands of numbers
# below 1 underflows to 0 in floating point, so we take the logarithm. The log is increasing
# (maximising $\ln L$ maximises $L$) and turns the product into a sum:
# $$\ln L = \sum_{i=1}^{n} \ln p(y_i \mid x_i).$$
# Each term is at most 0, so the **largest possible log-likelihood is 0**, reached only when every
# probability is 1. Loss functions are *minimised*, so we negate it, and divide by $n$ so that
# the value does not grow with the size of the data: the **average negative log-likelihood**
# $$\text{NLL} = -\frac{1}{n}\sum_{i=1}^{n} \ln p(y_i \mid x_i).$$
# It is 0 for a perfect model and $\ln 27 \approx 3.2958$ for the know-nothing model.
#
# **Task.** Write `log_likelihood(P, words, stoi)`, the sum of $\ln p$ over every bigram of the
# names (with `.` before and after each name), and `nll(P, words, stoi)`, the average negative
# log-likelihood. Use `torch.log`: it returns `-inf` for a probability of 0 (Python's `math.log`
# raises an error instead), so `nll` must return `math.inf` (or a float `inf`) for a name that
# contains a bigram of probability 0. Both return Python floats.

# %% nbgrader={"grade": false, "grade_id": "nll", "locked": false, "schema_version": 3, "solution": true}
def log_likelihood(P: torch.Tensor, words: list[str], stoi: dict[str, int]) -> float:
    """Sum of ln P[x, y] over all bigrams (x, y) of `words`, with '.' before and after each name."""
    ### BEGIN SOLUTION
    rows, cols = [], []
    for word in words:
        tokens = ["."] + list(word) + ["."]
        for first, second in zip(tokens, tokens[1:]):
            rows.append(stoi[first])
            cols.append(stoi[second])
    # one vectorised look-up: P[rows, cols] picks P[rows[k], cols[k]] for every k
    return torch.log(P[rows, cols]).sum().item()
    ### END SOLUTION


def nll(P: torch.Tensor, words: list[str], stoi: dict[str, int]) -> float:
    """Average negative log-likelihood per bigram of `words` under P (inf if a bigram has probability 0)."""
    ### BEGIN SOLUTION
    n = sum(len(word) + 1 for word in words)
    return -log_likelihood(P, words, stoi) / n
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "nll_demo", "locked": true, "schema_version": 3, "solution": false}
P = counts_to_probs(N)
print(f"first three names, {sum(len(w) + 1 for w in words[:3])} bigrams:")
for word in words[:3]:
    for a, b in zip("." + word, word + "."):
        print(f"  {a}{b}: p = {P[stoi[a], stoi[b]].item():.4f}")
print(f"log-likelihood {log_likelihood(P, words[:3], stoi):.4f}, NLL {nll(P, words[:3], stoi):.4f}")
print(f"NLL of the whole data set: {nll(P, words, stoi):.4f}   (uniform model: {math.log(27):.4f})")

# %% nbgrader={"grade": true, "grade_id": "check_nll", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_stoi = {ch: i for i, ch in enumerate(".abcdefghijklmnopqrstuvwxyz")}   # our own, as in section 3
uniform = torch.full((27, 27), 1 / 27)
_got = nll(uniform, ["ab", "c"], _stoi)
assert abs(_got - math.log(27)) < 1e-5, f"under the uniform model every bigram costs ln 27 = 3.2958, got an NLL of {_got}"
two = torch.zeros(27, 27)
two[0, 1] = two[1, 0] = 0.5
_got = log_likelihood(two, ["a"], _stoi)
assert abs(_got - 2 * math.log(0.5)) < 1e-6, \
    f"the name 'a' has two bigrams, '.a' and 'a.', each of probability 0.5: expected {2 * math.log(0.5):.4f}, got {_got}"
_got = nll(two, ["a"], _stoi)
assert abs(_got - math.log(2)) < 1e-6, f"the NLL is the average over bigrams, not the sum: expected {math.log(2):.4f}, got {_got}"
print("log_likelihood and nll: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "ce_md", "locked": true, "schema_version": 3, "solution": false}
# ### The same number under another name: cross-entropy
#
# For a classifier that outputs probabilities $\hat y$ over $C$ classes and a one-hot target
# $y$, the cross-entropy is $-\sum_{c} y_c \ln \hat y_c$. All terms but the one of the true class
# $t$ vanish, leaving $-\ln \hat y_t$: exactly our NLL term. For example, if the model says
# $\hat y = [0.1, 0.7, 0.2]$ and the true class is the second one, the loss is
# $-\ln 0.7 \approx 0.357$.
#
# In PyTorch, `F.cross_entropy(logits, targets)` equals `F.nll_loss(F.log_softmax(logits, dim=1),
# targets)`: `F.nll_loss` expects **log**-probabilities and does the negation and averaging itself
# (so no extra minus sign goes inside it).

# %% nbgrader={"grade": false, "grade_id": "ce_demo", "locked": true, "schema_version": 3, "solution": false}
logits = torch.randn(4, 27)
targets = torch.tensor([1, 5, 0, 13])
print(F.cross_entropy(logits, targets).item(), F.nll_loss(torch.log(F.softmax(logits, dim=1)), targets).item())
print("-ln 0.7 =", -math.log(0.7))

# %% [markdown] nbgrader={"grade": false, "grade_id": "smooth_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. Smoothing
#
# Score single words. A plausible name such as `jaguar` gets a finite NLL. Now insert one
# letter: `jqaguar`. The pair `jq` never occurs in the data, so its count is 0, its probability
# is 0, $\ln 0 = -\infty$, and the NLL is **infinite**. A model that calls a perfectly writable
# name impossible is too sure of itself.
#
# The simplest cure is **add-one smoothing**: pretend we saw every bigram once more than we did,
# i.e. normalise `N + 1` instead of `N`. Every probability becomes positive and unseen bigrams get
# small but non-zero probabilities. The NLL on the training data rises only a little (a little
# probability mass moved to pairs it never saw).
#
# The number of fake counts is a knob. The larger it is, the less the real counts matter: with
# 1000 fake counts every row is close to uniform, and as the fake counts grow the NLL tends to
# that of the uniform model, $\ln 27 \approx 3.2958$. Trading a worse fit of the training data
# for a less extreme model, more bias for less variance, is called **regularisation**.

# %% nbgrader={"grade": false, "grade_id": "smooth_demo", "locked": true, "schema_version": 3, "solution": false}
for k in (0, 1):
    Pk = counts_to_probs(N, k)
    print(f"smoothing {k}: NLL(jaguar) = {nll(Pk, ['jaguar'], stoi):.4f}, NLL(jqaguar) = {nll(Pk, ['jqaguar'], stoi):.4f}")
for k in (0, 1, 10, 1000, 100000):
    print(f"smoothing {k:>6}: NLL on the data = {nll(counts_to_probs(N, k), words, stoi):.4f}")
print(f"ln 27 = {math.log(27):.4f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "quiz_md", "locked": true, "schema_version": 3, "solution": false}
# ## 9. Short answers
#
# Fill in the dictionary with numbers (plain Python `int` or `float`) or strings, as asked.

# %% nbgrader={"grade": false, "grade_id": "quiz", "locked": false, "schema_version": 3, "solution": true}
QUIZ = {
    # probability the know-nothing model gives every next character (a float)
    "uniform_probability": None,
    # the largest possible log-likelihood of a data set
    "max_log_likelihood": None,
    # the NLL of the know-nothing model, ln 27 (a float)
    "uniform_nll": None,
    # cross-entropy when the model says [0.1, 0.7, 0.2] and the true class is the second
    "cross_entropy_example": None,
    # side length of the count matrix with separate '<S>' and '<E>' tokens
    "matrix_size_with_start_end": None,
    # which token's row of that matrix is always zero: "<S>" or "<E>"
    "zero_row_token": None,
    # which token's column of that matrix is always zero: "<S>" or "<E>"
    "zero_column_token": None,
}
### BEGIN SOLUTION
QUIZ = {
    "uniform_probability": 1 / 27,
    "max_log_likelihood": 0.0,
    "uniform_nll": math.log(27),
    "cross_entropy_example": -math.log(0.7),
    "matrix_size_with_start_end": 28,
    "zero_row_token": "<E>",
    "zero_column_token": "<S>",
}
### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * A bigram language model predicts the next character from the current one. With `.` as a
#   combined start/end token, all its knowledge is a 27×27 table of counts.
# * Normalising each row (with `keepdim=True`!) gives the probabilities; sampling a name is a
#   chain of categorical draws with `torch.multinomial`, reproducible with a `torch.Generator`.
# * The average negative log-likelihood scores a model: 0 is perfect, $\ln 27 \approx 3.30$ is
#   the know-nothing model.
# * Unseen bigrams make the NLL infinite; fake counts (smoothing) fix that and, taken further,
#   pull the model towards uniform. This is regularisation.
#
# Next week the same table is learned by a neural network with gradient descent, and smoothing
# reappears as a penalty on the weights.
