"""Boards for mesh tests: every board test runs against every store — memory, SQLite, and a
real PostgreSQL server started for the session (from the machine's PostgreSQL binaries)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from teammesh.mesh.board import TeamBoard, create_board

ROSTER = ("developer", "docs", "reviewer")


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A throwaway PostgreSQL server on a free loopback port (trust auth, no fsync)."""
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    if initdb is None or postgres is None:
        reason = "PostgreSQL server binaries not installed (Debian: postgresql)"
        # A required test skipped in CI is a failure: .ci/run installs the server.
        if os.environ.get("CI") == "true":
            pytest.fail(f"the PostgreSQL board tests are required in CI: {reason}")
        pytest.skip(reason)
    as_user: list[str] = []
    data = Path(tempfile.mkdtemp(prefix="teammesh-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        account = pwd.getpwnam("postgres")
        os.chown(data, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(
        [*as_user, postgres, "-D", str(data), "-p", str(port), "-k", str(data),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(dsn, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield dsn
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        if server.poll() is None:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)


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
