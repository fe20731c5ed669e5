"""The llm runtime's conversation as JSON, so the gateway store can keep it with the session.

pydantic-ai's own `ModelMessagesTypeAdapter` does the conversion both ways; the state is
`{"llmHistory": [...messages...], "version": 1}`. A state that does not parse (written by
another pydantic-ai version, say) is dropped with a warning: the conversation then starts
afresh, as it did before it was persisted, rather than the thread failing to resume.
"""

from __future__ import annotations

import logging
from typing import Any

from teammesh.gateway.runtimes.base import JsonObject

log = logging.getLogger("teammesh.gateway.llm")

STATE_KEY = "llmHistory"
VERSION = 1


def saved_history(history: list[Any]) -> JsonObject:
    from pydantic_ai.messages import ModelMessagesTypeAdapter

    return {"version": VERSION,
            STATE_KEY: ModelMessagesTypeAdapter.dump_python(history, mode="json")}


def restore_history(state: JsonObject | None) -> list[Any]:
    if not state or not isinstance(state.get(STATE_KEY), list):
        return []
    from pydantic_ai.messages import ModelMessagesTypeAdapter

    try:
        return list(ModelMessagesTypeAdapter.validate_python(state[STATE_KEY]))
    except Exception as exc:  # an unreadable history must not make the thread unusable
        log.warning("dropping an unreadable llm conversation history: %s", exc)
        return []


def drop_last_turns(history: list[Any], num_turns: int) -> list[Any]:
    """`history` without its last `num_turns` turns: each turn begins with the request that
    carries the user's prompt (a `UserPromptPart`); tool returns never start one."""
    from pydantic_ai.messages import ModelRequest, UserPromptPart

    starts = [i for i, message in enumerate(history)
              if isinstance(message, ModelRequest)
              and any(isinstance(part, UserPromptPart) for part in message.parts)]
    if num_turns >= len(starts):
        return []
    return list(history[: starts[-num_turns]])
