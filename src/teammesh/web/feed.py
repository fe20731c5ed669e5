"""One snapshot of the run, rebuilt when something changed, pushed to every open page.

A single task reads the board; pages never do, so ten open tabs cost what one costs. In the
runner's process the runner nudges the feed on every board change (`nudge`, cheap: a flag)
and the feed rebuilds at most every `interval`; in `teammesh board serve` (another process,
maybe another machine) nobody nudges, so the feed polls the board every `poll` seconds. A
rebuild that changes nothing (timers tick in the page itself) pushes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from teammesh.web.snapshot import Source, snapshot

log = logging.getLogger("teammesh.web.feed")

NUDGED_INTERVAL_S = 0.25
POLL_INTERVAL_S = 1.0
# Open event streams at once: each is a task and a socket for as long as a tab stays open;
# past this a new one is refused (503) instead of growing without bound. Far more than the
# tabs one operator opens.
MAX_STREAMS = 64
# A rebuild reads the whole run record (every call's arguments and results, up to 16 KB
# each): thousands of calls make it a quarter second of the runner's own loop. After a
# rebuild that took `t`, the next waits at least `t * REBUILD_BACKOFF`, so the page never
# takes more than 1 / (1 + REBUILD_BACKOFF) of the loop however much the run recorded.
REBUILD_BACKOFF = 4.0


def next_wait(interval: float, rebuild_s: float) -> float:
    """Seconds before the feed looks again, after a rebuild that took `rebuild_s`."""
    return max(interval, rebuild_s * REBUILD_BACKOFF)


class Feed:
    def __init__(self, source: Source, *, interval: float = NUDGED_INTERVAL_S,
                 poll: float = POLL_INTERVAL_S) -> None:
        self.source = source
        self.interval = interval
        self.poll = poll
        self.version = 0
        self.current: dict[str, Any] = {}
        self._fingerprint = ""
        self._dirty = True
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.rebuilds = 0
        self.streams = 0  # event streams open now (app.py counts them)
        self.closed = False

    def nudge(self) -> None:
        """Something changed (called from the runner, in its loop or another thread)."""
        self._dirty = True

    def refresh(self) -> bool:
        """Rebuild now; True when the state changed."""
        self._dirty = False
        state = snapshot(self.source)
        self.rebuilds += 1
        fingerprint = json.dumps({k: v for k, v in state.items() if k != "now"},
                                 sort_keys=True, default=str)
        self.current = state
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        self.version += 1
        return True

    async def _run(self) -> None:
        waited, pause = 0.0, self.interval
        while True:
            await asyncio.sleep(pause)
            waited += pause
            pause = self.interval
            if not self._dirty and waited < self.poll:
                continue
            waited = 0.0
            began = time.perf_counter()
            try:
                changed = self.refresh()
            except Exception:  # a board busy or gone for a moment: try again next time
                log.exception("reading the board for the web page failed")
                continue
            finally:
                pause = next_wait(self.interval, time.perf_counter() - began)
            if changed:
                async with self._changed:
                    self._changed.notify_all()

    def start(self) -> None:
        if self._task is None:
            self.refresh()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def close(self) -> None:
        """The server is about to stop: every open event stream ends now, on its own, so
        the server has no request left to cancel (a cancelled stream is a traceback on the
        operator's terminal and a second's wait)."""
        self.closed = True
        async with self._changed:
            self._changed.notify_all()

    async def changed_since(self, version: int, wait_s: float) -> bool:
        """Wait until the version passes `version` or the feed closes (True), or `wait_s`
        passes (False)."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(
                    lambda: self.closed or self.version != version), wait_s)
            except TimeoutError:
                return False
        return True

    async def decided(self) -> None:
        """An approval was just answered here: show it at once."""
        if self.refresh():
            async with self._changed:
                self._changed.notify_all()
