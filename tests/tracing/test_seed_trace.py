"""The span tree of the seed team (`teammesh demo`'s), exactly: names, parents, the GenAI
attributes, and the cross-links the `traceparent`s make (runner → gateway → runner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.tracing.seed_run import SEED_CALLS, expected_tree, run_seed
from tests.tracing.tree import trees

pytestmark = pytest.mark.anyio


async def test_seed_team_span_tree(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    outcome = await run_seed(tmp_path)
    assert outcome.complete, outcome.reason
    roots = trees(spans.get_finished_spans())
    assert len(roots) == 1, [r.name for r in roots]  # one trace, one root
    root = roots[0]
    assert root.shape() == expected_tree()
    assert {n.trace_id for n in root.walk()} == {root.trace_id}
    assert root.attributes["teammesh.team"] == "default"
    assert root.attributes["teammesh.run.id"] == "traced"
    assert root.attributes["teammesh.run.status"] == "complete"
    for agent, member in zip(root.children, SEED_CALLS, strict=True):
        attrs = agent.attributes
        assert attrs["gen_ai.operation.name"] == "invoke_agent"
        assert attrs["gen_ai.agent.name"] == member
        assert attrs["teammesh.turn.status"] == "completed"
        assert agent.status == "UNSET"
        session_id = attrs["gen_ai.conversation.id"]
        (turn,) = agent.children
        assert turn.attributes["gen_ai.conversation.id"] == session_id
        assert turn.attributes["teammesh.runtime"] == "playbook"
        assert turn.attributes["teammesh.turn.status"] == "completed"
        assert turn.attributes["teammesh.turn.id"]
        request_ids = set()
        for call, tool in zip(turn.children, SEED_CALLS[member], strict=True):
            a = call.attributes
            assert a["gen_ai.operation.name"] == "execute_tool"
            assert a["gen_ai.tool.name"] == tool
            assert a["gen_ai.agent.name"] == member
            assert a["gen_ai.conversation.id"] == session_id
            assert a["teammesh.tool.source"] == "signal"
            assert a["teammesh.tool.success"] is True
            assert a["teammesh.board.outcome"] == "applied"
            assert a["teammesh.tool.arguments_size"] >= 2  # "{}" at least
            assert a["teammesh.tool.result_size"] > 0
            request_ids.add(a["gen_ai.tool.call.id"])
            # Content is opt-in: by default neither arguments nor results are recorded.
            assert "gen_ai.tool.call.arguments" not in a
            assert "gen_ai.tool.call.result" not in a
        assert len(request_ids) == len(SEED_CALLS[member])
        for handoff in (n for n in turn.walk() if n.name.startswith("handoff")):
            assert handoff.attributes["teammesh.handoff.from"] == member
            assert handoff.attributes["teammesh.handoff.to"] in ("docs", "reviewer")
            assert handoff.attributes["teammesh.handoff.task_id"]


async def test_polling_calls_hang_under_the_member_turn(
        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    """Without the stream, no signal brings a traceparent: a call's parent is its member's
    turn span (still one trace)."""
    outcome = await run_seed(tmp_path, use_stream=False, use_polling=True)
    assert outcome.complete, outcome.reason
    (root,) = trees(spans.get_finished_spans())
    assert root.shape() == expected_tree(calls_under_gateway_turn=False)
    calls = [n for n in root.walk() if n.name.startswith("execute_tool")]
    assert {c.attributes["teammesh.tool.source"] for c in calls} == {"polling"}


async def test_no_provider_no_spans(tmp_path: Path) -> None:
    """Tracing off (nothing installed): the run is the same and nothing is recorded."""
    from teammesh import tracing

    assert not tracing.active()
    outcome = await run_seed(tmp_path)
    assert outcome.complete and outcome.tool_calls == 13
