"""The PostgreSQL store's write locks: transaction-scoped advisory locks, released at commit.

A run-wide write (starting or deleting a run, its status and metadata, answering an
approval, anything not scoped to members) takes the run's lock exclusively, as every write
did before. A member's write takes the run's lock *shared* (so it still waits for a
run-wide write, and a run-wide write for it) and then an exclusive lock per member it
touches: writes of different members run side by side, writes of one member (its claims,
its queue, its turn's effects) one after the other. Member locks are taken in one
statement, ordered by their key, so two transactions never wait on each other's member
locks in opposite orders (no deadlock, hash collisions included). A run-wide counter a
member's write computes as MAX + 1 (a turn's `seq`, a member's `completed_seq`) is
computed under a lock of its own, taken after the member locks and held to commit.
Which operation takes which lock, and why: docs/distributed.md, "Locks".
"""

from __future__ import annotations

from typing import Any, Protocol


class _Execute(Protocol):
    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...


def run_key(run_id: str) -> str:
    # The key today's writers use: a worker of an older version still excludes ours.
    return f"teammesh:{run_id}"


def member_key(run_id: str, member: str) -> str:
    return f"teammesh:{run_id}:member:{member}"


def take_write_locks(conn: _Execute, run_id: str, members: tuple[str, ...] | None) -> None:
    """The locks of a write transaction on `run_id` touching `members` (None: run-wide)."""
    if members is None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (run_key(run_id),))
        return
    conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (run_key(run_id),))
    keys = sorted({member_key(run_id, m) for m in members})
    if keys:
        # Ordered by the lock's own key (the hash), not by the text: two names hashing
        # alike are one lock, and ordering by it keeps every transaction's order the same.
        conn.execute("SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext(x) AS k"
                     " FROM unnest(%s::text[]) AS x ORDER BY k) AS keys", (keys,))


def take_counter_lock(conn: _Execute, run_id: str, counter: str) -> None:
    """The lock under which a run-wide counter is read and its next value written."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                 (f"teammesh:{run_id}:counter:{counter}",))
