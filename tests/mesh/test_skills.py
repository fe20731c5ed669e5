"""The five skills' handlers over a real board: result keys, schemas, every refusal path,
identity binding and replay by request id."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
    return MemberSkills(member=member, board=board, scope=f"sess-{member}", **kwargs)


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
    assert _ok(dev.call("team_pull_work", {}, "1")) == {"task": "plan it", "queueDepth": 0}
    assert _ok(dev.call("team_publish_artifact",
                        {"kind": "implementation", "summary": "plan"}, "2")) == {
        "artifactCount": 1,
        "artifact": {"member": "developer", "kind": "implementation", "summary": "plan"}}
    assert _ok(dev.call("team_queue_work", {"owner": "docs", "task": "document"}, "3")) == {
        "queuedFor": "docs", "queuedBy": "developer", "queueDepth": 1, "task": "document",
        "queued": True}
    board_view = _ok(dev.call("team_read_board", None, "4"))
    assert set(board_view) == {"queueDepths", "completed", "recentArtifacts"}
    assert board_view["queueDepths"] == {"developer": 0, "docs": 1, "reviewer": 0}
    assert _ok(dev.call("team_mark_done", {"note": "done"}, "5")) == {
        "completed": ["developer"]}
    assert _ok(dev.call("team_pull_work", {}, "6")) == {
        "task": None, "queueDepth": 0, "reason": "member_completed"}
    assert [a.kind for a in board.artifacts()] == ["implementation", "completion_note"]


def test_identity_is_bound_not_taken_from_arguments(board: TeamBoard) -> None:
    docs = skills_for(board, "docs")
    refused = docs.call("team_publish_artifact",
                        {"kind": "k", "summary": "s", "member": "reviewer"}, "1")
    assert refused["success"] is False
    assert "unknown argument(s): member" in _text(refused)
    _ok(docs.call("team_publish_artifact", {"kind": "k", "summary": "s"}, "2"))
    assert board.artifacts()[0].member == "docs"


REFUSALS = [
    ("team_queue_work", {"owner": "nobody", "task": "x"},
     "unknown member 'nobody' (team: developer, docs, reviewer)"),
    ("team_queue_work", {"owner": "docs", "task": "  "}, "task must be non-empty"),
    ("team_queue_work", {"owner": "docs"}, "missing argument(s): task"),
    ("team_queue_work", {"owner": 3, "task": "x"}, "owner must be a string"),
    ("team_publish_artifact", {"kind": " ", "summary": "s"}, "kind must be non-empty"),
    ("team_publish_artifact", {"kind": "k", "summary": ""}, "summary must be non-empty"),
    ("team_publish_artifact", {"kind": "k"}, "missing argument(s): summary"),
    ("team_read_board", {"limit": 0}, "limit must be between 1 and 25, got 0"),
    ("team_read_board", {"limit": 26}, "limit must be between 1 and 25, got 26"),
    ("team_read_board", {"limit": "5"}, "limit must be an integer"),
    ("team_read_board", {"limit": True}, "limit must be an integer"),
    ("team_mark_done", {"note": 1}, "note must be a string"),
    ("team_pull_work", {"extra": 1}, "unknown argument(s): extra"),
    ("team_pull_work", ["x"], "arguments must be a JSON object"),
    ("team_unknown", {}, "no team skill named team_unknown"),
]


@pytest.mark.parametrize(("tool", "arguments", "reason"), REFUSALS)
def test_every_refusal_is_success_false_and_board_untouched(
    board: TeamBoard, tool: str, arguments: object, reason: str
) -> None:
    board.queue_work("docs", "existing", by=SYSTEM_MEMBER)
    before = _state(board)
    payload = skills_for(board, "developer").call(tool, arguments, "req-1")
    assert payload["success"] is False
    assert _text(payload) == f"{tool} refused: {reason}"
    assert _state(board) == before


def test_queue_to_completed_owner_is_refused_with_seed_keys(board: TeamBoard) -> None:
    board.mark_done("reviewer")
    before = _state(board)
    payload = skills_for(board, "docs").call(
        "team_queue_work", {"owner": "reviewer", "task": "check"}, None)
    assert payload["success"] is False
    assert json.loads(_text(payload)) == {
        "queuedFor": "reviewer", "queuedBy": "docs", "queueDepth": 0, "queued": False,
        "reason": "owner_completed"}
    assert _state(board) == before


def test_handoff_targets_narrow_the_owner_enum_and_refuse_others(board: TeamBoard) -> None:
    docs = skills_for(board, "docs", handoff_targets=("reviewer",))
    assert docs.schemas["team_queue_work"]["properties"]["owner"]["enum"] == ["reviewer"]
    before = _state(board)
    payload = docs.call("team_queue_work", {"owner": "developer", "task": "x"}, "1")
    assert _text(payload) == (
        "team_queue_work refused: docs may not hand off to developer (allowed: reviewer)")
    assert _state(board) == before


def test_handoff_guard_refusal(board: TeamBoard) -> None:
    def no_reviewer(member: str, owner: str, current: object) -> str | None:
        return "reviewer is busy" if owner == "reviewer" else None

    dev = skills_for(board, "developer", handoff_guards=(no_reviewer,))
    assert _text(dev.call("team_queue_work", {"owner": "reviewer", "task": "x"}, "1")) == (
        "team_queue_work refused: reviewer is busy")
    _ok(dev.call("team_queue_work", {"owner": "docs", "task": "x"}, "2"))


def test_replay_by_request_id_is_exactly_once(board: TeamBoard) -> None:
    board.queue_work("docs", "a", by=SYSTEM_MEMBER)
    board.queue_work("docs", "b", by=SYSTEM_MEMBER)
    docs = skills_for(board, "docs")
    first = docs.call("team_pull_work", {}, "41")
    assert docs.call("team_pull_work", {}, "41") == first
    assert _ok(docs.call("team_pull_work", {}, "42"))["task"] == "b"
    docs.call("team_publish_artifact", {"kind": "k", "summary": "s"}, "43")
    docs.call("team_publish_artifact", {"kind": "k", "summary": "s"}, "43")
    assert len(board.artifacts()) == 1
    # The same request id in another member's session is a different call.
    other = skills_for(board, "reviewer")
    other.call("team_publish_artifact", {"kind": "k", "summary": "s"}, "43")
    assert len(board.artifacts()) == 2
