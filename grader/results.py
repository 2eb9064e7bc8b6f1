"""A graded submission as one typed object, and its statuses.

:class:`GradeResult` is what the pipeline produces and every output consumes
(:mod:`grader.outputs`); it becomes Gradescope's ``results.json`` with :meth:`to_gradescope` (our
details in ``extra_data``) and is read back from one with :meth:`from_gradescope` (a resumed batch
reuses results written earlier).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from . import __version__
from .util import fmt_points


class Status(str, Enum):
    """How grading a submission ended."""
    GRADED = "graded"      # the notebook ran; every test was scored
    INVALID = "invalid"    # not a notebook of this exercise (or none was handed in)
    TIMEOUT = "timeout"    # a cell ran past its timeout (the rest still ran and was scored)
    BUDGET = "budget"      # the notebook used up its time budget
    MEMORY = "memory"      # a cell ran out of memory
    DIED = "died"          # the kernel died
    ERROR = "error"        # the grader failed (please report it)

    def __str__(self) -> str:
        return self.value


@dataclass
class TestOutcome:
    """One hidden test's score and the message students see."""
    __test__ = False  # (not a pytest test class)

    id: str
    name: str
    max_score: float
    score: float
    status: str  # passed | failed | error
    message: str
    visibility: str = "visible"
    seconds: float = 0.0  # the test's own time (set-up, call, tear-down), probes included
    probe_seconds: float = 0.0  # of which waiting for the student's kernel to answer its probes

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _before_overrides(message: str) -> str:
    """A test's message as the grader wrote it, before any change by hand."""
    if not message.startswith("Changed by hand"):
        return message
    _, sep, rest = message.partition("\n[was: ")
    return rest[:-1] if sep and rest.endswith("]") else ""


@dataclass
class GradeResult:
    exercise: str
    student: str
    status: Status
    tests: list[TestOutcome]
    reason: str | None = None
    seconds: float = 0.0
    fingerprint: str = ""
    notebook_sha256: str | None = None
    notes: list[str] = field(default_factory=list)
    public_checks: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)  # the cells that did not run fine
    isolation: dict[str, Any] | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds per grading phase
    grader_version: str = __version__
    graded_at: str = field(default_factory=_now)

    @property
    def score(self) -> float:
        return float(sum(t.score for t in self.tests))

    @property
    def max_score(self) -> float:
        return float(sum(t.max_score for t in self.tests))

    @property
    def failed(self) -> list[TestOutcome]:
        return [t for t in self.tests if t.status != "passed"]

    @property
    def summary(self) -> str:
        """One line: points, and the reason or how many tests failed."""
        text = f"{fmt_points(self.score)} / {fmt_points(self.max_score)} points"
        if self.reason:
            return f"{text}; {self.reason}"
        if self.failed:
            return f"{text}; {len(self.failed)} of {len(self.tests)} tests failed"
        return text

    def to_gradescope(self) -> dict[str, Any]:
        """Gradescope's results.json schema; our details in ``extra_data``."""
        extra: dict[str, Any] = {
            "exercise": self.exercise, "student": self.student, "status": str(self.status),
            "reason": self.reason, "max_score": self.max_score, "fingerprint": self.fingerprint,
            "notebook_sha256": self.notebook_sha256, "notes": list(self.notes),
            "public_checks": list(self.public_checks), "cells": list(self.cells),
            "grader_version": self.grader_version, "graded_at": self.graded_at,
        }
        if self.isolation is not None:
            extra["isolation"] = self.isolation
        if self.phases:
            extra["phases"] = dict(self.phases)
        timed = {t.id: round(t.seconds, 4) for t in self.tests if t.seconds}
        if timed:  # which hidden tests a submission's time went to (profiling a suite)
            extra["test_seconds"] = timed
        probed = {t.id: round(t.probe_seconds, 4) for t in self.tests if t.probe_seconds}
        if probed:  # of which the student's kernel answering (grader profile)
            extra["probe_seconds"] = probed
        return {
            "score": self.score,
            "execution_time": round(self.seconds, 3),
            "output": self.summary,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [
                {"id": t.id, "name": t.name, "number": str(i + 1), "score": t.score,
                 "max_score": t.max_score, "status": t.status, "output": t.message,
                 "visibility": t.visibility}
                for i, t in enumerate(self.tests)],
            "extra_data": extra,
        }

    @classmethod
    def from_gradescope(cls, doc: dict[str, Any]) -> "GradeResult":
        extra = doc.get("extra_data", {})
        timed, probed = extra.get("test_seconds", {}), extra.get("probe_seconds", {})
        return cls(
            exercise=extra["exercise"], student=extra["student"], status=Status(extra["status"]),
            tests=[TestOutcome(id=t.get("id", t["name"]), name=t["name"],
                               max_score=float(t["max_score"]), score=float(t["score"]),
                               status=t.get("status", "passed" if t["score"] >= t["max_score"] else "failed"),
                               message=t.get("output", ""), visibility=t.get("visibility", "visible"),
                               seconds=float(timed.get(t.get("id", t["name"]), 0.0)),
                               probe_seconds=float(probed.get(t.get("id", t["name"]), 0.0)))
                   for t in doc.get("tests", [])],
            reason=extra.get("reason"), seconds=float(doc.get("execution_time", 0.0)),
            fingerprint=extra.get("fingerprint", ""), notebook_sha256=extra.get("notebook_sha256"),
            notes=list(extra.get("notes", [])), public_checks=list(extra.get("public_checks", [])),
            cells=list(extra.get("cells", [])), isolation=extra.get("isolation"),
            phases=dict(extra.get("phases", {})), grader_version=extra.get("grader_version", ""),
            graded_at=extra.get("graded_at", ""))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, overrides: list[Any]) -> "GradeResult":
        """This result with grades changed by hand (rows with ``test_id``, ``points``, ``reason``,
        ``by``, ``at``; in the order made). Idempotent: applying the same overrides to a result
        that has them changes nothing. An empty ``test_id`` is an adjustment of the total,
        shown as a test of its own worth 0 points."""
        if not overrides:
            return self
        tests = list(self.tests)
        note = f"{len(overrides)} grade change(s) by hand"
        for o in overrides:
            said = f"Changed by hand by {o.by} on {o.at}: {o.reason}"
            if o.test_id:
                for i, t in enumerate(tests):
                    if t.id == o.test_id:
                        original = _before_overrides(t.message)
                        tests[i] = TestOutcome(id=t.id, name=t.name, max_score=t.max_score, score=float(o.points),
                                               status="passed" if o.points >= t.max_score else "failed",
                                               message=said + (f"\n[was: {original}]" if original else ""),
                                               visibility=t.visibility)
            else:
                tests = [t for t in tests if t.id != "manual_adjustment"] + [TestOutcome(
                    id="manual_adjustment", name="Adjustment by hand", max_score=0.0, score=float(o.points),
                    status="passed", message=said)]
        notes = [n for n in self.notes if not n.endswith("grade change(s) by hand")] + [note]
        return replace(self, tests=tests, notes=notes)


@dataclass
class Graded:
    """A graded submission with what the outputs need besides the result."""
    result: GradeResult
    executed: str | None  # the executed notebook (JSON text); None if it never ran
    html: str             # its feedback page
