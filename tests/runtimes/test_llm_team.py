"""The whole three-member team through the llm runtime: the mesh runner drives the real
gateway, whose llm runtime (pydantic-ai) asks the real playbook model server over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from teammesh.brain.server import start_model_server
from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team

SEED_CALLS = {
    "developer": ["team_pull_work", "team_publish_artifact", "team_queue_work",
                  "team_queue_work", "team_mark_done"],
    "docs": ["team_pull_work", "team_publish_artifact", "team_queue_work", "team_mark_done"],
    "reviewer": ["team_pull_work", "team_publish_artifact", "team_read_board",
                 "team_mark_done"],
}
REPLIES = {
    "developer": "published implementation, queued docs and reviewer handoffs, "
                 "marked done.",
    "docs": "published documentation, queued reviewer handoff, marked done.",
    "reviewer": "published review, read the board, marked done.",
}


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.anyio
async def test_seed_team_completes_on_the_llm_runtime(tmp_path: Path) -> None:
    team = builtin_team()
    board = create_board(run_id="llm", team=team.name, roster=team.roster,
                         path=tmp_path / "board.sqlite")
    printer = Printer(out=_Quiet(), notes=_Quiet())
    async with start_model_server() as model:
        spec = f"llm?model=openai-responses:playbook&model_base_url={model.base_url}/v1"
        async with start_gateway(data_dir=tmp_path / "gw", runtime=spec) as gateway, \
                AsyncCodexManager(base_url=gateway.base_url) as cm:
            runner = TeamRunner(cm, team, board, RunOptions(turn_timeout=60), printer)
            outcome = await runner.run()
    assert outcome.complete, (outcome.reason, outcome.missing, printer.lines)
    expected: list[str] = []
    for member, calls in SEED_CALLS.items():
        expected += [f"[tool-call] {member}: {tool}" for tool in calls]
        expected.append(f"[round 1] {member}: {REPLIES[member]}")
    assert printer.lines[: len(expected)] == expected
    assert outcome.tool_calls == 13
    assert board.info().status == "complete"
    kinds = sorted({a.kind for a in board.artifacts()})
    assert kinds == ["completion_note", "documentation", "implementation", "review"]
    board.close()
