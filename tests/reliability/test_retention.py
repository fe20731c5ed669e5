"""Leaks, measured where they start: a gateway that has served and deleted many sessions holds
almost nothing for them — a tombstone each (for the wire's 410 answers), not their
conversations. Measured in process with tracemalloc, so the figure is bytes per session
rather than RSS noise.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from teammesh.gateway.embedded import start_gateway

from .loadgen import run_load

SESSIONS = 12
TURNS = 3
ROUNDS = 3
# A deleted session's tombstone (ids, title, timestamps, controls) is well under this.
BYTES_PER_DELETED_SESSION = 6 * 1024


@pytest.mark.anyio
@pytest.mark.timeout(120)
async def test_deleted_sessions_leave_only_a_tombstone(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        async with start_gateway(data_dir=tmp_path) as gateway:
            marks = []
            turns = 0
            for _ in range(ROUNDS):
                load = await run_load(gateway.base_url, SESSIONS, 60.0, delete_after=True,
                                      max_turns=TURNS)
                assert load.errors == []
                assert load.turns == SESSIONS * TURNS
                turns += load.turns
                gc.collect()
                marks.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    per_session = (marks[-1] - marks[0]) / (SESSIONS * (ROUNDS - 1))
    print(f"\nretention: {SESSIONS * ROUNDS} sessions served ({turns} turns) and deleted;"
          f" traced memory after each round {[round(m / 1024) for m in marks]} KiB;"
          f" {per_session:.0f} bytes kept per deleted session")
    assert per_session < BYTES_PER_DELETED_SESSION
