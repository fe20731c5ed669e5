"""A replayed call in a real run: the first runner handles the developer's first call (the
board records it) but its answer never reaches the gateway, and the runner dies (its task
cancelled, as a crash would end it). The resumed runner re-attaches to the same sessions,
finds the call still pending, runs its handler again, and the board answers from its record:
that second `execute_tool` span says `replayed`, the first `applied`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board, open_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team
from tests.tracing.seed_run import QuietSink
from tests.tracing.tree import trees

pytestmark = pytest.mark.anyio


async def test_resumed_runner_replays_the_unanswered_call(
        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    team = builtin_team()
    path = tmp_path / "board.sqlite"
    create_board(run_id="crash", team=team.name, roster=team.roster, path=path).close()
    # Polling only: every answer is an HTTP POST, which the hook below holds forever.
    options = RunOptions(turn_timeout=30, use_stream=False, use_polling=True)
    printer = Printer(out=QuietSink(), notes=QuietSink())
    async with start_gateway(data_dir=tmp_path / "gw") as gateway:
        handled = asyncio.Event()
        async with AsyncCodexManager(base_url=gateway.base_url) as first_cm:

            @first_cm.before("tool_calls.respond")
            async def hold(call: Any) -> None:
                handled.set()  # the handler ran and the board recorded the call
                await asyncio.Event().wait()

            board = open_board(path, "crash")
            first = asyncio.ensure_future(TeamRunner(first_cm, team, board, options,
                                                     printer).run())
            await asyncio.wait_for(handled.wait(), 30)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            board.close()
        board = open_board(path, "crash")
        async with AsyncCodexManager(base_url=gateway.base_url) as cm:
            outcome = await TeamRunner(cm, team, board, options, printer).run(resume=True)
        board.close()
    assert outcome.complete, outcome.reason
    calls = sorted((n for root in trees(spans.get_finished_spans()) for n in root.walk()
                    if n.name == "execute_tool team_pull_work"
                    and n.attributes["gen_ai.agent.name"] == "developer"), key=lambda n: n.start)
    assert [c.attributes["teammesh.board.outcome"] for c in calls] == ["applied", "replayed"]
    assert calls[0].attributes["gen_ai.tool.call.id"] == calls[1].attributes["gen_ai.tool.call.id"]
    assert calls[0].trace_id != calls[1].trace_id  # two runners, two runs' traces
    assert calls[1].attributes["teammesh.tool.success"] is True
    # The replayed call was answered while the resumed runner waited out the developer's
    # open turn: it hangs under that turn's span (marked recovered), not the run's root.
    by_id = {n.span_id: n for root in trees(spans.get_finished_spans()) for n in root.walk()}
    turn = by_id[calls[1].parent_id] if calls[1].parent_id is not None else None
    assert turn is not None and turn.name == "invoke_agent developer"
    assert turn.attributes["teammesh.turn.recovered"] is True
    assert turn.attributes["teammesh.turn.status"] == "completed"
    first_turn = by_id[calls[0].parent_id] if calls[0].parent_id is not None else None
    assert first_turn is None or "teammesh.turn.recovered" not in first_turn.attributes
