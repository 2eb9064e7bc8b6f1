"""Hidden tests for week13_mlp_lm: an MLP character-level language model (Bengio et al. 2003).

Total: 20 points over 15 tests.

Probes run the student's functions in the student's kernel (and the same probe in the
reference kernel) and return plain data: floats, lists, dicts and NumPy arrays. Whenever
possible the expected answer is computed here, in the grader process, with PyTorch (float64
for forward passes and gradients, float32 replays of short training runs): datasets built
from word lists made up from `grading_seed`, parameters drawn from a seeded generator, losses
and gradients recomputed from the parameters the student's code returns. The names data comes
from the reference kernel, never from the student's globals (a student may shuffle `words`).

Each function is graded on its own: the tests of evaluate, train_step, lr_sweep and train run
the student's function with *fakes* in place of the helpers it calls (forward, get_batch,
train_step): its code is rebound to a namespace where those names are the test's
(grader.testing.with_fakes). A bug in a helper then costs its points once. The fakes behave
differently from the answers on purpose, so that no correct implementation of a graded
function enters the student's kernel (DESIGN.md section 4): a forward pass with sin where the
model has tanh, a get_batch drawing with torch.randperm, and a train_step spy that changes
nothing and returns 1000 * lr plus the batch's mean target. What the function should do with
them is computed here; a function that does its helpers' work itself (no call) gets the true
results, which are accepted as well.

The trained dev loss (test_trained_dev_loss) is compared with a bound calibrated from the
reference: the reference's dev loss under the same SEED and step budget plus DEV_MARGIN, both
measured on the reference's dev split. The margin (0.06) was calibrated on the offline `names`
stand-in with FAST_STEPS = 2000: over SEED 0-19 the reference's dev loss ranged over
2.279-2.304 (a spread of 0.025), so a correct solution that draws its random numbers in another
order still passes, while a model that did not train (about 3.3) or trained the wrong way fails.
"""

from __future__ import annotations

import functools
import math
import random
import string
from collections import Counter

import numpy as np
import pytest
import torch

from grader.testing import assert_close, is_close, remember, with_fakes

F64 = torch.float64
CHARS = "." + string.ascii_lowercase
STOI = {ch: i for i, ch in enumerate(CHARS)}
LN27 = math.log(27)
DEV_MARGIN = 0.06
KEYS = ["C", "W1", "b1", "W2", "b2"]

# Probe code: the fakes (see the module's docstring); `_rebind(name)` is probe code defining
# `_<name>`, the student's function running with them.
FAKES = '''import torch
def _fake_forward(params, X):
    _e = params["C"][X].reshape(X.shape[0], -1)
    _a = torch.sin(_e @ params["W1"] + params["b1"])
    return _a @ params["W2"] + params["b2"], _a
def _fake_get_batch(X, Y, batch_size, generator=None):
    _i = torch.randperm(X.shape[0], generator=generator)[:batch_size]
    return X[_i], Y[_i]
_spy_calls = []
def _fake_train_step(params, X, Y, lr):
    _spy_calls.append([type(params).__name__, type(X).__name__, type(Y).__name__])
    return 1000.0 * float(lr) + float(Y.float().mean())
'''
FAKE_NAMES = {"forward": "_fake_forward", "get_batch": "_fake_get_batch", "train_step": "_fake_train_step"}
SPIES = ("the grader's stand-ins for get_batch (rows drawn with torch.randperm) and train_step (a spy that changes "
         "nothing and returns 1000 * lr + the mean target of the batch it is given), so that only your loop is graded")


def _rebind(name: str) -> str:
    return FAKES + with_fakes(name, {k: v for k, v in FAKE_NAMES.items() if k != name})


# --------------------------------------------------------------------------- oracles
@remember  # the names data's three splits, the same for every submission
def _build(words, block_size):
    xs, ys = [], []
    for word in words:
        context = [0] * block_size
        for ch in word + ".":
            xs.append(list(context))
            ys.append(STOI[ch])
            context = context[1:] + [STOI[ch]]
    return np.array(xs, dtype=np.int64).reshape(len(ys), block_size), np.array(ys, dtype=np.int64)


def _random_words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 8))) for _ in range(count)]


def _unique_words(rng: random.Random, count: int) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
        if word not in out:
            out.append(word)
    return out


@remember  # shuffles the 32,000 names: the same three splits for every submission
def _split(words, seed):
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)
    n = len(shuffled)
    n1, n2 = int(0.8 * n), int(0.9 * n)
    return [shuffled[:n1], shuffled[n1:n2], shuffled[n2:]]


def _overlaps(parts) -> str | None:
    """Which splits share names, in words (None when they are disjoint)."""
    names = ["training", "dev", "test"]
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        common = set(parts[a]) & set(parts[b])
        if common:
            return (f"{len(common)} names of the {names[b]} split are also in the {names[a]} split (for example "
                    f"{sorted(common)[0]!r}): the three splits must not share a name")
    return None


def _forward64(params: dict, X, activation=torch.tanh):
    """Logits and h in float64 from parameter arrays (with activation=torch.sin: the fake forward)."""
    p = {k: torch.as_tensor(np.asarray(params[k]), dtype=F64) for k in KEYS}
    X = torch.as_tensor(np.asarray(X), dtype=torch.int64)
    emb = p["C"][X].reshape(X.shape[0], -1)
    h = activation(emb @ p["W1"] + p["b1"])
    return h @ p["W2"] + p["b2"], h


def _params_code(seed: int, n_embd: int, n_hidden: int, block_size: int, scale: float = 0.5, vocab: int = 27) -> str:
    """Probe code that makes `_p`, a parameter dict drawn here (not by the student's init)."""
    return (
        f"_g = torch.Generator().manual_seed({seed})\n"
        f"_p = {{'C': torch.randn({vocab}, {n_embd}, generator=_g),\n"
        f"      'W1': torch.randn({block_size * n_embd}, {n_hidden}, generator=_g) * {scale / math.sqrt(block_size * n_embd)!r},\n"
        f"      'b1': torch.randn({n_hidden}, generator=_g) * 0.1,\n"
        f"      'W2': torch.randn({n_hidden}, {vocab}, generator=_g) * {scale!r},\n"
        f"      'b2': torch.randn({vocab}, generator=_g) * 0.1}}\n"
        "for _t in _p.values():\n"
        "    _t.requires_grad_()\n"
    )


def _same_params(seed, n_embd, n_hidden, block_size, scale=0.5, vocab=27):
    """The tensors `_params_code` makes, rebuilt here (float32 leaves)."""
    g = torch.Generator().manual_seed(seed)
    fan_in = block_size * n_embd
    p = {"C": torch.randn(vocab, n_embd, generator=g),
         "W1": torch.randn(fan_in, n_hidden, generator=g) * (scale / math.sqrt(fan_in)),
         "b1": torch.randn(n_hidden, generator=g) * 0.1,
         "W2": torch.randn(n_hidden, vocab, generator=g) * scale,
         "b2": torch.randn(vocab, generator=g) * 0.1}
    for t in p.values():
        t.requires_grad_()
    return p


def _replay(params, X, Y, lrs, batch_size, seed):
    """Minibatch gradient descent in float32, exactly as specified; the loss of every step."""
    X = torch.as_tensor(X)
    Y = torch.as_tensor(Y)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for lr in lrs:
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)
        emb = params["C"][X[ix]]
        h = torch.tanh(emb.view(batch_size, -1) @ params["W1"] + params["b1"])
        loss = torch.nn.functional.cross_entropy(h @ params["W2"] + params["b2"], Y[ix])
        for p in params.values():
            p.grad = None
        loss.backward()
        for p in params.values():
            p.data -= lr * p.grad
        losses.append(loss.item())
    return losses


def _dev_loss64(params, words):
    """Cross-entropy in float64 of the parameter arrays on the examples of ``words`` (block 3)."""
    X, Y = _build(words, 3)
    logits, _ = _forward64(params, X)
    return torch.nn.functional.cross_entropy(logits, torch.tensor(Y)).item()


_reference_dev_loss = remember(_dev_loss64)  # the reference's: the same for every submission


def _spy_replay(Y, lrs, batch_size, seed):
    """What a loop over get_batch and train_step returns when they are the fakes."""
    Y = torch.as_tensor(Y)
    g = torch.Generator().manual_seed(seed)
    out = []
    for lr in lrs:
        ix = torch.randperm(Y.shape[0], generator=g)[:batch_size]
        out.append(1000.0 * float(lr) + float(Y[ix].float().mean()))
    return out


def _check_spied_arguments(function: str, calls: list) -> None:
    """The spy's record of what the function handed train_step: params, a batch X, its Y."""
    wrong = [c for c in calls if c != ["dict", "Tensor", "Tensor"]]
    assert not wrong, (f"{function} should call train_step(params, Xb, Yb, lr) with the parameter dict first, then the "
                       f"minibatch's inputs and targets (tensors); got arguments of the types {', '.join(wrong[0][:3])}")


def _is_numbers(values) -> bool:
    return isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _first_row(got: np.ndarray, want: np.ndarray) -> str:
    bad = [i for i in range(len(want)) if not np.array_equal(got[i], want[i])]
    return f"row #{bad[0]} should be {want[bad[0]].tolist()}, got {got[bad[0]].tolist()}" if bad else "they agree"


# --------------------------------------------------------------------------- dataset
@pytest.mark.points(1.5)
def test_build_dataset(student, reference, grading_seed):
    """build_dataset makes one (context, next character) example per character and end marker"""
    rng = random.Random(grading_seed + 1)
    words = ["emma", "olivia"] + _random_words(rng, 6)
    cases = [(3, ["emma", "olivia"]), (3, words), (1, words[2:5]), (5, words[:4]), (2, words[1:6]), (4, words[3:8])]
    probe = ("_out = []\n"
             f"for _bs, _ws in {cases!r}:\n"
             "    _X, _Y = build_dataset(_ws, block_size=_bs)\n"
             "    _out.append([type(_X).__name__, type(_Y).__name__, _X, _Y])\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (bs, ws), answer, ref_answer in zip(cases, got, ref):
        X_exp, Y_exp = _build(ws, bs)
        what = f"build_dataset({ws}, block_size={bs})"
        assert_close(ref_answer[2], X_exp, "the reference solution's contexts changed")
        kind_x, kind_y, X, Y = answer
        assert kind_x == "Tensor" and kind_y == "Tensor", f"{what} should return two torch tensors, got {kind_x} and {kind_y}"
        assert X.dtype == np.int64 and Y.dtype == np.int64, \
            f"{what}: X and Y should be int64 (torch.long) tensors, got {X.dtype} and {Y.dtype}"
        assert tuple(X.shape) == X_exp.shape, \
            (f"{what}: X should have shape {X_exp.shape} (one row per character plus one per name for the end "
             f"marker, block_size columns), got {tuple(X.shape)}")
        assert tuple(Y.shape) == Y_exp.shape, f"{what}: Y should have shape {Y_exp.shape}, got {tuple(Y.shape)}"
        assert np.array_equal(Y, Y_exp), \
            (f"{what}: the targets should be the indices of each name's characters followed by 0 ('.'); "
             f"expected {Y_exp.tolist()}, got {Y.tolist()}")
        assert np.array_equal(X, X_exp), \
            (f"{what}: context {_first_row(X, X_exp)} (each name starts from block_size dots; the context then "
             "slides left by one character)")


@pytest.mark.points(1)
def test_split_words(student, reference, grading_seed):
    """split_words shuffles a copy with random.Random(seed) and cuts 80/10/10"""
    rng = random.Random(grading_seed + 2)
    cases = [(_unique_words(rng, n), rng.randrange(1000)) for n in (10, 57, 203, 31)]
    probe = ("_out = []\n"
             f"for _ws, _seed in {cases!r}:\n"
             "    _orig = list(_ws)\n"
             "    _parts = split_words(_ws, seed=_seed)\n"
             "    _out.append([[list(_x) for _x in _parts], _ws == _orig])\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (words, seed), (parts, unchanged), (ref_parts, _) in zip(cases, got, ref):
        n = len(words)
        expected = _split(words, seed)
        n1, n2 = int(0.8 * n), int(0.9 * n)
        call = f"split_words({n} hidden names, seed={seed})"
        assert ref_parts == expected, "the reference solution's split changed"
        assert len(parts) == 3, f"{call} should return three lists (train, dev, test), got {len(parts)}"
        overlap = _overlaps(parts)
        assert overlap is None, f"{call}: {overlap}"
        sizes = [len(p) for p in parts]
        assert sizes == [n1, n2 - n1, n - n2], \
            f"{call} should give {[n1, n2 - n1, n - n2]} names (int(0.8 n) and int(0.9 n) as cut points), got {sizes}"
        assert sorted(parts[0] + parts[1] + parts[2]) == sorted(words), \
            f"{call}: the three splits together should contain every name exactly once"
        assert unchanged, f"{call} changed the caller's list: shuffle a copy (list(words)), not the list you are given"
        assert parts[0] != words[:n1] or n < 20, f"{call}: the names should be shuffled before splitting"
        first = next((i for i in range(3) if parts[i] != expected[i]), 0)
        assert parts == expected, (
            f"{call} is not the split given by shuffling a copy with random.Random({seed}).shuffle and cutting it at "
            f"int(0.8 n) and int(0.9 n): the {['training', 'dev', 'test'][first]} split should start "
            f"{expected[first][:3]}, got {parts[first][:3]}")


@pytest.mark.points(1)
def test_notebook_splits(student, reference):
    """The notebook's train/dev/test names and tensors are the 80/10/10 split of names.txt"""
    probe = ("_missing = [_k for _k in ['train_words', 'dev_words', 'test_words', 'Xtr', 'Ytr', 'Xdev', 'Ydev', 'Xte', 'Yte']\n"
             "            if _k not in globals()]\n"
             "_missing or {'split': [list(train_words), list(dev_words), list(test_words)],\n"
             "             'data': [Xtr, Ytr, Xdev, Ydev, Xte, Yte]}")
    got = student.eval(probe)
    assert isinstance(got, dict), (f"the notebook's split cell did not run to the end ({', '.join(got)} missing): look "
                                   "at the first error in your notebook")
    names = reference.eval("list(words)")     # names.txt as the reference read it (the reference never shuffles it)
    expected = _split(names, 42)
    assert reference.eval("[list(train_words), list(dev_words), list(test_words)]") == expected, \
        "the reference solution's split changed"
    n = len(names)
    sizes = [len(part) for part in expected]
    parts = got["split"]
    overlap = _overlaps(parts)
    assert overlap is None, f"train_words, dev_words, test_words = split_words(words, seed=42): {overlap}"
    assert [len(p) for p in parts] == sizes, \
        f"the {n} names should be split into {sizes} train/dev/test names, got {[len(p) for p in parts]}"
    assert Counter(parts[0] + parts[1] + parts[2]) == Counter(names), \
        "train_words, dev_words and test_words together should hold every name of names.txt exactly once"
    for part, want, label in zip(parts, expected, ["train_words", "dev_words", "test_words"]):
        assert part == want, (
            f"{label} should be the names of names.txt (in the order of the file) shuffled with random.Random(42) "
            f"and cut at int(0.8 n) and int(0.9 n): it should start {want[:3]}, got {part[:3]} (did something "
            "reorder the global `words` before the split?)")
    for (label_x, label_y), words, X, Y in zip([("Xtr", "Ytr"), ("Xdev", "Ydev"), ("Xte", "Yte")], expected,
                                               got["data"][0::2], got["data"][1::2]):
        X_exp, Y_exp = _build(words, 3)
        assert tuple(X.shape) == X_exp.shape and tuple(Y.shape) == Y_exp.shape, \
            (f"{label_x}, {label_y} should have shapes {X_exp.shape} and {Y_exp.shape} (one example per character "
             f"plus one per name, block_size 3), got {tuple(X.shape)} and {tuple(Y.shape)}")
        assert np.array_equal(X, X_exp) and np.array_equal(Y, Y_exp), \
            f"{label_x}, {label_y} should be build_dataset of the names of its split: {_first_row(X, X_exp)}"
@pytest.mark.points(1)
def test_kaiming_std(student, reference, grading_seed):
    """kaiming_std is gain / sqrt(fan_in), with the tanh gain 5/3 by default"""
    rng = random.Random(grading_seed + 3)
    fans = [10, 30, 200, rng.randint(2, 500)]
    gains = {"linear": torch.nn.init.calculate_gain("linear"), "relu": torch.nn.init.calculate_gain("relu"),
             "tanh": torch.nn.init.calculate_gain("tanh")}
    probe = (f"[[float(kaiming_std(_f)) for _f in {fans!r}],\n"
             f" [[float(kaiming_std(_f, gain=_g)) for _f in {fans!r}] for _g in {list(gains.values())!r}]]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert_close(ref[0], [gains["tanh"] / math.sqrt(f) for f in fans], "the reference solution's kaiming_std changed")
    for (name, gain), values in zip(gains.items(), got[1]):
        assert_close(values, [gain / math.sqrt(f) for f in fans],
                     f"kaiming_std(fan_in, gain={gain:.4f}) (the {name} gain) for fan_in = {fans} should be gain / sqrt(fan_in)",
                     rtol=1e-9, atol=1e-12)
    assert_close(got[0], [gains["tanh"] / math.sqrt(f) for f in fans],
                 f"kaiming_std(fan_in) with the default gain for fan_in = {fans} (the tanh gain is 5/3)",
                 rtol=1e-9, atol=1e-12)


@pytest.mark.points(1.5)
def test_init_params(student, reference, grading_seed):
    """init_params draws C, W1, b1, W2, b2 in order and scales them as each init requires"""
    rng = random.Random(grading_seed + 4)
    seed = rng.randrange(10**6)
    n_embd, n_hidden, block_size, vocab = 4, 7, 2, 5
    probe = (
        "_out = {}\n"
        "for _init in ['naive', 'output', 'kaiming']:\n"
        f"    _p = init_params({n_embd}, {n_hidden}, block_size={block_size}, vocab_size={vocab}, init=_init,\n"
        f"                     generator=torch.Generator().manual_seed({seed}))\n"
        "    _out[_init] = {'keys': sorted(_p), 'values': {k: _p[k] for k in _p},\n"
        "                   'leaf': all(bool(_t.requires_grad) and bool(_t.is_leaf) for _t in _p.values()),\n"
        "                   'dtype': sorted({str(_t.dtype) for _t in _p.values()})}\n"
        "_out['count'] = [sum(_t.nelement() for _t in init_params(10, 200).values()),\n"
        "                 sum(_t.nelement() for _t in init_params(2, 100).values())]\n"
        "_out"
    )
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert ref["count"] == [11897, 3481], "the reference solution's parameter count changed"
    assert got["count"][0] == 11897, \
        (f"init_params(10, 200) should have 270 + 6000 + 200 + 5400 + 27 = 11,897 parameters, got {got['count'][0]}")
    assert got["count"][1] == 3481, f"init_params(2, 100) should have 3,481 parameters, got {got['count'][1]}"

    g = torch.Generator().manual_seed(seed)
    fan_in = block_size * n_embd
    raw = {"C": torch.randn((vocab, n_embd), generator=g), "W1": torch.randn((fan_in, n_hidden), generator=g),
           "b1": torch.randn(n_hidden, generator=g), "W2": torch.randn((n_hidden, vocab), generator=g),
           "b2": torch.randn(vocab, generator=g)}
    k = (5 / 3) / math.sqrt(fan_in)
    expected = {
        "naive": dict(raw),
        "output": {**raw, "W2": raw["W2"] * 0.01, "b2": torch.zeros(vocab)},
        "kaiming": {**raw, "W1": raw["W1"] * k, "b1": raw["b1"] * 0.01, "W2": raw["W2"] * 0.01, "b2": torch.zeros(vocab)},
    }
    how = {
        "naive": {key: "torch.randn" for key in KEYS},
        "output": {"C": "torch.randn", "W1": "torch.randn", "b1": "torch.randn", "W2": "torch.randn * 0.01", "b2": "zero"},
        "kaiming": {"C": "torch.randn", "W1": "torch.randn * (5/3) / sqrt(fan_in)", "b1": "torch.randn * 0.01",
                    "W2": "torch.randn * 0.01", "b2": "zero"},
    }
    for variant in ("naive", "output", "kaiming"):
        mine = got[variant]
        assert mine["keys"] == sorted(KEYS), f"init_params should return a dict with the keys {KEYS}, got {mine['keys']}"
        assert mine["leaf"], f"with init={variant!r} every parameter should be a leaf tensor with requires_grad=True"
        assert mine["dtype"] == ["torch.float32"], f"the parameters should be float32 tensors, got {mine['dtype']}"
        for key in KEYS:
            want = expected[variant][key].numpy()
            value = mine["values"][key]
            assert tuple(value.shape) == want.shape, \
                (f"{key} of init_params({n_embd}, {n_hidden}, block_size={block_size}, vocab_size={vocab}) should have "
                 f"shape {want.shape}, got {tuple(value.shape)}")
            assert_close(value, want, f"{key} with init={variant!r} should be {how[variant][key]} (drawn in the order C, W1, "
                                      "b1, W2, b2 from the given generator)", rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- forward and training step
@pytest.mark.points(1.5)
def test_forward(student, reference, grading_seed):
    """forward returns the logits and tanh activations of the MLP; evaluate returns the mean cross-entropy"""
    rng = random.Random(grading_seed + 5)
    for n_embd, n_hidden, block_size, batch, vocab in [(10, 200, 3, 32, 27), (6, 16, 4, 9, 27), (3, 8, 2, 7, 5)]:
        seed = rng.randrange(10**6)
        X = [[rng.randrange(vocab) for _ in range(block_size)] for _ in range(batch)]
        Y = [rng.randrange(vocab) for _ in range(batch)]
        R = np.round(np.asarray([[rng.gauss(0, 1) for _ in range(vocab)] for _ in range(batch)]), 3)
        probe = (_rebind("evaluate") + _params_code(seed, n_embd, n_hidden, block_size, vocab=vocab) +
                 f"_X = torch.tensor({X!r}); _Y = torch.tensor({Y!r})\n"
                 "_res = forward(_p, _X)\n"
                 "_ok = isinstance(_res, tuple) and len(_res) == 2\n"
                 "_grads = None\n"
                 "if _ok and isinstance(_res[0], torch.Tensor) and _res[0].requires_grad:\n"
                 f"    (_res[0] * torch.tensor({R.tolist()!r})).sum().backward()\n"
                 "    _grads = {_k: _t.grad for _k, _t in _p.items()}\n"
                 "_saved = [0]\n"
                 "def _count(_t):\n"
                 "    _saved[0] += 1\n"
                 "    return _t\n"
                 "with torch.autograd.graph.saved_tensors_hooks(_count, lambda _t: _t):\n"
                 "    _ev = _evaluate(_p, _X, _Y)\n"
                 "{'pair': _ok, 'logits': _res[0] if _ok else None, 'h': _res[1] if _ok else None, 'grads': _grads,\n"
                 " 'eval': _ev if isinstance(_ev, float) else None, 'eval_type': type(_ev).__name__, 'saved': _saved[0]}")
        got = student.eval(probe)
        ref = reference.eval(probe)
        params = {k: v.detach().numpy() for k, v in _same_params(seed, n_embd, n_hidden, block_size, vocab=vocab).items()}
        logits, h = _forward64(params, X)
        size = f"n_embd={n_embd}, n_hidden={n_hidden}, block_size={block_size}, vocab_size={vocab}, batch of {batch}"
        assert_close(ref["logits"], logits.numpy(), "the reference solution's logits changed", rtol=1e-5, atol=1e-5)
        assert got["pair"], "forward(params, X) should return a pair (logits, h)"
        assert tuple(got["h"].shape) == (batch, n_hidden), \
            f"forward(params, X) ({size}): h should have shape (batch, n_hidden) = {(batch, n_hidden)}, got {tuple(got['h'].shape)}"
        assert tuple(got["logits"].shape) == (batch, vocab), \
            (f"forward(params, X) ({size}): logits should have shape (batch, vocab_size) = {(batch, vocab)}, "
             f"got {tuple(got['logits'].shape)}")
        assert_close(got["h"], h.numpy(), f"forward(params, X) ({size}): the hidden activations "
                     "h = tanh(C[X].view(B, -1) @ W1 + b1)", rtol=1e-5, atol=1e-6)
        assert_close(got["logits"], logits.numpy(), f"forward(params, X) ({size}): the logits h @ W2 + b2",
                     rtol=1e-5, atol=1e-5)
        assert got["grads"] is not None, \
            f"forward(params, X) ({size}): the logits should require a gradient (compute them from the parameters with torch operations)"
        p64 = {k: torch.tensor(v, dtype=F64, requires_grad=True) for k, v in params.items()}
        hidden = torch.tanh(p64["C"][torch.tensor(X)].reshape(batch, -1) @ p64["W1"] + p64["b1"])
        out64 = hidden @ p64["W2"] + p64["b2"]
        grads = torch.autograd.grad((out64 * torch.tensor(R, dtype=F64)).sum(), [p64[k] for k in KEYS])
        for key, grad in zip(KEYS, grads):
            assert got["grads"][key] is not None, \
                f"forward(params, X) ({size}): no gradient reaches {key}; use the parameter itself, not .data or a copy"
            assert_close(got["grads"][key], grad.numpy(), f"forward(params, X) ({size}): the gradient of "
                         f"sum(R * logits) with respect to {key}", rtol=1e-3, atol=1e-5)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(Y)).item()
        fake_logits, _ = _forward64(params, X, activation=torch.sin)
        fake_loss = torch.nn.functional.cross_entropy(fake_logits, torch.tensor(Y)).item()
        assert_close(ref["eval"], fake_loss, "grader setup: the reference's evaluate with the fake forward", rtol=1e-5, atol=1e-6)
        assert got["eval"] is not None, f"evaluate should return a Python float, got a {got['eval_type']}"
        if not is_close(got["eval"], loss, rtol=1e-5, atol=1e-6):   # evaluate's own forward pass is right too
            assert_close(got["eval"], fake_loss,
                         f"evaluate(params, X, Y) ({size}): the mean cross-entropy of forward(params, X)'s logits with "
                         "Y (forward replaced by the grader's stand-in, the model with sin in place of tanh, so that "
                         "only evaluate is graded here)", rtol=1e-5, atol=1e-6)
        assert got["saved"] == 0, \
            (f"evaluate(params, X, Y) ({size}) built a graph for backpropagation: it needs no gradients, so run "
             "it under torch.no_grad()")


@pytest.mark.points(2)
def test_train_step(student, reference, grading_seed):
    """train_step backpropagates the cross-entropy, resets old gradients and steps downhill"""
    rng = random.Random(grading_seed + 6)
    seed = rng.randrange(10**6)
    n_embd, n_hidden, block_size, batch = 5, 12, 3, 16
    X = [[rng.randrange(27) for _ in range(block_size)] for _ in range(batch)]
    Y = [rng.randrange(27) for _ in range(batch)]
    probe = (_rebind("train_step") + _params_code(seed, n_embd, n_hidden, block_size) +
             "_step = _train_step\n"
             f"_X = torch.tensor({X!r}); _Y = torch.tensor({Y!r})\n"
             "_start = {k: _t.detach().clone() for k, _t in _p.items()}\n"
             "_l1 = _step(_p, _X, _Y, 0.0)\n"
             "_g1 = {k: (None if _t.grad is None else _t.grad.clone()) for k, _t in _p.items()}\n"
             "_l2 = _step(_p, _X, _Y, 0.0)\n"
             "_g2 = {k: (None if _t.grad is None else _t.grad.clone()) for k, _t in _p.items()}\n"
             "_same = {k: bool(torch.equal(_t.detach(), _start[k])) for k, _t in _p.items()}\n"
             "_l3 = _step(_p, _X, _Y, 0.5)\n"
             "_mid = {k: _t.detach().clone() for k, _t in _p.items()}\n"
             "_l4 = _step(_p, _X, _Y, 0.2)\n"
             "{'start': _start, 'g1': _g1, 'g2': _g2, 'same': _same, 'mid': _mid, 'after': {k: _t for k, _t in _p.items()},\n"
             " 'losses': [_l if isinstance(_l, float) else None for _l in (_l1, _l2, _l3, _l4)], 'type': type(_l1).__name__}")
    got = student.eval(probe)
    ref = reference.eval(probe)

    def loss_and_grads(values, activation=torch.sin):
        p = {k: torch.tensor(np.asarray(values[k]), dtype=F64, requires_grad=True) for k in KEYS}
        emb = p["C"][torch.tensor(X)].reshape(batch, -1)
        logits = activation(emb @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(Y))
        return p, loss, dict(zip(KEYS, torch.autograd.grad(loss, [p[k] for k in KEYS])))

    p, loss, grads = loss_and_grads(got["start"])
    assert_close(ref["losses"][0], loss.item(), "grader setup: the reference's train_step with the fake forward",
                 rtol=1e-5, atol=1e-6)
    call = (f"train_step(params, X, Y, lr) on a hidden batch of {batch} (n_embd={n_embd}, n_hidden={n_hidden}; forward "
            "replaced by the grader's stand-in, the model with sin in place of tanh, so that only train_step is graded)")
    true = loss_and_grads(got["start"], torch.tanh)
    if got["losses"][0] is not None and is_close(got["losses"][0], true[1].item(), rtol=1e-5, atol=1e-6):
        # train_step does forward's work itself: graded against the true model
        p, loss, grads = true
        loss_and_grads = functools.partial(loss_and_grads, activation=torch.tanh)
    assert None not in got["losses"], f"{call} should return the loss as a Python float (loss.item()), got a {got['type']}"
    assert_close(got["losses"][0], loss.item(), f"{call} with lr=0: the cross-entropy of the batch before the update",
                 rtol=1e-5, atol=1e-6)
    for key in KEYS:
        assert got["g1"][key] is not None, \
            f"after {call}, {key}.grad is None: the loss must be backpropagated to every parameter (C included)"
        assert_close(got["g1"][key], grads[key].numpy(), f"{key}.grad after {call} with lr=0",
                     rtol=1e-3, atol=1e-5)
    for key in KEYS:
        assert got["same"][key], f"{call} with lr=0 must not change {key}"
        assert_close(got["g2"][key], got["g1"][key],
                     f"{key}.grad after a second {call} with lr=0 should equal the first one: reset every p.grad "
                     "(to None) before loss.backward(), or the gradients pile up", rtol=1e-5, atol=1e-7)
    for key in KEYS:
        assert_close(got["mid"][key], (p[key] - 0.5 * grads[key]).detach().numpy(),
                     f"{key} after {call} with lr=0.5 should be {key} - 0.5 * {key}.grad (a step downhill)",
                     rtol=1e-5, atol=1e-5)
    p2, loss2, grads2 = loss_and_grads(got["mid"])
    assert_close(got["losses"][3], loss2.item(), f"{call} with lr=0.2 after the step with lr=0.5: the loss before "
                 "this update", rtol=1e-5, atol=1e-6)
    for key in KEYS:
        assert_close(got["after"][key], (p2[key] - 0.2 * grads2[key]).detach().numpy(),
                     f"{key} after a further {call} with lr=0.2 should be {key} - 0.2 * {key}.grad (use the lr you "
                     "are given)", rtol=1e-5, atol=1e-5)


@pytest.mark.points(1)
def test_get_batch(student, reference, grading_seed):
    """get_batch draws its rows with torch.randint and the given generator"""
    rng = random.Random(grading_seed + 7)
    n, seed = rng.randint(50, 300), rng.randrange(10**6)
    probe = (f"_X = torch.arange({n} * 3).view({n}, 3); _Y = torch.arange({n}) * 10\n"
             f"_a = get_batch(_X, _Y, 16, generator=torch.Generator().manual_seed({seed}))\n"
             f"_b = get_batch(_X, _Y, 5, generator=torch.Generator().manual_seed({seed + 1}))\n"
             "[_a[0], _a[1], _b[0], _b[1]]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    X = np.arange(n * 3).reshape(n, 3)
    Y = np.arange(n) * 10
    for i, (size, s) in enumerate([(16, seed), (5, seed + 1)]):
        ix = torch.randint(0, n, (size,), generator=torch.Generator().manual_seed(s)).numpy()
        assert np.array_equal(ref[2 * i], X[ix]), "the reference solution's batch changed"
        xb, yb = got[2 * i], got[2 * i + 1]
        assert tuple(xb.shape) == (size, 3) and tuple(yb.shape) == (size,), \
            (f"get_batch(X, Y, {size}) with X of shape ({n}, 3) should return ({size}, 3) and ({size},), "
             f"got {tuple(xb.shape)} and {tuple(yb.shape)}")
        assert np.array_equal(yb, Y[ix]) and np.array_equal(xb, X[ix]), \
            (f"get_batch(X, Y, {size}, generator) with X of {n} rows and Y = 10 * (row number) should return the rows "
             f"torch.randint(0, X.shape[0], ({size},), generator=generator) of X and the same rows of Y: expected Y "
             f"rows {(Y[ix] // 10).tolist()[:8]}, got {(np.asarray(yb) // 10).tolist()[:8]}")


# --------------------------------------------------------------------------- health checks
@pytest.mark.points(1.5)
def test_initial_loss(student, reference, grading_seed):
    """The initial loss is ln 27 after fixing the output layer, and far above it without the fix"""
    rng = random.Random(grading_seed + 8)
    seed = rng.randrange(10**6)
    X = [[rng.randrange(27) for _ in range(3)] for _ in range(400)]
    Y = [rng.randrange(27) for _ in range(400)]
    probe = ("[expected_initial_loss(), expected_initial_loss(10), expected_initial_loss(vocab_size=2)]")
    got = student.eval(probe)
    assert_close(reference.eval(probe), [LN27, math.log(10), math.log(2)], "the reference solution's values changed")
    assert _is_numbers(got), f"expected_initial_loss should return a float, got {got}"
    assert_close(got[0], LN27, "expected_initial_loss(): the loss of a uniform guess over 27 characters, -ln(1/27)",
                 rtol=1e-9, atol=1e-9)
    assert_close(got[1:], [math.log(10), math.log(2)], "expected_initial_loss(10) and (2): -ln(1/vocab_size)",
                 rtol=1e-9, atol=1e-9)

    probe = ("_out = {}\n"
             "for _init in ['naive', 'output', 'kaiming']:\n"
             f"    _out[_init] = init_params(10, 200, init=_init, generator=torch.Generator().manual_seed({seed}))\n"
             "_out")
    got = student.eval(probe)
    for mode in ("naive", "output", "kaiming"):
        logits, _ = _forward64(got[mode], X)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(Y)).item()
        call = f"init_params(10, 200, init={mode!r})"
        if mode == "naive":
            assert loss > 3 * LN27, \
                (f"with {call} (plain randn everywhere) the initial loss on 400 hidden contexts should be far above "
                 f"ln 27 (confidently wrong logits), got {loss:.3f}")
        else:
            assert abs(loss - LN27) < 0.1, \
                (f"with {call} (b2 = 0 and W2 * 0.01) the initial loss on 400 hidden contexts should be within 0.1 of "
                 f"ln 27 = 3.2958, got {loss:.4f}")


@pytest.mark.points(1.5)
def test_saturation_statistics(student, reference, grading_seed):
    """saturation_fraction and dead_neurons count |h| > threshold entries and fully saturated columns"""
    rng = np.random.default_rng(grading_seed + 9)
    rows, cols = 12, 9
    h = rng.uniform(-0.95, 0.95, size=(rows, cols))
    mask = rng.random((rows, cols)) < 0.3
    h[mask] = rng.choice([-1.0, 1.0], size=mask.sum()) * rng.uniform(0.992, 1.0, size=mask.sum())
    dead_cols = rng.choice(cols, size=2, replace=False)
    h[:, dead_cols] = rng.choice([-1.0, 1.0], size=(rows, 2)) * rng.uniform(0.992, 1.0, size=(rows, 2))
    h[0, dead_cols[0]] = -0.999 if h[0, dead_cols[0]] < 0 else 0.999
    h = np.round(h, 4)
    probe = (f"_h = torch.tensor({h.tolist()!r})\n"
             "_d = dead_neurons(_h)\n"
             "_edge = torch.tensor([[0.75, -0.75, 0.8], [-0.75, 0.9, -0.8]])\n"
             "{'frac': [saturation_fraction(_h), saturation_fraction(_h, threshold=0.90005), saturation_fraction(-_h)],\n"
             " 'dead': _d, 'dead_strict': dead_neurons(_h, threshold=0.99955), 'type': type(_d).__name__,\n"
             " 'edge': [saturation_fraction(_edge, threshold=0.75), dead_neurons(_edge, threshold=0.75).tolist()]}")
    got = student.eval(probe)
    ref = reference.eval(probe)
    frac = [float((np.abs(h) > 0.99).mean()), float((np.abs(h) > 0.90005).mean()), float((np.abs(h) > 0.99).mean())]
    dead = (np.abs(h) > 0.99).all(axis=0)
    dead_strict = (np.abs(h) > 0.99955).all(axis=0)
    assert_close(ref["frac"], frac, "the reference solution's fractions changed", rtol=1e-5, atol=1e-6)
    assert _is_numbers(got["frac"]), f"saturation_fraction should return a Python float, got {got['frac']}"
    assert_close(got["frac"][0], frac[0], f"saturation_fraction(h) of a {rows} x {cols} matrix: the share of entries with |h| > 0.99",
                 rtol=1e-5, atol=1e-6)
    assert_close(got["frac"][2], frac[2], "saturation_fraction(-h) should equal saturation_fraction(h): use |h|, "
                                          "since -1 saturates as much as +1", rtol=1e-5, atol=1e-6)
    assert_close(got["frac"][1], frac[1], "saturation_fraction(h, threshold=0.90005): use the threshold argument",
                 rtol=1e-5, atol=1e-6)
    assert got["type"] == "Tensor", f"dead_neurons should return a boolean tensor, got a {got['type']}"
    assert tuple(got["dead"].shape) == (cols,), \
        f"dead_neurons(h) should have one entry per column (hidden unit): shape ({cols},), got {tuple(got['dead'].shape)}"
    assert got["dead"].dtype == np.bool_, f"dead_neurons should return a boolean tensor, got dtype {got['dead'].dtype}"
    assert got["dead"].tolist() == dead.tolist(), \
        (f"dead_neurons(h) should be True exactly for the columns where |h| > 0.99 in every row (columns "
         f"{np.flatnonzero(dead).tolist()}), got columns {np.flatnonzero(got['dead']).tolist()}")
    assert got["dead_strict"].tolist() == dead_strict.tolist(), "dead_neurons(h, threshold=0.99955): use the threshold argument"
    edge = "h = [[0.75, -0.75, 0.8], [-0.75, 0.9, -0.8]] and threshold=0.75 (an entry equal to the threshold does not exceed it)"
    assert_close(got["edge"][0], 0.5, f"saturation_fraction(h, threshold=0.75) for {edge}", rtol=1e-6, atol=1e-7)
    assert got["edge"][1] == [False, False, True], \
        f"dead_neurons(h, threshold=0.75) for {edge} should be [False, False, True], got {got['edge'][1]}"


@pytest.mark.points(0.5)
def test_saturation_at_init(student, reference, grading_seed):
    """On real contexts, the Kaiming init keeps most tanh units out of saturation"""
    seed = random.Random(grading_seed + 10).randrange(10**6)
    xb = reference.eval(f"Xtr[torch.randint(0, Xtr.shape[0], (32,), generator=torch.Generator().manual_seed({seed}))]")
    probe = ("_out = {}\n"
             "for _init in ['output', 'kaiming']:\n"
             f"    _p = init_params(10, 200, init=_init, generator=torch.Generator().manual_seed({seed + 1}))\n"
             "    _out[_init] = {k: _t.detach() for k, _t in _p.items()}\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    fracs = {init: float((np.abs(_forward64(got[init], xb)[1].numpy()) > 0.99).mean()) for init in ["output", "kaiming"]}
    ref_fracs = {init: float((np.abs(_forward64(ref[init], xb)[1].numpy()) > 0.99).mean()) for init in ["output", "kaiming"]}
    assert ref_fracs["output"] > 0.4 and ref_fracs["kaiming"] < 0.25, "the reference solution's saturation changed"
    std = float(np.std(got["kaiming"]["W1"]))
    assert abs(std - (5 / 3) / math.sqrt(30)) < 0.03, \
        f"with init_params(10, 200, init='kaiming') W1 should have a standard deviation of (5/3)/sqrt(30) = 0.304, got {std:.3f}"
    assert fracs["output"] > 0.4, \
        (f"with init_params(10, 200, init='output') (W1 from plain randn) most tanh units should be saturated on a "
         f"batch of 32 training contexts, got a fraction of {fracs['output']:.3f}")
    assert fracs["kaiming"] < 0.25, \
        (f"with init_params(10, 200, init='kaiming') fewer than a quarter of the tanh activations of a batch of 32 "
         f"training contexts should have |h| > 0.99, got {fracs['kaiming']:.3f}")


# --------------------------------------------------------------------------- learning rate and training
def _tiny_data(rng: random.Random, n: int = 120):
    words = _random_words(rng, n // 5)
    X, Y = _build(words, 3)
    return X, Y


@pytest.mark.points(1.5)
def test_lr_sweep(student, reference, grading_seed):
    """lr_sweep steps through exponentially spaced learning rates, one minibatch each"""
    rng = random.Random(grading_seed + 11)
    X, Y = _tiny_data(rng)
    pseed, bseed = rng.randrange(10**6), rng.randrange(10**6)
    runs = [(40, 8), (13, 5)]
    probe = _rebind("lr_sweep") + "_out = []\n"
    for n, bs in runs:
        probe += (_params_code(pseed, 4, 10, 3) +
                  f"_lre, _losses = _lr_sweep(_p, torch.tensor({X.tolist()!r}), torch.tensor({Y.tolist()!r}), "
                  f"n={n}, batch_size={bs}, generator=torch.Generator().manual_seed({bseed}))\n"
                  "_out.append([list(_lre), list(_losses), list(_spy_calls)])\n_spy_calls.clear()\n")
    got = student.eval(probe + "_out")
    ref = reference.eval(probe + "_out")
    for (n, bs), (lre_got, losses, calls), (_, ref_losses, _) in zip(runs, got, ref):
        exps = torch.linspace(-3, 0, n)
        true = _replay(_same_params(pseed, 4, 10, 3), X, Y, (10 ** exps).tolist(), bs, bseed)
        expected = _spy_replay(Y, (10 ** exps).tolist(), bs, bseed)
        call = f"lr_sweep(params, X, Y, n={n}, batch_size={bs}, generator) on {len(X)} hidden examples"
        assert_close(ref_losses, expected, "grader setup: the reference's sweep with the fakes", rtol=1e-6, atol=1e-6)
        _check_spied_arguments("lr_sweep", calls)
        assert _is_numbers(lre_got) and len(lre_got) == n, f"{call} should return {n} exponents as floats"
        assert _is_numbers(losses) and len(losses) == n, f"{call} should return {n} losses as floats"
        assert_close(lre_got, exps.tolist(), f"{call}: the exponents should be torch.linspace(-3, 0, {n}) (rates "
                     "from 10**-3 to 10**0)", rtol=1e-6, atol=1e-7)
        if not is_close(losses, true, rtol=1e-4, atol=1e-5):   # the helpers' work done inline is right too
            assert_close(losses, expected,
                         f"{call}: the values train_step returned, replayed here (step i draws a get_batch minibatch "
                         f"with the generator and does one train_step with lr = 10**lre[i], rates growing exponentially "
                         f"from 0.001 to 1), with {SPIES}", rtol=1e-6, atol=1e-6)


@pytest.mark.points(1)
def test_pick_lr(student, reference, grading_seed):
    """pick_lr returns the rate at the centre of the lowest moving-average window"""
    rng = random.Random(grading_seed + 12)
    cases = []
    for n, window, shape in [(200, 20, "valley"), (150, 15, "valley"), (301, 25, "valley"), (120, 10, "falling"),
                             (90, 9, "rising"), (100, 8, "valley")]:
        lre = [-3 + 3 * i / (n - 1) for i in range(n)]
        while True:
            best = rng.uniform(-2.2, -0.8)
            if shape == "valley":
                losses = [2.3 + 0.8 * (e - best) ** 2 + rng.uniform(-0.05, 0.05) for e in lre]
                far = min(range(n), key=lambda i: -abs(lre[i] - best))  # an outlier far from the valley
                losses[far] = 0.5
            elif shape == "falling":                                     # lowest at the very last window
                losses = [3.0 - 0.3 * (e + 3) + rng.uniform(-0.01, 0.01) for e in lre]
            else:  # the first step's loss high (as at initialisation), then rising: the lowest window is the second
                losses = [2.0 + 0.3 * (e + 3) + rng.uniform(-0.01, 0.01) for e in lre]
                losses[0] = 6.0
            # the lowest window wins by more than rounding: a float32 running sum (the lecture's
            # torch.tensor(0.0) += ...) picked a window 3 steps away under one grading seed of
            # 15, where two windows' averages differed by less than its rounding
            avg = sorted(sum(losses[j:j + window]) / window for j in range(n - window + 1))
            if avg[1] - avg[0] > 1e-4:
                break
        cases.append((lre, losses, window, shape))
    probe = f"[pick_lr(_lre, _losses, window=_w) for _lre, _losses, _w, _s in {cases!r}]"
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (lre, losses, window, shape), mine, theirs in zip(cases, got, ref):
        avg = [sum(losses[j:j + window]) / window for j in range(len(losses) - window + 1)]
        j = min(range(len(avg)), key=avg.__getitem__)
        want = 10 ** lre[j + window // 2]
        assert_close(theirs, want, "the reference solution's pick changed", rtol=1e-9, atol=0)
        assert isinstance(mine, (int, float)) and not isinstance(mine, bool), f"pick_lr should return a float, got {mine!r}"
        where = {"valley": f"its valley at exponent {lre[j + window // 2]:.3f} and one outlier",
                 "falling": "losses falling to the very end (the lowest window is the last one)",
                 "rising": "a high first loss (6.0), then losses rising (the lowest window is the second one, "
                           "after that first loss)"}[shape]
        got_index = min(range(len(lre)), key=lambda i: abs(10 ** lre[i] - mine)) if mine > 0 else None
        assert_close(mine, want,
                     f"pick_lr(lre, losses, window={window}) on a sweep of {len(lre)} steps with {where}: the rate "
                     f"10**lre[j + window // 2] = 10**lre[{j + window // 2}] at the centre of the lowest {window}-step "
                     f"moving average (windows j = 0 .. n - window){'' if got_index is None else f'; yours is 10**lre[{got_index}]'}",
                     rtol=1e-6, atol=0)


@pytest.mark.points(1.5)
def test_train(student, reference, grading_seed):
    """train runs minibatch steps and divides the learning rate by 10 from step decay_at on"""
    rng = random.Random(grading_seed + 13)
    X, Y = _tiny_data(rng)
    pseed, bseed = rng.randrange(10**6), rng.randrange(10**6)
    runs = [(24, 0.3, 16, 8), (10, 0.2, None, 8), (6, 0.5, 0, 5), (7, 0.4, 10, 6), (5, 0.1, 1, 7)]
    probe = _rebind("train") + "_out = []\n"
    for steps, lr, decay, bs in runs:
        probe += (_params_code(pseed, 4, 10, 3) +
                  f"_l = _train(_p, torch.tensor({X.tolist()!r}), torch.tensor({Y.tolist()!r}), {steps}, lr={lr}, "
                  f"decay_at={decay}, batch_size={bs}, generator=torch.Generator().manual_seed({bseed}))\n"
                  "_out.append([list(_l), list(_spy_calls)])\n_spy_calls.clear()\n")
    got = student.eval(probe + "_out")
    ref = reference.eval(probe + "_out")
    for (steps, lr, decay, bs), (mine, calls), (theirs, _) in zip(runs, got, ref):
        _check_spied_arguments("train", calls)
        lrs = [lr if decay is None or i < decay else lr / 10 for i in range(steps)]
        true = _replay(_same_params(pseed, 4, 10, 3), X, Y, lrs, bs, bseed)
        expected = _spy_replay(Y, lrs, bs, bseed)
        call = f"train(params, X, Y, steps={steps}, lr={lr}, decay_at={decay}, batch_size={bs}, generator)"
        assert_close(theirs, expected, "grader setup: the reference's training with the fakes", rtol=1e-6, atol=1e-6)
        assert _is_numbers(mine) and len(mine) == steps, f"{call} should return {steps} losses as floats"
        rule = ("lr for every step" if decay is None else
                "lr / 10 from the very first step" if decay == 0 else
                f"lr for steps 0 .. {decay - 1}, lr / 10 from step {decay} on" if decay < steps else
                f"lr for every step, since decay_at = {decay} is past the last step")
        if not is_close(mine, true, rtol=1e-4, atol=1e-5):   # the helpers' work done inline is right too
            assert_close(mine, expected, f"{call}: the values train_step returned, replayed here ({rule}; a fresh "
                                         f"get_batch minibatch of {bs} each step, drawn with the generator), with {SPIES}",
                         rtol=1e-6, atol=1e-6)


@pytest.mark.points(2)
def test_trained_dev_loss(student, reference):
    """After training, the model's loss on the dev names is as low as the reference's"""
    probe = ("[_k for _k in ['model', 'train_losses'] if _k not in globals()] or "
             "{'steps': len(train_losses), 'params': {k: _t.detach() for k, _t in model.items()}}")
    got = student.eval(probe)
    assert isinstance(got, dict), (f"the notebook's training cell did not run to the end ({', '.join(got)} missing): "
                                   "look at the first error in your notebook")
    ref = reference.eval(probe)
    dev_words = reference.eval("list(dev_words)")
    ref_loss = _reference_dev_loss(ref["params"], dev_words)
    assert ref_loss < LN27 - 0.5, "the reference solution did not train"
    assert got["steps"] == ref["steps"], f"the notebook should train for {ref['steps']} steps, got {got['steps']}"
    loss = _dev_loss64(got["params"], dev_words)
    bound = ref_loss + DEV_MARGIN
    assert loss < bound, (f"after {got['steps']} training steps the loss on the {len(dev_words)} dev names (recomputed "
                          f"by the grader from your trained parameters) should be below {bound:.3f} (the reference "
                          f"reaches {ref_loss:.3f}), got {loss:.3f}")
