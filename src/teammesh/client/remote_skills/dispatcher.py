"""Turning one tool call into a response payload: parse it (from a websocket signal or a
pending-call row), validate its arguments, run the handler, normalise the result."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from dataclasses import dataclass
from typing import Any

from teammesh.client.events import AppServerSignal
from teammesh.client.remote_skills.context import (
    SkillContext,
    reset_current_call,
    set_current_call,
)
from teammesh.client.remote_skills.models import RemoteSkill, RemoteSkillDispatch
from teammesh.client.remote_skills.registry import SkillRegistry
from teammesh.client.remote_skills.validation import validator_for
from teammesh.client.text_values import non_blank as _non_blank
from teammesh.wire import TOOL_CALL_SIGNAL


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    tool: str
    arguments: Any
    request_id: str | int | None
    call_id: str | None
    turn_id: str | None
    thread_id: str | None


def _request_id(value: Any) -> str | int | None:
    if isinstance(value, bool):
        return None
    return value if isinstance(value, str | int) else None


def normalize_request_id(value: str | int | None) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    return value.strip() or None


def parse_signal(signal: AppServerSignal) -> ToolCallRequest | None:
    if signal.event_type != TOOL_CALL_SIGNAL:
        return None
    params = signal.params if isinstance(signal.params, dict) else {}
    tool = _non_blank(params.get("tool"))
    if tool is None:
        return None
    return ToolCallRequest(
        tool=tool.strip(),
        arguments=params.get("arguments"),
        request_id=signal.request_id,
        call_id=_non_blank(params.get("callId")),
        turn_id=signal.turn_id or _non_blank(params.get("turnId")),
        thread_id=signal.session_id,
    )


def parse_pending_row(row: Any) -> ToolCallRequest | None:
    if not isinstance(row, dict):
        return None
    tool = _non_blank(row.get("tool"))
    if tool is None:
        return None
    return ToolCallRequest(
        tool=tool.strip(),
        arguments=row.get("arguments"),
        request_id=_request_id(row.get("requestId")),
        call_id=_non_blank(row.get("callId")),
        turn_id=_non_blank(row.get("turnId")),
        thread_id=_non_blank(row.get("threadId")),
    )


def text_payload(text: str, *, success: bool) -> dict[str, Any]:
    return {"contentItems": [{"type": "inputText", "text": text}], "success": success}


def result_payload(value: Any) -> dict[str, Any]:
    """A handler's return value as the tool response (see the reference §4.8)."""
    if (
        isinstance(value, dict)
        and isinstance(value.get("contentItems"), list)
        and isinstance(value.get("success"), bool)
    ):
        return value
    if value is None:
        text = "null"
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=True, sort_keys=True)
        except TypeError:
            text = str(value)
    return text_payload(text, success=True)


def _is_async_callable(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    )


async def _invoke(
    skill: RemoteSkill, arguments: Any, context: SkillContext, *, threaded: bool
) -> Any:
    kwargs: dict[str, Any] = {}
    args: tuple[Any, ...] = ()
    if isinstance(arguments, dict):
        kwargs.update(arguments)
    elif arguments is not None:
        args = (arguments,)
    if skill.context_param is not None:
        kwargs[skill.context_param] = context
    call = functools.partial(skill.handler, *args, **kwargs)
    token = set_current_call(context)
    try:
        if threaded and not _is_async_callable(skill.handler):
            # to_thread copies the context, so current_call() works in the worker too.
            result = await asyncio.to_thread(call)
        else:
            result = call()
        if inspect.isawaitable(result):
            result = await result
        return result
    finally:
        reset_current_call(token)


async def run_skill(
    registry: SkillRegistry,
    request: ToolCallRequest,
    *,
    session_id: str,
    source: str,
) -> RemoteSkillDispatch:
    """Run the handler for one call (no submission). Handler errors become failure payloads."""
    tool = request.tool.strip()
    if not tool:
        raise ValueError("remote skill tool name must be non-empty")
    dispatch = RemoteSkillDispatch(
        handled=False,
        tool=tool,
        arguments=request.arguments,
        request_id=request.request_id,
        call_id=request.call_id,
        source=source,
        turn_id=request.turn_id,
    )
    skill = registry.skills.get(tool)
    if skill is None:
        dispatch.error = f"no remote skill registered for {tool}"
        dispatch.response_payload = text_payload(dispatch.error, success=False)
        return dispatch
    if (validator := validator_for(skill.input_schema, skill.arguments_validator)) is not None:
        candidate = {} if request.arguments is None else request.arguments
        if (problem := validator.problem(candidate)) is not None:
            dispatch.error = f"invalid arguments: {problem}"
            dispatch.response_payload = text_payload(
                f"remote skill {tool} failed: {dispatch.error}", success=False
            )
            return dispatch
    context = SkillContext(
        tool=tool,
        session_id=session_id,
        request_id=normalize_request_id(request.request_id),
        call_id=request.call_id,
        turn_id=request.turn_id,
        arguments=request.arguments,
        source=source,
    )
    try:
        result = await _invoke(
            skill, request.arguments, context, threaded=registry.threaded_handlers
        )
        payload = result_payload(result)
    except Exception as error:
        dispatch.error = str(error)
        dispatch.response_payload = text_payload(
            f"remote skill {tool} failed: {error}", success=False
        )
        return dispatch
    dispatch.handled = True
    dispatch.result = result
    dispatch.response_payload = payload
    return dispatch
