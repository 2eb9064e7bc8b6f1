"""Hidden tests for week08_gan: a fully connected GAN, BCE and the minimax value, the course's
generator and discriminator losses, one step per player and the alternating loop, sampling,
the Fréchet distance (checked against torchmetrics), and a DCGAN.

Total: 46 points over 22 tests.

Each function is graded on its own, on small networks the probe builds with weights chosen here
(float64, from `grading_seed`): a wrong Generator does not cost the points of gen_loss, a wrong
gen_loss not those of gen_step. Functions that call other graded functions run with fakes in
their place (grader.testing.with_fakes): spies that record their arguments and compute another
loss (a least-squares one, a softplus one) for the steps, spies that return call numbers for the
loop, and lookups of values computed here (matrix square roots, feature statistics, distances)
for the Fréchet functions. No probe contains a correct implementation of a graded function. A
function that does its helper's work inline instead of calling it gets the true results, which
are accepted as well.

Random draws: the losses draw their noise with one `torch.randn(num_images, z_dim)`; the probes
seed torch just before each call and run with float64 as the default dtype (restored afterwards),
and the expected values are computed here from the same seeded draws on the CPU. Expected values
come from PyTorch in float64 (F.binary_cross_entropy, BCEWithLogits, torch.optim on the same
networks), scipy.linalg.sqrtm and torchmetrics' FrechetInceptionDistance with a custom feature
network; the reference kernel is asked the same probes as a check of the grader's setup.

The learning test (test_gan_learns) is the only one that uses what the notebook trained: the
2-D GAN `toy_gen`, sampled on hidden noise and compared with fresh hidden data.

Devices: the networks, the losses, the loop, sampling and the interpolation also run on PyTorch's
`meta` device (grader.testing.on_meta_device), which stands in for a GPU: noise drawn without
`device=device`, a real batch not moved to the device, or an interpolation made on the CPU mixes
devices there, as it would on a GPU. What the meta device cannot do (`.item()`, `.cpu()`) passes.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked (the engine uses --assert=plain, but an outer pytest session may rewrite this module).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.testing import assert_close, assert_on_meta, is_close, on_meta_device, remember, tensor_src, with_fakes

F64 = torch.float64
LN2 = math.log(2)

# The notebook's trained 2-D GAN (`toy_gen`, FAST: 10 epochs of 16 batches) must bring its samples
# to within TOY_FD_MAX (Fréchet distance between Gaussians fitted to 2000 fakes and 4000 hidden
# data points). Calibration: the reference's FAST training over SEED 0-39 (each seed another
# initialisation, batch order and noise, as a correct solution drawing its random numbers in
# another order would be): trained 0.0007-0.0276 (median 0.003; one seed of 40 above 0.011), the
# same with the course's undetached disc_loss: identical; untrained generators 0.074-0.116; a
# generator step without zero_grad 0.02-0.21 (caught exactly by test_gen_step anyway). 0.045 is
# 1.6 times the reference's worst seed and about half of an untrained generator.
TOY_FD_MAX = 0.045


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, 8, k])


def _round(a, decimals: int = 4) -> np.ndarray:
    return np.round(np.asarray(a, dtype=float), decimals)


def _lit(array) -> str:
    """Probe source for a float64 tensor with these values."""
    return tensor_src(np.asarray(array, dtype=float), "float64")


def _float64(body: str) -> str:
    """Probe code that runs `body` (which sets `_out`) with float64 as the default dtype and
    restores float32 afterwards, whatever happens."""
    indented = "".join("    " + line + "\n" for line in body.strip("\n").splitlines())
    return ("torch.set_default_dtype(torch.float64)\ntry:\n" + indented +
            "finally:\n    torch.set_default_dtype(torch.float32)\n_out\n")


def _set_params_src(module: str, params: list) -> str:
    """Probe lines: copy the arrays `params` into `module`'s parameters, in order."""
    lines = ["with torch.no_grad():"]
    lines.append(f"    for _p, _v in zip({module}.parameters(), [{', '.join(_lit(p) for p in params)}]):")
    lines.append("        _p.copy_(_v)")
    return "\n".join(lines) + "\n"


def _set_layers_src(module: str, linears: list, norms: list = ()) -> str:
    """Probe lines: copy (weight, bias) pairs into `module`'s Linear layers and (weight, bias)
    pairs into its batch-norm layers, each kind in the order the layers are registered (so the
    order in which a student registers layers of different kinds does not matter)."""
    def pairs(items):
        return "[" + ", ".join(f"({_lit(w)}, {_lit(b)})" for w, b in items) + "]"
    return (f"with torch.no_grad():\n"
            f"    for _m, (_w, _b) in zip([_m for _m in {module}.modules() if isinstance(_m, nn.Linear)], {pairs(linears)}):\n"
            f"        _m.weight.copy_(_w)\n        _m.bias.copy_(_b)\n"
            f"    for _m, (_w, _b) in zip([_m for _m in {module}.modules() if isinstance(_m, nn.BatchNorm1d)], {pairs(norms)}):\n"
            f"        _m.weight.copy_(_w)\n        _m.bias.copy_(_b)\n")


def _copy_into(module: nn.Module, params: list) -> None:
    with torch.no_grad():
        for p, v in zip(module.parameters(), params):
            p.copy_(torch.tensor(v, dtype=F64))


def _leaf_layers_src(name: str) -> str:
    """Probe source: the leaf modules of `name` as [type, details] in registration order."""
    return f"""
def _describe(_m):
    _kind = type(_m).__name__
    if isinstance(_m, nn.Linear):
        return [_kind, int(_m.in_features), int(_m.out_features)]
    if isinstance(_m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return [_kind, int(_m.num_features)]
    if isinstance(_m, (nn.Conv2d, nn.ConvTranspose2d)):
        return [_kind, int(_m.in_channels), int(_m.out_channels), list(_m.kernel_size), list(_m.stride),
                list(_m.padding), _m.bias is not None]
    if isinstance(_m, nn.LeakyReLU):
        return [_kind, float(_m.negative_slope)]
    return [_kind]
_layers = [_describe(_m) for _m in {name}.modules() if not list(_m.children())]
"""


def _indent(src: str, prefix: str = "    ") -> str:
    """Probe source indented by `prefix` (every non-empty line), ending with a newline."""
    return "".join(prefix + line + "\n" if line.strip() else "\n" for line in src.strip("\n").splitlines())


def _kinds(layers: list, *names: str) -> list:
    return [layer for layer in layers if layer[0] in names]


# --------------------------------------------------------------------------- 1. linear GAN
def _meta_config(configs: list) -> int:
    """The one configuration of a structure test whose network also runs on the meta device
    (the device check): the one with the most hidden layers. A tensor made without the input's
    device fails for every configuration alike, and a forward pass with batch norm on the meta
    device costs 8-12 ms of the student's kernel (PyTorch's Python meta kernels), so checking all
    three cost 30 ms a test."""
    return max(range(len(configs)), key=lambda k: len(configs[k][-1]))


GEN_CONFIGS = [(16, (3, 8, 8), (32, 64)), (5, (2,), (7,)), (3, (1, 4, 6), (4, 6, 5))]
GEN_META = _meta_config(GEN_CONFIGS)


@pytest.mark.points(2)
def test_generator_structure(student, reference):
    """Generator: Linear -> BatchNorm1d -> ReLU blocks of the given widths, Linear to the output size, sigmoid, reshape"""
    probe = f"""
{on_meta_device("Generator")}
_out = []
for _i, (_z, _shape, _hidden) in enumerate({GEN_CONFIGS!r}):
    torch.manual_seed(0)
    _g = Generator(_z, _shape, _hidden)
{_indent(_leaf_layers_src("_g"))}    _y = _g(torch.randn(4, _z)).detach()
    _out.append({{"layers": _layers, "shape": list(_y.shape), "range": [float(_y.min()), float(_y.max())],
                 "params": sum(_p.numel() for _p in _g.parameters()),
                 "meta": None if _i != {GEN_META} else
                     _meta_try(lambda: _Generator(_z, _shape, _hidden).to("meta")(torch.empty(4, _z, device="meta")))}})
with torch.device("meta"):
    _default = Generator()
_out.append(sum(_p.numel() for _p in _default.parameters()))
_out
"""
    got = student.eval(probe)
    for index, ((z, shape, hidden), answer) in enumerate(zip(GEN_CONFIGS, got)):
        call = f"Generator(z_dim={z}, out_shape={shape}, hidden_dims={hidden})"
        widths = [z, *hidden]
        want_linear = [["Linear", a, b] for a, b in zip(widths, widths[1:])] + [["Linear", widths[-1], math.prod(shape)]]
        want_bn = [["BatchNorm1d", h] for h in hidden]
        linear, bn = _kinds(answer["layers"], "Linear"), _kinds(answer["layers"], "BatchNorm1d", "BatchNorm2d")
        assert linear == want_linear, (
            f"{call}: expected the linear layers {[tuple(x[1:]) for x in want_linear]} (in -> out, in order), got "
            f"{[tuple(x[1:]) for x in linear]}. One block per hidden width, then one Linear to prod(out_shape) = "
            f"{math.prod(shape)} numbers")
        assert bn == want_bn, (
            f"{call}: expected a BatchNorm1d after each hidden Linear, {[h for h in hidden]} features, got {bn} (no batch "
            "norm after the last Linear)")
        other = sorted({x[0] for x in answer["layers"]} - {"Linear", "BatchNorm1d", "ReLU", "Sigmoid", "Unflatten",
                                                               "Flatten", "Identity"})
        assert not other, f"{call}: the paper's generator uses only Linear, BatchNorm1d, ReLU and a sigmoid, found {other}"
        assert answer["shape"] == [4, *shape], f"{call} on noise (4, {z}): expected the shape {(4, *shape)}, got {tuple(answer['shape'])}"
        low, high = answer["range"]
        assert 0 < low and high < 1, f"{call}: outputs should lie in (0, 1) (a sigmoid at the end), got [{low:.3f}, {high:.3f}]"
        if index == GEN_META:  # (see _meta_config)
            assert_on_meta(answer["meta"], f"{call}.to(device) on noise (4, {z}) on that device",
                           "keep every layer in a registered submodule (nn.Sequential, nn.ModuleList or an attribute), so that "
                           ".to(device) moves it, and make no tensor in forward without device=noise.device")
    big = 16 * 256 + 256 + 512 + 256 * 512 + 512 + 1024 + 512 * 1024 + 1024 + 2048 + 1024 * 27648 + 27648
    assert got[-1] == big, (
        f"Generator() with the defaults (z_dim 16, out_shape (3, 96, 96), hidden_dims (256, 512, 1024)) should have "
        f"{big:,} parameters, got {got[-1]:,}")
    ref = reference.eval(probe)
    assert ref[-1] == big and ref[GEN_META]["meta"] == ["ok", ["meta"]], "grader setup: the reference"


def _gen_case(grading_seed: int):
    rng = _rng(grading_seed, 1)
    z, shape, hidden = 5, (2, 3), (6, 4)
    widths = [z, *hidden, 6]
    params, running = [], []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        params += [_round(rng.normal(0, 0.6, (b, a))), _round(rng.normal(0, 0.3, b))]
        if i < len(hidden):
            params += [_round(1 + rng.normal(0, 0.2, b)), _round(rng.normal(0, 0.3, b))]
            running.append((_round(rng.normal(0, 0.5, b)), _round(rng.uniform(0.5, 2.0, b))))
    noise = _round(rng.normal(size=(7, z)))
    return z, shape, hidden, params, running, noise


def _gen_oracle(params, running, noise, shape, n_hidden, training):
    t = [torch.tensor(p, dtype=F64) for p in params]
    h = torch.tensor(noise, dtype=F64)
    for i in range(n_hidden):
        w, b, gamma, beta = t[4 * i:4 * i + 4]
        mean, var = (torch.tensor(v, dtype=F64) for v in running[i])
        h = F.relu(F.batch_norm(F.linear(h, w, b), mean, var, gamma, beta, training=training, eps=1e-5))
    h = torch.sigmoid(F.linear(h, t[-2], t[-1]))
    return h.reshape(len(h), *shape).numpy()


@pytest.mark.points(2)
def test_generator_forward(student, reference, grading_seed):
    """Generator.forward: Linear -> BatchNorm1d -> ReLU blocks, Linear, sigmoid, reshape; in training and eval mode"""
    z, shape, hidden, params, running, noise = _gen_case(grading_seed)
    running_src = repr([[a.tolist(), b.tolist()] for a, b in running])
    probe = f"""
_out = {{}}
for _mode in ("train", "eval"):
    _g = Generator({z}, {shape!r}, {hidden!r}).double()
{_indent(_set_layers_src("_g", [(params[0], params[1]), (params[4], params[5]), (params[8], params[9])],
                           [(params[2], params[3]), (params[6], params[7])]))}    with torch.no_grad():
        for _bn, (_mean, _var) in zip([_m for _m in _g.modules() if isinstance(_m, nn.BatchNorm1d)], {running_src}):
            _bn.running_mean.copy_(torch.tensor(_mean, dtype=torch.float64))
            _bn.running_var.copy_(torch.tensor(_var, dtype=torch.float64))
    _g.train(_mode == "train")
    _out[_mode] = _g({_lit(noise)}).detach()
_out
"""
    got = student.eval(probe)
    call = (f"Generator({z}, {shape}, {hidden}) with weights and batch-norm statistics set by the grader, on 7 noise "
            "vectors, {mode}: Linear -> BatchNorm1d -> ReLU, Linear -> BatchNorm1d -> ReLU, Linear -> sigmoid, "
            f"reshaped to (7, *{shape})")
    assert_close(got["train"], _gen_oracle(params, running, noise, shape, 2, True),
                 call.format(mode="in training mode (batch statistics)"), rtol=1e-6, atol=1e-9)
    assert_close(got["eval"], _gen_oracle(params, running, noise, shape, 2, False),
                 call.format(mode="in eval mode (running statistics)"), rtol=1e-6, atol=1e-9)
    ref = reference.eval(probe)
    assert_close(ref["eval"], _gen_oracle(params, running, noise, shape, 2, False), "grader setup", rtol=1e-6, atol=1e-9)


DISC_CONFIGS = [((3, 8, 8), (64, 32)), ((2,), (7,)), ((1, 4, 6), (5, 6, 4))]
DISC_META = _meta_config(DISC_CONFIGS)


def _disc_oracle(params, x, n_hidden):
    t = [torch.tensor(p, dtype=F64) for p in params]
    h = torch.tensor(x, dtype=F64).flatten(1)
    for i in range(n_hidden):
        h = F.leaky_relu(F.linear(h, t[2 * i], t[2 * i + 1]), 0.2)
    return F.linear(h, t[-2], t[-1]).numpy()


@pytest.mark.points(2)
def test_discriminator(student, reference, grading_seed):
    """Discriminator: flatten, Linear -> LeakyReLU(0.2) blocks, Linear(..., 1): logits (batch, 1), no sigmoid"""
    rng = _rng(grading_seed, 2)
    in_shape, hidden = (2, 3), (5, 4)
    widths = [6, *hidden, 1]
    params = []
    for a, b in zip(widths, widths[1:]):
        params += [_round(rng.normal(0, 0.8, (b, a))), _round(rng.normal(0, 0.4, b))]
    x = _round(rng.normal(size=(5, *in_shape)))
    probe = f"""
{on_meta_device("Discriminator")}
_out = []
for _i, (_shape, _hidden) in enumerate({DISC_CONFIGS!r}):
    _d = Discriminator(_shape, _hidden)
{_indent(_leaf_layers_src("_d"))}    _out.append({{"layers": _layers, "shape": list(_d(torch.randn(3, *_shape)).shape),
                 "meta": None if _i != {DISC_META} else
                     _meta_try(lambda: _Discriminator(_shape, _hidden).to("meta")(torch.empty(3, *_shape, device="meta")))}})
_d = Discriminator({in_shape!r}, {hidden!r}).double()
{_set_layers_src("_d", [(params[i], params[i + 1]) for i in range(0, len(params), 2)])}_out.append(_d({_lit(x)}).detach())
_out
"""
    got = student.eval(probe)
    for index, ((shape, hid), answer) in enumerate(zip(DISC_CONFIGS, got)):
        call = f"Discriminator(in_shape={shape}, hidden_dims={hid})"
        widths_c = [math.prod(shape), *hid]
        want = [["Linear", a, b] for a, b in zip(widths_c, widths_c[1:])] + [["Linear", widths_c[-1], 1]]
        linear = _kinds(answer["layers"], "Linear")
        assert linear == want, (
            f"{call}: expected the linear layers {[tuple(x[1:]) for x in want]} (the input flattened to "
            f"{math.prod(shape)} numbers, one block per hidden width, then one logit), got {[tuple(x[1:]) for x in linear]}")
        norms = _kinds(answer["layers"], "BatchNorm1d", "BatchNorm2d", "Sigmoid", "Dropout")
        assert not norms, f"{call}: the discriminator has no batch norm and no sigmoid (it returns logits), found {norms}"
        slopes = [x[1] for x in _kinds(answer["layers"], "LeakyReLU")]
        assert all(abs(s - 0.2) < 1e-12 for s in slopes), f"{call}: LeakyReLU(0.2) expected, got negative slopes {slopes}"
        assert answer["shape"] == [3, 1], f"{call} on 3 samples: expected logits (3, 1), got {tuple(answer['shape'])}"
        if index == DISC_META:  # (see _meta_config)
            assert_on_meta(answer["meta"], f"{call}.to(device) on 3 samples on that device",
                           "keep every layer in a registered submodule (nn.Sequential, nn.ModuleList or an attribute), so that "
                           ".to(device) moves it, and make no tensor in forward without device=x.device")
    assert_close(got[-1], _disc_oracle(params, x, 2),
                 f"Discriminator({in_shape}, {hidden}) with weights set by the grader on 5 samples: flatten, Linear -> "
                 "LeakyReLU(0.2), Linear -> LeakyReLU(0.2), Linear: the logits (no sigmoid)", rtol=1e-6, atol=1e-9)
    ref = reference.eval(probe)
    assert_close(ref[-1], _disc_oracle(params, x, 2), "grader setup", rtol=1e-6, atol=1e-9)
    assert ref[DISC_META]["meta"] == ["ok", ["meta"]], "grader setup: the reference on the meta device"


# --------------------------------------------------------------------------- 2. BCE and V
@pytest.mark.points(2)
def test_bce(student, reference, grading_seed):
    """bce: the mean binary cross-entropy, as F.binary_cross_entropy, with its gradient"""
    rng = _rng(grading_seed, 3)
    cases = []
    for shape, soft in (((7,), False), ((3, 4), False), ((5, 1), False), ((6,), True), ((1,), False)):
        p = _round(rng.uniform(0.02, 0.98, shape), 4)
        y = _round(rng.uniform(0, 1, shape), 3) if soft else rng.integers(0, 2, shape).astype(float)
        cases.append((p, y))
    probe = f"""
_out = []
for _p, _y in {[(p.tolist(), y.tolist()) for p, y in cases]!r}:
    _p = torch.tensor(_p, dtype=torch.float64, requires_grad=True)
    _l = bce(_p, torch.tensor(_y, dtype=torch.float64))
    _l.backward()
    _out.append({{"dim": _l.dim(), "value": float(_l), "grad": _p.grad}})
_p32 = torch.tensor({cases[0][0].tolist()!r})
_out.append(float(bce(_p32, torch.tensor({cases[0][1].tolist()!r}))))
_out
"""
    got = student.eval(probe)
    for (p, y), answer in zip(cases, got):
        pt = torch.tensor(p, dtype=F64, requires_grad=True)
        want = F.binary_cross_entropy(pt, torch.tensor(y, dtype=F64))
        want.backward()
        call = f"bce(y_hat, y) for y_hat of shape {p.shape} and {'soft ' if (y % 1).any() else ''}labels y"
        assert answer["dim"] == 0, f"{call}: expected a 0-dim tensor (one number, the mean), got {answer['dim']} dimensions"
        assert_close(answer["value"], float(want), f"{call}, compared with F.binary_cross_entropy (the mean over all "
                     "entries of -(y log y_hat + (1 - y) log(1 - y_hat)))", rtol=1e-9, atol=1e-12)
        assert_close(answer["grad"], pt.grad.numpy(), f"{call}: the gradient with respect to y_hat (bce must be built "
                     "from tensor operations, not .item() or NumPy)", rtol=1e-7, atol=1e-12)
    assert_close(got[-1], float(F.binary_cross_entropy(torch.tensor(cases[0][0]), torch.tensor(cases[0][1]))),
                 "bce on float32 tensors", rtol=1e-5, atol=1e-6)
    ref = reference.eval(probe)
    assert_close(ref[0]["value"], float(F.binary_cross_entropy(torch.tensor(cases[0][0]), torch.tensor(cases[0][1]))),
                 "grader setup", rtol=1e-9)


@pytest.mark.points(1)
def test_value_function(student, reference, grading_seed):
    """value_function: mean log D(x) + mean log(1 - D(G(z))); -log 4 at D = 1/2; batches of different sizes"""
    rng = _rng(grading_seed, 4)
    cases = [(np.full((6, 1), 0.5), np.full((6, 1), 0.5))]
    for n_real, n_fake in ((5, 8), (9, 3), (4, 4)):
        cases.append((_round(rng.uniform(0.05, 0.95, (n_real, 1))), _round(rng.uniform(0.05, 0.95, (n_fake, 1)))))
    probe = f"""
[float(value_function(torch.tensor(_r, dtype=torch.float64), torch.tensor(_f, dtype=torch.float64)))
 for _r, _f in {[(r.tolist(), f.tolist()) for r, f in cases]!r}]
"""
    got = student.eval(probe)
    assert_close(got[0], -math.log(4), "value_function(d_real, d_fake) with D = 1/2 for 6 real and 6 fake samples "
                 "(the equilibrium): log(1/2) + log(1/2) = -log 4", rtol=1e-9, atol=1e-12)
    for (r, f), answer in zip(cases[1:], got[1:]):
        want = float(np.log(r).mean() + np.log(1 - f).mean())
        assert_close(answer, want, f"value_function(d_real, d_fake) for {len(r)} real and {len(f)} fake probabilities: "
                     "the mean of log D(x) over the real batch plus the mean of log(1 - D(G(z))) over the fake batch "
                     "(each mean over its own batch)", rtol=1e-9, atol=1e-12)
    assert_close(reference.eval(probe)[0], -math.log(4), "grader setup")


# --------------------------------------------------------------------------- 3. losses
def _loss_models(rng, z: int, width: int = 3):
    gen = [_round(rng.normal(0, 0.7, (width, z))), _round(rng.normal(0, 0.2, width))]
    disc = [_round(rng.normal(0, 0.8, (1, width))), _round(rng.normal(0, 0.3, 1))]
    return gen, disc


_STUB_MODELS = """
class _StubGen(nn.Module):
    def __init__(self, z, width):
        super().__init__()
        self.lin = nn.Linear(z, width)
        self.seen = []
    def forward(self, noise):
        self.seen.append([list(noise.shape), float(noise.mean()), float(noise.std()) if noise.numel() > 1 else 0.0])
        return torch.tanh(self.lin(noise))
class _StubDisc(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.lin = nn.Linear(width, 1)
    def forward(self, x):
        return self.lin(x)
"""


def _oracle_models(z, gen_params, disc_params, width=3):
    gen = nn.Linear(z, width).double()
    disc = nn.Linear(width, 1).double()
    _copy_into(gen, gen_params)
    _copy_into(disc, disc_params)
    return gen, disc


def _oracle_gen_loss(z, n, gen_params, disc_params, seed):
    gen, disc = _oracle_models(z, gen_params, disc_params)
    torch.manual_seed(seed)
    noise = torch.randn(n, z, dtype=F64)
    pred = disc(torch.tanh(gen(noise)))
    loss = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred))
    loss.backward()
    return float(loss), [p.grad.numpy() for p in gen.parameters()], [p.grad.numpy() for p in disc.parameters()]


def _oracle_disc_loss(z, n, real, gen_params, disc_params, seed):
    gen, disc = _oracle_models(z, gen_params, disc_params)
    torch.manual_seed(seed)
    noise = torch.randn(n, z, dtype=F64)
    fake_pred = disc(torch.tanh(gen(noise)))
    real_pred = disc(torch.tensor(real, dtype=F64))
    loss = (F.binary_cross_entropy_with_logits(real_pred, torch.ones_like(real_pred))
            + F.binary_cross_entropy_with_logits(fake_pred, torch.zeros_like(fake_pred))) / 2
    loss.backward()
    return float(loss), [p.grad.numpy() for p in gen.parameters()], [p.grad.numpy() for p in disc.parameters()]


def _loss_cases(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    cases = []
    for i, (z, n, m) in enumerate(((3, 6, 4), (5, 11, 11), (2, 1, 3), (4, 8, 5))):
        gen, disc = _loss_models(rng, z)
        real = _round(rng.normal(0, 1, (m, 3)))
        cases.append({"z": z, "n": n, "real": real, "gen": gen, "disc": disc, "seed": 100 * k + i})
    return cases


def _loss_probe(cases, call: str, meta: str | None = None) -> str:
    """Probe: `call` on each case; with `meta` (the name of the loss), one more entry at the end: the
    loss on networks on the meta device, `call` with `_g`, `_d`, `_real` and the device on meta."""
    body = _STUB_MODELS + (on_meta_device(meta) if meta else "") + "_out = []\n"
    for c in cases:
        body += f"""
_g, _d = _StubGen({c["z"]}, 3), _StubDisc(3)
{_set_params_src("_g", c["gen"])}{_set_params_src("_d", c["disc"])}_real = {_lit(c["real"])}
torch.manual_seed({c["seed"]})
_loss = {call.format(**c)}
_loss.backward()
_out.append({{"value": float(_loss), "dim": _loss.dim(), "seen": _g.seen,
             "gen_grads": [None if _p.grad is None else _p.grad for _p in _g.parameters()],
             "disc_grads": [None if _p.grad is None else _p.grad for _p in _d.parameters()]}})
"""
    if meta:
        c = cases[0]
        meta_call = call.format(**c).replace(meta, "_" + meta, 1).replace('"cpu"', '"meta"')
        body += f"""
_g, _d = nn.Sequential(nn.Linear({c["z"]}, 3), nn.Tanh()).to("meta"), nn.Linear(3, 1).to("meta")
_real = torch.empty({len(c["real"])}, 3, device="meta")
_out.append(_meta_try(lambda: {meta_call}))
"""
    return _float64(body)


def _stub_probe(call: str, bias: float, real_shift: float = 0.0) -> str:
    """A discriminator that looks only at the first coordinate: logit 10 * x0 + bias; real
    samples have x0 = real_shift + noise, fakes x0 in (-1, 1)."""
    return _float64(_STUB_MODELS + f"""
_out = []
for _n, _m in ((5, 5), (9, 4)):
    _g, _d = _StubGen(3, 3), _StubDisc(3)
    with torch.no_grad():
        _d.lin.weight.copy_(torch.tensor([[{10.0 if real_shift else 0.0}, 0.0, 0.0]]))
        _d.lin.bias.fill_({bias})
    _real = torch.zeros(_m, 3)
    _real[:, 0] = {real_shift}
    torch.manual_seed(_n)
    _out.append(float({call}))
""")


@pytest.mark.points(3)
def test_gen_loss(student, reference, grading_seed):
    """gen_loss: BCE-with-logits of D(G(noise)) against ones; ln 2 for an undecided discriminator; seeded values"""
    cases = _loss_cases(grading_seed, 5)
    got = student.eval(_loss_probe(cases, 'gen_loss(_g, _d, {n}, {z}, "cpu")', meta="gen_loss"))
    got, meta = got[:-1], got[-1]
    for c, answer in zip(cases, got):
        call = (f"gen_loss(gen, disc, num_images={c['n']}, z_dim={c['z']}, 'cpu') with a one-layer generator and "
                "discriminator set by the grader, torch seeded just before")
        assert answer["seen"] and answer["seen"][0][0] == [c["n"], c["z"]], (
            f"{call}: the generator should receive one batch of noise of shape ({c['n']}, {c['z']}) = (num_images, "
            f"z_dim), got the shapes {[s[0] for s in answer['seen']]}")
        assert len(answer["seen"]) == 1, f"{call}: the generator should be called once, it was called {len(answer['seen'])} times"
        assert answer["dim"] == 0, f"{call}: the loss should be a 0-dim tensor"
        want, _, _ = _oracle_gen_loss(c["z"], c["n"], c["gen"], c["disc"], c["seed"])
        assert_close(answer["value"], want, f"{call}: noise = torch.randn(num_images, z_dim), fake = gen(noise), "
                     "loss = BCEWithLogitsLoss()(disc(fake), ones) (the mean over the batch; the logits, not "
                     "probabilities, go into BCEWithLogitsLoss)", rtol=1e-9, atol=1e-12)
    stubs = student.eval(_stub_probe('gen_loss(_g, _d, _n, 3, "cpu")', 0.0) + "\n")
    assert_close(stubs, [LN2, LN2], "gen_loss with a discriminator whose logits are all 0 (probability 1/2 for every "
                 "sample), 5 and 9 fakes: BCE against ones is ln 2 = 0.6931", rtol=1e-9, atol=1e-12)
    fooled = student.eval(_stub_probe("gen_loss(_g, _d, _n, 3)", 25.0))
    caught = student.eval(_stub_probe("gen_loss(_g, _d, _n, 3)", -25.0))
    assert max(fooled) < 1e-8, (f"gen_loss with a discriminator that calls every fake real (logit +25), device left at "
                                f"its default: the generator has won, its loss should be about 0, got {fooled}. Are the "
                                "labels ones (the non-saturating loss)?")
    assert_close(caught, [25.0, 25.0], "gen_loss with a discriminator that calls every fake fake (logit -25): BCE of "
                 "logit -25 against the label 1 is about 25", rtol=1e-6, atol=1e-6)
    c = cases[0]
    assert_on_meta(meta, f"gen_loss(gen, disc, {c['n']}, {c['z']}, device) with both networks on that device",
                   "make every tensor on the device you are given: the noise with torch.randn(num_images, z_dim, "
                   "device=device), the labels with torch.ones_like(logits) (torch.randn(...) or torch.ones(...) alone is "
                   "on the CPU, which fails on a GPU)")
    ref = reference.eval(_loss_probe(cases[:1], 'gen_loss(_g, _d, {n}, {z}, "cpu")', meta="gen_loss"))
    assert_close(ref[0]["value"], _oracle_gen_loss(cases[0]["z"], cases[0]["n"], cases[0]["gen"], cases[0]["disc"],
                                                   cases[0]["seed"])[0], "grader setup", rtol=1e-9)
    assert ref[-1] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref[-1]}"


def _grads_match(got_grads, want_grads) -> bool:
    return len(got_grads) == len(want_grads) and all(g is not None and is_close(g, w, rtol=1e-7, atol=1e-12)
                                                     for g, w in zip(got_grads, want_grads))


def _no_grads(got_grads) -> bool:
    return all(g is None or not np.any(np.asarray(g)) for g in got_grads)


@pytest.mark.points(2)
def test_gen_loss_gradients(student, reference, grading_seed):
    """gen_loss.backward() reaches the generator's parameters (no detach, no no_grad on the fakes)"""
    cases = _loss_cases(grading_seed, 6)[:3]
    got = student.eval(_loss_probe(cases, 'gen_loss(_g, _d, {n}, {z}, "cpu")'))
    for c, answer in zip(cases, got):
        _, gen_grads, disc_grads = _oracle_gen_loss(c["z"], c["n"], c["gen"], c["disc"], c["seed"])
        call = f"gen_loss(gen, disc, {c['n']}, {c['z']}, 'cpu').backward()"
        assert not all(g is None for g in answer["gen_grads"]), (
            f"{call}: the generator's parameters got no gradient at all. The generator learns only through this loss: "
            "the fakes must stay in the graph (no .detach(), no torch.no_grad() around gen(noise))")
        for name, g, w in zip(("weight", "bias"), answer["gen_grads"], gen_grads):
            assert_close(g, w, f"{call}: the gradient of the generator's {name}", rtol=1e-7, atol=1e-12)
        assert _grads_match(answer["disc_grads"], disc_grads) or _no_grads(answer["disc_grads"]), (
            f"{call}: the discriminator's gradients should be those of the same loss (or none, if you froze it), got "
            f"{answer['disc_grads']}")
    ref = reference.eval(_loss_probe(cases[:1], 'gen_loss(_g, _d, {n}, {z}, "cpu")'))
    assert_close(ref[0]["gen_grads"][0], _oracle_gen_loss(cases[0]["z"], cases[0]["n"], cases[0]["gen"], cases[0]["disc"],
                                                          cases[0]["seed"])[1][0], "grader setup", rtol=1e-7)


@pytest.mark.points(3)
def test_disc_loss(student, reference, grading_seed):
    """disc_loss: the average of real-vs-ones and fake-vs-zeros BCE; ln 2 undecided, about 0 for a perfect discriminator"""
    cases = _loss_cases(grading_seed, 7)
    got = student.eval(_loss_probe(cases, 'disc_loss(_g, _d, _real, {n}, {z}, "cpu")', meta="disc_loss"))
    got, meta = got[:-1], got[-1]
    for c, answer in zip(cases, got):
        call = (f"disc_loss(gen, disc, real, num_images={c['n']}, z_dim={c['z']}, 'cpu') with {len(c['real'])} real "
                "samples and a one-layer generator and discriminator set by the grader, torch seeded just before")
        assert answer["seen"] and answer["seen"][0][0] == [c["n"], c["z"]], (
            f"{call}: the generator should receive one batch of noise of shape ({c['n']}, {c['z']}) = (num_images, "
            f"z_dim), got the shapes {[s[0] for s in answer['seen']]}")
        assert len(answer["seen"]) == 1, f"{call}: the generator should be called once, it was called {len(answer['seen'])} times"
        want, _, _ = _oracle_disc_loss(c["z"], c["n"], c["real"], c["gen"], c["disc"], c["seed"])
        assert_close(answer["value"], want, f"{call}: (BCEWithLogits(disc(real), ones) + BCEWithLogits(disc(fake), "
                     "zeros)) / 2, each BCE the mean over its own batch", rtol=1e-9, atol=1e-12)
    stubs = student.eval(_stub_probe('disc_loss(_g, _d, _real, _n, 3, "cpu")', 0.0))
    assert_close(stubs, [LN2, LN2], "disc_loss with a discriminator whose logits are all 0: both halves are ln 2, and so "
                 "is their average", rtol=1e-9, atol=1e-12)
    perfect = student.eval(_stub_probe("disc_loss(_g, _d, _real, _n, 3)", -20.0, real_shift=5.0))
    assert max(perfect) < 1e-4, (
        f"disc_loss (device left at its default) with a discriminator that separates perfectly: logit 10 * x0 - 20, "
        f"which is +30 for the real samples (x0 = 5) and below -10 for the fakes (x0 in (-1, 1)); the loss should be "
        f"about 0, got {perfect}. Are the labels swapped (real samples need ones, fakes zeros)?")
    c = cases[0]
    assert_on_meta(meta, f"disc_loss(gen, disc, real, {c['n']}, {c['z']}, device) with both networks and {len(c['real'])} "
                   "real samples on that device",
                   "make every tensor on the device you are given: the noise with torch.randn(num_images, z_dim, "
                   "device=device), the labels with torch.ones_like / torch.zeros_like(logits) (torch.randn(...) or "
                   "torch.zeros(...) alone is on the CPU, which fails on a GPU)")
    ref = reference.eval(_loss_probe(cases[:1], 'disc_loss(_g, _d, _real, {n}, {z}, "cpu")', meta="disc_loss"))
    assert_close(ref[0]["value"], _oracle_disc_loss(c["z"], c["n"], c["real"], c["gen"], c["disc"], c["seed"])[0],
                 "grader setup", rtol=1e-9)
    assert ref[-1] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref[-1]}"


@pytest.mark.points(2)
def test_disc_loss_gradients(student, reference, grading_seed):
    """disc_loss.backward() gives the discriminator its gradients; the generator gets none (detached) or the course's"""
    cases = _loss_cases(grading_seed, 8)[:3]
    got = student.eval(_loss_probe(cases, 'disc_loss(_g, _d, _real, {n}, {z}, "cpu")'))
    for c, answer in zip(cases, got):
        _, gen_grads, disc_grads = _oracle_disc_loss(c["z"], c["n"], c["real"], c["gen"], c["disc"], c["seed"])
        call = f"disc_loss(gen, disc, real, {c['n']}, {c['z']}, 'cpu').backward() with {len(c['real'])} real samples"
        assert not all(g is None for g in answer["disc_grads"]), f"{call}: the discriminator's parameters got no gradient"
        for name, g, w in zip(("weight", "bias"), answer["disc_grads"], disc_grads):
            assert_close(g, w, f"{call}: the gradient of the discriminator's {name}", rtol=1e-7, atol=1e-12)
        assert _no_grads(answer["gen_grads"]) or _grads_match(answer["gen_grads"], gen_grads), (
            f"{call}: the generator should get no gradient (fakes detached) or the gradient of this same loss (the "
            f"course's version), got {answer['gen_grads']}")
    ref = reference.eval(_loss_probe(cases[:1], 'disc_loss(_g, _d, _real, {n}, {z}, "cpu")'))
    assert _no_grads(ref[0]["gen_grads"]), "grader setup: the reference detaches the fakes"


# --------------------------------------------------------------------------- 4. steps and loop
STEP_FAKES = '''import torch
import torch.nn.functional as _F
_spy = []
def _fake_disc_loss(gen, disc, real, num_images, z_dim, device="cpu"):
    _spy.append(["disc_loss", int(num_images), int(z_dim), str(device), list(real.shape)])
    _noise = torch.randn((num_images, z_dim), device=device)
    return (disc(real) ** 2).mean() + _F.softplus(disc(gen(_noise))).mean()
def _fake_gen_loss(gen, disc, num_images, z_dim, device="cpu"):
    _spy.append(["gen_loss", int(num_images), int(z_dim), str(device)])
    _noise = torch.randn((num_images, z_dim), device=device)
    return ((disc(gen(_noise)) - 1) ** 2).mean()
'''
STEP_SETTINGS = [("adam", 0.01), ("sgd", 0.1)]


def _step_models():
    gen = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 4), nn.Sigmoid()).double()
    disc = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.2), nn.Linear(6, 1)).double()
    return gen, disc


_STEP_MODELS_SRC = """_G = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 4), nn.Sigmoid())
_D = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.2), nn.Linear(6, 1))
"""


def _step_case(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    gen_params = [_round(rng.normal(0, 0.6, (5, 3))), _round(rng.normal(0, 0.2, 5)), _round(1 + rng.normal(0, 0.1, 5)),
                  _round(rng.normal(0, 0.1, 5)), _round(rng.normal(0, 0.6, (4, 5))), _round(rng.normal(0, 0.2, 4))]
    disc_params = [_round(rng.normal(0, 0.6, (6, 4))), _round(rng.normal(0, 0.2, 6)), _round(rng.normal(0, 0.6, (1, 6))),
                   _round(rng.normal(0, 0.2, 1))]
    reals = [_round(rng.uniform(0, 1, (5, 4))), _round(rng.uniform(0, 1, (3, 4)))]
    return gen_params, disc_params, reals


def _optimizer(kind: str, lr: float, params):
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


def _optimizer_src(kind: str, lr: float, params: str) -> str:
    if kind == "adam":
        return f"torch.optim.Adam({params}, lr={lr}, betas=(0.5, 0.999))"
    return f"torch.optim.SGD({params}, lr={lr}, momentum=0.9)"


def _true_disc_loss(gen, disc, real, n, z):
    noise = torch.randn(n, z, dtype=F64)
    fake_pred, real_pred = disc(gen(noise).detach()), disc(real)
    return (F.binary_cross_entropy_with_logits(real_pred, torch.ones_like(real_pred))
            + F.binary_cross_entropy_with_logits(fake_pred, torch.zeros_like(fake_pred))) / 2


def _true_gen_loss(gen, disc, n, z):
    pred = disc(gen(torch.randn(n, z, dtype=F64)))
    return F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred))


def _fake_disc_loss(gen, disc, real, n, z):
    noise = torch.randn(n, z, dtype=F64)
    return (disc(real) ** 2).mean() + F.softplus(disc(gen(noise))).mean()


def _fake_gen_loss(gen, disc, n, z):
    return ((disc(gen(torch.randn(n, z, dtype=F64))) - 1) ** 2).mean()


@remember  # seeds PyTorch itself before each draw
def _step_oracle(which: str, case, kind: str, lr: float, fake: bool):
    """Parameters of (gen, disc) and the losses after two steps of `which` player."""
    gen_params, disc_params, reals = case
    gen, disc = _step_models()
    _copy_into(gen, gen_params)
    _copy_into(disc, disc_params)
    opt = _optimizer(kind, lr, (disc if which == "disc" else gen).parameters())
    losses = []
    for i, real in enumerate(reals):
        opt.zero_grad()
        torch.manual_seed(700 + i)
        r = torch.tensor(real, dtype=F64)
        if which == "disc":
            loss = (_fake_disc_loss if fake else _true_disc_loss)(gen, disc, r, len(real), 3)
        else:
            loss = (_fake_gen_loss if fake else _true_gen_loss)(gen, disc, len(real), 3)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return ([p.detach().numpy() for p in gen.parameters()], [p.detach().numpy() for p in disc.parameters()], losses)


def _step_probe(which: str, case, kind: str, lr: float) -> str:
    gen_params, disc_params, reals = case
    own = "_D" if which == "disc" else "_G"
    name = "disc_step" if which == "disc" else "gen_step"
    fakes = {"disc_loss": "_fake_disc_loss", "gen_loss": "_fake_gen_loss"}
    calls = ""
    for i, real in enumerate(reals):
        if which == "disc":
            call = f"_disc_step(_G, _D, {_lit(real)}, _opt, 3, 'cpu')"
        else:
            call = f"_gen_step(_G, _D, _opt, {len(real)}, 3, 'cpu')"
        calls += f"""
for _p in list(_G.parameters()) + list(_D.parameters()):
    _p.grad = torch.full_like(_p, 0.37)   # left over from the other player's step
torch.manual_seed({700 + i})
_returned.append({call})
"""
    body = STEP_FAKES + with_fakes(name, fakes) + _STEP_MODELS_SRC + _set_params_src("_G", gen_params) + \
        _set_params_src("_D", disc_params) + f"_opt = {_optimizer_src(kind, lr, own + '.parameters()')}\n_returned = []\n" + \
        calls + """
_out = {"gen": [_p.detach().clone() for _p in _G.parameters()], "disc": [_p.detach().clone() for _p in _D.parameters()],
        "returned": [_r if isinstance(_r, (int, float)) else repr(type(_r)) for _r in _returned], "spy": _spy}
"""
    return _float64(body)


def _check_step(student, reference, which: str, grading_seed: int, k: int):
    case = _step_case(grading_seed, k)
    gen_params, disc_params, reals = case
    own, other = ("disc", "gen") if which == "disc" else ("gen", "disc")
    for kind, lr in STEP_SETTINGS:
        got = student.eval(_step_probe(which, case, kind, lr))
        opt = ("Adam(lr=%s, betas=(0.5, 0.999))" if kind == "adam" else "SGD(lr=%s, momentum=0.9)") % lr
        if which == "disc":
            call = (f"disc_step(gen, disc, real, disc_opt, 3, 'cpu') twice (real batches of 5 and 3 samples), disc_opt = "
                    f"{opt} over the discriminator, every .grad of both networks filled with 0.37 before each call")
        else:
            call = (f"gen_step(gen, disc, gen_opt, num_images, 3, 'cpu') twice (num_images 5 and 3), gen_opt = {opt} over "
                    "the generator, every .grad of both networks filled with 0.37 before each call")
        spied = [s for s in got["spy"] if s[0] == f"{which}_loss"]
        fake = bool(spied)
        exp_gen, exp_disc, exp_losses = _step_oracle(which, case, kind, lr, fake)
        loss_name = "the grader's stand-in loss" if fake else f"the true {which}_loss"
        if fake:
            want_args = [[f"{which}_loss", len(r), 3, "cpu"] + ([[len(r), 4]] if which == "disc" else []) for r in reals]
            assert spied == want_args, (
                f"{call}: {which}_loss should be called once per step with "
                f"{'(gen, disc, real, len(real), z_dim, device)' if which == 'disc' else '(gen, disc, num_images, z_dim, device)'}"
                f"; the calls were {spied}, expected {want_args}")
        before = gen_params if other == "gen" else disc_params
        for i, (g, w) in enumerate(zip(got[other], before)):
            assert_close(g, w, f"{call}: the {'generator' if other == 'gen' else 'discriminator'}'s parameter {i} should not "
                         f"change (only {'disc_opt' if which == 'disc' else 'gen_opt'} steps)", rtol=0, atol=0)
        expected = exp_disc if which == "disc" else exp_gen
        for i, (g, w) in enumerate(zip(got[own], expected)):
            assert_close(g, w, f"{call}: the {'discriminator' if which == 'disc' else 'generator'}'s parameter {i} after "
                         f"the two steps, compared with zero_grad(), loss = {loss_name}, loss.backward(), step() (a "
                         "missing zero_grad() lets the old gradients 0.37 into the step)", rtol=1e-7, atol=1e-10)
        assert_close(got["returned"], exp_losses, f"{call}: the values returned (loss.item() of each step, Python floats)",
                     rtol=1e-9, atol=1e-12)
    ref = reference.eval(_step_probe(which, case, *STEP_SETTINGS[0]))
    assert_close(ref["returned"], _step_oracle(which, case, *STEP_SETTINGS[0], True)[2], "grader setup", rtol=1e-9)


@pytest.mark.points(3)
def test_disc_step(student, reference, grading_seed):
    """disc_step: zero_grad, disc_loss on len(real) fakes, backward, step of disc_opt only; the generator is unchanged"""
    _check_step(student, reference, "disc", grading_seed, 9)


@pytest.mark.points(3)
def test_gen_step(student, reference, grading_seed):
    """gen_step: zero_grad, gen_loss, backward, step of gen_opt only; the discriminator is unchanged"""
    _check_step(student, reference, "gen", grading_seed, 10)


LOOP_FAKES = '''import torch
_log = []
def _spy_disc_step(gen, disc, real, disc_opt, z_dim, device="cpu"):
    _log.append(["D", list(real.shape), round(float(real.sum()), 6), int(z_dim), str(device),
                 disc_opt.param_groups[0]["lr"], gen.tag, disc.tag])
    return 1000.0 + len(_log)
def _spy_gen_step(gen, disc, gen_opt, num_images, z_dim, device="cpu"):
    _log.append(["G", int(num_images), int(z_dim), str(device), gen_opt.param_groups[0]["lr"], gen.tag, disc.tag])
    return 2000.0 + len(_log)
'''


@pytest.mark.points(3)
def test_train_gan(student, reference, grading_seed):
    """train_gan: per epoch and batch one discriminator step then one generator step; the history of both losses"""
    rng = _rng(grading_seed, 11)
    cases = []
    for n, batch, epochs, z in ((10, 4, 2, 3), (7, 7, 3, 5), (9, 2, 1, 2)):
        cases.append((_round(rng.uniform(0, 1, (n, 2)), 3), batch, epochs, z))
    body = LOOP_FAKES + with_fakes("train_gan", {"disc_step": "_spy_disc_step", "gen_step": "_spy_gen_step"}) + """
class _Tagged(nn.Module):
    def __init__(self, tag):
        super().__init__()
        self.tag = tag
        self.lin = nn.Linear(2, 2)
_out = []
"""
    for data, batch, epochs, z in cases:
        body += f"""
_log.clear()
_loader = DataLoader({_lit(data)}.float(), batch_size={batch}, shuffle=False)
_gen, _disc = _Tagged("G"), _Tagged("D")
_h = _train_gan(_gen, _disc, _loader, {epochs}, {z}, torch.optim.SGD(_gen.parameters(), lr=0.25),
                torch.optim.SGD(_disc.parameters(), lr=0.75), "cpu")
_out.append({{"log": list(_log), "history": {{_k: list(_v) for _k, _v in _h.items()}} if isinstance(_h, dict) else repr(_h)}})
"""
    # On the meta device: your train_gan, disc_step and gen_step with the grader's stand-in losses, both
    # networks on meta, a loader of CPU batches. The first .item() ends the run ("unsupported"); a batch that
    # reaches the discriminator on the CPU is a device error first.
    body += STEP_FAKES + on_meta_device() + with_fakes("disc_step", {"disc_loss": "_fake_disc_loss"},
                                                      "_meta_disc_step") + \
        with_fakes("gen_step", {"gen_loss": "_fake_gen_loss"}, "_meta_gen_step") + \
        with_fakes("train_gan", {"disc_step": "_meta_disc_step", "gen_step": "_meta_gen_step"},
                   "_meta_train_gan") + """
_mg, _md = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid()).to("meta"), nn.Linear(2, 1).to("meta")
_out.append(_meta_try(lambda: _meta_train_gan(_mg, _md, DataLoader(torch.rand(6, 2), batch_size=4), 1, 3,
                                              torch.optim.SGD(_mg.parameters(), lr=0.1),
                                              torch.optim.SGD(_md.parameters(), lr=0.1), "meta")))
"""
    probe = body + "_out\n"
    got = student.eval(probe)
    got, meta = got[:-1], got[-1]
    for (data, batch, epochs, z), answer in zip(cases, got):
        call = (f"train_gan(gen, disc, loader, num_epochs={epochs}, z_dim={z}, gen_opt (lr 0.25), disc_opt (lr 0.75), "
                f"'cpu') with a loader of {len(data)} samples in batches of {batch}, disc_step and gen_step replaced by "
                "spies")
        want_log, want_d, want_g = [], [], []
        for _ in range(epochs):
            for s in range(0, len(data), batch):
                real = data[s:s + batch]
                want_log.append(["D", list(real.shape), round(float(np.float32(real).sum(dtype=np.float32)), 6), z,
                                 "cpu", 0.75, "G", "D"])
                want_d.append(1000.0 + len(want_log))
                want_log.append(["G", len(real), z, "cpu", 0.25, "G", "D"])
                want_g.append(2000.0 + len(want_log))
        log = answer["log"]
        assert log, f"{call}: train_gan should call disc_step and gen_step (it called neither)"
        order = "".join(entry[0] for entry in log)
        want_order = "".join(entry[0] for entry in want_log)
        assert order == want_order, (
            f"{call}: expected the steps {want_order} (one D step, then one G step, for each of the "
            f"{len(want_order) // 2} batches over all epochs), got {order}")
        for i, (entry, want) in enumerate(zip(log, want_log)):
            if entry[0] == "D":
                assert entry[1] == want[1] and abs(entry[2] - want[2]) < 1e-4, (
                    f"{call}: D step {i // 2} should get the real batch of shape {tuple(want[1])} (sum {want[2]:.4f}), "
                    f"got shape {tuple(entry[1])} (sum {entry[2]:.4f}): the batches of the loader, in order")
                assert entry[3:] == want[3:], (
                    f"{call}: disc_step {i // 2} should get (gen, disc, real, disc_opt, z_dim={z}, device='cpu'); got "
                    f"z_dim, device, the optimiser's lr and the networks {entry[3:]}, expected {want[3:]}")
            else:
                assert entry[1:] == want[1:], (
                    f"{call}: gen_step {i // 2} should get (gen, disc, gen_opt, num_images=len(real) = {want[1]}, z_dim="
                    f"{z}, device='cpu'); got num_images, z_dim, device, the optimiser's lr and the networks {entry[1:]}, "
                    f"expected {want[1:]}")
        assert_close(answer["history"], {"disc": want_d, "gen": want_g},
                     f"{call}: the history {{'disc': [the values disc_step returned], 'gen': [the values gen_step "
                     "returned]}}, in order", rtol=0, atol=1e-9)
    assert_on_meta(meta, "train_gan(gen, disc, loader, 1, 3, gen_opt, disc_opt, device) with both networks on that device, "
                   "a DataLoader of real batches on the CPU (as the notebook's), your disc_step and gen_step with the "
                   "grader's stand-in losses",
                   "move every real batch to the device before the discriminator sees it: real = real.to(device)")
    ref = reference.eval(probe)
    assert len(ref[0]["log"]) == 2 * 2 * 3
    assert ref[-1][0] == "unsupported" and "item()" in ref[-1][1], f"grader setup: the reference on the meta device, {ref[-1]}"


@remember
def _toy_hidden_data(seed: int, n: int) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, 2, (n,), generator=g).float()[:, None]
    centres = k * torch.tensor([0.8, 0.3]) + (1 - k) * torch.tensor([0.55, 0.75])
    return (centres + 0.05 * torch.randn(n, 2, generator=g)).double().numpy()


def _gauss_fd(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real))


@pytest.mark.points(3)
def test_gan_learns(student, reference, grading_seed):
    """The notebook's trained 2-D GAN (toy_gen) makes points distributed like the data (Fréchet distance threshold)"""
    data = _toy_hidden_data(grading_seed % (1 << 31) + 808, 4000)
    probe = f"""
_noise = torch.randn(2000, TOY_Z_DIM, generator=torch.Generator().manual_seed({grading_seed % 100_000}))
_dev = next(toy_gen.parameters()).device
_was = toy_gen.training
toy_gen.eval()
try:
    with torch.no_grad():
        _pts = toy_gen(_noise.to(_dev)).double().cpu()
    try:
        torch.manual_seed(3)
        _fresh = Generator(TOY_Z_DIM, (2,), (64, 64)).eval()
        with torch.no_grad():
            _untrained = _fresh(_noise).double()
    except Exception:
        _untrained = None
finally:
    toy_gen.train(_was)
{{"points": _pts, "untrained": _untrained}}
"""
    got = student.eval(probe)
    points = np.asarray(got["points"], dtype=float)
    assert points.shape == (2000, 2), f"toy_gen on 2000 noise vectors should give points (2000, 2), got {points.shape}"
    fd = _gauss_fd(points, data)
    fd_untrained = float("nan") if got["untrained"] is None else _gauss_fd(np.asarray(got["untrained"], dtype=float), data)
    ref_fd = _gauss_fd(np.asarray(reference.eval(probe)["points"], dtype=float), data)
    assert np.isfinite(fd) and fd < TOY_FD_MAX, (
        f"the notebook's trained toy_gen (eval mode) on 2000 hidden noise vectors: the Fréchet distance between its "
        f"points and 4000 hidden data points is {fd:.4f}; it should be below {TOY_FD_MAX} (an untrained generator: "
        f"{fd_untrained:.4f}; the reference's trained one: {ref_fd:.4f}). The fakes have mean "
        f"{np.round(points.mean(0), 3).tolist()} and std {np.round(points.std(0), 3).tolist()}, the data "
        f"{np.round(data.mean(0), 3).tolist()} and {np.round(data.std(0), 3).tolist()}. Check the losses' labels, "
        "the steps (zero_grad, backward, step of the right optimiser) and the loop")


# --------------------------------------------------------------------------- 5. sampling
@pytest.mark.points(2)
def test_sample_images(student, reference, grading_seed):
    """sample_images: seeded noise, eval mode, no gradients, on the CPU; the generator keeps its mode"""
    rng = _rng(grading_seed, 12)
    z = 4
    params = [_round(rng.normal(0, 0.6, (5, z))), _round(rng.normal(0, 0.2, 5)), _round(1 + rng.normal(0, 0.2, 5)),
              _round(rng.normal(0, 0.2, 5)), _round(rng.normal(0, 0.6, (6, 5))), _round(rng.normal(0, 0.2, 6))]
    mean, var = _round(rng.normal(0, 0.5, 5)), _round(rng.uniform(0.5, 2, 5))
    runs = [(7, "train", "'cpu'"), (3, "eval", None), (1, "train", "torch.device('cpu')")]
    body = on_meta_device("sample_images") + f"""
_g = nn.Sequential(nn.Linear({z}, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 6), nn.Unflatten(1, (2, 3)))
{_set_params_src("_g", params)}with torch.no_grad():
    _g[1].running_mean.copy_({_lit(mean)})
    _g[1].running_var.copy_({_lit(var)})
_out = []
"""
    for i, (n, mode, device) in enumerate(runs):
        args = f"_g, {n}, {z}" + (f", {device}" if device else "")
        body += f"""
_g.train({mode == "train"})
torch.manual_seed({40 + i})
_s = sample_images({args})
_out.append({{"values": _s.detach(), "grad": bool(_s.requires_grad), "device": str(_s.device),
             "mode_after": bool(_g.training), "running_mean": _g[1].running_mean.clone()}})
"""
    body += f"""
_gm = nn.Sequential(nn.Linear({z}, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 6)).to("meta")
_out.append(_meta_try(lambda: _sample_images(_gm, 3, {z}, "meta")))
"""
    got = student.eval(_float64(body))
    got, meta = got[:-1], got[-1]
    net = nn.Sequential(nn.Linear(z, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 6), nn.Unflatten(1, (2, 3))).double()
    _copy_into(net, params)
    with torch.no_grad():
        net[1].running_mean.copy_(torch.tensor(mean, dtype=F64))
        net[1].running_var.copy_(torch.tensor(var, dtype=F64))
    net.eval()
    for i, ((n, mode, device), answer) in enumerate(zip(runs, got)):
        torch.manual_seed(40 + i)
        with torch.no_grad():
            want = net(torch.randn(n, z, dtype=F64)).numpy()
        call = (f"sample_images(gen, {n}, {z}{'' if device is None else ', ' + device}) for a generator with batch norm "
                f"in {mode} mode, torch seeded just before")
        assert answer["device"] == "cpu", f"{call}: the samples should be returned on the CPU, got {answer['device']}"
        assert not answer["grad"], f"{call}: the samples should not require gradients (torch.no_grad())"
        assert_close(answer["values"], want, f"{call}: gen(torch.randn(n, z_dim)) in eval mode (batch norm with its "
                     "running statistics)", rtol=1e-7, atol=1e-10)
        assert answer["mode_after"] == (mode == "train"), (
            f"{call}: afterwards the generator should be back in {mode} mode, it is in "
            f"{'train' if answer['mode_after'] else 'eval'} mode")
        assert_close(answer["running_mean"], mean, f"{call}: sampling should not change the batch-norm running "
                     "statistics (it runs in eval mode)", rtol=0, atol=1e-12)
    assert_on_meta(meta, f"sample_images(gen, 3, {z}, device) for a generator on that device",
                   "draw the noise on the device you are given: torch.randn(n, z_dim, device=device) (torch.randn(...) "
                   "alone makes it on the CPU, which fails on a GPU)", returns_on_cpu=True)
    ref = reference.eval(_float64(body))
    assert not ref[0]["grad"]
    assert ref[-1] == ["ok", ["cpu"]], f"grader setup: the reference on the meta device, {ref[-1]}"


@pytest.mark.points(1)
def test_interpolate_latent(student, reference, grading_seed):
    """interpolate_latent: steps points from z1 to z2 in equal steps, both ends included"""
    rng = _rng(grading_seed, 13)
    cases = [(_round(rng.normal(size=d), 3), _round(rng.normal(size=d), 3), steps) for d, steps in ((16, 8), (3, 2), (5, 7))]
    probe = on_meta_device("interpolate_latent") + f"""
_out = [interpolate_latent(torch.tensor(_a, dtype=torch.float64), torch.tensor(_b, dtype=torch.float64), _s)
        for _a, _b, _s in {[(a.tolist(), b.tolist(), s) for a, b, s in cases]!r}]
_out.append(_meta_try(lambda: _interpolate_latent(torch.empty(6, device="meta"), torch.empty(6, device="meta"), 4)))
_out
"""
    got = student.eval(probe)
    got, meta = got[:-1], got[-1]
    for (a, b, steps), answer in zip(cases, got):
        t = np.linspace(0, 1, steps)[:, None]
        # float32 steps (torch.linspace without dtype=) are as good as float64 ones: the notebook's latents are float32
        assert_close(answer, a[None] + t * (b - a)[None],
                     f"interpolate_latent(z1, z2, {steps}) for vectors of length {len(a)}: the rows z1 + t (z2 - z1) for "
                     f"t = 0, 1/{steps - 1}, ..., 1 (shape ({steps}, {len(a)}), both ends included)", rtol=1e-6, atol=1e-6)
    assert_on_meta(meta, "interpolate_latent(z1, z2, 4) for two latent vectors of length 6 on that device",
                   "make the steps on the latents' device: torch.linspace(0, 1, steps, device=z1.device) "
                   "(torch.linspace(...) alone makes them on the CPU, which fails for latents on a GPU)")
    ref = reference.eval(probe)
    assert_close(ref[1], np.stack([cases[1][0], cases[1][1]]), "grader setup", rtol=1e-9)
    assert ref[-1] == ["ok", ["meta"]], f"grader setup: the reference on the meta device, {ref[-1]}"


# --------------------------------------------------------------------------- 6. Fréchet distance
@pytest.mark.points(1)
def test_feature_stats(student, reference, grading_seed):
    """feature_stats: the mean and the covariance (denominator n - 1) in float64, as np.cov"""
    rng = _rng(grading_seed, 14)
    cases = [_round(rng.normal(0, 1, (n, d)) * rng.uniform(0.5, 3, d) + rng.normal(0, 2, d)) for n, d in ((12, 3), (5, 6), (40, 2))]
    probe = f"""
_out = []
for _x, _dtype in zip({[c.tolist() for c in cases]!r}, (torch.float64, torch.float32, torch.float64)):
    _mu, _sigma = feature_stats(torch.tensor(_x, dtype=_dtype))
    _out.append({{"mu": _mu, "sigma": _sigma, "dtypes": [str(_mu.dtype), str(_sigma.dtype)]}})
_out
"""
    got = student.eval(probe)
    for x, answer, dtype in zip(cases, got, ("float64", "float32", "float64")):
        call = f"feature_stats(features) for {dtype} features of shape {x.shape}"
        assert answer["dtypes"] == ["torch.float64", "torch.float64"], (
            f"{call}: mean and covariance should be float64, got {answer['dtypes']}")
        tol = 1e-9 if dtype == "float64" else 1e-5
        assert_close(answer["mu"], x.mean(0), f"{call}: the mean over the samples (axis 0), shape ({x.shape[1]},)", rtol=tol, atol=tol)
        assert_close(answer["sigma"], np.cov(x, rowvar=False), f"{call}: the covariance ({x.shape[1]}, {x.shape[1]}) of "
                     "the columns with the denominator n - 1, as np.cov(features, rowvar=False)", rtol=tol, atol=tol)
    assert_close(reference.eval(probe)[0]["mu"], cases[0].mean(0), "grader setup", rtol=1e-9)


def _psd_cases(grading_seed: int):
    rng = _rng(grading_seed, 15)
    cases = []
    for d, rank in ((3, 3), (5, 5), (4, 2), (1, 1)):
        b = rng.normal(0, 1, (d, rank))
        cases.append(b @ b.T)
    cases.append(np.diag(_round(rng.uniform(0.1, 4, 3))))
    return cases


def _sqrtm_oracle(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


@pytest.mark.points(1)
def test_sqrtm_psd(student, reference, grading_seed):
    """sqrtm_psd: the symmetric square root of a symmetric positive semi-definite matrix, as scipy.linalg.sqrtm"""
    from scipy import linalg
    cases = _psd_cases(grading_seed)
    probe = f"""
[sqrtm_psd(torch.tensor(_a, dtype=torch.float64)) for _a in {[c.tolist() for c in cases]!r}]
"""
    got = student.eval(probe)
    for a, answer in zip(cases, got):
        d, rank = a.shape[0], np.linalg.matrix_rank(a)
        call = f"sqrtm_psd(A) for a symmetric positive semi-definite {d} x {d} matrix A of rank {rank}"
        answer = np.asarray(answer, dtype=float)
        assert answer.shape == a.shape, f"{call}: expected a {d} x {d} matrix, got shape {answer.shape}"
        want = linalg.sqrtm(a).real if rank == d else _sqrtm_oracle(a)
        assert_close(answer, want, f"{call}, compared with scipy.linalg.sqrtm: V diag(sqrt(max(lambda, 0))) V^T from "
                     "torch.linalg.eigh (the square root of the eigenvalues, not of the entries)", rtol=1e-6, atol=1e-7)
    assert_close(reference.eval(probe)[0], linalg.sqrtm(cases[0]).real, "grader setup", rtol=1e-6, atol=1e-7)


SQRTM_LOOKUP = '''import torch
_roots = []
def _lookup_sqrtm(A):
    for _a, _r in _roots:
        if _a.shape == A.shape and torch.allclose(A.double().cpu(), _a, rtol=1e-9, atol=1e-11):
            return _r.to(A.dtype).to(A.device).clone()
    return torch.full_like(A, float("nan"))
'''


def _fd_oracle(mu1, s1, mu2, s2) -> float:
    from scipy import linalg
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real))


@pytest.mark.points(2)
def test_frechet_distance(student, reference, grading_seed):
    """frechet_distance: 27 for the closed-form example, 0 for itself, symmetric, c^2 |v|^2 for a shift, as scipy"""
    rng = _rng(grading_seed, 16)
    pairs = [(np.array([0.0, 0.0]), np.diag([1.0, 4.0]), np.array([3.0, 4.0]), np.diag([4.0, 1.0]))]
    for d in (3, 5):
        b1, b2 = rng.normal(0, 1, (d, d + 2)), rng.normal(0, 1, (d, d + 2))
        pairs.append((_round(rng.normal(0, 1, d)), b1 @ b1.T / (d + 2), _round(rng.normal(0, 1, d)), b2 @ b2.T / (d + 2)))
    mu, sigma = pairs[1][0], pairs[1][1]
    shift = _round(rng.normal(0, 1, 3))
    pairs += [(mu, sigma, mu, sigma), (pairs[1][2], pairs[1][3], pairs[1][0], pairs[1][1])]
    pairs += [(mu, sigma, mu + c * shift, sigma) for c in (0.5, 1.0, 2.0)]
    # the square roots any correct composition may ask for, computed here (a lookup: no implementation in the probe)
    wanted = []
    for _m1, s1, _m2, s2 in pairs:
        r1, r2 = _sqrtm_oracle(s1), _sqrtm_oracle(s2)
        wanted += [s1, s2, r1 @ s2 @ r1, r2 @ s1 @ r2]
    roots = "".join(f"_roots.append(({_lit(a)}, {_lit(_sqrtm_oracle(a))}))\n" for a in wanted)
    probe = SQRTM_LOOKUP + roots + with_fakes("frechet_distance", {"sqrtm_psd": "_lookup_sqrtm"}) + f"""
_out = []
for _m1, _s1, _m2, _s2 in {[[np.asarray(x).tolist() for x in p] for p in pairs]!r}:
    _out.append(_frechet_distance(*[torch.tensor(_v, dtype=torch.float64) for _v in (_m1, _s1, _m2, _s2)]))
[float(_v) for _v in _out]
"""
    got = student.eval(probe)
    what = ("frechet_distance(mu1, sigma1, mu2, sigma2) = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1^1/2 sigma2 "
            "sigma1^1/2)^1/2), with sqrtm_psd answering from the grader's table of exact square roots")
    assert_close(got[0], 27.0, f"{what}, for mu (0, 0) vs (3, 4), sigma diag(1, 4) vs diag(4, 1): 25 + 1 + 1 = 27",
                 rtol=1e-9, atol=1e-9)
    for (m1, s1, m2, s2), answer in zip(pairs[1:3], got[1:3]):
        assert_close(answer, _fd_oracle(m1, s1, m2, s2), f"{what}, for two random {len(m1)}-dimensional Gaussians, "
                     "compared with scipy.linalg.sqrtm", rtol=1e-7, atol=1e-9)
    assert_close(got[3], 0.0, f"{what}: a Gaussian ({len(mu)}-dimensional) compared with itself", rtol=0, atol=1e-8)
    assert_close(got[4], got[1], f"{what}: swapping the two Gaussians should not change the distance (symmetric)",
                 rtol=1e-7, atol=1e-9)
    for c, answer in zip((0.5, 1.0, 2.0), got[5:]):
        assert_close(answer, c * c * float(shift @ shift), f"{what}: the same covariance, the mean shifted by {c} v, "
                     f"|v|^2 = {float(shift @ shift):.4f}: the distance is c^2 |v|^2", rtol=1e-7, atol=1e-8)
    assert_close(reference.eval(probe)[0], 27.0, "grader setup", rtol=1e-9)


FEATURE_NET_SRC = """
class _HiddenFeatures(nn.Module):
    def __init__(self, w1, b1, w2, b2):
        super().__init__()
        self.num_features = len(b2)
        self.conv1 = nn.Conv2d(w1.shape[1], w1.shape[0], 3, stride=2, padding=1).double()
        self.conv2 = nn.Conv2d(w2.shape[1], w2.shape[0], 3, stride=2, padding=1).double()
        with torch.no_grad():
            for _conv, _w, _b in ((self.conv1, w1, b1), (self.conv2, w2, b2)):
                _conv.weight.copy_(_w)
                _conv.bias.copy_(_b)
    def forward(self, images):
        _x = torch.relu(self.conv1(images.double() / 255.0))
        return torch.relu(self.conv2(_x)).mean(dim=(2, 3))
"""


def _feature_net(params):
    scope: dict = {"nn": nn, "torch": torch}
    exec(FEATURE_NET_SRC, scope)
    return scope["_HiddenFeatures"](*[torch.tensor(p, dtype=F64) for p in params])


def _fid_case(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    params = [_round(rng.normal(0, 0.5, (6, 3, 3, 3))), _round(rng.normal(0, 0.1, 6)),
              _round(rng.normal(0, 0.4, (5, 6, 3, 3))), _round(rng.normal(0, 0.1, 5))]
    real = rng.integers(0, 256, (24, 3, 8, 8)).astype(np.uint8)
    fake = np.clip(rng.integers(0, 256, (20, 3, 8, 8)) * 0.7 + 40, 0, 255).astype(np.uint8)
    return params, real, fake


def _uint8_src(a: np.ndarray) -> str:
    return f"torch.tensor({a.tolist()!r}, dtype=torch.uint8)"


@remember
def _torchmetrics_fid(params, real: np.ndarray, fake: np.ndarray) -> float:
    from torchmetrics.image.fid import FrechetInceptionDistance
    metric = FrechetInceptionDistance(feature=_feature_net(params))
    metric.update(torch.tensor(real), real=True)
    metric.update(torch.tensor(fake), real=False)
    return float(metric.compute())


@pytest.mark.points(2)
def test_fid_score(student, reference, grading_seed):
    """fid_score: features of both sets from the network (uint8 as they are, no gradients), feature_stats, frechet_distance"""
    params, real, fake = _fid_case(grading_seed, 17)
    net = _feature_net(params)
    with torch.no_grad():
        f_real, f_fake = net(torch.tensor(real)).numpy(), net(torch.tensor(fake)).numpy()
    true_fd = _torchmetrics_fid(params, real, fake)
    lookup = f"""import torch
_calls = []
_table = [({_lit(f_real)}, "real"), ({_lit(f_fake)}, "fake")]
def _lookup_stats(features):
    for _f, _name in _table:
        if tuple(features.shape) == tuple(_f.shape) and torch.allclose(features.double().cpu(), _f, rtol=1e-6, atol=1e-9):
            _calls.append(["stats", _name, bool(features.requires_grad)])
            return torch.full((_f.shape[1],), 1.0 if _name == "real" else 2.0, dtype=torch.float64), \\
                torch.eye(_f.shape[1], dtype=torch.float64) * (3.0 if _name == "real" else 5.0)
    _calls.append(["stats", "unknown features " + str(tuple(features.shape)), bool(features.requires_grad)])
    return torch.zeros(features.shape[1], dtype=torch.float64), torch.zeros(features.shape[1], features.shape[1], dtype=torch.float64)
def _spy_frechet(mu1, sigma1, mu2, sigma2):
    _calls.append(["frechet", [float(mu1.double().mean()), float(sigma1.double().trace()), float(mu2.double().mean()),
                               float(sigma2.double().trace())]])
    return 123.0
"""
    probe = FEATURE_NET_SRC + lookup + with_fakes("fid_score", {"feature_stats": "_lookup_stats",
                                                               "frechet_distance": "_spy_frechet"}) + f"""
_net = _HiddenFeatures(*[{", ".join(_lit(p) for p in params)}])
_net.requires_grad_(True)
_value = _fid_score({_uint8_src(real)}, {_uint8_src(fake)}, _net)
{{"value": float(_value), "calls": _calls}}
"""
    got = student.eval(probe)
    call = ("fid_score(real_images, fake_images, feature_net) for 24 real and 20 fake uint8 pictures 3 x 8 x 8 and a "
            "small feature network of the grader's (5 features)")
    if got["calls"]:
        stats_calls = [c for c in got["calls"] if c[0] == "stats"]
        names = sorted(c[1] for c in stats_calls)
        assert names == ["fake", "real"], (
            f"{call}: feature_stats should be called once with the real pictures' features and once with the fakes' "
            f"(feature_net(images) on the uint8 pictures as they are), got the calls {stats_calls}")
        assert not any(c[2] for c in stats_calls), (
            f"{call}: the features carry gradients: compute them under torch.no_grad() (the feature network is fixed)")
        d = f_real.shape[1]
        fd_calls = [c[1] for c in got["calls"] if c[0] == "frechet"]
        assert fd_calls in ([[1.0, 3.0 * d, 2.0, 5.0 * d]], [[2.0, 5.0 * d, 1.0, 3.0 * d]]), (
            f"{call}, with feature_stats and frechet_distance replaced by the grader's stand-ins: frechet_distance should "
            f"be called once with the two means and covariances feature_stats returned, got {fd_calls}")
        assert_close(got["value"], 123.0, f"{call}: the value frechet_distance returned", rtol=0, atol=1e-9)
    else:
        assert_close(got["value"], true_fd, f"{call}, compared with torchmetrics' FrechetInceptionDistance with the same "
                     "network", rtol=1e-6, atol=1e-8)
    assert reference.eval(probe)["value"] == 123.0


@pytest.mark.points(2)
def test_fid_matches_torchmetrics(student, reference, grading_seed):
    """The whole FID chain equals torchmetrics' FrechetInceptionDistance(feature=<module>); 0 for identical sets; grows with a shift"""
    params, real, fake = _fid_case(grading_seed, 18)
    shifted = [np.clip(real.astype(int) + s, 0, 255).astype(np.uint8) for s in (20, 60)]
    sets = [(real, fake), (fake, real), (real, real)] + [(real, s) for s in shifted]
    probe = FEATURE_NET_SRC + f"""
_net = _HiddenFeatures(*[{", ".join(_lit(p) for p in params)}])
_real = {_uint8_src(real)}
_fake = {_uint8_src(fake)}
_shifted = [{", ".join(_uint8_src(s) for s in shifted)}]
_pairs = [(_real, _fake), (_fake, _real), (_real, _real)] + [(_real, _s) for _s in _shifted]
[float(fid_score(_a, _b, _net)) for _a, _b in _pairs]
"""
    got = student.eval(probe)
    want = [_torchmetrics_fid(params, a, b) for a, b in sets]
    call = ("fid_score(real, fake, feature_net) with your feature_stats and frechet_distance, uint8 pictures 3 x 8 x 8 "
            "and a small feature network of the grader's, compared with torchmetrics' FrechetInceptionDistance("
            "feature=feature_net)")
    assert_close(got[0], want[0], f"{call}: 24 real vs 20 fake pictures", rtol=1e-6, atol=1e-8)
    assert_close(got[1], got[0], f"{call}: swapping the two sets should give the same distance", rtol=1e-7, atol=1e-9)
    assert_close(got[2], 0.0, f"{call}: a set compared with itself", rtol=0, atol=1e-7)
    for s, answer, w in zip((20, 60), got[3:], want[3:]):
        assert_close(answer, w, f"{call}: the real pictures vs the same pictures brightened by {s}", rtol=1e-6, atol=1e-8)
    assert got[3] < got[4], f"{call}: the distance should grow with the brightening (+20: {got[3]:.4f}, +60: {got[4]:.4f})"
    assert_close(reference.eval(probe)[0], want[0], "grader setup", rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- 7. DCGAN
DCG_CONFIGS = [(16, 3, (64, 32)), (5, 1, (6, 4, 3)), (4, 2, (5,))]
DCG_META = _meta_config(DCG_CONFIGS)


def _bn_train(h, gamma, beta):
    return F.batch_norm(h, None, None, gamma, beta, training=True, eps=1e-5)


@pytest.mark.points(2)
def test_dcgan_generator(student, reference, grading_seed):
    """DCGenerator: ConvTranspose2d (4, 1, 0) then (4, 2, 1) layers with BatchNorm2d and ReLU, a last ConvTranspose2d and tanh"""
    probe = f"""
{on_meta_device("DCGenerator")}
_out = []
for _i, (_z, _c, _hidden) in enumerate({DCG_CONFIGS!r}):
    torch.manual_seed(1)
    _g = DCGenerator(_z, _c, _hidden).double()
{_indent(_leaf_layers_src("_g"))}    _noise = torch.randn(3, _z, dtype=torch.float64)
    _out.append({{"layers": _layers, "out": _g(_noise).detach(), "noise": _noise,
                 "convs": [[_m.weight.detach(), None if _m.bias is None else _m.bias.detach()]
                           for _m in _g.modules() if isinstance(_m, nn.ConvTranspose2d)],
                 "bns": [[_m.weight.detach(), _m.bias.detach()] for _m in _g.modules() if isinstance(_m, nn.BatchNorm2d)],
                 "meta": None if _i != {DCG_META} else
                     _meta_try(lambda: _DCGenerator(_z, _c, _hidden).to("meta")(torch.empty(3, _z, device="meta")))}})
_out
"""
    got = student.eval(probe)
    for index, ((z, c, hidden), answer) in enumerate(zip(DCG_CONFIGS, got)):
        call = f"DCGenerator(z_dim={z}, out_channels={c}, hidden_channels={hidden})"
        side = 4 * 2 ** len(hidden)
        layers = answer["layers"]
        banned = sorted({x[0] for x in layers} & {"Linear", "MaxPool2d", "AvgPool2d", "Conv2d", "Upsample", "LeakyReLU"})
        assert not banned, f"{call}: a DCGAN generator has only transposed convolutions, batch norm, ReLU and tanh; found {banned}"
        widths = [z, *hidden, c]
        want = [["ConvTranspose2d", widths[0], widths[1], [4, 4], [1, 1], [0, 0]]]
        want += [["ConvTranspose2d", a, b, [4, 4], [2, 2], [1, 1]] for a, b in zip(widths[1:], widths[2:])]
        convs = [x[:6] for x in _kinds(layers, "ConvTranspose2d")]
        assert convs == want, (
            f"{call}: expected the transposed convolutions (in, out, kernel, stride, padding) "
            f"{[tuple(x[1:3]) + (4, x[4][0], x[5][0]) for x in want]}, got {[tuple(x[1:3]) + (x[3][0], x[4][0], x[5][0]) for x in convs]}")
        bns = _kinds(layers, "BatchNorm2d", "BatchNorm1d")
        assert bns == [["BatchNorm2d", h] for h in hidden], (
            f"{call}: expected a BatchNorm2d after every transposed convolution but the last ({list(hidden)} channels), got {bns}")
        out = np.asarray(answer["out"], dtype=float)
        assert out.shape == (3, c, side, side), f"{call} on noise (3, {z}): expected pictures {(3, c, side, side)}, got {out.shape}"
        h = torch.tensor(np.asarray(answer["noise"], dtype=float), dtype=F64).view(3, z, 1, 1)
        tensors = [[None if t is None else torch.tensor(np.asarray(t, dtype=float), dtype=F64) for t in pair]
                   for pair in answer["convs"]]
        bn_tensors = [[torch.tensor(np.asarray(t, dtype=float), dtype=F64) for t in pair] for pair in answer["bns"]]
        for i, (w, b) in enumerate(tensors):
            stride, padding = (1, 0) if i == 0 else (2, 1)
            h = F.conv_transpose2d(h, w, b, stride=stride, padding=padding)
            if i < len(hidden):
                h = F.relu(_bn_train(h, *bn_tensors[i]))
        assert_close(out, torch.tanh(h).numpy(), f"{call} in training mode on 3 noise vectors, compared with the same "
                     "weights applied as noise viewed (3, z_dim, 1, 1) -> [ConvTranspose2d -> BatchNorm2d -> ReLU] per "
                     "hidden layer -> ConvTranspose2d -> tanh", rtol=1e-6, atol=1e-9)
        if index == DCG_META:  # (see _meta_config)
            assert_on_meta(answer["meta"], f"{call}.to(device) on noise (3, {z}) on that device",
                           "keep every layer in a registered submodule (nn.Sequential, nn.ModuleList or an attribute), so that "
                           ".to(device) moves it, and make no tensor in forward without device=noise.device")
    ref = reference.eval(probe)
    assert np.asarray(ref[0]["out"]).shape == (3, 3, 16, 16) and ref[DCG_META]["meta"] == ["ok", ["meta"]]


DCD_CONFIGS = [(3, (32, 64)), (1, (4, 6, 5)), (2, (5,))]
DCD_META = _meta_config(DCD_CONFIGS)


@pytest.mark.points(2)
def test_dcgan_discriminator(student, reference, grading_seed):
    """DCDiscriminator: strided Conv2d (4, 2, 1) with LeakyReLU(0.2), BatchNorm2d except on the input layer, a last Conv2d (4, 1, 0)"""
    probe = f"""
{on_meta_device("DCDiscriminator")}
_out = []
for _i, (_c, _hidden) in enumerate({DCD_CONFIGS!r}):
    torch.manual_seed(2)
    _d = DCDiscriminator(_c, _hidden).double()
{_indent(_leaf_layers_src("_d"))}    _side = 4 * 2 ** len(_hidden)
    _x = torch.rand(3, _c, _side, _side, dtype=torch.float64) * 2 - 1
    _out.append({{"layers": _layers, "out": _d(_x).detach(), "x": _x,
                 "convs": [[_m.weight.detach(), None if _m.bias is None else _m.bias.detach()]
                           for _m in _d.modules() if isinstance(_m, nn.Conv2d)],
                 "bns": [[_m.weight.detach(), _m.bias.detach()] for _m in _d.modules() if isinstance(_m, nn.BatchNorm2d)],
                 "meta": None if _i != {DCD_META} else
                     _meta_try(lambda: _DCDiscriminator(_c, _hidden).to("meta")(torch.empty(3, _c, _side, _side,
                                                                                              device="meta")))}})
_out
"""
    got = student.eval(probe)
    for index, ((c, hidden), answer) in enumerate(zip(DCD_CONFIGS, got)):
        call = f"DCDiscriminator(in_channels={c}, hidden_channels={hidden})"
        layers = answer["layers"]
        banned = sorted({x[0] for x in layers} & {"Linear", "MaxPool2d", "AvgPool2d", "ReLU", "Sigmoid", "ConvTranspose2d"})
        assert not banned, f"{call}: a DCGAN discriminator has only strided convolutions, batch norm and LeakyReLU; found {banned}"
        widths = [c, *hidden]
        want = [["Conv2d", a, b, [4, 4], [2, 2], [1, 1]] for a, b in zip(widths, widths[1:])]
        want.append(["Conv2d", hidden[-1], 1, [4, 4], [1, 1], [0, 0]])
        convs = [x[:6] for x in _kinds(layers, "Conv2d")]
        assert convs == want, (
            f"{call}: expected the convolutions (in, out, kernel, stride, padding) "
            f"{[tuple(x[1:3]) + (4, x[4][0], x[5][0]) for x in want]}, got {[tuple(x[1:3]) + (x[3][0], x[4][0], x[5][0]) for x in convs]}")
        bns = _kinds(layers, "BatchNorm2d", "BatchNorm1d")
        assert bns == [["BatchNorm2d", h] for h in hidden[1:]], (
            f"{call}: expected a BatchNorm2d after every strided convolution but the first (no batch norm on the input "
            f"layer): {list(hidden[1:])} channels; got {bns}")
        slopes = [x[1] for x in _kinds(layers, "LeakyReLU")]
        assert all(abs(s - 0.2) < 1e-12 for s in slopes), f"{call}: LeakyReLU(0.2) expected, got negative slopes {slopes}"
        out = np.asarray(answer["out"], dtype=float)
        side = 4 * 2 ** len(hidden)
        assert out.shape == (3, 1), f"{call} on 3 pictures {c} x {side} x {side}: expected logits (3, 1), got {out.shape}"
        h = torch.tensor(np.asarray(answer["x"], dtype=float), dtype=F64)
        tensors = [[None if t is None else torch.tensor(np.asarray(t, dtype=float), dtype=F64) for t in pair]
                   for pair in answer["convs"]]
        bn_tensors = [[torch.tensor(np.asarray(t, dtype=float), dtype=F64) for t in pair] for pair in answer["bns"]]
        for i, (w, b) in enumerate(tensors[:-1]):
            h = F.conv2d(h, w, b, stride=2, padding=1)
            if i > 0:
                h = _bn_train(h, *bn_tensors[i - 1])
            h = F.leaky_relu(h, 0.2)
        w, b = tensors[-1]
        want_out = F.conv2d(h, w, b).flatten(1).numpy()
        assert_close(out, want_out, f"{call} in training mode on 3 pictures, compared with the same weights applied as "
                     "Conv2d -> LeakyReLU(0.2), then [Conv2d -> BatchNorm2d -> LeakyReLU(0.2)] per further hidden layer, "
                     "then Conv2d(..., 1, 4, 1, 0) and flatten (logits, no sigmoid)", rtol=1e-6, atol=1e-9)
        if index == DCD_META:  # (see _meta_config)
            assert_on_meta(answer["meta"], f"{call}.to(device) on 3 pictures {c} x {side} x {side} on that device",
                           "keep every layer in a registered submodule (nn.Sequential, nn.ModuleList or an attribute), so that "
                           ".to(device) moves it, and make no tensor in forward without device=x.device")
    ref = reference.eval(probe)
    assert np.asarray(ref[0]["out"]).shape == (3, 1) and ref[DCD_META]["meta"] == ["ok", ["meta"]]
