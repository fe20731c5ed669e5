"""What a skill handler may learn about the call it serves.

Declare a parameter annotated `SkillContext` (any name; it is left out of the input schema)
or call `current_call()` inside the handler. The board keys its mutations by `request_id`.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SkillContext:
    tool: str
    session_id: str
    request_id: str | None
    call_id: str | None = None
    turn_id: str | None = None
    arguments: Any = None
    # "signal" (websocket), "polling" (pending-call listing) or "direct" (dispatch_tool_call).
    source: str = "direct"


_current: contextvars.ContextVar[SkillContext | None] = contextvars.ContextVar(
    "teammesh_skill_call", default=None
)


def current_call() -> SkillContext | None:
    """The call being served by the running handler, or `None` outside a handler."""
    return _current.get()


def set_current_call(context: SkillContext | None) -> contextvars.Token[SkillContext | None]:
    return _current.set(context)


def reset_current_call(token: contextvars.Token[SkillContext | None]) -> None:
    _current.reset(token)
