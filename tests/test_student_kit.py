"""The student bundle (`grader release --bundle`) and the student kit in it.

The kit is tested the way a student uses it: a new virtual environment, one `pip install ./kit`
as the bundle's README says, then `grader check` from the bundle folder, as root and as an
ordinary user, with no instructor checkout on the path. The same environment shows what a
kernel sees without root (the sandbox in a user namespace).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from grader.authoring.variants import as_submission
from grader.authoring.bundle import BUNDLE_MARKER, KIT_LEAVES_OUT

from .helpers import run_cli, write_submission

pytestmark = pytest.mark.slow  # real kernels or processes

NOBODY = 65534


# ------------------------------------------------------------------- where a bundle may go
def test_bundle_refuses_the_course_a_file_and_foreign_folders(mini_course, tmp_path):
    course, spec = mini_course
    root = course.root
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_text("keep me")
    for target, why in ((".", "holds the course itself"), (str(root.parent), "holds the course itself"),
                        ("course.yaml", "that is a file"), (str(foreign), "not empty and was not written")):
        done = run_cli("release", "--bundle", target, cwd=root)
        assert done.returncode == 2, (target, done.stdout, done.stderr)
        assert why in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert (foreign / "holiday.jpg").read_text() == "keep me"
    # a new folder, then the same folder again (it carries the marker); other files are kept
    out = tmp_path / "release"
    assert run_cli("release", "--bundle", str(out), cwd=root).returncode == 0
    assert (out / BUNDLE_MARKER).is_file() and (out / "kit" / "pyproject.toml").is_file()
    (out / "notes.txt").write_text("mine")
    assert run_cli("release", "--bundle", str(out), cwd=root).returncode == 0
    assert (out / "notes.txt").read_text() == "mine"
    # an empty folder is fine too
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("release", "--bundle", str(empty), cwd=root).returncode == 0


# ------------------------------------------------------------------------ the kit, installed
def _world_usable(path: str) -> bool:
    """Every folder on the way is searchable by others and the file is executable by them."""
    real = Path(os.path.realpath(path))
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [real, *real.parents])


def _base_python() -> str:
    """A Python 3.11+ that an ordinary user may run (the venv's links point to it)."""
    for candidate in (getattr(sys, "_base_executable", sys.executable), "/usr/bin/python3"):
        if candidate and os.path.exists(candidate) and _world_usable(candidate):
            done = subprocess.run([candidate, "-c", "import sys, venv, ensurepip; print(sys.version_info >= (3, 11))"],
                                  capture_output=True, text=True)
            if done.stdout.strip() == "True":
                return candidate
    pytest.fail("no Python 3.11+ on this machine that an ordinary user can run (needed to test "
                "the student kit as a student)")


@pytest.fixture(scope="module")
def kit(course):
    """A bundle of week02 and week03 in a world-readable folder, and a new virtual environment
    with the kit installed as the bundle's README says."""
    top = Path(tempfile.mkdtemp(prefix="grader-test-kit-"))
    os.chmod(top, 0o755)
    bundle = top / "release"
    done = run_cli("release", "week02_autograd", "week03_water_mlp", "--bundle", str(bundle))
    assert done.returncode == 0, done.stderr
    readme = (bundle / "README.md").read_text()
    assert "python3 -m venv .venv" in readme and ".venv/bin/pip install ./kit" in readme
    # solved notebooks beside the released ones (what a student hands in when done)
    for exercise in ("week02_autograd", "week03_water_mlp"):
        spec = course.get(exercise)
        solved = as_submission(nbformat.read(spec.assignment, as_version=4),
                               nbformat.read(spec.solution, as_version=4))
        nbformat.write(solved, bundle / "assignments" / f"{exercise}_done.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([_base_python(), "-m", "venv", ".venv"], cwd=bundle, check=True, env=env)
    install = subprocess.run([".venv/bin/pip", "install", "-q", "./kit"], cwd=bundle, env=env,
                             capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, install.stderr[-3000:]
    for path in [top, *top.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, os.stat(path).st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    yield bundle, env
    shutil.rmtree(top, ignore_errors=True)


def _as(user: int | None, argv: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    env = dict(env, HOME=str(cwd.parent / f"home-{user or 0}"), OMP_NUM_THREADS="1")
    Path(env["HOME"]).mkdir(exist_ok=True)
    if user is not None:
        os.chown(env["HOME"], user, user)
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_kit_is_a_real_package_without_instructor_tools(kit):
    bundle, env = kit
    where = _as(None, [".venv/bin/python", "-c", "import grader, os; print(grader.__file__)"], bundle, env)
    assert where.stdout.strip().startswith(str(bundle / ".venv")), where.stdout + where.stderr
    listed = _as(None, [".venv/bin/pip", "list", "--format", "json"], bundle, env)
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert "dl-course-student-kit" in installed
    assert not installed & set(KIT_LEAVES_OUT), installed & set(KIT_LEAVES_OUT)
    # an instructor command says it is not part of the kit, in one line
    done = _as(None, [".venv/bin/grader", "grade", "week02_autograd", "assignments"], bundle, env)
    assert done.returncode == 2 and "student kit" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("user", [None, NOBODY], ids=["root", "ordinary-user"])
def test_grader_check_from_the_kit(kit, user):
    if user is None and os.geteuid() != 0:
        pytest.skip("the grader is not root here; the ordinary-user case covers it")
    bundle, env = kit
    if user is not None and os.geteuid() != 0:
        user = None  # already an ordinary user
    done = _as(user, [".venv/bin/grader", "check", "assignments/week02_autograd_done.ipynb"], bundle, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "public checks passed" in done.stdout and "✘" not in done.stdout
    # data shipped beside the notebooks (week 3 reads the water table)
    done = _as(user, [".venv/bin/python", "-m", "grader", "check", "assignments/week03_water_mlp_done.ipynb"],
               bundle, env)
    assert done.returncode == 0, done.stdout + done.stderr
    # the untouched notebook: the public checks fail, exit 1, no traceback of the grader
    done = _as(user, [".venv/bin/grader", "check", "assignments/week02_autograd.ipynb"], bundle, env)
    assert done.returncode == 1 and "✘" in done.stdout and "Traceback" not in done.stderr, done.stdout + done.stderr


VIEW_SCRIPT = r'''
import json, os
from grader.kernels.spec import KernelLimits
from grader.kernels.live import LiveKernel
from grader.kernels.sandbox import Sandbox
out = {}
for fork in ("1", "0"):
    os.environ["GRADER_FORK_SERVER"] = fork
    with LiveKernel(KernelLimits(), sandbox=Sandbox()) as kernel:
        kernel.start()
        out[fork] = {"isolation": kernel.isolation, "seen": kernel.eval(PROBE, timeout=120)}
print(json.dumps(out))
'''

PROBE = r'''
import os, socket
planted = os.environ.get("PLANTED", "")
found = []
for top, dirs, files in os.walk("/", onerror=lambda e: None):
    if top in ("/proc", "/sys", "/dev", "/usr"):
        dirs[:] = []
        continue
    found += [os.path.join(top, f) for f in files if f.endswith((".ipynb", ".sqlite")) or f.startswith("test_")]
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1); net = "connected"
except OSError as e:
    net = str(e)
{"uid": os.getuid(), "top": sorted(os.listdir("/")), "found": found, "net": net,
 "passwd": [l.split(":")[0] for l in open("/etc/passwd")]}
'''


@pytest.mark.slow
def test_without_root_the_kernel_still_sees_only_the_runtime(kit, tmp_path):
    """An ordinary user's kernel: user namespace, allow-list view, no network, no capability."""
    if os.geteuid() != 0:
        pytest.skip("runs the kit as another user (setpriv): needs root to switch")
    bundle, env = kit
    secret = Path(tempfile.mkdtemp(prefix="grader-test-planted-"))
    try:
        os.chmod(secret, 0o755)
        (secret / "solution.ipynb").write_text("{}")
        os.chmod(secret / "solution.ipynb", 0o644)
        script = VIEW_SCRIPT.replace("PROBE", repr(PROBE))
        done = _as(NOBODY, [".venv/bin/python", "-c", script], bundle, env)
        assert done.returncode == 0, done.stderr[-3000:]
        for fork, got in json.loads(done.stdout).items():
            iso, seen = got["isolation"], got["seen"]
            assert iso["filesystem"] == "allow-list", (fork, iso["not_applied"])
            assert iso["network"] == "none" and "uid" in iso["not_applied"]
            assert seen["uid"] == NOBODY
            assert not {"home", "srv", "root", "var", "opt"} & set(seen["top"]), seen["top"]
            # the bundle's own notebooks are in the venv's folder's parent: not visible
            assert [p for p in seen["found"] if not p.startswith(str(bundle / ".venv"))] == [], seen["found"]
            assert "unreachable" in seen["net"], seen["net"]
            assert seen["passwd"] == ["root", "student", "nobody"]
    finally:
        shutil.rmtree(secret, ignore_errors=True)


# ----------------------------------------------------- laptops without the sandbox's system calls
GOOD = 'def double(x):\n    """Return 2 * x."""\n    return x + x'

WITHOUT = r'''
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))

class Block(importlib.abc.MetaPathFinder):
    """What a student's macOS or Windows laptop with the kit lacks."""
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Block())
import grader.kernels.sandbox
grader.kernels.sandbox.supported = lambda: False
from grader.cli import main
sys.exit(main(sys.argv[2:]))
'''


def test_check_runs_without_the_sandbox_where_the_platform_has_none(mini_course, tmp_path):
    """No prctl, rlimits or namespaces (``resource`` and ``fcntl`` missing, as on Windows) and
    none of the instructor's libraries: `grader check` still runs the notebook and the public
    checks, and says it ran without the sandbox."""
    from grader.cli import INSTRUCTOR_ONLY
    course, spec = mini_course
    good = write_submission(spec, tmp_path / "s", "mine", GOOD)
    stub = write_submission(spec, tmp_path / "s", "stub")
    blocked = ",".join(sorted({"resource", "fcntl", *INSTRUCTOR_ONLY}))
    for path, code in ((good, 0), (stub, 1)):
        done = subprocess.run([sys.executable, "-c", WITHOUT, blocked, "check", str(path)],
                              cwd=course.root, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))
        assert done.returncode == code, done.stdout + done.stderr
        assert "ran without the sandbox" in done.stdout and "Traceback" not in done.stderr
    assert "1/1 public checks passed" in subprocess.run(
        [sys.executable, "-c", WITHOUT, blocked, "check", str(good)], cwd=course.root,
        capture_output=True, text=True, timeout=300).stdout
