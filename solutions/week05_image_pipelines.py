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
# # Week 05 — Image processing with scikit-image: from pixels to pipelines
#
# A model can only be as good as the images it is fed. Before designing a network it often pays
# to clean and simplify the data: keep only the edges or the outlines of objects, remove noise,
# even out the lighting, or throw away whatever the model should not look at. Smaller, cleaner
# inputs let a smaller model learn faster, predict faster and need less storage (Occam's razor:
# the simplest model that does the job). The preprocessing is applied to every split (training,
# validation and test) alike.
#
# This week we use **scikit-image** (`skimage`), a library of classical image-processing
# algorithms that works directly on NumPy arrays. You will:
#
# 1. treat images as arrays and convert between colour and grayscale;
# 2. flip, rotate, rescale and resize images (and meet aliasing);
# 3. separate foreground from background by thresholding (global, Otsu, local);
# 4. find edges with Sobel and Canny, and write Canny's hysteresis step yourself;
# 5. measure and enhance contrast (stretching, histogram equalisation, CLAHE);
# 6. write the two basic morphological operations, dilation and erosion;
# 7. restore damaged images (inpainting), add noise and remove it again;
# 8. group pixels into superpixels with SLIC, find contours and detect Harris corners;
# 9. detect faces and blur them, and chain several steps into a pipeline that counts coins.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the given functions: the
# grader calls them by name, on images of its own. Run the notebook from top to bottom; the
# *Check* cells test a few cases for you. The grader runs more tests that you do not see: it
# compares your functions with scikit-image on other images and with other arguments.
#
# All images used here ship inside the scikit-image package, so nothing is downloaded.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for the random numbers used below
FAST = False         # True while grading: no figures, fewer demos
DEVICE = "cpu"       # this week runs on the CPU only
DATA_DIR = "data"    # unused: every image ships with scikit-image

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
from collections import deque

import matplotlib.pyplot as plt
import numpy as np
import skimage
from scipy import ndimage as ndi
from skimage import color, data, exposure, feature, filters, measure, metrics, morphology
from skimage import restoration, segmentation, transform, util

np.random.seed(SEED)
print("scikit-image", skimage.__version__)


def show_image(image, title="Image", cmap_type="gray"):
    """Show one image without axes (skipped while grading)."""
    if FAST:
        return
    plt.imshow(image, cmap=cmap_type)
    plt.title(title)
    plt.axis("off")
    plt.show()


# %% [markdown] nbgrader={"grade": false, "grade_id": "arrays_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Images are NumPy arrays
#
# `skimage.data` holds sample images. Each one is an ordinary `numpy.ndarray`: a colour image has
# the shape `(height, width, 3)`, one value per **r**ow, **c**olumn and channel (red, green,
# blue), usually of type `uint8` (whole numbers from 0 to 255). Rows come first: `image[r, c]`
# is the pixel in row `r` (counted from the top) and column `c` (counted from the left).
#
# A few images (for example `data.brain()` or `data.cells3d()`) are not in the package and would
# be downloaded on first use; we never use those.

# %% nbgrader={"grade": false, "grade_id": "arrays_demo", "locked": true, "schema_version": 3, "solution": false}
rocket_image = data.rocket()
print(type(rocket_image))
print(rocket_image.shape, rocket_image.dtype)
print(rocket_image[0])
show_image(rocket_image, "data.rocket()")

# %% nbgrader={"grade": true, "grade_id": "check_arrays", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert rocket_image.shape == (427, 640, 3), f"the rocket is 427 x 640 pixels with 3 channels, got {rocket_image.shape}"
assert rocket_image[0, 0].tolist() == [17, 33, 58] and rocket_image[0, -1].tolist() == [7, 18, 36], \
    "the first row of the rocket starts with [17 33 58] and ends with [7 18 36]"
print("arrays: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "gray_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Colour and grayscale
#
# Often the colour carries no information a model needs, and one channel instead of three makes
# everything smaller. scikit-image converts with `color.rgb2gray` and back with `color.gray2rgb`.
# A gray value is a **weighted sum** of the three channels, with the weights of the ITU-R 709
# standard (the eye is most sensitive to green and least to blue):
#
# $$Y = 0.2125\,R + 0.7154\,G + 0.0721\,B .$$
#
# `rgb2gray` first converts whole numbers 0..255 to floats in $[0, 1]$ (it divides a `uint8`
# image by 255); a float image is taken as it is. The result is a float image of shape
# `(height, width)`. Going back, `gray2rgb` cannot know the true colours: it simply repeats the
# gray value in all three channels.
#
# **Task.** Write `to_grayscale(rgb)` with the weights above (no `rgb2gray`), and `to_rgb(gray)`,
# which repeats a gray image into 3 channels (no `gray2rgb`).

# %% nbgrader={"grade": false, "grade_id": "grayscale", "locked": false, "schema_version": 3, "solution": true}
GRAY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])


def to_grayscale(rgb: np.ndarray) -> np.ndarray:
    """Gray image (height, width) of float64 from an RGB image (height, width, 3).

    A uint8 image is first scaled to [0, 1] (divided by 255); a float image is used as it is.
    """
    ### BEGIN SOLUTION
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        rgb = rgb / 255.0
    return rgb.astype(np.float64) @ GRAY_WEIGHTS
    ### END SOLUTION


def to_rgb(gray: np.ndarray) -> np.ndarray:
    """The gray image repeated into 3 channels: shape (height, width, 3), same dtype."""
    ### BEGIN SOLUTION
    return np.stack([gray, gray, gray], axis=-1)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "gray_demo", "locked": true, "schema_version": 3, "solution": false}
original = data.astronaut()
grayscale = to_grayscale(original)
rgb = to_rgb(grayscale)
print(f"{grayscale.shape=}")
print(f"{rgb.shape=}")
show_image(original, "Original")
show_image(grayscale, "Grayscale")

# %% nbgrader={"grade": true, "grade_id": "check_grayscale", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert grayscale.shape == (512, 512), f"the gray astronaut should have shape (512, 512), got {grayscale.shape}"
assert rgb.shape == (512, 512, 3), f"to_rgb should give shape (512, 512, 3), got {rgb.shape}"
assert np.allclose(grayscale, color.rgb2gray(original)), "to_grayscale(astronaut) should equal color.rgb2gray(astronaut)"
assert np.allclose(to_grayscale(np.array([[[255, 0, 0]]], dtype=np.uint8)), 0.2125), \
    "a pure red uint8 pixel (255, 0, 0) has the gray value 0.2125"
assert np.allclose(to_grayscale(np.array([[[0.0, 1.0, 0.0]]])), 0.7154), "a pure green float pixel (0, 1, 0) has the gray value 0.7154"
assert (rgb[..., 0] == grayscale).all() and (rgb[..., 2] == grayscale).all(), "to_rgb repeats the gray values in every channel"
print("grayscale: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "flips_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Basic operations: flips, rotations, rescaling, resizing
#
# Because images are arrays, NumPy already flips them: `np.flipud` turns an image upside down
# (the rows in reverse order) and `np.fliplr` mirrors it left to right (the columns in reverse
# order). Both work for gray and colour images alike.
#
# **Task.** Write both flips with slicing only (no `np.flip*`). Flipping twice gives back the
# original image.

# %% nbgrader={"grade": false, "grade_id": "flips", "locked": false, "schema_version": 3, "solution": true}
def flip_vertical(image: np.ndarray) -> np.ndarray:
    """The image upside down (rows in reverse order), like np.flipud."""
    ### BEGIN SOLUTION
    return image[::-1]
    ### END SOLUTION


def flip_horizontal(image: np.ndarray) -> np.ndarray:
    """The image mirrored left to right (columns in reverse order), like np.fliplr."""
    ### BEGIN SOLUTION
    return image[:, ::-1]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_flips", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_small = np.arange(12).reshape(3, 4)
assert flip_vertical(_small).tolist() == [[8, 9, 10, 11], [4, 5, 6, 7], [0, 1, 2, 3]], "flip_vertical reverses the order of the rows"
assert flip_horizontal(_small).tolist() == [[3, 2, 1, 0], [7, 6, 5, 4], [11, 10, 9, 8]], "flip_horizontal reverses the order of the columns"
assert (flip_horizontal(original) == np.fliplr(original)).all(), "flip_horizontal of a colour image should equal np.fliplr"
assert (flip_vertical(flip_vertical(original)) == original).all(), "flipping twice gives back the original"
print("flips: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "transform_md", "locked": true, "schema_version": 3, "solution": false}
# For anything more complex, the `transform` module helps:
#
# * `transform.rotate(image, angle)` turns the image by `angle` degrees **counter-clockwise**, so
#   `-90` turns it clockwise. The shape stays the same unless you pass `resize=True`.
# * `transform.rescale(image, scale)` multiplies the size by `scale` (`1/4` makes it four times
#   smaller); `transform.resize(image, (height, width))` gives an exact size.
#
# Both return float images in $[0, 1]$. **A trap:** `rescale` scales *every* axis unless told
# which axis holds the colour channels. `transform.rescale(astronaut, 1/4)` gives the shape
# `(128, 128, 1)`: the 3 channels were "rescaled" into one! Pass `channel_axis=-1` for a colour
# image (older versions of scikit-image called this `multichannel=True`).
#
# **Aliasing.** Shrinking an image keeps only some of its pixels. Fine patterns (stripes, a
# checkerboard) then turn into coarse waves that were not in the original: a signal rebuilt from
# too few samples contains low frequencies that the original did not have. This is *aliasing*.
# With `anti_aliasing=True` the image is smoothed with a Gaussian before it is sampled, which
# removes the details that cannot be represented at the smaller size.
#
# **Task.** Write `downscale(image, factor, anti_aliasing=True)`, which makes a gray *or* colour
# image `factor` times smaller with `transform.rescale` (scale `1 / factor`), keeping the
# channels of a colour image (3-D array) untouched.

# %% nbgrader={"grade": false, "grade_id": "downscale", "locked": false, "schema_version": 3, "solution": true}
def downscale(image: np.ndarray, factor: int, anti_aliasing: bool = True) -> np.ndarray:
    """transform.rescale by 1/factor; a 3-D image keeps its last axis (the channels) as it is."""
    ### BEGIN SOLUTION
    channel_axis = -1 if image.ndim == 3 else None
    return transform.rescale(image, 1 / factor, anti_aliasing=anti_aliasing, channel_axis=channel_axis)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "transform_demo", "locked": true, "schema_version": 3, "solution": false}
print("rescale without channel_axis:", transform.rescale(original, 1 / 4, anti_aliasing=True).shape)
small = downscale(original, 4)
print("downscale(original, 4):      ", small.shape, small.dtype)
print("rotate(-90):                 ", transform.rotate(original, -90).shape)
print("resize to (400, 500):        ", transform.resize(original, (400, 500), anti_aliasing=True).shape)
board = data.checkerboard() / 255.0
for flag in (False, True):
    shrunk = downscale(board, 7, anti_aliasing=flag)
    print(f"checkerboard / 7, anti_aliasing={flag}: variance of the Laplacian {ndi.laplace(shrunk).var():.4f}")
show_image(small, "downscale(original, 4)")

# %% nbgrader={"grade": true, "grade_id": "check_downscale", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert small.shape == (128, 128, 3), f"downscale(astronaut, 4) should keep the 3 channels: shape (128, 128, 3), got {small.shape}"
assert small.dtype == np.float64 and 0 <= small.min() and small.max() <= 1, "rescale returns floats in [0, 1]"
assert downscale(grayscale, 2).shape == (256, 256), "a gray 512 x 512 image downscaled by 2 is 256 x 256"
assert ndi.laplace(downscale(board, 7, True)).var() < ndi.laplace(downscale(board, 7, False)).var(), \
    "anti-aliasing should smooth away the fine checkerboard pattern (a smaller Laplacian variance)"
print("downscale: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "threshold_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Thresholding
#
# To tell foreground from background we can keep one bit per pixel: 1 (white) for the object and
# 0 (black) for the rest. This is the simplest kind of segmentation, and it helps with object and
# face detection, noise removal, and more.
#
# The **histogram** of an image counts how many pixels have each intensity, from 0 (black) to 255
# (white). **Global thresholding** picks one value `thresh` for the whole image:
#
# 1. convert the image to grayscale;
# 2. choose the threshold, by looking at the histogram or with an algorithm;
# 3. a pixel becomes foreground (white) when `value > thresh` (strictly greater), else background.
#
# It works best when the histogram is **bimodal**: one hump for the background and one for the
# objects. `filters.try_all_threshold(image)` shows the result of several algorithms side by
# side; once one looks good, call it directly, for example `filters.threshold_otsu(image)`.
#
# **Otsu's method** tries every threshold $t$ and keeps the one that separates the two classes
# best. With $n_0(t)$ pixels of value $\le t$ (mean $\mu_0$) and $n_1(t)$ pixels above $t$ (mean
# $\mu_1$), it maximises the **between-class variance**
#
# $$\sigma_B^2(t) \propto n_0(t)\, n_1(t)\, \bigl(\mu_0(t) - \mu_1(t)\bigr)^2 ,$$
#
# which is the same as minimising the spread within the two classes. Only thresholds with pixels
# on both sides count.
#
# **Task.** Write `binarize(gray, thresh)` (a boolean image: `True` where the pixel is strictly
# above `thresh`) and `otsu_threshold(gray)` for a `uint8` image: build the 256-bin histogram
# (`np.bincount`), compute $\sigma_B^2(t)$ for every $t$ with pixels on both sides and return the
# **smallest** $t$ where it is largest, as an `int`. An image with a single value has that value
# as its threshold. Do not call `threshold_otsu` inside it.

# %% nbgrader={"grade": false, "grade_id": "otsu", "locked": false, "schema_version": 3, "solution": true}
def binarize(gray: np.ndarray, thresh: float) -> np.ndarray:
    """Boolean image: True where gray > thresh (strictly), False elsewhere."""
    ### BEGIN SOLUTION
    return np.asarray(gray) > thresh
    ### END SOLUTION


def otsu_threshold(gray: np.ndarray) -> int:
    """Otsu's threshold of a uint8 image, from its 256-bin histogram (an int in 0..255)."""
    ### BEGIN SOLUTION
    values = np.asarray(gray).ravel()
    hist = np.bincount(values, minlength=256)[:256].astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    n_low = np.cumsum(hist)
    n_high = values.size - n_low
    sum_low = np.cumsum(hist * levels)
    both = (n_low > 0) & (n_high > 0)
    if not both.any():
        return int(values[0])
    mean_low = sum_low[both] / n_low[both]
    mean_high = (sum_low[-1] - sum_low[both]) / n_high[both]
    between = n_low[both] * n_high[both] * (mean_low - mean_high) ** 2
    return int(np.flatnonzero(both)[np.argmax(between)])
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "otsu_demo", "locked": true, "schema_version": 3, "solution": false}
camera = data.camera()
camera_thresh = otsu_threshold(camera)
print("Otsu's threshold of the camera man:", camera_thresh, "| scikit-image:", filters.threshold_otsu(camera))
show_image(binarize(camera, camera_thresh), "Global thresholding (Otsu)")
if not FAST:
    fig, axis = filters.try_all_threshold(camera, verbose=False)
    plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_otsu", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert binarize(np.array([[1, 2, 3]]), 2).tolist() == [[False, False, True]], "binarize keeps only values strictly above the threshold"
assert camera_thresh == 102, f"Otsu's threshold of data.camera() is 102, got {camera_thresh}"
assert isinstance(camera_thresh, int), f"otsu_threshold should return a Python int, got {type(camera_thresh).__name__}"
_two = np.array([[10, 10, 200, 200]], dtype=np.uint8)
assert otsu_threshold(_two) == 10, f"with only the values 10 and 200, every t in 10..199 separates them: return the smallest, 10 (got {otsu_threshold(_two)})"
print("otsu: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "local_md", "locked": true, "schema_version": 3, "solution": false}
# ### Local (adaptive) thresholding
#
# When the lighting is uneven, no single threshold fits the whole image: part of the background
# is brighter than the text elsewhere. A **local** threshold is computed for every pixel from its
# neighbourhood: `filters.threshold_local(image, block_size, offset=...)` takes a (weighted) mean
# of the `block_size x block_size` window around the pixel and subtracts the constant `offset`.
# Tips: take `block_size` fairly large and **odd** (so that the window has a centre pixel), and
# `offset` small.
#
# With `method='mean'` every pixel of the window weighs the same. At the border the window sticks
# out of the image; scikit-image (SciPy's `mode='reflect'`) then mirrors the image **including
# the edge pixel**: the row above row 0 is row 0 again, then row 1, ... This is
# `np.pad(image, r, mode='symmetric')` in NumPy (NumPy's own `mode='reflect'` would skip the
# edge pixel).
#
# **Task.** Write `local_threshold(image, block_size, offset=0.0)` that returns the threshold
# image of `threshold_local(image, block_size, method='mean', offset=offset)` without calling
# any filter: pad, then add up the shifted windows (or use cumulative sums). The result is a
# float image; raise a `ValueError` when `block_size` is even.

# %% nbgrader={"grade": false, "grade_id": "local", "locked": false, "schema_version": 3, "solution": true}
def local_threshold(image: np.ndarray, block_size: int, offset: float = 0.0) -> np.ndarray:
    """Mean of the block_size x block_size window around each pixel (symmetric padding) minus offset."""
    ### BEGIN SOLUTION
    if block_size % 2 == 0:
        raise ValueError(f"block_size must be odd, got {block_size}")
    image = np.asarray(image, dtype=np.float64)
    radius = block_size // 2
    padded = np.pad(image, radius, mode="symmetric")
    height, width = image.shape
    total = np.zeros_like(image)
    for dr in range(block_size):
        for dc in range(block_size):
            total += padded[dr:dr + height, dc:dc + width]
    return total / block_size ** 2 - offset
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "local_demo", "locked": true, "schema_version": 3, "solution": false}
text_image = data.page()
page_thresh = local_threshold(text_image, 35, offset=10)
binary_local = text_image > page_thresh
binary_global = binarize(text_image, otsu_threshold(text_image))
print(f"page {text_image.shape}: white pixels with Otsu {binary_global.mean():.3f}, with the local threshold {binary_local.mean():.3f}")
show_image(binary_global, "Global thresholding")
show_image(binary_local, "Local thresholding")

# %% nbgrader={"grade": true, "grade_id": "check_local", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_expected = filters.threshold_local(text_image, 35, method="mean", offset=10)
assert page_thresh.shape == text_image.shape, "the threshold image has the shape of the image"
assert np.allclose(page_thresh, _expected), \
    f"local_threshold(page, 35, offset=10) should equal threshold_local(..., method='mean'); largest difference {np.abs(page_thresh - _expected).max():.3g}"
try:
    local_threshold(text_image, 34)
except ValueError:
    pass
else:
    raise AssertionError("an even block_size has no centre pixel: local_threshold should raise ValueError")
print("local threshold: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "edges_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Edge detection
#
# To count coins a model needs their outlines, not their faces. An **edge** is where the
# intensity changes quickly. Like the layers of a convolutional network, an edge filter looks at
# a small neighbourhood of every pixel. The **Sobel** filter uses two 3 x 3 kernels: one for the
# change from top to bottom and its transpose for the change from left to right. In
# scikit-image's `filters.sobel` they are scaled by 1/4:
#
# $$K_h = \tfrac14\begin{pmatrix}1 & 2 & 1\\ 0 & 0 & 0\\ -1 & -2 & -1\end{pmatrix},\qquad K_v = K_h^\top ,$$
#
# and the result is the root mean square of the two responses,
# $\sqrt{(g_h^2 + g_v^2)/2}$, with the image mirrored at the border as in section 4
# (`mode='reflect'` in SciPy, `'symmetric'` in `np.pad`). Convert colour images to grayscale
# first.
#
# **Task.** Write `sobel_magnitude(gray)` for a 2-D float image. You may use `ndi.convolve` or
# pad the image and add up shifted copies; do not call `filters.sobel` or `ndi.sobel`.

# %% nbgrader={"grade": false, "grade_id": "sobel", "locked": false, "schema_version": 3, "solution": true}
SOBEL_H = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]) / 4


def sobel_magnitude(gray: np.ndarray) -> np.ndarray:
    """sqrt((gh**2 + gv**2) / 2) with the scaled Sobel kernels and mirrored borders, like filters.sobel."""
    ### BEGIN SOLUTION
    gray = np.asarray(gray, dtype=np.float64)
    g_h = ndi.convolve(gray, SOBEL_H, mode="reflect")
    g_v = ndi.convolve(gray, SOBEL_H.T, mode="reflect")
    return np.sqrt((g_h ** 2 + g_v ** 2) / 2)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sobel_demo", "locked": true, "schema_version": 3, "solution": false}
coins = data.coins()
coins_edges = sobel_magnitude(coins / 255.0)
show_image(coins_edges, "Sobel")

# %% nbgrader={"grade": true, "grade_id": "check_sobel", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_expected = filters.sobel(coins / 255.0)
assert coins_edges.shape == coins.shape, "the edge image has the shape of the image"
assert np.allclose(coins_edges, _expected, atol=1e-12), \
    f"sobel_magnitude should equal filters.sobel on the coins; largest difference {np.abs(coins_edges - _expected).max():.3g}"
print("sobel: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "canny_md", "locked": true, "schema_version": 3, "solution": false}
# ### Canny
#
# The Canny detector (`feature.canny`) finds thinner, cleaner edges in four steps:
#
# 1. smooth the image with a Gaussian of width `sigma`;
# 2. apply the horizontal and vertical Sobel filters; the edge strength is the norm of the gradient;
# 3. thin the edges to curves one pixel wide: sort each pixel's gradient direction into one of
#    four bins (horizontal, vertical, diagonal, antidiagonal) and keep the pixel only if it is
#    stronger than its neighbours across the edge (interpolated along the normal);
# 4. **hysteresis thresholding**: a pixel above the high threshold is an edge; a pixel above the
#    low threshold is an edge too if it is connected to an edge pixel, step by step, through
#    pixels above the low threshold.
#
# The input must be a 2-D (grayscale) image. `sigma` is any positive number (default 1); the
# larger it is, the stronger the smoothing and the fewer edges survive. (Whether Canny is faster
# than Sobel depends on the implementation; it is certainly more work per pixel.)
#
# **Connectivity.** Two pixels are *4-connected* when they share a side (up, down, left, right)
# and *8-connected* when they share a side or a corner. Canny (and `feature.canny`) uses
# **8-connectivity**. Beware: `filters.apply_hysteresis_threshold` uses SciPy's default
# neighbourhood, which is **4-connectivity** in 2-D, so the two can disagree on diagonal chains.
#
# **Task.** Write `hysteresis(magnitude, low, high, connectivity=8)` from scratch: return a
# boolean image that is `True` for every pixel strictly above `low` that is connected (through
# pixels strictly above `low`, with the given connectivity, 4 or 8) to a pixel strictly above
# `high`. Assume `low <= high`. A breadth-first (or depth-first) search from the strong pixels
# does it; do not call `ndi.label` or `apply_hysteresis_threshold`.

# %% nbgrader={"grade": false, "grade_id": "hysteresis", "locked": false, "schema_version": 3, "solution": true}
def hysteresis(magnitude: np.ndarray, low: float, high: float, connectivity: int = 8) -> np.ndarray:
    """Pixels > low connected (4- or 8-connectivity) through pixels > low to a pixel > high."""
    ### BEGIN SOLUTION
    if connectivity == 8:
        steps = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    elif connectivity == 4:
        steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    else:
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    magnitude = np.asarray(magnitude)
    weak = magnitude > low
    edges = magnitude > high
    height, width = magnitude.shape
    queue = deque(zip(*np.nonzero(edges)))
    while queue:
        r, c = queue.popleft()
        for dr, dc in steps:
            rr, cc = r + dr, c + dc
            if 0 <= rr < height and 0 <= cc < width and weak[rr, cc] and not edges[rr, cc]:
                edges[rr, cc] = True
                queue.append((rr, cc))
    return edges
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "canny_demo", "locked": true, "schema_version": 3, "solution": false}
for sigma in (1, 3):
    print(f"canny(coins, sigma={sigma}) marks {feature.canny(coins, sigma=sigma).sum()} edge pixels")
chain = np.array([[0, 0, 0, 0, 0],
                  [0, 9, 0, 0, 0],
                  [0, 0, 5, 0, 0],
                  [0, 0, 5, 5, 0],
                  [0, 0, 0, 0, 5]])
print("8-connected:\n", hysteresis(chain, 4, 8).astype(int))
print("4-connected:\n", hysteresis(chain, 4, 8, connectivity=4).astype(int))
show_image(feature.canny(coins, sigma=3), "Canny, sigma=3")

# %% nbgrader={"grade": true, "grade_id": "check_hysteresis", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert feature.canny(coins, sigma=1).sum() == 12777 and feature.canny(coins, sigma=3).sum() == 4018, \
    "a larger sigma gives fewer edges: 12777 edge pixels with sigma=1, 4018 with sigma=3"
_h8 = hysteresis(chain, 4, 8)
_h4 = hysteresis(chain, 4, 8, connectivity=4)
assert _h8.dtype == bool, "hysteresis returns a boolean image"
assert _h8.sum() == 5, f"with 8-connectivity the whole diagonal chain (5 pixels) is an edge, got {_h8.sum()} pixels"
assert _h4.sum() == 1 and _h4[1, 1], f"with 4-connectivity only the strong pixel itself is an edge, got {_h4.sum()} pixels"
assert (_h4 == filters.apply_hysteresis_threshold(chain, 4, 8)).all(), "connectivity=4 should agree with apply_hysteresis_threshold"
print("hysteresis: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "contrast_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Contrast
#
# X-ray images often show little detail: their pixels use only part of the possible range. The
# **contrast** of an image is the difference between its largest and its smallest intensity. An
# image of low contrast has a narrow histogram, skewed to the right (mostly light), to the left
# (mostly dark) or in the middle (mostly gray). Three remedies:
#
# * **contrast stretching** maps the range `[min, max]` linearly onto the full range;
# * **histogram equalisation** (HE, `exposure.equalize_hist`) spreads the most frequent
#   intensities out: each pixel is replaced by the fraction of pixels that are not brighter than
#   it (the cumulative distribution function, CDF, of the histogram), so the result is in
#   $[0, 1]$ and its histogram is roughly flat;
# * **adaptive** equalisation (AHE) does this per tile, and **CLAHE** (contrast-limited AHE,
#   `exposure.equalize_adapthist(image, clip_limit=0.03)`; the default `clip_limit` is 0.01)
#   also caps how much any intensity may be amplified, so noise is not blown up. Standard HE can
#   look unnatural; CLAHE usually looks better.
#
# **Tasks.** `contrast(image)` returns max - min as a Python `int`. Careful with small integer
# types: for an `int8` image, `image.max() - image.min()` is computed in `int8` and wraps around.
# `stretch_contrast(image, out_min=0.0, out_max=1.0)` maps `[image.min(), image.max()]` linearly
# onto `[out_min, out_max]` as float64 (a constant image becomes `out_min` everywhere).
# `equalize(image)` equalises a `uint8` image: count each of the 256 levels, take the cumulative
# sum divided by the number of pixels, and look every pixel's level up in it (float64 in [0, 1]).

# %% nbgrader={"grade": false, "grade_id": "contrast", "locked": false, "schema_version": 3, "solution": true}
def contrast(image: np.ndarray) -> int:
    """max - min of the image, as a Python int (no wrap-around for small integer types)."""
    ### BEGIN SOLUTION
    return int(np.max(image)) - int(np.min(image))
    ### END SOLUTION


def stretch_contrast(image: np.ndarray, out_min: float = 0.0, out_max: float = 1.0) -> np.ndarray:
    """Map [image.min(), image.max()] linearly onto [out_min, out_max] (float64)."""
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=np.float64)
    low, high = image.min(), image.max()
    if high == low:
        return np.full(image.shape, float(out_min))
    return out_min + (image - low) * (out_max - out_min) / (high - low)
    ### END SOLUTION


def equalize(image: np.ndarray) -> np.ndarray:
    """Histogram equalisation of a uint8 image: the CDF of its 256-bin histogram at each pixel."""
    ### BEGIN SOLUTION
    counts = np.bincount(np.asarray(image).ravel(), minlength=256)
    cdf = np.cumsum(counts) / image.size
    return cdf[image]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "contrast_demo", "locked": true, "schema_version": 3, "solution": false}
rng = np.random.default_rng(SEED)
checkpoint = np.rint(99 + 148 * rng.random((60, 80)) ** 2).astype(np.uint8)  # a dull image: 99 .. 247
checkpoint[0, 0], checkpoint[-1, -1] = 99, 247
moon = data.moon()
print("contrast of the checkpoint image:", contrast(checkpoint), "| coins:", contrast(coins), "| moon:", contrast(moon))
moon_eq = equalize(moon)
print("moon after equalisation: range", moon_eq.min().round(4), "..", moon_eq.max(), "| after stretching: contrast",
      contrast(stretch_contrast(moon, 0, 255)))
show_image(moon_eq, "Histogram equalisation")
if not FAST:
    show_image(exposure.equalize_adapthist(moon, clip_limit=0.03), "CLAHE")

# %% nbgrader={"grade": true, "grade_id": "check_contrast", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert contrast(checkpoint) == 148, f"the checkpoint image spans 99 .. 247: its contrast is 247 - 99 = 148, got {contrast(checkpoint)}"
assert contrast(coins) == 251, "the coins span 1 .. 252: contrast 251"
assert contrast(np.array([-100, 100], dtype=np.int8)) == 200, "an int8 image with values -100 and 100 has contrast 200 (compute in Python ints)"
_s = stretch_contrast(np.array([[50, 100], [150, 250]], dtype=np.uint8))
assert np.allclose(_s, [[0.0, 0.25], [0.5, 1.0]]), f"stretching 50..250 onto 0..1 gives [[0, 0.25], [0.5, 1]], got {_s.tolist()}"
assert np.allclose(stretch_contrast(checkpoint, 0, 255), exposure.rescale_intensity(checkpoint.astype(float), out_range=(0, 255))), \
    "stretch_contrast(image, 0, 255) should equal exposure.rescale_intensity(image, out_range=(0, 255))"
assert np.allclose(moon_eq, exposure.equalize_hist(moon)), "equalize(moon) should equal exposure.equalize_hist(moon)"
print("contrast: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "morph_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Morphology
#
# *Morphology* studies the shapes of the objects in an image. It helps with object detection and
# optical character recognition, and repairs binary images distorted by noise and texture. It is
# usually applied after thresholding, so it works best on **binary** images (it extends to
# grayscale). The two basic operations:
#
# * **dilation** adds pixels to the boundaries of objects;
# * **erosion** removes pixels on object boundaries.
#
# How many pixels is set by the **structuring element** (or *footprint*): a small binary image
# used to probe the input, placed with its centre (its *origin*) on every pixel in turn. The
# output at that pixel is 1
#
# * for dilation, if the footprint *hits* the foreground (at least one of its 1s lies on a 1);
# * for erosion, if the footprint *fits* entirely (all of its 1s lie on 1s).
#
# Near the border the footprint sticks out of the image, so the image is padded: with **0s for
# dilation** and with **1s for erosion** (so the border alone never erodes an object).
#
# scikit-image builds footprints with `morphology.footprint_rectangle((rows, cols))` (new in
# version 0.25; the older `square`/`rectangle` are deprecated), `morphology.disk(radius)` and
# `morphology.diamond(radius)`, and applies them with `morphology.dilation` and
# `morphology.erosion`, which work on binary and gray images. (`binary_dilation` and
# `binary_erosion`, which older material uses, are deprecated since 0.26.)
#
# **Task.** Write `dilate(binary, footprint)` and `erode(binary, footprint)` from scratch for a
# boolean image and a footprint of odd height and width whose origin is its centre (it may be
# rectangular, like `(3, 5)`). Return boolean images of the same shape. Do not call any
# morphology function.

# %% nbgrader={"grade": false, "grade_id": "morphology", "locked": false, "schema_version": 3, "solution": true}
def dilate(binary: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Binary dilation: True where the footprint centred there hits a True pixel (0-padding)."""
    ### BEGIN SOLUTION
    binary = np.asarray(binary, dtype=bool)
    footprint = np.asarray(footprint, dtype=bool)
    pad_r, pad_c = footprint.shape[0] // 2, footprint.shape[1] // 2
    padded = np.pad(binary, ((pad_r, pad_r), (pad_c, pad_c)), constant_values=False)
    height, width = binary.shape
    out = np.zeros_like(binary)
    for dr, dc in zip(*np.nonzero(footprint)):
        out |= padded[dr:dr + height, dc:dc + width]
    return out
    ### END SOLUTION


def erode(binary: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Binary erosion: True where the footprint centred there fits inside the True pixels (1-padding)."""
    ### BEGIN SOLUTION
    binary = np.asarray(binary, dtype=bool)
    footprint = np.asarray(footprint, dtype=bool)
    pad_r, pad_c = footprint.shape[0] // 2, footprint.shape[1] // 2
    padded = np.pad(binary, ((pad_r, pad_r), (pad_c, pad_c)), constant_values=True)
    height, width = binary.shape
    out = np.ones_like(binary)
    for dr, dc in zip(*np.nonzero(footprint)):
        out &= padded[dr:dr + height, dc:dc + width]
    return out
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "morph_demo", "locked": true, "schema_version": 3, "solution": false}
print(morphology.footprint_rectangle((4, 4)))
square = np.zeros((7, 7), dtype=bool)
square[2:5, 2:5] = True
cross = morphology.diamond(1)
print("3 x 3 square dilated by a 3 x 3 footprint:\n", dilate(square, np.ones((3, 3))).astype(int))
print("... and eroded:\n", erode(square, np.ones((3, 3))).astype(int))
# the checkpoint: dilate this letter L with a cross-shaped footprint
letter = np.array([[0, 0, 0, 0, 0, 0],
                   [0, 1, 0, 0, 0, 0],
                   [0, 1, 0, 0, 0, 0],
                   [0, 1, 1, 1, 0, 0],
                   [0, 0, 0, 0, 0, 0]], dtype=bool)
print("the letter L dilated by a cross:\n", dilate(letter, cross).astype(int))

# %% nbgrader={"grade": true, "grade_id": "check_morphology", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert dilate(square, np.ones((3, 3))).sum() == 25, "a 3 x 3 square dilated by a 3 x 3 footprint becomes a 5 x 5 square"
assert erode(square, np.ones((3, 3))).sum() == 1 and erode(square, np.ones((3, 3)))[3, 3], "... and eroded, only its centre remains"
assert dilate(letter, cross).astype(int).tolist() == [[0, 1, 0, 0, 0, 0],
                                                      [1, 1, 1, 0, 0, 0],
                                                      [1, 1, 1, 1, 0, 0],
                                                      [1, 1, 1, 1, 1, 0],
                                                      [0, 1, 1, 1, 0, 0]], "the dilation checkpoint: compare with the printed answer"
assert erode(np.ones((5, 6), dtype=bool), np.ones((3, 3))).all(), "erosion pads with 1s: an all-white image stays white"
_blobs = data.binary_blobs(length=64, rng=SEED)
assert (dilate(_blobs, cross) == morphology.dilation(_blobs, cross)).all(), "dilate should agree with morphology.dilation"
assert (erode(_blobs, np.ones((3, 5))) == morphology.erosion(_blobs, np.ones((3, 5)))).all(), "erode should agree with morphology.erosion"
print("morphology: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "restore_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. Restoring images
#
# ### Inpainting
#
# **Inpainting** fills in damaged, deteriorated or missing parts of an image from the parts
# around them; it works when the missing piece looks like its surroundings.
# `restoration.inpaint_biharmonic(image, mask, channel_axis=...)` takes the image, a `mask` of
# the image's height and width that is 1 (True) where pixels must be filled in, and
# `channel_axis`: `None` for a grayscale image, otherwise the axis that holds the channels
# (`-1` for an RGB image).

# %% nbgrader={"grade": false, "grade_id": "inpaint_demo", "locked": true, "schema_version": 3, "solution": false}
clean_patch = util.img_as_float(data.astronaut()[30:180, 150:300])
hole = np.zeros(clean_patch.shape[:2], dtype=bool)
hole[60:80, 40:100] = True
damaged = clean_patch.copy()
damaged[hole] = 0
restored = restoration.inpaint_biharmonic(damaged, hole, channel_axis=-1)
mse_damaged = np.mean((damaged - clean_patch) ** 2)
mse_restored = np.mean((restored - clean_patch) ** 2)
print(f"mean squared error: damaged {mse_damaged:.5f}, restored {mse_restored:.5f}")
show_image(restored, "Inpainted")

# %% nbgrader={"grade": true, "grade_id": "check_inpaint", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert restored.shape == clean_patch.shape and mse_restored < mse_damaged / 10, "inpainting should bring the hole close to the original"
print("inpainting: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "noise_md", "locked": true, "schema_version": 3, "solution": false}
# ### Noise and denoising
#
# Noise comes from errors while an image is acquired: pixel values that do not reflect the true
# intensities of the scene. scikit-image (not scikit-learn) adds artificial noise with
# `util.random_noise(image, mode='gaussian', var=..., rng=...)`: it returns floats in $[0, 1]$,
# by default Gaussian noise of variance 0.01, and `rng` (an int seed or a NumPy generator; older
# versions called it `seed`) makes it reproducible.
#
# To remove noise:
#
# * **Gaussian smoothing** (`filters.gaussian`) blurs noise and edges alike;
# * **total variation** (TV, `restoration.denoise_tv_chambolle(image, weight=...)`) minimises the
#   total variation of the image; the result looks like a cartoon, made of flat patches, and
#   fine edges and texture are lost;
# * **bilateral** filtering (`restoration.denoise_bilateral(image, sigma_color=...)`) replaces each
#   pixel by a weighted mean of its neighbours, where neighbours of a very different intensity
#   count little; it **preserves edges**;
# * wavelet denoising and non-local means are further options.
#
# Both `denoise_*` functions take `channel_axis` (`-1` for colour images, `None` for gray ones).
# The **peak signal-to-noise ratio** measures how close an image is to a clean one, in decibels
# (higher is better): $\mathrm{PSNR} = 10\log_{10}\bigl(\text{data\_range}^2/\mathrm{MSE}\bigr)$,
# where MSE is the mean squared difference and `data_range` the span of possible values (1 for
# float images).
#
# **Tasks.** `add_noise(image, var, seed)`: Gaussian noise of variance `var` with
# `util.random_noise`, seeded with `seed`. `denoise(image, method, strength)`: with `method="tv"`,
# TV denoising with `weight=strength`; with `method="bilateral"`, bilateral filtering with
# `sigma_color=strength` (other arguments at their defaults); for gray *and* colour images.
# `psnr(clean, noisy, data_range=1.0)` from the formula (no `metrics`).

# %% nbgrader={"grade": false, "grade_id": "denoise", "locked": false, "schema_version": 3, "solution": true}
def add_noise(image: np.ndarray, var: float, seed: int) -> np.ndarray:
    """util.random_noise with Gaussian noise of variance var, reproducible with the seed."""
    ### BEGIN SOLUTION
    return util.random_noise(image, mode="gaussian", var=var, rng=seed)
    ### END SOLUTION


def denoise(image: np.ndarray, method: str = "tv", strength: float = 0.1) -> np.ndarray:
    """TV (weight=strength) or bilateral (sigma_color=strength) denoising of a gray or RGB image."""
    ### BEGIN SOLUTION
    channel_axis = -1 if image.ndim == 3 else None
    if method == "tv":
        return restoration.denoise_tv_chambolle(image, weight=strength, channel_axis=channel_axis)
    if method == "bilateral":
        return restoration.denoise_bilateral(image, sigma_color=strength, channel_axis=channel_axis)
    raise ValueError(f"unknown method {method!r}")
    ### END SOLUTION


def psnr(clean: np.ndarray, noisy: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 * log10(data_range**2 / mean squared error)."""
    ### BEGIN SOLUTION
    error = np.mean((np.asarray(clean, dtype=np.float64) - np.asarray(noisy, dtype=np.float64)) ** 2)
    return float(10 * np.log10(data_range ** 2 / error))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "denoise_demo", "locked": true, "schema_version": 3, "solution": false}
cat = util.img_as_float(data.chelsea()[60:188, 120:248])
noisy_cat = add_noise(cat, 0.01, SEED)
print(f"PSNR noisy {psnr(cat, noisy_cat):.2f} dB")
for method, strength in (("tv", 0.1), ("bilateral", 0.1)):
    print(f"PSNR after {method:9}: {psnr(cat, denoise(noisy_cat, method, strength)):.2f} dB")
show_image(noisy_cat, "Noisy")
show_image(denoise(noisy_cat, "tv", 0.1), "TV")

# %% nbgrader={"grade": true, "grade_id": "check_denoise", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert noisy_cat.shape == cat.shape and 0 <= noisy_cat.min() and noisy_cat.max() <= 1, "random_noise keeps the shape and clips to [0, 1]"
assert np.array_equal(noisy_cat, util.random_noise(cat, rng=SEED)), "add_noise(cat, 0.01, SEED) should equal util.random_noise(cat, rng=SEED)"
assert abs(psnr(cat, noisy_cat) - metrics.peak_signal_noise_ratio(cat, noisy_cat, data_range=1.0)) < 1e-9, "psnr should agree with metrics.peak_signal_noise_ratio"
for _method in ("tv", "bilateral"):
    _out = denoise(noisy_cat, _method, 0.1)
    assert _out.shape == cat.shape, f"denoise(..., {_method!r}) keeps the colour channels: shape {cat.shape}, got {_out.shape}"
    assert psnr(cat, _out) > psnr(cat, noisy_cat) + 2, f"{_method} denoising should raise the PSNR by a few dB"
print("denoising: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "slic_md", "locked": true, "schema_version": 3, "solution": false}
# ## 9. Segmentation: superpixels
#
# **Segmentation** partitions an image into regions (segments) that are easier to analyse.
# *Semantic* segmentation gives every pixel a class from a fixed set, usually with a deep network
# of the autoencoder type. Without labels we can still segment: *supervised* segmentation means
# we choose the threshold ourselves, *unsupervised* algorithms (Otsu's method is one) find the
# regions themselves, possibly with a few settings to tweak.
#
# Single pixels say little, so we group them. A region of pixels is a **superpixel**. **SLIC**
# (Simple Linear Iterative Clustering) runs k-means on the pixels' colours and positions and
# returns a label image of the image's height and width. In scikit-image:
# `segmentation.slic(image, n_segments=100, channel_axis=-1)`; the labels start at 1, and there
# are usually fewer segments than `n_segments`. For a grayscale image pass `channel_axis=None`.
# `color.label2rgb(segments, image, kind='avg')` paints every segment in its mean colour.
#
# (The course text prints the labels of the astronaut with `n_segments=300`, but those labels,
# 1 .. 56, come from the default `n_segments=100`; with 300 the labels go up to 217.)
#
# **Tasks.** `superpixels(image, n_segments)`: SLIC labels (starting at 1, other arguments at
# their defaults) of a colour image `(h, w, 3)` or of a gray image `(h, w)`.
# `mean_colour_image(image, labels)` from scratch: an image of float64 where every pixel holds
# the mean colour (or gray value) of its segment in `image` (every label counts, 0 included).

# %% nbgrader={"grade": false, "grade_id": "superpixels", "locked": false, "schema_version": 3, "solution": true}
def superpixels(image: np.ndarray, n_segments: int = 100) -> np.ndarray:
    """SLIC labels (from 1) of a colour (h, w, 3) or gray (h, w) image."""
    ### BEGIN SOLUTION
    channel_axis = -1 if image.ndim == 3 else None
    return segmentation.slic(image, n_segments=n_segments, channel_axis=channel_axis, start_label=1)
    ### END SOLUTION


def mean_colour_image(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every pixel replaced by the mean colour of its segment (float64, the shape of image)."""
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=np.float64)
    out = np.zeros_like(image)
    for label in np.unique(labels):
        mask = labels == label
        out[mask] = image[mask].mean(axis=0)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "slic_demo", "locked": true, "schema_version": 3, "solution": false}
segments = superpixels(data.astronaut(), n_segments=100)
print(repr(segments))
segmented_image = mean_colour_image(util.img_as_float(data.astronaut()), segments)
show_image(segmented_image, "Superpixels in their mean colour")

# %% nbgrader={"grade": true, "grade_id": "check_superpixels", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert segments.shape == (512, 512), f"SLIC gives one label per pixel: shape (512, 512), got {segments.shape}"
assert segments.min() == 1 and segments.max() == 56, f"the astronaut has labels 1 .. 56 with n_segments=100, got {segments.min()} .. {segments.max()}"
assert [segments[0, 0], segments[0, -1], segments[-1, 0], segments[-1, -1]] == [1, 9, 51, 56], "the corners of the label image are 1, 9, 51, 56"
_expected = color.label2rgb(segments, util.img_as_float(data.astronaut()), kind="avg", bg_label=-1)
assert np.allclose(segmented_image, _expected), "mean_colour_image should agree with color.label2rgb(..., kind='avg')"
print("superpixels: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "contours_md", "locked": true, "schema_version": 3, "solution": false}
# ## 10. Contours
#
# A **contour** is a closed line of points that outlines an object; several contours mean
# several objects. Contours help to measure the size of objects, to classify their shapes and to
# count them. The input should be a binary image (from thresholding or edge detection) with white
# objects on a black background. `measure.find_contours(image, level)` joins the points where the
# image crosses `level` (by default halfway between the image's minimum and maximum) and returns
# a list of `(n, 2)` arrays of (row, col) coordinates, one per contour. On a gray image the level
# decides which objects count: only those brighter than `level` are outlined.
#
# **Task.** `count_contours(image, level=None)`: the number of contours `find_contours` finds at
# `level` (`None`: its default).

# %% nbgrader={"grade": false, "grade_id": "contours", "locked": false, "schema_version": 3, "solution": true}
def count_contours(image: np.ndarray, level: float | None = None) -> int:
    """The number of contours of the image at the given level (find_contours' default for None)."""
    ### BEGIN SOLUTION
    return len(measure.find_contours(image, level))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "contours_demo", "locked": true, "schema_version": 3, "solution": false}
shapes = np.zeros((60, 90))
shapes[10:25, 10:25] = 1.0      # a bright square
shapes[35:50, 40:70] = 0.4      # a dim rectangle
shapes[12:22, 60:80] = 1.0      # another bright one
print("contours at the default level:", count_contours(shapes), "| at level 0.2:", count_contours(shapes, 0.2))

# %% nbgrader={"grade": true, "grade_id": "check_contours", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert count_contours(shapes) == 2, "at the default level 0.5 only the two bright shapes are outlined"
assert count_contours(shapes, 0.2) == 3, "at level 0.2 the dim rectangle counts too"
print("contours: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "harris_md", "locked": true, "schema_version": 3, "solution": false}
# ## 11. Corners
#
# Motion detection, video tracking, panorama stitching, 3-D modelling and image registration
# all start by finding points that can be recognised again. A **corner** is the intersection of
# two edges. *Points of interest* are groups of pixels that stay recognisable when the image is
# rotated, shifted, brightened or scaled; corners (and edges) make good ones, so objects can be
# matched across views.
#
# The **Harris corner detector** has five steps:
#
# 1. convert to grayscale;
# 2. compute the spatial derivatives $I_r$ (down the rows) and $I_c$ (along the columns);
# 3. set up the **structure tensor** at every pixel, a Gaussian-weighted sum over its
#    neighbourhood: $A_{rr} = G_\sigma * I_r^2$, $A_{rc} = G_\sigma * (I_r I_c)$,
#    $A_{cc} = G_\sigma * I_c^2$;
# 4. compute the **Harris response** $R = \det A - k\,(\operatorname{trace} A)^2
#    = A_{rr}A_{cc} - A_{rc}^2 - k\,(A_{rr} + A_{cc})^2$: large at corners (both eigenvalues
#    large), negative along edges, near 0 in flat regions;
# 5. non-maximum suppression: keep the local maxima of $R$.
#
# `feature.corner_harris(image, k=0.05, sigma=1)` does steps 2-4. It takes the derivatives with
# SciPy's plain Sobel filters (`ndi.sobel(image, axis=0)` for $I_r$, `axis=1` for $I_c$, *not*
# scaled by 1/4) and smooths with a Gaussian (`ndi.gaussian_filter(..., sigma)`), both with
# zero padding (`mode='constant'`). `feature.corner_peaks(response, min_distance=5)` does step 5:
# it returns the `(row, col)` coordinates of the peaks that are at least `min_distance` apart.
# (Its `threshold_rel` is `None` by default in current scikit-image, meaning no relative
# threshold.)
#
# **Tasks.** `harris_response(gray, k=0.05, sigma=1.0)` from the formulas above (you may use
# `ndi.sobel` and `ndi.gaussian_filter`, not `corner_harris` or `structure_tensor`), for a 2-D
# float image. `detect_corners(gray, min_distance=5)`: the corners of a gray image as an `(N, 2)`
# array, with `corner_harris` (default arguments) and `corner_peaks`.

# %% nbgrader={"grade": false, "grade_id": "harris", "locked": false, "schema_version": 3, "solution": true}
def harris_response(gray: np.ndarray, k: float = 0.05, sigma: float = 1.0) -> np.ndarray:
    """det(A) - k * trace(A)**2 of the Gaussian-weighted structure tensor A (zero padding)."""
    ### BEGIN SOLUTION
    gray = np.asarray(gray, dtype=np.float64)
    d_row = ndi.sobel(gray, axis=0, mode="constant")
    d_col = ndi.sobel(gray, axis=1, mode="constant")
    a_rr = ndi.gaussian_filter(d_row * d_row, sigma, mode="constant")
    a_rc = ndi.gaussian_filter(d_row * d_col, sigma, mode="constant")
    a_cc = ndi.gaussian_filter(d_col * d_col, sigma, mode="constant")
    return a_rr * a_cc - a_rc ** 2 - k * (a_rr + a_cc) ** 2
    ### END SOLUTION


def detect_corners(gray: np.ndarray, min_distance: int = 5) -> np.ndarray:
    """(N, 2) array of the (row, col) corners found by corner_peaks on corner_harris(gray)."""
    ### BEGIN SOLUTION
    return feature.corner_peaks(feature.corner_harris(gray), min_distance=min_distance)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "harris_demo", "locked": true, "schema_version": 3, "solution": false}
coords = detect_corners(grayscale, min_distance=5)
print(f"A total of {len(coords)} corners were detected.")
print(coords[:5])
if not FAST:
    plt.imshow(original)
    plt.plot(coords[:, 1], coords[:, 0], "+r", markersize=15)
    plt.axis("off")
    plt.show()

# %% nbgrader={"grade": true, "grade_id": "check_harris", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_patch = grayscale[200:264, 180:260]
_expected = feature.corner_harris(_patch)
assert np.allclose(harris_response(_patch), _expected, atol=1e-12), \
    f"harris_response should equal corner_harris on a patch of the astronaut; largest difference {np.abs(harris_response(_patch) - _expected).max():.3g}"
assert len(coords) == 1267, f"the course finds 1267 corners on the gray astronaut with min_distance=5, got {len(coords)}"
assert coords[:5].tolist() == [[445, 310], [368, 400], [455, 346], [429, 371], [467, 241]], "the first five corners differ from the course's"
print("corners: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "faces_md", "locked": true, "schema_version": 3, "solution": false}
# ## 12. Face detection and privacy protection
#
# `feature.Cascade(xml_file)` is a face detector trained beforehand; scikit-image ships one, found
# with `data.lbp_frontal_face_cascade_filename()`. Its method `detect_multi_scale(img,
# scale_factor, step_ratio, min_size, max_size)` slides a window over the image (grayscale or
# colour) at several sizes: from `min_size` (for faces far away) to `max_size` (for close ones),
# growing by `scale_factor` each time; `step_ratio` sets how far the window moves (1 searches
# every position; values from 1 to 1.5 work well). It returns a list of boxes, dicts with the
# top-left corner `r` (row), `c` (column) and the `width` and `height`. A very small `min_size`
# also finds "faces" that are not there: on the astronaut, `min_size=(10, 10)` adds a false
# detection, `(60, 60)` finds just her face.
#
# To protect people's privacy we: 1. detect the faces; 2. cut each one out; 3. blur it with a
# Gaussian of large `sigma`; 4. stitch it back.
#
# **Task.** `blur_boxes(image, boxes, sigma)`: a copy of the float image (gray or RGB) in which
# the region `image[r:r + height, c:c + width]` of every box (boxes do not overlap) is replaced by
# `filters.gaussian` of that region with the given `sigma` (the channels of a colour image are
# blurred separately: `channel_axis=-1`). Everything outside the boxes is unchanged, and the
# input image must not be modified.

# %% nbgrader={"grade": false, "grade_id": "faces", "locked": false, "schema_version": 3, "solution": true}
def blur_boxes(image: np.ndarray, boxes: list, sigma: float) -> np.ndarray:
    """Copy of image with each box region {'r', 'c', 'width', 'height'} blurred by a Gaussian."""
    ### BEGIN SOLUTION
    out = np.array(image, dtype=np.float64, copy=True)
    channel_axis = -1 if out.ndim == 3 else None
    for box in boxes:
        r, c, h, w = box["r"], box["c"], box["height"], box["width"]
        out[r:r + h, c:c + w] = filters.gaussian(out[r:r + h, c:c + w], sigma=sigma, channel_axis=channel_axis)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "faces_demo", "locked": true, "schema_version": 3, "solution": false}
detector = feature.Cascade(xml_file=data.lbp_frontal_face_cascade_filename())
detected = detector.detect_multi_scale(img=original, scale_factor=1.2, step_ratio=1, min_size=(60, 60), max_size=(200, 200))
print(detected)
private = blur_boxes(util.img_as_float(original), detected, sigma=8)
show_image(private, "Faces blurred")

# %% nbgrader={"grade": true, "grade_id": "check_faces", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(detected) == 1 and 60 < detected[0]["r"] + detected[0]["height"] / 2 < 140 \
    and 190 < detected[0]["c"] + detected[0]["width"] / 2 < 250, f"the cascade finds the astronaut's face (one box), got {detected}"
_before = util.img_as_float(original)
assert private.shape == _before.shape, "blur_boxes keeps the shape"
_r, _c, _h, _w = (detected[0][_key] for _key in ("r", "c", "height", "width"))
_box = np.zeros(original.shape[:2], dtype=bool)
_box[_r:_r + _h, _c:_c + _w] = True
assert np.array_equal(private[~_box], _before[~_box]), "pixels outside the boxes must not change"
assert private[_box].std() < _before[_box].std(), "the blurred face should vary less than the original face"
print("faces: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "pipeline_md", "locked": true, "schema_version": 3, "solution": false}
# ## 13. A pipeline: counting coins
#
# Each step above is small; useful preprocessing chains them. To count the coins in
# `data.coins()`, whose lighting is uneven, we:
#
# 1. convert the image to floats in $[0, 1]$ (`util.img_as_float`) and smooth it with
#    `filters.gaussian(image, sigma=sigma)` (noise would otherwise make ragged masks);
# 2. threshold it **locally**: foreground where the smoothed image is strictly above
#    `filters.threshold_local(smoothed, block_size, method='mean', offset=offset)` (a negative
#    offset keeps only pixels clearly brighter than their surroundings);
# 3. open the mask (erosion, then dilation) with `morphology.footprint_rectangle((5, 5))` to
#    cut thin bridges and remove specks: `morphology.opening`;
# 4. fill the holes inside the objects (`ndi.binary_fill_holes`);
# 5. label the connected objects with **8-connectivity** (`measure.label(mask, connectivity=2)`)
#    and count those of at least `min_area` pixels.
#
# **Task.** Write `count_coins(image, sigma=2.0, block_size=51, offset=-0.05, min_area=300)`
# with these steps and scikit-image's functions (`uint8` or float gray images); return an `int`.

# %% nbgrader={"grade": false, "grade_id": "pipeline", "locked": false, "schema_version": 3, "solution": true}
def count_coins(image: np.ndarray, sigma: float = 2.0, block_size: int = 51, offset: float = -0.05,
                min_area: int = 300) -> int:
    """Smooth, local threshold, open with a 5 x 5 square, fill holes, count 8-connected objects >= min_area."""
    ### BEGIN SOLUTION
    smoothed = filters.gaussian(util.img_as_float(image), sigma=sigma)
    mask = smoothed > filters.threshold_local(smoothed, block_size, method="mean", offset=offset)
    mask = morphology.opening(mask, morphology.footprint_rectangle((5, 5)))
    mask = ndi.binary_fill_holes(mask)
    labels = measure.label(mask, connectivity=2)
    areas = np.bincount(labels.ravel())[1:]
    return int(np.sum(areas >= min_area))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "pipeline_demo", "locked": true, "schema_version": 3, "solution": false}
n_coins = count_coins(coins)
print("coins counted:", n_coins)

# %% nbgrader={"grade": true, "grade_id": "check_pipeline", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert n_coins == 24, f"data.coins() shows 24 coins, got {n_coins}"
assert count_coins(coins, min_area=10_000) == 0, "no coin covers 10000 pixels"
print("pipeline: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * Images are NumPy arrays `(rows, cols[, channels])`; grayscale is a weighted sum of R, G, B.
# * `rescale`/`resize` change the size; give `channel_axis=-1` for colour images, and anti-alias
#   when shrinking.
# * Thresholding separates objects from background: one global threshold (Otsu's maximises the
#   between-class variance) for bimodal histograms, a local one for uneven lighting.
# * Sobel gives the gradient magnitude; Canny smooths, differentiates, thins and keeps weak edges
#   only when they are 8-connected to strong ones (hysteresis).
# * Contrast is max - min; stretching fills the range, equalisation flattens the histogram, CLAHE
#   does it locally with a limit.
# * Dilation grows objects (pad with 0s), erosion shrinks them (pad with 1s); the footprint sets
#   by how much.
# * Inpainting fills holes; TV denoising gives flat patches, bilateral filtering keeps edges.
# * SLIC groups pixels into superpixels; contours outline objects; Harris finds corners.
# * Chaining such steps gives a preprocessing pipeline, such as counting coins or blurring faces.
