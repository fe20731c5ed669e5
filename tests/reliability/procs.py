"""Real processes for the reliability suite: a `teammesh serve` gateway that can be SIGKILLed
and restarted on the same port and data dir, `teammesh run` runners, and process figures
(RSS, open file descriptors) read with psutil.

Everything binds 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))
LISTENING = "teammesh gateway listening on "
START_TIMEOUT = 30.0
# A gateway behind a loopback proxy (FaultProxy) sees the proxy's port in Host: answer
# 127.0.0.1 on any port.
PROXIED = ["--allow-host", "127.0.0.1"]


def runner_env(**extra: str) -> dict[str, str]:
    """The environment for a `teammesh run` subprocess: no inherited gateway URL or token."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CODEX_MANAGER_", "TEAMMESH_TOKEN"))}
    env.update(extra)
    return env


def readline(stream: IO[str], timeout: float) -> str:
    """One line, or "" when none arrives within `timeout` (the reader thread is a daemon)."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


@dataclass
class GatewayProcess:
    """`teammesh serve` in a subprocess. `start()` again after `kill()` reuses the port and
    the data dir, as an operator restarting a crashed gateway would."""

    data_dir: Path
    think_ms: int = 0
    token: str | None = None
    log_path: Path | None = None
    log_level: str = "warning"
    extra: list[str] = field(default_factory=list)
    fd_limit: int | None = None  # soft RLIMIT_NOFILE of the gateway process (ulimit -n)
    env: dict[str, str] = field(default_factory=dict)  # added to the gateway's environment
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    starts: int = 0
    _log: IO[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> GatewayProcess:
        args = [TEAMMESH, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--data-dir", str(self.data_dir), "--think-ms", str(self.think_ms),
                "--log-level", self.log_level, *self.extra]
        # No token given: serve without one (explicitly; `teammesh serve` makes one otherwise).
        # `--token=…` in one argument: a random token may begin with "-", which argparse
        # would take for an option when it is a separate argument.
        args += [f"--token={self.token}"] if self.token is not None else ["--no-token"]
        if self.log_path is not None and self._log is None:
            self._log = self.log_path.open("a", encoding="utf-8")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self.proc = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=self._log or subprocess.DEVNULL,
                text=True, env=runner_env(**self.env),
                preexec_fn=self._limit_fds if self.fd_limit is not None else None)
            assert self.proc.stdout is not None
            line = readline(self.proc.stdout, START_TIMEOUT)
            if line.startswith(LISTENING):
                break
            # The old socket may linger for a moment after a SIGKILL: try again, bounded.
            self.proc.kill()
            self.proc.wait(timeout=10)
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start: {line!r}")
            time.sleep(0.2)
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.starts += 1
        return self

    def _limit_fds(self) -> None:
        if self.fd_limit is not None:
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.fd_limit, hard))

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def stats(self) -> ProcessStats:
        return process_stats(self.pid)

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ProcessStats:
    rss_bytes: int
    fds: int

    @property
    def rss_mib(self) -> float:
        return self.rss_bytes / (1024 * 1024)


def process_stats(pid: int) -> ProcessStats:
    proc = psutil.Process(pid)
    return ProcessStats(rss_bytes=int(proc.memory_info().rss), fds=int(proc.num_fds()))


def run_command(args: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TEAMMESH, *args], cwd=cwd, env=env or runner_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def start_runner(args: list[str], *, cwd: Path, env: dict[str, str] | None = None,
                 stdout: Any = subprocess.PIPE, stderr: Any = subprocess.PIPE
                 ) -> subprocess.Popen[str]:
    return subprocess.Popen([TEAMMESH, *args], cwd=cwd, env=env or runner_env(),
                            stdout=stdout, stderr=stderr, text=True)


def slope(values: list[float]) -> float:
    """Least-squares slope of `values` against their index (units per sample)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
