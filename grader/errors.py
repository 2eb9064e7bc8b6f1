"""The grader's exceptions: one base class for every problem a user must fix, the rest beside it.

The command line catches :class:`GraderError` once and prints its message as one line with
exit code 2 (papermill's ``exceptions.py`` is the model). A student's code failing is never one
of these: it becomes a graded result (see ``grader.probe`` for what crosses from a kernel).
"""
from __future__ import annotations


class GraderError(Exception):
    """A problem the user must fix (bad input, a broken exercise, a missing tool); ``str()``
    is one line for them."""


class CourseError(GraderError):
    """A problem with the course definition (course.yaml, an exercise's files)."""


class GradingError(GraderError):
    """The batch cannot be graded (bad exercise setup, an output folder of another exercise)."""


class ReleaseError(GraderError):
    """A solution notebook cannot be released, or a bundle not written where asked."""


class SubmissionsError(GraderError):
    """SUBMISSIONS cannot be read at all."""


class VariantError(GraderError):
    """variants.yaml does not fit the reference notebook."""


class DataError(GraderError):
    """A dataset cannot be found, fetched or registered."""


class OperatorError(GraderError):
    """This machine cannot grade as asked (no GPU, no sandbox uid left, a tool missing): the
    batch stops; it is never a student's "internal grader error"."""


class ContainerError(OperatorError):
    """The container engine is missing or cannot run the kernel as asked."""
