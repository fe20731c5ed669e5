"""Start and stop of `teammesh serve --runtime codex`, as an operator sees them: the process
started → its `listening on` line (ready) → `/api/health` says codex is initialized (codex
starts with the gateway, in the background) → SIGTERM → the process has exited, with one
client websocket open meanwhile (it must be closed, 1001, not left hanging).
Floor: the same interpreter starting and exiting (`python -c pass`), in the same run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.cli_child import codex_gateway, model_server, scratch_dir
from bench.report import Config, Section
from bench.stats import median

TARGET_STOP_MS = 100.0


async def _one(index: int, base: str, root: Path) -> dict[str, float]:
    gateway = codex_gateway(root / f"gateway-{index}", base, root / f"gateway-{index}.log")
    try:
        ready_s = gateway.ready - gateway.started
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
            async with asyncio.timeout(30):
                # Polled as a client would: health is the only signal the wire has.
                while not (await http.get("/api/health")).json()["codex"]["initialized"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
            initialized_s = time.perf_counter() - gateway.started
        ws_url = gateway.base_url.replace("http://", "ws://") + "/api/stream"
        async with connect(ws_url) as ws:
            await ws.recv()  # the ready frame
            stop_s = await asyncio.to_thread(gateway.stop)
            close_code = -1
            try:
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            except ConnectionClosed as closed:
                close_code = closed.rcvd.code if closed.rcvd is not None else 1006
    finally:
        gateway.stop()
    return {"ready_ms": ready_s * 1e3, "initialized_ms": initialized_s * 1e3,
            "stop_ms": stop_s * 1e3, "close_code": float(close_code)}


def _floor_ms() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - started) * 1e3


async def run(cfg: Config) -> Section:
    section = Section("stop", "gateway start and stop (codex runtime)")
    runs: list[dict[str, float]] = []
    floors: list[float] = []
    with scratch_dir("gateway-stop") as root:
        model = model_server(root)
        try:
            base = f"{model.base_url}/v1"
            for index in range(cfg.repeats + 1):  # the first one warms the disk caches
                floor = _floor_ms()
                result = await _one(index, base, root)
                if index:
                    runs.append(result)
                    floors.append(floor)
        finally:
            model.stop()
    n = len(runs)
    stop = median([r["stop_ms"] for r in runs])
    section.add("start → listening", median([r["ready_ms"] for r in runs]), "ms", runs=n)
    section.add("start → codex initialized", median([r["initialized_ms"] for r in runs]), "ms",
                runs=n)
    section.add("SIGTERM → exit", stop, "ms", runs=n, target=f"≤ {TARGET_STOP_MS:g} ms",
                met=stop <= TARGET_STOP_MS)
    section.add("floor: python -c pass", median(floors), "ms", runs=n)
    codes = sorted({int(r["close_code"]) for r in runs})
    section.notes.append(f"{n} runs, each a fresh gateway on its own data dir with one"
                         f" websocket client open at SIGTERM (close codes seen: {codes}).")
    section.detail["runs"] = runs
    return section
