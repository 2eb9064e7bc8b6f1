"""Finding submissions: a folder of notebooks, a folder of student folders, or an LMS zip."""
from __future__ import annotations

import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from ..errors import SubmissionsError

MAX_MEMBER_BYTES = 512 * 1024 * 1024




@dataclass
class Submission:
    student: str
    path: Path | None
    problem: str | None = None  # why it cannot be graded (still becomes a result)
    handed_in: datetime | None = None   # the time the LMS (or the file) gives it
    lms_late: bool = False              # the LMS marked it late
    attempt: int = 0                    # the LMS's resubmission number
    superseded: list[Path] | None = None  # this student's earlier submissions (kept, not graded)


def student_id(name: str) -> str:
    """A file-system-safe student id: NFC-normalised, word characters, '.', '-' and '_'."""
    name = unicodedata.normalize("NFC", name).strip()
    safe = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._")
    return safe[:100] or "unnamed"


def _safe_extract(archive: Path, target: Path) -> list[str]:
    """Extract a zip without following it outside ``target``; returns warnings."""
    warnings: list[str] = []
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise SubmissionsError(f"{archive} is not a valid zip file") from None
    with zf:
        for info in zf.infolist():
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            mode = info.external_attr >> 16
            if info.is_dir():
                continue
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                warnings.append(f"skipped {name!r}: the path points outside the archive")
                continue
            if stat.S_ISLNK(mode):
                warnings.append(f"skipped {name!r}: symbolic links are not accepted")
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                warnings.append(f"skipped {name!r}: larger than {MAX_MEMBER_BYTES // 1024**2} MB")
                continue
            if parts and parts[0] == "__MACOSX":
                continue
            dest = target.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                remaining = MAX_MEMBER_BYTES
                while chunk := src.read(1 << 20):
                    remaining -= len(chunk)
                    if remaining < 0:
                        break
                    out.write(chunk)
            try:  # the time the LMS stored with the file: when it was handed in (zip times are local)
                stamp = datetime(*info.date_time).timestamp()
                os.utime(dest, (stamp, stamp))
            except (ValueError, OverflowError, OSError):
                pass
    return warnings


def discover(source: Path, exercise_id: str, workspace: Path,
             roster: dict[str, str] | None = None) -> tuple[list[Submission], list[str]]:
    """Submissions in ``source`` (sorted by student id) and warnings about skipped entries.

    Names are read as LMS names (:mod:`grader.lms`); with a ``roster`` (LMS id or student id ->
    student id) they become the course's student ids. Of several submissions of one student the
    latest counts."""
    subs, warnings = _discover(source, exercise_id, workspace)
    return _identify(subs, roster, warnings), warnings


def _identify(subs: list[tuple[str, Submission]], roster: dict[str, str] | None,
              warnings: list[str]) -> list[Submission]:
    from .. import lms
    found: dict[str, list[tuple[str, Submission]]] = {}
    unknown = []
    for name, sub in subs:
        who = lms.identify(name)
        student = sub.student
        if who.kind != "plain" or roster is not None:
            key = who.key if who.kind != "plain" else sub.student
            if roster is not None and key in roster:
                student = roster[key]
            elif roster is not None:
                unknown.append(name)
                student = student_id(name)
            else:   # an LMS name without a roster: the LMS id, never the (ambiguous) name
                student = student_id(f"{who.kind}_{who.key}")
        sub.student, sub.lms_late, sub.attempt = student, who.late, who.attempt
        if sub.path is not None and sub.handed_in is None:
            try:
                sub.handed_in = datetime.fromtimestamp(sub.path.stat().st_mtime, tz=timezone.utc)
            except OSError:
                pass
        if student in found and who.kind == "plain" and roster is None:
            warnings.append(f"two submissions map to student id {student!r}; the second ({name!r}) was not graded")
            continue
        found.setdefault(student, []).append((name, sub))
    if unknown:
        warnings.append(f"{len(unknown)} submission(s) the roster does not know, graded under their own names: "
                        f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}")
    out = []
    for student in sorted(found):
        entries = sorted(found[student], key=lambda e: (e[1].attempt, e[1].handed_in or datetime.min.replace(
            tzinfo=timezone.utc), e[0]))
        out.append(entries[-1][1])
        entries[-1][1].superseded = [e[1].path for e in entries[:-1] if e[1].path is not None]
        if len(entries) > 1:
            warnings.append(f"{student}: {len(entries)} submissions; graded the latest, {entries[-1][0]!r} "
                            f"(not graded: {', '.join(repr(e[0]) for e in entries[:-1])})")
    return out


def _discover(source: Path, exercise_id: str, workspace: Path) -> tuple[list[tuple[str, Submission]], list[str]]:
    """(name, submission) for every entry of ``source``, and warnings about skipped entries."""
    warnings: list[str] = []
    source = Path(source)
    if not source.exists():
        raise SubmissionsError(f"{source} does not exist")
    if source.is_file():
        if zipfile.is_zipfile(source):
            root = workspace / "unzipped"
            root.mkdir(parents=True, exist_ok=True)
            warnings += _safe_extract(source, root)
            entries = [p for p in root.iterdir() if p.name != "__MACOSX"]
            if len(entries) == 1 and entries[0].is_dir():
                # one wrapper folder around the submissions, unless it is one student's folder
                inner = entries[0]
                notebooks = [p for p in inner.iterdir() if _is_notebook(p)]
                has_dirs = any(p.is_dir() for p in inner.iterdir())
                if has_dirs or len(notebooks) > 1 or (notebooks and notebooks[0].stem != exercise_id):
                    root = inner
            source = root
        elif _is_notebook(source):
            return [(source.stem, Submission(student_id(source.stem), source))], warnings
        else:
            raise SubmissionsError(f"{source} is neither a folder, a .ipynb file nor a zip archive")

    found: dict[str, tuple[str, Submission]] = {}
    for entry in sorted(source.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue  # .DS_Store, .ipynb_checkpoints and the like
        if entry.is_symlink():
            warnings.append(f"skipped {entry.name!r}: symbolic links are not accepted")
            continue
        if entry.is_file() and _is_notebook(entry):
            sub = Submission(student_id(entry.stem), entry)
        elif entry.is_file() and zipfile.is_zipfile(entry):
            # a student's own zip inside the LMS download: graded like a student folder
            folder = workspace / "nested" / f"{len(found)}-{student_id(entry.stem)}"
            folder.mkdir(parents=True, exist_ok=True)
            warnings += [f"{entry.name}: {w}" for w in _safe_extract(entry, folder)]
            sub = _from_folder(student_id(entry.stem), folder, exercise_id, workspace)
        elif entry.is_dir():
            sub = _from_folder(student_id(entry.name), entry, exercise_id, workspace)
        else:
            warnings.append(f"skipped {entry.name!r}: not a notebook (.ipynb), a folder or a zip file")
            continue
        name = entry.stem if entry.is_file() else entry.name
        if name in found:
            warnings.append(f"two submissions map to student id {sub.student!r}; the second "
                            f"({entry.name!r}) was not graded")
            continue
        found[name] = (name, sub)
    return sorted(found.values(), key=lambda e: (e[1].student, e[0])), warnings


def _is_notebook(path: Path) -> bool:
    return path.suffix.lower() == ".ipynb"  # week02.IPYNB too


def _from_folder(student: str, folder: Path, exercise_id: str, workspace: Path) -> Submission:
    """One student's folder: the notebook named like the exercise, else the only notebook;
    a zip inside it is opened when it holds no notebook otherwise."""
    notebooks = _notebooks(folder)
    if not notebooks:
        for index, archive in enumerate(p for p in sorted(folder.rglob("*"))
                                        if p.is_file() and not p.is_symlink() and zipfile.is_zipfile(p)):
            inner = workspace / "nested" / f"{student}-{index}"
            inner.mkdir(parents=True, exist_ok=True)
            _safe_extract(archive, inner)
            notebooks += _notebooks(inner)
    named = [p for p in notebooks if p.stem.lower() == exercise_id.lower()]
    if named:
        return Submission(student, named[0])
    if len(notebooks) == 1:
        return Submission(student, notebooks[0])
    if not notebooks:
        return Submission(student, None, "no notebook was found in the submission")
    return Submission(student, None, f"the submission has {len(notebooks)} notebooks and none is "
                                     f"named {exercise_id}.ipynb")


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if _is_notebook(p) and p.is_file()
                  and ".ipynb_checkpoints" not in p.parts and "__MACOSX" not in p.parts
                  and not p.is_symlink())
