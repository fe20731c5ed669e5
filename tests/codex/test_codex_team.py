"""The whole three-member team through the codex runtime: the mesh runner drives the real
gateway, whose real `codex app-server` asks the real playbook model server over the
Responses API, and every `team_*` call travels app-server → gateway → runner → board and back.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from teammesh.brain.server import start_model_server
from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team

pytestmark = [pytest.mark.codex, pytest.mark.anyio]

# What each member's turn calls, in order (the seed's happy path).
SEED_CALLS = {
    "developer": [
        "team_pull_work",
        "team_publish_artifact",
        "team_queue_work",
        "team_queue_work",
        "team_mark_done",
    ],
    "docs": ["team_pull_work", "team_publish_artifact", "team_queue_work", "team_mark_done"],
    "reviewer": ["team_pull_work", "team_publish_artifact", "team_read_board", "team_mark_done"],
}


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


async def test_seed_team_completes_on_the_codex_runtime(
    codex_bin: Path, codex_data_dir: Path
) -> None:
    team = builtin_team()
    board = create_board(
        run_id="codex", team=team.name, roster=team.roster, path=codex_data_dir / "board.sqlite"
    )
    printer = Printer(out=_Quiet(), notes=_Quiet())
    async with start_model_server() as model:
        settings = RuntimeSettings(
            data_dir=codex_data_dir / "gateway",
            codex_bin=str(codex_bin),
            model_base_url=f"{model.base_url}/v1",
        )
        async with (
            start_gateway(
                data_dir=codex_data_dir / "gateway", runtime="codex", settings=settings
            ) as gateway,
            AsyncCodexManager(base_url=gateway.base_url) as cm,
        ):
            runner = TeamRunner(cm, team, board, RunOptions(turn_timeout=60), printer)
            outcome = await runner.run()
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
                listed = (await http.get("/api/sessions")).json()["data"]
    assert outcome.complete, (outcome.reason, outcome.missing, printer.lines)
    expected: list[str] = []
    for member, calls in SEED_CALLS.items():
        expected += [f"[tool-call] {member}: {tool}" for tool in calls]
        expected.append(f"[round 1] {member}: ")
    assert len(printer.lines) >= len(expected)
    for got, want in zip(printer.lines, expected, strict=False):
        assert got.startswith(want), (got, want)
    assert outcome.tool_calls == 13
    assert len([r for r in board.records() if r.member != "system"]) == 13
    assert board.info().status == "complete"
    kinds = sorted({a.kind for a in board.artifacts()})
    assert kinds == ["completion_note", "documentation", "implementation", "review"]
    # Every member's session really ran on codex: app-server named our model provider.
    assert len(listed) == 3
    assert {row["modelProvider"] for row in listed} == {"teammesh"}
    board.close()
