"""Least privilege for the codex child and for everything on disk, with real parts: a real
`teammesh serve --runtime codex` subprocess whose environment holds our tokens, a cloud
credential and a named model-key variable; the real app-server it spawns; a real command
that app-server runs for the model; a real `teammesh run` on the codex runtime.

What must hold:
* the app-server's environment (read from /proc/<pid>/environ) has only allow-listed names,
  plus CODEX_HOME, RUST_LOG and the named key variable; the commands it runs for the model
  do not get the key either;
* no file or directory teammesh creates under the data dir, the codex home or the runs
  folder has a group/other bit. Files codex itself writes inside its home are listed, not
  asserted on (their modes are codex's); every one of them sits below the 0700 home.
"""

from __future__ import annotations

import json
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.gateway.runtimes.codex_config import CHILD_ENV_ALLOWLIST
from tests.reliability.procs import TEAMMESH, GatewayProcess, runner_env

pytestmark = [pytest.mark.codex]

KEY_VAR = "TEAMMESH_TEST_MODEL_KEY"
TOKEN = "tm-token-never-in-the-child"
SECRETS = {
    "TEAMMESH_TOKEN": TOKEN,
    "CODEX_MANAGER_BEARER_TOKEN": "cm-bearer-never-in-the-child",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-never-in-the-child",
    "OPENAI_API_KEY": "sk-stray-never-in-the-child",
    "CODEX_SQLITE_HOME": "/never/in/the/child",
}
KEY_VALUE = "sk-named-model-key"
# What the child may hold besides the allow-list.
SET_BY_US = {"CODEX_HOME", "RUST_LOG"}
TURN_TIMEOUT_S = 60.0


def loose_modes(root: Path) -> dict[str, str]:
    """Every path at or under `root` with a group/other permission bit: relative path →
    octal mode (symlinks are not followed; their own mode means nothing on Linux)."""
    found: dict[str, str] = {}
    for path in (root, *root.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        if info.st_mode & 0o077:
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(info.st_mode))
    return found


def codex_owned(relative: str) -> bool:
    """Written by codex itself inside its home (our config.toml excepted)."""
    parts = Path(relative).parts
    ours = relative == "codex/home/config.toml"
    return parts[:2] == ("codex", "home") and len(parts) > 2 and not ours


def check_private(data_dir: Path) -> dict[str, str]:
    """Assert nothing of ours under `data_dir` is group/other accessible, and that codex's
    own files are behind owner-only directories; returns codex's loose files."""
    loose = loose_modes(data_dir)
    ours = {path: mode for path, mode in loose.items() if not codex_owned(path)}
    assert ours == {}, ours
    for level in (data_dir, data_dir / "codex", data_dir / "codex" / "home"):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700, level
    return {path: mode for path, mode in loose.items() if codex_owned(path)}


@pytest.fixture(scope="module")
def gateway(codex_bin: Path, codex_data_dir: Path) -> Iterator[GatewayProcess]:
    with ModelServerThread() as model:
        process = GatewayProcess(
            data_dir=codex_data_dir / "gateway",
            # Also in its environment as TEAMMESH_TOKEN (SECRETS), where operators put it.
            token=TOKEN,
            extra=["--runtime", "codex", "--codex-bin", str(codex_bin),
                   "--model-base-url", f"{model.base_url}/v1", "--model-api-key-env", KEY_VAR],
            env={**SECRETS, KEY_VAR: KEY_VALUE},
        )
        with process:
            yield process


@pytest.fixture
def http(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as client:
        yield client


def app_server(gateway: GatewayProcess, http: httpx.Client) -> psutil.Process:
    """The gateway's app-server child (started by the first session)."""
    pid = http.get("/api/health").json()["codex"]["pid"]
    child = psutil.Process(pid)
    assert child.pid in {p.pid for p in psutil.Process(gateway.pid).children(recursive=True)}
    return child


def command_output(http: httpx.Client, session_id: str) -> str:
    """The output of the session's first finished command (polled from its transcript)."""
    deadline = time.monotonic() + TURN_TIMEOUT_S
    while time.monotonic() < deadline:
        transcript = http.get(f"/api/sessions/{session_id}").json()["transcript"]
        for entry in transcript:
            if entry["type"] == "commandExecution":
                item = json.loads(entry["details"])
                if item["status"] in ("completed", "failed"):
                    return str(item["aggregatedOutput"])
        time.sleep(0.2)
    raise AssertionError(f"no command finished in {TURN_TIMEOUT_S:g} s")


def new_session(http: httpx.Client, cwd: Path) -> str:
    response = http.post("/api/sessions", json={"cwd": str(cwd), "approvalPolicy": "never"})
    assert response.status_code == 200, response.text
    return str(response.json()["session"]["sessionId"])


def test_the_app_server_holds_only_allow_listed_variables(
    gateway: GatewayProcess, http: httpx.Client, codex_data_dir: Path
) -> None:
    new_session(http, codex_data_dir)
    env = app_server(gateway, http).environ()
    names = set(env)
    assert names <= set(CHILD_ENV_ALLOWLIST) | SET_BY_US | {KEY_VAR}, names
    assert env[KEY_VAR] == KEY_VALUE
    assert env["CODEX_HOME"] == str((gateway.data_dir / "codex" / "home").resolve())
    assert not set(SECRETS) & names
    assert not any(value in SECRETS.values() for value in env.values())


def test_commands_codex_runs_for_the_model_do_not_get_the_key(
    http: httpx.Client, codex_data_dir: Path
) -> None:
    session_id = new_session(http, codex_data_dir)
    # The playbook brain makes exactly this call; read-only sandbox, no approval needed.
    prompt = 'call exec_command with {"cmd": "env; echo env-listed"}'
    response = http.post(f"/api/sessions/{session_id}/messages", json={"text": prompt})
    assert response.status_code == 202, response.text
    output = command_output(http, session_id)
    assert "env-listed" in output and "CODEX_HOME=" in output
    names = {line.split("=", 1)[0] for line in output.splitlines() if "=" in line}
    assert KEY_VAR not in names and KEY_VALUE not in output
    assert not set(SECRETS) & names


def test_nothing_of_ours_is_readable_by_others_while_the_gateway_runs(
    gateway: GatewayProcess, http: httpx.Client, codex_data_dir: Path
) -> None:
    new_session(http, codex_data_dir)  # the store, the codex home and its log exist now
    data_dir = gateway.data_dir
    for name in ("gateway.sqlite3", "gateway.sqlite3-wal", "gateway.sqlite3-shm",
                 "codex/app-server.log", "codex/home/config.toml"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    # codex writes its own state 0644 (rollouts, sqlite state, skills: docs/codex.md); the
    # 0700 home and data dir above them are what keep other users out.
    check_private(data_dir)


def test_a_team_run_keeps_everything_owner_only(codex_bin: Path, codex_data_dir: Path) -> None:
    """`teammesh run` on the codex runtime in a folder an older version left 0755/0644: the
    run folder, its board, the kept gateway dir and its old database end up owner-only."""
    workdir = codex_data_dir / "team"
    legacy_gateway = workdir / ".teammesh" / "gateway"
    legacy_gateway.mkdir(parents=True, mode=0o755)
    (workdir / ".teammesh" / "runs").mkdir(mode=0o755)
    for level in (workdir / ".teammesh", legacy_gateway, workdir / ".teammesh" / "runs"):
        level.chmod(0o755)
    for name in ("gateway.sqlite3", "gateway.sqlite3-wal"):
        (legacy_gateway / name).touch()
        (legacy_gateway / name).chmod(0o644)
    (legacy_gateway / "gateway.sqlite3").unlink()  # let SQLite write a fresh database
    proc = subprocess.run(
        [TEAMMESH, "run", "--runtime", "codex", "--gateway-dir", str(legacy_gateway),
         "--live", "off", "--rounds", "1"],
        cwd=workdir, env=runner_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    runs = workdir / ".teammesh" / "runs"
    boards = list(runs.glob("*.sqlite"))
    assert len(boards) == 1
    assert loose_modes(runs) == {}
    assert stat.S_IMODE((workdir / ".teammesh").stat().st_mode) == 0o700
    check_private(legacy_gateway)
