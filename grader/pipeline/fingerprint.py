"""Fingerprints: what a grade depends on, hashed, so a re-run reuses what has not changed."""
from __future__ import annotations

import hashlib
import json

from .. import __version__
from ..course import ExerciseSpec
from ..data import kernel_files
from ..util import sha256_file
from .discover import Submission


def exercise_fingerprint(spec: ExerciseSpec, device: str) -> str:
    """Changes whenever anything that could change a grade changes."""
    digest = hashlib.sha256()
    digest.update(f"grader {__version__} device {device}\n".encode())
    digest.update(json.dumps(spec.raw.model_dump(mode="json"), sort_keys=True).encode())
    digest.update(f"grading seed {spec.seed}\n".encode())  # the course's, where the exercise has none
    digest.update(json.dumps(spec.grading_parameters(device), sort_keys=True, default=str).encode())
    for path in (spec.solution, spec.assignment):
        digest.update(path.read_bytes() if path.exists() else b"-")
    for name, path in sorted(kernel_files(spec.datasets).items()):
        digest.update(name.encode())
        digest.update(sha256_file(path).encode())
    if spec.tests_dir.is_dir():
        for path in sorted(spec.tests_dir.rglob("*")):
            # what grading runs; variants.yaml and mutants.yaml only feed the contract tests,
            # the demo and `grader mutate`
            if (path.is_file() and "__pycache__" not in path.parts
                    and path.name not in ("variants.yaml", "mutants.yaml")):
                digest.update(str(path.relative_to(spec.tests_dir)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def submission_fingerprint(exercise_fp: str, sub: Submission) -> str:
    """Changes whenever the submission or anything that could change its grade changes."""
    digest = hashlib.sha256(exercise_fp.encode())
    if sub.path is not None and sub.path.is_file():
        digest.update(sha256_file(sub.path).encode())
    digest.update((sub.problem or "").encode())
    return digest.hexdigest()
