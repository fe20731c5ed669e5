"""The gateway's CPU per codex turn, two builds interleaved in one run, for both clients
(not in `make bench`):

    git archive main src | tar -x -C /tmp/main-src
    .venv/bin/python -m bench.gateway_cpu_ab --a-src /tmp/main-src/src --turns 30

Gateway A runs the sources under `--a-src` (first on its PYTHONPATH), gateway B this
checkout; both are `teammesh serve --runtime codex` children on one model server. Each
round runs one turn on each (alternating which goes first) with our client on the runner's
path and with the bare wire client (`bench.gateway_cpu_profile`'s two turn runners), and
reads each gateway's CPU for its turn from its nanosecond counters (`bench.codex_cpu`).
As in `bench.codex_overhead`, both clients stay connected to both gateways throughout, so
an our-client turn is also fanned out to the wire client's socket (it takes every event).
On a shared machine both builds see the same load, so the figure to read is the per-round
ratio B / A (median), next to each build's median.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bench.cli_child import CliServer, model_server, scratch_dir
from bench.codex_ab import gateway_with_src
from bench.codex_cpu import cpu_seconds
from bench.gateway_cpu_profile import WARMUP_TURNS, TurnRunner, our_turns, wire_turns
from bench.stats import median, percentile


async def _cpu_ms(gateway: CliServer, prepare: TurnRunner) -> float:
    turn = await prepare()
    before = cpu_seconds(gateway.pid)
    await turn()
    return (cpu_seconds(gateway.pid) - before) * 1e3


OPENERS = {"ours": our_turns, "wire": wire_turns}


async def run(turns: int, a_src: str, alone: bool) -> dict[str, list[float]]:
    """`alone`: each client's rounds with only that client connected (our runner's real
    situation: no socket that takes every event), one client after the other."""
    figures: dict[str, list[float]] = {}
    phases = [["ours"], ["wire"]] if alone else [["ours", "wire"]]
    with scratch_dir("gateway-cpu-ab") as root:
        model = model_server(root)
        base = f"{model.base_url}/v1"
        gateways = {"A": gateway_with_src(root / "a", base, a_src),
                    "B": gateway_with_src(root / "b", base, None)}
        try:
            for clients in phases:
                await _phase(clients, gateways, turns, figures)
        finally:
            for gateway in gateways.values():
                gateway.stop()
            model.stop()
    return figures


async def _phase(clients: list[str], gateways: dict[str, CliServer], turns: int,
                 figures: dict[str, list[float]]) -> None:
    async with contextlib.AsyncExitStack() as stack:
        runners = {(client, name): await stack.enter_async_context(
                       OPENERS[client](gateways[name].base_url))
                   for client in clients for name in "AB"}
        for prepare in runners.values():
            for _ in range(WARMUP_TURNS):
                await (await prepare())()
        for index in range(turns):
            for client in clients:
                cpu: dict[str, float] = {}
                for name in ("AB" if index % 2 else "BA"):
                    cpu[name] = await _cpu_ms(gateways[name], runners[(client, name)])
                for name in "AB":
                    figures.setdefault(f"{client}: gateway CPU {name}", []).append(
                        cpu[name])
                figures.setdefault(f"{client}: B / A", []).append(cpu["B"] / cpu["A"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a-src", required=True, help="the sources of build A (…/src)")
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--alone", action="store_true",
                        help="each client with only itself connected, one after the other")
    args = parser.parse_args()
    figures = asyncio.run(run(args.turns, args.a_src, args.alone))
    print(f"{args.turns} rounds, gateway CPU per codex turn (ms; B / A a ratio):")
    for name, values in figures.items():
        print(f"  {name:<24} median {median(values):7.2f}   p99 {percentile(values, 99):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
