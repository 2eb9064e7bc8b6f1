"""Finding submissions: a folder of notebooks, a folder of student folders, or an LMS zip."""
from __future__ import annotations

import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_MEMBER_BYTES = 512 * 1024 * 1024


class SubmissionsError(Exception):
    """SUBMISSIONS cannot be read at all (one line for the user)."""


@dataclass
class Submission:
    student: str
    path: Path | None
    problem: str | None = None  # why it cannot be graded (still becomes a result)


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
    return warnings


def discover(source: Path, exercise_id: str, workspace: Path) -> tuple[list[Submission], list[str]]:
    """Submissions in ``source`` (sorted by student id) and warnings about skipped entries."""
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
                notebooks = list(inner.glob("*.ipynb"))
                has_dirs = any(p.is_dir() for p in inner.iterdir())
                if has_dirs or len(notebooks) > 1 or (notebooks and notebooks[0].stem != exercise_id):
                    root = inner
            source = root
        elif source.suffix == ".ipynb":
            return [Submission(student_id(source.stem), source)], warnings
        else:
            raise SubmissionsError(f"{source} is neither a folder, a .ipynb file nor a zip archive")

    found: dict[str, Submission] = {}
    for entry in sorted(source.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.is_symlink():
            if entry.is_symlink():
                warnings.append(f"skipped {entry.name!r}: symbolic links are not accepted")
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            sub = Submission(student_id(entry.stem), entry)
        elif entry.is_dir():
            notebooks = sorted(p for p in entry.rglob("*.ipynb")
                               if ".ipynb_checkpoints" not in p.parts and not p.is_symlink())
            named = [p for p in notebooks if p.stem == exercise_id]
            if named:
                sub = Submission(student_id(entry.name), named[0])
            elif len(notebooks) == 1:
                sub = Submission(student_id(entry.name), notebooks[0])
            elif not notebooks:
                sub = Submission(student_id(entry.name), None, "no notebook was found in the submission")
            else:
                sub = Submission(student_id(entry.name), None,
                                 f"the submission has {len(notebooks)} notebooks and none is named "
                                 f"{exercise_id}.ipynb")
        else:
            continue
        if sub.student in found:
            warnings.append(f"two submissions map to student id {sub.student!r}; the second "
                            f"({entry.name!r}) was not graded")
            continue
        found[sub.student] = sub
    return [found[k] for k in sorted(found)], warnings
