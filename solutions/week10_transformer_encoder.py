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
# # Week 10 — The Transformer, built from scratch
#
# In 2017 the paper *Attention Is All You Need* replaced recurrence by **attention**: every
# token looks at every other token in one parallel step. Its Figure 1 shows two blocks. The
# **encoder** turns the input tokens into vectors that describe each token in its context; the
# **decoder** produces the output one token at a time (autoregressively), looking at what it has
# produced so far and, through *cross-attention*, at the encoder's vectors. Translating "We have 5
# dogs" into "Nosotras tenemos 5 perros", the decoder starts from `<START>` and stops at `<END>`.
#
# This week you will write every piece yourself, in PyTorch:
#
# 1. token embeddings scaled by $\sqrt{d_{model}}$, and sinusoidal positional encodings;
# 2. scaled dot-product attention, padding and causal masks;
# 3. multi-head attention (split the model dimension into heads, merge them back);
# 4. the position-wise feed-forward sublayer and a post-LayerNorm encoder layer;
# 5. the encoder stack with a classification and a regression head;
# 6. the decoder layer with causal self-attention and cross-attention, and the whole
#    encoder-decoder `Transformer` (with the course text's bugs fixed);
# 7. a tiny encoder classifier trained on a task that needs word order.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names of the classes, functions, arguments **and
# attributes** given in each task: the grader copies its own weights into your layers by these
# names and compares your modules with PyTorch's `nn.MultiheadAttention`,
# `nn.TransformerEncoderLayer` and `nn.TransformerDecoderLayer`. Run the notebook from top to
# bottom; the *Check* cells test a few cases for you, the grader runs more.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True: a shorter training run (used while grading)
DEVICE = "cpu"       # "cuda" to run the models on a GPU
DATA_DIR = "data"    # not used: every sequence of this notebook is generated here
VOCAB_SIZE = 12      # tokens of the toy task: 0 is padding, 1 is "A", 2 is "B", 3 and up are filler words
MAX_LEN = 12         # longest sequence of the toy task
TRAIN_STEPS = 600    # training steps of the classifier in the full run (FAST uses fewer)

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(SEED)
np.random.seed(SEED)
print("torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "embeddings_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Input embeddings
#
# A model cannot compute with words; it computes with vectors. The tokenizer turns the text into
# **token ids** (integers), and an **embedding table** turns each id into a vector: a matrix with
# one row per token of the vocabulary (`vocab_size` rows) and `d_model` columns. The paper calls
# the embedding size $d_{model}$ and uses 512. In PyTorch the table is `nn.Embedding(vocab_size,
# d_model)`: its `weight` is the table, and calling it on a `(batch, length)` tensor of ids picks
# the rows, giving `(batch, length, d_model)`.
#
# The Transformer then **multiplies the embeddings by $\sqrt{d_{model}}$**. The positional
# encodings added next lie in $[-1, 1]$; the scaling keeps the token's own signal from being
# drowned by them.
#
# **Task.** Write `InputEmbeddings`. Keep the table in the attribute **`embedding`** (an
# `nn.Embedding(vocab_size, d_model)`) and `d_model` in **`d_model`**.

# %% nbgrader={"grade": false, "grade_id": "input_embeddings", "locked": false, "schema_version": 3, "solution": true}
class InputEmbeddings(nn.Module):
    """Token ids (B, L) -> embeddings (B, L, d_model), multiplied by sqrt(d_model)."""

    def __init__(self, vocab_size: int, d_model: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.d_model = d_model
        self.embedding = nn.Embedding(vocab_size, d_model)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.embedding(x) * math.sqrt(self.d_model)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_input_embeddings", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_emb = InputEmbeddings(10, 4)
_ids = torch.tensor([[1, 2, 3], [0, 9, 9]])
assert tuple(_emb(_ids).shape) == (2, 3, 4), "InputEmbeddings(10, 4) on ids of shape (2, 3) should give (2, 3, 4)"
assert torch.allclose(_emb(_ids)[1, 1], _emb.embedding.weight[9] * 2.0), "the row of id 9, times sqrt(4) = 2"
assert sum(p.numel() for p in InputEmbeddings(30522, 768).parameters()) == 23_440_896, \
    "a BERT-sized table, 30522 x 768, has 23,440,896 weights"
print("InputEmbeddings: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "pe_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Positional encoding
#
# Attention treats its input as a *set*: shuffle the tokens and each one gets the same result
# (Section 5 checks this). Word order matters, so we **add** to each embedding a vector that
# depends on its position. The paper's choice is a fixed pattern of sines and cosines; the rows
# of the matrix are **positions** (not token ids), the columns the `d_model` dimensions:
#
# $$PE(pos, 2i) = \sin\!\left(\frac{pos}{10000^{2i/d_{model}}}\right), \qquad
#   PE(pos, 2i+1) = \cos\!\left(\frac{pos}{10000^{2i/d_{model}}}\right)$$
#
# Even columns take the sine, odd columns the cosine, and columns $2i$ and $2i+1$ share one
# frequency $\omega_i = 10000^{-2i/d_{model}}$. Why pairs? For a shift by $\varphi$ positions,
# $[\sin\omega(t+\varphi), \cos\omega(t+\varphi)]$ is the pair at $t$ rotated by the angle
# $\omega\varphi$, a linear map that does not depend on $t$: relative positions are easy for the
# model to read. (Many newer models *learn* their position vectors instead.)
#
# Computing all divisors at once uses $10000^{-2i/d} = \exp(2i \cdot (-\ln 10000 / d))$:
# `div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))`. For
# $d_{model} = 4$ only two are needed: `[1.0, 0.01]`.
#
# **Odd $d_{model}$.** Then there is one more sine column than cosine columns: the last column
# (even index $d_{model} - 1$) is a sine, and the cosines use only the first $\lfloor
# d_{model}/2 \rfloor$ divisors. (The usual one-liner `pe[:, 1::2] = torch.cos(position *
# div_term)` fails with a shape error there.)
#
# **Task.** Write `positional_encoding(max_seq_length, d_model)`, which returns the float32
# matrix `(max_seq_length, d_model)`, for even and odd `d_model`. Then `PositionalEncoding`:
# keep the matrix as a **buffer** named **`pe`** of shape `(1, max_seq_length, d_model)`
# (`self.register_buffer("pe", ...)`: not a parameter, so no optimizer changes it, but it moves
# with `.to(device)`), and `forward(x)` returns `x + pe` for the first `x.shape[1]` positions.
# Raise a `ValueError` when the input is longer than `max_seq_length`.

# %% nbgrader={"grade": false, "grade_id": "positional_encoding", "locked": false, "schema_version": 3, "solution": true}
def positional_encoding(max_seq_length: int, d_model: int) -> torch.Tensor:
    """The sinusoidal matrix (max_seq_length, d_model): sin in even columns, cos in odd ones."""
    ### BEGIN SOLUTION
    pe = torch.zeros(max_seq_length, d_model)
    position = torch.arange(max_seq_length, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
    return pe
    ### END SOLUTION


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal positional encodings to embeddings (B, L, d_model)."""

    def __init__(self, d_model: int, max_seq_length: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.register_buffer("pe", positional_encoding(max_seq_length, d_model).unsqueeze(0))
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        length = x.size(1)
        if length > self.pe.size(1):
            raise ValueError(f"sequence of length {length} is longer than max_seq_length={self.pe.size(1)}")
        return x + self.pe[:, :length]
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "pe_demo", "locked": true, "schema_version": 3, "solution": false}
torch.set_printoptions(precision=6, sci_mode=False)
print(positional_encoding(4, 4))

# %% nbgrader={"grade": true, "grade_id": "check_positional_encoding", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_pe = positional_encoding(4, 4)
_expected = torch.tensor([[0.0, 1.0, 0.0, 1.0],
                          [0.841471, 0.540302, 0.01, 0.99995],
                          [0.909297, -0.416147, 0.019999, 0.9998],
                          [0.141120, -0.989992, 0.029996, 0.99955]])
assert tuple(_pe.shape) == (4, 4) and _pe.dtype == torch.float32, "positional_encoding(4, 4) is a float32 (4, 4) matrix"
assert torch.allclose(_pe, _expected, atol=1e-5), "positional_encoding(4, 4) should be the course's matrix above"
assert torch.allclose(positional_encoding(2, 512)[1, :4], torch.tensor([0.841471, 0.540302, 0.821856, 0.569695]), atol=1e-5), \
    "for d_model = 512, row 1 starts with 0.841471, 0.540302, 0.821856, 0.569695"
assert tuple(positional_encoding(3, 5).shape) == (3, 5), "an odd d_model works too: (3, 5)"
_pos = PositionalEncoding(4, 10)
assert len(list(_pos.parameters())) == 0 and tuple(_pos.pe.shape) == (1, 10, 4), "pe is a buffer (1, max_seq_length, d_model)"
assert torch.allclose(_pos(torch.zeros(2, 4, 4))[1], _expected, atol=1e-5), "forward adds the first L rows"
print("positional encoding: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "attention_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Scaled dot-product attention and masks
#
# Attention comes in three kinds: **self-attention** (every token of a sequence looks at the
# tokens of the same sequence), **masked self-attention** (only at the earlier ones, in the
# decoder) and **cross-attention** (the decoder's tokens look at the encoder's). Each token plays
# three roles, through three linear maps of its vector:
#
# * the **query** $q$: what this token is looking for;
# * the **key** $k$: what this token offers to be found by;
# * the **value** $v$: what this token hands over when it is found.
#
# The score of query $i$ for key $j$ is the dot product $q_i \cdot k_j$. Divided by
# $\sqrt{d_k}$ ($d_k$ = the size of a query), the scores keep a variance of about 1 however large
# $d_k$ is, which keeps the softmax out of its flat regions and the gradients stable. The softmax
# over the keys turns each row of scores into weights (positive, summing to 1), and the output
# of a query is the weighted sum of the values:
#
# $$\text{Attention}(Q, K, V) = \text{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + M\right) V$$
#
# ### Masks are **added**, not multiplied
#
# Some keys must get *no* attention: padding tokens (sequences of a batch are padded to one
# length), and in the decoder the future tokens. We describe what is allowed with a 0/1 **mask**
# (1 = may attend, 0 = must not) and set the scores of the forbidden keys to $-\infty$ before the
# softmax, since $e^{-\infty} = 0$: `scores.masked_fill(mask == 0, float("-inf"))`. That is the
# same as *adding* the matrix $M$ above, with $0$ where the mask is 1 and $-\infty$ where it is 0.
# (The course text writes the mask as a *factor*, $\text{softmax}(QK^\top/\sqrt{d_k} \cdot M)$:
# that is wrong. A score multiplied by 0 becomes 0, and $e^0 = 1$, so a padding token would still
# get weight. Masked keys must get weight **exactly 0**.)
#
# **Task.** Write `scaled_dot_product_attention(q, k, v, mask=None)` for tensors `q` of shape
# `(..., Lq, d_k)`, `k` `(..., Lk, d_k)`, `v` `(..., Lk, d_v)` (any leading batch dimensions) and
# a 0/1 (or boolean) `mask` that broadcasts to `(..., Lq, Lk)`. Return the pair `(output,
# weights)`: output `(..., Lq, d_v)`, weights `(..., Lq, Lk)`.

# %% nbgrader={"grade": false, "grade_id": "sdpa", "locked": false, "schema_version": 3, "solution": true}
def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k), masked keys at -inf) v; returns (output, weights)."""
    ### BEGIN SOLUTION
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_sdpa", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_g = torch.Generator().manual_seed(1)
_q, _k, _v = torch.randn(2, 3, 4, generator=_g), torch.randn(2, 5, 4, generator=_g), torch.randn(2, 5, 6, generator=_g)
_out, _w = scaled_dot_product_attention(_q, _k, _v)
assert tuple(_out.shape) == (2, 3, 6) and tuple(_w.shape) == (2, 3, 5), "output (2, 3, 6), weights (2, 3, 5)"
assert torch.allclose(_w.sum(-1), torch.ones(2, 3)), "each row of weights sums to 1"
assert torch.allclose(_out, F.scaled_dot_product_attention(_q, _k, _v), atol=1e-5), "same as F.scaled_dot_product_attention"
_m = torch.tensor([1, 1, 1, 0, 0])
_out, _w = scaled_dot_product_attention(_q, _k, _v, _m)
assert torch.all(_w[..., 3:] == 0), "padded keys get weight exactly 0 (set their scores to -inf, do not multiply by the mask)"
assert torch.allclose(_out, F.scaled_dot_product_attention(_q, _k, _v, attn_mask=_m.bool()), atol=1e-5), "masked: same as PyTorch"
print("attention: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "masks_md", "locked": true, "schema_version": 3, "solution": false}
# ### Building the masks
#
# **Padding mask.** With pad id 0, the batch `[[5, 6, 7, 0, 0], [8, 9, 0, 0, 0]]` has 3 and 2
# real tokens. The mask has one row per *query* and one column per *key*: every query may look
# at the real keys and at no padding key. Build it in steps: `(ids != pad_id)` gives `(B, L)`;
# `unsqueeze(1)` makes it `(B, 1, L)`; `expand(-1, L, -1)` repeats it for the `L` queries, so the
# mask is `(B, L, L)` and every row of sequence 1 is `[1, 1, 0, 0, 0]`. The mask varies along
# the *key* axis only: a padding *query* still has real keys to look at (its output is simply
# ignored later), so no row is all $-\infty$ (which would give NaN). For cross-attention the
# queries come from another sequence: `query_len` queries of the target look at the `L` keys of
# the source, a `(B, query_len, L)` mask.
#
# **Causal mask.** A decoder predicts token $t+1$ from tokens $1..t$; when it trains on whole
# sentences at once it must not peek at the future. Query $i$ may attend to keys $j \le i$: the
# lower triangle, `torch.tril(torch.ones(L, L))`. For "I enter the cinema to watch a movie" (8
# tokens) that allows $8 \cdot 9 / 2 = 36$ pairs. A decoder ignores padding as well, so its
# **target mask** is the causal mask *and* the padding mask.
#
# Libraries often want the additive form $M$ directly: $0$ where allowed, $-\infty$ where not
# (PyTorch's `nn.Transformer.generate_square_subsequent_mask(L)` is the additive causal mask).
#
# **Task.** Write the four functions below. Masks are integer (`torch.long`) tensors of 0s and 1s,
# on the device of the ids; `additive_mask` returns float32.

# %% nbgrader={"grade": false, "grade_id": "masks", "locked": false, "schema_version": 3, "solution": true}
def make_padding_mask(ids: torch.Tensor, pad_id: int = 0, query_len: int | None = None) -> torch.Tensor:
    """(B, query_len, L) mask, 1 where the key is a real token; query_len defaults to L."""
    ### BEGIN SOLUTION
    keep = (ids != pad_id).long()
    rows = ids.size(1) if query_len is None else query_len
    return keep.unsqueeze(1).expand(-1, rows, -1)
    ### END SOLUTION


def make_causal_mask(seq_len: int, device=None) -> torch.Tensor:
    """(seq_len, seq_len) lower-triangular mask of ones: query i sees keys 0..i."""
    ### BEGIN SOLUTION
    return torch.tril(torch.ones(seq_len, seq_len, dtype=torch.long, device=device))
    ### END SOLUTION


def make_target_mask(ids: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """(B, L, L) decoder self-attention mask: causal AND not padding."""
    ### BEGIN SOLUTION
    return make_padding_mask(ids, pad_id) * make_causal_mask(ids.size(1), device=ids.device)
    ### END SOLUTION


def additive_mask(mask: torch.Tensor) -> torch.Tensor:
    """The float32 additive form of a 0/1 mask: 0.0 where mask is 1, -inf where it is 0."""
    ### BEGIN SOLUTION
    return torch.zeros(mask.shape, device=mask.device).masked_fill(mask == 0, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_masks", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_ids = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0]])
_pm = make_padding_mask(_ids)
assert tuple(_pm.shape) == (2, 5, 5), "padding mask of a (2, 5) batch: (2, 5, 5)"
assert _pm[1].tolist() == [[1, 1, 0, 0, 0]] * 5, "every row of sequence 1 is [1, 1, 0, 0, 0]"
assert tuple(make_padding_mask(_ids, query_len=3).shape) == (2, 3, 5), "a cross-attention mask for 3 queries: (2, 3, 5)"
assert int(make_causal_mask(8).sum()) == 36, "8 tokens: 36 allowed (query, key) pairs"
assert make_causal_mask(3).tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]], "query i sees keys 0..i"
assert make_target_mask(_ids)[0].tolist()[4] == [1, 1, 1, 0, 0], "target mask: causal and not padding"
assert torch.equal(additive_mask(make_causal_mask(4)), nn.Transformer.generate_square_subsequent_mask(4)), \
    "the additive causal mask is PyTorch's generate_square_subsequent_mask"
print("masks: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "mha_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Multi-head attention
#
# One attention computes one kind of relation between tokens. **Multi-head attention** runs $h$
# of them side by side, each on a slice of size $d_k = d_{model} / h$ (the paper: $512 / 8 = 64$),
# so the cost stays that of one full-size attention:
#
# 1. project the inputs to queries, keys and values: $Q = XW_q$, $K = XW_k$, $V = XW_v$, three
#    `nn.Linear(d_model, d_model)`. Head $i$ uses the columns $i \cdot d_k$ to $(i+1) \cdot d_k - 1$
#    of each: the same as $h$ separate `nn.Linear(d_model, d_k)` per head, stacked;
# 2. **split the heads**: `(B, L, d_model)` → `(B, L, h, d_k)` → `(B, h, L, d_k)`
#    (`view` then `transpose(1, 2)`), so that the heads act like a batch dimension;
# 3. scaled dot-product attention in every head at once, with the mask broadcast over the
#    heads: a `(B, Lq, Lk)` mask becomes `(B, 1, Lq, Lk)` (`unsqueeze(1)`); a `(Lq, Lk)` mask
#    broadcasts as it is;
# 4. **merge the heads** (concatenate): `(B, h, L, d_k)` → `(B, L, h, d_k)` → `(B, L, d_model)`
#    (`transpose(1, 2)`, then `contiguous().view(...)`: after a transpose the memory is no longer
#    in order, so `view` needs `contiguous()` first, or use `reshape`);
# 5. the output projection $W_o$, an `nn.Linear(d_model, d_model)`, mixes the heads.
#
# The query, key and value inputs are separate arguments: self-attention passes `x` three times,
# cross-attention passes the decoder's `x` as the query and the encoder's output twice.
#
# **Task.** Write `MultiHeadAttention(d_model, num_heads)` with **exactly** these attributes:
# `W_q`, `W_k`, `W_v` = `nn.Linear(d_model, d_model, bias=False)` (the text's projections have
# no bias), `W_o` = `nn.Linear(d_model, d_model)` (with bias), and the ints `num_heads`,
# `head_size`. Refuse a `d_model` that `num_heads` does not divide with a `ValueError`. Write
# `split_heads` and `merge_heads`, and let `forward(query, key, value, mask=None)` call your
# `scaled_dot_product_attention` (use the output it returns; keep the weights in
# `self.attn_weights` if you like, for plots).

# %% nbgrader={"grade": false, "grade_id": "mha", "locked": false, "schema_version": 3, "solution": true}
class MultiHeadAttention(nn.Module):
    """h heads of scaled dot-product attention on d_model / h dimensions each."""

    def __init__(self, d_model: int, num_heads: int):
        super().__init__()
        ### BEGIN SOLUTION
        if d_model % num_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.head_size = d_model // num_heads
        self.W_q = nn.Linear(d_model, d_model, bias=False)
        self.W_k = nn.Linear(d_model, d_model, bias=False)
        self.W_v = nn.Linear(d_model, d_model, bias=False)
        self.W_o = nn.Linear(d_model, d_model)
        ### END SOLUTION

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, d_model) -> (B, num_heads, L, head_size)."""
        ### BEGIN SOLUTION
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_size).transpose(1, 2)
        ### END SOLUTION

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, num_heads, L, head_size) -> (B, L, d_model)."""
        ### BEGIN SOLUTION
        batch, _, length, _ = x.shape
        return x.transpose(1, 2).contiguous().view(batch, length, self.num_heads * self.head_size)
        ### END SOLUTION

    def forward(self, query, key, value, mask=None):
        """query (B, Lq, d_model), key and value (B, Lk, d_model), mask (B, Lq, Lk) or (Lq, Lk)."""
        ### BEGIN SOLUTION
        q = self.split_heads(self.W_q(query))
        k = self.split_heads(self.W_k(key))
        v = self.split_heads(self.W_v(value))
        if mask is not None and mask.dim() == 3:
            mask = mask.unsqueeze(1)
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        self.attn_weights = weights
        return self.W_o(self.merge_heads(out))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_mha", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_mha = MultiHeadAttention(512, 8)
assert _mha.head_size == 64, "d_k = 512 / 8 = 64"
assert sum(p.numel() for p in _mha.parameters()) == 1_049_088, "MHA(512, 8): 3 * 512^2 + 512^2 + 512 = 1,049,088 parameters"
_mha = MultiHeadAttention(8, 2)
_x = torch.randn(3, 5, 8, generator=_g)
assert tuple(_mha(_x, _x, _x).shape) == (3, 5, 8), "self-attention keeps the shape (3, 5, 8)"
assert tuple(_mha(_x[:, :2], _x, _x).shape) == (3, 2, 8), "2 queries on 5 keys: (3, 2, 8)"
assert torch.equal(_mha.merge_heads(_mha.split_heads(_x)), _x), "merge_heads undoes split_heads"
# PyTorch's layer with the same weights (biases of the input projection at zero)
_torch_mha = nn.MultiheadAttention(8, 2, batch_first=True)
with torch.no_grad():
    _torch_mha.in_proj_weight.copy_(torch.cat([_mha.W_q.weight, _mha.W_k.weight, _mha.W_v.weight]))
    _torch_mha.in_proj_bias.zero_()
    _torch_mha.out_proj.weight.copy_(_mha.W_o.weight)
    _torch_mha.out_proj.bias.copy_(_mha.W_o.bias)
assert torch.allclose(_mha(_x, _x, _x), _torch_mha(_x, _x, _x)[0], atol=1e-5), "same as nn.MultiheadAttention"
try:
    MultiHeadAttention(10, 3)
    raise AssertionError("MultiHeadAttention(10, 3) should raise a ValueError: 3 does not divide 10")
except ValueError:
    pass
print("MultiHeadAttention: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "ffn_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. The feed-forward sublayer, Add & Norm, the encoder layer
#
# After attention has mixed information *between* tokens, a small two-layer network works on
# every token **separately** (the same weights at every position): `Linear(d_model, d_ff)`,
# ReLU, `Linear(d_ff, d_model)`, both with biases. The paper uses $d_{ff} = 2048$.
#
# Deep stacks suffer from **vanishing gradients** (the remedy: *skip connections*, `x + sublayer(x)`:
# the addition passes the gradient unchanged to both branches, so the early layers still get
# one) and **exploding gradients** (the remedy: *gradient clipping*, Section 8). After each
# addition comes a **LayerNorm**: `nn.LayerNorm(d_model)` normalises each token's vector over
# its **last dimension** (the `d_model` features of that token; not over the batch), then scales
# and shifts it with learned weights.
#
# One **encoder layer** (the original "post-LN" order):
#
# 1. multi-head self-attention on `x`, with the padding mask;
# 2. dropout; 3. add `x` (skip connection 1); 4. LayerNorm 1;
# 5. the feed-forward sublayer; 6. dropout (the same `nn.Dropout` module as in step 2);
# 7. add its input (skip connection 2); 8. LayerNorm 2 (a **different** LayerNorm);
# 9. return the result, of the same shape `(B, L, d_model)`.
#
# Dropout (the paper: 0.1) zeroes random activations while training and does nothing in
# evaluation mode: call `model.eval()` before testing and `model.train()` before training.
#
# **Task.** Write `FeedForwardSubLayer(d_model, d_ff)` with attributes `fc1`, `fc2` (the two
# `nn.Linear`s), and `EncoderLayer(d_model, num_heads, d_ff, dropout)` with attributes
# **`self_attn`** (your `MultiHeadAttention`), **`ff`** (your `FeedForwardSubLayer`),
# **`norm1`**, **`norm2`** (`nn.LayerNorm(d_model)`) and **`dropout`** (`nn.Dropout(dropout)`).
# `forward(x, src_mask=None)` calls `self.self_attn(x, x, x, src_mask)` and `self.ff(...)`. The
# grader checks your layer against `nn.TransformerEncoderLayer` (post-LN, ReLU) with the same
# weights.

# %% nbgrader={"grade": false, "grade_id": "encoder_layer", "locked": false, "schema_version": 3, "solution": true}
class FeedForwardSubLayer(nn.Module):
    """Linear(d_model, d_ff) -> ReLU -> Linear(d_ff, d_model), applied at every position."""

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.relu = nn.ReLU()
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.fc2(self.relu(self.fc1(x)))
        ### END SOLUTION


class EncoderLayer(nn.Module):
    """Post-LN encoder layer: x = norm1(x + drop(attn(x))); x = norm2(x + drop(ff(x)))."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float):
        super().__init__()
        ### BEGIN SOLUTION
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.ff = FeedForwardSubLayer(d_model, d_ff)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        ### END SOLUTION

    def forward(self, x: torch.Tensor, src_mask=None) -> torch.Tensor:
        ### BEGIN SOLUTION
        attn_output = self.self_attn(x, x, x, src_mask)
        x = self.norm1(x + self.dropout(attn_output))
        ff_output = self.ff(x)
        return self.norm2(x + self.dropout(ff_output))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_encoder_layer", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert sum(p.numel() for p in FeedForwardSubLayer(512, 2048).parameters()) == 2_099_712, "FFN(512, 2048): 2,099,712 parameters"
_layer = EncoderLayer(8, 2, 16, dropout=0.0).eval()
_torch_layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).eval()
with torch.no_grad():
    _torch_layer.self_attn.in_proj_weight.copy_(torch.cat([_layer.self_attn.W_q.weight, _layer.self_attn.W_k.weight,
                                                           _layer.self_attn.W_v.weight]))
    _torch_layer.self_attn.in_proj_bias.zero_()
    _torch_layer.self_attn.out_proj.load_state_dict(_layer.self_attn.W_o.state_dict())
    _torch_layer.linear1.load_state_dict(_layer.ff.fc1.state_dict())
    _torch_layer.linear2.load_state_dict(_layer.ff.fc2.state_dict())
    _torch_layer.norm1.load_state_dict(_layer.norm1.state_dict())
    _torch_layer.norm2.load_state_dict(_layer.norm2.state_dict())
_ids = torch.tensor([[4, 5, 6, 0, 0], [7, 8, 9, 10, 0], [1, 2, 3, 4, 5]])
_x = torch.randn(3, 5, 8, generator=_g)
with torch.no_grad():
    _got = _layer(_x, make_padding_mask(_ids))
    _want = _torch_layer(_x, src_key_padding_mask=(_ids == 0))
assert torch.allclose(_got[_ids != 0], _want[_ids != 0], atol=1e-5), "same as nn.TransformerEncoderLayer at the real tokens"
assert sum(isinstance(m, nn.LayerNorm) for m in _layer.modules()) == 2, "two different LayerNorms"
print("EncoderLayer: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "encoder_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. The encoder and its heads
#
# The **encoder** (encoder-only body): token ids → `InputEmbeddings` → `PositionalEncoding` →
# encoder layer 1 (with the mask) → … → layer `num_layers` → the final vectors `(B, L, d_model)`.
# Each layer has its own weights (`nn.ModuleList` of `num_layers` *new* layers; repeating one
# layer object would share its weights).
#
# On top of the body sits a **head** for the task:
#
# * a **classification head**: `Linear(d_model, num_classes)` gives one logit per class
#   (a softmax turns them into probabilities; `nn.CrossEntropyLoss` wants the logits);
# * a **regression head**: `Linear(d_model, output_dim)`, `output_dim = 1` for one number.
#
# The encoder gives one vector per token, the heads need one per sequence. The text leaves open
# which; we **average the vectors of the real tokens** (masked mean pooling): with `keep` the
# `(B, L)` 0/1 tensor of real tokens, `(h * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)`.
# A plain mean would let the number of padding tokens change the result.
#
# Use cases: encoder-only models classify text (sentiment, topic) or predict numbers (time
# series); decoder-only models generate text.
#
# **Task.** Write `TransformerEncoder(vocab_size, d_model, num_heads, num_layers, d_ff, dropout,
# max_seq_length)` with attributes **`embedding`** (`InputEmbeddings`), **`pos_encoding`**
# (`PositionalEncoding`) and **`layers`** (`nn.ModuleList` of `EncoderLayer`), and
# `forward(x, src_mask=None)`. Then `masked_mean(h, keep=None)` (a plain mean over the positions
# when `keep` is None), and the heads `ClassifierHead(d_model, num_classes)` and
# `RegressionHead(d_model, output_dim=1)`, each with one `nn.Linear` called **`fc`**, whose
# `forward(h, keep=None)` pools with `masked_mean` and returns `(B, num_classes)` logits or
# `(B, output_dim)` numbers.

# %% nbgrader={"grade": false, "grade_id": "encoder", "locked": false, "schema_version": 3, "solution": true}
class TransformerEncoder(nn.Module):
    """Embedding -> positional encoding -> num_layers encoder layers."""

    def __init__(self, vocab_size, d_model, num_heads, num_layers, d_ff, dropout, max_seq_length):
        super().__init__()
        ### BEGIN SOLUTION
        self.embedding = InputEmbeddings(vocab_size, d_model)
        self.pos_encoding = PositionalEncoding(d_model, max_seq_length)
        self.layers = nn.ModuleList([EncoderLayer(d_model, num_heads, d_ff, dropout) for _ in range(num_layers)])
        ### END SOLUTION

    def forward(self, x: torch.Tensor, src_mask=None) -> torch.Tensor:
        ### BEGIN SOLUTION
        x = self.pos_encoding(self.embedding(x))
        for layer in self.layers:
            x = layer(x, src_mask)
        return x
        ### END SOLUTION


def masked_mean(h: torch.Tensor, keep=None) -> torch.Tensor:
    """Mean of h (B, L, D) over the positions where keep (B, L) is 1: (B, D)."""
    ### BEGIN SOLUTION
    if keep is None:
        return h.mean(dim=1)
    keep = keep.to(h.dtype).unsqueeze(-1)
    return (h * keep).sum(dim=1) / keep.sum(dim=1)
    ### END SOLUTION


class ClassifierHead(nn.Module):
    """Masked mean pooling, then Linear(d_model, num_classes): logits (B, num_classes)."""

    def __init__(self, d_model: int, num_classes: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.fc = nn.Linear(d_model, num_classes)
        ### END SOLUTION

    def forward(self, h, keep=None):
        ### BEGIN SOLUTION
        return self.fc(masked_mean(h, keep))
        ### END SOLUTION


class RegressionHead(nn.Module):
    """Masked mean pooling, then Linear(d_model, output_dim): (B, output_dim)."""

    def __init__(self, d_model: int, output_dim: int = 1):
        super().__init__()
        ### BEGIN SOLUTION
        self.fc = nn.Linear(d_model, output_dim)
        ### END SOLUTION

    def forward(self, h, keep=None):
        ### BEGIN SOLUTION
        return self.fc(masked_mean(h, keep))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_encoder", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_enc = TransformerEncoder(100, 32, 4, 2, 64, 0.1, 16).eval()
_ids = torch.tensor([[5, 6, 7, 8, 0, 0], [9, 9, 9, 9, 9, 9]])
assert tuple(_enc(_ids, make_padding_mask(_ids)).shape) == (2, 6, 32), "encoder output (2, 6, 32)"
assert sum(p.numel() for p in _enc.parameters()) == 20_096, "V=100, D=32, H=4, 2 layers, d_ff=64: 20,096 parameters"
assert len(_enc.layers) == 2 and _enc.layers[0] is not _enc.layers[1], "two different layers"
_h = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
assert torch.allclose(masked_mean(_h, torch.tensor([[1, 1, 0]])), torch.tensor([[2.0, 3.0]])), "mean of the real tokens"
assert tuple(ClassifierHead(32, 3)(torch.randn(4, 6, 32)).shape) == (4, 3), "classifier logits (4, 3)"
assert tuple(RegressionHead(32)(torch.randn(4, 6, 32)).shape) == (4, 1), "regression output (4, 1)"
print("encoder and heads: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "decoder_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. The decoder and the encoder-decoder Transformer
#
# A decoder layer is an encoder layer whose self-attention uses the **target mask** (causal and
# padding: it must not look at future tokens). In an encoder-decoder model it has a second
# attention sublayer, **cross-attention**: the *queries* come from the decoder, the *keys and
# values* from the encoder's output `y`. Its mask, the **cross mask**, is the source's padding
# mask with one row per *target* query: shape `(B, L_tgt, L_src)`. Three sublayers, each
# followed by dropout, the skip connection and its own LayerNorm (the order of
# `nn.TransformerDecoderLayer`):
#
# 1. `x = norm1(x + dropout(self_attn(x, x, x, tgt_mask)))`;
# 2. `x = norm2(x + dropout(cross_attn(x, y, y, cross_mask)))`;
# 3. `x = norm3(x + dropout(ff(x)))`.
#
# The **decoder** embeds the target ids, adds the positions, runs its layers and ends with a
# linear layer `fc` to `vocab_size` logits per position: the scores of the next token. (A
# softmax makes them probabilities; generation picks e.g. `argmax(logits[:, -1])` and feeds it
# back.)
#
# ### The course text's `Transformer` class has three bugs
#
# ```python
# class Transformer(nn.Module):                       # the text's version: do NOT copy
#     def __init__(self, vocab_size, d_model, num_heads, num_layers, d_ff, max_seq_len, dropout_rate):
#         self.encoder = TransformerEncoder(vocab_size, d_model, num_heads, num_layers, d_ff, dropout, max_seq_len)
#         self.decoder = TransformerDecoder(vocab_size, d_model, num_heads, num_layers, d_ff, dropout, max_seq_len)
#     def forward(self, x, src_mask, tgt_mask):
#         encoder_output = self.encoder(x, src_mask)
#         return self.decoder(x, encoder_output, tgt_mask, src_mask)
# ```
#
# 1. the parameter is `dropout_rate`, the body uses `dropout`: a **NameError**;
# 2. the constructor takes `(..., d_ff, max_seq_len, dropout)` but the parts take `(..., d_ff,
#    dropout, max_seq_len)`: mind the **order** when you pass them on;
# 3. the decoder is fed the **source** `x`; it must get the **target** ids, so `forward` needs a
#    `tgt` argument; and the source's `src_mask` `(B, L_src, L_src)` is not a cross mask
#    `(B, L_tgt, L_src)` (it only works by luck when both lengths are equal).
#
# **Task.** Write `DecoderLayer(d_model, num_heads, d_ff, dropout)` with attributes
# **`self_attn`**, **`cross_attn`** (two `MultiHeadAttention`), **`ff`**, **`norm1`**, **`norm2`**,
# **`norm3`**, **`dropout`**, and `forward(x, y, tgt_mask=None, cross_mask=None)`;
# `TransformerDecoder(vocab_size, d_model, num_heads, num_layers, d_ff, dropout,
# max_seq_length)` with **`embedding`**, **`pos_encoding`**, **`layers`**, **`fc`** and
# `forward(x, y, tgt_mask=None, cross_mask=None)` → logits `(B, L_tgt, vocab_size)`; and the
# corrected `Transformer(vocab_size, d_model, num_heads, num_layers, d_ff, max_seq_length,
# dropout)` with **`encoder`** and **`decoder`**, whose `forward(src, tgt, src_mask, tgt_mask,
# cross_mask=None)` runs the encoder on the source and the decoder on the target; when
# `cross_mask` is None it is made from `src_mask`: its first row of every sequence (row 0 of a
# padding mask holds the key pattern), repeated for the `L_tgt` queries.

# %% nbgrader={"grade": false, "grade_id": "decoder", "locked": false, "schema_version": 3, "solution": true}
class DecoderLayer(nn.Module):
    """Causal self-attention, cross-attention to the encoder output y, feed-forward; post-LN."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float):
        super().__init__()
        ### BEGIN SOLUTION
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)
        self.ff = FeedForwardSubLayer(d_model, d_ff)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        ### END SOLUTION

    def forward(self, x, y, tgt_mask=None, cross_mask=None):
        ### BEGIN SOLUTION
        x = self.norm1(x + self.dropout(self.self_attn(x, x, x, tgt_mask)))
        x = self.norm2(x + self.dropout(self.cross_attn(x, y, y, cross_mask)))
        return self.norm3(x + self.dropout(self.ff(x)))
        ### END SOLUTION


class TransformerDecoder(nn.Module):
    """Embedding -> positional encoding -> num_layers decoder layers -> Linear to vocab logits."""

    def __init__(self, vocab_size, d_model, num_heads, num_layers, d_ff, dropout, max_seq_length):
        super().__init__()
        ### BEGIN SOLUTION
        self.embedding = InputEmbeddings(vocab_size, d_model)
        self.pos_encoding = PositionalEncoding(d_model, max_seq_length)
        self.layers = nn.ModuleList([DecoderLayer(d_model, num_heads, d_ff, dropout) for _ in range(num_layers)])
        self.fc = nn.Linear(d_model, vocab_size)
        ### END SOLUTION

    def forward(self, x, y, tgt_mask=None, cross_mask=None):
        ### BEGIN SOLUTION
        x = self.pos_encoding(self.embedding(x))
        for layer in self.layers:
            x = layer(x, y, tgt_mask, cross_mask)
        return self.fc(x)
        ### END SOLUTION


class Transformer(nn.Module):
    """The encoder-decoder Transformer (the course text's class, corrected)."""

    def __init__(self, vocab_size, d_model, num_heads, num_layers, d_ff, max_seq_length, dropout):
        super().__init__()
        ### BEGIN SOLUTION
        self.encoder = TransformerEncoder(vocab_size, d_model, num_heads, num_layers, d_ff, dropout, max_seq_length)
        self.decoder = TransformerDecoder(vocab_size, d_model, num_heads, num_layers, d_ff, dropout, max_seq_length)
        ### END SOLUTION

    def forward(self, src, tgt, src_mask, tgt_mask, cross_mask=None):
        ### BEGIN SOLUTION
        encoder_output = self.encoder(src, src_mask)
        if cross_mask is None:
            cross_mask = src_mask[:, :1, :].expand(-1, tgt.size(1), -1)
        return self.decoder(tgt, encoder_output, tgt_mask, cross_mask)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_decoder", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_model = Transformer(100, 32, 4, 2, 64, 16, 0.1).eval()
_src = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 0, 0, 0]] * 3)
_tgt = torch.tensor([[1, 12, 13, 14, 15, 0, 0, 0]] * 3)
with torch.no_grad():
    _logits = _model(_src, _tgt, make_padding_mask(_src), make_target_mask(_tgt))
assert tuple(_logits.shape) == (3, 8, 100), "src length 10, tgt length 8, vocabulary 100: logits (3, 8, 100)"
_tgt2 = _tgt.clone()
_tgt2[:, 3:] = 42
with torch.no_grad():
    _logits2 = _model(_src, _tgt2, make_padding_mask(_src), make_target_mask(_tgt2))
assert torch.allclose(_logits[:, :3], _logits2[:, :3], atol=1e-5), "changing tokens 3.. changes no logit at positions 0..2"
assert abs(_model.encoder.layers[0].dropout.p - 0.1) < 1e-12, "dropout 0.1 reaches the layers (mind the argument order)"
print("decoder and Transformer: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "nn_transformer_md", "locked": true, "schema_version": 3, "solution": false}
# ### PyTorch's own `nn.Transformer`
#
# PyTorch ships all of this: `nn.Transformer(d_model=512, nhead=8, num_encoder_layers=6,
# num_decoder_layers=6)` (the argument is `nhead`), with $d_{ff} = 2048$, dropout 0.1 and
# LayerNorms with `eps=1e-05` by default; every decoder layer has three LayerNorms, and the
# encoder and the decoder each end with one more. Its attention has biases on the input
# projections, so one encoder layer has 3,152,384 parameters and the whole model 44,140,544.
# Pass `batch_first=True` to use `(batch, length, d_model)` tensors as we do.

# %% nbgrader={"grade": false, "grade_id": "count_parameters_md", "locked": true, "schema_version": 3, "solution": false}
# **Task.** Write `count_parameters(model)`: the number of **trainable** parameters (those
# with `requires_grad`), as an `int`. Buffers such as the positional encodings are not
# parameters and do not count.

# %% nbgrader={"grade": false, "grade_id": "count_parameters", "locked": false, "schema_version": 3, "solution": true}
def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of `model`."""
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_count_parameters", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_big = nn.Transformer(d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, batch_first=True)
assert count_parameters(_big) == 44_140_544, "nn.Transformer(512, 8, 6, 6) has 44,140,544 parameters"
assert count_parameters(_big.encoder.layers[0]) == 3_152_384, "one nn.TransformerEncoderLayer(512, 8): 3,152,384"
assert _big.encoder.layers[0].linear1.out_features == 2048, "d_ff = 2048 by default"
del _big
print("count_parameters: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. Training a tiny encoder classifier
#
# A task where word order matters: each sequence holds filler words (ids 3 to `VOCAB_SIZE - 1`)
# and exactly one "A" (id 1) and one "B" (id 2), padded with 0 to `MAX_LEN`. The label is 1 when
# A comes **before** B. Without positional encodings the encoder sees a bag of tokens, and this
# task is a coin toss; with them it can learn it.
#
# The model is the encoder, then the classification head on the mean of the real tokens. One
# detail matters: `nn.Embedding` starts from $\mathcal{N}(0, 1)$ weights, so after the
# $\sqrt{d_{model}}$ scaling every coordinate is about $\sqrt{32} \approx 5.7$ times larger
# than the positional encodings, which are then hard to see. The paper draws the embedding
# weights with standard deviation $d_{model}^{-1/2}$, so that the scaled embeddings and the
# positions have the same size; `EncoderClassifier` does the same. (Try the default: training
# becomes a lottery.) The
# training step is the usual one, plus **gradient clipping**: `nn.utils.clip_grad_norm_(
# model.parameters(), max_norm)` rescales all the gradients together when their overall norm is
# larger than `max_norm` (a cure for exploding gradients), between `backward()` and the
# optimizer's `step()`.
#
# **Task.** Write `train_step(model, optimizer, ids, labels, max_norm=1.0)`: put the model in
# training mode, reset the gradients, compute the cross-entropy of `model(ids)` (logits) with
# the labels, backpropagate, clip to `max_norm` (skip clipping when `max_norm` is None), step,
# and return the loss as a Python float. And `accuracy(model, ids, labels)`: the fraction of
# sequences whose largest logit is the label, computed in evaluation mode without gradients.

# %% nbgrader={"grade": false, "grade_id": "task_data", "locked": true, "schema_version": 3, "solution": false}
def make_order_task(n: int, generator: torch.Generator, vocab_size: int = VOCAB_SIZE, max_len: int = MAX_LEN):
    """n sequences with one A (1) and one B (2) among fillers, padded with 0; label = A before B."""
    lengths = torch.randint(4, max_len + 1, (n,), generator=generator)
    ids = torch.randint(3, vocab_size, (n, max_len), generator=generator)
    labels = torch.zeros(n, dtype=torch.long)
    for i in range(n):
        length = int(lengths[i])
        ids[i, length:] = 0
        a, b = torch.randperm(length, generator=generator)[:2].tolist()
        ids[i, a], ids[i, b] = 1, 2
        labels[i] = int(a < b)
    return ids, labels


class EncoderClassifier(nn.Module):
    """Token ids -> TransformerEncoder (padding mask) -> ClassifierHead on the real tokens."""

    def __init__(self, vocab_size, d_model, num_heads, num_layers, d_ff, dropout, max_seq_length, num_classes, pad_id=0):
        super().__init__()
        self.pad_id = pad_id
        self.encoder = TransformerEncoder(vocab_size, d_model, num_heads, num_layers, d_ff, dropout, max_seq_length)
        self.head = ClassifierHead(d_model, num_classes)
        # the paper's initialisation: embeddings of size ~1 after the sqrt(d_model) scaling
        nn.init.normal_(self.encoder.embedding.embedding.weight, std=d_model ** -0.5)

    def forward(self, ids):
        h = self.encoder(ids, make_padding_mask(ids, self.pad_id))
        return self.head(h, (ids != self.pad_id).long())


data_gen = torch.Generator().manual_seed(SEED)
train_ids, train_labels = make_order_task(2000, data_gen)
test_ids, test_labels = make_order_task(500, data_gen)
print(train_ids[:3], train_labels[:3])

# %% nbgrader={"grade": false, "grade_id": "train_step", "locked": false, "schema_version": 3, "solution": true}
def train_step(model, optimizer, ids, labels, max_norm=1.0) -> float:
    """One step of cross-entropy training with gradient clipping; returns the loss."""
    ### BEGIN SOLUTION
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(ids), labels)
    loss.backward()
    if max_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()
    ### END SOLUTION


def accuracy(model, ids, labels) -> float:
    """Fraction of rows whose arg-max logit equals the label (eval mode, no gradients)."""
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        predictions = model(ids).argmax(dim=-1)
    return (predictions == labels).float().mean().item()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
classifier = EncoderClassifier(VOCAB_SIZE, d_model=32, num_heads=4, num_layers=2, d_ff=64, dropout=0.0,
                               max_seq_length=MAX_LEN, num_classes=2).to(DEVICE)
optimizer = torch.optim.Adam(classifier.parameters(), lr=3e-3)
steps = 100 if FAST else TRAIN_STEPS
batch_gen = torch.Generator().manual_seed(SEED + 1)
losses = []
for step in range(steps):
    rows = torch.randint(0, len(train_ids), (64,), generator=batch_gen)
    losses.append(train_step(classifier, optimizer, train_ids[rows].to(DEVICE), train_labels[rows].to(DEVICE)))
    if step % 25 == 0 or step == steps - 1:
        print(f"step {step:4d}  loss {losses[-1]:.4f}")
test_accuracy = accuracy(classifier, test_ids.to(DEVICE), test_labels.to(DEVICE))
print(f"test accuracy: {test_accuracy:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_train", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert isinstance(losses[0], float), "train_step returns the loss as a Python float (loss.item())"
assert losses[0] < 1.5, "the first loss of two balanced classes should be near ln 2 = 0.69 (below 1.5)"
assert sum(losses[-10:]) / 10 < 0.5 * losses[0], "the loss should fall during training"
assert not classifier.training, "accuracy puts the model in evaluation mode"
assert test_accuracy > 0.75, "the trained classifier should do far better than a coin toss on the test sequences"
print("training: all checks passed")
