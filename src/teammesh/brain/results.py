"""What the brain learns from a tool result: parsed JSON, refusal, the current task.

Codex hands the model only the result text (never the success flag), so a refusal is also
recognised from the text itself.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from teammesh.brain.types import ToolCall, ToolOutput

_REFUSAL_WORDS = re.compile(
    r"\b(refused|rejected|error|failed|failure|invalid|not allowed|denied|unknown tool)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CallRecord:
    """One call the brain made this turn and what came back (None: no output yet)."""

    call: ToolCall
    output: ToolOutput | None

    @property
    def text(self) -> str:
        return self.output.text if self.output else ""

    # Parsed once per record: the planner asks each record several times per step.
    @functools.cached_property
    def data(self) -> Any:
        return parse_json(self.text)

    @functools.cached_property
    def failed(self) -> bool:
        return is_refusal(self.output)

    @property
    def reason(self) -> str:
        data = self.data
        if isinstance(data, dict):
            for key in ("error", "reason", "message"):
                value = data.get(key)
                if isinstance(value, str) and value.strip():
                    return " ".join(value.split())
                if isinstance(value, dict) and isinstance(value.get("message"), str):
                    return " ".join(str(value["message"]).split())
        return " ".join(self.text.split()) or "no details"


def parse_json(text: str) -> Any:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    start = stripped.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped, start)
    except json.JSONDecodeError:
        return None
    return value


def is_refusal(output: ToolOutput | None) -> bool:
    if output is None:
        return False
    if output.success is False:
        return True
    data = parse_json(output.text)
    if isinstance(data, dict):
        if data.get("success") is False or data.get("ok") is False:
            return True
        return "error" in data and len(data) <= 3
    return bool(_REFUSAL_WORDS.search(output.text[:200]))


def pulled_task(record: CallRecord) -> tuple[bool, str | None]:
    """(is a pull result, the task) — a result carrying `task` that is not a queue receipt."""
    data = record.data
    if record.failed or not isinstance(data, dict) or "task" not in data:
        return False, None
    if "queuedFor" in data or "queued" in data:
        return False, None
    task = data["task"]
    if task is None or (isinstance(task, str) and not task.strip()):
        return True, None
    return True, task if isinstance(task, str) else json.dumps(task, sort_keys=True)
