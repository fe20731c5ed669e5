"""7. Start-up: how long the `teammesh` commands take to start (and stop), next to the
interpreter's own start, measured in the same run.

Each command runs as a fresh subprocess, the way a user runs it, N times, the commands taken
in turn (one of each per round) so that other load on the machine falls on all of them alike:

- the floor: `python -c pass` (the interpreter alone);
- `teammesh --help`;
- `teammesh demo` (playbook runtime, embedded gateway, a SQLite board in a scratch folder);
- `teammesh serve --port 0`: spawn → `/api/health` answers 200 (ready), then SIGTERM → exit.

Every figure is the median over the N runs; every ratio is to the floor's median of the same
run. Wall time from spawn to exit (`time.perf_counter` around the child).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import Config, Section
from bench.stats import median, ratio

TARGET_HELP_S = 0.15
TARGET_DEMO_S = 0.5
SERVE_TIMEOUT_S = 30.0


def _teammesh() -> list[str]:
    """The console script next to this interpreter (what a user runs), else `-m teammesh`."""
    script = Path(sys.executable).with_name("teammesh")
    return [str(script)] if script.exists() else [sys.executable, "-m", "teammesh"]


def _environment(scratch: Path) -> dict[str, str]:
    """Ours, minus what would point the demo at another gateway or change its output, with
    bytecode cached as an installed package has it: without a cache (PYTHONDONTWRITEBYTECODE
    on an editable checkout) every start recompiles each of our ~170 modules, which is not
    what a user's start costs. The cache goes to a scratch folder (PYTHONPYCACHEPREFIX), so
    no source tree is written to; the warm-up round fills it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CODEX_MANAGER_", "TEAMMESH_"))
           and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env["COLUMNS"] = "100"
    return env


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv} exited {done.returncode}: {done.stderr[-2000:]!r}")
    return elapsed


def _health_ok(base_url: str) -> bool:
    host_port = base_url.removeprefix("http://")
    connection = http.client.HTTPConnection(host_port, timeout=5)
    try:
        connection.request("GET", "/api/health")
        return connection.getresponse().status == 200
    finally:
        connection.close()


def _serve_once(cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(spawn → /api/health ready, SIGTERM → exit) in seconds."""
    data_dir = Path(tempfile.mkdtemp(prefix="serve-", dir=cwd))
    argv = [*_teammesh(), "serve", "--port", "0", "--no-token", "--data-dir", str(data_dir)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the one "listening on URL" line, once bound
        if " listening on " not in line:
            raise RuntimeError(f"teammesh serve did not start: {line!r}")
        base_url = line.rsplit(" ", 1)[1].strip()
        while not _health_ok(base_url):  # bound before the line is printed: 200 at once
            if time.perf_counter() - started > SERVE_TIMEOUT_S:
                raise RuntimeError("teammesh serve: /api/health never answered 200")
            time.sleep(0.001)
        ready = time.perf_counter() - started
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=SERVE_TIMEOUT_S)
        stopped = time.perf_counter() - stopping
        if code != 0:
            raise RuntimeError(f"teammesh serve exited {code} on SIGTERM")
        return ready, stopped
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


async def run(cfg: Config) -> Section:
    repeats = cfg.pick(max(cfg.repeats, 9), 2)
    tm = _teammesh()
    walls: dict[str, list[float]] = {"floor": [], "help": [], "demo": [], "ready": [],
                                     "stop": []}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        cwd = Path(scratch)
        env = _environment(cwd)
        commands: dict[str, Callable[[], float]] = {
            "floor": lambda: _timed([sys.executable, "-c", "pass"], cwd, env),
            "help": lambda: _timed([*tm, "--help"], cwd, env),
            "demo": lambda: _timed([*tm, "demo"], cwd, env),
        }
        for name in commands:  # warm-up: the page cache and .pyc files, not measured
            commands[name]()
        _serve_once(cwd, env)
        for _ in range(repeats):
            for name, command in commands.items():
                walls[name].append(command())
            ready, stopped = _serve_once(cwd, env)
            walls["ready"].append(ready)
            walls["stop"].append(stopped)
    floor = median(walls["floor"])
    section = Section("startup", "7. start-up")
    section.add("python -c pass (floor)", floor * 1e3, "ms", runs=repeats)
    help_s, demo_s = median(walls["help"]), median(walls["demo"])
    section.add("teammesh --help", help_s * 1e3, "ms", runs=repeats,
                target=f"≤ {TARGET_HELP_S * 1e3:g} ms", met=help_s <= TARGET_HELP_S)
    section.add("teammesh --help / floor", ratio(help_s, floor), "×", runs=repeats)
    section.add("teammesh demo", demo_s * 1e3, "ms", runs=repeats,
                target=f"≤ {TARGET_DEMO_S * 1e3:g} ms", met=demo_s <= TARGET_DEMO_S)
    section.add("teammesh demo / floor", ratio(demo_s, floor), "×", runs=repeats)
    ready_s = median(walls["ready"])
    section.add("teammesh serve: spawn → /api/health ready", ready_s * 1e3, "ms",
                runs=repeats)
    section.add("teammesh serve: ready / floor", ratio(ready_s, floor), "×", runs=repeats)
    section.add("teammesh serve: SIGTERM → exit", median(walls["stop"]) * 1e3, "ms",
                runs=repeats)
    section.notes.append(
        "Fresh subprocesses, wall time spawn → exit, the commands taken in turn each round"
        " after one warm-up of each; the floor is the interpreter alone (`python -c pass`) in"
        " the same rounds, bytecode cached (as installed; the warm-up fills a scratch"
        " PYTHONPYCACHEPREFIX). The demo runs the playbook team on its embedded gateway with a"
        " SQLite board in a scratch folder.")
    section.detail = {name: [round(v * 1e3, 2) for v in values]
                      for name, values in walls.items()}
    return section
