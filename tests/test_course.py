"""course.yaml: the typed model, its one-line errors, the real course."""
from __future__ import annotations

import nbformat
import pytest

from grader.course import CourseError, load_course, parse_size

from .helpers import MINI_ID, run_cli


# ----------------------------------------------------------------------------- course.yaml

GOOD_YAML = (f"course: C\nexercises:\n  - id: {MINI_ID}\n    title: T\n    week: 1\n    points: 4\n")


def _course_dir(tmp_path, text, notebook=True):
    (tmp_path / "course.yaml").write_text(text)
    (tmp_path / "solutions").mkdir(exist_ok=True)
    if notebook:
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / "solutions" / f"{MINI_ID}.ipynb")
    return tmp_path


def test_course_defaults_resolve(tmp_path):
    course = load_course(_course_dir(tmp_path, GOOD_YAML + "    memory: 512MiB\n"))
    spec = course.get(MINI_ID)
    assert spec.memory == 512 * 1024**2 and spec.cell_timeout == 60 and spec.device == "cpu"
    assert spec.grading_parameters("cpu") == {"SEED": 0, "FAST": True, "DEVICE": "cpu", "DATA_DIR": "data"}
    assert spec.optional is False
    assert load_course(_course_dir(tmp_path, GOOD_YAML + "    optional: true\n")).get(MINI_ID).optional


@pytest.mark.parametrize("text, message", [
    (GOOD_YAML.replace("points: 4", "points: -3"),
     f"course.yaml: exercises[0] ({MINI_ID}).points: Input should be greater than or equal to 0"),
    (GOOD_YAML + "    colour: red\n", f"course.yaml: exercises[0] ({MINI_ID}).colour: unknown field"),
    (GOOD_YAML.replace(MINI_ID, "lesson1"),
     "course.yaml: exercises[0] (lesson1).id: must look like 'week02_autograd', got 'lesson1'"),
    (GOOD_YAML + "    memory: lots\n",
     f"course.yaml: exercises[0] ({MINI_ID}).memory: not a size like '2GiB' or '512MB': 'lots'"),
    (GOOD_YAML + "    device: tpu\n",
     f"course.yaml: exercises[0] ({MINI_ID}).device: Input should be 'cpu', 'cuda' or 'auto'"),
    (GOOD_YAML + "    datasets: {nope: offline}\n",
     f"course.yaml: exercises[0] ({MINI_ID}).datasets: unknown dataset 'nope'"),
    ("course: C\nexercises: []\n", "course.yaml: exercises: List should have at least 1 item"),
    ("course: [unclosed\n", "course.yaml: not valid YAML (line 2)"),
])
def test_course_errors_are_one_line(tmp_path, text, message):
    with pytest.raises(CourseError) as info:
        load_course(_course_dir(tmp_path, text))
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_missing_notebook_and_unknown_exercise(tmp_path):
    with pytest.raises(CourseError, match=r"solution notebook solutions/week01_mini.ipynb does not exist"):
        load_course(_course_dir(tmp_path, GOOD_YAML, notebook=False))
    course = load_course(_course_dir(tmp_path, GOOD_YAML))
    with pytest.raises(CourseError, match="unknown exercise 'week09_x'"):
        course.get("week09_x")


def test_cli_reports_bad_course_with_exit_2(tmp_path):
    _course_dir(tmp_path, GOOD_YAML.replace("points: 4", "points: -1"))
    proc = run_cli("validate", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("grader: error: course.yaml: exercises[0]")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_parse_size():
    assert parse_size("2GiB") == 2 * 1024**3 and parse_size("512MB") == 512 * 1000**2
    assert parse_size(1024) == 1024
    with pytest.raises(ValueError):
        parse_size("-1GiB")


def test_the_real_course_loads(course):
    assert "week02_autograd" in course.exercises




def test_exercises_must_be_in_course_order(tmp_path):
    text = ("course: C\nexercises:\n"
            "  - {id: week02_b, title: B, week: 2, points: 1}\n"
            f"  - {{id: {MINI_ID}, title: A, week: 1, points: 1}}\n")
    _course_dir(tmp_path, text)
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "solutions" / "week02_b.ipynb")
    with pytest.raises(CourseError, match=r"exercises\[1\] \(week01_mini\): exercises must be listed "
                                          r"in course order \(week 1 comes after week 2\)"):
        load_course(tmp_path)
