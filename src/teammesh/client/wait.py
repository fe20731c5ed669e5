"""Wait helpers: `until`, `turn_status`, `assistant_reply`, `send_message_and_wait_reply`
(codex-manager's semantics) and `turn_completed`.

When a stream is running and covers the session, the turn-based waits learn
`turn/completed` from it (a sync point then costs one round trip, not a poll interval);
otherwise they poll `GET /sessions/{id}` every `interval_seconds`.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from teammesh.client._twin import Twin, blocking, mirrors
from teammesh.client.api import SessionsApi
from teammesh.client.errors import WaitTimeoutError
from teammesh.client.replies import (
    assistant_reply_of,
    is_terminal_status,
    normalize_statuses,
    turn_status_of,
)
from teammesh.client.turns import TurnTracker

# While a stream covers the session, still poll now and then: a completion published while
# the socket was reconnecting is lost, and this bounds how long such a loss can cost.
STREAM_FALLBACK_POLL_SECONDS = 1.0
T = TypeVar("T")


@dataclass(slots=True)
class SessionTurnReply:
    session_id: str
    turn_id: str
    accepted: dict[str, Any] | None
    detail: Any
    assistant_reply: str


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _timeout_message(description: str | None, timeout_seconds: float, attempts: int) -> str:
    return (
        f"{description or 'wait condition'} did not match within {timeout_seconds:.2f}s "
        f"after {attempts} attempts"
    )


def _check_timing(timeout_seconds: float, interval_seconds: float) -> None:
    if timeout_seconds <= 0:
        raise ValueError("timeout_seconds must be > 0")
    if interval_seconds <= 0:
        raise ValueError("interval_seconds must be > 0")


class AsyncWaitApi:
    def __init__(self, sessions: SessionsApi, tracker: TurnTracker | None = None) -> None:
        self._sessions = sessions
        self.tracker = tracker or TurnTracker()

    async def until(
        self,
        poll: Callable[[], Any],
        *,
        predicate: Callable[[Any], Any] | None = None,
        timeout_seconds: float = 60.0,
        interval_seconds: float = 0.25,
        initial_delay_seconds: float = 0.0,
        max_attempts: int | None = None,
        description: str | None = None,
    ) -> Any:
        _check_timing(timeout_seconds, interval_seconds)
        if initial_delay_seconds < 0:
            raise ValueError("initial_delay_seconds must be >= 0")
        if max_attempts is not None and max_attempts <= 0:
            raise ValueError("max_attempts must be > 0")
        if initial_delay_seconds:
            await asyncio.sleep(initial_delay_seconds)
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            value = await _resolve(poll())
            matched = await _resolve(predicate(value)) if predicate else bool(value)
            if matched:
                return value
            if (max_attempts is not None and attempts >= max_attempts) or (
                time.monotonic() - started >= timeout_seconds
            ):
                raise WaitTimeoutError(_timeout_message(description, timeout_seconds, attempts))
            await asyncio.sleep(interval_seconds)

    async def turn_status(
        self,
        *,
        session_id: str,
        turn_id: str,
        expected: str | Iterable[str] | None = None,
        timeout_seconds: float = 60.0,
        interval_seconds: float = 0.25,
    ) -> str | None:
        if expected is None:
            return turn_status_of(await self._sessions.get(session_id), turn_id)
        wanted = normalize_statuses(expected, what="expected statuses")

        def matches(detail: Any) -> bool:
            status = turn_status_of(detail, turn_id)
            return status is not None and status.lower() in wanted

        detail = await self.until(
            lambda: self._sessions.get(session_id),
            predicate=matches,
            timeout_seconds=timeout_seconds,
            interval_seconds=interval_seconds,
            description=f"turn {turn_id} status in {', '.join(sorted(wanted))}",
        )
        return turn_status_of(detail, turn_id)

    async def _pause(
        self,
        session_id: str,
        turn_id: str,
        interval_seconds: float,
        remaining: float,
        use_stream: bool,
    ) -> None:
        """Sleep until the next check: the turn's completion event if a stream covers the
        session, else one poll interval."""
        if (
            use_stream
            and self.tracker.covers(session_id)
            and self.tracker.completed_status(session_id, turn_id) is None
        ):
            await self.tracker.wait(
                session_id,
                turn_id,
                min(remaining, max(interval_seconds, STREAM_FALLBACK_POLL_SECONDS)),
            )
            return
        await asyncio.sleep(min(interval_seconds, max(remaining, 0.0)))

    async def _until_turn(
        self,
        what: str,
        check: Callable[[int], Awaitable[T | None]],
        *,
        session_id: str,
        turn_id: str,
        timeout_seconds: float,
        interval_seconds: float,
        use_stream: bool,
    ) -> T:
        """`check(attempt)` until it gives a value or the deadline passes (`what` names the
        wait in the timeout), pausing between attempts as `_pause` does."""
        _check_timing(timeout_seconds, interval_seconds)
        deadline = time.monotonic() + timeout_seconds
        attempts = 0
        while True:
            attempts += 1
            if (found := await check(attempts)) is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(_timeout_message(what, timeout_seconds, attempts))
            await self._pause(session_id, turn_id, interval_seconds, remaining, use_stream)

    async def turn_completed(
        self, *, session_id: str, turn_id: str, timeout_seconds: float = 60.0,
        interval_seconds: float = 0.25, use_stream: bool = True,
    ) -> str:
        """The turn's terminal status, as soon as it is known (event first, poll fallback)."""

        async def check(attempt: int) -> str | None:
            if use_stream and (status := self.tracker.completed_status(session_id, turn_id)):
                return status
            # While a stream covers the session its event is the first check: a GET returns
            # the whole session (its transcript grows every turn), so one per turn made long
            # runs quadratic (bench: scale). The fallback poll still follows one pause later.
            if attempt > 1 or not (use_stream and self.tracker.covers(session_id)):
                status = turn_status_of(await self._sessions.get(session_id), turn_id)
                if status is not None and is_terminal_status(status):
                    return status
            return None

        return await self._until_turn(
            f"turn {turn_id} completion", check, session_id=session_id, turn_id=turn_id,
            timeout_seconds=timeout_seconds, interval_seconds=interval_seconds,
            use_stream=use_stream,
        )

    async def assistant_reply(
        self, *, session_id: str, turn_id: str, timeout_seconds: float = 60.0,
        interval_seconds: float = 0.25, use_stream: bool = True,
    ) -> SessionTurnReply:
        async def check(attempt: int) -> SessionTurnReply | None:
            detail = await self._sessions.get(session_id)
            status = turn_status_of(detail, turn_id)
            reply = assistant_reply_of(detail, turn_id)
            if status is None and reply is not None:
                # Older payloads without `thread.turns`: a reply is the only signal.
                return SessionTurnReply(session_id, turn_id, None, detail, reply)
            if status is not None and is_terminal_status(status):
                if reply is None:
                    raise WaitTimeoutError(f"turn {turn_id} completed without an assistant reply")
                return SessionTurnReply(session_id, turn_id, None, detail, reply)
            return None

        return await self._until_turn(
            f"assistant reply for turn {turn_id}", check, session_id=session_id,
            turn_id=turn_id, timeout_seconds=timeout_seconds, interval_seconds=interval_seconds,
            use_stream=use_stream,
        )

    async def send_message_and_wait_reply(
        self,
        /,
        *,
        session_id: str,
        text: str,
        timeout_seconds: float = 60.0,
        interval_seconds: float = 0.25,
        **send_kwargs: Any,
    ) -> SessionTurnReply:
        accepted = await self._sessions.send_message(session_id, text, **send_kwargs)
        turn_id = accepted_turn_id(accepted, "sessions.send_message")
        reply = await self.assistant_reply(
            session_id=session_id,
            turn_id=turn_id,
            timeout_seconds=timeout_seconds,
            interval_seconds=interval_seconds,
        )
        reply.accepted = accepted
        return reply


def accepted_turn_id(accepted: Any, operation: str) -> str:
    if not isinstance(accepted, dict):
        raise ValueError(f"{operation} returned unexpected payload; expected dict with turnId")
    turn_id = accepted.get("turnId")
    if not isinstance(turn_id, str) or not turn_id.strip():
        raise ValueError(f"{operation} response missing turnId")
    return turn_id


def threaded(fn: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """A sync callback, run in a worker thread so it may call the sync client (whose
    requests need the private loop this wait runs on)."""
    if fn is None:
        return None
    if inspect.iscoroutinefunction(fn):
        return fn

    async def call(*args: Any) -> Any:
        return await _resolve(await asyncio.to_thread(fn, *args))

    return call


class WaitApi(Twin[AsyncWaitApi]):
    """The sync twin of `AsyncWaitApi` (its methods declared from the async ones)."""

    @property
    def tracker(self) -> TurnTracker:
        return self.inner.tracker

    @mirrors(AsyncWaitApi.until)
    def until(self, poll: Callable[[], Any], **options: Any) -> Any:
        # The callbacks are the caller's sync code: they run in worker threads (see
        # `threaded`), everything else is forwarded as given.
        threaded_poll = threaded(poll)
        assert threaded_poll is not None
        if "predicate" in options:
            options["predicate"] = threaded(options["predicate"])
        return self._bridge.run(self.inner.until(threaded_poll, **options))

    turn_status = blocking(AsyncWaitApi.turn_status)
    turn_completed = blocking(AsyncWaitApi.turn_completed)
    assistant_reply = blocking(AsyncWaitApi.assistant_reply)
    send_message_and_wait_reply = blocking(AsyncWaitApi.send_message_and_wait_reply)
