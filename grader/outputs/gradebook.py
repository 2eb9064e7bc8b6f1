"""The gradebook: SQLite by default (any SQLAlchemy URL works), one row per student per test.

Re-grading a student replaces their rows in one transaction, so a crash never leaves a
student half-recorded and grading twice never duplicates anything; the grade it replaces is
kept in ``history`` (when it was given, for which notebook and settings, and the score).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Float, ForeignKey, Integer, String, Text, UniqueConstraint, create_engine,
                        event, select)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from ..results import GradeResult
from ..util import fmt_points


class Base(DeclarativeBase):
    pass


class _Grade:
    """What a grade is, whether current (``submissions``) or replaced (``history``)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise: Mapped[str] = mapped_column(String(100), index=True)
    student: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)
    notebook_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    graded_at: Mapped[str] = mapped_column(String(40))

    GRADE_FIELDS = ("exercise", "student", "status", "reason", "score", "max_score", "seconds",
                    "notebook_sha256", "fingerprint", "graded_at")


class SubmissionRow(_Grade, Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("exercise", "student"),)

    tests: Mapped[list["TestRow"]] = relationship(back_populates="submission",
                                                  cascade="all, delete-orphan")


class TestRow(Base):
    __tablename__ = "test_results"
    __table_args__ = (UniqueConstraint("submission_id", "test_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    exercise: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(String(200))
    test_id: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    submission: Mapped[SubmissionRow] = relationship(back_populates="tests")


class HistoryRow(_Grade, Base):
    """A grade that a re-grade replaced: when it was given, for which notebook, and what it was."""
    __tablename__ = "history"

    replaced_at: Mapped[str] = mapped_column(String(40))


class OverrideRow(Base):
    """A grade changed by hand (a written answer graded, a regrade request): who, when and why.
    ``test_id`` is empty for an adjustment of the total. Kept for good: the latest one for a
    student and test is the one in force."""
    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise: Mapped[str] = mapped_column(String(100), index=True)
    student: Mapped[str] = mapped_column(String(200), index=True)
    test_id: Mapped[str] = mapped_column(String(300))
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[str] = mapped_column(String(40))


class Gradebook:
    def __init__(self, url_or_path: str | Path):
        url = str(url_or_path)
        if "://" not in url:
            url = f"sqlite:///{Path(url).resolve()}"
        self.engine = create_engine(url)
        if url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _record):  # noqa: ANN001
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
        Base.metadata.create_all(self.engine)

    def record(self, result: GradeResult) -> None:
        """Insert or replace one student's result; the grade it replaces goes to history."""
        with Session(self.engine) as session, session.begin():
            old = session.scalars(select(SubmissionRow).where(
                SubmissionRow.exercise == result.exercise, SubmissionRow.student == result.student)).first()
            if old is not None:
                if (old.fingerprint, old.graded_at, old.score) == (result.fingerprint, result.graded_at, result.score):
                    return  # the same grade recorded again (a resumed batch): nothing changes
                # the grade being replaced stays, as history
                session.add(HistoryRow(
                    **{name: getattr(old, name) for name in _Grade.GRADE_FIELDS},
                    replaced_at=datetime.now(timezone.utc).isoformat(timespec="seconds")))
                session.delete(old)
                session.flush()
            row = SubmissionRow(
                exercise=result.exercise, student=result.student, status=str(result.status),
                reason=result.reason, score=result.score, max_score=result.max_score,
                seconds=float(result.seconds), notebook_sha256=result.notebook_sha256,
                fingerprint=result.fingerprint,
                graded_at=result.graded_at or datetime.now(timezone.utc).isoformat())
            for position, test in enumerate(result.tests):
                row.tests.append(TestRow(
                    exercise=result.exercise, student=result.student, test_id=test.id,
                    name=test.name, score=float(test.score), max_score=float(test.max_score),
                    status=test.status, message=test.message, position=position))
            session.add(row)

    def submissions(self, exercise: str) -> list[SubmissionRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = session.scalars(select(SubmissionRow).where(SubmissionRow.exercise == exercise)
                                   .order_by(SubmissionRow.student)).all()
            for row in rows:
                _ = list(row.tests)
            return list(rows)

    def history(self, exercise: str, student: str | None = None) -> list[HistoryRow]:
        """Grades that re-grades replaced, oldest first."""
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(HistoryRow).where(HistoryRow.exercise == exercise)
            if student is not None:
                query = query.where(HistoryRow.student == student)
            return list(session.scalars(query.order_by(HistoryRow.id)).all())

    def add_override(self, exercise: str, student: str, test_id: str, points: float, reason: str,
                     by: str) -> OverrideRow:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            row = OverrideRow(exercise=exercise, student=student, test_id=test_id, points=float(points),
                              reason=reason, by=by,
                              at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
            session.add(row)
        return row

    def overrides(self, exercise: str, student: str | None = None) -> list[OverrideRow]:
        """Overrides in the order they were made (the last one for a test is in force)."""
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(OverrideRow).where(OverrideRow.exercise == exercise)
            if student is not None:
                query = query.where(OverrideRow.student == student)
            return list(session.scalars(query.order_by(OverrideRow.id)).all())

    def exercises(self) -> list[str]:
        """The exercises this gradebook holds grades of."""
        with Session(self.engine) as session:
            return sorted(set(session.scalars(select(SubmissionRow.exercise)).all()))

    def grades_csv(self, exercise: str) -> str:
        """One row per student of the exercise in this gradebook (every batch graded into it,
        not only the latest), one column per test (score), plus total, max and status; the
        second row holds each column's maximum points."""
        rows = self.submissions(exercise)
        columns: list[str] = []
        for row in rows:
            for test in sorted(row.tests, key=lambda t: t.position):
                if test.test_id not in columns:
                    columns.append(test.test_id)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["student", "score", "max_score", "status", *columns])
        maxima: dict[str, float] = {}
        for row in rows:
            for test in row.tests:
                maxima.setdefault(test.test_id, test.max_score)
        top = max((row.max_score for row in rows), default=0.0)
        writer.writerow(["max points", fmt_points(top), fmt_points(top), "",
                         *[fmt_points(maxima[c]) for c in columns]])
        for row in rows:
            scores = {t.test_id: t.score for t in row.tests}
            writer.writerow([row.student, fmt_points(row.score), fmt_points(row.max_score), row.status,
                             *[fmt_points(scores[c]) if c in scores else "" for c in columns]])
        return buffer.getvalue()

    def close(self) -> None:
        self.engine.dispose()
