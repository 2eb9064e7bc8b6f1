"""Stage 4 of the pipeline: run an exercise's hidden pytest suite in the trusted grader process.

The suite is ordinary pytest files in ``autograde_tests/<exercise>/``. This module gives them
the fixtures ``student``, ``reference`` and ``grading_seed``, the markers ``points(n)`` and
``visibility(...)``, and turns pytest's reports into scored results whose messages are plain
words: the assertion message, or what the student's code raised -- never the test's source.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import sys
import zlib
from pathlib import Path
from typing import Any, Iterator, Protocol

import pytest

from ..kernels.probe import KernelDied, ProbeError, ProbeTimeout, StudentError
from ..results import TestOutcome

log = logging.getLogger(__name__)
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class Evaluator(Protocol):
    def eval(self, src: str, timeout: float | None = None) -> Any:
        """Run a probe, return plain data (see LiveKernel.eval)."""


class SuiteError(Exception):
    """The hidden suite itself is broken (instructor's problem, not the student's)."""


def _message(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        text = str(exc).strip()
        return text or "a check failed"
    if isinstance(exc, StudentError):
        return f"your code raised {exc}"
    if isinstance(exc, (ProbeTimeout, KernelDied)):
        return str(exc)
    if isinstance(exc, ProbeError):
        return f"the grader could not read your answer: {exc}"
    if isinstance(exc, pytest.skip.Exception):
        return str(exc) or "skipped"
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def seeded(seed: int) -> None:
    """Seed the grader process's global generators: ``random``, NumPy's and, where a suite
    has imported it, PyTorch's CPU generator (not ``torch.manual_seed``, which would also queue
    a CUDA seed and format the call's stack: the grader computes on the CPU)."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % 2 ** 32)  # (numpy.random loads when first used)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "random"):
        torch.random.default_generator.manual_seed(seed)


class _Plugin:
    def __init__(self, student: Evaluator | None, reference: Evaluator | None, seed: int):
        self.reset(student, reference, seed)

    def reset(self, student: Evaluator | None, reference: Evaluator | None, seed: int) -> None:
        """Forget the last run: the next run grades ``student`` (a kept session's plugin)."""
        self._student, self._reference, self._seed = student, reference, seed
        self.items: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.outcomes: dict[str, tuple[str, str]] = {}
        self.collect_errors: list[str] = []
        self.answered: set[str] = set()  # failed on what the student's code answered
        self.seconds: dict[str, float] = {}  # per test: set-up, call and tear-down
        self.probe_seconds: dict[str, float] = {}  # per test: waiting for the student's kernel

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): points the test is worth")
        config.addinivalue_line("markers", "visibility(v): visible|hidden|after_due_date|after_published")

    @pytest.fixture
    def student(self) -> Evaluator | None:
        return self._student

    @pytest.fixture
    def reference(self) -> Evaluator | None:
        return self._reference

    @pytest.fixture
    def grading_seed(self) -> int:
        return self._seed

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self.collect_errors.append(f"{report.nodeid}: {text[-1] if text else 'collection failed'}")

    def pytest_collection_modifyitems(self, session, config, items) -> None:  # noqa: ANN001
        for item in items:
            marker = item.get_closest_marker("points")
            if marker is None or not marker.args:
                self.collect_errors.append(f"{item.nodeid}: has no @pytest.mark.points(n)")
                continue
            points = marker.args[0]
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                self.collect_errors.append(f"{item.nodeid}: points must be a number >= 0")
                continue
            vis = item.get_closest_marker("visibility")
            visibility = vis.args[0] if vis and vis.args else "visible"
            if visibility not in VISIBILITIES:
                self.collect_errors.append(f"{item.nodeid}: unknown visibility {visibility!r}")
            doc = (getattr(item, "function", None).__doc__ or "") if hasattr(item, "function") else ""
            name = doc.strip().splitlines()[0].strip() if doc.strip() else item.name
            self.items[item.nodeid] = {"name": name, "points": float(points), "visibility": visibility,
                                       "id": item.name if "::" not in item.nodeid
                                       else item.nodeid.split("::", 1)[1]}
            self.order.append(item.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item) -> None:  # noqa: ANN001
        """The grader process's global random generators start each test from a state of its
        own (the grading seed and the test's name): what a test draws without a generator of
        its own is the same for every submission, whichever tests ran before it in this
        process, and whether a remembered oracle (grader.testing.remember) ran or was found."""
        seeded(zlib.crc32(f"{self._seed}:{item.nodeid}".encode()))
        self._probed_before = getattr(self._student, "probe_seconds", 0.0)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):  # noqa: ANN001, ANN201
        """Record the outcome and make pytest's report, minus the failure representation:
        pytest would re-parse the test file for every failing test to show its source, which
        nobody here reads (the student sees only the message) and which took most of the
        suite's time."""
        excinfo = call.excinfo
        self.seconds[item.nodeid] = self.seconds.get(item.nodeid, 0.0) + call.duration
        probed = getattr(self._student, "probe_seconds", 0.0) - getattr(self, "_probed_before", 0.0)
        if isinstance(probed, float) and probed > 0:
            self.probe_seconds[item.nodeid] = probed
        if call.when == "setup":
            self._hashed_before = getattr(self._student, "hashed", 0)
        if excinfo is None:
            outcome, longrepr = "passed", None
            if call.when == "call":
                self.outcomes.setdefault(item.nodeid, ("passed", ""))
        else:
            message = _message(excinfo.value)
            if isinstance(excinfo.value, pytest.skip.Exception):
                path, line = item.reportinfo()[:2]
                outcome, longrepr = "skipped", (str(path), (line or 0) + 1, message)
                self.outcomes[item.nodeid] = ("failed", message)
            else:
                outcome, longrepr = "failed", message
                self.outcomes[item.nodeid] = ("failed" if call.when == "call" else "error", message)
                # failed on an answer whose probes hashed objects of notebook classes: set
                # order may have mattered (run_suite runs it again with the order flipped)
                hashed = getattr(self._student, "hashed", 0) - getattr(self, "_hashed_before", 0)
                if (call.when == "call" and hashed > 0
                        and isinstance(excinfo.value, (AssertionError, StudentError))):
                    self.answered.add(item.nodeid)
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1),
                                 outcome, longrepr, call.when, [], call.duration, call.start,
                                 call.stop, user_properties=item.user_properties)


_SUITE_MODULES: dict[str, list[str]] = {}  # tests folder -> the modules its last run imported
_PRIVATE: Path | None = None


def _private() -> Path:
    """This process's folder for the suite: an empty ``pytest.ini`` (the course's own pytest
    settings must not apply) and ``bytecode/``, the ``sys.pycache_prefix`` under which the
    suite is compiled once (the course folder stays untouched, and ``PYTHONDONTWRITEBYTECODE``
    does not make every submission compile it again)."""
    global _PRIVATE
    if _PRIVATE is None or not _PRIVATE.is_dir():
        from ..util import process_tempdir
        _PRIVATE = process_tempdir("suite")
        (_PRIVATE / "pytest.ini").write_text("[pytest]\n")
        (_PRIVATE / "bytecode").mkdir()
    return _PRIVATE


ORDER_HINT = ("This result depends on the order in which your code goes through a set of "
              "objects: run again with that order reversed, the test passed. The grade uses the "
              "first order (the same for every submission). Look for a loop over a set (for "
              "example `for child in node._prev`) whose result changes with the order, such as a "
              "value assigned with `=` where it should be added with `+=`.")


def run_suite(tests_dir: Path, student: Evaluator, reference: Evaluator, seed: int) -> list[TestOutcome]:
    """Run every test in ``tests_dir``; return one outcome per test, in file order.

    A test that fails on what the student's kernel answered is run once more with the
    kernel's set order flipped (``student.flip_order``, see ``probe.STABLE_ORDER``); if it
    then passes, its message says that the result depends on set iteration order. The score
    stays the first run's: identical notebooks get identical grades."""
    if not tests_dir.is_dir():
        raise SuiteError(f"hidden tests folder {tests_dir} does not exist")
    plugin = _Plugin(student, reference, seed)
    code = _run(tests_dir, plugin)
    if plugin.collect_errors:
        raise SuiteError("hidden tests are broken: " + "; ".join(plugin.collect_errors[:3]))
    if not plugin.order:
        raise SuiteError(f"no hidden tests were collected in {tests_dir} (pytest exit {int(code)})")
    flipped: set[str] = set()
    if plugin.answered and hasattr(student, "flip_order") and student is not reference:
        again = _Plugin(student, reference, seed)
        student.flip_order = True
        try:
            _run(tests_dir, again, only={n for n in plugin.order if n in plugin.answered})
        finally:
            student.flip_order = False
        flipped = {n for n, (status, _) in again.outcomes.items() if status == "passed"}
    results = []
    for nodeid in plugin.order:
        meta = plugin.items[nodeid]
        status, message = plugin.outcomes.get(nodeid, ("error", "the test did not run"))
        if nodeid in flipped:
            message = f"{message} [{ORDER_HINT}]"
        results.append(TestOutcome(
            id=meta["id"], name=meta["name"], max_score=meta["points"],
            score=meta["points"] if status == "passed" else 0.0, status=status,
            message=message, visibility=meta["visibility"], seconds=plugin.seconds.get(nodeid, 0.0),
            probe_seconds=plugin.probe_seconds.get(nodeid, 0.0)))
    return results


def collect_points(tests_dir: Path) -> dict[str, float]:
    """The hidden tests of a suite and their points, without running any (``grader validate``)."""
    if not tests_dir.is_dir():
        raise SuiteError(f"hidden tests folder {tests_dir} does not exist")
    plugin = _Plugin(None, None, 0)  # no test runs
    _pytest([str(tests_dir), "--collect-only"], tests_dir, plugin)
    if plugin.collect_errors:
        raise SuiteError("hidden tests are broken: " + "; ".join(plugin.collect_errors[:3]))
    return {plugin.items[n]["id"]: plugin.items[n]["points"] for n in plugin.order}


_ARGS = ["-p", "no:cacheprovider", "-p", "no:stepwise", "-p", "no:unraisableexception",
         "-p", "no:threadexception", "-p", "no:logging", "-p", "no:debugging", "-p", "no:pastebin",
         "-p", "no:junitxml", "-p", "no:doctest", "-p", "no:setuponly", "-p", "no:setupplan",
         "-p", "no:faulthandler", "-p", "no:legacypath", "-p", "no:subtests", "-p", "no:unittest",
         "--assert=plain", "--import-mode=importlib", "-q", "--no-header", "-W", "ignore::DeprecationWarning"]


def _args(targets: list[str], tests_dir: Path) -> list[str]:
    return [*targets, "-c", str(_private() / "pytest.ini"), "--rootdir", str(tests_dir), *_ARGS]


class _Discard(io.TextIOBase):
    """Where pytest's terminal output goes (nobody reads it: outcomes come from the plugin)."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def _inside(module: object, folder: Path) -> bool:
    """Whether ``module`` was loaded from a file under ``folder`` (``hw1`` does not hold
    ``hw10``'s files)."""
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and os.path.abspath(file).startswith(os.path.join(os.path.abspath(folder), ""))


@contextlib.contextmanager
def _environment(tests_dir: Path) -> Iterator[None]:
    """What a run of the suite needs around it: no outside pytest options or plugins, plain
    asserts, the suite's modules imported afresh (compiled once, into a private bytecode
    cache), and pytest's terminal output discarded."""
    saved = {k: os.environ.get(k) for k in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    # When the grader itself runs under pytest (the project's own tests), the outer session's
    # assertion-rewriting import hook would rewrite the hidden tests and append its
    # explanation (hidden test source) to messages. Hidden tests always run with plain asserts.
    hooks = [h for h in sys.meta_path if type(h).__name__ == "AssertionRewritingHook"]
    for hook in hooks:
        sys.meta_path.remove(hook)
    # the suite's modules are imported afresh for every run (a test cannot leave state
    # behind for the next student); their compiled code is kept in a private bytecode cache
    for name in _SUITE_MODULES.pop(str(tests_dir), ()):
        sys.modules.pop(name, None)
    for path in tests_dir.glob("*.py"):  # another suite's module of the same name (conftest)
        other = sys.modules.get(path.stem)
        if (other is not None and (path.stem.startswith("test_") or path.stem == "conftest")
                and not _inside(other, tests_dir)):
            sys.modules.pop(path.stem, None)
    before = set(sys.modules)
    saved_bytecode = sys.dont_write_bytecode, sys.pycache_prefix
    sys.dont_write_bytecode, sys.pycache_prefix = False, str(_private() / "bytecode")
    cwd = os.getcwd()
    try:
        with contextlib.redirect_stdout(_Discard()), contextlib.redirect_stderr(_Discard()):
            yield
    finally:
        with contextlib.suppress(OSError):
            os.chdir(cwd)  # (a test may change the working folder)
        sys.dont_write_bytecode, sys.pycache_prefix = saved_bytecode
        _SUITE_MODULES[str(tests_dir)] = [
            name for name in set(sys.modules) - before if _inside(sys.modules[name], tests_dir)]
        sys.meta_path[0:0] = hooks
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _pytest(targets: list[str], tests_dir: Path, plugin: _Plugin) -> int:
    """One whole pytest session over ``targets`` (the suite's folder, or some of its tests)."""
    with _environment(tests_dir):
        return int(pytest.main(_args(targets, tests_dir), plugins=[plugin]))


class _KeptSession:
    """A pytest session that a grader process keeps for one suite folder and runs again for
    every submission. ``pytest.main`` builds its configuration (40 plugins registered, their
    hooks and fixtures parsed) and a session for every run: 11-16 ms, a third of what
    week 02's 20 hidden tests cost the grader when every probe is answered at once
    (benchmarks/bench_suite.py). Kept, each run imports the suite's modules afresh and runs
    its tests through pytest's own protocol (set-up, call, tear-down and reports, the last test
    tearing down every fixture, session-scoped ones included). A conftest.py is imported once
    per process.

    Collecting the suite (pytest's nodes, marks and fixture closures: 4-12 ms a run, week 02's
    24.5 -> 17.0 ms, benchmarks/results/bench_suite.md) is done once where that is safe
    (:meth:`_keepable`: plain test functions at the top of their modules, which define no
    fixtures, no xunit set-up and no parametrized tests): later runs import the modules afresh
    and point the kept items at the new modules' functions, so a test still sees only this
    run's module state. Any other suite, or one whose files changed on disk, is collected again
    for every run, the fixtures the previous collection registered forgotten first.

    Built from pytest's configuration entry points (``_prepareconfig``, ``_do_configure``,
    as ``pytest.main`` does); where they are missing (another pytest) or a run fails inside
    pytest itself, :func:`_run` uses ``pytest.main`` instead."""

    keep_items = True  # False: collect for every run (benchmarks/bench_suite.py compares the two)

    def __init__(self, tests_dir: Path):
        from _pytest.config import _prepareconfig

        self.pid, self.plugin, self.broken = os.getpid(), _Plugin(None, None, 0), False
        self.tests_dir = tests_dir
        # the collected items where they can be run again (see _keepable), what the plugin
        # learnt of them, and the suite's files as they were then
        self._items: list[Any] | None = None
        self._collected: tuple[dict[str, dict[str, Any]], list[str]] = ({}, [])
        self._files: dict[str, tuple[int, int]] = {}
        self.collections = 0  # how many times the suite was collected (tests)
        with _environment(tests_dir):
            self.config = _prepareconfig(_args([str(tests_dir)], tests_dir), plugins=[self.plugin])
            try:
                self.session = pytest.Session.from_config(self.config)
                self.config._do_configure()
                self.config.hook.pytest_sessionstart(session=self.session)
            except BaseException:
                self.config._ensure_unconfigure()
                raise
            self._release_stdin()
        fixtures = self.session._fixturemanager
        # what the plugins registered (per fixture name; per node, in newer pytest)
        self._fixtures = {name: _copy(value) for name, value in vars(fixtures).items()
                          if isinstance(value, (dict, list, set))}

    def run(self, student: Evaluator | None, reference: Evaluator | None, seed: int,
            only: set[str] | None) -> tuple[_Plugin, int]:
        plugin, session = self.plugin, self.session
        plugin.reset(student, reference, seed)
        session.testsfailed = session.testscollected = 0
        session.shouldfail = session.shouldstop = False
        reporter = self.config.pluginmanager.getplugin("terminalreporter")
        if reporter is not None and isinstance(getattr(reporter, "stats", None), dict):
            reporter.stats.clear()  # (it keeps every report of the session: 60 KB a run)
        with _environment(self.tests_dir):
            try:
                collected = self._rebound()
                if collected is None:
                    collected = self._collect()
                else:
                    plugin.items, plugin.order = dict(self._collected[0]), list(self._collected[1])
                items = [item for item in collected if only is None or item.nodeid in only]
                if session.testsfailed:  # collection errors: nothing runs (the plugin says why)
                    return plugin, int(pytest.ExitCode.INTERRUPTED)
                for i, item in enumerate(items):
                    item.config.hook.pytest_runtest_protocol(
                        item=item, nextitem=items[i + 1] if i + 1 < len(items) else None)
            except BaseException:
                self.broken = True  # (pytest's own set-up state may be half way)
                raise
            finally:
                session.items = []
                self._release_stdin()
        return plugin, int(pytest.ExitCode.TESTS_FAILED if session.testsfailed else pytest.ExitCode.OK)

    def _collect(self) -> list[Any]:
        """Collect the suite (its modules imported afresh), the fixtures the last collection
        registered forgotten first; keep the items where they can be run again."""
        session = self.session
        fixtures = vars(session._fixturemanager)
        for name, value in self._fixtures.items():
            current = fixtures[name]
            current.clear()
            if isinstance(current, list):
                current.extend(value)
            else:
                current.update(_copy(value))
        self._items, self.collections = None, self.collections + 1
        files = self._suite_files()
        self.config.hook.pytest_collection(session=session)
        items = list(session.items)
        if self.keep_items and not session.testsfailed and self._keepable(items):
            self._items, self._files = items, files
            self._collected = (dict(self.plugin.items), list(self.plugin.order))
        return items

    def _suite_files(self) -> dict[str, tuple[int, int]]:
        stats = {}
        for path in sorted(self.tests_dir.rglob("*.py")):
            with contextlib.suppress(OSError):
                st = path.stat()
                stats[str(path)] = (st.st_mtime_ns, st.st_size)
        return stats

    @staticmethod
    def _keepable(items: list[Any]) -> bool:
        """Whether ``items`` can be run again with their modules imported afresh: plain
        functions at the top level of their modules (no class, no parametrization), in
        modules that define no fixture and no xunit set-up (those pytest binds to the module
        it collected)."""
        if not items:
            return False
        modules = set()
        for item in items:
            if (type(item) is not pytest.Function or type(item.parent) is not pytest.Module
                    or getattr(item, "callspec", None) is not None):
                return False
            modules.add(item.parent)
        for module in modules:
            for name, value in vars(module.obj).items():
                if name in _XUNIT or _is_fixture(value):
                    return False
        return True

    def _rebound(self) -> list[Any] | None:
        """The kept items, pointed at the functions of their modules imported afresh; None
        where the suite must be collected again (nothing kept, its files changed, a module
        that no longer imports or lost a test)."""
        if self._items is None or self._suite_files() != self._files:
            return None
        from _pytest.python import importtestmodule
        from _pytest.stash import Stash
        modules: dict[Any, Any] = {}
        try:
            for item in self._items:
                parent = item.parent
                if parent not in modules:
                    modules[parent] = importtestmodule(parent.path, self.config)
                function = getattr(modules[parent], item.originalname, None)
                if not callable(function):
                    return None
                item.obj = function
                # what a run leaves on an item (captured output, properties, plugins' notes)
                item._report_sections, item.user_properties, item.stash = [], [], Stash()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - (pytest.skip too) collected again, where pytest reports it
            log.debug("suite %s: kept items not reused", self.tests_dir, exc_info=True)
            return None
        for parent, module in modules.items():
            parent.obj = module
        return self._items

    def _release_stdin(self) -> None:
        """Give the process its stdin back: between two tests pytest suspends its capture of
        stdout and stderr only (``pytest.main`` ends it at the end of the session)."""
        capture = self.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(in_=True)


_XUNIT = {"setup_module", "setUpModule", "teardown_module", "tearDownModule", "setup_function",
          "teardown_function"}


def _is_fixture(value: Any) -> bool:
    """A fixture definition (pytest 8.4+ wraps it; older ones mark the function)."""
    return (type(value).__name__ == "FixtureFunctionDefinition"
            or getattr(value, "_fixture_function_marker", None) is not None
            or getattr(value, "_pytestfixturefunction", None) is not None)


def _copy(value: Any) -> Any:
    """Two levels of a fixture manager's registry: its dicts, lists and sets, not the fixtures."""
    if isinstance(value, dict):
        return {k: (v.copy() if isinstance(v, (dict, list, set)) else v) for k, v in value.items()}
    return value.copy()


_KEPT: dict[str, _KeptSession | None] = {}  # suite folder -> this process's kept session (None: pytest.main)


def _run(tests_dir: Path, plugin: _Plugin, only: set[str] | None = None) -> int:
    """Run the suite's tests (those in ``only``, by node id, if given) for ``plugin``'s
    student: in this process's kept session where it can, else through ``pytest.main``."""
    key = str(tests_dir)
    kept = _KEPT.get(key)
    if key not in _KEPT or (kept is not None and (kept.pid != os.getpid() or kept.broken)):
        try:  # (a forked worker builds its own; a broken one is replaced)
            kept = _KeptSession(tests_dir)
        except Exception:  # noqa: BLE001 - another pytest: whole sessions, as before
            log.debug("suite %s: no kept pytest session", tests_dir, exc_info=True)
            kept = None
        _KEPT[key] = kept
    if kept is not None:
        try:
            done, code = kept.run(plugin._student, plugin._reference, plugin._seed, only)
        except Exception:  # noqa: BLE001 - pytest itself failed: graded by pytest.main instead
            log.warning("suite %s: the kept pytest session failed; running pytest afresh",
                        tests_dir, exc_info=True)
        else:
            for name in ("items", "order", "outcomes", "collect_errors", "answered", "seconds",
                         "probe_seconds"):
                setattr(plugin, name, getattr(done, name))
            return code
    targets = [str(tests_dir)] if only is None else [str(tests_dir / n) for n in sorted(only)]
    return _pytest(targets, tests_dir, plugin)
