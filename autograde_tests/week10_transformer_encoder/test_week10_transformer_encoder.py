"""Hidden tests for week10_transformer_encoder: embeddings, positional encodings, attention and
masks, multi-head attention, the encoder and decoder layers and stacks, heads, the corrected
encoder-decoder Transformer, and a tiny encoder classifier.

Total: 44 points over 23 tests.

Each class is graded on its own. The layers are compared with PyTorch's `nn.MultiheadAttention`,
`nn.TransformerEncoderLayer` and `nn.TransformerDecoderLayer` computed here in float64, with
weights made here from `grading_seed` and copied into the student's modules by the attribute
names the notebook fixes (`W_q`, `W_k`, `W_v`, `W_o`; `self_attn`, `cross_attn`, `ff`, `norm1`..
`norm3`, `dropout`; `embedding`, `pos_encoding`, `layers`, `fc`; `encoder`, `decoder`). Where a
class uses another graded one, the probe swaps in the grader's stand-ins, none of them a copy of
an answer:

* inside an encoder or decoder layer, the attention sublayers become `nn.MultiheadAttention`
  behind the notebook's interface (a mask of 1/0 turned into PyTorch's "blocked" mask), the
  feed-forward sublayer PyTorch's two `nn.Linear` with `F.relu`, and (in one test) dropout a
  module that doubles its input, so that where dropout is applied can be seen;
* inside the stacks, the embedding is a plain table look-up without the sqrt(d_model) factor,
  the positional encoding `0.5 * x + P` for a random table P, the layers `tanh` of simple
  functions of their inputs and masks: what the stack should return with them is computed here;
* `MultiHeadAttention` runs with `scaled_dot_product_attention` rebound to one built on
  `F.scaled_dot_product_attention` (it returns zero weights, so only the output may be used);
* the heads run with `masked_mean` rebound to a different pooling (the last position times 2);
* the Transformer's encoder and decoder are spies that record what they are given.

Three tests check properties of the student's whole stacks (padding, batch permutation,
causality); they use masks made here. Probes contain inputs and calls only and return plain data.

Devices: the modules and mask builders also run on PyTorch's `meta` device (grader.testing.
on_meta_device), which stands in for a GPU: a mask or a table made on the CPU inside them mixes
devices there, as it would on a GPU. Inside a module, the other graded parts are replaced by device
stand-ins (META_STANDINS) that compute little and refuse a tensor on another device than their
input; so each class answers for the tensors it makes itself.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.testing import assert_close, assert_on_meta, is_close, on_meta_device, tensor_src

F64 = torch.float64

# Accuracy the notebook's trained classifier must reach on 400 hidden sequences of the order task.
# Calibration (FAST run, 100 Adam steps): over SEED 0-7 the reference reached 0.94-0.998 on its
# own 500 test sequences; a model without positional encodings cannot tell the order (about 0.5).
# The standard error on 400 sequences is about 0.015, so 0.85 leaves room for a correct
# train_step written differently, while a model that did not learn fails.
QUALITY_THRESHOLD = 0.85
N_HIDDEN = 400

# Probe code: the grader's stand-ins (see the module docstring).
STANDINS = '''
import types as _types
import torch.nn.functional as _F
class _TorchMHA(nn.Module):
    """PyTorch's nn.MultiheadAttention behind the notebook's interface."""
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.mha = nn.MultiheadAttention(d_model, num_heads, batch_first=True)
    def forward(self, query, key, value, mask=None):
        _blocked = None
        if mask is not None:
            _blocked = torch.as_tensor(mask, device=query.device) == 0
            if _blocked.dim() == 3:
                _blocked = _blocked.repeat_interleave(self.mha.num_heads, dim=0)
        return self.mha(query, key, value, attn_mask=_blocked, need_weights=False)[0]
class _TorchFF(nn.Module):
    def __init__(self, d_model, d_ff):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
    def forward(self, x):
        return self.linear2(_F.relu(self.linear1(x)))
class _TimesTwo(nn.Module):
    """Stand-in for dropout: doubles its input and counts its calls."""
    def __init__(self):
        super().__init__()
        self.calls = 0
        self.p = 0.5
    def forward(self, x):
        self.calls += 1
        return 2 * x
def _load(module, state):
    with torch.no_grad():
        for _k, _v in state.items():
            module.get_parameter(_k).copy_(torch.tensor(_v, dtype=torch.float32))
def _missing(module, names):
    return [_n for _n in names if not isinstance(getattr(module, _n, None), nn.Module)]
def _with_fakes(cls, **fakes):
    """A subclass of cls whose methods see the fakes in place of the named globals."""
    def _rebound(_f):
        _g = _types.FunctionType(_f.__code__, dict(_f.__globals__, **fakes), _f.__name__, _f.__defaults__, _f.__closure__)
        _g.__kwdefaults__ = _f.__kwdefaults__
        return _g
    return type(cls.__name__, (cls,), {_k: _rebound(_v) for _k, _v in vars(cls).items() if isinstance(_v, _types.FunctionType)})
'''

# Probe code: stand-ins for the device checks on the meta device (after STANDINS and on_meta_device()). They
# compute little (only the shapes matter there) and raise, like a GPU, when given a tensor on another device.
META_STANDINS = '''
def _same_device(_x, *_others):
    for _o in _others:
        if isinstance(_o, torch.Tensor) and _o.device != _x.device:
            raise RuntimeError(f"the grader's stand-in got a tensor on device {_o.device} with its input on device {_x.device}")
class _MetaMHA(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.lin = nn.Linear(d_model, d_model)
    def forward(self, query, key, value, mask=None):
        _same_device(query, key, value, mask)
        return self.lin(query)
def _sdpa_meta(q, k, v, mask=None):
    _same_device(q, k, v, mask)
    _w = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
    return _w @ v, _w
class _MetaLayer(nn.Module):
    def forward(self, x, *args, **kwargs):
        _same_device(x, *args, *kwargs.values())
        return torch.tanh(x)
def _pool_meta(h, keep=None):
    _same_device(h, keep)
    return h[:, -1] * 2
class _MetaSpyEncoder(nn.Module):
    def forward(self, src, src_mask=None):
        _same_device(src, src_mask)
        return src.float().unsqueeze(-1)
class _MetaSpyDecoder(nn.Module):
    def forward(self, x, y, tgt_mask=None, cross_mask=None):
        _same_device(x, y, tgt_mask, cross_mask)
        return x.float().unsqueeze(-1)
'''


def _on_meta(answer, what: str, hint: str) -> None:
    """assert_on_meta, except for masked_fill with a CPU scalar tensor as its value (torch.tensor(-inf)): a GPU
    accepts that, the meta device does not, so it is not held against the code."""
    if answer[0] == "device" and "Expected `value` to be on same device" in answer[1]:
        return
    assert_on_meta(answer, what, hint)


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, k])


def _normal(rng: np.random.Generator, *shape, scale: float = 1.0) -> np.ndarray:
    """Random numbers rounded to 5 decimals, so the literal sent is the number used here."""
    return np.round(rng.normal(size=shape) * scale, 5)


def _lit(array) -> str:
    return repr(np.asarray(array, dtype=float).tolist())


def _tensor(array) -> str:
    return tensor_src(np.asarray(array, dtype=float), "float32")


def _ids(array) -> str:
    return tensor_src(np.asarray(array, dtype=int), "long")


def _t64(array) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=float), dtype=F64)


def _lengths_keep(rng, batch: int, length: int, full: bool = True) -> np.ndarray:
    """(B, L) 0/1 matrix of real tokens: trailing padding, at least one real token, one row full."""
    lengths = rng.integers(1, length + 1, batch)
    if full:
        lengths[rng.integers(batch)] = length
    return (np.arange(length)[None, :] < lengths[:, None]).astype(int)


def _blocked(mask01: np.ndarray, heads: int) -> torch.Tensor:
    """PyTorch's attn_mask (True = blocked) for a 0/1 mask (B, Lq, Lk) or (Lq, Lk)."""
    blocked = torch.tensor(np.asarray(mask01) == 0)
    return blocked.repeat_interleave(heads, dim=0) if blocked.dim() == 3 else blocked


def _mha_weights(rng, d_model: int) -> dict:
    scale = 1 / math.sqrt(d_model)
    return {"W_q": _normal(rng, d_model, d_model, scale=scale), "W_k": _normal(rng, d_model, d_model, scale=scale),
            "W_v": _normal(rng, d_model, d_model, scale=scale), "W_o": _normal(rng, d_model, d_model, scale=scale),
            "b_o": _normal(rng, d_model, scale=0.1)}


def _torch_mha(w: dict, d_model: int, heads: int) -> nn.MultiheadAttention:
    mha = nn.MultiheadAttention(d_model, heads, batch_first=True).double().train()  # train: no fast path
    with torch.no_grad():
        mha.in_proj_weight.copy_(_t64(np.concatenate([w["W_q"], w["W_k"], w["W_v"]])))
        mha.in_proj_bias.zero_()
        mha.out_proj.weight.copy_(_t64(w["W_o"]))
        mha.out_proj.bias.copy_(_t64(w["b_o"]))
    return mha


def _mha_state(w: dict) -> dict:
    """The state of the grader's _TorchMHA stand-in (parameter path -> nested lists)."""
    return {"mha.in_proj_weight": np.concatenate([w["W_q"], w["W_k"], w["W_v"]]).tolist(),
            "mha.in_proj_bias": np.zeros(3 * len(w["b_o"])).tolist(),
            "mha.out_proj.weight": w["W_o"].tolist(), "mha.out_proj.bias": w["b_o"].tolist()}


def _seeded_layer(kind, seed: int, *args) -> nn.Module:
    """A float64 PyTorch layer with random (seeded) weights, in train mode with dropout 0."""
    torch.manual_seed(seed)
    layer = kind(*args, dropout=0.0, batch_first=True).double().train()
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.endswith("in_proj_bias"):
                p.zero_()   # the notebook's projections have no bias
            elif "norm" in name:
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
            elif name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.1)
            p.copy_(torch.round(p * 1e5) / 1e5)
    return layer


def _state_lists(module: nn.Module, prefix: str = "") -> dict:
    return {prefix + k: v.detach().numpy().tolist() for k, v in module.named_parameters()}


def _layer_probe_setup(torch_layer: nn.Module, decoder: bool) -> str:
    """Probe lines that put the stand-ins, with torch_layer's weights, into the student's `_layer`."""
    d_model = torch_layer.self_attn.embed_dim
    heads = torch_layer.self_attn.num_heads
    d_ff = torch_layer.linear1.out_features
    attn = [("self_attn", torch_layer.self_attn)] + ([("cross_attn", torch_layer.multihead_attn)] if decoder else [])
    norms = ["norm1", "norm2"] + (["norm3"] if decoder else [])
    lines = []
    for name, mha in attn:
        lines.append(f"_layer.{name} = _TorchMHA({d_model}, {heads})")
        lines.append(f"_load(_layer.{name}, {_state_lists(mha, 'mha.')!r})")
    lines.append(f"_layer.ff = _TorchFF({d_model}, {d_ff})")
    lines.append(f"_load(_layer.ff, {{'linear1.weight': {torch_layer.linear1.weight.tolist()!r}, "
                 f"'linear1.bias': {torch_layer.linear1.bias.tolist()!r}, "
                 f"'linear2.weight': {torch_layer.linear2.weight.tolist()!r}, "
                 f"'linear2.bias': {torch_layer.linear2.bias.tolist()!r}}})")
    for name in norms:
        norm = getattr(torch_layer, name)
        lines.append(f"_load(_layer, {{'{name}.weight': {norm.weight.tolist()!r}, '{name}.bias': {norm.bias.tolist()!r}}})")
    return "\n".join(lines) + "\n"


def _manual_encoder_layer(t: nn.Module, x, blocked, s: float):
    a = t.self_attn(x, x, x, attn_mask=blocked, need_weights=False)[0]
    h = t.norm1(x + s * a)
    return t.norm2(h + s * t.linear2(F.relu(t.linear1(h))))


def _manual_decoder_layer(t: nn.Module, x, y, blocked_t, blocked_c, s: float):
    h = t.norm1(x + s * t.self_attn(x, x, x, attn_mask=blocked_t, need_weights=False)[0])
    h = t.norm2(h + s * t.multihead_attn(h, y, y, attn_mask=blocked_c, need_weights=False)[0])
    return t.norm3(h + s * t.linear2(F.relu(t.linear1(h))))


def _pe_oracle(length: int, d_model: int) -> np.ndarray:
    pos = np.arange(length)[:, None].astype(float)
    i = np.arange(d_model)[None, :]
    angle = pos / 10000.0 ** (2 * (i // 2) / d_model)
    return np.where(i % 2 == 0, np.sin(angle), np.cos(angle))


def _attention_oracle(q, k, v, mask=None):
    q, k, v = _t64(q), _t64(k), _t64(v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(torch.tensor(np.asarray(mask)) == 0, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights @ v).numpy(), weights.numpy()


def _order_task(rng, n: int, vocab: int, max_len: int):
    ids = rng.integers(3, vocab, (n, max_len))
    labels = np.zeros(n, dtype=int)
    for row in range(n):
        length = int(rng.integers(4, max_len + 1))
        ids[row, length:] = 0
        a, b = rng.choice(length, 2, replace=False)
        ids[row, a], ids[row, b] = 1, 2
        labels[row] = int(a < b)
    return ids, labels


# --------------------------------------------------------------------------- 1. embeddings
@pytest.mark.points(2)
def test_input_embeddings(student, reference, grading_seed):
    """InputEmbeddings looks up the table and multiplies by sqrt(d_model)"""
    rng = _rng(grading_seed, 1)
    for vocab, d_model in ((7, 4), (13, 9)):
        table = _normal(rng, vocab, d_model)
        ids = rng.integers(0, vocab, (3, 5))
        probe = f"""
_m = InputEmbeddings({vocab}, {d_model})
_table = getattr(_m, "embedding", None)
_out = None
if isinstance(_table, nn.Embedding):
    with torch.no_grad():
        _table.weight.copy_({_tensor(table)})
    _out = _m({_ids(ids)}).detach().double()
{{"is_embedding": isinstance(_table, nn.Embedding), "out": _out, "params": sum(_p.numel() for _p in _m.parameters())}}
"""
        got = student.eval(probe)
        call = f"InputEmbeddings({vocab}, {d_model}) on token ids of shape (3, 5)"
        assert got["is_embedding"], f"{call}: the table should be the attribute `embedding`, an nn.Embedding({vocab}, {d_model})"
        assert got["params"] == vocab * d_model, (
            f"{call} should have vocab_size * d_model = {vocab * d_model} parameters (one table), got {got['params']}")
        expected = table[ids] * math.sqrt(d_model)
        if is_close(got["out"], table[ids], rtol=1e-5, atol=1e-5):
            raise AssertionError(f"{call}: the output is the table's rows without the factor sqrt(d_model) = "
                                 f"{math.sqrt(d_model):.4f}; multiply the embeddings by math.sqrt(self.d_model)")
        assert_close(got["out"], expected, f"{call}: embedding.weight[ids] * sqrt({d_model})", rtol=1e-5, atol=1e-5)
        ref = reference.eval(probe)
        assert_close(ref["out"], expected, "grader setup: the reference's embeddings", rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- 2. positional encoding
@pytest.mark.points(2)
def test_positional_encoding_matrix(student, reference):
    """positional_encoding: sin in even columns, cos in odd ones, for even and odd d_model"""
    cases = [(4, 4), (9, 16), (6, 7), (3, 1), (40, 64)]
    probe = "[positional_encoding(%d, %d).double() for _ in [0]][0]"
    for length, d_model in cases:
        got = student.eval(probe % (length, d_model))
        assert_close(got, _pe_oracle(length, d_model),
                     f"positional_encoding({length}, {d_model}) (rows = positions, columns = dimensions; PE(pos, 2i) = "
                     f"sin(pos / 10000^(2i/{d_model})), PE(pos, 2i+1) = cos(the same); with an odd d_model the cosines "
                     "use only the first d_model // 2 frequencies)", rtol=1e-4, atol=1e-5)
    assert_close(reference.eval(probe % (6, 7)), _pe_oracle(6, 7), "grader setup: the reference's matrix",
                 rtol=1e-4, atol=1e-5)
    dtype = student.eval("str(positional_encoding(3, 4).dtype)")
    assert dtype == "torch.float32", f"positional_encoding(3, 4) should be float32 (like the embeddings), got {dtype}"


@pytest.mark.points(1)
def test_positional_encoding_module(student, reference, grading_seed):
    """PositionalEncoding keeps pe as a buffer, adds the first L rows, refuses too long inputs, moves with .to()"""
    rng = _rng(grading_seed, 2)
    d_model, max_len, length = 6, 9, 5
    x = _normal(rng, 2, length, d_model)
    probe = f"""
{on_meta_device("PositionalEncoding")}
_m = PositionalEncoding({d_model}, {max_len})
_pe = getattr(_m, "pe", None)
_out = _m({_tensor(x)}).detach().double()
_short = _m(torch.zeros(1, 1, {d_model})).detach().double()
try:
    _full = _m(torch.zeros(1, {max_len}, {d_model})).detach().double()
except Exception as _e:
    _full = f"{{type(_e).__name__}}: {{_e}}"
try:
    _m(torch.zeros(1, {max_len + 1}, {d_model}))
    _too_long = "no error"
except ValueError:
    _too_long = "ValueError"
except Exception as _e:
    _too_long = type(_e).__name__
_moved = _m.to(DEVICE)
{{"params": len(list(_m.parameters())), "buffers": [_n for _n, _b in _m.named_buffers()],
  "pe_shape": None if _pe is None else list(_pe.shape), "out": _out, "short": _short, "full": _full, "too_long": _too_long,
  "device": _moved.pe.device.type, "want_device": torch.device(DEVICE).type,
  "meta": _meta_try(lambda: _PositionalEncoding({d_model}, {max_len}).to("meta")(torch.empty(2, {length}, {d_model}, device="meta")))}}
"""
    got = student.eval(probe)
    call = f"PositionalEncoding({d_model}, {max_len})"
    assert got["params"] == 0, f"{call} should have no parameters (the encodings are fixed): keep pe as a buffer"
    assert "pe" in got["buffers"] and got["pe_shape"] == [1, max_len, d_model], (
        f"{call}: pe should be a buffer (self.register_buffer('pe', ...)) of shape (1, {max_len}, {d_model}); got the "
        f"buffers {got['buffers']} and pe of shape {got['pe_shape']}")
    pe = _pe_oracle(max_len, d_model)
    assert_close(got["out"], x + pe[None, :length], f"{call}(x) for x of shape (2, {length}, {d_model}): x plus the "
                 f"first {length} rows of the encodings", rtol=1e-4, atol=1e-5)
    assert_close(got["short"], pe[None, :1], f"{call} on zeros of shape (1, 1, {d_model}): the first row only",
                 rtol=1e-4, atol=1e-5)
    assert not isinstance(got["full"], str), (
        f"{call} on an input of length {max_len} = max_seq_length (longer than d_model = {d_model}) should work, it raised "
        f"{got['full']}: compare the length with the number of rows of pe (self.pe.size(1)), not with d_model")
    assert_close(got["full"], pe[None, :max_len], f"{call} on zeros of shape (1, {max_len}, {d_model}): all the rows",
                 rtol=1e-4, atol=1e-5)
    assert got["too_long"] == "ValueError", (
        f"{call} on an input of length {max_len + 1} > max_seq_length should raise a ValueError, got: {got['too_long']}")
    assert got["device"] == got["want_device"], (
        f"{call}.to({got['want_device']!r}) should move pe too (a registered buffer does), it stayed on {got['device']}")
    _on_meta(got["meta"], f"{call}.to(device) on x of shape (2, {length}, {d_model}) on that device",
             "add the registered buffer, x + self.pe[:, :L]: it moves with .to(device), while a table kept as a plain "
             "attribute or made again in forward stays on the CPU, which fails on a GPU")
    ref = reference.eval(probe)
    assert_close(ref["out"], x + pe[None, :length], "grader setup: the reference", rtol=1e-4, atol=1e-5)
    assert ref["meta"] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref['meta']}"


# --------------------------------------------------------------------------- 3. attention and masks
@pytest.mark.points(2)
def test_attention_values(student, reference, grading_seed):
    """scaled_dot_product_attention: softmax(q k^T / sqrt(d_k)) v and the weights, with and without masks"""
    rng = _rng(grading_seed, 3)
    cases = []
    q, k, v = _normal(rng, 2, 3, 4), _normal(rng, 2, 5, 4), _normal(rng, 2, 5, 6)
    cases.append(("q (2, 3, 4), k (2, 5, 4), v (2, 5, 6), no mask", q, k, v, None))
    q, k, v = _normal(rng, 2, 2, 4, 8), _normal(rng, 2, 2, 4, 8), _normal(rng, 2, 2, 4, 8)
    mask = np.tril(np.ones((4, 4), dtype=int))
    cases.append(("q, k, v (2, 2, 4, 8) with a causal (4, 4) mask", q, k, v, mask))
    q, k, v = _normal(rng, 3, 4, 5, scale=2.0), _normal(rng, 3, 6, 5, scale=2.0), _normal(rng, 3, 6, 3)
    mask = np.repeat(_lengths_keep(rng, 3, 6)[:, None, :], 4, axis=1)
    cases.append(("q (3, 4, 5), k (3, 6, 5), v (3, 6, 3) with a padding mask (3, 4, 6)", q, k, v, mask))
    q, k, v = _normal(rng, 2, 3, 2, 4), _normal(rng, 2, 3, 5, 4), _normal(rng, 2, 3, 5, 4)
    mask = _lengths_keep(rng, 2, 5)[:, None, None, :]
    cases.append(("q (2, 3, 2, 4), k and v (2, 3, 5, 4) with a boolean mask (2, 1, 1, 5)", q, k, v, mask.astype(bool)))
    for what, q, k, v, mask in cases:
        mask_src = "None" if mask is None else (
            f"torch.tensor({np.asarray(mask).tolist()!r})" if mask.dtype == bool else _ids(mask))
        probe = (on_meta_device("scaled_dot_product_attention") +
                 f"_qt, _kt, _vt, _mt = {_tensor(q)}, {_tensor(k)}, {_tensor(v)}, {mask_src}\n"
                 "_o, _w = scaled_dot_product_attention(_qt, _kt, _vt, _mt)\n"
                 "_meta = _meta_try(lambda: _scaled_dot_product_attention(_qt.to('meta'), _kt.to('meta'), _vt.to('meta'),\n"
                 "                                                        None if _mt is None else _mt.to('meta')))\n"
                 "[_o.detach().double(), _w.detach().double(), _meta]")
        got = student.eval(probe)
        out, weights = _attention_oracle(q, k, v, mask)
        call = f"scaled_dot_product_attention on {what}"
        assert isinstance(got, list) and len(got) == 3, f"{call} should return the pair (output, weights)"
        unscaled = _attention_oracle(q * math.sqrt(q.shape[-1]), k, v, mask)[1]
        if is_close(got[1], unscaled, rtol=1e-4, atol=1e-5) and not is_close(got[1], weights, rtol=1e-4, atol=1e-5):
            raise AssertionError(f"{call}: the weights are softmax(q k^T) without the division by sqrt(d_k) = "
                                 f"sqrt({q.shape[-1]}); divide the scores by math.sqrt(q.size(-1))")
        assert_close(got[1], weights, f"{call}: the attention weights softmax(q k^T / sqrt(d_k)) (over the keys, the "
                     "last axis; masked keys at -inf before the softmax)", rtol=1e-4, atol=1e-5)
        assert_close(got[0], out, f"{call}: the output weights @ v", rtol=1e-4, atol=1e-5)
        _on_meta(got[2], f"{call}, all on that device",
                 "make nothing on the CPU inside: scores.masked_fill(mask == 0, float('-inf')) (or torch.full_like(scores, "
                 "...)) stays on the scores' device, torch.full(scores.shape, ...) alone does not")
        ref = reference.eval(probe)
        assert_close(ref[0], out, "grader setup: the reference's output", rtol=1e-4, atol=1e-5)
        assert ref[2] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref[2]}"


@pytest.mark.points(2)
def test_attention_mask_is_additive(student, reference, grading_seed):
    """Masked keys get weight exactly 0 (scores set to -inf, not multiplied by the mask)"""
    rng = _rng(grading_seed, 4)
    q, k, v = _normal(rng, 2, 4, 3, scale=3.0), _normal(rng, 2, 4, 3, scale=3.0), _normal(rng, 2, 4, 2)
    keep = _lengths_keep(rng, 2, 4)
    keep[0, :] = [1, 0, 1, 0]
    mask = np.repeat(keep[:, None, :], 4, axis=1)
    probe = (f"_o, _w = scaled_dot_product_attention({_tensor(q)}, {_tensor(k)}, {_tensor(v)}, {_ids(mask)})\n"
             f"_w2 = scaled_dot_product_attention({_tensor(q)}, {_tensor(k)}, {_tensor(v)}, {_ids(mask)}.float())[1]\n"
             "[_w.detach().double(), _w2.detach().double()]")
    got = student.eval(probe)
    for w, kind in ((got[0], "an integer"), (got[1], "a float")):
        w = np.asarray(w, dtype=float)
        leaked = w[mask == 0]
        assert np.all(leaked == 0), (
            f"scaled_dot_product_attention with {kind} 0/1 padding mask {keep.tolist()} (keys) gives the masked keys the "
            f"weights {np.round(leaked, 4).tolist()}; they should be exactly 0. Multiplying the scores by the mask sets "
            "them to 0 and e^0 = 1: use scores.masked_fill(mask == 0, float('-inf')) before the softmax")
        assert_close(w.sum(-1), np.ones((2, 4)), f"the weights of every query (with {kind} mask) should sum to 1",
                     rtol=1e-5, atol=1e-5)
    assert np.all(np.asarray(reference.eval(probe)[0])[mask == 0] == 0), "grader setup: the reference's weights"


@pytest.mark.points(1)
def test_padding_mask(student, reference, grading_seed):
    """make_padding_mask: (B, query_len, L), 1 at the real keys, for any pad_id"""
    rng = _rng(grading_seed, 5)
    for pad_id, batch, length, query_len in ((0, 3, 6, None), (5, 2, 7, None), (0, 4, 5, 3), (2, 2, 4, 6)):
        keep = _lengths_keep(rng, batch, length)
        ids = np.where(keep == 1, rng.choice([t for t in range(1, 12) if t != pad_id], (batch, length)), pad_id)
        ids[0, 0] = pad_id if keep[0, 0] == 0 else ids[0, 0]
        args = f"pad_id={pad_id}" + ("" if query_len is None else f", query_len={query_len}")
        probe = (on_meta_device("make_padding_mask") + f"_i = {_ids(ids)}\n_m = make_padding_mask(_i, {args})\n"
                 f"[_m.long(), str(_m.device), _meta_try(lambda: _make_padding_mask(_i.to('meta'), {args}))]")
        got = student.eval(probe)
        rows = length if query_len is None else query_len
        expected = np.repeat(keep[:, None, :], rows, axis=1)
        call = f"make_padding_mask(ids of shape ({batch}, {length}), pad_id={pad_id}" + (
            "" if query_len is None else f", query_len={query_len}") + ")"
        assert_close(got[0], expected, f"{call}: shape (B, {'L' if query_len is None else 'query_len'}, L), every row "
                     f"1 at the keys that are not {pad_id} (unsqueeze(1), then expand)", rtol=0, atol=0)
        _on_meta(got[2], f"{call} with the ids on that device",
                 "build the mask from the ids themselves ((ids != pad_id), unsqueeze(1), expand): a tensor made with "
                 "torch.ones(...) or torch.zeros(...) and no device is on the CPU, which fails on a GPU")
        ref = reference.eval(probe)
        assert_close(ref[0], expected, "grader setup: the reference", rtol=0, atol=0)
        assert ref[2] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref[2]}"


@pytest.mark.points(2)
def test_causal_target_and_additive_masks(student, reference, grading_seed):
    """make_causal_mask, make_target_mask (causal and padding) and the additive 0 / -inf form"""
    rng = _rng(grading_seed, 6)
    for length in (1, 5, 8):
        got = student.eval(f"_c = make_causal_mask({length})\n[_c.long(), list(_c.shape), int(_c.sum())]")
        assert_close(got[0], np.tril(np.ones((length, length), dtype=int)),
                     f"make_causal_mask({length}): 1 where key j <= query i (the lower triangle, torch.tril)", rtol=0, atol=0)
        assert got[2] == length * (length + 1) // 2, f"make_causal_mask({length}) should allow {length * (length + 1) // 2} pairs"
    probe = on_meta_device("make_causal_mask", "make_target_mask", "additive_mask") + """
[make_causal_mask(4, device=DEVICE).device.type == torch.device(DEVICE).type,
 _meta_try(lambda: _make_causal_mask(4, device="meta")),
 _meta_try(lambda: _make_target_mask(torch.ones(2, 5, dtype=torch.long, device="meta"))),
 _meta_try(lambda: _additive_mask(torch.ones(2, 3, 5, dtype=torch.long, device="meta")))]
"""
    got = student.eval(probe)
    assert got[0] is True, "make_causal_mask(4, device=DEVICE) should be made on that device"
    _on_meta(got[1], "make_causal_mask(4, device=device)",
             "make the mask on the device given: torch.ones(seq_len, seq_len, device=device) (without device=, it is "
             "on the CPU, which fails on a GPU)")
    _on_meta(got[2], "make_target_mask(ids) for ids of shape (2, 5) on that device",
             "make both parts on the ids' device: make_causal_mask(L, device=ids.device), and a padding mask built "
             "from the ids themselves")
    _on_meta(got[3], "additive_mask(mask) for a (2, 3, 5) mask on that device",
             "make the result on the mask's device: torch.zeros(mask.shape, device=mask.device) (or torch.zeros_like, "
             "or torch.where(mask == 0, float('-inf'), 0.0)); torch.zeros(...) alone is on the CPU, which fails on a GPU")
    ref = reference.eval(probe)
    assert ref[1:] == [["ok", ["meta"]]] * 3, f"grader setup: the reference on the meta device, {ref[1:]}"
    for pad_id, batch, length in ((0, 3, 6), (4, 2, 5)):
        keep = _lengths_keep(rng, batch, length)
        ids = np.where(keep == 1, rng.choice([t for t in range(1, 9) if t != pad_id], (batch, length)), pad_id)
        got = student.eval(f"make_target_mask({_ids(ids)}, pad_id={pad_id}).long()")
        expected = keep[:, None, :] * np.tril(np.ones((length, length), dtype=int))[None]
        assert_close(got, expected, f"make_target_mask(ids of shape ({batch}, {length}), pad_id={pad_id}): the causal "
                     "mask AND the padding mask (multiply or & them), shape (B, L, L)", rtol=0, atol=0)
    mask = np.repeat(_lengths_keep(rng, 2, 5)[:, None, :], 3, axis=1)
    probe = (f"_a = additive_mask({_ids(mask)})\n_c = additive_mask(make_causal_mask(6))\n"
             "[_a.double(), str(_a.dtype), _c.double()]")
    got = student.eval(probe)
    expected = np.where(mask == 1, 0.0, -np.inf)
    assert got[1] == "torch.float32", f"additive_mask should return float32, got {got[1]}"
    assert_close(got[0], expected, "additive_mask of a (2, 3, 5) padding mask: 0.0 where the mask is 1, -inf where it "
                 "is 0", rtol=0, atol=0)
    assert_close(got[2], nn.Transformer.generate_square_subsequent_mask(6).double().numpy(),
                 "additive_mask(make_causal_mask(6)) should equal nn.Transformer.generate_square_subsequent_mask(6)",
                 rtol=0, atol=0)
    assert_close(reference.eval(probe)[0], expected, "grader setup: the reference", rtol=0, atol=0)


# --------------------------------------------------------------------------- 4. multi-head attention
@pytest.mark.points(1)
def test_mha_structure(student, reference, grading_seed):
    """MultiHeadAttention: W_q, W_k, W_v without bias, W_o with bias, head_size, split and merge heads"""
    rng = _rng(grading_seed, 7)
    for d_model, heads in ((12, 3), (8, 4)):
        hs = d_model // heads
        x = _normal(rng, 2, 5, d_model)
        xh = _normal(rng, 2, heads, 3, hs)
        probe = f"""
_m = MultiHeadAttention({d_model}, {heads})
_info = {{}}
for _n in ("W_q", "W_k", "W_v", "W_o"):
    _l = getattr(_m, _n, None)
    _info[_n] = [int(_l.in_features), int(_l.out_features), _l.bias is not None] if isinstance(_l, nn.Linear) else None
{{"linears": _info, "num_heads": getattr(_m, "num_heads", None), "head_size": getattr(_m, "head_size", None),
  "params": sum(_p.numel() for _p in _m.parameters()),
  "split": _m.split_heads({_tensor(x)}).double(), "merge": _m.merge_heads({_tensor(xh)}).double()}}
"""
        got = student.eval(probe)
        call = f"MultiHeadAttention({d_model}, {heads})"
        for name in ("W_q", "W_k", "W_v"):
            assert got["linears"][name] == [d_model, d_model, False], (
                f"{call}.{name} should be nn.Linear({d_model}, {d_model}, bias=False), got {got['linears'][name]} "
                "([in, out, has bias], None = missing)")
        assert got["linears"]["W_o"] == [d_model, d_model, True], (
            f"{call}.W_o should be nn.Linear({d_model}, {d_model}) with a bias, got {got['linears']['W_o']}")
        assert got["num_heads"] == heads and got["head_size"] == hs, (
            f"{call}: num_heads should be {heads} and head_size d_model // num_heads = {hs}, got {got['num_heads']} and "
            f"{got['head_size']}")
        want = 4 * d_model * d_model + d_model
        assert got["params"] == want, f"{call} should have 4 * {d_model}^2 + {d_model} = {want} parameters, got {got['params']}"
        assert_close(got["split"], x.reshape(2, 5, heads, hs).transpose(0, 2, 1, 3),
                     f"{call}.split_heads(x) for x (2, 5, {d_model}): (B, num_heads, L, head_size), head i holding the "
                     f"columns i*{hs} to (i+1)*{hs}-1 (view(B, L, h, hs), then transpose(1, 2))", rtol=1e-6, atol=1e-6)
        assert_close(got["merge"], xh.transpose(0, 2, 1, 3).reshape(2, 3, d_model),
                     f"{call}.merge_heads(x) for x (2, {heads}, 3, {hs}): back to (B, L, d_model) (transpose(1, 2) then "
                     "reshape; a view without the transpose mixes positions and heads)", rtol=1e-6, atol=1e-6)
    got = student.eval("""
try:
    MultiHeadAttention(10, 4)
    _r = "no error"
except ValueError:
    _r = "ValueError"
except Exception as _e:
    _r = type(_e).__name__
_r""")
    assert got == "ValueError", f"MultiHeadAttention(10, 4) should raise a ValueError (4 does not divide 10), got: {got}"
    assert reference.eval("MultiHeadAttention(12, 3).head_size") == 4, "grader setup: the reference"


MHA_FAKE = '''
def _sdpa_stand_in(q, k, v, mask=None):
    _allowed = None if mask is None else (torch.as_tensor(mask, device=q.device) != 0)
    _out = _F.scaled_dot_product_attention(q, k, v, attn_mask=_allowed)
    return _out, torch.zeros(_out.shape[:-1] + (k.shape[-2],), device=q.device)
_MHA = _with_fakes(MultiHeadAttention, scaled_dot_product_attention=_sdpa_stand_in)
'''


@pytest.mark.points(3)
def test_mha_matches_torch(student, reference, grading_seed):
    """With the same weights, MultiHeadAttention equals nn.MultiheadAttention (self and cross, with masks)"""
    rng = _rng(grading_seed, 8)
    cases = []
    d, h = 8, 2
    x = _normal(rng, 3, 5, d)
    cases.append(("self-attention, x (3, 5, 8), 2 heads, no mask", d, h, x, x, x, None))
    d, h = 12, 3
    x = _normal(rng, 2, 6, d)
    cases.append(("self-attention, x (2, 6, 12), 3 heads, padding mask (2, 6, 6)", d, h, x, x, x,
                  np.repeat(_lengths_keep(rng, 2, 6)[:, None, :], 6, axis=1)))
    d, h = 12, 4
    xq, xk = _normal(rng, 2, 4, d), _normal(rng, 2, 7, d)
    cases.append(("cross-attention, query (2, 4, 12), key = value (2, 7, 12), 4 heads, mask (2, 4, 7)", d, h, xq, xk, xk,
                  np.repeat(_lengths_keep(rng, 2, 7)[:, None, :], 4, axis=1)))
    d, h = 8, 4
    x = _normal(rng, 2, 5, d)
    cases.append(("self-attention, x (2, 5, 8), 4 heads, causal mask (5, 5)", d, h, x, x, x, np.tril(np.ones((5, 5), int))))
    for what, d, h, xq, xk, xv, mask in cases:
        w = _mha_weights(rng, d)
        mask_src = "None" if mask is None else _ids(mask)
        value_src = "_k" if xv is xk else _tensor(xv)
        meta_mask = "None" if mask is None else f"{_ids(mask)}.to('meta')"
        probe = STANDINS + MHA_FAKE + on_meta_device() + META_STANDINS + f"""
_m = _MHA({d}, {h})
with torch.no_grad():
    for _n, _w in (("W_q", {_lit(w["W_q"])}), ("W_k", {_lit(w["W_k"])}), ("W_v", {_lit(w["W_v"])}), ("W_o", {_lit(w["W_o"])})):
        getattr(_m, _n).weight.copy_(torch.tensor(_w))
        if _n != "W_o" and getattr(_m, _n).bias is not None:
            getattr(_m, _n).bias.zero_()
    _m.W_o.bias.copy_(torch.tensor({_lit(w["b_o"])}))
_k = {_tensor(xk)}
_got = _m({_tensor(xq)}, _k, {value_src}, {mask_src}).detach().double()
_mm = _with_fakes(MultiHeadAttention, scaled_dot_product_attention=_sdpa_meta, DEVICE=_META)({d}, {h}).to("meta")
_mk = torch.empty({list(xk.shape)}, device="meta")
[_got, _meta_try(lambda: _mm(torch.empty({list(xq.shape)}, device="meta"), _mk, _mk, {meta_mask}))]
"""
        got, meta = student.eval(probe)
        blocked = None if mask is None else _blocked(mask, h)
        want = _torch_mha(w, d, h)(_t64(xq), _t64(xk), _t64(xv), attn_mask=blocked, need_weights=False)[0]
        assert_close(got, want.detach().numpy(),
                     f"MultiHeadAttention({d}, {h}) on {what}, weights copied from nn.MultiheadAttention "
                     "(W_q, W_k, W_v = the three blocks of in_proj_weight, W_o = out_proj), compared with it. Likely "
                     "causes: heads split or merged in another order than view(B, L, h, head_size), a mask not "
                     "broadcast over the heads (unsqueeze(1)), keys or values projected from the query",
                     rtol=1e-4, atol=1e-5)
        _on_meta(meta, f"MultiHeadAttention({d}, {h}).to(device) on {what}, on that device (with the grader's "
                 "scaled_dot_product_attention, which refuses a mask on another device than q)",
                 "make no tensor on the CPU in forward: pass mask as it is (or None) to scaled_dot_product_attention; a "
                 "default mask made with torch.ones(...) and no device fails on a GPU")
        ref = reference.eval(probe)
        assert_close(ref[0], want.detach().numpy(), "grader setup: the reference", rtol=1e-4, atol=1e-5)
        assert ref[1] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref[1]}"


# --------------------------------------------------------------------------- 5. feed-forward and encoder layer
@pytest.mark.points(2)
def test_feed_forward(student, reference, grading_seed):
    """FeedForwardSubLayer: fc2(relu(fc1(x))) at every position, 2*d*d_ff + d_ff + d parameters"""
    rng = _rng(grading_seed, 9)
    for d_model, d_ff in ((6, 10), (5, 16)):
        w1, b1 = _normal(rng, d_ff, d_model), _normal(rng, d_ff, scale=0.5)
        w2, b2 = _normal(rng, d_model, d_ff), _normal(rng, d_model, scale=0.5)
        x = _normal(rng, 2, 4, d_model)
        probe = f"""
_m = FeedForwardSubLayer({d_model}, {d_ff})
_shapes = [list(getattr(_m, _n).weight.shape) if isinstance(getattr(_m, _n, None), nn.Linear) else None for _n in ("fc1", "fc2")]
with torch.no_grad():
    _m.fc1.weight.copy_({_tensor(w1)}); _m.fc1.bias.copy_({_tensor(b1)})
    _m.fc2.weight.copy_({_tensor(w2)}); _m.fc2.bias.copy_({_tensor(b2)})
{{"shapes": _shapes, "params": sum(_p.numel() for _p in _m.parameters()), "out": _m({_tensor(x)}).detach().double()}}
"""
        got = student.eval(probe)
        call = f"FeedForwardSubLayer({d_model}, {d_ff})"
        assert got["shapes"] == [[d_ff, d_model], [d_model, d_ff]], (
            f"{call}: fc1 should be nn.Linear({d_model}, {d_ff}) and fc2 nn.Linear({d_ff}, {d_model}); got weight "
            f"shapes {got['shapes']}")
        want = 2 * d_model * d_ff + d_ff + d_model
        assert got["params"] == want, f"{call} should have {want} parameters, got {got['params']}"
        expected = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
        assert_close(got["out"], expected, f"{call} on x (2, 4, {d_model}): fc2(relu(fc1(x))) (ReLU between the two "
                     "linear layers, none after the second)", rtol=1e-4, atol=1e-5)
        assert_close(reference.eval(probe)["out"], expected, "grader setup: the reference", rtol=1e-4, atol=1e-5)


def _encoder_layer_case(rng, seed, d_model, heads, d_ff, batch, length, masked):
    torch_layer = _seeded_layer(nn.TransformerEncoderLayer, seed, d_model, heads, d_ff)
    x = _normal(rng, batch, length, d_model)
    mask = np.repeat(_lengths_keep(rng, batch, length)[:, None, :], length, axis=1) if masked else None
    return torch_layer, x, mask


@pytest.mark.points(3)
def test_encoder_layer_matches_torch(student, reference, grading_seed):
    """With the same weights, EncoderLayer equals nn.TransformerEncoderLayer (post-LN, ReLU), with and without a mask"""
    rng = _rng(grading_seed, 10)
    for d_model, heads, d_ff, batch, length, masked, dropout in ((8, 2, 16, 3, 5, False, 0.0),
                                                                  (12, 3, 20, 2, 6, True, 0.3)):
        torch_layer, x, mask = _encoder_layer_case(rng, grading_seed + d_model, d_model, heads, d_ff, batch, length, masked)
        mask_src = "None" if mask is None else _ids(mask)
        meta_mask = "None" if mask is None else f"{_ids(mask)}.to('meta')"
        probe = STANDINS + on_meta_device() + META_STANDINS + f"""
_layer = EncoderLayer({d_model}, {heads}, {d_ff}, {dropout})
_miss = _missing(_layer, ["self_attn", "ff", "norm1", "norm2", "dropout"])
_out = None
if not _miss:
{_indent(_layer_probe_setup(torch_layer, decoder=False))}    _layer.eval()
    with torch.no_grad():
        _out = _layer({_tensor(x)}, {mask_src}).double()
def _meta_layer():
    _l = _with_fakes(EncoderLayer, DEVICE=_META)({d_model}, {heads}, {d_ff}, {dropout})
    _l.self_attn, _l.ff = _MetaMHA({d_model}), _TorchFF({d_model}, {d_ff})
    _l = _l.to("meta")
    _x = torch.empty({batch}, {length}, {d_model}, device="meta")
    return [_l(_x, {meta_mask}), _l(_x)]
{{"missing": _miss, "out": _out, "meta": _meta_try(_meta_layer)}}
"""
        got = student.eval(probe)
        call = f"EncoderLayer({d_model}, {heads}, {d_ff}, dropout={dropout}) in eval mode"
        assert not got["missing"], f"{call}: the attributes {got['missing']} are missing (see the task's list of names)"
        blocked = None if mask is None else _blocked(mask, heads)
        want = torch_layer(_t64(x), src_mask=blocked).detach().numpy()
        assert_close(_manual_encoder_layer(torch_layer, _t64(x), blocked, 1.0).detach().numpy(), want,
                     "grader setup: the manual layer")
        assert_close(got["out"], want,
                     f"{call} on x ({batch}, {length}, {d_model}) {'with a padding mask' if masked else 'without a mask'}, "
                     "its sublayers replaced by PyTorch's with the weights of an nn.TransformerEncoderLayer, compared "
                     "with it: x = norm1(x + dropout(self_attn(x, x, x, mask))); x = norm2(x + dropout(ff(x))). Likely "
                     "causes: a LayerNorm before the sublayer (pre-LN), a missing skip connection, norm1 and norm2 "
                     "swapped, the mask not passed on, dropout still active in eval mode", rtol=1e-4, atol=1e-5)
        _on_meta(got["meta"], f"EncoderLayer({d_model}, {heads}, {d_ff}, dropout={dropout}).to(device) on x ({batch}, "
                 f"{length}, {d_model}) {'with a padding mask and ' if masked else ''}without a mask, on that device (its "
                 "attention replaced by the grader's, which refuses a mask on another device than its input)",
                 "make no tensor on the CPU in forward: pass src_mask on as it is (None included); a default mask made "
                 "with torch.ones(...) and no device fails on a GPU")
        ref = reference.eval(probe)
        assert_close(ref["out"], want, "grader setup: the reference", rtol=1e-4, atol=1e-5)
        assert ref["meta"] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref['meta']}"


def _indent(code: str) -> str:
    return "".join("    " + line + "\n" for line in code.splitlines())


@pytest.mark.points(1)
def test_encoder_layer_dropout(student, reference, grading_seed):
    """EncoderLayer applies its dropout module to both sublayer outputs, before the skip connections"""
    rng = _rng(grading_seed, 11)
    d_model, heads, d_ff, batch, length = 8, 4, 12, 2, 5
    torch_layer, x, mask = _encoder_layer_case(rng, grading_seed + 99, d_model, heads, d_ff, batch, length, True)
    probe = STANDINS + f"""
_layer = EncoderLayer({d_model}, {heads}, {d_ff}, 0.25)
_p = float(getattr(getattr(_layer, "dropout", None), "p", -1))
{_layer_probe_setup(torch_layer, decoder=False)}_layer.dropout = _TimesTwo()
_layer.train()
_out = _layer({_tensor(x)}, {_ids(mask)}).detach().double()
{{"p": _p, "out": _out, "calls": _layer.dropout.calls}}
"""
    got = student.eval(probe)
    assert abs(got["p"] - 0.25) < 1e-12, f"EncoderLayer(..., dropout=0.25).dropout should be nn.Dropout(0.25), its p is {got['p']}"
    want = _manual_encoder_layer(torch_layer, _t64(x), _blocked(mask, heads), 2.0).detach().numpy()
    assert_close(got["out"], want,
                 "EncoderLayer in train mode with its `dropout` replaced by the grader's module that doubles its input: "
                 "expected norm1(x + 2 * attention), then norm2(h + 2 * ff(h)). Use self.dropout on the output of "
                 "each sublayer (attention and feed-forward), before adding the skip connection", rtol=1e-4, atol=1e-5)
    assert got["calls"] == 2, f"EncoderLayer should call self.dropout twice per forward pass, it called it {got['calls']} times"
    assert_close(reference.eval(probe)["out"], want, "grader setup: the reference", rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- 6. encoder and heads
STACK_FAKES = '''
class _TableEmbedding(nn.Module):
    def __init__(self, table):
        super().__init__()
        self.table = nn.Parameter(torch.tensor(table))
    def forward(self, ids):
        return self.table[ids]
class _HalfPlusTable(nn.Module):
    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", torch.tensor(table))
    def forward(self, x):
        return 0.5 * x + self.table[: x.shape[1]]
def _mask_term(mask, like):
    if mask is None:
        return 0.3
    return 0.1 * torch.as_tensor(mask, device=like.device).float().mean(-1, keepdim=True)
class _TanhEncoderLayer(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = w
    def forward(self, x, *args, **kwargs):
        _mask = args[0] if args else kwargs.get("src_mask", next(iter(kwargs.values()), None))
        return torch.tanh(self.w * x + _mask_term(_mask, x))
class _TanhDecoderLayer(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = w
    def forward(self, x, y, *args, **kwargs):
        _tgt = args[0] if len(args) > 0 else kwargs.get("tgt_mask")
        _cross = args[1] if len(args) > 1 else kwargs.get("cross_mask")
        return torch.tanh(self.w * x + y.mean(1, keepdim=True) + _mask_term(_tgt, x) - 2 * _mask_term(_cross, x))
'''


def _stack_expected(kind: str, table, pos, ids, weights, mask=None, y=None, cross=None, fc=None):
    x = _t64(table)[torch.tensor(ids)]
    x = 0.5 * x + _t64(pos)[: x.shape[1]]

    def term(m):
        return 0.3 if m is None else 0.1 * torch.tensor(np.asarray(m), dtype=F64).mean(-1, keepdim=True)
    for w in weights:
        if kind == "encoder":
            x = torch.tanh(w * x + term(mask))
        else:
            x = torch.tanh(w * x + _t64(y).mean(1, keepdim=True) + term(mask) - 2 * term(cross))
    if fc is not None:
        x = x @ _t64(fc[0]).T + _t64(fc[1])
    return x.numpy()


@pytest.mark.points(2)
def test_encoder_wiring(student, reference, grading_seed):
    """TransformerEncoder: embedding, then positions, then every layer in order with the mask"""
    rng = _rng(grading_seed, 12)
    for vocab, d_model, heads, num_layers, d_ff, dropout, max_len in ((11, 8, 2, 3, 16, 0.2, 10), (9, 6, 3, 1, 8, 0.1, 7)):
        length = max_len - 2
        ids = rng.integers(1, vocab, (2, length))
        keep = _lengths_keep(rng, 2, length)
        ids = ids * keep
        mask = np.repeat(keep[:, None, :], length, axis=1)
        table, pos = _normal(rng, vocab, d_model), _normal(rng, max_len, d_model)
        weights = np.round(rng.uniform(0.5, 1.5, num_layers), 3).tolist()
        probe = STANDINS + STACK_FAKES + on_meta_device() + META_STANDINS + f"""
_enc = TransformerEncoder({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, {dropout}, {max_len})
_layers = getattr(_enc, "layers", [])
_info = {{"embedding": type(getattr(_enc, "embedding", None)).__name__, "pos": type(getattr(_enc, "pos_encoding", None)).__name__,
          "layers": [type(_l).__name__ for _l in _layers],
          "pe_len": int(getattr(getattr(_enc, "pos_encoding", None), "pe", torch.zeros(1, 0)).shape[1]),
          "p": [float(getattr(getattr(_l, "dropout", None), "p", -1)) for _l in _layers],
          "distinct": len({{id(_p) for _p in _enc.parameters()}}) == len(list(_enc.parameters()))
                      and len({{id(_l) for _l in _layers}}) == len(_layers)}}
_enc.embedding = _TableEmbedding({_lit(table)})
_enc.pos_encoding = _HalfPlusTable({_lit(pos)})
_enc.layers = nn.ModuleList([_TanhEncoderLayer(_w) for _w in {weights!r}])
_info["with_mask"] = _enc({_ids(ids)}, {_ids(mask)}).detach().double()
_info["no_mask"] = _enc({_ids(ids)}).detach().double()
def _meta_stack():
    _m = _with_fakes(TransformerEncoder, DEVICE=_META)({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, {dropout}, {max_len})
    _m.embedding, _m.pos_encoding = _TableEmbedding({_lit(table)}), _HalfPlusTable({_lit(pos)})
    _m.layers = nn.ModuleList([_MetaLayer() for _ in range({num_layers})])
    _m = _m.to("meta")
    _i = {_ids(ids)}.to("meta")
    return [_m(_i, {_ids(mask)}.to("meta")), _m(_i)]
_info["meta"] = _meta_try(_meta_stack)
_info
"""
        got = student.eval(probe)
        call = f"TransformerEncoder({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, {dropout}, {max_len})"
        assert got["embedding"] == "InputEmbeddings" and got["pos"] == "PositionalEncoding", (
            f"{call}: embedding should be an InputEmbeddings and pos_encoding a PositionalEncoding, got "
            f"{got['embedding']} and {got['pos']}")
        assert got["layers"] == ["EncoderLayer"] * num_layers, (
            f"{call}: layers should be an nn.ModuleList of {num_layers} EncoderLayer, got {got['layers']}")
        assert got["distinct"], f"{call}: every layer should be a new EncoderLayer with its own weights (no layer used twice)"
        assert got["pe_len"] == max_len, (
            f"{call}: the positional encodings should cover max_seq_length = {max_len} positions, got {got['pe_len']}")
        assert all(abs(p - dropout) < 1e-12 for p in got["p"]), f"{call}: every layer's dropout should be {dropout}, got {got['p']}"
        for key, m in (("with_mask", mask), ("no_mask", None)):
            want = _stack_expected("encoder", table, pos, ids, weights, mask=m)
            assert_close(got[key], want,
                         f"{call}({'ids, mask' if m is not None else 'ids'}) with the grader's stand-ins (the embedding a "
                         "plain table look-up, the positional encoding 0.5 * x + P, each layer tanh of its input and mask): "
                         "x = pos_encoding(embedding(ids)), then x = layer(x, mask) for every layer in order",
                         rtol=1e-5, atol=1e-5)
        _on_meta(got["meta"], f"{call}.to(device) with the grader's stand-ins (the layers refuse a mask on another device "
                 f"than their input), on ids (2, {length}) with and without a mask, all on that device",
                 "make no tensor on the CPU in forward: pass src_mask on to the layers as it is (None included)")
        ref = reference.eval(probe)
        assert_close(ref["with_mask"], _stack_expected("encoder", table, pos, ids, weights, mask=mask),
                     "grader setup: the reference", rtol=1e-5, atol=1e-5)
        assert ref["meta"] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref['meta']}"


@pytest.mark.points(2)
def test_encoder_properties(student, reference, grading_seed):
    """The whole encoder: padding tokens change no real output, permuting the batch permutes the output"""
    rng = _rng(grading_seed, 13)
    vocab, d_model, heads, num_layers, d_ff, max_len, batch, length = 20, 16, 4, 2, 32, 12, 4, 9
    keep = _lengths_keep(rng, batch, length)
    ids = rng.integers(1, vocab, (batch, length)) * keep
    other = np.where(keep == 1, ids, rng.integers(1, vocab, (batch, length)))
    mask = np.repeat(keep[:, None, :], length, axis=1)
    perm = rng.permutation(batch)
    probe = f"""
torch.manual_seed(1234)
_enc = TransformerEncoder({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, 0.1, {max_len}).eval()
_mask = {_ids(mask)}
_perm = {_ids(perm)}
with torch.no_grad():
    _a = _enc({_ids(ids)}, _mask).double()
    _b = _enc({_ids(other)}, _mask).double()
    _c = _enc({_ids(ids)}[_perm], _mask[_perm]).double()
    _d = _enc({_ids(ids)}, _mask).double()
[_a, _b, _c, _d]
"""
    got = student.eval(probe)
    a, b, c, d = (np.asarray(t, dtype=float) for t in got)
    call = (f"TransformerEncoder({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, 0.1, {max_len}) in eval mode on a "
            f"batch of {batch} sequences of length {length} with trailing padding (mask made by the grader)")
    assert a.shape == (batch, length, d_model), f"{call}: output shape should be ({batch}, {length}, {d_model}), got {a.shape}"
    assert_close(d, a, f"{call}: two calls in eval mode should give the same output (no dropout in eval mode)",
                 rtol=1e-6, atol=1e-6)
    real = keep == 1
    assert_close(b[real], a[real], f"{call}: changing the token ids at the padded positions should change no output at "
                 "a real position (the padding keys get -inf scores)", rtol=1e-4, atol=1e-5)
    assert_close(c, a[perm], f"{call}: permuting the sequences of the batch should permute the outputs the same way "
                 "(nothing may mix the sequences of a batch)", rtol=1e-4, atol=1e-5)
    ref = [np.asarray(t, dtype=float) for t in reference.eval(probe)]
    assert_close(ref[1][real], ref[0][real], "grader setup: the reference", rtol=1e-4, atol=1e-5)


@pytest.mark.points(2)
def test_heads(student, reference, grading_seed):
    """masked_mean averages the real tokens; ClassifierHead and RegressionHead pool with it, then apply their Linear fc"""
    rng = _rng(grading_seed, 14)
    h = _normal(rng, 3, 6, 4)
    keep = _lengths_keep(rng, 3, 6)
    keep[0] = [1, 0, 1, 1, 0, 0]
    probe = (on_meta_device("masked_mean") + f"_h = {_tensor(h)}\n_k = {_ids(keep)}\n"
             "[masked_mean(_h, _k).double(), masked_mean(_h, _k.bool()).double(), masked_mean(_h, _k.float()).double(), "
             "masked_mean(_h).double(), _meta_try(lambda: [_masked_mean(_h.to('meta'), _k.to('meta')), _masked_mean(_h.to('meta'))])]")
    got = student.eval(probe)
    want = (h * keep[..., None]).sum(1) / keep.sum(1, keepdims=True)
    for value, kind in zip(got[:3], ("a long", "a bool", "a float")):
        assert_close(value, want, f"masked_mean(h (3, 6, 4), keep) with {kind} keep {keep.tolist()}: the sum of the "
                     "kept rows divided by their number (not by L)", rtol=1e-5, atol=1e-6)
    assert_close(got[3], h.mean(1), "masked_mean(h) without keep: the mean over the positions (axis 1)", rtol=1e-5, atol=1e-6)
    _on_meta(got[4], "masked_mean(h, keep) and masked_mean(h) for h (3, 6, 4) and keep (3, 6) on that device",
             "make no tensor on the CPU: without keep, h.mean(dim=1); a keep of ones made with torch.ones(...) and no "
             "device fails on a GPU (torch.ones_like or device=h.device)")
    ref = reference.eval(probe)
    assert_close(ref[0], want, "grader setup: the reference", rtol=1e-5, atol=1e-6)
    assert ref[4] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref[4]}"
    rng = _rng(grading_seed, 15)
    fake = '''
def _pool_stand_in(h, keep=None):
    _last = h[:, -1] * 2
    return _last if keep is None else _last - torch.as_tensor(keep, device=h.device).float().sum(1, keepdim=True)
'''
    for cls, d_model, out_dim, ctor in (("ClassifierHead", 6, 3, "ClassifierHead(6, 3)"),
                                        ("ClassifierHead", 4, 5, "ClassifierHead(4, 5)"),
                                        ("RegressionHead", 6, 1, "RegressionHead(6)"),
                                        ("RegressionHead", 5, 2, "RegressionHead(5, output_dim=2)")):
        h = _normal(rng, 3, 5, d_model)
        keep = _lengths_keep(rng, 3, 5)
        w, b = _normal(rng, out_dim, d_model), _normal(rng, out_dim)
        probe = STANDINS + fake + on_meta_device() + META_STANDINS + f"""
_cls = _with_fakes({cls}, masked_mean=_pool_stand_in)
_m = _cls{ctor[len(cls):]}
_fc = getattr(_m, "fc", None)
_shape = list(_fc.weight.shape) if isinstance(_fc, nn.Linear) else None
with torch.no_grad():
    _fc.weight.copy_({_tensor(w)}); _fc.bias.copy_({_tensor(b)})
    _out = [_m({_tensor(h)}, {_ids(keep)}).double(), _m({_tensor(h)}).double()]
_mh = _with_fakes({cls}, masked_mean=_pool_meta, DEVICE=_META){ctor[len(cls):]}.to("meta")
_hm = torch.empty(3, 5, {d_model}, device="meta")
{{"shape": _shape, "out": _out, "meta": _meta_try(lambda: [_mh(_hm, {_ids(keep)}.to("meta")), _mh(_hm)])}}
"""
        got = student.eval(probe)
        call = f"{ctor}"
        assert got["shape"] == [out_dim, d_model], f"{call}.fc should be nn.Linear({d_model}, {out_dim}), weight shape {got['shape']}"
        for value, k in zip(got["out"], (keep, None)):
            pooled_fake = h[:, -1] * 2 - (0 if k is None else k.sum(1, keepdims=True))
            pooled_true = h.mean(1) if k is None else (h * k[..., None]).sum(1) / k.sum(1, keepdims=True)
            want_fake, want_true = pooled_fake @ w.T + b, pooled_true @ w.T + b
            # without keep, a head may pass a keep of ones on to masked_mean (the same pooling): the stand-in's value
            ones_fake = (h[:, -1] * 2 - h.shape[1]) @ w.T + b
            if k is None and is_close(value, ones_fake, rtol=1e-5, atol=1e-5):
                continue
            if not is_close(value, want_true, rtol=1e-5, atol=1e-5):   # pooling done inline is accepted too
                assert_close(value, want_fake,
                             f"{call}(h (3, 5, {d_model}){', keep' if k is not None else ''}) with masked_mean replaced "
                             "by the grader's stand-in pooling: fc(masked_mean(h, keep)), shape (B, "
                             f"{out_dim}) (logits, no softmax)", rtol=1e-5, atol=1e-5)
        _on_meta(got["meta"], f"{call}.to(device) on h (3, 5, {d_model}) with and without keep, on that device (masked_mean "
                 "replaced by the grader's, which refuses a keep on another device than h)",
                 "make no tensor on the CPU in forward: pass keep on as it is (None included); ones made with "
                 "torch.ones(...) and no device fail on a GPU")
        ref = reference.eval(probe)
        assert ref["meta"] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref['meta']}"
        assert_close(ref["out"][0], (h[:, -1] * 2 - keep.sum(1, keepdims=True)) @ w.T + b, "grader setup: the reference",
                     rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- 7. decoder and Transformer
@pytest.mark.points(3)
def test_decoder_layer_matches_torch(student, reference, grading_seed):
    """With the same weights, DecoderLayer equals nn.TransformerDecoderLayer (causal self-attention, cross-attention)"""
    rng = _rng(grading_seed, 16)
    for d_model, heads, d_ff, batch, lt, ls, scale in ((8, 2, 16, 2, 5, 7, 1.0), (12, 3, 20, 3, 6, 4, 2.0)):
        torch_layer = _seeded_layer(nn.TransformerDecoderLayer, grading_seed + 7 * d_model, d_model, heads, d_ff)
        x, y = _normal(rng, batch, lt, d_model), _normal(rng, batch, ls, d_model)
        keep_t, keep_s = _lengths_keep(rng, batch, lt), _lengths_keep(rng, batch, ls)
        tgt_mask = keep_t[:, None, :] * np.tril(np.ones((lt, lt), int))[None]
        cross_mask = np.repeat(keep_s[:, None, :], lt, axis=1)
        dropout_line = "_layer.dropout = _TimesTwo()\n_layer.train()" if scale == 2.0 else "_layer.eval()"
        probe = STANDINS + on_meta_device() + META_STANDINS + f"""
_layer = DecoderLayer({d_model}, {heads}, {d_ff}, 0.1)
_miss = _missing(_layer, ["self_attn", "cross_attn", "ff", "norm1", "norm2", "norm3", "dropout"])
_out = None
if not _miss:
{_indent(_layer_probe_setup(torch_layer, decoder=True))}{_indent(dropout_line)}    with torch.no_grad():
        _out = _layer({_tensor(x)}, {_tensor(y)}, {_ids(tgt_mask)}, {_ids(cross_mask)}).double()
def _meta_layer():
    _l = _with_fakes(DecoderLayer, DEVICE=_META)({d_model}, {heads}, {d_ff}, 0.1)
    _l.self_attn, _l.cross_attn, _l.ff = _MetaMHA({d_model}), _MetaMHA({d_model}), _TorchFF({d_model}, {d_ff})
    _l = _l.to("meta")
    _x, _y = torch.empty({batch}, {lt}, {d_model}, device="meta"), torch.empty({batch}, {ls}, {d_model}, device="meta")
    return [_l(_x, _y, {_ids(tgt_mask)}.to("meta"), {_ids(cross_mask)}.to("meta")), _l(_x, _y)]
{{"missing": _miss, "out": _out, "meta": _meta_try(_meta_layer)}}
"""
        got = student.eval(probe)
        call = f"DecoderLayer({d_model}, {heads}, {d_ff}, 0.1)"
        assert not got["missing"], f"{call}: the attributes {got['missing']} are missing (see the task's list of names)"
        bt, bc = _blocked(tgt_mask, heads), _blocked(cross_mask, heads)
        want = _manual_decoder_layer(torch_layer, _t64(x), _t64(y), bt, bc, scale).detach().numpy()
        if scale == 1.0:
            assert_close(torch_layer(_t64(x), _t64(y), tgt_mask=bt, memory_mask=bc).detach().numpy(), want,
                         "grader setup: the manual decoder layer")
            what = "in eval mode, compared with nn.TransformerDecoderLayer with the same weights"
        else:
            what = ("in train mode with its `dropout` replaced by the grader's module that doubles its input (dropout "
                    "goes on each sublayer's output, before the skip connection)")
        assert_close(got["out"], want,
                     f"{call} {what}, on x ({batch}, {lt}, {d_model}) and encoder output y ({batch}, {ls}, {d_model}) "
                     f"with a target mask ({batch}, {lt}, {lt}) and a cross mask ({batch}, {lt}, {ls}): "
                     "x = norm1(x + dropout(self_attn(x, x, x, tgt_mask))); x = norm2(x + dropout(cross_attn(x, y, y, "
                     "cross_mask))); x = norm3(x + dropout(ff(x))). Likely causes: queries taken from y (they come from "
                     "the decoder), the masks swapped, a norm reused", rtol=1e-4, atol=1e-5)
        _on_meta(got["meta"], f"{call}.to(device) on x ({batch}, {lt}, {d_model}) and y ({batch}, {ls}, {d_model}), with both "
                 "masks and without masks, on that device (its attentions replaced by the grader's, which refuse a mask "
                 "on another device than their input)",
                 "make no tensor on the CPU in forward: pass tgt_mask and cross_mask on as they are; a causal mask made "
                 "here needs make_causal_mask(L, device=x.device)")
        ref = reference.eval(probe)
        assert_close(ref["out"], want, "grader setup: the reference", rtol=1e-4, atol=1e-5)
        assert ref["meta"] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref['meta']}"


@pytest.mark.points(1)
def test_decoder_wiring(student, reference, grading_seed):
    """TransformerDecoder: embedding, positions, every layer with y and both masks, then fc to the vocabulary"""
    rng = _rng(grading_seed, 17)
    for vocab, d_model, heads, num_layers, d_ff, dropout, max_len in ((10, 6, 2, 2, 12, 0.15, 9), (7, 4, 2, 3, 8, 0.05, 6)):
        lt, ls = max_len - 1, 5
        ids = rng.integers(1, vocab, (2, lt))
        y = _normal(rng, 2, ls, d_model)
        tgt_mask = np.tril(np.ones((lt, lt), int))[None].repeat(2, 0) * _lengths_keep(rng, 2, lt)[:, None, :]
        cross_mask = np.repeat(_lengths_keep(rng, 2, ls)[:, None, :], lt, axis=1)
        table, pos = _normal(rng, vocab, d_model), _normal(rng, max_len, d_model)
        fc = (_normal(rng, vocab, d_model), _normal(rng, vocab))
        weights = np.round(rng.uniform(0.5, 1.5, num_layers), 3).tolist()
        probe = STANDINS + STACK_FAKES + on_meta_device() + META_STANDINS + f"""
_dec = TransformerDecoder({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, {dropout}, {max_len})
_layers = getattr(_dec, "layers", [])
_fc = getattr(_dec, "fc", None)
_info = {{"layers": [type(_l).__name__ for _l in _layers], "fc": list(_fc.weight.shape) if isinstance(_fc, nn.Linear) else None,
          "p": [float(getattr(getattr(_l, "dropout", None), "p", -1)) for _l in _layers]}}
_dec.embedding = _TableEmbedding({_lit(table)})
_dec.pos_encoding = _HalfPlusTable({_lit(pos)})
_dec.layers = nn.ModuleList([_TanhDecoderLayer(_w) for _w in {weights!r}])
with torch.no_grad():
    _fc.weight.copy_({_tensor(fc[0])}); _fc.bias.copy_({_tensor(fc[1])})
    _info["out"] = _dec({_ids(ids)}, {_tensor(y)}, {_ids(tgt_mask)}, {_ids(cross_mask)}).double()
def _meta_stack():
    _m = _with_fakes(TransformerDecoder, DEVICE=_META)({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, {dropout}, {max_len})
    _m.embedding, _m.pos_encoding = _TableEmbedding({_lit(table)}), _HalfPlusTable({_lit(pos)})
    _m.layers = nn.ModuleList([_MetaLayer() for _ in range({num_layers})])
    _m = _m.to("meta")
    _i, _y = {_ids(ids)}.to("meta"), torch.empty(2, {ls}, {d_model}, device="meta")
    return [_m(_i, _y, {_ids(tgt_mask)}.to("meta"), {_ids(cross_mask)}.to("meta")), _m(_i, _y)]
_info["meta"] = _meta_try(_meta_stack)
_info
"""
        got = student.eval(probe)
        call = f"TransformerDecoder({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, {dropout}, {max_len})"
        assert got["layers"] == ["DecoderLayer"] * num_layers, f"{call}: layers should be {num_layers} DecoderLayer, got {got['layers']}"
        assert got["fc"] == [vocab, d_model], f"{call}: fc should be nn.Linear({d_model}, {vocab}), got weight shape {got['fc']}"
        assert all(abs(p - dropout) < 1e-12 for p in got["p"]), f"{call}: every layer's dropout should be {dropout}, got {got['p']}"
        want = _stack_expected("decoder", table, pos, ids, weights, mask=tgt_mask, y=y, cross=cross_mask, fc=fc)
        assert_close(got["out"], want,
                     f"{call}(ids ({2}, {lt}), y (2, {ls}, {d_model}), tgt_mask, cross_mask) with the grader's stand-ins "
                     "(table look-up, 0.5 * x + P, layers tanh of x, y and the masks): x = pos_encoding(embedding(ids)), "
                     "x = layer(x, y, tgt_mask, cross_mask) for every layer, then the logits fc(x)", rtol=1e-5, atol=1e-5)
        _on_meta(got["meta"], f"{call}.to(device) with the grader's stand-ins (the layers refuse a mask on another device "
                 f"than their input), on ids (2, {lt}) and y (2, {ls}, {d_model}), with and without masks, all on that device",
                 "make no tensor on the CPU in forward: pass the masks on as they are; a causal mask made here needs "
                 "make_causal_mask(L, device=x.device)")
        ref = reference.eval(probe)
        assert_close(ref["out"], want, "grader setup: the reference", rtol=1e-5, atol=1e-5)
        assert ref["meta"] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref['meta']}"


@pytest.mark.points(2)
def test_decoder_causality(student, reference, grading_seed):
    """The whole decoder: changing future tokens changes no earlier logit; padded encoder positions change nothing"""
    rng = _rng(grading_seed, 18)
    vocab, d_model, heads, num_layers, d_ff, max_len, batch, lt, ls = 15, 16, 4, 2, 24, 12, 3, 8, 6
    t = int(rng.integers(2, lt - 1))
    ids = rng.integers(1, vocab, (batch, lt))
    future = ids.copy()
    future[:, t:] = rng.integers(1, vocab, (batch, lt - t))
    past = ids.copy()
    past[:, 0] = (ids[:, 0] % (vocab - 1)) + 1
    y = _normal(rng, batch, ls, d_model)
    keep_s = _lengths_keep(rng, batch, ls)
    keep_s[0, -2:] = 0
    y_other = np.where(keep_s[..., None] == 1, y, _normal(rng, batch, ls, d_model))
    causal = np.tril(np.ones((lt, lt), int))
    cross = np.repeat(keep_s[:, None, :], lt, axis=1)
    probe = f"""
torch.manual_seed(4321)
_dec = TransformerDecoder({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, 0.1, {max_len}).eval()
_c, _x = {_ids(causal)}, {_ids(cross)}
with torch.no_grad():
    _out = [_dec(_i, _y, _c, _x).double() for _i, _y in (({_ids(ids)}, {_tensor(y)}), ({_ids(future)}, {_tensor(y)}),
                                                         ({_ids(past)}, {_tensor(y)}), ({_ids(ids)}, {_tensor(y_other)}))]
_out
"""
    got = [np.asarray(o, dtype=float) for o in student.eval(probe)]
    call = (f"TransformerDecoder({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, 0.1, {max_len}) in eval mode with a "
            f"causal target mask ({lt}, {lt}) and a cross mask made by the grader")
    assert got[0].shape == (batch, lt, vocab), f"{call}: logits of shape ({batch}, {lt}, {vocab}) expected, got {got[0].shape}"
    assert_close(got[1][:, :t], got[0][:, :t], f"{call}: changing the target tokens at positions {t}.. should change no "
                 f"logit at positions 0..{t - 1} (pass tgt_mask to the self-attention)", rtol=1e-4, atol=1e-5)
    assert not is_close(got[2][:, 1:], got[0][:, 1:], rtol=1e-4, atol=1e-4), (
        f"{call}: changing the first target token should change the later logits (the decoder must attend to the past)")
    assert_close(got[3], got[0], f"{call}: changing the encoder output at padded source positions should change "
                 "nothing (pass cross_mask to the cross-attention)", rtol=1e-4, atol=1e-5)
    ref = [np.asarray(o, dtype=float) for o in reference.eval(probe)]
    assert_close(ref[1][:, :t], ref[0][:, :t], "grader setup: the reference", rtol=1e-4, atol=1e-5)


SPIES = '''
_log = {}
class _SpyEncoder(nn.Module):
    def forward(self, src, src_mask=None):
        _log["encoder"] = [src.tolist(), None if src_mask is None else torch.as_tensor(src_mask).long().tolist()]
        return torch.sin(src.double()).unsqueeze(-1).float() + 0.25
class _SpyDecoder(nn.Module):
    def forward(self, x, y, tgt_mask=None, cross_mask=None):
        _log["decoder"] = [x.tolist(), y.double().tolist(), None if tgt_mask is None else torch.as_tensor(tgt_mask).long().tolist(),
                           None if cross_mask is None else torch.as_tensor(cross_mask).long().tolist()]
        return torch.cos(x.double()).unsqueeze(-1).float()
'''


@pytest.mark.points(3)
def test_transformer_wiring(student, reference, grading_seed):
    """Transformer (corrected): constructor order, encoder on the source, decoder on the target, a (B, L_tgt, L_src) cross mask"""
    rng = _rng(grading_seed, 19)
    vocab, d_model, heads, num_layers, d_ff, max_len, dropout = 13, 8, 2, 2, 16, 11, 0.3
    batch, ls, lt = 2, 7, 4
    keep_s, keep_t = _lengths_keep(rng, batch, ls), _lengths_keep(rng, batch, lt)
    src, tgt = rng.integers(1, vocab, (batch, ls)) * keep_s, rng.integers(1, vocab, (batch, lt)) * keep_t
    src_mask = np.repeat(keep_s[:, None, :], ls, axis=1)
    tgt_mask = keep_t[:, None, :] * np.tril(np.ones((lt, lt), int))[None]
    given_cross = np.repeat(_lengths_keep(rng, batch, ls)[:, None, :], lt, axis=1)
    probe = STANDINS + SPIES + on_meta_device() + META_STANDINS + f"""
_model = Transformer({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, {max_len}, {dropout})
_enc, _dec = getattr(_model, "encoder", None), getattr(_model, "decoder", None)
_info = {{"types": [type(_enc).__name__, type(_dec).__name__],
          "pe_len": [int(_m.pos_encoding.pe.shape[1]) for _m in (_enc, _dec)],
          "p": [float(_m.layers[0].dropout.p) for _m in (_enc, _dec)], "n_layers": [len(_m.layers) for _m in (_enc, _dec)]}}
_model.encoder, _model.decoder = _SpyEncoder(), _SpyDecoder()
_info["out"] = _model({_ids(src)}, {_ids(tgt)}, {_ids(src_mask)}, {_ids(tgt_mask)}).double()
_info["first"] = dict(_log)
_model({_ids(src)}, {_ids(tgt)}, {_ids(src_mask)}, {_ids(tgt_mask)}, {_ids(given_cross)})
_info["given"] = dict(_log)
def _meta_model():
    _m = _with_fakes(Transformer, DEVICE=_META)({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, {max_len}, {dropout})
    _m.encoder, _m.decoder = _MetaSpyEncoder(), _MetaSpyDecoder()
    _m = _m.to("meta")
    return _m({_ids(src)}.to("meta"), {_ids(tgt)}.to("meta"), {_ids(src_mask)}.to("meta"), {_ids(tgt_mask)}.to("meta"))
_info["meta"] = _meta_try(_meta_model)
_info
"""
    got = student.eval(probe)
    call = f"Transformer({vocab}, {d_model}, {heads}, {num_layers}, {d_ff}, max_seq_length={max_len}, dropout={dropout})"
    assert got["types"] == ["TransformerEncoder", "TransformerDecoder"], (
        f"{call}: encoder and decoder should be a TransformerEncoder and a TransformerDecoder, got {got['types']}")
    assert got["pe_len"] == [max_len, max_len] and all(abs(p - dropout) < 1e-12 for p in got["p"]), (
        f"{call}: the parts take (..., d_ff, dropout, max_seq_length) while Transformer takes (..., d_ff, max_seq_length, "
        f"dropout): pass them in the parts' order. Got positional encodings of {got['pe_len']} positions and dropout "
        f"{got['p']}")
    assert got["n_layers"] == [num_layers, num_layers], f"{call}: both parts should have {num_layers} layers, got {got['n_layers']}"
    enc, dec = got["first"].get("encoder"), got["first"].get("decoder")
    fwd = f"{call}.forward(src ({batch}, {ls}), tgt ({batch}, {lt}), src_mask, tgt_mask) with spies for the encoder and decoder"
    assert enc is not None and dec is not None, f"{fwd}: both the encoder and the decoder should be called"
    assert enc[0] == src.tolist() and enc[1] == src_mask.tolist(), f"{fwd}: the encoder should get (src, src_mask)"
    assert dec[0] == tgt.tolist(), (
        f"{fwd}: the decoder should get the target ids tgt as its first argument, it got {dec[0]} (the course text's bug "
        "feeds it the source)")
    want_y = np.sin(src.astype(float))[..., None] + 0.25
    assert_close(np.asarray(dec[1], dtype=float), want_y, f"{fwd}: the decoder's second argument should be the encoder's output",
                 rtol=1e-5, atol=1e-6)
    assert dec[2] == tgt_mask.tolist(), f"{fwd}: the decoder should get tgt_mask as its target mask"
    want_cross = np.repeat(keep_s[:, None, :], lt, axis=1)
    got_cross = dec[3]
    assert got_cross is not None and np.asarray(got_cross).shape == want_cross.shape and np.array_equal(got_cross, want_cross), (
        f"{fwd}: without cross_mask the decoder should get one made from src_mask, of shape (B, L_tgt, L_src) = "
        f"{want_cross.shape} with the source's key pattern in every row (src_mask[:, :1, :] expanded to L_tgt rows); got "
        f"{'None' if got_cross is None else np.asarray(got_cross).shape}")
    assert got["given"]["decoder"][3] == given_cross.tolist(), f"{call}.forward(..., cross_mask): a given cross_mask is passed on as it is"
    assert_close(got["out"], np.cos(tgt.astype(float))[..., None], f"{fwd}: the output should be the decoder's logits",
                 rtol=1e-5, atol=1e-6)
    _on_meta(got["meta"], f"{call}.to(device).forward(src, tgt, src_mask, tgt_mask) without cross_mask, all on that device "
             "(the encoder and decoder replaced by the grader's, which refuse a mask on another device than their input)",
             "make the cross mask from src_mask itself (src_mask[:, :1, :].expand(-1, L_tgt, -1)): a tensor made with "
             "torch.ones(...) and no device is on the CPU, which fails on a GPU")
    ref = reference.eval(probe)
    assert ref["first"]["decoder"][0] == tgt.tolist(), "grader setup: the reference"
    assert ref["meta"] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref['meta']}"


# --------------------------------------------------------------------------- 8. parameter counts
def _counts(vocab, d, f, n):
    mha = 4 * d * d + d
    ffn = 2 * d * f + d + f
    enc_layer = mha + ffn + 4 * d
    dec_layer = 2 * mha + ffn + 6 * d
    encoder = vocab * d + n * enc_layer
    decoder = vocab * d + n * dec_layer + d * vocab + vocab
    return {"mha": mha, "ffn": ffn, "enc_layer": enc_layer, "dec_layer": dec_layer, "encoder": encoder,
            "decoder": decoder, "transformer": encoder + decoder}


@pytest.mark.points(1)
def test_parameter_counts(student, reference):
    """count_parameters counts trainable parameters; every module has the expected number of parameters"""
    probe = """
_m = nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.Linear(7, 3))
_m[0].weight.requires_grad_(False)
[count_parameters(_m), type(count_parameters(_m)).__name__, count_parameters(PositionalEncoding(8, 50))]
"""
    got = student.eval(probe)
    assert got[1] == "int", f"count_parameters should return an int, got a {got[1]}"
    assert got[0] == 7 + 14 + 24, (
        f"count_parameters of Linear(5, 7) (weight frozen), BatchNorm1d(7), Linear(7, 3): the trainable parameters "
        f"are 7 + 14 + 24 = 45 (frozen weights and buffers do not count), got {got[0]}")
    assert got[2] == 0, f"count_parameters(PositionalEncoding(8, 50)) should be 0 (pe is a buffer), got {got[2]}"
    for vocab, d, h, f, n in ((50, 16, 4, 32, 2), (23, 12, 3, 20, 3)):
        probe = f"""
_n = lambda _m: sum(_p.numel() for _p in _m.parameters())
{{"mha": _n(MultiHeadAttention({d}, {h})), "ffn": _n(FeedForwardSubLayer({d}, {f})), "enc_layer": _n(EncoderLayer({d}, {h}, {f}, 0.1)),
  "dec_layer": _n(DecoderLayer({d}, {h}, {f}, 0.1)), "encoder": _n(TransformerEncoder({vocab}, {d}, {h}, {n}, {f}, 0.1, 20)),
  "decoder": _n(TransformerDecoder({vocab}, {d}, {h}, {n}, {f}, 0.1, 20)),
  "transformer": _n(Transformer({vocab}, {d}, {h}, {n}, {f}, 20, 0.1))}}
"""
        got = student.eval(probe)
        want = _counts(vocab, d, f, n)
        for key, what in (("mha", f"MultiHeadAttention({d}, {h}): 4 d^2 + d"), ("ffn", f"FeedForwardSubLayer({d}, {f})"),
                          ("enc_layer", "EncoderLayer: attention + feed-forward + two LayerNorms"),
                          ("dec_layer", "DecoderLayer: two attentions + feed-forward + three LayerNorms"),
                          ("encoder", f"TransformerEncoder (vocab {vocab}, {n} layers): table + layers"),
                          ("decoder", f"TransformerDecoder (vocab {vocab}, {n} layers): table + layers + fc"),
                          ("transformer", "Transformer: encoder + decoder")):
            assert got[key] == want[key], f"{what} should have {want[key]} parameters, got {got[key]}"
        assert reference.eval(probe) == want, "grader setup: the reference's counts"


# --------------------------------------------------------------------------- 9. training
STEP_MODEL = '''
class _BagModel(nn.Module):
    """A small stand-in classifier: mean of embeddings, dropout, linear."""
    def __init__(self, table, w, b):
        super().__init__()
        self.emb = nn.Parameter(torch.tensor(table))
        self.fc = nn.Linear(len(w[0]), len(w))
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor(w)); self.fc.bias.copy_(torch.tensor(b))
        self.modes = []
    def forward(self, ids):
        self.modes.append(self.training)
        return self.fc(torch.tanh(self.emb[ids].mean(1)))
'''


@pytest.mark.points(2)
def test_train_step(student, reference, grading_seed):
    """train_step: train mode, fresh gradients, cross-entropy, clipping to max_norm, one optimizer step"""
    rng = _rng(grading_seed, 20)
    vocab, d, classes, batch = 9, 5, 3, 8
    table, w, b = _normal(rng, vocab, d), _normal(rng, classes, d, scale=2.0), _normal(rng, classes)
    ids = rng.integers(0, vocab, (batch, 4))
    labels = rng.integers(0, classes, batch)
    settings = [(0.5, None), (0.5, 0.05), (0.2, 100.0)]
    probe = STEP_MODEL + f"""
_model = _BagModel({_lit(table)}, {_lit(w)}, {_lit(b)}).eval()
_opt = torch.optim.SGD(_model.parameters(), lr=0.5)
_ids, _labels = {_ids(ids)}, {_ids(labels)}
_res = []
for _lr, _max_norm in {settings!r}:
    for _g in _opt.param_groups:
        _g["lr"] = _lr
    _loss = train_step(_model, _opt, _ids, _labels, max_norm=_max_norm)
    _res.append({{"loss": _loss if isinstance(_loss, float) else None, "type": type(_loss).__name__,
                 "params": [_p.detach().double() for _p in _model.parameters()]}})
{{"steps": _res, "modes": _model.modes}}
"""
    got = student.eval(probe)
    params = [_t64(table), _t64(w), _t64(b)]
    call = "train_step(model, SGD optimizer, ids (8, 4), labels (8,), max_norm) on the grader's small classifier"
    for i, (lr, max_norm) in enumerate(settings):
        p = [t.clone().requires_grad_(True) for t in params]
        logits = torch.tanh(p[0][torch.tensor(ids)].mean(1)) @ p[1].T + p[2]
        loss = F.cross_entropy(logits, torch.tensor(labels))
        grads = torch.autograd.grad(loss, p)
        if max_norm is not None:
            norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
            grads = [g * min(1.0, max_norm / (float(norm) + 1e-6)) for g in grads]
        params = [(t - lr * g).detach() for t, g in zip(params, grads)]
        step = got["steps"][i]
        what = f"{call}, step {i + 1} (lr={lr}, max_norm={max_norm})"
        assert step["loss"] is not None, f"{what} should return the loss as a Python float (loss.item()), got a {step['type']}"
        assert_close(step["loss"], loss.item(), f"{what}: the cross-entropy of the batch before the update", rtol=1e-5, atol=1e-6)
        for name, value, want in zip(("embedding table", "fc.weight", "fc.bias"), step["params"], params):
            assert_close(value, want.numpy(),
                         f"{what}: {name} after the step. Expected p - lr * grad with fresh gradients (zero_grad before "
                         "backward), clipped with nn.utils.clip_grad_norm_(model.parameters(), max_norm) after backward "
                         "and before optimizer.step() (no clipping when max_norm is None)", rtol=1e-4, atol=1e-5)
    assert got["modes"] and all(got["modes"]), (
        "train_step was given a model in eval mode: it should call model.train() before the forward pass")
    assert_close(reference.eval(probe)["steps"][2]["loss"], got["steps"][2]["loss"], "grader setup: the reference",
                 rtol=1e-4, atol=1e-5)


@pytest.mark.points(1)
def test_accuracy(student, reference, grading_seed):
    """accuracy: argmax of the logits against the labels, in eval mode, without gradients"""
    rng = _rng(grading_seed, 21)
    n, classes = 17, 4
    logits = _normal(rng, n, classes)
    labels = np.where(rng.random(n) < 0.6, logits.argmax(1), rng.integers(0, classes, n))
    probe = f"""
class _Lookup(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Parameter({_tensor(logits)})
        self.seen = []
    def forward(self, ids):
        self.seen.append([self.training, torch.is_grad_enabled()])
        return self.table[ids[:, 0]] * 1.0
_m = _Lookup().train()
_a = accuracy(_m, torch.arange({n}).unsqueeze(1), {_ids(labels)})
[_a if isinstance(_a, float) else None, type(_a).__name__, _m.seen]
"""
    got = student.eval(probe)
    want = float((logits.argmax(1) == labels).mean())
    call = f"accuracy(model, ids, labels) on {n} rows with 4 classes (the model returns the grader's logits)"
    assert got[0] is not None, f"{call} should return a Python float, got a {got[1]}"
    assert_close(got[0], want, f"{call}: the fraction of rows whose largest logit is the label", rtol=1e-6, atol=1e-6)
    assert got[2] and all(s == [False, False] for s in got[2]), (
        f"{call}: the model should run in eval mode (model.eval()) and under torch.no_grad(); seen [training, grad "
        f"enabled] = {got[2]}")
    assert_close(reference.eval(probe)[0], want, "grader setup: the reference", rtol=1e-6, atol=1e-6)


@pytest.mark.points(3)
def test_classifier_quality(student, reference, grading_seed):
    """The trained encoder classifier tells whether A comes before B on hidden sequences"""
    vocab, max_len = reference.eval("[VOCAB_SIZE, MAX_LEN]")
    ids, labels = _order_task(_rng(grading_seed, 22), N_HIDDEN, vocab, max_len)
    probe = f"""
classifier.eval()
with torch.no_grad():
    _pred = classifier({_ids(ids)}.to(DEVICE)).argmax(-1).cpu()
_pred
"""
    got = np.asarray(student.eval(probe))
    acc = float((got == labels).mean())
    assert acc >= QUALITY_THRESHOLD, (
        f"the notebook's trained classifier labels {acc:.3f} of {N_HIDDEN} hidden sequences correctly (A before B?); it "
        f"should reach {QUALITY_THRESHOLD}. Likely causes: positional encodings missing or not added, a train_step that "
        "does not update the model (zero_grad, backward, step), masks that let padding in")
    ref = float((np.asarray(reference.eval(probe)) == labels).mean())
    assert ref >= QUALITY_THRESHOLD, f"grader setup: the reference reaches only {ref:.3f}"
