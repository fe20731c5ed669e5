"""The defaults of a run, named once.

A setting nobody gave (no flag, nothing in the member's or the team's table) takes its
value here; the team file, the runner, the launch config and the command line's help all
read these names, so a default changed here is changed everywhere it is said.
"""

from __future__ import annotations

from pathlib import Path

# Rounds a run may take before it stops (`[team] rounds`, `--rounds`).
DEFAULT_ROUNDS = 9
# Seconds one member's turn may take (`turn_timeout`, `--turn-timeout`).
DEFAULT_TURN_TIMEOUT = 120.0
# Members' turns running at the same time (`[team] concurrency`, `--concurrency`).
DEFAULT_CONCURRENCY = 1
# The embedded gateway's runtime spec (`--runtime`).
DEFAULT_RUNTIME = "playbook"
# Where a run's board file goes when no `--board` is given: one SQLite file per run.
DEFAULT_BOARD_DIR = Path(".teammesh") / "runs"
