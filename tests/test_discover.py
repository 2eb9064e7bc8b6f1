"""Finding submissions: folders, student folders, LMS zips (pipeline.discover)."""
from __future__ import annotations

import zipfile


from grader.pipeline.discover import discover, student_id

from .helpers import MINI_ID


# ----------------------------------------------------------------------------- submissions

def test_discover_folder_layouts(tmp_path):
    src = tmp_path / "subs"
    (src / "bob").mkdir(parents=True)
    (src / "alice.ipynb").write_text("{}")
    (src / "bob" / f"{MINI_ID}.ipynb").write_text("{}")
    (src / "bob" / "scratch.ipynb").write_text("{}")
    (src / "carol").mkdir()
    (src / "Zoë Ünal.ipynb").write_text("{}")
    subs, warnings = discover(src, MINI_ID, tmp_path / "ws")
    by = {s.student: s for s in subs}
    assert set(by) == {"alice", "bob", "carol", "Zoë_Ünal"}
    assert by["bob"].path.name == f"{MINI_ID}.ipynb"
    assert by["carol"].problem == "no notebook was found in the submission"


def test_discover_zip_is_extracted_safely(tmp_path):
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submissions/alice.ipynb", "{}")
        zf.writestr("submissions/bob.ipynb", "{}")
        zf.writestr("../../evil.ipynb", "{}")
        zf.writestr("/abs/evil.ipynb", "{}")
        link = zipfile.ZipInfo("submissions/link.ipynb")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    subs, warnings = discover(archive, MINI_ID, tmp_path / "ws")
    assert [s.student for s in subs] == ["alice", "bob"]
    assert len(warnings) == 3
    assert not (tmp_path / "evil.ipynb").exists() and not (tmp_path.parent / "evil.ipynb").exists()


def test_duplicate_student_ids_are_reported(tmp_path):
    src = tmp_path / "subs"
    src.mkdir()
    (src / "ann.ipynb").write_text("{}")
    (src / "ann").mkdir()
    (src / "ann" / "x.ipynb").write_text("{}")
    subs, warnings = discover(src, MINI_ID, tmp_path / "ws")
    assert len(subs) == 1 and "two submissions map to student id 'ann'" in warnings[0]


def test_student_id_is_filesystem_safe():
    assert student_id("../../etc/passwd") == "etc_passwd"
    assert student_id("  ") == "unnamed"
