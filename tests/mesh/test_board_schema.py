"""Schema versioning: a new board is at the code's version, a board made before versioning
(the oldest format) is migrated once on open, concurrent first openers migrate exactly once,
and a board newer than the code is refused in one line, untouched."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, create_board, open_board
from teammesh.mesh.board.migrations import LATEST, SQLITE_BASE
from teammesh.mesh.board.schema import BoardTooNew

from .conftest import ROSTER

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


def _versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]


def test_a_new_board_is_at_the_latest_version_and_reopening_changes_nothing(
        tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    create_board(run_id="r1", team="default", roster=ROSTER, path=path).close()
    assert _versions(path) == list(range(1, LATEST + 1))
    open_board(path, "r1").close()
    assert _versions(path) == list(range(1, LATEST + 1))


def _oldest_board(path: Path) -> None:
    """A board in the first format: the base tables only, no meta, no reasons, no record,
    no version table; one run with one queued task."""
    with sqlite3.connect(path) as conn:
        conn.executescript(SQLITE_BASE)
        conn.execute("INSERT INTO runs (run_id, team, roster, status, round, reason,"
                     " max_attempts) VALUES ('old', 'default', ?, 'running', 0, '', 3)",
                     ('["developer", "docs", "reviewer"]',))
        for member in ROSTER:
            conn.execute("INSERT INTO members (run_id, member) VALUES ('old', ?)", (member,))
        conn.execute("INSERT INTO tasks (run_id, owner, text, queued_by, status, chain)"
                     " VALUES ('old', 'docs', 'old work', 'system', 'queued', '[]')")


def test_a_board_from_before_versioning_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "oldest.sqlite"
    _oldest_board(path)
    board = open_board(path, "old")
    try:
        assert _versions(path) == list(range(1, LATEST + 1))
        assert board.info().meta == {}
        assert board.queue_depth("docs") == 1
        token = board.open_turn("docs", 1).token
        assert board.pull_work("docs", token=token)["task"] == "old work"
        board.settle_turn(token, ok=True)
        assert [t.state for t in board.run_record().turns] == ["ok"]
    finally:
        board.close()
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"call_log", "leases", "schema_version", "turns_state"} <= tables


def _from_the_future(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)",
                     (LATEST + 1, "a later teammesh"))


def test_a_sqlite_board_newer_than_the_code_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    board = create_board(run_id="r1", team="default", roster=ROSTER, path=path)
    board.queue_work("docs", "kept", by=SYSTEM_MEMBER)
    board.close()
    _from_the_future(path)
    before = path.read_bytes()
    with pytest.raises(BoardTooNew, match=f"schema version {LATEST + 1}, newer than"):
        open_board(path, "r1")
    assert path.read_bytes() == before
    shown = subprocess.run([TEAMMESH, "board", "show", "r1", "--board", str(path)],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode != 0
    assert "upgrade teammesh" in shown.stderr and "Traceback" not in shown.stderr
    resumed = subprocess.run([TEAMMESH, "run", "--resume", "r1", "--board", str(path)],
                             capture_output=True, text=True, timeout=60)
    assert resumed.returncode != 0
    assert "upgrade teammesh" in resumed.stderr and "Traceback" not in resumed.stderr


@pytest.fixture
def fresh_database(postgres_dsn: str) -> Iterator[str]:
    """An empty database on the throwaway server: the schema starts from nothing."""
    name = f"schema_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    head, _, _ = postgres_dsn.rpartition("/")
    yield f"{head}/{name}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _pg_versions(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute(
            "SELECT version FROM teammesh_schema_version ORDER BY 1")]


def test_concurrent_first_openers_migrate_a_database_exactly_once(fresh_database: str
                                                                  ) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def first_use(n: int) -> None:
        try:
            start.wait()
            create_board(run_id=f"run-{n}", team="default", roster=ROSTER,
                         path=fresh_database).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _pg_versions(fresh_database) == list(range(1, LATEST + 1))


def test_a_postgres_board_newer_than_the_code_is_refused(fresh_database: str) -> None:
    create_board(run_id="r1", team="default", roster=ROSTER, path=fresh_database).close()
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        conn.execute("INSERT INTO teammesh_schema_version (version, description)"
                     " VALUES (%s, 'a later teammesh')", (LATEST + 1,))
    with pytest.raises(BoardTooNew, match="upgrade teammesh"):
        open_board(fresh_database, "r1")
    assert _pg_versions(fresh_database) == [*range(1, LATEST + 1), LATEST + 1]
