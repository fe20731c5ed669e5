"""Token usage through the real `codex app-server`: the seed team on the codex runtime
against the real playbook model server (whose responses report usage). Codex's own
`thread/tokenUsage/updated` notifications reach the runner through the gateway's stream and
each member turn records real counts; codex names no model in them and the playbook model
has no price, so the cost is unknown, never 0."""

from __future__ import annotations

from pathlib import Path

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


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


async def test_codex_turns_record_their_token_usage(
    codex_bin: Path, codex_data_dir: Path
) -> None:
    team = builtin_team()
    board = create_board(run_id="codex-usage", team=team.name, roster=team.roster,
                         path=codex_data_dir / "board.sqlite")
    printer = Printer(out=_Quiet(), notes=_Quiet())
    async with start_model_server() as model:
        settings = RuntimeSettings(data_dir=codex_data_dir / "gateway",
                                   codex_bin=str(codex_bin),
                                   model_base_url=f"{model.base_url}/v1")
        async with (
            start_gateway(data_dir=codex_data_dir / "gateway", runtime="codex",
                          settings=settings) as gateway,
            AsyncCodexManager(base_url=gateway.base_url) as cm,
        ):
            outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=60),
                                       printer).run()
    assert outcome.complete, (outcome.reason, printer.lines)
    record = board.run_record()
    assert [t.member for t in record.turns] == ["developer", "docs", "reviewer"]
    for turn in record.turns:
        assert turn.usage is not None, turn
        assert turn.usage.input_tokens > 0 and turn.usage.output_tokens > 0
    assert outcome.usage == record.usage_total() and outcome.usage.total > 0
    assert outcome.cost_usd is None and record.cost_usd() is None
    assert len(record.calls) == 13 and {c.outcome for c in record.calls} == {"applied"}
    board.close()
