"""Runs that start, resume and fail honestly (issue 12, items 2-4 and 6): the gateway's
refusal reaches the user verbatim and leaves no run behind, a run remembers how it was
launched, the runner says which brain runs (and refuses a model it cannot serve), and one
runner per board *file*, whatever path names it. `teammesh` runs as a subprocess on real
board files, with its embedded gateway."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

from teammesh.mesh.board import list_runs
from teammesh.mesh.brain_check import brain_line
from teammesh.mesh.embedded_runtime import ModelChoice
from teammesh.mesh.run_config import LaunchConfig
from teammesh.mesh.teamfile import builtin_team

from .cli_runs import TEAMMESH, cli_env, teammesh

RUN_ID = re.compile(r"run-\d{8}-\d{6}-[0-9a-f]{6}")

GPT_TEAM = """
[team]
name = "gpt"
[[members]]
name = "developer"
model = "gpt-4o"
[[tasks]]
owner = "developer"
text = "plan it"
"""




def _runs_folder(cwd: Path) -> list[str]:
    folder = cwd / ".teammesh" / "runs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_refused_start_quotes_the_gateway_and_keeps_no_run(tmp_path: Path) -> None:
    proc = teammesh(tmp_path, "demo", "--runtime", "nosuch")
    assert proc.returncode == 2, proc.stderr
    assert "unknown runtime 'nosuch' (known: codex, llm, playbook)" in proc.stderr
    assert "ValidationError" not in proc.stderr and "Traceback" not in proc.stderr
    assert "did not start; nothing was kept" in proc.stderr
    assert _runs_folder(tmp_path) == []  # no board stuck `running · round 0`


def test_a_refused_start_on_a_shared_board_removes_only_its_own_run(tmp_path: Path) -> None:
    board = tmp_path / "shared.sqlite"
    first = teammesh(tmp_path, "run", "--board", str(board), "--rounds", "1")
    assert first.returncode == 0, first.stderr
    refused = teammesh(tmp_path, "run", "--board", str(board), "--runtime", "nosuch")
    assert refused.returncode == 2
    assert [r.status for r in list_runs(board)] == ["complete"]


def test_resume_reuses_the_launch_flags_and_prints_overrides(tmp_path: Path) -> None:
    board = tmp_path / "b.sqlite"
    started = teammesh(tmp_path, "run", "--board", str(board), "--runtime",
                        "playbook?think_ms=5", "--concurrency", "2", "--rounds", "1",
                        "--model-api-key-env", "H5_TEST_KEY", H5_TEST_KEY="sekret-value-42")
    assert started.returncode == 0, started.stderr
    (info,) = list_runs(board)
    launch = info.meta["launch"]
    assert (launch["runtime"], launch["concurrency"], launch["rounds"]) == (
        "playbook?think_ms=5", 2, 1)
    assert launch["model_api_key_env"] == "H5_TEST_KEY"
    # The key's value is nowhere on the board: only its variable's name.
    assert not any(b"sekret-value-42" in p.read_bytes() for p in tmp_path.glob("b.sqlite*"))

    same = teammesh(tmp_path, "run", "--resume", info.run_id, "--board", str(board))
    assert same.returncode == 0, same.stderr
    assert "override" not in same.stderr

    changed = teammesh(tmp_path, "run", "--resume", info.run_id, "--board", str(board),
                        "--concurrency", "3", "--runtime", "playbook?think_ms=5")
    assert changed.returncode == 0, changed.stderr
    overrides = [ln for ln in changed.stderr.splitlines() if ln.startswith("override:")]
    assert overrides == ["override: --concurrency 3 (the run was started with 2)"]
    (after,) = list_runs(board)
    assert after.meta["launch"]["concurrency"] == 3  # the board says how it runs now
    assert after.meta["launch"]["runtime"] == "playbook?think_ms=5"


def test_credentials_in_urls_are_not_stored() -> None:
    config = LaunchConfig(runtime="llm?model_base_url=http://u:pw@127.0.0.1:9/v1",
                          model_base_url="https://me:secret@models.example/v1",
                          api_base="http://a:b@127.0.0.1:3001")
    stored = str(config.stored())
    assert "secret" not in stored and "pw@" not in stored and "a:b@" not in stored
    assert "https://models.example/v1" in stored and "127.0.0.1:3001" in stored


def test_the_runner_says_which_brain_runs(tmp_path: Path) -> None:
    proc = teammesh(tmp_path, "demo", "--board", "memory")
    assert proc.returncode == 0, proc.stderr
    assert "runtime: playbook · model: playbook (the offline playbook brain, no model)" in (
        proc.stderr)
    team = builtin_team()
    assert brain_line(team, "codex", ModelChoice(), None) == (
        "runtime: codex · model: playbook (the offline playbook brain on a local model"
        " server, not a real model)")
    assert brain_line(team, "llm", ModelChoice(model="openai:gpt-4o"), None) == (
        "runtime: llm · model: openai:gpt-4o")


def test_a_model_the_runtime_cannot_serve_is_refused(tmp_path: Path) -> None:
    (tmp_path / "gpt.toml").write_text(GPT_TEAM)
    for runtime, says in (("playbook", "the playbook runtime is the offline playbook brain"),
                          ("codex", "with --runtime codex and no model endpoint"),
                          ("llm", "with --runtime llm and no model endpoint")):
        proc = teammesh(tmp_path, "run", "gpt.toml", "--runtime", runtime)
        assert proc.returncode == 2, (runtime, proc.stderr)
        assert "model 'gpt-4o'" in proc.stderr and says in proc.stderr
        assert "Traceback" not in proc.stderr
    assert _runs_folder(tmp_path) == []


def _readline(stream: object, timeout: float) -> str:
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()),  # type: ignore[attr-defined]
                              daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else ""


def test_one_runner_per_board_file_through_symlinks_and_hard_links(tmp_path: Path) -> None:
    board = tmp_path / "board.sqlite"
    made = teammesh(tmp_path, "run", "--board", str(board), "--rounds", "1")
    assert made.returncode == 0, made.stderr  # the board file exists: link it
    (tmp_path / "link.sqlite").symlink_to(board)
    os.link(board, tmp_path / "hard.sqlite")
    # A second run on the same file, through the symlink, slow enough to be caught running.
    first = subprocess.Popen(
        [TEAMMESH, "run", "--board", str(tmp_path / "link.sqlite"),
         "--runtime", "playbook?think_ms=500"],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stderr is not None
        announced = _readline(first.stderr, 20)  # printed once the lock is held
        run_id = RUN_ID.search(announced)
        assert run_id is not None, announced
        for name in ("hard.sqlite", "board.sqlite"):
            second = teammesh(tmp_path, "run", "--resume", run_id.group(), "--board",
                               str(tmp_path / name))
            assert second.returncode == 2, second.stderr
            assert "run is being run by" in second.stderr
            if name == "board.sqlite":  # the name whose view sees the holder's record
                assert f"run is being run by process {first.pid}" in second.stderr
        assert first.poll() is None  # still running: the refusals were not a race lost
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert not list(tmp_path.glob("*.lock"))  # no lock files pile up
