"""Load: 64 concurrent sessions keep tool calls in flight for a bounded time, three times
over, against a `teammesh serve` subprocess. No error; the gateway's open file descriptors
come back to where they were and its memory does not keep growing from one round to the next
(sessions are deleted after each round). The p99 tool-call latency is printed, not asserted.
"""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

import pytest

from .loadgen import run_load
from .procs import GatewayProcess, ProcessStats, percentile

SESSIONS = 64
SECONDS = 4.0
ROUNDS = 3
FD_SLACK = 8
RSS_SLACK_MIB = 24.0


def _settled(gateway: GatewayProcess) -> ProcessStats:
    gc.collect()
    time.sleep(0.5)  # closed connections are reaped
    return gateway.stats()


@pytest.mark.timeout(150)
def test_64_sessions_with_calls_in_flight_no_error_no_leak(tmp_path: Path) -> None:
    with GatewayProcess(tmp_path / "gateway") as gateway:
        # Warm-up: imports, caches, the runtime, SQLite pages.
        warm = asyncio.run(run_load(gateway.base_url, 8, 1.0))
        assert warm.errors == []
        baseline = _settled(gateway)
        rounds = []
        stats = [baseline]
        for _ in range(ROUNDS):
            rounds.append(asyncio.run(run_load(gateway.base_url, SESSIONS, SECONDS)))
            stats.append(_settled(gateway))

    print(f"\nload: {SESSIONS} sessions x {SECONDS:.0f}s x {ROUNDS} rounds"
          f" against one gateway (think 0 ms)")
    print(f"{'round':>5} {'turns':>6} {'calls':>6} {'fallback':>8} {'calls/s':>8}"
          f" {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'RSS MiB':>8} {'fds':>4} {'errors':>6}")
    print(f"{'base':>5} {'':>6} {'':>6} {'':>8} {'':>8} {'':>7} {'':>7} {'':>7}"
          f" {baseline.rss_mib:>8.1f} {baseline.fds:>4}")
    for number, (load, after) in enumerate(zip(rounds, stats[1:], strict=True), 1):
        ms = [x * 1000 for x in load.latencies]
        print(f"{number:>5} {load.turns:>6} {load.calls:>6} {load.via_fallback:>8}"
              f" {load.calls / load.seconds:>8.0f} {percentile(ms, 0.5):>7.1f}"
              f" {percentile(ms, 0.99):>7.1f} {max(ms, default=0):>7.1f}"
              f" {after.rss_mib:>8.1f} {after.fds:>4} {len(load.errors):>6}")

    for load in rounds:
        assert load.errors == [], load.errors[:5]
        assert load.turns >= SESSIONS  # every session completed turns
        assert load.calls == load.turns * 4  # every call of every finished turn answered
    # No descriptor leak: back to the baseline once the clients are gone.
    assert stats[-1].fds <= baseline.fds + FD_SLACK, (baseline, stats)
    # No memory growth from round to round beyond allocator noise.
    assert stats[-1].rss_mib - stats[1].rss_mib <= RSS_SLACK_MIB, stats
