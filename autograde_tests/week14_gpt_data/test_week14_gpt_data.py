"""Hidden tests for week14_gpt_data: character tokens, batches and a bigram baseline (tiny Shakespeare).

Total: 40 points over 20 tests.

Probes run the student's functions in the student's kernel (and the same probe in the reference
kernel) and return plain data. The expected answers are computed here, in the grader process:
vocabularies built from strings made up from `grading_seed`, windows replayed with the same
seeded `torch.Generator`, losses in float64 from the weights the probe set, samples replayed with
`torch.multinomial` and the same generator. What the notebook's own cells made (the vocabulary
size, the split, the seeded first batch, the trained model) is compared with what the test
derives from the reference's text (`text` of the reference kernel): from V, from the file's
length, never from the student's globals, and never from hard-coded numbers of the real file
(the offline stand-in keeps the real vocabulary, V = 65, and its opening "First Cit", which are
checked literally; other numbers differ between the two files).

Each function is graded on its own. `estimate_loss` and `train` call `get_batch`: they run with
a *fake* get_batch (grader.testing.with_fakes) that draws its rows with torch.randperm and
returns constant rows, and with stand-in models defined in the probe (a stub that records its
mode and the grad state of every call; a small Embedding -> tanh -> Linear network), so that no
correct implementation of a graded function enters the student's kernel (DESIGN.md section 4).
A function that does get_batch's work inline gets the true windows, which are accepted too.
`generate` is called unbound on a stub "model" whose logits are a lookup in a table the test
chose, so it is graded apart from `forward`.

Device checks (PyTorch's meta device stands in for a GPU, with a GPU's rules, see grader.testing.on_meta_device):
test_estimate_loss_modes and test_train_mode_and_types also run the loops on a small model moved to the meta
device, and test_generate runs generate there, so a batch or a sample left on the CPU loses those tests' points,
as it would fail on a GPU.

The training loop is compared with the reference's seeded numbers (a replay here of the same
steps: AdamW / SGD on the stand-in network), which a loop without zero_grad, without
optimizer.step or without model.train() does not reproduce. The trained model is graded by its
full validation loss (recomputed here in float64 from the student's table, on the reference's
validation split) against the reference's plus VAL_MARGIN. The margin (0.03) comes from the
reference's spread on the offline stand-in with FAST_STEPS = 1000 (AdamW, lr 1e-2, batch 32,
block 8): over SEED 0-9 its full validation loss ranged over 2.3446-2.3486 (a spread of 0.004;
2.3463 at SEED 0), so a correct loop that draws its batches in another order passes with room
to spare, and GPU arithmetic too; an untrained table is at about 4.5, half the training (500
steps) gives 2.440-2.446, and a loop without zero_grad 2.48.
"""

from __future__ import annotations

import math
import random
import string

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.testing import assert_close, assert_on_meta, is_close, on_meta_device, remember, with_fakes

F64 = torch.float64
VAL_MARGIN = 0.03
FIRST_CIT = [18, 47, 56, 57, 58, 1, 15, 47, 58]
POOL = string.ascii_letters + "\n !$&',-.3:;?"

# Probe code: the fake get_batch (rows drawn with torch.randperm, each row one repeated token).
FAKE_BATCH = '''import torch
def _fake_get_batch(data, batch_size, block_size, generator=None):
    _i = torch.randperm(len(data) - block_size, generator=generator)[:batch_size]
    return data[_i][:, None].repeat(1, block_size), data[_i + 1][:, None].repeat(1, block_size)
'''
FAKE_NOTE = ("the grader's stand-in for get_batch (each batch row is one token repeated, the rows drawn with "
             "torch.randperm from the generator), so that only your loop is graded")

# A stub model for estimate_loss: records mode, grad state and shapes of every call; its loss
# depends on the batch and on the mode (train mode adds 10).
STUB = '''class _Stub(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([0.5]))
        self.log = []
    def forward(self, idx, targets=None):
        self.log.append([bool(self.training), bool(torch.is_grad_enabled()), list(idx.shape)])
        _v = (idx.float() * 0.031 + targets.float() * 0.017).mean() * (2 * self.w[0]) + 10.0 * self.training
        return None, _v
'''

# A small network for train (not a bigram table): Embedding -> tanh -> Linear, records its mode.
TINY = '''class _Tiny(torch.nn.Module):
    def __init__(self, vocab, width):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, width)
        self.head = torch.nn.Linear(width, vocab)
        self.modes = []
    def forward(self, idx, targets=None):
        self.modes.append(bool(self.training))
        _z = self.head(torch.tanh(self.emb(idx)))
        if targets is None:
            return _z, None
        return _z, torch.nn.functional.cross_entropy(_z.flatten(0, 1), targets.flatten())
'''


# ---- device checks on PyTorch's meta device, with a GPU's rules (grader.testing.on_meta_device)
def _meta_run(thunk: str) -> str:
    """Probe code: `_meta`, what `_meta_try` says of `thunk` (an expression)."""
    return f"_meta = _meta_try(lambda: {thunk})\n"


# Probe code: a small language model for the meta device; the lookup of its logits needs idx on its device, and
# its loss the targets.
META_LM = '''class _MetaLM(torch.nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.table = torch.nn.Parameter(torch.zeros(vocab, vocab))
    def forward(self, idx, targets=None):  # a stand-in
        _lg = torch.nn.functional.embedding(idx, self.table)
        # not the cross-entropy of the task: any loss that reads the targets, so they must be on the device too
        return _lg, (_lg.logsumexp(-1) - targets.to(_lg.dtype)).square().mean()
'''
BATCHES_ON_THE_DEVICE = ("move every batch to the model's device before running the model: model(x.to(device), "
                         "y.to(device)) with device = next(model.parameters()).device (get_batch makes its batches on "
                         "the CPU)")


def _namespace(source: str) -> dict:
    ns: dict = {"torch": torch}
    exec(source, ns)
    return ns


# --------------------------------------------------------------------------- oracles
def _vocab(text: str):
    chars = sorted(set(text))
    return {c: i for i, c in enumerate(chars)}, {i: c for i, c in enumerate(chars)}


@remember  # the text's tokens, the same for every submission (a Python loop over the whole text)
def _encoded(text: str) -> np.ndarray:
    stoi, _ = _vocab(text)
    return np.array([stoi[c] for c in text], dtype=np.int64)


def _windows(data: torch.Tensor, ix, block_size: int):
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y


def _batch(data: torch.Tensor, batch_size: int, block_size: int, g: torch.Generator):
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=g)
    return _windows(data, ix, block_size)


def _reference_text(reference) -> str:
    return reference.eval("text")


def _file_code(stoi: dict) -> str:
    """Probe code: `_data`, the notebook's file encoded with a table the grader made (not the student's encode)."""
    table = [stoi.get(chr(c), -1) for c in range(256)]
    return ("import os as _os\n"
            "with open(_os.path.join(DATA_DIR, 'input.txt'), 'rb') as _f:\n"
            "    _bytes = _f.read()\n"
            f"_data = torch.tensor({table!r})[torch.tensor(list(_bytes))]\n")


def _first_diff(got, want) -> str:
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return f"shape {tuple(got.shape)} instead of {tuple(want.shape)}"
    bad = np.argwhere(got != want)
    if not len(bad):
        return "they agree"
    i = tuple(bad[0])
    return f"{len(bad)} entries differ, the first at {list(map(int, i))}: expected {want[i]}, got {got[i]}"


# --------------------------------------------------------------------------- 1. vocabulary
@pytest.mark.points(2)
def test_build_vocab(student, reference, grading_seed):
    """build_vocab numbers the sorted distinct characters of a text (stoi) and maps them back (itos)"""
    rng = random.Random(grading_seed + 1)
    texts = ["hello world", "First Citizen:\nBefore we proceed"]
    for n, k in [(40, 12), (200, 30), (15, 15), (7, 1)]:
        chars = rng.sample(POOL, k)
        texts.append("".join(rng.choice(chars) for _ in range(n)))
    probe = ("_out = []\n"
             f"for _t in {texts!r}:\n"
             "    _s, _i = build_vocab(_t)\n"
             "    _out.append([type(_s).__name__, type(_i).__name__, {str(_k): int(_v) for _k, _v in _s.items()},\n"
             "                 sorted([int(_k), str(_v)] for _k, _v in _i.items())])\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for text, (ts, ti, stoi, itos), ref_answer in zip(texts, got, ref):
        want_s, want_i = _vocab(text)
        assert ref_answer[2] == want_s, "grader setup: the reference's vocabulary changed"
        call = f"build_vocab({text[:30]!r}{'...' if len(text) > 30 else ''})"
        assert ts == "dict" and ti == "dict", f"{call} should return two dicts (stoi, itos), got {ts} and {ti}"
        assert sorted(stoi) == sorted(want_s), \
            (f"{call}: stoi should have one key per distinct character, {len(want_s)} of them "
             f"({''.join(sorted(want_s))!r}), got {len(stoi)} ({''.join(sorted(stoi))!r})")
        assert stoi == want_s, \
            (f"{call}: stoi should number the characters by their place in the sorted list "
             f"{''.join(sorted(want_s))!r} (from 0), expected {want_s}, got {stoi} (sorted(set(text)), not the "
             "order in which they appear)")
        assert itos == sorted([i, c] for i, c in want_i.items()), \
            f"{call}: itos should map each id back to its character (the inverse of stoi), got {dict(itos)}"


@pytest.mark.points(2)
def test_encode_decode(student, reference, grading_seed):
    """encode and decode use the vocabulary they are given, and decode(encode(s)) == s"""
    rng = random.Random(grading_seed + 2)
    cases = []
    for k in (5, 20, 65):
        chars = sorted(rng.sample(POOL, min(k, len(POOL))))
        stoi = {c: i for i, c in enumerate(chars)}
        strings = ["".join(rng.choice(chars) for _ in range(n)) for n in (1, 9, 37)]
        cases.append((stoi, strings))
    probe = ("_out = []\n"
             f"for _s, _strings in {cases!r}:\n"
             "    _i = {_v: _k for _k, _v in _s.items()}\n"
             "    _enc = [encode(_x, _s) for _x in _strings]\n"
             "    _ids = [[int(_v) for _v in _e] for _e in _enc]\n"
             "    _out.append({'types': [type(_e).__name__ for _e in _enc], 'enc': _ids,\n"
             "                 'dec': [decode(_e, _i) for _e in _ids],\n"
             "                 'dec_tensor': [decode(torch.tensor(_e, dtype=torch.long), _i) for _e in _ids]})\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (stoi, strings), answer, ref_answer in zip(cases, got, ref):
        want = [[stoi[c] for c in s] for s in strings]
        assert ref_answer["enc"] == want, "grader setup: the reference's encode changed"
        vocab = "".join(stoi)
        for s, w, kind, enc, dec, dect in zip(strings, want, answer["types"], answer["enc"], answer["dec"],
                                              answer["dec_tensor"]):
            call = f"encode({s!r}, stoi) with a hidden vocabulary of {len(stoi)} characters {vocab!r}"
            assert kind == "list", f"{call} should return a list of ints, got a {kind}"
            assert enc == w, (f"{call} should be {w}, got {enc} (use the stoi you are given, not the notebook's "
                              "global one)")
            assert dec == s, f"decode({w}, itos) with the same vocabulary should give {s!r}, got {dec!r}"
            assert dect == s, f"decode(torch.tensor({w}), itos) (a tensor of ids) should give {s!r}, got {dect!r}"


@pytest.mark.points(1.5)
def test_split_data(student, reference, grading_seed):
    """split_data cuts int(train_frac * len(data)) tokens for training and keeps the rest"""
    rng = random.Random(grading_seed + 3)
    cases = [(10, 0.9), (37, 0.5), (101, 0.75), (rng.randint(50, 500), 1 / 3), (rng.randint(20, 90), 0.9)]
    probe = ("_out = []\n"
             f"for _n, _f in {cases!r}:\n"
             "    _d = torch.arange(_n) * 3 + 1\n"
             "    _a, _b = split_data(_d, _f)\n"
             "    _out.append([_a.tolist(), _b.tolist()])\n"
             f"_a, _b = split_data(torch.arange({cases[-1][0]}) * 3 + 1)\n"
             "_out.append([_a.tolist(), _b.tolist()])\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (n, frac), (a, b), (ra, _) in zip(cases + [(cases[-1][0], None)], got, ref):
        d = [3 * i + 1 for i in range(n)]
        cut = int((0.9 if frac is None else frac) * n)
        assert ra == d[:cut], "grader setup: the reference's split changed"
        call = f"split_data(a tensor of {n} tokens{'' if frac is None else f', {frac:.4g}'})"
        if frac is None:
            call += " (the default train_frac)"
        assert (len(a), len(b)) == (cut, n - cut), \
            (f"{call} should give {cut} training and {n - cut} validation tokens (n = int(train_frac * len(data)) "
             f"= {cut}), got {len(a)} and {len(b)}")
        assert a == d[:cut] and b == d[cut:], \
            f"{call} should return (data[:n], data[n:]) in the order of the data (a cut, not a shuffle)"


@pytest.mark.points(2)
def test_notebook_data(student, reference):
    """The notebook's vocabulary (V = 65, "First Cit"), token tensor and 90/10 split of the text"""
    text = _reference_text(reference)
    stoi, _ = _vocab(text)
    n = int(0.9 * len(text))
    probe = ("[_k for _k in ['stoi', 'itos', 'V', 'data', 'train_data', 'val_data'] if _k not in globals()] or "
             "{'V': int(V), 'cit': [int(_v) for _v in encode('First Cit', stoi)], 'n': [len(train_data), len(val_data)],"
             " 'dtype': str(data.dtype), 'head': train_data[:50], 'tail': val_data[-50:],"
             " 'mid': train_data[len(train_data) // 2:len(train_data) // 2 + 50]}")
    got = student.eval(probe)
    assert isinstance(got, dict), (f"the notebook's data cells did not run to the end ({', '.join(got)} missing): look "
                                   "at the first error in your notebook")
    assert len(stoi) == 65, "grader setup: the text should have the 65 symbols of tiny Shakespeare"
    assert got["V"] == len(stoi), f"V = len(stoi) should be {len(stoi)} for the notebook's text, got {got['V']}"
    assert got["cit"] == FIRST_CIT, f'encode("First Cit", stoi) should be the course\'s {FIRST_CIT}, got {got["cit"]}'
    assert got["dtype"] == "torch.int64", f"data should be an int64 tensor, got {got['dtype']}"
    assert got["n"] == [n, len(text) - n], \
        (f"the text has {len(text):,} characters: train_data should hold int(0.9 * {len(text)}) = {n:,} tokens and "
         f"val_data the other {len(text) - n:,}, got {got['n'][0]:,} and {got['n'][1]:,}")
    ids = _encoded(text).tolist()
    mid = n // 2
    for key, want, where in [("head", ids[:50], "the first 50 tokens of train_data"),
                             ("mid", ids[mid:mid + 50], "50 tokens from the middle of train_data"),
                             ("tail", ids[len(text) - 50:], "the last 50 tokens of val_data")]:
        assert got[key].tolist() == want, f"{where} should be the text's characters encoded: {_first_diff(got[key], want)}"


# --------------------------------------------------------------------------- 2. blocks and batches
@pytest.mark.points(1.5)
def test_context_target_pairs(student, reference, grading_seed):
    """context_target_pairs gives block_size examples: x[:t+1] -> y[t]"""
    rng = random.Random(grading_seed + 4)
    cases = [(FIRST_CIT, 8, "list")]
    for block_size, extra in [(1, 0), (3, 4), (5, 0), (8, 3), (2, 6)]:
        seq = [rng.randrange(65) for _ in range(block_size + 1 + extra)]
        cases.append((seq, block_size, "tensor" if block_size % 2 else "list"))
    probe = ("_out = []\n"
             f"for _seq, _bs, _kind in {cases!r}:\n"
             "    _s = torch.tensor(_seq) if _kind == 'tensor' else list(_seq)\n"
             "    _p = context_target_pairs(_s, _bs)\n"
             "    _out.append([[[int(_v) for _v in _c], int(_t)] for _c, _t in _p])\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (seq, block_size, kind), pairs, ref_pairs in zip(cases, got, ref):
        want = [[seq[:t + 1], seq[t + 1]] for t in range(block_size)]
        assert ref_pairs == want, "grader setup: the reference's pairs changed"
        call = f"context_target_pairs({seq} as a {kind}, block_size={block_size})"
        assert len(pairs) == block_size, \
            (f"{call} should give {block_size} pairs (a chunk of block_size + 1 tokens holds block_size examples; "
             f"tokens after the first {block_size + 1} are not used), got {len(pairs)}")
        bad = next(t for t in range(block_size) if pairs[t] != want[t]) if pairs != want else None
        assert bad is None, (f"{call}: pair #{bad} should be context {want[bad][0]} -> target {want[bad][1]}, got "
                             f"{pairs[bad][0]} -> {pairs[bad][1]} (the t-th context is x[:t + 1], its target y[t] = "
                             "seq[t + 1])")


def _window_cases(grading_seed: int):
    rng = random.Random(grading_seed + 5)
    cases = []
    for n, batch, block in [(50, 4, 8), (13, 7, 3), (9, 5, 8), (rng.randint(30, 80), 16, 1), (rng.randint(20, 40), 6, 5)]:
        perm = list(range(n))
        rng.shuffle(perm)
        cases.append((perm, batch, block, rng.randrange(10**6)))
    return cases


@pytest.mark.points(3)
def test_get_batch_windows(student, reference, grading_seed):
    """get_batch draws starts in [0, len - block_size) and returns x = data[i:i+T], y = data[i+1:i+T+1]"""
    cases = _window_cases(grading_seed)
    probe = ("_out = []\n"
             f"for _d, _b, _t, _seed in {cases!r}:\n"
             "    _x, _y = get_batch(torch.tensor(_d), _b, _t, generator=torch.Generator().manual_seed(_seed))\n"
             "    _out.append([type(_x).__name__, type(_y).__name__, _x, _y])\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (perm, batch, block, seed), (tx, ty, x, y), ref_answer in zip(cases, got, ref):
        data = torch.tensor(perm)
        want_x, want_y = _batch(data, batch, block, torch.Generator().manual_seed(seed))
        assert np.array_equal(ref_answer[2], want_x.numpy()), "grader setup: the reference's batch changed"
        call = (f"get_batch(data, batch_size={batch}, block_size={block}, generator) on {len(perm)} hidden tokens "
                f"(all different)")
        assert tx == ty == "Tensor", f"{call} should return two tensors (x, y), got {tx} and {ty}"
        assert x.dtype == np.int64 and y.dtype == np.int64, f"{call}: x and y should be int64, got {x.dtype}, {y.dtype}"
        assert x.shape == (batch, block), f"{call}: x should have shape ({batch}, {block}), got {tuple(x.shape)}"
        assert y.shape == (batch, block), \
            (f"{call}: y should have shape ({batch}, {block}) like x: the targets are block_size tokens shifted by "
             f"one (data[i+1:i+block_size+1]), not block_size + 1 tokens; got {tuple(y.shape)}")
        starts = [perm.index(int(v)) for v in x[:, 0]]
        for row, start in enumerate(starts):
            assert start < len(perm) - block, \
                (f"{call}: row {row} starts at position {start}, but the starts must lie in [0, len(data) - block_size) "
                 f"= [0, {len(perm) - block})")
            assert x[row].tolist() == perm[start:start + block], \
                f"{call}: row {row} of x should be the window data[{start}:{start + block}], got {x[row].tolist()}"
            assert y[row].tolist() == perm[start + 1:start + block + 1], \
                (f"{call}: row {row} of y should be data[{start + 1}:{start + block + 1}] = "
                 f"{perm[start + 1:start + block + 1]} (the window of x shifted by one), got {y[row].tolist()}")
        assert np.array_equal(x, want_x.numpy()), \
            (f"{call}: the start positions should be torch.randint(len(data) - block_size, (batch_size,), "
             f"generator=generator), i.e. {[perm.index(int(v)) for v in want_x[:, 0]]}, got {starts}")


@pytest.mark.points(2.5)
def test_get_batch_generator(student, reference, grading_seed):
    """get_batch draws from the generator it is given (same seed, same batch) or from torch's global one"""
    rng = random.Random(grading_seed + 6)
    perm = list(range(60))
    rng.shuffle(perm)
    seeds = [rng.randrange(10**6) for _ in range(3)]
    probe = (f"_d = torch.tensor({perm!r})\n"
             f"_g = torch.Generator().manual_seed({seeds[0]})\n"
             "_first = get_batch(_d, 5, 4, _g)\n"
             "_second = get_batch(_d, 5, 4, generator=_g)\n"
             f"_again = get_batch(_d, 5, 4, generator=torch.Generator().manual_seed({seeds[0]}))\n"
             f"torch.manual_seed({seeds[1]})\n"
             "_glob = get_batch(_d, 3, 6)\n"
             f"torch.manual_seed({seeds[2]})\n"
             f"_own = get_batch(_d, 6, 2, generator=torch.Generator().manual_seed({seeds[1]}))\n"
             "_after = torch.rand(4)\n"
             "{'first': _first[0], 'second': _second[0], 'again': _again[0], 'glob': _glob[0], 'own': _own[0],\n"
             " 'after': _after}")
    got = student.eval(probe)
    ref = reference.eval(probe)
    data = torch.tensor(perm)
    g = torch.Generator().manual_seed(seeds[0])
    first, second = _batch(data, 5, 4, g)[0].numpy(), _batch(data, 5, 4, g)[0].numpy()
    glob = _batch(data, 3, 6, torch.Generator().manual_seed(seeds[1]))[0].numpy()
    own = _batch(data, 6, 2, torch.Generator().manual_seed(seeds[1]))[0].numpy()
    torch_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seeds[2])
        after = torch.rand(4).numpy()
    finally:
        torch.random.set_rng_state(torch_state)
    assert np.array_equal(ref["second"], second) and np.array_equal(ref["glob"], glob), \
        "grader setup: the reference's batches changed"
    assert np.array_equal(got["first"], got["again"]), \
        ("get_batch(data, 5, 4, generator=torch.Generator().manual_seed(s)) twice with the same seed should give the "
         f"same batch, got {got['first'].tolist()} and then {got['again'].tolist()}: draw the starts with the "
         "generator you are given")
    assert np.array_equal(got["first"], first) and np.array_equal(got["second"], second), \
        ("two calls of get_batch(data, 5, 4, generator=g) with one generator should give the batches of two successive "
         "torch.randint(len(data) - block_size, (batch_size,), generator=g) draws: expected x = "
         f"{first.tolist()} and then {second.tolist()}, got {got['first'].tolist()} and {got['second'].tolist()}")
    assert_close(got["after"], after, "get_batch(..., generator=g) should draw from g only, not from torch's global "
                 "generator: torch.rand(4) right after it (with torch.manual_seed set before)", rtol=0, atol=0)
    assert np.array_equal(got["own"], own), \
        f"get_batch(data, 6, 2, generator) should give x = {own.tolist()}, got {got['own'].tolist()}"
    assert np.array_equal(got["glob"], glob), \
        ("with generator=None, get_batch should use torch's global generator: after torch.manual_seed(s), "
         f"get_batch(data, 3, 6) should give x = {glob.tolist()}, got {got['glob'].tolist()}")


@pytest.mark.points(1.5)
def test_first_batch_on_the_text(student, reference):
    """The course's seeded first batch: torch.manual_seed(1337), get_batch(train_data, 4, 8)"""
    text = _reference_text(reference)
    stoi, itos = _vocab(text)
    ids = torch.from_numpy(_encoded(text))
    n = int(0.9 * len(ids))
    train = ids[:n]
    probe = (_file_code(stoi) + f"_train = _data[:{n}]\n"
             "torch.manual_seed(1337)\n"
             "_x, _y = get_batch(_train, 4, 8)\n"
             "_x2, _y2 = get_batch(_train, 3, 12, generator=torch.Generator().manual_seed(1337))\n"
             "_nb = [xb, yb] if 'xb' in globals() and 'yb' in globals() else None\n"
             "{'x': _x, 'y': _y, 'x2': _x2, 'y2': _y2, 'nb': _nb}")
    got = student.eval(probe)
    torch_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(1337)
        want_x, want_y = _batch(train, 4, 8, None)
    finally:
        torch.random.set_rng_state(torch_state)
    want_x2, want_y2 = _batch(train, 3, 12, torch.Generator().manual_seed(1337))
    row = "".join(itos[int(i)] for i in want_x[0])
    ref = reference.eval(probe)
    assert np.array_equal(ref["x"], want_x.numpy()), "grader setup: the reference's first batch changed"
    call = "torch.manual_seed(1337); get_batch(train_data, 4, 8) on the notebook's text"
    assert np.array_equal(got["x"], want_x.numpy()), \
        (f"{call}: the first row should be {want_x[0].tolist()} ({row!r}; 'Let's he' on the real text): "
         f"{_first_diff(got['x'], want_x.numpy())}")
    assert np.array_equal(got["y"], want_y.numpy()), \
        f"{call}: the targets should be {want_y[0].tolist()} in the first row: {_first_diff(got['y'], want_y.numpy())}"
    assert np.array_equal(got["x2"], want_x2.numpy()) and np.array_equal(got["y2"], want_y2.numpy()), \
        ("get_batch(train_data, 3, 12, generator=torch.Generator().manual_seed(1337)) should give the same windows as "
         f"with the global seed 1337: x[0] = {want_x2[0].tolist()}, got {np.asarray(got['x2'])[0].tolist()}")
    assert got["nb"] is not None, "the notebook's first-batch cell should leave xb and yb behind: it did not run"
    assert np.array_equal(got["nb"][0], want_x.numpy()) and np.array_equal(got["nb"][1], want_y.numpy()), \
        (f"the notebook's xb, yb (made with torch.manual_seed(1337) and get_batch(train_data, 4, 8)) should start with "
         f"{want_x[0].tolist()} -> {want_y[0].tolist()}: {_first_diff(got['nb'][0], want_x.numpy())}")


# --------------------------------------------------------------------------- 3. the bigram model
@pytest.mark.points(1.5)
def test_bigram_structure(student, reference, grading_seed):
    """BigramLanguageModel(V) is one nn.Embedding(V, V) called token_embedding_table"""
    sizes = [65, 7, random.Random(grading_seed + 7).randint(10, 40)]
    probe = ("_out = []\n"
             f"for _v in {sizes!r}:\n"
             "    _m = BigramLanguageModel(_v)\n"
             "    _t = getattr(_m, 'token_embedding_table', None)\n"
             "    _out.append({'shapes': [list(_p.shape) for _p in _m.parameters()], 'type': type(_t).__name__,\n"
             "                 'module': isinstance(_m, torch.nn.Module)})\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for v, answer, ref_answer in zip(sizes, got, ref):
        assert ref_answer["shapes"] == [[v, v]], "grader setup: the reference's model changed"
        call = f"BigramLanguageModel({v})"
        assert answer["module"], f"{call} should be an nn.Module"
        assert answer["type"] == "Embedding", \
            f"{call} should have the attribute token_embedding_table = nn.Embedding({v}, {v}), got {answer['type']}"
        count = sum(math.prod(s) for s in answer["shapes"])
        assert answer["shapes"] == [[v, v]], \
            (f"{call} should have a single parameter, the {v} x {v} table ({v * v} numbers: one row of next-token "
             f"logits per token), got parameters of shapes {answer['shapes']} ({count} numbers)")


@pytest.mark.points(3)
def test_bigram_forward(student, reference, grading_seed):
    """forward looks up the logits (B, T, V) and returns the mean cross-entropy over the B*T positions"""
    rng = np.random.default_rng(grading_seed + 8)
    cases = []
    for v, b, t in [(11, 2, 5), (65, 3, 1), (6, 1, 9), (23, 4, 3)]:
        W = np.round(rng.normal(0, 1.5, (v, v)), 4)
        idx = rng.integers(0, v, (b, t))
        targets = rng.integers(0, v, (b, t))
        cases.append((W.tolist(), idx.tolist(), targets.tolist()))
    probe = ("_out = []\n"
             f"for _W, _idx, _tg in {cases!r}:\n"
             "    _m = BigramLanguageModel(len(_W))\n"
             "    with torch.no_grad():\n"
             "        _m.token_embedding_table.weight.copy_(torch.tensor(_W))\n"
             "    _l0, _n0 = _m(torch.tensor(_idx))\n"
             "    _l1, _loss = _m(torch.tensor(_idx), torch.tensor(_tg))\n"
             "    _ok = isinstance(_loss, torch.Tensor)\n"
             "    _out.append({'l0': _l0.detach(), 'n0': _n0 is None, 'l1': _l1.detach(),\n"
             "                 'loss': float(_loss) if _ok and _loss.numel() == 1 else None,\n"
             "                 'kind': type(_loss).__name__, 'shape': list(_loss.shape) if _ok else None,\n"
             "                 'grad': bool(_ok and _loss.requires_grad)})\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (W, idx, tg), answer, ref_answer in zip(cases, got, ref):
        Wt = torch.tensor(W, dtype=F64)
        b, t, v = len(idx), len(idx[0]), len(W)
        logits = Wt[torch.tensor(idx)]
        loss = F.cross_entropy(logits.reshape(-1, v), torch.tensor(tg).reshape(-1)).item()
        assert_close(ref_answer["loss"], loss, "grader setup: the reference's loss changed", rtol=1e-5, atol=1e-6)
        call = f"model(idx) for BigramLanguageModel({v}) with a hidden table and idx of shape ({b}, {t})"
        assert tuple(answer["l0"].shape) == (b, t, v), \
            f"{call}: the logits should have shape (B, T, V) = ({b}, {t}, {v}), got {tuple(answer['l0'].shape)}"
        assert_close(answer["l0"], logits.numpy(), f"{call}: the logits should be the table's rows of the tokens in idx",
                     rtol=1e-5, atol=1e-5)
        assert answer["n0"], f"{call} (no targets) should return (logits, None)"
        call = call.replace("model(idx)", "model(idx, targets)")
        assert answer["kind"] == "Tensor" and answer["shape"] == [], \
            (f"{call}: the loss should be a scalar tensor (F.cross_entropy's mean), got a {answer['kind']} "
             f"of shape {answer['shape']}")
        assert answer["grad"], f"{call}: the loss should be part of the graph (requires_grad), so that backward works"
        l1 = np.asarray(answer["l1"])
        assert l1.shape in ((b, t, v), (b * t, v)), \
            f"{call}: the logits should have shape ({b}, {t}, {v}) or, flattened, ({b * t}, {v}); got {l1.shape}"
        assert_close(l1.reshape(b, t, v), logits.numpy(), f"{call}: the logits returned with the loss", rtol=1e-5, atol=1e-5)
        assert_close(answer["loss"], loss,
                     (f"{call}: the loss should be the mean cross-entropy over all {b * t} positions, "
                      f"F.cross_entropy(logits.view(B*T, V), targets.view(B*T)), computed from the logits (not their "
                      "softmax)"), rtol=1e-5, atol=1e-5)


def _stub_code(W) -> str:
    return ("class _TableLM(torch.nn.Module):\n"
            "    def __init__(self, table):\n"
            "        super().__init__()\n"
            "        self.token_embedding_table = torch.nn.Embedding.from_pretrained(table)\n"
            "        self.calls = 0\n"
            "    def forward(self, idx, targets=None):\n"
            "        self.calls += 1\n"
            "        return torch.nn.functional.embedding(idx, self.token_embedding_table.weight), None\n"
            f"_stub = _TableLM(torch.tensor({W!r}))\n")


@pytest.mark.points(3)
def test_generate(student, reference, grading_seed):
    """generate appends max_new_tokens tokens sampled from the softmax of the last position's logits"""
    rng = np.random.default_rng(grading_seed + 9)
    v = 9
    W = np.round(rng.normal(0, 1.2, (v, v)), 3).tolist()
    cases = []
    for b, t, new in [(1, 1, 12), (3, 2, 6), (2, 4, 0), (2, 3, 9)]:
        cases.append((rng.integers(0, v, (b, t)).tolist(), new, int(rng.integers(10**6))))
    probe = (_stub_code(W) + "_out = []\n"
             f"for _idx, _new, _seed in {cases!r}:\n"
             "    _i = torch.tensor(_idx)\n"
             "    _a = BigramLanguageModel.generate(_stub, _i, _new, generator=torch.Generator().manual_seed(_seed))\n"
             "    _b = BigramLanguageModel.generate(_stub, _i, _new, generator=torch.Generator().manual_seed(_seed))\n"
             "    _out.append({'a': _a, 'b': _b, 'kept': _i.tolist() == _idx, 'kind': type(_a).__name__})\n")
    # generate for the stand-in model moved to the meta device, on idx there (no generator: the notebook's own is
    # on the model's device); _meta_try shows it DEVICE as the meta device, decorated or not
    probe += (on_meta_device() +
              _meta_run(f"BigramLanguageModel.generate(_TableLM(torch.zeros({v}, {v})).to('meta'), "
                        "torch.zeros(2, 3, dtype=torch.long, device='meta'), 4)") + "[_out, _meta]")
    got, meta = student.eval(probe)
    ref, ref_meta = reference.eval(probe)
    assert ref_meta == ["ok", ["meta"]], f"grader setup: the reference's generate on the meta device: {ref_meta}"
    table = torch.tensor(W)
    for (idx, new, seed), answer, ref_answer in zip(cases, got, ref):
        g = torch.Generator().manual_seed(seed)
        seq = torch.tensor(idx)
        for _ in range(new):
            probs = F.softmax(table[seq[:, -1]], dim=-1)
            seq = torch.cat([seq, torch.multinomial(probs, 1, generator=g)], dim=1)
        want = seq.numpy()
        assert np.array_equal(ref_answer["a"], want), "grader setup: the reference's samples changed"
        b, t = len(idx), len(idx[0])
        call = (f"model.generate(idx of shape ({b}, {t}), max_new_tokens={new}, generator) for a stand-in model "
                f"whose logits are a hidden {v} x {v} table's rows")
        assert answer["kind"] == "Tensor", f"{call} should return a tensor, got a {answer['kind']}"
        a = np.asarray(answer["a"])
        assert a.shape == (b, t + new), \
            (f"{call} should return shape ({b}, {t + new}): the {t} given tokens followed by {new} new ones, "
             f"got {a.shape}")
        assert answer["kept"], f"{call} changed idx in place: build a new tensor with torch.cat"
        assert np.array_equal(a[:, :t], np.asarray(idx)), f"{call}: the result should start with the given tokens {idx}"
        assert ((a >= 0) & (a < v)).all(), f"{call}: every id should lie in [0, {v}), got {a.tolist()}"
        assert np.array_equal(answer["a"], answer["b"]), \
            f"{call} twice with the same seed should give the same tokens: sample with the generator you are given"
        assert np.array_equal(a, want), \
            (f"{call}: expected {want.tolist()}, got {a.tolist()} (each step: the logits of the last position, "
             "logits[:, -1, :], softmax over the vocabulary, torch.multinomial(probs, num_samples=1, "
             "generator=generator), appended along dim 1)")
    assert_on_meta(meta, (f"model.generate(idx of shape (2, 3) on that device, max_new_tokens=4) for a stand-in model "
                          f"(logits from a {v} x {v} table) moved to that device"),
                   "keep every new token on the device of idx: sample with torch.multinomial(probs, num_samples=1, "
                   "generator=generator) where probs are (a sample moved to the CPU must come back with "
                   ".to(idx.device) before torch.cat)")


@pytest.mark.points(1)
def test_generate_follows_the_table(student, reference, grading_seed):
    """A trained-looking table makes generate follow its most likely chain of tokens"""
    rng = random.Random(grading_seed + 10)
    v = 13
    nxt = [rng.randrange(v) for _ in range(v)]
    W = [[30.0 if j == nxt[i] else 0.0 for j in range(v)] for i in range(v)]
    start = [[rng.randrange(v), rng.randrange(v)] for _ in range(3)]
    probe = (f"_m = BigramLanguageModel({v})\n"
             "with torch.no_grad():\n"
             f"    _m.token_embedding_table.weight.copy_(torch.tensor({W!r}))\n"
             f"_m.generate(torch.tensor({start!r}), 7, generator=torch.Generator().manual_seed(0))")
    got = np.asarray(student.eval(probe))
    want = []
    for row in start:
        seq = list(row)
        for _ in range(7):
            seq.append(nxt[seq[-1]])
        want.append(seq)
    assert np.array_equal(np.asarray(reference.eval(probe)), want), "grader setup: the reference's chain changed"
    assert got.shape == (3, 9) and np.array_equal(got, want), \
        (f"BigramLanguageModel({v}) with a table whose row i puts almost all probability on one next token, "
         f"generate(idx of shape (3, 2), 7) should follow that chain: expected {want}, got {got.tolist()} "
         "(generate runs the model itself and samples from the last position)")


@pytest.mark.points(1)
def test_baseline_loss(student, reference, grading_seed):
    """baseline_loss(V) is -ln(1/V), the loss of a uniform guess (4.174 for 65 symbols)"""
    sizes = [65, 27, 2, 1, random.Random(grading_seed + 11).randint(100, 60000)]
    probe = f"[baseline_loss(_v) for _v in {sizes!r}]"
    got = student.eval(probe)
    assert_close(reference.eval(probe), [math.log(v) for v in sizes], "grader setup", rtol=1e-9, atol=1e-12)
    assert all(isinstance(x, float) for x in got), f"baseline_loss should return floats, got {got}"
    assert_close(got, [math.log(v) for v in sizes],
                 f"baseline_loss(V) for V = {sizes} (-ln(1/V), the natural logarithm: 4.174 for V = 65)",
                 rtol=1e-9, atol=1e-12)


@pytest.mark.points(1.5)
def test_initial_loss(student, reference):
    """The untrained model's loss on the validation text lies above ln V and matches the seeded reference"""
    probe = ("[_k for _k in ['m', 'initial_loss', 'val_data'] if _k not in globals()] or "
             "{'W': m.token_embedding_table.weight.detach().cpu(), 'loss': float(initial_loss)}")
    got = student.eval(probe)
    assert isinstance(got, dict), (f"the notebook's initial-loss cell did not run to the end ({', '.join(got)} "
                                   "missing): look at the first error in your notebook")
    ref = reference.eval(probe)
    val = torch.as_tensor(reference.eval("val_data"))
    v = ref["W"].shape[0]

    def full_loss(W):
        W = torch.as_tensor(np.asarray(W), dtype=F64)
        return F.cross_entropy(W[val[:-1]], val[1:]).item()

    ref_loss = full_loss(ref["W"])
    assert abs(ref_loss - ref["loss"]) < 1e-4 and ref_loss > math.log(v), "grader setup: the reference's initial loss"
    assert np.asarray(got["W"]).shape == (v, v), f"the notebook's model m should hold a {v} x {v} table"
    mine = full_loss(got["W"])
    assert_close(got["loss"], mine, ("initial_loss, the untrained m's loss on the validation text as one sequence, "
                                     "recomputed here in float64 from m's table"), rtol=1e-4, atol=1e-4)
    assert mine > math.log(v), \
        f"the untrained model's loss should lie above the uniform ln {v} = {math.log(v):.4f}, got {mine:.4f}"
    assert_close(mine, ref_loss, ("the untrained model's loss with torch.manual_seed(SEED) before "
                                  "BigramLanguageModel(V) (the table drawn from N(0, 1) by nn.Embedding, nothing else "
                                  "drawn in __init__): the reference's"), rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- 4. estimate_loss and train
def _estimate_replay(splits, eval_iters, batch_size, block_size, seed, fake=True):
    """What estimate_loss returns for the stub: the mean of the stub's eval-mode loss per split."""
    ns = _namespace(FAKE_BATCH)
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, values in splits:
        data = torch.tensor(values)
        losses = []
        for _ in range(eval_iters):
            if fake:
                x, y = ns["_fake_get_batch"](data, batch_size, block_size, g)
            else:
                x, y = _batch(data, batch_size, block_size, g)
            losses.append(((x.float() * 0.031 + y.float() * 0.017).mean() * 1.0).item())
        out[name] = sum(losses) / len(losses)
    return out


def _estimate_cases(grading_seed: int):
    rng = random.Random(grading_seed + 12)
    cases = []
    for names, iters, batch, block in [(["train", "val"], 5, 4, 3), (["val", "train"], 3, 2, 5),
                                       (["a", "b", "c"], 2, 3, 2), (["train", "val"], 1, 6, 1)]:
        splits = [(name, [rng.randrange(65) for _ in range(rng.randint(20, 40))]) for name in names]
        cases.append((splits, iters, batch, block, rng.randrange(10**6)))
    return cases


def _estimate_meta_probe() -> str:
    """Probe code: `_meta`, estimate_loss (with the fake get_batch) of a small model moved to the meta device."""
    return (on_meta_device() + META_LM +
            with_fakes("estimate_loss", {"get_batch": "_fake_get_batch"}, as_name="_estimate_loss_meta") +
            _meta_run("_estimate_loss_meta(_MetaLM(30).to('meta'), {'train': torch.arange(30), 'val': torch.arange(12)}, 2, "
                      "3, 4, generator=torch.Generator().manual_seed(0))"))


def _estimate_probe(cases, meta=False) -> str:
    """Probe code for the cases; with meta, the answer is [cases, the meta device's _meta]."""
    return (FAKE_BATCH + STUB + with_fakes("estimate_loss", {"get_batch": "_fake_get_batch"}) + "_out = []\n"
            f"for _splits, _iters, _b, _t, _seed in {cases!r}:\n"
            "    _m = _Stub()\n"
            "    _res = _estimate_loss(_m, {_k: torch.tensor(_v) for _k, _v in _splits}, _iters, _b, _t,\n"
            "                          generator=torch.Generator().manual_seed(_seed))\n"
            "    _out.append({'res': {str(_k): (float(_v) if isinstance(_v, (float, int, torch.Tensor)) else None)\n"
            "                         for _k, _v in _res.items()} if isinstance(_res, dict) else None,\n"
            "                 'types': sorted({type(_v).__name__ for _v in _res.values()}) if isinstance(_res, dict) else None,\n"
            "                 'keys': list(_res) if isinstance(_res, dict) else None,\n"
            "                 'log': _m.log, 'training_after': _m.training,\n"
            "                 'grad': _m.w.grad is not None})\n" +
            (_estimate_meta_probe() + "[_out, _meta]" if meta else "_out"))


@pytest.mark.points(2.5)
def test_estimate_loss_values(student, reference, grading_seed):
    """estimate_loss averages eval_iters batch losses of every split, in the order of the dict"""
    cases = _estimate_cases(grading_seed)
    probe = _estimate_probe(cases)
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (splits, iters, batch, block, seed), answer, ref_answer in zip(cases, got, ref):
        want = _estimate_replay(splits, iters, batch, block, seed)
        true = _estimate_replay(splits, iters, batch, block, seed, fake=False)
        assert_close(ref_answer["res"], want, "grader setup: the reference's estimates with the fakes", rtol=1e-6)
        names = [name for name, _ in splits]
        call = (f"estimate_loss(model, splits with the keys {names}, eval_iters={iters}, batch_size={batch}, "
                f"block_size={block}, generator) for a stand-in model whose loss is a fixed function of the batch")
        assert answer["res"] is not None, f"{call} should return a dict"
        assert answer["keys"] == names, f"{call} should return a dict with the keys {names} (those of splits), got {answer['keys']}"
        assert answer["types"] == ["float"], \
            f"{call}: the average losses should be Python floats (loss.item()), got {answer['types']}"
        if not is_close(answer["res"], true, rtol=1e-5, atol=1e-6):   # get_batch's work done inline is right too
            assert_close(answer["res"], want,
                         (f"{call}: the mean of the {iters} losses of each split (batches drawn split after split, in "
                          f"the order of the dict, from the one generator), with {FAKE_NOTE}; a value near 10 more "
                          "than expected means the model was left in training mode"), rtol=1e-5, atol=1e-6)


@pytest.mark.points(2.5)
def test_estimate_loss_modes(student, reference, grading_seed):
    """estimate_loss runs the model on its device in eval mode without gradients, then puts it back in training mode"""
    cases = _estimate_cases(grading_seed)
    got, meta = student.eval(_estimate_probe(cases, meta=True))
    ref, ref_meta = reference.eval(_estimate_probe(cases, meta=True))
    assert all(not e for r in ref for e, _, _ in r["log"]), "grader setup: the reference's modes"
    assert ref_meta[0] != "device", f"grader setup: the reference's estimate_loss on the meta device: {ref_meta}"
    for (splits, iters, batch, block, _), answer in zip(cases, got):
        call = (f"estimate_loss(model, {len(splits)} splits, eval_iters={iters}, batch_size={batch}, "
                f"block_size={block}) on a stand-in model handed over in training mode")
        log = answer["log"]
        assert len(log) == iters * len(splits), \
            (f"{call} should run the model {iters * len(splits)} times ({iters} batches for each of the {len(splits)} "
             f"splits), it ran {len(log)} times")
        assert all(shape == [batch, block] for _, _, shape in log), \
            f"{call}: every batch should have the shape ({batch}, {block}), got {sorted({tuple(s) for _, _, s in log})}"
        training = sum(mode for mode, _, _ in log)
        assert training == 0, \
            (f"{call}: the model was in training mode for {training} of its {len(log)} calls: call model.eval() "
             "before measuring (dropout and batch norm behave differently while training)")
        grads = sum(grad for _, grad, _ in log)
        assert grads == 0, \
            (f"{call}: gradient tracking was on in {grads} of the {len(log)} calls: measure inside "
             "`with torch.no_grad():` (no graph is needed to measure a loss)")
        assert not answer["grad"], f"{call} should not compute gradients (no backward)"
        assert answer["training_after"], \
            (f"{call}: the model should be back in training mode afterwards (model.train()), since training goes on "
             "with it; it was left in eval mode")
    assert_on_meta(meta, ("estimate_loss(model, splits 'train' and 'val', eval_iters=2, batch_size=3, block_size=4, "
                          "generator) with a small stand-in model moved to that device (and the grader's stand-in for "
                          "get_batch)"),
                   BATCHES_ON_THE_DEVICE)


def _train_cases(grading_seed: int):
    rng = random.Random(grading_seed + 13)
    cases = []
    for steps, batch, block, opt, lr in [(6, 4, 3, "adamw", 0.05), (5, 2, 5, "sgd", 0.5), (3, 3, 2, "adamw", 0.01)]:
        data = [rng.randrange(11) for _ in range(rng.randint(40, 70))]
        cases.append((data, steps, batch, block, opt, lr, rng.randrange(10**6), rng.randrange(10**6)))
    return cases


def _make_optimizer(kind: str, params, lr: float):
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


def _train_replay(data, steps, batch, block, kind, lr, init_seed, batch_seed, fake=True):
    ns = _namespace(FAKE_BATCH + TINY)
    torch_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(init_seed)
        model = ns["_Tiny"](11, 6)
    finally:
        torch.random.set_rng_state(torch_state)
    opt = _make_optimizer(kind, model.parameters(), lr)
    g = torch.Generator().manual_seed(batch_seed)
    data = torch.tensor(data)
    losses = []
    for _ in range(steps):
        x, y = ns["_fake_get_batch"](data, batch, block, g) if fake else _batch(data, batch, block, g)
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, model.head.bias.detach().numpy().copy()


def _train_meta_probe() -> str:
    """Probe code: `_meta`, train (with the fake get_batch) of a small model moved to the meta device, with AdamW."""
    return (on_meta_device() + META_LM +
            with_fakes("train", {"get_batch": "_fake_get_batch"}, as_name="_train_meta") +
            "def _train_on_meta():\n"
            "    _mm = _MetaLM(20).to('meta')\n"
            "    return _train_meta(_mm, torch.optim.AdamW(_mm.parameters(), lr=0.01), torch.arange(20), 2, 3, 4,\n"
            "                       generator=torch.Generator().manual_seed(0))\n" + _meta_run("_train_on_meta()"))


def _train_probe(cases, meta=False) -> str:
    """Probe code for the cases; with meta, the answer is [cases, the meta device's _meta]."""
    return (FAKE_BATCH + TINY + with_fakes("train", {"get_batch": "_fake_get_batch"}) + "_out = []\n"
            f"for _d, _steps, _b, _t, _kind, _lr, _iseed, _bseed in {cases!r}:\n"
            "    torch.manual_seed(_iseed)\n"
            "    _m = _Tiny(11, 6)\n"
            "    _m.eval()   # handed over in eval mode: train must switch to training mode\n"
            "    _opt = (torch.optim.AdamW(_m.parameters(), lr=_lr) if _kind == 'adamw'\n"
            "            else torch.optim.SGD(_m.parameters(), lr=_lr, momentum=0.9))\n"
            "    _l = _train(_m, _opt, torch.tensor(_d), _steps, _b, _t, generator=torch.Generator().manual_seed(_bseed))\n"
            "    _out.append({'losses': [float(_x) for _x in _l] if isinstance(_l, list) else None,\n"
            "                 'types': sorted({type(_x).__name__ for _x in _l}) if isinstance(_l, list) else [type(_l).__name__],\n"
            "                 'modes': list(_m.modes), 'bias': _m.head.bias.detach()})\n" +
            (_train_meta_probe() + "[_out, _meta]" if meta else "_out"))


@pytest.mark.points(3)
def test_train_loop(student, reference, grading_seed):
    """train: zero_grad, backward and an optimizer step on every batch; the seeded losses of the reference"""
    cases = _train_cases(grading_seed)
    got = student.eval(_train_probe(cases))
    ref = reference.eval(_train_probe(cases))
    for case, answer, ref_answer in zip(cases, got, ref):
        data, steps, batch, block, kind, lr, init_seed, batch_seed = case
        want, bias = _train_replay(*case)
        true, true_bias = _train_replay(*case, fake=False)
        assert_close(ref_answer["losses"], want, "grader setup: the reference's training with the fakes", rtol=1e-5)
        opt = "AdamW" if kind == "adamw" else "SGD with momentum 0.9"
        call = (f"train(model, {opt}(lr={lr}), data of {len(data)} tokens, steps={steps}, batch_size={batch}, "
                f"block_size={block}, generator) for a small Embedding -> tanh -> Linear model")
        assert answer["losses"] is not None and len(answer["losses"]) == steps, \
            f"{call} should return a list of {steps} losses, got {answer['types']}"
        if is_close(answer["losses"], true, rtol=1e-4, atol=1e-5):   # get_batch's work done inline is right too
            continue
        assert_close(answer["losses"][:1], want[:1],
                     f"{call}: the first loss, on the first batch before any step, with {FAKE_NOTE}",
                     rtol=1e-4, atol=1e-5)
        assert_close(answer["losses"], want,
                     (f"{call}: the losses of every step, compared with the same steps replayed here "
                      "(optimizer.zero_grad(), loss.backward(), optimizer.step() on every batch; without zero_grad "
                      "the gradients of all earlier batches pile up), with the fake get_batch"), rtol=1e-4, atol=1e-5)
        assert_close(answer["bias"], bias, f"{call}: the output layer's bias after training", rtol=1e-4, atol=1e-5)


@pytest.mark.points(1.5)
def test_train_mode_and_types(student, reference, grading_seed):
    """train puts the model in training mode, runs it on its device, and returns the losses as Python floats"""
    cases = _train_cases(grading_seed)
    got, meta = student.eval(_train_probe(cases, meta=True))
    _, ref_meta = reference.eval(_train_probe([], meta=True))
    assert ref_meta[0] != "device", f"grader setup: the reference's train on the meta device: {ref_meta}"
    for case, answer in zip(cases, got):
        steps = case[1]
        call = f"train(model, optimizer, data, steps={steps}, ...) on a model handed over in eval mode"
        assert answer["types"] == ["float"], f"{call} should return a list of Python floats (loss.item()), got {answer['types']}"
        assert len(answer["modes"]) == steps, f"{call} should run the model once per step, it ran {len(answer['modes'])} times"
        assert all(answer["modes"]), \
            (f"{call}: the model ran in eval mode in {answer['modes'].count(False)} of its {steps} steps: call "
             "model.train() before the loop (estimate_loss leaves it in eval mode otherwise, and dropout would "
             "never be active)")
    assert_on_meta(meta, ("train(model, AdamW, data, steps=2, batch_size=3, block_size=4, generator) with a small "
                          "stand-in model moved to that device (and the grader's stand-in for get_batch)"),
                   BATCHES_ON_THE_DEVICE)


@pytest.mark.points(2.5)
def test_trained_val_loss(student, reference):
    """After training, the bigram model's loss on the whole validation text is as low as the reference's"""
    probe = ("[_k for _k in ['model', 'train_losses', 'after'] if _k not in globals()] or "
             "{'W': model.token_embedding_table.weight.detach().cpu(), 'steps': len(train_losses)}")
    got = student.eval(probe)
    assert isinstance(got, dict), (f"the notebook's training cell did not run to the end ({', '.join(got)} missing): "
                                   "look at the first error in your notebook")
    ref = reference.eval(probe)
    val = torch.as_tensor(reference.eval("val_data"))
    v = ref["W"].shape[0]

    def full_loss(W):
        W = torch.as_tensor(np.asarray(W), dtype=F64)
        return F.cross_entropy(W[val[:-1]], val[1:]).item()

    ref_loss = full_loss(ref["W"])
    assert ref_loss < math.log(v) - 1.0, "grader setup: the reference did not train"
    assert got["steps"] == ref["steps"], f"the notebook should train for {ref['steps']} steps, got {got['steps']}"
    assert np.asarray(got["W"]).shape == (v, v), f"the trained model should hold a {v} x {v} table"
    loss = full_loss(got["W"])
    bound = ref_loss + VAL_MARGIN
    assert loss < bound, \
        (f"after {got['steps']} steps the loss on all {len(val) - 1:,} next-character predictions of the validation "
         f"text (recomputed by the grader from your model's table) should be below {bound:.3f} (the reference "
         f"reaches {ref_loss:.3f}; the uniform guess ln {v} = {math.log(v):.3f}), got {loss:.3f}")


@pytest.mark.points(1)
def test_notebook_estimates(student, reference):
    """The notebook's estimate_loss before and after training shows the loss falling far below ln V"""
    probe = ("[_k for _k in ['before', 'after', 'model'] if _k not in globals()] or "
             "{'before': {str(_k): float(_v) for _k, _v in before.items()},"
             " 'after': {str(_k): float(_v) for _k, _v in after.items()}, 'training': bool(model.training)}")
    got = student.eval(probe)
    assert isinstance(got, dict), (f"the notebook's training cell did not run to the end ({', '.join(got)} missing): "
                                   "look at the first error in your notebook")
    v = reference.eval("V")
    assert sorted(got["after"]) == ["train", "val"], f"after should hold the keys 'train' and 'val', got {sorted(got['after'])}"
    assert got["before"]["val"] > math.log(v), \
        f"before training, the estimated val loss should lie above ln {v} = {math.log(v):.3f}, got {got['before']['val']:.3f}"
    assert got["after"]["val"] < math.log(v) - 1.0, \
        (f"after training, the estimated val loss should lie well below ln {v} = {math.log(v):.3f}, "
         f"got {got['after']['val']:.3f}")
    assert got["training"], "after estimate_loss the notebook's model should be back in training mode"
