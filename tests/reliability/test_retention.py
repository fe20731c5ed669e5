"""Leaks, measured where they start: a gateway that has served and deleted many sessions holds
almost nothing for them — a tombstone each (for the wire's 410 answers), not their
conversations. Measured in process with tracemalloc, so the figure is bytes per session
rather than RSS noise, in a fresh process (`retention_probe`) so the figure is the gateway's
and not whatever other tests left in the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SESSIONS = 12
TURNS = 3
ROUNDS = 3
# A deleted session's tombstone (ids, title, timestamps, controls) is well under this.
BYTES_PER_DELETED_SESSION = 6 * 1024
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_deleted_sessions_leave_only_a_tombstone(tmp_path: Path) -> None:
    probe = subprocess.run([sys.executable, "-m", "tests.reliability.retention_probe",
                            str(SESSIONS), str(TURNS), str(ROUNDS), str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert probe.returncode == 0, probe.stderr[-4000:]
    measured = json.loads(probe.stdout.strip().splitlines()[-1])
    marks, turns = measured["marks"], measured["turns"]
    assert turns == SESSIONS * TURNS * ROUNDS
    per_session = (marks[-1] - marks[0]) / (SESSIONS * (ROUNDS - 1))
    print(f"\nretention: {SESSIONS * ROUNDS} sessions served ({turns} turns) and deleted;"
          f" traced memory after each round {[round(m / 1024) for m in marks]} KiB;"
          f" {per_session:.0f} bytes kept per deleted session")
    assert per_session < BYTES_PER_DELETED_SESSION
