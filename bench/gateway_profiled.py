"""`python -m teammesh` under a cProfile that a signal switches on and off, for
`bench.gateway_cpu_profile`: SIGUSR1 starts the profile, SIGUSR2 stops it and writes what
it has gathered so far to `$BENCH_GATEWAY_PROFILE` (pstats format). Only the turns between
the two signals are profiled, so start-up, session creation and warming turns stay out.

The handlers run on the main thread, which is the one running the gateway's event loop;
other threads (none on the codex path) are not profiled.
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import time
from types import FrameType

from teammesh.cli import main

# CPU time, not wall time: a send that wakes the receiver may lose the core to it, and
# that wait is not the gateway's work.
_profile = cProfile.Profile(time.thread_time)


def _start(_signum: int, _frame: FrameType | None) -> None:
    _profile.enable()


def _stop(_signum: int, _frame: FrameType | None) -> None:
    # The profile accumulates over every start/stop pair; each stop rewrites the file.
    _profile.disable()
    _profile.dump_stats(os.environ["BENCH_GATEWAY_PROFILE"])


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    sys.exit(main())
