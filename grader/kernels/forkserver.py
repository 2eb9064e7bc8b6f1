"""A fork server for sandboxed kernels: boot the heavy part of a kernel once, fork it per student.

Starting an IPython kernel costs half a second of CPU, and a kernel that imports torch or
matplotlib (most of the course) another one to two seconds; on a two-core machine that was the
largest single cost of grading a submission. The fork server is a process that imports
ipykernel, IPython and the libraries the reference solution uses (nothing of any student, no
test, no reference code or answer) and then only forks. Each child puts itself in the sandbox
exactly as ``grader.kernels._launch`` does for a freshly started kernel (limits, namespaces, hidden
paths, unprivileged uid, parent-death signal) and becomes the IPython kernel.

jupyter_client still starts and talks to every kernel the usual way: the kernelspec's command is
``grader/_forkstub.py``, a tiny standard-library process that hands its request and stdio to this
server and stands in for the kernel (signals are forwarded, its exit status is the kernel's).

Safety:

* The server's socket sits in a directory only the grader's user can enter, and the server
  checks each peer's uid (SO_PEERCRED), so a kernel (another uid) cannot ask it for anything.
* The sandbox options are fixed when the server starts; a request may only name its report file,
  its uid (from the sandbox pool), the files to hand to that uid, and the kernel's arguments. A
  request cannot ask for a child with fewer limits.
* The server never runs code it receives; it exits with the process that started it, and its
  children die with it (parent-death signals). A stub that disappears gets its kernel killed.
* The server is started with address-space randomisation off and with the kernels' thread,
  hash-seed and backend settings, so a forked kernel is set up as a freshly started one.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..util import private_dir

STUB = Path(__file__).with_name("_forkstub.py")
# imported by every kernel at start-up: loaded once in the server
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                  "ipykernel.iostream", "ipykernel.heartbeat", "ipykernel.parentpoller", "ipykernel.debugger",
                  "IPython.core.interactiveshell", "IPython.core.completer", "IPython.display",
                  "jupyter_client.session", "zmq", "tornado.ioloop", "comm")
_REQUEST_SINGLE = {"--report", "--uid", "--gid", "--home"}
_REQUEST_MULTI = {"--chown"}


class ForkServerError(Exception):
    pass


# ------------------------------------------------------------------------------ grader side
class ForkServer:
    """One running fork server (owned by the process that started it)."""

    def __init__(self, sandbox_opts: list[str], preload: list[str], env: dict[str, str],
                 start_timeout: float = 120.0):
        self.owner = os.getpid()  # a forked worker process may use the server, never close it
        self.dir = private_dir("forkserver")
        os.chmod(self.dir, 0o700)
        self.path = self.dir / "socket"
        self._log = open(self.dir / "server.log", "wb")
        home = {"HOME": self.dir, "TMPDIR": self.dir, "IPYTHONDIR": self.dir / ".ipython",
                "MPLCONFIGDIR": self.dir / ".matplotlib"}
        env = dict(env, **{k: str(v) for k, v in home.items() if k in env})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grader.kernels.forkserver", str(self.path), str(os.getpid()),
             json.dumps(sandbox_opts), *preload],
            cwd=self.dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._log, start_new_session=True)
        self.start_timeout = start_timeout
        self.ready = False  # the server boots in the background until first needed
        # set when this process forks: a child may be using the server's kernels, so it is not
        # closed to make room for another one (closing it kills every kernel it forked)
        self.shared_with_children = False

    def wait_ready(self) -> None:
        """Wait until the server has its imports done and listens; raises ForkServerError."""
        if self.ready:
            return
        if self.owner != os.getpid() or _readline(self.proc, self.start_timeout) != b"ready\n":
            log = self.log_tail()
            self.close()
            raise ForkServerError(f"the kernel fork server did not start ({log or 'no output'})")
        self.ready = True

    def preload(self, modules: list[str], wait: bool = False) -> int | None:
        """Ask the server to import ``modules`` too, for the kernels it forks from now on (the
        library modules the reference's run imported: what the notebook's code imports on the
        way, such as scikit-image's data loaders or SciPy's statistics, beyond the import
        statements the server preloaded). It imports only submodules of packages it already
        holds. ``wait``: return how many it imported (None if it could not be asked)."""
        try:
            self.wait_ready()
            body = json.dumps({"preload": [str(m) for m in modules][:5000]}).encode()
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(120)
                sock.connect(str(self.path))
                sock.sendall(struct.pack("!I", len(body)) + body)
                if not wait:
                    return None
                raw = b""
                while len(raw) < 4:
                    chunk = sock.recv(4 - len(raw))
                    if not chunk:
                        return None
                    raw += chunk
                return int(struct.unpack("!i", raw)[0])
        except (OSError, ForkServerError):
            return None

    def stub_argv(self) -> list[str]:
        """The start of a kernelspec command that asks this server for a kernel."""
        self.wait_ready()
        return [sys.executable, "-I", "-S", str(STUB), str(self.path)]

    def alive(self) -> bool:
        if self.owner != os.getpid():
            try:
                os.kill(self.proc.pid, 0)
                return True
            except OSError:
                return False
        return self.proc.poll() is None

    def log_tail(self) -> str:
        try:
            return (self.dir / "server.log").read_text(errors="replace").strip().splitlines()[-1][:300]
        except (OSError, IndexError):
            return ""

    def close(self) -> None:
        if self.owner != os.getpid():
            return
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


def _readline(proc: subprocess.Popen, timeout: float) -> bytes:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if sel.select(timeout=0.5):
                return proc.stdout.readline()
            if proc.poll() is not None:
                return b""
        return b""
    finally:
        sel.close()


_SERVERS: dict[tuple, ForkServer] = {}
_MAX_SERVERS = 2


def shared(sandbox_opts: list[str], preload: list[str], env: dict[str, str]) -> ForkServer:
    """The fork server of this process for these settings (started on first use)."""
    key = (tuple(sandbox_opts), tuple(preload), tuple(sorted(env.items())))
    server = _SERVERS.get(key)
    if server is not None and server.alive():
        return server
    if server is not None:
        server.close()
        del _SERVERS[key]
    while len(_SERVERS) >= _MAX_SERVERS:  # e.g. a long-lived Ray worker grading many batches
        oldest = next((k for k, s in _SERVERS.items() if not s.shared_with_children), None)
        if oldest is None:
            break
        _SERVERS.pop(oldest).close()
    if not _SERVERS:
        import atexit
        atexit.unregister(close_all)  # registered once, however often the registry empties
        atexit.register(close_all)
    server = _SERVERS[key] = ForkServer(sandbox_opts, preload, env)
    return server


def running(sandbox_opts: list[str], preload: list[str], env: dict[str, str]) -> ForkServer | None:
    """The running fork server of this process for these settings, if there is one."""
    server = _SERVERS.get((tuple(sandbox_opts), tuple(preload), tuple(sorted(env.items()))))
    return server if server is not None and server.alive() else None


def _before_fork() -> None:
    """A worker forked from this process (a process pool) inherits its servers and may ask them
    for kernels: from now on none of them is closed before this process ends. (grade-term's
    first exercise's server, inherited by the workers, was closed while they graded with it
    when the references of the next exercises needed servers of their own: their kernels died.)"""
    for server in _SERVERS.values():
        server.shared_with_children = True


os.register_at_fork(before=_before_fork)


def children_done() -> None:
    """The worker processes that shared this process's servers have ended (a batch's pool shut
    down): the servers may be closed again when the registry is full. Without this, a process
    that graded batch after batch with workers (``grader variants --seeds``: one batch per grading
    seed, each with a server of its own) kept every server, torch loaded in each, until the
    machine ran out of memory."""
    for server in _SERVERS.values():
        server.shared_with_children = False


def close_all() -> None:
    while _SERVERS:
        _SERVERS.popitem()[1].close()


def enabled() -> bool:
    return os.environ.get("GRADER_FORK_SERVER", "1").strip().lower() not in ("0", "no", "false", "off")


# ------------------------------------------------------------------------------ server side
def _recv_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    while len(data) < 4 or len(data) < 4 + struct.unpack("!I", data[:4])[0]:
        chunk = conn.recv(1 << 16)
        if not chunk:
            raise ValueError("request cut short")
        data += chunk
        if len(data) > 1 << 22:
            raise ValueError("request too large")
    size = struct.unpack("!I", data[:4])[0]
    return json.loads(data[4:4 + size]), list(fds)


def _checked_argv(request: dict, sandbox_opts: list[str]) -> list[str]:
    """The launcher argv for this child: the server's fixed sandbox options plus what a request
    may choose. Raises ValueError for anything else."""
    from grader.kernels._launch import parse
    from grader.kernels.sandbox import UID_BASE, UID_COUNT
    argv = request["argv"]
    single, multi, flags, kernel_args = parse(argv)
    if flags or set(single) - _REQUEST_SINGLE or any(multi[k] for k in multi if k not in _REQUEST_MULTI):
        raise ValueError("a request may not choose sandbox options")
    if "--report" not in single:
        raise ValueError("a request must name its report file")
    for key in ("--uid", "--gid"):
        if key in single and not UID_BASE <= int(single[key]) < UID_BASE + UID_COUNT:
            raise ValueError(f"{key} outside the sandbox pool")
    if os.geteuid() == 0 and "--uid" not in single:
        raise ValueError("a root server forks kernels only for a pool uid")
    if "--home" in single:
        # a kernel's own folder (made by grader.kernel): the one place the view shows writable
        home = single["--home"]
        info = os.lstat(home)
        if (not os.path.basename(home).startswith("grader-kernel-") or not os.path.isdir(home)
                or os.path.islink(home) or info.st_uid not in {os.geteuid(), *range(UID_BASE, UID_BASE + UID_COUNT)}
                or os.path.dirname(os.path.realpath(single["--report"])) != os.path.realpath(home)):
            raise ValueError("--home is not a kernel folder")
    elif "--view" in sandbox_opts:
        raise ValueError("a request must name its kernel folder")
    return argv[:argv.index("--")] + sandbox_opts + argv[argv.index("--"):]


_FRESH = False  # set when the server's state is no longer safe to fork from: children exec afresh


def _preload_more(names: object) -> int:
    """Import ``names`` (a preload request) for the children forked from now on; how many were
    imported. Only submodules of packages the server already holds (the course's libraries,
    the kernel's own) and nothing that names CUDA. If an import started a thread or initialised
    CUDA, the server's state is no longer safe to fork from: from then on each child execs a
    freshly started kernel instead (as slow as without a server, never wrong)."""
    global _FRESH
    import gc
    import importlib
    import threading
    if not isinstance(names, list):
        raise ValueError("preload: expected a list of module names")
    held = {name.split(".")[0] for name in sys.modules}
    threads = threading.active_count()
    count = 0
    gc.disable()
    try:
        for name in names[:5000]:
            if (not isinstance(name, str) or name in sys.modules or "cuda" in name.lower()
                    or name.split(".")[0] not in held
                    or not all(part.isidentifier() for part in name.split("."))):
                continue
            try:
                importlib.import_module(name)
                count += 1
            except BaseException as exc:  # noqa: BLE001 - a kernel imports (and fails) itself
                print(f"fork server: could not preload {name}: {exc!r}"[:300], file=sys.stderr)
    finally:
        gc.freeze()
        gc.enable()
    torch = sys.modules.get("torch")
    if threading.active_count() != threads or (torch is not None and torch.cuda.is_initialized()):
        _FRESH = True
        print("fork server: a preloaded module started a thread or CUDA; kernels start afresh from now on",
              file=sys.stderr)
    return count


def _child(request: dict, fds: list[int], argv: list[str], server_fds: list[int], server_cwd: str,
           server_pid: int) -> None:
    code = 1
    try:
        # first of all: die with the server (a fork clears the parent-death signal), and not
        # become a kernel if the server is already gone
        from grader.kernels._launch import PR_SET_PDEATHSIG, _c
        _c().prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != server_pid:
            os._exit(1)
        os.setsid()
        for fd in server_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        tempfile.tempdir = None
        if _FRESH:  # (see _preload_more) the launcher of a fresh kernel, in this process
            os.environ.pop("JPY_PARENT_PID", None)  # (its parent is this server now)
            os.execv(sys.executable, [sys.executable, "-m", "grader.kernels._launch", *argv])
        sys.path[:] = [request["cwd"] if p in ("", server_cwd) else p for p in sys.path]
        from grader.kernels._launch import apply_sandbox, parse
        single, multi, flags, kernel_args = parse(argv)
        apply_sandbox(single, multi, flags, forked=True)
        sys.argv = ["ipykernel_launcher", *kernel_args]
        from ipykernel import kernelapp
        try:
            kernelapp.launch_new_instance(argv=kernel_args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        import atexit
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 - report and leave; never return into the server loop
        import traceback
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _warm_tracebacks() -> None:
    """Format one traceback the way a kernel's shell formats a cell's error. The first error in
    a kernel imports IPython's traceback machinery (stack_data, executing, pygments' lexers and
    formatters) and compiles the Python lexer's rules: a first failing cell took 70 ms in a
    forked kernel, 24 ms with this done (errors after the first cost about 20 ms). Done here
    once, every kernel forked from the server has it done (the traceback a student sees is
    unchanged)."""
    try:
        _highlight_with_one_lexer()
        from IPython.core import ultratb
        formatter = ultratb.AutoFormattedTB(mode="Context", theme_name="linux")
        try:
            raise RuntimeError("the fork server warming its traceback formatter")
        except RuntimeError as exc:
            formatter.structured_traceback(type(exc), exc, exc.__traceback__)
    except Exception as exc:  # noqa: BLE001 - only a kernel's first error is slower
        print(f"fork server: could not warm the traceback formatter: {exc!r}"[:300], file=sys.stderr)


def _highlight_with_one_lexer() -> None:
    """stack_data (IPython's traceback formatter) highlights each frame's lines with a lexer
    class it defines anew for every frame, so pygments compiles the Python lexer's rules again
    each time, for every failing cell of a submission (a notebook's own failed checks
    included): a cell failing three calls deep took 22 ms in a forked kernel, 18 ms with one
    class. The same function with one class, made here once: the lines it returns are the
    same (test_forkserver checks)."""
    import stack_data.core
    original = getattr(stack_data.core, "_pygmented_with_ranges", None)
    if not callable(original) or getattr(original, "one_lexer", False):
        return
    import pygments
    from pygments.lexers import get_lexer_by_name

    class RangesLexer(type(get_lexer_by_name("python3"))):  # type: ignore[misc]
        ranges: Any = ()

        def get_tokens(self, text: str) -> Any:  # (as stack_data.utils._pygmented_with_ranges)
            length = 0
            for ttype, value in super().get_tokens(text):
                if any(start <= length < end for start, end in self.ranges):
                    ttype = ttype.ExecutingNode
                length += len(value)
                yield ttype, value

    def pygmented_with_ranges(formatter: Any, code: str, ranges: Any) -> list[str]:
        lexer = RangesLexer(stripnl=False)
        lexer.ranges = ranges
        try:
            highlighted = pygments.highlight(code, lexer, formatter)
        except Exception:  # noqa: BLE001 - (as stack_data: plain code rather than no traceback)
            highlighted = code
        return highlighted.splitlines()

    pygmented_with_ranges.one_lexer = True  # type: ignore[attr-defined]
    RangesLexer(stripnl=False)  # (its rules compiled now, once)
    stack_data.core._pygmented_with_ranges = pygmented_with_ranges


def serve(path: str, parent: int, sandbox_opts: list[str], preload: list[str]) -> None:
    import gc
    import importlib
    from grader.kernels._launch import PR_SET_PDEATHSIG, _c
    _c().prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        return
    gc.disable()  # no full collections while torch and its kin load (see util.loading_for_long)
    for module in (*preload, *KERNEL_MODULES):
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - the kernel will import (and fail) itself
            print(f"fork server: could not preload {module}: {exc}", file=sys.stderr)
    _warm_tracebacks()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        # a fork of a process with a CUDA context cannot use CUDA: GPU kernels must start fresh
        print("fork server: CUDA was initialised while preloading; not serving", file=sys.stderr)
        return
    # what is loaded is never garbage: the kernels' collector need not walk it (and touches,
    # so copies, fewer of the pages the children share with the server)
    gc.freeze()
    gc.enable()
    server_cwd = os.getcwd()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    kernels: dict[int, socket.socket | None] = {}
    me = os.geteuid()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.close(devnull)

    def end(pid: int, status: int | None) -> None:
        conn = kernels.get(pid)
        if conn is None:
            return
        kernels[pid] = None
        try:
            sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        try:
            if status is not None:
                conn.sendall(struct.pack("!i", status))
        except OSError:
            pass
        conn.close()

    while True:
        if os.getppid() != parent:
            for pid in kernels:
                _kill(pid)
            return
        for key, _ in sel.select(timeout=0.02):
            if key.data is None:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                try:
                    cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
                    _, peer_uid, _ = struct.unpack("3i", cred)
                    if peer_uid != me:
                        raise ValueError(f"uid {peer_uid} may not use the fork server")
                    conn.settimeout(5)
                    request, fds = _recv_request(conn)
                    if "preload" in request:
                        for fd in fds:
                            os.close(fd)
                        count = _preload_more(request["preload"])
                        try:
                            conn.sendall(struct.pack("!i", count))
                        except OSError:
                            pass
                        conn.close()
                        continue
                    argv = _checked_argv(request, sandbox_opts)
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    print(f"fork server: refused a request: {exc}", file=sys.stderr)
                    conn.close()
                    continue
                server_fds = [listener.fileno(), sel.fileno(), conn.fileno()] + \
                    [c.fileno() for c in kernels.values() if c is not None]
                server_pid = os.getpid()
                pid = os.fork()
                if pid == 0:
                    _child(request, fds, argv, server_fds, server_cwd, server_pid)
                for fd in fds:
                    os.close(fd)
                try:
                    conn.sendall(struct.pack("!i", pid))
                except OSError:
                    _kill(pid)
                kernels[pid] = conn
                sel.register(conn, selectors.EVENT_READ, pid)
            else:
                # anything readable from a stub means it is gone (it never sends twice)
                try:
                    data = key.fileobj.recv(16)  # type: ignore[union-attr]  # a stub's socket
                except OSError:
                    data = b""
                if not data:
                    _kill(key.data)
                    end(key.data, None)
        while kernels:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            end(pid, os.waitstatus_to_exitcode(status))
            kernels.pop(pid, None)


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def main(argv: list[str]) -> None:
    from grader.kernels._launch import aslr_off
    if argv[0] != "--aslr-off":
        # the children inherit this process's address layout: fix it by exec'ing once with
        # randomisation off
        if aslr_off():
            os.execv(sys.executable, [sys.executable, "-m", "grader.kernels.forkserver", "--aslr-off", *argv])
    else:
        argv = argv[1:]
    path, parent, opts, *preload = argv
    serve(path, int(parent), json.loads(opts), preload)


if __name__ == "__main__":
    main(sys.argv[1:])
