"""Who handed in what, and when: LMS file names, the roster, resubmissions and late work.

LMS downloads name files after the student, in the LMS's own ids:

- Canvas: ``doejane_12345_67890_week02_autograd.ipynb`` (name, user id, submission id, the
  file's name), ``doejane_LATE_12345_67890_...`` for a late one, and ``...-1.ipynb``,
  ``...-2.ipynb`` for resubmissions of the same file;
- Moodle: a folder ``Jane Doe_1234_assignsubmission_file_`` (1234: the participant id) holding
  the files;
- anything else: the file or folder name is the student's id.

A roster (CSV ``id, name, email, lms_id``) maps LMS ids to the course's student ids; a name the
roster does not know is reported and graded under its own name, never matched by guesswork.
Of several submissions of one student the latest counts (the highest resubmission number, then
the newest file); the others are named in a warning and kept under ``OUT/history/``.

A late policy (``late:`` of an exercise in course.yaml) takes points off work handed in after
the deadline (with a grace period), per started day late and up to a cap, or gives it no
credit; a student's own deadline can come from an extensions file (CSV ``id, deadline``). The
time a file was handed in is the time the LMS stored with it in its zip (or the file's time).
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .errors import GraderError

CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+?)(?:-(?P<attempt>\d+))?$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<user>\d+)_assignsubmission_(?:file|onlinetext)_?$")


@dataclass(frozen=True)
class LmsName:
    """What a file or folder name says about who handed it in."""
    kind: str                 # canvas | moodle | plain
    key: str                  # the LMS user id, or the plain name
    late: bool = False        # the LMS marked it late (Canvas)
    attempt: int = 0          # Canvas's resubmission number (0: the first)


def identify(name: str) -> LmsName:
    """The LMS identity in a submission's file name (without its extension) or folder name."""
    match = MOODLE.match(name)
    if match:
        return LmsName("moodle", match["user"])
    match = CANVAS.match(name)
    if match:
        return LmsName("canvas", match["user"], bool(match["late"]), int(match["attempt"] or 0))
    return LmsName("plain", name)


class RosterError(GraderError):
    pass


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    lms_id: str


def load_roster(path: Path) -> dict[str, Person]:
    """The roster CSV (header ``id,name,email,lms_id``; extra columns are ignored), by id."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {"id", "name", "email", "lms_id"} - set(reader.fieldnames or [])
            if missing:
                raise RosterError(f"{path}: the roster needs the columns id, name, email, lms_id "
                                  f"(missing: {', '.join(sorted(missing))})")
            people: dict[str, Person] = {}
            for line, row in enumerate(reader, 2):
                sid = (row["id"] or "").strip()
                if not sid:
                    raise RosterError(f"{path}, line {line}: empty id")
                if sid in people:
                    raise RosterError(f"{path}, line {line}: the id {sid!r} is listed twice")
                people[sid] = Person(sid, (row["name"] or "").strip(), (row["email"] or "").strip(),
                                     (row["lms_id"] or "").strip())
    except OSError as exc:
        raise RosterError(f"cannot read the roster {path}: {exc.strerror}") from None
    return people


def read_roster(path: Path) -> dict[str, str]:
    """LMS id -> student id (and each student id to itself), from the roster CSV."""
    people = load_roster(path)
    mapping: dict[str, str] = {}
    for person in people.values():
        mapping[person.id] = person.id
        if person.lms_id:
            if mapping.get(person.lms_id, person.id) != person.id:
                raise RosterError(f"{path}: the LMS id {person.lms_id!r} belongs to two students")
            mapping[person.lms_id] = person.id
    return mapping


def read_extensions(path: Path) -> dict[str, datetime]:
    """Student id -> their own deadline, from a CSV ``id, deadline`` (ISO 8601 with a time zone)."""
    out: dict[str, datetime] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not {"id", "deadline"} <= set(reader.fieldnames or []):
                raise RosterError(f"{path}: the extensions file needs the columns id, deadline")
            for line, row in enumerate(reader, 2):
                out[row["id"].strip()] = aware(row["deadline"].strip(), f"{path}, line {line}")
    except OSError as exc:
        raise RosterError(f"cannot read the extensions file {path}: {exc.strerror}") from None
    return out


def aware(text: str, where: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise RosterError(f"{where}: {text!r} is not a date and time like 2026-12-08T23:59:00+01:00") from None
    if when.tzinfo is None:
        raise RosterError(f"{where}: {text!r} has no time zone (write it like 2026-12-08T23:59:00+01:00)")
    return when


@dataclass(frozen=True)
class Penalty:
    fraction: float           # of the points earned, taken off
    days: int                 # started days late (after the grace period)
    text: str


def late_penalty(policy, handed_in: datetime | None, deadline: datetime | None = None,  # noqa: ANN001
                 lms_late: bool = False) -> Penalty | None:
    """What ``policy`` (course.yaml's ``late:``) takes off a submission handed in at
    ``handed_in`` (None: unknown, no penalty unless the LMS marked it late, which then counts as
    one day); ``deadline``: the student's own, from an extension."""
    if policy is None:
        return None
    deadline = deadline or policy.deadline
    grace = timedelta(minutes=policy.grace_minutes)
    if handed_in is None:
        if not lms_late:
            return None
        days, when = 1, "marked late by the LMS (no time known: counted as 1 day)"
    else:
        over = handed_in - (deadline + grace)
        if over <= timedelta(0):
            return None
        days = math.ceil(over / timedelta(days=1))
        when = (f"handed in {handed_in.isoformat(timespec='minutes')}, {days} day(s) after the deadline "
                f"{deadline.isoformat(timespec='minutes')}" + (f" (grace {policy.grace_minutes:g} min)" if policy.grace_minutes else ""))
    if policy.no_credit:
        return Penalty(1.0, days, f"Late: {when}; late work earns no credit")
    fraction = min(policy.cap, policy.per_day * days)
    return Penalty(fraction, days, f"Late: {when}; {fraction:.0%} of the points taken off "
                                   f"({policy.per_day:.0%} per started day, at most {policy.cap:.0%})")
