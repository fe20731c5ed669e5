"""The playbook brain's contract: (conversation so far, tool catalog) -> next action.

Stateless and deterministic, so the same brain runs in process (the playbook runtime) and
behind the OpenAI Responses API (`teammesh model serve`) for codex and the llm runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class ToolSpec:
    """One tool of the catalog: a name and its JSON input schema."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class UserMessage:
    text: str
    kind: Literal["user"] = "user"


@dataclass(frozen=True)
class ToolCall:
    """A tool call the brain made earlier (or decides to make now)."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    kind: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True)
class ToolOutput:
    """The result the brain saw for one of its tool calls. `text` is what the model sees
    (codex passes only the text, never the success flag); `success` is kept when known."""

    call_id: str
    text: str
    success: bool | None = None
    kind: Literal["tool_output"] = "tool_output"


@dataclass(frozen=True)
class AssistantMessage:
    text: str
    kind: Literal["assistant"] = "assistant"


ConversationItem = UserMessage | ToolCall | ToolOutput | AssistantMessage


@dataclass(frozen=True)
class Action:
    """The brain's next step: either tool calls to make (in order) or a final message."""

    tool_calls: list[ToolCall] = field(default_factory=list)
    message: str | None = None

    @property
    def is_final(self) -> bool:
        return not self.tool_calls
