"""A/B of two gateway builds on the same codex turn, interleaved in one run (not in `make bench`):

    git archive main src | tar -x -C /tmp/main-src
    .venv/bin/python -m bench.codex_ab --a-src /tmp/main-src/src --pairs 40

Gateway A runs the sources under `--a-src` (put first on its PYTHONPATH), gateway B this
checkout; both are `teammesh serve --runtime codex` children on one model server, driven by
the bare wire client (`bench.codex_raw_client`) against one bare app-server
(`bench.codex_bare`). Each round runs bare, then A and B in alternating order, on fresh
threads/sessions; what a build adds is its turn minus that round's bare turn. On a shared
machine the two builds' figures drift together, so the per-round difference A − B and the
gateway CPU per turn (nanosecond counters, `bench.codex_cpu`) are the figures to read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

from bench.cli_child import CliServer, codex_gateway, model_server, scratch_dir
from bench.codex_bare import BareAppServer
from bench.codex_cpu import cpu_seconds
from bench.codex_raw_client import RawGatewayClient
from bench.echo_session import ECHO, ECHO_SCHEMA, echo, echo_prompt
from bench.stats import median, percentile

MODEL = "playbook"


def gateway_with_src(root: Path, base_url: str, src: str | None) -> CliServer:
    """A codex gateway child running the sources under `src` (None: this checkout's)."""
    saved = os.environ.get("PYTHONPATH")
    if src:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, saved) if p)
    try:
        return codex_gateway(root, base_url, root.with_suffix(".log"))
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


async def run(pairs: int, a_src: str) -> dict[str, list[float]]:
    tools: list[dict[str, Any]] = [
        {"name": ECHO, "description": "Echo n back.", "inputSchema": ECHO_SCHEMA}]
    figures: dict[str, list[float]] = {k: [] for k in (
        "bare", "added A", "added B", "A - B", "gateway CPU A", "gateway CPU B")}
    prompt, cwd = echo_prompt(1), os.getcwd()
    with scratch_dir("codex-ab") as root:
        model = model_server(root)
        base = f"{model.base_url}/v1"
        gateways = {"A": gateway_with_src(root / "a", base, a_src),
                    "B": gateway_with_src(root / "b", base, None)}
        try:
            async with (
                BareAppServer(root / "bare", base, MODEL) as bare,
                RawGatewayClient(gateways["A"].base_url) as client_a,
                RawGatewayClient(gateways["B"].base_url) as client_b,
            ):
                clients = {"A": client_a, "B": client_b}
                for index in range(pairs + 1):  # the first round warms up
                    thread = await bare.start_thread(cwd, [dict(t, type="function")
                                                           for t in tools])
                    started = time.perf_counter()
                    await bare.run_turn(thread, prompt, lambda a: echo(**a))
                    bare_s = time.perf_counter() - started
                    turn: dict[str, tuple[float, float]] = {}
                    for name in ("AB" if index % 2 else "BA"):
                        session = await clients[name].create_session(cwd, tools)
                        cpu = cpu_seconds(gateways[name].pid)
                        started = time.perf_counter()
                        await clients[name].run_turn(session, prompt, lambda a: echo(**a))
                        turn[name] = (time.perf_counter() - started,
                                      cpu_seconds(gateways[name].pid) - cpu)
                    if index:
                        figures["bare"].append(bare_s * 1e3)
                        for name in "AB":
                            figures[f"added {name}"].append((turn[name][0] - bare_s) * 1e3)
                            figures[f"gateway CPU {name}"].append(turn[name][1] * 1e3)
                        figures["A - B"].append((turn["A"][0] - turn["B"][0]) * 1e3)
        finally:
            for gateway in gateways.values():
                gateway.stop()
            model.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a-src", required=True, help="the sources of build A (…/src)")
    parser.add_argument("--pairs", type=int, default=40)
    args = parser.parse_args()
    figures = asyncio.run(run(args.pairs, args.a_src))
    print(f"{args.pairs} rounds (bare, A, B), ms:")
    for name, values in figures.items():
        print(f"  {name:<16} median {median(values):7.2f}   p99 {percentile(values, 99):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
