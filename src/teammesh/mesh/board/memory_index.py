"""The small pieces the in-memory store is built from, so that one transaction costs what it
touches, not what the board holds:

- `UndoLog`: every write records how to take itself back; a failed transaction runs its
  entries backwards (instead of copying the whole board when a transaction begins).
- `SortedIds` helpers: an index entry is a list of ids kept in ascending order with `bisect`,
  so the oldest matching task (the queue head) is the first element, and adding the newest
  task (always the highest id) is an append.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


class UndoLog:
    """Undo entries of the open transaction(s), oldest first. A nested transaction marks
    where it began; its entries stay in the log when it commits (the outer transaction's
    failure takes them back too) and are run backwards to its mark when it fails."""

    def __init__(self) -> None:
        self._entries: list[Callable[[], None]] = []

    def mark(self) -> int:
        return len(self._entries)

    def record(self, undo: Callable[[], None]) -> None:
        self._entries.append(undo)

    def roll_back(self, mark: int) -> None:
        while len(self._entries) > mark:
            self._entries.pop()()

    def forget(self) -> None:
        """The outermost transaction committed: nothing left to take back."""
        self._entries.clear()


# Both are idempotent (adding an id already there, or removing one that is not, changes
# nothing), so an undo may run over a write that was cut short.


def index_add(index: dict[Key, list[int]], key: Key, item: int) -> None:
    ids = index.get(key)
    if ids is None:
        index[key] = [item]
    elif ids[-1] < item:
        ids.append(item)  # the common case: a new task has the highest id
    else:
        at = bisect.bisect_left(ids, item)
        if at == len(ids) or ids[at] != item:
            ids.insert(at, item)


def index_remove(index: dict[Key, list[int]], key: Key, item: int) -> None:
    ids = index.get(key)
    if ids is None:
        return
    at = bisect.bisect_left(ids, item)
    if at < len(ids) and ids[at] == item:
        del ids[at]
    if not ids:
        del index[key]  # no empty lists left behind by statuses a task passed through
