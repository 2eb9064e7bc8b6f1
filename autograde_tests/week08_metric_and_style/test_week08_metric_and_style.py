"""Hidden tests for week08_metric_and_style: distances, the triplet loss in Ng's squared form and
in PyTorch's form, the contrastive loss, seeded pair making, hard and semi-hard negative mining,
the batch-hard triplet loss, verification thresholds, the style-transfer costs and a few Adam
steps of style transfer with a small random network.

Total: 47 points over 22 tests.

Tolerances (relative 1e-5) leave room for a student who accumulates in float32 or in another
order; every hand-written mistake in variants.yaml is off by far more.

Every function is graded on its own with inputs made here from `grading_seed` (float64 tensors,
several values of every parameter) and compared with an oracle computed here in float64
(`torch.cdist`, `nn.TripletMarginLoss`, loops over the definitions) and, for the seeded draws and
the optimisation steps, with the reference notebook. Where a function calls another graded one,
the probe rebinds that helper to a grader's fake (`grader.testing.with_fakes`), none of them a
copy of an answer:

* `batch_hard_triplet_loss` runs with `pairwise_sq_distances` replaced by a fake that returns
  1.5 times the squared distances plus 0.25 off the diagonal;
* `layer_style_cost` runs with `unroll` returning its channels' values in reverse order times 2,
  and `gram_matrix` returning A A^T + 1;
* `style_cost` runs with `layer_style_cost` replaced by the mean absolute difference + 0.5;
* one `style_transfer` test replaces the three costs by other smooth functions and compares the
  costs and the picture with the reference's under the same fakes.

A student who computes a helper's work inline instead of calling it gets the true value, which
the tests accept as well. Probes contain inputs and calls only and return plain data.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from grader.testing import assert_close, assert_on_meta, is_close, on_meta_device, with_fakes

F64 = torch.float64

# The style-transfer test asks the cost to fall below this fraction of its first value.
# Calibration: the reference on 20 network seeds x 2 configurations like the ones below (16x16
# pictures, 12-15 Adam steps) ended at 0.12-0.40 of its first cost; a loop that does not update
# the picture stays at 1.0 (and a wrong sign of the step goes up).
DECREASE_RATIO = 0.75


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, k])


def _normal(rng: np.random.Generator, *shape, scale: float = 1.0) -> np.ndarray:
    """Random numbers rounded to 6 decimals, so the literal sent is the number used here."""
    return np.round(rng.normal(size=shape) * scale, 6)


def _lit(array) -> str:
    return f"torch.tensor({np.asarray(array, dtype=float).tolist()!r}, dtype=torch.float64)"


def _ids(array) -> str:
    return f"torch.tensor({np.asarray(array, dtype=int).tolist()!r}, dtype=torch.long)"


def _t(array) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=float), dtype=F64)


def _shape(value) -> tuple:
    return tuple(np.asarray(value).shape)


def _labels(rng, n: int, classes: int, singles: int = 0) -> np.ndarray:
    """n labels of `classes` classes, each at least twice, then `singles` classes of one sample,
    shuffled."""
    base = np.concatenate([np.arange(classes), np.arange(classes), rng.integers(0, classes, n - 2 * classes)])
    labels = np.concatenate([base, classes + np.arange(singles)])
    return rng.permutation(labels)


# --------------------------------------------------------------------------- distances
@pytest.mark.points(2)
def test_pairwise_sq_distances(student, grading_seed):
    """pairwise_sq_distances: all squared distances between two sets of rows"""
    rng = _rng(grading_seed, 1)
    for n, m, k in [(4, 3, 2), (1, 5, 7), (6, 6, 3)]:
        A, B = _normal(rng, n, k), _normal(rng, m, k)
        if n == m:
            B[2] = A[2]   # a pair of identical rows: the distance must be exactly 0, never negative
        got = student.eval(f"pairwise_sq_distances({_lit(A)}, {_lit(B)})")
        want = (torch.cdist(_t(A), _t(B)) ** 2).numpy()
        assert_close(got, want, f"pairwise_sq_distances(A of shape {(n, k)}, B of shape {(m, k)}) compared with "
                     "torch.cdist(A, B) ** 2 (entry [i, j] is the squared distance of A[i] and B[j]; "
                     "a wrong shape hints at a missing or misplaced transpose)", rtol=1e-5, atol=1e-8)
        assert float(np.min(got)) >= 0.0, (
            f"pairwise_sq_distances returned a negative squared distance ({float(np.min(got)):.3g}) for two "
            "identical rows: |a|^2 + |b|^2 - 2 a.b can round below 0, clamp it at 0")
    # float32 rows of size ~100 against themselves: |a|^2 + |a|^2 - 2 a.a rounds below 0 for some of
    # them (a seed where the expansion does is picked here), which only a clamp at 0 repairs
    for _attempt in range(50):
        big = np.round(rng.normal(size=(6, 8)) * 100, 2)
        B32 = torch.tensor(big, dtype=torch.float32)
        if float(((B32 * B32).sum(1)[:, None] * 2 - 2 * B32 @ B32.T).diagonal().min()) < 0:
            break
    got = student.eval(f"pairwise_sq_distances({_lit(big)}.float(), {_lit(big)}.float())")
    assert float(np.min(got)) >= 0.0, (
        f"pairwise_sq_distances(A, A) for float32 rows of size about 100 returned a negative squared distance "
        f"({float(np.min(got)):.3g}): in float32 |a|^2 + |a|^2 - 2 a.a rounds below 0; clamp the result at 0 "
        "(sq.clamp(min=0))")


@pytest.mark.points(2)
def test_euclidean(student, grading_seed):
    """euclidean: row-wise distance sqrt(max(sum of squares, eps)) and a finite gradient"""
    rng = _rng(grading_seed, 2)
    for n, k, eps in [(5, 3, 1e-7), (4, 6, 0.5)]:
        x, y = _normal(rng, n, k), _normal(rng, n, k, scale=0.3)
        y[0] = x[0]
        y[1] = x[1] + 0.01            # sum of squares below 0.5: the eps must win there
        got = student.eval(f"euclidean({_lit(x)}, {_lit(y)}, eps={eps!r})")
        want = torch.sqrt(torch.clamp(((_t(x) - _t(y)) ** 2).sum(1), min=eps)).numpy()
        assert_close(got, want, f"euclidean(x, y, eps={eps}) for x, y of shape {(n, k)} (rows 0 identical) should be "
                     "sqrt(max(sum((x - y)**2, dim=1), eps)), one value per row", rtol=1e-5, atol=1e-8)
    probe = (f"_x = {_lit(x)}.requires_grad_(True)\n_y = {_lit(y)}\n"
             "euclidean(_x, _y).sum().backward()\n_x.grad")
    grad = student.eval(probe)
    xt = _t(x).requires_grad_(True)
    torch.sqrt(torch.clamp(((xt - _t(y)) ** 2).sum(1), min=1e-7)).sum().backward()
    assert np.all(np.isfinite(grad)), (
        "the gradient of euclidean(x, y).sum() with respect to x is not finite for identical rows: take the "
        "maximum with eps BEFORE the square root (the derivative of sqrt at 0 is infinite)")
    assert_close(grad, xt.grad.numpy(), "gradient of euclidean(x, y).sum() with respect to x (default eps)",
                 rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- triplet losses
def _ng_triplet(a, p, n, alpha):
    return torch.clamp(((a - p) ** 2).sum(1) - ((a - n) ** 2).sum(1) + alpha, min=0)


def _triplet_inputs(rng, n, k):
    a = _normal(rng, n, k)
    p = a + _normal(rng, n, k, scale=0.6)
    neg = a + _normal(rng, n, k, scale=0.8)
    neg[0] = a[0] + 3.0     # an easy triplet: Ng's loss clips it to 0
    neg[1] = a[1] + 0.05    # a hard one
    return a, p, neg


@pytest.mark.points(3)
def test_triplet_loss(student, grading_seed):
    """triplet_loss: Ng's form with squared distances, the margin, max(., 0) and the reductions"""
    rng = _rng(grading_seed, 3)
    cases = [(6, 4, 0.2, "sum"), (5, 3, 0.5, "mean"), (7, 2, 1.0, "none"), (4, 5, 0.05, None)]
    for n, k, alpha, reduction in cases:
        a, p, neg = _triplet_inputs(rng, n, k)
        per_row = _ng_triplet(_t(a), _t(p), _t(neg), alpha)
        extra = "" if reduction is None else f", reduction={reduction!r}"
        got = student.eval(f"triplet_loss({_lit(a)}, {_lit(p)}, {_lit(neg)}, alpha={alpha!r}{extra})")
        want = {"sum": per_row.sum(), "mean": per_row.mean(), "none": per_row, None: per_row.sum()}[reduction]
        assert_close(got, want.numpy() if reduction == "none" else float(want),
                     f"triplet_loss(fA, fP, fN, alpha={alpha}{extra}) on {n} triplets of dimension {k} should be "
                     f"the {'sum' if reduction in ('sum', None) else reduction} of max(||a-p||^2 - ||a-n||^2 + alpha, 0) "
                     "(SQUARED distances; the max clips easy triplets to 0; the default reduction is 'sum')",
                     rtol=1e-5, atol=1e-8)


@pytest.mark.points(1)
def test_triplet_loss_gradient(student, grading_seed):
    """triplet_loss: gradients flow to the anchor, the positive and the negative"""
    rng = _rng(grading_seed, 4)
    a, p, neg = _triplet_inputs(rng, 6, 3)
    probe = (f"_a, _p, _n = [_v.requires_grad_(True) for _v in ({_lit(a)}, {_lit(p)}, {_lit(neg)})]\n"
             "triplet_loss(_a, _p, _n, alpha=0.7, reduction='mean').backward()\n"
             "[None if _v.grad is None else _v.grad for _v in (_a, _p, _n)]")
    got = student.eval(probe)
    ts = [_t(v).requires_grad_(True) for v in (a, p, neg)]
    _ng_triplet(*ts, 0.7).mean().backward()
    for name, g, t in zip(["anchor", "positive", "negative"], got, ts):
        assert g is not None, f"no gradient reached the {name}: do not detach or convert the embeddings inside triplet_loss"
        assert_close(g, t.grad.numpy(), f"gradient of triplet_loss(..., alpha=0.7, reduction='mean') with respect to the "
                     f"{name} (torch autograd of the definition in float64)", rtol=1e-5, atol=1e-8)


@pytest.mark.points(3)
def test_triplet_loss_torch_style(student, grading_seed):
    """triplet_loss_torch_style: the same numbers as nn.TripletMarginLoss (non-squared, eps)"""
    rng = _rng(grading_seed, 5)
    cases = [(6, 4, 1.0, 1e-6, "mean"), (5, 3, 0.3, 0.1, "sum"), (7, 2, 2.0, 0.05, "none"), (4, 5, 0.5, None, None)]
    for n, k, margin, eps, reduction in cases:
        a, p, neg = _triplet_inputs(rng, n, k)
        args = f"margin={margin!r}" + ("" if eps is None else f", eps={eps!r}") + \
            ("" if reduction is None else f", reduction={reduction!r}")
        got = student.eval(f"triplet_loss_torch_style({_lit(a)}, {_lit(p)}, {_lit(neg)}, {args})")
        loss = nn.TripletMarginLoss(margin=margin, p=2, eps=1e-6 if eps is None else eps,
                                    reduction=reduction or "mean")
        want = loss(_t(a), _t(p), _t(neg)).numpy()
        assert_close(got, want if reduction == "none" else float(want),
                     f"triplet_loss_torch_style(fA, fP, fN, {args}) compared with nn.TripletMarginLoss({args}, p=2) on "
                     f"{n} triplets: PyTorch uses NON-squared distances ||a - p + eps|| (eps added to the difference), "
                     "and averages by default", rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- contrastive loss and pairs
@pytest.mark.points(2)
def test_contrastive_loss(student, grading_seed):
    """contrastive_loss: y = 1 (same) costs d^2, y = 0 costs max(margin - d, 0)^2, averaged"""
    rng = _rng(grading_seed, 6)
    for n, margin in [(8, 1.0), (9, 2.5), (6, None)]:
        d = np.round(rng.uniform(0, 3, n), 6)
        y = rng.integers(0, 2, n).astype(float)
        y[:2] = [1.0, 0.0]
        extra = "" if margin is None else f", margin={margin!r}"
        got = student.eval(f"contrastive_loss({_lit(d)}, {_lit(y)}{extra})")
        m = 1.0 if margin is None else margin
        dt, yt = _t(d), _t(y)
        want = float((yt * dt ** 2 + (1 - yt) * torch.clamp(m - dt, min=0) ** 2).mean())
        assert_close(got, want, f"contrastive_loss(d, y{extra}) on {n} pairs (d = {d.tolist()}, y = {y.tolist()}) should be "
                     "mean(y * d^2 + (1 - y) * max(margin - d, 0)^2) with y = 1 meaning 'same' (check which label "
                     "gets d^2, the max(., 0), and the mean)", rtol=1e-5, atol=1e-8)


def _pairs_oracle(labels: np.ndarray, seed: int):
    """The draws make_pairs must make, as the notebook specifies them."""
    g = torch.Generator().manual_seed(seed)
    lab = torch.tensor(labels)
    idx = torch.arange(len(labels))
    rows = []
    for i in range(len(labels)):
        same = idx[(lab == lab[i]) & (idx != i)]
        if len(same) == 0:
            continue
        other = idx[lab != lab[i]]
        j = int(same[torch.randint(len(same), (1,), generator=g)])
        k = int(other[torch.randint(len(other), (1,), generator=g)])
        rows += [[i, j], [i, k]]
    return rows


def _pairs_probe(labels, seed) -> str:
    return (f"_pairs, _y = make_pairs({_ids(labels)}, torch.Generator().manual_seed({seed}))\n"
            "[_pairs.tolist(), _y.tolist(), str(_pairs.dtype), str(_y.dtype)]")


@pytest.mark.points(3)
def test_make_pairs_valid(student, grading_seed):
    """make_pairs: balanced, valid positive and negative pairs; loners skipped"""
    rng = _rng(grading_seed, 7)
    for n, classes, singles in [(12, 3, 0), (15, 4, 2), (9, 2, 1)]:
        labels = _labels(rng, n, classes, singles)
        seed = int(rng.integers(1000))
        pairs, y, pdtype, ydtype = student.eval(_pairs_probe(labels, seed))
        what = f"make_pairs(labels={labels.tolist()}, generator seeded {seed})"
        anchors = [i for i in range(len(labels)) if (labels == labels[i]).sum() > 1]
        assert pdtype == "torch.int64", f"{what}: pairs should be a long (int64) tensor, got {pdtype}"
        assert ydtype in ("torch.float32", "torch.float64"), f"{what}: y should be a float tensor, got {ydtype}"
        assert _shape(pairs) == (2 * len(anchors), 2), (
            f"{what}: expected {2 * len(anchors)} pairs of shape (2m, 2) (one positive and one negative for each of the "
            f"{len(anchors)} samples that have another sample of their class; samples alone in their class are skipped), "
            f"got shape {_shape(pairs)}")
        assert y == [1.0, 0.0] * len(anchors), f"{what}: y should alternate 1 (positive) and 0 (negative), got {y}"
        assert [row[0] for row in pairs[0::2]] == anchors and [row[0] for row in pairs[1::2]] == anchors, (
            f"{what}: rows 2i and 2i+1 should both start with the i-th anchor, in index order {anchors}; "
            f"got first columns {[row[0] for row in pairs]}")
        for i, j in pairs[0::2]:
            assert i != j and labels[i] == labels[j], (
                f"{what}: positive pair [{i}, {j}] is not two different samples of one class "
                f"(labels {labels[i]} and {labels[j]}): pick j among the OTHER samples of i's class")
        for i, k in pairs[1::2]:
            assert labels[i] != labels[k], (
                f"{what}: negative pair [{i}, {k}] joins two samples of class {labels[i]}: pick k among the other classes")


@pytest.mark.points(2)
def test_make_pairs_draws(student, reference, grading_seed):
    """make_pairs: the seeded draws in the specified order (reproducible pairs)"""
    rng = _rng(grading_seed, 8)
    for n, classes, singles in [(10, 3, 1), (14, 5, 0)]:
        labels = _labels(rng, n, classes, singles)
        seed = int(rng.integers(1000))
        want = _pairs_oracle(labels, seed)
        got = student.eval(_pairs_probe(labels, seed))[0]
        assert want == reference.eval(_pairs_probe(labels, seed))[0], "internal: the oracle disagrees with the reference"
        assert got == want, (
            f"make_pairs(labels={labels.tolist()}, generator seeded {seed}) should make the draws of the notebook: for "
            f"each anchor in index order, first j = same[torch.randint(len(same), (1,), generator=rng)], then "
            f"k = other[torch.randint(len(other), (1,), generator=rng)] (same and other in increasing index order, no "
            f"draw for a loner). Expected {want}, got {got}")


# --------------------------------------------------------------------------- mining
def _mining_case(rng, n, classes, singles):
    labels = _labels(rng, n - singles, classes, singles)
    emb = _normal(rng, len(labels), 3)
    D = (torch.cdist(_t(emb), _t(emb)) ** 2).numpy().round(6)
    pos = np.array([rng.choice([j for j in range(len(labels)) if labels[j] == labels[i] and j != i] or [i])
                    for i in range(len(labels))])
    return labels, D, pos


def _mine_oracle(D, labels, pos, margin, mode):
    out = []
    for a in range(len(labels)):
        negs = [j for j in range(len(labels)) if labels[j] != labels[a]]
        hard = min(negs, key=lambda j: (D[a, j], j))
        if mode == "hard":
            out.append(hard)
            continue
        semi = [j for j in negs if D[a, pos[a]] < D[a, j] < D[a, pos[a]] + margin]
        out.append(min(semi, key=lambda j: (D[a, j], j)) if semi else hard)
    return out


@pytest.mark.points(2)
def test_mine_negatives_hard(student, grading_seed):
    """mine_negatives, mode="hard": the closest sample of another class"""
    rng = _rng(grading_seed, 9)
    for n, classes, singles in [(10, 3, 1), (12, 4, 0)]:
        labels, D, pos = _mining_case(rng, n, classes, singles)
        margin = float(rng.choice([0.5, 2.0]))
        want = _mine_oracle(D, labels, pos, margin, "hard")
        got = student.eval(f"mine_negatives({_lit(D)}, {_ids(labels)}, {_ids(pos)}, {margin!r}, mode='hard').tolist()")
        assert got == want, (
            f"mine_negatives(D, labels={labels.tolist()}, pos_idx, margin={margin}, mode='hard') should pick for each anchor "
            f"the closest sample of ANOTHER class (never the anchor's own class, never the anchor itself): expected {want}, "
            f"got {got}")


@pytest.mark.points(2)
def test_mine_negatives_semi_hard(student, grading_seed):
    """mine_negatives, mode="semi-hard": farther than the positive, inside the margin"""
    rng = _rng(grading_seed, 10)
    for n, classes, singles, margin in [(12, 3, 0, 1.0), (11, 4, 1, 3.0), (10, 2, 0, 0.3)]:
        labels, D, pos = _mining_case(rng, n, classes, singles)
        want = _mine_oracle(D, labels, pos, margin, "semi-hard")
        got = student.eval(f"mine_negatives({_lit(D)}, {_ids(labels)}, {_ids(pos)}, {margin!r}, mode='semi-hard').tolist()")
        assert got == want, (
            f"mine_negatives(D, labels={labels.tolist()}, pos_idx={pos.tolist()}, margin={margin}, mode='semi-hard') should "
            f"pick the closest negative n with D[a, p] < D[a, n] < D[a, p] + margin (p = pos_idx[a]), and the hard negative "
            f"when there is none: expected {want}, got {got}")
    # exact ties at both ends of the window (whole-number distances): neither end is semi-hard
    D = np.array([[0, 2, 3, 3, 3, 1], [2, 0, 1, 5, 4, 4], [3, 1, 0, 3, 3, 6],
                  [3, 5, 3, 0, 6, 4], [3, 4, 3, 6, 0, 1], [1, 4, 6, 4, 1, 0]], dtype=float)
    labels, pos = np.array([0, 0, 1, 1, 2, 2]), np.array([1, 0, 3, 2, 5, 4])
    want = _mine_oracle(D, labels, pos, 2.0, "semi-hard")
    got = student.eval(f"mine_negatives({_lit(D)}, {_ids(labels)}, {_ids(pos)}, 2.0, mode='semi-hard').tolist()")
    assert got == want, (
        f"mine_negatives(D, labels={labels.tolist()}, pos_idx={pos.tolist()}, margin=2.0, mode='semi-hard') with "
        f"whole-number distances D={D.astype(int).tolist()}: expected {want}, got {got}. The window is open at both "
        "ends: a negative exactly as far as the positive (D[a, n] == D[a, p]) or exactly at D[a, p] + margin is "
        "not semi-hard (use < on both sides, not <=)")


_FAKE_SQD = '''
def _fake_sqd(A, B):
    """Not the answer: 1.5 times the squared distances, plus 0.25 off the diagonal."""
    _d = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    return 1.5 * _d + 0.25 * (1 - torch.eye(A.shape[0], B.shape[0], dtype=A.dtype))
'''


def _batch_hard_oracle(D, labels, margin):
    losses = []
    for a in range(len(labels)):
        pos = [D[a, j] for j in range(len(labels)) if labels[j] == labels[a] and j != a]
        neg = [D[a, j] for j in range(len(labels)) if labels[j] != labels[a]]
        if pos and neg:
            losses.append(max(max(pos) - min(neg) + margin, 0.0))
    return float(np.mean(losses))


@pytest.mark.points(3)
def test_batch_hard_triplet_loss(student, grading_seed):
    """batch_hard_triplet_loss: hardest positive, hardest negative, mean over valid anchors"""
    rng = _rng(grading_seed, 11)
    for n, classes, singles, margin in [(10, 3, 1, 0.2), (12, 4, 2, 1.0), (9, 2, 0, 3.0)]:
        labels = _labels(rng, n - singles, classes, singles)
        emb = _normal(rng, len(labels), 4, scale=0.7)
        E = _t(emb)
        true_D = ((E[:, None] - E[None]) ** 2).sum(-1).numpy()
        fake_D = 1.5 * true_D + 0.25 * (1 - np.eye(len(labels)))
        probe = _FAKE_SQD + with_fakes("batch_hard_triplet_loss", {"pairwise_sq_distances": "_fake_sqd"}) + \
            f"float(_batch_hard_triplet_loss({_lit(emb)}, {_ids(labels)}, margin={margin!r}))"
        got = student.eval(probe)
        if margin == 0.2:   # once: the masks follow the embeddings' device
            meta = student.eval(on_meta_device("batch_hard_triplet_loss") + "_meta_try(lambda: _batch_hard_triplet_loss("
                                f"torch.empty({len(labels)}, 4, device='meta'), {_ids(labels)}.to('meta'), margin=0.2))")
            assert_on_meta(meta, f"batch_hard_triplet_loss(emb of shape ({len(labels)}, 4), labels) with both on a device",
                           "make every mask on the embeddings' device: torch.eye(n, dtype=torch.bool, device=D.device)")
        want_fake = _batch_hard_oracle(fake_D, labels, margin)
        want_true = _batch_hard_oracle(true_D, labels, margin)
        assert is_close(got, want_fake, 1e-6, 1e-9) or is_close(got, want_true, 1e-6, 1e-9), (
            f"batch_hard_triplet_loss(emb of shape {emb.shape}, labels={labels.tolist()}, margin={margin}): expected "
            f"{want_true:.6f} (or {want_fake:.6f} with the grader's stand-in for pairwise_sq_distances), got {got}. For each "
            "anchor: its farthest sample of the same class (itself excluded), its closest sample of another class, "
            "max(d_ap - d_an + margin, 0) with squared distances, averaged over the anchors that have both")


# --------------------------------------------------------------------------- verification
@pytest.mark.points(1)
def test_verify(student, grading_seed):
    """verify: d <= threshold means "same", the threshold included"""
    rng = _rng(grading_seed, 12)
    d = np.round(rng.uniform(0, 2, 9), 3)
    for threshold in [float(d[3]), 0.8, 1.5]:
        got = student.eval(f"verify({_lit(d)}, {threshold!r}).tolist()")
        want = (d <= threshold).tolist()
        assert got == want, (f"verify(d={d.tolist()}, threshold={threshold}) should be d <= threshold (True = same; "
                             f"a distance equal to the threshold counts as same): expected {want}, got {got}")


def _best_threshold_oracle(d, same):
    best = None
    for t in sorted(set(d.tolist())):
        acc = float(np.mean((d <= t) == same.astype(bool)))
        if best is None or acc > best[1]:
            best = (t, acc)
    return best


@pytest.mark.points(2)
def test_best_threshold(student, grading_seed):
    """best_threshold: the most accurate threshold among the distances, the smallest on ties"""
    rng = _rng(grading_seed, 13)
    for n, as_bool in [(12, False), (15, True), (9, False)]:
        same = rng.integers(0, 2, n)
        d = np.round(np.where(same == 1, rng.uniform(0, 1.2, n), rng.uniform(0.6, 2, n)), 1)   # rounding: repeats and ties
        same_src = f"{_ids(same)}.bool()" if as_bool else _lit(same)
        got = student.eval(f"list(best_threshold({_lit(d)}, {same_src}))")
        want = list(_best_threshold_oracle(d, same))
        assert_close(got, want, f"best_threshold(d={d.tolist()}, same={same.tolist()}{' as bool' if as_bool else ''}) "
                     "should return (threshold, accuracy) with the threshold among the values of d, d <= t meaning 'same', "
                     "and the SMALLEST threshold among equally accurate ones", rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- style-transfer costs
@pytest.mark.points(2)
def test_unroll(student, grading_seed):
    """unroll: one row per channel, from NCHW and from NHWC"""
    rng = _rng(grading_seed, 14)
    for c, h, w in [(3, 2, 4), (5, 3, 3), (2, 4, 1)]:
        a = _normal(rng, 1, c, h, w)
        want = a[0].reshape(c, h * w)
        got = student.eval(f"unroll({_lit(a)})")
        assert_close(got, want, f"unroll(a) for an NCHW activation of shape {(1, c, h, w)} should be ({c}, {h * w}): row k "
                     "holds channel k's values, positions in row-major order", rtol=0, atol=0)
        nhwc = np.transpose(a, (0, 2, 3, 1))
        got = student.eval(f"unroll({_lit(nhwc)}, layout='NHWC')")
        assert_close(got, want, f"unroll(a, layout='NHWC') for the same activation in TensorFlow's layout {(1, h, w, c)} "
                     "should give the same matrix: a reshape of NHWC without moving the channel axis first mixes "
                     "channels and positions", rtol=0, atol=0)


@pytest.mark.points(1)
def test_gram_matrix(student, grading_seed):
    """gram_matrix: A A^T, one row and column per channel"""
    rng = _rng(grading_seed, 15)
    for c, m in [(3, 7), (5, 2)]:
        A = _normal(rng, c, m)
        got = student.eval(f"gram_matrix({_lit(A)})")
        assert_close(got, (_t(A) @ _t(A).T).numpy(), f"gram_matrix(A of shape {(c, m)}) should be A @ A.T of shape "
                     f"{(c, c)} (A.T @ A compares positions, not channels)", rtol=1e-5, atol=1e-8)


@pytest.mark.points(2)
def test_content_cost(student, grading_seed):
    """content_cost: sum of squared differences / (4 n_H n_W n_C)"""
    rng = _rng(grading_seed, 16)
    for c, h, w in [(3, 4, 5), (6, 2, 3), (1, 5, 5)]:
        aC, aG = _normal(rng, 1, c, h, w), _normal(rng, 1, c, h, w)
        got = student.eval(f"float(content_cost({_lit(aC)}, {_lit(aG)}))")
        want = float(((_t(aC) - _t(aG)) ** 2).sum() / (4 * c * h * w))
        assert_close(got, want, f"content_cost(a_C, a_G) for activations of shape {(1, c, h, w)} (NCHW) should be "
                     f"sum((a_C - a_G)^2) / (4 * n_H * n_W * n_C) = sum / {4 * c * h * w}", rtol=1e-5, atol=1e-8)


_FAKE_UNROLL_GRAM = '''
def _fake_unroll(a, layout="NCHW"):
    """Not the answer: the channels' values in reverse order, times 2."""
    return 2 * a[0].flatten(1).flip(1)
def _fake_gram(A):
    """Not the answer: A A^T + 1."""
    return A @ A.T + 1
'''


@pytest.mark.points(3)
def test_layer_style_cost(student, grading_seed):
    """layer_style_cost: Gram matrices and the constant 1 / (2 n_H n_W n_C)^2"""
    rng = _rng(grading_seed, 17)
    for c, h, w in [(3, 4, 5), (5, 2, 3), (2, 3, 3)]:
        aS, aG = _normal(rng, 1, c, h, w), _normal(rng, 1, c, h, w)
        S, G = _t(aS)[0].reshape(c, -1), _t(aG)[0].reshape(c, -1)
        norm = (2 * h * w * c) ** 2
        want = float(((S @ S.T - G @ G.T) ** 2).sum() / norm)
        got = student.eval(f"float(layer_style_cost({_lit(aS)}, {_lit(aG)}))")
        assert_close(got, want, f"layer_style_cost(a_S, a_G) for activations of shape {(1, c, h, w)} should be "
                     f"sum((Gram_S - Gram_G)^2) / (2 * n_H * n_W * n_C)^2 = sum / {norm} (the constant is squared)",
                     rtol=1e-5, atol=1e-8)
        Sf, Gf = 2 * S.flip(1), 2 * G.flip(1)
        want_fake = float((((Sf @ Sf.T + 1) - (Gf @ Gf.T + 1)) ** 2).sum() / norm)
        probe = _FAKE_UNROLL_GRAM + with_fakes("layer_style_cost", {"unroll": "_fake_unroll", "gram_matrix": "_fake_gram"}) + \
            f"float(_layer_style_cost({_lit(aS)}, {_lit(aG)}))"
        got = student.eval(probe)
        assert is_close(got, want_fake, 1e-6, 1e-9) or is_close(got, want, 1e-6, 1e-9), (
            f"layer_style_cost on shape {(1, c, h, w)} with the grader's stand-ins for unroll and gram_matrix: expected "
            f"{want_fake:.8g} (or {want:.8g} computed without calling them), got {got}. Compute both Gram matrices with "
            "gram_matrix(unroll(.)) and use the shapes of the activations for the constant")


@pytest.mark.points(2)
def test_style_cost(student, grading_seed):
    """style_cost: the weighted sum of the layer style costs"""
    rng = _rng(grading_seed, 18)
    fake = "def _fake_layer_cost(a_S, a_G):\n    return (a_S - a_G).abs().mean() + 0.5\n"
    for shapes in [[(1, 2, 3, 3), (1, 4, 2, 2), (1, 3, 1, 2)], [(1, 3, 2, 2)]]:
        acts_S = [_normal(rng, *s) for s in shapes]
        acts_G = [_normal(rng, *s) for s in shapes]
        weights = np.round(rng.uniform(0.1, 1.0, len(shapes)), 3).tolist()
        lists = f"[{', '.join(_lit(a) for a in acts_S)}], [{', '.join(_lit(a) for a in acts_G)}], {weights!r}"
        want_fake = sum(lam * (float(np.abs(s - g).mean()) + 0.5) for s, g, lam in zip(acts_S, acts_G, weights))
        want_true = 0.0
        for s, g, lam in zip(acts_S, acts_G, weights):
            _, c, h, w = s.shape
            S, G = _t(s)[0].reshape(c, -1), _t(g)[0].reshape(c, -1)
            want_true += lam * float(((S @ S.T - G @ G.T) ** 2).sum() / (2 * h * w * c) ** 2)
        probe = fake + with_fakes("style_cost", {"layer_style_cost": "_fake_layer_cost"}) + f"float(_style_cost({lists}))"
        got = student.eval(probe)
        assert is_close(got, want_fake, 1e-6, 1e-9) or is_close(got, want_true, 1e-6, 1e-9), (
            f"style_cost(style_acts, gen_acts, weights={weights}) on {len(shapes)} layer(s), with the grader's stand-in for "
            f"layer_style_cost: expected {want_fake:.8g} (sum of weights[l] * layer_style_cost(style_acts[l], gen_acts[l])), "
            f"got {got}")


@pytest.mark.points(1)
def test_total_cost(student):
    """total_cost: alpha * J_content + beta * J_style (defaults 10 and 40)"""
    cases = [("0.3, 0.7", 10 * 0.3 + 40 * 0.7), ("0.3, 0.7, alpha=2.0, beta=5.0", 2 * 0.3 + 5 * 0.7),
             ("1.5, 0.25, 0.5, 100.0", 0.5 * 1.5 + 100 * 0.25)]
    for args, want in cases:
        got = student.eval(f"float(total_cost({args}))")
        assert_close(got, want, f"total_cost({args}) should be alpha * J_content + beta * J_style "
                     "(alpha = 10, beta = 40 by default)", rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- activations and style transfer
@pytest.mark.points(2)
def test_get_activations(student, grading_seed):
    """get_activations: the outputs of the chosen modules of a Sequential"""
    rng = _rng(grading_seed, 19)
    seed = int(rng.integers(10_000))
    x = np.round(rng.uniform(0, 1, (1, 3, 6, 5)), 4)
    for layers in [[1, 3, 5], [0, 4], [2]]:
        probe = (f"_net = make_feature_net({seed}).double()\n_acts = get_activations(_net, {_lit(x)}, {layers!r})\n"
                 "[sorted(int(_k) for _k in _acts), [_acts[_k].detach() for _k in sorted(_acts)], "
                 "[_p.detach() for _p in _net.parameters()]]")
        keys, acts, params = student.eval(probe)
        assert keys == layers, f"get_activations(net, x, layers={layers}) should return a dict with the keys {layers}, got {keys}"
        net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU(),
                            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()).double()
        with torch.no_grad():
            for p, v in zip(net.parameters(), params):
                p.copy_(_t(v))
            out, want = _t(x), []
            for i, module in enumerate(net):
                out = module(out)
                if i in layers:
                    want.append(out.numpy())
        for k, got, w in zip(layers, acts, want):
            assert_close(got, w, f"get_activations(net, x of shape {x.shape}, layers={layers})[{k}] should be the output of "
                         f"net[{k}] after running x through net[0], ..., net[{k}] in order", rtol=1e-5, atol=1e-8)


def _transfer_probe(seed: int, size: int, config: dict, prefix: str = "", call: str = "style_transfer") -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in config.items())
    return (prefix +
            f"_net = make_feature_net({seed})\n"
            f"_before = [_p.detach().clone() for _p in _net.parameters()]\n"
            f"_flags = [_p.requires_grad for _p in _net.parameters()]\n"
            f"_content, _style = make_pictures({size}, {seed})\n"
            f"_init = (0.5 * _content + 0.5 * torch.rand(_content.shape, generator=torch.Generator().manual_seed({seed}))).clamp(0, 1)\n"
            f"_init_copy = _init.clone()\n"
            f"_G, _hist = {call}(_net, _content, _style, _init, {args})\n"
            "[_G.detach(), bool(_G.requires_grad), [float(_h) for _h in _hist], bool(torch.equal(_init, _init_copy)),\n"
            " bool(_init.requires_grad), all(bool(torch.equal(_p, _q)) for _p, _q in zip(_net.parameters(), _before)),\n"
            " [_p.requires_grad for _p in _net.parameters()] == _flags]")


@pytest.mark.points(3)
def test_style_transfer_lowers_cost(student, grading_seed):
    """style_transfer: Adam steps on a copy of the picture lower the cost; the network is untouched"""
    rng = _rng(grading_seed, 20)
    configs = [dict(content_layer=3, style_layers=[1, 5], style_weights=[0.5, 0.5], steps=15, lr=0.03),
               dict(content_layer=5, style_layers=[1, 3, 5], style_weights=[0.2, 0.3, 0.5], steps=12, lr=0.05,
                    alpha=1.0, beta=100.0)]
    for config in configs:
        seed = int(rng.integers(10_000))
        G, G_grad, hist, init_same, init_grad, net_same, flags_same = student.eval(_transfer_probe(seed, 16, config))
        what = f"style_transfer(net, content, style, init, {', '.join(f'{k}={v}' for k, v in config.items())})"
        assert net_same, (f"{what} changed the network's weights: the optimiser must get the picture's tensor only "
                          "(torch.optim.Adam([G], lr=lr)), never net.parameters()")
        assert flags_same, f"{what} left the network's parameters with other requires_grad flags than it found them"
        assert init_same and not init_grad, (
            f"{what} changed init (or set requires_grad on it): optimise a fresh copy, G = init.detach().clone().requires_grad_(True)")
        assert _shape(G) == (1, 3, 16, 16) and not G_grad, (
            f"{what} should return the picture detached, of shape (1, 3, 16, 16); got shape {_shape(G)}, requires_grad={G_grad}")
        assert len(hist) == config["steps"], f"{what} should return one cost per step ({config['steps']}), got {len(hist)}"
        assert hist[-1] < DECREASE_RATIO * hist[0], (
            f"{what}: the total cost should fall below {DECREASE_RATIO} of its first value {hist[0]:.6g}, got costs "
            f"{[round(h, 8) for h in hist]}. Check zero_grad, backward and the optimiser step on G, and that the costs use G's activations")


_FAKE_COSTS = '''
def _fake_content(a_C, a_G):
    """Not the answer: a mean of absolute differences."""
    return (a_C - a_G).abs().mean()
def _fake_style(style_acts, gen_acts, weights):
    """Not the answer: weighted squared differences of the channel means."""
    return sum(_w * ((_s.mean((2, 3)) - _g.mean((2, 3))) ** 2).sum() for _s, _g, _w in zip(style_acts, gen_acts, weights))
def _fake_total(J_content, J_style, alpha=10, beta=40):
    """Not the answer: the weights applied the other way round, plus a square."""
    return beta * J_content + alpha * J_style + J_content ** 2
'''


@pytest.mark.points(3)
def test_style_transfer_steps(student, reference, grading_seed):
    """style_transfer: the same steps and picture as the reference (costs as given, alpha and beta passed on)"""
    rng = _rng(grading_seed, 21)
    fakes = {"content_cost": "_fake_content", "style_cost": "_fake_style", "total_cost": "_fake_total"}
    prefix = _FAKE_COSTS + with_fakes("style_transfer", fakes)
    configs = [dict(content_layer=3, style_layers=[1, 3], style_weights=[0.7, 0.3], steps=6, lr=0.05, alpha=2.0, beta=3.0),
               dict(content_layer=1, style_layers=[5], style_weights=[1.0], steps=4, lr=0.02)]
    for config in configs:
        seed = int(rng.integers(10_000))
        probe = _transfer_probe(seed, 12, config, prefix=prefix, call="_style_transfer")
        G, _, hist, *_ = student.eval(probe)
        G_ref, _, hist_ref, *_ = reference.eval(probe)
        probe_true = _transfer_probe(seed, 12, config)
        G_true, _, hist_true, *_ = reference.eval(probe_true)
        what = f"style_transfer(net, content, style, init, {', '.join(f'{k}={v}' for k, v in config.items())})"
        ok = is_close(hist, hist_ref, 1e-4, 1e-7) or is_close(hist, hist_true, 1e-4, 1e-7)
        assert ok, (f"{what} with the grader's stand-ins for content_cost, style_cost and total_cost: expected the costs "
                    f"{[round(h, 6) for h in hist_ref]}, got {[round(h, 6) for h in np.asarray(hist, dtype=float).tolist()]}. "
                    "Each step: zero_grad, J = total_cost(content_cost(target, G's activation), style_cost(style targets, "
                    "G's activations, style_weights), alpha, beta), J.backward(), Adam step on G; record J before the step")
        assert is_close(G, G_ref, 1e-4, 1e-6) or is_close(G, G_true, 1e-4, 1e-6), (
            f"{what}: the costs agree but the returned picture differs from the reference's (largest difference "
            f"{float(np.max(np.abs(np.asarray(G) - G_ref))):.3g}): return G after the last step")
