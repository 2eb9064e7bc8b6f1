"""`grader release`: student notebooks from the reference notebooks, with nbgrader's
preprocessors (ClearSolutions, ClearHiddenTests, ClearOutput, LockCells, ComputeChecksums,
CheckCellMetadata), plus the consistency check CI runs and the student bundle."""
from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import nbformat
import yaml

from . import __version__
from .course import COURSE_FILE, Course, ExerciseSpec
from .errors import ReleaseError
from .util import write_atomic

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"




def _preprocessors():
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                        ClearSolutions, ComputeChecksums, LockCells)
    return [ClearSolutions(), ClearHiddenTests(), ClearOutput(), LockCells(), ComputeChecksums(),
            CheckCellMetadata()]


def student_version(solution: nbformat.NotebookNode, exercise_id: str) -> nbformat.NotebookNode:
    """The student notebook: solution regions become stubs (signatures and docstrings kept),
    hidden tests removed, outputs cleared, non-answer cells locked, checksums set."""
    nb = copy.deepcopy(solution)
    resources: dict = {}
    for pre in _preprocessors():
        try:
            nb, resources = pre.preprocess(nb, resources)
        except Exception as exc:  # noqa: BLE001 - nbgrader raises plain RuntimeError/ValueError
            raise ReleaseError(f"{exercise_id}: {type(pre).__name__}: {exc}") from None
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = None
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["grader"] = {"exercise": exercise_id}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def expected_assignment(spec: ExerciseSpec) -> str:
    solution = nbformat.read(spec.solution, as_version=4)
    _check_solution(spec, solution)
    return render(student_version(solution, spec.id))


def _check_solution(spec: ExerciseSpec, nb: nbformat.NotebookNode) -> None:
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(params) != 1:
        raise ReleaseError(f"{spec.solution.name}: needs exactly one cell tagged 'parameters' "
                           f"(found {len(params)})")
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    missing = [i for i, g in enumerate(ids) if not g]
    if missing:
        raise ReleaseError(f"{spec.solution.name}: cell {missing[0]} has no nbgrader grade_id "
                           "(every cell needs one)")
    dupes = {g for g in ids if ids.count(g) > 1}
    if dupes:
        raise ReleaseError(f"{spec.solution.name}: duplicate grade_id {sorted(dupes)[0]!r}")
    if not any(BEGIN_SOLUTION in c.source for c in nb.cells):
        raise ReleaseError(f"{spec.solution.name}: no '{BEGIN_SOLUTION}' region; nothing for students to do")


def release(spec: ExerciseSpec) -> bool:
    """Write assignments/<id>.ipynb; True when it changed."""
    text = expected_assignment(spec)
    if spec.assignment.is_file() and spec.assignment.read_text(encoding="utf-8") == text:
        return False
    write_atomic(spec.assignment, text)
    return True


def _solution_lines(nb: nbformat.NotebookNode) -> tuple[set[str], set[str]]:
    """(lines inside solution regions, lines everywhere else) of a solution notebook."""
    inside, outside = set(), set()
    for cell in nb.cells:
        in_region = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if BEGIN_SOLUTION in stripped:
                in_region = True
                continue
            if END_SOLUTION in stripped:
                in_region = False
                continue
            (inside if in_region else outside).add(stripped)
    return inside, outside


def _meaningful(line: str, minimum: int) -> bool:
    return len(line) >= minimum and not line.startswith("#") and not re.fullmatch(r"[\W_]+", line)


def check_release(spec: ExerciseSpec) -> list[str]:
    """Problems that make assignments/<id>.ipynb unfit to hand out (empty list: all good)."""
    problems: list[str] = []
    rel = spec.assignment.relative_to(spec.course.root)
    if not spec.assignment.is_file():
        return [f"{rel} is missing (run `grader release {spec.id}`)"]
    text = spec.assignment.read_text(encoding="utf-8")
    try:
        if text != expected_assignment(spec):
            problems.append(f"{rel} is out of date with solutions/ (run `grader release {spec.id}`)")
    except ReleaseError as exc:
        problems.append(str(exc))
    released = nbformat.reads(text, as_version=4)
    released_lines = {line.strip() for c in released.cells for line in c.source.splitlines()}
    for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN):
        if marker in text:
            problems.append(f"{rel} contains the marker '{marker}'")
    solution = nbformat.read(spec.solution, as_version=4)
    inside, outside = _solution_lines(solution)
    leaked = sorted(line for line in inside - outside
                    if _meaningful(line, 12) and line in released_lines)
    if leaked:
        problems.append(f"{rel} contains solution text, e.g. {leaked[0]!r}")
    hidden: set[str] = set()
    for path in sorted(spec.tests_dir.rglob("*.py")) if spec.tests_dir.is_dir() else []:
        hidden.update(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    public = outside | inside
    leaked_tests = sorted(line for line in hidden - public
                          if _meaningful(line, 25) and line in released_lines)
    if leaked_tests:
        problems.append(f"{rel} contains hidden-test text, e.g. {leaked_tests[0]!r}")
    return problems


BUNDLE_MARKER = ".grader-bundle"   # a folder carrying it was written by `grader release --bundle`
KIT_NAME = "dl-course-student-kit"
# what `grader check` needs besides the libraries the notebooks import (grader.check)
KIT_REQUIRES = ("numpy", "nbformat", "nbclient", "jupyter_client", "ipykernel", "papermill",
                "pyyaml", "pydantic")
# what the full grader needs and a student never uses (cli.INSTRUCTOR_ONLY lists their modules)
KIT_LEAVES_OUT = ("sqlalchemy", "nbgrader", "nbconvert", "bleach", "pytest", "ray", "pooch")
# import name -> distribution, for the libraries notebooks import (notebook.HEAVY_MODULES)
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
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        found = list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])
    return {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].lower().replace("_", "-"): r for r in found}


def kit_requirements(specs: list[ExerciseSpec]) -> list[str]:
    """What the student kit installs: `grader check`'s own needs and the libraries the released
    notebooks import, pinned as the grader pins them; nothing of the gradebook, Ray, nbgrader,
    nbconvert or pytest."""
    from .notebook import preload_modules
    pinned = _requirements()
    wanted = [name.replace("_", "-") for name in KIT_REQUIRES]
    for spec in specs:
        for module in preload_modules(nbformat.read(spec.solution, as_version=4)):
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
    from .data import kernel_files
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
    shutil.copytree(Path(__file__).parent, kit / "grader",
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
grader = ["templates/*/*"]
"""
