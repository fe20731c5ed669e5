"""The PostgreSQL store: one database shared by many runs (and runners on many machines).

Same rules, same records as the SQLite store. Every write transaction first takes
transaction-scoped advisory locks (`pg_locks.py`): the members' it touches, or the whole
run's for a run-wide write, so a claim's select-then-update is atomic across connections,
processes and machines (the role `BEGIN IMMEDIATE` plays in SQLite) while members' writes
do not wait on each other.

A PostgreSQL board costs CPU per statement, in this process and in the server (on a
loaded machine that, more than the wait, is what a tool call pays), so statements count:
the connection is in autocommit mode and a read runs as its statements alone, without
BEGIN and COMMIT around them (at READ COMMITTED, which the board uses, each statement reads
its own snapshot inside a transaction as well, so the two extra statements bought
nothing). A write runs in a transaction as before. Pipeline mode (a write's statements sent
without waiting for each) and a connection per thread (the runner calling the board from
threads) were measured and left out: each cost more CPU per call than it saved in waits
(docs/distributed.md, "Statements per tool call").
Tables are prefixed `teammesh_` so the database may hold other things too; the schema is
versioned (`migrations.py`, `schema.py`), since one database outlives any one teammesh.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from teammesh.mesh.board import pg_locks
from teammesh.mesh.board.leases import LEASE_LOST_SQLSTATE, LeaseLost
from teammesh.mesh.board.protocol import DEFAULT_MAX_ATTEMPTS, Members, RunInfo, TurnSlot
from teammesh.mesh.board.schema import migrate_pg
from teammesh.mesh.board.sql import SqlStore, SqlTx, run_info

# The schema is `migrations.PG_MIGRATIONS`, applied in order under the schema's advisory
# lock when a store connects (`schema.migrate_pg`).


Row = dict[str, Any]


class _PostgresTx(SqlTx):
    PARAM = "%s"
    PREFIX = "teammesh_"
    ORDER = "seq"

    # The run-wide counters a member's write computes (MAX + 1), under their own lock.
    def add_turn(self, slot: TurnSlot) -> None:
        pg_locks.take_counter_lock(self._c, self._run, "turn-seq")
        super().add_turn(slot)

    def set_completed(self, member: str) -> None:
        pg_locks.take_counter_lock(self._c, self._run, "completed-seq")
        super().set_completed(member)


class PostgresStore(SqlStore):
    """One run's board in a PostgreSQL database (tables created on first use)."""

    def __init__(self, dsn: str, run_id: str) -> None:
        self.dsn = dsn
        self._run_id = run_id
        self._conn: psycopg.Connection[Row] = psycopg.connect(dsn, row_factory=dict_row,
                                                              autocommit=True)
        self._lock = threading.RLock()
        migrate_pg(self._conn, redact(dsn))

    @classmethod
    def create(cls, dsn: str, *, run_id: str, team: str, roster: tuple[str, ...],
               max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = "",
               meta: dict[str, Any] | None = None) -> PostgresStore:
        store = cls(dsn, run_id)
        store._start_run(team=team, roster=roster, max_attempts=max_attempts,
                         team_text=team_text, meta=meta)
        return store

    @classmethod
    def open(cls, dsn: str, *, run_id: str) -> PostgresStore:
        store = cls(dsn, run_id)
        store._require_run(str(redact(dsn)))
        return store

    def act_as_worker(self, worker: str) -> None:
        """Name this connection's worker (`leases.bind_worker`): the database then lets it
        open a member's turn only under that member's live lease."""
        with self._lock:
            self._conn.execute("SELECT set_config('teammesh.worker', %s, false)", (worker,))

    def call_function(self, call: str, args: tuple[Any, ...]) -> Any:
        """What `SELECT <call>` of a board function returns (`pg_functions.py`): one
        statement, its own transaction (autocommit), so one round trip in all. `call` is a
        constant of `pg_board.py` (the function and its placeholders), never built from
        input: every value goes in `args`."""
        with self._lock, refused_turns():
            row = self._conn.execute(f"SELECT {call} AS result", args).fetchone()
        assert row is not None
        return row["result"]

    @contextmanager
    def transaction(self, *, write: bool, members: Members = None
                    ) -> Iterator[_PostgresTx]:
        with self._lock, refused_turns():
            if not write:  # autocommit: each read statement is its own transaction
                yield _PostgresTx(self._conn, self._run_id)
                return
            with self._conn.transaction():
                pg_locks.take_write_locks(self._conn, self._run_id, members)
                yield _PostgresTx(self._conn, self._run_id)


@contextmanager
def refused_turns() -> Iterator[None]:
    """The lease guard's refusal as `LeaseLost` (the transaction is rolled back)."""
    try:
        yield
    except psycopg.Error as exc:
        if exc.sqlstate == LEASE_LOST_SQLSTATE:
            raise LeaseLost(exc.diag.message_primary or str(exc)) from None
        raise


def list_pg_runs(dsn: str) -> list[RunInfo]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        try:
            rows = conn.execute("SELECT * FROM teammesh_runs ORDER BY created_at").fetchall()
        except psycopg.errors.UndefinedTable:
            return []
    return [run_info(r) for r in rows]


def redact(dsn: str) -> str:
    """A DSN fit for messages: no password (in the userinfo or a `password=` option)."""
    from teammesh.mesh.board.dsn_redact import redact_dsn  # here: a one-hunk edit

    return redact_dsn(dsn)


class PgRunLock:
    """One runner per run, across machines: a session-level advisory lock on a connection
    of its own, held while the run goes; the server drops it when that connection dies."""

    def __init__(self, dsn: str, run_id: str, *, shared: bool = False) -> None:
        self.dsn = dsn
        self.run_id = run_id
        # Workers (`teammesh worker`) share the lock: many of them drive one run, while a
        # single runner (which takes it exclusively) is refused, and the reverse.
        self.shared = shared
        self._conn: psycopg.Connection[Row] | None = None

    def acquire(self) -> PgRunLock:
        from teammesh.mesh.board.lock import RunBusy

        conn: psycopg.Connection[Row] = psycopg.connect(self.dsn, autocommit=True,
                                                        row_factory=dict_row)
        how = "pg_try_advisory_lock_shared" if self.shared else "pg_try_advisory_lock"
        row = conn.execute(f"SELECT {how}(hashtext(%s)) AS got",
                           (f"teammesh-run:{self.run_id}",)).fetchone()
        if row is None or not row["got"]:
            conn.close()
            raise RunBusy("run is being run by another runner" if self.shared else
                          "run is being run by another runner (or by workers)")
        self._conn = conn
        return self

    def held_elsewhere(self) -> bool:
        """Whether another runner holds this run's lock now (asked by taking it a moment)."""
        from teammesh.mesh.board.lock import RunBusy

        if self._conn is not None:
            return False
        try:
            self.acquire()
        except RunBusy:
            return True
        self.release()
        return False

    def release(self) -> None:
        if self._conn is not None:
            # Unlocked before closing: the server ends a closed connection's backend (and
            # drops its locks) only a moment later, and a runner started right after this
            # one must find the run free.
            with contextlib.suppress(psycopg.Error):
                how = "pg_advisory_unlock_shared" if self.shared else "pg_advisory_unlock"
                self._conn.execute(f"SELECT {how}(hashtext(%s))",
                                   (f"teammesh-run:{self.run_id}",))
            self._conn.close()
            self._conn = None
