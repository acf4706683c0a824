"""gunicorn on a free loopback port, for the benchmarks that need a real server (load.py, faults.py).

Each benchmark chooses its WSGI target, environment and extra options; this module owns the
common part: the command line, waiting until the server answers, the worker pids, and stopping it.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn TARGET` with N sync workers on 127.0.0.1, no access log, errors in LOG."""

    def __init__(
        self,
        target: str,
        env: Mapping[str, str],
        log: Path,
        workers: int = 2,
        options: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [str(GUNICORN), "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}"]
        command += ["--timeout", "60", "--backlog", "2048", "--access-logfile", "/dev/null"]
        command += ["--error-logfile", str(log), *options, target]
        self.process = subprocess.Popen(command, cwd=ROOT, env=dict(env))  # noqa: S603

    def wait(self, path: str = "/", timeout: float = 180) -> None:
        """Until PATH answers (any HTTP status counts: /healthz says 503 when Redis is down)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: see {self.log}")
            try:
                urllib.request.urlopen(self.url + path, timeout=10).read()  # noqa: S310 (loopback)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.url} did not answer within {timeout}s")

    def workers(self) -> list[int]:
        """The worker processes' pids (the children of the arbiter)."""
        out = subprocess.run(  # noqa: S603
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],  # noqa: S607
            capture_output=True,
            text=True,
        ).stdout
        return [int(x) for x in out.split()]

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
