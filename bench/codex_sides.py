"""The four sides `bench.codex_overhead` times, one turn each: what each returns is the turn's
wall time and the CPU counters read around it (`bench.codex_cpu`)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from bench.codex_bare import BareAppServer
from bench.codex_cpu import cpu_seconds, sched_seconds
from bench.codex_raw_client import RawGatewayClient
from bench.echo_session import echo, run_turn
from teammesh.client import AsyncCodexManager


def _delta(now: tuple[float, float], before: tuple[float, float]) -> tuple[float, float]:
    return now[0] - before[0], now[1] - before[1]


@dataclass
class Sides:
    bare: BareAppServer
    raw: RawGatewayClient
    ours: AsyncCodexManager  # against the `teammesh serve` child
    embedded: AsyncCodexManager  # against the gateway in this process
    gateway_pid: int
    codex_pid: int  # the child's codex app-server
    prompt: str
    # The round's counters, by name: (CPU, run-queue wait) seconds, or CPU seconds.
    marks: dict[str, Any] = field(default_factory=dict)

    async def bare_turn(self, thread_id: str) -> float:
        before = sched_seconds(self.bare.pid)
        started = time.perf_counter()
        await self.bare.run_turn(thread_id, self.prompt, lambda a: echo(**a))
        took = time.perf_counter() - started
        self.marks["bare_codex"] = _delta(sched_seconds(self.bare.pid), before)
        return took

    async def wire_turn(self, session_id: str) -> float:
        gateway_before = sched_seconds(self.gateway_pid)
        codex_before = sched_seconds(self.codex_pid)
        started = time.perf_counter()
        await self.raw.run_turn(session_id, self.prompt, lambda a: echo(**a))
        took = time.perf_counter() - started
        self.marks["wire_gateway"] = _delta(sched_seconds(self.gateway_pid), gateway_before)
        self.marks["wire_codex"] = _delta(sched_seconds(self.codex_pid), codex_before)
        return took

    async def our_turn(self, handle: Any) -> float:
        before = cpu_seconds(self.gateway_pid)
        client_before = cpu_seconds(os.getpid())
        started = time.perf_counter()
        await run_turn(self.ours, handle, self.prompt)
        took = time.perf_counter() - started
        self.marks["ours_gateway"] = cpu_seconds(self.gateway_pid) - before
        # This process: our client's share (the other sides' parts here are idle).
        self.marks["ours_client"] = cpu_seconds(os.getpid()) - client_before
        return took

    async def embedded_turn(self, handle: Any) -> float:
        # Client and gateway are this process (the bench's idle parts included).
        before = cpu_seconds(os.getpid())
        started = time.perf_counter()
        await run_turn(self.embedded, handle, self.prompt)
        took = time.perf_counter() - started
        self.marks["embedded_process"] = cpu_seconds(os.getpid()) - before
        return took
