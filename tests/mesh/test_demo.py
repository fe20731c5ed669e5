"""The whole team through the real gateway: `teammesh demo` as a user runs it, and the runner
with the websocket cut (polling only) and with polling off (websocket only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))

# What each member's turn calls, in order (the seed's happy path).
SEED_CALLS = {
    "developer": ["team_pull_work", "team_publish_artifact", "team_queue_work",
                  "team_queue_work", "team_mark_done"],
    "docs": ["team_pull_work", "team_publish_artifact", "team_queue_work", "team_mark_done"],
    "reviewer": ["team_pull_work", "team_publish_artifact", "team_read_board",
                 "team_mark_done"],
}


def expected_lines() -> list[str]:
    lines: list[str] = []
    for member, calls in SEED_CALLS.items():
        lines += [f"[tool-call] {member}: {tool}" for tool in calls]
        lines.append(f"[round 1] {member}: ")  # a prefix: the reply's first line follows
    return lines


def check_seed_output(lines: list[str]) -> None:
    expected = expected_lines()
    assert len(lines) >= len(expected) + 2, lines
    for got, want in zip(lines, expected, strict=False):
        assert got.startswith(want), (got, want)
    for got in lines[: len(expected)]:
        if got.startswith("[round"):
            assert got.split(": ", 1)[1].strip()  # a real first line of a reply
    assert lines[len(expected)] == "Final board snapshot:"
    snapshot = lines[len(expected) + 1]
    assert snapshot.startswith("{'queueDepths': {'developer': 0, 'docs': 0, 'reviewer': 0},"
                               " 'completed': ['developer', 'docs', 'reviewer'],")


def test_teammesh_demo_prints_a_completed_team(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    proc = subprocess.run([TEAMMESH, "demo"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    check_seed_output(proc.stdout.splitlines())
    assert "complete after 1 round(s), 3 turn(s), 13 tool call(s), makespan " in proc.stderr
    # The board of the run is a SQLite file under .teammesh/runs, readable afterwards.
    boards = list((tmp_path / ".teammesh" / "runs").glob("*.sqlite"))
    assert len(boards) == 1
    run_id = boards[0].stem
    show = subprocess.run([TEAMMESH, "board", "show", run_id], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert show.returncode == 0, show.stderr
    assert f"run {run_id} · team default · complete" in show.stdout
    assert "developer    done" in show.stdout


@pytest.mark.anyio
@pytest.mark.parametrize(("use_stream", "use_polling"), [
    (True, True), (False, True), (True, False)],
    ids=["stream+polling", "polling-only", "stream-only"])
async def test_runner_paths(tmp_path: Path, use_stream: bool, use_polling: bool) -> None:
    team = builtin_team()
    board = create_board(run_id="r", team=team.name, roster=team.roster,
                         path=tmp_path / "board.sqlite")
    printer = Printer(out=_Sink(), notes=_Sink())
    async with start_gateway(data_dir=tmp_path / "gw") as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        runner = TeamRunner(cm, team, board, RunOptions(
            turn_timeout=30, use_stream=use_stream, use_polling=use_polling), printer)
        outcome = await runner.run()
    assert outcome.complete, (outcome.reason, outcome.missing, printer.lines)
    check_seed_output(printer.lines)
    # Exactly once: one board record per tool call, no duplicate lines.
    assert outcome.tool_calls == 13
    assert len([r for r in board.records() if r.member != "system"]) == 13
    assert [t.status for t in board.tasks()] == ["done", "done", "done", "cleared"]
    assert board.info().status == "complete"
    board.close()


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def test_example_recipe_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    example = Path(__file__).resolve().parents[2] / "examples" / "team_mesh.py"
    proc = subprocess.run([sys.executable, str(example)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    check_seed_output(proc.stdout.splitlines())


def test_demo_on_another_gateway_via_env(tmp_path: Path) -> None:
    from teammesh.gateway.embedded import GatewayThread

    with GatewayThread(data_dir=tmp_path / "gw") as gateway:
        env = {**os.environ, "CODEX_MANAGER_API_BASE": gateway.base_url}
        proc = subprocess.run([TEAMMESH, "demo", "--board", "memory"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=90)
        assert proc.returncode == 0, proc.stderr
        check_seed_output(proc.stdout.splitlines())
        # The team's sessions were made on that gateway, titled team-<member>.
        listing = httpx.get(gateway.base_url + "/api/sessions", timeout=10).json()
        titles = sorted(s["title"] for s in listing["data"])
        assert titles == ["team-developer", "team-docs", "team-reviewer"]


def test_live_view_renders_the_board(tmp_path: Path) -> None:
    from rich.console import Console

    from teammesh.mesh.live import LiveBoard

    team = builtin_team()
    board = create_board(run_id="live", team=team.name, roster=team.roster, path=None)
    board.queue_work("developer", "plan", by="system")
    board.publish_artifact("developer", "implementation", "the plan")
    console = Console(file=_Capture(), force_terminal=True, width=120)
    with LiveBoard(board, console=console) as live:
        live.refresh()
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "live · team default · round 0 · running · 0:0" in text
    assert "idle" in text and "no approval pending" in text
    assert "developer" in text and "the plan" in text


class _Capture:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.parts)


def test_unreachable_gateway_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "CODEX_MANAGER_API_BASE": "http://127.0.0.1:9"}
    proc = subprocess.run([TEAMMESH, "demo"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3
    assert "teammesh: gateway error: TransportError" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "the run is kept; continue with: teammesh run --resume run-" in proc.stderr


@pytest.mark.parametrize("flags", [["--no-stream"], ["--no-polling"],
                                   ["--no-stream", "--no-polling"]])
def test_demo_path_flags(tmp_path: Path, flags: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    proc = subprocess.run([TEAMMESH, "demo", "--board", "memory", *flags], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=90)
    if len(flags) == 2:
        assert proc.returncode == 2
        assert "leave no way to receive tool calls" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    check_seed_output(proc.stdout.splitlines())
