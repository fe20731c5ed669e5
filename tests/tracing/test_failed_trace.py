"""A failing run, traced: the model endpoint answers 401, so the first member's turn fails
and the run stops. The failure is on the spans, as the runner and the gateway saw it: the
turn's status and reason, ERROR statuses, and the run's outcome on its root."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team
from tests.runtimes.error_model_server import error_model_server
from tests.tracing.seed_run import QuietSink
from tests.tracing.tree import trees

pytestmark = pytest.mark.anyio


async def test_failed_turn_and_run_on_their_spans(tmp_path: Path,
                                                  spans: InMemorySpanExporter) -> None:
    team = builtin_team()
    board = create_board(run_id="fail", team=team.name, roster=team.roster, path=None)
    async with error_model_server(401, "Incorrect API key provided") as model:
        spec = f"llm?model=openai-responses:playbook&model_base_url={model.base_url}"
        async with start_gateway(data_dir=tmp_path / "gw", runtime=spec) as gateway, \
                AsyncCodexManager(base_url=gateway.base_url) as cm:
            outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=60),
                                       Printer(out=QuietSink(), notes=QuietSink())).run()
    assert outcome.status == "failed"
    (run,) = [r for r in trees(spans.get_finished_spans()) if r.name == "team_run default"]
    assert run.status == "ERROR"
    assert run.attributes["teammesh.run.status"] == "failed"
    assert "Incorrect API key provided" in run.attributes["teammesh.run.reason"]
    (agent,) = run.children  # the run stopped after the first turn
    assert agent.name == "invoke_agent developer"
    assert agent.status == "ERROR"
    assert agent.attributes["teammesh.turn.status"] == "failed"
    assert "HTTP 401" in agent.attributes["teammesh.turn.failure"]
    assert agent.attributes["error.type"] == "turn_failed"
    (turn,) = [c for c in agent.children if c.name == "turn llm"]
    assert turn.status == "ERROR"
    assert turn.attributes["teammesh.turn.status"] == "failed"
    assert "Incorrect API key provided" in turn.attributes["teammesh.turn.failure"]
