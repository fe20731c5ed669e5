"""Boards for mesh tests: every board test runs against every store — memory, SQLite, and a
real PostgreSQL server started for the session (from the machine's PostgreSQL binaries)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.postgres_server import postgres_dsn as throwaway_postgres

from teammesh.mesh.board import TeamBoard, create_board

ROSTER = ("developer", "docs", "reviewer")


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A throwaway PostgreSQL server on a free loopback port (trust auth, no fsync)."""
    with throwaway_postgres(max_connections=200) as dsn:
        if dsn is None:
            reason = "no PostgreSQL server could be started (Debian: postgresql, PyPI: psycopg)"
            # A required test skipped in CI is a failure: .ci/run installs the server.
            if os.environ.get("CI") == "true":
                pytest.fail(f"the PostgreSQL board tests are required in CI: {reason}")
            pytest.skip(reason)
        yield dsn


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def board(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TeamBoard]:
    path: str | Path | None = None
    if request.param == "sqlite":
        path = tmp_path / "run.sqlite"
    elif request.param == "postgres":
        path = request.getfixturevalue("postgres_dsn")
    # A fresh run id per test: PostgreSQL keeps every test's run in one database.
    made = create_board(run_id=f"run-{uuid.uuid4().hex[:10]}", team="default", roster=ROSTER,
                        path=path)
    yield made
    made.close()
