"""Turning one tool call into a response payload: parse it (from a websocket signal or a
pending-call row), validate its arguments, run the handler, normalise the result.

This is the one place a call is matched to its handler by tool name and its arguments are
checked against the skill's input schema; the handler gets the call's `SkillContext` as an
explicit argument when it declares one. The registry's observer hears every dispatch result
here, once per handler run, before the answer is submitted.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from dataclasses import dataclass
from typing import Any

from teammesh.client.events import AppServerSignal, normalize_request_id, wire_request_id
from teammesh.client.remote_skills.context import SkillContext, serving
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


__all__ = ["ToolCallRequest", "normalize_request_id", "parse_pending_row", "parse_signal",
           "result_payload", "run_skill", "text_payload"]


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
        request_id=wire_request_id(row.get("requestId")),
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
    # `serving` only feeds the deprecated `current_call()`; handlers get `context` above.
    with serving(context):
        if threaded and not _is_async_callable(skill.handler):
            # to_thread copies the context, so current_call() works in the worker too.
            result = await asyncio.to_thread(call)
        else:
            result = call()
        if inspect.isawaitable(result):
            result = await result
        return result


async def run_skill(
    registry: SkillRegistry,
    request: ToolCallRequest,
    *,
    session_id: str,
    source: str,
) -> RemoteSkillDispatch:
    """Run the handler for one call (no submission). Handler errors become failure payloads.
    The registry's observer hears the result (refusals before the handler included)."""
    dispatch = await _dispatch(registry, request, session_id=session_id, source=source)
    registry.dispatched(dispatch)
    return dispatch


async def _dispatch(
    registry: SkillRegistry,
    request: ToolCallRequest,
    *,
    session_id: str,
    source: str,
) -> RemoteSkillDispatch:
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
        dispatch.refused_before_handler = True
        dispatch.response_payload = text_payload(dispatch.error, success=False)
        return dispatch
    if (validator := validator_for(skill.input_schema, skill.arguments_validator)) is not None:
        candidate = {} if request.arguments is None else request.arguments
        if (problem := validator.problem(candidate)) is not None:
            dispatch.error = f"invalid arguments: {problem}"
            dispatch.refused_before_handler = True
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
