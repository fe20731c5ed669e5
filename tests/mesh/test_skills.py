"""The five skills' handlers over a real board: result keys, schemas, every refusal path,
identity binding and replay by request id. A skill is a method called with its call's
`SkillContext` first; the schema refusals come from the client's registry the skills are
registered with (the one place arguments are validated), exactly as the agent reads them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from teammesh.client import AsyncCodexManager, SkillContext
from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard
from teammesh.mesh.skills import SKILL_NAMES, MemberSkills


def _text(payload: dict[str, Any]) -> str:
    assert isinstance(payload["contentItems"], list)
    return str(payload["contentItems"][0]["text"])


def _ok(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["success"] is True, payload
    result: dict[str, Any] = json.loads(_text(payload))
    return result


def _state(board: TeamBoard) -> object:
    return (board.tasks(), board.artifacts(), board.completed(), board.records())


def skills_for(board: TeamBoard, member: str, **kwargs: Any) -> MemberSkills:
    return MemberSkills(member=member, board=board, **kwargs)


def call(skills: MemberSkills, tool: str, arguments: dict[str, Any] | None,
         request_id: str | None) -> dict[str, Any]:
    """One call of `tool`, as the registry makes it: the context first (the member's own
    session id), then the validated arguments as keywords."""
    context = SkillContext(tool=tool, session_id=f"sess-{skills.member}",
                           request_id=request_id)
    return skills.handlers()[tool](context, **(arguments or {}))


async def dispatch(skills: MemberSkills, tool: str, arguments: object) -> dict[str, Any]:
    """One call through the real client registry the skills are registered with."""
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        draft = cm.remote_skills.new_draft()
        skills.register(draft)
        dispatched = await draft.dispatch_tool_call(tool=tool, arguments=arguments,
                                                    request_id="req-1")
    assert dispatched.response_payload is not None
    return dispatched.response_payload


def test_catalog_names_and_exact_schemas(board: TeamBoard) -> None:
    catalog = skills_for(board, "developer").catalog()
    assert tuple(name for name, _, _ in catalog) == SKILL_NAMES
    schemas = {name: schema for name, _, schema in catalog}
    assert schemas["team_pull_work"] == {
        "type": "object", "properties": {}, "additionalProperties": False}
    assert schemas["team_queue_work"] == {
        "type": "object",
        "properties": {"owner": {"type": "string", "enum": ["developer", "docs", "reviewer"]},
                       "task": {"type": "string"}},
        "required": ["owner", "task"], "additionalProperties": False}
    assert schemas["team_publish_artifact"]["required"] == ["kind", "summary"]
    assert schemas["team_read_board"]["properties"]["limit"] == {
        "type": "integer", "minimum": 1, "maximum": 25}
    assert schemas["team_mark_done"]["properties"] == {"note": {"type": "string"}}


def test_happy_path_result_keys(board: TeamBoard) -> None:
    dev = skills_for(board, "developer")
    board.queue_work("developer", "plan it", by=SYSTEM_MEMBER)
    assert _ok(call(dev, "team_pull_work", {}, "1")) == {"task": "plan it", "queueDepth": 0}
    assert _ok(call(dev, "team_publish_artifact",
                        {"kind": "implementation", "summary": "plan"}, "2")) == {
        "artifactCount": 1,
        "artifact": {"member": "developer", "kind": "implementation", "summary": "plan"}}
    assert _ok(call(dev, "team_queue_work", {"owner": "docs", "task": "document"}, "3")) == {
        "queuedFor": "docs", "queuedBy": "developer", "queueDepth": 1, "task": "document",
        "queued": True}
    board_view = _ok(call(dev, "team_read_board", None, "4"))
    assert set(board_view) == {"queueDepths", "completed", "recentArtifacts"}
    assert board_view["queueDepths"] == {"developer": 0, "docs": 1, "reviewer": 0}
    assert _ok(call(dev, "team_mark_done", {"note": "done"}, "5")) == {
        "completed": ["developer"]}
    assert _ok(call(dev, "team_pull_work", {}, "6")) == {
        "task": None, "queueDepth": 0, "reason": "member_completed"}
    assert [a.kind for a in board.artifacts()] == ["implementation", "completion_note"]


@pytest.mark.anyio
async def test_identity_is_bound_not_taken_from_arguments(board: TeamBoard) -> None:
    docs = skills_for(board, "docs")
    refused = await dispatch(docs, "team_publish_artifact",
                             {"kind": "k", "summary": "s", "member": "reviewer"})
    assert refused["success"] is False
    assert "unexpected property 'member' (allowed: kind, summary)" in _text(refused)
    assert board.artifacts() == []
    with pytest.raises(TypeError):  # no parameter to carry another identity in
        call(docs, "team_publish_artifact", {"kind": "k", "summary": "s", "member": "x"}, "1")
    _ok(call(docs, "team_publish_artifact", {"kind": "k", "summary": "s"}, "2"))
    assert board.artifacts()[0].member == "docs"


# Refused by the skill or the board (the arguments fit the schema, or the skill is called
# directly with what the schema would refuse: the board checks its own inputs too).
REFUSALS = [
    ("team_queue_work", {"owner": "nobody", "task": "x"},
     "unknown member 'nobody' (team: developer, docs, reviewer)"),
    ("team_queue_work", {"owner": "docs", "task": "  "}, "task must be non-empty"),
    ("team_publish_artifact", {"kind": " ", "summary": "s"}, "kind must be non-empty"),
    ("team_publish_artifact", {"kind": "k", "summary": ""}, "summary must be non-empty"),
    ("team_read_board", {"limit": 0}, "limit must be between 1 and 25, got 0"),
    ("team_read_board", {"limit": 26}, "limit must be between 1 and 25, got 26"),
    ("team_read_board", {"limit": "5"}, "limit must be an integer"),
    ("team_read_board", {"limit": True}, "limit must be an integer"),
    ("team_mark_done", {"note": 1}, "note must be a string"),
]

# Refused by the registry against the input schema, before any skill runs: what the agent
# reads for arguments that do not fit (the registry is the one place they are checked).
SCHEMA_REFUSALS = [
    ("team_queue_work", {"owner": "docs"}, "$: missing required property 'task'"),
    ("team_queue_work", {"owner": 3, "task": "x"},
     "$.owner: expected a string, got an integer;"
     " $.owner: must be one of 'developer', 'docs', 'reviewer'"),
    ("team_queue_work", {"owner": "nobody", "task": "x"},
     "$.owner: must be one of 'developer', 'docs', 'reviewer'"),
    ("team_publish_artifact", {"kind": "k"}, "$: missing required property 'summary'"),
    ("team_read_board", {"limit": 0}, "$.limit: must be >= 1, got 0"),
    ("team_read_board", {"limit": "5"}, "$.limit: expected an integer, got a string"),
    ("team_read_board", {"limit": True}, "$.limit: expected an integer, got a boolean"),
    ("team_mark_done", {"note": 1}, "$.note: expected a string, got an integer"),
    ("team_pull_work", {"extra": 1}, "$: unexpected property 'extra' (allowed: none)"),
    ("team_pull_work", ["x"], "$: expected an object, got an array"),
]


@pytest.mark.parametrize(("tool", "arguments", "reason"), REFUSALS)
def test_every_refusal_is_success_false_and_board_untouched(
    board: TeamBoard, tool: str, arguments: dict[str, Any], reason: str
) -> None:
    board.queue_work("docs", "existing", by=SYSTEM_MEMBER)
    before = _state(board)
    payload = call(skills_for(board, "developer"), tool, arguments, "req-1")
    assert payload["success"] is False
    assert _text(payload) == f"{tool} refused: {reason}"
    assert _state(board) == before


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "arguments", "reason"), SCHEMA_REFUSALS)
async def test_every_schema_refusal_is_success_false_and_board_untouched(
    board: TeamBoard, tool: str, arguments: object, reason: str
) -> None:
    board.queue_work("docs", "existing", by=SYSTEM_MEMBER)
    before = _state(board)
    payload = await dispatch(skills_for(board, "developer"), tool, arguments)
    assert payload["success"] is False
    assert _text(payload) == f"remote skill {tool} failed: invalid arguments: {reason}"
    assert _state(board) == before


@pytest.mark.anyio
async def test_an_unknown_tool_is_refused_by_the_registry(board: TeamBoard) -> None:
    before = _state(board)
    payload = await dispatch(skills_for(board, "developer"), "team_unknown", {})
    assert payload == {"contentItems": [{"type": "inputText",
                                         "text": "no remote skill registered for team_unknown"}],
                       "success": False}
    assert _state(board) == before


def test_queue_to_completed_owner_is_refused_with_seed_keys(board: TeamBoard) -> None:
    board.mark_done("reviewer")
    before = _state(board)
    payload = call(skills_for(board, "docs"), "team_queue_work",
                   {"owner": "reviewer", "task": "check"}, None)
    assert payload["success"] is False
    assert json.loads(_text(payload)) == {
        "queuedFor": "reviewer", "queuedBy": "docs", "queueDepth": 0, "queued": False,
        "reason": "owner_completed"}
    assert _state(board) == before


def test_handoff_targets_narrow_the_owner_enum_and_refuse_others(board: TeamBoard) -> None:
    docs = skills_for(board, "docs", handoff_targets=("reviewer",))
    assert docs.schemas["team_queue_work"]["properties"]["owner"]["enum"] == ["reviewer"]
    before = _state(board)
    payload = call(docs, "team_queue_work", {"owner": "developer", "task": "x"}, "1")
    assert _text(payload) == (
        "team_queue_work refused: docs may not hand off to developer (allowed: reviewer)")
    assert _state(board) == before


def test_handoff_guard_refusal(board: TeamBoard) -> None:
    def no_reviewer(member: str, owner: str, current: object) -> str | None:
        return "reviewer is busy" if owner == "reviewer" else None

    dev = skills_for(board, "developer", handoff_guards=(no_reviewer,))
    assert _text(call(dev, "team_queue_work", {"owner": "reviewer", "task": "x"}, "1")) == (
        "team_queue_work refused: reviewer is busy")
    _ok(call(dev, "team_queue_work", {"owner": "docs", "task": "x"}, "2"))


def test_replay_by_request_id_is_exactly_once(board: TeamBoard) -> None:
    board.queue_work("docs", "a", by=SYSTEM_MEMBER)
    board.queue_work("docs", "b", by=SYSTEM_MEMBER)
    docs = skills_for(board, "docs")
    first = call(docs, "team_pull_work", {}, "41")
    assert call(docs, "team_pull_work", {}, "41") == first
    assert _ok(call(docs, "team_pull_work", {}, "42"))["task"] == "b"
    call(docs, "team_publish_artifact", {"kind": "k", "summary": "s"}, "43")
    call(docs, "team_publish_artifact", {"kind": "k", "summary": "s"}, "43")
    assert len(board.artifacts()) == 1
    # The same request id in another member's session is a different call.
    other = skills_for(board, "reviewer")
    call(other, "team_publish_artifact", {"kind": "k", "summary": "s"}, "43")
    assert len(board.artifacts()) == 2
