"""`grader release --bundle DIR`: what students get.

Released notebooks with their data, a public course.yaml (no hidden material, no grading
seed), a README, and the student kit: ``kit/``, an installable package (``pip install ./kit``)
that provides `grader check` and depends only on what it and the notebooks need.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import yaml

from .. import __version__
from ..course import COURSE_FILE, Course, ExerciseSpec
from ..errors import ReleaseError
from .release import check_release


BUNDLE_MARKER = ".grader-bundle"   # a folder carrying it was written by `grader release --bundle`
KIT_NAME = "dl-course-student-kit"
# what `grader check` needs besides the libraries the notebooks import (grader.check)
KIT_REQUIRES = ("numpy", "nbformat", "nbclient", "jupyter_client", "ipykernel", "papermill",
                "pyyaml", "pydantic")
# what the full grader needs and a student never uses (cli.INSTRUCTOR_ONLY lists their modules)
KIT_LEAVES_OUT = ("sqlalchemy", "nbgrader", "nbconvert", "bleach", "pytest", "ray", "pooch", "mutmut")
# import name -> distribution, for the libraries notebooks import (cells.notebook_libraries)
DISTRIBUTIONS = {"skimage": "scikit-image", "sklearn": "scikit-learn", "PIL": "pillow"}

STUDENT_README = """# {course}: student kit

Work on the notebooks in `assignments/` in Jupyter. Before you hand one in, check it with the
same engine that grades it.

Set up once (Python 3.11 or newer; `kit/` is a Python package, installed like any other):

    python3 -m venv .venv
    .venv/bin/pip install ./kit            # on Windows: .venv\\Scripts\\pip install .\\kit

Check a notebook:

    .venv/bin/grader check assignments/{example}.ipynb

`grader check` runs your notebook top to bottom in a fresh kernel (as the grader will) and
reports the public checks; it exits with 1 if one fails. Hidden tests are run only by your
course staff. Hand in the `.ipynb` file itself. Cells marked read-only are restored from the
original when grading, so changes to them have no effect. On Linux the notebook runs in the
grader's sandbox (no network, only its own folder visible); on macOS and Windows it runs as a
plain process, and `grader check` says so.

To work on the notebooks in this environment: `.venv/bin/pip install jupyterlab`.
"""


def _requirements() -> dict[str, str]:
    """The grader's own requirements, by distribution name (students must get the same pins)."""
    from importlib.metadata import PackageNotFoundError, requires
    try:
        found = [r.split(";")[0].strip() for r in requires("dl-course-grader") or [] if "extra ==" not in r]
    except PackageNotFoundError:
        import tomllib
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        found = list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])
    return {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].lower().replace("_", "-"): r for r in found}


def kit_requirements(specs: list[ExerciseSpec]) -> list[str]:
    """What the student kit installs: `grader check`'s own needs and the libraries the released
    notebooks import, pinned as the grader pins them; nothing of the gradebook, Ray, nbgrader,
    nbconvert or pytest."""
    from ..cells import notebook_libraries
    pinned = _requirements()
    wanted = [name.replace("_", "-") for name in KIT_REQUIRES]
    for spec in specs:
        for module in notebook_libraries(nbformat.read(spec.solution, as_version=4)):
            top = module.split(".")[0]
            name = DISTRIBUTIONS.get(top, top).lower()
            if name not in wanted:
                wanted.append(name)
    return [pinned.get(name, name) for name in wanted]


def bundle_folder(course: Course, target: Path) -> Path:
    """The folder to write the bundle into: a new or empty one, or one an earlier bundle wrote.
    Never the course, a folder holding it, a file, or someone else's non-empty folder."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ReleaseError(f"--bundle {target}: that is a file; give a folder for the bundle (e.g. release/)")
    resolved, root = target.resolve(), course.root.resolve()
    if resolved == root or root.is_relative_to(resolved):
        raise ReleaseError(f"--bundle {target}: that folder holds the course itself; give a new "
                           "folder for the bundle (e.g. release/)")
    if target.is_dir() and any(target.iterdir()) and not (target / BUNDLE_MARKER).is_file():
        raise ReleaseError(f"--bundle {target}: the folder is not empty and was not written by "
                           "`grader release --bundle`; give a new or empty folder")
    return target


def bundle(course: Course, target: Path, specs: list[ExerciseSpec]) -> Path:
    """The student bundle: released notebooks with their data, a public course.yaml (no hidden
    material), the student kit (``kit/``: an installable package with `grader check`), and a
    README. Written into a new or empty folder, or over an earlier bundle (only the entries a
    bundle writes are replaced)."""
    target = bundle_folder(course, target)
    problems = [p for spec in specs for p in check_release(spec)]
    if problems:
        raise ReleaseError(problems[0])
    target.mkdir(parents=True, exist_ok=True)
    (target / BUNDLE_MARKER).write_text(f"written by grader {__version__} for {course.name}\n", encoding="utf-8")
    for entry in ("assignments", "solutions", "kit", "grader", "course.yaml", "README.md", "VERSION",
                  "requirements.txt"):
        path = target / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    (target / "assignments").mkdir()
    (target / "solutions").mkdir()  # empty: kept so the course loads; never holds solutions
    from ..data import kernel_files
    for spec in specs:
        shutil.copy2(spec.assignment, target / "assignments" / spec.assignment.name)
        # the data the notebooks read from DATA_DIR ("data", next to the notebooks)
        for name, source in kernel_files(spec.datasets).items():
            dest = target / "assignments" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    public = {"course": course.model.course, "seed": 0,
              "defaults": course.model.defaults.model_dump(exclude_none=True),
              "exercises": [s.raw.model_dump(exclude_none=True, exclude={"seed"}) for s in specs]}
    (target / COURSE_FILE).write_text(yaml.safe_dump(public, sort_keys=False), encoding="utf-8")
    kit = target / "kit"
    shutil.copytree(Path(__file__).resolve().parents[1], kit / "grader",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (kit / "pyproject.toml").write_text(_kit_pyproject(course, kit_requirements(specs)), encoding="utf-8")
    example = specs[0].id if specs else "week01_example"
    (target / "README.md").write_text(STUDENT_README.format(course=course.name, example=example),
                                      encoding="utf-8")
    (target / "VERSION").write_text(f"grader {__version__}\n", encoding="utf-8")
    return target


def _kit_pyproject(course: Course, requirements: list[str]) -> str:
    deps = "".join(f"    {json.dumps(r)},\n" for r in requirements)
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{KIT_NAME}"
version = "{__version__}"
description = {json.dumps(f"Check notebooks of {course.name!r} before handing them in (grader check)")}
requires-python = ">=3.11"
dependencies = [
{deps}]

[project.scripts]
grader = "grader.cli:main"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
grader = ["outputs/templates/*/*"]
"""
