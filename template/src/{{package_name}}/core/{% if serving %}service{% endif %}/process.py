"""A server in a child process, started exactly as users start it: what the load test and tests use.

The child runs ``python -m <package>.serving`` with Hydra overrides on a free loopback port;
:meth:`ServerProcess.wait_ready` polls ``/readyz`` and fails with the child's last log lines
if it exits or does not become ready in time.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from ..config import PROJECT_ROOT

PACKAGE = __name__.split(".")[0]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port that is free on the loopback interface now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``python -m <package>.serving`` on a free loopback port; logs go to a temporary file."""

    def __init__(
        self, overrides: Sequence[str], *, workers: int = 1, env: Mapping[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._log: IO[bytes] = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(self._log.name)
        self.workers = workers
        command = [
            sys.executable,
            "-m",
            f"{PACKAGE}.serving",
            f"serve.host={LOOPBACK}",
            f"serve.port={self.port}",
            f"serve.workers={workers}",
            *overrides,
        ]
        self._ready = False
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def logs(self) -> str:
        """Everything the server has written so far (JSON lines, plus Hydra's first line)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout_s: float = 120.0) -> "ServerProcess":
        """Block until every worker is ready; raise with the server's log if one never is.

        ``/readyz`` speaks for the worker that answers it, so with several workers the
        ``serving_ready_workers`` metric (summed over workers) must reach their number too.
        """
        if self._ready:
            return self
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with status {self.process.returncode}:\n{self.logs()[-4000:]}"
                )
            try:
                if self._get("/readyz") is not None and self._ready_workers() >= self.workers:
                    self._ready = True
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server was not ready after {timeout_s:.0f} s:\n{self.logs()[-4000:]}")

    def _get(self, path: str) -> str | None:
        """The body of a 200 answer to ``GET path``, else None."""
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as response:
                return response.read().decode()
        except urllib.error.HTTPError:
            return None

    def _ready_workers(self) -> int:
        if self.workers == 1:
            return 1
        metrics = self._get("/metrics") or ""
        values = [
            line.split()[-1] for line in metrics.splitlines() if line.startswith("serving_ready_workers ")
        ]
        return int(float(values[0])) if values else 0

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (graceful shutdown), then SIGKILL if it does not exit in time; returns the status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return int(self.process.returncode)

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)
