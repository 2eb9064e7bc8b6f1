"""Releasing student notebooks, the release check and the student bundle (authoring)."""
from __future__ import annotations

import nbformat

from grader.authoring.release import check_release, release, student_version

from .helpers import run_cli


# ----------------------------------------------------------------------------- release

def test_release_check_detects_stale_and_leaks(mini_course):
    course, spec = mini_course
    assert check_release(spec) == []
    nb = nbformat.read(spec.assignment, as_version=4)
    original = nbformat.writes(nb)
    nb.cells[2].source = 'def double(x):\n    """Return 2 * x."""\n    return 2 * x'
    nbformat.write(nb, spec.assignment)
    problems = check_release(spec)
    assert any("out of date" in p for p in problems)
    assert any("contains solution text, e.g. 'return 2 * x'" in p for p in problems)
    proc = run_cli("release", "--check", cwd=course.root)
    assert proc.returncode == 1 and "out of date" in proc.stderr
    spec.assignment.write_text(original + "\n")
    (spec.tests_dir / "test_mini.py").write_text(
        (spec.tests_dir / "test_mini.py").read_text() + "\n# secret = 'a hidden test line of some length'\n"
        "SECRET_PROBE = 'double(123456789) == 246913578'\n")
    nb = nbformat.read(spec.assignment, as_version=4)
    nb.cells[0].source += "\nSECRET_PROBE = 'double(123456789) == 246913578'"
    nbformat.write(nb, spec.assignment)
    assert any("hidden-test text" in p for p in check_release(spec))
    assert release(spec) is True and check_release(spec) == []


def test_student_version_keeps_signature_and_docstring(mini_course):
    _, spec = mini_course
    nb = student_version(nbformat.read(spec.solution, as_version=4), spec.id)
    answer = nb.cells[2]
    assert answer.source.startswith('def double(x):\n    """Return 2 * x."""')
    assert "raise NotImplementedError()" in answer.source and "return 2 * x" not in answer.source
    assert nb.cells[1].metadata.get("editable") is False  # locked
    assert nb.metadata["grader"] == {"exercise": spec.id}


def test_bundle_has_no_solutions_or_hidden_tests(mini_course, tmp_path):
    course, spec = mini_course
    proc = run_cli("release", "--bundle", str(tmp_path / "bundle"), cwd=course.root)
    assert proc.returncode == 0, proc.stderr
    files = {p.relative_to(tmp_path / "bundle").as_posix() for p in (tmp_path / "bundle").rglob("*") if p.is_file()}
    assert f"assignments/{spec.id}.ipynb" in files and "README.md" in files and "course.yaml" in files
    assert not any(f.startswith(("autograde_tests", "solutions/")) for f in files)
    assert "seed: 77" not in (tmp_path / "bundle" / "course.yaml").read_text()
    text = "".join((tmp_path / "bundle" / f).read_text(errors="ignore") for f in files)
    assert "return 2 * x" not in text and "double of 0, 1.5 and -4" not in text




def test_real_course_bundle(course, tmp_path):
    from grader.authoring.bundle import bundle
    target = bundle(course, tmp_path / "bundle", list(course.exercises.values()))
    files = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    for exercise in course.exercises:
        assert f"assignments/{exercise}.ipynb" in files
    assert {"assignments/data/names.txt", "assignments/data/water_potability.csv"} <= files
    kit = (target / "kit" / "pyproject.toml").read_text()
    assert '"torch==2.14.1"' in kit and "sqlalchemy" not in kit and "nbgrader" not in kit
    assert "kit/grader/pipeline/check.py" in files and "kit/grader/outputs/templates/grader_feedback/index.html.j2" in files
    assert not any(f.startswith(("autograde_tests/", "solutions/")) for f in files)


def test_the_text_form_of_a_solution_must_agree_with_the_notebook(mini_course):
    """solutions/<id>.py (jupytext's percent format) is the reviewable form of the notebook:
    `grader release --check` fails when the two say different things."""
    import jupytext
    course, spec = mini_course
    text = spec.solution.with_suffix(".py")
    jupytext.write(nbformat.read(spec.solution, as_version=4), text, fmt="py:percent")
    assert check_release(spec) == []
    assert "nbgrader=" in text.read_text() and "### BEGIN SOLUTION" in text.read_text()
    text.write_text(text.read_text().replace("return 2 * x", "return x + x"))
    problems = check_release(spec)
    assert len(problems) == 1 and "disagree" in problems[0] and "'answer'" in problems[0]
    assert "jupytext --sync" in problems[0]
    done = run_cli("release", "--check", cwd=course.root)
    assert done.returncode == 1 and "disagree" in done.stderr


def test_suite_leaks_finds_solution_code_in_probe_strings(mini_course):
    """The trust boundary's tripwire: a hidden suite whose probe code copies solution lines."""
    from grader.authoring.release import suite_leaks
    _, spec = mini_course
    nb = nbformat.read(spec.solution, as_version=4)
    nb.cells[2].source = ('def double(x):\n    """Return 2 * x."""\n    ### BEGIN SOLUTION\n'
                          '    doubled = [value + value for value in list(x)]\n'
                          '    total = sum(doubled) - min(doubled)\n'
                          '    return doubled\n    ### END SOLUTION')
    nbformat.write(nb, spec.solution)
    assert suite_leaks(spec) == []
    suite = spec.tests_dir / "test_mini.py"
    clean = suite.read_text()
    # one copied line, prefixed the probe way and assigned to another name: short lines pass
    suite.write_text(clean + "\nPROBE = '_t = sum(_doubled) - min(_doubled)'\n")
    assert suite_leaks(spec) == []
    # two of them, in an f-string
    suite.write_text(clean + "\nN = 3\nPROBE = f'_d = [value + value for value in list(x)]\\n_t = sum(_d) - {N}'\n"
                             "LEAK = '''def _helper(x):\n    _doubled = [value + value for value in list(x)]\n"
                             "    return sum(doubled) - min(doubled)\n'''\n")
    problems = suite_leaks(spec)
    assert len(problems) == 1, problems
    assert "test_mini.py:" in problems[0] and "'doubled = [value + value for value in list(x)]'" in problems[0]
    assert "'total = sum(doubled) - min(doubled)'" in problems[0]


def test_with_fakes_rebinds_only_the_named_helpers():
    from grader.testing import with_fakes
    namespace: dict = {}
    exec("def helper(x):\n    return x + 1\n"
         "def other(x):\n    return 10 * x\n"
         "def f(x, *, k=2):\n    return helper(x) * k + other(x)\n"
         "def _fake_helper(x):\n    return -x\n"
         "g = lambda x: helper(x)\n", namespace)
    exec(with_fakes("f", {"helper": "_fake_helper"}) + with_fakes("g", {"helper": "_fake_helper"}), namespace)
    assert namespace["_f"](3) == -3 * 2 + 30 and namespace["_f"](3, k=1) == -3 + 30
    assert namespace["f"](3) == 4 * 2 + 30, "the student's own function is left as it was"
    assert namespace["helper"](3) == 4, "and so are its globals"
    assert namespace["_g"](1) == -1   # a lambda is a plain function too
    exec("class C:\n    def __call__(self, x):\n        return helper(x)\nc = C()\n"
         + with_fakes("c", {"helper": "_fake_helper"}), namespace)
    assert namespace["_c"] is namespace["c"], "a callable that is not a plain function is used as it is"


def test_with_fakes_rebinds_the_methods_of_a_class():
    """A class becomes a subclass whose methods (own, inherited, static, class, __init__) see the
    fakes, with super() still working; the student's class and globals are left alone."""
    from grader.testing import with_fakes
    namespace: dict = {}
    exec("class Act:\n    def forward(self, x):\n        return x + 1\n"
         "class _FakeAct:\n    def forward(self, x):\n        return -x\n"
         "def helper(x):\n    return 10 * x\n"
         "def _fake_helper(x):\n    return 100 * x\n"
         "class Base:\n    def base(self, x):\n        return helper(x)\n    def other(self, x):\n        return helper(x)\n"
         "class Model(Base):\n"
         "    scale = 2\n"
         "    def __init__(self, k=1):\n        self.k = k\n        self.act = Act()\n"
         "    def forward(self, x):\n        return self.act.forward(x) * self.k + Act().forward(0)\n"
         "    def base(self, x):\n        return super().base(x) + 1\n"
         "    @staticmethod\n    def stat(x):\n        return helper(x)\n"
         "    @classmethod\n    def make(cls):\n        return cls(k=3)\n", namespace)
    exec(with_fakes("Model", {"Act": "_FakeAct", "helper": "_fake_helper"}), namespace)
    fake_model, model = namespace["_Model"], namespace["Model"]
    assert fake_model is not model and issubclass(fake_model, model) and fake_model.__name__ == "Model"
    m = fake_model(k=2)
    assert m.forward(3) == -3 * 2 + 0, "__init__ and forward run with the fake Act"
    assert m.other(3) == 300, "an inherited method sees the fakes"
    assert m.base(3) == 31, "super() still works (the base's method it reaches runs without the fakes)"
    assert fake_model.stat(2) == 200 and m.stat(2) == 200, "a static method sees the fakes"
    made = fake_model.make()
    assert type(made) is fake_model and made.k == 3 and made.forward(1) == -3, "a class method makes the subclass"
    assert m.scale == 2, "class attributes are inherited"
    assert model(k=2).forward(3) == 4 * 2 + 1 and model().base(3) == 31, "the student's own class is left as it was"
    assert namespace["helper"](3) == 30 and namespace["Act"]().forward(1) == 2, "and so are its globals"

def test_on_meta_device_catches_a_state_made_on_the_cpu_and_accepts_the_notebooks_device():
    """A module moved to the meta device fails where a tensor it makes has no device, as on a
    GPU; ``device=x.device`` and ``device=DEVICE`` (the notebook's setting) both pass, and what
    the meta device cannot do (``.item()``) is not held against the code."""
    import pytest
    import torch

    from grader.testing import assert_on_meta, on_meta_device, with_fakes
    namespace: dict = {"torch": torch, "nn": torch.nn, "DEVICE": "cpu"}
    exec("class Cell(nn.Module):\n"
         "    def __init__(self, how):\n        super().__init__()\n        self.how = how\n"
         "        self.linear = nn.Linear(5, 3)\n"
         "    def forward(self, x):\n"
         "        if self.how == 'item' and x.sum().item() > 0:\n            return x\n"
         "        if self.how == 'cpu_out':\n            return torch.zeros(2)\n"
         "        kw = {'none': {}, 'notebook': {'device': DEVICE}}.get(self.how, {'device': x.device})\n"
         "        return torch.tanh(self.linear(torch.cat([x, torch.zeros(x.shape[0], 3, **kw)], 1)))\n", namespace)
    exec(on_meta_device("Cell"), namespace)
    outcomes = {how: namespace["_meta_try"](lambda how=how: namespace["_Cell"](how).to("meta")(
        torch.empty(4, 2, device="meta"))) for how in ("x", "notebook", "none", "item", "cpu_out")}
    assert outcomes["x"] == ["ok", ["meta"]] and outcomes["notebook"] == ["ok", ["meta"]]
    assert outcomes["none"][0] == "device" and outcomes["item"][0] == "unsupported"
    assert outcomes["cpu_out"] == ["ok", ["cpu"]]
    # a GPU's rules where the meta device is lenient: positions on the CPU for an embedding on the device
    exec("emb = nn.Embedding(10, 4).to('meta')\n"
         "def positions(T, how):\n"
         "    return emb(torch.arange(T, device=DEVICE) if how == 'notebook' else torch.arange(T))\n", namespace)
    exec(with_fakes("positions", {}), namespace)
    assert namespace["_meta_try"](lambda: namespace["_positions"](5, "notebook")) == ["ok", ["meta"]]
    assert namespace["_meta_try"](lambda: namespace["_positions"](5, "cpu"))[0] == "device"
    # a sample drawn on the CPU and moved back to the device runs (placeholder numbers); one left behind does not
    exec("def sample(logits, back):\n"
         "    idx = torch.multinomial(torch.softmax(logits, -1).cpu(), 1)\n"
         "    return torch.cat([logits.argmax(-1, keepdim=True), idx.to(logits.device) if back else idx], 1)\n", namespace)
    meta_logits = torch.empty(2, 7, device="meta")
    assert namespace["_meta_try"](lambda: namespace["sample"](meta_logits, True)) == ["ok", ["meta"]]
    assert namespace["_meta_try"](lambda: namespace["sample"](meta_logits, False))[0] == "device"
    for how in ("x", "notebook", "item"):
        assert_on_meta(outcomes[how], f"Cell({how!r})", "hint")
    for how in ("none", "cpu_out"):
        with pytest.raises(AssertionError, match="meta' device .* stands in for a GPU"):
            assert_on_meta(outcomes[how], f"Cell({how!r})", "hint")
    assert namespace["DEVICE"] == "cpu", "the notebook's DEVICE is put back"
    assert all(space["DEVICE"] == "cpu" for space in namespace["_FAKE_SPACES"]), "and so is the fakes' one"
    assert namespace["Cell"]("notebook")(torch.zeros(4, 2)).device.type == "cpu"


def test_a_mutant_edit_that_matches_twice_is_refused(mini_course):
    """A `find` that occurs twice would silently edit the first match (a docstring, say)."""
    import pytest

    from grader.authoring.variants import Mutant, VariantError, apply_mutant
    _, spec = mini_course
    nb = nbformat.read(spec.solution, as_version=4)
    ambiguous = Mutant(name="m", description="", edits=[{"cell": "answer", "find": "2 * x", "replace": "3 * x"}],
                       must_fail=[])
    with pytest.raises(VariantError, match=r"text '2 \* x' occurs 2 times in cell 'answer': make `find` unique"):
        apply_mutant(nb, ambiguous)
    ambiguous.edits[0]["count"] = "all"
    assert apply_mutant(nb, ambiguous).cells[2].source.count("3 * x") == 2


def test_papermill_parses_every_parameters_cell(course, caplog):
    """papermill reads each exercise's parameters cell whole: the four contract parameters, and
    no line it cannot parse (it warns and leaves that parameter out of `papermill --help-notebook`)."""
    import logging

    import papermill
    for spec in course.exercises.values():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="papermill"):
            found = papermill.inspect_notebook(str(spec.solution))
        assert {"SEED", "FAST", "DEVICE", "DATA_DIR"} <= set(found), (spec.id, sorted(found))
        assert not [r.getMessage() for r in caplog.records], (spec.id, [r.getMessage() for r in caplog.records])


def test_the_contract_sample_of_mutants_is_stable_and_keeps_order_dependent_ones():
    from grader.authoring.variants import Mutant, mutant_sample
    mutants = [Mutant(f"m{i}", "", []) for i in range(20)]
    mutants[17].order_dependent = True
    drawn = mutant_sample("week99_demo", mutants, 5)
    names = [m.name for m in drawn]
    assert len(drawn) == 5 and "m17" in names
    assert names == [m.name for m in mutants if m.name in names]            # file order
    assert names != [m.name for m in mutant_sample("week98_other", mutants, 5)]  # per exercise
    # a mutant added or removed elsewhere changes nothing else that was drawn
    more = mutants + [Mutant("added", "", [])]
    kept = {m.name for m in mutant_sample("week99_demo", more, 6)} - {"added"}
    assert set(names) <= kept
    assert mutant_sample("week99_demo", mutants, None) == mutants == mutant_sample("week99_demo", mutants, 20)
