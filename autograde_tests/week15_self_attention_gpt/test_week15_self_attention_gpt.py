"""Hidden tests for week15_self_attention_gpt: averaging the past, self-attention, a small GPT.

Total: 42 points over 23 tests.

Probes run the student's functions and modules in the student's kernel (and the same probe in the
reference kernel) and return plain data. The expected answers are computed here, in the grader
process, with PyTorch in float64: running means, scores, and an oracle GPT written below as plain
functions of a dict of weights (`_head`, `_mha`, `_ff`, `_block`, `_gpt`). Modules are compared
with the oracle by *loading weights into them*: the probe creates the student's module, fills
every parameter the specification names (nanoGPT's names: `key`, `query`, `value`, `heads`,
`proj`, `net`, `sa`, `ffwd`, `ln1`, `ln2`, `token_embedding_table`, `position_embedding_table`,
`blocks`, `ln_f`, `lm_head`) with numbers drawn from a seeded generator, in the order of the
specification, and runs it; the grader draws the same numbers and runs the oracle. The probe
holds weights and inputs only, never a correct implementation of a graded class.

Each function or class is graded on its own. Where one calls another graded one, the probe
rebinds it to *fakes* (grader.testing.with_fakes, also applied to `__init__` and `forward`
methods), so a bug in a helper costs its points once: `averaging_weights` becomes a cosine
pattern, `attention_scores` a tanh of q k^T, `Head`, `MultiHeadAttention`, `FeedForward` and
`Block` become small modules with one linear layer and another non-linearity, and the GPT's
forward pass becomes a lookup with two equally likely next tokens (to grade `generate`). The
fakes differ from the answers on purpose; what the student's code should do with them is
computed here, and a student who does the helper's work inline (no call) gets the true result,
which is accepted as well. `estimate_loss` and `train_gpt` run on small fake models (a spy that
records the mode and whether gradients are on; a tiny tanh model trained with AdamW and
replayed here step by step).

Device checks (PyTorch's meta device stands in for a GPU, with a GPU's rules, see grader.testing.on_meta_device): test_bow_matmul,
test_head, test_gpt_forward, test_generate, test_estimate_loss and test_train_gpt also run the code on the meta
device (with the same fakes), so a matrix, a mask, positions, a sample or a batch left on the CPU loses those
tests' points, as it would fail on a GPU. bow_loop and bow_softmax are not checked: their tasks ask for the shape
and dtype of x, not its device.

The trained GPT (test_trained_gpt_beats_bigram) is graded by its weights: the grader loads them
into the oracle and measures the loss on fixed validation batches, and compares it with the best
bigram model's validation loss (the row-normalised bigram counts of the training split, +0.01,
the closed-form optimum of week 14's model), computed here from the reference's split.
BIGRAM_MARGIN (0.12) was calibrated on the offline `shakespeare` stand-in in FAST mode (one block,
n_embd 32, 4 heads, block 16, 200 AdamW steps at 1e-2, batch 32): over SEED 0-11 the reference's
validation loss was 2.03-2.11 (see the table in the report), the bigram's 2.302, so the reference
beats the bigram by 0.19-0.27 and a correct solution with other random draws passes, while an
untrained model (4.17), a GPT without position information or with a broken mask (it cheats, and
its validation loss is not comparable but its weights fail the oracle's causal loss) fails.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from grader.testing import assert_close, assert_on_meta, is_close, on_meta_device, remember, with_fakes

F64 = torch.float64
BIGRAM_MARGIN = 0.12
# (written as text, so that no line of this file equals the notebook's public check, which feedback shows)
COURSE_XBOW0 = np.array("0.1808 -0.0700 -0.0894 -0.4926 0.1490 -0.3199 0.3504 -0.2238 "
                        "0.3525 0.0545 0.0688 -0.0396 0.0927 -0.0682 -0.0341 0.1332".split(), dtype=float).reshape(8, 2).tolist()
# wei[0] of the lecture's single head (seed 1337), rows 1, 4 and 7; the text's 0.2023 in row 7 is a
# misprint for 0.2423 (that row would sum to 0.9601).
COURSE_WEI0 = {1: [0.1574, 0.8426, 0, 0, 0, 0, 0, 0],
               4: [0.0294, 0.1052, 0.0469, 0.0276, 0.7909, 0, 0, 0],
               7: [0.0210, 0.0843, 0.0555, 0.2297, 0.0573, 0.0709, 0.2423, 0.2391]}


# ---- device checks on PyTorch's meta device, with a GPU's rules (grader.testing.on_meta_device)
def _meta_run(thunk: str) -> str:
    """Probe code: `_meta`, what `_meta_try` says of `thunk` (an expression)."""
    return f"_meta = _meta_try(lambda: {thunk})\n"


# --------------------------------------------------------------------------- helpers
def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=F64)


def _running_mean(x: torch.Tensor) -> torch.Tensor:
    T = x.shape[-2]
    return x.cumsum(-2) / torch.arange(1, T + 1, dtype=F64).reshape(T, 1)


def _randn(rng: np.random.Generator, *shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _msg_array(got, want) -> str:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return f"expected shape {want.shape}, got {got.shape}"
    gap = np.abs(got - want)
    i = np.unravel_index(int(np.nanargmax(np.where(np.isnan(gap), np.inf, gap))), gap.shape)
    return (f"largest difference {gap[i]:.3g} at index {list(map(int, i))} (expected {want[i]:.6g}, "
            f"got {got[i]:.6g})")


def _close(got, want, rtol=1e-4, atol=1e-5) -> bool:
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=rtol, atol=atol))


# ---- weights by name: the probe fills them, the grader draws the same numbers
def _scale(name: str, shape) -> tuple[float, float]:
    """(scale, offset) of the numbers drawn for a parameter."""
    if ".ln" in "." + name or name.startswith("ln"):
        return (0.2, 1.0) if name.endswith("weight") else (0.1, 0.0)
    if "embedding" in name:
        return 0.7, 0.0
    if name.endswith("bias"):
        return 0.1, 0.0
    return 1.0 / math.sqrt(shape[-1]), 0.0


def _spec(pairs) -> list:
    return [[name, list(shape), *_scale(name, shape)] for name, shape in pairs]


def _fill_code(spec: list, seed: int, model: str = "_m") -> str:
    """Probe code: fill `model`'s parameters named in spec, in spec order, from a seeded generator."""
    return (f"_g = torch.Generator().manual_seed({seed})\n"
            f"_P = dict({model}.named_parameters())\n"
            "_bad = []\n"
            "with torch.no_grad():\n"
            f"    for _name, _shape, _s, _o in {spec!r}:\n"
            "        _w = torch.randn(_shape, generator=_g) * _s + _o\n"
            "        if _name in _P and list(_P[_name].shape) == _shape:\n"
            "            _P[_name].copy_(_w)\n"
            "        else:\n"
            "            _bad.append(_name)\n"
            f"_names = sorted([_n, list(_p.shape)] for _n, _p in {model}.named_parameters())\n")


def _draw(spec: list, seed: int, extra: list | None = None):
    """The weights `_fill_code` puts in (float64 copies of float32 draws), then `extra` draws of
    torch.randn(shape, generator=_g) made after them."""
    g = torch.Generator().manual_seed(seed)
    weights = {name: (torch.randn(shape, generator=g) * s + o).to(F64) for name, shape, s, o in spec}
    more = [torch.randn(shape, generator=g) for shape in (extra or [])]
    return weights, more


def _check_names(what: str, got_names, spec: list, bad) -> None:
    want = sorted([name, shape] for name, shape, _, _ in spec)
    if got_names == want:
        return
    have = {n: s for n, s in got_names}
    need = {n: s for n, s, _, _ in spec}
    missing = [n for n in need if n not in have]
    wrong = [f"{n} {have[n]} (expected {need[n]})" for n in need if n in have and have[n] != need[n]]
    extra = [n for n in have if n not in need]
    parts = []
    if missing:
        parts.append(f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}")
    if wrong:
        parts.append(f"wrong shapes: {'; '.join(wrong[:3])}")
    if extra:
        parts.append(f"unexpected {extra[:4]}{' ...' if len(extra) > 4 else ''}")
    raise AssertionError(f"{what}: the parameters should be exactly {[n for n, _ in want][:8]}"
                         f"{' ...' if len(want) > 8 else ''} (names and shapes as specified in the notebook, so the "
                         f"grader can load its weights); {', '.join(parts)}")


# ---- the oracle, in float64
def _head(x, W, p, causal=True):
    k = x @ W[p + "key.weight"].T
    q = x @ W[p + "query.weight"].T
    v = x @ W[p + "value.weight"].T
    wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
    if causal:
        T = x.shape[-2]
        wei = wei.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
    return torch.softmax(wei, -1) @ v


def _mha(x, W, p, n_head, causal=True):
    out = torch.cat([_head(x, W, f"{p}heads.{i}.", causal) for i in range(n_head)], -1)
    return out @ W[p + "proj.weight"].T + W[p + "proj.bias"]


def _ff(x, W, p):
    h = torch.relu(x @ W[p + "net.0.weight"].T + W[p + "net.0.bias"])
    return h @ W[p + "net.2.weight"].T + W[p + "net.2.bias"]


def _ln(x, W, p):
    return F.layer_norm(x, (x.shape[-1],), W[p + "weight"], W[p + "bias"], eps=1e-5)


def _block(x, W, p, n_head, causal=True):
    x = x + _mha(_ln(x, W, p + "ln1."), W, p + "sa.", n_head, causal)
    return x + _ff(_ln(x, W, p + "ln2."), W, p + "ffwd.")


def _gpt(idx, W, n_head, n_layer, block=_block):
    idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
    T = idx.shape[1]
    x = W["token_embedding_table.weight"][idx] + W["position_embedding_table.weight"][:T]
    for layer in range(n_layer):
        x = block(x, W, f"blocks.{layer}.", n_head)
    return _ln(x, W, "ln_f.") @ W["lm_head.weight"].T + W["lm_head.bias"]


def _head_names(n, hs, p=""):
    return [(f"{p}{part}.weight", (hs, n)) for part in ("key", "query", "value")]


def _block_names(n, n_head, p=""):
    hs = n // n_head
    names = []
    for i in range(n_head):
        names += _head_names(n, hs, f"{p}sa.heads.{i}.")
    names += [(f"{p}sa.proj.weight", (n, n_head * hs)), (f"{p}sa.proj.bias", (n,)),
              (f"{p}ffwd.net.0.weight", (4 * n, n)), (f"{p}ffwd.net.0.bias", (4 * n,)),
              (f"{p}ffwd.net.2.weight", (n, 4 * n)), (f"{p}ffwd.net.2.bias", (n,)),
              (f"{p}ln1.weight", (n,)), (f"{p}ln1.bias", (n,)), (f"{p}ln2.weight", (n,)), (f"{p}ln2.bias", (n,))]
    return names


def _gpt_names(V, n, n_head, n_layer, block_size, block_names=_block_names):
    names = [("token_embedding_table.weight", (V, n)), ("position_embedding_table.weight", (block_size, n))]
    for layer in range(n_layer):
        names += block_names(n, n_head, f"blocks.{layer}.")
    return names + [("ln_f.weight", (n,)), ("ln_f.bias", (n,)), ("lm_head.weight", (V, n)), ("lm_head.bias", (V,))]


# ---- fakes (probe code): they behave differently from the answers on purpose
FAKE_SCORES = '''import torch
def _fake_scores(q, k, scale=True):
    return torch.tanh(q @ k.transpose(-2, -1)) * (3.0 if scale else 5.0)
'''


def _fake_scores(q, k, scale=True):
    return torch.tanh(q @ k.transpose(-2, -1)) * (3.0 if scale else 5.0)


def _softmax_path(scores, causal=True):
    if causal:
        T = scores.shape[-1]
        scores = scores.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
    return torch.softmax(scores, -1)


FAKE_MODULES = '''import torch
import torch.nn as nn
_made = []
class _FakeHead(nn.Module):
    def __init__(self, n_embd, head_size, block_size, causal=True):  # a stand-in
        super().__init__()
        self.key = nn.Linear(in_features=n_embd, out_features=head_size, bias=False)
        _made.append(["Head", n_embd, head_size, block_size, bool(causal)])
    def forward(self, x):
        return torch.tanh(self.key(x)) + 0.5
class _FakeMHA(nn.Module):
    def __init__(self, n_embd, num_heads, head_size, block_size, causal=True):  # a stand-in
        super().__init__()
        self.mix = nn.Linear(n_embd, n_embd)
        _made.append(["MultiHeadAttention", n_embd, num_heads, head_size, block_size, bool(causal)])
    def forward(self, x):
        return torch.sin(self.mix(x))
class _FakeFF(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.mix = nn.Linear(n_embd, n_embd)
        _made.append(["FeedForward", n_embd])
    def forward(self, x):
        return torch.tanh(self.mix(x)) * 2.0
class _FakeBlock(nn.Module):
    def __init__(self, n_embd, n_head, block_size, causal=True):  # a stand-in
        super().__init__()
        self.mix = nn.Linear(n_embd, n_embd)
        _made.append(["Block", n_embd, n_head, block_size, bool(causal)])
    def forward(self, x):
        return x + torch.tanh(self.mix(x)).cumsum(1) * 0.3
'''


def _new(cls: str, init: str, args: str) -> str:
    """Probe code: `_m`, an object of the student's class `cls` made by the rebound `init`."""
    return f"_m = {cls}.__new__({cls})\n{init}(_m, {args})\n"


# --------------------------------------------------------------------------- 2. averaging the past
@pytest.mark.points(2)
def test_bow_loop(student, reference, grading_seed):
    """bow_loop averages every position with its past (the course's xbow and hidden inputs)"""
    rng = np.random.default_rng(grading_seed + 1)
    xs = [_randn(rng, 2, 5, 3), _randn(rng, 1, 1, 4), _randn(rng, 3, 7, 1), _randn(rng, 1, 6, 2).astype(np.float64)]
    probe = ("torch.manual_seed(1337)\n_course = torch.randn(4, 8, 2)\n"
             "_out = [bow_loop(_course)[0]]\n"
             f"for _a, _d in {[(x.tolist(), str(x.dtype)) for x in xs]!r}:\n"
             "    _x = torch.tensor(_a, dtype=getattr(torch, _d))\n    _c = _x.clone()\n    _y = bow_loop(_x)\n"
             "    _out.append([_y, str(_y.dtype), bool(torch.equal(_x, _c))])\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert_close(ref[0], np.array(COURSE_XBOW0), "the reference's course values changed", rtol=0, atol=1e-4)
    assert _close(got[0], COURSE_XBOW0, rtol=0, atol=1e-4), \
        (f"bow_loop(x)[0] for the course's x (torch.manual_seed(1337); torch.randn(4, 8, 2)) should be the course's "
         f"running means {COURSE_XBOW0[:3]} ...: {_msg_array(got[0], COURSE_XBOW0)} (xbow[b, t] is the mean of "
         "x[b, 0], ..., x[b, t], position t included)")
    for x, (y, dtype, unchanged) in zip(xs, got[1:]):
        want = _running_mean(_t(x)).numpy()
        call = f"bow_loop(x) for x of shape {x.shape}"
        call += f" ({x.dtype})"
        assert dtype == f"torch.{x.dtype}", f"{call} should return a tensor of the dtype of its input, got {dtype}"
        assert _close(y, want, rtol=1e-5, atol=1e-6), \
            f"{call}: xbow[b, t] should be the mean of x[b, :t+1] over the time axis: {_msg_array(y, want)}"
        assert unchanged, f"{call} changed its input x: write the means into a new tensor"


@pytest.mark.points(1.5)
def test_averaging_weights(student, reference):
    """averaging_weights(T) is the row-normalised lower-triangular matrix"""
    Ts = [1, 2, 5, 8, 13]
    probe = f"[[averaging_weights(_T), str(averaging_weights(_T).dtype)] for _T in {Ts!r}]"
    got = student.eval(probe)
    for T, (w, dtype) in zip(Ts, got):
        want = (torch.tril(torch.ones(T, T, dtype=F64)) / torch.arange(1, T + 1, dtype=F64).reshape(T, 1)).numpy()
        assert dtype == "torch.float32", f"averaging_weights({T}) should be a float32 tensor, got {dtype}"
        hint = ("rows must sum to 1: divide by the row sums with keepdim=True (a (T,) vector of sums broadcasts as "
                "a row and divides the columns)" if _close(np.asarray(w).sum(0), np.ones(T)) and T > 1 else
                "row t holds 1/(t+1) in its first t+1 entries and 0 after (lower triangle, diagonal included)")
        assert _close(w, want, rtol=1e-6, atol=1e-7), f"averaging_weights({T}): {_msg_array(w, want)}; {hint}"


@pytest.mark.points(1.5)
def test_bow_matmul(student, reference, grading_seed):
    """bow_matmul computes the running means as one product with the averaging weights"""
    rng = np.random.default_rng(grading_seed + 2)
    xs = [_randn(rng, 2, 5, 3), _randn(rng, 4, 8, 2), _randn(rng, 1, 1, 3), _randn(rng, 3, 6, 4)]
    fake = ("import torch\n"
            "def _fake_avg(T):\n"
            "    return torch.tril(torch.cos(torch.arange(T * T, dtype=torch.float32).reshape(T, T)))\n")
    probe = (fake + with_fakes("bow_matmul", {"averaging_weights": "_fake_avg"}) + on_meta_device() +
             with_fakes("bow_matmul", {"averaging_weights": "_fake_avg"}, as_name="_bow_matmul_meta") +
             f"_out = [_bow_matmul(torch.tensor(_a)) for _a in {[x.tolist() for x in xs]!r}]\n" +
             _meta_run("_bow_matmul_meta(torch.empty(2, 5, 3, device='meta'))") + "[_out, _meta]")
    (got, meta), (ref, ref_meta) = student.eval(probe), reference.eval(probe)
    assert ref_meta == ["ok", ["meta"]], f"grader setup: the reference's bow_matmul on the meta device: {ref_meta}"
    for x, y, r in zip(xs, got, ref):
        T = x.shape[1]
        fake_w = torch.tril(torch.cos(torch.arange(T * T, dtype=F64).reshape(T, T)))
        with_fake = (fake_w @ _t(x)).numpy()
        true = _running_mean(_t(x)).numpy()
        assert_close(r, with_fake, "grader setup: the reference with the fake weights", rtol=1e-4, atol=1e-5)
        if not _close(y, true, rtol=1e-5, atol=1e-6):
            assert _close(y, with_fake, rtol=1e-4, atol=1e-5), \
                (f"bow_matmul(x) for x of shape {x.shape}, run with the grader's stand-in for averaging_weights (a "
                 f"lower-triangular cosine pattern), should be averaging_weights(T) @ x: {_msg_array(y, with_fake)} "
                 "(one matrix product (T, T) @ (B, T, C), broadcast over the batch)")
    assert_on_meta(meta, "bow_matmul(x) for x of shape (2, 5, 3), with the grader's stand-in for averaging_weights (a "
                   "matrix made on the CPU)", "averaging_weights(T) makes its matrix on the CPU: move it to the device "
                   "of x before the product, averaging_weights(T).to(x.device) @ x")


@pytest.mark.points(2)
def test_bow_softmax(student, reference, grading_seed):
    """bow_softmax masks the future with -inf and takes the softmax of zeros along each row"""
    rng = np.random.default_rng(grading_seed + 3)
    xs = [_randn(rng, 2, 5, 3) * 4, _randn(rng, 1, 8, 2), _randn(rng, 3, 1, 2), _randn(rng, 2, 7, 5) + 3]
    probe = (f"_out = []\nfor _a in {[x.tolist() for x in xs]!r}:\n"
             "    _x = torch.tensor(_a)\n    _c = _x.clone()\n    _y = bow_softmax(_x)\n"
             "    _out.append([_y, bool(torch.equal(_x, _c))])\n_out")
    got = student.eval(probe)
    for x, (y, unchanged) in zip(xs, got):
        want = _running_mean(_t(x)).numpy()
        T = x.shape[1]
        hint = ""
        if _close(y, np.broadcast_to(_t(x).mean(1, keepdim=True).numpy(), x.shape), rtol=1e-4, atol=1e-5) and T > 1:
            hint = " (every position averages the whole sequence: the mask is missing or the softmax runs over dim 0)"
        elif np.asarray(y).shape == x.shape and np.allclose(np.asarray(y)[:, -1], want[:, 0], atol=1e-5) and T > 1:
            hint = " (the last position sees only the first token: the mask is upside down, tril == 1 instead of tril == 0)"
        assert _close(y, want, rtol=1e-5, atol=1e-6), \
            (f"bow_softmax(x) for x of shape {x.shape} should be the running means: {_msg_array(y, want)}{hint}; "
             "zeros, masked_fill(tril == 0, float('-inf')), softmax over the last dimension, then wei @ x")
        assert unchanged, f"bow_softmax(x) for x of shape {x.shape} changed its input"


# --------------------------------------------------------------------------- 3-4. scores, one head, scaling
@pytest.mark.points(2)
def test_attention_scores(student, reference, grading_seed):
    """attention_scores is q @ k^T, scaled by head_size ** -0.5 when asked"""
    rng = np.random.default_rng(grading_seed + 4)
    cases = [(_randn(rng, 2, 5, 4), _randn(rng, 2, 5, 4), True), (_randn(rng, 2, 5, 4), _randn(rng, 2, 5, 4), False),
             (_randn(rng, 3, 6, 8), _randn(rng, 3, 4, 8), True), (_randn(rng, 5, 3), _randn(rng, 5, 3), True),
             (_randn(rng, 1, 7, 9), _randn(rng, 1, 7, 9), False)]
    inputs = [(q.tolist(), k.tolist(), s) for q, k, s in cases]
    probe = f"[attention_scores(torch.tensor(_q), torch.tensor(_k), scale=_s) for _q, _k, _s in {inputs!r}]"
    got = student.eval(probe)
    for (q, k, scale), y in zip(cases, got):
        want = _t(q) @ _t(k).transpose(-2, -1)
        raw = want.numpy()
        if scale:
            want = want * k.shape[-1] ** -0.5
        want = want.numpy()
        call = f"attention_scores(q {q.shape}, k {k.shape}, scale={scale})"
        hint = ""
        if scale and _close(y, raw):
            hint = " (the scores are not scaled: multiply by head_size ** -0.5)"
        elif scale and _close(y, raw / k.shape[-1]):
            hint = " (divided by head_size instead of its square root)"
        elif not scale and _close(y, raw * k.shape[-1] ** -0.5):
            hint = " (scaled although scale=False)"
        if q.shape == k.shape and _close(np.swapaxes(np.asarray(y, dtype=float), -1, -2), want):
            hint = " (the scores are transposed: row t holds query t's dot products with the keys, q @ k^T, not k @ q^T)"
        assert _close(y, want, rtol=1e-5, atol=1e-5), \
            (f"{call} should be q @ k.transpose(-2, -1){' * head_size ** -0.5 with head_size = k.shape[-1]' if scale else ''}"
             f": {_msg_array(y, want)}{hint}")


@pytest.mark.points(1)
def test_scaled_variance(student, reference, grading_seed):
    """Scaled scores of unit-variance queries and keys have a variance near 1, unscaled ones near head_size"""
    rng = np.random.default_rng(grading_seed + 5)
    out = []
    for hs in (16, 64, 4):
        q, k = _randn(rng, 8, 32, hs), _randn(rng, 8, 32, hs)
        probe = (f"_q, _k = torch.tensor({q.tolist()!r}), torch.tensor({k.tolist()!r})\n"
                 "[float(attention_scores(_q, _k).var()), float(attention_scores(_q, _k, scale=False).var())]")
        out.append((hs, student.eval(probe)))
    for hs, (scaled, raw) in out:
        assert 0.75 < scaled < 1.3, \
            (f"the variance of attention_scores(q, k) for q, k of 8 x 32 x {hs} standard normal numbers should be "
             f"about 1 (that is why we scale by 1/sqrt(head_size)), got {scaled:.3f}")
        assert 0.75 < raw / hs < 1.3, \
            (f"without scaling, the variance of q @ k^T for head_size {hs} should be about head_size = {hs}, got "
             f"{raw:.3f}")


@remember
def _course_head(seed: int, B: int, T: int, C: int, hs: int):
    """x and the three weight matrices of the lecture's experiment, drawn as the lecture does."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x = torch.randn(B, T, C)
        key = torch.nn.Linear(C, hs, bias=False)
        query = torch.nn.Linear(C, hs, bias=False)
        value = torch.nn.Linear(C, hs, bias=False)
        return [x.numpy(), key.weight.detach().numpy(), query.weight.detach().numpy(), value.weight.detach().numpy()]


def _head_demo_expected(seed, B, T, C, hs, scale, fake):
    x, Wk, Wq, Wv = (_t(a) for a in _course_head(seed, B, T, C, hs))
    k, q, v = x @ Wk.T, x @ Wq.T, x @ Wv.T
    if fake:
        scores = _fake_scores(q, k, scale)
    else:
        scores = q @ k.transpose(-2, -1) * (hs ** -0.5 if scale else 1.0)
    wei = _softmax_path(scores)
    return wei.numpy(), (wei @ v).numpy()


@pytest.mark.points(1.5)
def test_single_head_course_values(student, reference):
    """The lecture's single head (seed 1337) gives the course's wei, with row 7 corrected"""
    got = student.eval("_w, _o = single_head_demo()\n[_w, list(_o.shape)]")
    wei, shape = got
    assert shape == [4, 8, 16], f"single_head_demo() should return out = wei @ v of shape (4, 8, 16), got {shape}"
    wei = np.asarray(wei)
    assert wei.shape == (4, 8, 8), f"single_head_demo() should return wei of shape (4, 8, 8), got {wei.shape}"
    for row, values in COURSE_WEI0.items():
        assert _close(wei[0, row], values, rtol=0, atol=1e-4), \
            (f"single_head_demo(): row {row} of wei[0] should be the course's {values}, got "
             f"{[round(float(v), 4) for v in wei[0, row]]} (seed first, then x = torch.randn(B, T, C), then key, query, value "
             "in this order; unscaled scores q @ k^T; the future masked; softmax over the last dimension)")
    want, _ = _head_demo_expected(1337, 4, 8, 32, 16, False, False)
    assert _close(wei, want, rtol=0, atol=1e-5), f"single_head_demo(): wei differs from the course's: {_msg_array(wei, want)}"


@pytest.mark.points(2)
def test_single_head_demo(student, reference, grading_seed):
    """single_head_demo seeds, draws x, creates key, query, value in order and returns wei and wei @ v"""
    rng = random.Random(grading_seed + 6)
    cases = [(rng.randrange(10**6), 2, 5, 6, 3, False), (rng.randrange(10**6), 3, 6, 10, 4, True),
             (rng.randrange(10**6), 1, 1, 4, 2, True), (rng.randrange(10**6), 2, 7, 5, 5, False)]
    probe = (FAKE_SCORES + with_fakes("single_head_demo", {"attention_scores": "_fake_scores"}) +
             f"[list(_single_head_demo(seed=_s, B=_B, T=_T, C=_C, head_size=_h, scale=_sc)) for _s, _B, _T, _C, _h, _sc in {cases!r}]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for case, (wei, out), (ref_wei, _) in zip(cases, got, ref):
        seed, B, T, C, hs, scale = case
        fake = _head_demo_expected(*case, True)
        true = _head_demo_expected(*case, False)
        assert_close(ref_wei, fake[0], "grader setup: the reference with the fake scores", rtol=1e-4, atol=1e-5)
        call = (f"single_head_demo(seed={seed}, B={B}, T={T}, C={C}, head_size={hs}, scale={scale}) (run with the grader's "
                "stand-in for attention_scores, tanh(q @ k^T) times 3 with scale=True and 5 with scale=False)")
        if _close(wei, true[0]) and _close(out, true[1]):
            continue
        assert _close(wei, fake[0]), \
            (f"{call}: wei {_msg_array(wei, fake[0])}. Seed with torch.manual_seed(seed), draw x = torch.randn(B, T, C) "
             "first, then create key, query and value (nn.Linear(C, head_size, bias=False)) in this order, scores "
             "attention_scores(q, k, scale=scale), mask the future, softmax over the last dimension")
        assert _close(out, fake[1]), \
            (f"{call}: out should be wei @ v with v = value(x), shape (B, T, head_size): {_msg_array(out, fake[1])} "
             "(aggregate the values, not the raw x)")


@pytest.mark.points(1)
def test_sharpen(student, reference, grading_seed):
    """sharpen is the softmax of logits times a factor (the course's numbers and hidden logits)"""
    rng = np.random.default_rng(grading_seed + 7)
    course = [0.1, -0.2, 0.3, -0.2, 0.5]
    cases = [(course, 1.0), (course, 8.0), (_randn(rng, 3, 6).tolist(), 0.5), (_randn(rng, 2, 4).tolist(), 0.0),
             (_randn(rng, 4).tolist(), -2.0), (_randn(rng, 2, 3, 5).tolist(), 3.0)]
    got = student.eval(f"[sharpen(torch.tensor(_l), _f) for _l, _f in {cases!r}]")
    for (logits, factor), y in zip(cases, got):
        want = torch.softmax(_t(logits) * factor, -1).numpy()
        assert _close(y, want, rtol=1e-5, atol=1e-6), \
            (f"sharpen(logits of shape {np.shape(logits)}, {factor}) should be softmax(logits * {factor}) over the last "
             f"dimension: {_msg_array(y, want)}")
    assert _close(got[1], [0.0326, 0.0030, 0.1615, 0.0030, 0.8000], rtol=0, atol=1e-4), \
        "sharpen([0.1, -0.2, 0.3, -0.2, 0.5], 8) should be the course's [0.0326, 0.0030, 0.1615, 0.0030, 0.8000]"


# --------------------------------------------------------------------------- 5. modules
HEAD_FORWARD = FAKE_SCORES + with_fakes("Head.forward", {"attention_scores": "_fake_scores"}, as_name="_head_forward")


def _head_probe(cases, meta=None) -> str:
    """Probe code for the cases; with meta = (n_embd, head_size, block_size, B, T), also a causal Head of these
    sizes moved to the meta device and run there on x of shape (B, T, n_embd): the answer is then [cases, meta]."""
    probe = HEAD_FORWARD + "_out = []\n"
    for n, hs, bs, B, T, causal, seed in cases:
        spec = _spec(_head_names(n, hs))
        probe += (f"_m = Head({n}, {hs}, {bs}, causal={causal})\n" + _fill_code(spec, seed) +
                  f"_x = torch.randn({B}, {T}, {n}, generator=_g)\n"
                  "_buf = dict(_m.named_buffers())\n"
                  "_out.append({'names': _names, 'bad': _bad, 'tril': _buf.get('tril'), 'y': _head_forward(_m, _x)})\n")
    if meta is None:
        return probe + "_out"
    n, hs, bs, B, T = meta
    return (probe + on_meta_device() +
            with_fakes("Head", {"attention_scores": "_fake_scores"}, as_name="_HeadMeta") +
            _meta_run(f"_HeadMeta({n}, {hs}, {bs}).to('meta')(torch.empty({B}, {T}, {n}, device='meta'))") + "[_out, _meta]")


def _head_expected(n, hs, bs, B, T, causal, seed):
    spec = _spec(_head_names(n, hs))
    W, (x,) = _draw(spec, seed, [(B, T, n)])
    x = x.to(F64)
    true = _head(x, W, "", causal).numpy()
    k, q, v = x @ W["key.weight"].T, x @ W["query.weight"].T, x @ W["value.weight"].T
    fake = (_softmax_path(_fake_scores(q, k, True), causal) @ v).numpy()
    return spec, true, fake


@pytest.mark.points(3)
def test_head(student, reference, grading_seed):
    """Head: key/query/value without bias, a tril buffer, scaled causal attention for any T <= block_size"""
    rng = random.Random(grading_seed + 8)
    cases = [(12, 5, 8, 3, 8, True, rng.randrange(10**6)), (12, 5, 8, 2, 5, True, rng.randrange(10**6)),
             (7, 3, 6, 2, 1, True, rng.randrange(10**6)), (16, 8, 4, 2, 4, True, rng.randrange(10**6))]
    meta_sizes = (12, 5, 8, 2, 6)
    got, meta = student.eval(_head_probe(cases, meta_sizes))
    ref, ref_meta = reference.eval(_head_probe(cases, meta_sizes))
    assert ref_meta == ["ok", ["meta"]], f"grader setup: the reference's Head on the meta device: {ref_meta}"
    for case, answer, ref_answer in zip(cases, got, ref):
        n, hs, bs, B, T, causal, seed = case
        spec, true, fake = _head_expected(*case)
        what = f"Head(n_embd={n}, head_size={hs}, block_size={bs})"
        assert_close(ref_answer["y"], fake, "grader setup: the reference with the fake scores", rtol=1e-4, atol=1e-5)
        _check_names(what, answer["names"], spec, answer["bad"])
        tril = answer["tril"]
        assert tril is not None, f"{what}: register the mask as a buffer named tril: self.register_buffer('tril', ...)"
        assert _close(tril, np.tril(np.ones((bs, bs)))), \
            f"{what}: the buffer tril should be torch.tril(torch.ones(block_size, block_size)), shape ({bs}, {bs})"
        y = answer["y"]
        if _close(y, true):
            continue
        call = (f"{what} on x of shape ({B}, {T}, {n}), weights loaded by the grader, run with its stand-in for "
                "attention_scores (tanh(q @ k^T) * 3)")
        assert _close(y, fake), \
            (f"{call}: {_msg_array(y, fake)}. Expected softmax over the last dimension of attention_scores(q, k) "
             f"(scaled), with the entries where self.tril[:T, :T] == 0 set to -inf, times v = value(x)")
    n, hs, bs, B, T = meta_sizes
    assert_on_meta(meta, f"Head({n}, {hs}, {bs}).to(device) on x of shape ({B}, {T}, {n}) on that device (with the "
                   "grader's stand-in for attention_scores)",
                   "the mask must follow the module to its device: register it with self.register_buffer('tril', "
                   "torch.tril(torch.ones(block_size, block_size))) in __init__ and use self.tril[:T, :T] in forward "
                   "(a mask made in forward with torch.ones(T, T), or kept as a plain attribute, stays on the CPU)")


@pytest.mark.points(1.5)
def test_head_causal_and_batch_independent(student, reference, grading_seed):
    """A causal Head ignores future tokens and treats the sequences of a batch independently"""
    rng = np.random.default_rng(grading_seed + 9)
    seed = int(rng.integers(10**6))
    x = _randn(rng, 3, 8, 10)
    future = _randn(rng, 3, 8, 10)
    perm = [2, 0, 1]
    probe = (f"torch.manual_seed({seed})\n_m = Head(10, 6, 8)\n_x = torch.tensor({x.tolist()!r})\n"
             f"_f = torch.tensor({future.tolist()!r})\n_y = _m(_x)\n_out = {{'y': _y, 'cut': []}}\n"
             "for _t in [0, 3, 6]:\n"
             "    _x2 = _x.clone()\n    _x2[:, _t + 1:] = _f[:, _t + 1:]\n"
             "    _out['cut'].append(_m(_x2)[:, :_t + 1])\n"
             f"_out['perm'] = _m(_x[{perm}])\n_out['short'] = _m(_x[:, :4])\n_out")
    got = student.eval(probe)
    y = np.asarray(got["y"])
    for t, part in zip([0, 3, 6], got["cut"]):
        assert _close(part, y[:, :t + 1], rtol=1e-5, atol=1e-6), \
            (f"Head(10, 6, 8): changing the tokens after position {t} changed the outputs at positions 0..{t} "
             f"({_msg_array(part, y[:, :t + 1])}): a decoder head may only look at the past and the present "
             "(mask the entries above the diagonal with -inf before the softmax)")
    assert _close(got["perm"], y[perm], rtol=1e-5, atol=1e-6), \
        ("Head(10, 6, 8): reordering the sequences of a batch should reorder the outputs the same way (no talking "
         f"between batch elements): {_msg_array(got['perm'], y[perm])}")
    assert _close(got["short"], y[:, :4], rtol=1e-5, atol=1e-6), \
        ("Head(10, 6, 8) on the first 4 tokens of a sequence should give the first 4 outputs of the whole sequence "
         "(use self.tril[:T, :T] for a shorter T)")


@pytest.mark.points(1.5)
def test_head_encoder(student, reference, grading_seed):
    """Head(causal=False) is an encoder head: no mask, every token sees every other"""
    rng = random.Random(grading_seed + 10)
    cases = [(9, 4, 6, 2, 6, False, rng.randrange(10**6)), (8, 3, 8, 2, 5, False, rng.randrange(10**6))]
    got = student.eval(_head_probe(cases))
    for case, answer in zip(cases, got):
        n, hs, bs, B, T, causal, seed = case
        spec, true, fake = _head_expected(*case)
        _, masked, masked_fake = _head_expected(n, hs, bs, B, T, True, seed)
        _check_names(f"Head({n}, {hs}, {bs}, causal=False)", answer["names"], spec, answer["bad"])
        y = answer["y"]
        if _close(y, true) or _close(y, fake):
            continue
        hint = (" (the output is still causal: with causal=False there is no mask)"
                if _close(y, masked) or _close(y, masked_fake) else "")
        raise AssertionError(f"Head(n_embd={n}, head_size={hs}, block_size={bs}, causal=False) on x of shape ({B}, {T}, "
                             f"{n}) with the grader's weights: {_msg_array(y, fake)}{hint}")


@pytest.mark.points(2)
def test_multihead_attention(student, reference, grading_seed):
    """MultiHeadAttention runs num_heads heads, concatenates them and projects back to n_embd"""
    rng = random.Random(grading_seed + 11)
    cases = [(12, 3, 4, 8, 2, 8, True, rng.randrange(10**6)), (10, 2, 3, 6, 2, 4, False, rng.randrange(10**6)),
             (8, 1, 8, 5, 1, 5, True, rng.randrange(10**6))]
    init = with_fakes("MultiHeadAttention.__init__", {"Head": "_FakeHead"}, as_name="_mha_init")
    probe = FAKE_MODULES + init + "_out = []\n"
    for n, nh, hs, bs, B, T, causal, seed in cases:
        spec = _spec([(f"heads.{i}.key.weight", (hs, n)) for i in range(nh)] +
                     [("proj.weight", (n, nh * hs)), ("proj.bias", (n,))])
        probe += ("_made.clear()\n" + _new("MultiHeadAttention", "_mha_init", f"{n}, {nh}, {hs}, {bs}, {causal}") +
                  _fill_code(spec, seed) + f"_x = torch.randn({B}, {T}, {n}, generator=_g)\n"
                  "_out.append({'names': _names, 'bad': _bad, 'made': list(_made), 'y': _m(_x), "
                  "'list': isinstance(_m.heads, nn.ModuleList)})\n")
    got = student.eval(probe + "_out")
    ref = reference.eval(probe + "_out")
    for case, answer, ref_answer in zip(cases, got, ref):
        n, nh, hs, bs, B, T, causal, seed = case
        spec = _spec([(f"heads.{i}.key.weight", (hs, n)) for i in range(nh)] +
                     [("proj.weight", (n, nh * hs)), ("proj.bias", (n,))])
        W, (x,) = _draw(spec, seed, [(B, T, n)])
        x = x.to(F64)
        cat = torch.cat([torch.tanh(x @ W[f"heads.{i}.key.weight"].T) + 0.5 for i in range(nh)], -1)
        want = (cat @ W["proj.weight"].T + W["proj.bias"]).numpy()
        what = f"MultiHeadAttention(n_embd={n}, num_heads={nh}, head_size={hs}, block_size={bs}, causal={causal})"
        assert_close(ref_answer["y"], want, "grader setup: the reference with the fake heads", rtol=1e-4, atol=1e-5)
        made = [m for m in answer["made"] if m[0] == "Head"]
        assert made == [["Head", n, hs, bs, causal]] * nh, \
            (f"{what} should create {nh} heads as Head(n_embd, head_size, block_size, causal) = "
             f"Head({n}, {hs}, {bs}, {causal}); the grader's stand-in for Head was created with {[m[1:] for m in made]}")
        assert answer["list"], f"{what}: keep the heads in an nn.ModuleList named heads (so their weights are registered)"
        _check_names(what + " (with the grader's stand-in heads, one linear layer `key` each)", answer["names"], spec,
                     answer["bad"])
        assert _close(answer["y"], want), \
            (f"{what} on x of shape ({B}, {T}, {n}), with the grader's stand-in heads (tanh(key(x)) + 0.5) and "
             f"weights: {_msg_array(answer['y'], want)}. Expected proj(torch.cat([h(x) for h in heads], dim=-1)): "
             "concatenate along the last (channel) dimension, in the order of the heads, then project")


@pytest.mark.points(1.5)
def test_feedforward(student, reference, grading_seed):
    """FeedForward is Linear(n, 4n), ReLU, Linear(4n, n) in an nn.Sequential named net"""
    rng = random.Random(grading_seed + 12)
    cases = [(8, 2, 5, rng.randrange(10**6)), (5, 3, 1, rng.randrange(10**6))]
    probe = "_out = []\n"
    for n, B, T, seed in cases:
        spec = _spec([("net.0.weight", (4 * n, n)), ("net.0.bias", (4 * n,)), ("net.2.weight", (n, 4 * n)),
                      ("net.2.bias", (n,))])
        probe += (f"_m = FeedForward({n})\n" + _fill_code(spec, seed) +
                  f"_x = torch.randn({B}, {T}, {n}, generator=_g)\n"
                  "_out.append({'names': _names, 'bad': _bad, 'y': _m(_x)})\n")
    got = student.eval(probe + "_out")
    for (n, B, T, seed), answer in zip(cases, got):
        spec = _spec([("net.0.weight", (4 * n, n)), ("net.0.bias", (4 * n,)), ("net.2.weight", (n, 4 * n)),
                      ("net.2.bias", (n,))])
        W, (x,) = _draw(spec, seed, [(B, T, n)])
        want = _ff(x.to(F64), W, "").numpy()
        what = f"FeedForward({n})"
        _check_names(what + " (net = nn.Sequential(nn.Linear(n, 4n), nn.ReLU(), nn.Linear(4n, n)))", answer["names"],
                     spec, answer["bad"])
        assert _close(answer["y"], want), \
            (f"{what} on x of shape ({B}, {T}, {n}) with the grader's weights should be "
             f"net.2(relu(net.0(x))): {_msg_array(answer['y'], want)}")


@pytest.mark.points(2.5)
def test_block(student, reference, grading_seed):
    """Block: pre-LayerNorm with residuals, x + sa(ln1(x)) then x + ffwd(ln2(x))"""
    rng = random.Random(grading_seed + 13)
    cases = [(12, 3, 8, 2, 8, True, rng.randrange(10**6)), (8, 2, 6, 2, 4, False, rng.randrange(10**6)),
             (10, 5, 4, 1, 3, True, rng.randrange(10**6))]
    init = with_fakes("Block.__init__", {"MultiHeadAttention": "_FakeMHA", "FeedForward": "_FakeFF"},
                      as_name="_block_init")
    probe = FAKE_MODULES + init + "_out = []\n"

    def spec_of(n):
        return _spec([("sa.mix.weight", (n, n)), ("sa.mix.bias", (n,)), ("ffwd.mix.weight", (n, n)),
                      ("ffwd.mix.bias", (n,)), ("ln1.weight", (n,)), ("ln1.bias", (n,)), ("ln2.weight", (n,)),
                      ("ln2.bias", (n,))])

    for n, nh, bs, B, T, causal, seed in cases:
        probe += ("_made.clear()\n" + _new("Block", "_block_init", f"{n}, {nh}, {bs}, {causal}") +
                  _fill_code(spec_of(n), seed) + f"_x = torch.randn({B}, {T}, {n}, generator=_g)\n"
                  "_out.append({'names': _names, 'bad': _bad, 'made': list(_made), 'y': _m(_x)})\n")
    got = student.eval(probe + "_out")
    ref = reference.eval(probe + "_out")
    for case, answer, ref_answer in zip(cases, got, ref):
        n, nh, bs, B, T, causal, seed = case
        W, (x,) = _draw(spec_of(n), seed, [(B, T, n)])
        x = x.to(F64)

        def sa(h, W=W):
            return torch.sin(h @ W["sa.mix.weight"].T + W["sa.mix.bias"])

        def ff(h, W=W):
            return torch.tanh(h @ W["ffwd.mix.weight"].T + W["ffwd.mix.bias"]) * 2.0

        x1 = x + sa(_ln(x, W, "ln1."))
        want = (x1 + ff(_ln(x1, W, "ln2."))).numpy()
        post = _ln(x + sa(x), W, "ln1.")
        post = _ln(post + ff(post), W, "ln2.").numpy()
        what = f"Block(n_embd={n}, n_head={nh}, block_size={bs}, causal={causal})"
        assert_close(ref_answer["y"], want, "grader setup: the reference with the fake parts", rtol=1e-4, atol=1e-5)
        made = sorted(answer["made"])
        expected_made = sorted([["FeedForward", n], ["MultiHeadAttention", n, nh, n // nh, bs, causal]])
        assert made == expected_made, \
            (f"{what} should create MultiHeadAttention(n_embd, n_head, n_embd // n_head, block_size, causal) = "
             f"MultiHeadAttention({n}, {nh}, {n // nh}, {bs}, {causal}) and FeedForward({n}); the grader's stand-ins "
             f"were created as {[m for m in made]}")
        _check_names(what + " (with the grader's stand-ins for sa and ffwd, one linear layer `mix` each)",
                     answer["names"], spec_of(n), answer["bad"])
        hint = (" (that is post-LN, x = ln(x + sa(x)): normalise the input of each part instead, x = x + sa(ln1(x)))"
                if _close(answer["y"], post) else "")
        assert _close(answer["y"], want), \
            (f"{what} on x of shape ({B}, {T}, {n}) with the grader's stand-ins (sa = sin(mix(.)), ffwd = "
             f"2 tanh(mix(.))) and weights: {_msg_array(answer['y'], want)}{hint}. Expected x = x + sa(ln1(x)), then "
             "x = x + ffwd(ln2(x))")


GPT_INIT = with_fakes("GPT.__init__", {"Block": "_FakeBlock"}, as_name="_gpt_init")


def _fake_block_names(n, n_head, p=""):
    return [(f"{p}mix.weight", (n, n)), (f"{p}mix.bias", (n,))]


def _fake_block(x, W, p, n_head):
    return x + torch.tanh(x @ W[p + "mix.weight"].T + W[p + "mix.bias"]).cumsum(1) * 0.3


@pytest.mark.points(2.5)
def test_gpt_forward(student, reference, grading_seed):
    """GPT.forward: token + position embeddings, the blocks, ln_f, lm_head, and the cross-entropy"""
    rng = random.Random(grading_seed + 14)
    cases = [(11, 8, 2, 2, 6, 3, 6, rng.randrange(10**6)), (7, 6, 3, 1, 8, 2, 5, rng.randrange(10**6)),
             (13, 4, 1, 3, 4, 1, 1, rng.randrange(10**6))]
    probe = FAKE_MODULES + GPT_INIT + "_out = []\n"
    for V, n, nh, nl, bs, B, T, seed in cases:
        spec = _spec(_gpt_names(V, n, nh, nl, bs, _fake_block_names))
        probe += ("_made.clear()\n" + _new("GPT", "_gpt_init", f"{V}, {n}, {nh}, {nl}, {bs}") + _fill_code(spec, seed) +
                  f"_idx = torch.randint(0, {V}, ({B}, {T}), generator=_g)\n"
                  f"_tg = torch.randint(0, {V}, ({B}, {T}), generator=_g)\n"
                  "_lo, _ls = _m(_idx, _tg)\n_lo2, _ls2 = _m(_idx)\n"
                  "_out.append({'names': _names, 'bad': _bad, 'made': list(_made), 'logits': _lo, "
                  "'loss': None if _ls is None else float(_ls), 'logits2': _lo2, 'none': _ls2 is None, "
                  "'bs': getattr(_m, 'block_size', None)})\n")
    # the first case's GPT, moved to the meta device, on idx and targets of shape (B, T - 1) there
    V, n, nh, nl, bs, B, T, _ = cases[0]
    probe += (on_meta_device() + with_fakes("GPT", {"Block": "_FakeBlock"}, as_name="_GPTMeta") +
              f"def _gpt_on_meta():\n    _mm = _GPTMeta({V}, {n}, {nh}, {nl}, {bs}).to('meta')\n"
              f"    _ii = torch.zeros({B}, {T - 1}, dtype=torch.long, device='meta')\n"
              "    return [_mm(_ii), _mm(_ii, _ii)]\n" + _meta_run("_gpt_on_meta()"))
    got, meta = student.eval(probe + "[_out, _meta]")
    ref, ref_meta = reference.eval(probe + "[_out, _meta]")
    assert ref_meta == ["ok", ["meta"]], f"grader setup: the reference's GPT on the meta device: {ref_meta}"
    for case, answer, ref_answer in zip(cases, got, ref):
        V, n, nh, nl, bs, B, T, seed = case
        spec = _spec(_gpt_names(V, n, nh, nl, bs, _fake_block_names))
        g = torch.Generator().manual_seed(seed)
        W = {name: (torch.randn(shape, generator=g) * s + o).to(F64) for name, shape, s, o in spec}
        idx = torch.randint(0, V, (B, T), generator=g)
        tg = torch.randint(0, V, (B, T), generator=g)
        logits = _gpt(idx, W, nh, nl, _fake_block)
        loss = F.cross_entropy(logits.reshape(B * T, V), tg.reshape(B * T)).item()
        logits = logits.numpy()
        what = f"GPT(vocab_size={V}, n_embd={n}, n_head={nh}, n_layer={nl}, block_size={bs})"
        assert_close(ref_answer["logits"], logits, "grader setup: the reference with the fake blocks", rtol=1e-4, atol=1e-5)
        assert answer["made"] == [["Block", n, nh, bs, True]] * nl, \
            (f"{what} should create {nl} blocks Block(n_embd, n_head, block_size) = Block({n}, {nh}, {bs}); the "
             f"grader's stand-in for Block was created with {[m[1:] for m in answer['made']]}")
        _check_names(what + " (with the grader's stand-in blocks, one linear layer `mix` each)", answer["names"], spec,
                     answer["bad"])
        assert answer["bs"] == bs, f"{what} should keep self.block_size = {bs}, got {answer['bs']!r}"
        call = (f"{what} on idx of shape ({B}, {T}) with the grader's weights and stand-in blocks "
                "(x + 0.3 * cumsum(tanh(mix(x))))")
        nopos = _gpt(idx, {**W, "position_embedding_table.weight": W["position_embedding_table.weight"] * 0}, nh, nl,
                     _fake_block).numpy()
        hint = " (the position embeddings are missing)" if _close(answer["logits"], nopos) else ""
        assert _close(answer["logits"], logits), \
            (f"{call}: logits {_msg_array(answer['logits'], logits)}{hint}. Expected lm_head(ln_f(blocks(tok_emb + "
             "pos_emb))) with pos_emb = position_embedding_table(torch.arange(T)), shape (B, T, vocab_size)")
        assert answer["loss"] is not None and is_close(answer["loss"], loss, rtol=1e-4, atol=1e-5), \
            (f"{call}: the loss with targets should be the mean cross-entropy of the logits reshaped to (B*T, vocab) "
             f"with the targets reshaped to (B*T,): {loss:.6f}, got {answer['loss']}")
        assert answer["none"], f"{call}: without targets the loss should be None"
        assert _close(answer["logits2"], logits), f"{call}: the logits without targets should be the same"
    V, n, nh, nl, bs, B, T, _ = cases[0]
    assert_on_meta(meta, f"GPT({V}, {n}, {nh}, {nl}, {bs}).to(device) (with the grader's stand-in blocks) on idx and "
                   f"targets of shape ({B}, {T - 1}) on that device",
                   "make the positions on the device of idx: torch.arange(T, device=idx.device) (torch.arange(T) alone "
                   "is on the CPU, and a GPU refuses to look up an embedding on the GPU with indices on the CPU)")


def _param_count(V, n, nh, nl, bs):
    return sum(math.prod(shape) for _, shape in _gpt_names(V, n, nh, nl, bs))


@pytest.mark.points(1)
def test_gpt_parameter_count(student, reference):
    """The course's GPT (65 symbols, n_embd 64, 4 heads, 4 layers, block 32) has 209,729 parameters"""
    configs = [(65, 64, 4, 4, 32), (30, 24, 3, 2, 10), (11, 8, 2, 1, 5)]
    got = student.eval(f"[sum(_p.numel() for _p in GPT(*_c).parameters()) for _c in {configs!r}]")
    assert _param_count(*configs[0]) == 209_729, "grader setup: the course's count"
    for config, count in zip(configs, got):
        want = _param_count(*config)
        V, n, nh, nl, bs = config
        assert count == want, \
            (f"GPT(vocab_size={V}, n_embd={n}, n_head={nh}, n_layer={nl}, block_size={bs}) should have {want:,} "
             f"parameters, got {count:,} (bias-free key/query/value, a projection and a 4x feed-forward layer with "
             "biases, two LayerNorms per block, a final LayerNorm and an lm_head with bias)")


@pytest.mark.points(2)
def test_gpt_matches_reference_implementation(student, reference, grading_seed):
    """The whole GPT, with the grader's weights loaded by name, computes what the grader's GPT computes"""
    rng = random.Random(grading_seed + 15)
    V, n, nh, nl, bs = 17, 12, 3, 2, 8
    seed = rng.randrange(10**6)
    spec = _spec(_gpt_names(V, n, nh, nl, bs))
    g = np.random.default_rng(seed)
    idx = g.integers(0, V, (3, bs))
    short = idx[:, :5]
    changed = idx.copy()
    changed[:, 5:] = (changed[:, 5:] + 3) % V
    probe = (f"_m = GPT({V}, {n}, {nh}, {nl}, {bs})\n" + _fill_code(spec, seed) +
             f"_i = torch.tensor({idx.tolist()!r})\n"
             f"{{'names': _names, 'bad': _bad, 'y': _m(_i)[0], 'short': _m(torch.tensor({short.tolist()!r}))[0], "
             f"'changed': _m(torch.tensor({changed.tolist()!r}))[0]}}")
    got = student.eval(probe)
    W, _ = _draw(spec, seed)
    want = _gpt(idx, W, nh, nl).numpy()
    what = f"GPT(vocab_size={V}, n_embd={n}, n_head={nh}, n_layer={nl}, block_size={bs})"
    _check_names(what, got["names"], spec, got["bad"])
    assert _close(got["y"], want), \
        (f"{what} with the grader's weights loaded by name, on idx of shape (3, {bs}): the logits differ from the "
         f"grader's GPT: {_msg_array(got['y'], want)} (the parts are graded on their own above; look there first)")
    assert _close(got["short"], want[:, :5]), f"{what} on the first 5 tokens should give the first 5 rows of logits"
    y = np.asarray(got["y"])
    assert _close(np.asarray(got["changed"])[:, :5], y[:, :5], rtol=1e-5, atol=1e-5), \
        f"{what}: changing tokens 5..7 changed the logits at positions 0..4: the model must be causal"


class _FakeForward:
    """The stand-in for GPT.forward used to grade generate (same code as FAKE_FORWARD)."""

    def __init__(self, V):
        self.V = V
        self.lens = []

    def __call__(self, idx, targets=None):
        self.lens.append(int(idx.shape[1]))
        B, T = idx.shape
        t = torch.arange(T)
        a = (idx * 3 + t + 1) % self.V
        c = (idx * 5 + 2 * t + 4) % self.V
        logits = torch.full((B, T, self.V), -1e4)
        logits.scatter_(2, a.unsqueeze(-1), 0.0)
        logits.scatter_(2, c.unsqueeze(-1), 0.0)
        return logits, None


FAKE_FORWARD = '''import torch
class _FakeForward:
    def __init__(self, V):
        self.V = V
        self.lens = []
    def __call__(self, idx, targets=None):
        self.lens.append(int(idx.shape[1]))
        B, T = idx.shape
        t = torch.arange(T)
        a = (idx * 3 + t + 1) % self.V
        c = (idx * 5 + 2 * t + 4) % self.V
        logits = torch.full((B, T, self.V), -1e4)
        logits.scatter_(2, a.unsqueeze(-1), 0.0)
        logits.scatter_(2, c.unsqueeze(-1), 0.0)
        return logits, None
'''


# Probe code: a stand-in for GPT.forward that keeps to the device of idx (for generate on the meta device).
META_FORWARD = '''class _MetaForward:
    def __init__(self, V):
        self.V = V
    def __call__(self, idx, targets=None):
        return idx[:, :, None].expand(idx.shape[0], idx.shape[1], self.V).float() * 0.5, None
'''


@pytest.mark.points(2)
def test_generate(student, reference, grading_seed):
    """generate crops to block_size, samples the last position's softmax with the generator, and appends"""
    rng = random.Random(grading_seed + 16)
    cases = []
    for V, bs, B, T0, new in [(13, 4, 3, 6, 5), (7, 5, 2, 1, 7), (9, 3, 1, 3, 0), (11, 6, 2, 2, 9)]:
        cases.append((V, bs, [[rng.randrange(V) for _ in range(T0)] for _ in range(B)], new, rng.randrange(10**6)))
    probe = FAKE_FORWARD + "_out = []\n"
    for V, bs, idx, new, seed in cases:
        probe += ("_m = GPT.__new__(GPT)\nnn.Module.__init__(_m)\n"
                  f"_m.block_size = {bs}\n_f = _FakeForward({V})\n_m.forward = _f\n"
                  f"_y = _m.generate(torch.tensor({idx!r}), {new}, generator=torch.Generator().manual_seed({seed}))\n"
                  "_out.append([_y, list(_f.lens)])\n")
    # generate on the meta device, with a stand-in forward that keeps to the device of idx and a generator on the
    # CPU, as the notebook's sample cell does (_meta_try shows generate DEVICE as the meta device, decorated or not).
    probe += (on_meta_device() + META_FORWARD +
              "_m = GPT.__new__(GPT)\nnn.Module.__init__(_m)\n_m.block_size = 4\n_m.forward = _MetaForward(7)\n" +
              _meta_run("_m.generate(torch.zeros(2, 3, dtype=torch.long, device='meta'), 5, "
                        "generator=torch.Generator().manual_seed(0))"))
    got, meta = student.eval(probe + "[_out, _meta]")
    ref, ref_meta = reference.eval(probe + "[_out, _meta]")
    assert ref_meta == ["ok", ["meta"]], f"grader setup: the reference's generate on the meta device: {ref_meta}"
    for (V, bs, idx, new, seed), (y, lens), (ref_y, _) in zip(cases, got, ref):
        fake = _FakeForward(V)
        g = torch.Generator().manual_seed(seed)
        out = torch.tensor(idx)
        for _ in range(new):
            logits, _ = fake(out[:, -bs:])
            nxt = torch.multinomial(torch.softmax(logits[:, -1, :], -1), num_samples=1, generator=g)
            out = torch.cat([out, nxt], 1)
        want = out.numpy()
        B, T0 = len(idx), len(idx[0])
        call = (f"generate(idx of shape ({B}, {T0}), max_new_tokens={new}, generator) with block_size={bs} and the "
                "grader's stand-in for forward (two equally likely next tokens at every position)")
        assert np.array_equal(ref_y, want), "grader setup: the reference's samples changed"
        y = np.asarray(y)
        assert y.shape == want.shape, f"{call} should return shape {want.shape}, got {y.shape}"
        assert np.array_equal(y[:, :T0], want[:, :T0]), f"{call}: the output should start with idx unchanged"
        want_lens = [min(T0 + i, bs) for i in range(new)]
        assert lens == want_lens, \
            (f"{call}: the model should be called {new} times on the last block_size tokens, with context lengths "
             f"{want_lens}; got {lens} (crop with idx[:, -block_size:])")
        assert np.array_equal(y, want), \
            (f"{call}: the sampled tokens should be {want[:, T0:].tolist()}, got {y[:, T0:].tolist()}. Take the logits "
             "of the last position, softmax over the vocabulary, and draw one token per row with "
             "torch.multinomial(probs, num_samples=1, generator=generator) (sampling, not argmax, with the generator "
             "passed in), then append it along the time axis")
    assert_on_meta(meta, "generate(idx of shape (2, 3) on that device, max_new_tokens=5, generator on the CPU) with "
                   "block_size=4 and a stand-in forward that keeps to the device of idx",
                   "sample on the CPU, where the generator is, and move the sample to the device of idx before "
                   "appending it: torch.multinomial(probs.cpu(), num_samples=1, generator=generator).to(idx.device)")


# --------------------------------------------------------------------------- 6. training
def _get_batch(data: torch.Tensor, batch_size: int, block_size: int, generator):
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator).tolist()
    return (torch.stack([data[s:s + block_size] for s in starts]),
            torch.stack([data[s + 1:s + 1 + block_size] for s in starts]))


SPY = '''import torch
import torch.nn as nn
class _SpyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.5]))
        self.log = []
    def forward(self, idx, targets=None):  # a stand-in
        self.log.append([bool(self.training), bool(torch.is_grad_enabled()), list(idx.shape)])
        return idx.float(), (idx.float().mean() * 0.01 + (targets.float() ** 2).mean() * 0.001) * self.w
'''


# Probe code: a small language model for the meta device; the lookup of its logits needs idx on its device, and
# its loss the targets.
META_LM = '''import torch
import torch.nn as nn
class _MetaLM(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(V, V))
    def forward(self, idx, targets=None):  # a stand-in
        _lg = torch.nn.functional.embedding(idx, self.table)
        # not the cross-entropy of the task: any loss that reads the targets, so they must be on the device too
        return _lg, (_lg.logsumexp(-1) - targets.to(_lg.dtype)).square().mean()
'''
BATCHES_ON_THE_DEVICE = ("move every batch to the model's device before running the model: "
                         "model(xb.to(device), yb.to(device)) with device = next(model.parameters()).device (get_batch "
                         "makes its batches on the CPU)")


@pytest.mark.points(1.5)
def test_estimate_loss(student, reference, grading_seed):
    """estimate_loss averages the losses of iters batches in eval mode without gradients, then trains again"""
    rng = np.random.default_rng(grading_seed + 17)
    data = rng.integers(0, 20, 200).tolist()
    cases = [(4, 5, 6, int(rng.integers(10**6))), (2, 8, 3, int(rng.integers(10**6))), (3, 3, 1, int(rng.integers(10**6)))]
    probe = SPY + "_out = []\n"
    for bs, block, iters, seed in cases:
        probe += ("_m = _SpyLM()\n_m.train()\n"
                  f"_r = estimate_loss(_m, torch.tensor({data!r}), {bs}, {block}, {iters}, "
                  f"generator=torch.Generator().manual_seed({seed}))\n"
                  "_out.append([_r, type(_r).__name__, _m.log, _m.training])\n")
    probe += (on_meta_device("estimate_loss") + META_LM +
              _meta_run(f"_estimate_loss(_MetaLM(20).to('meta'), torch.tensor({data!r}), 3, 4, 2, "
                        "generator=torch.Generator().manual_seed(0))"))
    got, meta = student.eval(probe + "[_out, _meta]")
    ref_meta = reference.eval(probe + "_meta")
    assert ref_meta[0] != "device", f"grader setup: the reference's estimate_loss on the meta device: {ref_meta}"
    for (bs, block, iters, seed), (r, kind, log, training) in zip(cases, got):
        g = torch.Generator().manual_seed(seed)
        d = torch.tensor(data)
        losses = []
        for _ in range(iters):
            x, y = _get_batch(d, bs, block, g)
            losses.append(((x.double().mean() * 0.01 + (y.double() ** 2).mean() * 0.001) * 1.5).item())
        want = sum(losses) / iters
        call = f"estimate_loss(model, data, batch_size={bs}, block_size={block}, iters={iters}, generator)"
        assert len(log) == iters, f"{call} should evaluate the model on {iters} batches, it called it {len(log)} times"
        assert all(entry[2] == [bs, block] for entry in log), \
            f"{call}: every batch should have shape ({bs}, {block}) (get_batch(data, batch_size, block_size, generator))"
        assert not any(entry[0] for entry in log), f"{call}: the model should be in evaluation mode (model.eval()) while measuring"
        assert not any(entry[1] for entry in log), f"{call}: measure without building a graph: wrap the loop in torch.no_grad()"
        assert training, f"{call}: put the model back in training mode (model.train()) before returning"
        assert kind == "float", f"{call} should return a Python float (loss.item()), got a {kind}"
        assert is_close(r, want, rtol=1e-5, atol=1e-7), \
            (f"{call} with the grader's spy model: expected the mean {want:.6f} of the {iters} batch losses (batches "
             f"drawn with get_batch and the generator), got {r}")
    assert_on_meta(meta, "estimate_loss(model, data, batch_size=3, block_size=4, iters=2, generator) with a small "
                   "stand-in model moved to that device", BATCHES_ON_THE_DEVICE)


TINY = '''import torch
import torch.nn as nn
from torch.nn import functional as F
class _TinyLM(nn.Module):
    def __init__(self, V, d, seed):
        super().__init__()
        _g = torch.Generator().manual_seed(seed)
        self.emb = nn.Parameter(torch.randn(V, d, generator=_g) * 0.5)
        self.out = nn.Parameter(torch.randn(d, V, generator=_g) * 0.5)
        self.modes = []
    def forward(self, idx, targets=None):  # a stand-in
        self.modes.append(bool(self.training))
        _lg = torch.tanh(self.emb[idx]).cumsum(1) @ self.out
        return _lg, F.cross_entropy(_lg.reshape(-1, _lg.shape[-1]), targets.reshape(-1))
'''


class _TinyLM(torch.nn.Module):
    """The same fake model as TINY, in the grader."""

    def __init__(self, V, d, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.emb = torch.nn.Parameter(torch.randn(V, d, generator=g) * 0.5)
        self.out = torch.nn.Parameter(torch.randn(d, V, generator=g) * 0.5)

    def forward(self, idx, tgt=None):
        lg = torch.tanh(self.emb[idx]).cumsum(1) @ self.out
        return lg, F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1))


@remember
def _replay_training(data, V, d, mseed, steps, bs, block, lr, gseed, zero_grad=True, adam=True):
    model = _TinyLM(V, d, mseed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr) if adam else torch.optim.SGD(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(gseed)
    d_ = torch.tensor(data)
    losses = []
    for _ in range(steps):
        x, y = _get_batch(d_, bs, block, g)
        _, loss = model(x, y)
        if zero_grad:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return [losses, model.emb.detach().numpy().copy()]


@pytest.mark.points(2.5)
def test_train_gpt(student, reference, grading_seed):
    """train_gpt: AdamW with the given lr, a fresh batch per step, gradients zeroed, training mode"""
    rng = np.random.default_rng(grading_seed + 18)
    V, d = 12, 6
    data = rng.integers(0, V, 150).tolist()
    cases = [(6, 4, 5, 0.05, int(rng.integers(10**6)), int(rng.integers(10**6))),
             (5, 3, 7, 0.01, int(rng.integers(10**6)), int(rng.integers(10**6))),
             (4, 2, 4, None, int(rng.integers(10**6)), int(rng.integers(10**6)))]
    probe = TINY + "_out = []\n"
    for steps, bs, block, lr, mseed, gseed in cases:
        lr_arg = "" if lr is None else f", lr={lr}"
        probe += (f"_m = _TinyLM({V}, {d}, {mseed})\n_m.eval()\n"
                  f"_l = train_gpt(_m, torch.tensor({data!r}), {steps}, {bs}, {block}{lr_arg}, "
                  f"generator=torch.Generator().manual_seed({gseed}))\n"
                  "_out.append([list(_l), _m.modes, _m.emb.detach()])\n")
    probe += (on_meta_device("train_gpt") + META_LM +
              _meta_run(f"_train_gpt(_MetaLM({V}).to('meta'), torch.tensor({data!r}), 2, 3, 4, "
                        "generator=torch.Generator().manual_seed(0))"))
    got, meta = student.eval(probe + "[_out, _meta]")
    ref, ref_meta = reference.eval(probe + "[_out, _meta]")
    assert ref_meta[0] != "device", f"grader setup: the reference's train_gpt on the meta device: {ref_meta}"
    for (steps, bs, block, lr, mseed, gseed), (losses, modes, emb), (ref_losses, _, _) in zip(cases, got, ref):
        rate = 1e-3 if lr is None else lr
        want, want_emb = _replay_training(data, V, d, mseed, steps, bs, block, rate, gseed)
        call = (f"train_gpt(model, data, steps={steps}, batch_size={bs}, block_size={block}"
                f"{'' if lr is None else f', lr={lr}'}, generator) on the grader's small stand-in model")
        assert_close(ref_losses, want, "grader setup: the reference's replayed training", rtol=1e-4, atol=1e-5)
        assert isinstance(losses, list) and len(losses) == steps and all(isinstance(v, float) for v in losses), \
            f"{call} should return a list of {steps} losses as Python floats (loss.item())"
        assert modes and all(modes), f"{call}: the model was given in evaluation mode; put it in training mode (model.train())"
        if is_close(losses, want, rtol=1e-4, atol=1e-5) and _close(emb, want_emb, rtol=1e-4, atol=1e-5):
            continue
        hint = "use torch.optim.AdamW(model.parameters(), lr=lr) with its other settings at their defaults"
        if is_close(losses[:1], want[:1], rtol=1e-4, atol=1e-5):
            if is_close(losses, _replay_training(data, V, d, mseed, steps, bs, block, rate, gseed, zero_grad=False)[0],
                        rtol=1e-4, atol=1e-5):
                hint = "the gradients are never zeroed: call optimizer.zero_grad() every step"
            elif is_close(losses, _replay_training(data, V, d, mseed, steps, bs, block, rate, gseed, adam=False)[0],
                          rtol=1e-4, atol=1e-5):
                hint = "that is plain SGD: use torch.optim.AdamW"
            elif is_close(losses, want, rtol=1e-4, atol=1e-5):
                hint = "the losses agree but the weights after the last step do not: do the last optimiser step too"
        else:
            hint = ("the first batch differs: draw every step's batch with get_batch(data, batch_size, block_size, "
                    "generator), one call per step")
        raise AssertionError(f"{call}: the losses replayed by the grader are {[round(v, 5) for v in want]}, got "
                             f"{[round(v, 5) for v in losses]}; {hint}")
    assert_on_meta(meta, "train_gpt(model, data, steps=2, batch_size=3, block_size=4, generator) with a small stand-in "
                   "model moved to that device", BATCHES_ON_THE_DEVICE)


@remember
def _bigram_val_loss(train: np.ndarray, val: np.ndarray, V: int) -> float:
    counts = np.zeros((V, V))
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    probs = (counts + 0.01) / (counts + 0.01).sum(1, keepdims=True)
    return float(-np.log(probs[val[:-1], val[1:]]).mean())


@pytest.mark.points(3.5)
def test_trained_gpt_beats_bigram(student, reference, grading_seed):
    """The trained GPT's validation loss (recomputed by the grader from its weights) beats the best bigram model"""
    probe = ("[_k for _k in ['model', 'losses'] if _k not in globals()] or "
             "{'steps': len(losses), 'params': {_n: _p.detach().cpu() for _n, _p in model.named_parameters()}}")
    got = student.eval(probe)
    assert isinstance(got, dict), (f"the notebook's training cell did not run to the end ({', '.join(got)} missing): "
                                   "look at the first error in your notebook")
    V, n, nh, nl, bs, steps = reference.eval("[vocab_size, N_EMBD, N_HEAD, N_LAYER, BLOCK_SIZE, STEPS]")
    train = np.asarray(reference.eval("train_data"))
    val = np.asarray(reference.eval("val_data"))
    bigram = _bigram_val_loss(train, val, V)
    spec = _spec(_gpt_names(V, n, nh, nl, bs))
    names = sorted([name, list(np.shape(p))] for name, p in got["params"].items())
    _check_names(f"the trained model GPT({V}, {n}, {nh}, {nl}, {bs})", names, spec, [])
    assert got["steps"] == steps, f"the notebook should train for {steps} steps, got {got['steps']} losses"
    W = {name: _t(p) for name, p in got["params"].items()}
    g = np.random.default_rng(grading_seed + 19)
    starts = g.integers(0, len(val) - bs, 256)
    x = np.stack([val[i:i + bs] for i in starts])
    y = np.stack([val[i + 1:i + bs + 1] for i in starts])
    with torch.no_grad():
        logits = _gpt(x, W, nh, nl)
        loss = F.cross_entropy(logits.reshape(-1, V), torch.as_tensor(y).reshape(-1)).item()
    bound = bigram - BIGRAM_MARGIN
    assert loss < bound, \
        (f"after {steps} steps the validation loss of your GPT (recomputed by the grader from your trained weights on "
         f"256 validation windows) should be below {bound:.3f}, the best bigram model's {bigram:.3f} minus "
         f"{BIGRAM_MARGIN}; got {loss:.3f} (uniform guessing scores {math.log(V):.3f})")


@pytest.mark.points(0.5)
def test_generated_text(student, reference):
    """The notebook's sample is text from the vocabulary, as long as asked"""
    probe = ("_s = globals().get('sample_text')\n"
             "[isinstance(_s, str), _s if isinstance(_s, str) else '']")
    ok, text = student.eval(probe)
    want_len, chars = reference.eval("[len(sample_text), ''.join(chars)]")
    assert ok, "the notebook should make sample_text, a string decoded from model.generate"
    assert len(text) == want_len, \
        (f"sample_text should hold {want_len} characters (the start token and the new ones), got {len(text)}")
    odd = sorted(set(text) - set(chars))
    assert not odd, f"sample_text should only use characters of the vocabulary, found {odd[:5]}"
