"""Dataset registry: every dataset the course uses, with an offline stand-in.

Each entry names a file the notebooks read from ``DATA_DIR``, an offline generator (a
deterministic function that writes a stand-in file; the default, used by CI and the demo), and
where a real public dataset exists, its URL and sha256 for `grader data fetch` (pooch).
To add a dataset, write ``grader/data/datasets/<name>.py`` with a ``DATASET = Dataset(...)`` and list
the module in ``_MODULES`` below.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Dataset:
    name: str
    filename: str                       # the file name notebooks read from DATA_DIR
    description: str
    generate: Callable[[Path], None]    # writes the offline stand-in to the given path
    url: str | None = None              # real data, fetched with pooch
    sha256: str | None = None
    licence: str | None = None
    # for a real copy with no sha256 to compare with (`grader data add`): why the file is not
    # this dataset, or None when it looks right
    check: Callable[[Path], str | None] | None = None


_MODULES: list[str] = ["names", "water", "clouds", "shakespeare"]


def registry() -> dict[str, Dataset]:
    out: dict[str, Dataset] = {}
    for module in _MODULES:
        dataset = importlib.import_module(f"{__name__}.{module}").DATASET
        out[dataset.name] = dataset
    return out
