"""The five `team_*` skills, bound to one member and the shared board.

The member's identity is bound here, never read from the call's arguments. Every call is keyed
on the board by `<session id>:<request id>`, so a replayed call (same request id, by websocket
or by polling, before or after a runner restart) returns the recorded result and changes
nothing. The member's turn token goes with every call too: the board also keys the effects of
a call made under a claim by the claimed task, so a retried attempt of the claim repeats none
(`TeamBoard` in `board/core.py`). Refusals come back as `success: false` with the reason,
and leave the board as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from teammesh.mesh.board import BoardRefusal, TaskRecord, TeamBoard

PULL_WORK = "team_pull_work"
QUEUE_WORK = "team_queue_work"
PUBLISH_ARTIFACT = "team_publish_artifact"
READ_BOARD = "team_read_board"
MARK_DONE = "team_mark_done"
SKILL_NAMES = (PULL_WORK, QUEUE_WORK, PUBLISH_ARTIFACT, READ_BOARD, MARK_DONE)

DEFAULT_READ_LIMIT = 8

DESCRIPTIONS = {
    PULL_WORK: "Claim the next task queued for you on the team board.",
    QUEUE_WORK: "Queue a follow-up task for another team member.",
    PUBLISH_ARTIFACT: "Publish your output (an artifact) to the team board.",
    READ_BOARD: "Read the team board: queue depths, completed members, recent artifacts.",
    MARK_DONE: "Mark yourself complete; your remaining queue is cleared.",
}

# A handoff guard looks at (member, owner, the member's current task) and returns a refusal
# reason, or None to allow it. Policies (allowed targets, chain caps, ping-pong) plug in here.
HandoffGuard = Callable[[str, str, TaskRecord | None], str | None]


class Refused(Exception):
    """A refused call: its message is what the agent reads."""


def input_schemas(owner_enum: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The exact input schemas of S5; `owner` lists only the member's allowed targets."""
    return {
        PULL_WORK: {"type": "object", "properties": {}, "additionalProperties": False},
        QUEUE_WORK: {
            "type": "object",
            "properties": {
                "owner": {"type": "string", "enum": list(owner_enum)},
                "task": {"type": "string"},
            },
            "required": ["owner", "task"],
            "additionalProperties": False,
        },
        PUBLISH_ARTIFACT: {
            "type": "object",
            "properties": {"kind": {"type": "string"}, "summary": {"type": "string"}},
            "required": ["kind", "summary"],
            "additionalProperties": False,
        },
        READ_BOARD: {
            "type": "object",
            "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 25}},
            "additionalProperties": False,
        },
        MARK_DONE: {
            "type": "object",
            "properties": {"note": {"type": "string"}},
            "additionalProperties": False,
        },
    }


def success_payload(result: dict[str, Any]) -> dict[str, Any]:
    """What the agent sees: sorted-key JSON text, as codex-manager's client renders results."""
    text = json.dumps(result, ensure_ascii=True, sort_keys=True)
    return {"contentItems": [{"type": "inputText", "text": text}], "success": True}


def refusal_payload(tool: str, reason: str, result: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    text = (json.dumps(result, ensure_ascii=True, sort_keys=True) if result is not None
            else f"{tool} refused: {reason}")
    return {"contentItems": [{"type": "inputText", "text": text}], "success": False}


def _check_arguments(schema: dict[str, Any], arguments: object) -> dict[str, Any]:
    """Enforce the schema's shape (the agent may not have): objects, known keys, required
    keys, and string/integer types."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise Refused("arguments must be a JSON object")
    properties: dict[str, Any] = schema["properties"]
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        raise Refused(f"unknown argument(s): {', '.join(unknown)}")
    missing = [k for k in schema.get("required", []) if k not in arguments]
    if missing:
        raise Refused(f"missing argument(s): {', '.join(missing)}")
    for name, value in arguments.items():
        kind = properties[name].get("type")
        if kind == "string" and not isinstance(value, str):
            raise Refused(f"{name} must be a string")
        if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            raise Refused(f"{name} must be an integer")
    return dict(arguments)


@dataclass
class MemberSkills:
    """The five handlers of one member. `turn_token` names the member's current turn (claims
    made now belong to it); `scope` keys the member's request ids (its session id)."""

    member: str
    board: TeamBoard
    scope: str
    turn_token: Callable[[], str | None] = lambda: None
    # The `owner` enum: None means the whole roster, exactly the seed's schema.
    handoff_targets: tuple[str, ...] | None = None
    handoff_guards: Sequence[HandoffGuard] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.handoff_targets is None:
            self.handoff_targets = tuple(self.board.roster)
        self.schemas = input_schemas(self.handoff_targets)

    # -- dispatch --------------------------------------------------------------------------

    def key(self, request_id: str | None) -> str | None:
        """The board key of a call: request ids are unique per session, not globally."""
        return f"{self.scope}:{request_id}" if request_id else None

    def call(self, tool: str, arguments: object, request_id: str | None) -> dict[str, Any]:
        """Run one tool call; returns the response payload (`contentItems` + `success`)."""
        key = self.key(request_id)
        try:
            if tool not in self.schemas:
                raise Refused(f"no team skill named {tool}")
            args = _check_arguments(self.schemas[tool], arguments)
            result = self._run(tool, args, key)
        except (Refused, BoardRefusal) as exc:
            return refusal_payload(tool, str(exc))
        if result.get("queued") is False:
            # The owner is already done: nothing was queued, and the agent must notice.
            return refusal_payload(tool, str(result.get("reason")), result)
        return success_payload(result)

    def _run(self, tool: str, args: dict[str, Any], key: str | None) -> dict[str, Any]:
        board, member = self.board, self.member
        if tool == PULL_WORK:
            return board.pull_work(member, token=self.turn_token(), key=key)
        if tool == QUEUE_WORK:
            owner = args["owner"]
            self._check_handoff(owner)
            return board.queue_work(owner, args["task"], by=member, key=key,
                                    token=self.turn_token())
        if tool == PUBLISH_ARTIFACT:
            return board.publish_artifact(member, args["kind"], args["summary"], key=key,
                                          token=self.turn_token())
        if tool == READ_BOARD:
            return board.read_board(member, args.get("limit", DEFAULT_READ_LIMIT), key=key)
        return board.mark_done(member, args.get("note", ""), key=key,
                               token=self.turn_token())

    def _check_handoff(self, owner: str) -> None:
        if owner not in self.board.roster:
            raise Refused(f"unknown member '{owner}' (team: {', '.join(self.board.roster)})")
        targets = self.handoff_targets or ()
        if owner not in targets:
            allowed = ", ".join(targets) or "none"
            raise Refused(f"{self.member} may not hand off to {owner} (allowed: {allowed})")
        current = self.board.current_claim(self.member, self.turn_token())
        for guard in self.handoff_guards:
            reason = guard(self.member, owner, current)
            if reason:
                raise Refused(reason)

    # -- catalog ---------------------------------------------------------------------------

    def catalog(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(name, description, input schema) of each skill, in S5 order."""
        return [(name, DESCRIPTIONS[name], self.schemas[name]) for name in SKILL_NAMES]
