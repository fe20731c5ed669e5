"""1. Tool-call round trip: the runtime emitting a tool call → the runtime holding its result
(gateway → websocket → client dispatcher → handler → POST → gateway), measured by the probe
inside the gateway process. Floor: the same two hops by a bare websocket server and a bare
HTTP endpoint on the same libraries (`bench.floor_server`), in the same run, interleaved."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx
from websockets.asyncio.client import connect

from bench.codex_cpu import cpu_seconds
from bench.echo_session import echo_prompt, open_echo_session, run_turn, streaming, wait_covered
from bench.processes import FloorProcess, GatewayProcess
from bench.report import Config, Section
from bench.stats import median, percentile, ratio
from teammesh.client import AsyncCodexManager

TARGET_MEDIAN_MS = 1.5
TARGET_RATIO = 2.0


async def floor_samples(base_url: str, count: int) -> list[float]:
    ws_url = base_url.replace("http://", "ws://") + "/ws"
    async with httpx.AsyncClient(base_url=base_url) as http, connect(ws_url) as ws:
        await ws.send(json.dumps({"run": count}))
        while True:
            frame: dict[str, Any] = json.loads(await ws.recv())
            if "samples" in frame:
                return [float(s) for s in frame["samples"]]
            request_id = frame["payload"]["requestId"]
            n = frame["payload"]["params"]["arguments"]["n"]
            response = {"contentItems": [{"type": "inputText",
                                          "text": json.dumps({"n": n, "ok": True})}],
                        "success": True}
            answer = await http.post("/reply", json={"requestId": request_id,
                                                      "response": response})
            answer.raise_for_status()


async def our_samples(gateway: GatewayProcess, cm: AsyncCodexManager, handle: Any,
                      turns: int, calls: int) -> list[float]:
    gateway.dump()  # drop anything earlier
    prompt = echo_prompt(calls)
    for _ in range(turns):
        await run_turn(cm, handle, prompt)
    samples = [float(s) for s in gateway.dump()["tool_calls"]]
    if len(samples) != turns * calls:
        raise RuntimeError(f"expected {turns * calls} tool calls, the probe saw {len(samples)}")
    return samples


async def run(cfg: Config) -> Section:
    section = Section("roundtrip", "1. tool-call round trip")
    turns, calls = cfg.pick((10, 20), (2, 5))
    runs: list[dict[str, float]] = []
    with GatewayProcess() as gateway, FloorProcess() as floor:
        async with AsyncCodexManager(base_url=gateway.base_url) as cm:
            handle = await open_echo_session(cm)
            async with streaming(cm, {handle.session_id: handle}):
                await wait_covered(cm, handle.session_id)
                # Warm-up: connections, imports, first-call paths; not counted.
                await floor_samples(floor.base_url, calls)
                await our_samples(gateway, cm, handle, 1, calls)
                for _ in range(cfg.repeats):
                    base = await floor_samples(floor.base_url, turns * calls)
                    ours = await our_samples(gateway, cm, handle, turns, calls)
                    runs.append({
                        "median_ms": median(ours) * 1e3, "p99_ms": percentile(ours, 99) * 1e3,
                        "floor_median_ms": median(base) * 1e3,
                        "floor_p99_ms": percentile(base, 99) * 1e3,
                        "ratio": ratio(median(ours), median(base)),
                    })
        throughput_sessions, throughput_calls = cfg.pick((32, 20), (4, 5))
        throughput = [await echo_throughput(gateway, throughput_sessions, throughput_calls)
                      for _ in range(cfg.pick(3, 1))]
    n = len(runs)
    med = median([r["median_ms"] for r in runs])
    rat = median([r["ratio"] for r in runs])
    section.add("median", med, "ms", runs=n, target=f"≤ {TARGET_MEDIAN_MS} ms",
                met=med <= TARGET_MEDIAN_MS)
    section.add("p99", median([r["p99_ms"] for r in runs]), "ms", runs=n)
    section.add("floor median (bare ws + http)", median([r["floor_median_ms"] for r in runs]),
                "ms", runs=n)
    section.add("floor p99", median([r["floor_p99_ms"] for r in runs]), "ms", runs=n)
    section.add("median / floor median", rat, "×", runs=n, target=f"≤ {TARGET_RATIO:g}×",
                met=rat <= TARGET_RATIO)
    section.add(f"throughput, {throughput_sessions} sessions at once",
                median([t["calls_per_s"] for t in throughput]), "calls/s",
                runs=len(throughput))
    for side in ("client", "gateway"):
        section.add(f"throughput: {side} CPU per call",
                    median([t[f"{side}_cpu_ms"] for t in throughput]), "ms",
                    runs=len(throughput))
    section.notes.append(f"{turns * calls} sequential calls per run ({turns} turns × {calls}"
                         " calls of a remote skill returning a small dict), websocket path"
                         " only; floor runs interleaved with ours against a second server"
                         " process. Throughput: every session runs one turn of"
                         f" {throughput_calls} echo calls at the same time (no runner, no"
                         " board): the dispatch path's capacity.")
    section.detail["runs"] = runs
    section.detail["throughput"] = throughput
    return section


async def echo_throughput(gateway: GatewayProcess, sessions: int, calls: int
                          ) -> dict[str, float]:
    """Tool calls per second with `sessions` sessions each running one turn of `calls`
    echo calls at the same time: the dispatch path alone (no runner, no board); and the CPU
    each side spent per call meanwhile."""
    # Nanosecond counters (schedstat): psutil's 10 ms ticks read 0 on a short (smoke) run.
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        handles = [await open_echo_session(cm) for _ in range(sessions)]
        by_id = {h.session_id: h for h in handles}
        async with streaming(cm, by_id):
            for handle in handles:
                await wait_covered(cm, handle.session_id)
            prompt = echo_prompt(calls)
            gateway_cpu = cpu_seconds(gateway.pid)
            client_cpu = cpu_seconds(os.getpid())
            started = time.perf_counter()
            await asyncio.gather(*(run_turn(cm, h, prompt) for h in handles))
            wall = time.perf_counter() - started
            client_cpu = cpu_seconds(os.getpid()) - client_cpu
            gateway_cpu = cpu_seconds(gateway.pid) - gateway_cpu
    gateway.dump()
    total = sessions * calls
    return {"calls_per_s": total / wall, "client_cpu_ms": client_cpu / total * 1e3,
            "gateway_cpu_ms": gateway_cpu / total * 1e3}
