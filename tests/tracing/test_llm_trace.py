"""The llm runtime's model calls nest under their turn: pydantic-ai's own instrumentation
(on our provider) runs inside the gateway's `turn llm` span; the runtime's token usage is on
that span; and no prompt text is recorded unless content capture is opted in."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from teammesh import tracing
from teammesh.brain.server import start_model_server
from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team
from teammesh.tracing.state import CONTENT_ENV
from tests.tracing.seed_run import SEED_CALLS
from tests.tracing.tree import Node, trees

pytestmark = pytest.mark.anyio


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _all_text(node: Node) -> str:
    return " ".join(str(v) for n in node.walk() for v in n.attributes.values())


async def _run_on_llm(tmp_path: Path) -> None:
    team = builtin_team()
    board = create_board(run_id="llm", team=team.name, roster=team.roster, path=None)
    async with start_model_server() as model:
        spec = f"llm?model=openai-responses:playbook&model_base_url={model.base_url}/v1"
        async with start_gateway(data_dir=tmp_path / "gw", runtime=spec) as gateway, \
                AsyncCodexManager(base_url=gateway.base_url) as cm:
            outcome = await TeamRunner(cm, team, board, RunOptions(
                turn_timeout=60, use_polling=False), Printer(out=_Quiet(), notes=_Quiet())).run()
    assert outcome.complete, outcome.reason


async def test_pydantic_ai_spans_nest_under_the_gateway_turn(
        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    team = builtin_team()
    await _run_on_llm(tmp_path)
    roots = trees(spans.get_finished_spans())
    (run,) = [r for r in roots if r.name == "team_run default"]
    for agent, member in zip(run.children, SEED_CALLS, strict=True):
        assert agent.name == f"invoke_agent {member}"
        (turn,) = agent.children
        assert turn.name == "turn llm"
        assert turn.attributes["gen_ai.usage.input_tokens"] > 0
        assert turn.attributes["gen_ai.usage.output_tokens"] > 0
        (agent_run,) = turn.children  # pydantic-ai's own invoke_agent, in the gateway
        assert agent_run.name.startswith("invoke_agent")
        chats = [n for n in agent_run.children
                 if n.attributes.get("gen_ai.operation.name") == "chat"]
        assert chats  # its model calls, in this turn
        # Its tool spans (waiting on the remote tool) each hold the runner's: the signal's
        # traceparent names the span that asked.
        asked = [n for n in agent_run.children if n.name.startswith("execute_tool")]
        assert [n.name for n in asked] == [f"execute_tool {t}" for t in SEED_CALLS[member]]
        for waiting in asked:
            (answered,) = waiting.children
            assert answered.name == waiting.name
            assert answered.attributes["teammesh.board.outcome"] == "applied"
        assert all(n.trace_id == run.trace_id for n in turn.walk())
    # Content is opt-in: the members' prompts are not on any span by default.
    prompt = team.members[0].render_prompt()
    assert prompt.splitlines()[0] not in _all_text(run)


async def test_prompts_recorded_when_opted_in(tmp_path: Path, spans: InMemorySpanExporter,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONTENT_ENV, "true")
    tracing.install(tracing.state.provider())  # the opt-in is read at setup
    await _run_on_llm(tmp_path)
    (run,) = [r for r in trees(spans.get_finished_spans()) if r.name == "team_run default"]
    prompt = builtin_team().members[0].render_prompt()
    assert prompt.splitlines()[0] in _all_text(run)
