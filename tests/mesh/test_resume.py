"""Crash safety (A1): a runner killed with SIGKILL at several points of a run, then
`teammesh run --resume RUN_ID`, completes the run: no task lost, none applied twice,
artifacts intact. The gateway is a separate `teammesh serve` process, as in production, so
the members' sessions (and their pending tool calls) outlive the runner."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from teammesh.mesh.board import EffectRecord, list_runs, open_board

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))
# Kill after this many lines of the runner's stdout (0: as soon as it announced the run).
KILL_POINTS = (0, 1, 3, 5, 6, 8, 10, 12, 14)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("gateway")
    # Think time makes a turn last long enough to be killed in the middle of it.
    proc = subprocess.Popen(
        [TEAMMESH, "serve", "--port", "0", "--data-dir", str(data), "--think-ms", "60",
         "--no-token"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = _readline(proc.stdout, 30)
        assert line.startswith("teammesh gateway listening on "), line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _readline(stream: object, timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()))  # type: ignore[attr-defined]
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_sigkill_then_resume(tmp_path: Path, gateway: str, kill_after: int) -> None:
    board_file = tmp_path / "board.sqlite"
    common = ["--board", str(board_file), "--api-base", gateway, "--turn-timeout", "30"]
    runner = subprocess.Popen([TEAMMESH, "run", *common], cwd=tmp_path, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert runner.stdout is not None and runner.stderr is not None
    seen: list[str] = []
    announced = _readline(runner.stderr, 30)
    assert announced.startswith("run "), announced
    while len(seen) < kill_after:
        line = _readline(runner.stdout, 30)
        if not line:
            break
        seen.append(line.rstrip("\n"))
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    assert runner.returncode == -signal.SIGKILL  # it was killed, not finished

    (run,) = list_runs(board_file)
    board = open_board(board_file, run.run_id)
    before = board.artifacts()
    open_at_kill = board.open_turns()
    board.close()

    resumed = subprocess.run([TEAMMESH, "run", "--resume", run.run_id, *common],
                             cwd=tmp_path, env=_env(), capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, (seen, resumed.stdout, resumed.stderr)
    assert "Final board snapshot:" in resumed.stdout

    board = open_board(board_file, run.run_id)
    try:
        tasks = board.tasks()
        artifacts = board.artifacts()
        info = board.info()
    finally:
        board.close()
    # No task lost: every task ended done or (by mark_done) cleared; none queued, claimed
    # or dead.
    statuses = collections.Counter(t.status for t in tasks)
    assert set(statuses) <= {"done", "cleared"}, tasks
    assert [t.owner for t in tasks if t.status == "done"].count("developer") == 1
    # None applied twice: one artifact of each kind per member.
    kinds = collections.Counter((a.member, a.kind) for a in artifacts)
    assert kinds == {
        ("developer", "implementation"): 1, ("developer", "completion_note"): 1,
        ("docs", "documentation"): 1, ("docs", "completion_note"): 1,
        ("reviewer", "review"): 1, ("reviewer", "completion_note"): 1,
    }, artifacts
    # Artifacts intact: what was published before the kill is still there, unchanged.
    assert artifacts[: len(before)] == before
    assert info.status == "complete"
    requeued = sum(t.attempts for t in tasks)
    print(f"\nkill after {kill_after} line(s): {len(before)} artifact(s) before the kill,"
          f" {len(open_at_kill)} turn(s) open at the kill, {len(tasks)} tasks,"
          f" requeued claims {requeued}, duplicates 0")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("same_gateway_dir", [True, False],
                         ids=["gateway-restarted-from-its-data", "gateway-lost"])
def test_resume_when_the_embedded_gateway_died_too(tmp_path: Path,
                                                    same_gateway_dir: bool) -> None:
    """`teammesh run` with its own embedded gateway: the kill takes the gateway down with the
    runner. On resume the sessions are re-attached if the gateway's data survived, or made
    anew; the turn that was running is lost and its claim goes back to the queue, and the
    retry repeats none of the lost attempt's effects."""
    board_file = tmp_path / "board.sqlite"
    first = ["--board", str(board_file), "--gateway-dir", str(tmp_path / "gw1"),
             "--runtime", "playbook?think_ms=60"]
    runner = subprocess.Popen([TEAMMESH, "run", *first], cwd=tmp_path, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert runner.stdout is not None
    for _ in range(8):  # into the docs turn: after its pull and publish
        assert _readline(runner.stdout, 30)
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    (run,) = list_runs(board_file)
    second_dir = tmp_path / ("gw1" if same_gateway_dir else "gw2")
    resumed = subprocess.run(
        [TEAMMESH, "run", "--resume", run.run_id, "--board", str(board_file),
         "--gateway-dir", str(second_dir)], cwd=tmp_path, env=_env(), capture_output=True,
        text=True, timeout=120)
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    board = open_board(board_file, run.run_id)
    try:
        tasks = board.tasks()
        artifacts = board.artifacts()
        turns = board.turns()
    finally:
        board.close()
    assert {t.status for t in tasks} <= {"done", "cleared"}, tasks
    # The docs turn was lost with the gateway: settled, and its claim retried once.
    assert [s.state for s in turns if s.member == "docs"] in (["lost", "ok"], ["failed", "ok"])
    (docs_task,) = [t for t in tasks if t.owner == "docs"]
    assert (docs_task.status, docs_task.attempts) == ("done", 1)
    # The lost turn had published before the kill; its retry made the same calls again
    # and the board answered them from the first attempt: zero duplicate artifacts, zero
    # duplicate handoffs.
    kinds = collections.Counter((a.member, a.kind) for a in artifacts)
    assert kinds == {(m, k): 1 for m, k in [
        ("developer", "implementation"), ("developer", "completion_note"),
        ("docs", "documentation"), ("docs", "completion_note"),
        ("reviewer", "review"), ("reviewer", "completion_note")]}
    handoffs = collections.Counter((t.queued_by, t.owner, t.text) for t in tasks)
    assert all(count == 1 for count in handoffs.values()), handoffs
    assert sorted((t.queued_by, t.owner) for t in tasks) == [
        ("developer", "docs"), ("developer", "reviewer"), ("docs", "reviewer"),
        ("system", "developer")]
    # The retry did repeat calls of the first attempt (else this would prove nothing).
    assert any(e.member == "docs" for e in effects_used_twice(board_file, run.run_id))


def effects_used_twice(board_file: Path, run_id: str) -> list[EffectRecord]:
    """The effects both attempts of a claim made: the second use of each."""
    board = open_board(board_file, run_id)
    try:
        seen: set[str] = set()
        repeated = []
        for effect in board.effects():
            if effect.key in seen:
                repeated.append(effect)
            seen.add(effect.key)
        return repeated
    finally:
        board.close()


@pytest.mark.timeout(300)
def test_resume_a_team_file_run_without_the_file(tmp_path: Path, gateway: str) -> None:
    """The team file is kept on the run's board: `--resume RUN_ID` alone continues it."""
    team_file = tmp_path / "six.toml"
    team_file.write_text((Path(__file__).resolve().parents[2] / "teams" / "six.toml")
                         .read_text(encoding="utf-8"), encoding="utf-8")
    board_file = tmp_path / "board.sqlite"
    common = ["--board", str(board_file), "--api-base", gateway]
    runner = subprocess.Popen([TEAMMESH, "run", str(team_file), *common], cwd=tmp_path,
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    assert runner.stdout is not None
    for _ in range(9):  # into the backend's turn
        assert _readline(runner.stdout, 30)
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    team_file.unlink()  # the file is gone; the board still has it
    (run,) = list_runs(board_file)
    resumed = subprocess.run([TEAMMESH, "run", "--resume", run.run_id, *common],
                             cwd=tmp_path, env=_env(), capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    assert "(team six, resumed)" in resumed.stderr
    board = open_board(board_file, run.run_id)
    try:
        assert {t.status for t in board.tasks()} <= {"done", "cleared"}
        authors = collections.Counter(a.member for a in board.artifacts()
                                      if a.kind != "completion_note")
    finally:
        board.close()
    assert authors == {m: 1 for m in ("architect", "backend", "frontend", "tester", "writer",
                                      "lead")}


def test_resume_of_an_unknown_run_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run([TEAMMESH, "run", "--resume", "run-nope", "--board",
                           str(tmp_path / "b.sqlite")], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no board file at" in proc.stderr


@pytest.mark.timeout(120)
def test_a_second_runner_on_a_live_run_is_refused(tmp_path: Path, gateway: str) -> None:
    board_file = tmp_path / "board.sqlite"
    common = ["--board", str(board_file), "--api-base", gateway]
    first = subprocess.Popen([TEAMMESH, "run", *common], cwd=tmp_path, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert first.stdout is not None
    try:
        assert _readline(first.stdout, 30)  # the run is going
        # Stopped, it holds its lock but cannot finish the run: a second runner started on a
        # busy machine (parallel test workers) would otherwise find the run complete.
        first.send_signal(signal.SIGSTOP)
        (run,) = list_runs(board_file)
        second = subprocess.run([TEAMMESH, "run", "--resume", run.run_id, *common],
                                cwd=tmp_path, env=_env(), capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 2
        assert f"teammesh: {run.run_id}: run is being run by process {first.pid}" in (
            second.stderr)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    # The holder died: the lock went with it, and the run resumes at once.
    resumed = subprocess.run([TEAMMESH, "run", "--resume", run.run_id, *common],
                             cwd=tmp_path, env=_env(), capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kill_after", [3, 9])
def test_resume_websocket_only(tmp_path: Path, gateway: str, kill_after: int) -> None:
    """A call the killed runner saw but never answered is not signalled again: a resumed
    runner without polling still answers it (one drain at recovery) and completes."""
    board_file = tmp_path / "board.sqlite"
    common = ["--board", str(board_file), "--api-base", gateway, "--turn-timeout", "20"]
    runner = subprocess.Popen([TEAMMESH, "run", *common], cwd=tmp_path, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert runner.stdout is not None
    for _ in range(kill_after):
        assert _readline(runner.stdout, 30)
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    (run,) = list_runs(board_file)
    resumed = subprocess.run([TEAMMESH, "run", "--resume", run.run_id, "--no-polling",
                              *common], cwd=tmp_path, env=_env(), capture_output=True,
                             text=True, timeout=120)
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    assert "timeout waiting for turn" not in resumed.stdout
