"""`water`: water-potability measurements, nine chemical features and a 0/1 label (week 03-04).

The real data set is the public "Water Quality" table often shared as ``water_potability.csv``
(3,276 samples; columns ``ph, Hardness, Solids, Chloramines, Sulfate, Conductivity,
Organic_carbon, Trihalomethanes, Turbidity, Potability``; missing values in ``ph`` (~15%),
``Sulfate`` (~24%) and ``Trihalomethanes`` (~5%); about 61% of the samples are not potable).
It is distributed through Kaggle, which needs a login, so no stable URL with a checked sha256 is
registered here: only the offline stand-in exists (``grader data add water FILE`` cannot check
a copy either, since there is no sha256 to compare with).

The stand-in has the same columns, units, typical ranges, missing-value rates and class balance,
drawn with NumPy from a fixed seed. Unlike the real table (whose label is nearly independent of
the features), its label follows a noisy rule that a small network can learn but a linear model
only partly captures: water is more often potable when the pH is near neutral, when dissolved
solids, trihalomethanes and turbidity are low, and when chloramines and sulfate are moderate
together. A well-trained MLP reaches roughly 0.75-0.8 accuracy against 0.61 for always
answering "not potable".

``make_rows(n, seed)`` returns the features (NaN where missing) and labels of ``n`` fresh rows;
hidden tests use it to draw evaluation rows from the grading seed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import Dataset

SEED = 3_2024
COUNT = 3_276

FEATURES = ["ph", "Hardness", "Solids", "Chloramines", "Sulfate", "Conductivity",
            "Organic_carbon", "Trihalomethanes", "Turbidity"]
LABEL = "Potability"

# column: (mean, standard deviation, lowest, highest, decimals kept), close to the real table
_COLUMNS = {
    "ph": (7.08, 1.59, 0.0, 14.0, 6),
    "Hardness": (196.4, 32.9, 47.4, 323.1, 6),
    "Solids": (22014.0, 8769.0, 320.9, 61227.2, 4),
    "Chloramines": (7.12, 1.58, 0.35, 13.13, 6),
    "Sulfate": (333.8, 41.4, 129.0, 481.0, 6),
    "Conductivity": (426.2, 80.8, 181.5, 753.3, 6),
    "Organic_carbon": (14.28, 3.31, 2.2, 28.3, 6),
    "Trihalomethanes": (66.4, 16.2, 0.74, 124.0, 6),
    "Turbidity": (3.97, 0.78, 1.45, 6.74, 6),
}
MISSING = {"ph": 0.15, "Sulfate": 0.24, "Trihalomethanes": 0.05}
NOISE = 0.55        # standard deviation of the noise added to the label's score
THRESHOLD = 0.71    # score above which a sample is potable (gives ~39% potable)


def _score(z: np.ndarray) -> np.ndarray:
    """The noise-free 'potability score' of standardised features z (n, 9)."""
    ph, hard, solids, chlor, sulf, cond, carbon, thm, turb = z.T
    return (1.0
            - 0.55 * ph ** 2                      # neutral pH is best, both extremes are bad
            - 0.45 * solids                       # fewer dissolved solids
            - 0.40 * thm                          # fewer trihalomethanes
            - 0.35 * np.maximum(turb, 0.0)        # turbidity only hurts above average
            - 0.30 * chlor * sulf                 # high chloramines AND high sulfate is bad
            + 0.20 * np.tanh(hard - cond)         # a weak, saturating effect
            - 0.10 * carbon)


def make_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples: features (n, 9) float64 in the columns' units, NaN where missing, and
    labels (n,) int64 (1 = potable). Deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(FEATURES)))
    z[:, 2] = rng.gamma(4.0, 1.0, n) / 2.0 - 2.0          # dissolved solids are right-skewed
    score = _score(z) + NOISE * rng.standard_normal(n)
    labels = (score > THRESHOLD).astype(np.int64)
    features = np.empty((n, len(FEATURES)))
    for j, name in enumerate(FEATURES):
        mean, std, lo, hi, decimals = _COLUMNS[name]
        features[:, j] = np.round(np.clip(mean + std * z[:, j], lo, hi), decimals)
    for name, rate in MISSING.items():
        j = FEATURES.index(name)
        features[rng.random(n) < rate, j] = np.nan
    return features, labels


def write_csv(path: Path, n: int = COUNT, seed: int = SEED) -> None:
    """Write ``n`` rows as CSV with a header; missing values are empty fields (as in the real file)."""
    features, labels = make_rows(n, seed)
    lines = [",".join(FEATURES + [LABEL])]
    for row, label in zip(features, labels):
        cells = ["" if np.isnan(v) else repr(float(v)) for v in row]
        lines.append(",".join(cells + [str(int(label))]))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate(path: Path) -> None:
    write_csv(path)


def check(path: Path) -> str | None:
    """Is ``path`` the water table: the ten columns by name, at least 100 rows, numbers (or
    empty) in every field, labels 0 or 1?"""
    import csv
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return f"it cannot be read as CSV text ({exc})"
    if not rows or [c.strip() for c in rows[0]] != FEATURES + [LABEL]:
        return f"its header is not {','.join(FEATURES + [LABEL])}"
    body = [r for r in rows[1:] if r]
    if len(body) < 100:
        return f"it has {len(body)} rows (the water table has thousands)"
    for number, row in enumerate(body, start=2):
        try:
            if len(row) != len(FEATURES) + 1 or row[-1].strip() not in ("0", "1"):
                raise ValueError
            [float(v) for v in row[:-1] if v.strip()]
        except ValueError:
            return f"line {number} is not nine numbers and a 0/1 label"
    return None


DATASET = Dataset(
    name="water",
    filename="water_potability.csv",
    description="water potability: 9 chemical measurements (ph, Hardness, Solids, Chloramines, "
                "Sulfate, Conductivity, Organic_carbon, Trihalomethanes, Turbidity) and a 0/1 "
                "Potability label, with missing values; offline stand-in, 3,276 rows",
    generate=generate,
    url=None,       # the real table is on Kaggle (login required); no verified URL/sha256
    sha256=None,
    licence=None,
    check=check,
)
