"""Hidden tests for week10_sequence_pieces: GRU and LSTM cells in Ng's notation, the re-mapping of
PyTorch's nn.GRUCell / nn.LSTMCell weights, the rollout over a sequence, cosine similarity and
analogies, neutralise / equalise, beam search with length normalisation, and attention scores,
weights and context.

Total: 43 points over 18 tests.

Every input is made here from `grading_seed` (weights rounded to 5 decimals, so the literal sent is
the number used here) and every expected value is computed here: the cells by PyTorch's
`nn.GRUCell` / `nn.LSTMCell` / `nn.GRU` / `nn.LSTM` in float64 (with the mapping written here) or
by Ng's equations in float64 torch, the word-vector functions by closed forms, beam search by an
exhaustive search over every sequence, greedy decoding or a beam search written here, attention
by torch in float64. Where a function calls another graded one, the probe rebinds the helper to
a stand-in that behaves differently from the answer (`grader.testing.with_fakes`), and the test
accepts what the function should return with the stand-in or with the true helper (a student may
inline the helper's work):

* `rnn_forward` runs with `gru_cell` / `lstm_cell` replaced by other recurrences;
* `complete_analogy` runs with `cosine_similarity` replaced by minus the squared distance;
* `attention` runs with `attention_scores` replaced by a table of scores made here, multiplied
  by 1, 2 or 3 for kind "dot", "mult" or "add" (so that passing `kind` on can be seen);
* `equalize` runs with `neutralize` replaced by the linear map 0.5 e + 0.1 (e . g) g (not a
  projection), and the test accepts each way of using it for mu_orth, mu_B = mu - neutralize(mu)
  and e_wB = e_w - neutralize(e_w) (or the true projection for any of them).

Probes contain inputs and calls only and return plain data.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.testing import array_src, assert_close, is_close, with_fakes

F64 = torch.float64


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, k])


def _normal(rng: np.random.Generator, *shape, scale: float = 1.0) -> np.ndarray:
    """Random numbers rounded to 5 decimals, so the literal sent is the number used here."""
    return np.round(rng.normal(size=shape) * scale, 5)


def _arr(array) -> str:
    return array_src(np.asarray(array, dtype=float))


def _dict(params: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {_arr(v)}" for k, v in params.items()) + "}"


def _t(array) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=float), dtype=F64)


def _gate_params(rng, names, n_a, n_x, scale=0.7) -> dict:
    params = {}
    for name in names:
        params["W" + name] = _normal(rng, n_a, n_a + n_x, scale=scale)
        params["b" + name] = _normal(rng, n_a, 1, scale=0.3)
    return params


def _gru_ng(x, c, p, reset_after=False, swap=False, cand=torch.tanh, reset_other=False):
    """Ng's GRU in float64 torch (column layout); the keyword switches make known wrong versions."""
    x, c = _t(x), _t(c)
    P = {k: _t(v) for k, v in p.items()}
    n_a = c.shape[0]
    cat = torch.cat([c, x], 0)
    u = torch.sigmoid(P["Wu"] @ cat + P["bu"])
    r = torch.sigmoid(P["Wr"] @ cat + P["br"])
    bch = P.get("bc_h", torch.zeros(n_a, 1, dtype=F64))
    Wcc, Wcx = P["Wc"][:, :n_a], P["Wc"][:, n_a:]
    after = reset_after != reset_other
    if after:
        c_tilde = cand(Wcx @ x + P["bc"] + r * (Wcc @ c + bch))
    else:
        c_tilde = cand(Wcc @ (r * c) + Wcx @ x + P["bc"] + bch)
    if swap:
        return ((1 - u) * c_tilde + u * c).numpy()
    return (u * c_tilde + (1 - u) * c).numpy()


def _torch_cell(kind, n_x, n_a, seed, bias=True):
    torch.manual_seed(seed)
    cell = kind(n_x, n_a, bias=bias).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.round(torch.randn_like(p) * 0.6 * 1e5) / 1e5)
    return cell


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().astype(float)


def _expected_dict(cell) -> dict:
    """The Ng-style dict of a torch GRUCell / LSTMCell (the mapping the notebook explains)."""
    H = cell.hidden_size
    w_ih, w_hh = _np(cell.weight_ih), _np(cell.weight_hh)
    b_ih = _np(cell.bias_ih) if cell.bias_ih is not None else np.zeros(w_ih.shape[0])
    b_hh = _np(cell.bias_hh) if cell.bias_hh is not None else np.zeros(w_ih.shape[0])

    def W(k):
        return np.concatenate([w_hh[k * H:(k + 1) * H], w_ih[k * H:(k + 1) * H]], axis=1)

    def b(k, ih=True, hh=True):
        return (b_ih[k * H:(k + 1) * H] * ih + b_hh[k * H:(k + 1) * H] * hh).reshape(H, 1)

    if isinstance(cell, nn.GRUCell):
        return {"Wu": -W(1), "bu": -b(1), "Wr": W(0), "br": b(0), "Wc": W(2),
                "bc": b(2, hh=False), "bc_h": b(2, ih=False)}
    return {"Wf": W(1), "bf": b(1), "Wu": W(0), "bu": b(0), "Wc": W(2), "bc": b(2), "Wo": W(3), "bo": b(3)}


def _cell_probe(cell, kind_name: str) -> str:
    """Probe lines that build the same cell (float32) in the student's kernel as `_cell`, on DEVICE."""
    lines = [f"_cell = nn.{kind_name}({cell.input_size}, {cell.hidden_size}, bias={cell.bias_ih is not None})",
             "with torch.no_grad():"]
    for name, p in cell.named_parameters():
        lines.append(f"    _cell.{name}.copy_(torch.tensor({_np(p).tolist()!r}))")
    lines.append("_cell = _cell.to(DEVICE)")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- 1. cells
@pytest.mark.points(3)
def test_gru_cell_ng(student, reference, grading_seed):
    """gru_cell with reset_after=False: Ng's GRU (Gamma_r on c_prev before the product)"""
    rng = _rng(grading_seed, 1)
    for n_x, n_a, m, with_bch in ((3, 5, 4, False), (1, 2, 1, True), (6, 3, 7, True), (2, 4, 3, False)):
        p = _gate_params(rng, "urc", n_a, n_x)
        if with_bch:
            p["bc_h"] = _normal(rng, n_a, 1, scale=0.3)
        x, c = _normal(rng, n_x, m), _normal(rng, n_a, m, scale=0.8)
        probe = f"gru_cell({_arr(x)}, {_arr(c)}, {_dict(p)}, reset_after=False)"
        got = student.eval(probe)
        want = _gru_ng(x, c, p)
        call = (f"gru_cell(xt {x.shape}, c_prev {c.shape}, params{' with bc_h' if with_bch else ''}, "
                "reset_after=False)")
        assert isinstance(got, np.ndarray) and got.shape == (n_a, m), (
            f"{call} should return c_next of shape (n_a, m) = {(n_a, m)}, got {getattr(got, 'shape', type(got).__name__)}")
        hints = [(_gru_ng(x, c, p, swap=True), "Gamma_u and (1 - Gamma_u) are swapped: c = Gamma_u * c_tilde + "
                  "(1 - Gamma_u) * c_prev (Ng's update gate multiplies the candidate)"),
                 (_gru_ng(x, c, p, reset_other=True), "Gamma_r is applied after the product (PyTorch's form); with "
                  "reset_after=False it multiplies c_prev before it: Wc [Gamma_r * c_prev; xt]"),
                 (_gru_ng(x, c, p, cand=torch.sigmoid), "the candidate uses the sigmoid; it is tanh")]
        for wrong, hint in hints:
            if is_close(got, wrong, rtol=1e-6, atol=1e-8) and not is_close(got, want, rtol=1e-6, atol=1e-8):
                raise AssertionError(f"{call}: {hint}")
        assert_close(got, want, f"{call}: c_next (bc_h, when given, is added to bc, not gated)", rtol=1e-6, atol=1e-8)
    assert_close(reference.eval(probe), want, "grader setup: the reference's GRU", rtol=1e-6, atol=1e-8)


@pytest.mark.points(2)
def test_gru_cell_reset_after_equals_torch(student, grading_seed):
    """gru_cell with reset_after=True and re-mapped weights equals nn.GRUCell"""
    rng = _rng(grading_seed, 2)
    for k, (n_x, n_a, m, bias) in enumerate(((3, 5, 4, True), (2, 1, 3, True), (5, 4, 1, False), (4, 6, 6, True))):
        cell = _torch_cell(nn.GRUCell, n_x, n_a, grading_seed * 100 + k, bias)
        p = _expected_dict(cell)
        if not bias:
            del p["bc_h"]   # a missing bc_h is zero
        x, c = _normal(rng, n_x, m), _normal(rng, n_a, m, scale=0.8)
        with torch.no_grad():
            want = _np(cell(_t(x.T), _t(c.T))).T
        got = student.eval(f"gru_cell({_arr(x)}, {_arr(c)}, {_dict(p)}, reset_after=True)")
        call = f"gru_cell(xt {x.shape}, c_prev {c.shape}, params of an nn.GRUCell({n_x}, {n_a}, bias={bias}), reset_after=True)"
        assert isinstance(got, np.ndarray) and got.shape == (n_a, m), f"{call} should return an array (n_a, m) = {(n_a, m)}"
        if is_close(got, _gru_ng(x, c, p), rtol=1e-6, atol=1e-8):
            raise AssertionError(f"{call} ignored reset_after=True: the gate must multiply (Wc_c c_prev + bc_h) after "
                                 "the product, as nn.GRUCell does")
        assert_close(got, want, f"{call}: nn.GRUCell's h' (transposed to (n_a, m))", rtol=1e-6, atol=1e-8)


@pytest.mark.points(3)
def test_lstm_cell(student, reference, grading_seed):
    """lstm_cell equals nn.LSTMCell with re-mapped weights: (a_next, c_next)"""
    rng = _rng(grading_seed, 3)
    for k, (n_x, n_a, m) in enumerate(((3, 5, 4), (1, 2, 1), (6, 3, 7))):
        cell = _torch_cell(nn.LSTMCell, n_x, n_a, grading_seed * 100 + 10 + k)
        p = _expected_dict(cell)
        x, a, c = _normal(rng, n_x, m), _normal(rng, n_a, m, scale=0.8), _normal(rng, n_a, m, scale=1.5)
        with torch.no_grad():
            h1, c1 = cell(_t(x.T), (_t(a.T), _t(c.T)))
        want_a, want_c = _np(h1).T, _np(c1).T
        probe = f"_r = lstm_cell({_arr(x)}, {_arr(a)}, {_arr(c)}, {_dict(p)})\n[type(_r).__name__, len(_r), _r[0], _r[1]]"
        got = student.eval(probe)
        call = f"lstm_cell(xt {x.shape}, a_prev {a.shape}, c_prev {c.shape}, params)"
        assert got[0] in ("tuple", "list") and got[1] == 2, f"{call} should return the pair (a_next, c_next), got a {got[0]}"
        if is_close(got[2], np.tanh(want_c), rtol=1e-6, atol=1e-8) and not is_close(want_c, 0 * want_c, atol=1e-8):
            raise AssertionError(f"{call}: a_next is tanh(c_next) without the output gate: a = Gamma_o * tanh(c_next)")
        assert_close(got[3], want_c, f"{call}: c_next = Gamma_u * c_tilde + Gamma_f * c_prev (c_tilde with tanh, gates "
                     "with the sigmoid, [a_prev; xt] stacked with a_prev first)", rtol=1e-6, atol=1e-8)
        assert_close(got[2], want_a, f"{call}: a_next = Gamma_o * tanh(c_next)", rtol=1e-6, atol=1e-8)
    ref = reference.eval(probe)
    assert_close(ref[3], want_c, "grader setup: the reference's LSTM", rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- 2. re-mapping
def _check_mapping(student, cell, kind_name, what):
    probe = (_cell_probe(cell, kind_name) + "_p = params_from_torch(_cell)\n"
             "{str(_k): np.asarray(_v, dtype=float) for _k, _v in _p.items()} if isinstance(_p, dict) else None")
    got = student.eval(probe)
    want = _expected_dict(cell)
    call = f"params_from_torch({what})"
    assert isinstance(got, dict), f"{call} should return a dict of arrays"
    assert set(got) == set(want), f"{call}: keys should be {sorted(want)}, got {sorted(got)}"
    for key, value in want.items():
        if got[key].shape != value.shape:
            raise AssertionError(f"{call}['{key}'] should have shape {value.shape} (weights (H, H + n_x) with the hidden "
                                 f"columns first, biases (H, 1)), got {got[key].shape}")
    return got, want


@pytest.mark.points(2)
def test_params_from_torch_gru(student, grading_seed):
    """params_from_torch re-maps nn.GRUCell: r -> Gamma_r, z -> 1 - Gamma_u, n -> candidate (bias kept apart)"""
    for k, (n_x, n_a, bias) in enumerate(((3, 5, True), (1, 2, True), (4, 3, False))):
        cell = _torch_cell(nn.GRUCell, n_x, n_a, grading_seed * 100 + 20 + k, bias)
        got, want = _check_mapping(student, cell, "GRUCell", f"nn.GRUCell({n_x}, {n_a}, bias={bias}))")
        call = f"params_from_torch(nn.GRUCell({n_x}, {n_a}, bias={bias}))"
        if is_close(got["Wu"], -want["Wu"], rtol=1e-6, atol=1e-7):
            raise AssertionError(f"{call}: Wu has the wrong sign. PyTorch's z keeps the old state (h' = (1-z) n + z h), "
                                 "so Ng's update gate is 1 - z = sigmoid(-(...)): negate z's weights and biases")
        if is_close(got["Wu"], want["Wr"], rtol=1e-6, atol=1e-7) or is_close(got["Wr"], -want["Wu"], rtol=1e-6, atol=1e-7):
            raise AssertionError(f"{call}: the gates are taken in the wrong order; nn.GRUCell stacks r, z, n")
        for key, value in want.items():
            assert_close(got[key], value, f"{call}['{key}'] (weights [W_h, W_i], hidden columns first; biases b_ih + "
                         "b_hh, except bc = b_in and bc_h = b_hn)", rtol=1e-6, atol=1e-7)


@pytest.mark.points(2)
def test_params_from_torch_lstm(student, grading_seed):
    """params_from_torch re-maps nn.LSTMCell: i, f, g, o -> Gamma_u, Gamma_f, candidate, Gamma_o"""
    for k, (n_x, n_a, bias) in enumerate(((3, 5, True), (2, 1, True), (4, 3, False))):
        cell = _torch_cell(nn.LSTMCell, n_x, n_a, grading_seed * 100 + 30 + k, bias)
        got, want = _check_mapping(student, cell, "LSTMCell", f"nn.LSTMCell({n_x}, {n_a}, bias={bias}))")
        call = f"params_from_torch(nn.LSTMCell({n_x}, {n_a}, bias={bias}))"
        if is_close(got["Wf"], want["Wu"], rtol=1e-6, atol=1e-7) and n_a > 0:
            raise AssertionError(f"{call}: the gates are mixed up; nn.LSTMCell stacks them as i (update), f (forget), "
                                 "g (candidate), o (output)")
        for key, value in want.items():
            assert_close(got[key], value, f"{call}['{key}'] (weights [W_h, W_i], hidden columns first; biases "
                         "b_ih + b_hh; gate order i, f, g, o)", rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- 3. rollout
FAKE_CELLS = '''
def _fake_gru(xt, c_prev, params, reset_after=False):
    return np.tanh(params["Wr"] @ np.concatenate([c_prev, xt]) + params["br"]) * (0.5 if reset_after else 1.0) + 0.25 * c_prev
def _fake_lstm(xt, a_prev, c_prev, params):
    _c = 0.5 * c_prev + np.tanh(params["Wf"] @ np.concatenate([a_prev, xt]) + params["bf"])
    return 0.9 * np.sin(_c) + 0.1 * a_prev, _c
'''


def _fake_rollout(x, a0, p, cell, reset_after):
    a_t, c_t, out = a0, np.zeros_like(a0), []
    for t in range(x.shape[2]):
        cat = np.concatenate([a_t, x[:, :, t]])
        if cell == "gru":
            a_t = np.tanh(p["Wr"] @ cat + p["br"]) * (0.5 if reset_after else 1.0) + 0.25 * a_t
        else:
            c_t = 0.5 * c_t + np.tanh(p["Wf"] @ cat + p["bf"])
            a_t = 0.9 * np.sin(c_t) + 0.1 * a_t
        out.append(a_t)
    return np.stack(out, axis=2)


def _true_rollout(x, a0, p, cell, reset_after):
    a_t, c_t, out = _t(a0), _t(np.zeros_like(a0)), []
    P = {k: _t(v) for k, v in p.items()}
    for t in range(x.shape[2]):
        xt = _t(x[:, :, t])
        if cell == "gru":
            a_t = _t(_gru_ng(x[:, :, t], a_t.numpy(), p, reset_after))
        else:
            cat = torch.cat([a_t, xt])
            c_t = torch.sigmoid(P["Wu"] @ cat + P["bu"]) * torch.tanh(P["Wc"] @ cat + P["bc"]) + \
                torch.sigmoid(P["Wf"] @ cat + P["bf"]) * c_t
            a_t = torch.sigmoid(P["Wo"] @ cat + P["bo"]) * torch.tanh(c_t)
        out.append(a_t.numpy())
    return np.stack(out, axis=2)


@pytest.mark.points(3)
def test_rnn_forward(student, reference, grading_seed):
    """rnn_forward calls the cell at every step, carries the state (LSTM memory from 0) and stacks (n_a, m, T_x)"""
    rng = _rng(grading_seed, 4)
    cases = [("gru", False, 3, 4, 2, 5), ("gru", True, 2, 3, 1, 1), ("lstm", False, 4, 2, 3, 6), ("gru", True, 1, 5, 3, 4)]
    fakes = with_fakes("rnn_forward", {"gru_cell": "_fake_gru", "lstm_cell": "_fake_lstm"})
    for cell, reset_after, n_x, n_a, m, T in cases:
        p = _gate_params(rng, "urcfo", n_a, n_x)
        x, a0 = _normal(rng, n_x, m, T), _normal(rng, n_a, m, scale=0.8)
        probe = FAKE_CELLS + fakes + f"_rnn_forward({_arr(x)}, {_arr(a0)}, {_dict(p)}, cell={cell!r}, reset_after={reset_after})"
        got = student.eval(probe)
        call = f"rnn_forward(x {x.shape}, a0 {a0.shape}, params, cell={cell!r}, reset_after={reset_after})"
        assert isinstance(got, np.ndarray) and got.shape == (n_a, m, T), (
            f"{call} should return every hidden state, shape (n_a, m, T_x) = {(n_a, m, T)}, "
            f"got {getattr(got, 'shape', type(got).__name__)}")
        want = _fake_rollout(x, a0, p, cell, reset_after)
        true = _true_rollout(x, a0, p, cell, reset_after)
        if not (is_close(got, want, rtol=1e-6, atol=1e-8) or is_close(got, true, rtol=1e-6, atol=1e-8)):
            assert_close(got, want, f"{call}, run with the grader's stand-ins for gru_cell and lstm_cell (other "
                         "recurrences): step t must call the cell on x[:, :, t] and the previous step's state (passing "
                         "reset_after on), start the LSTM memory at zeros, and store the new state in a[:, :, t]",
                         rtol=1e-6, atol=1e-8)
    assert_close(reference.eval(probe), want, "grader setup: the reference's rollout", rtol=1e-6, atol=1e-8)


@pytest.mark.points(1)
def test_rnn_forward_equals_torch(student, grading_seed):
    """end to end: params_from_torch + rnn_forward equal nn.GRU and nn.LSTM over a sequence"""
    rng = _rng(grading_seed, 5)
    for k, (kind, n_x, n_a, m, T) in enumerate((("gru", 3, 4, 2, 5), ("lstm", 2, 3, 3, 4))):
        torch.manual_seed(grading_seed * 100 + 40 + k)
        module = (nn.GRU if kind == "gru" else nn.LSTM)(n_x, n_a).double()
        cell = (nn.GRUCell if kind == "gru" else nn.LSTMCell)(n_x, n_a).double()
        with torch.no_grad():
            for name in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]:
                value = torch.round(torch.randn_like(getattr(cell, name)) * 0.6 * 1e5) / 1e5
                getattr(cell, name).copy_(value)
                getattr(module, name + "_l0").copy_(value)
        x, a0 = _normal(rng, n_x, m, T), _normal(rng, n_a, m, scale=0.8)
        with torch.no_grad():
            h0 = _t(a0.T)[None]
            out = module(_t(x.transpose(2, 1, 0)), h0 if kind == "gru" else (h0, torch.zeros_like(h0)))[0]
        want = _np(out).transpose(2, 1, 0)
        probe = (_cell_probe(cell, "GRUCell" if kind == "gru" else "LSTMCell") +
                 f"rnn_forward({_arr(x)}, {_arr(a0)}, params_from_torch(_cell), cell={kind!r}, reset_after=True)")
        got = student.eval(probe)
        assert_close(got, want, f"rnn_forward(x {x.shape}, a0, params_from_torch(nn.{kind.upper()}Cell weights), "
                     f"cell={kind!r}, reset_after=True) against nn.{kind.upper()}'s outputs (T, m, n_a) -> (n_a, m, T)",
                     rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- 4. word vectors
def _cos(u, v) -> float:
    return float(F.cosine_similarity(_t(u)[None], _t(v)[None], eps=0.0)[0])


@pytest.mark.points(2)
def test_cosine_similarity(student, reference, grading_seed):
    """cosine_similarity(u, v) = u.v / (|u| |v|) on vectors of other lengths and sizes"""
    rng = _rng(grading_seed, 6)
    pairs = [(_normal(rng, d, scale=s1), _normal(rng, d, scale=s2)) for d, s1, s2 in ((3, 4.0, 0.3), (7, 1.0, 2.5), (50, 0.2, 0.2))]
    u = _normal(rng, 5, scale=3.0)
    pairs += [(u, -2 * u), (u, 0.5 * u)]
    probe = "[float(cosine_similarity(_u, _v)) for _u, _v in [" + ", ".join(f"({_arr(a)}, {_arr(b)})" for a, b in pairs) + "]]"
    got = student.eval(probe)
    for (a, b), value in zip(pairs, got):
        call = f"cosine_similarity(u, v) with len {len(a)}, |u| = {np.linalg.norm(a):.3f}, |v| = {np.linalg.norm(b):.3f}"
        if abs(value - float(a @ b)) < 1e-9 and abs(float(a @ b) - _cos(a, b)) > 1e-6:
            raise AssertionError(f"{call}: got the plain dot product {value:.5f}; divide by both norms |u| |v|")
        assert_close(value, _cos(a, b), f"{call}: u.v / (|u| |v|)", rtol=1e-9, atol=1e-12)
    assert_close(reference.eval(probe), [_cos(a, b) for a, b in pairs], "grader setup: the reference", rtol=1e-9, atol=1e-12)


WORDS = ["paris", "france", "rome", "italy", "tokyo", "japan", "berlin", "germany", "madrid", "spain", "cairo",
         "egypt", "lima", "peru"]

FAKE_SIM = '''
def _fake_sim(u, v):
    return -float(np.sum((np.asarray(u) - np.asarray(v)) ** 2))
'''


def _analogy(a, b, c, table, sim, exclude=True):
    target = table[c] - table[a] + table[b]
    best, best_sim = None, -np.inf
    for w, e in table.items():
        if exclude and w in (a, b, c):
            continue
        s = sim(e, target)
        if s > best_sim:
            best, best_sim = w, s
    return best


def _np_cos(u, v) -> float:
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def _neg_dist(u, v) -> float:
    return -float(np.sum((u - v) ** 2))


@pytest.mark.points(3)
def test_complete_analogy(student, reference, grading_seed):
    """complete_analogy finds argmax_w sim(e_w, e_c - e_a + e_b), skipping the input words whatever their case"""
    rng = _rng(grading_seed, 7)
    seed_table = {"man": [-1.00, 0.01, 0.03, 0.09], "woman": [1.00, 0.02, 0.02, 0.01], "king": [-0.95, 0.93, 0.70, 0.02],
                  "queen": [0.97, 0.95, 0.69, 0.01], "apple": [0.00, -0.01, 0.03, 0.95], "orange": [0.01, 0.00, -0.02, 0.97]}
    cases = [({w: np.array(v) for w, v in seed_table.items()}, ("Man", "Woman", "King"))]
    for dim, n_words in ((5, 10), (8, 14)):
        table = {w: _normal(rng, dim) for w in WORDS[:n_words]}
        found = []
        for a, b, c in itertools.permutations(list(table), 3):
            naive = {_analogy(a, b, c, table, _np_cos, False), _analogy(a, b, c, table, _neg_dist, False)}
            if naive <= {a, b, c}:
                if not found:     # every input in another case: skipping them must ignore case
                    a, b, c = a.capitalize(), b.upper(), c.capitalize()
                found.append((a, b, c.upper() if len(found) == 1 else c))
                if len(found) == 3:
                    break
        assert found, "grader setup: no hidden analogy where the inputs win"
        cases += [(table, triple) for triple in found]
    fakes = FAKE_SIM + with_fakes("complete_analogy", {"cosine_similarity": "_fake_sim"})
    for table, (a, b, c) in cases:
        probe = fakes + f"_complete_analogy({a!r}, {b!r}, {c!r}, {{{', '.join(f'{w!r}: {_arr(e)}' for w, e in table.items())}}})"
        got = student.eval(probe)
        la, lb, lc = a.lower(), b.lower(), c.lower()
        want_fake = _analogy(la, lb, lc, table, _neg_dist)
        want_true = _analogy(la, lb, lc, table, _cos)
        call = (f"complete_analogy({a!r}, {b!r}, {c!r}, table of {len(table)} words of size {len(table[la])}), run with "
                "cosine_similarity replaced by the grader's minus squared distance")
        if isinstance(got, str) and got.lower() in (la, lb, lc):
            raise AssertionError(f"{call}: returned the input word {got!r}; skip the three input words (compared in lower "
                                 "case) when searching")
        assert got in (want_fake, want_true), (
            f"{call}: expected {want_fake!r} (or {want_true!r} with the true cosine), got {got!r}; the target is "
            "e_c - e_a + e_b and the best word has the largest similarity to it")
    assert reference.eval(probe) == want_fake, "grader setup: the reference's analogy"


def _project(e, g):
    return (e @ g) / (g @ g) * g


@pytest.mark.points(2)
def test_neutralize(student, reference, grading_seed):
    """neutralize removes the projection on g (divided by |g|^2): the result is orthogonal to g"""
    rng = _rng(grading_seed, 8)
    cases = [(_normal(rng, d), _normal(rng, d, scale=s)) for d, s in ((4, 2.0), (9, 0.4), (25, 1.3))]
    probe = "[neutralize(_e, _g) for _e, _g in [" + ", ".join(f"({_arr(e)}, {_arr(g)})" for e, g in cases) + "]]"
    got = student.eval(probe)
    for (e, g), value in zip(cases, got):
        want = _np(_t(e) - (_t(e) @ _t(g)) / (_t(g) @ _t(g)) * _t(g))
        call = f"neutralize(e, g) with len {len(e)}, |g| = {np.linalg.norm(g):.3f}"
        if is_close(value, e - (e @ g) / np.linalg.norm(g) * g, rtol=1e-8, atol=1e-10):
            raise AssertionError(f"{call}: divided by |g| instead of |g|^2: e_bias = (e.g / |g|^2) g")
        if is_close(value, e - (e @ g) / (e @ e) * e, rtol=1e-8, atol=1e-10):
            raise AssertionError(f"{call}: projected in the wrong direction; remove the part of e along g")
        assert abs(float(np.asarray(value) @ g)) < 1e-8 * max(1.0, np.linalg.norm(e) * np.linalg.norm(g)), (
            f"{call}: the result should be orthogonal to g, but its dot product with g is {float(np.asarray(value) @ g):.3g}")
        assert_close(value, want, f"{call}: e - (e.g / |g|^2) g", rtol=1e-8, atol=1e-10)
    assert_close(reference.eval(probe)[0], cases[0][0] - _project(cases[0][0], cases[0][1]),
                 "grader setup: the reference", rtol=1e-8, atol=1e-10)


def _equalize(e1, e2, g, fake_mu_orth=False, fake_mu_b=False, fake_e_b=False):
    """Bolukbasi et al.'s equalisation in float64 torch; each fake_* computes that part with the
    neutralize stand-in (mu_orth = n(mu), mu_B = mu - n(mu), e_wB = e_w - n(e_w)) instead of the
    true projection on g."""
    e1, e2, g = _t(e1), _t(e2), _t(g)

    def proj(v):
        return (v @ g) / (g @ g) * g

    def fake(v):
        return v - _t(_fake_neutralize(_np(v), _np(g)))

    mu = (e1 + e2) / 2
    mu_b = fake(mu) if fake_mu_b else proj(mu)
    mu_orth = mu - fake(mu) if fake_mu_orth else mu - proj(mu)
    e1b, e2b = (fake(e1), fake(e2)) if fake_e_b else (proj(e1), proj(e2))
    scale = torch.sqrt(torch.abs(1 - mu_orth @ mu_orth))
    n1 = mu_orth + scale * (e1b - mu_b) / torch.linalg.norm(e1b - mu_b)
    n2 = mu_orth + scale * (e2b - mu_b) / torch.linalg.norm(e2b - mu_b)
    return _np(n1), _np(n2)


def _fake_neutralize(e, g):
    """The stand-in for neutralize in test_equalize (FAKE_NEUTRALIZE): linear in e, not a projection."""
    return 0.5 * e + 0.1 * float(e @ g) * g


FAKE_NEUTRALIZE = """
_neutralize_calls = []
def _fake_neutralize(e, g):
    _neutralize_calls.append(1)
    e, g = np.asarray(e, dtype=float), np.asarray(g, dtype=float)
    return 0.5 * e + 0.1 * float(e @ g) * g
""" + with_fakes("equalize", {"neutralize": "_fake_neutralize"})


@pytest.mark.points(3)
def test_equalize(student, reference, grading_seed):
    """equalize makes the pair symmetric about the bias axis with the same norm (Bolukbasi et al.)"""
    rng = _rng(grading_seed, 9)
    cases = []
    for dim, g_scale in ((4, 2.5), (6, 0.6), (10, 1.0)):
        table = {}
        for w in WORDS[:6]:
            v = _normal(rng, dim)
            table[w] = np.round(v / np.linalg.norm(v), 6)
        cases.append((dim, table, _normal(rng, dim, scale=g_scale)))
    # |g| = 2 and the first word's projection on g small but positive, the second's larger: the
    # sign of e_w1B - mu_B then tells a projection divided by g.g from one scaled another way
    # (the normalisation that follows hides every other error of scale)
    first, second = np.array([0.1, 0.7, 0.5, 0.5]), np.array([0.5, -0.5, 0.5, 0.5])
    table = {w: np.round(_normal(rng, 4) / 2, 6) for w in WORDS[:6]}
    table[WORDS[1]], table[WORDS[4]] = np.round(first / np.linalg.norm(first), 6), np.round(second / np.linalg.norm(second), 6)
    cases.append((4, table, np.array([2.0, 0.0, 0.0, 0.0])))
    for dim, table, g in cases:
        words = WORDS[:6]
        pair = (words[1], words[4])
        literal = "{" + ", ".join(f"{w!r}: {_arr(e)}" for w, e in table.items()) + "}"
        probe = (FAKE_NEUTRALIZE + f"_table = {literal}\n_r = _equalize({pair!r}, {_arr(g)}, _table)\n"
                 f"[len(_r), np.asarray(_r[0], dtype=float), np.asarray(_r[1], dtype=float), _table[{pair[0]!r}], "
                 f"_table[{pair[1]!r}], len(_neutralize_calls)]")
        got = student.eval(probe)
        call = f"equalize({pair!r}, g (|g| = {np.linalg.norm(g):.3f}), table of unit vectors of size {dim})"
        assert got[0] == 2, f"{call} should return the pair (e1, e2)"
        e1, e2 = got[1], got[2]
        assert_close([got[3], got[4]], [table[pair[0]], table[pair[1]]], f"{call} must not change the table", atol=1e-12)
        want1, want2 = _equalize(table[pair[0]], table[pair[1]], g)
        if got[5]:
            # it called neutralize: any use of the stand-in (or of the true projection) for each part
            wants = [_equalize(table[pair[0]], table[pair[1]], g, *fakes)
                     for fakes in itertools.product((True, False), repeat=3)]
            if not any(is_close([e1, e2], want, rtol=1e-6, atol=1e-8) for want in wants):
                best = min(wants, key=lambda want: float(np.max(np.abs(np.subtract([e1, e2], want)))))
                assert_close([e1, e2], best, f"{call}, run with neutralize replaced by the grader's stand-in "
                             "0.5 e + 0.1 (e.g) g (it called neutralize; the closest way of using it is shown): "
                             "mu_orth + sqrt(|1 - |mu_orth|^2|) (e_wB - mu_B) / |e_wB - mu_B|", rtol=1e-6, atol=1e-8)
            continue
        assert abs(np.linalg.norm(e1) - np.linalg.norm(e2)) < 1e-7, (
            f"{call}: the two vectors should have the same norm, got {np.linalg.norm(e1):.6f} and {np.linalg.norm(e2):.6f}")
        along = float((e1 + e2) @ g) / np.linalg.norm(g)
        assert abs(along) < 1e-7, (f"{call}: the pair should be symmetric about the axis ((e1 + e2) orthogonal to g), "
                                   f"but (e1 + e2) has {along:.3g} along g")
        diff = e1 - e2
        off = diff - (diff @ g) / (g @ g) * g
        assert np.linalg.norm(off) < 1e-7, f"{call}: e1 - e2 should lie along g (the words share mu_orth), off by {np.linalg.norm(off):.3g}"
        assert_close([e1, e2], [want1, want2], f"{call}: mu_orth + sqrt(|1 - |mu_orth|^2|) (e_wB - mu_B) / |e_wB - mu_B|",
                     rtol=1e-6, atol=1e-8)
    assert_close(reference.eval(probe)[1], want1, "grader setup: the reference", rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- 5. beam search
def _lm_table(rng, V, temperature=1.0):
    """log-probabilities (V+1, V+1, V): next token given the last two (V = the start token)."""
    logits = rng.normal(size=(V + 1, V + 1, V)) * 1.5 / temperature
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return np.round(np.log(probs), 6)


def _lm(table, start):
    def step(prefix):
        prefix = tuple(prefix)
        return table[prefix[-2] if len(prefix) > 1 else start, prefix[-1]]
    return step


def _lm_probe(table, start) -> str:
    return (f"_T = {_arr(table)}\n"
            f"def _lm(prefix):\n    prefix = tuple(int(_x) for _x in prefix)\n"
            f"    return _T[prefix[-2] if len(prefix) > 1 else {start}, prefix[-1]]\n")


def _exhaustive(step, start, V, max_len, eos, alpha):
    best = None
    for length in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=length):
            if eos in seq[:-1] or (length < max_len and seq[-1] != eos):
                continue
            prefix, total = (start,), 0.0
            for tok in seq:
                total += float(step(prefix)[tok])
                prefix += (tok,)
            score = total / length ** alpha
            if best is None or score > best[1]:
                best = (list(seq), score)
    return best


def _beam(step, start, k, max_len, eos, alpha, keep_open=False):
    beams, finished = [((start,), 0.0)], []
    while beams:
        cands = sorted(((p + (w,), s + float(lp)) for p, s in beams for w, lp in enumerate(step(p))),
                       key=lambda c: c[1], reverse=True)
        beams = []
        for p, s in cands[:k]:
            (finished if p[-1] == eos or len(p) - 1 >= max_len else beams).append((p, s))
    best = max(finished, key=lambda h: h[1] / (len(h[0]) - 1) ** alpha)
    return list(best[0][1:]), best[1] / (len(best[0]) - 1) ** alpha


def _greedy(step, start, max_len, eos, alpha):
    prefix, total = (start,), 0.0
    while len(prefix) - 1 < max_len:
        lp = step(prefix)
        tok = int(np.argmax(lp))
        total += float(lp[tok])
        prefix += (tok,)
        if tok == eos:
            break
    return list(prefix[1:]), total / (len(prefix) - 1) ** alpha


def _check_beam(got, want, call, alpha):
    assert isinstance(got, list) and len(got) == 2, f"{call} should return the pair (tokens, score)"
    tokens, score = [int(t) for t in got[0]], got[1]
    if tokens == want[0] and not is_close(score, want[1], rtol=1e-7, atol=1e-9):
        n = len(tokens)
        total = want[1] * n ** alpha
        hint = ""
        if is_close(score, total, rtol=1e-7, atol=1e-9):
            hint = "; it is the sum without the division by T_y**alpha"
        elif is_close(score, total / (n + 1) ** alpha, rtol=1e-7, atol=1e-9):
            hint = "; it divides by (T_y + 1)**alpha: the start token is not counted"
        raise AssertionError(f"{call}: the right tokens {tokens}, but the score should be sum(log P) / T_y**alpha = "
                             f"{want[1]:.6f} with T_y = {n} generated tokens, got {score}{hint}")
    assert tokens == want[0], (f"{call}: expected tokens {want[0]} (normalised score {want[1]:.5f}), got {tokens} "
                               f"(score {score})")
    assert_close(score, want[1], f"{call}: the normalised score", rtol=1e-7, atol=1e-9)


@pytest.mark.points(3)
def test_beam_search_wide_is_exhaustive(student, reference, grading_seed):
    """a beam wide enough to keep everything finds the best sequence of an exhaustive search"""
    rng = _rng(grading_seed, 10)
    for V, max_len, eos, alpha in ((3, 3, 0, 0.0), (3, 4, 2, 0.7), (4, 3, 1, 1.0), (2, 5, 0, 0.5)):
        table = _lm_table(rng, V)
        start = V
        k = V ** max_len
        want = _exhaustive(_lm(table, start), start, V, max_len, eos, alpha)
        probe = (_lm_probe(table, start) + f"_r = beam_search(_lm, {start}, {k}, {max_len}, {eos}, {alpha})\n"
                 "[[int(_x) for _x in _r[0]], float(_r[1])]")
        got = student.eval(probe)
        _check_beam(got, want, f"beam_search(lm, start={start}, k={k}, max_len={max_len}, eos={eos}, alpha={alpha}) "
                    f"on a hidden {V}-token model (k covers every sequence)", alpha)
    ref = reference.eval(probe)
    assert ref[0] == want[0], "grader setup: the reference's beam search"


@pytest.mark.points(2)
def test_beam_width_one_is_greedy(student, grading_seed):
    """beam search of width 1 is greedy decoding"""
    rng = _rng(grading_seed, 11)
    for V, max_len, eos, alpha in ((5, 6, 0, 0.7), (4, 4, 3, 1.0), (6, 5, 1, 0.0)):
        table = _lm_table(rng, V, temperature=0.5)
        start = V
        want = _greedy(_lm(table, start), start, max_len, eos, alpha)
        got = student.eval(_lm_probe(table, start) + f"_r = beam_search(_lm, {start}, 1, {max_len}, {eos}, {alpha})\n"
                           "[[int(_x) for _x in _r[0]], float(_r[1])]")
        _check_beam(got, want, f"beam_search(lm, start={start}, k=1, max_len={max_len}, eos={eos}, alpha={alpha}): greedy "
                    "decoding (the most likely token at each step, stopping at eos or max_len)", alpha)


@pytest.mark.points(3)
def test_beam_search_narrow(student, grading_seed):
    """beam widths 2 and 3: keep the k best candidates by summed log-probability, set finished ones aside"""
    rng = _rng(grading_seed, 12)
    for V, k, max_len, eos, alpha in ((5, 2, 5, 0, 0.7), (6, 3, 4, 2, 1.0), (4, 3, 6, 1, 0.0), (5, 2, 6, 4, 0.5)):
        table = _lm_table(rng, V, temperature=0.7)
        start = V
        want = _beam(_lm(table, start), start, k, max_len, eos, alpha)
        got = student.eval(_lm_probe(table, start) + f"_r = beam_search(_lm, {start}, {k}, {max_len}, {eos}, {alpha})\n"
                           "[[int(_x) for _x in _r[0]], float(_r[1])]")
        _check_beam(got, want, f"beam_search(lm, start={start}, k={k}, max_len={max_len}, eos={eos}, alpha={alpha}) on a "
                    f"hidden {V}-token model", alpha)


@pytest.mark.points(2)
def test_length_normalisation_changes_winner(student):
    """length normalisation decides between a short and a long output"""
    # tokens: 0 = start, 1, 2 = words, 3 = eos. After start: eos 0.45, word 1 0.3, word 2 0.25.
    # [3]: log .45 = -0.799; [1, 3]: log(.3 * .95) = -1.255 (/2 = -0.628); [2, 1, 3]: log(.25*.97*.97) (/3 = -0.505)
    probs = np.array([[0.0, 0.3, 0.25, 0.45], [0.0, 0.02, 0.03, 0.95], [0.0, 0.97, 0.01, 0.02], [0, 0.4, 0.3, 0.3]])
    with np.errstate(divide="ignore"):
        logp = np.log(probs)
    lp = np.where(np.isinf(logp), -1e9, logp)
    probe_lm = f"_L = {_arr(lp)}\ndef _lm(prefix):\n    return _L[int(prefix[-1])]\n"
    step = lambda prefix: lp[prefix[-1]]  # noqa: E731
    for alpha, k in ((0.0, 3), (1.0, 3), (0.7, 2), (1.0, 4)):
        want = _beam(step, 0, k, 4, 3, alpha)   # k = 2 keeps [1] and [2] but not [2, 1] over [1, 3]: not exhaustive
        got = student.eval(probe_lm + f"_r = beam_search(_lm, 0, {k}, 4, 3, alpha={alpha})\n[[int(_x) for _x in _r[0]], float(_r[1])]")
        _check_beam(got, want, f"beam_search(lm, start=0, k={k}, max_len=4, eos=3, alpha={alpha}) on a hand-built model "
                    "where [eos] has the best sum of log-probabilities but longer outputs the best average", alpha)


@pytest.mark.points(1)
def test_beam_search_stops_at_eos(student, grading_seed):
    """finished hypotheses are not extended: the model never sees a prefix past eos or longer than max_len"""
    rng = _rng(grading_seed, 13)
    V, k, max_len, eos = 4, 3, 4, 1
    table = _lm_table(rng, V, temperature=0.5)
    probe = (_lm_probe(table, V) + "_seen = []\ndef _spy(prefix):\n    _seen.append([int(_x) for _x in prefix])\n"
             f"    return _lm(prefix)\n_r = beam_search(_spy, {V}, {k}, {max_len}, {eos}, 0.7)\n[_seen, [int(_x) for _x in _r[0]]]")
    seen, tokens = student.eval(probe)
    call = f"beam_search(lm, start={V}, k={k}, max_len={max_len}, eos={eos}, alpha=0.7)"
    bad = [p for p in seen if eos in p[1:]]
    assert not bad, f"{call} asked the model to continue the finished hypothesis {bad[0]}: a hypothesis ending in eos stops"
    long = [p for p in seen if len(p) - 1 >= max_len]
    assert not long, f"{call} asked the model to continue {long[0]}, which already has max_len = {max_len} tokens"
    assert seen and seen[0] == [V], f"{call}: the first call should be on the prefix ({V},) (the start token), got {seen[:1]}"
    assert eos not in tokens[:-1], f"{call} returned {tokens}: eos can only be the last token"


# --------------------------------------------------------------------------- 6. attention
def _scores(s, H, kind, p):
    s, H = _t(s), _t(H)
    if kind == "dot":
        return _np(torch.bmm(H, s[:, :, None])[:, :, 0])
    if kind == "mult":
        return _np(torch.bmm(H, (s @ _t(p["W"]))[:, :, None])[:, :, 0])
    lin = torch.tanh(H @ _t(p["W1"]).T + (s @ _t(p["W2"]).T)[:, None, :])
    return _np(lin @ _t(p["v"]))


@pytest.mark.points(3)
def test_attention_scores(student, reference, grading_seed):
    """attention_scores: dot s.h_i, multiplicative s W h_i, additive v.tanh(W1 h_i + W2 s), batched (B, N)"""
    rng = _rng(grading_seed, 14)
    cases = [("dot", 3, 4, 5, 5, None), ("dot", 1, 1, 3, 3, None), ("mult", 2, 5, 3, 4, None), ("mult", 3, 2, 6, 2, None),
             ("add", 2, 4, 3, 5, 6), ("add", 1, 6, 4, 2, 3)]
    for kind, B, N, d_s, d_h, d_a in cases:
        s, H = _normal(rng, B, d_s), _normal(rng, B, N, d_h)
        p = None
        if kind == "mult":
            p = {"W": _normal(rng, d_s, d_h)}
        elif kind == "add":
            p = {"W1": _normal(rng, d_a, d_h), "W2": _normal(rng, d_a, d_s), "v": _normal(rng, d_a)}
        probe = f"attention_scores({_arr(s)}, {_arr(H)}, {kind!r}, {'None' if p is None else _dict(p)})"
        got = student.eval(probe)
        want = _scores(s, H, kind, p)
        call = f"attention_scores(s ({B}, {d_s}), H ({B}, {N}, {d_h}), {kind!r}" + (f", d_a = {d_a})" if d_a else ")")
        assert isinstance(got, np.ndarray) and got.shape == (B, N), (
            f"{call} should return scores of shape (B, N) = {(B, N)}, got {getattr(got, 'shape', type(got).__name__)}")
        if kind == "add":
            s_t, H_t = _t(s), _t(H)
            no_tanh = _np((H_t @ _t(p["W1"]).T + (s_t @ _t(p["W2"]).T)[:, None, :]) @ _t(p["v"]))
            if is_close(got, no_tanh, rtol=1e-7, atol=1e-9):
                raise AssertionError(f"{call}: the additive score lacks the tanh: v . tanh(W1 h_i + W2 s)")
        assert_close(got, want, f"{call}: the scores", rtol=1e-7, atol=1e-9)
    assert_close(reference.eval(probe), want, "grader setup: the reference", rtol=1e-7, atol=1e-9)


FAKE_SCORES = '''
def _fake_scores(s, H, kind="dot", params=None):
    if np.ndim(s) != 2 or np.ndim(H) != 3:
        raise TypeError("attention_scores(s, H, kind, params) takes the query s of shape (B, d) first and the states H "
                        f"of shape (B, N, d) second; it was called with shapes {{np.shape(s)}} and {{np.shape(H)}}")
    return np.array({E}) * {{"dot": 1.0, "mult": 2.0, "add": 3.0}}[kind]
'''


@pytest.mark.points(3)
def test_attention_weights_and_context(student, reference, grading_seed):
    """attention: softmax of the scores over the N positions (stable) and the context sum_i w_i h_i"""
    rng = _rng(grading_seed, 15)
    fakes = with_fakes("attention", {"attention_scores": "_fake_scores"})
    for kind, B, N, d in (("dot", 3, 4, 3), ("mult", 2, 5, 2), ("add", 4, 3, 5), ("dot", 1, 6, 2)):
        E = _normal(rng, B, N, scale=2.0)
        if B > 2:
            E[1] += 700.0            # large scores: the softmax must subtract the row maximum
        H = _normal(rng, B, N, d)
        s = _normal(rng, B, d)
        p = {"W": _normal(rng, d, d), "W1": _normal(rng, 2, d), "W2": _normal(rng, 2, d), "v": _normal(rng, 2)}
        mult = {"dot": 1.0, "mult": 2.0, "add": 3.0}[kind]
        probe = (FAKE_SCORES.format(E=E.tolist()) + fakes +
                 f"_r = _attention({_arr(s)}, {_arr(H)}, {kind!r}, {_dict(p)})\n[len(_r), _r[0], _r[1]]")
        got = student.eval(probe)
        call = f"attention(s ({B}, {d}), H ({B}, {N}, {d}), {kind!r}), run with the grader's scores in place of attention_scores"
        assert got[0] == 2, f"{call} should return the pair (weights, context)"
        weights, context = got[1], got[2]
        fake_w = _np(torch.softmax(_t(E) * mult, dim=1))
        true_w = _np(torch.softmax(_t(_scores(s, H, kind, p)), dim=1))
        want_w = true_w if is_close(weights, true_w, rtol=1e-7, atol=1e-10) else fake_w
        assert isinstance(weights, np.ndarray) and weights.shape == (B, N), f"{call}: weights should be (B, N) = {(B, N)}"
        assert np.all(np.isfinite(weights)), (f"{call}: the weights contain nan or inf for scores near 700; subtract each "
                                              "row's maximum before exp")
        if B > 1 and is_close(weights, _np(torch.softmax(_t(E) * mult, dim=0)), rtol=1e-7, atol=1e-10):
            raise AssertionError(f"{call}: the softmax runs over the batch axis; it must run over the N positions (axis 1)")
        assert_close(weights.sum(axis=1), np.ones(B), f"{call}: each row of weights should sum to 1", rtol=1e-9, atol=1e-9)
        if is_close(weights, _np(torch.softmax(_t(E), dim=1)), rtol=1e-7, atol=1e-10) and mult != 1.0:
            raise AssertionError(f"{call}: the scores were computed for kind 'dot'; pass kind (and params) on to "
                                 "attention_scores")
        assert_close(weights, want_w, f"{call}: the weights softmax(scores, over N)", rtol=1e-7, atol=1e-10)
        want_c = _np(torch.einsum("bn,bnd->bd", _t(want_w), _t(H)))
        assert_close(context, want_c, f"{call}: the context sum_i weights_i h_i, shape (B, d_h)", rtol=1e-7, atol=1e-9)
    ref = reference.eval(probe)
    assert_close(ref[1], fake_w, "grader setup: the reference's weights", rtol=1e-7, atol=1e-10)
