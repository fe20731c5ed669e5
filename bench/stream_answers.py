"""1b. Answers over the stream: the dispatch path of section 1's throughput (32 sessions at
once, echo skills, no runner, no board) run three ways in the same run, interleaved:

- `http`: the stream's extensions off on the client, one POST per answer (the wire as
  codex-manager has it; section 1's figure before the extension);
- `ws`: answers as `tool_call.answer` frames on the socket the client already holds;
- `ws + types`: that, and the socket narrowed to the two event types the client handles
  (the tool-call signal and turn completion).

For each: calls/s, CPU per call on each side, and frames per call the client received
(events routed plus answer acknowledgements). The ratio is `ws + types` over `http`, both
medians of the same run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psutil

from bench.echo_session import echo_prompt, open_echo_session, run_turn, streaming, wait_covered
from bench.processes import GatewayProcess
from bench.report import Config, Section
from bench.stats import median, ratio
from teammesh.client import AsyncCodexManager
from teammesh.wire import TOOL_CALL_SIGNAL

MODES = ("http", "ws", "ws + types")
# What the bench client handles: the calls, and turn completion (its waits).
HANDLED_TYPES = frozenset({TOOL_CALL_SIGNAL, "app_server.turn.completed"})
TARGET_CALLS_PER_S = 1000


def _count_frames(cm: AsyncCodexManager, counter: list[int]) -> None:
    """Count what reaches the client's stream: routed events and acknowledgements."""
    router, answers = cm.stream.router, cm.stream.answers
    dispatch, settle = router.dispatch, answers.settle

    async def counted_dispatch(event: Any, context: Any) -> None:
        counter[0] += 1
        await dispatch(event, context)

    def counted_settle(frame: dict[str, Any]) -> None:
        counter[0] += 1
        settle(frame)

    router.dispatch = counted_dispatch  # type: ignore[method-assign]
    answers.settle = counted_settle  # type: ignore[method-assign]


async def throughput(gateway: GatewayProcess, mode: str, sessions: int, calls: int
                     ) -> dict[str, float]:
    gateway_process = psutil.Process(gateway.pid)
    frames = [0]
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        cm.stream.use_extensions = mode != "http"
        if mode == "ws + types":
            cm.stream.event_types = HANDLED_TYPES
        _count_frames(cm, frames)
        handles = [await open_echo_session(cm) for _ in range(sessions)]
        async with streaming(cm, {h.session_id: h for h in handles}):
            for handle in handles:
                await wait_covered(cm, handle.session_id)
            prompt = echo_prompt(calls)
            frames[0] = 0
            gateway_cpu = sum(gateway_process.cpu_times()[:2])
            client_cpu = time.process_time()  # ns clock: os.times ticks in 10 ms
            started = time.perf_counter()
            await asyncio.gather(*(run_turn(cm, h, prompt) for h in handles))
            wall = time.perf_counter() - started
            client_cpu = time.process_time() - client_cpu
            gateway_cpu = sum(gateway_process.cpu_times()[:2]) - gateway_cpu
            counted = frames[0]
    gateway.dump()
    total = sessions * calls
    return {"calls_per_s": total / wall, "client_cpu_ms": client_cpu / total * 1e3,
            "gateway_cpu_ms": gateway_cpu / total * 1e3, "frames_per_call": counted / total}


async def run(cfg: Config) -> Section:
    sessions, calls = cfg.pick((32, 20), (4, 25))  # smoke: enough CPU for the ticks
    repeats = cfg.pick(3, 1)
    section = Section("wsanswer", f"1b. answers over the stream, {sessions} sessions at once")
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    with GatewayProcess() as gateway:
        await throughput(gateway, "ws", sessions, 2)  # warm-up, not counted
        for _ in range(repeats):
            for mode in MODES:
                runs[mode].append(await throughput(gateway, mode, sessions, calls))
    for mode in MODES:
        got = runs[mode]
        rate = median([r["calls_per_s"] for r in got])
        if mode == "ws + types":
            section.add(f"{mode}: calls/s", rate, "calls/s", runs=len(got),
                        target=f"≥ {TARGET_CALLS_PER_S}", met=rate >= TARGET_CALLS_PER_S)
        else:
            section.add(f"{mode}: calls/s", rate, "calls/s", runs=len(got))
        for key, label, unit in (("client_cpu_ms", "client CPU per call", "ms"),
                                 ("gateway_cpu_ms", "gateway CPU per call", "ms"),
                                 ("frames_per_call", "frames per call to the client", "")):
            section.add(f"{mode}: {label}", median([r[key] for r in got]), unit,
                        runs=len(got))
    section.add("ws + types / http calls/s",
                ratio(median([r["calls_per_s"] for r in runs["ws + types"]]),
                      median([r["calls_per_s"] for r in runs["http"]])), "×", runs=repeats)
    section.notes.append(f"Every session runs one turn of {calls} echo calls at the same"
                         " time; modes interleaved per repeat against one gateway process."
                         " CPU per call: process CPU time over the run / calls.")
    section.detail["runs"] = runs
    return section
