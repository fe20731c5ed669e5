"""`cm.typed`: the session and system operations returning pydantic models of
`teammesh.wire_responses` instead of dicts.

`cm.typed.sessions.get(id)` calls `cm.sessions.get(id)` (same arguments, hooks, retries,
allow-list) and validates the body: the operation's success model first, then the allowed
non-success answers (`DeletedSession`, `ErrorEnvelope`, `Refusal`). A body that is none of
them raises `TypedModelValidationError`. On `CodexManager` a call returns the model; on
`AsyncCodexManager` it returns an awaitable of it (the one facade is shared, as the domain
APIs are: only the `finish` step differs).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from teammesh import wire_responses as r
from teammesh.client.errors import TypedModelValidationError

# What an allowed non-2xx answer may be, after the operation's own success model.
_OTHER_ANSWERS: tuple[type[BaseModel], ...] = (r.DeletedSession, r.ErrorEnvelope, r.Refusal)


def parse(operation: str, model: type[BaseModel], body: Any) -> BaseModel:
    """The body as `model`, or as one of the allowed other answers; else the error."""
    errors: list[Any] = []
    for candidate in (model, *_OTHER_ANSWERS):
        try:
            return TypeAdapter(candidate).validate_python(body)
        except PydanticValidationError as error:
            if candidate is model:
                errors = [dict(e) for e in error.errors(include_url=False)]
    raise TypedModelValidationError(
        f"{operation} response does not match {model.__name__}: {len(errors)} error(s)",
        operation=operation,
        model_name=model.__name__,
        errors=errors,
        boundary="response",
        raw_sample=body,
    )


Finish = Callable[[str, type[BaseModel], Any], Any]


def finish_sync(operation: str, model: type[BaseModel], body: Any) -> BaseModel:
    return parse(operation, model, body)


def finish_async(
    operation: str, model: type[BaseModel], pending: Awaitable[Any]
) -> Awaitable[BaseModel]:
    async def parsed() -> BaseModel:
        return parse(operation, model, await pending)

    return parsed()


class _TypedNamespace:
    """Wraps one raw namespace: each listed method keeps the raw method's signature
    (`functools.wraps`) and returns its success model (or an allowed other answer)."""

    MODELS: ClassVar[dict[str, tuple[str, type[BaseModel]]]]  # method → (operation, model)

    def __init__(self, raw: object, finish: Finish) -> None:
        self._raw = raw
        self._finish = finish

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self.MODELS:
            raise AttributeError(name)
        operation, model = self.MODELS[name]
        method: Callable[..., Any] = getattr(self._raw, name)

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._finish(operation, model, method(*args, **kwargs))

        return call

    def __dir__(self) -> list[str]:
        return sorted(self.MODELS)


class TypedSystem(_TypedNamespace):
    MODELS: ClassVar[dict[str, tuple[str, type[BaseModel]]]] = {
        "health": ("system.health", r.Health),
        "info": ("system.info", r.ServiceInfo),
        "capabilities": ("system.capabilities", r.Capabilities),
        "experimental_features": ("system.features.experimental", r.Page),
        "collaboration_modes": ("system.collaboration.modes", r.Page),
    }


class TypedSessions(_TypedNamespace):
    MODELS: ClassVar[dict[str, tuple[str, type[BaseModel]]]] = {
        "list": ("sessions.list", r.SessionPage),
        "create": ("sessions.create", r.SessionCreated),
        "get": ("sessions.get", r.SessionDetail),
        "rename": ("sessions.rename", r.SessionRenamed),
        "delete": ("sessions.delete", r.SessionDeleted),
        "send_message": ("sessions.send_message", r.TurnAccepted),
        "interrupt": ("sessions.interrupt", r.TurnInterrupted),
        "approvals": ("sessions.approvals.list", r.Page),
        "tool_calls": ("sessions.tool_calls.list", r.Page),
        "tool_input": ("sessions.tool_input.list", r.Page),
        "fork": ("sessions.fork", r.SessionForked),
        "compact": ("sessions.compact", r.SessionOk),
        "rollback": ("sessions.rollback", r.SessionOk),
        "clean_background_terminals": ("sessions.background_terminals.clean", r.SessionOk),
        "review": ("sessions.review", r.SessionOk),
        "steer": ("sessions.steer", r.SessionOk),
        "archive": ("sessions.archive", r.SessionOk),
        "unarchive": ("sessions.unarchive", r.SessionResumed),
        "resume": ("sessions.resume", r.SessionResumed),
        "set_project": ("sessions.project.set", r.SessionProjectSet),
        "controls_get": ("sessions.controls.get", r.ControlsReport),
        "controls_apply": ("sessions.controls.apply", r.ControlsApplied),
        "settings_get": ("sessions.settings.get", r.SettingsReport),
        "settings_set": ("sessions.settings.set", r.SettingsReport),
        "settings_unset": ("sessions.settings.unset", r.SettingsReport),
        "approval_policy": ("sessions.approval_policy.set", r.ApprovalPolicySet),
        "suggest_request": ("sessions.suggest_request", r.Suggestion),
        "suggest_request_enqueue": ("sessions.suggest_request.enqueue", r.SuggestionQueued),
        "suggest_request_upsert": ("sessions.suggest_request.upsert", r.SuggestionUpserted),
        "transcript_upsert": ("sessions.transcript.upsert", r.TranscriptUpserted),
    }


class TypedApi:
    """`cm.typed`: `system` and `sessions`."""

    def __init__(self, system: object, sessions: object, finish: Finish) -> None:
        self.system = TypedSystem(system, finish)
        self.sessions = TypedSessions(sessions, finish)
