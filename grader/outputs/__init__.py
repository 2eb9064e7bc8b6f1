"""What a batch writes under OUT: one writer per output, in a registry.

A writer is told about each graded submission (``write``) and about the end of the batch
(``close``). The built-in ones, in the order they run for each submission:

- ``executed``: ``executed/<student>.ipynb``, the notebook as the grader ran it;
- ``feedback``: ``feedback/<student>.html`` (:mod:`.feedback`);
- ``gradebook``: the SQLAlchemy gradebook (:mod:`.gradebook`; before the results file, so a
  result on disk always has its gradebook rows and a resumed batch can trust it);
- ``results``: ``results/<student>.json`` in Gradescope's schema;
- ``csv``: ``grades.csv``, one row per student (written when the batch closes).

A new output format is a class with ``write``/``close`` and one :func:`register` call; every
piece is written atomically (:func:`grader.util.write_atomic`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol

from ..results import GradeResult, Graded
from ..util import write_atomic, write_json_atomic
from .gradebook import Gradebook


@dataclass
class Destination:
    """Where a batch's outputs go."""
    out: Path
    exercise: str
    gradebook: Gradebook


class Writer(Protocol):
    def write(self, graded: Graded) -> None: ...

    def close(self) -> None: ...


class ExecutedWriter:
    def __init__(self, dest: Destination):
        self.folder = dest.out / "executed"

    def write(self, graded: Graded) -> None:
        if graded.executed is not None:
            write_atomic(self.folder / f"{graded.result.student}.ipynb", graded.executed)

    def close(self) -> None:
        pass


class FeedbackWriter:
    def __init__(self, dest: Destination):
        self.folder = dest.out / "feedback"

    def write(self, graded: Graded) -> None:
        write_atomic(self.folder / f"{graded.result.student}.html", graded.html)

    def close(self) -> None:
        pass


class GradebookWriter:
    def __init__(self, dest: Destination):
        self.gradebook = dest.gradebook

    def write(self, graded: Graded) -> None:
        self.gradebook.record(graded.result)

    def close(self) -> None:
        pass


class ResultsWriter:
    def __init__(self, dest: Destination):
        self.folder = dest.out / "results"

    def write(self, graded: Graded) -> None:
        write_json_atomic(self.folder / f"{graded.result.student}.json", graded.result.to_gradescope())

    def close(self) -> None:
        pass


class CsvWriter:
    def __init__(self, dest: Destination):
        self.dest = dest

    def write(self, graded: Graded) -> None:
        pass

    def close(self) -> None:
        write_atomic(self.dest.out / "grades.csv", self.dest.gradebook.grades_csv(self.dest.exercise))


WRITERS: dict[str, Callable[[Destination], Writer]] = {}


def register(name: str, factory: Callable[[Destination], Writer]) -> None:
    """Add an output (``factory(destination)`` makes its writer for a batch); runs after the
    ones registered before it."""
    WRITERS[name] = factory


for _name, _factory in (("executed", ExecutedWriter), ("feedback", FeedbackWriter),
                        ("gradebook", GradebookWriter), ("results", ResultsWriter), ("csv", CsvWriter)):
    register(_name, _factory)


class Outputs:
    """Every registered output of one batch under OUT."""

    def __init__(self, out: Path, exercise: str, gradebook_url: str | None = None,
                 names: list[str] | None = None, context: dict[str, str] | None = None):
        self.out = Path(out)
        self.context = context   # for feedback pages made again here (see record)
        for sub in ("results", "feedback", "executed"):
            (self.out / sub).mkdir(parents=True, exist_ok=True)
        self.gradebook = Gradebook(gradebook_url or self.out / "gradebook.sqlite")
        dest = Destination(self.out, exercise, self.gradebook)
        self.writers = [WRITERS[name](dest) for name in (names or list(WRITERS))]

    def existing(self, student: str) -> GradeResult | None:
        """The result an earlier run wrote for ``student`` (None if there is none readable)."""
        try:
            return GradeResult.from_gradescope(json.loads(
                (self.out / "results" / f"{student}.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def record(self, graded: Graded, result: GradeResult | None = None) -> GradeResult:
        """Write every output of one graded submission; returns the result as recorded.

        ``result``: the graded result changed after its page was made (a late penalty). Grades
        changed by hand (grader override) are applied here, so they outlive any re-grade; the
        page is made again only when the result changed."""
        result = (result or graded.result).with_overrides(
            self.gradebook.overrides(graded.result.exercise, graded.result.student))
        if result is not graded.result:
            import nbformat

            from .feedback import feedback_html
            executed = nbformat.reads(graded.executed, as_version=4) if graded.executed else None
            graded = replace(graded, result=result, html=feedback_html(executed, result, self.context))
        for writer in self.writers:
            writer.write(graded)
        return graded.result

    def reuse(self, result: GradeResult) -> None:
        """An earlier result kept as it is (the gradebook is repaired if it lost it)."""
        self.gradebook.record(result)

    def close(self) -> None:
        try:
            for writer in self.writers:
                writer.close()
        finally:
            self.gradebook.close()
