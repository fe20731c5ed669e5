"""`teammesh serve` holds a token by default: made on first start in `<data-dir>/token`
(0600, in a 0700 dir), kept across restarts, never printed; serving without one takes
`--no-token`, which is refused off loopback."""

from __future__ import annotations

import os
import selectors
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from teammesh.client import ClientConfig

LISTENING = "teammesh gateway listening on "


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("CODEX_MANAGER_", "TEAMMESH_TOKEN"))}


@contextmanager
def _serve(data_dir: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "teammesh", "serve", "--port", "0", "--data-dir",
         str(data_dir), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=30), "gateway did not start in time"
        line = process.stdout.readline()
        assert line.startswith(LISTENING), line
        yield line[len(LISTENING):].strip(), process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    assert process.stdout is not None and process.stderr is not None
    return process.stdout.read(), process.stderr.read()


@pytest.mark.timeout(60)
def test_serve_makes_a_private_token_and_keeps_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "gw"
    token_file = data_dir / "token"
    with _serve(data_dir) as (base_url, process):
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text(encoding="ascii").strip()
        assert len(token) >= 40
        assert httpx.get(base_url + "/api/sessions", timeout=10).status_code == 401
        # A client finds it the documented way: TEAMMESH_TOKEN_FILE.
        headers = ClientConfig.from_env({"TEAMMESH_TOKEN_FILE": str(token_file)}).headers
        assert httpx.get(base_url + "/api/sessions", headers=headers,
                         timeout=10).status_code == 200
    stdout, stderr = _finish(process)
    assert stdout == ""  # the listening line was the only stdout line
    assert str(token_file.absolute()) in stderr and "TEAMMESH_TOKEN_FILE" in stderr
    assert token not in stderr
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".token")] == []

    # A restart keeps the token: clients (and a runner waiting out the restart) go on.
    with _serve(data_dir) as (base_url, process):
        good = {"Authorization": f"Bearer {token}"}
        assert httpx.get(base_url + "/api/health", headers=good, timeout=10).status_code == 200
    assert "kept" in _finish(process)[1]


@pytest.mark.timeout(60)
def test_a_token_file_others_could_read_is_replaced(tmp_path: Path) -> None:
    data_dir = tmp_path / "gw"
    data_dir.mkdir()
    leaked = data_dir / "token"
    leaked.write_text("leaked-token-value\n", encoding="ascii")
    leaked.chmod(0o644)
    with _serve(data_dir) as (base_url, _process):
        assert stat.S_IMODE(leaked.stat().st_mode) == 0o600
        fresh = leaked.read_text(encoding="ascii").strip()
        assert fresh != "leaked-token-value"
        old = {"Authorization": "Bearer leaked-token-value"}
        assert httpx.get(base_url + "/api/health", headers=old, timeout=10).status_code == 401


@pytest.mark.timeout(60)
def test_given_token_and_no_token(tmp_path: Path) -> None:
    with _serve(tmp_path / "a", "--token", "given-token") as (base_url, _process):
        good = {"Authorization": "Bearer given-token"}
        assert httpx.get(base_url + "/api/health", timeout=10).status_code == 401
        assert httpx.get(base_url + "/api/health", headers=good, timeout=10).status_code == 200
    assert not (tmp_path / "a" / "token").exists()  # a given token is not written anywhere
    with _serve(tmp_path / "b", "--no-token") as (base_url, process):
        assert httpx.get(base_url + "/api/health", timeout=10).status_code == 200
    assert not (tmp_path / "b" / "token").exists()
    assert "--no-token" in _finish(process)[1]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("args", [["--no-token", "--host", "0.0.0.0"],
                                  ["--no-token", "--token", "t"]])
def test_contradictory_or_public_no_token_is_refused(tmp_path: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "teammesh", "serve", "--port", "0", "--data-dir",
         str(tmp_path / "gw"), *args],
        capture_output=True, text=True, timeout=30, env=_env(), check=False)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "gw").exists()


@pytest.mark.timeout(60)
@pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true",  # in CI: run, and fail if not root
    reason="chown to another user needs root")
def test_a_data_dir_of_another_user_is_refused(tmp_path: Path) -> None:
    # Before: serve used it silently; a world-writable gateway.sqlite3 planted there by its
    # owner (uid 65534 here) received every session and transcript, readable by that user.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    planted = shared / "gateway.sqlite3"
    planted.touch()
    planted.chmod(0o666)
    for path in (shared, planted):
        os.chown(path, 65534, -1)
    result = subprocess.run(
        [sys.executable, "-m", "teammesh", "serve", "--port", "0", "--data-dir", str(shared)],
        capture_output=True, text=True, timeout=30, env=_env(), check=False)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "another user" in result.stderr and "Traceback" not in result.stderr
    assert planted.stat().st_size == 0 and not (shared / "token").exists()
