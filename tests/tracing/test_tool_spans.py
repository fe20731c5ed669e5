"""The runner's tool-call spans on the real handlers (the runner's `ToolCalls` wrapping
`MemberSkills` over a real board): applied, replayed (a resumed runner answering a call the
board already recorded: new handlers, same board, same call key), refused, approval waits,
and content recorded only when opted in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from teammesh import tracing
from teammesh.client import SkillContext
from teammesh.mesh.board import TeamBoard, create_board
from teammesh.mesh.calls import MemberState, ToolCalls
from teammesh.mesh.output import Printer
from teammesh.mesh.policies import ApprovalGate, ApprovalRule
from teammesh.mesh.skills import MemberSkills
from teammesh.mesh.team import Member
from teammesh.tracing.state import CONTENT_ENV

pytestmark = pytest.mark.anyio
ROSTER = ("developer", "docs", "reviewer")


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class _Draft:
    """Collects what a session would register: the wrapped handler per tool."""

    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}

    def register(self, name: str, handler: Any, **_: Any) -> None:
        self.handlers[name] = handler


def handlers_for(board: TeamBoard, member: str = "developer",
                 rules: tuple[ApprovalRule, ...] = ()) -> dict[str, Any]:
    """A runner's wrapped handlers for `member` (a new runner: new wrappers, same board)."""
    calls = ToolCalls(board, Printer(out=_Sink(), notes=_Sink()),
                      ApprovalGate(rules, board, None, 1.0), lambda: None)
    state = MemberState(spec=Member(name=member, role="r"),
                        skills=MemberSkills(member=member, board=board), cm=None)  # type: ignore[arg-type]
    draft = _Draft()
    calls.register_for(state).register(draft)  # type: ignore[arg-type]
    return draft.handlers


def ctx(tool: str, request_id: str, **arguments: Any) -> SkillContext:
    return SkillContext(tool=tool, session_id="session-1", request_id=request_id,
                        call_id=f"call-{request_id}", arguments=arguments, source="signal")


@pytest.fixture
def board() -> TeamBoard:
    return create_board(run_id="r", team="default", roster=ROSTER, path=None)


async def test_replayed_call_is_marked_replayed(board: TeamBoard,
                                                spans: InMemorySpanExporter) -> None:
    args = {"kind": "plan", "summary": "the plan"}
    first = await handlers_for(board)["team_publish_artifact"](
        ctx("team_publish_artifact", "7", **args), **args)
    # The runner restarts: new handlers; the gateway hands the same call (same id) again.
    again = await handlers_for(board)["team_publish_artifact"](
        ctx("team_publish_artifact", "7", **args), **args)
    assert first == again  # the recorded result, nothing applied twice
    assert len(board.artifacts()) == 1
    applied, replayed = spans.get_finished_spans()
    for span in (applied, replayed):
        assert span.name == "execute_tool team_publish_artifact"
        assert span.attributes is not None
        assert span.attributes["gen_ai.tool.call.id"] == "7"
        assert span.attributes["teammesh.tool.codex_call_id"] == "call-7"
        assert span.attributes["teammesh.tool.success"] is True
    assert applied.attributes is not None and replayed.attributes is not None
    assert applied.attributes["teammesh.board.outcome"] == "applied"
    assert replayed.attributes["teammesh.board.outcome"] == "replayed"


async def test_refused_handoff_says_why(board: TeamBoard, spans: InMemorySpanExporter) -> None:
    handlers = handlers_for(board)
    result = await handlers["team_queue_work"](ctx("team_queue_work", "1"),
                                               owner="nobody", task="x")
    assert result["success"] is False
    handoff, call = spans.get_finished_spans()
    assert handoff.name == "handoff developer -> nobody"
    assert handoff.parent is not None and handoff.parent.span_id == call.context.span_id
    assert handoff.attributes is not None
    assert "unknown member 'nobody'" in str(handoff.attributes["teammesh.handoff.refusal"])
    assert call.attributes is not None
    assert call.attributes["teammesh.board.outcome"] == "refused"
    assert "unknown member 'nobody'" in str(call.attributes["teammesh.board.refusal"])
    assert call.status.status_code.name == "ERROR"


async def test_approval_wait_has_its_span(board: TeamBoard, spans: InMemorySpanExporter
                                          ) -> None:
    rules = (ApprovalRule(member="developer", owner="docs", answer="no"),)
    result = await handlers_for(board, rules=rules)["team_queue_work"](
        ctx("team_queue_work", "2"), owner="docs", task="write it up")
    assert result["success"] is False
    approval, handoff, call = spans.get_finished_spans()
    assert [approval.name, handoff.name, call.name] == [
        "approval team_queue_work", "handoff developer -> docs", "execute_tool team_queue_work"]
    # The wait is part of the handoff it gates, and a declined handoff says why.
    assert approval.parent is not None and approval.parent.span_id == handoff.context.span_id
    assert approval.attributes is not None and handoff.attributes is not None
    assert approval.attributes["teammesh.approval.answer"] == "declined"
    assert "declined" in str(approval.attributes["teammesh.approval.reason"])
    assert "declined" in str(handoff.attributes["teammesh.handoff.refusal"])


async def test_content_only_when_opted_in(board: TeamBoard, spans: InMemorySpanExporter,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"kind": "plan", "summary": "secret-ish plan text"}
    handlers = handlers_for(board)
    await handlers["team_publish_artifact"](ctx("team_publish_artifact", "1", **args), **args)
    monkeypatch.setenv(CONTENT_ENV, "true")
    tracing.install(tracing.state.provider())  # a process reads the opt-in once, at setup
    await handlers["team_publish_artifact"](ctx("team_publish_artifact", "2", **args), **args)
    default, opted = spans.get_finished_spans()
    assert default.attributes is not None and opted.attributes is not None
    assert not any("secret-ish" in str(v) for v in default.attributes.values())
    assert "gen_ai.tool.call.arguments" not in default.attributes
    assert json.loads(str(opted.attributes["gen_ai.tool.call.arguments"])) == args
    recorded = json.loads(str(opted.attributes["gen_ai.tool.call.result"]))
    assert isinstance(recorded, dict) and recorded  # the board's result, as the agent read it
