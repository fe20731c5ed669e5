"""Exactly-once turn starts over the stream: a `turn.start` may carry a `startKey`, and a
second command with the same key on the same session (a retry on the next socket, after the
first socket dropped before its answer arrived) gets the first one's answer instead of
starting a second turn, or, while the first is still running, waits for it.

Why: a dropped socket leaves its client not knowing whether the turn started. HTTP has the
same doubt, but there a retry meets the busy 409 and the client never learns the turn id;
with the key the retry learns it. Keys live in memory, per gateway, for the last
`MAX_KEYS` starts: a retry comes within seconds, and a restarted gateway has no turn in
flight anyway (its turns ended with it). So that a client never resends a key to a gateway
that no longer knows it (and would start the turn a second time), `ready` names the key
store's `instance`, new with every gateway process: a resend goes only to the same one.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from teammesh.gateway.outcome import Outcome

MAX_KEYS = 4096


class TurnStartKeys:
    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self._max_keys = max_keys
        self.instance = secrets.token_hex(8)
        self._known: OrderedDict[tuple[str, str], asyncio.Future[Outcome]] = OrderedDict()

    async def once(self, session_id: str, key: str | None,
                   start: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """`start()`'s outcome; for a key seen before on this session, the first outcome."""
        if key is None:
            return await start()
        slot = (session_id, key)
        known = self._known.get(slot)
        if known is not None:
            self._known.move_to_end(slot)
            return await asyncio.shield(known)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._known[slot] = future
        while len(self._known) > self._max_keys:
            self._known.popitem(last=False)
        try:
            outcome = await start()
        except BaseException as exc:
            # Not started (an error answers it): the key may be used again.
            self._known.pop(slot, None)
            future.set_exception(exc)
            future.exception()  # retrieved: a retry waiting on it re-raises its own copy
            raise
        future.set_result(outcome)
        return outcome
