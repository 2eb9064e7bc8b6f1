"""`course.yaml`: the course's exercises, budgets and policies, as a typed model.

Every problem with the file becomes a :class:`CourseError` with a one-line message that
names the field (``course.yaml: exercises[0] (week02_autograd).points: must be >= 0``).
"""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import CourseError

COURSE_FILE = "course.yaml"
ID_PATTERN = re.compile(r"^week\d{2}_[a-z0-9_]+$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4,
          "tb": 1000**4, "tib": 1024**4}




def parse_size(value: Any) -> int:
    """'2GiB' / '512MB' / 1048576 -> bytes."""
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, (int, float)):
        if value <= 0:
            raise ValueError(f"must be positive, got {value}")
        return int(value)
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"not a size like '2GiB' or '512MB': {value!r}")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    size = int(number * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"must be positive, got {value!r}")
    return size


class Limits(BaseModel):
    """Budgets shared by the course defaults and each exercise (exercise wins)."""

    model_config = ConfigDict(extra="forbid")

    cell_timeout: float | None = Field(default=None, gt=0, description="seconds per cell")
    notebook_budget: float | None = Field(default=None, gt=0, description="seconds per notebook")
    test_timeout: float | None = Field(default=None, gt=0, description="seconds per hidden test probe")
    memory: int | None = Field(default=None, description="memory cap of a kernel, bytes")
    output_limit: int | None = Field(default=None, description="bytes of output kept per cell")
    processes: int | None = Field(default=None, ge=16, description="processes+threads of a kernel")
    device: Literal["cpu", "cuda", "auto"] | None = None
    kernels_per_gpu: int | None = Field(default=None, ge=1, le=64,
                                        description="grading kernels that may share one GPU")

    @field_validator("memory", "output_limit", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return None if value is None else parse_size(value)


DEFAULT_LIMITS = Limits(cell_timeout=60, notebook_budget=600, test_timeout=30,
                        memory=parse_size("4GiB"), output_limit=parse_size("1MiB"), processes=256,
                        device="cpu", kernels_per_gpu=1)


class LatePolicy(BaseModel):
    """``late:`` of an exercise: points taken off work handed in after the deadline."""

    model_config = ConfigDict(extra="forbid")

    deadline: datetime
    grace_minutes: float = Field(default=0, ge=0, description="minutes after the deadline that still count as on time")
    per_day: float = Field(default=0.1, ge=0, le=1, description="fraction of the earned points per started day late")
    cap: float = Field(default=1.0, ge=0, le=1, description="the most that is taken off")
    no_credit: bool = Field(default=False, description="late work earns nothing")

    @field_validator("deadline")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone, like 2026-12-08T23:59:00+01:00")
        return value


class Exercise(Limits):
    id: str
    title: str = Field(min_length=1)
    week: int = Field(ge=1, le=15)
    points: float = Field(ge=0)
    parameters: dict[str, Any] = Field(default_factory=dict,
                                       description="papermill parameters in grading mode")
    datasets: dict[str, str] = Field(default_factory=dict,
                                     description="dataset name -> 'offline' or a registry entry")
    seed: int | None = None
    late: LatePolicy | None = None
    optional: bool = Field(default=False, description="a companion exercise beside its week "
                           "(graded, released and reported like any other)")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(f"must look like 'week02_autograd', got {value!r}")
        return value


class CourseModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course: str = Field(min_length=1)
    seed: int = 0
    defaults: Limits = Field(default_factory=Limits)
    exercises: list[Exercise] = Field(min_length=1)


class ExerciseSpec:
    """One exercise with every limit resolved (exercise > course defaults > built-in)."""

    # the fields of Limits, resolved in __init__
    cell_timeout: float
    notebook_budget: float
    test_timeout: float
    memory: int
    output_limit: int
    processes: int
    device: str
    kernels_per_gpu: int

    def __init__(self, course: "Course", exercise: Exercise):
        self.course = course
        self.raw = exercise
        self.id = exercise.id
        self.title = exercise.title
        self.week = exercise.week
        self.points = exercise.points
        self.parameters = dict(exercise.parameters)
        self.datasets = dict(exercise.datasets)
        self.late = exercise.late
        self.optional = exercise.optional
        self.seed = exercise.seed if exercise.seed is not None else course.model.seed
        for name in Limits.model_fields:
            value = getattr(exercise, name)
            if value is None:
                value = getattr(course.model.defaults, name)
            if value is None:
                value = getattr(DEFAULT_LIMITS, name)
            setattr(self, name, value)

    # paths -------------------------------------------------------------------------------
    @property
    def solution(self) -> Path:
        return self.course.root / "solutions" / f"{self.id}.ipynb"

    @property
    def assignment(self) -> Path:
        return self.course.root / "assignments" / f"{self.id}.ipynb"

    @property
    def tests_dir(self) -> Path:
        return self.course.root / "autograde_tests" / self.id

    @property
    def kernel_seed(self) -> int:
        """The seed notebooks see (``SEED``; probes re-seed with it too). Public, unlike
        ``seed``, the grading seed, which stays in the grader (the ``grading_seed`` fixture)."""
        return int(self.parameters.get("SEED", 0))

    def grading_parameters(self, device: str) -> dict[str, Any]:
        """What papermill injects into the parameters cell when grading."""
        params = {"SEED": self.kernel_seed, "FAST": True, "DEVICE": device, "DATA_DIR": "data"}
        params.update(self.parameters)
        params["DEVICE"] = device
        return params

    def __repr__(self) -> str:
        return f"ExerciseSpec({self.id!r})"


class Course:
    def __init__(self, root: Path, model: CourseModel, *, require_solutions: bool = True):
        self.root = root
        self.model = model
        self.name = model.course
        self.exercises: dict[str, ExerciseSpec] = {}
        previous_week = 0
        for index, exercise in enumerate(model.exercises):
            where = f"{COURSE_FILE}: exercises[{index}] ({exercise.id})"
            if exercise.id in self.exercises:
                raise CourseError(f"{where}: duplicate exercise id")
            if exercise.week < previous_week:
                raise CourseError(f"{where}: exercises must be listed in course order "
                                  f"(week {exercise.week} comes after week {previous_week})")
            previous_week = exercise.week
            spec = ExerciseSpec(self, exercise)
            self._check_datasets(where, spec)
            if require_solutions and not spec.solution.is_file():
                raise CourseError(f"{where}: solution notebook {spec.solution.relative_to(root)} "
                                  "does not exist")
            self.exercises[exercise.id] = spec

    @staticmethod
    def _check_datasets(where: str, spec: "ExerciseSpec") -> None:
        from .data.datasets import registry  # keeps `import grader.course` light
        known = registry()
        for name, choice in spec.datasets.items():
            if name not in known:
                raise CourseError(f"{where}.datasets: unknown dataset {name!r} "
                                  f"(known: {', '.join(sorted(known)) or 'none'})")
            if choice not in ("offline", "real"):
                raise CourseError(f"{where}.datasets.{name}: must be 'offline' or 'real', got {choice!r}")

    def get(self, exercise_id: str) -> ExerciseSpec:
        try:
            return self.exercises[exercise_id]
        except KeyError:
            known = ", ".join(self.exercises) or "none"
            raise CourseError(f"unknown exercise {exercise_id!r} (course.yaml lists: {known})") from None

    def select(self, ids: list[str] | None) -> list[ExerciseSpec]:
        return [self.get(i) for i in ids] if ids else list(self.exercises.values())


def _format_validation_error(error: ValidationError, data: Any) -> str:
    first = error.errors()[0]
    parts: list[str] = []
    for item in first["loc"]:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
            if parts and parts[-1].startswith("exercises["):
                try:
                    parts[-1] += f" ({data['exercises'][item]['id']})"
                except Exception:  # noqa: BLE001 - best effort label
                    pass
        else:
            parts.append(str(item))
    location = ".".join(parts) or "top level"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "is required"
    message = message.removeprefix("Value error, ")
    return f"{COURSE_FILE}: {location}: {message}"


def find_course_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / COURSE_FILE).is_file():
            return candidate
    raise CourseError(f"no {COURSE_FILE} found in {here} or any parent folder "
                      "(run inside the course repository or pass --course DIR)")


def load_course(root: Path | None = None, *, require_solutions: bool = True) -> Course:
    root = find_course_root(root) if root is None or not (Path(root) / COURSE_FILE).is_file() \
        else Path(root).resolve()
    path = root / COURSE_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise CourseError(f"{COURSE_FILE}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise CourseError(f"{COURSE_FILE}: expected a mapping with 'course' and 'exercises'")
    try:
        model = CourseModel.model_validate(data)
    except ValidationError as exc:
        raise CourseError(_format_validation_error(exc, data)) from None
    return Course(root, model, require_solutions=require_solutions)
