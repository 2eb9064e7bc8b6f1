"""The adversarial corpus: submissions that try to break the batch, lie about their grade or
read what they must not. Each case asserts its status and its score.

All cases are week-02 submissions graded in one batch (two workers) against a copy of the
course with tight limits (10 s per cell, 5 s per probe, 1 GiB, 64 processes), so that a case that
hangs costs seconds. Cases that could hurt the machine if a protection were missing are bounded
themselves (the fork bomb stops at 3000, the memory hog at 6 GiB, the printer at 60 MB) and run
only after `grader doctor`'s checks show the protection in force.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
import pytest
import yaml

from grader.authoring.variants import as_submission
from grader.course import load_course
from grader.batch import grade_batch
from grader.kernels.sandbox import is_root

from ..helpers import ROOT, not_another_workers, sandbox_leftovers

pytestmark = pytest.mark.slow  # real kernels or processes

EXERCISE = "week02_autograd"
POINTS = load_course(ROOT).get(EXERCISE).points  # full marks
FULL = "full"
ANY_RUN = ("graded", "timeout", "died", "memory", "budget")  # whatever the attack did to itself


@dataclass
class Case:
    name: str
    build: Callable  # (ctx) -> NotebookNode | bytes
    status: str | tuple
    score: object  # FULL, a number, or a callable(results) -> bool
    needs: tuple = ()  # `grader doctor` measures that must be in force before it may run
    check: Callable | None = None  # (ctx, result, executed_text) -> None


class Ctx:
    def __init__(self, root: Path, subs: Path, out: Path):
        self.root, self.subs, self.out = root, subs, out
        spec = load_course(root).get(EXERCISE)
        self.spec = spec
        self.solution = nbformat.read(spec.solution, as_version=4)
        self.assignment = nbformat.read(spec.assignment, as_version=4)

    def good(self):
        return as_submission(self.assignment, self.solution)

    def half(self):
        """Partly wrong (honestly earns some points): a mutant whose failures do not depend on
        the order in which a set is iterated."""
        from grader.authoring.variants import apply_mutant, load_variants
        mutant = next(m for m in load_variants(self.spec).mutants if m.name == "wrong_power_rule")
        return as_submission(self.assignment, apply_mutant(self.solution, mutant))

    def stub(self):
        return nbformat.from_dict(json.loads(nbformat.writes(self.assignment)))

    def with_cell(self, nb, source, where="end"):
        cell = nbformat.v4.new_code_cell(source)
        if where == "end":
            nb.cells.append(cell)
        else:
            at = next(i for i, c in enumerate(nb.cells)
                      if c.metadata.get("nbgrader", {}).get("grade_id") == where)
            nb.cells.insert(at + 1, cell)
        return nb


def _probe_file(path: Path) -> str:
    return (f"import os\ntry:\n    _d = open({str(path)!r}, 'rb').read(64)\n    print('LEAKED', _d)\n"
            f"except Exception as _e:\n    print('BLOCKED', type(_e).__name__)\n")


def _blocked(ctx, result, text):
    assert "BLOCKED" in text and "LEAKED" not in text, f"the submission read a protected file: {text}"


def _no_evil_files(ctx, result, text):
    assert not (ctx.out / "results" / "evil.json").exists()
    assert "BLOCKED" in text and "WROTE" not in text, text


def _outputs(executed: Path) -> str:
    """Everything the executed notebook printed (not its source)."""
    if not executed.exists():
        return ""
    nb = json.loads(executed.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else str(text))
            for value in out.get("data", {}).values():
                parts.append("".join(value) if isinstance(value, list) else str(value))
    return "\n".join(parts)


def _liar(ctx):
    nb = ctx.stub()
    return ctx.with_cell(nb, "class Liar(float):\n    def __eq__(self, other): return True\n"
                             "    __ne__ = lambda self, other: False\n    def __repr__(self): return '6.0'\n"
                         + HONEST_ZEROS.replace("float(", "Liar("))


HONEST_ZEROS = """
class Value:
    def __init__(self, data, _children=(), _op='', label=''):
        self.data = float(0.0); self.grad = float(0.0); self._prev = set(_children); self._op = _op
        self._backward = lambda: None; self.label = label
    def __add__(self, o): return Value(0.0, (self,))
    __radd__ = __mul__ = __rmul__ = __sub__ = __rsub__ = __truediv__ = __rtruediv__ = __pow__ = __add__
    def __neg__(self): return Value(0.0, (self,))
    def tanh(self): return Value(0.0, (self,))
    exp = relu = sigmoid = tanh
    def backward(self): pass
"""

CASES = [
    # ---- time, memory, processes, output
    Case("loop_forever_in_cell", lambda c: c.with_cell(c.good(), "while True:\n    pass"), "timeout", FULL),
    Case("loop_forever_in_probed_function",
         lambda c: c.with_cell(c.good(), "def _spin(self):\n    while True:\n        pass\nValue.backward = _spin"),
         # each probe is stopped after 4 s; once the tests' 40 s budget is used up the rest fail
         # at once, so the submission costs at most about a minute whatever it does
         "graded", lambda r: r["score"] < POINTS and r["execution_time"] < 40 + 40 + 60,
         check=lambda c, r, t: any("longer than 5 s" in x["output"] for x in r["tests"])),
    Case("ignores_interrupt_and_loops",
         lambda c: c.with_cell(c.good(), "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                         "while True:\n    pass"),
         "timeout", FULL),
    Case("memory_hog", lambda c: c.with_cell(c.good(), "_hog = []\nfor _ in range(120):\n"
                                                        "    _hog.append(bytearray(50 * 1024 * 1024))"),
         "memory", FULL, needs=("memory cap",)),
    Case("fork_bomb", lambda c: c.with_cell(c.good(), "import os, time\nfor _ in range(3000):\n    try:\n"
                                                       "        if os.fork() == 0:\n            time.sleep(60)\n"
                                                       "            os._exit(0)\n    except OSError:\n        break"),
         "graded", FULL, needs=('process cap',)),
    Case("os_exit", lambda c: c.with_cell(c.good(), "import os\nos._exit(1)", where="value_core"),
         "died", FULL),
    Case("sys_exit", lambda c: c.with_cell(c.good(), "import sys\nsys.exit(3)", where="value_core"),
         "graded", FULL),
    Case("kill_parent", lambda c: c.with_cell(c.good(), "import os, signal\ntry:\n"
                                                         "    os.kill(os.getppid(), signal.SIGKILL)\n"
                                                         "except OSError as e:\n    print('BLOCKED', e)"),
         "graded", FULL, needs=('unprivileged user',)),
    # kill(-1) reaches every process of the kernel's own uid (Linux spares the caller)
    Case("kill_everything", lambda c: c.with_cell(c.good(), "import os, signal\nos.kill(-1, signal.SIGKILL)"),
         ("graded", "died"), FULL, needs=('unprivileged user',)),
    Case("segfault", lambda c: c.with_cell(c.good(), "import ctypes\nctypes.string_at(0)", where="imports"),
         "died", FULL),
    Case("prints_60_megabytes", lambda c: c.with_cell(c.good(), "import sys\nfor _ in range(600):\n"
                                                                 "    sys.stdout.write('x' * 100000)"),
         ("graded", "timeout"), FULL, needs=("output cap",),
         check=lambda c, r, t: len(t) < 3 * 1024 * 1024),
    Case("opens_a_socket", lambda c: c.with_cell(c.good(), "import socket\ntry:\n"
                                                            "    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
                                                            "    print('LEAKED')\nexcept OSError as e:\n"
                                                            "    print('BLOCKED', e)"),
         "graded", FULL, needs=('no network',), check=_blocked),
    # ---- reading and writing what it must not
    Case("reads_hidden_tests", lambda c: c.with_cell(
        c.good(), _probe_file(c.root / "autograde_tests" / EXERCISE / f"test_{EXERCISE}.py")),
        "graded", FULL, needs=('hidden files',), check=_blocked),
    Case("reads_reference_notebook", lambda c: c.with_cell(c.good(), _probe_file(c.spec.solution)),
         "graded", FULL, needs=('hidden files',), check=_blocked),
    Case("reads_git_history", lambda c: c.with_cell(c.good(), _probe_file(ROOT / ".git" / "HEAD")),
         "graded", FULL, needs=('hidden files',), check=_blocked),
    Case("reads_gradebook", lambda c: c.with_cell(c.good(), _probe_file(c.out / "gradebook.sqlite")),
         "graded", FULL, needs=('hidden files',), check=_blocked),
    Case("reads_other_student", lambda c: c.with_cell(c.good(), _probe_file(c.subs / "loop_forever_in_cell.ipynb")
                                                      + "import glob\n_others = glob.glob('/tmp/grader-*/work/*')\n"
                                                        "print('LEAKED' if _others else 'BLOCKED others')"),
         "graded", FULL, needs=('hidden files', 'unprivileged user'), check=_blocked),
    Case("writes_results_and_gradebook", lambda c: c.with_cell(
        c.good(), f"for _p in [{str(c.out / 'results' / 'evil.json')!r}, {str(c.out / 'gradebook.sqlite')!r}]:\n"
                  "    try:\n        open(_p, 'a').write('{}')\n        print('WROTE', _p)\n"
                  "    except OSError as e:\n        print('BLOCKED', type(e).__name__)"),
        "graded", FULL, needs=('hidden files',), check=_no_evil_files),
    # ---- lying about the grade: never more than the same code earns honestly
    Case("half_wrong_honest", lambda c: c.half(), "graded", lambda r: 0 < r["score"] < POINTS),
    Case("monkeypatches_builtins", lambda c: c.with_cell(
        c.half(), "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.float = lambda *a: 6.0\n"
                  "builtins.abs = lambda x: 0"), ANY_RUN, "at_most:half_wrong_honest"),
    Case("monkeypatches_numpy", lambda c: c.with_cell(
        c.half(), "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
                  "np.testing.assert_allclose = lambda *a, **k: None"), ANY_RUN, "at_most:half_wrong_honest"),
    Case("monkeypatches_torch", lambda c: c.with_cell(
        c.half(), "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True"),
        ANY_RUN, "at_most:half_wrong_honest"),
    # a probe sent as a request gets its answer back in the request's reply, formatted by
    # IPython; through the probe channel it does not pass IPython's formatters at all. Forging
    # every display and every formatted value changes nothing then (the half solution's own
    # score); forging the JSON every answer is written with answers every probe with the same
    # number, which earns nothing, whichever way the probes go
    Case("forges_probe_replies", lambda c: c.with_cell(
        c.half(), "import json, IPython.display as d\n_real = d.publish_display_data\n"
                  "def _fake(data, *a, **k):\n    data = {m: json.dumps({'ok': True, 'value': 123.456}) for m in data}\n"
                  "    _real(data, *a, **k)\nd.publish_display_data = _fake\n"
                  "from IPython.core.formatters import DisplayFormatter\n_format = DisplayFormatter.format\n"
                  "def _forge(self, obj, *a, **k):\n    data, md = _format(self, obj, *a, **k)\n"
                  "    return {m: json.dumps({'ok': True, 'value': 123.456}) for m in data}, md\n"
                  "DisplayFormatter.format = _forge"), "graded", "same_as:half_wrong_honest"),
    Case("forges_probe_json", lambda c: c.with_cell(
        c.half(), "import json\n_dumps = json.dumps\n"
                  "json.dumps = lambda obj, *a, **k: _dumps({'hashed': 0, 'ok': True, 'value': 123.456})"),
        ANY_RUN, 0),
    Case("eq_always_true", _liar, "graded", "same_as:honest_zeros"),
    Case("honest_zeros", lambda c: c.with_cell(c.stub(), HONEST_ZEROS), "graded", lambda r: r["score"] < POINTS),
    Case("returns_unsendable_objects", lambda c: c.with_cell(
        c.stub(), HONEST_ZEROS.replace("self.data = float(0.0)", "self.data = object()")), "graded", 0),
    Case("background_threads_and_children", lambda c: c.with_cell(
        c.good(), "import threading, subprocess, time\n"
                  "threading.Thread(target=lambda: [time.sleep(0.1) for _ in iter(int, 1)], daemon=True).start()\n"
                  "subprocess.Popen(['sleep', '300'])\nsubprocess.Popen(['sh', '-c', 'setsid sleep 300 &'])"),
        "graded", FULL),
    Case("waits_on_input", lambda c: c.with_cell(c.good(), "name = input('your name? ')"), "graded", FULL),
    Case("interactive_plt_show", lambda c: c.with_cell(
        c.good(), "import matplotlib\ntry:\n    matplotlib.use('TkAgg')\nexcept Exception as e:\n    print(e)\n"
                  "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"), ("graded", "timeout"), FULL),
    Case("redefines_after_public_check", lambda c: c.with_cell(
        c.good(), "def _wrong_mul(self, other):\n    other = other if isinstance(other, Value) else Value(other)\n"
                  "    return Value(self.data + other.data, (self, other), '*')\nValue.__mul__ = _wrong_mul"),
        "graded", lambda r: r["score"] < POINTS,
        check=lambda c, r, t: all(p["status"] == "passed" for p in r["extra_data"]["public_checks"][:3])),
    Case("edits_and_deletes_locked_cells", lambda c: _edit_locked(c), "graded", FULL,
         check=lambda c, r, t: len(r["extra_data"]["notes"]) >= 2),
    Case("keeps_only_answer_cells", lambda c: _only_answers(c), "graded", FULL,
         check=lambda c, r, t: any("deleted" in n for n in r["extra_data"]["notes"])),
    Case("r_kernelspec", lambda c: _r_kernel(c), "graded", FULL,
         check=lambda c, r, t: any("R" in n for n in r["extra_data"]["notes"])),
    # ---- broken files
    Case("malformed_json", lambda c: b'{"cells": [', "invalid", 0),
    Case("wrong_nbformat_version", lambda c: json.dumps({"nbformat": 2, "nbformat_minor": 0, "metadata": {},
                                                         "worksheets": []}).encode(), "invalid", 0),
    Case("non_utf8_bytes", lambda c: b"\xff\xfe\x00{" + b"\x80" * 10, "invalid", 0),
    Case("empty_file", lambda c: b"", "invalid", 0),
    Case("notebook_200_megabytes", lambda c: b'{"cells": [], "x": "' + b" " * (200 * 1024 * 1024) + b'"}',
         "invalid", 0),
]


def _edit_locked(c):
    nb = c.good()
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "parameters":
            cell.source = "SEED = 123\nFAST = False\nDEVICE = 'cuda'\nDATA_DIR = '/'"
    nb.cells = [x for x in nb.cells if x.metadata.get("nbgrader", {}).get("grade_id") != "check_worked_graph"]
    return nb


def _only_answers(c):
    nb = c.good()
    nb.cells = [x for x in nb.cells if x.metadata.get("nbgrader", {}).get("solution")]
    return nb


def _r_kernel(c):
    nb = c.good()
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    return nb


@pytest.fixture(scope="module")
def protections() -> dict[str, bool]:
    """A quick probe of each protection (`grader doctor`), before anything risky runs."""
    from grader.kernels.doctor import run_checks
    return {check.measure: check.ok for check in run_checks()}


def _missing(case: Case, protections: dict[str, bool]) -> list[str]:
    return [need for need in case.needs if not protections.get(need)]


def test_protections_are_in_force_when_root(protections):
    if not is_root():
        pytest.skip("uid, network and mount isolation need root; `grader doctor` lists what applies")
    assert all(protections.values()), protections


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, protections):
    base = tmp_path_factory.mktemp("adversarial")
    root = base / "course"
    real = load_course(ROOT)
    raw = real.get(EXERCISE).raw.model_dump(mode="json", exclude_none=True)
    raw.update(cell_timeout=10, test_timeout=5, notebook_budget=40, memory="1GiB", processes=64)
    (root / "solutions").mkdir(parents=True)
    (root / "assignments").mkdir()
    (root / "course.yaml").write_text(yaml.safe_dump({"course": "adversarial", "seed": real.model.seed,
                                                      "exercises": [raw]}))
    shutil.copy2(real.get(EXERCISE).solution, root / "solutions")
    shutil.copy2(real.get(EXERCISE).assignment, root / "assignments")
    shutil.copytree(real.get(EXERCISE).tests_dir, root / "autograde_tests" / EXERCISE)
    subs, out = base / "submissions", base / "out"
    subs.mkdir()
    ctx = Ctx(root, subs, out)
    built = []
    for case in CASES:
        if _missing(case, protections):
            continue  # the protection is not in force here: never run the dangerous case
        content = case.build(ctx)
        path = subs / f"{case.name}.ipynb"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, path)
        built.append(case.name)
    started = time.monotonic()
    summary = grade_batch(ctx.spec, subs, out, workers=2)
    ctx.seconds = time.monotonic() - started
    ctx.results = summary.results
    ctx.built = built
    return ctx


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(corpus, protections, case):
    missing = _missing(case, protections)
    if missing:
        pytest.skip(f"not run: {', '.join(missing)} not in force on this machine (see `grader doctor`)")
    result = corpus.results[case.name]
    extra = result["extra_data"]
    statuses = case.status if isinstance(case.status, tuple) else (case.status,)
    assert extra["status"] in statuses, (extra["status"], extra.get("reason"))
    assert extra.get("reason") or extra["status"] == "graded"
    if case.score == FULL:
        assert result["score"] == extra["max_score"] == POINTS, [
            (t["id"], t["output"]) for t in result["tests"] if t["status"] != "passed"]
    elif isinstance(case.score, str) and case.score.startswith("same_as:"):
        assert result["score"] == corpus.results[case.score.split(":", 1)[1]]["score"]
    elif isinstance(case.score, str) and case.score.startswith("at_most:"):
        assert result["score"] <= corpus.results[case.score.split(":", 1)[1]]["score"]
    elif callable(case.score):
        assert case.score(result), result["score"]
    else:
        assert result["score"] == case.score, [t["id"] for t in result["tests"] if t["status"] == "passed"]
    if case.check:
        case.check(corpus, result, _outputs(corpus.out / "executed" / f"{case.name}.ipynb"))


def test_corpus_is_large_and_the_batch_stays_bounded(corpus):
    assert len(CASES) >= 30
    # 36 submissions, several of which hang on purpose: bounded by the budgets, not by them
    assert corpus.seconds < 600


def test_no_process_is_left_behind(corpus):
    if not is_root():
        pytest.skip("needs root: without a uid per kernel only the process group is cleaned up")
    time.sleep(0.5)
    uids = {r["extra_data"].get("isolation", {}).get("unprivileged_uid") for r in corpus.results.values()}
    uids.discard(None)
    assert len(uids) >= 2
    leftovers = {uid: left for uid in uids if (left := sandbox_leftovers(uid, wait=5, counts=not_another_workers))}
    assert not leftovers


def test_gradebook_has_one_row_per_submission(corpus):
    with sqlite3.connect(corpus.out / "gradebook.sqlite") as db:
        students = [r[0] for r in db.execute("select student from submissions")]
    assert sorted(students) == sorted(corpus.built)
    csv_rows = (corpus.out / "grades.csv").read_text().splitlines()[2:]   # after the header and the maxima
    assert sorted(r.split(",")[0] for r in csv_rows) == sorted(corpus.built)


def test_isolation_is_recorded(corpus):
    iso = corpus.results["loop_forever_in_cell"]["extra_data"]["isolation"]
    assert iso["memory_cap"] == 1024**3 and iso["private_workdir"] and iso["scrubbed_environment"]
    if is_root():
        assert iso["unprivileged_uid"] and iso["network"] == "none" and iso["process_cap"] == 64
        assert iso["filesystem"] == "allow-list" and "tmp" in iso["visible"]


def test_lms_zip_with_hostile_entries(corpus, tmp_path):
    good = (corpus.subs / "sys_exit.ipynb").read_bytes()
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Ada Lovelace_123_week02.ipynb", good)
        zf.writestr("José Ñúñez_456_week02.ipynb", good)
        zf.writestr("../../escaped.ipynb", good)
        zf.writestr("/etc/absolute.ipynb", good)
        link = zipfile.ZipInfo("symlinked.ipynb")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/shadow")
        zf.writestr("dup/Ada Lovelace_123_week02.ipynb", good)
        zf.writestr("dup!/x.ipynb", good)
    summary = grade_batch(corpus.spec, archive, tmp_path / "out", workers=1)
    assert sorted(summary.results) == ["Ada_Lovelace_123_week02", "José_Ñúñez_456_week02", "dup"]
    assert summary.results["Ada_Lovelace_123_week02"]["score"] == POINTS
    assert not (tmp_path / "escaped.ipynb").exists() and not (tmp_path.parent / "escaped.ipynb").exists()
    assert len(summary.warnings) == 4, summary.warnings  # traversal, absolute, symlink, duplicate id
    assert any("two submissions map to student id 'dup'" in w for w in summary.warnings)
