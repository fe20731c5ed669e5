"""The flags of `teammesh worker` (light: no runner, client or board imported here)."""

from __future__ import annotations

import argparse
from typing import Any

from teammesh.cli_lazy import deferred


def _lease_seconds(text: str) -> float:
    value = float(text)
    if not 0.2 <= value <= 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be between 0.2 and 3600 seconds, got {text}")
    return value


def register_worker(subparsers: Any, run_arguments: Any) -> None:
    worker = subparsers.add_parser(
        "worker", help="drive some members of a PostgreSQL run (a team across machines)",
        description="Run the turns of the members this worker holds leases on, against its"
                    " own gateway (embedded by default), while other workers drive the rest"
                    " of the run. See docs/distributed.md.")
    run_arguments(worker)
    worker.add_argument("--run", required=True, metavar="RUN_ID", dest="run_id",
                        help="the run to work on (started by `teammesh run --board"
                             " postgresql://...`)")
    worker.add_argument("--members", default="*",
                        help="members to take: a,b,c or '*' for any (default '*')")
    worker.add_argument("--lease-seconds", type=_lease_seconds, default=10.0,
                        help="how long a member's lease outlives this worker's last"
                             " heartbeat: the takeover time after a crash (default 10)")
    worker.add_argument("--no-coordinate", action="store_true",
                        help="never take the run-wide decisions (completion, limits)")
    worker.set_defaults(func=deferred("teammesh.mesh.worker_cli", "worker"), resume=None,
                        team_file=None)
