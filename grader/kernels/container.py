"""The optional container wrapper: each kernel in its own podman or docker container.

``grader grade ... --container podman`` (or ``docker``) starts every kernel with

    ENGINE run --rm --network none --read-only --memory M --pids-limit N --cpus C ...

instead of a plain process. The default sandbox (:mod:`grader.sandbox`) needs no container;
this adds the engine's isolation on top for sites that want it. The kernel still talks to the
grader over unix sockets (jupyter_client's IPC transport) in its private folder, the one
folder mounted read-write, so ``--network none`` costs nothing.

Two ways to give the container a Python:

- ``--container-image IMAGE``: an image with Python, ipykernel and the course's libraries
  (docker needs one);
- no image, podman only: the container's root is an empty skeleton into which the runtime a
  kernel sees without a container is mounted read-only (``/usr``, a few files of ``/etc``, the
  grader's Python installation and virtual environment; ``podman run --rootfs``), with an
  ``/etc/passwd`` of its own. Nothing else of the host is visible: not the course repository,
  the submissions, the outputs, ``/root`` or ``/home``.

Inside, the kernel starts as root of the container and the grader's launcher (the same
``grader/_launch.py`` as outside, mounted as one read-only file) applies the rlimits, chowns
the connection file and switches to the kernel's pool uid before ipykernel is imported, so the
uid-based guarantees (the process cap, cleaning up every process of the uid) hold as without a
container. Closing a kernel removes its container (``ENGINE rm -f``); containers left by a
grader that was killed are removed by the next one (they carry the owner's pid as a label).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import ContainerError
from ..util import process_tempdir
from .sandbox import TOP_LEVEL_LINKS, runtime_paths

ENGINES = ("podman", "docker")
OWNER_LABEL = "grader.owner"
LAUNCHER = "/opt/grader/_launch.py"
# above the kernel's own memory cap (an rlimit, which gives a clean MemoryError first): the
# cgroup limit of the whole container is the backstop
CGROUP_SLACK = 512 * 1024**2


_READY: set[str] = set()  # engines checked (and swept) by this process




@dataclass(frozen=True)
class Container:
    engine: str = "podman"
    image: str | None = None
    python: str = "python3"  # the interpreter's name inside an image

    def __post_init__(self) -> None:
        if os.path.basename(self.engine) not in ENGINES:
            raise ContainerError(f"unknown container engine {self.engine!r}; use one of: {', '.join(ENGINES)}")

    @property
    def name(self) -> str:
        return os.path.basename(self.engine)

    def check(self) -> str:
        """The engine's version; raises ContainerError when it cannot be used as configured."""
        path = shutil.which(self.engine)
        if path is None:
            raise ContainerError(f"--container {self.engine}: {self.engine} is not installed (or not on PATH)")
        if self.image is None and self.name != "podman":
            raise ContainerError(f"--container {self.name} needs --container-image IMAGE (an image with "
                                 "Python, ipykernel and the course's libraries); only podman can run "
                                 "the host's Python without an image")
        try:
            done = subprocess.run([path, "version", "--format", "{{.Client.Version}}"],
                                  capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ContainerError(f"{self.engine} does not answer: {exc}") from None
        if done.returncode != 0:
            raise ContainerError(f"{self.engine} does not work here: "
                                 f"{(done.stderr or done.stdout).strip().splitlines()[-1:] or ['no output']}")
        return done.stdout.strip()

    def ready(self, device: str = "cpu") -> None:
        """Once per engine and grader process (workers forked later inherit it): refuse GPU
        kernels, check the engine, remove containers of graders that no longer run."""
        if device != "cpu":
            raise ContainerError("GPU kernels in containers are not supported yet; grade on the "
                                 "GPU without --container")
        if self.engine not in _READY:
            self.check()
            self.remove_orphans()
            _READY.add(self.engine)

    def runtime_options(self) -> list[str]:
        """podman's default runtime (crun) refuses hybrid cgroup v1/v2 hosts; runc does not."""
        if self.name == "podman" and not Path("/sys/fs/cgroup/cgroup.controllers").exists() \
                and shutil.which("runc"):
            return ["--runtime", "runc"]
        return []

    def kernel_command(self, *, root: Path, workdir: Path, env: dict[str, str], memory: int | None,
                       processes: int | None, threads: int, launcher_options: list[str],
                       uid: int | None = None) -> tuple[list[str], str]:
        """The kernelspec command for one kernel and the container's name. ``root`` is the
        kernel's private folder (working directory, sockets, connection file, report); it is
        mounted at the same path inside, read-write."""
        name = f"grader-kernel-{uuid.uuid4().hex[:16]}"
        # address-space randomisation off, as for kernels without a container (scores of code
        # that depends on object ids must not change between runs): the engine's seccomp
        # profile refuses to switch it off inside, but the setting is inherited through the
        # engine and the runtime
        argv = [sys.executable, "-c", _ASLR_OFF_EXEC, self.engine, *self.runtime_options(), "run", "--rm", "-i", "--name", name,
                "--label", f"{OWNER_LABEL}={os.getpid()}",
                "--network", "none", "--read-only", "--ipc", "private",
                "--cap-drop", "all", "--cap-add", "CHOWN", "--cap-add", "DAC_OVERRIDE", "--cap-add", "SETUID",
                "--cap-add", "SETGID",
                "--cpus", str(max(1, threads)),
                "--ulimit", "nofile=1024:1024", "--ulimit", f"nproc={processes or 4096}:{processes or 4096}",
                "-v", f"{root}:{root}", "-v", f"{Path(__file__).with_name('_launch.py')}:{LAUNCHER}:ro",
                "-w", str(workdir)]
        if memory:
            limit = int(memory) + CGROUP_SLACK
            argv += ["--memory", str(limit), "--memory-swap", str(limit)]
        if processes:
            argv += ["--pids-limit", str(int(processes))]
        for key, value in sorted(env.items()):
            argv += ["-e", f"{key}={value}"]
        if self.image is not None:
            argv += [self.image, self.python]
        else:
            # --rootfs is a flag: the positional that follows it is the root folder
            argv += [*host_python_mounts(), *user_files(root, uid), "--rootfs", str(skeleton()),
                     sys.executable]
        argv += [LAUNCHER, *launcher_options]
        return argv, name

    def remove(self, name: str) -> None:
        """Kill and remove one container (nothing happens if it is gone already)."""
        try:
            subprocess.run([self.engine, *self.runtime_options(), "rm", "-f", "-t", "0", name],
                           capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def remove_orphans(self) -> list[str]:
        """Remove the kernel containers of graders that no longer run."""
        try:
            done = subprocess.run([self.engine, "ps", "-a", "--filter", f"label={OWNER_LABEL}",
                                   "--format", f'{{{{.Names}}}} {{{{index .Labels "{OWNER_LABEL}"}}}}'],
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return []
        removed = []
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit() and not _alive(int(parts[1])):
                self.remove(parts[0])
                removed.append(parts[0])
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_ASLR_OFF_EXEC = ("import ctypes, os, sys; c = ctypes.CDLL(None); p = c.personality(0xFFFFFFFF); "
                  "p != -1 and c.personality(p | 0x0040000); os.execvp(sys.argv[1], sys.argv[1:])")

_SKELETON: Path | None = None


def skeleton() -> Path:
    """An empty root filesystem for ``podman run --rootfs`` (made once per grader process):
    the mount points, and the host's top-level links into /usr (bin -> usr/bin on merged-/usr
    systems)."""
    global _SKELETON
    if _SKELETON is None or not _SKELETON.is_dir():
        # the root must be 0755 (it is the container's "/"), its parent is this process's 0700
        # folder: kernels outside a container cannot look into it
        root = process_tempdir("rootfs") / "root"
        root.mkdir(mode=0o755)
        os.chmod(root, 0o755)
        for name in ("usr", "etc", "tmp", "proc", "sys", "dev", "run", "var", "var/tmp"):
            (root / name).mkdir(parents=True, exist_ok=True)
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / name
            if host.is_symlink():
                (root / name).symlink_to(os.readlink(host))
            elif host.is_dir():
                (root / name).mkdir()
        _SKELETON = root
    return _SKELETON


def host_python_mounts() -> list[str]:
    """Read-only mounts that let the skeleton run this grader's Python: the same runtime a
    kernel sees without a container (:func:`grader.sandbox.runtime_paths`: ``/usr``, the
    library folders that are real folders, a few files of ``/etc``, the Python installation and
    the virtual environment). The skeleton has the top-level links itself."""
    out: list[str] = []
    for path in runtime_paths():
        if path in TOP_LEVEL_LINKS and os.path.islink(path):
            continue
        out += ["-v", f"{path}:{path}:ro"]
    return out


def user_files(root: Path, uid: int | None) -> list[str]:
    """``/etc/passwd`` and ``/etc/group`` for the kernel (its uid is "student"), written into
    its folder and mounted read-only; the host's are not shown."""
    uid = 0 if uid is None else uid
    folder = root / "etc"
    folder.mkdir(exist_ok=True)
    (folder / "passwd").write_text(f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                   f"student:x:{uid}:{uid}:student:/nonexistent:/bin/sh\n"
                                   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    (folder / "group").write_text(f"root:x:0:\nstudent:x:{uid}:\nnogroup:x:65534:\n")
    return ["-v", f"{folder / 'passwd'}:/etc/passwd:ro", "-v", f"{folder / 'group'}:/etc/group:ro"]
