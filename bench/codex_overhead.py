"""What the gateway adds to a codex turn: the same one-tool-call turn, on the same model
server (`teammesh model serve`, a child process), driven (a) over stdio against a bare
`codex app-server` (`bench.codex_bare`, the floor) and (b) through the gateway (a
`teammesh serve --runtime codex` child) by our client on our runner's path (the turn started,
the tool call answered and only the runner's event types received over its one websocket:
`turnStart`, `toolCallAnswers`, `eventTypes`): the tool call answered by the client's
remote-skill dispatcher, completion seen on the stream; and (c) by our client with the
gateway embedded in its own process (`bench.codex_embedded`: `teammesh run`'s path). The sides
interleave (bare, bare wire, our client, embedded, bare, ...), each turn on a fresh thread /
session, so drift on the machine hits them all.

Figures: median and p99 of each side's turn (turn start → turn/completed) and of the
per-pair difference; the same turn through the gateway by a bare wire client
(`bench.codex_raw_client`: the gateway's share alone); the gateway process's own CPU per
turn (its codex child excluded).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import psutil

from bench.cli_child import codex_gateway, model_server, scratch_dir
from bench.codex_bare import BareAppServer
from bench.codex_embedded import embedded_codex_gateway
from bench.codex_raw_client import RawGatewayClient
from bench.codex_sides import Sides
from bench.echo_session import (
    STREAM_EVENTS,
    echo_prompt,
    open_echo_session,
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



async def run(cfg: Config) -> Section:
    section = Section("codex", "codex turn: gateway vs bare app-server")
    rounds = cfg.pick(60, 3)
    prompt = echo_prompt(1)
    bare_ms: list[float] = []
    ours_ms: list[float] = []
    wire_ms: list[float] = []
    embedded_ms: list[float] = []
    wire_cpu_ms: list[float] = []
    hops: list[dict[str, float]] = []
    cpu_ms: list[float] = []
    client_cpu_ms: list[float] = []
    embedded_cpu_ms: list[float] = []
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
                    embedded_codex_gateway(root / "embedded", base, MODEL) as embedded_url,
                    AsyncCodexManager(base_url=embedded_url) as em,
                ):
                    # The gateway's codex child: its CPU per turn against the bare one's.
                    sides = Sides(bare, raw, cm, em, gateway_pid,
                                  psutil.Process(gateway_pid).children()[0].pid, prompt)
                    # Our client on our runner's real path: answers and turn starts over
                    # the socket (the stream's defaults), only the runner's event types.
                    cm.stream.event_types = em.stream.event_types = STREAM_EVENTS
                    handles: dict[str, Any] = {}
                    async with streaming(cm, handles), streaming(em, handles):
                        for index in range(rounds + 1):  # the first round warms up
                            handle = await open_echo_session(cm)
                            handles[handle.session_id] = handle
                            await wait_covered(cm, handle.session_id)
                            local = await open_echo_session(em)
                            handles[local.session_id] = local
                            await wait_covered(em, local.session_id)
                            tools = handle.dynamic_tools()
                            turns = [
                                functools.partial(sides.bare_turn,
                                                  await bare.start_thread(cwd, tools)),
                                functools.partial(sides.wire_turn,
                                                  await raw.create_session(cwd, tools)),
                                functools.partial(sides.our_turn, handle),
                                functools.partial(sides.embedded_turn, local),
                            ]
                            # The order rotates each round, so no side always runs first
                            # (right after the sessions' set-up) or after the same other side.
                            shift = index % len(turns)
                            took = [0.0] * len(turns)
                            for at in [*range(shift, len(turns)), *range(shift)]:
                                took[at] = await turns[at]()
                            if not index:
                                continue
                            marks = sides.marks
                            for series, seconds in zip((bare_ms, wire_ms, ours_ms, embedded_ms),
                                                       took, strict=True):
                                series.append(seconds * 1e3)
                            hops.append(_hops(bare.marks, raw.marks))
                            wire_cpu_ms.append(marks["wire_gateway"][0] * 1e3)
                            gateway_wait_ms.append(marks["wire_gateway"][1] * 1e3)
                            cpu_ms.append(marks["ours_gateway"] * 1e3)
                            client_cpu_ms.append(marks["ours_client"] * 1e3)
                            embedded_cpu_ms.append(marks["embedded_process"] * 1e3)
                            codex_cpu_ms.append((marks["bare_codex"][0] * 1e3,
                                                 marks["wire_codex"][0] * 1e3))
                            codex_wait_ms.append((marks["bare_codex"][1] * 1e3,
                                                  marks["wire_codex"][1] * 1e3))
            finally:
                gateway.stop()
        finally:
            model.stop()
    n = len(bare_ms)
    section.add("bare app-server turn, median", median(bare_ms), "ms", runs=n)
    section.add("bare app-server turn, p99", percentile(bare_ms, 99), "ms", runs=n)
    section.add("through the gateway (our client), median", median(ours_ms), "ms", runs=n)
    section.add("through the gateway (our client), p99", percentile(ours_ms, 99), "ms", runs=n)
    section.add("embedded gateway (teammesh run's path), median", median(embedded_ms), "ms",
                runs=n)
    _added(section, "embedded gateway + our client, one process (teammesh run's path)",
           embedded_ms, bare_ms)
    _added(section, "gateway + our client (teammesh serve child)", ours_ms, bare_ms)
    _added(section, "gateway alone (teammesh serve child, bare wire client)", wire_ms, bare_ms)
    for hop in HOPS:
        section.add(f"added, hop: {hop}", median([h[hop] for h in hops]), "ms", runs=n)
    # Nanosecond CPU counters (bench.codex_cpu), so a per-turn median means something.
    section.add("gateway CPU per turn, our client (codex child excluded)", median(cpu_ms), "ms",
                runs=n)
    section.add("our client's CPU per turn (teammesh serve child)", median(client_cpu_ms), "ms",
                runs=n)
    section.add("gateway CPU per turn, bare wire client", median(wire_cpu_ms), "ms", runs=n)
    section.add("embedded: client + gateway CPU per turn, one process", median(embedded_cpu_ms),
                "ms", runs=n)
    section.add("codex app-server CPU per turn, bare", median([b for b, _ in codex_cpu_ms]),
                "ms", runs=n)
    section.add("codex app-server CPU per turn, the gateway's (bare wire client)",
                median([g for _, g in codex_cpu_ms]), "ms", runs=n)
    # Waiting for a CPU (schedstat): on 2 shared cores most of what the gateway adds is
    # its own and codex's queueing, not work; see docs/bench.md.
    section.add("codex run-queue wait per turn, bare", median([b for b, _ in codex_wait_ms]),
                "ms", runs=n)
    section.add("codex run-queue wait per turn, the gateway's (bare wire client)",
                median([g for _, g in codex_wait_ms]), "ms", runs=n)
    section.add("gateway run-queue wait per turn (bare wire client)", median(gateway_wait_ms),
                "ms", runs=n)
    section.notes.append(
        f"{n} interleaved rounds of one turn with one dynamic tool call (2 model requests),"
        " each on a fresh thread/session, same model server process; 'added' is the per-round"
        " difference against the bare turn of the same round; the sides' order rotates each"
        " round. bare = a stdio driver of a bare `codex app-server`; bare wire = httpx + one"
        " websocket"
        " subscribed to its session (`bench.codex_raw_client`) against a `teammesh serve`"
        " child; our client = our runner's path (turn start, tool-call answer and events over"
        " its one websocket: turnStart, toolCallAnswers, eventTypes; remote-skill dispatch)"
        " against the same child; embedded = our client with the gateway in its own process"
        " and loop, as `teammesh run` starts it (`bench.codex_embedded`).")
    section.detail.update({"bare_ms": bare_ms, "gateway_ms": ours_ms, "wire_ms": wire_ms,
                           "embedded_ms": embedded_ms, "embedded_cpu_ms": embedded_cpu_ms,
                           "gateway_cpu_ms": cpu_ms, "client_cpu_ms": client_cpu_ms,
                           "wire_gateway_cpu_ms": wire_cpu_ms,
                           "codex_cpu_ms": codex_cpu_ms, "codex_wait_ms": codex_wait_ms,
                           "gateway_wait_ms": gateway_wait_ms,
                           "hops_ms": hops})
    return section


def _added(section: Section, side: str, side_ms: list[float], bare_ms: list[float]) -> None:
    """Median (judged against the target) and p99 of the per-round difference."""
    added = [s - b for s, b in zip(side_ms, bare_ms, strict=True)]
    n = len(added)
    value = median(added)
    section.add(f"added: {side}, median", value, "ms", runs=n,
                target=f"≤ {TARGET_ADDED_MS:g} ms", met=value <= TARGET_ADDED_MS)
    section.add(f"added: {side}, p99", percentile(added, 99), "ms", runs=n)
