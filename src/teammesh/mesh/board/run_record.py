"""A run's record, read from its board: every member turn (when it ran, in which session, the
tokens it used and with which model) and every tool call (arguments, result, the board's
outcome, when). `TeamBoard.run_record()` is the one read; `teammesh runs show` and the web
board print it.

Written as the run goes, inside the transactions that change the board: a turn's start with
its slot, its end with its settling, a call's entry with the call's own mutation. Usage is
set per turn token (replaced, never added), so a resumed run that sees a turn's usage again
counts it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from teammesh.mesh.board.entries import CallEntry, CallOutcome, TurnEntry, Usage
from teammesh.mesh.board.protocol import RunInfo

if TYPE_CHECKING:
    from teammesh.mesh.board.protocol import BoardStore

__all__ = ["CallEntry", "CallOutcome", "RecordedRun", "RunRecord", "TurnEntry", "Usage",
           "sum_usage"]


def sum_usage(usages: Iterable[Usage | None]) -> Usage:
    total = Usage()
    for usage in usages:
        if usage is not None:
            total = total + usage
    return total


@dataclass(frozen=True)
class RunRecord:
    info: RunInfo
    turns: tuple[TurnEntry, ...]
    calls: tuple[CallEntry, ...]

    def usage_by_member(self) -> dict[str, Usage]:
        """Summed usage of each member whose turns reported any (others left out)."""
        found: dict[str, Usage] = {}
        for turn in self.turns:
            if turn.usage is not None:
                found[turn.member] = found.get(turn.member, Usage()) + turn.usage
        return found

    def usage_total(self) -> Usage:
        return sum_usage(turn.usage for turn in self.turns)

    def has_usage(self) -> bool:
        """Whether any turn reported usage (a playbook run has none: show "—", not 0)."""
        return any(turn.usage is not None for turn in self.turns)

    def cost_usd(self) -> float | None:
        """What the run's tokens cost, from a maintained price table (`pricing.py`); None
        when no turn reported usage or any turn with usage has a model without a known
        price: an unknown cost is never shown as a number."""
        from teammesh.mesh.board.pricing import cost_of_turns

        return cost_of_turns(self.turns)

    def member_cost_usd(self, member: str) -> float | None:
        from teammesh.mesh.board.pricing import cost_of_turns

        return cost_of_turns([t for t in self.turns if t.member == member])


class RecordedRun:
    """The record's reads and writes on `TeamBoard` (mixed in there, so `core.py` keeps the
    board's rules only)."""

    _store: BoardStore

    def run_record(self) -> RunRecord:
        """The whole record, read in one transaction (a consistent view)."""
        with self._store.transaction(write=False) as tx:
            return RunRecord(tx.run(), tuple(tx.turn_entries()), tuple(tx.calls()))

    def turn_entries(self) -> tuple[TurnEntry, ...]:
        """The turns of the record only (what usage sums and budgets read)."""
        with self._store.transaction(write=False) as tx:
            return tuple(tx.turn_entries())

    def record_usage(self, token: str, usage: Usage, model: str | None) -> None:
        """The usage of the turn `token` so far (it replaces what was recorded before)."""
        # The turn's own row; no member's rule reads it: no member lock (`pg_locks.py`).
        with self._store.transaction(write=True, members=()) as tx:
            tx.set_turn_usage(token, usage, model)

    def save_transcript(self, member: str, session_id: str, data: Any) -> None:
        """A member session's history (the gateway's session detail), kept on the board so
        it stays readable after the run, whatever becomes of the gateway."""
        with self._store.transaction(write=True, members=(member,)) as tx:
            tx.put_transcript(member, session_id, data)

    def transcript(self, member: str) -> tuple[str, Any] | None:
        """(session id, history) of the member's session, as last saved; None if never."""
        with self._store.transaction(write=False) as tx:
            return tx.transcript(member)

    def record_call(self, entry: CallEntry) -> None:
        """A call that changed nothing on the board (refused before or by it: a refusing
        transaction rolls back with its entry): its entry, unless the call has one already
        (one the board recorded as refused keeps the board's reason)."""
        # One insert, its conflict settled by the key (ON CONFLICT): no member lock.
        with self._store.transaction(write=True, members=()) as tx:
            tx.put_call(entry, replace=False)
