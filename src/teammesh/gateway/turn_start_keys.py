"""Exactly-once turn starts over the stream: a `turn.start` may carry a `startKey`, and a
second command with the same key on the same session (a retry on the next socket, after the
first socket dropped before its answer arrived) gets the first one's answer instead of
starting a second turn, or, while the first is still running, waits for it.

Why: a dropped socket leaves its client not knowing whether the turn started. HTTP has the
same doubt, but there a retry meets the busy 409 and the client never learns the turn id;
with the key the retry learns it. Keys live in memory, per gateway, for the last
`MAX_KEYS` starts and at most `KEEP_SECONDS` after their answer (a client resends for 10 s),
and go with their session when it is deleted, so a gateway that serves many short sessions
holds no answers for them (tests/reliability/test_retention.py). A retry comes within
seconds, and a restarted gateway has no turn in flight anyway (its turns ended with it).
So that a client never resends a key to a gateway that no longer knows it (and would start
the turn a second time), `ready` names the key store's `instance`, new with every gateway
process: a resend goes only to the same one.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from teammesh.gateway.outcome import Outcome

MAX_KEYS = 4096
# How long an answered start is remembered: well past the client's 10 s resend window.
KEEP_SECONDS = 60.0


class TurnStartKeys:
    def __init__(self, max_keys: int = MAX_KEYS, keep_seconds: float = KEEP_SECONDS) -> None:
        self._max_keys = max_keys
        self._keep_seconds = keep_seconds
        self.instance = secrets.token_hex(8)
        self._known: OrderedDict[tuple[str, str], asyncio.Future[Outcome]] = OrderedDict()
        # When each answered key may be dropped, oldest first (in-flight keys are not here).
        self._expiry: OrderedDict[tuple[str, str], float] = OrderedDict()

    def forget(self, session_id: str) -> None:
        """Drop a deleted session's keys: its turns can no longer be started or resent."""
        for slot in [slot for slot in self._known if slot[0] == session_id]:
            self._known.pop(slot, None)
            self._expiry.pop(slot, None)

    def _drop_expired(self) -> None:
        now = time.monotonic()
        while self._expiry:
            slot, expires = next(iter(self._expiry.items()))
            if expires > now:
                break
            del self._expiry[slot]
            self._known.pop(slot, None)

    async def once(self, session_id: str, key: str | None,
                   start: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """`start()`'s outcome; for a key seen before on this session, the first outcome."""
        if key is None:
            return await start()
        self._drop_expired()
        slot = (session_id, key)
        known = self._known.get(slot)
        if known is not None:
            self._known.move_to_end(slot)
            return await asyncio.shield(known)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._known[slot] = future
        while len(self._known) > self._max_keys:
            dropped, _ = self._known.popitem(last=False)
            self._expiry.pop(dropped, None)
        try:
            outcome = await start()
        except BaseException as exc:
            # Not started (an error answers it): the key may be used again.
            self._known.pop(slot, None)
            future.set_exception(exc)
            future.exception()  # retrieved: a retry waiting on it re-raises its own copy
            raise
        future.set_result(outcome)
        if slot in self._known:
            self._expiry[slot] = time.monotonic() + self._keep_seconds
        return outcome
