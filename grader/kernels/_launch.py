"""Kernel launcher: puts itself in the sandbox, then becomes an IPython kernel.

Started by jupyter_client through the kernelspec that :mod:`grader.kernel` writes::

    python -m grader.kernels._launch [options] -- <ipykernel args>

(the options are listed in ``OPTIONS`` below). Standard library only: a container runs this
file on its own, and the fork server calls :func:`apply_sandbox` in each forked kernel.

In this order, before any notebook code exists in the process: resource limits; a network
namespace with no interface up; the filesystem view; no-new-privileges; then the switch to an
unprivileged uid (as root) or the loss of every capability (without root). What was applied is
written to the report file (JSON) for the grader to record; a step that cannot be applied on
this machine is reported as such, never silently assumed.

**The filesystem view is an allow-list.** The kernel gets a new root: an empty tmpfs into which
only the runtime is bound read-only (``--ro``: ``/usr``, the ``lib`` links, a few files of
``/etc``, the Python installation and the virtual environment), its own folder (``--home``:
``work/`` and ``ipc/`` read-write, the connection file read-only), a private empty ``/tmp``, a
minimal ``/dev`` (null, zero, full, random, urandom, shm, and ``--dev`` nodes for a GPU kernel),
a ``/proc`` that shows only the kernel's own processes and ``/sys`` read-only. ``pivot_root``
then makes it the kernel's ``/`` and the host's tree is detached: other courses, other batches,
home folders, ``/var``, ``/srv``, ``/opt`` and the host's mount list are not there to be read.
``/etc/passwd`` and ``/etc/group`` are written for the kernel (its own uid is "student").
``--hide`` paths that lie inside a ``--ro`` path are covered with empty mounts.

As root the namespaces are plain ones; without root the same is done inside a user namespace
(where the kernel allows them), mapping only the user's own uid, and every capability is
dropped once the view is built.
"""
from __future__ import annotations

import ctypes
import json
import os
import platform
import sys

try:  # missing on Windows: the launcher is then not used (see grader.sandbox.supported)
    import resource
except ImportError:  # pragma: no cover - not Linux
    resource = None  # type: ignore[assignment]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
ADDR_NO_RANDOMIZE = 0x0040000
QUERY = ctypes.c_ulong(0xFFFFFFFF)  # as unsigned: a seccomp filter compares the whole register
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203,
                  "ppc64": 203, "s390x": 217}
# statvfs flags -> the mount flags a read-only remount must keep (in a user namespace the
# kernel refuses to drop them: they are locked)
_KEEP_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
               (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
               (os.ST_RELATIME, MS_RELATIME)) if hasattr(os, "ST_NOSUID") else ()
DEV_NODES = ("null", "zero", "full", "random", "urandom")
TMP_SIZE = "256m"    # the kernel's private /tmp and /dev/shm (memory: capped)

# option -> kind: "value" takes one argument, "multi" one argument and may repeat, "flag" none.
# An option not listed here is an error (never silently eats the next argument).
OPTIONS = {
    "--report": "value",   # the JSON file to write what was applied to
    "--memory": "value",   # data-segment cap in bytes (RLIMIT_DATA)
    "--fsize": "value",    # file-size cap in bytes
    "--nproc": "value",    # processes + threads of the kernel's uid
    "--uid": "value",      # as root: the kernel's uid (and --gid); needs a pool uid
    "--gid": "value",
    "--chown": "multi",    # files handed to --uid before the switch (the connection file)
    "--netns": "flag",     # a network namespace with no interface up
    "--view": "flag",      # the allow-list filesystem view (below)
    "--home": "value",     # the kernel's private folder (work/, ipc/, connection.json)
    "--ro": "multi",       # runtime paths the view shows read-only
    "--hide": "multi",     # paths covered even inside a --ro path
    "--dev": "multi",      # extra device nodes (a GPU kernel's /dev/nvidia*)
}

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
    except (ValueError, OSError, AttributeError):
        return False


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def parse(argv: list[str]) -> tuple[dict[str, str], dict[str, list[str]], set[str], list[str]]:
    """Split ``[options] -- <ipykernel args>``; raises ValueError for an unknown option or one
    without its argument."""
    if "--" not in argv:
        raise ValueError("the launcher needs '--' before the kernel's arguments")
    sep = argv.index("--")
    opts, kernel_args = argv[:sep], argv[sep + 1:]
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {k: [] for k, kind in OPTIONS.items() if kind == "multi"}
    flags: set[str] = set()
    i = 0
    while i < len(opts):
        key = opts[i]
        kind = OPTIONS.get(key)
        if kind is None:
            raise ValueError(f"unknown launcher option {key!r}")
        if kind == "flag":
            flags.add(key)
            i += 1
            continue
        if i + 1 >= len(opts):
            raise ValueError(f"launcher option {key} needs a value")
        if kind == "multi":
            multi[key].append(opts[i + 1])
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


# ------------------------------------------------------------------------ the filesystem view
def _kept_flags(path: str) -> int:
    try:
        flags = os.statvfs(path).f_flag
    except OSError:
        return 0
    return sum(ms for st, ms in _KEEP_FLAGS if flags & st)


def _bind(source: str, target: str, *, writable: bool = False, recursive: bool = True) -> None:
    _mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if not writable:
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | _kept_flags(source))


def _mount_point(target: str, like: str) -> None:
    """An empty directory or file at ``target`` (in the new root) to bind ``like`` onto."""
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if os.path.isdir(like):
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif not os.path.lexists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))


class _View:
    """Builds the new root under ``root`` (an empty tmpfs)."""

    def __init__(self, root: str):
        self.root = root
        self.bound: list[str] = []  # real host paths visible in the view

    def at(self, path: str) -> str:
        return self.root + path

    def covered(self, real: str) -> bool:
        return any(_under(real, b) for b in self.bound)

    def show(self, path: str) -> None:
        """Make ``path`` (file, folder or symbolic link) visible read-only at the same path."""
        if not os.path.lexists(path):
            return
        parent = os.path.dirname(path)
        if os.path.realpath(parent) != parent:
            # a folder on the way is a link: the links on the way, then the real place
            self._links_on_the_way(parent)
            self.show(os.path.join(os.path.realpath(parent), os.path.basename(path)))
            return
        if os.path.islink(path):  # e.g. /bin -> usr/bin: the link, and what it points to
            self._symlink(path)
            real = os.path.realpath(path)
            if os.path.exists(real):
                self.show(real)
            return
        if self.covered(path):
            return
        _mount_point(self.at(path), path)
        _bind(path, self.at(path))
        self.bound.append(path)

    def _symlink(self, path: str) -> None:
        target = self.at(path)
        if not os.path.lexists(target):
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            os.symlink(os.readlink(path), target)

    def _links_on_the_way(self, path: str) -> None:
        """Only the links themselves: what they point to is shown no further than asked."""
        current = ""
        for part in path.strip("/").split("/"):
            current = f"{current}/{part}"
            if os.path.islink(current):
                self._symlink(current)
                current = os.path.realpath(current)

    def hide(self, path: str) -> str | None:
        """Cover ``path`` if the view shows it (it lies inside a --ro path)."""
        if not os.path.exists(path):
            return None
        real = os.path.realpath(path)
        if not self.covered(real):
            return None
        target = self.at(real)
        if os.path.isdir(real):
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=0755")
        else:
            _bind("/dev/null", target, recursive=False)
        return real

    def own_folder(self, home: str) -> None:
        """The kernel's folder: work/ and ipc/ read-write, the connection file read-only."""
        home = os.path.realpath(home)
        for name in ("work", "ipc"):
            source = os.path.join(home, name)
            if os.path.isdir(source):
                _mount_point(self.at(source), source)
                _bind(source, self.at(source), writable=True, recursive=False)
        connection = os.path.join(home, "connection.json")
        if os.path.isfile(connection):
            _mount_point(self.at(connection), connection)
            _bind(connection, self.at(connection), recursive=False)

    def devices(self, extra: list[str]) -> None:
        dev = self.at("/dev")
        os.makedirs(dev, mode=0o755, exist_ok=True)
        _mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
        for name in DEV_NODES:
            if os.path.exists(f"/dev/{name}"):
                _mount_point(f"{dev}/{name}", f"/dev/{name}")
                _mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
        for path in extra:  # at the same path (under /dev in practice)
            if os.path.exists(path):
                _mount_point(self.at(path), path)
                _mount(path, self.at(path), None, MS_BIND | MS_REC)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"{dev}/{name}")
        os.makedirs(f"{dev}/shm", mode=0o1777)
        _mount("tmpfs", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={TMP_SIZE},mode=1777")
        _mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")

    def proc(self, rootful: bool) -> str:
        target = self.at("/proc")
        os.makedirs(target, mode=0o555, exist_ok=True)
        if rootful:
            # a proc instance of its own, showing only the processes of the kernel's uid; since
            # Linux 5.8 each proc mount has its own options (before, hidepid would have changed
            # the host's /proc too, so it is not asked for there)
            try:
                major, minor = (int(x) for x in platform.release().split(".")[:2])
            except ValueError:
                major, minor = 0, 0
            options = "hidepid=invisible" if (major, minor) >= (5, 8) else None
            try:
                _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, options)
                return "own processes only" if options else "all processes"
            except OSError:
                pass
        # in a user namespace without a pid namespace a new proc cannot be mounted: the host's
        _bind("/proc", target)
        return "the host's (read-only)"

    def etc(self, uid: int, gid: int, home: str) -> None:
        etc = self.at("/etc")
        os.makedirs(etc, mode=0o755, exist_ok=True)
        for name, text in (("passwd", f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                      f"student:x:{uid}:{gid}:student:{home}:/bin/sh\n"
                                      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
                           ("group", f"root:x:0:\nstudent:x:{gid}:\nnogroup:x:65534:\n")):
            with open(f"{etc}/{name}", "w", encoding="ascii") as handle:
                handle.write(text)


def _pivot(root: str) -> None:
    """Make ``root`` this process's ``/`` and detach the old tree."""
    number = SYS_PIVOT_ROOT.get(platform.machine())
    os.chdir(root)
    if number is not None:
        _check(_c().syscall(ctypes.c_long(number), b".", b"."), "pivot_root")
        _check(_c().umount2(b".", MNT_DETACH), "umount old root")
    else:  # an architecture whose syscall number is not listed: move the tree over / instead
        _mount(root, "/", None, 1 << 13)  # MS_MOVE
        _check(_c().chroot(b"."), "chroot")
    os.chdir("/")


def _enter_user_namespace(flags: int) -> None:
    """Without root: a user namespace that maps only our own uid and gid (plus ``flags``)."""
    uid, gid = os.getuid(), os.getgid()
    _check(_c().unshare(CLONE_NEWUSER | flags), "unshare(user)")
    for name, text in (("uid_map", f"{uid} {uid} 1\n"), ("setgroups", "deny\n"), ("gid_map", f"{gid} {gid} 1\n")):
        with open(f"/proc/self/{name}", "w", encoding="ascii") as handle:
            handle.write(text)


def _drop_capabilities() -> None:
    """Every capability of this process, gone (the ones a user namespace gave it)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)   # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()                    # effective, permitted, inheritable x 2
    _check(_c().capset(header, data), "capset")


def build_view(single: dict[str, str], multi: dict[str, list[str]], rootful: bool,
               uid: int, gid: int) -> dict[str, object]:
    """Enter a new mount namespace (already entered without root) and pivot into the view."""
    cwd = os.getcwd()
    home = single.get("--home")
    if home is None:
        raise OSError(22, "--view needs --home (the kernel's folder)")
    if rootful:
        _check(_c().unshare(CLONE_NEWNS), "unshare(mount)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    stage = os.path.join(home, "stage")
    os.makedirs(stage, mode=0o700, exist_ok=True)
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    view = _View(stage)
    # first the private /tmp: a runtime path or the kernel's folder may lie below /tmp
    os.makedirs(view.at("/tmp"), mode=0o1777, exist_ok=True)
    _mount("tmpfs", view.at("/tmp"), "tmpfs", MS_NOSUID | MS_NODEV, f"size={TMP_SIZE},mode=1777")
    for path in sorted(multi["--ro"], key=len):
        view.show(path)
    view.own_folder(home)
    view.devices(multi["--dev"])
    proc = view.proc(rootful)
    os.makedirs(view.at("/sys"), mode=0o555, exist_ok=True)
    try:  # (in a user namespace the mounts below /sys are locked to it: recursive only)
        _bind("/sys", view.at("/sys"), recursive=not rootful)
    except OSError:
        pass  # some container hosts refuse it; /sys only tells about the hardware
    view.etc(uid, gid, os.path.join(os.path.realpath(home), "work"))
    covered = [p for p in (view.hide(h) for h in multi["--hide"]) if p]
    _pivot(stage)
    _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(cwd)
    return {"filesystem": "allow-list", "visible": sorted(os.listdir("/")), "proc": proc,
            "hidden": covered}


# ------------------------------------------------------------------------------ the sandbox
def apply_sandbox(single: dict[str, str], multi: dict[str, list[str]], flags: set[str],
                  forked: bool = False) -> dict[str, object]:
    """Put this process in the sandbox and write the report; returns the report.
    ``forked``: this process was forked from the fork server (no exec follows)."""
    report: dict[str, object] = {}
    errors: dict[str, str] = {}
    parent = os.getppid()  # jupyter_client's process, or the fork server
    rootful = os.geteuid() == 0

    if "--memory" in single:
        # RLIMIT_DATA (heap + private anonymous mappings) rather than RLIMIT_AS: CUDA-enabled
        # torch reserves huge virtual ranges it never touches, which RLIMIT_AS would refuse.
        report["memory"] = int(single["--memory"]) if _set(resource.RLIMIT_DATA, int(single["--memory"])) else None
    if "--fsize" in single:
        report["file_size"] = int(single["--fsize"]) if _set(resource.RLIMIT_FSIZE, int(single["--fsize"])) else None
    if resource is not None:
        _set(resource.RLIMIT_CORE, 0)
    # no address-space randomisation (for a fresh kernel; a forked one inherits the server's)
    persona = _c().personality(QUERY)
    report["aslr_off"] = (persona != -1 and bool(persona & ADDR_NO_RANDOMIZE)) if forked else aslr_off()
    uid = int(single["--uid"]) if "--uid" in single and rootful else None
    gid = int(single.get("--gid", str(uid))) if uid is not None else None
    if "--nproc" in single:
        # counted per uid: meaningful once the kernel has a uid of its own
        report["processes"] = int(single["--nproc"]) if (
            _set(resource.RLIMIT_NPROC, int(single["--nproc"])) and uid is not None) else None

    # namespaces: as root plain ones; without root inside a user namespace
    want_net, want_view = "--netns" in flags, "--view" in flags
    in_userns = False
    if not rootful and (want_net or want_view):
        try:
            _enter_user_namespace((CLONE_NEWNET if want_net else 0) | (CLONE_NEWNS if want_view else 0))
            in_userns = True
        except OSError as exc:
            reason = f"user namespaces are not available without root ({exc.strerror or exc})"
            for key, wanted in (("network", want_net), ("filesystem", want_view)):
                if wanted:
                    errors[key] = reason
            want_net = want_view = False
    if want_net:
        try:
            if rootful:
                _check(_c().unshare(CLONE_NEWNET), "unshare(net)")
            report["network"] = "none"
        except OSError as exc:
            errors["network"] = str(exc)
            report["network"] = None
    # opened while the host's tree is still there: the report can be written at the end
    handle = open(single["--report"], "w", encoding="utf-8") if "--report" in single else None
    if uid is not None:
        try:  # before the view, which shows the connection file read-only
            for path in multi["--chown"]:
                os.chown(path, uid, gid if gid is not None else uid)
        except OSError as exc:
            errors["uid"] = str(exc)
    if want_view:
        try:
            report.update(build_view(single, multi, rootful, uid if uid is not None else os.getuid(),
                                     gid if gid is not None else os.getgid()))
        except OSError as exc:
            errors["filesystem"] = str(exc)
            report["filesystem"] = None
    if uid is not None:
        try:
            _check(_c().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
            os.setgroups([])
            os.setgid(gid if gid is not None else uid)
            os.setuid(uid)
            report["uid"] = uid
        except OSError as exc:
            errors["uid"] = str(exc)
            report["uid"] = None
    elif rootful and "--uid" in single:
        report["uid"] = None
    if in_userns:
        try:
            _check(_c().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
            _drop_capabilities()
        except OSError as exc:
            errors["capabilities"] = str(exc)
    if not rootful:
        errors.setdefault("uid", "the grader does not run as root: the kernel keeps the grader's uid")
    # after the uid switch, which clears it: the kernel dies with the process that started it
    _c().prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)
    report["errors"] = errors
    report["pid"] = os.getpid()
    if handle is not None:
        json.dump(report, handle)
        handle.close()
    return report


def main(argv: list[str]) -> None:
    try:
        single, multi, flags, kernel_args = parse(argv)
    except ValueError as exc:
        print(f"grader launcher: {exc}", file=sys.stderr)
        sys.exit(2)
    apply_sandbox(single, multi, flags)
    # the parent-death signal is set above; if jupyter_client's process (it names itself in
    # JPY_PARENT_PID) died before that, the signal will never come: do not become a kernel
    parent = os.environ.get("JPY_PARENT_PID", "")
    if parent.isdigit() and os.getppid() != int(parent):
        sys.exit(1)
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *kernel_args])


if __name__ == "__main__":
    main(sys.argv[1:])
