"""Records of the remote-skill layer (codex-manager's names and fields, plus a few of ours
with defaults)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from teammesh.client.remote_skills.validation import ArgumentsValidator

# Submission statuses of our own, set when a request id was not sent again.
LOCAL_DUPLICATE = "local_duplicate"  # accepted earlier by this session's dispatcher
LOCAL_IN_FLIGHT = "local_in_flight"  # being handled right now by another path
NO_REQUEST_ID = "no_request_id"


@dataclass(slots=True)
class RemoteSkill:
    name: str
    description: str
    handler: Callable[..., Any]
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None = None
    output_description: str | None = None
    # Ours: the handler parameter that receives the SkillContext (not part of the schema).
    context_param: str | None = None
    # Ours: `input_schema` compiled once, at registration (see validation.py).
    arguments_validator: ArgumentsValidator | None = None


@dataclass(slots=True)
class RemoteSkillDispatch:
    handled: bool
    tool: str
    arguments: Any = None
    request_id: str | int | None = None
    call_id: str | None = None
    response_payload: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None
    submission_status: str | None = None
    submission_code: str | None = None
    submission_attempts: int = 0
    submission_idempotent: bool = False
    # Ours: the gateway said 404/409 to our first answer for this id, so the agent did not get
    # it (another client answered first, or the call expired). Still counted as accepted
    # (codex-manager's rule); a caller that owns the session should treat it as a fault.
    answered_elsewhere: bool = False
    # Ours: which path saw the call ("signal", "polling", "direct") and its turn.
    source: str = "direct"
    turn_id: str | None = None
    # Ours: refused by the registry itself (unknown tool, arguments against the schema), so no
    # handler ran: whoever observes dispatches knows the call left no other trace.
    refused_before_handler: bool = False

    @property
    def duplicate(self) -> bool:
        """True when this path did not run the handler because another one did (or does)."""
        return self.submission_status in (LOCAL_DUPLICATE, LOCAL_IN_FLIGHT)


@dataclass(slots=True)
class RemoteSkillSendResult:
    session_id: str
    turn_id: str
    accepted: Any
    detail: Any
    status: str | None
    assistant_reply: str | None
    dispatches: list[RemoteSkillDispatch] = field(default_factory=list)


@dataclass(slots=True)
class RemoteSkillLifecycle:
    session_id: str
    created: Any
    skills: Any


AsyncRemoteSkillLifecycle = RemoteSkillLifecycle
