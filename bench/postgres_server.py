"""A throwaway PostgreSQL server for the board benchmark and the board tests, from the
machine's PostgreSQL binaries: a temporary data dir, a free loopback port, trust auth, fsync
off (they measure the store's locking and round trips, not the disk). None when not
installed."""

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
from collections.abc import Iterator
from pathlib import Path


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    initdb: str, postgres: str, max_connections: int
) -> tuple[subprocess.Popen[bytes], Path, str]:
    as_user: list[str] = []
    data = Path(tempfile.mkdtemp(prefix="teammesh-bench-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        account = pwd.getpwnam("postgres")
        os.chown(data, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(
        [*as_user, postgres, "-D", str(data), "-p", str(port), "-k", str(data),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
         "-c", f"max_connections={max_connections}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, data, f"postgresql://postgres@127.0.0.1:{port}/postgres"


def _wait_ready(server: subprocess.Popen[bytes], dsn: str) -> bool:
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            if time.monotonic() > deadline or server.poll() is not None:
                return False
            time.sleep(0.1)


@contextlib.contextmanager
def postgres_dsn(max_connections: int = 100) -> Iterator[str | None]:
    """The DSN of a fresh local server, or None when PostgreSQL (or psycopg) is missing or
    the server does not come up: the board benchmark then measures SQLite only."""
    initdb, postgres = _binary("initdb"), _binary("postgres")
    try:
        import psycopg  # noqa: F401 - only whether it is installed
    except ImportError:
        yield None
        return
    if initdb is None or postgres is None:
        yield None
        return
    try:
        server, data, dsn = _start(initdb, postgres, max_connections)
    except (OSError, KeyError, subprocess.SubprocessError):
        yield None
        return
    try:
        yield dsn if _wait_ready(server, dsn) else None
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        if server.poll() is None:
            server.kill()
            server.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)


def server_cpu_s(dsn: str) -> float:
    """CPU seconds (user + system) the throwaway server at `dsn` has used so far: its
    postmaster, its live backends, and the backends that already exited (counted in the
    postmaster's children's times). 0 when the server's processes cannot be read."""
    import psutil

    port = dsn.rsplit(":", 1)[-1].split("/")[0]
    for proc in psutil.process_iter(["cmdline"]):
        command = proc.info["cmdline"] or []
        if "-p" in command and command.index("-p") + 1 < len(command) \
                and command[command.index("-p") + 1] == port \
                and Path(command[0]).name == "postgres":
            try:
                total = float(sum(proc.cpu_times()[:4]))
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        total += float(sum(child.cpu_times()[:2]))
                return total
            except psutil.Error:
                return 0.0
    return 0.0
