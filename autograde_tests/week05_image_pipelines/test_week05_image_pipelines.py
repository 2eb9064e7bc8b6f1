"""Hidden tests for week05_image_pipelines: image processing with scikit-image.

Total: 46 points over 24 tests.

Every function is graded on its own, on images made here: random arrays drawn from
`grading_seed`, and crops of scikit-image's bundled sample images at offsets drawn from it
(never an image that would be downloaded). Images travel into the kernels as their bytes
(`grader.testing.array_src`); the probes hold inputs only, never an implementation of a graded function.
Expected values are computed here, in the grader process, with scikit-image, SciPy or NumPy
(`skimage.color.rgb2gray`, `filters.threshold_otsu`, `filters.threshold_local`, `filters.sobel`,
`ndi.label`, `exposure.equalize_hist`, `morphology.dilation/erosion`, `util.random_noise`,
`restoration.denoise_*`, `segmentation.slic`, `measure.find_contours`, `feature.corner_harris`,
`feature.corner_peaks`, `filters.gaussian`), and compared with the student's answers and the
reference kernel's. The course's verified numbers are checked as literals: Otsu's threshold 102
of the camera, SLIC labels 1..56 with corners 1/9/51/56 on the astronaut (n_segments=100), 1267
Harris corners of the gray astronaut with the first five as printed, contrast 148 of the
checkpoint image, 24 coins. The two on the whole astronaut (SLIC, Harris) are taken from the
notebook's locked cells (`segments`, `coords`) where those already hold the right answer
(`grader.testing.notebook_value`), and computed by the student's functions in a probe where not.

PYTEST_DONT_REWRITE: failure messages must be the plain assertion messages however pytest is
invoked (the engine uses --assert=plain, but an outer pytest session may rewrite this module).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import color, data, draw, exposure, feature, filters, measure, metrics, morphology
from skimage import restoration, segmentation, transform, util

from grader.testing import array_src, assert_close, is_close, notebook_value, remember

COURSE_CORNERS = [[445, 310], [368, 400], [455, 346], [429, 371], [467, 241]]


# --------------------------------------------------------------------------- helpers
def _rng(grading_seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([grading_seed, 5, k])


def _crop(image: np.ndarray, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    r = int(rng.integers(0, image.shape[0] - height + 1))
    c = int(rng.integers(0, image.shape[1] - width + 1))
    return image[r:r + height, c:c + width].copy()


def _first_diff(got, expected) -> str:
    """Where two arrays of the same shape differ first (for boolean or integer images)."""
    got, expected = np.asarray(got), np.asarray(expected)
    bad = np.argwhere(got != expected)
    if not len(bad):
        return "no difference"
    where = tuple(int(i) for i in bad[0])
    return (f"{len(bad)} of {got.size} pixels differ, the first at {list(where)}: expected "
            f"{expected[where].item()!r}, got {got[where].item()!r}")


def _same_pixels(got, expected, what: str, hint: str) -> None:
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got shape {got.shape}"
    assert np.array_equal(got.astype(expected.dtype), expected), f"{what}: {_first_diff(got, expected)}. {hint}"


def _describe(image) -> str:
    image = np.asarray(image)
    return f"a {image.dtype.name} image of shape {image.shape}"


@remember
def _sample(name: str) -> np.ndarray:
    return getattr(data, name)()


@remember
def _astronaut_corners() -> np.ndarray:
    """The course's Harris corners of the gray astronaut (about 1 s: once per grader process)."""
    return feature.corner_peaks(feature.corner_harris(color.rgb2gray(data.astronaut())), min_distance=5)


# --------------------------------------------------------------------------- 2. grayscale
@pytest.mark.points(2)
def test_grayscale(student, reference, grading_seed):
    """to_grayscale uses the weights 0.2125, 0.7154, 0.0721 and scales uint8 images to [0, 1]"""
    rng = _rng(grading_seed, 1)
    images = [
        rng.integers(0, 256, size=(9, 13, 3)).astype(np.uint8),
        np.round(rng.random((8, 6, 3)), 6),
        _crop(_sample("coffee"), rng, 30, 40),
        np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8),
    ]
    probe = "[to_grayscale(_x) for _x in [" + ", ".join(array_src(x) for x in images) + "]]"
    got = student.eval(probe)
    ref = reference.eval(probe)
    names = ["random uint8 image (9, 13, 3)", "random float image (8, 6, 3) in [0, 1]", "crop of data.coffee() (uint8)",
             "pure red, green and blue uint8 pixels"]
    for image, answer, ref_answer, name in zip(images, got, ref, names):
        expected = color.rgb2gray(image)
        hint = ("divide a uint8 image by 255 first, and use Y = 0.2125 R + 0.7154 G + 0.0721 B" if image.dtype == np.uint8
                else "a float image is used as it is (no division by 255)")
        assert_close(answer, expected, f"to_grayscale of a {name} compared with color.rgb2gray ({hint})", rtol=1e-9, atol=1e-12)
        assert_close(answer, ref_answer, f"to_grayscale of a {name}, compared with the reference solution", rtol=1e-9, atol=1e-12)


@pytest.mark.points(1)
def test_to_rgb(student, reference, grading_seed):
    """to_rgb repeats the gray values in 3 channels and keeps the dtype"""
    rng = _rng(grading_seed, 2)
    images = [np.round(rng.random((7, 9)), 6), rng.integers(0, 256, size=(5, 4)).astype(np.uint8)]
    probe = "[to_rgb(_x) for _x in [" + ", ".join(array_src(x) for x in images) + "]]"
    got = student.eval(probe)
    for image, answer in zip(images, got):
        expected = color.gray2rgb(image)
        answer = np.asarray(answer)
        assert answer.shape == expected.shape, (
            f"to_rgb of {_describe(image)}: expected shape {expected.shape} (channels last), got {answer.shape}")
        assert answer.dtype == expected.dtype, (
            f"to_rgb of {_describe(image)} should keep the dtype {expected.dtype}, got {answer.dtype}")
        _same_pixels(answer, expected, f"to_rgb of {_describe(image)}", "every channel holds the gray value")


# --------------------------------------------------------------------------- 3. flips and rescaling
@pytest.mark.points(1)
def test_flips(student, reference, grading_seed):
    """flip_vertical and flip_horizontal match np.flipud and np.fliplr on gray and colour images"""
    rng = _rng(grading_seed, 3)
    images = [rng.integers(0, 100, size=(5, 7)), rng.integers(0, 256, size=(4, 6, 3)).astype(np.uint8),
              rng.integers(0, 9, size=(6, 3))]
    probe = ("[[flip_vertical(_x), flip_horizontal(_x)] for _x in ["
             + ", ".join(array_src(x) for x in images) + "]]")
    got = student.eval(probe)
    for image, (up, lr) in zip(images, got):
        _same_pixels(up, np.flipud(image), f"flip_vertical of {_describe(image)}",
                     "reverse the order of the rows (the first axis) only")
        _same_pixels(lr, np.fliplr(image), f"flip_horizontal of {_describe(image)}",
                     "reverse the order of the columns (the second axis) only; the channels stay in place")


def _rescale(image, factor, anti_aliasing):
    channel_axis = -1 if image.ndim == 3 else None
    return transform.rescale(image, 1 / factor, anti_aliasing=anti_aliasing, channel_axis=channel_axis)


@pytest.mark.points(2)
def test_downscale(student, reference, grading_seed):
    """downscale rescales gray and colour images by 1/factor, with and without anti-aliasing"""
    rng = _rng(grading_seed, 4)
    gray = np.round(_crop(_sample("camera"), rng, 48, 60) / 255.0, 6)
    rgb = _crop(_sample("astronaut"), rng, 36, 48)
    cases = [("gray", 2, True), ("gray", 3, False), ("gray", 4, True), ("rgb", 2, False), ("rgb", 3, True), ("rgb", 4, False)]
    probe = (f"_images = {{'gray': {array_src(gray)}, 'rgb': {array_src(rgb)}}}\n"
             f"[downscale(_images[_k], _f, anti_aliasing=_a) for _k, _f, _a in {cases!r}]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    images = {"gray": gray, "rgb": rgb}
    for (kind, factor, aa), answer, ref_answer in zip(cases, got, ref):
        expected = _rescale(images[kind], factor, aa)
        call = f"downscale({_describe(images[kind])}, {factor}, anti_aliasing={aa})"
        if kind == "rgb":
            assert np.shape(answer) == expected.shape, (
                f"{call}: expected shape {expected.shape}, got {np.shape(answer)}. A colour image keeps its 3 channels: "
                "pass channel_axis=-1 to transform.rescale, or it scales the channel axis too")
        assert_close(answer, expected, f"{call} compared with transform.rescale(image, 1 / {factor}, "
                     f"anti_aliasing={aa}{', channel_axis=-1' if kind == 'rgb' else ''})", rtol=1e-7, atol=1e-9)
        assert_close(answer, ref_answer, f"{call}, compared with the reference solution", rtol=1e-7, atol=1e-9)


# --------------------------------------------------------------------------- 4. thresholding
@pytest.mark.points(1)
def test_binarize(student, reference, grading_seed):
    """binarize keeps the pixels strictly above the threshold"""
    rng = _rng(grading_seed, 5)
    images = [rng.integers(0, 10, size=(6, 8)).astype(np.float64), rng.integers(0, 256, size=(5, 5)).astype(np.uint8)]
    cases = [(0, 4.0), (0, 7), (1, 128), (1, int(images[1][2, 2]))]
    probe = (f"_images = [{array_src(images[0])}, {array_src(images[1])}]\n"
             f"[binarize(_images[_i], _t) for _i, _t in {cases!r}]")
    got = student.eval(probe)
    for (i, t), answer in zip(cases, got):
        expected = images[i] > t
        assert np.asarray(answer).dtype == bool, f"binarize should return a boolean image, got dtype {np.asarray(answer).dtype}"
        _same_pixels(answer, expected, f"binarize({_describe(images[i])}, {t})",
                     "a pixel is foreground only when its value is strictly greater than the threshold (>, not >=)")


def _otsu_variance(image: np.ndarray, t: int) -> float:
    """Between-class variance (times N**2) of the split <= t | > t; -1 when a class is empty."""
    values = image.ravel().astype(np.float64)
    low, high = values[values <= t], values[values > t]
    if not len(low) or not len(high):
        return -1.0
    return len(low) * len(high) * (low.mean() - high.mean()) ** 2


def _bimodal(rng: np.random.Generator, shape) -> np.ndarray:
    n = int(np.prod(shape))
    share = rng.uniform(0.2, 0.8)
    m1, m2 = rng.uniform(20, 110), rng.uniform(130, 230)
    s1, s2 = rng.uniform(5, 30), rng.uniform(5, 30)
    values = np.where(rng.random(n) < share, rng.normal(m1, s1, n), rng.normal(m2, s2, n))
    return np.clip(np.rint(values), 0, 255).astype(np.uint8).reshape(shape)


@pytest.mark.points(3)
def test_otsu_threshold(student, reference, grading_seed):
    """otsu_threshold finds the threshold of filters.threshold_otsu (102 for the camera man)"""
    rng = _rng(grading_seed, 6)
    images = [_bimodal(rng, (20, 25)), _bimodal(rng, (31, 17)), _bimodal(rng, (40, 40)),
              np.clip(rng.normal(90, 40, (15, 15)), 0, 255).astype(np.uint8),
              np.array([[40, 40, 40], [40, 180, 180]], dtype=np.uint8),
              np.full((4, 5), 77, dtype=np.uint8),
              np.array([[123]], dtype=np.uint8),
              _crop(_sample("coins"), rng, 50, 60),
              np.array([[0] + [250] * 5 + [255] * 5], dtype=np.uint8),  # best split: one dark pixel alone
              np.array([[0] * 5 + [5] * 5 + [255]], dtype=np.uint8)]    # best split: one bright pixel alone
    probe = ("[int(otsu_threshold(_x)) for _x in [data.camera()] + ["
             + ", ".join(array_src(x) for x in images) + "]]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert got[0] == 102, f"otsu_threshold(data.camera()) should be 102, as threshold_otsu gives, got {got[0]}"
    for image, answer, ref_answer in zip(images, got[1:], ref[1:]):
        expected = int(filters.threshold_otsu(image))
        call = f"otsu_threshold({_describe(image)} with values {int(image.min())}..{int(image.max())})"
        if image.min() == image.max():
            assert answer == expected, f"{call}: an image with one value has that value as its threshold, expected {expected}, got {answer}"
            continue
        best, mine = _otsu_variance(image, expected), _otsu_variance(image, answer)
        assert answer == expected or (mine >= 0 and abs(mine - best) <= 1e-9 * best), (
            f"{call}: expected {expected} (filters.threshold_otsu), got {answer}. Class 0 is the pixels <= t, class 1 "
            "those > t; maximise n0 * n1 * (mean0 - mean1)**2 over the t with pixels on both sides, and take the "
            "smallest t in a tie")
        assert answer == ref_answer or is_close(_otsu_variance(image, answer), _otsu_variance(image, ref_answer), rtol=1e-9), (
            f"{call}: your threshold {answer} differs from the reference solution's {ref_answer}")


def _threshold_local(image, block_size, offset):
    return filters.threshold_local(image, block_size, method="mean", offset=offset)


@pytest.mark.points(3)
def test_local_threshold(student, reference, grading_seed):
    """local_threshold equals threshold_local(method='mean') for several block sizes and offsets"""
    rng = _rng(grading_seed, 7)
    images = [np.round(rng.random((19, 26)), 6), _crop(_sample("page"), rng, 40, 57)]
    cases = [(0, 3, 0.0), (0, 7, 0.1), (0, 15, -0.05), (1, 5, 10.0), (1, 35, 10.0), (1, 21, 0.0)]
    probe = (f"_images = [{array_src(images[0])}, {array_src(images[1])}]\n"
             f"_out = [local_threshold(_images[_i], _b, _o) for _i, _b, _o in {cases!r}]\n"
             f"_out.append(local_threshold(_images[0], 9))\n"
             "try:\n"
             "    local_threshold(_images[1], 8, 0.0)\n"
             "    _out.append('no error')\n"
             "except ValueError:\n"
             "    _out.append('ValueError')\n"
             "except Exception as _e:\n"
             "    _out.append(type(_e).__name__)\n"
             "_out")
    got = student.eval(probe)
    ref = reference.eval(probe)
    hint = ("take the mean of the block_size x block_size window centred on each pixel, pad with np.pad(..., "
            "mode='symmetric') (the edge pixel is repeated), then subtract offset")
    for (i, block, offset), answer, ref_answer in zip(cases, got, ref):
        call = f"local_threshold({_describe(images[i])}, {block}, {offset})"
        expected = _threshold_local(images[i], block, offset)
        assert_close(answer, expected, f"{call} compared with threshold_local(..., method='mean'); {hint}", rtol=1e-9, atol=1e-9)
        assert_close(answer, ref_answer, f"{call}, compared with the reference solution", rtol=1e-9, atol=1e-9)
    assert_close(got[len(cases)], _threshold_local(images[0], 9, 0.0),
                 f"local_threshold({_describe(images[0])}, 9) with the default offset 0", rtol=1e-9, atol=1e-9)
    assert got[-1] == "ValueError", f"local_threshold(image, 8, 0.0): an even block_size should raise ValueError, got {got[-1]}"


# --------------------------------------------------------------------------- 5. edges
@pytest.mark.points(2)
def test_sobel_magnitude(student, reference, grading_seed):
    """sobel_magnitude equals filters.sobel, borders included"""
    rng = _rng(grading_seed, 8)
    step = np.zeros((12, 14))
    step[:, 7:] = 1.0
    step[3:6, 2:4] = 0.5
    images = [np.round(rng.random((17, 23)), 6), np.round(_crop(_sample("camera"), rng, 30, 40) / 255.0, 6), step]
    probe = "[sobel_magnitude(_x) for _x in [" + ", ".join(array_src(x) for x in images) + "]]"
    got = student.eval(probe)
    ref = reference.eval(probe)
    for image, answer, ref_answer in zip(images, got, ref):
        assert_close(answer, filters.sobel(image), f"sobel_magnitude({_describe(image)}) compared with filters.sobel "
                     "(kernels scaled by 1/4, sqrt((gh**2 + gv**2) / 2), the image mirrored at the border with the edge "
                     "pixel repeated)", rtol=1e-9, atol=1e-12)
        assert_close(answer, ref_answer, f"sobel_magnitude({_describe(image)}), compared with the reference solution",
                     rtol=1e-9, atol=1e-12)


def _hysteresis_oracle(magnitude, low, high, connectivity):
    structure = np.ones((3, 3)) if connectivity == 8 else ndi.generate_binary_structure(2, 1)
    labels, n = ndi.label(magnitude > low, structure=structure)
    strong = np.unique(labels[(magnitude > high) & (labels > 0)])
    return np.isin(labels, strong) & (labels > 0)


def _sparse_magnitude(rng: np.random.Generator, shape, density: float) -> np.ndarray:
    return (rng.integers(1, 10, size=shape) * (rng.random(shape) < density)).astype(np.float64)


@pytest.mark.points(3)
def test_hysteresis(student, reference, grading_seed):
    """hysteresis keeps weak pixels connected to strong ones, with 4- or 8-connectivity as asked"""
    rng = _rng(grading_seed, 9)
    mags = [_sparse_magnitude(rng, (20, 24), 0.45), _sparse_magnitude(rng, (25, 18), 0.55), np.round(rng.random((16, 16)), 4)]
    chain = np.zeros((7, 8))
    chain[0, 0] = 9
    for i in range(1, 7):
        chain[i, i] = 5
    chain[6, 7] = 5
    mags.append(chain)
    cases = [(0, 3, 7, 8), (0, 3, 7, 4), (1, 2, 8, 8), (1, 2, 8, 4), (1, 5, 5, 8), (2, 0.55, 0.9, 8), (2, 0.55, 0.9, 4),
             (3, 4, 8, 8), (3, 4, 8, 4)]
    probe = ("_mags = [" + ", ".join(array_src(m) for m in mags) + "]\n"
             f"_out = [hysteresis(_mags[_i], _lo, _hi, connectivity=_k) for _i, _lo, _hi, _k in {cases!r}]\n"
             "_out.append(hysteresis(_mags[0], 2, 6))\n"
             "_out")
    got = student.eval(probe)
    for (i, low, high, k), answer in zip(cases, got):
        expected = _hysteresis_oracle(mags[i], low, high, k)
        call = f"hysteresis({_describe(mags[i])}, low={low}, high={high}, connectivity={k})"
        assert np.asarray(answer).dtype == bool, f"{call} should return a boolean image, got dtype {np.asarray(answer).dtype}"
        hint = ("keep a pixel > low when a chain of pixels > low links it to a pixel > high; "
                + ("with 8-connectivity diagonal neighbours count too" if k == 8
                   else "with 4-connectivity only the neighbours above, below, left and right count")
                + "; both comparisons are strict (>)")
        _same_pixels(answer, expected, call, hint)
    _same_pixels(got[-1], _hysteresis_oracle(mags[0], 2, 6, 8), f"hysteresis({_describe(mags[0])}, 2, 6) with the default "
                 "connectivity", "the default connectivity is 8, as in Canny")
    _same_pixels(got[1], filters.apply_hysteresis_threshold(mags[0], 3, 7), "hysteresis(..., connectivity=4) compared with "
                 "filters.apply_hysteresis_threshold", "scikit-image's function uses 4-connectivity")


# --------------------------------------------------------------------------- 6. contrast
@pytest.mark.points(1)
def test_contrast(student, reference, grading_seed):
    """contrast is max - min as an int (148 for the checkpoint image), without integer wrap-around"""
    rng = _rng(grading_seed, 10)
    checkpoint = rng.integers(99, 248, size=(20, 30)).astype(np.uint8)
    checkpoint[0, 0], checkpoint[-1, -1] = 99, 247
    images = [checkpoint, rng.integers(0, 256, size=(8, 8)).astype(np.uint8),
              rng.integers(-120, 121, size=(6, 7)).astype(np.int8),
              rng.integers(-3000, 3000, size=(5, 5)).astype(np.int16), _crop(_sample("moon"), rng, 40, 40)]
    images[2][0, 0], images[2][1, 1] = -120, 120
    probe = "[int(contrast(_x)) for _x in [" + ", ".join(array_src(x) for x in images) + "]]"
    got = student.eval(probe)
    assert got[0] == 148, f"contrast of the checkpoint image (values 99 .. 247) should be 247 - 99 = 148, got {got[0]}"
    for image, answer in zip(images, got):
        expected = int(image.max()) - int(image.min())
        assert answer == expected, (
            f"contrast({_describe(image)}, values {int(image.min())} .. {int(image.max())}): expected {expected}, got {answer}"
            + (". In int8 the difference wraps around: convert to Python ints before subtracting" if image.dtype == np.int8 else ""))


def _stretch(image, out_min, out_max):
    image = np.asarray(image, dtype=np.float64)
    if image.max() == image.min():
        return np.full(image.shape, float(out_min))
    return out_min + (image - image.min()) * (out_max - out_min) / (image.max() - image.min())


@pytest.mark.points(2)
def test_stretch_contrast(student, reference, grading_seed):
    """stretch_contrast maps [min, max] linearly onto [out_min, out_max] as float64"""
    rng = _rng(grading_seed, 11)
    images = [rng.integers(60, 190, size=(9, 11)).astype(np.uint8), np.round(rng.uniform(0.3, 0.6, (7, 5)), 6),
              np.full((3, 4), 42, dtype=np.uint8), _crop(_sample("moon"), rng, 30, 30)]
    cases = [(0, None), (0, (0, 255)), (1, (-1.0, 1.0)), (1, None), (2, (2.0, 5.0)), (3, (0, 255)), (3, (0.25, 0.75))]
    probe = ("_images = [" + ", ".join(array_src(x) for x in images) + "]\n"
             f"[stretch_contrast(_images[_i]) if _r is None else stretch_contrast(_images[_i], *_r) for _i, _r in {cases!r}]")
    got = student.eval(probe)
    for (i, out_range), answer in zip(cases, got):
        lo, hi = out_range if out_range is not None else (0.0, 1.0)
        call = (f"stretch_contrast({_describe(images[i])}" + (f", {lo!r}, {hi!r})" if out_range else ")"))
        expected = _stretch(images[i], lo, hi)
        hint = ("an image with one value becomes out_min everywhere" if images[i].min() == images[i].max()
                else "use the image's own min and max and compute in float64 (uint8 arithmetic wraps around above 255): "
                     "out_min + (x - min) * (out_max - out_min) / (max - min)")
        assert_close(answer, expected, f"{call}; {hint}", rtol=1e-9, atol=1e-9)
        assert np.asarray(answer).dtype == np.float64, f"{call} should return float64, got {np.asarray(answer).dtype}"


@pytest.mark.points(2)
def test_equalize(student, reference, grading_seed):
    """equalize equals exposure.equalize_hist on uint8 images"""
    rng = _rng(grading_seed, 12)
    images = [np.clip(rng.beta(2, 6, (15, 20)) * 255, 0, 255).astype(np.uint8),
              rng.integers(100, 140, size=(11, 9)).astype(np.uint8),
              _crop(_sample("moon"), rng, 40, 50),
              np.array([[0, 0, 255, 255, 7]], dtype=np.uint8)]
    probe = "[equalize(_x) for _x in [" + ", ".join(array_src(x) for x in images) + "]]"
    got = student.eval(probe)
    ref = reference.eval(probe)
    for image, answer, ref_answer in zip(images, got, ref):
        call = f"equalize({_describe(image)}, values {int(image.min())} .. {int(image.max())})"
        assert_close(answer, exposure.equalize_hist(image), f"{call} compared with exposure.equalize_hist: each pixel "
                     "becomes the fraction of pixels with a level <= its own (the cumulative histogram divided by the "
                     "number of pixels)", rtol=1e-9, atol=1e-12)
        assert_close(answer, ref_answer, f"{call}, compared with the reference solution", rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- 7. morphology
FOOTPRINTS = {
    "3 x 3 square": np.ones((3, 3), dtype=np.uint8),
    "cross (diamond of radius 1)": morphology.diamond(1).astype(np.uint8),
    "3 x 5 rectangle": np.ones((3, 5), dtype=np.uint8),
    "disk of radius 2": morphology.disk(2).astype(np.uint8),
    "5 x 1 column": np.ones((5, 1), dtype=np.uint8),
}


def _morph_probe(function: str, images, footprints) -> str:
    return ("_images = [" + ", ".join(array_src(x) for x in images) + "]\n"
            + "_fps = [" + ", ".join(array_src(f) for f in footprints) + "]\n"
            + f"[[{function}(_b, _f) for _f in _fps] for _b in _images]")


def _binary_images(rng: np.random.Generator):
    a = rng.random((14, 17)) < 0.5
    b = ndi.binary_opening(rng.random((20, 16)) < 0.6)
    b[0, :] = True  # foreground touching the border
    c = np.zeros((9, 11), dtype=bool)
    c[2:7, 3:9] = True
    c[4, 5] = False
    return [a, b, c]


@pytest.mark.points(2)
def test_dilate(student, reference, grading_seed):
    """dilate equals morphology.dilation for several footprints, borders included"""
    rng = _rng(grading_seed, 13)
    images = _binary_images(rng)
    names, fps = list(FOOTPRINTS), list(FOOTPRINTS.values())
    got = student.eval(_morph_probe("dilate", images, fps))
    for image, answers in zip(images, got):
        for name, fp, answer in zip(names, fps, answers):
            call = f"dilate(a boolean image of shape {image.shape}, {name})"
            assert np.asarray(answer).dtype == bool, f"{call} should return a boolean image, got {np.asarray(answer).dtype}"
            _same_pixels(answer, morphology.dilation(image, fp), call + " compared with morphology.dilation",
                         "a pixel becomes True when the footprint centred on it covers at least one True pixel; pad with "
                         "0s (False) and use every offset of the footprint, rows and columns")


@pytest.mark.points(2)
def test_erode(student, reference, grading_seed):
    """erode equals morphology.erosion for several footprints, borders included"""
    rng = _rng(grading_seed, 14)
    images = _binary_images(rng)
    names, fps = list(FOOTPRINTS), list(FOOTPRINTS.values())
    got = student.eval(_morph_probe("erode", images, fps))
    for image, answers in zip(images, got):
        for name, fp, answer in zip(names, fps, answers):
            call = f"erode(a boolean image of shape {image.shape}, {name})"
            assert np.asarray(answer).dtype == bool, f"{call} should return a boolean image, got {np.asarray(answer).dtype}"
            _same_pixels(answer, morphology.erosion(image, fp), call + " compared with morphology.erosion",
                         "a pixel stays True only when every 1 of the footprint centred on it lies on a True pixel; pad "
                         "with 1s (True), so that the border alone does not erode an object")


# --------------------------------------------------------------------------- 8. noise
@pytest.mark.points(1)
def test_add_noise(student, reference, grading_seed):
    """add_noise equals util.random_noise with the given variance and seed"""
    rng = _rng(grading_seed, 15)
    gray = np.round(_crop(_sample("camera"), rng, 12, 15) / 255.0, 6)
    rgb = np.round(_crop(_sample("chelsea"), rng, 10, 12) / 255.0, 6)
    seeds = [int(s) for s in rng.integers(0, 10_000, size=2)]
    cases = [(0, 0.01, seeds[0]), (0, 0.05, seeds[0]), (1, 0.01, seeds[1]), (1, 0.002, seeds[0])]
    probe = (f"_images = [{array_src(gray)}, {array_src(rgb)}]\n"
             f"[add_noise(_images[_i], _v, _s) for _i, _v, _s in {cases!r}]")
    got = student.eval(probe)
    images = [gray, rgb]
    for (i, var, seed), answer in zip(cases, got):
        expected = util.random_noise(images[i], mode="gaussian", var=var, rng=seed)
        assert_close(answer, expected, f"add_noise({_describe(images[i])}, {var}, {seed}) compared with "
                     f"util.random_noise(image, mode='gaussian', var={var}, rng={seed}) (pass the seed as rng=)",
                     rtol=1e-9, atol=1e-12)


def _denoised(image, method, strength):
    channel_axis = -1 if image.ndim == 3 else None
    if method == "tv":
        return restoration.denoise_tv_chambolle(image, weight=strength, channel_axis=channel_axis)
    return restoration.denoise_bilateral(image, sigma_color=strength, channel_axis=channel_axis)


@pytest.mark.points(2)
def test_denoise(student, reference, grading_seed):
    """denoise: TV (weight) and bilateral (sigma_color) filtering of gray and colour images"""
    rng = _rng(grading_seed, 16)
    gray = np.round(util.random_noise(_crop(_sample("camera"), rng, 24, 28), rng=int(rng.integers(1000))), 6)
    rgb = np.round(util.random_noise(_crop(_sample("chelsea"), rng, 20, 22), rng=int(rng.integers(1000))), 6)
    images = [gray, rgb]
    cases = [(0, "tv", 0.1), (0, "tv", 0.3), (1, "tv", 0.05), (0, "bilateral", 0.1), (1, "bilateral", 0.2), (1, "bilateral", 0.05)]
    probe = (f"_images = [{array_src(gray)}, {array_src(rgb)}]\n"
             f"[denoise(_images[_i], _m, _s) for _i, _m, _s in {cases!r}]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (i, method, strength), answer, ref_answer in zip(cases, got, ref):
        call = f"denoise({_describe(images[i])}, {method!r}, {strength})"
        expected = _denoised(images[i], method, strength)
        what = ("restoration.denoise_tv_chambolle(image, weight=strength, ...)" if method == "tv"
                else "restoration.denoise_bilateral(image, sigma_color=strength, ...)")
        hint = "channel_axis=-1 for a colour image" if i == 1 else "channel_axis=None for a gray image"
        assert_close(answer, expected, f"{call} compared with {what} ({hint})", rtol=1e-7, atol=1e-9)
        assert_close(answer, ref_answer, f"{call}, compared with the reference solution", rtol=1e-7, atol=1e-9)


@pytest.mark.points(1)
def test_psnr(student, reference, grading_seed):
    """psnr equals metrics.peak_signal_noise_ratio for float and uint8 images"""
    rng = _rng(grading_seed, 17)
    clean = np.round(rng.random((10, 12)), 6)
    noisy = np.round(np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1), 6)
    clean8 = rng.integers(0, 256, size=(9, 9)).astype(np.uint8)
    noisy8 = np.clip(clean8.astype(int) + rng.integers(-20, 21, size=clean8.shape), 0, 255).astype(np.uint8)
    cases = [(clean, noisy, None), (clean, noisy, 2.0), (clean8, noisy8, 255.0)]
    probe = "[" + ", ".join(
        f"psnr({array_src(a)}, {array_src(b)})" if dr is None else f"psnr({array_src(a)}, {array_src(b)}, {dr!r})"
        for a, b, dr in cases) + "]"
    got = student.eval(probe)
    for (a, b, dr), answer in zip(cases, got):
        expected = metrics.peak_signal_noise_ratio(a, b, data_range=1.0 if dr is None else dr)
        call = f"psnr({_describe(a)}, {_describe(b)}" + (f", {dr})" if dr is not None else ")")
        hint = ("convert to float before subtracting: uint8 differences wrap around" if a.dtype == np.uint8
                else "10 * log10(data_range**2 / mean squared error)")
        assert_close(answer, expected, f"{call}; {hint}", rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- 9. superpixels
def _slic(image, n_segments):
    return segmentation.slic(image, n_segments=n_segments, channel_axis=-1 if image.ndim == 3 else None, start_label=1)


@pytest.mark.points(2)
def test_superpixels(student, reference, grading_seed):
    """superpixels: SLIC labels of colour and gray images (the course's astronaut printout with n_segments=100)"""
    rng = _rng(grading_seed, 18)
    rgb = _crop(_sample("coffee"), rng, 48, 64)
    gray = np.round(_crop(_sample("camera"), rng, 48, 48) / 255.0, 6)
    cases = [("rgb", 20), ("rgb", 40), ("gray", 12), ("gray", 30)]
    summary = ("[list(np.shape(_v)), int(np.min(_v)), int(np.max(_v)),"
               " [int(_v[0, 0]), int(_v[0, -1]), int(_v[-1, 0]), int(_v[-1, -1])]]")
    course = [[512, 512], 1, 56, [1, 9, 51, 56]]
    # the locked cell `segments = superpixels(data.astronaut(), n_segments=100)` made the course's
    # labels already: then SLIC of the whole astronaut (0.15 s) is not run again
    made = notebook_value(student, "segments", summary) == course
    probe = (f"_images = {{'rgb': {array_src(rgb)}, 'gray': {array_src(gray)}}}\n"
             + ("[None]" if made else f"[(lambda _v: {summary})(superpixels(data.astronaut(), 100))]")
             + f" + [superpixels(_images[_k], _n) for _k, _n in {cases!r}]")
    got = student.eval(probe)
    shape, low, high, corners = course if made else got[0]
    assert shape == [512, 512] and low == 1 and high == 56 and corners == [1, 9, 51, 56], (
        "superpixels(data.astronaut(), 100) should give labels 1 .. 56 of shape (512, 512) with corners 1, 9, 51, 56 "
        f"(the course's printout), got shape {tuple(shape)}, labels {low} .. {high}, corners {corners}")
    images = {"rgb": rgb, "gray": gray}
    for (kind, n), answer in zip(cases, got[1:]):
        expected = _slic(images[kind], n)
        call = f"superpixels({_describe(images[kind])}, {n})"
        hint = ("segmentation.slic(image, n_segments=n_segments, channel_axis=-1, start_label=1)" if kind == "rgb"
                else "a gray image has no channel axis: segmentation.slic(image, n_segments=n_segments, channel_axis=None, start_label=1)")
        _same_pixels(answer, expected, call, f"expected the labels of {hint}")


@pytest.mark.points(2)
def test_mean_colour_image(student, reference, grading_seed):
    """mean_colour_image paints each segment in its mean colour (like label2rgb kind='avg')"""
    rng = _rng(grading_seed, 19)
    rgb = np.round(rng.random((12, 14, 3)), 6)
    labels_a = rng.integers(0, 6, size=(12, 14))
    labels_b = rng.choice([3, 7, 11, 40], size=(12, 14))
    gray = np.round(rng.random((10, 9)), 6)
    labels_c = rng.integers(0, 4, size=(10, 9))
    coffee = _crop(_sample("coffee"), rng, 30, 30)
    labels_d = _slic(coffee, 10)
    cases = [(rgb, labels_a), (rgb, labels_b), (gray, labels_c), (coffee, labels_d)]
    probe = "[" + ", ".join(f"mean_colour_image({array_src(x)}, {array_src(lab)})" for x, lab in cases) + "]"
    got = student.eval(probe)
    for (image, labels), answer in zip(cases, got):
        expected = np.zeros(image.shape)
        for label in np.unique(labels):
            expected[labels == label] = image[labels == label].astype(np.float64).mean(axis=0)
        call = f"mean_colour_image({_describe(image)}, labels {sorted(set(np.unique(labels).tolist()))[:6]})"
        assert_close(answer, expected, f"{call}: every pixel should hold the mean colour of its segment (label 0 is a "
                     "segment like any other; average each channel separately; return float64)", rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- 10. contours
@pytest.mark.points(1)
def test_count_contours(student, reference, grading_seed):
    """count_contours counts the contours of find_contours at several levels"""
    rng = _rng(grading_seed, 20)
    image = np.zeros((50, 70))
    for value in (0.3, 0.3, 0.6, 0.9, 0.9, 0.9):
        while True:
            h, w = (int(v) for v in rng.integers(4, 10, size=2))
            r, c = int(rng.integers(1, 50 - h - 1)), int(rng.integers(1, 70 - w - 1))
            if not image[r - 1:r + h + 1, c - 1:c + w + 1].any():
                image[r:r + h, c:c + w] = value
                break
    binary = _binary_images(rng)[0].astype(np.float64)
    cases = [(0, None), (0, 0.2), (0, 0.75), (0, 0.5), (1, None), (1, 0.3)]
    probe = (f"_images = [{array_src(image)}, {array_src(binary)}]\n"
             f"[int(count_contours(_images[_i])) if _l is None else int(count_contours(_images[_i], _l)) for _i, _l in {cases!r}]")
    got = student.eval(probe)
    images = [image, binary]
    for (i, level), answer in zip(cases, got):
        expected = len(measure.find_contours(images[i], level))
        call = f"count_contours({_describe(images[i])}" + (f", {level})" if level is not None else ")")
        assert answer == expected, (f"{call}: measure.find_contours finds {expected} contours, got {answer} "
                                    "(pass level on; None means find_contours' default, halfway between min and max)")


# --------------------------------------------------------------------------- 11. corners
def _harris(image, k, sigma):
    return feature.corner_harris(image, k=k, sigma=sigma)


@pytest.mark.points(3)
def test_harris_response(student, reference, grading_seed):
    """harris_response equals feature.corner_harris for several k and sigma"""
    rng = _rng(grading_seed, 21)
    smooth = np.round(ndi.gaussian_filter(rng.random((24, 30)), 1.5), 6)
    patch = np.round(_crop(color.rgb2gray(_sample("astronaut")), rng, 40, 36), 6)
    board = np.round(_crop(_sample("checkerboard") / 255.0, rng, 30, 30), 6)
    images = [smooth, patch, board]
    cases = [(0, None, None), (1, None, None), (1, 0.1, 1.0), (2, 0.04, 2.0), (0, 0.05, 0.7), (2, 0.12, 1.5)]
    probe = ("_images = [" + ", ".join(array_src(x) for x in images) + "]\n"
             f"[harris_response(_images[_i]) if _k is None else harris_response(_images[_i], k=_k, sigma=_s) "
             f"for _i, _k, _s in {cases!r}]")
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (i, k, sigma), answer, ref_answer in zip(cases, got, ref):
        kk, ss = (0.05, 1.0) if k is None else (k, sigma)
        expected = _harris(images[i], kk, ss)
        call = f"harris_response({_describe(images[i])}" + (f", k={k}, sigma={sigma})" if k is not None else ")")
        scale = float(np.abs(expected).max()) or 1.0
        assert_close(answer, expected, f"{call} compared with feature.corner_harris: derivatives with ndi.sobel (axis 0 "
                     "for rows, 1 for columns, zero padding), products smoothed with a Gaussian of the given sigma (zero "
                     "padding), then Arr * Acc - Arc**2 - k * (Arr + Acc)**2", rtol=1e-7, atol=1e-9 * scale)
        assert_close(answer, ref_answer, f"{call}, compared with the reference solution", rtol=1e-7, atol=1e-9 * scale)


def _corners(image, min_distance):
    return feature.corner_peaks(feature.corner_harris(image), min_distance=min_distance)


@pytest.mark.points(2)
def test_detect_corners(student, reference, grading_seed):
    """detect_corners finds the course's 1267 corners of the astronaut and the corners of other images"""
    rng = _rng(grading_seed, 22)
    patch = np.round(_crop(color.rgb2gray(_sample("astronaut")), rng, 90, 110), 6)
    board = np.round(_crop(_sample("checkerboard") / 255.0, rng, 60, 70), 6)
    cases = [(0, 3), (0, 7), (1, 5), (1, 2)]
    # the locked cell `coords = detect_corners(grayscale, min_distance=5)` found the course's
    # corners already: then Harris on the whole astronaut (0.15 s) is not run again
    coords = notebook_value(student, "coords")
    made = coords is not None and np.array_equal(np.asarray(coords), _astronaut_corners())
    probe = (f"_images = [{array_src(patch)}, {array_src(board)}]\n"
             + ("[None]" if made else "[detect_corners(color.rgb2gray(data.astronaut()), 5)]")
             + f" + [detect_corners(_images[_i], _d) for _i, _d in {cases!r}]")
    got = student.eval(probe)
    astro = np.asarray(coords if made else got[0])
    assert astro.ndim == 2 and astro.shape[1:] == (2,), f"detect_corners should return an (N, 2) array, got shape {astro.shape}"
    assert len(astro) == 1267, (f"detect_corners(gray astronaut, 5) should find the course's 1267 corners, got {len(astro)} "
                                "(corner_peaks(corner_harris(gray), min_distance=5))")
    assert astro[:5].tolist() == COURSE_CORNERS, f"the first five corners should be {COURSE_CORNERS}, got {astro[:5].tolist()}"
    assert np.array_equal(astro, _astronaut_corners()), (
        f"detect_corners(gray astronaut, 5): the 1267 corners differ from corner_peaks(corner_harris(gray), min_distance=5): "
        f"{_first_diff(astro, _astronaut_corners())}")
    images = [patch, board]
    for (i, distance), answer in zip(cases, got[1:]):
        expected = _corners(images[i], distance)
        call = f"detect_corners({_describe(images[i])}, min_distance={distance})"
        answer = np.asarray(answer)
        assert answer.shape == expected.shape, (f"{call}: corner_peaks finds {len(expected)} corners, got an array of shape "
                                                f"{answer.shape} (pass min_distance on)")
        assert np.array_equal(answer, expected), f"{call}: {_first_diff(answer, expected)}"


# --------------------------------------------------------------------------- 12. faces
def _blur_oracle(image, boxes, sigma):
    out = image.astype(np.float64).copy()
    for b in boxes:
        r, c, h, w = b["r"], b["c"], b["height"], b["width"]
        out[r:r + h, c:c + w] = filters.gaussian(image[r:r + h, c:c + w], sigma=sigma,
                                                 channel_axis=-1 if image.ndim == 3 else None)
    return out


@pytest.mark.points(2)
def test_blur_boxes(student, reference, grading_seed):
    """blur_boxes blurs exactly the boxes (rows r..r+height, columns c..c+width) of a copy of the image"""
    rng = _rng(grading_seed, 23)
    rgb = np.round(_crop(_sample("astronaut"), rng, 50, 70) / 255.0, 6)
    gray = np.round(rng.random((40, 45)), 6)
    rgb_boxes = [{"r": int(rng.integers(0, 8)), "c": int(rng.integers(0, 10)), "width": int(rng.integers(16, 24)),
                  "height": int(rng.integers(8, 13))},
                 {"r": int(rng.integers(25, 30)), "c": int(rng.integers(35, 40)), "width": int(rng.integers(6, 12)),
                  "height": int(rng.integers(14, 20))}]
    gray_boxes = [{"r": int(rng.integers(3, 10)), "c": int(rng.integers(20, 25)), "width": 12, "height": 20}]
    cases = [(0, 0, 3.0), (0, 0, 1.5), (1, 1, 4.0)]
    probe = (f"_images = [{array_src(rgb)}, {array_src(gray)}]\n"
             f"_boxes = [{rgb_boxes!r}, {gray_boxes!r}]\n"
             "_out = []\n"
             f"for _i, _b, _s in {cases!r}:\n"
             "    _before = _images[_i].copy()\n"
             "    _result = blur_boxes(_images[_i], _boxes[_b], _s)\n"
             "    _out.append([_result, bool(np.array_equal(_before, _images[_i]))])\n"
             "_out")
    got = student.eval(probe)
    images, boxes = [rgb, gray], [rgb_boxes, gray_boxes]
    for (i, b, sigma), (answer, untouched) in zip(cases, got):
        call = f"blur_boxes({_describe(images[i])}, {boxes[b]}, sigma={sigma})"
        assert untouched, f"{call} changed the image it was given: work on a copy (np.array(image, copy=True))"
        expected = _blur_oracle(images[i], boxes[b], sigma)
        hint = ("r and c are the top-left row and column; the box covers rows r .. r + height - 1 and columns c .. c + width - 1"
                + ("; blur the channels separately (channel_axis=-1)" if i == 0 else ""))
        assert_close(answer, expected, f"{call}; {hint}", rtol=1e-7, atol=1e-9)


# --------------------------------------------------------------------------- 13. pipeline
def _coin_image(seed: int, size=(110, 140)):
    """A synthetic coins image: bright disks (known count) on a tilted, noisy background."""
    rng = np.random.default_rng(seed)
    h, w = size
    rows, cols = np.mgrid[0:h, 0:w]
    angle = rng.uniform(0, 2 * np.pi)
    image = 60 + 50 * ((np.cos(angle) * rows / h + np.sin(angle) * cols / w) + 1) / 2
    placed, tries = [], 0
    n = int(rng.integers(4, 8))
    while len(placed) < n and tries < 2000:
        tries += 1
        radius = int(rng.integers(9, 15))
        r, c = int(rng.integers(radius + 2, h - radius - 2)), int(rng.integers(radius + 2, w - radius - 2))
        if all((r - r2) ** 2 + (c - c2) ** 2 > (radius + r3 + 6) ** 2 for r2, c2, r3 in placed):
            placed.append((r, c, radius))
            rr, cc = draw.disk((r, c), radius, shape=size)
            image[rr, cc] += rng.uniform(50, 90)
    image += rng.normal(0, 6, size)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), len(placed)


def _coin_areas(image, sigma, block_size, offset):
    """The pipeline's objects: the pixel counts of the 8-connected objects, before the area filter."""
    smoothed = filters.gaussian(util.img_as_float(image), sigma=sigma)
    mask = smoothed > filters.threshold_local(smoothed, block_size, method="mean", offset=offset)
    mask = morphology.opening(mask, morphology.footprint_rectangle((5, 5)))
    mask = ndi.binary_fill_holes(mask)
    labels = measure.label(mask, connectivity=2)
    return np.bincount(labels.ravel())[1:]


def _count_oracle(image, sigma, block_size, offset, min_area):
    return int(np.sum(_coin_areas(image, sigma, block_size, offset) >= min_area))


def _shapes_image(rng: np.random.Generator) -> np.ndarray:
    """Blocks that only the exact steps separate: two squares touching at one corner (one object
    with 8-connectivity, two with 4), blocks joined by bridges 4 and 5 pixels thick (a 5 x 5
    opening cuts only the thinner ones) and specks of 4 x 4 to 6 x 6 pixels."""
    image = np.full((80, 100), 50.0)
    image[8:20, 8:20] = 200
    image[20:32, 20:32] = 200
    image[45:60, 5:20] = 200
    image[45:60, 27:42] = 200
    image[50:54, 20:27] = 200
    image[45:60, 55:70] = 200
    image[45:60, 77:92] = 200
    image[50:55, 70:77] = 200
    image[5:18, 55:70] = 200
    image[25:38, 55:70] = 200
    image[18:25, 60:64] = 200
    image[66:71, 10:15] = 200
    image[66:70, 30:34] = 200
    image[66:72, 50:56] = 200
    image[70:75, 80:85] = 200
    return np.clip(image + rng.normal(0, 1, image.shape), 0, 255).astype(np.uint8)


@pytest.mark.points(3)
def test_count_coins(student, reference, grading_seed):
    """count_coins chains smoothing, local threshold, opening, hole filling and labelling (24 coins)"""
    seeds = [int(s) for s in _rng(grading_seed, 24).integers(0, 2**31, size=2)]
    made = [_coin_image(s) for s in seeds]
    made.append((_shapes_image(_rng(grading_seed, 25)), 9))
    made.append((np.zeros((40, 50), dtype=np.uint8), 0))
    images = [m[0] for m in made]
    exact = sorted(int(a) for a in _coin_areas(images[0], 2.0, 51, -0.05))
    exact_area = exact[len(exact) // 2]  # an object of exactly min_area pixels counts
    cases = [(0, None), (0, (1.0, 41, -0.08, 150)), (0, (2.0, 51, -0.05, 500)), (0, (2.0, 51, -0.05, exact_area)),
             (1, None), (1, (3.0, 61, -0.03, 100)), (1, (2.0, 31, 0.0, 20)), (2, (0.5, 31, -0.1, 10)), (2, (1.0, 41, -0.1, 20)),
             (3, (1.0, 21, 0.0, 1))]
    coin_cases = [None, (1.0, 101, -0.05, 300), (2.0, 35, 0.0, 300), (2.0, 51, -0.05, 1500)]
    probe = ("_images = [" + ", ".join(array_src(x) for x in images) + "]\n"
             f"_a = [int(count_coins(_images[_i])) if _p is None else int(count_coins(_images[_i], *_p)) for _i, _p in {cases!r}]\n"
             f"_b = [int(count_coins(data.coins())) if _p is None else int(count_coins(data.coins(), *_p)) for _p in {coin_cases!r}]\n"
             "_a + _b")
    got = student.eval(probe)
    default = (2.0, 51, -0.05, 300)
    assert got[len(cases)] == 24, f"count_coins(data.coins()) with the default arguments should count 24 coins, got {got[len(cases)]}"
    for (i, params), answer in zip(cases, got):
        p = default if params is None else params
        expected = _count_oracle(images[i], *p)
        truth = made[i][1]
        what = (f"{truth} coins" if i < 2 else "squares touching at a corner, blocks joined by thin bridges and small specks"
                if i == 2 else "nothing: all pixels black")
        call = (f"count_coins(a synthetic uint8 image {images[i].shape} with {what}"
                + (f", sigma={p[0]}, block_size={p[1]}, offset={p[2]}, min_area={p[3]})" if params else ")"))
        if i == 3:
            assert answer == expected, (f"{call}: an empty black image has no coins, got {answer}. A pixel is foreground only "
                                        "when the smoothed image is strictly above the local threshold (>)")
        assert answer == expected, (f"{call}: the steps of the pipeline give {expected}, got {answer}. Check each step "
                                    "and that every argument is passed on: gaussian(sigma), threshold_local(block_size, "
                                    "method='mean', offset), opening with a 5 x 5 square, fill holes, 8-connected labels, "
                                    "objects with at least min_area pixels (>=)")
    coins = _sample("coins")
    for params, answer in zip(coin_cases, got[len(cases):]):
        p = default if params is None else params
        expected = _count_oracle(coins, *p)
        call = "count_coins(data.coins()" + (f", sigma={p[0]}, block_size={p[1]}, offset={p[2]}, min_area={p[3]})" if params else ")")
        assert answer == expected, f"{call}: the steps of the pipeline give {expected}, got {answer}"
