"""`python -m teammesh ...` servers as child processes, stopped the way an operator stops
them (SIGTERM): the model server and the gateway of the codex sections. Each prints one
`... listening on URL` line on stdout when it serves; the moments of that line and of the
exit are kept, for the start and stop figures."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from bench.environment import ROOT

STOP_TIMEOUT_S = 30.0


class CliServer:
    def __init__(self, args: list[str], log_path: Path, profile_to: Path | None = None) -> None:
        self._log: IO[str] = log_path.open("w")
        # Profiled: pyinstrument runs the CLI and writes its text report at exit.
        # A `.pyisession` path keeps the raw session (to render at another depth later).
        renderer = "pyisession" if str(profile_to).endswith(".pyisession") else "text"
        profiler = (["-m", "pyinstrument", "-r", renderer, "--no-color", "-i", "0.0005",
                     "-o", str(profile_to)] if profile_to is not None else [])
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, *profiler, "-m", "teammesh", *args], cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, text=True,
            bufsize=1)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.ready = time.perf_counter()
        if " listening on " not in line:
            self.stop()
            raise RuntimeError(f"teammesh {args[0]} did not start (see {log_path}): {line!r}")
        self.base_url = line.rsplit(" ", 1)[1].strip()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> float:
        """SIGTERM, then wait: the seconds from the signal to the exit."""
        sent = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        stopped = time.perf_counter() - sent
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()
        return stopped

    def __enter__(self) -> CliServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A directory under the repo's `.cache` (codex refuses helper binaries under /tmp)."""
    path = ROOT / ".cache" / "bench" / f"{prefix}-{uuid.uuid4().hex[:10]}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def model_server(log_dir: Path) -> CliServer:
    return CliServer(["model", "serve", "--port", "0"], log_dir / "model.log")


def codex_gateway(data_dir: Path, model_base_url: str, log_path: Path,
                  profile_to: Path | None = None) -> CliServer:
    return CliServer(["serve", "--port", "0", "--no-token", "--runtime", "codex",
                      "--data-dir", str(data_dir), "--model-base-url", model_base_url],
                     log_path, profile_to)
