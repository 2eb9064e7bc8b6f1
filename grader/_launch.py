"""Kernel launcher: puts itself in the sandbox, then becomes an IPython kernel.

Started by jupyter_client through the kernelspec that :mod:`grader.sandbox` writes::

    python -m grader._launch --report FILE [--memory B] [--fsize B] [--nproc N] [--uid U --gid G]
        [--netns] [--hide PATH ...] [--expose PATH ...] [--chown FILE ...] -- <ipykernel args>

In this order, before any notebook code exists in the process: resource limits; a network
namespace with no interface up; a mount namespace in which the hidden paths are covered by
empty read-only tmpfs mounts (with the Python installation bound back so the kernel can start);
no-new-privileges; then the switch to an unprivileged uid. What was applied is written to the
report file (JSON) for the grader to record. Every step that cannot be applied on this machine
is reported as such, never silently assumed.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
ADDR_NO_RANDOMIZE = 0x0040000
QUERY = ctypes.c_ulong(0xFFFFFFFF)  # as unsigned: a seccomp filter compares the whole register

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_c().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _set(limit: int, value: int) -> bool:
    try:
        _, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, value))
        return True
    except (ValueError, OSError):
        return False


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _hide(hide: list[str], expose: list[str], stage_root: str) -> list[str]:
    """Cover each path in ``hide`` with an empty tmpfs; bind the ``expose`` paths that lie
    under a hidden one back in, read-only. Returns the paths hidden."""
    _check(_c().unshare(CLONE_NEWNS), "unshare(mount)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    hide = sorted({os.path.realpath(p) for p in hide if os.path.exists(p)}, key=len)
    # drop paths inside another hidden path
    kept: list[str] = []
    for path in hide:
        if not any(_under(path, k) for k in kept):
            kept.append(path)
    staged: list[tuple[str, str]] = []
    for index, path in enumerate(sorted({os.path.realpath(p) for p in expose if os.path.exists(p)})):
        if any(_under(path, h) for h in kept):
            stage = os.path.join(stage_root, f"expose{index}")
            os.makedirs(stage, exist_ok=True)
            _mount(path, stage, None, MS_BIND | MS_REC)
            staged.append((path, stage))
    for path in kept:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
        else:
            _mount("/dev/null", path, None, MS_BIND)
    for path, stage in staged:
        os.makedirs(path, exist_ok=True)
        _mount(stage, path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    for path in kept:
        if os.path.isdir(path):
            _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
    return kept


def parse(argv: list[str]) -> tuple[dict[str, str], dict[str, list[str]], set[str], list[str]]:
    """Split ``[options] -- <ipykernel args>``."""
    sep = argv.index("--")
    opts, kernel_args = argv[:sep], argv[sep + 1:]
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {"--hide": [], "--expose": [], "--chown": []}
    flags: set[str] = set()
    i = 0
    while i < len(opts):
        key = opts[i]
        if key in ("--netns",):
            flags.add(key)
            i += 1
        elif key in multi:
            multi[key].append(opts[i + 1])
            i += 2
        else:
            single[key] = opts[i + 1]
            i += 2
    return single, multi, flags, kernel_args


def aslr_off() -> bool:
    """Turn address-space randomisation off for the next exec; True if it is (or will be) off."""
    current = _c().personality(QUERY)
    if current != -1 and current & ADDR_NO_RANDOMIZE:
        return True  # inherited (a container's seccomp profile may refuse to set it again)
    return current != -1 and _c().personality(current | ADDR_NO_RANDOMIZE) != -1


def apply_sandbox(single: dict[str, str], multi: dict[str, list[str]], flags: set[str],
                  forked: bool = False) -> dict[str, object]:
    """Put this process in the sandbox and write the report; returns the report.
    ``forked``: this process was forked from the fork server (no exec follows)."""
    report: dict[str, object] = {}
    errors: dict[str, str] = {}
    parent = os.getppid()  # jupyter_client's process, or the fork server

    if "--memory" in single:
        # RLIMIT_DATA (heap + private anonymous mappings) rather than RLIMIT_AS: CUDA-enabled
        # torch reserves huge virtual ranges it never touches, which RLIMIT_AS would refuse.
        report["memory"] = int(single["--memory"]) if _set(resource.RLIMIT_DATA, int(single["--memory"])) else None
    if "--fsize" in single:
        report["file_size"] = int(single["--fsize"]) if _set(resource.RLIMIT_FSIZE, int(single["--fsize"])) else None
    _set(resource.RLIMIT_CORE, 0)
    # no address-space randomisation: code whose result depends on object ids (set order of
    # objects hashed by id) then behaves the same on every run, so grading twice agrees.
    # (A kernel forked from the fork server inherits the server's layout, which started so.)
    persona = _c().personality(QUERY)
    report["aslr_off"] = (persona != -1 and bool(persona & ADDR_NO_RANDOMIZE)) if forked else aslr_off()
    uid = int(single["--uid"]) if "--uid" in single else None
    gid = int(single.get("--gid", uid)) if uid is not None else None
    if "--nproc" in single:
        # counted per uid: meaningful once the kernel has a uid of its own
        report["processes"] = int(single["--nproc"]) if (
            _set(resource.RLIMIT_NPROC, int(single["--nproc"])) and uid is not None) else None
    if "--netns" in flags:
        try:
            _check(_c().unshare(CLONE_NEWNET), "unshare(net)")
            report["network"] = "none"
        except OSError as exc:
            errors["network"] = str(exc)
            report["network"] = None
    if multi["--hide"]:
        try:
            stage = os.path.join(os.path.dirname(single["--report"]), "stage")
            report["hidden"] = _hide(multi["--hide"], multi["--expose"], stage)
        except OSError as exc:
            errors["hidden"] = str(exc)
            report["hidden"] = None
    # opened while still privileged: the report can be written after the switch of uid
    handle = open(single["--report"], "w", encoding="utf-8") if "--report" in single else None
    if uid is not None:
        try:
            for path in multi["--chown"]:
                os.chown(path, uid, gid)
            _check(_c().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            report["uid"] = uid
        except OSError as exc:
            errors["uid"] = str(exc)
            report["uid"] = None
    # after the uid switch, which clears it: the kernel dies with the process that started it
    _c().prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above: the signal will never come
        os._exit(1)
    report["errors"] = errors
    report["pid"] = os.getpid()
    if handle is not None:
        json.dump(report, handle)
        handle.close()
    return report


def main(argv: list[str]) -> None:
    single, multi, flags, kernel_args = parse(argv)
    apply_sandbox(single, multi, flags)
    # the parent-death signal is set above; if jupyter_client's process (it names itself in
    # JPY_PARENT_PID) died before that, the signal will never come: do not become a kernel
    parent = os.environ.get("JPY_PARENT_PID", "")
    if parent.isdigit() and os.getppid() != int(parent):
        sys.exit(1)
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *kernel_args])


if __name__ == "__main__":
    main(sys.argv[1:])
