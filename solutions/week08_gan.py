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
# # Week 08 — Generative adversarial networks
#
# Until now every network we trained answered a question about its input: which class, which
# box, which pixel belongs to what. This week a network **makes** new data: pictures that look
# as if they came from the training set without being copies of it. The idea is Goodfellow et
# al.'s *Generative Adversarial Nets* (2014, <https://arxiv.org/abs/1406.2661>): two networks
# play a game against each other.
#
# * The **generator** $G$ takes a vector of random numbers $z$ (the *noise*, or *latent*
#   vector), drawn from a standard normal distribution, and turns it into a sample $G(z)$: a
#   picture, or here also a point in the plane. The noise acts as a seed: another $z$, another
#   sample.
# * The **discriminator** $D$ takes a sample and tells how likely it is to be **real** (from the
#   training data) rather than **fake** (made by $G$).
#
# $D$ tries to tell real from fake; $G$ tries to fool $D$, "to maximise the probability of $D$
# making a mistake". The two objectives conflict, and each network gets better because the other
# does: a minimax two-player game. What is new: **the generator never sees the training data**.
# All it learns comes through the gradients of a good discriminator, the kind of classifier we
# already know how to build. The paper's analogy: counterfeiters (G) against the police (D).
#
# This week you will:
#
# 1. build the paper's fully connected GAN (only linear layers, with batch normalisation);
# 2. write binary cross-entropy and the GAN's minimax value function from scratch;
# 3. write the generator's and the discriminator's losses as the course defines them;
# 4. write one training step for each network and the training loop, and train a GAN on points
#    in the plane, where we can see it learn;
# 5. sample from a generator and walk through its latent space;
# 6. measure a generator with the Fréchet distance (FID) from scratch, checked against
#    `torchmetrics`;
# 7. build a deep convolutional GAN (DCGAN) and train it briefly on small sprite pictures.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions and
# classes: the grader calls them by name with its own small networks and inputs, and compares the
# results with its own PyTorch computations. Run the notebook from top to bottom; the *Check*
# cells test a few cases for you.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True: short training runs (used while grading)
DEVICE = "cpu"       # "cuda" to train on a GPU
DATA_DIR = "data"    # not used this week: all data are generated below
Z_DIM = 16           # length of the noise vectors of the image GANs (the course's z_dim)
TOY_Z_DIM = 8        # length of the noise vectors of the GAN on points in the plane
IMG_SIZE = 16        # side of the sprite pictures (4 * 2 ** number of hidden DCGAN layers)

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

torch.manual_seed(SEED)
np.random.seed(SEED)
print("torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "quiz_principle_md", "locked": true, "schema_version": 3, "solution": false}
# ### Checkpoint
#
# Which sentence best describes the principle of GANs?
#
# A. A single network is trained to generate data like the training data.
# B. Two networks are trained together, collaborating to generate new data.
# C. Two networks are trained at the same time, adversarially, so that the new data cannot be told
#    apart from real data.
# D. A sequence of networks transforms raw data for easier analysis.
#
# <details><summary>Answer</summary>
#
# **C.** Two networks with opposite goals, trained in alternation.
# </details>

# %% [markdown] nbgrader={"grade": false, "grade_id": "linear_gan_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. The paper's GAN: only linear layers
#
# In the section *Adversarial nets* the paper uses multilayer perceptrons for both players. We
# build them from blocks:
#
# * **Generator**: blocks `Linear -> BatchNorm1d -> ReLU` that widen the noise (the course:
#   $16 \to 256 \to 512 \to 1024$), then `Linear` to as many numbers as the output has
#   (for a $3 \times 96 \times 96$ sprite: 27,648) and a **sigmoid**, so that every pixel lies in
#   $[0, 1]$ like a picture from `ToTensor`; the flat vector is reshaped to the output's shape.
# * **Discriminator**: the sample flattened, blocks `Linear -> LeakyReLU(0.2)` that narrow it
#   ($\to 1024 \to 512 \to 256$), then `Linear(…, 1)`: **one logit per sample**, no sigmoid,
#   because the loss will be `BCEWithLogitsLoss` (the sigmoid is inside it, computed in a
#   numerically stable way). LeakyReLU lets a little gradient through for negative inputs, so
#   that the generator keeps receiving a signal.
#
# **`BatchNorm1d` or `BatchNorm2d`?** Mathematically the same normalisation; they differ in the
# shape they accept. After a `Linear` layer the activations are `(batch, features)`, a 2-D
# tensor: `BatchNorm1d(features)`. After a convolution they are `(batch, channels, height,
# width)`, 4-D: `BatchNorm2d(channels)`, with one mean and variance per channel.
#
# At $96 \times 96$ each of these networks has about 29 million parameters (the last linear layer
# of the generator alone has $1024 \cdot 27{,}648 + 27{,}648$). The sizes are therefore
# arguments, so that we can train small versions here.
#
# **Task.** Write `Generator(z_dim, out_shape, hidden_dims)` and `Discriminator(in_shape,
# hidden_dims)` as described. `Generator.forward(noise)` maps `(batch, z_dim)` to
# `(batch, *out_shape)`; `Discriminator.forward(x)` maps `(batch, *in_shape)` to logits
# `(batch, 1)`.

# %% nbgrader={"grade": false, "grade_id": "linear_gan", "locked": false, "schema_version": 3, "solution": true}
class Generator(nn.Module):
    """noise (batch, z_dim) -> samples (batch, *out_shape) with values in (0, 1).

    One block Linear -> BatchNorm1d -> ReLU per entry of hidden_dims, then Linear to
    prod(out_shape) numbers, a sigmoid, and a reshape to out_shape."""

    def __init__(self, z_dim: int = 16, out_shape: tuple = (3, 96, 96), hidden_dims: tuple = (256, 512, 1024)):
        ### BEGIN SOLUTION
        super().__init__()
        self.out_shape = tuple(out_shape)
        layers, width = [], z_dim
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU()]
            width = hidden
        layers += [nn.Linear(width, math.prod(self.out_shape)), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.net(noise).view(len(noise), *self.out_shape)
        ### END SOLUTION


class Discriminator(nn.Module):
    """samples (batch, *in_shape) -> logits (batch, 1).

    Flatten, one block Linear -> LeakyReLU(0.2) per entry of hidden_dims, then Linear(..., 1)."""

    def __init__(self, in_shape: tuple = (3, 96, 96), hidden_dims: tuple = (1024, 512, 256)):
        ### BEGIN SOLUTION
        super().__init__()
        layers, width = [nn.Flatten()], math.prod(in_shape)
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.net(x)
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "linear_gan_demo", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
small_gen = Generator(Z_DIM, (3, IMG_SIZE, IMG_SIZE), (32, 64))
small_disc = Discriminator((3, IMG_SIZE, IMG_SIZE), (64, 32))
print(small_gen)
print(small_disc)
_fake = small_gen(torch.randn(5, Z_DIM)).detach()
print("generated:", tuple(_fake.shape), "| logits:", tuple(small_disc(_fake).shape))

# %% nbgrader={"grade": true, "grade_id": "check_linear_gan", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert tuple(_fake.shape) == (5, 3, IMG_SIZE, IMG_SIZE), f"Generator should return (5, 3, {IMG_SIZE}, {IMG_SIZE}), got {tuple(_fake.shape)}"
assert float(_fake.min()) > 0 and float(_fake.max()) < 1, "the generator ends with a sigmoid: values in (0, 1)"
assert tuple(small_disc(_fake).shape) == (5, 1), "the discriminator returns one logit per sample, shape (batch, 1)"
_kinds = [type(_m).__name__ for _m in small_gen.modules() if not list(_m.children())]
assert _kinds.count("Linear") == 3 and _kinds.count("BatchNorm1d") == 2, "two hidden blocks: 3 Linear and 2 BatchNorm1d layers"
assert sum(p.numel() for p in Generator(16, (2,), (8,)).parameters()) == 16 * 8 + 8 + 2 * 8 + 8 * 2 + 2, \
    "Generator(16, (2,), (8,)) has Linear(16, 8), BatchNorm1d(8) and Linear(8, 2): 162 parameters"
assert sum(p.numel() for p in Discriminator((2, 3), (4,)).parameters()) == 6 * 4 + 4 + 4 + 1, \
    "Discriminator((2, 3), (4,)) flattens to 6 inputs: Linear(6, 4) and Linear(4, 1), 33 parameters"
print("linear GAN: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "bce_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. The loss is binary cross-entropy
#
# The paper writes the game as a **value function** that $D$ maximises and $G$ minimises:
#
# $$\min_G \max_D V(D, G) = \mathbb{E}_{x \sim p_\text{data}}\left[\log D(x)\right] + \mathbb{E}_{z \sim p_z}\left[\log\left(1 - D(G(z))\right)\right].$$
#
# * $D(x)$ is the probability $D$ gives a real sample; $\log D(x)$ is large when $D$ calls real
#   samples real.
# * $G(z)$ is the generator's output for the noise $z$, and $D(G(z))$ the probability $D$ gives it
#   of being real; $\log(1 - D(G(z)))$ is large when $D$ calls fakes fake.
# * $\mathbb{E}$ is an **expectation**: in practice the mean over a random minibatch, not a sum
#   over the whole data set.
# * $D$ maximises both terms; $G$ minimises $V$ but only the second term depends on it (the first
#   is a constant for $G$).
#
# This is binary cross-entropy, not just something like it. For predictions $\hat y_n$ and labels
# $y_n \in \{0, 1\}$,
#
# $$J = -\frac{1}{N}\sum_{n=1}^N \left[y_n \log \hat y_n + (1 - y_n) \log(1 - \hat y_n)\right],$$
#
# and with real samples labelled 1 and fakes labelled 0 (and minibatches of the same size),
# $V = -\left(\text{BCE}(D(x), 1) + \text{BCE}(D(G(z)), 0)\right)$: maximising $V$ is minimising the
# discriminator's cross-entropy.
#
# At the game's equilibrium the fakes are distributed like the data and the best $D$ can do is
# $D = 1/2$ everywhere; then $V = \log\frac12 + \log\frac12 = -\log 4 \approx -1.386$.
#
# **Task.** Write `bce(y_hat, y)`, the mean binary cross-entropy of probabilities `y_hat` (any
# shape, values strictly between 0 and 1) and labels `y` (same shape), with tensor operations only
# (no `F.binary_cross_entropy`, `nn.BCELoss` or their logit versions); and `value_function(d_real,
# d_fake)`, $V$ for the probabilities $D(x)$ of a batch of real samples and $D(G(z))$ of a batch of
# fakes (the batches may have different sizes: each expectation is the mean over its own batch).

# %% nbgrader={"grade": false, "grade_id": "bce_value", "locked": false, "schema_version": 3, "solution": true}
def bce(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy -mean(y log y_hat + (1 - y) log(1 - y_hat)), a 0-dim tensor."""
    ### BEGIN SOLUTION
    return -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)).mean()
    ### END SOLUTION


def value_function(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """V(D, G) = mean(log D(x)) + mean(log(1 - D(G(z)))), a 0-dim tensor, for the probabilities
    d_real = D(x) of real samples and d_fake = D(G(z)) of fakes."""
    ### BEGIN SOLUTION
    return torch.log(d_real).mean() + torch.log(1 - d_fake).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_bce_value", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_p = torch.tensor([0.9, 0.2, 0.6, 0.01])
_y = torch.tensor([1.0, 0.0, 0.0, 1.0])
assert abs(bce(_p, _y).item() - F.binary_cross_entropy(_p, _y).item()) < 1e-6, "bce should agree with F.binary_cross_entropy"
_half = torch.full((6, 1), 0.5)
assert abs(value_function(_half, _half).item() + math.log(4)) < 1e-6, "at equilibrium (D = 1/2 everywhere) V = -log 4"
_dr, _df = torch.tensor([0.8, 0.7, 0.9]), torch.tensor([0.3, 0.1, 0.2])
assert abs(value_function(_dr, _df).item() + F.binary_cross_entropy(_dr, torch.ones(3)).item()
           + F.binary_cross_entropy(_df, torch.zeros(3)).item()) < 1e-6, "V = -(BCE(D(x), 1) + BCE(D(G(z)), 0))"
print("bce and value function: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "losses_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. The losses of the two players
#
# The paper's algorithm alternates: a few ($k$) steps of the discriminator, then one of the
# generator. Not "first the perfect discriminator, then the generator": against a perfect
# discriminator the generator gets no useful gradient. We use $k = 1$, as most implementations
# do.
#
# **The non-saturating trick.** Early in training the fakes are bad, $D(G(z)) \approx 0$, and
# $\log(1 - D(G(z)))$ is flat there: minimising it gives the generator almost no gradient. The
# paper therefore lets $G$ **maximise** $\log D(G(z))$ instead, which is steep where
# $D(G(z)) \approx 0$. As a loss to minimise this is $-\log D(G(z))$: the binary cross-entropy
# of $D$'s predictions on fakes **with the label 1** ("real"). Both players' losses are then
# cross-entropies, and we write them with `nn.BCEWithLogitsLoss` on the discriminator's logits:
#
# **Generator loss** (`gen_loss`):
# 1. draw noise `torch.randn(num_images, z_dim)` (on `device`);
# 2. generate fakes with `gen`;
# 3. get the discriminator's logits for the fakes;
# 4. the BCE between these logits and a tensor of **ones**.
#
# **Discriminator loss** (`disc_loss`):
# 1. draw noise `torch.randn(num_images, z_dim)` (on `device`) and generate fakes;
# 2. the BCE of `disc`'s logits on the fakes against **zeros** (the fake loss);
# 3. the BCE of `disc`'s logits on the real batch against **ones** (the real loss);
# 4. the loss is the **average** of the two: `(real_loss + fake_loss) / 2`.
#
# The course's `disc_loss` passes the fakes to the discriminator as they are. The gradient of
# this loss then also flows into the generator's parameters: wasted work, harmless as long as the
# generator's gradients are reset before its own step. Writing `gen(noise).detach()` stops the
# flow there; both versions are accepted.
#
# **Task.** Write `gen_loss` and `disc_loss` as described (one call `torch.randn(num_images,
# z_dim, device=device)` each, no other random numbers).

# %% nbgrader={"grade": false, "grade_id": "losses", "locked": false, "schema_version": 3, "solution": true}
def gen_loss(gen: nn.Module, disc: nn.Module, num_images: int, z_dim: int, device="cpu") -> torch.Tensor:
    """BCE-with-logits of disc(gen(noise)) against ones, for num_images noise vectors."""
    ### BEGIN SOLUTION
    noise = torch.randn(num_images, z_dim, device=device)
    fake = gen(noise)
    disc_pred = disc(fake)
    criterion = nn.BCEWithLogitsLoss()
    return criterion(disc_pred, torch.ones_like(disc_pred))
    ### END SOLUTION


def disc_loss(gen: nn.Module, disc: nn.Module, real: torch.Tensor, num_images: int, z_dim: int,
              device="cpu") -> torch.Tensor:
    """The average of BCE-with-logits(disc(real), ones) and BCE-with-logits(disc(fakes), zeros),
    the fakes made from num_images noise vectors."""
    ### BEGIN SOLUTION
    criterion = nn.BCEWithLogitsLoss()
    noise = torch.randn(num_images, z_dim, device=device)
    fake = gen(noise).detach()
    disc_pred_fake = disc(fake)
    fake_loss = criterion(disc_pred_fake, torch.zeros_like(disc_pred_fake))
    disc_pred_real = disc(real)
    real_loss = criterion(disc_pred_real, torch.ones_like(disc_pred_real))
    return (real_loss + fake_loss) / 2
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_losses", "locked": true, "points": 0, "schema_version": 3, "solution": false}
class _ZeroLogits(nn.Module):
    """A discriminator that cannot decide: logit 0 (probability 1/2) for every sample."""
    def forward(self, x):
        return torch.zeros(len(x), 1)


_g = Generator(4, (2,), (8,))
_zero_g, _zero_d = gen_loss(_g, _ZeroLogits(), 10, 4).item(), disc_loss(_g, _ZeroLogits(), torch.rand(7, 2), 10, 4).item()
assert abs(_zero_g - math.log(2)) < 1e-6 and abs(_zero_d - math.log(2)) < 1e-6, \
    f"a discriminator with zero logits gives both losses ln 2 = 0.6931, got {_zero_g:.4f} and {_zero_d:.4f}"
_loss = gen_loss(_g, Discriminator((2,), (8,)), 10, 4)
_loss.backward()
assert all(p.grad is not None for p in _g.parameters()), "gen_loss must let the gradient reach the generator (no detach there)"
print("losses: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "steps_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Training: one step of each player, then the loop
#
# Each player has its own optimiser over its own parameters: `disc_opt` over `disc.parameters()`,
# `gen_opt` over `gen.parameters()`. One step of a player is the familiar sequence:
#
# * **discriminator step**: `disc_opt.zero_grad()`, the discriminator loss on the real batch and as
#   many fakes as real samples (`len(real)`: the last batch of an epoch may be smaller),
#   `backward()`, `disc_opt.step()`;
# * **generator step**: `gen_opt.zero_grad()`, the generator loss, `backward()`, `gen_opt.step()`.
#
# The order of the calls matters more than usual, because the two losses share a graph:
# `gen_loss.backward()` also fills the **discriminator's** `.grad` (the gradient runs through $D$
# to reach $G$), and an undetached `disc_loss.backward()` fills the generator's. Stepping only the
# player's own optimiser keeps the other network unchanged, and zeroing the player's gradients
# *before* its backward pass throws away what the other player's step left there. Forget
# `zero_grad` and a step follows a sum of old and new gradients.
#
# Optimisers: the course does not fix them. We use Adam with `betas=(0.5, 0.999)`, the DCGAN
# paper's choice (a shorter memory of past gradients suits a game whose target moves).
#
# **Task.** Write `disc_step` and `gen_step` (each returns its loss as a Python float; call your
# `disc_loss` and `gen_loss`), and `train_gan`: for every epoch and every real batch of the
# loader (move it to `device`), one discriminator step then one generator step with as many fakes
# as the batch has samples, by calling your `disc_step` and `gen_step`. It returns the history
# `{"disc": [...], "gen": [...]}` of the batch losses, in order.

# %% nbgrader={"grade": false, "grade_id": "training", "locked": false, "schema_version": 3, "solution": true}
def disc_step(gen: nn.Module, disc: nn.Module, real: torch.Tensor, disc_opt, z_dim: int, device="cpu") -> float:
    """One optimisation step of the discriminator on the real batch; returns its loss."""
    ### BEGIN SOLUTION
    disc_opt.zero_grad()
    loss = disc_loss(gen, disc, real, len(real), z_dim, device)
    loss.backward()
    disc_opt.step()
    return loss.item()
    ### END SOLUTION


def gen_step(gen: nn.Module, disc: nn.Module, gen_opt, num_images: int, z_dim: int, device="cpu") -> float:
    """One optimisation step of the generator with num_images fakes; returns its loss."""
    ### BEGIN SOLUTION
    gen_opt.zero_grad()
    loss = gen_loss(gen, disc, num_images, z_dim, device)
    loss.backward()
    gen_opt.step()
    return loss.item()
    ### END SOLUTION


def train_gan(gen: nn.Module, disc: nn.Module, dataloader, num_epochs: int, z_dim: int, gen_opt, disc_opt,
              device="cpu") -> dict:
    """num_epochs passes over the dataloader (batches of real samples); per batch a discriminator
    step, then a generator step. Returns {"disc": [batch losses], "gen": [batch losses]}."""
    ### BEGIN SOLUTION
    history = {"disc": [], "gen": []}
    for epoch in range(num_epochs):
        for real in dataloader:
            real = real.to(device)
            cur_batch_size = len(real)
            history["disc"].append(disc_step(gen, disc, real, disc_opt, z_dim, device))
            history["gen"].append(gen_step(gen, disc, gen_opt, cur_batch_size, z_dim, device))
    return history
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "toy_md", "locked": true, "schema_version": 3, "solution": false}
# ### A GAN that learns points in the plane
#
# Pictures take long to learn, and it is hard to say how good a fake picture is. Points in the
# plane are quick, and we can see what the generator learned. Our "data set" is a mixture of two
# round clouds of points, around $(0.8, 0.3)$ and $(0.55, 0.75)$; the generator is our
# `Generator` with `out_shape=(2,)` (its sigmoid keeps the points in the unit square), the
# discriminator our `Discriminator` with `in_shape=(2,)`.
#
# An untrained generator puts all its points in a small cloud near $(0.5, 0.5)$. After training,
# its points should have the data's mean and spread. The discriminator's loss stays near
# $\ln 2 \approx 0.693$ all along: neither player wins for long, which is what a GAN's training
# looks like when it works (a discriminator loss that drops to 0 means the generator has lost the
# game). We measure the distance between the fakes and the data with the Fréchet distance of
# Section 6 (on the points themselves: here no feature network is needed).

# %% nbgrader={"grade": false, "grade_id": "toy_data", "locked": true, "schema_version": 3, "solution": false}
def make_blobs_2d(n: int, seed: int) -> torch.Tensor:
    """n points (n, 2): half around (0.8, 0.3), half around (0.55, 0.75), standard deviation 0.05."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, 2, (n,), generator=g).float()[:, None]
    centres = k * torch.tensor([0.8, 0.3]) + (1 - k) * torch.tensor([0.55, 0.75])
    return centres + 0.05 * torch.randn(n, 2, generator=g)


def gaussian_fd(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two point sets (scipy's sqrtm; Section 6)."""
    from scipy import linalg
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real))


toy_data = make_blobs_2d(1024, SEED)
toy_loader = DataLoader(toy_data, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(SEED))
toy_check = make_blobs_2d(2000, SEED + 1000).numpy()
print("toy data:", tuple(toy_data.shape), "mean", toy_data.mean(0).numpy().round(3), "std", toy_data.std(0).numpy().round(3))

# %% nbgrader={"grade": false, "grade_id": "toy_training", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
toy_gen = Generator(TOY_Z_DIM, (2,), (64, 64)).to(DEVICE)
toy_disc = Discriminator((2,), (64, 64)).to(DEVICE)
toy_gen_opt = torch.optim.Adam(toy_gen.parameters(), lr=2e-3, betas=(0.5, 0.999))
toy_disc_opt = torch.optim.Adam(toy_disc.parameters(), lr=2e-3, betas=(0.5, 0.999))


def toy_samples(n: int = 2000) -> np.ndarray:
    toy_gen.eval()
    with torch.no_grad():
        points = toy_gen(torch.randn(n, TOY_Z_DIM, generator=torch.Generator().manual_seed(SEED + 1)).to(DEVICE))
    toy_gen.train()
    return points.cpu().numpy()


toy_before = toy_samples()
toy_history = train_gan(toy_gen, toy_disc, toy_loader, 10 if FAST else 40, TOY_Z_DIM, toy_gen_opt, toy_disc_opt, DEVICE)
toy_after = toy_samples()
print(f"{len(toy_history['disc'])} steps; discriminator loss: first 16 steps {np.mean(toy_history['disc'][:16]):.3f}, "
      f"last 16 {np.mean(toy_history['disc'][-16:]):.3f}")
print(f"Fréchet distance to the data: before training {gaussian_fd(toy_before, toy_check):.4f}, "
      f"after {gaussian_fd(toy_after, toy_check):.4f}")
print("fakes: mean", toy_after.mean(0).round(3), "std", toy_after.std(0).round(3))
if not FAST:
    import matplotlib.pyplot as plt
    plt.figure(figsize=(4, 4))
    plt.scatter(*toy_check[:500].T, s=3, label="data")
    plt.scatter(*toy_after[:500].T, s=3, label="generator")
    plt.legend()
    plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_training", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert set(toy_history) == {"disc", "gen"}, "train_gan returns {'disc': [...], 'gen': [...]}"
assert len(toy_history["disc"]) == len(toy_history["gen"]) == len(toy_loader) * (10 if FAST else 40), \
    "one loss per batch and epoch for each player"
assert all(isinstance(v, float) for v in toy_history["disc"] + toy_history["gen"]), "the losses are Python floats"
assert gaussian_fd(toy_after, toy_check) < 0.5 * gaussian_fd(toy_before, toy_check), \
    "after training the fakes should be much closer to the data (Fréchet distance at most half of the untrained one)"
print("training: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "figure_md", "locked": true, "schema_version": 3, "solution": false}
# ### Checkpoint: the paper's figure 1
#
# The paper draws the game in one dimension: black dots for the data distribution, a green curve
# for the generator's distribution, a blue dashed curve for the discriminator's output, and below
# them the mapping $x = G(z)$ from a **uniformly** distributed $z$ (the figure's choice; we draw
# $z$ from a standard normal, as the course's generator does). Training goes (a) a random
# discriminator, (b) $D$ trained a little, (c) $G$ follows the gradient of $D$ towards regions
# $D$ calls real, (d) at the end the green curve covers the data and $D = 1/2$ everywhere.
#
# Does the generator then just memorise the training set? No: the data are finitely many points,
# while the generator is a smooth function of a continuous $z$, and it never sees the data at all,
# only the discriminator's gradients.

# %% [markdown] nbgrader={"grade": false, "grade_id": "sampling_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Sampling and the latent space
#
# To look at a generator's work: draw noise, run the generator **without gradients**, and for
# pictures put the channels last (`img.permute(1, 2, 0)`) for `plt.imshow`. A generator with
# batch normalisation behaves differently in training and evaluation mode: for sampling we switch
# it to `eval()` (the running statistics, so that a sample does not depend on the others in its
# batch) and afterwards back to the mode it was in.
#
# The DCGAN paper also **walks through the latent space**: the points on the straight line from
# $z_1$ to $z_2$, $z_1 + t (z_2 - z_1)$ for $t$ from 0 to 1, give pictures that morph smoothly from
# one into the other, a sign that the generator learned a smooth map rather than a lookup table.
#
# **Task.** Write `sample_images(gen, n, z_dim, device)`: `n` samples from `torch.randn(n, z_dim,
# device=device)`, generated in eval mode without gradients, returned on the CPU; the generator is
# left in the mode it had. Write `interpolate_latent(z1, z2, steps)`: a tensor `(steps, z_dim)`
# whose rows go from `z1` to `z2` in equal steps, both ends included.

# %% nbgrader={"grade": false, "grade_id": "sampling", "locked": false, "schema_version": 3, "solution": true}
def sample_images(gen: nn.Module, n: int, z_dim: int, device="cpu") -> torch.Tensor:
    """n samples of the generator (eval mode, no gradients), on the CPU; gen keeps its mode."""
    ### BEGIN SOLUTION
    was_training = gen.training
    gen.eval()
    noise = torch.randn(n, z_dim, device=device)
    with torch.no_grad():
        fake = gen(noise)
    gen.train(was_training)
    return fake.cpu()
    ### END SOLUTION


def interpolate_latent(z1: torch.Tensor, z2: torch.Tensor, steps: int) -> torch.Tensor:
    """(steps, z_dim): z1 + t (z2 - z1) for t = 0, 1 / (steps - 1), ..., 1."""
    ### BEGIN SOLUTION
    t = torch.linspace(0, 1, steps, dtype=z1.dtype, device=z1.device)[:, None]
    return z1[None, :] + t * (z2 - z1)[None, :]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_sampling", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_samples = sample_images(small_gen, 9, Z_DIM)
assert tuple(_samples.shape) == (9, 3, IMG_SIZE, IMG_SIZE) and not _samples.requires_grad, \
    "sample_images gives (9, 3, size, size) without gradients"
assert small_gen.training, "sample_images leaves a generator in training mode in training mode"
assert tuple(_samples[0].permute(1, 2, 0).shape) == (IMG_SIZE, IMG_SIZE, 3), "channels last for plt.imshow"
_path = interpolate_latent(torch.zeros(3), torch.tensor([1.0, 2.0, 4.0]), 5)
assert torch.allclose(_path, torch.tensor([[0.0, 0, 0], [0.25, 0.5, 1], [0.5, 1, 2], [0.75, 1.5, 3], [1, 2, 4]])), \
    "interpolate_latent(0, (1, 2, 4), 5) has the rows 0, 1/4, 1/2, 3/4 and 1 of the way"
print("sampling: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "fid_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Measuring a GAN: the Fréchet (Inception) distance
#
# How good is a generator? Looking at samples is the first answer (and the paper's, in 2014),
# but it does not give a number. The **Fréchet Inception Distance** (FID) does:
#
# 1. a fixed image classifier (Inception v3, trained on ImageNet) turns every real and every fake
#    picture into a feature vector;
# 2. fit a Gaussian to each set of features: the mean $\mu$ and the covariance $\Sigma$ (with
#    $n - 1$ in the denominator);
# 3. the Fréchet distance between the two Gaussians:
#
# $$d^2 = \lVert \mu_r - \mu_f \rVert^2 + \operatorname{Tr}\left(\Sigma_r + \Sigma_f - 2\left(\Sigma_r^{1/2}\,\Sigma_f\,\Sigma_r^{1/2}\right)^{1/2}\right).$$
#
# Lower is better; 0 means the same statistics. A low FID needs fakes that look like the data
# **and** are as diverse as it (a generator that always draws the same good picture has a wrong
# covariance). A common rule of thumb: below 10 is good.
#
# **The matrix square root.** $(\Sigma_1 \Sigma_2)^{1/2}$ is often written, but $\Sigma_1 \Sigma_2$
# is not symmetric; the symmetric form above has the same trace. A covariance matrix is symmetric
# and positive semi-definite, so it has an eigendecomposition $A = V \Lambda V^\top$ with
# $\Lambda \geq 0$, and $A^{1/2} = V \Lambda^{1/2} V^\top$ is the symmetric matrix whose square is
# $A$. Rounding can make the smallest eigenvalues slightly negative: clamp them to 0 first.
#
# **Offline.** The Inception weights are a download, which we cannot do here, so we use a small
# convolutional **feature network** with fixed random weights instead. The numbers are then not
# comparable with published FIDs, but the method is the same. `torchmetrics` accepts such a
# network: `FrechetInceptionDistance(feature=net)`. (The course's snippet misspells the class as
# `fid.FrechetInception.Distance` and calls `fid.compute()` on the module instead of the metric
# object `fidist`; `feature=64`, an Inception layer, needs the `torch-fidelity` package and the
# weights.) With a custom network the metric passes the pictures to it unchanged, by default as
# `uint8` values 0-255 (the course's `(x * 255).to(torch.uint8)`), and computes the statistics in
# float64.
#
# **Task.** Write, with tensor operations (no `scipy`, no `torchmetrics`):
#
# * `feature_stats(features)`: the mean `(d,)` and the covariance `(d, d)` (denominator $n - 1$) of
#   `n` feature vectors `(n, d)`, in float64;
# * `sqrtm_psd(A)`: the symmetric square root of a symmetric positive semi-definite matrix, with
#   `torch.linalg.eigh`, negative eigenvalues clamped to 0;
# * `frechet_distance(mu1, sigma1, mu2, sigma2)`: the formula above as a Python float, with your
#   `sqrtm_psd`;
# * `fid_score(real_images, fake_images, feature_net)`: the features of both sets of pictures
#   (`uint8`, passed to the network as they are, on the network's device, without gradients),
#   their statistics with `feature_stats`, and `frechet_distance` between them.

# %% nbgrader={"grade": false, "grade_id": "feature_net", "locked": true, "schema_version": 3, "solution": false}
class TinyFeatureNet(nn.Module):
    """A stand-in for Inception: uint8 pictures (batch, channels, h, w) -> features (batch, num_features).
    Fixed random weights (seeded), never trained."""

    def __init__(self, in_channels: int = 3, num_features: int = 16, seed: int = 0):
        super().__init__()
        self.num_features = num_features      # torchmetrics reads this instead of running a test picture
        g = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(in_channels, 8, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, num_features, 3, stride=2, padding=1)
        with torch.no_grad():
            for conv in (self.conv1, self.conv2):
                fan_in = conv.weight[0].numel()
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * math.sqrt(2 / fan_in))
                conv.bias.copy_(0.1 * torch.randn(conv.bias.shape, generator=g))
        self.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(self.conv1.weight.dtype) / 255.0
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return x.mean(dim=(2, 3))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Pictures with values in [0, 1] -> uint8 0-255, as the course does: (x * 255).to(torch.uint8)."""
    return (images.clamp(0, 1) * 255).to(torch.uint8)


# %% nbgrader={"grade": false, "grade_id": "frechet", "locked": false, "schema_version": 3, "solution": true}
def feature_stats(features: torch.Tensor) -> tuple:
    """(mean (d,), covariance (d, d) with denominator n - 1) of features (n, d), both float64."""
    ### BEGIN SOLUTION
    x = features.double()
    mu = x.mean(dim=0)
    centred = x - mu
    sigma = centred.T @ centred / (x.shape[0] - 1)
    return mu, sigma
    ### END SOLUTION


def sqrtm_psd(A: torch.Tensor) -> torch.Tensor:
    """The symmetric square root V diag(sqrt(max(lambda, 0))) V^T of a symmetric PSD matrix."""
    ### BEGIN SOLUTION
    eigenvalues, eigenvectors = torch.linalg.eigh(A)
    return eigenvectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T
    ### END SOLUTION


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1^1/2 sigma2 sigma1^1/2)^1/2), a float."""
    ### BEGIN SOLUTION
    root1 = sqrtm_psd(sigma1)
    covmean = sqrtm_psd(root1 @ sigma2 @ root1)
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(sigma1) + torch.trace(sigma2) - 2 * torch.trace(covmean))
    ### END SOLUTION


def fid_score(real_images: torch.Tensor, fake_images: torch.Tensor, feature_net: nn.Module) -> float:
    """The Fréchet distance between the feature statistics of two sets of uint8 pictures."""
    ### BEGIN SOLUTION
    device = next(feature_net.parameters()).device
    with torch.no_grad():
        real_features = feature_net(real_images.to(device)).cpu()
        fake_features = feature_net(fake_images.to(device)).cpu()
    mu_r, sigma_r = feature_stats(real_features)
    mu_f, sigma_f = feature_stats(fake_features)
    return frechet_distance(mu_r, sigma_r, mu_f, sigma_f)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_frechet", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_mu1, _mu2 = torch.tensor([0.0, 0.0], dtype=torch.float64), torch.tensor([3.0, 4.0], dtype=torch.float64)
_s1, _s2 = torch.diag(torch.tensor([1.0, 4.0], dtype=torch.float64)), torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64))
assert abs(frechet_distance(_mu1, _s1, _mu2, _s2) - 27.0) < 1e-9, "mu (0, 0) vs (3, 4), Sigma diag(1, 4) vs diag(4, 1): 25 + 1 + 1 = 27"
assert abs(frechet_distance(_mu1, _s1, _mu1, _s1)) < 1e-9, "a Gaussian is at distance 0 from itself"
_feats = torch.randn(50, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
_m, _s = feature_stats(_feats)
assert torch.allclose(_s, torch.cov(_feats.T)) and torch.allclose(_m, _feats.mean(0)), "feature_stats: mean and covariance (n - 1)"
_A = _s + 0.1 * torch.eye(4, dtype=torch.float64)
assert torch.allclose(sqrtm_psd(_A) @ sqrtm_psd(_A), _A), "sqrtm_psd(A) squared gives A back"
print("Fréchet distance: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "dcgan_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Deep convolutional GANs (DCGAN)
#
# Radford et al. (2015, <https://arxiv.org/abs/1511.06434>) made GANs work with convolutions,
# after "historical attempts to scale up GANs using CNNs" had failed. The discriminator becomes a
# CNN; the generator uses **transposed convolutions**, which enlarge feature maps (a
# `ConvTranspose2d(…, kernel_size=4, stride=2, padding=1)` doubles height and width; with
# `kernel_size=4, stride=1, padding=0` it turns a $1 \times 1$ map into $4 \times 4$). Their
# guidelines:
#
# 1. only **strided** convolutions (the network learns its own down- and upsampling);
# 2. **no linear and no pooling layers**;
# 3. **batch normalisation** (`BatchNorm2d`, after the convolution and before the activation),
#    except at the generator's output and the discriminator's input;
# 4. **ReLU** in every generator layer but the last;
# 5. **tanh** at the generator's output: pictures in $[-1, 1]$, so the real pictures must be
#    scaled to $[-1, 1]$ too, and samples mapped back with $(x + 1) / 2$ before showing them or
#    converting them to `uint8`;
# 6. **LeakyReLU** (0.2) in the discriminator.
#
# **Task.** Write `DCGenerator(z_dim, out_channels, hidden_channels)`: the noise `(batch, z_dim)`
# viewed as `(batch, z_dim, 1, 1)`; `ConvTranspose2d(z_dim, h[0], 4, 1, 0)` to $4 \times 4$; for
# each further entry of `hidden_channels` a `ConvTranspose2d(…, 4, 2, 1)`; each of these followed
# by `BatchNorm2d` and ReLU; then `ConvTranspose2d(h[-1], out_channels, 4, 2, 1)` and tanh. The
# output side is $4 \cdot 2^{\text{len(hidden\_channels)}}$ ($(64, 32)$: 16). And
# `DCDiscriminator(in_channels, hidden_channels)`: `Conv2d(in_channels, h[0], 4, 2, 1)` and
# LeakyReLU(0.2) (no batch norm on the input layer); for each further entry `Conv2d(…, 4, 2, 1)`,
# `BatchNorm2d`, LeakyReLU(0.2); then `Conv2d(h[-1], 1, 4, 1, 0)` on the $4 \times 4$ map and a
# flatten: logits `(batch, 1)` for pictures of side $4 \cdot 2^{\text{len(hidden\_channels)}}$.
# Whether the convolutions before a batch norm have a bias is up to you (batch norm cancels it).

# %% nbgrader={"grade": false, "grade_id": "dcgan", "locked": false, "schema_version": 3, "solution": true}
class DCGenerator(nn.Module):
    """noise (batch, z_dim) -> pictures (batch, out_channels, s, s) in (-1, 1), s = 4 * 2 ** len(hidden_channels)."""

    def __init__(self, z_dim: int = 16, out_channels: int = 3, hidden_channels: tuple = (64, 32)):
        ### BEGIN SOLUTION
        super().__init__()
        layers = [nn.Unflatten(1, (z_dim, 1, 1)),
                  nn.ConvTranspose2d(z_dim, hidden_channels[0], 4, 1, 0), nn.BatchNorm2d(hidden_channels[0]), nn.ReLU()]
        for c_in, c_out in zip(hidden_channels[:-1], hidden_channels[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(hidden_channels[-1], out_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.net(noise)
        ### END SOLUTION


class DCDiscriminator(nn.Module):
    """pictures (batch, in_channels, s, s), s = 4 * 2 ** len(hidden_channels) -> logits (batch, 1)."""

    def __init__(self, in_channels: int = 3, hidden_channels: tuple = (32, 64)):
        ### BEGIN SOLUTION
        super().__init__()
        layers = [nn.Conv2d(in_channels, hidden_channels[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for c_in, c_out in zip(hidden_channels[:-1], hidden_channels[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(hidden_channels[-1], 1, 4, 1, 0), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.net(x)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_dcgan", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_dg, _dd = DCGenerator(Z_DIM, 3, (64, 32)), DCDiscriminator(3, (32, 64))
_pics = _dg(torch.randn(4, Z_DIM))
assert tuple(_pics.shape) == (4, 3, 16, 16), f"DCGenerator(16, 3, (64, 32)) makes (4, 3, 16, 16) pictures, got {tuple(_pics.shape)}"
assert float(_pics.abs().max()) < 1, "the generator ends with tanh: values in (-1, 1)"
assert tuple(_dd(_pics).shape) == (4, 1), "DCDiscriminator gives one logit per picture"
assert tuple(DCGenerator(8, 1, (32, 16, 8))(torch.randn(2, 8)).shape) == (2, 1, 32, 32), "three hidden layers: 32 x 32"
for _net in (_dg, _dd):
    _names = {type(_m).__name__ for _m in _net.modules()}
    assert not _names & {"Linear", "MaxPool2d", "AvgPool2d"}, "DCGAN: no linear or pooling layers"
    assert "BatchNorm2d" in _names, "DCGAN uses BatchNorm2d"
print("DCGAN: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "sprites_md", "locked": true, "schema_version": 3, "solution": false}
# ### A DCGAN on sprites
#
# The course trains on about 1,300 Pokémon sprites of $96 \times 96$ pixels, which are not
# available here. Our stand-in: small generated "creatures", coloured discs and squares with eyes
# on a white background, $16 \times 16$ pixels. The real pictures are scaled to $[-1, 1]$ for the
# tanh generator. In grading mode the run is only a few steps long (it shows that the pieces fit);
# run the notebook with `FAST = False` for a longer run, and compare the FID before and after.

# %% nbgrader={"grade": false, "grade_id": "sprites", "locked": true, "schema_version": 3, "solution": false}
def make_sprites(n: int, size: int, seed: int) -> torch.Tensor:
    """n RGB pictures (n, 3, size, size) in [0, 1]: a coloured disc or square with two dark eyes on white."""
    g = torch.Generator().manual_seed(seed)
    rows, cols = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    images = torch.ones(n, 3, size, size)
    for i in range(n):
        cy, cx = (size / 2 + (torch.rand(2, generator=g) - 0.5) * size / 4).tolist()
        radius = float(size * (0.22 + 0.12 * torch.rand(1, generator=g)))
        colour = 0.2 + 0.7 * torch.rand(3, generator=g)
        if torch.rand(1, generator=g) < 0.5:
            body = (rows - cy) ** 2 + (cols - cx) ** 2 <= radius ** 2
        else:
            body = ((rows - cy).abs() <= radius) & ((cols - cx).abs() <= radius * 0.8)
        images[i][:, body] = colour[:, None]
        for dx in (-radius / 2.5, radius / 2.5):
            eye = (rows - (cy - radius / 3)) ** 2 + (cols - (cx + dx)) ** 2 <= (size / 16) ** 2
            images[i][:, eye] = 0.05
    return images


sprites = make_sprites(256 if FAST else 2048, IMG_SIZE, SEED)
sprite_loader = DataLoader(sprites * 2 - 1, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(SEED))
torch.manual_seed(SEED)
dc_gen = DCGenerator(Z_DIM, 3, (64, 32)).to(DEVICE)
dc_disc = DCDiscriminator(3, (32, 64)).to(DEVICE)
dc_gen_opt = torch.optim.Adam(dc_gen.parameters(), lr=2e-3 if FAST else 1e-3, betas=(0.5, 0.999))
dc_disc_opt = torch.optim.Adam(dc_disc.parameters(), lr=2e-3 if FAST else 1e-3, betas=(0.5, 0.999))
feature_net = TinyFeatureNet(3, 16, seed=SEED).to(DEVICE)
real_uint8 = to_uint8(make_sprites(200, IMG_SIZE, SEED + 1))
fid_before = fid_score(real_uint8, to_uint8((sample_images(dc_gen, 200, Z_DIM, DEVICE) + 1) / 2), feature_net)
dc_history = train_gan(dc_gen, dc_disc, sprite_loader, 1 if FAST else 25, Z_DIM, dc_gen_opt, dc_disc_opt, DEVICE)
fake_uint8 = to_uint8((sample_images(dc_gen, 200, Z_DIM, DEVICE) + 1) / 2)
fid_after = fid_score(real_uint8, fake_uint8, feature_net)
print(f"{len(dc_history['gen'])} steps; FID (tiny feature network) before training {fid_before:.3f}, after {fid_after:.3f}")

if not FAST:   # importing torchmetrics takes seconds: skipped while grading
    from torchmetrics.image.fid import FrechetInceptionDistance
    fidist = FrechetInceptionDistance(feature=feature_net)   # the course's call, fixed
    fidist.update(real_uint8.to(DEVICE), real=True)
    fidist.update(fake_uint8.to(DEVICE), real=False)
    fid_torchmetrics = float(fidist.compute())
    print(f"torchmetrics' FrechetInceptionDistance with the same network: {fid_torchmetrics:.3f}")

    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 8, figsize=(12, 3))
    for ax, img in zip(axes[0], sprites[:8]):
        ax.imshow(img.permute(1, 2, 0))
        ax.axis("off")
    for ax, img in zip(axes[1], fake_uint8[:8]):
        ax.imshow(img.permute(1, 2, 0))
        ax.axis("off")
    plt.show()
    _z1, _z2 = torch.randn(2, Z_DIM, generator=torch.Generator().manual_seed(SEED))
    _walk = (dc_gen.eval()(interpolate_latent(_z1, _z2, 8).to(DEVICE)).detach().cpu() + 1) / 2
    dc_gen.train()
    fig, axes = plt.subplots(1, 8, figsize=(12, 1.6))
    for ax, img in zip(axes, _walk):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1))
        ax.axis("off")
    plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_fid", "locked": true, "points": 0, "schema_version": 3, "solution": false}
if not FAST:
    assert abs(fid_after - fid_torchmetrics) <= 1e-4 * max(1.0, abs(fid_torchmetrics)), \
        f"fid_score should agree with torchmetrics: {fid_after:.6f} vs {fid_torchmetrics:.6f}"
assert abs(fid_score(real_uint8, real_uint8, feature_net)) < 1e-6, "identical sets of pictures: FID 0"
_ab = fid_score(real_uint8[:100], real_uint8[100:], feature_net)
_ba = fid_score(real_uint8[100:], real_uint8[:100], feature_net)
assert abs(_ab - _ba) < 1e-6 * max(1.0, _ab), "the Fréchet distance is symmetric"
print("FID: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary_md", "locked": true, "schema_version": 3, "solution": false}
# ### Checkpoint
#
# In a DCGAN, what is the generator's output activation, what is the discriminator's activation,
# and which layers may they use?
#
# <details><summary>Answer</summary>
#
# tanh; LeakyReLU; strided (transposed) convolutions and batch normalisation, no linear and no
# pooling layers.
# </details>
#
# ## Summary
#
# * A GAN is a game: the discriminator learns to tell real from fake, the generator learns from the
#   discriminator's gradients to make fakes it calls real; the generator never sees the data.
# * The value function is binary cross-entropy. The generator uses the non-saturating loss,
#   BCE of $D(G(z))$ against ones; the discriminator's loss averages real-vs-ones and
#   fake-vs-zeros.
# * Each player has its own optimiser; zero its gradients before its backward pass, step only its
#   own parameters, alternate the steps. A discriminator loss near $\ln 2$ is a healthy game.
# * Sample in eval mode without gradients; latent walks morph smoothly between samples.
# * FID compares the means and covariances of features of real and fake pictures (lower is
#   better; it needs a feature network, Inception in practice).
# * DCGAN: strided (transposed) convolutions, batch normalisation, ReLU and a tanh output in the
#   generator, LeakyReLU in the discriminator, no linear or pooling layers.
