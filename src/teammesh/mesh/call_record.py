"""The run record's entry for a tool call that changed nothing on the board.

A call the board applied (or replayed) has its entry written with its mutation
(`TeamBoard._mutate`). A call refused before that, by the registry (unknown tool, arguments
against the schema), the turn guard, the approval gate, a skill's own checks or the board's
rules (the refusing transaction rolled back), reaches only the runner's dispatch observer,
which records it here: one extra write, on refusals only, and none on the way of a call
that goes through.
"""

from __future__ import annotations

import time

from teammesh.client import RemoteSkillDispatch, normalize_request_id
from teammesh.mesh.board.core import short_reason
from teammesh.mesh.board.run_record import CallEntry

MAX_TOOL_CHARS = 200


def _text_of(payload: object) -> str:
    items = payload.get("contentItems") if isinstance(payload, dict) else None
    texts = [item.get("text") for item in items or [] if isinstance(item, dict)]
    return " ".join(t for t in texts if isinstance(t, str))


def refused_entry(member: str, session_id: str, turn_token: str | None,
                  dispatch: RemoteSkillDispatch) -> CallEntry | None:
    """The entry of a refused call (its answer says `success: false`), else None."""
    payload = dispatch.response_payload
    if not isinstance(payload, dict) or payload.get("success") is not False:
        return None
    request_id = normalize_request_id(dispatch.request_id)
    if request_id is None:
        return None
    now = time.time()
    reason = short_reason(dispatch.error or _text_of(payload) or "refused")
    tool = dispatch.tool[:MAX_TOOL_CHARS]  # a refused call's tool name is the model's
    return CallEntry(f"{session_id}:{request_id}", member, turn_token, tool,
                     dispatch.arguments, None, False, "refused", reason, now, now)
