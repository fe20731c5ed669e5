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


def member_key(run_id: str, member: str) -> tuple[str, str]:
    """A member's lock: the two-key form (run, member), a space apart from the run's own
    one-key lock, so no member's lock can ever be the run's."""
    return run_id, f"member:{member}"


def take_write_locks(conn: _Execute, run_id: str, members: tuple[str, ...] | None) -> None:
    """The locks of a write transaction on `run_id` touching `members` (None: run-wide)."""
    if members is None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (run_key(run_id),))
        return
    # One statement (one round trip), its rows taken in order: first the run's lock, shared
    # (it must come first: a member's lock held while queueing for the run's behind a
    # run-wide writer could deadlock), then the members' in the order of their keys (the
    # hashes, not the names: two names hashing alike are one lock, and ordering by it
    # keeps every transaction's order the same).
    conn.execute(
        "SELECT COUNT(CASE WHEN k IS NULL THEN pg_advisory_xact_lock_shared(hashtext(%s))::text"
        " ELSE pg_advisory_xact_lock(hashtext(%s), k)::text END) FROM"
        " (SELECT NULL::integer AS k UNION ALL (SELECT DISTINCT hashtext(x) AS k"
        "  FROM unnest(%s::text[]) AS x ORDER BY k)) AS keys",
        (run_key(run_id), run_id, sorted({member_key(run_id, m)[1] for m in members})))


def take_counter_lock(conn: _Execute, run_id: str, counter: str) -> None:
    """The lock under which a run-wide counter is read and its next value written (a
    statement of its own: the counter's read must start after the lock is held)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                 (run_id, f"counter:{counter}"))
