"""The Ray backend against a local Ray cluster started by the test: same grades as local."""
from __future__ import annotations

import sqlite3

import pytest

from grader.batch import grade_batch
from grader.errors import GradingError

from .helpers import write_submission

pytestmark = pytest.mark.slow  # real kernels or processes

ray = pytest.importorskip("ray", reason="Ray is part of the [dev] extra; install it to test the backend")


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_backend_grades_like_local(ray_cluster, mini_course, tmp_path):
    _, spec = mini_course
    subs = tmp_path / "subs"
    write_submission(spec, subs, "good", "def double(x):\n    return x + x")
    write_submission(spec, subs, "wrong", "def double(x):\n    return x * 3")
    write_submission(spec, subs, "stub")
    (subs / "broken.ipynb").write_text("{", encoding="utf-8")
    remote = grade_batch(spec, subs, tmp_path / "ray", backend="ray", workers=2)
    local = grade_batch(spec, subs, tmp_path / "local", workers=1)
    assert {s: r["score"] for s, r in remote.results.items()} == {"good": 4, "wrong": 1, "stub": 1, "broken": 0}
    for student in local.results:
        assert [(t["id"], t["score"], t["output"]) for t in remote.results[student]["tests"]] == \
            [(t["id"], t["score"], t["output"]) for t in local.results[student]["tests"]]
    with sqlite3.connect(tmp_path / "ray" / "gradebook.sqlite") as db:
        assert db.execute("select count(*) from submissions").fetchone()[0] == 4
    assert (tmp_path / "ray" / "feedback" / "wrong.html").is_file()
    # the kernels on the Ray workers were sandboxed like local ones
    assert remote.results["good"]["extra_data"]["isolation"]["private_workdir"]


@pytest.mark.timeout(120)
def test_a_failing_reference_ends_the_ray_batch_without_waiting_for_the_warm_ups(ray_cluster, mini_course, tmp_path):
    """The Ray workers warm up (build their graders, boot a kernel) while the reference runs; when
    the reference fails, the batch says so at once and the cluster is left usable."""
    _, spec = mini_course
    (spec.tests_dir / "test_bad.py").write_text("import pytest\n\n@pytest.mark.points(1)\ndef test_impossible(student):\n"
                                                "    assert student.eval('double(1)') == 3, 'double(1) should be 3'\n")
    write_submission(spec, tmp_path / "subs", "good", "def double(x):\n    return x + x")
    with pytest.raises(GradingError, match="does not earn full marks"):
        grade_batch(spec, tmp_path / "subs", tmp_path / "ray", backend="ray", workers=2)
    assert ray.is_initialized()  # the test's cluster: not the grader's to shut down
    assert ray.get(ray.remote(lambda: 7).remote()) == 7
