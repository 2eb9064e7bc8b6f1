"""The gradebook (outputs.gradebook)."""
from __future__ import annotations

from grader.outputs.gradebook import Gradebook
from grader.results import GradeResult



# ----------------------------------------------------------------------------- gradebook

def _result(student, score, tests):
    return GradeResult.from_gradescope({"score": score, "execution_time": 1.0, "tests": [
        {"id": t, "name": t, "score": s, "max_score": 1, "status": "passed" if s else "failed", "output": ""}
        for t, s in tests],
        "extra_data": {"exercise": "e", "student": student, "status": "graded", "max_score": len(tests),
                       "fingerprint": "f"}})


def test_gradebook_replaces_never_duplicates(tmp_path):
    book = Gradebook(tmp_path / "g.sqlite")
    book.record(_result("a", 1, [("t1", 1), ("t2", 0)]))
    book.record(_result("a", 2, [("t1", 1), ("t2", 1)]))
    book.record(_result("b", 0, [("t1", 0), ("t2", 0)]))
    rows = book.submissions("e")
    assert [(r.student, r.score, len(r.tests)) for r in rows] == [("a", 2, 2), ("b", 0, 2)]
    assert book.grades_csv("e").splitlines() == ["student,score,max_score,status,t1,t2", "max points,2,2,,1,1",
                                                 "a,2,2,graded,1,1", "b,0,2,graded,0,0"]
    book.close()
