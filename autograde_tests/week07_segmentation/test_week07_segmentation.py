"""Hidden tests for week07_segmentation: trimaps and binary masks, convolutionalization,
upsampling from scratch, a U-Net for any input size and its training, segmentation metrics, and
the panoptic merge.

Total: 45 points over 22 tests.

Each function is graded on its own, on inputs made here from `grading_seed`: trimaps from the
test's own copy of the notebook's pet generator, random tensors, weights and batch-norm
statistics set by the probe, hidden masks with structure (rectangles and discs, some classes
absent from both masks, some from one). Where a graded function may call another graded one,
the probe runs it with fakes (grader.testing.with_fakes, or UNet.__init__ rebound to a
conv_block with tanh where the answer has ReLU): a lookup for transposed_output_size that hands
back the sizes computed here, and per-class metrics that return fixed vectors the test chose.
A function that does the helper's work itself gets the true result, which is accepted too. No
probe contains a correct implementation of a graded function.

Expected values are computed here with independent oracles in float64: F.interpolate,
F.conv2d, F.conv_transpose2d, F.max_pool2d / F.max_unpool2d, nn.ConvTranspose2d's output sizes,
torch.optim on the same models, and torchmetrics' `mean_iou` and `dice_score` (their
empty-class convention: a class absent from both masks is left out; NaN in our per-class
outputs). The reference kernel is asked the same probes as a cross-check of the grader's setup.

Device checks without a GPU: UNet (on a size that needs padding), train_epoch and predict_masks
are also run once on PyTorch's `meta` device (grader.testing.on_meta_device), where padding made on
the CPU, masks or pictures left on the CPU raise as they would on a GPU, and masks returned on the
device instead of the CPU are reported.

The quality test grades the notebook's trained `unet` on hidden shape pictures drawn here with
the notebook's generator (a copy) from a seed derived from `grading_seed`; the pictures travel
as uint8 bytes, the masks stay here.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked (the engine uses --assert=plain, but an outer pytest session may rewrite this module).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.testing import (META_DEVICE, array_src, assert_close, assert_on_meta, is_close, on_meta_device, remember,
                            tensor_src, with_fakes)

F64 = torch.float64

# Mean IoU (3 classes, background included) that the notebook's trained U-Net must reach on 96
# hidden 24 x 24 shape pictures. Calibration (FAST grading run: UNet(3, 3, (8, 16)), 6 epochs of
# Adam at lr 0.01; notebook SEED 0-14, hidden pictures from three grading seeds): the reference
# reaches 0.77-0.95 (mean 0.89). A model that labels everything background scores about 0.27, an
# untrained one 0.1-0.3; a slimmer (4, 8) U-Net sometimes never learned one of the shapes and
# stopped at 0.60. 0.55 leaves room below the reference's worst run for a correct loop that draws
# its batches in another order (or trains on a GPU), and still fails a model that did not learn.
QUALITY_THRESHOLD = 0.55
N_HIDDEN = 96


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, 7, k])


def _round(a, decimals: int = 4):
    return np.round(np.asarray(a, dtype=float), decimals)


def _lit(array, dtype: str = "float64") -> str:
    """A probe expression that rebuilds the array as a tensor of the given dtype (from its bytes)."""
    return tensor_src(array, dtype)


def _first_diff(got, expected) -> str:
    got, expected = np.asarray(got), np.asarray(expected)
    if expected.dtype.kind in "iu" and got.dtype.kind == "f" and np.all(np.mod(got, 1) == 0):
        got = got.astype(np.int64)       # integer answers travel as floats
    bad = np.argwhere(got != expected)
    if not len(bad):
        return "no difference"
    where = tuple(int(i) for i in bad[0])
    return (f"{len(bad)} of {got.size} entries differ, the first at {list(where)}: expected "
            f"{expected[where].item()!r}, got {got[where].item()!r}")


def make_trimap(height: int, width: int, seed: int) -> np.ndarray:
    """The notebook's pet trimap (a copy of make_pet's mask part): 1 inside, 3 on the band, 2 outside."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = rng.uniform(0.4, 0.6) * height, rng.uniform(0.4, 0.6) * width
    ay, ax = rng.uniform(0.25, 0.35) * height, rng.uniform(0.2, 0.3) * width
    radius = np.sqrt(((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2)
    band = 3.0 / min(ay, ax)
    trimap = np.full((height, width), 2, dtype=np.uint8)
    trimap[radius <= 1 + band / 2] = 3
    trimap[radius <= 1 - band / 2] = 1
    return trimap


def make_shapes(n: int, size: int, seed: int):
    """A copy of the notebook's generator: pictures (n, 3, size, size) and masks (n, size, size)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.empty((n, 3, size, size), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    for i in range(n):
        img = 0.35 + 0.25 * rng.random(3)[:, None, None] + 0.08 * rng.standard_normal((3, size, size))
        h, w = rng.integers(size // 5, size // 2, 2)
        r, c = rng.integers(0, size - h), rng.integers(0, size - w)
        rect = (yy >= r) & (yy < r + h) & (xx >= c) & (xx < c + w)
        cy, cx = rng.uniform(0.2 * size, 0.8 * size, 2)
        ay, ax = rng.uniform(0.1 * size, 0.25 * size, 2)
        ellipse = ((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2 <= 1
        rect_colour = np.array([0.15, 0.2, 0.75]) + 0.15 * rng.standard_normal(3)
        ellipse_colour = np.array([0.8, 0.3, 0.15]) + 0.15 * rng.standard_normal(3)
        img[:, rect] = rect_colour[:, None] + 0.08 * rng.standard_normal((3, int(rect.sum())))
        masks[i][rect] = 2
        img[:, ellipse] = ellipse_colour[:, None] + 0.08 * rng.standard_normal((3, int(ellipse.sum())))
        masks[i][ellipse] = 1
        images[i] = np.clip(img, 0, 1)
    return images, masks


# --------------------------------------------------------------------------- 1. trimaps
@pytest.mark.points(2)
def test_binary_mask(student, reference, grading_seed):
    """binary_mask: 1.0 where the label is `foreground`, for PILToTensor (integer) and ToTensor (label / 255) trimaps"""
    rng = _rng(grading_seed, 1)
    h, w = int(rng.integers(30, 45)), int(rng.integers(40, 60))
    trimap = make_trimap(h, w, int(rng.integers(1 << 30)))
    labels = rng.integers(0, 6, (2, 1, 5, 7))
    voc = rng.choice([0, 1, 15, 255], size=(9, 11))            # PASCAL VOC style: 255 marks the void border
    probe = f"""
_trimap = Image.fromarray(np.array({trimap.tolist()!r}, dtype=np.uint8), mode="L")
_as_float, _as_int = transforms.ToTensor()(_trimap), transforms.PILToTensor()(_trimap)
_labels = {_lit(labels, "int64")}
_out = []
for _name, _mask, _fg in (("ToTensor", _as_float, 1), ("ToTensor", _as_float, 3), ("PILToTensor", _as_int, 1),
                          ("PILToTensor", _as_int, 2), ("int64", _labels, 4), ("int64", _labels, 0)):
    _r = binary_mask(_mask, foreground=_fg)
    _out.append({{"values": _r.double(), "dtype": str(_r.dtype)}})
_r = binary_mask(_as_float)
_out.append({{"values": _r.double(), "dtype": str(_r.dtype)}})
_voc = transforms.ToTensor()(Image.fromarray(np.array({voc.tolist()!r}, dtype=np.uint8), mode="L"))
for _fg in (255, 15):
    _r = binary_mask(_voc, foreground=_fg)
    _out.append({{"values": _r.double(), "dtype": str(_r.dtype)}})
_out
"""
    got = student.eval(probe)
    cases = [("a ToTensor trimap (values label / 255)", trimap[None], 1), ("a ToTensor trimap", trimap[None], 3),
             ("a PILToTensor trimap (uint8 labels 1, 2, 3)", trimap[None], 1), ("a PILToTensor trimap", trimap[None], 2),
             ("an int64 mask of shape (2, 1, 5, 7) with labels 0-5", labels, 4), ("an int64 mask (2, 1, 5, 7)", labels, 0),
             ("a ToTensor trimap, foreground left at its default", trimap[None], 1),
             ("a ToTensor mask with PASCAL VOC labels 0, 1, 15 and 255 (void)", voc[None], 255),
             ("a ToTensor mask with PASCAL VOC labels 0, 1, 15 and 255 (void)", voc[None], 15)]
    for (name, mask, fg), answer in zip(cases, got):
        call = f"binary_mask(mask, foreground={fg}) for {name} of shape {mask.shape}"
        expected = (mask == fg).astype(float)
        assert answer["dtype"] == "torch.float32", f"{call}: expected a float32 tensor, got {answer['dtype']}"
        values = np.asarray(answer["values"])
        assert values.shape == expected.shape, f"{call}: expected the mask's shape {expected.shape}, got {values.shape}"
        assert np.array_equal(values, expected), (
            f"{call}: {_first_diff(values, expected)}. 1.0 where the label is {fg}, 0.0 elsewhere; a ToTensor mask "
            "holds label / 255 (turn it back into labels with round(mask * 255)), an integer mask the labels themselves")
    ref = reference.eval(probe)
    assert np.array_equal(np.asarray(ref[0]["values"]), (trimap[None] == 1).astype(float)), "grader setup: the reference"


@pytest.mark.points(1)
def test_cut_out(student, reference, grading_seed):
    """cut_out: the picture where the mask is 1, `fill` elsewhere; the mask broadcasts over the channels"""
    rng = _rng(grading_seed, 2)
    image = _round(rng.random((3, 6, 8)))
    mask = (rng.random((1, 6, 8)) < 0.5).astype(float)
    images = _round(rng.random((2, 3, 4, 5)))
    masks = (rng.random((2, 1, 4, 5)) < 0.5).astype(float)
    probe = f"""
_img, _mask = {_lit(image)}, {_lit(mask)}
_imgs, _masks = {_lit(images)}, {_lit(masks)}
[cut_out(_img, _mask), cut_out(_img, _mask, fill=1.0), cut_out(_img, _mask, 0.25), cut_out(_imgs, _masks, fill=0.5),
 cut_out(_imgs, _masks)]
"""
    got = student.eval(probe)
    cases = [(image, mask, 0.0, "a picture (3, 6, 8) and a mask (1, 6, 8), fill left at its default"),
             (image, mask, 1.0, "a picture (3, 6, 8) and a mask (1, 6, 8), fill=1.0"),
             (image, mask, 0.25, "a picture (3, 6, 8) and a mask (1, 6, 8), fill=0.25"),
             (images, masks, 0.5, "a batch of pictures (2, 3, 4, 5) and masks (2, 1, 4, 5), fill=0.5"),
             (images, masks, 0.0, "a batch of pictures (2, 3, 4, 5) and masks (2, 1, 4, 5)")]
    for (img, m, fill, name), answer in zip(cases, got):
        assert_close(np.asarray(answer, dtype=float), img * m + fill * (1 - m),
                     f"cut_out for {name}: the picture where the mask is 1, {fill} where it is 0 (image * mask + fill * "
                     "(1 - mask); the mask broadcasts over the channels)", rtol=1e-9, atol=1e-12)
    assert_close(np.asarray(reference.eval(probe)[0]), image * mask, "grader setup", rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- 2. convolutionalization
def _conv_cases(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    cases = []
    for c, h, w, out, bias in ((4, 5, 3, 21, True), (2, 3, 3, 7, False), (3, 1, 4, 5, True), (1, 4, 2, 3, True)):
        weight = rng.normal(0, 0.3, (out, c * h * w)).astype(np.float32)
        b = rng.normal(0, 0.3, out).astype(np.float32) if bias else None
        cases.append((c, h, w, out, weight, b))
    return cases


def _conv_probe(cases, inputs) -> str:
    lines = ["_out = []"]
    for (c, h, w, out, weight, b), x in zip(cases, inputs):
        lines.append(f"_lin = nn.Linear({c * h * w}, {out}, bias={b is not None})")
        lines.append("with torch.no_grad():")
        lines.append(f"    _lin.weight.copy_({_lit(weight, 'float32')})")
        if b is not None:
            lines.append(f"    _lin.bias.copy_({_lit(b, 'float32')})")
        lines.append(f"_conv = convolutionalize(_lin, {c}, {h}, {w})")
        lines.append("_is_conv = isinstance(_conv, nn.Conv2d)")
        lines.append(f"_y = _conv.double()({_lit(x)}) if _is_conv else None")
        lines.append("_out.append({'is_conv': _is_conv, 'y': None if _y is None else _y.detach(), "
                     "'linear_unchanged': bool(torch.equal(_lin.weight, " + _lit(weight, "float32") + "))})")
    lines.append("_out")
    return "\n".join(lines) + "\n"


@pytest.mark.points(2)
def test_convolutionalize_matches_linear(student, reference, grading_seed):
    """convolutionalize: on inputs of the training size, conv(x).flatten(1) equals linear(x.flatten(1))"""
    cases = _conv_cases(grading_seed, 3)
    rng = _rng(grading_seed, 4)
    inputs = [_round(rng.normal(size=(2, c, h, w))) for c, h, w, *_ in cases]
    got = student.eval(_conv_probe(cases, inputs))
    for (c, h, w, out, weight, b), x, answer in zip(cases, inputs, got):
        call = (f"conv = convolutionalize(nn.Linear({c * h * w}, {out}, bias={b is not None}), {c}, {h}, {w}), then "
                f"conv(x) for x of shape {x.shape}")
        assert answer["is_conv"], f"{call}: convolutionalize should return an nn.Conv2d"
        expected = F.linear(torch.tensor(x).flatten(1), torch.tensor(weight, dtype=F64),
                            None if b is None else torch.tensor(b, dtype=F64)).numpy()[:, :, None, None]
        y = np.asarray(answer["y"], dtype=float)
        assert y.shape == expected.shape, (
            f"{call}: expected a 1 x 1 map per output, shape {expected.shape}, got {y.shape} (the kernel covers the whole "
            f"{h} x {w} feature map: kernel_size=({h}, {w}))")
        assert_close(y, expected, f"{call}, flattened, compared with linear(x.flatten(1)) (the weight row of output o, "
                     f"reshaped to ({c}, {h}, {w}), is kernel o; the bias is copied{' ' if b is not None else ' only if there is one'})",
                     rtol=1e-6, atol=1e-9)
        assert answer["linear_unchanged"], f"{call}: the linear layer's weights should not change"
    ref = reference.eval(_conv_probe(cases, inputs))
    assert ref[0]["is_conv"], "grader setup"


@pytest.mark.points(2)
def test_convolutionalize_spatial_map(student, reference, grading_seed):
    """convolutionalize: on larger inputs the conv head returns a map, one linear prediction per window"""
    cases = _conv_cases(grading_seed, 5)
    rng = _rng(grading_seed, 6)
    inputs = [_round(rng.normal(size=(2, c, h + int(rng.integers(2, 6)), w + int(rng.integers(1, 7))))) for c, h, w, *_ in cases]
    got = student.eval(_conv_probe(cases, inputs))
    for (c, h, w, out, weight, b), x, answer in zip(cases, inputs, got):
        call = (f"convolutionalize(nn.Linear({c * h * w}, {out}, bias={b is not None}), {c}, {h}, {w}) applied to feature "
                f"maps of shape {x.shape}")
        assert answer["is_conv"], f"{call}: convolutionalize should return an nn.Conv2d"
        kernel = torch.tensor(weight, dtype=F64).reshape(out, c, h, w)
        expected = F.conv2d(torch.tensor(x), kernel, None if b is None else torch.tensor(b, dtype=F64)).numpy()
        y = np.asarray(answer["y"], dtype=float)
        assert y.shape == expected.shape, (
            f"{call}: expected a map of predictions of shape {expected.shape} ({x.shape[2]} - {h} + 1 rows, {x.shape[3]} - "
            f"{w} + 1 columns), got {y.shape}")
        assert_close(y, expected, f"{call}: each position of the map should be the linear layer applied to the "
                     f"{h} x {w} window under it", rtol=1e-6, atol=1e-9)
    assert reference.eval(_conv_probe(cases, inputs))[0]["is_conv"], "grader setup"


# --------------------------------------------------------------------------- 3. upsampling
@pytest.mark.points(1)
def test_upsample_nearest(student, reference, grading_seed):
    """upsample_nearest: every value copied into a scale x scale block, as F.interpolate(mode='nearest')"""
    rng = _rng(grading_seed, 7)
    cases = [([[[[1.0, 2.0], [3.0, 4.0]]]], 2), (_round(rng.normal(size=(2, 3, 3, 5))), 3),
             (_round(rng.normal(size=(1, 2, 4, 2))), 2), (_round(rng.normal(size=(2, 1, 3, 3))), 1),
             (_round(rng.normal(size=(1, 1, 2, 3))), 4)]
    probe = "[" + ", ".join(f"upsample_nearest({_lit(x)}, {s})" for x, s in cases) + "]"
    got = student.eval(probe)
    for (x, s), answer in zip(cases, got):
        x = np.asarray(x, dtype=float)
        expected = F.interpolate(torch.tensor(x), scale_factor=s, mode="nearest").numpy()
        assert_close(np.asarray(answer, dtype=float), expected,
                     f"upsample_nearest(x, {s}) for x of shape {x.shape}, compared with F.interpolate(x, scale_factor={s}, "
                     f"mode='nearest') (each value repeated {s} times along the rows and along the columns, in place: "
                     "repeat_interleave, not a tiling of the whole map)", rtol=0, atol=0)
    assert_close(np.asarray(reference.eval(probe)[0]), np.array([[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]],
                                                                  dtype=float), "grader setup", rtol=0, atol=0)


@pytest.mark.points(2)
def test_upsample_bilinear(student, reference, grading_seed):
    """upsample_bilinear: corners aligned (the course's [1, 1.3333, 1.6667, 2]), as F.interpolate(align_corners=True)"""
    rng = _rng(grading_seed, 8)
    cases = [([[[[1.0, 2.0], [3.0, 4.0]]]], 4, 4), ([[[[16.0]]]], 4, 4), (_round(rng.normal(size=(2, 2, 3, 5))), 7, 4),
             (_round(rng.normal(size=(1, 1, 4, 4))), 9, 13), (_round(rng.normal(size=(1, 3, 5, 6))), 3, 8),
             (_round(rng.normal(size=(2, 1, 2, 3))), 5, 1), (_round(rng.normal(size=(1, 1, 1, 4))), 3, 7)]
    probe = "[" + ", ".join(f"upsample_bilinear({_lit(x)}, {oh}, {ow})" for x, oh, ow in cases) + "]"
    got = student.eval(probe)
    for (x, oh, ow), answer in zip(cases, got):
        x = np.asarray(x, dtype=float)
        expected = F.interpolate(torch.tensor(x), size=(oh, ow), mode="bilinear", align_corners=True).numpy()
        answer = np.asarray(answer, dtype=float)
        call = f"upsample_bilinear(x, {oh}, {ow}) for x of shape {x.shape}"
        assert answer.shape == expected.shape, f"{call}: expected the shape {expected.shape}, got {answer.shape}"
        hint = ("output pixel i sits at the input position i * (n_in - 1) / (n_out - 1), 0 when n_out is 1: the corner "
                "values stay in the corners (align_corners=True, not PyTorch's default)")
        if x.shape[-2:] == (2, 2) and x[0, 0, 0, 0] == 1.0 and oh == 4:
            hint += "; the course's rows are [1, 1.3333, 1.6667, 2] and [3, 3.3333, 3.6667, 4]"
        assert_close(answer, expected, f"{call}, compared with F.interpolate(x, size=({oh}, {ow}), mode='bilinear', "
                     f"align_corners=True) ({hint})", rtol=1e-6, atol=1e-6)
    ref = reference.eval(probe)
    assert_close(np.asarray(ref[1]), np.full((1, 1, 4, 4), 16.0), "grader setup", rtol=0, atol=1e-12)


@pytest.mark.points(1)
def test_transposed_output_size(student, reference, grading_seed):
    """transposed_output_size: (n - 1) s - 2p + k + output_padding, the course's table and nn.ConvTranspose2d's sizes"""
    rng = _rng(grading_seed, 9)
    cases = [(4, 2, 2, 0, 0), (4, 3, 1, 0, 0), (4, 3, 1, 1, 0), (4, 4, 2, 1, 0), (4, 3, 2, 1, 0), (7, 3, 2, 1, 1)]
    while len(cases) < 16:
        k, s = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        cases.append((int(rng.integers(1, 20)), k, s, int(rng.integers(0, (k + 1) // 2)), int(rng.integers(0, s))))
    probe = (f"[transposed_output_size(*_c) for _c in {cases!r}] + [transposed_output_size(5, 3), "
             f"transposed_output_size(5, 2, 2), transposed_output_size(5, 4, stride=2, padding=1)]")
    got = student.eval(probe)
    for (n, k, s, p, op), answer in zip(cases, got):
        want = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)(torch.zeros(1, 1, n, n)).shape[-1]
        assert answer == want, (
            f"transposed_output_size({n}, {k}, {s}, {p}, {op}): nn.ConvTranspose2d(kernel_size={k}, stride={s}, padding={p}, "
            f"output_padding={op}) turns {n} pixels into {want} ((n - 1) * stride - 2 * padding + kernel_size + "
            f"output_padding), got {answer}")
    assert got[-3:] == [7, 10, 10], (
        f"transposed_output_size(5, 3), (5, 2, 2) and (5, 4, stride=2, padding=1) with the other arguments at their defaults "
        f"(stride 1, padding 0, output_padding 0) should be [7, 10, 10], got {got[-3:]}")
    assert reference.eval(probe)[:5] == [8, 6, 4, 8, 7], "grader setup"


FAKE_SIZE = """
def _fake_size(size, kernel_size, stride=1, padding=0, output_padding=0):
    return _SIZES[(int(size), int(kernel_size), int(stride), int(padding), int(output_padding))]
"""


@pytest.mark.points(3)
def test_conv_transpose2d(student, reference, grading_seed):
    """conv_transpose2d by hand: zeros between the inputs, a flipped kernel, compared with F.conv_transpose2d"""
    rng = _rng(grading_seed, 10)
    settings = [  # B, C_in, C_out, H, W, kh, kw, stride, padding, bias
        (1, 1, 1, 3, 3, 3, 3, 1, 0, False), (2, 3, 2, 4, 5, 3, 3, 2, 1, True), (1, 2, 3, 3, 4, 2, 2, 2, 0, True),
        (2, 2, 4, 4, 3, 4, 4, 2, 1, False), (1, 3, 1, 5, 4, 3, 2, 3, 0, True), (1, 1, 2, 4, 5, 3, 3, 1, 2, True),
        (2, 4, 3, 3, 3, 5, 3, 1, 1, False)]
    cases = []
    for b, ci, co, h, w, kh, kw, s, p, bias in settings:
        cases.append((_round(rng.normal(size=(b, ci, h, w))), _round(rng.normal(size=(ci, co, kh, kw))),
                      _round(rng.normal(size=co)) if bias else None, s, p))
    sizes = {}
    for x, weight, _, s, _p in cases:
        for n, k in ((x.shape[2], weight.shape[2]), (x.shape[3], weight.shape[3])):
            for stride in (1, s):
                for pad in range(k):
                    for op in (0, 1):
                        sizes[(n, k, stride, pad, op)] = (n - 1) * stride - 2 * pad + k + op
    lines = [FAKE_SIZE + f"_SIZES = {sizes!r}", with_fakes("conv_transpose2d", {"transposed_output_size": "_fake_size"}),
             "_out = []"]
    for x, weight, bias, s, p in cases:
        bias_src = "None" if bias is None else _lit(bias)
        lines.append(f"_out.append(_conv_transpose2d({_lit(x)}, {_lit(weight)}, {bias_src}, stride={s}, padding={p}))")
    x0, w0 = cases[0][0], cases[0][1]
    lines.append(f"_out.append(_conv_transpose2d({_lit(x0)}, {_lit(w0)}))")
    lines.append("_out")
    probe = "\n".join(lines) + "\n"
    got = student.eval(probe)
    for (x, weight, bias, s, p), answer in zip(cases, got):
        expected = F.conv_transpose2d(torch.tensor(x), torch.tensor(weight), None if bias is None else torch.tensor(bias),
                                      stride=s, padding=p).numpy()
        call = (f"conv_transpose2d(x, weight, {'bias' if bias is not None else 'None'}, stride={s}, padding={p}) for x of "
                f"shape {x.shape} and weight of shape {weight.shape}")
        answer = np.asarray(answer, dtype=float)
        assert answer.shape == expected.shape, (
            f"{call}: expected the shape {expected.shape} ((n - 1) * {s} - 2 * {p} + k per side, {weight.shape[1]} output "
            f"channels: the weight is (C_in, C_out, kh, kw)), got {answer.shape}")
        assert_close(answer, expected, f"{call}, compared with F.conv_transpose2d (insert {s} - 1 zeros between the "
                     "inputs, pad with k - 1 - padding zeros, convolve with the kernel flipped in both directions and its "
                     "channels swapped; or stamp weight * x[i, j] at (i * stride, j * stride), add up, cut padding from "
                     "every border)", rtol=1e-7, atol=1e-9)
    expected = F.conv_transpose2d(torch.tensor(x0), torch.tensor(w0)).numpy()
    assert_close(np.asarray(got[-1], dtype=float), expected, f"conv_transpose2d(x, weight) with the defaults (no bias, "
                 f"stride 1, padding 0) for x of shape {x0.shape}", rtol=1e-7, atol=1e-9)
    ref = reference.eval(probe)
    assert_close(np.asarray(ref[1]), F.conv_transpose2d(torch.tensor(cases[1][0]), torch.tensor(cases[1][1]),
                                                        torch.tensor(cases[1][2]), stride=2, padding=1).numpy(),
                 "grader setup", rtol=1e-7, atol=1e-9)


COURSE_MAP = [[[[1.0, 5, 2, 0], [3, 4, 8, 1], [0, 2, 3, 9], [6, 1, 4, 2]]]]


def _pool_cases(grading_seed: int, k: int):
    rng = _rng(grading_seed, k)
    cases = [(np.array(COURSE_MAP), 2)]
    for shape, size in (((2, 3, 7, 9), 2), ((1, 2, 9, 8), 3), ((2, 1, 6, 6), 2), ((1, 1, 5, 7), 1), ((1, 2, 8, 11), 4)):
        cases.append((rng.permutation(np.prod(shape)).reshape(shape) / 10.0 - 3.0, size))   # distinct values: no ties
    return cases


@pytest.mark.points(2)
def test_max_pool_with_indices(student, reference, grading_seed):
    """max_pool_with_indices: the maxima and their flat indices row * W + column, as F.max_pool2d(return_indices=True)"""
    cases = _pool_cases(grading_seed, 11)
    probe = ("_out = []\nfor _x, _k in [" + ", ".join(f"({_lit(x)}, {k})" for x, k in cases) + "]:\n"
             "    _v, _i = max_pool_with_indices(_x, _k)\n"
             "    _out.append({'values': _v, 'indices': _i.double(), 'dtype': str(_i.dtype)})\n_out\n")
    got = student.eval(probe)
    for (x, k), answer in zip(cases, got):
        values, indices = F.max_pool2d(torch.tensor(x), k, return_indices=True)
        call = f"max_pool_with_indices(x, {k}) for x of shape {x.shape}"
        if x.shape == (1, 1, 4, 4) and k == 2:
            call += " (the course's map: maxima [[5, 8], [6, 9]] at [[1, 6], [12, 11]])"
        assert_close(np.asarray(answer["values"], dtype=float), values.numpy(),
                     f"{call}: the maxima of the {k} x {k} windows (stride {k}; windows that do not fit are dropped)",
                     rtol=0, atol=0)
        assert_close(np.asarray(answer["indices"], dtype=float), indices.numpy().astype(float),
                     f"{call}: the indices, row * W + column in the input plane of width W = {x.shape[-1]} (not the "
                     "position inside the window, and not the width of the pooled part)", rtol=0, atol=0)
        assert answer["dtype"] == "torch.int64", f"{call}: the indices should be int64, got {answer['dtype']}"
    ref = reference.eval(probe)
    assert_close(np.asarray(ref[0]["indices"]), np.array([[[[1.0, 6.0], [12.0, 11.0]]]]), "grader setup", rtol=0, atol=0)


@pytest.mark.points(2)
def test_max_unpool(student, reference, grading_seed):
    """max_unpool: each value back at its index, zeros elsewhere, in an output of the given size (as nn.MaxUnpool2d)"""
    cases = _pool_cases(grading_seed, 12)
    data = []
    for x, k in cases:
        values, indices = F.max_pool2d(torch.tensor(x), k, return_indices=True)
        size = tuple(x.shape[-2:])
        data.append((values.numpy(), indices.numpy(), size, F.max_unpool2d(values, indices, k, output_size=size).numpy()))
    probe = "[" + ", ".join(f"max_unpool({_lit(v)}, {_lit(i, 'int64')}, {s!r})" for v, i, s, _ in data) + "]"
    got = student.eval(probe)
    for (values, _indices, size, expected), answer in zip(data, got):
        call = f"max_unpool(values, indices, {size}) for values and indices of shape {values.shape}"
        if size == (4, 4) and values.shape == (1, 1, 2, 2):
            call += " (the course's example)"
        answer = np.asarray(answer, dtype=float)
        assert answer.shape == expected.shape, (
            f"{call}: expected the shape {expected.shape} (the given output size, not {values.shape[-2]} * k), got "
            f"{answer.shape}")
        assert_close(answer, expected, f"{call}, compared with nn.MaxUnpool2d: each value goes to the flat index "
                     "row * W + column of its own plane, zeros everywhere else", rtol=0, atol=0)
    assert_close(np.asarray(reference.eval(probe)[0]), data[0][3], "grader setup", rtol=0, atol=0)


# --------------------------------------------------------------------------- 4. U-Net
def _block_count(i: int, o: int) -> int:
    return 9 * i * o + 2 * o + 9 * o * o + 2 * o


def _unet_count(cin: int, classes: int, channels: tuple) -> int:
    total, previous = 0, cin
    for c in channels:
        total += _block_count(previous, c)
        previous = c
    total += _block_count(channels[-1], 2 * channels[-1])
    previous = 2 * channels[-1]
    for c in reversed(channels):
        total += 4 * previous * c + c + _block_count(2 * c, c)
        previous = c
    return total + channels[0] * classes + classes


def _block_oracle(t: dict, prefix: str, x: torch.Tensor, act) -> torch.Tensor:
    for conv, bn in ((0, 1), (3, 4)):
        x = F.conv2d(x, t[f"{prefix}.{conv}.weight"], t.get(f"{prefix}.{conv}.bias"), padding=1)
        x = F.batch_norm(x, t[f"{prefix}.{bn}.running_mean"], t[f"{prefix}.{bn}.running_var"], t[f"{prefix}.{bn}.weight"],
                         t[f"{prefix}.{bn}.bias"], training=False, eps=1e-5)
        x = act(x)
    return x


def _unet_oracle(t: dict, x: torch.Tensor, depth: int, act) -> torch.Tensor:
    skips = []
    for i in range(depth):
        x = _block_oracle(t, f"encoders.{i}", x, act)
        skips.append(x)
        x = F.max_pool2d(x, 2)
    x = _block_oracle(t, "bottleneck", x, act)
    for i, skip in enumerate(reversed(skips)):
        x = F.conv_transpose2d(x, t[f"upconvs.{i}.weight"], t[f"upconvs.{i}.bias"], stride=2)
        x = _block_oracle(t, f"decoders.{i}", torch.cat([skip, x], dim=1), act)
    return F.conv2d(x, t["head.weight"], t["head.bias"])


BN_STATS = """
def _set_bn(_model, _seed):
    _g = torch.Generator().manual_seed(_seed)
    with torch.no_grad():
        for _m in _model.modules():
            if isinstance(_m, nn.BatchNorm2d):
                _m.running_mean.copy_(torch.rand(_m.num_features, generator=_g, dtype=torch.float64) - 0.5)
                _m.running_var.copy_(0.5 + torch.rand(_m.num_features, generator=_g, dtype=torch.float64))
                _m.weight.copy_(0.8 + 0.4 * torch.rand(_m.num_features, generator=_g, dtype=torch.float64))
                _m.bias.copy_(0.2 * torch.rand(_m.num_features, generator=_g, dtype=torch.float64) - 0.1)
"""


@pytest.mark.points(1)
def test_conv_block(student, reference, grading_seed):
    """conv_block: (Conv2d 3x3 padding 1 without bias, BatchNorm2d, ReLU) twice"""
    rng = _rng(grading_seed, 13)
    configs = [(3, 5), (2, 7), (6, 4)]
    inputs = [_round(rng.normal(size=(2, i, 5, 6))) for i, _ in configs]
    probe = BN_STATS + "_out = []\n" + "".join(
        f"torch.manual_seed({k})\n_b = conv_block({i}, {o}).double()\n_set_bn(_b, {k})\n_b.eval()\n"
        f"_out.append({{'types': [type(_m).__name__ for _m in _b], 'params': sum(_p.numel() for _p in _b.parameters()), "
        f"'state': {{_k: _v.detach().clone() for _k, _v in _b.state_dict().items()}}, "
        f"'y': _b({_lit(x)}).detach()}})\n"
        for k, ((i, o), x) in enumerate(zip(configs, inputs))) + "_out\n"
    got = student.eval(probe)
    for (i, o), x, answer in zip(configs, inputs, got):
        call = f"conv_block({i}, {o})"
        want_types = ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU"]
        assert answer["types"] == want_types, f"{call}: expected the layers {want_types} in an nn.Sequential, got {answer['types']}"
        assert answer["params"] == _block_count(i, o), (
            f"{call} should have {_block_count(i, o)} parameters (3x3 convolutions without bias: {9 * i * o} + {9 * o * o} "
            f"weights; two batch norms: {4 * o}), got {answer['params']}")
        t = {k: torch.tensor(np.asarray(v, dtype=float), dtype=F64) for k, v in answer["state"].items()}
        t = {f"b.{k}": v for k, v in t.items()}
        expected = _block_oracle(t, "b", torch.tensor(x), F.relu).numpy()
        assert_close(np.asarray(answer["y"], dtype=float), expected,
                     f"{call} in eval mode (batch-norm statistics set by the grader) on x of shape {x.shape}, compared with "
                     "conv (padding 1) -> batch norm -> ReLU, twice, with the same weights", rtol=1e-7, atol=1e-9)
    ref = reference.eval(probe)
    assert ref[0]["params"] == _block_count(3, 5), "grader setup"


@pytest.mark.points(2)
def test_unet_structure(student, reference):
    """UNet's layers: encoders, bottleneck, a transposed convolution per level, decoders on 2c channels, 1x1 head; 31,037,698 parameters"""
    configs = [(3, 2, (4, 8)), (1, 5, (2, 3, 4)), (4, 3, (6,)), (3, 4, (3, 5, 6, 7))]
    probe = """
_out = []
for _cin, _nc, _ch in %r:
    _m = UNet(_cin, _nc, _ch)
    _out.append({"params": sum(_p.numel() for _p in _m.parameters()),
                 "upconvs": [[type(_u).__name__, int(_u.in_channels), int(_u.out_channels), list(_u.kernel_size), list(_u.stride)]
                             for _u in _m.upconvs],
                 "decoders_in": [int(_d[0].in_channels) for _d in _m.decoders],
                 "encoders_out": [int(_e[3].out_channels) for _e in _m.encoders],
                 "bottleneck": [int(_m.bottleneck[0].in_channels), int(_m.bottleneck[3].out_channels)],
                 "head": [type(_m.head).__name__, int(_m.head.in_channels), int(_m.head.out_channels), list(_m.head.kernel_size)]})
with torch.device("meta"):
    _course = UNet(3, 2, (64, 128, 256, 512))
{"configs": _out, "course": sum(_p.numel() for _p in _course.parameters())}
""" % (configs,)
    got = student.eval(probe)
    assert got["course"] == 31_037_698, (
        f"UNet(3, 2, (64, 128, 256, 512)), the paper's channel plan (bottleneck 1024), should have 31,037,698 parameters "
        f"with our blocks, got {got['course']:,}")
    for (cin, nc, ch), answer in zip(configs, got["configs"]):
        call = f"UNet({cin}, {nc}, {ch})"
        deep = list(reversed(ch))
        want_up = [["ConvTranspose2d", i, o, [2, 2], [2, 2]] for i, o in zip([2 * ch[-1]] + deep[:-1], deep)]
        assert answer["upconvs"] == want_up, (
            f"{call}.upconvs should be {len(ch)} ConvTranspose2d(kernel_size=2, stride=2), deepest first, channels "
            f"{[u[1:3] for u in want_up]}; got {answer['upconvs']}")
        assert answer["decoders_in"] == [2 * c for c in deep], (
            f"{call}.decoders should read the concatenation of the skip and the upsampled maps: in_channels "
            f"{[2 * c for c in deep]}, got {answer['decoders_in']}")
        assert answer["encoders_out"] == list(ch), f"{call}.encoders should output {list(ch)} channels, got {answer['encoders_out']}"
        assert answer["bottleneck"] == [ch[-1], 2 * ch[-1]], (
            f"{call}.bottleneck should be conv_block({ch[-1]}, {2 * ch[-1]}), got in/out channels {answer['bottleneck']}")
        assert answer["head"] == ["Conv2d", ch[0], nc, [1, 1]], (
            f"{call}.head should be Conv2d({ch[0]}, {nc}, kernel_size=1), got {answer['head']}")
        assert answer["params"] == _unet_count(cin, nc, ch), (
            f"{call} should have {_unet_count(cin, nc, ch):,} parameters, got {answer['params']:,}")
    assert reference.eval(probe)["course"] == 31_037_698, "grader setup"


FAKE_BLOCK = """
import types as _types
def _tanh_block(_i, _o):
    return nn.Sequential(nn.Conv2d(_i, _o, 3, padding=1, bias=False), nn.BatchNorm2d(_o), nn.Tanh(),
                         nn.Conv2d(_o, _o, 3, padding=1, bias=False), nn.BatchNorm2d(_o), nn.Tanh())
_Built = UNet
if isinstance(UNet.__init__, _types.FunctionType):
    _init = UNet.__init__
    class _Built(UNet):
        pass
    _Built.__init__ = _types.FunctionType(_init.__code__, dict(_init.__globals__, conv_block=_tanh_block), _init.__name__,
                                          _init.__defaults__, _init.__closure__)
"""


@pytest.mark.points(3)
def test_unet_forward(student, reference, grading_seed):
    """UNet.forward: encoder with pooling, bottleneck, transposed convolution and concatenation [skip, upsampled], 1x1 head"""
    rng = _rng(grading_seed, 14)
    configs = [(3, 3, (4, 8), (16, 24)), (2, 4, (3, 5, 6), (16, 8)), (1, 2, (5,), (6, 10))]
    inputs = [_round(rng.normal(size=(2, cin, h, w))) for cin, _, _, (h, w) in configs]
    probe = BN_STATS + FAKE_BLOCK + "_out = []\n" + "".join(
        f"torch.manual_seed({20 + k})\n_m = _Built({cin}, {nc}, {ch!r}).double()\n_set_bn(_m, {k})\n_m.eval()\n"
        f"with torch.no_grad():\n    _y = _m({_lit(x)})\n"
        f"_out.append({{'state': {{_k: _v.detach().clone() for _k, _v in _m.state_dict().items()}}, 'y': _y}})\n"
        for k, ((cin, nc, ch, _), x) in enumerate(zip(configs, inputs))) + "_out\n"
    got = student.eval(probe)
    for (cin, nc, ch, (h, w)), x, answer in zip(configs, inputs, got):
        call = (f"UNet({cin}, {nc}, {ch}) in eval mode (weights and batch-norm statistics set by the grader; the grader's "
                f"conv_block, with tanh where yours has ReLU, in place of yours) on x of shape {x.shape}")
        t = {k: torch.tensor(np.asarray(v, dtype=float), dtype=F64) for k, v in answer["state"].items()}
        needed = ["encoders.0.0.weight", "bottleneck.0.weight", "upconvs.0.weight", "decoders.0.0.weight", "head.weight"]
        assert all(k in t for k in needed), (
            f"{call}: the parameters should include {needed} (encoders, upconvs and decoders as nn.ModuleLists, a "
            f"bottleneck block and a head); got {sorted(t)[:12]}")
        y = np.asarray(answer["y"], dtype=float)
        assert y.shape == (2, nc, h, w), f"{call}: expected logits of shape {(2, nc, h, w)}, got {y.shape}"
        with_tanh = _unet_oracle(t, torch.tensor(x), len(ch), torch.tanh).numpy()
        if is_close(y, with_tanh, rtol=1e-6, atol=1e-8):
            continue
        with_relu = _unet_oracle(t, torch.tensor(x), len(ch), F.relu).numpy()
        if is_close(y, with_relu, rtol=1e-6, atol=1e-8):
            continue   # the blocks built without calling conv_block: the true U-Net
        assert_close(y, with_tanh, f"{call}, compared with: for each level a block, the skip kept, max pooling 2; the "
                     "bottleneck; for each level (deepest first) the transposed convolution, torch.cat([skip, upsampled], "
                     "dim=1) and the decoder block; the 1x1 head", rtol=1e-6, atol=1e-8)
    ref = reference.eval(probe)
    t = {k: torch.tensor(np.asarray(v, dtype=float), dtype=F64) for k, v in ref[0]["state"].items()}
    assert_close(np.asarray(ref[0]["y"]), _unet_oracle(t, torch.tensor(inputs[0]), 2, torch.tanh).numpy(), "grader setup",
                 rtol=1e-6, atol=1e-8)


@pytest.mark.points(2)
def test_unet_any_size(student, reference, grading_seed):
    """UNet: the output has the input's height and width, also when they are not multiples of 2 ** depth"""
    rng = _rng(grading_seed, 15)
    cases = [((3, 3, (4, 8)), (13, 22)), ((3, 3, (2, 3, 4, 5)), (int(rng.integers(17, 31)), int(rng.integers(17, 31)))),
             ((2, 2, (3, 4, 5)), (27, 41)), ((1, 4, (3,)), (7, 9)), ((3, 2, (2, 3, 4, 5)), (16, 48)),
             ((3, 3, (2, 3)), (int(rng.integers(5, 12)), int(rng.integers(5, 12))))]
    probe = on_meta_device("UNet") + "_out = []\n" + "".join(
        f"torch.manual_seed({k})\n_m = UNet({cin}, {nc}, {ch!r})\n_m.eval()\n"
        f"with torch.no_grad():\n    _y = _m(torch.rand(2, {cin}, {h}, {w}))\n"
        f"_out.append([list(_y.shape), bool(torch.isfinite(_y).all())])\n"
        for k, ((cin, nc, ch), (h, w)) in enumerate(cases)) + (
        "_meta = _meta_try(lambda: _UNet(1, 2, (2, 3)).to('meta')(torch.empty(2, 1, 7, 9, device='meta')))\n"
        "{'shapes': _out, 'meta': _meta}\n")
    got = student.eval(probe)
    for ((cin, nc, ch), (h, w)), (shape, finite) in zip(cases, got["shapes"]):
        call = f"UNet({cin}, {nc}, {ch}) on a batch of 2 pictures of {h} x {w}"
        hint = ("" if h % 2 ** len(ch) == 0 and w % 2 ** len(ch) == 0 else
                f" ({h} x {w} is not a multiple of 2 ** {len(ch)} = {2 ** len(ch)}: pad the upsampled maps to the skip's "
                "size before the concatenation, or pad the input and crop the output)")
        assert shape == [2, nc, h, w], f"{call}: expected logits of shape {[2, nc, h, w]}, got {shape}{hint}"
        assert finite, f"{call}: the logits should be finite numbers"
    assert_on_meta(got["meta"], "UNet(1, 2, (2, 3)).to(device) on a batch of 2 pictures of 7 x 9 on that device (the "
                   "upsampled maps need padding at both levels)",
                   "make the padding on the maps' own device: F.pad(x, ...), x.new_zeros(...) or torch.zeros(..., "
                   "device=x.device) (torch.zeros(...) alone makes it on the CPU, which fails on a GPU); keep the layers in "
                   "nn.ModuleLists, which .to(device) moves, not in plain Python lists")
    assert reference.eval(probe)["shapes"][2][0] == [2, 2, 27, 41], "grader setup"


# --------------------------------------------------------------------------- 5. training
def _seg_model():
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 3, 1)).double()


def _train_case(grading_seed: int):
    rng = _rng(grading_seed, 16)
    state = {"0.weight": _round(rng.normal(0, 0.4, (3, 2, 3, 3))), "0.bias": _round(rng.normal(0, 0.1, 3)),
             "1.weight": _round(1 + rng.normal(0, 0.1, 3)), "1.bias": _round(rng.normal(0, 0.1, 3)),
             "1.running_mean": np.zeros(3), "1.running_var": np.ones(3),
             "3.weight": _round(rng.normal(0, 0.5, (3, 3, 1, 1))), "3.bias": _round(rng.normal(0, 0.1, 3))}
    X = _round(rng.normal(size=(13, 2, 5, 4)), 3)
    Y = rng.integers(0, 3, (13, 5, 4))
    return state, X, Y


def _state_src(name: str, state: dict, indent: str = "") -> str:
    lines = [f"_sd = {name}.state_dict()", "with torch.no_grad():"]
    for key, value in state.items():
        lines.append(f"    _sd[{key!r}].copy_({_lit(value)})")
    return "".join(indent + line + "\n" for line in lines)


_TRAIN_SETTINGS = [  # batch size, learning rate, class weights, label smoothing, device, epochs
    (5, 0.1, None, 0.0, "'cpu'", 2),
    (4, 0.05, [1.0, 2.0, 0.5], 0.1, "torch.device('cpu')", 1),
]


def _train_oracle(state, X, Y, batch, lr, weights, smoothing, epochs):
    model = _seg_model()
    sd = model.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            sd[key].copy_(torch.tensor(value, dtype=F64))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    criterion = nn.CrossEntropyLoss(weight=None if weights is None else torch.tensor(weights, dtype=F64),
                                    label_smoothing=smoothing)
    Xt, Yt = torch.tensor(X, dtype=F64), torch.tensor(Y)
    model.train()
    means = []
    for _ in range(epochs):
        losses = []
        for s in range(0, len(X), batch):
            optimizer.zero_grad()
            loss = criterion(model(Xt[s:s + batch]), Yt[s:s + batch])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        means.append(sum(losses) / len(losses))
    return means, {k: v.detach().numpy() for k, v in model.state_dict().items()}


@pytest.mark.points(3)
def test_train_epoch(student, reference, grading_seed):
    """train_epoch: training mode, zero_grad, forward, pixel-wise loss, backward, step for every batch; the mean batch loss"""
    state, X, Y = _train_case(grading_seed)
    settings_src = "[" + ", ".join(f"({b}, {lr}, {w!r}, {sm}, {dv}, {ep})" for b, lr, w, sm, dv, ep in _TRAIN_SETTINGS) + "]"
    probe = f"""
_X = {_lit(X)}
_Y = {_lit(Y, "int64")}
_out = []
for _batch, _lr, _w, _smooth, _device, _epochs in {settings_src}:
    _model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 3, 1)).double()
{_state_src("_model", state, "    ")}    _model.eval()   # handed over in eval mode: train_epoch must switch to training mode
    _opt = torch.optim.SGD(_model.parameters(), lr=_lr, momentum=0.9)
    _crit = nn.CrossEntropyLoss(weight=None if _w is None else torch.tensor(_w, dtype=torch.float64), label_smoothing=_smooth)
    _loader = DataLoader(TensorDataset(_X, _Y), batch_size=_batch, shuffle=False)
    _losses = [train_epoch(_model, _loader, _crit, _opt, _device) for _ in range(_epochs)]
    _out.append({{"losses": [float(_l) for _l in _losses],
                 "state": {{_k: _v.detach().clone() for _k, _v in _model.state_dict().items()}}}})
{on_meta_device("train_epoch")}
_mm = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 3, 1)).to("meta")
_mloader = DataLoader(TensorDataset(torch.zeros(2, 2, 5, 4), torch.zeros(2, 5, 4, dtype=torch.long)), batch_size=2)
_meta = _meta_try(lambda: _train_epoch(_mm, _mloader, nn.CrossEntropyLoss(), torch.optim.SGD(_mm.parameters(), lr=0.1), _META))
{{"runs": _out, "meta": _meta}}
"""
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (batch, lr, weights, smoothing, device, epochs), answer, ref_answer in zip(_TRAIN_SETTINGS, got["runs"], ref["runs"]):
        means, params = _train_oracle(state, X, Y, batch, lr, weights, smoothing, epochs)
        call = (f"train_epoch(model, loader, nn.CrossEntropyLoss(weight={weights}, label_smoothing={smoothing}), "
                f"SGD(lr={lr}, momentum=0.9), {device}) called {epochs} time(s) on 13 pictures (2, 5, 4) with masks (5, 4) "
                f"in batches of {batch}, for a Conv2d -> BatchNorm2d -> ReLU -> Conv2d model handed over in eval mode")
        hint = ("model.train(), then for every batch: optimizer.zero_grad(), logits = model(images), "
                "loss = criterion(logits, masks) (logits (B, C, H, W), masks (B, H, W)), loss.backward(), optimizer.step()")
        for key, value in params.items():
            assert_close(np.asarray(answer["state"][key], dtype=float), value, f"{call}: {key!r} afterwards, compared "
                         f"with {hint}", rtol=1e-6, atol=1e-9)
        assert_close(answer["losses"], means, f"{call}: the values returned, the mean of each epoch's batch losses "
                     "(loss.item() of every batch, averaged over the batches)", rtol=1e-6, atol=1e-9)
        assert_close(ref_answer["losses"], means, "grader setup: the reference's losses", rtol=1e-6, atol=1e-9)
    assert_on_meta(got["meta"], "train_epoch(model, loader, nn.CrossEntropyLoss(), SGD, device) with the model moved to that "
                   "device and a loader of 2 pictures (2, 5, 4) with their masks (5, 4) on the CPU",
                   "move the masks to the device too: images, masks = images.to(device), masks.to(device) (the loss cannot "
                   "mix logits on a GPU with masks on the CPU)")


@pytest.mark.points(2)
def test_predict_masks(student, reference, grading_seed):
    """predict_masks: eval mode, no gradients, argmax over the classes (dim 1), in batches; int64 masks on the CPU"""
    rng = _rng(grading_seed, 17)
    state = {"0.weight": _round(rng.normal(0, 0.5, (4, 2, 3, 3))), "0.bias": _round(rng.normal(0, 0.1, 4)),
             "1.weight": _round(1 + rng.normal(0, 0.2, 4)), "1.bias": _round(rng.normal(0, 0.2, 4)),
             "1.running_mean": _round(rng.normal(0, 0.5, 4)), "1.running_var": _round(rng.uniform(0.5, 2, 4)),
             "4.weight": _round(rng.normal(0, 0.8, (4, 4, 1, 1))), "4.bias": _round(rng.normal(0, 0.1, 4))}
    X = _round(rng.normal(size=(23, 2, 6, 5)), 3)
    t = {k: torch.tensor(v, dtype=F64) for k, v in state.items()}
    h = F.conv2d(torch.tensor(X), t["0.weight"], t["0.bias"], padding=1)
    h = F.relu(F.batch_norm(h, t["1.running_mean"], t["1.running_var"], t["1.weight"], t["1.bias"], training=False))
    expected = F.conv2d(h, t["4.weight"], t["4.bias"]).argmax(dim=1).numpy()
    probe = f"""
_model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout2d(0.5), nn.Conv2d(4, 4, 1)).double()
{_state_src("_model", state)}_X = {_lit(X)}
_out = []
for _bs in (4, 11, 64, None):   # 23 = 2 * 11 + 1: a last batch of one picture
    _model.train()   # handed over in training mode: predict_masks must switch to eval mode
    _before = {{_k: _v.clone() for _k, _v in _model.state_dict().items()}}
    _grad_modes, _sizes = [], []
    def _record(_m, _i):
        _grad_modes.append(torch.is_grad_enabled())
        _sizes.append(len(_i[0]))
    _hook = _model.register_forward_pre_hook(_record)
    _p = predict_masks(_model, _X, "cpu") if _bs is None else predict_masks(_model, _X, "cpu", batch_size=_bs)
    _hook.remove()
    _out.append({{"pred": _p.double(), "dtype": str(_p.dtype), "device": str(_p.device), "sizes": _sizes,
                 "grad_modes": _grad_modes, "grads": all(_q.grad is None for _q in _model.parameters()),
                 "unchanged": all(torch.equal(_v, _before[_k]) for _k, _v in _model.state_dict().items())}})
{on_meta_device("predict_masks")}
_mm = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout2d(0.5), nn.Conv2d(4, 4, 1)).to("meta")
_meta = _meta_try(lambda: _predict_masks(_mm, torch.zeros(3, 2, 6, 5), _META, batch_size=2))
{{"runs": _out, "meta": _meta}}
"""
    got = student.eval(probe)
    for bs, answer in zip((4, 11, 64, None), got["runs"]):
        call = (f"predict_masks(model, images, 'cpu'{'' if bs is None else f', batch_size={bs}'}) for 23 pictures (2, 6, 5) "
                "and a Conv2d -> BatchNorm2d -> ReLU -> Dropout2d(0.5) -> Conv2d model handed over in training mode")
        pred = np.asarray(answer["pred"], dtype=float)
        assert pred.shape == expected.shape, f"{call}: expected masks of shape {expected.shape}, got {pred.shape}"
        assert np.array_equal(pred, expected), (
            f"{call}: {_first_diff(pred, expected)}. Call model.eval() (no dropout, batch norm's running statistics) and "
            "take the argmax over the classes, dim=1")
        assert answer["dtype"] == "torch.int64" and answer["device"] == "cpu", (
            f"{call}: expected an int64 tensor on the CPU, got {answer['dtype']} on {answer['device']}")
        size = 16 if bs is None else bs
        want_sizes = [min(size, 23 - s) for s in range(0, 23, size)]
        assert answer["sizes"] == want_sizes, (
            f"{call}: the model should see batches of {want_sizes} pictures (batch_size={size}{', the default' if bs is None else ''}), "
            f"got {answer['sizes']}")
        assert answer["grads"] and answer["grad_modes"] and not any(answer["grad_modes"]), (
            f"{call}: run the model inside `with torch.no_grad():` (no graph is needed to predict)")
        assert answer["unchanged"], f"{call}: predicting must not change the model (batch norm's statistics stay put in eval mode)"
    what = ("predict_masks(model, images, device, batch_size=2) with the model moved to that device and 3 pictures (2, 6, 5) "
            "on the CPU")
    hint = ("move each batch to the device, model(images[start:start + batch_size].to(device)), and bring the predicted "
            "masks back with .cpu()")
    outcome, detail = got["meta"]
    if outcome == "device":
        assert_on_meta(got["meta"], what, hint)
    assert not (outcome == "ok" and "meta" in detail), (
        f"{what}, {META_DEVICE}, returned the masks on that device; they should come back on the CPU. Hint: {hint}")
    ref = reference.eval(probe)
    assert np.array_equal(np.asarray(ref["runs"][0]["pred"]), expected), "grader setup"


@remember
def _hidden_shapes(seed: int, size: int, n: int):
    images, masks = make_shapes(n, size, seed)
    return np.round(images * 255).astype(np.uint8), masks


def _mean_iou_np(pred: np.ndarray, target: np.ndarray, classes: int) -> tuple[float, list]:
    scores = []
    for c in range(classes):
        union = np.sum((pred == c) | (target == c))
        scores.append(float(np.sum((pred == c) & (target == c)) / union) if union else float("nan"))
    return float(np.nanmean(scores)), scores


@pytest.mark.points(3)
def test_unet_quality(student, reference, grading_seed):
    """The trained U-Net segments hidden shape pictures (mean IoU threshold)"""
    size = int(reference.eval("int(train_images.shape[-1])"))
    images, masks = _hidden_shapes(grading_seed % (1 << 31) + 7070, size, N_HIDDEN)
    probe = f"""
_X = torch.from_numpy({array_src(np.asarray(images, dtype=np.uint8))}).float() / 255
_was_training = unet.training
unet.eval()
try:
    with torch.no_grad():
        _logits = torch.cat([unet(_X[_s:_s + 32].to(next(unet.parameters()).device)).cpu() for _s in range(0, len(_X), 32)])
finally:
    unet.train(_was_training)
_logits.argmax(dim=1).numpy()
"""
    got = np.asarray(student.eval(probe))
    assert got.shape == masks.shape, (
        f"the trained `unet` should give one mask of {size} x {size} per hidden picture, shape {masks.shape}, got {got.shape}")
    score, per_class = _mean_iou_np(got, masks, 3)
    ref_score, _ = _mean_iou_np(np.asarray(reference.eval(probe)), masks, 3)
    assert score >= QUALITY_THRESHOLD, (
        f"the notebook's trained U-Net (`unet`, in eval mode) on {N_HIDDEN} hidden shape pictures of {size} x {size}: mean IoU "
        f"{score:.3f} (per class: background {per_class[0]:.3f}, ellipse {per_class[1]:.3f}, rectangle {per_class[2]:.3f}); it "
        f"should be at least {QUALITY_THRESHOLD:.2f} (all background: about 0.27; the reference model: {ref_score:.3f}). Check "
        "train_epoch, the UNet's forward and conv_block")


# --------------------------------------------------------------------------- 6. metrics
def _blob_mask(rng: np.random.Generator, shape: tuple, classes: int, present: list) -> np.ndarray:
    """A mask of the given shape: background 0 with rectangles and discs of the classes in `present`."""
    mask = np.zeros(shape, dtype=np.int64)
    flat = mask.reshape(-1, shape[-2], shape[-1])
    h, w = shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w]
    for plane in flat:
        for c in present:
            if rng.random() < 0.5:
                r0, c0 = rng.integers(0, h - 2), rng.integers(0, w - 2)
                plane[r0:r0 + rng.integers(2, h // 2 + 2), c0:c0 + rng.integers(2, w // 2 + 2)] = c
            else:
                cy, cx, rad = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1.5, h / 3)
                plane[(yy - cy) ** 2 + (xx - cx) ** 2 <= rad ** 2] = c
    return mask


def _noisy(rng: np.random.Generator, mask: np.ndarray, classes: list, rate: float) -> np.ndarray:
    out = mask.copy()
    flip = rng.random(mask.shape) < rate
    out[flip] = rng.choice(classes, size=int(flip.sum()))
    return out


def _metric_cases(grading_seed: int):
    """(pred, target, num_classes, description) with empty classes, one-sided classes, batches."""
    rng = _rng(grading_seed, 18)
    cases = []
    t = _blob_mask(rng, (12, 14), 3, [1, 2])
    cases.append((_noisy(rng, t, [0, 1, 2], 0.15), t, 3, "masks (12, 14) with classes 0-2"))
    t = _blob_mask(rng, (3, 10, 9), 5, [1, 3])          # classes 2 and 4 absent from the target
    p = _noisy(rng, t, [0, 1, 3, 4], 0.1)                # 4 in the prediction only, 2 absent from both
    cases.append((p, t, 5, "batches (3, 10, 9) with 5 classes: class 2 in neither mask, class 4 only in the prediction"))
    t = _blob_mask(rng, (2, 8, 8), 2, [1])
    cases.append((_noisy(rng, t, [0, 1], 0.2), t, 2, "binary masks (2, 8, 8)"))
    t = _blob_mask(rng, (9, 11), 4, [1, 2, 3])
    p = t.copy()
    p[p == 3] = 2                                        # class 3 never predicted
    cases.append((p, t, 4, "masks (9, 11) with 4 classes, class 3 never predicted"))
    t = _blob_mask(rng, (7, 6), 3, [1, 2])
    t[t == 0] = 1                                        # no background in the target
    cases.append((_noisy(rng, t, [1, 2], 0.2), t, 4, "masks (7, 6) of classes 1 and 2 only, with num_classes=4"))
    t = _blob_mask(rng, (6, 7), 4, [1])
    p = t.copy()
    t[0, 0] = p[0, 0] = 2                                # class 2: one pixel, in both masks (score 1)
    p[5, 6] = 3                                          # class 3: one pixel, in the prediction only (score 0)
    cases.append((p, t, 4, "masks (6, 7) where class 2 is one pixel in both masks and class 3 one pixel of the "
                  "prediction only"))
    return cases


def _tm_iou(pred: np.ndarray, target: np.ndarray, classes: int) -> np.ndarray:
    from torchmetrics.functional.segmentation import mean_iou
    scores = mean_iou(torch.tensor(pred).reshape(1, 1, -1), torch.tensor(target).reshape(1, 1, -1), num_classes=classes,
                      input_format="index", per_class=True)[0].double().numpy()
    return np.where(scores < 0, np.nan, scores)


def _tm_mean_iou(pred: np.ndarray, target: np.ndarray, classes: int, background: bool) -> float:
    from torchmetrics.functional.segmentation import mean_iou
    return float(mean_iou(torch.tensor(pred).reshape(1, 1, -1), torch.tensor(target).reshape(1, 1, -1), num_classes=classes,
                          include_background=background, input_format="index")[0])


def _tm_dice(pred: np.ndarray, target: np.ndarray, classes: int, average: str = "none", background: bool = True):
    from torchmetrics.functional.segmentation import dice_score
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dice_score(torch.tensor(pred).reshape(1, 1, -1), torch.tensor(target).reshape(1, 1, -1), num_classes=classes,
                          include_background=background, average=average, input_format="index",
                          aggregation_level="global").double().numpy().reshape(-1)


@pytest.mark.points(1)
def test_pixel_accuracy(student, reference, grading_seed):
    """pixel_accuracy: the fraction of right pixels, leaving out the target's ignore_index pixels"""
    cases = _metric_cases(grading_seed)
    rng = _rng(grading_seed, 19)
    trimap = make_trimap(20, 26, int(rng.integers(1 << 30)))
    guess = _noisy(rng, trimap, [1, 2], 0.2)
    calls = [(p, t, None) for p, t, _, _ in cases[:3]] + [(cases[1][0], cases[1][1], 0), (cases[3][0], cases[3][1], 3),
                                                           (guess, trimap, 3), (guess, trimap, None)]
    probe = "[" + ", ".join(f"pixel_accuracy({_lit(p, 'int64')}, {_lit(t, 'int64')}" + ("" if ig is None else f", ignore_index={ig}")
                            + ")" for p, t, ig in calls) + "]"
    got = student.eval(probe)
    for (p, t, ig), answer in zip(calls, got):
        keep = np.ones(t.shape, bool) if ig is None else t != ig
        expected = float(np.mean(p[keep] == t[keep]))
        call = f"pixel_accuracy(pred, target{'' if ig is None else f', ignore_index={ig}'}) for masks of shape {t.shape}"
        assert isinstance(answer, (int, float)), f"{call}: expected a float, got {answer!r}"
        assert_close(float(answer), expected, f"{call}: the fraction of pixels with pred == target"
                     + ("" if ig is None else f", among the {int(keep.sum())} pixels whose target is not {ig}"),
                     rtol=1e-6, atol=1e-9)
    assert_close(reference.eval(probe)[5], float(np.mean(guess[trimap != 3] == trimap[trimap != 3])), "grader setup",
                 rtol=1e-9, atol=1e-12)


FAKE_METRICS = """
_FAKE = {2: [0.123, 0.654], 3: [0.21, 0.57, float("nan")], 4: [0.31, float("nan"), 0.71, 0.05],
         5: [0.9, 0.11, float("nan"), 0.33, 0.47]}
def _fake_per_class(pred, target, num_classes):
    return torch.tensor(_FAKE[int(num_classes)], dtype=torch.float64)
def _fake_mean(pred, target, num_classes, include_background=True):
    return 0.4321
"""
_FAKE = {2: [0.123, 0.654], 3: [0.21, 0.57, float("nan")], 4: [0.31, float("nan"), 0.71, 0.05],
         5: [0.9, 0.11, float("nan"), 0.33, 0.47]}


def _fake_mean(classes: int, background: bool) -> float:
    values = np.array(_FAKE[classes] if background else _FAKE[classes][1:])
    return float(np.nanmean(values)) if not np.all(np.isnan(values)) else float("nan")


def _per_class_checks(got, cases, oracle, name: str, formula: str) -> None:
    for (p, t, classes, desc), answer in zip(cases, got):
        call = f"{name}(pred, target, {classes}) for {desc}"
        expected = oracle(p, t, classes)
        answer = np.asarray(answer, dtype=float)
        assert answer.shape == expected.shape, f"{call}: expected one value per class, shape {expected.shape}, got {answer.shape}"
        empty = np.isnan(expected)
        assert np.array_equal(np.isnan(answer), empty), (
            f"{call}: the classes absent from both masks, {np.flatnonzero(empty).tolist()}, should be NaN (and only those: "
            f"a class present in one mask only scores 0); NaN in your answer at {np.flatnonzero(np.isnan(answer)).tolist()}")
        assert_close(answer[~empty], expected[~empty], f"{call}: {formula} per class, compared with torchmetrics, for the "
                     f"classes {np.flatnonzero(~empty).tolist()}", rtol=1e-6, atol=1e-9)


@pytest.mark.points(3)
def test_iou(student, reference, grading_seed):
    """iou_per_class and mean_iou: NaN for classes absent from both masks, left out of the mean; against torchmetrics"""
    cases = _metric_cases(grading_seed)
    probe = FAKE_METRICS + with_fakes("mean_iou", {"iou_per_class": "_fake_per_class"}) + "_cases = [" + ", ".join(
        f"({_lit(p, 'int64')}, {_lit(t, 'int64')}, {c})" for p, t, c, _ in cases) + "]\n" + """
_per = [iou_per_class(_p, _t, _c) for _p, _t, _c in _cases]
{"per_class": [_r.double() for _r in _per], "dtypes": [str(_r.dtype) for _r in _per],
 "means": [[_mean_iou(_p, _t, _c), _mean_iou(_p, _t, _c, include_background=False)] for _p, _t, _c in _cases],
 "default": _mean_iou(_cases[0][0], _cases[0][1], _cases[0][2])}
"""
    got = student.eval(probe)
    _per_class_checks(got["per_class"], cases, _tm_iou, "iou_per_class", "|pred == c and target == c| / |pred == c or target == c|")
    assert all(d == "torch.float64" for d in got["dtypes"]), f"iou_per_class should return float64 tensors, got {got['dtypes']}"
    for (p, t, classes, desc), means in zip(cases, got["means"]):
        for background, answer in zip((True, False), means):
            call = f"mean_iou(pred, target, {classes}, include_background={background}) for {desc}"
            true = _tm_mean_iou(p, t, classes, background)
            fake = _fake_mean(classes, background)
            assert isinstance(answer, (int, float)), f"{call}: expected a float, got {answer!r}"
            if is_close(float(answer), fake, rtol=1e-9, atol=1e-12):
                continue   # computed from iou_per_class (the grader's stand-in returned {_FAKE[classes]})
            assert_close(float(answer), true,
                         f"{call}, compared with torchmetrics' mean_iou (the mean over the classes that are not NaN"
                         + ("" if background else ", from class 1 on") + f"; with iou_per_class returning "
                         f"{_FAKE[classes]}, yours should return {fake:.4f})", rtol=1e-6, atol=1e-9)
    p, t, classes, _ = cases[0]
    assert (is_close(got["default"], _fake_mean(classes, True), rtol=1e-9, atol=1e-12)
            or is_close(got["default"], _tm_mean_iou(p, t, classes, True), rtol=1e-6, atol=1e-9)), (
        f"mean_iou(pred, target, {classes}) with include_background left at its default (True): expected "
        f"{_tm_mean_iou(p, t, classes, True):.4f}, got {got['default']}")
    ref = reference.eval(probe)
    assert_close(np.asarray(ref["per_class"][1], dtype=float)[[0, 1, 3, 4]], _tm_iou(*cases[1][:3])[[0, 1, 3, 4]],
                 "grader setup", rtol=1e-6)


@pytest.mark.points(3)
def test_dice(student, reference, grading_seed):
    """dice_per_class, mean_dice and dice_binary: 2|A and B| / (|A| + |B|), NaN when empty; against torchmetrics"""
    cases = _metric_cases(grading_seed)
    rng = _rng(grading_seed, 20)
    t = _blob_mask(rng, (9, 10), 2, [1])
    p = _noisy(rng, t, [0, 1], 0.2)
    binary = [(p, t, "int64", "0/1 int64 masks (9, 10)"), (p, t, "bool", "boolean masks (9, 10)"),
              (p, t, "float32", "0.0/1.0 float masks (9, 10)"), (np.zeros((4, 5), int), t[:4, :5] * 0, "bool", "two empty masks"),
              (np.zeros((4, 5), int), t[:4, :5], "int64", "an empty prediction and a target with some foreground"),
              (p[None], t[None], "int64", "0/1 masks (1, 9, 10)"),
              (np.zeros((4, 5), int), np.eye(1, 20, 7, dtype=int).reshape(4, 5), "int64",
               "an empty prediction and a target of one pixel")]
    fakes = with_fakes("mean_dice", {"dice_per_class": "_fake_per_class"})
    fakes += with_fakes("dice_binary", {"dice_per_class": "_fake_per_class", "mean_dice": "_fake_mean",
                                        "mean_iou": "_fake_mean", "iou_per_class": "_fake_per_class"})
    probe = FAKE_METRICS + fakes + "_cases = [" + ", ".join(
        f"({_lit(p_, 'int64')}, {_lit(t_, 'int64')}, {c})" for p_, t_, c, _ in cases) + "]\n" + "_binary = [" + ", ".join(
        f"({_lit(p_, 'int64')}.to(torch.{d}), {_lit(t_, 'int64')}.to(torch.{d}))" for p_, t_, d, _ in binary) + "]\n" + """
_per = [dice_per_class(_p, _t, _c) for _p, _t, _c in _cases]
{"per_class": [_r.double() for _r in _per], "dtypes": [str(_r.dtype) for _r in _per],
 "means": [[_mean_dice(_p, _t, _c), _mean_dice(_p, _t, _c, include_background=False)] for _p, _t, _c in _cases],
 "binary": [_dice_binary(_p, _t) for _p, _t in _binary]}
"""
    got = student.eval(probe)
    _per_class_checks(got["per_class"], cases, lambda p_, t_, c: _tm_dice(p_, t_, c), "dice_per_class",
                      "2 |pred == c and target == c| / (|pred == c| + |target == c|)")
    assert all(d == "torch.float64" for d in got["dtypes"]), f"dice_per_class should return float64 tensors, got {got['dtypes']}"
    for (p_, t_, classes, desc), means in zip(cases, got["means"]):
        for background, answer in zip((True, False), means):
            call = f"mean_dice(pred, target, {classes}, include_background={background}) for {desc}"
            true = float(_tm_dice(p_, t_, classes, "macro", background)[0])
            fake = _fake_mean(classes, background)
            assert isinstance(answer, (int, float)), f"{call}: expected a float, got {answer!r}"
            if is_close(float(answer), fake, rtol=1e-9, atol=1e-12):
                continue
            assert_close(float(answer), true,
                         f"{call}, compared with torchmetrics' dice_score(average='macro', aggregation_level='global') (the "
                         "mean over the classes that are not NaN" + ("" if background else ", from class 1 on")
                         + f"; with dice_per_class returning {_FAKE[classes]}, yours should return {fake:.4f})",
                         rtol=1e-6, atol=1e-9)
    for (p_, t_, _dtype, desc), answer in zip(binary, got["binary"]):
        call = f"dice_binary(pred, target) for {desc}"
        true = float(_tm_dice(p_.astype(np.int64), t_.astype(np.int64), 2, "none", False)[0])
        assert isinstance(answer, (int, float)), f"{call}: expected a float, got {answer!r}"
        if any(is_close(float(answer), v, rtol=1e-9, atol=1e-12) for v in (_FAKE[2][1], 0.4321)):
            continue   # computed with dice_per_class / mean_dice (the grader's stand-ins)
        if math.isnan(true):
            assert math.isnan(answer), f"{call}: two empty masks have no Dice score: expected NaN (as torchmetrics), got {answer}"
            continue
        assert_close(float(answer), true, f"{call}, compared with torchmetrics' Dice of class 1 (2 |pred and target| / "
                     "(|pred| + |target|) over the foreground pixels)", rtol=1e-6, atol=1e-9)
    ref = reference.eval(probe)
    assert_close(ref["binary"][0], float(_tm_dice(p, t, 2, "none", False)[0]), "grader setup", rtol=1e-6)


# --------------------------------------------------------------------------- 7. panoptic
def _panoptic_oracle(logits, masks, threshold, scores=None, min_score=0.5):
    out = logits.argmax(axis=1).copy()
    label = logits.shape[1]
    for i, mask in enumerate(masks):
        if scores is not None and scores[i] < min_score:
            continue
        out[mask > threshold] = label
        label += 1
    return out


def _panoptic_case(rng: np.random.Generator, classes: int, n: int, h: int, w: int):
    logits = _round(rng.normal(size=(1, classes, h, w)), 3)
    masks = np.zeros((n, 1, h, w))
    for i in range(n):
        r, c = int(rng.integers(0, h - 3)), int(rng.integers(0, w - 3))
        masks[i, 0, r:r + int(rng.integers(3, h // 2 + 3)), c:c + int(rng.integers(3, w // 2 + 3))] = 1
        masks[i] *= _round(rng.uniform(0.2, 1.0, (1, h, w)), 2)
        masks[i, 0, r, c] = 0.5                              # exactly the threshold: not painted
    return logits, masks


@pytest.mark.points(3)
def test_panoptic_merge(student, reference, grading_seed):
    """panoptic_merge: semantic argmax, then instances painted with labels C, C+1, ... (mask > threshold, later wins)"""
    rng = _rng(grading_seed, 21)
    cases = []
    for classes, n, h, w, thr in ((3, 4, 10, 12, 0.5), (5, 3, 8, 9, 0.3), (2, 5, 9, 7, 0.7), (4, 0, 6, 5, 0.5),
                                  (3, 2, 7, 8, None)):
        logits, masks = _panoptic_case(rng, classes, n, h, w)
        cases.append((logits, masks, thr))
    empty = "torch.zeros(0, 1, 6, 5, dtype=torch.float64)"
    probe = "_out = []\nfor _l, _m, _thr in [" + ", ".join(
        f"({_lit(lg)}, {_lit(m) if m.size else empty}, {thr})" for lg, m, thr in cases) + "]:\n" + """
    _l0, _m0 = _l.clone(), _m.clone()
    _r = panoptic_merge(_l, _m) if _thr is None else panoptic_merge(_l, _m, mask_threshold=_thr)
    _out.append({"map": _r.double(), "dtype": str(_r.dtype), "unchanged": bool(torch.equal(_l, _l0) and torch.equal(_m, _m0))})
_out
"""
    got = student.eval(probe)
    for (logits, masks, thr), answer in zip(cases, got):
        classes, n = logits.shape[1], len(masks)
        expected = _panoptic_oracle(logits, masks, 0.5 if thr is None else thr)
        call = (f"panoptic_merge(semantic_logits of shape {logits.shape}, {n} soft instance masks of shape {masks.shape[1:]}"
                + ("" if thr is None else f", mask_threshold={thr}") + ")")
        assert answer["dtype"] == "torch.int64", f"{call}: expected an int64 map, got {answer['dtype']}"
        result = np.asarray(answer["map"], dtype=float)
        assert result.shape == expected.shape, f"{call}: expected the shape {expected.shape} (1, H, W), got {result.shape}"
        assert np.array_equal(result, expected), (
            f"{call}: {_first_diff(result, expected)}. The semantic classes are the argmax over dim 1; instance i (in order) "
            f"paints its pixels with mask > {0.5 if thr is None else thr} (strictly: a pixel of exactly the threshold is not "
            f"painted) with the label {classes} + i (labels start at the number of classes, {classes}); later instances win")
        assert answer["unchanged"], f"{call}: the inputs should not change (paint a copy of the semantic mask)"
    assert np.array_equal(np.asarray(reference.eval(probe)[0]["map"]), _panoptic_oracle(cases[0][0], cases[0][1], 0.5)), \
        "grader setup"


@pytest.mark.points(1)
def test_panoptic_scores(student, reference, grading_seed):
    """panoptic_merge with scores: instances scoring below min_score are skipped and take no label"""
    rng = _rng(grading_seed, 22)
    logits, masks = _panoptic_case(rng, 3, 5, 10, 11)
    scores = _round(rng.uniform(0.1, 1.0, 5), 2)
    scores[1], scores[2], scores[3] = 0.3, 0.8, 0.5           # skipped at 0.5; a score of exactly min_score is kept
    calls = [(0.5, None), (0.8, 0.4), (None, None), (0.31, 0.6)]
    probe = f"_l, _m, _s = {_lit(logits)}, {_lit(masks)}, {_lit(scores)}\n[" + ", ".join(
        "panoptic_merge(_l, _m, scores=_s" + ("" if ms is None else f", min_score={ms}") + ("" if th is None else f", mask_threshold={th}")
        + ").double()" for ms, th in calls) + "]\n"
    got = student.eval(probe)
    for (ms, th), answer in zip(calls, got):
        expected = _panoptic_oracle(logits, masks, 0.5 if th is None else th, scores, 0.5 if ms is None else ms)
        call = (f"panoptic_merge(logits (1, 3, 10, 11), 5 instance masks, scores={scores.tolist()}"
                + ("" if ms is None else f", min_score={ms}") + ("" if th is None else f", mask_threshold={th}") + ")")
        answer = np.asarray(answer, dtype=float)
        assert answer.shape == expected.shape and np.array_equal(answer, expected), (
            f"{call}: {_first_diff(answer, expected) if answer.shape == expected.shape else f'shape {answer.shape}'}. "
            f"Instances scoring below min_score ({0.5 if ms is None else ms}; a score equal to it is kept) are skipped and "
            "take no label: the next instance used takes the next label (3, 4, ...)")
    assert np.array_equal(np.asarray(reference.eval(probe)[0]),
                          _panoptic_oracle(logits, masks, 0.5, scores, 0.5)), "grader setup"
