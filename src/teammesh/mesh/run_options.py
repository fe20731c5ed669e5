"""How a caller wants a team run driven: the command line's (or a test's) choices.

Settings left None fall back to the member's, the team's, then the defaults: that order is
resolved once, in `run_settings.resolve_settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from teammesh.mesh.approval_wait import Asker


@dataclass
class RunOptions:
    rounds: int | None = None
    turn_timeout: float | None = None
    concurrency: int | None = None
    use_stream: bool = True
    use_polling: bool = True
    # Seed mode (benchmarks): learn that a turn ended only by polling its session at this
    # interval, as the seed does (1 s), never from the stream's event; tool calls still
    # arrive over the stream. None: event-driven sync points.
    sync_poll_interval: float | None = None
    ask: Asker | None = None
    # Called after every board change the runner makes (the live view redraws).
    on_change: Callable[[], None] | None = None
    # Someone may answer approvals on the board (the web board): the gate waits for it too.
    board_answers: bool = False
    # Told the run's state once the runner has it (the web board reads live member state).
    on_state: Callable[[Any], None] | None = None
