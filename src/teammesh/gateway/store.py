"""SQLite persistence under the data dir: sessions, turns, transcripts, the request-id mark.

Writes are small and synchronous (WAL, `synchronous=NORMAL`) and happen only at coarse
points — session create/rename/delete, turn start and end, item completion — never per
streamed delta; what a turn's notifications change is committed once per loop iteration
(`save_batch`, gateway/store_batch.py). Rows are JSON documents; insertion order (rowid)
is the display order, and an upsert keeps a row's rowid.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from teammesh.gateway import json_text
from teammesh.gateway.session import Session, Turn
from teammesh.gateway.transcript import Entry
from teammesh.private_files import private_dir, private_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL, turn_id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (session_id, turn_id));
CREATE TABLE IF NOT EXISTS transcript (
    session_id TEXT NOT NULL, turn_id TEXT NOT NULL, message_id TEXT NOT NULL,
    position INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (session_id, turn_id, message_id));
CREATE TABLE IF NOT EXISTS thread_state (session_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suggested_requests (
    session_id TEXT NOT NULL, request_key TEXT NOT NULL, updated_at INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (session_id, request_key));
"""

DB_FILE = "gateway.sqlite3"
_REQUEST_ID_KEY = "request_id_ceiling"
_PROBE_KEY = "write_probe"
# `--durability`: normal survives a process crash (WAL, synchronous=NORMAL); full also
# survives a power loss (fsync at every commit). See docs/reliability.md for the cost.
DURABILITY_PRAGMAS = {"normal": "NORMAL", "full": "FULL"}


def _dump(value: Any) -> str:
    return json_text.dumps(value)  # the same text as json's, encoded faster


class Store:
    def __init__(self, data_dir: Path) -> None:
        # Owner-only: transcripts are what agents and users said (teammesh.private_files).
        private_dir(data_dir)
        self.path = private_sqlite(data_dir / DB_FILE)
        # The hub runs on one event-loop thread; `check_same_thread=False` only lets the
        # embedded gateway close it from the thread that started it.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        # Data dirs written before transcript positions existed: keep their rows in rowid
        # order (their insertion order) by using the rowid as the position.
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(transcript)")}
        if "position" not in columns:
            self._db.execute(
                "ALTER TABLE transcript ADD COLUMN position INTEGER NOT NULL DEFAULT 0"
            )
            self._db.execute("UPDATE transcript SET position = rowid")

    def close(self) -> None:
        self._db.close()

    def set_durability(self, durability: str) -> None:
        """`normal` (the default) or `full` (fsync at commit)."""
        if durability not in DURABILITY_PRAGMAS:
            raise ValueError(f"durability must be one of {', '.join(DURABILITY_PRAGMAS)}")
        self._db.execute(f"PRAGMA synchronous={DURABILITY_PRAGMAS[durability]}")

    def probe_write(self, stamp: str) -> None:
        """One tiny write, to learn whether the store accepts writes again."""
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (_PROBE_KEY, stamp),
        )

    # --- request ids ---------------------------------------------------------------------

    def request_id_ceiling(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (_REQUEST_ID_KEY,)).fetchone()
        return int(row[0]) if row else 1

    def reserve_request_ids(self, ceiling: int) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (_REQUEST_ID_KEY, str(ceiling)),
        )

    # --- writes --------------------------------------------------------------------------

    def save_session(self, session: Session) -> None:
        self._db.execute(
            "INSERT INTO sessions(id, data) VALUES(?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data=excluded.data",
            (session.id, _dump(session.to_record())),
        )

    def save_turn(self, session_id: str, turn: Turn) -> None:
        self._db.execute(
            "INSERT INTO turns(session_id, turn_id, data) VALUES(?, ?, ?) "
            "ON CONFLICT(session_id, turn_id) DO UPDATE SET data=excluded.data",
            (session_id, turn.id, _dump(turn.to_record())),
        )

    def save_entries(self, session_id: str, entries: list[tuple[int, Entry]]) -> None:
        """Upsert `(position, entry)` pairs; position is the entry's place in the
        transcript (entries are written when they complete, not when they appear)."""
        if not entries:
            return
        self._db.executemany(
            "INSERT INTO transcript(session_id, turn_id, message_id, position, data) "
            "VALUES(?, ?, ?, ?, ?) ON CONFLICT(session_id, turn_id, message_id) "
            "DO UPDATE SET data=excluded.data",
            [(session_id, e["turnId"], e["messageId"], p, _dump(e)) for p, e in entries],
        )

    def save_fork(self, session: Session, turns: list[Turn], entries: list[tuple[int, Entry]],
                  state: dict[str, Any] | None) -> None:
        """A fork's new session with its turns, rows and runtime state, in one transaction:
        a crash (or a refused write) midway leaves no half-copied session behind, and one
        commit instead of one per row keeps a 20 000-row fork from stalling the loop."""
        self._db.execute("BEGIN")
        try:
            self.save_session(session)
            for turn in turns:
                self.save_turn(session.id, turn)
            self.save_entries(session.id, entries)
            if state is not None:
                self.save_thread_state(session.id, state)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def save_batch(self, sessions: list[Session], turns: list[tuple[str, Turn]],
                   entries: list[tuple[str, int, Entry]]) -> None:
        """Rows a loop iteration changed (gateway/store_batch.py), in one transaction: one
        commit for all of them instead of one per row."""
        self._db.execute("BEGIN")
        try:
            for session in sessions:
                self.save_session(session)
            for session_id, turn in turns:
                self.save_turn(session_id, turn)
            if entries:
                self._db.executemany(
                    "INSERT INTO transcript(session_id, turn_id, message_id, position, data) "
                    "VALUES(?, ?, ?, ?, ?) ON CONFLICT(session_id, turn_id, message_id) "
                    "DO UPDATE SET data=excluded.data",
                    [(sid, e["turnId"], e["messageId"], p, _dump(e)) for sid, p, e in entries],
                )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def save_thread_state(self, session_id: str, state: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO thread_state(session_id, data) VALUES(?, ?) "
            "ON CONFLICT(session_id) DO UPDATE SET data=excluded.data",
            (session_id, _dump(state)),
        )

    def load_thread_state(self, session_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT data FROM thread_state WHERE session_id=?", (session_id,)
        ).fetchone()
        if row is None:
            return None
        state = json.loads(row[0])
        return state if isinstance(state, dict) else None

    def delete_turns(self, session_id: str, turn_ids: list[str]) -> None:
        """A rollback: the turns and their transcript rows go, in one transaction."""
        rows = [(session_id, turn_id) for turn_id in turn_ids]
        self._db.execute("BEGIN")
        try:
            self._db.executemany("DELETE FROM turns WHERE session_id=? AND turn_id=?", rows)
            self._db.executemany(
                "DELETE FROM transcript WHERE session_id=? AND turn_id=?", rows
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def purge_session_content(self, session_id: str) -> None:
        """A deleted session keeps only its tombstone (for 410 answers)."""
        self._db.execute("DELETE FROM thread_state WHERE session_id=?", (session_id,))
        self._db.execute("DELETE FROM turns WHERE session_id=?", (session_id,))
        self._db.execute("DELETE FROM transcript WHERE session_id=?", (session_id,))
        self._db.execute("DELETE FROM suggested_requests WHERE session_id=?", (session_id,))

    # --- projects (gateway/projects.py) ---------------------------------------------------

    def save_project(self, project_id: str, record: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO projects(id, data) VALUES(?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data=excluded.data",
            (project_id, _dump(record)),
        )

    def delete_project(self, project_id: str) -> None:
        self._db.execute("DELETE FROM projects WHERE id=?", (project_id,))

    def load_projects(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT data FROM projects ORDER BY rowid").fetchall()
        return [json.loads(data) for (data,) in rows]

    # --- suggested requests (gateway/suggested_requests.py) ------------------------------

    def save_suggestion(self, session_id: str, request_key: str, entry: dict[str, Any],
                        keep: int) -> None:
        """Upsert one entry and keep only the session's `keep` most recent ones (bounded)."""
        # One transaction (the connection is in autocommit mode): row and trim land together.
        self._db.execute("BEGIN")
        try:
            self._db.execute(
                "INSERT INTO suggested_requests(session_id, request_key, updated_at, data) "
                "VALUES(?, ?, ?, ?) ON CONFLICT(session_id, request_key) "
                "DO UPDATE SET updated_at=excluded.updated_at, data=excluded.data",
                (session_id, request_key, int(entry["updatedAt"]), _dump(entry)),
            )
            self._db.execute(
                "DELETE FROM suggested_requests WHERE session_id=? AND request_key NOT IN ("
                "SELECT request_key FROM suggested_requests WHERE session_id=? "
                "ORDER BY updated_at DESC, rowid DESC LIMIT ?)",
                (session_id, session_id, keep),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def load_suggestion(self, session_id: str, request_key: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT data FROM suggested_requests WHERE session_id=? AND request_key=?",
            (session_id, request_key),
        ).fetchone()
        if row is None:
            return None
        entry = json.loads(row[0])
        return entry if isinstance(entry, dict) else None

    # --- load ----------------------------------------------------------------------------

    def load_sessions(self) -> list[Session]:
        turns: dict[str, list[Turn]] = {}
        for session_id, data in self._db.execute(
            "SELECT session_id, data FROM turns ORDER BY rowid"
        ):
            turns.setdefault(session_id, []).append(Turn.from_record(json.loads(data)))
        entries: dict[str, list[tuple[int, Entry]]] = {}
        for session_id, position, data in self._db.execute(
            "SELECT session_id, position, data FROM transcript ORDER BY position"
        ):
            entries.setdefault(session_id, []).append((position, json.loads(data)))
        sessions: list[Session] = []
        for session_id, data in self._db.execute("SELECT id, data FROM sessions ORDER BY rowid"):
            sessions.append(
                Session.from_record(
                    json.loads(data), turns.get(session_id, []), entries.get(session_id, [])
                )
            )
        return sessions
