"""Identical notebooks get identical grades (DESIGN.md section 7, EXERCISES.md).

Code whose wrong numbers depend on the order in which a set of objects is iterated used to score
13 or 14 of 20 at random (the order followed object addresses). Kernels now number the objects
of notebook-defined classes in the order they are first hashed (``probe.STABLE_ORDER``), and a
failing test is run again with the order flipped to tell the student.
"""
from __future__ import annotations

import nbformat
import pytest

from grader.authoring.variants import apply_mutant, as_submission, load_variants
from grader.batch import grade_batch
from grader.pipeline.suite import ORDER_HINT
from grader.kernels.spec import KernelLimits
from grader.kernels.live import LiveKernel
from grader.kernels.sandbox import Sandbox


pytestmark = pytest.mark.slow

SET_ORDER = '''
class Node:
    def __init__(self, name):
        self.name = name
order = None
def set_order(n=40):
    nodes = [Node(i) for i in range(n)]
    junk = [Node(-i) for i in range(n)]          # allocated in between, then freed
    del junk
    return [node.name for node in set(nodes)]
'''


def _kernel(monkeypatch, fork: str) -> LiveKernel:
    monkeypatch.setenv("GRADER_FORK_SERVER", fork)
    kernel = LiveKernel(KernelLimits(), sandbox=Sandbox())
    kernel.start()
    return kernel


def test_set_order_of_notebook_objects_is_the_same_in_every_kernel(monkeypatch):
    seen = []
    for fork in ("1", "0", "1"):
        with _kernel(monkeypatch, fork) as kernel:
            # different allocation histories before the notebook's code
            kernel.eval(f"x = [object() for _ in range({len(seen) * 1000})]")
            kernel._execute_raw(SET_ORDER, timeout=20)
            seen.append(kernel.eval("set_order()"))
            kernel.flip_order = True
            flipped = kernel.eval("set_order()")
    assert seen[0] == seen[1] == seen[2]
    assert sorted(seen[0]) == list(range(40))
    assert flipped != seen[0]


def test_python_semantics_of_notebook_classes_are_kept(monkeypatch):
    with _kernel(monkeypatch, "1") as kernel:
        kernel._execute_raw('''
import dataclasses, enum, typing
class Plain(object): pass
class WithEq:
    def __eq__(self, other): return True
@dataclasses.dataclass
class Data:
    x: int = 0
@dataclasses.dataclass(frozen=True)
class Frozen:
    x: int = 0
class Colour(enum.Enum):
    RED = 1
class Point(typing.NamedTuple):
    x: int
class Number(int): pass
class Error(ValueError): pass
class Slotted:
    __slots__ = ("a",)
def hashable(v):
    try:
        hash(v); return True
    except TypeError:
        return False
''', timeout=20)
        kinds = "Plain(), WithEq(), Data(), Frozen(), Colour.RED, Point(1), Number(3), Error(), Slotted()"
        assert kernel.eval(f"[hashable(v) for v in ({kinds})]") \
            == [True, False, False, True, True, True, True, True, True]
        assert kernel.eval("hash(Frozen(1)) == hash(Frozen(1)), Number(3) + 1, Point(2).x, Colour.RED.value") == [True, 4, 2, 1]
        assert kernel.eval("Plain.__mro__[-1] is object and isinstance(Plain(), Plain)") is True
        # an object that died is forgotten: the next one, often at the same address, gets its own number
        assert kernel.eval("_a = Plain(); _h, _i = hash(_a), id(_a); del _a\n"
                           "_b = [Plain() for _ in range(5)]\n"
                           "[any(id(b) == _i for b in _b), [hash(b) == _h for b in _b], hash(_b[0]) == hash(_b[0])]") \
            == [True, [False] * 5, True]


def test_identical_notebooks_get_identical_grades(tmp_path, monkeypatch, course):
    """8 copies of a submission whose wrong numbers depend on set order: one grade, in one
    batch (two workers, fork-server kernels) and in a second run (one worker, fresh kernels)."""
    spec = course.get("week02_autograd")
    mutant = next(m for m in load_variants(spec).mutants if m.name == "assign_instead_of_accumulate")
    assert mutant.order_dependent
    solution = nbformat.read(spec.solution, as_version=4)
    nb = as_submission(nbformat.read(spec.assignment, as_version=4), apply_mutant(solution, mutant))
    subs = tmp_path / "subs"
    subs.mkdir()
    for i in range(8):
        nbformat.write(nb, subs / f"copy{i}.ipynb")
    first = grade_batch(spec, subs, tmp_path / "first", workers=2)
    monkeypatch.setenv("GRADER_FORK_SERVER", "0")
    second = grade_batch(spec, subs, tmp_path / "second", workers=1)
    grades = {(r["score"], tuple((t["id"], t["score"], t["output"]) for t in r["tests"]))
              for summary in (first, second) for r in summary.results.values()}
    assert len(grades) == 1, sorted((s, r["score"]) for s, r in first.results.items())
    (score, tests), = grades
    assert 0 < score < spec.points
    # the student is told where the result depends on the order
    assert any(ORDER_HINT in output for _, points, output in tests if points == 0)
