"""The board's schema, as an ordered list of numbered migrations (one list per dialect).

A shared database outlives any one teammesh version: runners and workers of different
releases may open it. So the schema is no longer "create whatever is missing on open" but
a sequence: migration N is applied once, in order, and recorded in the `schema_version`
table (one row per applied migration). `schema.py` applies them under a lock and refuses a
board whose version is newer than the code.

Every step is idempotent (`CREATE ... IF NOT EXISTS`, a column added only when missing):
boards made before versioning (version 0: no `schema_version` table) already hold some of
what the early migrations make, and go through all of them once. The SQLite and
PostgreSQL lists keep the same numbers and descriptions; only their SQL differs.

Add a migration by appending to BOTH lists (never edit or reorder one already released).
"""

from __future__ import annotations

from dataclasses import dataclass

from teammesh.mesh.board.pg_functions import PG_CALL_FUNCTIONS
from teammesh.mesh.board.sql_record import TURN_RECORD_COLUMNS


@dataclass(frozen=True)
class AddColumns:
    """Columns `(name, declaration)` a table gains when it lacks them."""

    table: str
    columns: tuple[tuple[str, str], ...]


Step = str | AddColumns  # a str is one SQL statement


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    steps: tuple[Step, ...]


def _statements(script: str) -> tuple[str, ...]:
    """A script as its statements (no step holds a `;` inside a literal)."""
    return tuple(s.strip() for s in script.split(";") if s.strip())


_DESCRIPTIONS = (
    "the board's tables",
    "runs.meta: the launch flags and the runner",
    "turns.reason: why a turn ended as it did",
    "indexes: every lookup starts with its run's id",
    "the run record: turn times, session, usage; the call log",
    "member and coordinator leases (distributed workers)",
    "wake-ups: a notification when work is queued, a turn settles or the run changes",
    "transcripts: each member's session transcript (main's table, as a migration)",
    "server functions: a turn's board work in one statement each; wake-ups only for runs"
    " that workers drive (PostgreSQL)",
)

SQLITE_BASE = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, team TEXT NOT NULL, roster TEXT NOT NULL,
    status TEXT NOT NULL, round INTEGER NOT NULL, reason TEXT NOT NULL,
    max_attempts INTEGER NOT NULL, team_text TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS members (
    run_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT,
    completed_seq INTEGER, PRIMARY KEY (run_id, member));
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, owner TEXT NOT NULL,
    text TEXT NOT NULL, queued_by TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, claim_token TEXT, chain TEXT NOT NULL,
    parent_id INTEGER, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX IF NOT EXISTS tasks_queue ON tasks (run_id, owner, status, id);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, member TEXT NOT NULL,
    kind TEXT NOT NULL, summary TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS turns (
    run_id TEXT NOT NULL, token TEXT NOT NULL, member TEXT NOT NULL, round INTEGER NOT NULL,
    turn_id TEXT, state TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (run_id, token));
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, request_key TEXT,
    member TEXT NOT NULL, tool TEXT NOT NULL, question TEXT NOT NULL, state TEXT NOT NULL,
    answered_by TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS tool_calls (
    run_id TEXT NOT NULL, request_key TEXT NOT NULL, member TEXT NOT NULL,
    tool TEXT NOT NULL, result TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (run_id, request_key));
CREATE TABLE IF NOT EXISTS effects (
    run_id TEXT NOT NULL, effect_key TEXT NOT NULL, token TEXT NOT NULL,
    member TEXT NOT NULL, tool TEXT NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (run_id, effect_key, token))
"""

SQLITE_INDEXES = """
CREATE INDEX IF NOT EXISTS tasks_claims ON tasks (run_id, claim_token);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (run_id, status, owner);
CREATE INDEX IF NOT EXISTS turns_order ON turns (run_id, seq);
CREATE INDEX IF NOT EXISTS turns_state ON turns (run_id, state, seq);
CREATE INDEX IF NOT EXISTS artifacts_recent ON artifacts (run_id, id)
"""

SQLITE_CALL_LOG = """
CREATE TABLE IF NOT EXISTS call_log (
    run_id TEXT NOT NULL, request_key TEXT NOT NULL, member TEXT NOT NULL, turn_token TEXT,
    tool TEXT NOT NULL, arguments TEXT NOT NULL, result TEXT NOT NULL, success INTEGER,
    outcome TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', started_at REAL, ended_at REAL,
    PRIMARY KEY (run_id, request_key))
"""

# A lease per (run, member); the coordinator's lease is the row of the reserved member
# name `leases.COORDINATOR`. `expires_at` is the database's clock (seconds since the epoch
# for SQLite, a timestamp for PostgreSQL), so workers on hosts with skewed clocks agree.
SQLITE_LEASES = """
CREATE TABLE IF NOT EXISTS leases (
    run_id TEXT NOT NULL, member TEXT NOT NULL, holder TEXT NOT NULL,
    expires_at REAL NOT NULL, epoch INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (run_id, member))
"""

PG_BASE = """
CREATE TABLE IF NOT EXISTS teammesh_runs (
    run_id TEXT PRIMARY KEY, team TEXT NOT NULL, roster TEXT NOT NULL,
    status TEXT NOT NULL, round INTEGER NOT NULL, reason TEXT NOT NULL,
    max_attempts INTEGER NOT NULL, team_text TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS teammesh_members (
    run_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT, completed_seq INTEGER,
    PRIMARY KEY (run_id, member));
CREATE TABLE IF NOT EXISTS teammesh_tasks (
    id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, owner TEXT NOT NULL, text TEXT NOT NULL,
    queued_by TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    claim_token TEXT, chain TEXT NOT NULL, parent_id BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS teammesh_tasks_queue ON teammesh_tasks (run_id, owner, status, id);
CREATE TABLE IF NOT EXISTS teammesh_artifacts (
    id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, member TEXT NOT NULL,
    kind TEXT NOT NULL, summary TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS teammesh_turns (
    run_id TEXT NOT NULL, token TEXT NOT NULL, member TEXT NOT NULL, round INTEGER NOT NULL,
    turn_id TEXT, state TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (run_id, token));
CREATE TABLE IF NOT EXISTS teammesh_approvals (
    id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, request_key TEXT, member TEXT NOT NULL,
    tool TEXT NOT NULL, question TEXT NOT NULL, state TEXT NOT NULL,
    answered_by TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS teammesh_tool_calls (
    run_id TEXT NOT NULL, request_key TEXT NOT NULL, member TEXT NOT NULL,
    tool TEXT NOT NULL, result TEXT NOT NULL, seq BIGSERIAL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (run_id, request_key));
CREATE TABLE IF NOT EXISTS teammesh_effects (
    run_id TEXT NOT NULL, effect_key TEXT NOT NULL, token TEXT NOT NULL,
    member TEXT NOT NULL, tool TEXT NOT NULL, result TEXT NOT NULL, seq BIGSERIAL,
    PRIMARY KEY (run_id, effect_key, token))
"""

PG_INDEXES = """
CREATE INDEX IF NOT EXISTS teammesh_tasks_claims ON teammesh_tasks (run_id, claim_token);
CREATE INDEX IF NOT EXISTS teammesh_tasks_status ON teammesh_tasks (run_id, status, owner);
CREATE INDEX IF NOT EXISTS teammesh_turns_order ON teammesh_turns (run_id, seq);
CREATE INDEX IF NOT EXISTS teammesh_turns_state ON teammesh_turns (run_id, state, seq);
CREATE INDEX IF NOT EXISTS teammesh_artifacts_recent ON teammesh_artifacts (run_id, id)
"""

PG_CALL_LOG = """
CREATE TABLE IF NOT EXISTS teammesh_call_log (
    run_id TEXT NOT NULL, request_key TEXT NOT NULL, member TEXT NOT NULL, turn_token TEXT,
    tool TEXT NOT NULL, arguments TEXT NOT NULL, result TEXT NOT NULL, success INTEGER,
    outcome TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', started_at DOUBLE PRECISION,
    ended_at DOUBLE PRECISION, seq BIGSERIAL, PRIMARY KEY (run_id, request_key))
"""

PG_LEASES = """
CREATE TABLE IF NOT EXISTS teammesh_leases (
    run_id TEXT NOT NULL, member TEXT NOT NULL, holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL, epoch BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (run_id, member))
"""

# The database, not a process, refuses a turn no live lease covers: a connection that
# says it is a worker (`SET teammesh.worker = '<id>'`) may insert a turn of a member only
# while it holds that member's unexpired lease and the member has no other open turn,
# checked in the inserting transaction (which holds the member's write lock and the run's
# turn-seq lock, `pg_locks.py`, so two inserts cannot both pass). A connection that says
# nothing (a single runner, an older teammesh, the board benchmark's many claimers of one
# queue) is not checked: a single runner holds the run's exclusive run lock instead, which
# workers never take while they run.
PG_LEASE_GUARD = (
    """
CREATE OR REPLACE FUNCTION teammesh_turn_needs_lease() RETURNS trigger AS $guard$
DECLARE worker TEXT := current_setting('teammesh.worker', true);
BEGIN
    IF worker IS NULL OR worker = '' THEN RETURN NEW; END IF;
    PERFORM 1 FROM teammesh_leases WHERE run_id = NEW.run_id AND member = NEW.member
        AND holder = worker AND expires_at > clock_timestamp();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'worker % holds no live lease on member % of run %',
            worker, NEW.member, NEW.run_id USING ERRCODE = 'TM001';
    END IF;
    PERFORM 1 FROM teammesh_turns WHERE run_id = NEW.run_id AND member = NEW.member
        AND state = 'open';
    IF FOUND THEN
        RAISE EXCEPTION 'member % of run % already has an open turn', NEW.member,
            NEW.run_id USING ERRCODE = 'TM001';
    END IF;
    RETURN NEW;
END $guard$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS teammesh_turn_lease ON teammesh_turns",
    "CREATE TRIGGER teammesh_turn_lease BEFORE INSERT ON teammesh_turns"
    " FOR EACH ROW EXECUTE FUNCTION teammesh_turn_needs_lease()",
)


# Workers wait for these instead of polling (`mesh/wakeups.py`): NOTIFY is delivered when
# the notifying transaction commits, so a woken worker reads what woke it. The payload is
# the run id (a worker ignores other runs'). SQLite has one runner per board: nothing.
WAKEUP_CHANNEL = "teammesh_wakeup"
PG_WAKEUPS = (
    f"""
CREATE OR REPLACE FUNCTION teammesh_wake() RETURNS trigger AS $wake$
BEGIN
    PERFORM pg_notify('{WAKEUP_CHANNEL}', NEW.run_id);
    RETURN NULL;
END $wake$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS teammesh_wake_tasks ON teammesh_tasks",
    "CREATE TRIGGER teammesh_wake_tasks AFTER INSERT OR UPDATE OF status ON teammesh_tasks"
    " FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION teammesh_wake()",
    "DROP TRIGGER IF EXISTS teammesh_wake_turns ON teammesh_turns",
    "CREATE TRIGGER teammesh_wake_turns AFTER UPDATE OF state ON teammesh_turns"
    " FOR EACH ROW WHEN (NEW.state <> 'open') EXECUTE FUNCTION teammesh_wake()",
    "DROP TRIGGER IF EXISTS teammesh_wake_runs ON teammesh_runs",
    "CREATE TRIGGER teammesh_wake_runs AFTER UPDATE OF status ON teammesh_runs"
    " FOR EACH ROW EXECUTE FUNCTION teammesh_wake()",
)


# Migration 9: the wake-up triggers' function again, now only for a run that workers
# drive: only workers LISTEN (`mesh/wakeups.py`), and a worker takes its leases before its
# first turn, so a run without a lease row (a single runner's) has no one to wake — and a
# NOTIFY costs its commit about 70 µs of server CPU per settled turn (an eighth of the
# server's share of a scale tool call, measured with and without the trigger in one run;
# calls/s rose about a fifth without it). A worker that listens before any lease of its
# run exists (the first one, for the moment before its first heartbeat) sees those commits
# by its fallback poll.
PG_WAKE_WORKERS_ONLY = f"""
CREATE OR REPLACE FUNCTION teammesh_wake() RETURNS trigger AS $wake$
BEGIN
    IF EXISTS (SELECT 1 FROM teammesh_leases WHERE run_id = NEW.run_id) THEN
        PERFORM pg_notify('{WAKEUP_CHANNEL}', NEW.run_id);
    END IF;
    RETURN NULL;
END $wake$ LANGUAGE plpgsql
"""

SQLITE_TRANSCRIPTS = """
CREATE TABLE IF NOT EXISTS transcripts (
    run_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (run_id, member))
"""

PG_TRANSCRIPTS = """
CREATE TABLE IF NOT EXISTS teammesh_transcripts (
    run_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (run_id, member))
"""


def _numbered(*steps: tuple[Step, ...]) -> tuple[Migration, ...]:
    assert len(steps) == len(_DESCRIPTIONS)
    return tuple(Migration(n, d, s)
                 for n, (d, s) in enumerate(zip(_DESCRIPTIONS, steps, strict=True), 1))


SQLITE_MIGRATIONS = _numbered(
    _statements(SQLITE_BASE),
    (AddColumns("runs", (("meta", "TEXT NOT NULL DEFAULT '{}'"),)),),
    (AddColumns("turns", (("reason", "TEXT NOT NULL DEFAULT ''"),)),),
    _statements(SQLITE_INDEXES),
    (AddColumns("turns", tuple((name, kind) for name, kind, _ in TURN_RECORD_COLUMNS)),
     *_statements(SQLITE_CALL_LOG)),
    _statements(SQLITE_LEASES),
    (),
    _statements(SQLITE_TRANSCRIPTS),
    (),
)

PG_MIGRATIONS = _numbered(
    _statements(PG_BASE),
    (AddColumns("teammesh_runs", (("meta", "TEXT NOT NULL DEFAULT '{}'"),)),),
    (AddColumns("teammesh_turns", (("reason", "TEXT NOT NULL DEFAULT ''"),)),),
    _statements(PG_INDEXES),
    (AddColumns("teammesh_turns", tuple((name, kind) for name, _, kind in TURN_RECORD_COLUMNS)),
     *_statements(PG_CALL_LOG)),
    (*_statements(PG_LEASES), *PG_LEASE_GUARD),
    PG_WAKEUPS,
    _statements(PG_TRANSCRIPTS),
    (*PG_CALL_FUNCTIONS, PG_WAKE_WORKERS_ONLY),
)

LATEST = len(_DESCRIPTIONS)
