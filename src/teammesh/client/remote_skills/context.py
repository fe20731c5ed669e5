"""What a skill handler may learn about the call it serves.

Declare a parameter annotated `SkillContext` (any name, first by convention; it is left out
of the input schema): the dispatcher passes the call's context to it explicitly, as
pydantic-ai passes its `RunContext`. The board keys its mutations by `request_id`.

`current_call()` is the older way (a contextvar, read inside the handler). It still works
for code written against it, but warns: an explicit parameter survives a handler that hops
to another task or thread, and says in the signature that the handler needs the call.
"""

from __future__ import annotations

import contextvars
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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
    """Deprecated: declare a `SkillContext` parameter instead. The call being served by the
    running handler, or `None` outside a handler."""
    warnings.warn(
        "current_call() is deprecated: declare a handler parameter annotated SkillContext",
        DeprecationWarning,
        stacklevel=2,
    )
    return _current.get()


@contextmanager
def serving(context: SkillContext) -> Iterator[None]:
    """While a handler runs: what the deprecated `current_call()` returns."""
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)
