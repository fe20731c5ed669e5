"""Waiting for a sent turn to end: its final status from the stream's `turn/completed`
(or by polling), the member's pending tool calls drained meanwhile, the team's tool-call
deadline watched, and a gateway that is briefly unreachable (a restart) waited out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from teammesh.client import AsyncCodexManager, TransportError, WaitTimeoutError
from teammesh.mesh.calls import MemberState
from teammesh.mesh.run_state import RunState

# While the stream covers a session, pending calls are still drained now and then (a lost
# frame must not stall a turn); without a stream, they are drained often.
DRAIN_INTERVAL_WITH_STREAM = 1.0
DRAIN_INTERVAL_WITHOUT_STREAM = 0.2
# How often the end of a turn is polled for: without the stream, and with it (the stream's
# event usually comes first; the poll is its fallback).
TURN_POLL_WITHOUT_STREAM = 0.1
TURN_POLL_WITH_STREAM = 0.25
# How often a runner retries a gateway it cannot reach (e.g. while it restarts).
GATEWAY_RETRY_SECONDS = 0.5


class DeadlinePassed(Exception):
    """A tool call of the turn stayed unanswered past the team's tool-call deadline."""

    def __init__(self, tool: str, deadline: float) -> None:
        super().__init__(tool)
        self.tool = tool
        self.deadline = deadline


async def wait_for_gateway(cm: AsyncCodexManager, limit: float) -> None:
    """Return once the gateway answers its health check again, or after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            await cm.system.health()
            return
        except TransportError:
            await asyncio.sleep(GATEWAY_RETRY_SECONDS)


async def await_turn(state: RunState, member: MemberState, turn_id: str, limit: float) -> str:
    """The turn's final status, waiting out a gateway that is unreachable for a while (a
    restart): once it is back, the turn is found finished, or `interrupted` if the old
    gateway process died with it. Only the turn's deadline ends the wait (raising
    `WaitTimeoutError`); an overdue tool call raises `DeadlinePassed`."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return await _await_turn_once(state, member, turn_id,
                                          max(0.1, deadline - time.monotonic()))
        except TransportError:
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(f"turn {turn_id}: gateway unreachable") from None
            await asyncio.sleep(GATEWAY_RETRY_SECONDS)


async def _await_turn_once(state: RunState, member: MemberState, turn_id: str,
                           limit: float) -> str:
    """The turn's final status: learned from the stream (`turn/completed`) when it covers
    the session, by polling otherwise; pending calls are drained meanwhile."""
    assert member.session is not None
    session_id = member.session.session_id
    options = state.options
    seed_poll = options.sync_poll_interval
    completion = asyncio.ensure_future(member.cm.wait.turn_completed(
        session_id=session_id, turn_id=turn_id, timeout_seconds=limit,
        interval_seconds=seed_poll or (TURN_POLL_WITH_STREAM if options.use_stream
                                       else TURN_POLL_WITHOUT_STREAM),
        use_stream=options.use_stream and seed_poll is None))
    tool_deadline = state.settings.tool_call_deadline
    drain: asyncio.Task[None] | None = None
    first_seen: dict[str, float] = {}
    first = True
    try:
        while not completion.done():
            covered = state.stream_covers(member)
            # While the stream covers the session it delivers the calls; the fallback
            # drain starts one interval in (bench: an immediate GET + racing POSTs per
            # turn were 40% of the runner's time at 32 members).
            if options.use_polling and (drain is None or drain.done()) and not (
                    first and covered):
                # In the background, for the same reason as signals are.
                drain = state.calls.spawn(state.calls.drain(member))
            first = False
            if tool_deadline is not None:
                await _check_deadline(member, tool_deadline, first_seen)
            interval = DRAIN_INTERVAL_WITH_STREAM if covered else DRAIN_INTERVAL_WITHOUT_STREAM
            if tool_deadline is not None:
                interval = min(interval, tool_deadline / 4)
            await asyncio.wait({completion}, timeout=interval)
        return str(completion.result())
    finally:
        if not completion.done():
            completion.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await completion


async def _check_deadline(member: MemberState, deadline: float,
                          first_seen: dict[str, float]) -> None:
    """Raise `DeadlinePassed` when one of the session's tool calls has stayed unanswered
    longer than `deadline` seconds (measured from when we first saw it)."""
    assert member.session is not None
    listing = await member.cm.sessions.tool_calls(member.session.session_id)
    rows = listing.get("data") if isinstance(listing, dict) else None
    now = time.monotonic()
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        request_id = str(row.get("requestId"))
        since = first_seen.setdefault(request_id, now)
        if now - since >= deadline:
            raise DeadlinePassed(str(row.get("tool")), deadline)
