"""Member leases and the coordinator lease, kept in PostgreSQL (`teammesh_leases`).

A worker runs a member's turns only while it holds that member's lease: a row naming the
worker (`holder`) and an expiry on the *database's* clock, renewed by the worker's heartbeat.
A worker that dies (SIGKILL, host gone, its connection cut) stops renewing; once the expiry
passes, any other worker may take the lease over, and its `epoch` goes up by one (a fencing
number: whoever holds epoch N knows that every holder before it has lost the lease).

The database enforces it, not the worker: the store of a worker's board says who it is
(`bind_worker`), and the turn-opening insert is checked by a trigger against the live lease
in the same transaction (`migrations.PG_LEASE_GUARD`), which also refuses a worker a second
open turn of one member. Run-wide decisions (completion criteria,
budgets, stopping) are taken by the holder of the coordinator lease, the row of the reserved
member name `COORDINATOR` (member names start with a letter, so it names no member).

Every statement here is one atomic upsert or update on a connection of its own
(autocommit), so a lease operation never waits on a board transaction.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

COORDINATOR = "*coordinator*"
DEFAULT_LEASE_SECONDS = 10.0
LEASE_LOST_SQLSTATE = "TM001"  # raised by the turn guard (migrations.PG_LEASE_GUARD)


class LeaseLost(RuntimeError):
    """A worker tried to start a turn of a member whose lease it does not hold (any more)."""


@dataclass(frozen=True)
class Lease:
    member: str
    holder: str
    epoch: int
    seconds_left: float  # negative: expired that long ago

    @property
    def live(self) -> bool:
        return self.seconds_left > 0


def new_worker_id() -> str:
    """Unique across hosts and restarts; readable in `leases()` (host, pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


_TAKE = """
INSERT INTO teammesh_leases (run_id, member, holder, expires_at)
VALUES (%(run)s, %(member)s, %(worker)s, clock_timestamp() + make_interval(secs => %(ttl)s))
ON CONFLICT (run_id, member) DO UPDATE
    SET holder = excluded.holder, expires_at = excluded.expires_at,
        epoch = teammesh_leases.epoch
            + CASE WHEN teammesh_leases.holder = excluded.holder THEN 0 ELSE 1 END
    WHERE teammesh_leases.holder = excluded.holder
       OR teammesh_leases.expires_at <= clock_timestamp()
RETURNING epoch
"""

_RENEW = """
UPDATE teammesh_leases SET expires_at = clock_timestamp() + make_interval(secs => %(ttl)s)
WHERE run_id = %(run)s AND holder = %(worker)s AND member = ANY(%(members)s)
  AND expires_at > clock_timestamp()
RETURNING member
"""

_LIST = """
SELECT member, holder, epoch,
       EXTRACT(EPOCH FROM (expires_at - clock_timestamp()))::float8 AS seconds_left
FROM teammesh_leases WHERE run_id = %s ORDER BY member
"""


class PgLeases:
    """One worker's view of a run's leases, on a connection of its own."""

    def __init__(self, dsn: str, run_id: str, worker: str, *,
                 seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        if not seconds > 0:
            raise ValueError("a lease must last a positive number of seconds")
        self.dsn = dsn
        self.run_id = run_id
        self.worker = worker
        self.seconds = seconds
        self._conn: psycopg.Connection[dict[str, Any]] = psycopg.connect(
            dsn, autocommit=True, row_factory=dict_row)

    def _args(self, **extra: Any) -> dict[str, Any]:
        return {"run": self.run_id, "worker": self.worker, "ttl": self.seconds, **extra}

    def take(self, member: str) -> int | None:
        """Take (or keep) `member`'s lease; its epoch, or None while another worker holds
        it live."""
        row = self._conn.execute(_TAKE, self._args(member=member)).fetchone()
        return None if row is None else int(row["epoch"])

    def renew(self, members: Iterable[str]) -> set[str]:
        """Extend the leases this worker still holds among `members`; returns those. A
        lease that expired before its renewal is not revived (another may have it)."""
        rows = self._conn.execute(_RENEW, self._args(members=list(members))).fetchall()
        return {r["member"] for r in rows}

    def release(self, members: Iterable[str]) -> None:
        """Give leases back at once (a clean stop): others need not wait for the expiry.
        The row stays, expired, so the next holder's epoch still goes up."""
        self._conn.execute(
            "UPDATE teammesh_leases SET expires_at = clock_timestamp() WHERE run_id = %s"
            " AND holder = %s AND member = ANY(%s)", (self.run_id, self.worker, list(members)))

    def leases(self) -> list[Lease]:
        rows = self._conn.execute(_LIST, (self.run_id,)).fetchall()
        return [Lease(r["member"], r["holder"], int(r["epoch"]), float(r["seconds_left"]))
                for r in rows]

    def unowned(self, roster: Iterable[str]) -> list[str]:
        """Members no live worker holds (reported, so none idles silently)."""
        live = {lease.member for lease in self.leases() if lease.live}
        return [m for m in roster if m not in live]

    def close(self) -> None:
        self._conn.close()


def bind_worker(store: Any, worker: str) -> None:
    """Make `store`'s connection speak as `worker`: from now on the database lets it open
    a member's turn only under that member's live lease."""
    store.act_as_worker(worker)
