"""The run record of real runs (real gateway, playbook runtime, SQLite board): the seed
team's turns and calls in order, and calls refused before any board change (an approval
rule, a policy guard) recorded by the runner with the refusal's reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import TeamBoard, create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, RunOutcome, TeamRunner
from teammesh.mesh.teamfile import builtin_team, load_team

SEED = '''
[[members]]
name = "developer"
{developer}
[[members]]
name = "docs"
{docs}
[[members]]
name = "reviewer"
[[tasks]]
owner = "developer"
text = "Draft a plan, then hand off one docs task and one validation task."
'''


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


async def _run(tmp_path: Path, text: str | None) -> tuple[RunOutcome, TeamBoard]:
    if text is None:
        team = builtin_team()
    else:
        path = tmp_path / "team.toml"
        path.write_text(text, encoding="utf-8")
        team = load_team(path)
    board = create_board(run_id="r", team=team.name, roster=team.roster,
                         path=tmp_path / "board.sqlite")
    async with start_gateway(data_dir=tmp_path / "gw") as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=30),
                                   Printer(out=_Sink(), notes=_Sink())).run()
    return outcome, board


@pytest.mark.anyio
async def test_the_seed_team_leaves_its_record(tmp_path: Path) -> None:
    outcome, board = await _run(tmp_path, None)
    assert outcome.complete
    record = board.run_record()
    sessions = board.sessions()
    assert [(t.member, t.round, t.state) for t in record.turns] == [
        ("developer", 1, "ok"), ("docs", 1, "ok"), ("reviewer", 1, "ok")]
    for turn in record.turns:
        assert turn.session_id == sessions[turn.member] and turn.turn_id
        assert turn.started_at is not None and turn.ended_at is not None
        assert turn.started_at <= turn.ended_at
    # Turns ran one after another: each starts after the one before ended.
    for before, after in zip(record.turns, record.turns[1:], strict=False):
        assert before.ended_at is not None and after.started_at is not None
        assert before.ended_at <= after.started_at
    tokens = {t.member: t.token for t in record.turns}
    assert [(c.member, c.tool) for c in record.calls] == [
        ("developer", "team_pull_work"), ("developer", "team_publish_artifact"),
        ("developer", "team_queue_work"), ("developer", "team_queue_work"),
        ("developer", "team_mark_done"),
        ("docs", "team_pull_work"), ("docs", "team_publish_artifact"),
        ("docs", "team_queue_work"), ("docs", "team_mark_done"),
        ("reviewer", "team_pull_work"), ("reviewer", "team_publish_artifact"),
        ("reviewer", "team_read_board"), ("reviewer", "team_mark_done")]
    for call in record.calls:
        assert (call.outcome, call.success) == ("applied", True)
        assert call.turn_token == tokens[call.member]
        assert call.request_key.startswith(sessions[call.member] + ":")
        turn = next(t for t in record.turns if t.token == call.turn_token)
        assert turn.started_at is not None and turn.ended_at is not None
        assert call.started_at is not None and call.ended_at is not None
        assert turn.started_at <= call.started_at <= call.ended_at <= turn.ended_at
    queued = [c for c in record.calls if c.tool == "team_queue_work"]
    assert [c.arguments["owner"] for c in queued] == ["docs", "reviewer", "reviewer"]
    assert all(c.result["queued"] is True for c in queued)
    board.close()


@pytest.mark.anyio
async def test_refused_calls_are_recorded_with_their_reason(tmp_path: Path) -> None:
    # The approval rule declines the developer's handoff to the reviewer (the gate refuses
    # it before the skill runs); docs' handoff to the reviewer makes a chain of two
    # handoffs, over the cap (the skill's own guard refuses it).
    text = SEED.format(developer="", docs="") + (
        '[[policies.approvals]]\nmember = "developer"\nowner = "reviewer"\nanswer = "no"\n'
        "[policies]\nmax_chain = 1\n")
    outcome, board = await _run(tmp_path, text)
    record = board.run_record()
    refused = [c for c in record.calls if c.outcome == "refused"]
    assert [(c.member, c.tool, c.arguments.get("owner")) for c in refused] == [
        ("developer", "team_queue_work", "reviewer"), ("docs", "team_queue_work", "reviewer")]
    developer, docs = refused
    assert "declined by the team's approval rule" in developer.reason
    assert "chain" in docs.reason
    for call in refused:
        assert call.success is False and call.result is None and call.turn_token
    # Nothing refused changed the board: no task for the reviewer.
    assert "reviewer" not in [t.owner for t in board.tasks()]
    assert outcome.tool_calls == len(record.calls)
    board.close()
