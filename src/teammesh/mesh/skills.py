"""The five `team_*` skills, bound to one member and the shared board.

Each skill is a method taking the call's `SkillContext` as its explicit first parameter and
its arguments as keywords; the methods are registered with the session's skill registry as
they are. The registry is the one place that picks the handler by tool name and validates
the arguments against the input schema below, so nothing here dispatches or validates again.

The member's identity is bound here, never read from the call's arguments. Every call is keyed
on the board by `<session id>:<request id>` from its context, so a replayed call (same request
id, by websocket or by polling, before or after a runner restart) returns the recorded result
and changes nothing. The member's turn token goes with every call too: the board also keys the
effects of a call made under a claim by the claimed task, so a retried attempt of the claim
repeats none (`TeamBoard` in `board/core.py`). Refusals come back as `success: false` with the
reason, and leave the board as it was.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from teammesh.client import SkillContext
from teammesh.mesh.board import BoardRefusal, TaskRecord, TeamBoard
from teammesh.mesh.board.call_notes import CallNote
from teammesh.mesh.work_skills import MemberWork

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
# A skill as the registry calls it: the context first, then the validated arguments.
SkillHandler = Callable[..., Any]
# Applied to each handler at registration (the runner's turn guard and approval gate).
HandlerWrapper = Callable[[str, SkillHandler], SkillHandler]
Method = TypeVar("Method", bound=Callable[..., dict[str, Any]])


class SkillDraft(Protocol):
    """What registering needs of a draft session: its `register` (async or sync handle)."""

    def register(self, name: str, handler: Callable[..., Any], *,
                 description: str | None = None,
                 input_schema: dict[str, Any] | None = None) -> Any: ...


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


def board_key(ctx: SkillContext) -> str | None:
    """The board key of a call: request ids are unique per session, not globally, so the
    key is the call's own session id (from its context) and its request id."""
    return f"{ctx.session_id}:{ctx.request_id}" if ctx.request_id else None


def _answers(tool: str) -> Callable[[Method], Method]:
    """A skill's board result as the response payload; a refusal as `success: false`.
    `functools.wraps` keeps the method's signature, so the registry still finds the
    `SkillContext` parameter."""

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        def answer(self: MemberSkills, ctx: SkillContext, **arguments: Any) -> dict[str, Any]:
            try:
                result = method(self, ctx, **arguments)
            except (Refused, BoardRefusal) as exc:
                return refusal_payload(tool, str(exc))
            if result.get("queued") is False:
                # The owner is already done: nothing was queued, and the agent must notice.
                return refusal_payload(tool, str(result.get("reason")), result)
            return success_payload(result)

        return cast(Method, answer)

    return decorate


@dataclass
class MemberSkills:
    """The five handlers of one member. `turn_token` names the member's current turn (claims
    made now belong to it)."""

    member: str
    board: TeamBoard
    turn_token: Callable[[], str | None] = lambda: None
    # The `owner` enum: None means the whole roster, exactly the seed's schema.
    handoff_targets: tuple[str, ...] | None = None
    handoff_guards: Sequence[HandoffGuard] = field(default_factory=tuple)
    # The member's worktree (`work_skills.py`), when the team has a repository.
    work: MemberWork | None = None

    def __post_init__(self) -> None:
        if self.handoff_targets is None:
            self.handoff_targets = tuple(self.board.roster)
        self.schemas = input_schemas(self.handoff_targets)

    # -- the five skills -------------------------------------------------------------------

    @_answers(PULL_WORK)
    def pull_work(self, ctx: SkillContext) -> dict[str, Any]:
        result = self.board.pull_work(self.member, token=self.turn_token(),
                                      key=board_key(ctx), call=self._note(ctx))
        return result if self.work is None else self.work.after_pull(result)

    @_answers(QUEUE_WORK)
    def queue_work(self, ctx: SkillContext, owner: str, task: str) -> dict[str, Any]:
        self._check_handoff(owner)
        return self.board.queue_work(owner, task, by=self.member, key=board_key(ctx),
                                     token=self.turn_token(), call=self._note(ctx))

    @_answers(PUBLISH_ARTIFACT)
    def publish_artifact(self, ctx: SkillContext, kind: str, summary: str) -> dict[str, Any]:
        key = board_key(ctx)
        # Only a worktree needs to know (it commits before a first publish): without one,
        # no read of the record ahead of the publish (which replays by key anyway).
        replayed = (self.work is not None and key is not None
                    and self.board.recorded(key) is not None)
        if self.work is not None and not replayed:
            summary = self.work.before_publish(kind, summary)  # commits the worktree
        result = self.board.publish_artifact(self.member, kind, summary, key=key,
                                             token=self.turn_token(), call=self._note(ctx))
        return result if self.work is None else self.work.after_publish(result, replayed)

    @_answers(READ_BOARD)
    def read_board(self, ctx: SkillContext, limit: int = DEFAULT_READ_LIMIT) -> dict[str, Any]:
        return self.board.read_board(self.member, limit, key=board_key(ctx),
                                     call=self._note(ctx))

    @_answers(MARK_DONE)
    def mark_done(self, ctx: SkillContext, note: str = "") -> dict[str, Any]:
        return self.board.mark_done(self.member, note, key=board_key(ctx),
                                    token=self.turn_token(), call=self._note(ctx))

    def _note(self, ctx: SkillContext) -> CallNote | None:
        """The call as the run's record keeps it, written with its board mutation (a call
        refused before one is recorded by the runner's dispatch observer)."""
        key = board_key(ctx)
        if key is None:
            return None
        return CallNote(key, self.member, self.turn_token(), ctx.tool, ctx.arguments)

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

    # -- catalog and registration ----------------------------------------------------------

    def handlers(self) -> dict[str, SkillHandler]:
        """Each skill's bound method, by tool name (read once, at registration)."""
        return {PULL_WORK: self.pull_work, QUEUE_WORK: self.queue_work,
                PUBLISH_ARTIFACT: self.publish_artifact, READ_BOARD: self.read_board,
                MARK_DONE: self.mark_done}

    def catalog(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(name, description, input schema) of each skill, in S5 order."""
        return [(name, DESCRIPTIONS[name], self.schemas[name]) for name in SKILL_NAMES]

    def register(self, draft: SkillDraft, wrap: HandlerWrapper | None = None) -> None:
        """Declare the five skills on a draft session, each method as it is (or as `wrap`
        returns it: the runner's guards go around it here, not inside it)."""
        handlers = self.handlers()
        for name, description, schema in self.catalog():
            handler = handlers[name] if wrap is None else wrap(name, handlers[name])
            draft.register(name, handler, description=description, input_schema=schema)
