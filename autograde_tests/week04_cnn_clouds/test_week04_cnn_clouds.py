"""Hidden tests for week04_cnn_clouds: datasets, class-based models, convolution, a CNN on cloud
pictures, per-class metrics, two-input and two-output models.

Total: 44 points over 22 tests.

Each function is graded on its own, on inputs made here: models built in the probe with weights
chosen by the test (so a wrong CloudNet does not cost the points of train_epoch or predict),
pictures and matrices generated from `grading_seed`, correct intermediate values where a
function depends on another. Only the quality test uses what the notebook trained, since the
student's training is what it grades. No probe contains a correct implementation of a graded
function: probes send data, call the student's functions, and return plain data.

Expected values are computed here, in the grader process, with independent oracles: PyTorch in
float64 (F.conv2d, F.max_pool2d, torch.optim on the same models), torchvision's ToTensor and
Resize, scikit-learn's precision_recall_fscore_support, closed forms. The reference kernel is
asked the same probes as a cross-check of the grader's setup.

Device checks without a GPU: train_epoch, predict and evaluate_two_output are also run once on
PyTorch's `meta` device (grader.testing.on_meta_device: a tiny model moved there, a loader of 2
samples on the CPU, device "meta"), where a batch or labels left on the CPU, or .numpy() before
.cpu(), raise as they would on a GPU.

The hidden cloud pictures come from the data set's own generator
(`grader.data.datasets.clouds.make_images`) with a seed derived from `grading_seed`; they are
converted and resized here and sent as float arrays; their labels stay here.

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

from grader.data.datasets.clouds import CLASSES, make_images
from grader.testing import array_src, assert_close, assert_on_meta, is_close, on_meta_device, remember

F64 = torch.float64

# Accuracy the notebook's trained CloudNet must reach on the hidden pictures. Calibration (FAST
# grading run, 84 hidden pictures, notebook seeds 0-9, three grading seeds): the reference reaches
# 0.69-0.91 (mean 0.79); always answering one class gives 1/7 = 0.14. The standard error of an
# accuracy on 84 pictures is about 0.045, so 0.50 leaves four of them below the reference's worst
# run, room for a correct loop with another batch order, learning rate or augmentation.
QUALITY_THRESHOLD = 0.50
N_HIDDEN_PER_CLASS = 12

# transforms that change what a sky picture shows (notebook, Section 5)
LABEL_CHANGING = {"RandomVerticalFlip", "ColorJitter", "Grayscale", "RandomGrayscale", "RandomInvert",
                  "RandomSolarize", "RandomChannelPermutation", "RandomPhotometricDistort"}


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, k])


def _round(a, decimals: int = 4):
    return np.round(np.asarray(a, dtype=float), decimals)


def _lit(array) -> str:
    """A Python literal for a numeric array: nested lists of floats."""
    return repr(np.asarray(array, dtype=float).tolist())


def _state_src(name: str, state: dict) -> str:
    """Probe lines that copy the arrays of `state` into the module called `name` (float64)."""
    lines = [f"_sd = {name}.state_dict()", "with torch.no_grad():"]
    for key, value in state.items():
        lines.append(f"    _sd[{key!r}].copy_(torch.tensor({_lit(value)}, dtype=torch.float64))")
    return "\n".join(lines) + "\n"


def _param_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------- 1. Dataset
@pytest.mark.points(2)
def test_water_dataset(student, reference, grading_seed):
    """WaterDataset reads a CSV file or a matrix and yields (features, label) tuples"""
    rng = _rng(grading_seed, 1)
    n_csv = int(rng.integers(11, 17))
    csv_rows = _round(rng.random((n_csv, 10)), 5)
    csv_rows[:, -1] = rng.integers(0, 2, n_csv)
    matrix = _round(rng.normal(size=(9, 5)), 4)
    matrix[:, -1] = rng.integers(0, 2, 9)
    header = "ph,Hardness,Solids,Chloramines,Sulfate,Conductivity,Organic_carbon,Trihalomethanes,Turbidity,Potability"
    text = header + "\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in csv_rows) + "\n"
    one_row = csv_rows[-1:]
    one_text = header + "\n" + ",".join(repr(float(v)) for v in one_row[0]) + "\n"
    probe = f"""
import os as _os, tempfile as _tempfile
from torch.utils.data import Dataset as _Dataset, DataLoader as _DataLoader
_path = _os.path.join(_tempfile.mkdtemp(), "water_hidden.csv")
with open(_path, "w") as _f:
    _f.write({text!r})
_one = _os.path.join(_tempfile.mkdtemp(), "water_one_row.csv")
with open(_one, "w") as _f:
    _f.write({one_text!r})
_out = {{}}
for _key, _ds in (("csv", WaterDataset(_path)), ("matrix", WaterDataset(np.array({_lit(matrix)}, dtype=np.float32))),
                  ("one", WaterDataset(_one))):
    _items = [_ds[_i] for _i in range(len(_ds))]
    _batches = list(_DataLoader(_ds, batch_size=4, shuffle=False))
    _out[_key] = {{
        "len": int(len(_ds)), "is_dataset": isinstance(_ds, _Dataset),
        "tuple": all(isinstance(_s, tuple) and len(_s) == 2 for _s in _items),
        "shapes": sorted({{(tuple(_s[0].shape), tuple(_s[1].shape)) for _s in _items}}),
        "dtypes": sorted({{str(_s[0].dtype) + " " + str(_s[1].dtype) for _s in _items}}),
        "features": torch.stack([_s[0] for _s in _items]).double(),
        "labels": torch.stack([_s[1] for _s in _items]).double(),
        "batch_shapes": [[list(_b[0].shape), list(_b[1].shape)] for _b in _batches]}}
_out
"""
    got = student.eval(probe)
    for key, rows, source in (("csv", csv_rows, f"the path of a CSV file with a header and {n_csv} rows of 10 numbers"),
                              ("matrix", matrix, "a float32 matrix of 9 rows and 5 columns (4 features, then the label)"),
                              ("one", one_row, "the path of a CSV file with a header and a single row of 10 numbers")):
        r = got[key]
        n, width = rows.shape
        call = f"WaterDataset(source) with source = {source}"
        assert r["is_dataset"], f"{call}: the object should be a torch.utils.data.Dataset (class WaterDataset(Dataset))"
        assert r["len"] == n, f"{call}: len(dataset) should be the number of rows, {n}; got {r['len']}"
        assert r["tuple"], f"{call}: dataset[i] should return a tuple of two tensors (features, label)"
        assert r["shapes"] == [[[width - 1], [1]]], (
            f"{call}: every sample should be (features of shape ({width - 1},), label of shape (1,)); got the shapes "
            f"{r['shapes']} (all columns but the last are features)")
        assert r["dtypes"] == ["torch.float32 torch.float32"], f"{call}: features and labels should be float32, got {r['dtypes']}"
        assert_close(r["features"], rows[:, :-1], f"{call}: the features of all samples, in order", rtol=1e-6, atol=1e-6)
        assert_close(r["labels"], rows[:, -1:], f"{call}: the labels of all samples (the last column)", rtol=0, atol=1e-9)
        expected_batches = [[[min(4, n - s), width - 1], [min(4, n - s), 1]] for s in range(0, n, 4)]
        assert r["batch_shapes"] == expected_batches, (
            f"{call}: a DataLoader(dataset, batch_size=4) should give batches of features (4, {width - 1}) and labels "
            f"(4, 1) (the last one smaller): expected {expected_batches}, got {r['batch_shapes']}")
    ref = reference.eval(probe)
    assert_close(ref["csv"]["features"], csv_rows[:, :-1], "grader setup: the reference's features", rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- 2. WaterNet
@pytest.mark.points(2)
def test_water_net_structure(student, reference):
    """WaterNet: layers fc1, bn1, fc2, bn2, fc3 of the right sizes, Kaiming initialisation, probabilities out"""
    probe = """
torch.manual_seed(1234)
_nets = [WaterNet() for _ in range(20)]
_net = _nets[0]
_info = {}
for _name, _kind in (("fc1", nn.Linear), ("fc2", nn.Linear), ("fc3", nn.Linear), ("bn1", nn.BatchNorm1d), ("bn2", nn.BatchNorm1d)):
    _layer = getattr(_net, _name, None)
    if isinstance(_layer, nn.Linear):
        _info[_name] = ["Linear", int(_layer.in_features), int(_layer.out_features)]
    elif isinstance(_layer, nn.BatchNorm1d):
        _info[_name] = ["BatchNorm1d", int(_layer.num_features)]
    else:
        _info[_name] = type(_layer).__name__
_stds = {}
for _name in ("fc1", "fc2", "fc3"):
    try:
        _stds[_name] = float(torch.cat([getattr(_m, _name).weight.detach().flatten() for _m in _nets]).std())
    except Exception as _e:
        _stds[_name] = None
_x = torch.rand(6, 9)
_out_train = _net(_x)
_net.eval()
with torch.no_grad():
    _out_one = _net(torch.rand(1, 9))
{"layers": _info, "stds": _stds, "params": sum(_p.numel() for _p in _net.parameters()),
 "train_shape": list(_out_train.shape), "train_out": _out_train.detach().double(), "eval_shape": list(_out_one.shape)}
"""
    got = student.eval(probe)
    expected_layers = {"fc1": ["Linear", 9, 16], "fc2": ["Linear", 16, 8], "fc3": ["Linear", 8, 1],
                       "bn1": ["BatchNorm1d", 16], "bn2": ["BatchNorm1d", 8]}
    for name, want in expected_layers.items():
        assert got["layers"][name] == want, (
            f"WaterNet().{name} should be {want[0]}{tuple(want[1:])}, got {got['layers'][name]} (BatchNorm1d after a "
            "linear layer has as many features as that layer has outputs)")
    assert got["params"] == 353, f"WaterNet() should have 305 + 2 * (16 + 8) = 353 parameters, got {got['params']}"
    for name, fan_in, rel in (("fc1", 9, 0.12), ("fc2", 16, 0.12), ("fc3", 8, 0.25)):
        want = math.sqrt(2 / fan_in)
        std = got["stds"][name]
        assert std is not None and abs(std - want) <= rel * want, (
            f"the weights of {name} over 20 fresh WaterNet() models have the standard deviation "
            f"{'?' if std is None else f'{std:.3f}'}; Kaiming initialisation (init.kaiming_uniform_(layer.weight)) gives "
            f"sqrt(2 / {fan_in}) = {want:.3f}, PyTorch's default only {want / math.sqrt(6):.3f}")
    assert got["train_shape"] == [6, 1], f"WaterNet()(x) for x of shape (6, 9) should have shape (6, 1), got {got['train_shape']}"
    out = np.asarray(got["train_out"], dtype=float)
    assert np.all((out > 0) & (out < 1)), (
        f"WaterNet() should return probabilities (a sigmoid at the end), got values from {out.min():.3f} to {out.max():.3f}")
    assert got["eval_shape"] == [1, 1], "WaterNet in eval mode should accept a batch of one sample"
    ref = reference.eval(probe)
    assert ref["params"] == 353


def _water_net_case(grading_seed: int):
    rng = _rng(grading_seed, 3)
    state = {"fc1.weight": _round(rng.normal(0, 0.6, (16, 9))), "fc1.bias": _round(rng.normal(0, 0.2, 16)),
             "bn1.weight": _round(1 + rng.normal(0, 0.2, 16)), "bn1.bias": _round(rng.normal(0, 0.3, 16)),
             "bn1.running_mean": _round(rng.normal(0, 0.5, 16)), "bn1.running_var": _round(rng.uniform(0.5, 2.0, 16)),
             "fc2.weight": _round(rng.normal(0, 0.5, (8, 16))), "fc2.bias": _round(rng.normal(0, 0.2, 8)),
             "bn2.weight": _round(1 + rng.normal(0, 0.2, 8)), "bn2.bias": _round(rng.normal(0, 0.3, 8)),
             "bn2.running_mean": _round(rng.normal(0, 0.5, 8)), "bn2.running_var": _round(rng.uniform(0.5, 2.0, 8)),
             "fc3.weight": _round(rng.normal(0, 0.6, (1, 8))), "fc3.bias": _round(rng.normal(0, 0.2, 1))}
    x = _round(rng.random((10, 9)), 4)
    return state, x


def _water_oracle(state: dict, x: np.ndarray, training: bool) -> np.ndarray:
    t = {k: torch.tensor(v, dtype=F64) for k, v in state.items()}
    h = torch.tensor(x, dtype=F64)
    for fc, bn in (("fc1", "bn1"), ("fc2", "bn2")):
        h = F.linear(h, t[f"{fc}.weight"], t[f"{fc}.bias"])
        h = F.batch_norm(h, t[f"{bn}.running_mean"].clone(), t[f"{bn}.running_var"].clone(), t[f"{bn}.weight"],
                         t[f"{bn}.bias"], training=training, eps=1e-5)
        h = F.relu(h)
    return torch.sigmoid(F.linear(h, t["fc3.weight"], t["fc3.bias"])).numpy()


@pytest.mark.points(2)
def test_water_net_forward(student, reference, grading_seed):
    """WaterNet.forward: linear, batch norm, ReLU (twice), linear, sigmoid; in training and eval mode"""
    state, x = _water_net_case(grading_seed)
    probe = f"""
_net = WaterNet().double()
{_state_src("_net", state)}_x = torch.tensor({_lit(x)}, dtype=torch.float64)
_net.train()
_train = _net(_x).detach()
_net2 = WaterNet().double()
{_state_src("_net2", state)}_net2.eval()
with torch.no_grad():
    _eval = _net2(_x)
{{"train": _train, "eval": _eval}}
"""
    got = student.eval(probe)
    what = ("WaterNet with weights and batch-norm statistics set by the grader, on 10 samples, {mode}: "
            "fc1 -> bn1 -> ReLU -> fc2 -> bn2 -> ReLU -> fc3 -> sigmoid (batch norm after the linear layer, "
            "before the activation)")
    assert_close(got["train"], _water_oracle(state, x, True), what.format(mode="in training mode (batch statistics)"),
                 rtol=1e-6, atol=1e-8)
    assert_close(got["eval"], _water_oracle(state, x, False),
                 what.format(mode="in eval mode (the running statistics)"), rtol=1e-6, atol=1e-8)
    ref = reference.eval(probe)
    assert_close(ref["eval"], _water_oracle(state, x, False), "grader setup: the reference's outputs", rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- 3. pictures
@pytest.mark.points(1)
def test_to_tensor(student, reference, grading_seed):
    """to_tensor: (channels, height, width), float32, pixel / 255, for RGB, grayscale and RGBA pictures"""
    rng = _rng(grading_seed, 4)
    cases = [("RGB", rng.integers(0, 256, (5, 8, 3))), ("L", rng.integers(0, 256, (7, 4))),
             ("RGBA", rng.integers(0, 256, (3, 6, 4))), ("RGB", rng.integers(0, 256, (9, 9, 3)))]
    probe = f"""
_out = []
for _mode, _pixels in {[(m, p.tolist()) for m, p in cases]!r}:
    _img = Image.fromarray(np.array(_pixels, dtype=np.uint8), mode=_mode)
    _t = to_tensor(_img)
    _out.append({{"shape": list(_t.shape), "dtype": str(_t.dtype), "values": _t.double()}})
_out
"""
    got = student.eval(probe)
    for (mode, pixels), answer in zip(cases, got):
        chw = pixels.transpose(2, 0, 1) if pixels.ndim == 3 else pixels[None]
        call = f"to_tensor(picture) for a {mode} picture {pixels.shape[1]} pixels wide and {pixels.shape[0]} high"
        assert answer["shape"] == list(chw.shape), (
            f"{call}: expected the shape (channels, height, width) = {chw.shape}, got {tuple(answer['shape'])}")
        assert answer["dtype"] == "torch.float32", f"{call}: expected float32 values, got {answer['dtype']}"
        assert_close(answer["values"], chw / 255.0, f"{call}: the values pixel / 255", rtol=1e-6, atol=1e-7)
    ref = reference.eval(probe)
    assert ref[0]["shape"] == list(cases[0][1].transpose(2, 0, 1).shape)


@remember
def _eval_transform_oracle(pixels: list, size: int) -> np.ndarray:
    from PIL import Image
    from torchvision import transforms
    image = Image.fromarray(np.array(pixels, dtype=np.uint8))
    return transforms.Resize((size, size))(transforms.ToTensor()(image)).double().numpy()


def _transform_names_src() -> str:
    return """
def _names(_t):
    _found = [type(_t).__name__]
    for _inner in getattr(_t, "transforms", []) or []:
        _found += _names(_inner)
    return _found
"""


@pytest.mark.points(3)
def test_transforms(student, reference, grading_seed):
    """build_transforms: random augmentation for training only, deterministic evaluation, labels kept"""
    rng = _rng(grading_seed, 5)
    images, _ = make_images(1, int(rng.integers(1 << 30)), 33, 61)
    picture = images[int(rng.integers(len(images)))]
    h, w = picture.shape[:2]
    # a sky that is bright above and dark below, with some texture: the sky stays above after
    # every augmentation that keeps a cloud's label
    halves = np.zeros((40, 46, 3))
    halves[:20] = 215.0
    halves[20:] = 45.0
    halves += rng.normal(0, 8.0, halves.shape)
    halves = np.clip(np.round(halves), 0, 255).astype(np.uint8)
    sizes = (24, 40)
    probe = _transform_names_src() + f"""
torch.manual_seed(7)
_pic = Image.fromarray({array_src(picture)})
_halves = Image.fromarray({array_src(halves)})
_out = {{}}
for _size in {list(sizes)!r}:
    _train_t = build_transforms(_size, train=True)
    _eval_t = build_transforms(_size, train=False)
    _e1, _e2 = _eval_t(_pic), _eval_t(_pic)
    _draws = [_train_t(_pic) for _ in range(12)]
    _h = [_train_t(_halves) for _ in range(30)]
    _out[str(_size)] = {{
        "eval": _e1.double(), "eval_dtype": str(_e1.dtype), "eval_same": bool(torch.equal(_e1, _e2)),
        "train_shapes": sorted({{tuple(_d.shape) for _d in _draws}}), "train_dtypes": sorted({{str(_d.dtype) for _d in _draws}}),
        "train_range": [float(min(_d.min() for _d in _draws)), float(max(_d.max() for _d in _draws))],
        "train_distinct": len({{_d.numpy().tobytes() for _d in _draws}}),
        "halves": [[float(_d[:, : _size // 2].mean()), float(_d[:, _size - _size // 2:].mean())] for _d in _h],
        "train_names": _names(_train_t), "eval_names": _names(_eval_t)}}
_out
"""
    got = student.eval(probe)
    for size in sizes:
        r = got[str(size)]
        expected = _eval_transform_oracle(picture.tolist(), size)
        ev = f"build_transforms({size}, train=False) applied to a {w} x {h} RGB picture"
        tr = f"build_transforms({size}, train=True) applied to a {w} x {h} RGB picture"
        assert r["eval_dtype"] == "torch.float32", f"{ev}: expected a float32 tensor, got {r['eval_dtype']}"
        eval_values = np.asarray(r["eval"], dtype=float)
        assert eval_values.shape == expected.shape, (
            f"{ev}: expected a tensor of shape (3, {size}, {size}), got {eval_values.shape}")
        assert r["eval_same"], f"{ev} twice: the evaluation transform should be deterministic (no random step), the results differ"
        random_steps = sorted({n for n in r["eval_names"] if n.startswith("Random") or n in LABEL_CHANGING})
        assert not random_steps, f"{ev}: the evaluation transform should not augment, but it contains {random_steps}"
        gap = float(np.abs(eval_values - expected).mean())
        assert gap < 0.02, (
            f"{ev}: expected the picture converted to [0, 1] and resized to {size} x {size} (ToTensor and Resize); "
            f"the mean difference from that is {gap:.3f} (largest {np.abs(eval_values - expected).max():.3f}). Is the "
            "picture flipped, rotated, or scaled to 0-255?")
        assert r["train_shapes"] == [(3, size, size)] or r["train_shapes"] == [[3, size, size]], (
            f"{tr} 12 times: every result should have the shape (3, {size}, {size}), got {r['train_shapes']}")
        assert r["train_dtypes"] == ["torch.float32"], f"{tr}: expected float32 tensors, got {r['train_dtypes']}"
        low, high = r["train_range"]
        assert low >= -1e-6 and high <= 1 + 1e-6, f"{tr}: values should lie in [0, 1], got [{low:.3f}, {high:.3f}]"
        assert r["train_distinct"] >= 3, (
            f"{tr} 12 times gave only {r['train_distinct']} different results: the training transform should augment "
            "at random (flip, rotation, autocontrast)")
        bad = sorted({n for n in r["train_names"] if n in LABEL_CHANGING})
        assert not bad, (
            f"build_transforms({size}, train=True) contains {bad}: vertical flips and colour changes (jitter, grayscale, "
            "inversion, solarisation) change what a sky picture shows, so they would give wrong labels")
        flipped = [i for i, (top, bottom) in enumerate(r["halves"]) if not top > bottom]
        assert not flipped, (
            f"build_transforms({size}, train=True) applied 30 times to a sky picture that is bright in its upper half and "
            f"dark in its lower half: in {len(flipped)} of the results the lower half is the brighter one (e.g. draw "
            f"{flipped[0]}: upper mean {r['halves'][flipped[0]][0]:.3f}, lower {r['halves'][flipped[0]][1]:.3f}). "
            "Upside-down skies change the label: no vertical flips, rotations of at most 45 degrees")
    ref = reference.eval(probe)
    assert_close(ref[str(sizes[0])]["eval"], _eval_transform_oracle(picture.tolist(), sizes[0]),
                 "grader setup: the reference's evaluation transform", rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- 4. convolution
def _conv_oracle(X, K, padding, stride) -> np.ndarray:
    x = torch.tensor(np.asarray(X, dtype=float), dtype=F64)
    k = torch.tensor(np.asarray(K, dtype=float), dtype=F64)
    if x.dim() == 2:
        x, k = x[None], k[None]
    return F.conv2d(x[None], k[None], padding=padding, stride=stride)[0, 0].numpy()


def _corr2d_cases(grading_seed: int):
    rng = _rng(grading_seed, 6)
    shapes = [(1, 1), (2, 3), (3, 3), (3, 2), (4, 4), (2, 2), (3, 1)]
    settings = [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (0, 3), (2, 3), (1, 1)]
    cases = []
    for i, (padding, stride) in enumerate(settings):
        kh, kw = shapes[i % len(shapes)]
        h, w = int(rng.integers(max(kh, 4), 10)), int(rng.integers(max(kw, 4), 10))
        cases.append((_round(rng.normal(size=(h, w)), 3), _round(rng.normal(size=(kh, kw)), 3), padding, stride))
    return cases


@pytest.mark.points(2)
def test_corr2d(student, reference, grading_seed):
    """corr2d: 2-D cross-correlation with padding and stride, compared with F.conv2d"""
    cases = _corr2d_cases(grading_seed)
    probe = f"""
_out = [corr2d(torch.tensor([[0.0, 1, 2], [3, 4, 5], [6, 7, 8]]), torch.tensor([[0.0, 1], [2, 3]]))]
for _X, _K, _p, _s in {[(X.tolist(), K.tolist(), p, s) for X, K, p, s in cases]!r}:
    _out.append(corr2d(torch.tensor(_X, dtype=torch.float64), torch.tensor(_K, dtype=torch.float64), padding=_p, stride=_s))
_X, _K = torch.tensor({cases[0][0].tolist()!r}, dtype=torch.float64), torch.tensor({cases[2][1].tolist()!r}, dtype=torch.float64)
_out.append(corr2d(_X, _K))
[_y.double() for _y in _out]
"""
    got = student.eval(probe)
    assert_close(got[0], np.array([[19.0, 25.0], [37.0, 43.0]]),
                 "corr2d(X, K) for X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and K = [[0, 1], [2, 3]]", rtol=1e-9, atol=1e-9)
    for (X, K, padding, stride), answer in zip(cases, got[1:]):
        expected = _conv_oracle(X, K, padding, stride)
        call = f"corr2d(X, K, padding={padding}, stride={stride}) for X of shape {X.shape} and K of shape {K.shape}"
        hint = (f"the output has floor(({X.shape[0]} + 2 * {padding} - {K.shape[0]}) / {stride}) + 1 = {expected.shape[0]} "
                f"rows and {expected.shape[1]} columns; pad with zeros on every side, then move the kernel {stride} step(s) at a time")
        answer = np.asarray(answer, dtype=float)
        assert answer.shape == expected.shape, f"{call}: expected the shape {expected.shape}, got {answer.shape} ({hint})"
        assert_close(answer, expected, f"{call}, compared with F.conv2d ({hint})", rtol=1e-9, atol=1e-9)
    X, K = cases[0][0], cases[2][1]
    assert_close(got[-1], _conv_oracle(X, K, 0, 1), f"corr2d(X, K) with the defaults (padding 0, stride 1), X of shape "
                 f"{X.shape}, K of shape {K.shape}", rtol=1e-9, atol=1e-9)
    ref = reference.eval(probe)
    assert_close(ref[1], _conv_oracle(*cases[0]), "grader setup: the reference's corr2d", rtol=1e-9, atol=1e-9)


COURSE_X = [[[0.0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]]
COURSE_K = [[[0.0, 1], [2, 3]], [[1.0, 2], [3, 4]]]


@pytest.mark.points(2)
def test_corr2d_multi_in(student, reference, grading_seed):
    """corr2d_multi_in: the course's [[56, 72], [104, 120]] and random multi-channel inputs with padding and stride"""
    rng = _rng(grading_seed, 7)
    cases = [(np.array(COURSE_X), np.array(COURSE_K), 0, 1)]
    for channels, (kh, kw), padding, stride in ((1, (3, 3), 1, 1), (3, (2, 3), 0, 2), (2, (3, 2), 2, 1), (4, (1, 1), 1, 3),
                                                (3, (3, 3), 1, 2)):
        h, w = int(rng.integers(4, 9)), int(rng.integers(4, 9))
        cases.append((_round(rng.normal(size=(channels, h, w)), 3), _round(rng.normal(size=(channels, kh, kw)), 3),
                      padding, stride))
    probe = f"""
_out = []
for _X, _K, _p, _s in {[(X.tolist(), K.tolist(), p, s) for X, K, p, s in cases]!r}:
    _Xt, _Kt = torch.tensor(_X, dtype=torch.float64), torch.tensor(_K, dtype=torch.float64)
    _multi = corr2d_multi_in(_Xt, _Kt, padding=_p, stride=_s)
    try:
        _single = [corr2d(_x, _k, padding=_p, stride=_s).double() for _x, _k in zip(_Xt, _Kt)]
    except Exception:
        _single = None
    _out.append({{"multi": _multi.double(), "single": _single}})
_out.append({{"multi": corr2d_multi_in(torch.tensor({COURSE_X!r}), torch.tensor({COURSE_K!r})).double(), "single": None}})
_out
"""
    got = student.eval(probe)
    assert_close(got[-1]["multi"], np.array([[56.0, 72.0], [104.0, 120.0]]),
                 "corr2d_multi_in(X, K) on the course's two channels (defaults: padding 0, stride 1)", rtol=1e-9, atol=1e-9)
    for (X, K, padding, stride), answer in zip(cases, got):
        expected = _conv_oracle(X, K, padding, stride)
        call = (f"corr2d_multi_in(X, K, padding={padding}, stride={stride}) for X of shape {X.shape} and K of shape "
                f"{K.shape}")
        multi = np.asarray(answer["multi"], dtype=float)
        if multi.shape == expected.shape and is_close(multi, expected, rtol=1e-9, atol=1e-9):
            continue
        single = answer["single"]
        per_channel = [_conv_oracle(x, k, padding, stride) for x, k in zip(X, K)]
        corr2d_wrong = single is None or not is_close(single, per_channel, rtol=1e-9, atol=1e-9)
        if corr2d_wrong and single is not None and is_close(multi, np.sum(np.asarray(single, dtype=float), axis=0),
                                                               rtol=1e-9, atol=1e-9):
            continue  # the sum of the student's own corr2d results: that mistake costs its points in test_corr2d
        assert multi.shape == expected.shape, f"{call}: expected the shape {expected.shape}, got {multi.shape}"
        assert_close(multi, expected, f"{call}, compared with F.conv2d (every channel cross-correlated with its own "
                     "kernel, the results added up over the channels)", rtol=1e-9, atol=1e-9)
    ref = reference.eval(probe)
    assert_close(ref[1]["multi"], _conv_oracle(*cases[1]), "grader setup: the reference", rtol=1e-9, atol=1e-9)


@pytest.mark.points(1)
def test_conv_output_size(student, reference, grading_seed):
    """conv_output_size: floor((size + 2 padding - kernel) / stride) + 1, checked against Conv2d's outputs"""
    rng = _rng(grading_seed, 8)
    cases = [(32, 3, 1, 1), (7, 3, 0, 2), (128, 3, 1, 1), (6, 2, 0, 2), (5, 5, 0, 1), (5, 3, 2, 1)]
    while len(cases) < 24:
        k = int(rng.integers(1, 6))
        cases.append((int(rng.integers(k, 40)), k, int(rng.integers(0, 3)), int(rng.integers(1, 5))))
    probe = f"""
[conv_output_size(*_c) for _c in {cases!r}] + [conv_output_size({cases[6][0]}, {cases[6][1]}), conv_output_size(10, 3, 1)]
"""
    got = student.eval(probe)
    expected = [torch.nn.functional.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), padding=p, stride=s).shape[-1]
                for n, k, p, s in cases]
    for (n, k, p, s), answer, want in zip(cases, got, expected):
        assert answer == want, (
            f"conv_output_size({n}, {k}, padding={p}, stride={s}): a Conv2d's output has {want} rows "
            f"(floor(({n} + 2 * {p} - {k}) / {s}) + 1), got {answer}")
    n, k = cases[6][0], cases[6][1]
    assert got[-2] == n - k + 1, f"conv_output_size({n}, {k}) with the defaults padding=0, stride=1 should be {n - k + 1}, got {got[-2]}"
    assert got[-1] == 10, f"conv_output_size(10, 3, 1): padding 1 keeps the size 10, got {got[-1]}"
    assert reference.eval(probe)[:len(cases)] == expected


@pytest.mark.points(2)
def test_max_pool2d(student, reference, grading_seed):
    """max_pool2d: windows of any size, stride None (no overlap) or given, compared with F.max_pool2d"""
    rng = _rng(grading_seed, 9)
    cases = []
    for k, stride in ((2, None), (3, None), (2, 1), (3, 2), (2, 3), (4, None), (1, None)):
        h, w = int(rng.integers(k + 2, 11)), int(rng.integers(k + 2, 11))
        cases.append((_round(rng.normal(size=(h, w)), 3), k, stride))
    probe = f"""
_out = []
for _X, _k, _s in {[(X.tolist(), k, s) for X, k, s in cases]!r}:
    _X = torch.tensor(_X, dtype=torch.float64)
    _out.append((max_pool2d(_X, _k) if _s is None else max_pool2d(_X, _k, _s)).double())
_out.append(max_pool2d(torch.tensor({cases[0][0].tolist()!r}, dtype=torch.float64), {cases[0][1]}, stride=None).double())
_out
"""
    got = student.eval(probe)
    for (X, k, stride), answer in zip(cases, got):
        expected = F.max_pool2d(torch.tensor(X, dtype=F64)[None], k, stride=stride)[0].numpy()
        call = f"max_pool2d(X, {k}{'' if stride is None else f', {stride}'}) for X of shape {X.shape}"
        hint = ("windows of side kernel_size, moved by kernel_size when stride is None, otherwise by stride; windows that "
                "do not fit are dropped")
        answer = np.asarray(answer, dtype=float)
        assert answer.shape == expected.shape, f"{call}: expected the shape {expected.shape}, got {answer.shape} ({hint})"
        assert_close(answer, expected, f"{call}, compared with F.max_pool2d ({hint})", rtol=0, atol=1e-12)
    X, k, _ = cases[0]
    assert_close(got[-1], F.max_pool2d(torch.tensor(X, dtype=F64)[None], k)[0].numpy(),
                 f"max_pool2d(X, {k}, stride=None)", rtol=0, atol=1e-12)
    ref = reference.eval(probe)
    assert_close(ref[0], F.max_pool2d(torch.tensor(X, dtype=F64)[None], k)[0].numpy(), "grader setup", rtol=0, atol=1e-12)


@pytest.mark.points(1)
def test_parameter_counts(student, reference, grading_seed):
    """Parameters of Conv2d (896 for Conv2d(3, 32, 3)) and of Linear (65,537,000 for 65,536 -> 1,000)"""
    rng = _rng(grading_seed, 10)
    conv_cases = [(3, 32, 3, True), (32, 64, 3, True), (1, 16, 5, False)]
    conv_cases += [(int(rng.integers(1, 20)), int(rng.integers(1, 50)), int(rng.integers(1, 8)), bool(b)) for b in (True, False, True)]
    linear_cases = [(256 * 256, 1000), (3 * 256 * 256, 1000), (9, 16)] + [(int(rng.integers(1, 500)), int(rng.integers(1, 300)))
                                                                        for _ in range(3)]
    probe = f"""
{{"conv": [conv2d_param_count(*_c[:3]) if _c[3] else conv2d_param_count(*_c[:3], bias=False) for _c in {conv_cases!r}]
          + [conv2d_param_count(3, 32, 3, bias=True)],
  "linear": [linear_param_count(*_c) for _c in {linear_cases!r}]}}
"""
    got = student.eval(probe)
    for (cin, cout, k, bias), answer in zip(conv_cases, got["conv"]):
        want = _param_count(nn.Conv2d(cin, cout, k, bias=bias))
        assert answer == want, (
            f"conv2d_param_count({cin}, {cout}, {k}{'' if bias else ', bias=False'}): nn.Conv2d has {want} parameters "
            f"({cout} filters of {cin} x {k} x {k} weights{', plus one bias each' if bias else ', no biases'}), got {answer}")
    assert got["conv"][-1] == 896, f"conv2d_param_count(3, 32, 3, bias=True) should be 896, got {got['conv'][-1]}"
    for (n_in, n_out), answer in zip(linear_cases, got["linear"]):
        want = n_in * n_out + n_out
        assert answer == want, (f"linear_param_count({n_in}, {n_out}): nn.Linear has {want:,} parameters "
                                f"({n_in} * {n_out} weights and {n_out} biases), got {answer}")
    assert reference.eval(probe)["linear"][0] == 65_537_000


# --------------------------------------------------------------------------- 5. the CNN
def _cloud_oracle(state: dict, x: np.ndarray) -> np.ndarray:
    t = {k: torch.tensor(v, dtype=F64) for k, v in state.items()}
    h = torch.tensor(x, dtype=F64)
    h = F.max_pool2d(F.elu(F.conv2d(h, t["feature_extractor.0.weight"], t["feature_extractor.0.bias"], padding=1)), 2)
    h = F.max_pool2d(F.elu(F.conv2d(h, t["feature_extractor.3.weight"], t["feature_extractor.3.bias"], padding=1)), 2)
    return F.linear(h.flatten(1), t["classifier.weight"], t["classifier.bias"]).numpy()


@pytest.mark.points(2)
def test_cloud_net(student, reference, grading_seed):
    """CloudNet: two conv -> ELU -> max-pool blocks, flatten, linear; sizes follow num_classes, image_size and channels"""
    rng = _rng(grading_seed, 11)
    configs = [(7, 32, (32, 64)), (7, 64, (32, 64)), (4, 48, (8, 16)), (10, 16, (5, 6)), (3, 20, (4, 2))]
    x = _round(rng.random((2, 3, 12, 12)), 4)
    probe = f"""
_out = []
for _n, _s, _ch in {configs!r}:
    _net = CloudNet(num_classes=_n, image_size=_s, channels=_ch)
    _x = torch.rand(3, 3, _s, _s)
    _out.append({{"params": sum(_p.numel() for _p in _net.parameters()), "logits": list(_net(_x).shape),
                 "features": list(_net.feature_extractor(_x).shape),
                 "classifier": type(_net.classifier).__name__}})
torch.manual_seed(5)
_small = CloudNet(5, 12, (3, 4)).double()
_state = {{_k: _v.detach().clone() for _k, _v in _small.state_dict().items()}}
{{"configs": _out, "state": _state, "small": _small(torch.tensor({_lit(x)}, dtype=torch.float64)).detach(),
  "default": sum(_p.numel() for _p in CloudNet().parameters())}}
"""
    got = student.eval(probe)
    for (n, s, (c1, c2)), answer in zip(configs, got["configs"]):
        flat = c2 * (s // 4) ** 2
        want = (3 * 9 * c1 + c1) + (c1 * 9 * c2 + c2) + flat * n + n
        call = f"CloudNet(num_classes={n}, image_size={s}, channels={(c1, c2)})"
        assert answer["features"] == [3, flat], (
            f"{call}.feature_extractor on 3 pictures of {s} x {s}: expected flattened features (3, {flat}) = "
            f"{c2} channels of {s // 4} x {s // 4} after two 3x3 convolutions with padding 1 and two 2x2 poolings, "
            f"got {answer['features']}")
        assert answer["logits"] == [3, n], f"{call} on 3 pictures: expected logits (3, {n}), got {answer['logits']}"
        assert answer["params"] == want, (
            f"{call} should have {want:,} parameters (Conv2d(3, {c1}, 3): {3 * 9 * c1 + c1}, Conv2d({c1}, {c2}, 3): "
            f"{c1 * 9 * c2 + c2}, Linear({flat}, {n}): {flat * n + n}), got {answer['params']:,}")
        assert answer["classifier"] == "Linear", f"{call}.classifier should be one nn.Linear, got {answer['classifier']}"
    assert got["default"] == 48071, f"CloudNet() with the defaults (7 classes, 32 x 32, channels (32, 64)) has 48,071 parameters, got {got['default']:,}"
    state = {k: np.asarray(v, dtype=float) for k, v in got["state"].items()}
    needed = ["feature_extractor.0.weight", "feature_extractor.0.bias", "feature_extractor.3.weight",
              "feature_extractor.3.bias", "classifier.weight", "classifier.bias"]
    assert all(k in state for k in needed), (
        f"CloudNet's parameters should be called {needed} (feature_extractor = nn.Sequential(Conv2d, ELU, MaxPool2d, "
        f"Conv2d, ELU, MaxPool2d, Flatten), classifier = nn.Linear); got {sorted(state)}")
    assert_close(got["small"], _cloud_oracle(state, x),
                 "CloudNet(5, 12, (3, 4)) on 2 pictures of 12 x 12, compared with conv (padding 1) -> ELU -> max pool 2 -> "
                 "conv (padding 1) -> ELU -> max pool 2 -> flatten -> linear with the same weights", rtol=1e-7, atol=1e-9)
    ref = reference.eval(probe)
    assert ref["default"] == 48071


def _train_case(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    state = {"0.weight": _round(rng.normal(0, 0.5, (2, 1, 3, 3))), "0.bias": _round(rng.normal(0, 0.1, 2)),
             "1.weight": _round(1 + rng.normal(0, 0.1, 2)), "1.bias": _round(rng.normal(0, 0.1, 2)),
             "1.running_mean": np.zeros(2), "1.running_var": np.ones(2),
             "4.weight": _round(rng.normal(0, 0.3, (3, 32))), "4.bias": _round(rng.normal(0, 0.1, 3))}
    X = _round(rng.normal(size=(13, 1, 6, 6)), 3)
    y = rng.integers(0, 3, 13)
    return state, X, y


_TRAIN_SETTINGS = [  # batch size, learning rate, momentum, label smoothing, device, epochs
    (5, 0.1, 0.9, 0.0, "'cpu'", 2),
    (4, 0.05, 0.0, 0.2, "torch.device('cpu')", 1),
]


def _train_model():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3)).double()


def _train_oracle(state, X, y, batch, lr, momentum, smoothing, epochs):
    model = _train_model()
    sd = model.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            sd[key].copy_(torch.tensor(value, dtype=F64))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    criterion = nn.CrossEntropyLoss(label_smoothing=smoothing)
    Xt, yt = torch.tensor(X, dtype=F64), torch.tensor(y)
    model.train()
    means = []
    for _ in range(epochs):
        losses = []
        for s in range(0, len(X), batch):
            optimizer.zero_grad()
            loss = criterion(model(Xt[s:s + batch]), yt[s:s + batch])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        means.append(sum(losses) / len(losses))
    return means, {k: v.detach().numpy() for k, v in model.state_dict().items()}


@pytest.mark.points(3)
def test_train_epoch(student, reference, grading_seed):
    """train_epoch: zero_grad, forward, loss, backward, step for every batch, in training mode; the mean batch loss"""
    state, X, y = _train_case(grading_seed, 12)
    settings_src = "[" + ", ".join(f"({b}, {lr}, {mu}, {sm}, {dv}, {ep})" for b, lr, mu, sm, dv, ep in _TRAIN_SETTINGS) + "]"
    set_weights = "".join("    " + line + "\n" for line in _state_src("_model", state).splitlines())
    probe = f"""
from torch.utils.data import TensorDataset as _TD, DataLoader as _DL
{on_meta_device("train_epoch")}
_X = torch.tensor({_lit(X)}, dtype=torch.float64)
_y = torch.tensor({y.tolist()!r})
_out = []
for _batch, _lr, _mu, _smooth, _device, _epochs in {settings_src}:
    _model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3)).double()
{set_weights}    _model.eval()   # handed over in eval mode: train_epoch must switch to training mode
    _opt = torch.optim.SGD(_model.parameters(), lr=_lr, momentum=_mu)
    _loader = _DL(_TD(_X, _y), batch_size=_batch, shuffle=False)
    _losses = [train_epoch(_model, _loader, nn.CrossEntropyLoss(label_smoothing=_smooth), _opt, _device)
               for _ in range(_epochs)]
    _out.append({{"losses": [float(_l) for _l in _losses],
                 "state": {{_k: _v.detach().clone() for _k, _v in _model.state_dict().items()}}}})
_mm = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3)).to("meta")
_meta = _meta_try(lambda: _train_epoch(_mm, _DL(_TD(torch.zeros(2, 1, 6, 6), torch.zeros(2, dtype=torch.long)), batch_size=2),
                                       nn.CrossEntropyLoss(), torch.optim.SGD(_mm.parameters(), lr=0.1), _META))
{{"runs": _out, "meta": _meta}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (batch, lr, mu, smoothing, device, epochs), answer, ref_answer in zip(_TRAIN_SETTINGS, got["runs"], ref["runs"]):
        means, params = _train_oracle(state, X, y, batch, lr, mu, smoothing, epochs)
        call = (f"train_epoch(model, loader, nn.CrossEntropyLoss(label_smoothing={smoothing}), "
                f"SGD(lr={lr}, momentum={mu}), {device}) called {epochs} time(s) on 13 samples in batches of {batch}, "
                "for a Conv2d -> BatchNorm2d -> ReLU -> Flatten -> Linear model handed over in eval mode")
        hint = ("model.train(), then for every batch: optimizer.zero_grad(), outputs = model(images), "
                "loss = criterion(outputs, labels), loss.backward(), optimizer.step()")
        for key, value in params.items():
            assert_close(answer["state"][key], value, f"{call}: {key!r} afterwards, compared with {hint}",
                         rtol=1e-6, atol=1e-9)
        assert_close(answer["losses"], means, f"{call}: the values returned, the mean of each epoch's batch losses "
                     "(loss.item() of every batch, averaged over the batches)", rtol=1e-6, atol=1e-9)
        assert_close(ref_answer["losses"], means, "grader setup: the reference's losses", rtol=1e-6, atol=1e-9)
    assert_on_meta(got["meta"], "train_epoch(model, loader, nn.CrossEntropyLoss(), SGD, device) with the model moved to that "
                   "device and a loader of 2 pictures (1, 6, 6) with their labels on the CPU",
                   "move every tensor of the batch to the device, the labels too: images, labels = images.to(device), "
                   "labels.to(device) (the loss cannot mix a batch on a GPU with labels on the CPU)")


def _predict_case(grading_seed: int):
    rng = _rng(grading_seed, 13)
    state = {"1.weight": _round(rng.normal(0, 0.5, (8, 16))), "1.bias": _round(rng.normal(0, 0.1, 8)),
             "2.weight": _round(1 + rng.normal(0, 0.2, 8)), "2.bias": _round(rng.normal(0, 0.2, 8)),
             "2.running_mean": _round(rng.normal(0, 0.5, 8)), "2.running_var": _round(rng.uniform(0.5, 2, 8)),
             "5.weight": _round(rng.normal(0, 0.8, (4, 8))), "5.bias": _round(rng.normal(0, 0.1, 4))}
    X = _round(rng.normal(size=(23, 1, 4, 4)), 3)
    y = rng.integers(0, 4, 23)
    t = {k: torch.tensor(v, dtype=F64) for k, v in state.items()}
    h = F.linear(torch.tensor(X, dtype=F64).flatten(1), t["1.weight"], t["1.bias"])
    h = F.relu(F.batch_norm(h, t["2.running_mean"], t["2.running_var"], t["2.weight"], t["2.bias"], training=False))
    logits = F.linear(h, t["5.weight"], t["5.bias"]).numpy()
    return state, X, y, logits


@pytest.mark.points(2)
def test_predict(student, reference, grading_seed):
    """predict: eval mode, no gradients, argmax of the logits; labels and predictions of every sample, in order"""
    state, X, y, logits = _predict_case(grading_seed)
    probe = f"""
from torch.utils.data import TensorDataset as _TD, DataLoader as _DL
{on_meta_device("predict")}
_model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 4)).double()
{_state_src("_model", state)}_model.train()   # handed over in training mode: predict must switch to eval mode
_before = {{_k: _v.clone() for _k, _v in _model.state_dict().items()}}
_grad_modes = []
_hook = _model.register_forward_pre_hook(lambda _m, _i: _grad_modes.append(torch.is_grad_enabled()))
_loader = _DL(_TD(torch.tensor({_lit(X)}, dtype=torch.float64), torch.tensor({y.tolist()!r})), batch_size=6, shuffle=False)
_labels, _preds = predict(_model, _loader, "cpu")
_hook.remove()
_labels, _preds = np.asarray(_labels), np.asarray(_preds)
_mm = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 4)).to("meta")
_meta = _meta_try(lambda: _predict(_mm, _DL(_TD(torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.long)), batch_size=2), _META))
{{"labels": _labels.astype(float), "preds": _preds.astype(float), "kinds": [_labels.dtype.kind, _preds.dtype.kind],
  "unchanged": all(torch.equal(_v, _before[_k]) for _k, _v in _model.state_dict().items()),
  "grads": all(_p.grad is None for _p in _model.parameters()), "grad_modes": _grad_modes, "meta": _meta}}
"""
    got = student.eval(probe)
    call = ("predict(model, loader, 'cpu') for a Flatten -> Linear -> BatchNorm1d -> ReLU -> Dropout(0.5) -> Linear model "
            "handed over in training mode, and 23 samples in batches of 6")
    assert_close(got["labels"], y.astype(float), f"{call}: the labels returned, all 23 in the loader's order", rtol=0, atol=0)
    expected = logits.argmax(axis=1).astype(float)
    preds = np.asarray(got["preds"], dtype=float)
    assert preds.shape == expected.shape, f"{call}: expected 23 predictions, got the shape {preds.shape}"
    wrong = np.flatnonzero(preds != expected)
    assert not len(wrong), (
        f"{call}: {len(wrong)} of 23 predictions differ; sample {wrong[0]} has the eval-mode logits "
        f"{np.round(logits[wrong[0]], 3).tolist()}, so expected class {int(expected[wrong[0]])}, got {preds[wrong[0]]:.0f}. "
        "Call model.eval() (no dropout, batch norm's running statistics) and take the argmax over the classes (dim=1)")
    assert all(kind in "iu" for kind in got["kinds"]), f"{call}: labels and predictions should be integer arrays (int64)"
    assert got["grads"], f"{call}: predict should compute no gradients (torch.no_grad(), no backward)"
    assert got["grad_modes"] and not any(got["grad_modes"]), (
        f"{call}: the model ran {sum(got['grad_modes'])} of its {len(got['grad_modes'])} forward passes with gradient "
        "tracking on: run them inside `with torch.no_grad():` (no graph is needed to predict)")
    assert got["unchanged"], (f"{call}: predict must not change the model (in eval mode batch norm does not update its "
                              "running statistics)")
    assert_on_meta(got["meta"], "predict(model, loader, device) with the model moved to that device and a loader of 2 "
                   "samples (1, 4, 4) on the CPU",
                   "move each batch of images to the device, model(images.to(device)), and bring the predictions back "
                   "with .cpu() before .numpy()")
    ref = reference.eval(probe)
    assert_close(ref["preds"], expected, "grader setup: the reference's predictions", rtol=0, atol=0)


@remember
def _hidden_pictures(seed: int, size: int, per_class: int):
    from PIL import Image
    from torchvision import transforms
    images, labels = make_images(per_class, seed)
    convert = transforms.Compose([transforms.ToTensor(), transforms.Resize((size, size))])
    batch = torch.stack([convert(Image.fromarray(image)) for image in images]).numpy().astype(np.float32)
    return batch, labels


@pytest.mark.points(3)
def test_cloud_accuracy(student, reference, grading_seed):
    """The trained CloudNet recognises hidden cloud pictures (accuracy threshold)"""
    size = reference.eval("int(IMG_SIZE)")
    batch, labels = _hidden_pictures(grading_seed % (1 << 31) + 4040, size, N_HIDDEN_PER_CLASS)
    probe = f"""
_X = torch.from_numpy({array_src(batch)})
_was_training = model.training
model.eval()
try:
    with torch.no_grad():
        _logits = model(_X.to(next(model.parameters()).device))
finally:
    model.train(_was_training)
_logits.argmax(dim=1).cpu().numpy()
"""
    got = np.asarray(student.eval(probe))
    n = len(labels)
    assert got.shape == (n,), f"the trained `model` should give one prediction per hidden picture, {n} in all, got {got.shape}"
    accuracy = float((got == labels).mean())
    ref_accuracy = float((np.asarray(reference.eval(probe)) == labels).mean())
    assert accuracy >= QUALITY_THRESHOLD, (
        f"the notebook's trained CloudNet (`model`, in eval mode) on {n} hidden cloud pictures converted and resized to "
        f"{size} x {size}: accuracy {accuracy:.3f}; it should be at least {QUALITY_THRESHOLD:.2f} (one class in seven by "
        f"chance: {1 / 7:.3f}; the reference model: {ref_accuracy:.3f}). Check train_epoch and the training transform")


# --------------------------------------------------------------------------- 6. metrics
@pytest.mark.points(2)
def test_metrics_course_example(student, reference):
    """precision_recall_f1 on the course's example: macro F1 0.4889, weighted 0.6133, micro 0.6"""
    probe = """
_t, _p = [0, 1, 2, 2, 2], [0, 0, 2, 2, 1]
_out = {}
for _avg in (None, "macro", "weighted", "micro"):
    _r = precision_recall_f1(_t, _p, 3, _avg)
    _out[str(_avg)] = {_k: (np.asarray(_r[_k], dtype=float) if _avg is None else float(_r[_k])) for _k in ("precision", "recall", "f1")}
_out
"""
    got = student.eval(probe)
    expected = {"None": {"precision": [0.5, 0.0, 1.0], "recall": [1.0, 0.0, 2 / 3], "f1": [2 / 3, 0.0, 0.8]},
                "macro": {"precision": 0.5, "recall": 5 / 9, "f1": (2 / 3 + 0.8) / 3},
                "weighted": {"precision": 0.7, "recall": 0.6, "f1": (2 / 3 + 3 * 0.8) / 5},
                "micro": {"precision": 0.6, "recall": 0.6, "f1": 0.6}}
    hints = {"None": "one score per class; 0 where a denominator is 0",
             "macro": "the plain mean of the per-class scores",
             "weighted": "per-class scores weighted by the supports (1, 1, 3), divided by the total support 5",
             "micro": "from the counts summed over the classes: 3 right of 5, the accuracy"}
    for average, want in expected.items():
        for key, value in want.items():
            assert_close(np.asarray(got[average][key], dtype=float), np.asarray(value, dtype=float),
                         f"precision_recall_f1([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], 3, "
                         f"{'None' if average == 'None' else repr(average)})[{key!r}] ({hints[average]})",
                         rtol=1e-6, atol=1e-6)
    ref = reference.eval(probe)
    assert_close(ref["weighted"]["f1"], 0.6133, "grader setup", atol=1e-4)


def _metric_cases(grading_seed: int):
    rng = _rng(grading_seed, 14)
    cases = []
    for n_classes, n in ((3, 25), (5, 40), (7, 60), (9, 30)):
        y_true = rng.integers(0, n_classes, n)
        y_pred = np.where(rng.random(n) < 0.55, y_true, rng.integers(0, n_classes, n))
        never_predicted = int(rng.integers(n_classes))
        y_pred[y_pred == never_predicted] = (never_predicted + 1) % n_classes
        if n_classes >= 5:   # a class absent from the true labels, but predicted
            absent = (never_predicted + 2) % n_classes
            y_true[y_true == absent] = (absent + 1) % n_classes
            y_pred[:2] = absent
        if n_classes == 9:   # a class absent from both
            gone = (never_predicted + 4) % n_classes
            y_true[y_true == gone] = (gone + 1) % n_classes
            y_pred[y_pred == gone] = (gone + 1) % n_classes
        cases.append((y_true.tolist(), y_pred.tolist(), n_classes))
    return cases


@remember
def _sklearn_scores(y_true, y_pred, n_classes, average):
    from sklearn.metrics import precision_recall_fscore_support
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=list(range(n_classes)), average=average,
                                                 zero_division=0)
    if average is None:
        return {"precision": np.asarray(p, dtype=float), "recall": np.asarray(r, dtype=float), "f1": np.asarray(f, dtype=float)}
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


@pytest.mark.points(3)
def test_metrics_against_sklearn(student, reference, grading_seed):
    """precision_recall_f1 on hidden predictions, all averages, classes never predicted or absent, vs scikit-learn"""
    cases = _metric_cases(grading_seed)
    probe = f"""
_out = []
for _t, _p, _n in {cases!r}:
    _row = {{}}
    for _avg in (None, "macro", "weighted", "micro"):
        _r = precision_recall_f1(np.array(_t), np.array(_p), _n, _avg)
        _row[str(_avg)] = {{_k: (np.asarray(_r[_k], dtype=float) if _avg is None else float(_r[_k]))
                           for _k in ("precision", "recall", "f1")}}
    _out.append(_row)
try:
    precision_recall_f1([0, 1], [0, 1], 2, "median")
    _bad = "no error"
except ValueError:
    _bad = "ValueError"
except Exception as _e:
    _bad = type(_e).__name__
{{"cases": _out, "bad": _bad}}
"""
    got = student.eval(probe)
    hints = {"None": "one score per class; 0 where a denominator is 0 (a class never predicted has precision 0, a class "
                     "absent from the true labels recall 0)",
             "macro": "the plain mean over all num_classes classes",
             "weighted": "weighted by the supports (counts in the true labels), divided by the total support",
             "micro": "from TP, FP and FN summed over the classes"}
    for (y_true, y_pred, n_classes), answer in zip(cases, got["cases"]):
        for average in (None, "macro", "weighted", "micro"):
            want = _sklearn_scores(y_true, y_pred, n_classes, average)
            for key in ("precision", "recall", "f1"):
                assert_close(np.asarray(answer[str(average)][key], dtype=float), np.asarray(want[key], dtype=float),
                             f"precision_recall_f1(y_true, y_pred, {n_classes}, {average!r})[{key!r}] for {len(y_true)} "
                             f"hidden predictions, compared with scikit-learn ({hints[str(average)]})",
                             rtol=1e-9, atol=1e-12)
    assert got["bad"] == "ValueError", (
        f"precision_recall_f1([0, 1], [0, 1], 2, 'median') should raise ValueError (unknown average), got {got['bad']}")
    ref = reference.eval(probe)
    assert_close(ref["cases"][0]["macro"]["f1"], _sklearn_scores(*cases[0], "macro")["f1"], "grader setup", rtol=1e-9)


@pytest.mark.points(1)
def test_per_class_scores(student, reference, grading_seed):
    """per_class_scores: scores matched to class names through class_to_idx"""
    rng = _rng(grading_seed, 15)
    scores = _round(rng.random(7), 4)
    course = {name: i for i, name in enumerate(CLASSES)}
    permutation = rng.permutation(7)
    shuffled = {CLASSES[int(j)]: i for i, j in enumerate(permutation)}
    shuffled = dict(sorted(shuffled.items(), key=lambda kv: -kv[1]))
    small = {"b": 1, "a": 0, "c": 2}
    probe = f"""
{{"list": per_class_scores({scores.tolist()!r}, {course!r}),
  "tensor": per_class_scores(torch.tensor({scores.tolist()!r}), {shuffled!r}),
  "small": per_class_scores(np.array([0.25, 0.5, 1.0]), {small!r})}}
"""
    got = student.eval(probe)
    for key, mapping, values in (("list", course, scores), ("tensor", shuffled, scores),
                                 ("small", small, np.array([0.25, 0.5, 1.0]))):
        want = {name: float(values[index]) for name, index in mapping.items()}
        answer = got[key]
        assert isinstance(answer, dict) and set(answer) == set(want), (
            f"per_class_scores(scores, class_to_idx) with class_to_idx = {mapping}: expected one entry per class name, "
            f"got {answer!r}")
        assert_close({k: float(v) for k, v in answer.items()}, want,
                     f"per_class_scores(scores, {mapping}): the score of each class is scores[class_to_idx[name]]",
                     rtol=1e-6, atol=1e-7)
    assert reference.eval(probe)["small"] == {"b": 0.5, "a": 0.25, "c": 1.0}


# --------------------------------------------------------------------------- 7. two inputs, two outputs
def _image_layer_count(size: int) -> int:
    return (9 * 16 + 16) + 16 * (size // 2) ** 2 * 128 + 128


def _image_layer_oracle(t: dict, x: torch.Tensor) -> torch.Tensor:
    h = F.elu(F.max_pool2d(F.conv2d(x, t["image_layer.0.weight"], t["image_layer.0.bias"], padding=1), 2))
    return F.linear(h.flatten(1), t["image_layer.4.weight"], t["image_layer.4.bias"])


@pytest.mark.points(3)
def test_two_input_net(student, reference, grading_seed):
    """TwoInputNet: image and one-hot alphabet processed separately, concatenated (128 + 8), classified"""
    rng = _rng(grading_seed, 16)
    configs = [(30, 964, 64), (3, 10, 8), (5, 7, 12), (2, 4, 6)]
    img = _round(rng.random((3, 1, 6, 6)), 4)
    alpha = np.eye(2)[rng.integers(0, 2, 3)]
    probe = f"""
_out = []
for _a, _c, _s in {configs!r}:
    _net = TwoInputNet(_a, _c, _s)
    _img = torch.rand(2, 1, _s, _s)
    _alpha = F.one_hot(torch.tensor([0, _a - 1]), _a).float()
    with torch.no_grad():
        _y = _net(_img, _alpha)
        _y_alpha = _net(_img, F.one_hot(torch.tensor([_a - 1, 0]), _a).float())
        _y_img = _net(torch.rand(2, 1, _s, _s), _alpha)
    _out.append({{"params": sum(_p.numel() for _p in _net.parameters()), "shape": list(_y.shape),
                 "classifier_in": int(_net.classifier.in_features),
                 "uses_alpha": float((_y - _y_alpha).abs().max()), "uses_image": float((_y - _y_img).abs().max())}})
torch.manual_seed(3)
_small = TwoInputNet(2, 4, 6).double()
{{"configs": _out, "state": {{_k: _v.detach().clone() for _k, _v in _small.state_dict().items()}},
  "small": _small(torch.tensor({_lit(img)}, dtype=torch.float64), torch.tensor({_lit(alpha)}, dtype=torch.float64)).detach(),
  "default": sum(_p.numel() for _p in TwoInputNet().parameters())}}
"""
    got = student.eval(probe)
    for (a, c, s), answer in zip(configs, got["configs"]):
        call = f"TwoInputNet({a}, {c}, {s})"
        want = _image_layer_count(s) + (a * 8 + 8) + (136 * c + c)
        assert answer["classifier_in"] == 136, f"{call}.classifier should take the 128 + 8 = 136 concatenated numbers, got {answer['classifier_in']}"
        assert answer["shape"] == [2, c], f"{call}(image, alphabet) on a batch of 2: expected logits (2, {c}), got {answer['shape']}"
        assert answer["params"] == want, f"{call} should have {want:,} parameters, got {answer['params']:,}"
        assert answer["uses_alpha"] > 1e-6, f"{call}: changing only the alphabet should change the output (the model must use both inputs)"
        assert answer["uses_image"] > 1e-6, f"{call}: changing only the picture should change the output"
    assert got["default"] == 2_229_756, f"TwoInputNet() (30 alphabets, 964 characters, 64 x 64) has 2,229,756 parameters, got {got['default']:,}"
    t = {k: torch.tensor(np.asarray(v, dtype=float), dtype=F64) for k, v in got["state"].items()}
    needed = ["image_layer.0.weight", "image_layer.4.weight", "alphabet_layer.0.weight", "classifier.weight"]
    assert all(k in t for k in needed), (
        f"TwoInputNet's parameters should include {needed} (image_layer = Sequential(Conv2d, MaxPool2d, ELU, Flatten, "
        f"Linear), alphabet_layer = Sequential(Linear, ELU), classifier = Linear); got {sorted(t)}")
    x_img = _image_layer_oracle(t, torch.tensor(img, dtype=F64))
    x_alpha = F.elu(F.linear(torch.tensor(alpha, dtype=F64), t["alphabet_layer.0.weight"], t["alphabet_layer.0.bias"]))
    expected = F.linear(torch.cat((x_img, x_alpha), dim=1), t["classifier.weight"], t["classifier.bias"]).numpy()
    assert_close(got["small"], expected, "TwoInputNet(2, 4, 6) on 3 hidden samples, compared with conv (padding 1) -> max "
                 "pool 2 -> ELU -> flatten -> linear for the picture, linear -> ELU for the alphabet, the two concatenated "
                 "in this order (picture first) and the classifier, with the same weights", rtol=1e-7, atol=1e-9)
    assert reference.eval(probe)["default"] == 2_229_756


@pytest.mark.points(2)
def test_two_output_net(student, reference, grading_seed):
    """TwoOutputNet: one shared image network, an alphabet head and a character head"""
    rng = _rng(grading_seed, 17)
    configs = [(30, 964, 64), (3, 10, 8), (6, 5, 10)]
    img = _round(rng.random((3, 1, 6, 6)), 4)
    probe = f"""
_out = []
for _a, _c, _s in {configs!r}:
    _net = TwoOutputNet(_a, _c, _s)
    _res = _net(torch.rand(2, 1, _s, _s))
    _out.append({{"params": sum(_p.numel() for _p in _net.parameters()), "tuple": isinstance(_res, tuple) and len(_res) == 2,
                 "shapes": [list(_r.shape) for _r in _res]}})
torch.manual_seed(4)
_small = TwoOutputNet(3, 5, 6).double()
_ya, _yc = _small(torch.tensor({_lit(img)}, dtype=torch.float64))
{{"configs": _out, "state": {{_k: _v.detach().clone() for _k, _v in _small.state_dict().items()}},
  "alpha": _ya.detach(), "char": _yc.detach()}}
"""
    got = student.eval(probe)
    for (a, c, s), answer in zip(configs, got["configs"]):
        call = f"TwoOutputNet({a}, {c}, {s})"
        want = _image_layer_count(s) + (128 * a + a) + (128 * c + c)
        assert answer["tuple"], f"{call}(image) should return a tuple (alphabet logits, character logits)"
        assert answer["shapes"] == [[2, a], [2, c]], (
            f"{call}(image) on 2 pictures: expected logits (2, {a}) for the alphabet and (2, {c}) for the character, "
            f"got {answer['shapes']}")
        assert answer["params"] == want, (f"{call} should have {want:,} parameters (a shared image_layer and two linear "
                                          f"heads on its 128 outputs), got {answer['params']:,}")
    t = {k: torch.tensor(np.asarray(v, dtype=float), dtype=F64) for k, v in got["state"].items()}
    needed = ["image_layer.0.weight", "image_layer.4.weight", "classifier_alpha.weight", "classifier_char.weight"]
    assert all(k in t for k in needed), f"TwoOutputNet's parameters should include {needed}; got {sorted(t)}"
    shared = _image_layer_oracle(t, torch.tensor(img, dtype=F64))
    what = ("TwoOutputNet(3, 5, 6) on 3 hidden pictures, compared with the shared image_layer (conv, max pool, ELU, "
            "flatten, linear) followed by {head}, with the same weights")
    assert_close(got["alpha"], F.linear(shared, t["classifier_alpha.weight"], t["classifier_alpha.bias"]).numpy(),
                 what.format(head="classifier_alpha"), rtol=1e-7, atol=1e-9)
    assert_close(got["char"], F.linear(shared, t["classifier_char.weight"], t["classifier_char.bias"]).numpy(),
                 what.format(head="classifier_char"), rtol=1e-7, atol=1e-9)
    assert reference.eval(probe)["configs"][0]["params"] == 2_225_666


@pytest.mark.points(1)
def test_combined_loss(student, reference, grading_seed):
    """combined_loss: (1 - char_weight) * loss_alpha + char_weight * loss_char, gradients included"""
    rng = _rng(grading_seed, 18)
    la, lc = _round(rng.uniform(0.5, 3.0), 4), _round(rng.uniform(0.5, 3.0), 4)
    weights = [0.0, 0.1, 0.33, 0.5, 0.9, 1.0]
    probe = f"""
_out = []
for _w in {weights!r}:
    _a = torch.tensor({float(la)!r}, requires_grad=True)
    _c = torch.tensor({float(lc)!r}, requires_grad=True)
    _l = combined_loss(_a, _c, _w)
    _l.backward()
    _out.append([float(_l), float(_a.grad), float(_c.grad)])
_out
"""
    got = student.eval(probe)
    for w, answer in zip(weights, got):
        assert_close(answer, [(1 - w) * la + w * lc, 1 - w, w],
                     f"combined_loss(loss_alpha={la}, loss_char={lc}, char_weight={w}): [the value, its gradient with "
                     f"respect to loss_alpha, with respect to loss_char] (weights 1 - {w} and {w}, adding up to 1)",
                     rtol=1e-6, atol=1e-6)
    assert_close(reference.eval(probe)[1], [0.9 * la + 0.1 * lc, 0.9, 0.1], "grader setup", rtol=1e-6, atol=1e-6)


@pytest.mark.points(2)
def test_running_max_scaler(student, reference, grading_seed):
    """RunningMaxScaler: each loss divided by the largest loss so far, a constant for autograd (not loss / loss.max())"""
    rng = _rng(grading_seed, 19)
    losses = [float(v) for v in _round(rng.uniform(0.5, 5.0, 7), 3)]
    losses[0] = float(_round(rng.uniform(0.3, 0.9), 3))   # below 1: a maximum that starts at 1 shows
    losses[1] = max(losses[1], losses[0] + 0.2)
    losses[2] = losses[1] + 1.5          # a new maximum after the first
    losses[3] = losses[2] / 3            # then a smaller one
    others = [float(v) for v in _round(rng.uniform(10.0, 20.0, 3), 3)]
    probe = f"""
_scaler, _other = RunningMaxScaler(), RunningMaxScaler()
_out, _out_other = [], []
for _i, _value in enumerate({losses!r}):
    _l = torch.tensor(_value, requires_grad=True)
    _r = _scaler(_l)
    _r.backward()
    _out.append([float(_r), float(_l.grad) if _l.grad is not None else None])
    if _i < {len(others)}:
        _out_other.append(float(_other(torch.tensor({others!r}[_i]))))
{{"main": _out, "other": _out_other}}
"""
    got = student.eval(probe)
    largest = 0.0
    for i, (value, answer) in enumerate(zip(losses, got["main"])):
        largest = max(largest, value)
        call = f"the call number {i + 1} of one RunningMaxScaler, on the losses {losses[:i + 1]}"
        assert answer[1] is not None, f"{call}: the result should keep its gradient (divide the loss itself, not a detached copy)"
        assert_close(answer[0], value / largest, f"{call}: the loss divided by the largest loss so far ({largest})",
                     rtol=1e-6, atol=1e-7)
        assert_close(answer[1], 1 / largest,
                     f"{call}: the gradient of the result with respect to the loss should be 1 / {largest} (the maximum "
                     "taken as a plain number, detached: loss / loss gives a gradient of 0, and loss / torch.max(loss) "
                     "is always 1)", rtol=1e-6, atol=1e-7)
    other_largest = 0.0
    for i, (value, answer) in enumerate(zip(others, got["other"])):
        other_largest = max(other_largest, value)
        assert_close(answer, value / other_largest,
                     f"a second RunningMaxScaler used alongside the first, on the losses {others[:i + 1]}: each scaler "
                     "keeps its own maximum (an attribute of the object, not of the class)", rtol=1e-6, atol=1e-7)
    ref = reference.eval(probe)
    assert_close(ref["main"][0], [1.0, 1 / losses[0]], "grader setup", rtol=1e-6)


def _two_head_case(grading_seed: int):
    rng = _rng(grading_seed, 20)
    state = {"body.weight": _round(rng.normal(0, 0.5, (6, 9))), "body.bias": _round(rng.normal(0, 0.1, 6)),
             "norm.weight": _round(1 + rng.normal(0, 0.2, 6)), "norm.bias": _round(rng.normal(0, 0.2, 6)),
             "norm.running_mean": _round(rng.normal(0, 0.4, 6)), "norm.running_var": _round(rng.uniform(0.5, 2, 6)),
             "head_a.weight": _round(rng.normal(0, 0.8, (3, 6))), "head_a.bias": _round(rng.normal(0, 0.1, 3)),
             "head_c.weight": _round(rng.normal(0, 0.8, (5, 6))), "head_c.bias": _round(rng.normal(0, 0.1, 5))}
    X = _round(rng.normal(size=(17, 1, 3, 3)), 3)
    alpha = rng.integers(0, 3, 17)
    char = rng.integers(0, 5, 17)
    t = {k: torch.tensor(v, dtype=F64) for k, v in state.items()}
    h = F.linear(torch.tensor(X, dtype=F64).flatten(1), t["body.weight"], t["body.bias"])
    h = F.relu(F.batch_norm(h, t["norm.running_mean"], t["norm.running_var"], t["norm.weight"], t["norm.bias"], training=False))
    pa = F.linear(h, t["head_a.weight"], t["head_a.bias"]).argmax(1).numpy()
    pc = F.linear(h, t["head_c.weight"], t["head_c.bias"]).argmax(1).numpy()
    return state, X, alpha, char, float((pa == alpha).mean()), float((pc == char).mean())


@pytest.mark.points(2)
def test_evaluate_two_output(student, reference, grading_seed):
    """evaluate_two_output: both heads' accuracies over all samples, in eval mode, without gradients"""
    state, X, alpha, char, acc_a, acc_c = _two_head_case(grading_seed)
    probe = f"""
from torch.utils.data import TensorDataset as _TD, DataLoader as _DL
{on_meta_device("evaluate_two_output")}
class _TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.norm, self.drop = nn.Linear(9, 6), nn.BatchNorm1d(6), nn.Dropout(0.5)
        self.head_a, self.head_c = nn.Linear(6, 3), nn.Linear(6, 5)
    def forward(self, x):
        h = self.drop(torch.relu(self.norm(self.body(x.flatten(1)))))
        return self.head_a(h), self.head_c(h)
_model = _TwoHeads().double()
{_state_src("_model", state)}_model.train()   # handed over in training mode
_grad_modes = []
_hook = _model.register_forward_pre_hook(lambda _m, _i: _grad_modes.append(torch.is_grad_enabled()))
_loader = _DL(_TD(torch.tensor({_lit(X)}, dtype=torch.float64), torch.tensor({alpha.tolist()!r}), torch.tensor({char.tolist()!r})),
              batch_size=5, shuffle=False)
_r = evaluate_two_output(_model, _loader, "cpu")
_hook.remove()
_mm = _TwoHeads().to("meta")
_meta = _meta_try(lambda: _evaluate_two_output(_mm, _DL(_TD(torch.zeros(2, 1, 3, 3), torch.zeros(2, dtype=torch.long),
                                                            torch.zeros(2, dtype=torch.long)), batch_size=2), _META))
{{"result": [float(_v) for _v in _r], "grads": all(_p.grad is None for _p in _model.parameters()), "grad_modes": _grad_modes,
  "running_mean": _model.norm.running_mean.clone(), "meta": _meta}}
"""
    got = student.eval(probe)
    call = ("evaluate_two_output(model, loader, 'cpu') for a model with batch norm and dropout handed over in training "
            "mode, and 17 samples (image, alphabet, character) in batches of 5")
    assert isinstance(got["result"], list) and len(got["result"]) == 2, f"{call}: expected the pair (alphabet accuracy, character accuracy)"
    assert_close(got["result"], [acc_a, acc_c], f"{call}: (alphabet accuracy, character accuracy) over all 17 samples, "
                 "with model.eval() (no dropout, batch norm's running statistics) and the argmax of each head",
                 rtol=1e-9, atol=1e-9)
    assert got["grads"], f"{call}: no gradients should be computed (torch.no_grad())"
    assert got["grad_modes"] and not any(got["grad_modes"]), (
        f"{call}: the model ran {sum(got['grad_modes'])} of its {len(got['grad_modes'])} forward passes with gradient "
        "tracking on: evaluate inside `with torch.no_grad():`")
    assert_close(got["running_mean"], state["norm.running_mean"], f"{call}: batch norm's running mean afterwards (in eval "
                 "mode it does not change)", rtol=1e-9, atol=1e-12)
    assert_on_meta(got["meta"], "evaluate_two_output(model, loader, device) with the model moved to that device and a loader "
                   "of 2 samples (image (1, 3, 3), alphabet, character) on the CPU",
                   "move the images to the device, model(images.to(device)), and compare the predictions with the labels on "
                   "one device: predictions.cpu() == labels (or the labels moved to the device too)")
    assert_close(reference.eval(probe)["result"], [acc_a, acc_c], "grader setup", rtol=1e-9)
