"""Child processes the benchmarks drive: the probed gateway and the floor server. Their
memory is read from /proc (resident now, and the kernel's peak `VmHWM`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from bench.environment import ROOT

STARTUP_TIMEOUT = 30.0


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a process (`VmRSS`), or its peak so far (`VmHWM`)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


class _Child:
    """A `python -m MODULE` child that prints one `... listening on URL` line first."""

    def __init__(self, module: str, args: list[str], log_path: Path,
                 profile_to: Path | None = None) -> None:
        self._log: IO[str] = log_path.open("w")
        # Profiled: pyinstrument runs the module and writes its text report at exit.
        profiler = (["-m", "pyinstrument", "-r", "text", "--no-color", "-o", str(profile_to)]
                    if profile_to is not None else [])
        self.proc = subprocess.Popen(
            [sys.executable, *profiler, "-m", module, *args], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if " listening on " not in line:
            self.close()
            raise RuntimeError(f"{module} did not start (see {log_path}): {line!r}")
        self.base_url = line.rsplit(" ", 1)[1].strip()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def peak_rss(self) -> int:
        return rss_bytes(self.pid, "VmHWM")

    def command(self, text: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()


class GatewayProcess(_Child):
    """`bench.probe_gateway` in a child process, on its own temporary data dir."""

    def __init__(self, runtime: str = "playbook", profile_to: Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="teammesh-bench-gw-")
        tmp = Path(self._tmp.name)
        super().__init__("bench.probe_gateway",
                         ["--data-dir", str(tmp / "data"), "--runtime", runtime],
                         tmp / "gateway.log", profile_to)

    def dump(self) -> dict[str, Any]:
        """The probe's samples since the last dump."""
        data: dict[str, Any] = json.loads(self.command("dump"))
        return data

    def close(self) -> None:
        super().close()
        self._tmp.cleanup()

    def __enter__(self) -> GatewayProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FloorProcess(_Child):
    """`bench.floor_server`: a bare websocket + HTTP endpoint on the same libraries."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="teammesh-bench-floor-")
        super().__init__("bench.floor_server", [], Path(self._tmp.name) / "floor.log")

    def close(self) -> None:
        super().close()
        self._tmp.cleanup()

    def __enter__(self) -> FloorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
