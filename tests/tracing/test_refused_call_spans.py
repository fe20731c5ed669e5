"""Calls refused before any handler runs (an unknown tool, arguments against the schema)
still get their `execute_tool` span, from the runner's dispatch observer: success false,
board outcome refused with the registry's reason, under the member's open turn. A call a
handler ran keeps exactly its one span (the observer adds none)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from teammesh.client import AsyncCodexManager, RemoteSkillDispatch
from teammesh.mesh.board import TeamBoard, create_board
from teammesh.mesh.calls import MemberState, ToolCalls
from teammesh.mesh.output import Printer
from teammesh.mesh.policies import ApprovalGate
from teammesh.mesh.sessions import MemberSession
from teammesh.mesh.skills import MemberSkills
from teammesh.mesh.team import Member
from teammesh.tracing.run_spans import traced_turn

pytestmark = pytest.mark.anyio


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def board() -> TeamBoard:
    return create_board(run_id="r", team="default", roster=("developer", "docs", "reviewer"),
                        path=None)


async def _dispatch_all(board: TeamBoard, calls: list[tuple[str, object]]
                        ) -> list[RemoteSkillDispatch]:
    """Each call through the real client registry the runner's wrapped skills are registered
    with, its observer the runner's, inside the member's `invoke_agent` span."""
    tool_calls = ToolCalls(board, Printer(out=_Sink(), notes=_Sink()),
                           ApprovalGate((), board, None, 1.0), lambda: None)
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        member = MemberState(spec=Member(name="developer", role="r"),
                             skills=MemberSkills(member="developer", board=board), cm=cm)
        draft = cm.remote_skills.new_draft()
        binding = tool_calls.register_for(member)
        binding.register(draft)
        draft.registry.observe(binding.observe)
        member.session = MemberSession(draft.session_id, draft)

        async def turn() -> list[RemoteSkillDispatch]:
            return [await draft.dispatch_tool_call(tool=tool, arguments=arguments,
                                                   request_id=f"req-{i}")
                    for i, (tool, arguments) in enumerate(calls)]

        return await traced_turn(member, 1, turn())


def _attrs(span: Any) -> dict[str, Any]:
    assert span.attributes is not None
    return dict(span.attributes)


async def test_registry_refusals_get_refused_spans_under_the_turn(
        board: TeamBoard, spans: InMemorySpanExporter) -> None:
    dispatches = await _dispatch_all(board, [
        ("team_unknown", {}),
        ("team_publish_artifact", {"kind": "plan", "summary": 5}),
        ("team_publish_artifact", {"kind": "plan", "summary": "ok"}),
    ])
    assert [d.refused_before_handler for d in dispatches] == [True, True, False]
    finished = spans.get_finished_spans()
    (turn,) = [s for s in finished if s.name == "invoke_agent developer"]
    calls = [s for s in finished if s.name.startswith("execute_tool")]
    # One span per call, in call order: the handled one has its own span only.
    assert [s.name for s in calls] == ["execute_tool team_unknown",
                                       "execute_tool team_publish_artifact",
                                       "execute_tool team_publish_artifact"]
    for span in calls:
        assert span.parent is not None and span.parent.span_id == turn.context.span_id
    unknown, invalid, applied = (_attrs(s) for s in calls)
    assert unknown["teammesh.tool.success"] is False
    assert unknown["teammesh.board.outcome"] == "refused"
    assert unknown["teammesh.board.refusal"] == "no remote skill registered for team_unknown"
    assert unknown["gen_ai.tool.call.id"] == "req-0"
    assert invalid["teammesh.board.outcome"] == "refused"
    assert str(invalid["teammesh.board.refusal"]).startswith("invalid arguments: $.summary")
    assert calls[1].status.status_code.name == "ERROR"
    assert applied["teammesh.board.outcome"] == "applied"
    assert "gen_ai.tool.call.arguments" not in invalid  # content stays off by default


async def test_a_hostile_tool_name_is_bounded(board: TeamBoard,
                                              spans: InMemorySpanExporter) -> None:
    await _dispatch_all(board, [("x" * 5000, None)])
    (call,) = [s for s in spans.get_finished_spans() if s.name.startswith("execute_tool")]
    assert len(call.name) < 320
    assert len(str(_attrs(call)["gen_ai.tool.name"])) <= 300


async def test_no_span_when_tracing_is_off(board: TeamBoard) -> None:
    (dispatch,) = await _dispatch_all(board, [("team_unknown", {})])
    assert dispatch.refused_before_handler and dispatch.response_payload is not None
    assert dispatch.response_payload["success"] is False
