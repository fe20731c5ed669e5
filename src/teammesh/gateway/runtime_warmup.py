"""Starting the default runtime with the gateway, not with its first session.

codex's app-server takes 140–240 ms to spawn and initialize. Left to the first
`POST /api/sessions`, that session pays for it, and `/api/health` says
`codex.initialized: false` until someone creates one, so a client that waits for an
initialized codex before it creates anything (as codex-manager's clients may) waits forever.
So when the default runtime is codex, the gateway starts it in the background as soon as it
serves: serving is not delayed, health reads `initializing` meanwhile, and a runtime that
cannot start is reported in health with its reason (the gateway keeps serving; the next
session tries again and gets the same reason as a structured error).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from teammesh.gateway.runtime_pool import RuntimePool
from teammesh.gateway.runtimes.base import JsonObject, RuntimeFailure
from teammesh.gateway.runtimes.registry import parse_spec

log = logging.getLogger("teammesh.gateway.runtimes")

# The runtimes worth starting early: a child process with a handshake. The in-process ones
# start in microseconds with their first session.
EAGER_RUNTIMES = frozenset({"codex"})


class RuntimeWarmup:
    def __init__(self, pool: RuntimePool) -> None:
        self._pool = pool
        self._task: asyncio.Task[None] | None = None
        self.error: str | None = None

    def start(self) -> None:
        """Begin starting the default runtime (needs the running loop); a no-op for a
        runtime that is not worth it, or when already begun."""
        name, _ = parse_spec(self._pool.default_spec)
        if name in EAGER_RUNTIMES and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"start runtime {self._pool.default_spec}")

    @property
    def starting(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        try:
            await self._pool.get(self._pool.default_spec)
        except RuntimeFailure as exc:
            self.error = exc.message
            log.error("runtime %s failed to start: %s", self._pool.default_spec, exc.message)
        except Exception as exc:  # reported in health, never a crash of the gateway
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("runtime %s failed to start", self._pool.default_spec)

    def health(self, runtime_health: JsonObject | None) -> JsonObject:
        """The health entry of the default runtime: its own report once it runs, with
        `state` initializing / initialized / failed / stopped (and `error` when failed)."""
        if runtime_health is not None:
            state = "initialized" if runtime_health.get("initialized") else "stopped"
            return {**runtime_health, "state": state}
        entry: JsonObject = {"running": False, "pid": None, "initialized": False}
        if self.starting:
            return {**entry, "state": "initializing"}
        if self.error is not None:
            return {**entry, "state": "failed", "error": self.error}
        return {**entry, "state": "stopped"}

    async def cancel(self) -> None:
        """At shutdown: stop a start still under way (the pool stops what it spawned)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
