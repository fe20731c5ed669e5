"""What the gateway adds to a codex turn: the same one-tool-call turn, on the same model
server (`teammesh model serve`, a child process), driven (a) over stdio against a bare
`codex app-server` (`bench.codex_bare`, the floor) and (b) through the gateway (a
`teammesh serve --runtime codex` child) by our client on our runner's path (the turn started,
the tool call answered and only the runner's event types received over its one websocket:
`turnStart`, `toolCallAnswers`, `eventTypes`): the tool call answered by the client's
remote-skill dispatcher, completion seen on the stream. Pairs interleave (bare,
gateway, bare, ...), each on a fresh thread / session, so drift on the machine hits both.

Figures: median and p99 of each side's turn (turn start → turn/completed) and of the
per-pair difference; the same turn through the gateway by a bare wire client
(`bench.codex_raw_client`: the gateway's share alone); the gateway process's own CPU per
turn (its codex child excluded).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psutil

from bench.cli_child import codex_gateway, model_server, scratch_dir
from bench.codex_bare import BareAppServer
from bench.codex_cpu import cpu_seconds, sched_seconds
from bench.codex_raw_client import RawGatewayClient
from bench.echo_session import (
    STREAM_EVENTS,
    echo,
    echo_prompt,
    open_echo_session,
    run_turn,
    streaming,
    wait_covered,
)
from bench.report import Config, Section
from bench.stats import median, percentile
from teammesh.client import AsyncCodexManager

TARGET_ADDED_MS = 5.0
# Set to a file path, the gateway runs under pyinstrument and its profile is written there.
PROFILE_ENV = "BENCH_CODEX_PROFILE"
MODEL = "playbook"  # what `teammesh model serve` lists, so what the gateway picks too


# Where the bare-wire side's extra milliseconds fall, hop by hop (gateway minus bare): the
# message until the tool call reaches the client (HTTP in, turn/start, the call's way out),
# the answer (the bare side's stdio write against an HTTP round trip), and the answer until
# the completion reaches the client.
HOPS = ("message → tool call at the client", "answering the call",
        "answered → completion at the client")


def _hops(bare: dict[str, float], wire: dict[str, float]) -> dict[str, float]:
    def span(marks: dict[str, float], start: str, end: str) -> float:
        return (marks[end] - marks[start]) * 1e3

    pairs = (("start", "call"), ("call", "answered"), ("answered", "completed"))
    return {hop: span(wire, *pair) - span(bare, *pair) for hop, pair in zip(HOPS, pairs,
                                                                           strict=True)}


def _delta(now: tuple[float, float], before: tuple[float, float]) -> tuple[float, float]:
    return now[0] - before[0], now[1] - before[1]


async def run(cfg: Config) -> Section:
    section = Section("codex", "codex turn: gateway vs bare app-server")
    pairs = cfg.pick(20, 3)
    prompt = echo_prompt(1)
    bare_ms: list[float] = []
    ours_ms: list[float] = []
    wire_ms: list[float] = []
    wire_cpu_ms: list[float] = []
    hops: list[dict[str, float]] = []
    cpu_ms: list[float] = []
    codex_cpu_ms: list[tuple[float, float]] = []  # (bare, the gateway's child) per pair
    codex_wait_ms: list[tuple[float, float]] = []  # their run-queue waits, the same way
    gateway_wait_ms: list[float] = []
    cwd = os.getcwd()
    with scratch_dir("codex-overhead") as root:
        model = model_server(root)
        try:
            base = f"{model.base_url}/v1"
            profile = os.environ.get(PROFILE_ENV)
            gateway = codex_gateway(root / "gateway", base, root / "gateway.log",
                                    Path(profile) if profile else None)
            try:
                gateway_pid = gateway.pid
                async with (
                    BareAppServer(root / "bare", base, MODEL) as bare,
                    RawGatewayClient(gateway.base_url) as raw,
                    AsyncCodexManager(base_url=gateway.base_url) as cm,
                ):
                    # The gateway's codex child: its CPU per turn against the bare one's.
                    codex_pid = psutil.Process(gateway_pid).children()[0].pid
                    # Our client on our runner's real path: answers and turn starts over
                    # the socket (the stream's defaults), only the runner's event types.
                    cm.stream.event_types = STREAM_EVENTS
                    handles: dict[str, Any] = {}
                    async with streaming(cm, handles):
                        for index in range(pairs + 1):  # the first pair warms up
                            handle = await open_echo_session(cm)
                            handles[handle.session_id] = handle
                            await wait_covered(cm, handle.session_id)
                            tools = handle.dynamic_tools()
                            thread = await bare.start_thread(cwd, tools)
                            bare_codex = sched_seconds(bare.pid)
                            started = time.perf_counter()
                            await bare.run_turn(thread, prompt, lambda a: echo(**a))
                            bare_s = time.perf_counter() - started
                            bare_codex = _delta(sched_seconds(bare.pid), bare_codex)
                            wire_session = await raw.create_session(cwd, tools)
                            wire_cpu = sched_seconds(gateway_pid)
                            their_codex = sched_seconds(codex_pid)
                            started = time.perf_counter()
                            await raw.run_turn(wire_session, prompt, lambda a: echo(**a))
                            wire_s = time.perf_counter() - started
                            wire_cpu = _delta(sched_seconds(gateway_pid), wire_cpu)
                            their_codex = _delta(sched_seconds(codex_pid), their_codex)
                            hops.append(_hops(bare.marks, raw.marks))
                            cpu = cpu_seconds(gateway_pid)
                            started = time.perf_counter()
                            await run_turn(cm, handle, prompt)
                            ours_s = time.perf_counter() - started
                            cpu = cpu_seconds(gateway_pid) - cpu
                            if index:
                                bare_ms.append(bare_s * 1e3)
                                wire_ms.append(wire_s * 1e3)
                                wire_cpu_ms.append(wire_cpu[0] * 1e3)
                                gateway_wait_ms.append(wire_cpu[1] * 1e3)
                                ours_ms.append(ours_s * 1e3)
                                cpu_ms.append(cpu * 1e3)
                                codex_cpu_ms.append((bare_codex[0] * 1e3, their_codex[0] * 1e3))
                                codex_wait_ms.append((bare_codex[1] * 1e3, their_codex[1] * 1e3))
            finally:
                gateway.stop()
        finally:
            model.stop()
    added = [o - b for o, b in zip(ours_ms, bare_ms, strict=True)]
    wire_added = [w - b for w, b in zip(wire_ms, bare_ms, strict=True)]
    n = len(added)
    section.add("bare app-server turn, median", median(bare_ms), "ms", runs=n)
    section.add("bare app-server turn, p99", percentile(bare_ms, 99), "ms", runs=n)
    section.add("through the gateway (our client), median", median(ours_ms), "ms", runs=n)
    section.add("through the gateway (our client), p99", percentile(ours_ms, 99), "ms", runs=n)
    added_median = median(added)
    section.add("added: gateway + our client, median", added_median, "ms", runs=n,
                target=f"≤ {TARGET_ADDED_MS:g} ms", met=added_median <= TARGET_ADDED_MS)
    section.add("added: gateway + our client, p99", percentile(added, 99), "ms", runs=n)
    wire_median = median(wire_added)
    section.add("added: gateway alone (bare wire client), median", wire_median, "ms", runs=n,
                target=f"≤ {TARGET_ADDED_MS:g} ms", met=wire_median <= TARGET_ADDED_MS)
    section.add("added: gateway alone (bare wire client), p99", percentile(wire_added, 99),
                "ms", runs=n)
    for hop in HOPS:
        section.add(f"added, hop: {hop}", median([h[hop] for h in hops[1:]]), "ms", runs=n)
    # Nanosecond CPU counters (bench.codex_cpu), so a per-turn median means something.
    section.add("gateway CPU per turn, our client (codex child excluded)", median(cpu_ms), "ms",
                runs=n)
    section.add("gateway CPU per turn, bare wire client", median(wire_cpu_ms), "ms", runs=n)
    section.add("codex app-server CPU per turn, bare", median([b for b, _ in codex_cpu_ms]),
                "ms", runs=n)
    section.add("codex app-server CPU per turn, the gateway's (bare wire client)",
                median([g for _, g in codex_cpu_ms]), "ms", runs=n)
    # Waiting for a CPU (schedstat): on 2 shared cores most of what the gateway adds is
    # its own and codex's queueing, not work; see docs/performance.md.
    section.add("codex run-queue wait per turn, bare", median([b for b, _ in codex_wait_ms]),
                "ms", runs=n)
    section.add("codex run-queue wait per turn, the gateway's (bare wire client)",
                median([g for _, g in codex_wait_ms]), "ms", runs=n)
    section.add("gateway run-queue wait per turn (bare wire client)", median(gateway_wait_ms),
                "ms", runs=n)
    section.notes.append(
        f"{n} interleaved pairs of one turn with one dynamic tool call (2 model requests), each"
        " on a fresh thread/session, same model server process; 'added' is the per-pair"
        " difference. The gateway side includes our client on our runner's path (turn start,"
        " tool-call answer and events over its one websocket: turnStart, toolCallAnswers,"
        " eventTypes; remote-skill dispatch); the bare-wire side is httpx + one websocket"
        " doing the same (`bench.codex_raw_client`); the bare side is a stdio driver. Triplets"
        " interleave: bare, bare wire, our client.")
    section.detail.update({"bare_ms": bare_ms, "gateway_ms": ours_ms, "wire_ms": wire_ms,
                           "gateway_cpu_ms": cpu_ms, "wire_gateway_cpu_ms": wire_cpu_ms,
                           "codex_cpu_ms": codex_cpu_ms, "codex_wait_ms": codex_wait_ms,
                           "gateway_wait_ms": gateway_wait_ms,
                           "hops_ms": hops[1:]})
    return section
