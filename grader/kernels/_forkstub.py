"""The process jupyter_client starts for a kernel that the fork server provides.

Run as ``python -I -S _forkstub.py SOCKET <launcher options> -- <ipykernel args>`` (standard
library only, so it starts in milliseconds). It hands its argv, environment, working directory
and its stdin/stdout/stderr to the fork server, which forks a pre-imported copy of itself,
applies the sandbox (exactly as ``grader.kernels._launch`` does) and runs the IPython kernel. The stub
then stands in for the kernel towards jupyter_client: signals sent to it (interrupt, terminate)
go to the kernel's process group, and it exits with the kernel's exit status. If the stub is
killed, or the grader process that started it dies, the fork server kills the kernel.
"""
import json
import os
import signal
import socket
import struct
import sys


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return data
        data += chunk
    return data


def main() -> int:
    path, argv = sys.argv[1], sys.argv[2:]
    try:  # die with the grader process that started us (the server then kills the kernel)
        import ctypes
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    # jupyter_client names the process that started us; if it died before the line above, the
    # parent-death signal will never come: ask for no kernel at all
    parent = os.environ.get("JPY_PARENT_PID", "")
    if parent.isdigit() and os.getppid() != int(parent):
        return 1
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    body = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(sock, [struct.pack("!I", len(body)) + body], [0, 1, 2])
    raw = _recv_exact(sock, 4)
    if len(raw) < 4:
        print("grader fork server: no kernel was started", file=sys.stderr)
        return 1
    pid = struct.unpack("!i", raw)[0]

    def forward(signum: int, frame: object) -> None:
        try:
            os.killpg(pid, signum)
        except OSError:
            try:
                os.kill(pid, signum)
            except OSError:
                pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                signal.SIGUSR2):
        signal.signal(sig, forward)
    raw = _recv_exact(sock, 4)  # the kernel's exit status, when it ends
    code = struct.unpack("!i", raw)[0] if len(raw) == 4 else 1
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
