"""Usage across a runner crash: `teammesh run` on a real-model runtime (a `teammesh serve`
gateway on the llm runtime, asking a `teammesh model serve` playbook model server, both
separate processes) is SIGKILLed at fixed points, between turns and inside one, then
`teammesh run --resume RUN_ID` finishes it. The board's token usage must equal that of an
uninterrupted run turn by turn: a turn the dead runner recorded is not counted again, and a
turn it died in is counted whole (its earlier responses from the board, the rest as the
resumed runner sees them)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from teammesh.mesh.board import list_runs, open_board
from teammesh.mesh.board.run_record import RunRecord, Usage

from .procs import TEAMMESH, GatewayProcess, readline, run_command, runner_env, start_runner

# Kill once this stdout line was printed: after the developer's turn ended (between turns),
# and while the docs member's publish call is being answered (inside its turn).
KILL_AFTER = ("[round 1] developer:", "[tool-call] docs: team_publish_artifact")
TIMEOUT = 90.0


@pytest.fixture(scope="module")
def model_server() -> Iterator[str]:
    proc = subprocess.Popen([TEAMMESH, "model", "serve", "--port", "0", "--think-ms", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=runner_env())
    try:
        assert proc.stdout is not None
        line = readline(proc.stdout, 30)
        assert line.startswith("teammesh model server listening on "), line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def gateway(model_server: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[GatewayProcess]:
    spec = f"llm?model=openai-responses:playbook&model_base_url={model_server}/v1"
    with GatewayProcess(tmp_path_factory.mktemp("gateway"), extra=["--runtime", spec]) as gw:
        yield gw


def _args(board: Path, api_base: str, *extra: str) -> list[str]:
    return ["run", "--board", str(board), "--api-base", api_base, "--live", "off",
            "--turn-timeout", "60", *extra]


def _record(board_file: Path) -> RunRecord:
    (info,) = list_runs(board_file)
    board = open_board(board_file, info.run_id)
    try:
        return board.run_record()
    finally:
        board.close()


def _per_turn(record: RunRecord) -> list[tuple[str, Usage | None]]:
    return [(t.member, t.usage) for t in record.turns if t.state == "ok"]


@pytest.fixture(scope="module")
def reference(gateway: GatewayProcess, tmp_path_factory: pytest.TempPathFactory
              ) -> RunRecord:
    folder = tmp_path_factory.mktemp("reference")
    done = run_command(_args(folder / "board.sqlite", gateway.base_url), cwd=folder,
                       timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return _record(folder / "board.sqlite")


@pytest.mark.timeout(200)
@pytest.mark.parametrize("kill_after", KILL_AFTER, ids=["between-turns", "inside-a-turn"])
def test_usage_is_summed_right_across_a_kill_and_resume(
        tmp_path: Path, gateway: GatewayProcess, reference: RunRecord, kill_after: str
) -> None:
    assert reference.info.status == "complete"
    assert all(usage is not None and usage.total > 0 for _, usage in _per_turn(reference))
    board_file = tmp_path / "board.sqlite"
    runner = start_runner(_args(board_file, gateway.base_url), cwd=tmp_path)
    assert runner.stdout is not None and runner.stderr is not None
    assert readline(runner.stderr, TIMEOUT).startswith("run ")
    while True:
        line = readline(runner.stdout, TIMEOUT)
        assert line, "the run ended before the kill point"
        if line.startswith(kill_after):
            break
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    assert runner.returncode == -signal.SIGKILL
    before = _record(board_file)
    assert before.turns[0].usage is not None  # the dead runner had recorded some usage

    resumed = run_command(_args(board_file, gateway.base_url, "--resume",
                                before.info.run_id), cwd=tmp_path, timeout=TIMEOUT)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = _record(board_file)
    assert after.info.status == "complete"
    assert _per_turn(after) == _per_turn(reference)
    assert after.usage_total() == reference.usage_total()
    assert f"tokens {reference.usage_total().total:,} (" in resumed.stderr
    # One entry per call: the call answered again after the kill is a replay, not a second.
    keys = [c.request_key for c in after.calls]
    assert len(keys) == len(set(keys))
    assert len([c for c in after.calls if c.outcome != "refused"]) == len(reference.calls)
