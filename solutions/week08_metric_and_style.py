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
# # Week 08 (optional companion) — Metric learning and neural style transfer, from scratch
#
# This notebook is an **optional companion** to weeks 04 (convolutional networks) and 08
# (generative models). Those exercises train networks to *classify* or to *generate*. Here a
# network's activations are used in two other ways, and you build both from the formulas up,
# comparing with PyTorch's own losses where one exists:
#
# 1. **Face verification by distances** (metric learning): a network maps each picture to an
#    *embedding*; two pictures show the same person when their embeddings are close. You write
#    the distances, the **triplet loss** (in Andrew Ng's squared form, and in PyTorch's form to
#    match `nn.TripletMarginLoss`), the **contrastive loss** of Siamese networks, a seeded
#    generator of positive and negative **pairs**, **hard and semi-hard negative mining** in a
#    batch, and the choice of a **verification threshold**.
# 2. **Neural style transfer**: a picture is changed by gradient descent until its activations
#    keep the *content* of one picture and the *style* (the Gram matrices) of another. You
#    write the Gram matrix, the content cost, the layer and total style costs with their
#    normalisation constants, and a few Adam steps on a tiny 32x32 picture. No pretrained
#    network can be downloaded here, so a small convolutional network with seeded random
#    weights plays the part of VGG: the mechanics are exactly the same.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions:
# the grader calls them by name. Run the notebook from top to bottom; the *Check* cells test a
# few cases for you. The grader runs more tests that you do not see, on other inputs, and
# compares with PyTorch in double precision.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True: fewer optimisation steps (used while grading)
DEVICE = "cpu"       # "cuda" to run the style-transfer steps on a GPU
DATA_DIR = "data"    # not used: every picture and embedding here is generated
IMG_SIZE = 32        # side of the square pictures of the style transfer
STEPS = 200          # Adam steps of the style transfer in the full run (FAST uses fewer)

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(SEED)
np.random.seed(SEED)
print("torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "distances_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Verification, recognition and distances
#
# *Face verification* answers "is this the claimed person?" for one pair of pictures;
# *face recognition* answers "who of my K people is this?" and is K verifications. A
# classifier with one output per person would need many pictures of everyone and retraining
# for every new person. **One-shot learning** avoids both: learn a function
# $d(x_1, x_2)$ that is small for two pictures of the same person and large otherwise, and
# decide "same" when $d \le \tau$. One picture per person in the database is then enough.
#
# A **Siamese network** computes $d$ by passing both pictures through the *same* network $f$
# (shared weights) and comparing the embeddings: $d(x_1, x_2) = \lVert f(x_1) - f(x_2) \rVert_2^2$
# in Ng's course, or the plain Euclidean norm in the Keras Siamese example.
#
# **Task.** Write
#
# * `pairwise_sq_distances(A, B)`: for `A` of shape `(n, k)` and `B` of shape `(m, k)`, the
#   `(n, m)` matrix of **squared** Euclidean distances $\lVert A_i - B_j \rVert^2$. The fast
#   way expands $\lVert a\rVert^2 + \lVert b\rVert^2 - 2\,a\cdot b$; rounding can make that a
#   tiny negative number, so clamp it at 0;
# * `euclidean(x, y, eps=1e-7)`: the row-wise distance of two `(n, k)` batches as the Keras
#   example writes it, $\sqrt{\max(\sum_j (x_j - y_j)^2,\ \varepsilon)}$, shape `(n,)`. The
#   $\varepsilon$ is not decoration: the derivative of $\sqrt{s}$ at $s = 0$ is infinite, so two
#   identical embeddings would give `nan` gradients without it.

# %% nbgrader={"grade": false, "grade_id": "distances", "locked": false, "schema_version": 3, "solution": true}
def pairwise_sq_distances(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """(n, m) squared Euclidean distances between the rows of A (n, k) and B (m, k), >= 0."""
    ### BEGIN SOLUTION
    sq = (A * A).sum(dim=1)[:, None] + (B * B).sum(dim=1)[None, :] - 2 * A @ B.T
    return sq.clamp(min=0)
    ### END SOLUTION


def euclidean(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """(n,) distances sqrt(max(sum((x - y)**2), eps)) between the rows of x and y (n, k)."""
    ### BEGIN SOLUTION
    return torch.sqrt(torch.clamp(((x - y) ** 2).sum(dim=-1), min=eps))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_distances", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_A = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
_B = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
_D = pairwise_sq_distances(_A, _B)
assert tuple(_D.shape) == (3, 2), f"pairwise_sq_distances(A (3, 2), B (2, 2)) should have shape (3, 2), got {tuple(_D.shape)}"
assert torch.allclose(_D, torch.tensor([[0.0, 9.0], [25.0, 16.0], [2.0, 5.0]])), f"squared distances expected [[0, 9], [25, 16], [2, 5]], got {_D.tolist()}"
assert torch.allclose(_D, torch.cdist(_A, _B) ** 2, atol=1e-5), "pairwise_sq_distances should equal torch.cdist(A, B) ** 2"
_e = euclidean(_A[:2], _B)
assert torch.allclose(_e, torch.tensor([0.0, 4.0]), atol=1e-3), f"euclidean of rows [0,0]-[0,0] and [3,4]-[3,0] should be about [0, 4], got {_e.tolist()}"
assert abs(euclidean(_A[:1], _A[:1]).item() - math.sqrt(1e-7)) < 1e-9, "for identical rows euclidean is sqrt(eps)"
_x = torch.zeros(1, 3, requires_grad=True)
euclidean(_x, torch.zeros(1, 3)).sum().backward()
assert torch.isfinite(_x.grad).all(), "the gradient of euclidean at identical rows must be finite: clamp before the square root"
print("distances: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "triplet_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. The triplet loss, in two forms
#
# Training looks at three pictures at a time: an **anchor** $A$, a **positive** $P$ (same
# person) and a **negative** $N$ (someone else). We want the anchor closer to the positive than
# to the negative by a **margin** $\alpha > 0$:
# $\lVert f(A) - f(P)\rVert^2 + \alpha \le \lVert f(A) - f(N)\rVert^2$. Without the margin the
# network could satisfy the inequality with $f \equiv 0$. Ng's triplet loss penalises the
# violation, with **squared** distances,
#
# $$\mathcal L(A, P, N) = \max\big(\lVert f(A) - f(P)\rVert^2 - \lVert f(A) - f(N)\rVert^2 + \alpha,\ 0\big),
# \qquad J = \sum_{i} \mathcal L(A^{(i)}, P^{(i)}, N^{(i)}).$$
#
# The $\max(\cdot, 0)$ matters: a triplet that already satisfies the margin costs nothing (and
# gives no gradient); without it, easy triplets would push the loss to $-\infty$.
#
# **PyTorch's `nn.TripletMarginLoss(margin, p=2)` is not the same function.** It uses the plain,
# **non-squared** norm, adds its `eps` (default `1e-6`) to the *difference* before taking the
# norm, $d(a, p) = \lVert a - p + \varepsilon \rVert_2$, and averages over the batch by default
# (`reduction='mean'`). The same `margin` number therefore means different things in the two
# forms, and the losses differ however you pick it.
#
# **Task.** Write `triplet_loss(fA, fP, fN, alpha=0.2, reduction="sum")` in Ng's form
# (`reduction` is `"sum"`, `"mean"` or `"none"`; `"none"` returns the `(n,)` vector), and
# `triplet_loss_torch_style(fA, fP, fN, margin=1.0, eps=1e-6, reduction="mean")`, which must
# return what `nn.TripletMarginLoss(margin=margin, p=2, eps=eps, reduction=reduction)` returns.
# Embeddings have shape `(n, k)`.

# %% nbgrader={"grade": false, "grade_id": "triplet", "locked": false, "schema_version": 3, "solution": true}
def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'sum', 'mean' or 'none', not {reduction!r}")


def triplet_loss(fA: torch.Tensor, fP: torch.Tensor, fN: torch.Tensor, alpha: float = 0.2,
                 reduction: str = "sum") -> torch.Tensor:
    """Ng's triplet loss max(||a - p||^2 - ||a - n||^2 + alpha, 0) per row, reduced."""
    ### BEGIN SOLUTION
    pos = ((fA - fP) ** 2).sum(dim=1)
    neg = ((fA - fN) ** 2).sum(dim=1)
    losses = torch.clamp(pos - neg + alpha, min=0)
    return _reduce(losses, reduction)
    ### END SOLUTION


def triplet_loss_torch_style(fA: torch.Tensor, fP: torch.Tensor, fN: torch.Tensor, margin: float = 1.0,
                             eps: float = 1e-6, reduction: str = "mean") -> torch.Tensor:
    """What nn.TripletMarginLoss(margin, p=2, eps, reduction) computes: non-squared distances
    ||a - p + eps||, max(d_ap - d_an + margin, 0) per row, reduced."""
    ### BEGIN SOLUTION
    d_ap = torch.sqrt(((fA - fP + eps) ** 2).sum(dim=1))
    d_an = torch.sqrt(((fA - fN + eps) ** 2).sum(dim=1))
    losses = torch.clamp(d_ap - d_an + margin, min=0)
    return _reduce(losses, reduction)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_triplet", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
_p = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
_n = torch.tensor([[2.0, 0.0], [0.0, 0.5]])
# row 0: 1 - 4 + 0.2 < 0 -> 0; row 1: 1 - 0.25 + 0.2 = 0.95
_t = triplet_loss(_a, _p, _n, alpha=0.2)
assert abs(_t.item() - 0.95) < 1e-6, f"triplet_loss (sum) expected 0.95 (squared distances, max(., 0)), got {_t.item()}"
assert abs(triplet_loss(_a, _p, _n, alpha=0.2, reduction="mean").item() - 0.475) < 1e-6, "reduction='mean' divides the sum by the batch size"
assert torch.allclose(triplet_loss(_a, _p, _n, alpha=0.2, reduction="none"), torch.tensor([0.0, 0.95])), "reduction='none' returns one loss per row"
torch.manual_seed(1)
_fa, _fp, _fn = torch.randn(3, 6, 4)
for _m, _red in [(0.5, "mean"), (1.0, "sum")]:
    _want = nn.TripletMarginLoss(margin=_m, p=2, reduction=_red)(_fa, _fp, _fn)
    _got = triplet_loss_torch_style(_fa, _fp, _fn, margin=_m, reduction=_red)
    assert torch.allclose(_got, _want, atol=1e-5), f"triplet_loss_torch_style(margin={_m}, reduction={_red!r}) should equal nn.TripletMarginLoss: {_want.item():.6f}, got {_got.item():.6f}"
print("triplet losses: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "contrastive_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Pairs and the contrastive loss
#
# A Siamese network can also be trained on **pairs** with a label: here **`y = 1` means "same
# person" (similar)** and `y = 0` "different". The contrastive loss pulls similar pairs
# together and pushes different pairs apart until they are at least `margin` away:
#
# $$\mathcal L = \frac1n \sum_i \Big( y_i\, d_i^2 + (1 - y_i)\, \max(\text{margin} - d_i,\ 0)^2 \Big),$$
#
# where $d_i$ is the (non-squared) Euclidean distance of pair $i$. Different pairs already
# farther apart than the margin cost nothing.
#
# (Ng's lectures also mention a third way: feed the two embeddings, or their element-wise
# difference, to a logistic unit that outputs "same" (1) or "different" (0), and train it as a
# binary classifier on such pairs.)
#
# (The Keras example this comes from has two slips worth knowing: it compiles the model with
# the *outer* function `contrastive_loss_with_margin` instead of calling it with a margin, and
# its accuracy counts a pair as "same" when the distance is *above* 0.5; with `y = 1` for
# "same", a small distance means "same", so the test must be `d < threshold`.)
#
# The pairs themselves come from labelled data. `make_pairs(labels, rng)` makes a **balanced**
# set: for every sample `i` (in index order) one positive pair `[i, j]` with `j != i` of the
# same class and one negative pair `[i, k]` with `k` of another class. Draw exactly like this,
# so that the pairs are reproducible: for each `i`, first
# `j = same[torch.randint(len(same), (1,), generator=rng)]` where `same` are the indices of
# the other samples of `i`'s class in increasing order, then
# `k = other[torch.randint(len(other), (1,), generator=rng)]` where `other` are the indices of
# the samples of all other classes in increasing order. A sample that is alone in its class
# has no positive partner: skip it (no pairs, no draws). Return `pairs`, a long tensor of
# shape `(2m, 2)` with rows `[i, j], [i, k], ...` (positive first), and `y`, a float tensor
# `[1, 0, 1, 0, ...]`.
#
# **Task.** Write `contrastive_loss(d, y, margin=1.0)` and `make_pairs(labels, rng)`.

# %% nbgrader={"grade": false, "grade_id": "pairs", "locked": false, "schema_version": 3, "solution": true}
def contrastive_loss(d: torch.Tensor, y: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """mean(y * d**2 + (1 - y) * max(margin - d, 0)**2); y = 1 for "same", 0 for "different"."""
    ### BEGIN SOLUTION
    y = y.to(d.dtype)
    return (y * d ** 2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).mean()
    ### END SOLUTION


def make_pairs(labels: torch.Tensor, rng: torch.Generator) -> tuple:
    """Balanced pairs: for each i with a partner of its class, [i, j] (same class, j != i) then
    [i, k] (another class), drawn with rng as the text says. Returns (pairs (2m, 2) long, y (2m,) float)."""
    ### BEGIN SOLUTION
    labels = labels.cpu()
    idx = torch.arange(len(labels))
    rows, y = [], []
    for i in range(len(labels)):
        same = idx[(labels == labels[i]) & (idx != i)]
        if len(same) == 0:
            continue
        other = idx[labels != labels[i]]
        j = same[torch.randint(len(same), (1,), generator=rng)].item()
        k = other[torch.randint(len(other), (1,), generator=rng)].item()
        rows += [[i, j], [i, k]]
        y += [1.0, 0.0]
    return torch.tensor(rows, dtype=torch.long).reshape(-1, 2), torch.tensor(y)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_pairs", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_d = torch.tensor([0.5, 0.5, 2.0, 0.2])
_y = torch.tensor([1.0, 0.0, 0.0, 1.0])
# (0.25 + 0.25 + 0 + 0.04) / 4
_c = contrastive_loss(_d, _y, margin=1.0)
assert abs(_c.item() - 0.135) < 1e-6, f"contrastive_loss expected 0.135 (y=1 -> d^2, y=0 -> max(margin-d,0)^2, mean), got {_c.item()}"
_labels = torch.tensor([0, 0, 1, 1, 1, 2, 0, 3])
_pairs, _py = make_pairs(_labels, torch.Generator().manual_seed(0))
assert tuple(_pairs.shape) == (12, 2) and _pairs.dtype == torch.long, f"6 samples have a partner: pairs should be a long tensor (12, 2), got {tuple(_pairs.shape)} {_pairs.dtype}"
assert _py.tolist() == [1.0, 0.0] * 6, "y alternates 1 (positive pair) and 0 (negative pair)"
assert 5 not in _pairs[:, 0].tolist() and 7 not in _pairs[:, 0].tolist(), "samples alone in their class (5 and 7) are skipped as anchors"
assert all(_labels[i] == _labels[j] and i != j for i, j in _pairs[0::2].tolist()), "every positive pair joins two different samples of one class"
assert all(_labels[i] != _labels[k] for i, k in _pairs[1::2].tolist()), "every negative pair joins two classes"
assert torch.equal(_pairs, make_pairs(_labels, torch.Generator().manual_seed(0))[0]), "the same seed gives the same pairs"
print("pairs: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "mining_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Choosing the triplets: hard and semi-hard negatives
#
# Random triplets are mostly easy: $d(A, N)$ is already much larger than $d(A, P) + \alpha$,
# the loss is 0 and nothing is learned. Training goes faster on **hard** triplets, where
# $d(A, P) \approx d(A, N)$. Two common ways to pick them inside a batch, from the matrix
# `D` of distances between all embeddings of the batch:
#
# * **hard negative**: for anchor $a$, the sample of *another class* closest to $a$;
# * **semi-hard negative** (FaceNet): for anchor $a$ with positive $p$, the closest negative that
#   is still *farther* than the positive but inside the margin,
#   $d(a, p) < d(a, n) < d(a, p) + \alpha$. These give a loss between 0 and $\alpha$ and are less
#   noisy than the hardest ones. When an anchor has no semi-hard negative, we take its hard
#   negative instead.
#
# Ties are broken by the smallest index (what `argmin` does). Negatives must come from another
# class: a "negative" of the anchor's own class would teach the network to separate a person
# from themselves.
#
# **Batch-hard triplet loss.** For every anchor, take its *hardest positive* (the farthest
# sample of its class, itself excluded) and its *hardest negative* (the closest sample of
# another class), with squared distances, and average $\max(d_{ap} - d_{an} + \alpha, 0)$ over
# the anchors that have at least one positive and one negative.
#
# **Task.** Write `mine_negatives(D, labels, pos_idx, margin, mode="hard")`, which returns the
# `(n,)` long tensor of negative indices (for `mode="semi-hard"` the positive of anchor `a` is
# `pos_idx[a]`; `mode="hard"` ignores `pos_idx` and `margin`), and
# `batch_hard_triplet_loss(emb, labels, margin=0.2)`, which may call `pairwise_sq_distances`.

# %% nbgrader={"grade": false, "grade_id": "mining", "locked": false, "schema_version": 3, "solution": true}
def mine_negatives(D: torch.Tensor, labels: torch.Tensor, pos_idx: torch.Tensor, margin: float,
                   mode: str = "hard") -> torch.Tensor:
    """(n,) index of a negative (another class) per anchor: "hard" = closest; "semi-hard" = closest
    with D[a, p] < D[a, n] < D[a, p] + margin (p = pos_idx[a]), else the hard one. Ties: smallest index."""
    ### BEGIN SOLUTION
    n = D.shape[0]
    other = labels[:, None] != labels[None, :]
    inf = torch.full_like(D, float("inf"))
    hard = torch.where(other, D, inf).argmin(dim=1)
    if mode == "hard":
        return hard
    d_ap = D[torch.arange(n, device=D.device), pos_idx][:, None]
    semi = other & (D > d_ap) & (D < d_ap + margin)
    semi_idx = torch.where(semi, D, inf).argmin(dim=1)
    return torch.where(semi.any(dim=1), semi_idx, hard)
    ### END SOLUTION


def batch_hard_triplet_loss(emb: torch.Tensor, labels: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """Mean over valid anchors of max(d(a, hardest positive) - d(a, hardest negative) + margin, 0),
    squared distances; an anchor is valid with at least one other sample of its class and one of another."""
    ### BEGIN SOLUTION
    D = pairwise_sq_distances(emb, emb)
    n = D.shape[0]
    same = labels[:, None] == labels[None, :]
    pos_mask = same & ~torch.eye(n, dtype=torch.bool, device=D.device)
    neg_mask = ~same
    d_ap = torch.where(pos_mask, D, torch.full_like(D, -float("inf"))).max(dim=1).values
    d_an = torch.where(neg_mask, D, torch.full_like(D, float("inf"))).min(dim=1).values
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    return torch.clamp(d_ap[valid] - d_an[valid] + margin, min=0).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_mining", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_emb = torch.tensor([[0.0], [1.0], [1.5], [3.0], [0.2]])
_lab = torch.tensor([0, 0, 1, 1, 2])
_Dm = (_emb - _emb.T) ** 2   # independent of your pairwise_sq_distances
_neg = mine_negatives(_Dm, _lab, torch.tensor([1, 0, 3, 2, 0]), margin=2.0, mode="hard")
assert _neg.tolist() == [4, 2, 1, 1, 0], f"hard negatives (closest of another class) expected [4, 2, 1, 1, 0], got {_neg.tolist()}"
_semi = mine_negatives(_Dm, _lab, torch.tensor([1, 0, 3, 2, 4]), margin=2.0, mode="semi-hard")
# anchor 0: d_ap = 1, negatives 2.25 (idx 2, inside (1, 3)), 9, 0.04 -> 2
# anchor 1: d_ap = 1, negatives 0.25, 4, 0.64: none inside (1, 3) -> the hard one, 2
# anchor 2: d_ap = 2.25, negatives 2.25 (not >), 0.25, 1.69 -> none -> hard 1
# anchor 3: d_ap = 2.25, negatives 9, 4 (inside (2.25, 4.25)), 7.84 -> 1
assert _semi.tolist() == [2, 2, 1, 1, 0], f"semi-hard negatives expected [2, 2, 1, 1, 0], got {_semi.tolist()}"
_bh = batch_hard_triplet_loss(_emb, _lab, margin=0.2)
# anchors 0..3 are valid (4 is alone): [max(1-0.04+.2,0), max(1-0.25+.2,0), max(2.25-0.25+.2,0), max(2.25-4+.2,0)]
_want = (1.16 + 0.95 + 2.2 + 0.0) / 4
assert abs(_bh.item() - _want) < 1e-5, f"batch_hard_triplet_loss expected {_want:.4f} (anchor 4 has no positive and is left out), got {_bh.item():.4f}"
print("mining: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "verify_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Verification: the threshold
#
# At test time a pair is declared "same" when its distance is at most a threshold,
# $d \le \tau$. The threshold is chosen on pairs with known answers: try every distance that
# occurs as $\tau$ and keep the one with the highest accuracy. Several thresholds often give
# the same accuracy (every $\tau$ between two neighbouring distances does); our rule is to keep
# the **smallest** of the best ones, the most cautious choice (fewer impostors accepted).
#
# **Task.** Write `verify(d, threshold)` (a bool tensor, `True` = "same", `d <= threshold`) and
# `best_threshold(d, same)` that returns `(threshold, accuracy)` as two Python floats, the
# threshold taken among the values of `d`.

# %% nbgrader={"grade": false, "grade_id": "verify", "locked": false, "schema_version": 3, "solution": true}
def verify(d: torch.Tensor, threshold: float) -> torch.Tensor:
    """True ("same") where d <= threshold."""
    ### BEGIN SOLUTION
    return d <= threshold
    ### END SOLUTION


def best_threshold(d: torch.Tensor, same: torch.Tensor) -> tuple:
    """The value of d that, used as threshold (d <= t means "same"), gives the highest accuracy
    on the labels `same` (1/True = same); ties: the smallest. Returns (threshold, accuracy) as floats."""
    ### BEGIN SOLUTION
    same = same.bool()
    candidates = torch.unique(d)
    accuracy = ((d[None, :] <= candidates[:, None]) == same[None, :]).double().mean(dim=1)
    best = int(torch.argmax(accuracy))
    return float(candidates[best]), float(accuracy[best])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_verify", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_dv = torch.tensor([0.125, 0.5, 0.375, 0.75, 0.625])
assert verify(_dv, 0.5).tolist() == [True, True, True, False, False], "verify: d <= threshold means 'same' (the threshold itself counts as same)"
_t, _acc = best_threshold(_dv, torch.tensor([1, 0, 1, 0, 1]))
# thresholds 0.125 -> 3/5, 0.375 -> 4/5, 0.5 -> 3/5, 0.625 -> 4/5, 0.75 -> 3/5: best 0.8, smallest 0.375
assert abs(_t - 0.375) < 1e-6 and abs(_acc - 0.8) < 1e-9, f"best_threshold expected (0.375, 0.8) (ties: the smallest), got ({_t}, {_acc})"
print("verification: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "demo_md", "locked": true, "schema_version": 3, "solution": false}
# ### All together on made-up "people"
#
# Without a face data set, we make embeddings directly: 8 people, each a random centre in
# 16 dimensions, and 6 noisy "pictures" per person. Pairs from `make_pairs`, distances with
# `euclidean`, the threshold and the triplet losses of this section:

# %% nbgrader={"grade": false, "grade_id": "demo", "locked": true, "schema_version": 3, "solution": false}
_g = torch.Generator().manual_seed(SEED)
people = torch.arange(8).repeat_interleave(6)
centres = torch.randn(8, 16, generator=_g)
emb = centres[people] + 1.1 * torch.randn(len(people), 16, generator=_g)
pairs, same = make_pairs(people, _g)
dist = euclidean(emb[pairs[:, 0]], emb[pairs[:, 1]])
tau, acc = best_threshold(dist, same)
print(f"{len(pairs)} pairs: threshold {tau:.3f}, accuracy {acc:.3f}")
print(f"contrastive loss (margin {2 * tau:.2f}): {contrastive_loss(dist, same, margin=2 * tau).item():.4f}")
print(f"batch-hard triplet loss (alpha 0.2): {batch_hard_triplet_loss(emb, people, 0.2).item():.4f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "nst_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Neural style transfer: the costs
#
# Style transfer makes a picture $G$ with the **content** of a picture $C$ and the **style** of
# a picture $S$ by minimising
#
# $$J(G) = \alpha\, J_\text{content}(C, G) + \beta\, J_\text{style}(S, G)$$
#
# over the *pixels* of $G$ (the network is fixed). Both costs compare activations of a
# convolutional network. In PyTorch an activation has shape $(1, n_C, n_H, n_W)$ (batch,
# channels, height, width: NCHW); the TensorFlow code of the course notes uses
# $(1, n_H, n_W, n_C)$ (NHWC).
#
# **Content cost**, at one middle layer (not too shallow, which would copy pixels, not too
# deep, which would keep only "there is a disc somewhere"):
# $J_\text{content} = \frac{1}{4\, n_H n_W n_C} \sum (a^{(C)} - a^{(G)})^2$.
# The course notes write it as a mean squared error or as $\tfrac12\lVert a^{(C)} - a^{(G)}\rVert^2$;
# those differ from ours only by a constant factor, which $\alpha$ absorbs, but a grader needs
# one form, and we use the $\frac{1}{4 n_H n_W n_C}$ of the programming assignment.
#
# **Style** is what the channels do *together*, wherever in the picture: the **Gram matrix**
# of a layer, $G_{kk'} = \sum_{i,j} a_{ijk}\, a_{ijk'}$. Unroll the activation into a matrix
# $A$ of shape $(n_C,\ n_H n_W)$, **one row per channel**; then $G = A A^\top$, of shape
# $(n_C, n_C)$ (not $A^\top A$, which is $(n_H n_W) \times (n_H n_W)$ and compares positions).
#
# **The unrolling trap.** From NCHW, `a.reshape(n_C, n_H * n_W)` is right: each channel's
# values are contiguous. From NHWC the channels are the *last* axis, and the same `reshape`
# (or `view`) silently mixes channels and positions. Move the channels first
# (`permute`) and then reshape, or reshape to $(n_H n_W, n_C)$ and transpose.
#
# **Layer style cost**, with the normalisation of the course notes (the notes drop the square
# in one place; it belongs there):
#
# $$J_\text{style}^{[l]} = \frac{1}{(2\, n_H n_W n_C)^2} \sum_{k, k'} \big(G^{(S)}_{kk'} - G^{(G)}_{kk'}\big)^2
#  = \frac{1}{4\, n_C^2 (n_H n_W)^2} \sum_{k, k'} \big(G^{(S)}_{kk'} - G^{(G)}_{kk'}\big)^2 .$$
#
# **Style cost** over several layers: $J_\text{style} = \sum_l \lambda^{[l]} J_\text{style}^{[l]}$.
#
# **Task.** Write `unroll(a, layout="NCHW")` (a of shape `(1, n_C, n_H, n_W)`, or
# `(1, n_H, n_W, n_C)` with `layout="NHWC"`; returns `(n_C, n_H * n_W)`, rows = channels,
# positions in row-major order), `gram_matrix(A)`, `content_cost(a_C, a_G)`,
# `layer_style_cost(a_S, a_G)` (NCHW activations; use `unroll` and `gram_matrix`),
# `style_cost(style_acts, gen_acts, weights)` (lists of activations, one per layer, and the
# weights $\lambda^{[l]}$; use `layer_style_cost`) and `total_cost(J_content, J_style, alpha=10, beta=40)`.

# %% nbgrader={"grade": false, "grade_id": "nst_costs", "locked": false, "schema_version": 3, "solution": true}
def unroll(a: torch.Tensor, layout: str = "NCHW") -> torch.Tensor:
    """(n_C, n_H * n_W) with one row per channel, from a (1, n_C, n_H, n_W) or, with layout="NHWC",
    (1, n_H, n_W, n_C) activation."""
    ### BEGIN SOLUTION
    if layout == "NHWC":
        a = a.permute(0, 3, 1, 2)
    n_C = a.shape[1]
    return a[0].reshape(n_C, -1)
    ### END SOLUTION


def gram_matrix(A: torch.Tensor) -> torch.Tensor:
    """A A^T for A of shape (n_C, n_H * n_W): the (n_C, n_C) Gram matrix."""
    ### BEGIN SOLUTION
    return A @ A.T
    ### END SOLUTION


def content_cost(a_C: torch.Tensor, a_G: torch.Tensor) -> torch.Tensor:
    """sum((a_C - a_G)**2) / (4 n_H n_W n_C) for activations of shape (1, n_C, n_H, n_W)."""
    ### BEGIN SOLUTION
    _, n_C, n_H, n_W = a_G.shape
    return ((a_C - a_G) ** 2).sum() / (4 * n_H * n_W * n_C)
    ### END SOLUTION


def layer_style_cost(a_S: torch.Tensor, a_G: torch.Tensor) -> torch.Tensor:
    """sum((Gram(S) - Gram(G))**2) / (2 n_H n_W n_C)**2 for activations (1, n_C, n_H, n_W)."""
    ### BEGIN SOLUTION
    _, n_C, n_H, n_W = a_G.shape
    GS = gram_matrix(unroll(a_S))
    GG = gram_matrix(unroll(a_G))
    return ((GS - GG) ** 2).sum() / (2 * n_H * n_W * n_C) ** 2
    ### END SOLUTION


def style_cost(style_acts: list, gen_acts: list, weights: list) -> torch.Tensor:
    """sum over layers l of weights[l] * layer_style_cost(style_acts[l], gen_acts[l])."""
    ### BEGIN SOLUTION
    J = 0
    for a_S, a_G, lam in zip(style_acts, gen_acts, weights):
        J = J + lam * layer_style_cost(a_S, a_G)
    return J
    ### END SOLUTION


def total_cost(J_content, J_style, alpha: float = 10, beta: float = 40):
    """alpha * J_content + beta * J_style."""
    ### BEGIN SOLUTION
    return alpha * J_content + beta * J_style
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_nst_costs", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_a = torch.arange(12.0).reshape(1, 3, 2, 2)                  # NCHW: channel k holds 4k .. 4k+3
assert unroll(_a).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]], "unroll of an NCHW tensor: one row per channel"
_nhwc = _a.permute(0, 2, 3, 1).contiguous()                  # the same activation in TF's layout
assert unroll(_nhwc, layout="NHWC").tolist() == unroll(_a).tolist(), "unroll(NHWC) must give the same matrix as unroll of the NCHW tensor: move the channels first, then reshape"
_A = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]])
assert gram_matrix(_A).tolist() == [[5.0, 2.0], [2.0, 2.0]], f"gram_matrix(A) = A A^T, shape (n_C, n_C); got {gram_matrix(_A).tolist()}"
_c = content_cost(torch.ones(1, 2, 3, 4), torch.zeros(1, 2, 3, 4))
assert abs(_c.item() - 24 / (4 * 24)) < 1e-7, f"content_cost of ones vs zeros (1, 2, 3, 4) is 24 / (4*24) = 0.25, got {_c.item()}"
# Gram of ones (1, 2, 3, 4): every entry 12; of zeros: 0 -> 4 * 144 / (2*3*4*2)**2
_s = layer_style_cost(torch.ones(1, 2, 3, 4), torch.zeros(1, 2, 3, 4))
assert abs(_s.item() - 576 / 48 ** 2) < 1e-7, f"layer_style_cost of ones vs zeros (1, 2, 3, 4) is 576 / 48^2 = 0.25, got {_s.item()}"
_sc = style_cost([torch.ones(1, 2, 3, 4)] * 2, [torch.zeros(1, 2, 3, 4)] * 2, [0.3, 0.5])
assert abs(float(_sc) - 0.2) < 1e-7, f"style_cost with weights [0.3, 0.5] on two layers of cost 0.25 is 0.2, got {float(_sc)}"
assert total_cost(1.0, 2.0) == 90, "total_cost(1, 2) = 10 * 1 + 40 * 2 = 90 with the default alpha and beta"
print("style-transfer costs: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "net_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. A few steps of style transfer with a random network
#
# Gatys et al. use VGG-19 trained on ImageNet; its activations make the most convincing
# pictures. Pretrained weights cannot be downloaded here, so we use a **small convolutional
# network with seeded random weights** (`make_feature_net`, given below; with torchvision you
# would write `vgg19(weights=None)` to get the same situation). Random filters still respond to
# edges and colours, and the optimisation is exactly the same.
#
# The network is **not** trained: its weights stay fixed. What is optimised is the picture
# $G$ itself, a tensor with `requires_grad=True` given to the optimiser. The targets, the
# activations of $C$ and $S$, are computed once and must carry no computation graph
# (`torch.no_grad()` or `.detach()`); otherwise every step backpropagates into the network
# again (and PyTorch refuses a second backward through the freed graph).
#
# **Task.** Write
#
# * `get_activations(net, x, layers)`: run `x` through the modules of the `nn.Sequential` `net`
#   one after the other and return the dict `{i: output of module i}` for the indices `i` in
#   `layers`;
# * `style_transfer(net, content, style, init, content_layer, style_layers, style_weights,
#   steps, lr, alpha=10, beta=40)`: compute the target activations once, make $G$ a fresh
#   copy of `init` that requires gradients (`init` itself must not change), then `steps`
#   times: zero the gradients, $J = $ `total_cost(content_cost(...), style_cost(...), alpha, beta)`
#   with the activations of $G$, backward, an Adam step (`torch.optim.Adam([G], lr=lr)`).
#   Return `(G detached, history)`, `history` the list of the `steps` values of $J$ (Python
#   floats, each computed before its update). Do not change the network, neither its weights
#   nor their `requires_grad` flags. Use your functions of section 6.

# %% nbgrader={"grade": false, "grade_id": "feature_net", "locked": true, "schema_version": 3, "solution": false}
def make_feature_net(seed: int) -> nn.Sequential:
    """A small convolutional feature extractor with seeded random weights (no pretrained weights)."""
    gen_state = torch.get_rng_state()
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),              # 0, 1
        nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU(),   # 2, 3
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),            # 4, 5
    )
    torch.set_rng_state(gen_state)
    return net


def make_pictures(size: int, seed: int) -> tuple:
    """A content picture (a bright disc on a colour ramp) and a style picture (diagonal stripes
    with noise), each (1, 3, size, size) with values in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    disc = (((xx - 0.5) ** 2 + (yy - 0.5) ** 2) < 0.09).float()
    content = torch.stack([0.2 + 0.6 * disc, 0.3 * xx + 0.2 * disc, 0.3 * yy]).unsqueeze(0)
    stripes = 0.5 + 0.5 * torch.sin(12 * (xx + yy))
    style = torch.stack([stripes, 1 - stripes, 0.5 * stripes]).unsqueeze(0)
    style = (style + 0.1 * torch.randn(style.shape, generator=g)).clamp(0, 1)
    return content, style


# %% nbgrader={"grade": false, "grade_id": "style_transfer", "locked": false, "schema_version": 3, "solution": true}
def get_activations(net: nn.Sequential, x: torch.Tensor, layers) -> dict:
    """{i: output of net[i]} for i in layers, running x through net's modules in order."""
    ### BEGIN SOLUTION
    wanted = set(layers)
    acts = {}
    for i, module in enumerate(net):
        x = module(x)
        if i in wanted:
            acts[i] = x
    return acts
    ### END SOLUTION


def style_transfer(net: nn.Sequential, content: torch.Tensor, style: torch.Tensor, init: torch.Tensor,
                   content_layer: int, style_layers: list, style_weights: list, steps: int, lr: float,
                   alpha: float = 10, beta: float = 40) -> tuple:
    """`steps` Adam steps on a copy G of init that lower total_cost; the network is left unchanged.
    Returns (G detached, list of the total costs before each step)."""
    ### BEGIN SOLUTION
    layers = sorted(set([content_layer, *style_layers]))
    with torch.no_grad():
        c_acts = get_activations(net, content, layers)
        s_acts = get_activations(net, style, layers)
    G = init.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([G], lr=lr)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        g_acts = get_activations(net, G, layers)
        J_content = content_cost(c_acts[content_layer], g_acts[content_layer])
        J_style = style_cost([s_acts[l] for l in style_layers], [g_acts[l] for l in style_layers], style_weights)
        J = total_cost(J_content, J_style, alpha, beta)
        J.backward()
        optimizer.step()
        history.append(J.item())
    return G.detach(), history
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "run_md", "locked": true, "schema_version": 3, "solution": false}
# The generated picture starts, as in the course notes, from the content picture with noise
# added, so that the optimisation begins near the content and moves towards the style.

# %% nbgrader={"grade": false, "grade_id": "run", "locked": true, "schema_version": 3, "solution": false}
feature_net = make_feature_net(SEED).to(DEVICE)
content_img, style_img = make_pictures(IMG_SIZE, SEED)
content_img, style_img = content_img.to(DEVICE), style_img.to(DEVICE)
_noise = torch.rand(content_img.shape, generator=torch.Generator().manual_seed(SEED)).to(DEVICE)
init_img = (0.6 * content_img + 0.4 * _noise).clamp(0, 1)
n_steps = 40 if FAST else STEPS
generated, history = style_transfer(feature_net, content_img, style_img, init_img, content_layer=3,
                                    style_layers=[1, 3, 5], style_weights=[0.4, 0.3, 0.3],
                                    steps=n_steps, lr=0.02)
print(f"{n_steps} Adam steps: total cost {history[0]:.4f} -> {history[-1]:.4f}")

# %% nbgrader={"grade": true, "grade_id": "check_style_transfer", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(history) == n_steps, f"history should hold one cost per step ({n_steps}), got {len(history)}"
assert history[-1] < 0.7 * history[0], f"the total cost should fall by at least 30% (from {history[0]:.4f}), got {history[-1]:.4f}"
assert tuple(generated.shape) == tuple(init_img.shape) and not generated.requires_grad, "return the optimised picture detached, with the shape of init"
assert torch.equal(init_img, (0.6 * content_img + 0.4 * _noise).clamp(0, 1)), "init must not change: optimise a copy of it"
_fresh = make_feature_net(SEED).to(DEVICE)
assert all(torch.equal(p, q) for p, q in zip(feature_net.parameters(), _fresh.parameters())), "the network's weights changed: optimise the picture, not the network"
print("style transfer: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "show_md", "locked": true, "schema_version": 3, "solution": false}
# The pictures side by side, drawn when `FAST` is off (with a random network and few steps the result is modest;
# with VGG and a thousand steps the stripes would cover the disc).

# %% nbgrader={"grade": false, "grade_id": "show", "locked": true, "schema_version": 3, "solution": false}
if FAST:
    print("grading run (FAST): the pictures are not drawn")
else:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(12, 3))
    for ax, img, title in zip(axes, [content_img, style_img, init_img, generated], ["content", "style", "start", "generated"]):
        ax.imshow(img[0].permute(1, 2, 0).clamp(0, 1).cpu().numpy())
        ax.set_title(title)
        ax.axis("off")
    plt.show()
