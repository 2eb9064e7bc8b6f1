"""`clouds`: small sky pictures in seven cloud classes, as an ``ImageFolder`` tree (week 04).

The course's data set is a folder of RGB cloud photographs in ``clouds_train/<class>/*.jpg`` and
``clouds_test/<class>/*.jpg`` with seven classes (``cirriform clouds``, ``clear sky``,
``cumulonimbus clouds``, ``cumulus clouds``, ``high cumuliform clouds``, ``stratiform clouds``,
``stratocumulus clouds``). Its source is not given by the course and no public copy with a stable
URL and checksum is known, so only the offline stand-in exists.

The stand-in draws the pictures procedurally with NumPy from a fixed seed: a blue sky gradient
with noise, and clouds whose shape and texture depend on the class (thin streaks for cirriform,
nothing for clear sky, one tall dark tower for cumulonimbus, a few puffy blobs for cumulus, many
small dots for high cumuliform, an even grey layer for stratiform, lumpy grey patches for
stratocumulus). Sizes vary between 32 and 64 pixels per side, so notebooks resize them. A small
CNN learns the classes in a few epochs; the classes do not depend on left/right or on the exact
contrast, so horizontal flips, small rotations and autocontrast keep the label.

The registry copies one file into the kernel's ``data/`` folder, so the tree is shipped as a zip
archive, ``clouds.zip`` (PNG images, fixed timestamps: the same bytes on every machine with the
same Pillow), which the notebook extracts. ``make_images(n_per_class, seed)`` returns fresh
pictures as arrays; hidden tests use it to draw evaluation images from the grading seed.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from . import Dataset

SEED = 4_2024
CLASSES = ["cirriform clouds", "clear sky", "cumulonimbus clouds", "cumulus clouds",
           "high cumuliform clouds", "stratiform clouds", "stratocumulus clouds"]
TRAIN_PER_CLASS = 30
TEST_PER_CLASS = 10
MIN_SIZE, MAX_SIZE = 32, 64


def _sky(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A blue gradient, deeper at the top, with a random tint; float RGB in [0, 255]."""
    top = np.array([40.0, 110.0, 200.0]) + rng.normal(0, 12, 3)
    bottom = np.array([140.0, 190.0, 235.0]) + rng.normal(0, 12, 3)
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    return np.broadcast_to(top + (bottom - top) * t, (h, w, 3)).copy()


def _blend(img: np.ndarray, alpha: np.ndarray, colour) -> np.ndarray:
    alpha = np.clip(alpha, 0.0, 1.0)[:, :, None]
    return img * (1 - alpha) + np.asarray(colour, dtype=float) * alpha


def _ellipse(yy, xx, cy, cx, ry, rx, angle=0.0, soft=1.0):
    """Soft mask of a (rotated) ellipse: 1 inside, 0 outside, a ramp `soft` pixels wide."""
    c, s = np.cos(angle), np.sin(angle)
    dy, dx = yy - cy, xx - cx
    u = (dx * c + dy * s) / rx
    v = (-dx * s + dy * c) / ry
    r = np.sqrt(u * u + v * v)
    return np.clip((1.0 - r) * min(rx, ry) / soft + 0.5, 0.0, 1.0)


def _draw(label: int, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    img = _sky(rng, h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    m = min(h, w)
    name = CLASSES[label]
    if name == "cirriform clouds":          # thin, long, bright streaks
        for _ in range(int(rng.integers(4, 8))):
            mask = _ellipse(yy, xx, rng.uniform(0.05, 0.8) * h, rng.uniform(0.1, 0.9) * w,
                            rng.uniform(0.03, 0.045) * m, rng.uniform(0.3, 0.55) * w,
                            angle=rng.normal(0, 0.3), soft=0.8)
            img = _blend(img, 0.9 * mask, [245, 245, 250])
    elif name == "clear sky":
        pass
    elif name == "cumulonimbus clouds":     # one tall dark tower with a flat, wide top
        cx = rng.uniform(0.35, 0.65) * w
        tower = _ellipse(yy, xx, h * rng.uniform(0.6, 0.75), cx, h * rng.uniform(0.45, 0.6),
                         w * rng.uniform(0.2, 0.3), soft=2.0)
        anvil = _ellipse(yy, xx, h * rng.uniform(0.12, 0.25), cx, h * 0.1, w * rng.uniform(0.35, 0.5), soft=2.0)
        grey = rng.uniform(70, 110)
        img = _blend(img, np.maximum(tower, anvil), [grey, grey, grey + 10])
        img = _blend(img, 0.4 * (yy / h), [50, 50, 60])          # darker towards the ground
    elif name == "cumulus clouds":          # a few puffy white blobs, flat bottoms
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(0.45, 0.75) * h, rng.uniform(0.2, 0.8) * w
            r = rng.uniform(0.12, 0.19) * m
            mask = np.zeros((h, w))
            for _ in range(4):
                mask = np.maximum(mask, _ellipse(yy, xx, cy + rng.normal(0, 0.3) * r, cx + rng.normal(0, 0.8) * r,
                                                 r, r, soft=1.5))
            mask *= (yy < cy + 0.6 * r)
            img = _blend(img, mask, [250, 250, 250])
            img = _blend(img, 0.5 * mask * np.clip((yy - cy) / r, 0, 1), [150, 150, 160])
    elif name == "high cumuliform clouds":  # many small white dots (a "mackerel sky")
        for _ in range(int(rng.integers(14, 24))):
            r = rng.uniform(0.035, 0.055) * m
            mask = _ellipse(yy, xx, rng.uniform(0.05, 0.7) * h, rng.uniform(0.03, 0.97) * w, r, r * 1.3, soft=0.7)
            img = _blend(img, 0.9 * mask, [240, 240, 245])
    elif name == "stratiform clouds":       # an even grey layer over the whole sky
        grey = rng.uniform(150, 200)
        smooth = 0.85 + 0.1 * np.sin(yy / h * rng.uniform(2, 5) + rng.uniform(0, 6))
        img = _blend(img, smooth, [grey, grey, grey + 5])
    elif name == "stratocumulus clouds":    # lumpy grey-white patches with gaps of sky
        for _ in range(int(rng.integers(12, 20))):
            r = rng.uniform(0.12, 0.18) * m
            mask = _ellipse(yy, xx, rng.uniform(0.1, 0.9) * h, rng.uniform(0.05, 0.95) * w, r * 0.7, r * 1.3, soft=2.5)
            grey = rng.uniform(130, 190)
            img = _blend(img, 0.9 * mask, [grey, grey, grey])
    img += rng.normal(0, 4.0, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def make_images(n_per_class: int, seed: int, min_size: int = MIN_SIZE,
                max_size: int = MAX_SIZE) -> tuple[list[np.ndarray], np.ndarray]:
    """``n_per_class`` pictures of every class: a list of uint8 arrays (H, W, 3) with H and W
    drawn from [min_size, max_size], and their labels (int64, the class index in CLASSES),
    class by class. Deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label in range(len(CLASSES)):
        for _ in range(n_per_class):
            h, w = (int(v) for v in rng.integers(min_size, max_size + 1, size=2))
            images.append(_draw(label, rng, h, w))
            labels.append(label)
    return images, np.array(labels, dtype=np.int64)


def _png(array: np.ndarray) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(array, mode="RGB").save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def write_zip(path: Path, seed: int = SEED) -> None:
    """``clouds/clouds_train/<class>/<name>.png`` and ``clouds/clouds_test/...`` in one zip."""
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for split, count in (("clouds_train", TRAIN_PER_CLASS), ("clouds_test", TEST_PER_CLASS)):
            images, labels = make_images(count, int(rng.integers(1 << 31)))
            names = rng.choice(16 ** 7, size=len(images), replace=False)
            for image, label, number in sorted(zip(images, labels, names), key=lambda t: (int(t[1]), int(t[2]))):
                info = zipfile.ZipInfo(f"clouds/{split}/{CLASSES[label]}/{int(number):07x}.png",
                                       date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED   # PNG is compressed already
                info.external_attr = 0o644 << 16
                archive.writestr(info, _png(image))


def generate(path: Path) -> None:
    write_zip(path)


def check(path: Path) -> str | None:
    """Is ``path`` a zip with clouds_train/ and clouds_test/ holding the seven class folders?"""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        return f"it is not a zip archive ({exc})"
    for split in ("clouds_train", "clouds_test"):
        found = {n.split("/")[2] for n in names if n.startswith(f"clouds/{split}/") and n.count("/") >= 3}
        if found != set(CLASSES):
            return f"clouds/{split}/ does not hold exactly the seven class folders ({sorted(found)})"
    return None


DATASET = Dataset(
    name="clouds",
    filename="clouds.zip",
    description="cloud pictures in 7 classes as an ImageFolder tree (clouds/clouds_train, "
                "clouds/clouds_test) in a zip; offline stand-in, 30 + 10 PNGs per class, 32-64 px",
    generate=generate,
    url=None,       # the course's photographs have no public source with a checksum
    sha256=None,
    licence=None,
    check=check,
)
