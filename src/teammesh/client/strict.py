"""Strict validation mode (`CODEX_MANAGER_PY_VALIDATION_MODE=strict`): the responses of the
operations codex-manager's client checks are validated against typed models before they
are returned; a mismatch raises `TypedModelValidationError`. Extra keys are always allowed;
the models list only what the wire contract marks required."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from teammesh.client.errors import TypedModelValidationError

# The shapes that are the same in strict mode and the typed facade are declared once there;
# the session summary stays looser here (strict mode checks only what the wire requires).
from teammesh.wire_responses import (
    DeletedSession,
    Thread,
    TranscriptEntry,
    TurnAccepted,
)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class SessionSummary(_Open):
    sessionId: str
    title: str | None
    materialized: bool
    modelProvider: str
    approvalPolicy: str
    sessionControls: dict[str, Any]
    createdAt: float
    updatedAt: float
    cwd: str
    source: str
    projectId: str | None


class SessionCreated(_Open):
    session: SessionSummary
    thread: Thread


class SessionDetail(_Open):
    session: SessionSummary
    thread: Thread | None = None
    transcript: list[TranscriptEntry]


class StatusBody(_Open):
    """Any other allowed answer (`not_found`, `error`, `ok`, …): a status string."""

    status: str


def _model_for(operation: str, body: Any) -> type[BaseModel] | None:
    status = body.get("status") if isinstance(body, dict) else None
    if operation == "sessions.create":
        return SessionCreated
    if operation == "sessions.get":
        return DeletedSession if status == "deleted" else SessionDetail
    if operation == "sessions.send_message":
        if status == "accepted":
            return TurnAccepted
        return DeletedSession if status == "deleted" else StatusBody
    if operation in ("approvals.decide", "tool_input.decide"):
        return StatusBody
    return None


def validate_response(operation: str, body: Any) -> None:
    model = _model_for(operation, body)
    if model is None:
        return
    try:
        model.model_validate(body)
    except PydanticValidationError as error:
        raise TypedModelValidationError(
            f"{operation} response does not match {model.__name__}: {error.error_count()} error(s)",
            operation=operation,
            model_name=model.__name__,
            errors=[dict(e) for e in error.errors(include_url=False)],
            boundary="response",
            raw_sample=body,
        ) from error
