"""A DSN's password never reaches a message, wherever libpq lets the URL carry it: in the
userinfo or as a `password=` query option (before: the query form was printed whole by
`teammesh board serve`'s "cannot open" line)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from teammesh.mesh.board.dsn_redact import redact_dsn
from tests.reliability.procs import TEAMMESH, runner_env

SECRET = "hunter2-secret"


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@pytest.mark.parametrize("dsn", [
    f"postgresql://u:{SECRET}@127.0.0.1:{{port}}/db",
    f"postgresql://u@127.0.0.1:{{port}}/db?password={SECRET}",
    f"postgresql://127.0.0.1:{{port}}/db?user=u&sslmode=disable&password={SECRET}",
    f"postgres://u@127.0.0.1:{{port}}/db?sslpassword={SECRET}",
])
def test_board_serve_names_a_board_it_cannot_open_without_its_password(
        tmp_path: Path, dsn: str) -> None:
    location = dsn.format(port=_closed_port())
    proc = subprocess.run([TEAMMESH, "board", "serve", "--board", location], cwd=tmp_path,
                          env=runner_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "cannot open postgres" in proc.stderr and "127.0.0.1" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


def test_redact_keeps_what_names_the_board() -> None:
    assert redact_dsn(f"postgresql://u:{SECRET}@h:5432/db?sslmode=require") == (
        "postgresql://u:***@h:5432/db?sslmode=require")
    assert redact_dsn(f"postgresql:///db?host=/run/pg&password={SECRET}") == (
        "postgresql:///db?host=%2Frun%2Fpg&password=***")
    assert redact_dsn("postgresql://h/db") == "postgresql://h/db"
    assert SECRET not in redact_dsn(f"postgresql://u:{SECRET}@[::1/db")  # malformed


def test_commands_that_miss_a_run_on_postgresql_never_echo_its_password(
        tmp_path: Path, postgres_dsn: str) -> None:
    """The board opens (the throwaway server trusts loopback, the password is ignored), the
    run is not there: the message names the board. Before: the whole DSN, password too."""
    hostile = postgres_dsn + ("&" if "?" in postgres_dsn else "?") + f"password={SECRET}"
    missing = "run-20990101-000000-abcdef"
    for command in (["board", "show", missing], ["runs", "show", missing],
                    ["board", "serve", missing]):
        proc = subprocess.run([TEAMMESH, *command, "--board", hostile], cwd=tmp_path,
                              env=runner_env(), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "password=***" in proc.stderr, (command, proc.stderr)
        assert SECRET not in proc.stdout + proc.stderr, command
