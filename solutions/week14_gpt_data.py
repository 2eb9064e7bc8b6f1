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
# # Week 14 — Towards a GPT: tokens, batches and a bigram baseline on Shakespeare
#
# In the last two weeks of the course we build a **character-level language model** that writes
# text in the style of Shakespeare. The data is "tiny Shakespeare": about a million characters
# of plays, one long stream of speeches:
#
# ```text
# First Citizen:
# Before we proceed any further, hear me speak.
# ```
#
# A GPT (*Generatively Pretrained Transformer*) reads a stretch of text and predicts, at every
# position, the next character. Before any attention (next week) we need the plumbing that every
# language model shares, and a baseline to beat. This week you will:
#
# 1. **tokenise** the text: one token per character, numbered by its place in the sorted
#    vocabulary (`encode` / `decode`);
# 2. split the token stream into a **training** and a **validation** part (90% / 10%);
# 3. see how one chunk of `block_size + 1` tokens holds `block_size` training examples, and draw
#    random **batches** of chunks (`get_batch`);
# 4. build the simplest model, a **bigram** language model made of a single `nn.Embedding`,
#    with a loss and a `generate` method;
# 5. compare its first loss with the loss of a uniform guess, $-\ln(1/V)$;
# 6. train it with AdamW and measure the train and validation losses properly (`estimate_loss`).
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions and
# classes: the grader calls them by name, with its own inputs (other texts, block sizes, batch
# sizes, seeds), and compares the results with its own PyTorch computations. Run the notebook from
# top to bottom; the *Check* cells test a few cases for you. Your functions should not use global
# variables: everything they need comes in through their arguments.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0               # seed for the weight initialisation and the batches
FAST = False           # True: a short training run (used while grading)
DEVICE = "cpu"         # "cuda" to train on a GPU
DATA_DIR = "data"      # folder that holds input.txt (tiny Shakespeare)
FAST_STEPS = 1000      # training steps when FAST is True (5,000 otherwise)
BATCH_SIZE = 32        # sequences per training batch
BLOCK_SIZE = 8         # tokens per sequence (the context length)
LEARNING_RATE = 1e-2   # AdamW's learning rate

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(SEED)
print("torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "tokenise_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Tokenisation
#
# A network computes with numbers, not letters, so the first step is always to **tokenise** the
# text: cut it into pieces (tokens) and give each piece an integer id. There are three common
# strategies:
#
# 1. **characters**: every character is a token. The vocabulary is tiny (65 symbols here), but
#    the sequences are long: one token per letter;
# 2. **sub-words**: frequent chunks of characters (shorter than words) are tokens. Algorithms:
#    WordPiece (BERT), Byte Pair Encoding (BPE; OpenAI's `tiktoken` for GPT-2 has 50,257
#    tokens) and SentencePiece. Vocabularies are large, sequences short;
# 3. **words**: every word is a token. Huge vocabularies, and words never seen in training
#    cannot be encoded at all.
#
# We stay at the character level, as in the previous weeks: the vocabulary is the **sorted**
# list of the distinct characters of the text, and the id of a character is its position in
# that list. Sorting makes the ids reproducible: the same text always gives the same ids.
#
# <details><summary>An aside: sub-word tokens with <code>tiktoken</code> (not graded, needs the
# internet)</summary>
#
# `pip install tiktoken`, then `enc = tiktoken.get_encoding("gpt2")` downloads GPT-2's BPE
# tables: `enc.n_vocab` is 50257, `enc.encode("hii there")` gives `[71, 4178, 612]` (three
# tokens for nine characters) and `enc.decode([71, 4178, 612])` gives back `"hii there"`. The
# grader has no internet, so this notebook does not run it.
# </details>

# %% nbgrader={"grade": false, "grade_id": "load_text", "locked": true, "schema_version": 3, "solution": false}
with open(os.path.join(DATA_DIR, "input.txt"), encoding="utf-8") as f:
    text = f.read()
print(f"{len(text):,} characters; the first 200:")
print(text[:200])

# %% [markdown] nbgrader={"grade": false, "grade_id": "vocab_md", "locked": true, "schema_version": 3, "solution": false}
# **Task.** Write `build_vocab(text)`. It returns `(stoi, itos)`: `stoi` ("string to integer")
# is a dict from each distinct character of `text` to its position in the sorted list of the
# distinct characters, `itos` the dict the other way round (from an id to its character).
# Then write `encode(s, stoi)`, the list of the ids of the characters of `s`, and
# `decode(ids, itos)`, the string made of the characters of the ids (a list of Python ints, or a
# 1-D tensor of ids). `decode(encode(s, stoi), itos) == s` for every string made of the text's
# characters.

# %% nbgrader={"grade": false, "grade_id": "vocab", "locked": false, "schema_version": 3, "solution": true}
def build_vocab(text):
    """(stoi, itos): char -> position in the sorted distinct characters of text, and back."""
    ### BEGIN SOLUTION
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}
    return stoi, itos
    ### END SOLUTION


def encode(s, stoi):
    """The list of the ids (Python ints) of the characters of the string s."""
    ### BEGIN SOLUTION
    return [stoi[ch] for ch in s]
    ### END SOLUTION


def decode(ids, itos):
    """The string of the characters with the given ids (a list of ints or a 1-D tensor)."""
    ### BEGIN SOLUTION
    return "".join(itos[int(i)] for i in ids)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "vocab_demo", "locked": true, "schema_version": 3, "solution": false}
stoi, itos = build_vocab(text)
V = len(stoi)
print(f"vocabulary of V = {V} symbols:", repr("".join(itos[i] for i in range(V))))
print('encode("First Cit") =', encode("First Cit", stoi))
print("decode of it:", repr(decode(encode("First Cit", stoi), itos)))

# %% nbgrader={"grade": true, "grade_id": "check_vocab", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_s, _i = build_vocab("hello world")
assert _s == {" ": 0, "d": 1, "e": 2, "h": 3, "l": 4, "o": 5, "r": 6, "w": 7}, \
    f"the vocabulary of 'hello world' is ' dehlorw' in sorted order, got stoi = {_s}"
assert _i == {v: k for k, v in _s.items()}, "itos should map every id back to its character"
assert encode("hello", _s) == [3, 2, 4, 4, 5], "encode('hello') with this vocabulary is [3, 2, 4, 4, 5]"
assert decode([7, 5, 6, 4, 1], _i) == "world", "decode([7, 5, 6, 4, 1]) is 'world'"
assert decode(torch.tensor([3, 2]), _i) == "he", "decode should also take a 1-D tensor of ids"
assert V == 65, f"tiny Shakespeare has 65 distinct characters, got {V}"
assert encode("First Cit", stoi) == [18, 47, 56, 57, 58, 1, 15, 47, 58], "the course's encoding of 'First Cit'"
assert encode("hii there", stoi) == [46, 47, 47, 1, 58, 46, 43, 56, 43], "the encoding of 'hii there'"
assert decode(encode(text[:1000], stoi), itos) == text[:1000], "decode(encode(s)) should give s back"
print("vocabulary: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "split_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. The whole text as a tensor, and a validation split
#
# Encoded, the whole text becomes one long `int64` tensor of ids. We keep its last 10% aside as
# **validation** data: the model never trains on it, so its loss there tells us whether the
# model learned something general about the language or merely memorised the training text.
# The split is a cut, not a shuffle: the text is one stream, and a shuffle would break the
# sequences we want to learn from.
#
# **Task.** Write `split_data(data, train_frac=0.9)`: with `n = int(train_frac * len(data))`,
# return `(data[:n], data[n:])`.

# %% nbgrader={"grade": false, "grade_id": "split_data", "locked": false, "schema_version": 3, "solution": true}
def split_data(data, train_frac=0.9):
    """(train, val): the first int(train_frac * len(data)) tokens, and the rest."""
    ### BEGIN SOLUTION
    n = int(train_frac * len(data))
    return data[:n], data[n:]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "make_data", "locked": true, "schema_version": 3, "solution": false}
data = torch.tensor(encode(text, stoi), dtype=torch.long)
train_data, val_data = split_data(data, 0.9)
print("data:", data.shape, data.dtype, "| the first tokens:", data[:12].tolist())
print(f"train: {len(train_data):,} tokens, validation: {len(val_data):,} tokens")

# %% nbgrader={"grade": true, "grade_id": "check_split", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_tr, _va = split_data(torch.arange(25), 0.8)
assert _tr.tolist() == list(range(20)) and _va.tolist() == list(range(20, 25)), \
    "split_data(arange(25), 0.8) should give the first 20 and the last 5 numbers"
_tr, _va = split_data(torch.arange(7), 0.9)
assert (len(_tr), len(_va)) == (6, 1), "with 7 tokens, int(0.9 * 7) = 6 go to the training part"
assert len(train_data) == int(0.9 * len(text)) and len(train_data) + len(val_data) == len(text), \
    "the notebook's split should be 90% / 10% of the whole text"
print("split_data: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "pairs_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Blocks: many examples in one chunk
#
# We never feed the whole text at once: we train on random chunks of it. The **block size** is the
# longest context the model sees. A chunk of `block_size + 1` tokens holds `block_size`
# examples, one per position: the model learns to predict the next token from a context of 1, 2,
# ..., `block_size` tokens. Training on every length also means the model can start generating
# from a single token. With `block_size = 8` and the chunk `[18, 47, 56, 57, 58, 1, 15, 47, 58]`
# ("First Cit"):
#
# ```text
# [18]                         -> 47
# [18, 47]                     -> 56
# ...
# [18, 47, 56, 57, 58, 1, 15, 47] -> 58
# ```
#
# **Task.** Write `context_target_pairs(seq, block_size)`: with `x` the first `block_size`
# tokens of `seq` and `y` the `block_size` tokens one position later (`seq` has at least
# `block_size + 1` tokens; only its first `block_size + 1` are used), return the list of the
# `block_size` pairs `(context, target)`, where the `t`-th pair (from 0) has the context
# `x[:t + 1]` (a list of ints) and the target `y[t]` (an int).

# %% nbgrader={"grade": false, "grade_id": "context_target_pairs", "locked": false, "schema_version": 3, "solution": true}
def context_target_pairs(seq, block_size):
    """The block_size (context list, target int) examples of the first block_size + 1 tokens."""
    ### BEGIN SOLUTION
    x = [int(v) for v in seq[:block_size]]
    y = [int(v) for v in seq[1:block_size + 1]]
    return [(x[:t + 1], y[t]) for t in range(block_size)]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "pairs_demo", "locked": true, "schema_version": 3, "solution": false}
for context, target in context_target_pairs(train_data[:BLOCK_SIZE + 1], BLOCK_SIZE):
    print(f"when the input is {context} the target is {target}")

# %% nbgrader={"grade": true, "grade_id": "check_pairs", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_pairs = context_target_pairs([18, 47, 56, 57, 58, 1, 15, 47, 58], 8)
assert len(_pairs) == 8, f"a block of 8 holds 8 examples, got {len(_pairs)}"
assert _pairs[0] == ([18], 47) and _pairs[6] == ([18, 47, 56, 57, 58, 1, 15], 47) \
    and _pairs[7] == ([18, 47, 56, 57, 58, 1, 15, 47], 58), "the course's pairs: [18] -> 47, ..., [18, ..., 47] -> 58"
assert context_target_pairs([5, 6, 7, 8, 9], 2) == [([5], 6), ([5, 6], 7)], "with block_size=2 only 3 tokens are used"
print("context_target_pairs: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "batch_md", "locked": true, "schema_version": 3, "solution": false}
# ### Batches
#
# To keep the hardware busy we process many chunks at once, stacked into a **batch**. To draw one:
#
# 1. draw `batch_size` random start positions `i`, uniformly in `[0, len(data) - block_size)`,
#    with `torch.randint(len(data) - block_size, (batch_size,), generator=generator)`;
# 2. the inputs `x` are the `block_size` tokens from each start, `data[i : i + block_size]`;
# 3. the targets `y` are the `block_size` tokens **one position later**,
#    `data[i + 1 : i + block_size + 1]`.
#
# (The course's slide says the targets are "the next `block_size + 1` characters"; that is a
# slip: `y` has exactly `block_size` tokens, shifted by one. The `+ 1` belongs to the slice's
# end, not to its length. The largest start, `len(data) - block_size - 1`, is exactly the one
# whose target window ends at the last token.)
#
# Every row of `x` holds `block_size` examples at once (Section 3), so a batch of `B` rows of
# `T = block_size` tokens holds `B * T` examples.
#
# **Task.** Write `get_batch(data, batch_size, block_size, generator=None)`, returning `(x, y)`,
# two `int64` tensors of shape `(batch_size, block_size)`. Draw the start positions with one
# call of `torch.randint` as above, passing the `generator` you are given (with
# `generator=None` PyTorch's global generator is used, so `torch.manual_seed` controls it).

# %% nbgrader={"grade": false, "grade_id": "get_batch", "locked": false, "schema_version": 3, "solution": true}
def get_batch(data, batch_size, block_size, generator=None):
    """A batch of random windows: x = data[i:i+block_size], y = data[i+1:i+block_size+1]."""
    ### BEGIN SOLUTION
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "first_batch", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(1337)
xb, yb = get_batch(train_data, 4, 8)
print("inputs:", tuple(xb.shape))
print(xb)
print("targets:", tuple(yb.shape))
print(yb)
print("the rows as text:", [decode(row, itos) for row in xb])
for t in range(8):
    print(f"row 0, position {t}: when the input is {xb[0, :t + 1].tolist()} the target is {yb[0, t].item()}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "first_batch_md", "locked": true, "schema_version": 3, "solution": false}
# On the real tiny Shakespeare, `torch.manual_seed(1337)` makes the first row
# `[24, 43, 58, 5, 57, 1, 46, 43]`, "Let's he", with targets `[43, 58, 5, 57, 1, 46, 43, 39]`.
# (The grader may use another text of the same vocabulary, so your rows may read differently.)

# %% nbgrader={"grade": true, "grade_id": "check_get_batch", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert xb.dtype == torch.int64 and tuple(xb.shape) == (4, 8) and tuple(yb.shape) == (4, 8), \
    "get_batch(train_data, 4, 8) should return two int64 tensors of shape (4, 8)"
assert torch.equal(xb[:, 1:], yb[:, :-1]), "y is x shifted by one position: y[:, :-1] should equal x[:, 1:]"
_starts = torch.randint(len(train_data) - 8, (4,), generator=torch.Generator().manual_seed(1337))
assert torch.equal(xb[0], train_data[_starts[0]:_starts[0] + 8]), \
    "with torch.manual_seed(1337) the first row should start where torch.randint(len(data) - block_size, (4,)) says"
assert torch.equal(yb[3], train_data[_starts[3] + 1:_starts[3] + 9]), "the targets start one position after the inputs"
_d = torch.arange(11)
_x, _y = get_batch(_d, 300, 8, generator=torch.Generator().manual_seed(0))
assert set(_x[:, 0].tolist()) == {0, 1, 2}, "with 11 tokens and block_size 8 the starts are 0, 1 and 2 (and all of them occur)"
_x1, _ = get_batch(_d, 5, 3, generator=torch.Generator().manual_seed(7))
_x2, _ = get_batch(_d, 5, 3, generator=torch.Generator().manual_seed(7))
assert torch.equal(_x1, _x2), "the same seed should give the same batch: draw with the generator you are given"
print("get_batch: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "model_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. The bigram language model
#
# The simplest model predicts the next token from the current one only: a **bigram** model, as
# in weeks 11 and 12. Here it is a single `nn.Embedding(V, V)`: token `i` looks up row `i` of a
# `V x V` table, and that row is read as the **logits** of the next token (the scores whose
# softmax gives its probabilities). For a batch `idx` of shape `(B, T)` the lookup gives
# `logits` of shape `(B, T, V)`: a prediction at every position, as in Section 3.
#
# The loss is the cross-entropy between the logits and the targets `(B, T)`. `F.cross_entropy`
# wants the classes in the second dimension: `(N, C)` scores with `(N,)` targets. So we
# flatten the batch and time dimensions: `logits.view(B * T, V)` with `targets.view(B * T)`, the
# mean over all `B * T` predictions.
#
# To **generate**, start from a `(B, T)` tensor of ids and repeat `max_new_tokens` times: run the
# model on the sequence so far, keep the logits of the **last** position (`logits[:, -1, :]`,
# shape `(B, V)`), turn them into probabilities with a softmax, draw the next id with
# `torch.multinomial(probs, num_samples=1, generator=generator)` and append it to the sequence
# (`torch.cat` along `dim=1`). The result has shape `(B, T + max_new_tokens)`. (The bigram
# model only looks at the last token; next week's models will use the whole context, which is
# why we feed the whole sequence.)
#
# **Task.** Complete `BigramLanguageModel`:
#
# * `__init__(vocab_size)`: a single layer, `self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)`;
# * `forward(idx, targets=None)`: returns `(logits, loss)`. With `targets=None`, `logits` has
#   shape `(B, T, V)` and `loss` is `None`; with targets, `loss` is the mean cross-entropy over
#   the `B * T` positions (the logits may then be returned either as `(B, T, V)` or flattened as
#   `(B * T, V)`);
# * `generate(idx, max_new_tokens, generator=None)`: returns the extended `(B, T + max_new_tokens)`
#   tensor, sampling as described.

# %% nbgrader={"grade": false, "grade_id": "bigram_model", "locked": false, "schema_version": 3, "solution": true}
class BigramLanguageModel(nn.Module):
    """Next-token logits read from a V x V embedding table."""

    def __init__(self, vocab_size):
        super().__init__()
        ### BEGIN SOLUTION
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)
        ### END SOLUTION

    def forward(self, idx, targets=None):
        """(logits, loss): logits (B, T, V); loss the mean cross-entropy, or None without targets."""
        ### BEGIN SOLUTION
        logits = self.token_embedding_table(idx)
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        loss = F.cross_entropy(logits.view(B * T, C), targets.view(B * T))
        return logits, loss
        ### END SOLUTION

    def generate(self, idx, max_new_tokens, generator=None):
        """idx (B, T) extended by max_new_tokens sampled tokens: (B, T + max_new_tokens)."""
        ### BEGIN SOLUTION
        for _ in range(max_new_tokens):
            logits, _ = self(idx)
            probs = F.softmax(logits[:, -1, :], dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1, generator=generator)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "model_demo", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
m = BigramLanguageModel(V)
logits, loss = m(xb, yb)
print("parameters:", sum(p.numel() for p in m.parameters()), "| logits:", tuple(logits.shape), "| loss:", loss.item())
_start = torch.zeros((1, 1), dtype=torch.long)
print("an untrained model writes:", repr(decode(m.generate(_start, 60, generator=torch.Generator().manual_seed(SEED))[0], itos)))

# %% nbgrader={"grade": true, "grade_id": "check_model", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert sum(p.numel() for p in m.parameters()) == V * V, f"a V x V table has {V * V} parameters"
_logits, _loss = m(xb)
assert tuple(_logits.shape) == (4, 8, V) and _loss is None, "without targets: logits (B, T, V) and loss None"
assert torch.allclose(_logits[1, 2], m.token_embedding_table.weight[xb[1, 2]]), "the logits are the table's rows"
_ref = -torch.log_softmax(m.token_embedding_table.weight[xb], dim=-1).gather(-1, yb[..., None]).mean()
assert abs(loss.item() - _ref.item()) < 1e-5, "the loss is the mean of -log p(target) over all B * T positions"
_out = m.generate(torch.zeros((2, 3), dtype=torch.long), 5, generator=torch.Generator().manual_seed(1))
assert tuple(_out.shape) == (2, 8) and _out[:, :3].eq(0).all(), "generate keeps the given tokens and appends 5 new ones"
assert torch.equal(_out, m.generate(torch.zeros((2, 3), dtype=torch.long), 5, generator=torch.Generator().manual_seed(1))), \
    "generate with the same seed should give the same tokens"
print("BigramLanguageModel: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "baseline_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. What loss to expect at the start
#
# A model that knows nothing should give every one of the `V` tokens the same probability
# $1/V$; its loss is then $-\ln(1/V) = \ln V$, for `V = 65` $\ln 65 = 4.174$. That is the
# **baseline**: a trained model must do better, and an untrained one should not do much worse.
#
# Our untrained table is drawn from $N(0, 1)$ (`nn.Embedding`'s default), so its logits are
# random numbers of spread 1: the model is a little *confidently wrong*, and the measured
# initial loss is above $\ln V$ (about 4.6 over the whole validation text of the real file; a
# single batch of 32 targets scatters around that, up to 5 and more). The gap is the health
# check of week 13: a first loss far above $\ln V$ means the initial logits are too large.
#
# **Task.** Write `baseline_loss(vocab_size)`, the loss $-\ln(1/V)$ of the uniform guess (a
# float, natural logarithm).

# %% nbgrader={"grade": false, "grade_id": "baseline_loss", "locked": false, "schema_version": 3, "solution": true}
def baseline_loss(vocab_size):
    """The cross-entropy of a uniform guess over vocab_size tokens: -ln(1 / vocab_size)."""
    ### BEGIN SOLUTION
    return -math.log(1 / vocab_size)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "initial_loss", "locked": true, "schema_version": 3, "solution": false}
# The initial loss over the whole validation text: a bigram model only looks at one token, so
# the validation split can go in as a single long sequence (batch 1, T = len(val_data) - 1).
with torch.no_grad():
    _, initial_loss = m(val_data[:-1].view(1, -1), val_data[1:].view(1, -1))
initial_loss = initial_loss.item()
print(f"uniform baseline -ln(1/{V}) = {baseline_loss(V):.4f}; the untrained model's loss: {initial_loss:.4f}")

# %% nbgrader={"grade": true, "grade_id": "check_baseline", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert abs(baseline_loss(65) - 4.174) < 1e-3, "-ln(1/65) = 4.174"
assert abs(baseline_loss(27) - 3.2958) < 1e-4, "-ln(1/27) = 3.2958 (week 13's vocabulary)"
assert baseline_loss(V) < initial_loss < baseline_loss(V) + 1.5, \
    "the untrained model's loss should be a little above the uniform baseline"
print("baseline_loss: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "estimate_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Measuring the loss properly
#
# The loss of one batch is noisy: 32 short chunks say little about the whole text. To report a
# loss we average it over `eval_iters` batches, for the training and for the validation split.
#
# Two details matter here, for this model and for every model that follows:
#
# * **`model.eval()`**: layers such as dropout and batch normalisation behave differently while
#   training and while evaluating. Switch to evaluation mode before measuring, and **back to
#   training mode** (`model.train()`) afterwards, since the training loop goes on with the same
#   model;
# * **`torch.no_grad()`**: measuring needs no gradients, so PyTorch should not record the graph
#   (less memory, less time).
#
# **Task.** Write `estimate_loss(model, splits, eval_iters, batch_size, block_size, generator=None)`.
# `splits` is a dict such as `{"train": train_data, "val": val_data}`. Put the model in eval
# mode; under `torch.no_grad()`, for each split **in the order of the dict**, draw `eval_iters`
# batches with `get_batch(data, batch_size, block_size, generator)`, move them to the model's
# device (`next(model.parameters()).device`), and average the losses `model(x, y)` returns
# (as Python floats). Put the model back in training mode and return a dict with the same
# keys and the average losses (floats).

# %% nbgrader={"grade": false, "grade_id": "estimate_loss", "locked": false, "schema_version": 3, "solution": true}
def estimate_loss(model, splits, eval_iters, batch_size, block_size, generator=None):
    """{name: mean loss over eval_iters batches of that split}, in eval mode, without gradients."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    model.eval()
    out = {}
    with torch.no_grad():
        for name, split in splits.items():
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                x, y = get_batch(split, batch_size, block_size, generator)
                _, loss = model(x.to(device), y.to(device))
                losses[k] = loss.item()
            out[name] = losses.mean().item()
    model.train()
    return out
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "train_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Training
#
# A training step is the loop of week 03: draw a batch, compute the loss, **zero the old
# gradients**, backpropagate, take an optimizer step. Forgetting `optimizer.zero_grad()` adds
# every new gradient to all the old ones, and the steps go wrong. The optimizer this time is
# **AdamW** (Adam with decoupled weight decay), the usual choice for transformers; it adapts the
# step of every parameter to the size of its recent gradients, so a learning rate of
# $10^{-2}$ works well for this small model.
#
# **Task.** Write `train(model, optimizer, data, steps, batch_size, block_size, generator=None)`:
# put the model in training mode, then `steps` times: `x, y = get_batch(data, batch_size,
# block_size, generator)`, moved to the model's device; `_, loss = model(x, y)`;
# `optimizer.zero_grad()`; `loss.backward()`; `optimizer.step()`. Return the list of the
# `steps` losses (Python floats).

# %% nbgrader={"grade": false, "grade_id": "train", "locked": false, "schema_version": 3, "solution": true}
def train(model, optimizer, data, steps, batch_size, block_size, generator=None):
    """steps optimizer steps on random batches of data; returns the list of the losses."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    model.train()
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, batch_size, block_size, generator)
        _, loss = model(x.to(device), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_run", "locked": true, "schema_version": 3, "solution": false}
steps = FAST_STEPS if FAST else 5000
eval_iters = 50 if FAST else 200
torch.manual_seed(SEED)
model = BigramLanguageModel(V).to(DEVICE)
optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
splits = {"train": train_data, "val": val_data}
before = estimate_loss(model, splits, eval_iters, BATCH_SIZE, BLOCK_SIZE, generator=torch.Generator().manual_seed(SEED + 1))
train_losses = train(model, optimizer, train_data, steps, BATCH_SIZE, BLOCK_SIZE,
                     generator=torch.Generator().manual_seed(SEED))
after = estimate_loss(model, splits, eval_iters, BATCH_SIZE, BLOCK_SIZE, generator=torch.Generator().manual_seed(SEED + 1))
print(f"before training: train {before['train']:.4f}, val {before['val']:.4f}")
print(f"after {steps} steps: train {after['train']:.4f}, val {after['val']:.4f} (uniform baseline {baseline_loss(V):.4f})")

# %% nbgrader={"grade": true, "grade_id": "check_train", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(train_losses) == steps and all(isinstance(_l, float) for _l in train_losses), \
    "train should return one loss (a float) per step"
assert set(after) == {"train", "val"} and model.training, \
    "estimate_loss returns one loss per split and leaves the model in training mode"
assert after["val"] < baseline_loss(V) - 1.0, \
    f"after training the validation loss should be well below the baseline {baseline_loss(V):.3f}, got {after['val']:.3f}"
assert abs(after["train"] - after["val"]) < 0.3, "a bigram model hardly overfits: train and val losses should be close"
print("training: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "sample_md", "locked": true, "schema_version": 3, "solution": false}
# The trained model, asked to write from a newline (id 0):

# %% nbgrader={"grade": false, "grade_id": "sample_demo", "locked": true, "schema_version": 3, "solution": false}
_g = torch.Generator(device=DEVICE).manual_seed(SEED)
_start = torch.zeros((1, 1), dtype=torch.long, device=DEVICE)
print(decode(model.generate(_start, 300, generator=_g)[0].tolist(), itos))

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * Character-level tokens: the sorted distinct characters are the vocabulary (65 for tiny
#   Shakespeare), `encode` and `decode` map between text and ids.
# * The last 10% of the token stream is held out for validation (a cut, not a shuffle).
# * A chunk of `block_size + 1` tokens gives `block_size` examples; a batch stacks random chunks:
#   `x = data[i:i+T]`, `y = data[i+1:i+T+1]` (targets shifted by one, **not** `T + 1` long).
# * The bigram model is one `nn.Embedding(V, V)`; `F.cross_entropy` wants `(B*T, V)` logits.
# * The uniform guess costs $\ln V$ (4.174 for 65 symbols); an $N(0,1)$ table starts above it.
# * Report losses averaged over many batches, in `eval` mode and under `no_grad`, and switch
#   back to `train` mode; zero the gradients at every step.
#
# The bigram model reads only one character. Its text looks like words but makes no sense: next
# week, **self-attention** lets every position look at the whole context.
