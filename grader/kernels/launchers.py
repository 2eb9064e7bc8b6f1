"""How a kernel process is started: one :class:`Launcher` per way, behind one protocol.

- ``plain``: ipykernel itself, no sandbox (macOS and Windows, where `grader check` runs the
  notebook but nothing is graded);
- ``fork server``: a fork of a process that has ipykernel and the reference's libraries
  imported (:mod:`grader.kernels.forkserver`), put in the sandbox by the same launcher code;
- ``fresh``: a new Python process running the launcher (:mod:`grader.kernels._launch`), which
  applies the sandbox and becomes ipykernel;
- ``container``: the launcher inside a podman or docker container (:mod:`.container`).

:func:`launch_for` picks the first that applies and works (a fork server that will not start
falls back to a fresh process, and says so in the log). A new way is a new class here and a
line in :func:`candidates`.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from . import forkserver
from .spec import KernelLimits, limit_options, sandbox_env, sandbox_options

if TYPE_CHECKING:
    from pathlib import Path

    from .sandbox import Sandbox

log = logging.getLogger(__name__)


@dataclass
class KernelSetup:
    """What a launcher needs to know about the kernel it starts."""
    limits: KernelLimits
    sandbox: "Sandbox | None"
    device: str
    gpu: str | None
    root: "Path"                      # the kernel's private folder
    workdir: "Path"
    env: dict[str, str]
    uid: int | None
    preload: list[str] = field(default_factory=list)


@dataclass
class Launch:
    command: list[str]                # the start of the kernelspec's argv
    started_by: str                   # for the isolation report
    sandboxed: bool = True            # the command takes the launcher's per-kernel options
    preloaded: bool = False           # the preload list is imported already
    container_name: str | None = None


class Launcher(Protocol):
    name: str

    def applies(self, setup: KernelSetup) -> bool: ...

    def launch(self, setup: KernelSetup) -> Launch:
        """The command; raises forkserver.ForkServerError (or OSError) when it cannot start."""


class PlainLauncher:
    name = "plain"

    def applies(self, setup: KernelSetup) -> bool:
        from .sandbox import supported
        return not supported()

    def launch(self, setup: KernelSetup) -> Launch:
        return Launch([sys.executable, "-m", "ipykernel_launcher"],
                      f"a plain process (no sandbox on {sys.platform})", sandboxed=False)


class ContainerLauncher:
    name = "container"

    def applies(self, setup: KernelSetup) -> bool:
        return setup.sandbox is not None and setup.sandbox.container is not None

    def launch(self, setup: KernelSetup) -> Launch:
        assert setup.sandbox is not None and setup.sandbox.container is not None
        container = setup.sandbox.container
        command, name = container.kernel_command(
            root=setup.root, workdir=setup.workdir, env=setup.env, memory=setup.limits.memory,
            processes=setup.sandbox.processes, threads=setup.limits.threads,
            launcher_options=limit_options(setup.limits, setup.sandbox), uid=setup.uid)
        return Launch(command, f"a {container.name} container", container_name=name)


class ForkServerLauncher:
    name = "fork server"

    def applies(self, setup: KernelSetup) -> bool:
        # GPU kernels too: the server imports torch but never starts CUDA (it runs with no GPU
        # visible and refuses to serve if CUDA was initialised while preloading), and each
        # child is given its slot's CUDA_VISIBLE_DEVICES in its own environment before the
        # notebook's first CUDA call, which is when CUDA reads it
        return forkserver.enabled()

    def launch(self, setup: KernelSetup) -> Launch:
        server = fork_server(setup.limits, setup.sandbox, setup.preload, gpu=setup.gpu)
        return Launch(server.stub_argv(), "the fork server", preloaded=True)


class FreshLauncher:
    name = "fresh"

    def applies(self, setup: KernelSetup) -> bool:
        return True

    def launch(self, setup: KernelSetup) -> Launch:
        return Launch([sys.executable, "-m", "grader.kernels._launch",
                       *sandbox_options(setup.limits, setup.sandbox, setup.gpu)], "a fresh process")


def candidates() -> list[Launcher]:
    """In order of preference; the first that applies and starts is used."""
    return [PlainLauncher(), ContainerLauncher(), ForkServerLauncher(), FreshLauncher()]


def launch_for(setup: KernelSetup) -> Launch:
    for launcher in candidates():
        if not launcher.applies(setup):
            continue
        try:
            return launcher.launch(setup)
        except forkserver.ForkServerError as exc:
            log.warning("%s: %s; starting the kernel as a fresh process", launcher.name, exc)
    raise RuntimeError("no kernel launcher applies")  # FreshLauncher always does


def fork_server(limits: KernelLimits, sandbox: "Sandbox | None",
                preload: list[str] | None, gpu: str | None = None) -> forkserver.ForkServer:
    """The fork server for kernels with these limits, sandbox and preloaded libraries. Kernels
    with a GPU come from a server whose fixed options show the NVIDIA device nodes (every GPU
    kernel gets the same nodes, as a freshly started one does; which GPU CUDA uses is the
    child's CUDA_VISIBLE_DEVICES); the server itself always runs with no GPU visible."""
    return forkserver.shared(*_server_settings(limits, sandbox, preload, gpu))


def preload_in_fork_server(limits: KernelLimits, sandbox: "Sandbox | None", preload: list[str] | None,
                           modules: list[str]) -> None:
    """Have the running fork server of these settings (CPU kernels) import ``modules`` too,
    for the kernels it forks from now on (see ForkServer.preload); starts no server."""
    if not forkserver.enabled() or (sandbox is not None and sandbox.container is not None):
        return
    server = forkserver.running(*_server_settings(limits, sandbox, preload, None))
    if server is not None and modules:
        server.preload(modules)


def _server_settings(limits: KernelLimits, sandbox: "Sandbox | None", preload: list[str] | None,
                     gpu: str | None) -> tuple[list[str], list[str], dict[str, str]]:
    from pathlib import Path
    template = sandbox_env(Path("/"), threads=limits.threads, device="cpu")
    # an accidental torch.cuda.is_available() while preloading asks NVML, not the CUDA driver,
    # so it cannot poison the forks
    template["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    return sandbox_options(limits, sandbox, gpu), list(preload or []), template
