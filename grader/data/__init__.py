"""Datasets for exercises: offline stand-ins (default) or real data fetched with pooch.

``course.yaml`` chooses per exercise: ``datasets: {names: offline}`` or ``{names: real}``.
The grader copies the chosen file into each kernel's ``data/`` folder (``DATA_DIR``); nothing
is downloaded while grading. Real data must be fetched beforehand with
``grader data fetch NAME`` (or registered from a local copy with ``grader data add NAME FILE``).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import DataError
from ..util import sha256_file
from .datasets import Dataset, registry

CHOICES = ("offline", "real")




def cache_dir() -> Path:
    override = os.environ.get("GRADER_DATA_DIR")
    if override:
        return Path(override)
    try:
        import pooch
    except ImportError:  # the student kit: no downloads, the same folder pooch would pick
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "dl-course-grader"
    return Path(pooch.os_cache("dl-course-grader"))


def get(name: str) -> Dataset:
    datasets = registry()
    if name not in datasets:
        known = ", ".join(sorted(datasets)) or "none"
        raise DataError(f"unknown dataset {name!r} (known: {known})")
    return datasets[name]


def real_path(name: str) -> Path:
    return cache_dir() / "real" / get(name).filename


def offline_path(name: str) -> Path:
    """The offline stand-in, generated once into the cache (deterministic)."""
    dataset = get(name)
    path = cache_dir() / "offline" / dataset.filename
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        dataset.generate(tmp)
        os.replace(tmp, path)
    return path


def fetch(name: str, progressbar: bool = True) -> Path:
    """Download the real dataset into the cache, checking its sha256 (pooch)."""
    dataset = get(name)
    if not dataset.url or not dataset.sha256:
        raise DataError(f"dataset {name!r} has no public source; only the offline stand-in exists")
    import pooch
    target = real_path(name)
    try:
        fetched = pooch.retrieve(dataset.url, known_hash=f"sha256:{dataset.sha256}",
                                 fname=dataset.filename, path=target.parent,
                                 progressbar=progressbar)
    except Exception as exc:  # noqa: BLE001 - network errors come in many types
        raise DataError(f"could not fetch {name!r} from {dataset.url}: {exc}") from None
    return Path(fetched)


def add(name: str, source: Path) -> Path:
    """Register a local copy of the real dataset (for machines without internet)."""
    dataset = get(name)
    source = Path(source)
    if not source.is_file():
        raise DataError(f"{source} does not exist")
    if dataset.sha256:
        if sha256_file(source) != dataset.sha256:
            raise DataError(f"{source} does not match the registered sha256 of {name!r}")
    elif dataset.check is not None:
        why = dataset.check(source)
        if why:
            raise DataError(f"{source} is not the {name!r} dataset: {why}")
    else:
        raise DataError(f"dataset {name!r} has no sha256 or format check to verify a copy with; "
                        "it cannot be added")
    target = real_path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def resolve(name: str, choice: str) -> Path:
    """The file to give kernels for dataset ``name`` under ``choice``."""
    if choice == "offline":
        return offline_path(name)
    if choice == "real":
        path = real_path(name)
        if not path.is_file():
            raise DataError(f"dataset {name!r} is set to 'real' but is not in the cache; run "
                            f"`grader data fetch {name}` first")
        dataset = get(name)
        if dataset.sha256 and sha256_file(path) != dataset.sha256:
            raise DataError(f"the cached copy of {name!r} does not match its sha256; fetch it again")
        return path
    raise DataError(f"dataset choice for {name!r} must be one of {CHOICES}, got {choice!r}")


def kernel_files(datasets: dict[str, str]) -> dict[str, Path]:
    """``{'data/<file>': path}`` for LiveKernel, from an exercise's ``datasets`` mapping."""
    return {f"data/{get(name).filename}": resolve(name, choice) for name, choice in datasets.items()}
