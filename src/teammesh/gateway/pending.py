"""Server requests waiting for a client answer: tool calls, approvals, tool user input.

State machine (wire §4.11): pending → responding → resolved; a failed forward goes back to
pending; the end of the owning turn, a session delete or a runtime exit expires whatever is
left. Only `pending` rows are listed; only a `pending` request accepts an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from teammesh.gateway.runtimes.base import ReplyFn

RequestKind = Literal["tool_call", "approval", "tool_input"]


class RequestState(Enum):
    PENDING = "pending"
    RESPONDING = "responding"
    RESOLVED = "resolved"
    EXPIRED = "expired"


@dataclass(eq=False)
class PendingRequest:
    request_id: int
    kind: RequestKind
    method: str
    thread_id: str | None
    turn_id: str | None
    params: dict[str, Any]
    reply: ReplyFn
    row: dict[str, Any]  # the public listing row (PendingToolCall / PendingApproval / ...)
    runtime_key: str
    transcript_message_id: str
    state: RequestState = RequestState.PENDING
    details_text: str = ""  # the row as pretty JSON, rendered once for transcript entries

    @property
    def public_id(self) -> str:
        return str(self.request_id)


class RequestIds:
    """Integer request ids, unique for the gateway's lifetime and across restarts.

    Ids are handed out from a reserved block; only crossing the block's ceiling touches the
    store (`reserve(new_ceiling)`), so allocation stays off SQLite on the hot path. After a
    crash the next process starts at the persisted ceiling: at worst a block's tail is skipped,
    never reused."""

    BLOCK = 1000

    def __init__(self, start: int, reserve: Callable[[int], None]) -> None:
        self._next = max(1, start)
        self._ceiling = self._next
        self._reserve = reserve

    def allocate(self) -> int:
        if self._next >= self._ceiling:
            self._ceiling = self._next + self.BLOCK
            self._reserve(self._ceiling)
        value = self._next
        self._next += 1
        return value


def parse_public_id(raw: str) -> int | None:
    """A request id as it appears in a REST path: the decimal string of the integer id."""
    # isascii: "6²".isdigit() is true, int("6²") raises.
    if (not (raw.isascii() and raw.isdigit()) or (len(raw) > 1 and raw.startswith("0"))
            or len(raw) > 18):
        return None
    return int(raw)


class PendingRegistry:
    def __init__(self) -> None:
        # Insertion order is creation order, which is the listing order upstream uses.
        self._by_id: dict[int, PendingRequest] = {}

    def add(self, request: PendingRequest) -> None:
        self._by_id[request.request_id] = request

    def get(self, raw_id: str, kind: RequestKind) -> PendingRequest | None:
        request_id = parse_public_id(raw_id)
        if request_id is None:
            return None
        request = self._by_id.get(request_id)
        if request is None or request.kind != kind:
            return None
        return request

    def remove(self, request: PendingRequest) -> None:
        self._by_id.pop(request.request_id, None)

    def listed(self, thread_id: str, kind: RequestKind) -> list[dict[str, Any]]:
        return [
            r.row
            for r in self._by_id.values()
            if r.thread_id == thread_id and r.kind == kind and r.state is RequestState.PENDING
        ]

    def take(self, predicate: Callable[[PendingRequest], bool]) -> list[PendingRequest]:
        """Remove and return every live request matching `predicate` (for expiry)."""
        taken = [r for r in self._by_id.values() if predicate(r)]
        for request in taken:
            del self._by_id[request.request_id]
        return taken

    def __iter__(self) -> Iterator[PendingRequest]:
        return iter(tuple(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)
