"""The gateway's own CPU per codex turn, counted deterministically (not in `make bench`):

    .venv/bin/python -m bench.gateway_cpu_profile --turns 30 [--client wire|ours] [--top 40]

One model server, one `teammesh serve --runtime codex` child run by `bench.gateway_profiled`
(cProfile switched on by signal). A few warm-up turns, then `--turns` turns with the
gateway's CPU read from its nanosecond counters (`bench.codex_cpu`, no profiler: the figure
to compare), then the same number of turns under cProfile; the profile is printed per turn
(calls per turn, µs per turn, own and cumulative), so a change shows as calls that are gone,
not as noise. `--client wire` is the bare wire client (`bench.codex_raw_client`), `ours` our
SDK on the runner's path (`bench.echo_session`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import pstats
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil

from bench.cli_child import model_server, scratch_dir
from bench.codex_cpu import cpu_seconds
from bench.codex_raw_client import RawGatewayClient
from bench.echo_session import (
    ECHO,
    ECHO_SCHEMA,
    STREAM_EVENTS,
    echo,
    echo_prompt,
    open_echo_session,
    run_turn,
    streaming,
    wait_covered,
)
from bench.environment import ROOT
from bench.stats import median
from teammesh.client import AsyncCodexManager

WARMUP_TURNS = 3


@contextlib.contextmanager
def _profiled_gateway(root: Path, model_base_url: str, profile_to: Path
                      ) -> Any:
    env = dict(os.environ, BENCH_GATEWAY_PROFILE=str(profile_to))
    log = (root / "gateway.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.gateway_profiled", "serve", "--port", "0", "--no-token",
         "--runtime", "codex", "--data-dir", str(root / "gateway"), "--model-base-url",
         model_base_url], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=log, text=True, bufsize=1)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if " listening on " not in line:
            raise RuntimeError(f"gateway did not start: {line!r} (see {root}/gateway.log)")
        yield proc, line.rsplit(" ", 1)[1].strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# A turn in two steps: `prepare()` (a fresh session, outside the figure as in the bench)
# returns the coroutine function that runs the turn itself.
TurnRunner = Callable[[], Awaitable[Callable[[], Awaitable[None]]]]


@contextlib.asynccontextmanager
async def wire_turns(base_url: str) -> AsyncIterator[TurnRunner]:
    tools: list[dict[str, Any]] = [
        {"name": ECHO, "description": "Echo n back.", "inputSchema": ECHO_SCHEMA}]
    async with RawGatewayClient(base_url) as raw:
        async def prepare() -> Callable[[], Awaitable[None]]:
            session = await raw.create_session(os.getcwd(), tools)
            return lambda: raw.run_turn(session, echo_prompt(1), lambda a: echo(**a))
        yield prepare


@contextlib.asynccontextmanager
async def our_turns(base_url: str) -> AsyncIterator[TurnRunner]:
    async with AsyncCodexManager(base_url=base_url) as cm:
        cm.stream.event_types = STREAM_EVENTS
        handles: dict[str, Any] = {}
        async with streaming(cm, handles):
            async def prepare() -> Callable[[], Awaitable[None]]:
                handle = await open_echo_session(cm)
                handles[handle.session_id] = handle
                await wait_covered(cm, handle.session_id)

                async def turn() -> None:
                    await run_turn(cm, handle, echo_prompt(1))
                return turn
            yield prepare


async def _drive(client: str, turns: int, top: int, save: Path | None) -> None:
    with scratch_dir("gateway-cpu") as root:
        model = model_server(root)
        profile_to = root / "gateway.pstats"
        try:
            with _profiled_gateway(root, f"{model.base_url}/v1", profile_to) as (proc, url):
                opener = wire_turns if client == "wire" else our_turns
                async with opener(url) as prepare:
                    for _ in range(WARMUP_TURNS):
                        await (await prepare())()
                    cpu_ms: list[float] = []
                    threads_before = _threads(proc.pid)
                    user_s = system_s = 0.0
                    for _ in range(turns):
                        turn = await prepare()
                        before = cpu_seconds(proc.pid)
                        times = psutil.Process(proc.pid).cpu_times()
                        await turn()
                        cpu_ms.append((cpu_seconds(proc.pid) - before) * 1e3)
                        after = psutil.Process(proc.pid).cpu_times()
                        user_s += after.user - times.user
                        system_s += after.system - times.system
                    threads_after = _threads(proc.pid)
                    for _ in range(turns):
                        turn = await prepare()
                        proc.send_signal(signal.SIGUSR1)
                        await turn()
                        proc.send_signal(signal.SIGUSR2)
                    for _ in range(200):
                        if profile_to.exists():
                            break
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(0.2)  # the last dump finishes writing
        finally:
            model.stop()
        print(f"gateway CPU per turn ({client} client), {turns} turns: median "
              f"{median(cpu_ms):.2f} ms, mean {sum(cpu_ms) / len(cpu_ms):.2f} ms; user "
              f"{user_s / turns * 1e3:.2f} ms, system {system_s / turns * 1e3:.2f} ms (ticks)")
        for name, after in sorted(threads_after.items()):
            spent = (after - threads_before.get(name, 0.0)) / turns * 1e3
            if spent > 0.005:
                print(f"  thread {name}: {spent:.3f} ms per turn")
        _print_profile(profile_to, turns, top)
        if save is not None:
            shutil.copyfile(profile_to, save)


def _threads(pid: int) -> dict[str, float]:
    """CPU seconds per thread (by name and id) of `pid`."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            out[f"{name}[{task.name}]"] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError):
            continue
    return out


def _print_profile(path: Path, turns: int, top: int) -> None:
    stats = pstats.Stats(str(path), stream=io.StringIO())
    rows: list[tuple[float, float, int, str]] = []
    total = 0.0
    for (file, line, name), (_cc, ncalls, tottime, cumtime, _callers) in (
            stats.stats.items()):  # type: ignore[attr-defined]
        total += tottime
        short = f"{Path(file).parent.name}/{Path(file).name}:{line}({name})"
        rows.append((tottime, cumtime, ncalls, short))
    print(f"profiled: {total / turns * 1e6:.0f} µs of own time per turn (profiler-inflated)")
    for by_cumulative, label in ((False, "own time"), (True, "cumulative")):
        print(f"\n--- top {top} by {label}: calls/turn  own µs/turn  cum µs/turn")
        ranked = sorted(rows, key=lambda r: r[1] if by_cumulative else r[0], reverse=True)
        for tottime, cumtime, ncalls, short in ranked[:top]:
            print(f"{ncalls / turns:9.1f} {tottime / turns * 1e6:9.0f} "
                  f"{cumtime / turns * 1e6:9.0f}  {short}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--client", choices=("wire", "ours"), default="wire")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--save", type=Path, help="keep the raw pstats file here")
    args = parser.parse_args()
    asyncio.run(_drive(args.client, args.turns, args.top, args.save))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
