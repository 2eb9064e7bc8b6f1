"""Hidden tests for week06_detection: boxes, IoU, non-maximum suppression, anchors and a two-head
detector.

Total: 46 points over 22 tests.

Every function is graded on its own, on inputs made here from `grading_seed`: boxes, masks, IoU
matrices and pictures drawn at random (with disjoint, nested, touching and identical boxes,
IoUs exactly at the threshold, tied scores), models built in the probe with weights chosen by
the test. Expected values come from torchvision in float64, computed here in the grader process
(`ops.box_convert`, `ops.masks_to_boxes`, `utils.draw_bounding_boxes`, `ops.box_iou`, `ops.nms`,
`ops.batched_nms`, `AnchorGenerator`, `Matcher`, `BoxCoder`) or from closed forms (softmax,
cross-entropy, MSE, the forward pass and SGD written with torch.nn.functional). The reference
kernel answers the same probes as a cross-check of the grader's setup.

Functions that call other graded functions are run with fakes (grader.testing.with_fakes):
`nms` with `box_iou`/`iou` replaced by a lookup of the IoUs computed here, `batched_nms` with `nms`
replaced by a lookup of torchvision's per-class answers, `train_detector_epoch` with
`detection_loss` replaced by another loss (label smoothing plus smooth L1). A student who does
the helper's work inline gets the true results, which are accepted as well. No probe contains a
correct implementation of a graded function.

Device checks without a GPU: predict_class, detection_loss and train_detector_epoch are also run
once on PyTorch's `meta` device (grader.testing.on_meta_device), where a picture, label or box left
on the CPU, or a helper tensor made without a device, raises as it would on a GPU.

Ties in NMS: the notebook visits equal scores in index order (a stable sort); the tests accept
every result that some order of the tied boxes gives.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked (the engine uses --assert=plain, but an outer pytest session may rewrite this module).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.testing import assert_close, assert_on_meta, is_close, on_meta_device, remember, tensor_src, with_fakes

F64 = torch.float64

# The trained shape detector on hidden pictures. Calibration (FAST run: 384 training pictures,
# 5 epochs; notebook seeds 0-5 on 200 pictures): class accuracy 1.000 for every seed, mean IoU of
# the predicted boxes 0.39-0.55 (mean 0.48). Guessing the average box gives a mean IoU of about
# 0.15, a constant class 1/3. The thresholds leave room below the reference's worst run for a
# correct loop with another batch order or initialisation.
ACCURACY_THRESHOLD = 0.80
IOU_THRESHOLD = 0.30
N_HIDDEN = 150
COLOURS = [(220, 40, 40), (40, 200, 60), (50, 70, 230)]


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, 6, k])


def _lit(array, dtype: str = "float64") -> str:
    """A probe expression that rebuilds a numeric array as a torch tensor of `dtype` (from its bytes)."""
    return tensor_src(array, dtype)


def _t(array) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=float), dtype=F64)


def _random_boxes(rng: np.random.Generator, n: int, extent: float = 40.0, step: float = 0.5) -> np.ndarray:
    """n boxes (x1, y1, x2, y2) with positive width and height, coordinates on a grid of `step`."""
    xy = np.round(rng.uniform(0, extent, (n, 2)) / step) * step
    wh = np.round(rng.uniform(2, extent / 2, (n, 2)) / step) * step
    return np.concatenate([xy, xy + wh], axis=1)


def _tricky_boxes(rng: np.random.Generator) -> np.ndarray:
    """Pairs that are disjoint, nested, touching along an edge or at a corner, identical; the
    disjoint and touching ones both side by side and one above the other (an intersection must be
    clamped at 0 in x and in y), and one overlapping by less than a pixel in y."""
    a = _random_boxes(rng, 1, 20.0, 1.0)[0]
    w, h = a[2] - a[0], a[3] - a[1]
    return np.array([a,
                     a + [w + 3, 0, w + 3, 0],                    # disjoint, to the right
                     [a[0] + 0.5, a[1] + 0.5, a[2] - 0.5, a[3] - 0.5],   # nested inside
                     a + [w, 0, w, 0],                            # touching along the right edge
                     a + [w, h, w, h],                            # touching at a corner
                     a.copy(),                                    # identical
                     [a[0] - 2, a[1] - 1, a[2] + 3, a[3] + 2],   # containing it
                     a + [1, h + 3, 1, h + 3],                    # disjoint, below
                     a + [1, h, 1, h],                            # touching along the bottom edge
                     a + [1, h - 0.5, 1, h - 0.5]])               # overlapping by half a pixel in y


def _iou64(b1, b2) -> np.ndarray:
    from torchvision import ops
    return ops.box_iou(_t(b1), _t(b2)).numpy()


def _row_diff(got: np.ndarray, expected: np.ndarray) -> str:
    bad = np.argwhere(~np.isclose(got, expected, rtol=1e-5, atol=1e-6))
    if not len(bad):
        return ""
    i = tuple(int(v) for v in bad[0])
    return f"{len(bad)} entries differ, the first at {list(i)}: expected {expected[i]:.6g}, got {got[i]:.6g}"


# --------------------------------------------------------------------------- 1. warm-up
@pytest.mark.points(1)
def test_get_classes(student, reference, grading_seed):
    """get_classes: the set of labels of an ImageFolder and of a list of (sample, label) pairs"""
    rng = _rng(grading_seed, 1)
    folders = [{"ant": 2, "bee": 3, "cow": 1}, {"w": 1, "x": 2, "y": 2, "z": 1, "v": 1}]
    labels = [int(v) for v in rng.choice([0, 2, 3, 5, 7, 8], size=9)]
    probe = f"""
import tempfile as _tempfile
_out = []
for _i, _counts in enumerate({folders!r}):
    _root = _tempfile.mkdtemp()
    write_image_folder(_root, _counts, size=4, seed=_i)
    _ds = ImageFolder(_root, transform=ToTensor())
    _out.append(get_classes(_ds))
_out.append(get_classes([(torch.zeros(2), torch.tensor(_l)) for _l in {labels!r}]))
[{{"type": type(_s).__name__, "values": sorted(int(_v) for _v in _s), "ints": all(type(_v) is int for _v in _s)}}
 for _s in _out]
"""
    got = student.eval(probe)
    cases = [(f"an ImageFolder with the class folders {sorted(f)}", list(range(len(f)))) for f in folders]
    cases.append((f"a list of pairs (sample, torch.tensor(label)) with the labels {labels}", sorted(set(labels))))
    for (what, want), answer in zip(cases, got):
        assert answer["type"] == "set", f"get_classes({what}) should return a set, got a {answer['type']}"
        assert answer["values"] == want, (
            f"get_classes({what}) should be {set(want)}, got the elements {answer['values']}: collect the second element of "
            "every (sample, label) pair, {int(label) for _, label in dataset} (not the folder names, not range(len(...)); "
            "a set of tensors keeps equal labels twice, as tensors are compared by identity)")
        assert answer["ints"], f"get_classes({what}): the labels should be Python ints (int(label)), not tensors"
    assert reference.eval(probe)[2]["values"] == sorted(set(labels))


@pytest.mark.points(2)
def test_add_conv_layer(student, reference, grading_seed):
    """add_conv_layer: the course's print(net), and new layers chained after the last convolution"""
    rng = _rng(grading_seed, 2)
    c3, c_head, k_mid = int(rng.integers(5, 40)), int(rng.integers(2, 9)), int(rng.integers(3, 12))
    probe = f"""
_net = Net()
_ret = add_conv_layer(_net, "conv2", 32)
_course = str(_net)
_same = _ret is _net
add_conv_layer(_net, "conv3", {c3}, kernel_size=5)
_seq = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Conv2d(6, {k_mid}, 1), nn.ReLU())
add_conv_layer(_seq, "head", {c_head}, kernel_size=1)
{{"course": _course, "same": _same, "chained": str(_net), "seq": str(_seq),
  "params": sum(_p.numel() for _p in _net.parameters()), "seq_params": sum(_p.numel() for _p in _seq.parameters())}}
"""
    got = student.eval(probe)
    course = ("Net(\n  (conv1): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
              "  (conv2): Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n)")
    assert got["course"] == course, (
        f"add_conv_layer(Net(), 'conv2', 32) then print(net) should show the course's\n{course}\ngot\n{got['course']}\n"
        "(net.add_module('conv2', nn.Conv2d(16, 32, kernel_size=3, padding=1)))")
    assert got["same"], "add_conv_layer(net, ...) should return the same net it changed (return net)"
    conv3 = nn.Conv2d(32, c3, kernel_size=5, padding=2)
    want = course[:-2] + f"\n  (conv3): {conv3}\n)"
    assert got["chained"] == want, (
        f"then add_conv_layer(net, 'conv3', {c3}, kernel_size=5): expected\n{want}\ngot\n{got['chained']}\n"
        "(in_channels is the out_channels of the LAST convolution, 32; padding = kernel_size // 2 = 2)")
    seq = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Conv2d(6, k_mid, 1), nn.ReLU())
    seq.add_module("head", nn.Conv2d(k_mid, c_head, kernel_size=1, padding=0))
    assert got["seq"] == str(seq), (
        f"add_conv_layer(nn.Sequential(Conv2d(1, 6, 3), ReLU(), Conv2d(6, {k_mid}, 1), ReLU()), 'head', {c_head}, "
        f"kernel_size=1): expected\n{seq}\ngot\n{got['seq']}")
    assert got["seq_params"] == sum(p.numel() for p in seq.parameters()), "the new layer's parameters should be registered"
    assert reference.eval(probe)["course"] == course


STUB_SRC = """
class _Stub(nn.Module):
    '''Fixed logits in eval mode; other logits (a 'dropout' effect) in training mode.'''
    def __init__(self, logits, train_logits):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.register_buffer("logits", torch.tensor(logits))
        self.register_buffer("train_logits", torch.tensor(train_logits))
        self.seen = []
    def forward(self, x):
        self.seen.append([list(x.shape), torch.is_grad_enabled()])
        rows = self.logits if not self.training else self.train_logits
        return (rows * self.scale).expand(x.shape[0], -1)
"""


@pytest.mark.points(2)
def test_predict_class(student, reference, grading_seed):
    """predict_class: eval mode, no gradients, a batch of one, softmax, argmax, the category's name"""
    rng = _rng(grading_seed, 3)
    cases = []
    for n, shape in ((5, (3, 6, 6)), (1000, (3, 8, 5)), (7, (1, 4, 4))):
        logits = np.round(rng.normal(0, 2, n), 3)
        train_logits = logits.copy()
        train_logits[int(np.argmin(logits))] = logits.max() + 5     # another winner in training mode
        cases.append((logits, train_logits, shape))
    probe = STUB_SRC + on_meta_device("predict_class") + f"""
_out = []
for _i, (_logits, _train, _shape) in enumerate({[(a.tolist(), b.tolist(), s) for a, b, s in cases]!r}):
    _cats = categories if len(_logits) == 1000 else [f"thing{{_j}}" for _j in range(len(_logits))]
    _m = _Stub(_logits, _train)
    _m.train()
    _name, _p = predict_class(_m, torch.rand(*_shape), _cats, "cpu")
    _out.append({{"name": _name, "p": float(_p), "p_type": type(_p).__name__, "seen": _m.seen,
                 "grad": _m.scale.grad is None}})
_mm = nn.Sequential(nn.Flatten(), nn.Linear(48, 5)).to("meta")
_meta = _meta_try(lambda: _predict_class(_mm, torch.rand(3, 4, 4), ["a", "b", "c", "d", "e"], _META))
{{"cases": _out, "meta": _meta}}
"""
    got = student.eval(probe)
    from torchvision.models import ResNet18_Weights
    imagenet = ResNet18_Weights.DEFAULT.meta["categories"]
    for (logits, _, shape), answer in zip(cases, got["cases"]):
        names = imagenet if len(logits) == 1000 else [f"thing{j}" for j in range(len(logits))]
        probs = torch.softmax(_t(logits), 0).numpy()
        k = int(np.argmax(probs))
        call = f"predict_class(model, image of shape {shape}, categories) for a model with {len(logits)} classes"
        assert answer["seen"] and answer["seen"][0][0] == [1, *shape], (
            f"{call}: the model should get a batch of one, shape {[1, *shape]}, got "
            f"{answer['seen'][0][0] if answer['seen'] else 'no call'} (image.unsqueeze(0))")
        assert not any(g for _, g in answer["seen"]), f"{call}: run the model inside `with torch.no_grad():`"
        assert answer["name"] == names[k], (
            f"{call}: the most probable class in eval mode is {k}, {names[k]!r}; got {answer['name']!r}. Call model.eval() "
            "first (the model behaves differently in training mode) and take categories[argmax]")
        assert answer["p_type"] == "float", f"{call}: the probability should be a Python float (.item()), got {answer['p_type']}"
        assert_close(answer["p"], float(probs[k]), f"{call}: the softmax probability of the class {names[k]!r}",
                     rtol=1e-5, atol=1e-7)
    assert_on_meta(got["meta"], "predict_class(model, image of shape (3, 4, 4) on the CPU, categories, device) with the model "
                   "moved to that device", "move the batch of one to the device: model(image.unsqueeze(0).to(device))")
    assert reference.eval(probe)["cases"][0]["name"] == f"thing{int(np.argmax(cases[0][0]))}"


@pytest.mark.points(2)
def test_save_and_load(student, reference, grading_seed):
    """save_weights and load_weights: a state_dict round trip (parameters and batch-norm buffers)"""
    rng = _rng(grading_seed, 4)
    seeds = [int(v) for v in rng.integers(0, 10_000, 2)]
    probe = f"""
import os as _os, tempfile as _tempfile
_out = []
for _k, _make in enumerate([lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(16, 2)),
                            lambda: nn.Sequential(nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1))]):
    torch.manual_seed({seeds[0]} + _k)
    _a = _make()
    _a(torch.rand(4, 3, 4, 4) if _k == 0 else torch.rand(4, 5))   # batch norm's running statistics move
    _path = _os.path.join(_tempfile.mkdtemp(), f"model_{{_k}}.pt")
    save_weights(_a, _path)
    _exists = _os.path.exists(_path)
    try:
        _raw = torch.load(_path, weights_only=True)
        _kind = type(_raw).__name__ if not isinstance(_raw, dict) else "dict"
        _keys = list(_raw.keys()) if isinstance(_raw, dict) else []
    except Exception as _e:
        _kind, _keys = "cannot be read with weights_only=True: " + type(_e).__name__, []
    torch.manual_seed({seeds[1]} + _k)
    _b = _make()
    _ret = load_weights(_b, _path)
    _sa, _sb = _a.state_dict(), _b.state_dict()
    _out.append({{"exists": _exists, "kind": _kind, "keys": _keys, "same_object": _ret is _b,
                 "equal": [_n for _n in _sa if torch.equal(_sa[_n], _sb[_n])], "names": list(_sa)}})
_out
"""
    got = student.eval(probe)
    for k, answer in enumerate(got):
        what = "a Conv2d-BatchNorm2d-Linear model" if k == 0 else "a Linear-Tanh-Linear model"
        assert answer["exists"], f"save_weights({what}, path) should write the file `path`"
        assert answer["kind"] == "dict" and answer["keys"] == answer["names"], (
            f"save_weights({what}, path): the file should hold model.state_dict() (readable with torch.load(path, "
            f"weights_only=True)), got {answer['kind']} with the keys {answer['keys'][:6]}")
        missing = [n for n in answer["names"] if n not in answer["equal"]]
        assert not missing, (
            f"load_weights(new model, path) for {what}: these entries differ from the saved model's: {missing[:5]} "
            "(model.load_state_dict(torch.load(path)); the running statistics of batch norm are part of the state_dict)")
        assert answer["same_object"], f"load_weights(model, path) for {what} should return the model it loaded into"
    assert reference.eval(probe)[0]["kind"] == "dict"


# --------------------------------------------------------------------------- 2. boxes
@pytest.mark.points(2)
def test_box_formats(student, reference, grading_seed):
    """xywh_to_xyxy and xyxy_to_xywh agree with ops.box_convert"""
    from torchvision import ops
    rng = _rng(grading_seed, 5)
    sets = [np.array([[10.0, 20, 30, 40]]), np.round(rng.uniform(-5, 60, (6, 4)), 3), np.round(rng.uniform(0, 9, (3, 4)), 2)]
    sets[1][:, 2:] = np.abs(sets[1][:, 2:])
    probe = f"""
[{{"xyxy": xywh_to_xyxy(_b).double(), "xywh": xyxy_to_xywh(_b).double(), "shape": list(xywh_to_xyxy(_b).shape)}}
 for _b in [{", ".join(_lit(b) for b in sets)}]]
"""
    got = student.eval(probe)
    for boxes, answer in zip(sets, got):
        b = _t(boxes)
        assert_close(answer["xyxy"], ops.box_convert(b, "xywh", "xyxy").numpy(),
                     f"xywh_to_xyxy of {len(boxes)} boxes {boxes.tolist()[:2]}... compared with ops.box_convert(boxes, 'xywh', "
                     "'xyxy') (x2 = x1 + w, y2 = y1 + h)", rtol=1e-9, atol=1e-9)
        assert_close(answer["xywh"], ops.box_convert(b, "xyxy", "xywh").numpy(),
                     f"xyxy_to_xywh of {len(boxes)} boxes {boxes.tolist()[:2]}... compared with ops.box_convert(boxes, 'xyxy', "
                     "'xywh') (w = x2 - x1, h = y2 - y1)", rtol=1e-9, atol=1e-9)
    assert_close(reference.eval(probe)[0]["xyxy"], [[10.0, 20, 40, 60]], "grader setup")


def _masks(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    masks = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        kind = i % 3
        if kind == 0:      # one pixel
            masks[i, rng.integers(h), rng.integers(w)] = True
        elif kind == 1:    # a rectangle
            r0, c0 = rng.integers(0, h - 1), rng.integers(0, w - 1)
            masks[i, r0:rng.integers(r0 + 1, h + 1), c0:rng.integers(c0 + 1, w + 1)] = True
        else:              # scattered pixels
            masks[i] = rng.random((h, w)) < 0.08
            masks[i, rng.integers(h), rng.integers(w)] = True
    return masks


@pytest.mark.points(2)
def test_tightest_boxes(student, reference, grading_seed):
    """tightest_boxes: inclusive pixel indices of the first and last rows and columns, as ops.masks_to_boxes"""
    from torchvision import ops
    rng = _rng(grading_seed, 6)
    cases = [_masks(rng, 5, 9, 14), _masks(rng, 4, 17, 6), _masks(rng, 1, 5, 5)]
    probe = "[(lambda _r: [_r.double(), str(_r.dtype)])(tightest_boxes(_m)) for _m in [" + ", ".join(
        _lit(m.astype(int), "bool") for m in cases) + "]]"
    got = student.eval(probe)
    for masks, (boxes, dtype) in zip(cases, got):
        expected = ops.masks_to_boxes(torch.tensor(masks)).double().numpy()
        call = f"tightest_boxes(masks) for {len(masks)} masks of height {masks.shape[1]} and width {masks.shape[2]}"
        assert_close(boxes, expected, f"{call}, compared with ops.masks_to_boxes (x runs along the columns, y along the "
                     "rows; x2, y2 are the last column and row of the object, inclusive)", rtol=0, atol=1e-9)
        assert dtype == "torch.float32", f"{call}: expected float32 boxes, got {dtype}"
    assert_close(reference.eval(probe)[0][0], ops.masks_to_boxes(torch.tensor(cases[0])).double().numpy(), "grader setup")


@pytest.mark.points(2)
def test_draw_boxes(student, reference, grading_seed):
    """draw_boxes: one box [4] or several [N, 4], the given colour and width, as draw_bounding_boxes"""
    from torchvision import utils
    rng = _rng(grading_seed, 7)
    image = rng.integers(0, 256, (3, 30, 40)).astype(np.uint8)
    cases = [(np.array([3.0, 4, 25, 20]), "red", 3), (_random_boxes(rng, 3, 20.0, 1.0), "blue", 1),
             (np.array([[1.0, 2, 35, 27]]), (0, 255, 0), 2), (_random_boxes(rng, 2, 20.0, 1.0), "yellow", 4)]
    probe = f"""
_img = {_lit(image, "uint8")}
_out = [draw_boxes(_img, {_lit(cases[0][0])}.float())]
for _b, _c, _w in {[(b.tolist(), c, w) for b, c, w in cases[1:]]!r}:
    _out.append(draw_boxes(_img, torch.tensor(_b), color=_c, width=_w))
[[_o.numpy().astype(np.int64), str(_o.dtype)] for _o in _out] + [bool(torch.equal(_img, {_lit(image, "uint8")}))]
"""
    got = student.eval(probe)
    img = torch.tensor(image)
    for (boxes, colour, width), (drawn, dtype) in zip(cases, got[:-1]):
        expected = utils.draw_bounding_boxes(img, torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), colors=colour,
                                             width=width).numpy()
        call = (f"draw_boxes(image, boxes of shape {list(boxes.shape)}" +
                ("" if (colour, width) == ("red", 3) else f", color={colour!r}, width={width}") + ")")
        drawn = np.asarray(drawn)
        assert drawn.shape == expected.shape, f"{call}: expected a picture of shape {expected.shape}, got {drawn.shape}"
        assert dtype == "torch.uint8", f"{call}: expected a uint8 picture, got {dtype}"
        assert np.array_equal(drawn, expected), (
            f"{call}: {int((drawn != expected).any(axis=0).sum())} pixels differ from utils.draw_bounding_boxes(image, "
            "boxes.reshape(-1, 4), colors=color, width=width) (boxes must have the shape [N, 4]; pass the colour and width on)")
    assert got[-1], "draw_boxes should not change the picture it is given (draw_bounding_boxes returns a new one)"
    assert np.asarray(reference.eval(probe)[0][0]).shape == (3, 30, 40)


# --------------------------------------------------------------------------- 3. IoU
@pytest.mark.points(2)
def test_iou_pair(student, reference, grading_seed):
    """iou: the course's 1/7, identical, disjoint, nested and touching boxes, random pairs"""
    rng = _rng(grading_seed, 8)
    tricky = _tricky_boxes(rng)
    pairs = [([50, 50, 150, 150], [100, 100, 200, 200])]
    pairs += [(tricky[0].tolist(), tricky[j].tolist()) for j in range(1, len(tricky))]
    rand = _random_boxes(rng, 10, 30.0, 0.25)
    pairs += [(rand[2 * j].tolist(), rand[2 * j + 1].tolist()) for j in range(5)]
    probe = f"""
_pairs = {pairs!r}
_out = [iou(_a, _b) for _a, _b in _pairs] + [iou(torch.tensor(_pairs[0][0]), torch.tensor(_pairs[0][1]))]
[[float(_v) for _v in _out], [type(_v).__name__ for _v in _out]]
"""
    values, types = student.eval(probe)
    names = ["the course's example", "disjoint boxes", "a box nested inside", "boxes touching along an edge",
             "boxes touching at a corner", "identical boxes", "a box containing it", "disjoint boxes, one below the other",
             "boxes touching along the bottom edge", "boxes overlapping by half a pixel in y"] + ["random boxes"] * 5
    assert len(names) == len(pairs), "grader setup: a name for every pair"
    for (a, b), name, value in zip(pairs, names, values):
        want = float(_iou64([a], [b])[0, 0])
        hint = {"disjoint boxes": "clamp the intersection's width and height at 0",
                "disjoint boxes, one below the other": "clamp the intersection's height at 0 as well as its width",
                "boxes overlapping by half a pixel in y": "the intersection's height is min(y2) - max(y1), clamped at 0 "
                                                          "only (no + 1, no other bound)",
                "boxes touching along an edge": "the coordinates are continuous: no + 1",
                "boxes touching along the bottom edge": "the coordinates are continuous: no + 1",
                "boxes touching at a corner": "the coordinates are continuous: no + 1"}.get(
            name, "intersection from max of the top-left and min of the bottom-right corners; union = area1 + area2 - "
                  "intersection")
        assert_close(value, want, f"iou({a}, {b}), {name} ({hint})", rtol=1e-6, atol=1e-9)
    assert_close(values[-1], 1 / 7, "iou(torch.tensor([50, 50, 150, 150]), torch.tensor([100, 100, 200, 200])), integer "
                 "tensors", rtol=1e-6, atol=1e-9)
    assert all(t == "float" for t in types), f"iou should return a Python float, got {sorted(set(types))}"
    assert_close(reference.eval(probe)[0][0], 1 / 7, "grader setup", rtol=1e-9)


@pytest.mark.points(2)
def test_box_iou(student, reference, grading_seed):
    """box_iou: the [N, M] matrix of IoUs, equal to ops.box_iou, also for integer boxes (and for
    integer boxes against float ones, as ground truth against anchors)"""
    rng = _rng(grading_seed, 9)
    tricky = _tricky_boxes(rng)
    cases = [(np.array([[50, 50, 150, 150]]), np.array([[100, 100, 200, 200]]), "int64", "int64"),
             (tricky, tricky[::-1].copy(), "float64", "float64"),
             (_random_boxes(rng, 4), _random_boxes(rng, 7), "float64", "float64"),
             (_random_boxes(rng, 9, 60, 1.0), _random_boxes(rng, 3, 60, 1.0), "int64", "int64"),
             (_random_boxes(rng, 5, 30, 0.25), _random_boxes(rng, 5, 30, 0.25), "float32", "float32"),
             # integer boxes1 with fractional float boxes2: converting boxes2 to boxes1's integer
             # dtype would cut the anchors' coordinates
             (np.vstack([[[2, 2, 12, 12]], _random_boxes(rng, 4, 20, 1.0)]),
              np.vstack([[[4.5, 4.5, 14.5, 14.5]], _random_boxes(rng, 6, 20, 0.25) + 0.25]), "int64", "float32")]
    probe = "[(lambda _r: [_r.double(), list(_r.shape), _r.is_floating_point()])(box_iou(_a, _b)) for _a, _b in [" + \
        ", ".join(f"({_lit(a.astype(int) if d1 == 'int64' else a, d1)}, {_lit(b.astype(int) if d2 == 'int64' else b, d2)})"
                  for a, b, d1, d2 in cases) + "]]"
    got = student.eval(probe)
    for (a, b, d1, d2), (values, shape, is_float) in zip(cases, got):
        expected = _iou64(a, b)
        kinds = f"{d1} boxes" if d1 == d2 else f"{d1} boxes1 and {d2} boxes2"
        call = f"box_iou(boxes1 [{len(a)}, 4], boxes2 [{len(b)}, 4]) with {kinds}"
        assert shape == list(expected.shape), f"{call}: expected the shape {list(expected.shape)}, got {shape}"
        assert is_float, f"{call}: the IoUs should be a floating point tensor (convert integer boxes with .float())"
        values = np.asarray(values, dtype=float)
        assert is_close(values, expected, rtol=1e-5, atol=1e-6), (
            f"{call}, compared with ops.box_iou: {_row_diff(values, expected)}. Entry [i, j] is the IoU of boxes1[i] with "
            "boxes2[j]; clamp the intersection at 0 (disjoint boxes), no + 1 (touching boxes have IoU 0)")
    assert_close(reference.eval(probe)[0][0], [[1 / 7]], "grader setup", rtol=1e-6)


# --------------------------------------------------------------------------- NMS
FAKE_IOU_SRC = """
_KNOWN = {known!r}
_KNOWN_IOU = {table!r}
def _index_of(_row):
    _key = tuple(round(float(_v), 4) for _v in _row)
    return _KNOWN.index(list(_key)) if list(_key) in _KNOWN else None
def _fake_box_iou(_a, _b):
    '''the grader's IoUs of the known boxes, looked up (the student's own box_iou for other boxes)'''
    _a2, _b2 = torch.as_tensor(_a).reshape(-1, 4), torch.as_tensor(_b).reshape(-1, 4)
    _ia, _ib = [_index_of(_r) for _r in _a2], [_index_of(_r) for _r in _b2]
    if None in _ia or None in _ib:
        return box_iou(_a, _b)
    return torch.tensor([[_KNOWN_IOU[_i][_j] for _j in _ib] for _i in _ia], dtype=torch.float64)
def _fake_iou(_a, _b):
    _i, _j = _index_of(torch.as_tensor(_a).reshape(4)), _index_of(torch.as_tensor(_b).reshape(4))
    return iou(_a, _b) if _i is None or _j is None else float(_KNOWN_IOU[_i][_j])
"""


def _fake_iou_src(sets) -> str:
    known = []
    for boxes in sets:
        for row in np.round(np.asarray(boxes, dtype=float), 4).tolist():
            if row not in known:
                known.append(row)
    table = _iou64(known, known).tolist()
    return FAKE_IOU_SRC.format(known=known, table=table)


def _greedy(boxes, order, thr) -> tuple:
    m = _iou64(boxes, boxes)
    removed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for i in order:
        if removed[i]:
            continue
        keep.append(int(i))
        removed |= m[i] > thr
    return tuple(keep)


def _valid_nms(boxes, scores, thr) -> set:
    """Every result of greedy NMS for some order of the tied scores (decreasing score)."""
    scores = np.asarray(scores, dtype=float)
    levels = sorted(set(scores.tolist()), reverse=True)
    groups = [[i for i in range(len(scores)) if scores[i] == v] for v in levels]
    results = set()
    for perms in itertools.product(*[itertools.permutations(g) for g in groups]):
        results.add(_greedy(boxes, [i for p in perms for i in p], thr))
        if len(results) > 200:
            break
    return results


def _nms_sets(grading_seed: int):
    """Random clusters of boxes with distinct scores, and thresholds."""
    rng = _rng(grading_seed, 10)
    sets = []
    for n_clusters, per, thr in ((3, 4, 0.5), (2, 6, 0.3), (4, 3, 0.7), (1, 8, 0.45)):
        centres = rng.uniform(10, 90, (n_clusters, 2))
        rows = []
        for c in centres:
            for _ in range(per):
                cx, cy = c + rng.normal(0, 3, 2)
                w, h = rng.uniform(8, 20, 2)
                rows.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        boxes = np.round(np.array(rows), 2)
        scores = np.round(rng.permutation(len(boxes)) / len(boxes) * 0.9 + 0.05 + rng.uniform(0, 0.01, len(boxes)), 5)
        sets.append((boxes, scores, thr))
    return sets


def _tie_sets():
    """Boxes with IoUs exactly at the threshold, thresholds 0 and 1, identical boxes, tied scores."""
    a = [0.0, 0.0, 2.0, 1.0]
    half = [0.0, 0.0, 1.0, 1.0]            # IoU with a: exactly 1/2
    quarter = [1.0, 0.0, 1.5, 1.0]         # IoU with a: exactly 1/4
    touching = [2.0, 0.0, 4.0, 1.0]        # IoU with a: 0
    far = [10.0, 10.0, 12.0, 13.0]
    near_far = [10.0, 10.0, 12.0, 12.0]    # IoU with far: 4 / 6
    sets = [
        ([a, half, quarter, touching, far, near_far], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], 0.5, "IoU exactly 0.5 with the best box"),
        ([a, half, quarter, touching, far, near_far], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], 0.25, "IoU exactly 0.25"),
        ([a, half, quarter, touching, far, near_far], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], 0.0, "threshold 0, a touching box"),
        ([a, a, half, far, far, near_far], [0.6, 0.9, 0.3, 0.2, 0.5, 0.7], 1.0, "threshold 1, identical boxes"),
        ([a, half, far, near_far, touching, a], [0.8, 0.8, 0.8, 0.5, 0.5, 0.3], 0.5, "tied scores"),
        ([far, a, near_far, half, a], [0.7, 0.7, 0.7, 0.7, 0.7], 0.3, "all scores tied, identical boxes"),
        ([a, half, quarter, far, near_far], [0.9, 0.8, 0.8, 0.4, 0.4], 0.0, "threshold 0 with ties"),
    ]
    return [(np.array(b), np.array(s), t, name) for b, s, t, name in sets]


def _nms_probe(sets) -> str:
    return (_fake_iou_src([b for b, *_ in sets]) + with_fakes("nms", {"box_iou": "_fake_box_iou", "iou": "_fake_iou"})
            + "[(lambda _r: [_r.tolist(), str(_r.dtype)])(_nms(_b, _s, _t)) for _b, _s, _t in ["
            + ", ".join(f"({_lit(b)}, {_lit(s)}, {t!r})" for b, s, t, *_ in sets)
            + "]] + [(lambda _r: [_r.tolist(), str(_r.dtype)])(_nms(torch.zeros(0, 4), torch.zeros(0), 0.5))]")


@pytest.mark.points(2)
def test_nms_matches_torchvision(student, reference, grading_seed):
    """nms: the same indices as ops.nms, in decreasing order of score, on hidden clusters of boxes"""
    from torchvision import ops
    sets = _nms_sets(grading_seed)
    probe = _nms_probe(sets)
    got = student.eval(probe)
    for (boxes, scores, thr), (keep, dtype) in zip(sets, got):
        expected = ops.nms(_t(boxes), _t(scores), thr).tolist()
        call = f"nms(boxes [{len(boxes)}, 4], scores, iou_threshold={thr}) on {len(boxes)} boxes in clusters"
        assert keep == expected, (
            f"{call}: ops.nms keeps {expected}, got {keep}. Visit the boxes by decreasing score, keep the best remaining "
            "one, drop every box whose IoU with it is > the threshold, and return the kept indices in that order")
        assert dtype == "torch.int64", f"{call}: the indices should be an int64 tensor, got {dtype}"
    assert got[-1] == [[], "torch.int64"], (
        f"nms(torch.zeros(0, 4), torch.zeros(0), 0.5), no boxes at all: expected an empty int64 tensor, got {got[-1][0]} "
        f"of {got[-1][1]} (torch.tensor([], dtype=torch.int64))")
    ref = reference.eval(probe)
    assert ref[0][0] == ops.nms(_t(sets[0][0]), _t(sets[0][1]), sets[0][2]).tolist(), "grader setup"


@pytest.mark.points(3)
def test_nms_thresholds_and_ties(student, reference):
    """nms: strict '>' at the threshold, thresholds 0 and 1, identical boxes, tied scores"""
    sets = _tie_sets()
    probe = _nms_probe(sets)
    got = student.eval(probe)
    for (boxes, scores, thr, name), (keep, _dtype) in zip(sets, got):
        valid = _valid_nms(boxes, scores, thr)
        call = f"nms(boxes, scores={scores.tolist()}, iou_threshold={thr}) with boxes {boxes.tolist()} ({name})"
        options = " or ".join(str(list(v)) for v in sorted(valid))
        assert tuple(keep) in valid, (
            f"{call}: expected {options}, got {keep}. A box is dropped only when its IoU with a kept box is strictly "
            "greater than the threshold (equal stays; IoU 0 never exceeds 0; nothing exceeds 1); kept indices in "
            "decreasing order of score")
    ref = reference.eval(probe)
    assert tuple(ref[4][0]) in _valid_nms(*sets[4][:3]), "grader setup"


@pytest.mark.points(2)
def test_batched_nms(student, reference, grading_seed):
    """batched_nms: NMS within each class, all kept indices in decreasing order of score, as ops.batched_nms"""
    from torchvision import ops
    rng = _rng(grading_seed, 11)
    cases = []
    for boxes, scores, thr in _nms_sets(grading_seed)[:3]:
        n_classes = int(rng.integers(2, 4))
        idxs = rng.integers(0, n_classes, len(boxes)) * int(rng.choice([1, 3]))   # class ids need not be 0..k-1
        cases.append((boxes, scores, idxs, thr))
    answers = []        # the grader's per-class NMS answers, for the fake nms
    for boxes, scores, idxs, thr in cases:
        for c in sorted(set(idxs.tolist())):
            members = np.flatnonzero(idxs == c)
            kept = ops.nms(_t(boxes[members]), _t(scores[members]), thr).tolist()
            answers.append([[round(float(v), 5) for v in scores[members]], thr,
                            [round(float(scores[members][k]), 5) for k in kept]])
    probe = f"""
_ANSWERS = {answers!r}
def _fake_nms(_b, _s, _t):
    '''the grader's per-class answer, looked up by the set of scores (the student's nms otherwise)'''
    _got = [round(float(_v), 5) for _v in _s]
    for _scores, _thr, _kept in _ANSWERS:
        if sorted(_scores) == sorted(_got) and abs(_thr - float(_t)) < 1e-12:
            return torch.tensor([_got.index(_k) for _k in _kept], dtype=torch.int64)
    return nms(_b, _s, _t)
""" + with_fakes("batched_nms", {"nms": "_fake_nms"}) + \
        "[(lambda _r: [_r.tolist(), str(_r.dtype)])(_batched_nms(_b, _s, _i, _t)) for _b, _s, _i, _t in [" + \
        ", ".join(f"({_lit(b)}, {_lit(s)}, {_lit(i, 'int64')}, {t!r})" for b, s, i, t in cases) + "]] + " + \
        "[(lambda _r: [_r.tolist(), str(_r.dtype)])(_batched_nms(torch.zeros(0, 4), torch.zeros(0), " + \
        "torch.zeros(0, dtype=torch.int64), 0.5))]"
    got = student.eval(probe)
    for (boxes, scores, idxs, thr), (keep, dtype) in zip(cases, got):
        expected = ops.batched_nms(_t(boxes), _t(scores), torch.tensor(idxs), thr).tolist()
        call = f"batched_nms(boxes [{len(boxes)}, 4], scores, idxs={idxs.tolist()}, iou_threshold={thr})"
        assert keep == expected, (
            f"{call}: ops.batched_nms keeps {expected}, got {keep}. Run nms on the boxes of each class separately, map "
            "its indices back to indices into all boxes, and sort all kept indices by decreasing score")
        assert dtype == "torch.int64", f"{call}: the indices should be an int64 tensor, got {dtype}"
    assert got[-1] == [[], "torch.int64"], (
        f"batched_nms with no boxes at all (boxes [0, 4]): expected an empty int64 tensor, got {got[-1][0]} of {got[-1][1]}")
    assert reference.eval(probe)[0][0] == ops.batched_nms(_t(cases[0][0]), _t(cases[0][1]), torch.tensor(cases[0][2]),
                                                          cases[0][3]).tolist(), "grader setup"


# --------------------------------------------------------------------------- 4. anchors
ANCHOR_CONFIGS = [((32, 64, 128), (0.5, 1.0, 2.0)), ((16,), (1.0,)), ((32, 64), (0.5, 1.0, 2.0, 3.0)),
                  ((24, 48, 96, 192), (0.25, 1.0)), ((20, 40, 80), (0.5, 2.0))]


@remember
def _tv_base_anchors(sizes, ratios) -> np.ndarray:
    from torchvision.models.detection.rpn import AnchorGenerator
    return AnchorGenerator().generate_anchors(list(sizes), list(ratios)).double().numpy()


@pytest.mark.points(2)
def test_base_anchors(student, reference):
    """base_anchors: 9 anchors for 3 sizes x 3 ratios, ratio by ratio, equal to AnchorGenerator's"""
    probe = "[(lambda _r: [_r.double(), str(_r.dtype)])(base_anchors(_s, _r)) for _s, _r in " + \
        repr([(list(s), list(r)) for s, r in ANCHOR_CONFIGS]) + "]"
    got = student.eval(probe)
    for (sizes, ratios), (anchors, dtype) in zip(ANCHOR_CONFIGS, got):
        expected = _tv_base_anchors(sizes, ratios)
        call = f"base_anchors(sizes={list(sizes)}, aspect_ratios={list(ratios)})"
        anchors = np.asarray(anchors, dtype=float)
        assert anchors.shape == expected.shape, (
            f"{call}: expected {len(ratios)} x {len(sizes)} = {len(expected)} anchors [{len(expected)}, 4], got the shape "
            f"{list(anchors.shape)}")
        assert is_close(anchors, expected, rtol=0, atol=1e-9), (
            f"{call}: expected (AnchorGenerator.generate_anchors) {expected[:3].tolist()}..., got {anchors[:3].tolist()}...; "
            f"{_row_diff(anchors, expected)}. h = size * sqrt(ratio), w = size / sqrt(ratio), rows round(-w/2, -h/2, w/2, "
            "h/2), all sizes of the first ratio first")
        assert dtype == "torch.float32", f"{call}: expected float32 anchors, got {dtype}"
    assert_close(reference.eval(probe)[0][0], _tv_base_anchors(*ANCHOR_CONFIGS[0]), "grader setup")


@remember
def _tv_grid_anchors(sizes, ratios, feature, stride) -> np.ndarray:
    from torchvision.models.detection.image_list import ImageList
    from torchvision.models.detection.rpn import AnchorGenerator
    generator = AnchorGenerator(sizes=(tuple(sizes),), aspect_ratios=(tuple(ratios),))
    (fh, fw), (sy, sx) = feature, stride
    images = ImageList(torch.zeros(1, 3, fh * sy, fw * sx), [(fh * sy, fw * sx)])
    return generator(images, [torch.zeros(1, 1, fh, fw)])[0].double().numpy()


@pytest.mark.points(2)
def test_grid_anchors(student, reference, grading_seed):
    """grid_anchors: base anchors shifted to every position of the feature map, row by row, as AnchorGenerator"""
    rng = _rng(grading_seed, 12)
    cases = [(ANCHOR_CONFIGS[0], (4, 6), (16, 16)), (ANCHOR_CONFIGS[2], (3, 5), (8, 12)),
             (ANCHOR_CONFIGS[4], (int(rng.integers(2, 6)), int(rng.integers(2, 6))), (32, 32)),
             (ANCHOR_CONFIGS[1], (2, 7), (int(rng.integers(4, 20)), int(rng.integers(4, 20))))]
    probe = "[grid_anchors(_base, _f, _s).double() for _base, _f, _s in [" + ", ".join(
        f"({_lit(_tv_base_anchors(*cfg), 'float32')}, {tuple(f)!r}, {tuple(s)!r})" for cfg, f, s in cases) + "]]"
    got = student.eval(probe)
    for (cfg, feature, stride), anchors in zip(cases, got):
        expected = _tv_grid_anchors(cfg[0], cfg[1], feature, stride)
        call = (f"grid_anchors(base [{len(cfg[0]) * len(cfg[1])}, 4], feature_size={feature}, stride={stride}) with "
                f"base = base anchors of sizes {list(cfg[0])} and ratios {list(cfg[1])}")
        anchors = np.asarray(anchors, dtype=float)
        assert anchors.shape == expected.shape, f"{call}: expected the shape {list(expected.shape)}, got {list(anchors.shape)}"
        assert is_close(anchors, expected, rtol=0, atol=1e-6), (
            f"{call}, compared with AnchorGenerator: {_row_diff(anchors, expected)}. Position (i, j) shifts the base anchors "
            "by (j * stride_x, i * stride_y, j * stride_x, i * stride_y); positions row by row, all base anchors of a "
            "position together")
    assert_close(reference.eval(probe)[0], _tv_grid_anchors(*ANCHOR_CONFIGS[0], (4, 6), (16, 16)), "grader setup")


def _match_cases(grading_seed: int):
    rng = _rng(grading_seed, 13)
    cases = []
    for m, n, high, low, low_quality in ((2, 9, 0.7, 0.3, False), (2, 9, 0.7, 0.3, True), (3, 12, 0.5, 0.4, True),
                                         (1, 6, 0.6, 0.6, True), (4, 10, 0.8, 0.2, False), (3, 8, 0.9, 0.5, True)):
        while True:
            iou = np.round(rng.uniform(0, 0.95, (m, n)) ** 1.5, 2)
            # values exactly at the thresholds
            iou[rng.integers(m), rng.integers(n)] = high
            iou[rng.integers(m), rng.integers(n)] = low
            # a true box whose best anchors tie
            g = int(rng.integers(m))
            j1, j2 = rng.choice(n, 2, replace=False)
            iou[g, j2] = iou[g, j1] = max(iou[g].max(), 0.35)
            col_max = iou.max(axis=0)
            if all((iou[:, j] == col_max[j]).sum() == 1 for j in range(n)):   # no tie within an anchor's column
                break
        cases.append((iou, high, low, low_quality))
    return cases


@pytest.mark.points(2)
def test_match_anchors(student, reference, grading_seed):
    """match_anchors: best true box, -1 below low, -2 between, low-quality matches, as torchvision's Matcher"""
    from torchvision.models.detection._utils import Matcher
    cases = _match_cases(grading_seed)
    probe = "[(lambda _r: [_r.tolist(), str(_r.dtype)])(match_anchors(_m, _h, _l, _q)) for _m, _h, _l, _q in [" + \
        ", ".join(f"({_lit(m)}, {h!r}, {lo!r}, {q!r})" for m, h, lo, q in cases) + "]]"
    got = student.eval(probe)
    for (iou, high, low, quality), (matches, dtype) in zip(cases, got):
        expected = Matcher(high, low, allow_low_quality_matches=quality)(_t(iou)).tolist()
        call = (f"match_anchors(iou, high={high}, low={low}, allow_low_quality={quality}) for iou =\n"
                f"{np.array2string(iou, separator=', ')}\n")
        if matches != expected:
            j = next((k for k in range(min(len(matches), len(expected))) if matches[k] != expected[k]), None)
            detail = "" if j is None else (f" (first difference: anchor {j}, best IoU {iou[:, j].max():.2f}, expected "
                                           f"{expected[j]}, got {matches[j]})")
            raise AssertionError(
                f"{call}expected {expected}, got {matches}{detail}. Each anchor (column) takes the row of its largest IoU "
                "when that is >= high, -1 when it is < low, -2 in between; with allow_low_quality every true box's best "
                "anchors (all ties) get their own best true box back")
        assert dtype == "torch.int64", f"{call}the matches should be int64, got {dtype}"
    assert reference.eval(probe)[1][0] == Matcher(cases[1][1], cases[1][2], cases[1][3])(_t(cases[1][0])).tolist()


@pytest.mark.points(2)
def test_box_coder(student, reference, grading_seed):
    """encode_boxes and decode_boxes: BoxCoder's offsets (several weights), and the round trip"""
    from torchvision.models.detection._utils import BoxCoder
    rng = _rng(grading_seed, 14)
    anchors = _random_boxes(rng, 6, 50.0, 0.5)
    gts = _random_boxes(rng, 6, 50.0, 0.5)
    deltas = np.round(rng.normal(0, 0.4, (6, 4)), 4)
    weight_sets = [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 3.0, 1.0, 0.5)]
    probe = f"""
_a, _g, _d = {_lit(anchors)}, {_lit(gts)}, {_lit(deltas)}
_out = [[encode_boxes(_a, _g).double(), decode_boxes(_a, _d).double()]]
for _w in {weight_sets!r}:
    _enc = encode_boxes(_a, _g, _w)
    _out.append([_enc.double(), decode_boxes(_a, _d, _w).double(), decode_boxes(_a, _enc, _w).double()])
_out
"""
    got = student.eval(probe)
    a, g, d = _t(anchors), _t(gts), _t(deltas)
    assert_close(got[0][0], BoxCoder((1.0, 1.0, 1.0, 1.0)).encode_single(g, a).numpy(),
                 "encode_boxes(anchors, boxes) with the default weights (1, 1, 1, 1), compared with BoxCoder",
                 rtol=1e-6, atol=1e-9)
    assert_close(got[0][1], BoxCoder((1.0, 1.0, 1.0, 1.0)).decode_single(d, a).numpy(),
                 "decode_boxes(anchors, deltas) with the default weights", rtol=1e-6, atol=1e-7)
    for w, (enc, dec, back) in zip(weight_sets, got[1:]):
        coder = BoxCoder(w)
        assert_close(enc, coder.encode_single(g, a).numpy(),
                     f"encode_boxes(anchors, boxes, weights={w}) for 6 pairs, compared with BoxCoder({w}).encode_single "
                     "(tx = wx (x - xa) / wa, ty = wy (y - ya) / ha, tw = ww log(w / wa), th = wh log(h / ha), centres and "
                     "sizes without + 1)", rtol=1e-6, atol=1e-9)
        assert_close(dec, coder.decode_single(d, a).numpy(),
                     f"decode_boxes(anchors, deltas, weights={w}) for 6 pairs, compared with BoxCoder({w}).decode_single "
                     "(x = xa + wa tx / wx, w = wa exp(tw / ww), then the corners x -+ w / 2)", rtol=1e-6, atol=1e-7)
        assert_close(back, gts, f"decode_boxes(anchors, encode_boxes(anchors, boxes, {w}), {w}) should give the boxes back",
                     rtol=1e-6, atol=1e-6)
    assert_close(reference.eval(probe)[2][0], BoxCoder(weight_sets[1]).encode_single(g, a).numpy(), "grader setup",
                 rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- 5. the two-head detector
@pytest.mark.points(2)
def test_detector_structure(student, reference, grading_seed):
    """ObjectDetectorCNN: input_dimension from the LAST convolution (512 for VGG-16) times pool_size^2, the course's heads"""
    rng = _rng(grading_seed, 15)
    c_last, k = int(rng.integers(10, 40)), int(rng.integers(2, 9))
    probe = f"""
_backbones = [
    (nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, {c_last}, 3, padding=1), nn.BatchNorm2d({c_last}),
                   nn.ReLU()), {k}, 1),
    (nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 12, 3, padding=1), nn.ReLU()), 3, 2),
    (nn.Sequential(nn.Sequential(nn.Conv2d(1, 5, 3, padding=1), nn.ReLU()), nn.Sequential(nn.Conv2d(5, 40, 1), nn.Tanh())), 2, 3),
]
_out = []
for _bb, _k, _p in _backbones:
    torch.manual_seed(0)
    _m = ObjectDetectorCNN(_bb, _k, pool_size=_p) if _p != 1 else ObjectDetectorCNN(_bb, _k)
    _lin_c = [_l for _l in _m.classifier.modules() if isinstance(_l, nn.Linear)]
    _lin_b = [_l for _l in _m.bbox_regressor.modules() if isinstance(_l, nn.Linear)]
    _shapes = []
    for _hw in ((16, 16), (20, 28)):
        _c_in = _bb[0].in_channels if isinstance(_bb[0], nn.Conv2d) else 1
        try:
            _lg, _bx = _m(torch.rand(2, _c_in, *_hw))
            _shapes.append([list(_lg.shape), list(_bx.shape)])
        except Exception as _e:
            _shapes.append(type(_e).__name__ + ": " + str(_e)[:200])
    _out.append({{"cls": [[_l.in_features, _l.out_features] for _l in _lin_c], "box": [[_l.in_features, _l.out_features] for _l in _lin_b],
                 "shapes": _shapes, "backbone": _m.backbone is _bb}})
_out.append([vgg_detector.classifier[0].in_features, vgg_detector.bbox_regressor[0].in_features])
_out
"""
    got = student.eval(probe)
    specs = [(c_last, k, 1, "Conv2d(3, 8) -> ReLU -> Conv2d(8, %d) -> BatchNorm2d -> ReLU" % c_last),
             (12, 3, 2, "Conv2d(3, 6) -> ReLU -> MaxPool2d -> Conv2d(6, 12) -> ReLU"),
             (40, 2, 3, "Sequential(Conv2d(1, 5), ReLU) -> Sequential(Conv2d(5, 40, 1), Tanh)")]
    assert got[-1] == [512, 512], (
        f"ObjectDetectorCNN(VGG-16's features, 2) in the notebook: the heads should take 512 inputs (the channels of the "
        f"LAST convolution), got {got[-1]} (backbone[0].out_channels is the first convolution's 64)")
    for (channels, classes, pool, text), answer in zip(specs, got[:-1]):
        d = channels * pool * pool
        call = f"ObjectDetectorCNN(backbone = {text}, num_classes={classes}, pool_size={pool})"
        assert answer["cls"] == [[d, 512], [512, classes]], (
            f"{call}: the classifier should be Linear({d}, 512) -> ReLU -> Linear(512, {classes}) ({channels} channels x "
            f"{pool} x {pool} pooled positions), got the linear layers {answer['cls']}")
        assert answer["box"] == [[d, 32], [32, 4]], (
            f"{call}: the bbox_regressor should be Linear({d}, 32) -> ReLU -> Linear(32, 4), got {answer['box']}")
        for hw, shape in zip(((16, 16), (20, 28)), answer["shapes"]):
            assert shape == [[2, classes], [2, 4]], (
                f"{call} on a batch of 2 pictures of {hw[0]} x {hw[1]}: expected logits [2, {classes}] and boxes [2, 4], got "
                f"{shape} (AdaptiveAvgPool2d(pool_size) and Flatten make the size of the picture irrelevant)")
        assert answer["backbone"], f"{call}: keep the backbone given as the attribute `backbone`"
    assert reference.eval(probe)[-1] == [512, 512]


def _forward_case(grading_seed: int):
    rng = _rng(grading_seed, 16)
    shapes = {"c1.weight": (4, 3, 3, 3), "c1.bias": (4,), "c2.weight": (6, 4, 3, 3), "c2.bias": (6,),
              "l0.weight": (512, 24), "l0.bias": (512,), "l1.weight": (3, 512), "l1.bias": (3,),
              "b0.weight": (32, 24), "b0.bias": (32,), "b1.weight": (4, 32), "b1.bias": (4,)}
    state = {k: np.round(rng.normal(0, 0.3, s), 4) for k, s in shapes.items()}
    x = np.round(rng.random((3, 3, 10, 12)), 4)
    return state, x


def _forward_oracle(state, x) -> tuple:
    t = {k: _t(v) for k, v in state.items()}
    h = F.relu(F.conv2d(_t(x), t["c1.weight"], t["c1.bias"], padding=1))
    h = F.max_pool2d(h, 2)
    h = F.relu(F.conv2d(h, t["c2.weight"], t["c2.bias"], padding=1))
    f = F.adaptive_avg_pool2d(h, 2).flatten(1)
    logits = F.linear(F.relu(F.linear(f, t["l0.weight"], t["l0.bias"])), t["l1.weight"], t["l1.bias"])
    boxes = F.linear(F.relu(F.linear(f, t["b0.weight"], t["b0.bias"])), t["b1.weight"], t["b1.bias"])
    return logits.numpy(), boxes.numpy()


@pytest.mark.points(2)
def test_detector_forward(student, reference, grading_seed):
    """ObjectDetectorCNN.forward: backbone, pooling to a grid, flatten, then both heads on the same features"""
    state, x = _forward_case(grading_seed)
    probe = f"""
_bb = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())
_m = ObjectDetectorCNN(_bb, 3, pool_size=2).double()
_st = {{_k: torch.tensor(_v, dtype=torch.float64) for _k, _v in {({k: v.tolist() for k, v in state.items()})!r}.items()}}
_lc = [_l for _l in _m.classifier.modules() if isinstance(_l, nn.Linear)]
_lb = [_l for _l in _m.bbox_regressor.modules() if isinstance(_l, nn.Linear)]
with torch.no_grad():
    for _layer, _name in ((_bb[0], "c1"), (_bb[3], "c2"), (_lc[0], "l0"), (_lc[-1], "l1"), (_lb[0], "b0"), (_lb[-1], "b1")):
        _layer.weight.copy_(_st[_name + ".weight"])
        _layer.bias.copy_(_st[_name + ".bias"])
    _out = _m({_lit(x)})
[_o.double() for _o in _out]
"""
    got = student.eval(probe)
    logits, boxes = _forward_oracle(state, x)
    what = ("ObjectDetectorCNN(backbone = Conv2d(3, 4) -> ReLU -> MaxPool2d(2) -> Conv2d(4, 6) -> ReLU, 3 classes, "
            "pool_size=2) with weights set by the grader, on 3 pictures of 10 x 12: the {part} (features = "
            "Flatten(AdaptiveAvgPool2d(2)(backbone(x))), then {head})")
    assert_close(got[0], logits, what.format(part="class logits", head="classifier"), rtol=1e-6, atol=1e-8)
    assert_close(got[1], boxes, what.format(part="boxes", head="bbox_regressor"), rtol=1e-6, atol=1e-8)
    assert_close(reference.eval(probe)[0], logits, "grader setup", rtol=1e-6, atol=1e-8)


@pytest.mark.points(2)
def test_detection_loss(student, reference, grading_seed):
    """detection_loss: mean cross-entropy plus box_weight times the mean squared error of the boxes"""
    rng = _rng(grading_seed, 17)
    cases = []
    for b, k, w in ((4, 3, 1.0), (7, 5, 0.5), (3, 2, 10.0), (5, 4, None)):
        cases.append((np.round(rng.normal(0, 2, (b, k)), 4), np.round(rng.random((b, 4)), 4), rng.integers(0, k, b),
                      np.round(rng.random((b, 4)), 4), w))
    probe = on_meta_device("detection_loss") + "_values = [float(detection_loss(" + ")), float(detection_loss(".join(
        f"{_lit(lg)}, {_lit(bp)}, {_lit(lb, 'int64')}, {_lit(bx)}" + ("" if w is None else f", box_weight={w}")
        for lg, bp, lb, bx, w in cases) + "))]\n" + (
        "_meta = _meta_try(lambda: _detection_loss(torch.zeros(3, 4, device='meta'), torch.zeros(3, 4, device='meta'), "
        "torch.zeros(3, dtype=torch.long, device='meta'), torch.zeros(3, 4, device='meta'), box_weight=2.0))\n"
        "{'values': _values, 'meta': _meta}\n")
    got = student.eval(probe)
    for (lg, bp, lb, bx, w), value in zip(cases, got["values"]):
        ce = F.cross_entropy(_t(lg), torch.tensor(lb)).item()
        mse = F.mse_loss(_t(bp), _t(bx)).item()
        weight = 1.0 if w is None else w
        call = (f"detection_loss(logits [{lg.shape[0]}, {lg.shape[1]}], boxes [{lg.shape[0]}, 4], labels, true boxes"
                + ("" if w is None else f", box_weight={w}") + ")")
        assert_close(value, ce + weight * mse,
                     f"{call}: cross-entropy {ce:.6f} + {weight} * MSE {mse:.6f} (both means: the MSE over all "
                     f"{4 * lg.shape[0]} numbers)", rtol=1e-6, atol=1e-9)
    assert_on_meta(got["meta"], "detection_loss(logits [3, 4], boxes [3, 4], labels [3], true boxes [3, 4], box_weight=2.0) "
                   "with all four on one device", "make any helper tensor on the inputs' device (torch.zeros_like(logits), "
                   "F.one_hot(labels, num_classes), device=logits.device), or use F.cross_entropy and F.mse_loss")
    assert_close(reference.eval(probe)["values"][0], F.cross_entropy(_t(cases[0][0]), torch.tensor(cases[0][2])).item()
                 + F.mse_loss(_t(cases[0][1]), _t(cases[0][3])).item(), "grader setup", rtol=1e-6)


TWO_HEAD_SRC = """
class _TwoHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.cls = nn.Linear(8, 3)
        self.box = nn.Linear(8, 4)
    def forward(self, x):
        f = F.adaptive_avg_pool2d(F.relu(self.bn(self.conv(x))), 2).flatten(1)
        return self.cls(f), self.box(f)
"""
exec(TWO_HEAD_SRC)   # the grader's copy of the probe's model, for the oracle

FAKE_LOSS_SRC = """
def _fake_loss(logits, box_preds, labels, boxes, box_weight=1.0):
    '''another loss on purpose: label smoothing and smooth L1'''
    return F.cross_entropy(logits, labels, label_smoothing=0.2) + box_weight * F.smooth_l1_loss(box_preds, boxes, beta=0.5)
"""
exec(FAKE_LOSS_SRC)

TRAIN_SETTINGS = [(4, 0.1, 0.0, 1.0, 1), (5, 0.05, 0.9, 3.0, 2), (13, 0.2, 0.5, 0.5, 2)]


def _train_case(grading_seed: int):
    rng = _rng(grading_seed, 18)
    shapes = {"conv.weight": (2, 1, 3, 3), "conv.bias": (2,), "bn.weight": (2,), "bn.bias": (2,),
              "bn.running_mean": (2,), "bn.running_var": (2,), "cls.weight": (3, 8), "cls.bias": (3,),
              "box.weight": (4, 8), "box.bias": (4,)}
    state = {k: np.round(rng.normal(0, 0.5, s), 4) for k, s in shapes.items()}
    state["bn.running_var"] = np.round(rng.uniform(0.5, 2, 2), 4)
    state["bn.weight"] = np.round(1 + rng.normal(0, 0.2, 2), 4)
    X = np.round(rng.normal(size=(13, 1, 6, 6)), 3)
    y = rng.integers(0, 3, 13)
    boxes = np.round(rng.random((13, 4)), 3)
    return state, X, y, boxes


def _train_oracle(state, X, y, boxes, batch, lr, momentum, box_weight, epochs, loss_fn):
    model = _TwoHead().double()  # noqa: F821 (defined by exec above)
    sd = model.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            sd[key].copy_(_t(value))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    Xt, yt, bt = _t(X), torch.tensor(y), _t(boxes)
    model.train()
    means = []
    for _ in range(epochs):
        losses = []
        for s in range(0, len(X), batch):
            optimizer.zero_grad()
            logits, preds = model(Xt[s:s + batch])
            loss = loss_fn(logits, preds, yt[s:s + batch], bt[s:s + batch], box_weight)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        means.append(sum(losses) / len(losses))
    return means, {k: v.detach().numpy() for k, v in model.state_dict().items()}


def _true_loss(logits, preds, labels, boxes, box_weight):
    return F.cross_entropy(logits, labels) + box_weight * F.mse_loss(preds, boxes)


@pytest.mark.points(3)
def test_train_detector_epoch(student, reference, grading_seed):
    """train_detector_epoch: training mode, zero_grad, forward, loss with box_weight, backward, step; the mean batch loss"""
    state, X, y, boxes = _train_case(grading_seed)
    probe = (TWO_HEAD_SRC + FAKE_LOSS_SRC + with_fakes("train_detector_epoch", {"detection_loss": "_fake_loss"}) + on_meta_device()
             + with_fakes("train_detector_epoch", {"detection_loss": "_fake_loss"}, as_name="_train_on_meta")
             + f"""
from torch.utils.data import TensorDataset as _TD, DataLoader as _DL
_state = {{_k: torch.tensor(_v, dtype=torch.float64) for _k, _v in {({k: v.tolist() for k, v in state.items()})!r}.items()}}
_out = []
for _batch, _lr, _mu, _bw, _epochs in {TRAIN_SETTINGS!r}:
    _model = _TwoHead().double()
    with torch.no_grad():
        for _k, _v in _model.state_dict().items():
            if _k in _state:
                _v.copy_(_state[_k])
    _model.eval()   # handed over in eval mode: the function must switch to training mode
    _opt = torch.optim.SGD(_model.parameters(), lr=_lr, momentum=_mu)
    _loader = _DL(_TD({_lit(X)}, {_lit(y, "int64")}, {_lit(boxes)}), batch_size=_batch, shuffle=False)
    _losses = [_train_detector_epoch(_model, _loader, _opt, "cpu", box_weight=_bw) for _ in range(_epochs)]
    _out.append({{"losses": [float(_l) for _l in _losses],
                 "state": {{_k: _v.detach().clone() for _k, _v in _model.state_dict().items()}}}})
_mm = _TwoHead().to("meta")
_meta = _meta_try(lambda: _train_on_meta(_mm, _DL(_TD(torch.zeros(2, 1, 6, 6), torch.zeros(2, dtype=torch.long), torch.zeros(2, 4)),
                                                   batch_size=2), torch.optim.SGD(_mm.parameters(), lr=0.1), _META, box_weight=2.0))
{{"runs": _out, "meta": _meta}}
""")
    got = student.eval(probe)
    for (batch, lr, mu, bw, epochs), answer in zip(TRAIN_SETTINGS, got["runs"]):
        call = (f"train_detector_epoch(model, loader, SGD(lr={lr}, momentum={mu}), 'cpu', box_weight={bw}) called "
                f"{epochs} time(s) on 13 samples in batches of {batch}, for a Conv2d -> BatchNorm2d -> two heads model handed "
                "over in eval mode (the grader replaced detection_loss by another loss for this test)")
        hint = ("model.train(), then for every batch (images, labels, boxes): optimizer.zero_grad(), logits, preds = "
                "model(images), loss = detection_loss(logits, preds, labels, boxes, box_weight), loss.backward(), "
                "optimizer.step()")
        matched = False
        for loss_fn in (_fake_loss, _true_loss):  # noqa: F821 (defined by exec above)
            means, params = _train_oracle(state, X, y, boxes, batch, lr, mu, bw, epochs, loss_fn)
            if all(is_close(answer["state"][k], v, rtol=1e-6, atol=1e-9) for k, v in params.items()):
                matched = True
                assert_close(answer["losses"], means, f"{call}: the values returned, the mean of each epoch's batch losses "
                             "(loss.item() of every batch, averaged over the batches)", rtol=1e-6, atol=1e-9)
                break
        if not matched:
            means, params = _train_oracle(state, X, y, boxes, batch, lr, mu, bw, epochs, _fake_loss)  # noqa: F821
            for key, value in params.items():
                assert_close(answer["state"][key], value, f"{call}: {key!r} afterwards, compared with {hint}",
                             rtol=1e-6, atol=1e-9)
    assert_on_meta(got["meta"], "train_detector_epoch(model, loader, SGD, device, box_weight=2.0) with the model moved to that "
                   "device and a loader of 2 (image (1, 6, 6), label, box) samples on the CPU",
                   "move all three tensors of the batch to the device: images, labels, boxes = images.to(device), "
                   "labels.to(device), boxes.to(device) (the loss cannot mix outputs on a GPU with targets on the CPU)")
    ref = reference.eval(probe)
    means, _ = _train_oracle(state, X, y, boxes, *TRAIN_SETTINGS[0], _fake_loss)  # noqa: F821
    assert_close(ref["runs"][0]["losses"], means, "grader setup: the reference's losses", rtol=1e-6, atol=1e-9)


def _make_shapes(n: int, size: int, seed: int):
    """The notebook's generator of shape pictures (a copy: the hidden pictures are made here)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 120, size=(n, size, size, 3)).astype(np.float32)
    labels = rng.integers(0, len(COLOURS), size=n)
    boxes = np.zeros((n, 4), dtype=np.float32)
    for i in range(n):
        w, h = rng.integers(size // 5, size * 3 // 5, size=2)
        x1, y1 = rng.integers(0, size - w + 1), rng.integers(0, size - h + 1)
        colour = np.array(COLOURS[labels[i]], dtype=np.float32)
        images[i, y1:y1 + h, x1:x1 + w] = colour + rng.normal(0, 12, size=(h, w, 3))
        boxes[i] = (x1, y1, x1 + w, y1 + h)
    images = np.clip(images, 0, 255) / 255.0
    return images.transpose(0, 3, 1, 2).astype(np.float32), labels, (boxes / size).astype(np.float64)


@pytest.mark.points(3)
def test_trained_detector(student, reference, grading_seed):
    """The trained detector_net finds the colour and the box of hidden shape pictures (accuracy and mean IoU)"""
    import base64
    from torchvision import ops
    size = reference.eval("int(IMG_SIZE)")
    images, labels, boxes = _make_shapes(N_HIDDEN, size, grading_seed % (1 << 31) + 606)
    payload = base64.b64encode(np.ascontiguousarray(images).tobytes()).decode("ascii")
    probe = f"""
_X = torch.from_numpy(np.frombuffer(__import__('base64').b64decode({payload!r}), dtype='<f4').reshape({images.shape!r}).copy())
_was_training = detector_net.training
detector_net.eval()
try:
    with torch.no_grad():
        _lg, _bx = detector_net(_X.to(next(detector_net.parameters()).device))
finally:
    detector_net.train(_was_training)
[_lg.argmax(1).cpu().numpy().astype(np.int64), _bx.cpu().double().numpy()]
"""
    def score(answer):
        pred, box = np.asarray(answer[0]), np.asarray(answer[1], dtype=float)
        assert pred.shape == (N_HIDDEN,) and box.shape == (N_HIDDEN, 4), (
            f"the trained detector_net on {N_HIDDEN} hidden pictures should give {N_HIDDEN} classes and boxes [{N_HIDDEN}, 4], "
            f"got {pred.shape} and {box.shape}")
        return float((pred == labels).mean()), float(ops.box_iou(_t(box), _t(boxes)).diagonal().mean())
    accuracy, mean_iou = score(student.eval(probe))
    ref_accuracy, ref_iou = score(reference.eval(probe))
    assert accuracy >= ACCURACY_THRESHOLD, (
        f"the notebook's trained detector_net on {N_HIDDEN} hidden pictures of {size} x {size}: colour accuracy "
        f"{accuracy:.3f}, it should be at least {ACCURACY_THRESHOLD} (the reference: {ref_accuracy:.3f}). Check "
        "ObjectDetectorCNN, detection_loss and train_detector_epoch")
    assert mean_iou >= IOU_THRESHOLD, (
        f"the notebook's trained detector_net on {N_HIDDEN} hidden pictures: mean IoU of the predicted boxes with the true "
        f"ones {mean_iou:.3f}, it should be at least {IOU_THRESHOLD} (the reference: {ref_iou:.3f}; the average box "
        "everywhere gives about 0.15). Check the box head, the MSE term and box_weight in the loss")


# --------------------------------------------------------------------------- 6. Faster R-CNN
@pytest.mark.points(2)
def test_replace_predictor(student, reference, grading_seed):
    """replace_predictor: a FastRCNNPredictor with the old predictor's in_features and num_classes (4 x for the boxes)"""
    rng = _rng(grading_seed, 19)
    cases = [(64, 5), (int(rng.integers(20, 90)), int(rng.integers(2, 12))), (100, 2)]
    probe = f"""
from torchvision.models.detection import FasterRCNN as _FasterRCNN
from torchvision.models.detection.faster_rcnn import TwoMLPHead as _TwoMLPHead
from torchvision.models.detection.rpn import AnchorGenerator as _AG
_out = []
for _rep, _n in {cases!r}:
    _bb = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.ReLU())
    _bb.out_channels = 8
    _model = _FasterRCNN(_bb, num_classes=None, min_size=64, max_size=64,
                         rpn_anchor_generator=_AG(sizes=((16, 32),), aspect_ratios=((1.0,),)),
                         box_roi_pool=ops.MultiScaleRoIAlign(featmap_names=["0"], output_size=7, sampling_ratio=2),
                         box_head=_TwoMLPHead(8 * 7 * 7, _rep), box_predictor=FastRCNNPredictor(_rep, 91))
    _ret = replace_predictor(_model, _n)
    _p = _model.roi_heads.box_predictor
    _out.append({{"same": _ret is _model, "type": type(_p).__name__,
                 "cls": [_p.cls_score.in_features, _p.cls_score.out_features] if hasattr(_p, "cls_score") else None,
                 "box": [_p.bbox_pred.in_features, _p.bbox_pred.out_features] if hasattr(_p, "bbox_pred") else None}})
_p = faster_rcnn.roi_heads.box_predictor
_out.append([_p.cls_score.in_features, _p.cls_score.out_features, _p.bbox_pred.out_features, int(NUM_CLASSES)])
_out
"""
    got = student.eval(probe)
    for (rep, n), answer in zip(cases, got[:-1]):
        call = f"replace_predictor(model, {n}) for a Faster R-CNN whose box head gives {rep} features"
        assert answer["type"] == "FastRCNNPredictor", f"{call}: the new box predictor should be a FastRCNNPredictor, got {answer['type']}"
        assert answer["cls"] == [rep, n], (
            f"{call}: cls_score should be Linear({rep}, {n}), got {answer['cls']} (in_features = "
            "model.roi_heads.box_predictor.cls_score.in_features of the old predictor, not a fixed 1024)")
        assert answer["box"] == [rep, 4 * n], f"{call}: bbox_pred should be Linear({rep}, {4 * n}), got {answer['box']}"
        assert answer["same"], f"{call}: return the model"
    nb = got[-1]
    assert nb[:3] == [1024, nb[3], 4 * nb[3]], (
        f"the notebook's fasterrcnn_resnet50_fpn after replace_predictor(faster_rcnn, {nb[3]}): expected cls_score 1024 -> "
        f"{nb[3]} and bbox_pred -> {4 * nb[3]}, got {nb[:3]}")
    assert reference.eval(probe)[0]["cls"] == [64, 5]

