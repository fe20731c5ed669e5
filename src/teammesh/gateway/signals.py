"""Pure builders for what the gateway publishes: signal payloads (wire §6.5 A), the public
rows of pending requests (§4.10–§4.12) and the result an approval decision forwards."""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _first(obj: Any, keys: tuple[str, ...]) -> str | None:
    """The first non-empty string among `obj[key]` for `keys`; None unless `obj` is a dict."""
    if not isinstance(obj, dict):
        return None
    for key in keys:
        if found := _str(obj.get(key)):
            return found
    return None


_TURN_KEYS = ("id", "turnId", "turn_id")


def context_thread_id(params: Any) -> str | None:
    """params `threadId`, else `conversationId`, else `thread.id`."""
    if not isinstance(params, dict):
        return None
    return _first(params, ("threadId", "conversationId")) or _first(params.get("thread"), ("id",))


def context_turn_id(params: Any) -> str | None:
    """params `turnId` / `turn_id` / `turn.{id,turnId,turn_id}` / `item.{turnId,turn_id,
    parentTurnId,parent_turn_id}` / `item.turn.*`; None when absent."""
    if not isinstance(params, dict):
        return None
    item = params.get("item")
    return (
        _first(params, ("turnId", "turn_id"))
        or _first(params.get("turn"), _TURN_KEYS)
        or _first(item, ("turnId", "turn_id", "parentTurnId", "parent_turn_id"))
        or _first(item.get("turn") if isinstance(item, dict) else None, _TURN_KEYS)
    )


def signal_payload(
    *,
    signal_type: str,
    event_type: str,
    method: str,
    received_at: str,
    thread_id: str | None,
    turn_id: str | None,
    params: Any,
    session: JsonObject | None,
    request_id: int | None = None,
) -> JsonObject:
    payload: JsonObject = {
        "source": "app_server",
        "signalType": signal_type,
        "eventType": event_type,
        "method": method,
        "receivedAt": received_at,
        "context": {"threadId": thread_id, "turnId": turn_id},
        "params": params,
        "session": session,
    }
    if request_id is not None:
        payload["requestId"] = request_id
    return payload


def pending_row(
    id_key: str,
    request_id: str,
    method: str,
    thread_id: str | None,
    turn_id: str | None,
    params: JsonObject,
    at: str,
    fields: JsonObject,
) -> JsonObject:
    """A pending request's public row: its id (under the kind's key), where it came from,
    the kind's own `fields` (the `*_fields` builders below), then the raw params, creation
    time and status."""
    return {
        id_key: request_id,
        "method": method,
        "threadId": thread_id,
        "turnId": turn_id,
        **fields,
        "details": params,
        "createdAt": at,
        "status": "pending",
    }


def tool_call_fields(method: str, params: JsonObject) -> JsonObject:
    tool = params.get("tool")
    call_id = _str(params.get("callId"))
    return {
        "itemId": _str(params.get("itemId")) or call_id,
        "callId": call_id,
        "tool": tool,
        "arguments": params.get("arguments"),
        "summary": f"Tool call requested: {tool}",
    }


def _approval_summary(method: str, params: JsonObject) -> str:
    reason = _str(params.get("reason"))
    if method in ("item/commandExecution/requestApproval", "execCommandApproval"):
        command = params.get("command")
        if isinstance(command, list):
            command = " ".join(str(part) for part in command)
        detail = _str(command) or reason
        return "Command approval required" + (f": {detail}" if detail else "")
    if method == "item/fileChange/requestApproval":
        return "File change approval required" + (f": {reason}" if reason else "")
    return "Patch approval required" + (f": {reason}" if reason else "")


def approval_fields(method: str, params: JsonObject) -> JsonObject:
    return {
        "itemId": _str(params.get("itemId")) or _str(params.get("callId")),
        "summary": _approval_summary(method, params),
    }


def _questions(params: JsonObject) -> list[JsonObject]:
    questions: list[JsonObject] = []
    for raw in params.get("questions") or []:
        if not isinstance(raw, dict):
            continue
        options = raw.get("options")
        questions.append(
            {
                "id": raw.get("id"),
                "header": raw.get("header"),
                "question": raw.get("question"),
                "options": [
                    {"label": o.get("label"), "description": o.get("description")}
                    for o in options
                    if isinstance(o, dict)
                ]
                if isinstance(options, list)
                else None,
                "isOther": bool(raw.get("isOther", False)),
                "isSecret": bool(raw.get("isSecret", False)),
            }
        )
    return questions


def tool_input_fields(method: str, params: JsonObject) -> JsonObject:
    questions = _questions(params)
    plural = "" if len(questions) == 1 else "s"
    return {
        "itemId": _str(params.get("itemId")),
        "summary": f"Tool input required ({len(questions)} question{plural})",
        "questions": questions,
    }


_NEW_STYLE_APPROVALS = {"item/commandExecution/requestApproval", "item/fileChange/requestApproval"}
_LEGACY_DECISIONS = {"accept": "approved", "decline": "denied", "cancel": "abort"}


def approval_result(method: str, decision: str, scope: str | None) -> JsonObject:
    """The app-server result an approval decision forwards (wire §4.10)."""
    for_session = decision == "accept" and scope == "session"
    if method in _NEW_STYLE_APPROVALS:
        return {"decision": "acceptForSession" if for_session else decision}
    return {"decision": "approved_for_session" if for_session else _LEGACY_DECISIONS[decision]}
