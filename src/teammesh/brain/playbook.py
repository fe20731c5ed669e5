"""The playbook brain: a deterministic, model-free agent.

`decide(conversation, tools)` looks at the current turn (the last user message, less any skill
catalog a client prepended to it, and the brain's own tool calls and results after it),
replays the prompt's numbered process steps against those results, and returns the first
planned call not yet made — one call per model step, as a real model would — or, once the
plan is exhausted, the final message. It keeps no state: the same conversation always yields
the same action, so it can run in process or behind HTTP.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from teammesh.brain.arguments import ArgumentContext, artifact_kind, owner_enum, tool_arguments
from teammesh.brain.final import compose_final_message
from teammesh.brain.prompt import (
    Call,
    Condition,
    Reply,
    Step,
    identity,
    mentioned_tools,
    parse_steps,
    role,
)
from teammesh.brain.results import CallRecord, pulled_task
from teammesh.brain.skill_catalog import user_request
from teammesh.brain.types import (
    Action,
    ConversationItem,
    ToolCall,
    ToolOutput,
    ToolSpec,
    UserMessage,
)

__all__ = ["artifact_kind", "decide"]


@dataclass(frozen=True)
class PlannedCall:
    tool: str
    arguments: dict[str, object]


@dataclass(frozen=True)
class _Mention:
    """A call the plan makes, its arguments built only if it is the one not yet made: the
    planner replays every made call each step, and those need only their tool's name."""

    tool: str
    arguments: Callable[[], dict[str, object]]


class _NextCall(Exception):
    """Raised by the planner when it reaches a call that has not been made yet."""

    def __init__(self, planned: PlannedCall) -> None:
        super().__init__(planned.tool)
        self.planned = planned


@dataclass
class _Planner:
    member: str
    role: str
    catalog: dict[str, ToolSpec]
    records: list[CallRecord]
    cursor: int = 0
    task: str | None = None
    pulled: bool = False
    replied: bool = False
    notes: list[str] = field(default_factory=list)

    # -- the made calls, consumed in order -------------------------------------------------
    def _take(self, planned: _Mention) -> None:
        if self.cursor >= len(self.records):
            raise _NextCall(PlannedCall(planned.tool, planned.arguments()))
        record = self.records[self.cursor]
        self.cursor += 1
        is_pull, task = pulled_task(record)
        if is_pull:
            self.pulled, self.task = True, task
        elif record.call.name == planned.tool and "pull" in planned.tool and record.failed:
            self.pulled, self.task = True, None

    def _last_failed(self) -> bool:
        return self.cursor > 0 and self.records[self.cursor - 1].failed

    def holds(self, condition: Condition) -> bool:
        kind = condition.kind
        if kind == "task_null":
            value = self.task is None
        elif kind == "task_present":
            value = self.task is not None
        elif kind == "prev_failed":
            value = self._last_failed()
        elif kind == "prev_ok":
            value = not self._last_failed()
        else:
            value = True
        return value != condition.negate

    # -- expanding one mention into concrete calls ------------------------------------------
    def _expand(self, call: Call, step: Step) -> Iterator[_Mention]:
        tool = self.catalog.get(call.tool)
        if tool is None:
            note = f"{call.tool} is not in the tool catalog, skipped"
            if note not in self.notes:
                self.notes.append(note)
            return
        if call.arguments is not None:
            given = call.arguments
            yield _Mention(tool.name, lambda: dict(given))
            return
        context = ArgumentContext(self.member, self.role, self.task)
        allowed = owner_enum(tool)
        properties = tool.input_schema.get("properties")
        if allowed is None and not (isinstance(properties, dict) and "owner" in properties):
            yield _Mention(tool.name, lambda: tool_arguments(tool, context, None))
            return
        owners, refused = _owners(step.text, allowed, self.member)
        for name in refused:
            note = f"{name} is not an allowed {tool.name} owner, handoff skipped"
            if note not in self.notes:
                self.notes.append(note)
        for owner in owners:
            yield _Mention(tool.name, functools.partial(tool_arguments, tool, context, owner))

    def run_steps(self, steps: Sequence[Step]) -> None:
        for step in steps:
            active = True
            idle_branch = False
            for operation in step.operations:
                if isinstance(operation, Condition):
                    active = self.holds(operation)
                    idle_branch = active and operation.kind == "task_null" and not operation.negate
                elif not active:
                    continue
                elif isinstance(operation, Reply):
                    self.replied = True
                    return
                else:
                    for planned in self._expand(operation, step):
                        self._take(planned)
            if idle_branch:
                # "If the task is null, read the board." is the idle branch even without a
                # "reply": the later steps are about the task there is not.
                self.replied = True
                return

    def run_mentions(self, calls: Sequence[Call]) -> None:
        empty = Step("", ())
        for call in calls:
            for planned in self._expand(call, empty):
                self._take(planned)


def _owners(text: str, allowed: list[str] | None, member: str) -> tuple[list[str], list[str]]:
    """Roster names the step mentions for a handoff (in order), split into allowed ones and
    ones the tool's `owner` enum refuses. No mention: the first allowed teammate."""
    owners, refused = _owners_of(text, None if allowed is None else tuple(allowed), member)
    return list(owners), list(refused)


@functools.lru_cache(maxsize=256)
def _owners_of(text: str, allowed: tuple[str, ...] | None, member: str
               ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # Pure in (step text, enum, member): the same steps are replayed every model step.
    mentions: list[tuple[int, str]] = []
    for name in allowed or []:
        match = re.search(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", text, re.IGNORECASE)
        if match:
            mentions.append((match.start(), name))
    # "one <name> handoff" names a member even when the enum refuses it; "<word> task" is too
    # generic to count as a name ("a validation task"), except when there is no enum at all.
    nouns = "handoff|hand-off" if allowed is not None else "handoff|hand-off|task"
    for match in re.finditer(r"([A-Za-z][\w-]*)\s+(?:" + nouns + r")\b", text, re.I):
        word = match.group(1)
        if word.lower() in _NOT_NAMES or any(word == name for _, name in mentions):
            continue
        mentions.append((match.start(1), word))
    mentions.sort()
    names = list(dict.fromkeys(name for _, name in mentions))
    if not names:
        teammates = [n for n in allowed or () if n != member] or list(allowed or ())
        return tuple(teammates[:1]), ()
    if allowed is None:
        return tuple(names), ()
    return (tuple(n for n in names if n in allowed),
            tuple(n for n in names if n not in allowed))


_NOT_NAMES = frozenset(
    {"one", "a", "an", "the", "each", "every", "exactly", "single", "another", "new", "this",
     "that", "your", "current", "next", "same", "validation", "follow-up", "any", "and", "no"}
)


def _current_turn(conversation: Sequence[ConversationItem]) -> tuple[str, list[CallRecord]]:
    """The last user message is the prompt; the calls after it are this turn's progress."""
    # Found from the end: a thread's conversation holds every earlier turn too, so a scan
    # from the start grew with the session's age at every model step.
    last_user = len(conversation) - 1
    while last_user >= 0 and not isinstance(conversation[last_user], UserMessage):
        last_user -= 1
    prompt = conversation[last_user].text if last_user >= 0 else ""  # type: ignore[union-attr]
    outputs: dict[str, ToolOutput] = {}
    calls: list[ToolCall] = []
    for item in conversation[last_user + 1 :]:
        if isinstance(item, ToolCall):
            calls.append(item)
        elif isinstance(item, ToolOutput):
            outputs[item.call_id] = item
    return prompt, [CallRecord(call, outputs.get(call.call_id)) for call in calls]


def _call_id(conversation: Sequence[ConversationItem], prompt: str) -> str:
    made = sum(1 for item in conversation if isinstance(item, ToolCall))
    digest = hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:8]
    return f"call_{digest}_{made + 1}"


def decide(conversation: Sequence[ConversationItem], tools: Sequence[ToolSpec]) -> Action:
    """The next action for this conversation: one tool call, or the final message."""
    message, records = _current_turn(conversation)
    # A skill catalog a client prepended (codex-manager's default `inject_skills=True`) is
    # background, not instructions: its `- add: ...` lines must not plan calls of their own.
    prompt = user_request(message, tools)
    member = identity(prompt) or "assistant"
    planner = _Planner(member, role(prompt), {t.name: t for t in tools}, records)
    steps = parse_steps(prompt, tools)
    try:
        if steps:
            planner.run_steps(steps)
        else:
            planner.run_mentions(mentioned_tools(prompt, tools))
    except _NextCall as pending:
        arguments = json.loads(json.dumps(pending.planned.arguments))  # plain JSON values
        call = ToolCall(_call_id(conversation, message), pending.planned.tool, arguments)
        return Action(tool_calls=[call])
    return Action(
        message=compose_final_message(
            records=records,
            task=planner.task,
            pulled=planner.pulled,
            notes=planner.notes,
            had_steps=bool(steps),
        )
    )
