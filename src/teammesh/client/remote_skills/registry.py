"""One session's skill catalog, its dispatch ledger and its observer.

The catalog is fixed at session creation (the runtime learns the tools from the create
body). The ledger makes each request id run its handler once and be POSTed once, whichever
path (websocket signal or pending-call polling) sees it first. The observer (one, optional)
hears each dispatch result once, when the handler has run and before the answer is POSTed:
the place for a session's owner to count calls, since a replay never runs the handler again.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

from teammesh.client.remote_skills.docstrings import parse_docstring
from teammesh.client.remote_skills.models import RemoteSkill, RemoteSkillDispatch
from teammesh.client.remote_skills.schema import (
    enrich_with_docstring,
    infer_output_schema,
    infer_signature_schema,
    is_context_annotation,
)
from teammesh.client.remote_skills.validation import (
    InvalidInputSchema,
    compile_arguments_validator,
)

CATALOG_LOCKED_ERROR = (
    "remote skill catalog mutation is create-time only. Register skills in "
    "remote_skills.create_session(register=...) or remote_skills.lifecycle(register=...)."
)
RUNTIME_SYNC_DISABLED_ERROR = (
    "runtime catalog sync is disabled for reliability. Register skills at session creation."
)
FALLBACK_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {},
    "additionalProperties": True,
}
LEDGER_CAPACITY = 4096
logger = logging.getLogger("teammesh.client.remote_skills")

Claim = Literal["claimed", "accepted", "in_flight"]


def _context_param(handler: Callable[..., Any]) -> str | None:
    inferred = infer_signature_schema(handler)
    if inferred is not None:
        return inferred[1]
    annotations = getattr(handler, "__annotations__", {})
    for name, annotation in annotations.items():
        if name != "return" and is_context_annotation(annotation):
            return str(name)
    return None


def build_skill(
    name: str,
    handler: Callable[..., Any],
    *,
    description: str | None = None,
    input_schema: dict[str, Any] | None = None,
    output_schema: dict[str, Any] | None = None,
) -> RemoteSkill:
    clean_name = name.strip() if isinstance(name, str) else ""
    if not clean_name:
        raise ValueError("remote skill name must be non-empty")
    if not callable(handler):
        raise TypeError(f"remote skill {clean_name} handler must be callable")
    doc = parse_docstring(handler)

    resolved_description = (
        description.strip()
        if isinstance(description, str) and description.strip()
        else doc.description or f"Remote skill {clean_name}"
    )

    inferred = infer_signature_schema(handler)
    context_param = inferred[1] if inferred is not None else _context_param(handler)
    schema: dict[str, Any] | None
    if input_schema is not None:
        schema = enrich_with_docstring(copy.deepcopy(input_schema), doc, add_undeclared=False)
    elif inferred is not None:
        schema = enrich_with_docstring(inferred[0], doc, add_undeclared=True)
    else:
        schema = None
    try:
        arguments_validator = compile_arguments_validator(schema)
    except InvalidInputSchema as exc:
        raise InvalidInputSchema(f"remote skill {clean_name} input schema: {exc}") from None

    resolved_output = (
        copy.deepcopy(output_schema) if output_schema is not None else infer_output_schema(handler)
    )
    output_description: str | None = None
    if isinstance(output_schema, dict):
        explicit = output_schema.get("description")
        if isinstance(explicit, str) and explicit.strip():
            output_description = explicit.strip()
    if output_description is None and doc.returns:
        output_description = doc.returns

    return RemoteSkill(
        name=clean_name,
        description=resolved_description,
        handler=handler,
        input_schema=schema,
        output_schema=resolved_output,
        output_description=output_description,
        context_param=context_param,
        arguments_validator=arguments_validator,
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, sort_keys=True)


# "unknown": never claimed here; "handling": the handler runs, nothing POSTed yet;
# "submitting": our POST is out; "accepted": the gateway took our answer (200);
# "answered_elsewhere": our first POST met 404/409 (another client's answer, or an expiry);
# "failed": our POST was refused or never got through (kept for a resubmission).
AnswerState = Literal["unknown", "handling", "submitting", "accepted", "answered_elsewhere",
                      "failed"]


class DispatchLedger:
    """Per-session exactly-once bookkeeping, safe across threads and event loops.

    - `claim()` is atomic: only one path gets "claimed" for an id at a time.
    - Accepted ids are remembered (bounded FIFO); a later sighting is a local duplicate.
    - If a handler ran but its POST was not accepted, the outcome is kept, so a retry by
      any path resubmits it without running the handler again.
    - `state()` tells who answered an id as far as this session knows (ours): whether our
      POST is out, accepted, or met a 404/409 meaning someone else's answer (or an expiry)
      got there first. A session's owner uses it to tell its answers from foreign ones.
    """

    def __init__(self, capacity: int = LEDGER_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._accepted: OrderedDict[str, None] = OrderedDict()
        self._in_flight: set[str] = set()
        self._submitting: set[str] = set()
        self._elsewhere: OrderedDict[str, None] = OrderedDict()
        self._prepared: OrderedDict[str, RemoteSkillDispatch] = OrderedDict()

    def claim(self, request_id: str) -> Claim:
        with self._lock:
            if request_id in self._accepted:
                return "accepted"
            if request_id in self._in_flight:
                return "in_flight"
            self._in_flight.add(request_id)
            return "claimed"

    def prepared(self, request_id: str) -> RemoteSkillDispatch | None:
        with self._lock:
            return self._prepared.get(request_id)

    def submitting(self, request_id: str) -> None:
        """The claimed id's answer is about to be POSTed (the handler has finished)."""
        with self._lock:
            if request_id in self._in_flight:
                self._submitting.add(request_id)

    def finish(
        self,
        request_id: str,
        dispatch: RemoteSkillDispatch,
        *,
        accepted: bool,
        elsewhere: bool = False,
    ) -> None:
        with self._lock:
            self._in_flight.discard(request_id)
            self._submitting.discard(request_id)
            if elsewhere:
                self._elsewhere[request_id] = None
                while len(self._elsewhere) > self._capacity:
                    self._elsewhere.popitem(last=False)
            if accepted:
                self._prepared.pop(request_id, None)
                self._accepted[request_id] = None
                self._accepted.move_to_end(request_id)
                while len(self._accepted) > self._capacity:
                    self._accepted.popitem(last=False)
            else:
                self._prepared[request_id] = dispatch
                while len(self._prepared) > self._capacity:
                    self._prepared.popitem(last=False)

    def abandon(self, request_id: str) -> None:
        """Release a claim whose handler never produced an outcome (e.g. cancellation)."""
        with self._lock:
            self._in_flight.discard(request_id)
            self._submitting.discard(request_id)

    def state(self, request_id: str) -> AnswerState:
        """Where this session's answer for `request_id` stands (ours; see `AnswerState`)."""
        with self._lock:
            if request_id in self._elsewhere:
                return "answered_elsewhere"
            if request_id in self._accepted:
                return "accepted"
            if request_id in self._submitting:
                return "submitting"
            if request_id in self._in_flight:
                return "handling"
            if request_id in self._prepared:
                return "failed"
            return "unknown"

    def is_accepted(self, request_id: str) -> bool:
        with self._lock:
            return request_id in self._accepted

    def __len__(self) -> int:
        with self._lock:
            return len(self._accepted)


class SkillRegistry:
    def __init__(self, *, locked: bool = False, threaded_handlers: bool = False) -> None:
        self.skills: dict[str, RemoteSkill] = {}
        self.catalog_locked = locked
        self.ledger = DispatchLedger()
        # The sync client runs sync handlers in worker threads, so a handler may itself
        # call the sync client without deadlocking its private loop.
        self.threaded_handlers = threaded_handlers
        self._observer: Callable[[RemoteSkillDispatch], None] | None = None
        # `wire_tools`' snapshot and the skills it was taken of (identity: any change to
        # the catalog, even straight through `skills`, makes a new one).
        self._wire: tuple[list[RemoteSkill], list[dict[str, Any]]] | None = None

    def observe(self, observer: Callable[[RemoteSkillDispatch], None] | None) -> None:
        """Hear every dispatch result of this session (replacing any earlier observer). It
        runs on the dispatching loop, before the answer is submitted; keep it quick."""
        self._observer = observer

    def dispatched(self, dispatch: RemoteSkillDispatch) -> None:
        if self._observer is None:
            return
        try:
            self._observer(dispatch)
        except Exception:
            # The answer still goes out: an observer's failure must not strand the call.
            logger.exception("remote skill observer failed for %s", dispatch.tool)

    def _check_unlocked(self) -> None:
        if self.catalog_locked:
            raise RuntimeError(CATALOG_LOCKED_ERROR)

    def register(self, skill: RemoteSkill) -> RemoteSkill:
        self._check_unlocked()
        self.skills[skill.name] = skill
        return skill

    def unregister(self, name: str) -> bool:
        self._check_unlocked()
        return self.skills.pop(name.strip(), None) is not None

    def clear(self) -> int:
        self._check_unlocked()
        count = len(self.skills)
        self.skills.clear()
        return count

    def sorted_skills(self) -> list[RemoteSkill]:
        return [self.skills[name] for name in sorted(self.skills)]

    def dynamic_tools(self) -> list[dict[str, Any]]:
        return [
            {
                "name": skill.name,
                "description": skill.description,
                "inputSchema": copy.deepcopy(skill.input_schema)
                if skill.input_schema is not None
                else copy.deepcopy(FALLBACK_INPUT_SCHEMA),
            }
            for skill in self.sorted_skills()
        ]

    def wire_tools(self) -> list[dict[str, Any]]:
        """`dynamic_tools()` for a message body: one snapshot (deep-copied once) per catalog,
        not a deep copy of every schema on every turn. Treat it as read-only; it is shared
        by every send until the catalog changes. (A skill's schema is fixed once built: its
        compiled validator was made from it.)"""
        skills = self.sorted_skills()
        # Compared by identity; the snapshot holds the skills, so no id is ever reused.
        if (self._wire is None or len(self._wire[0]) != len(skills)
                or any(a is not b for a, b in zip(self._wire[0], skills, strict=True))):
            self._wire = (skills, self.dynamic_tools())
        return self._wire[1]

    def instruction_text(self) -> str:
        if not self.skills:
            return ""
        lines = [
            "Session remote skill catalog (Python-managed):",
            "Use these capabilities when relevant and do not invent unknown tools.",
        ]
        for skill in self.sorted_skills():
            lines.append(f"- {skill.name}: {skill.description}")
            schema = skill.input_schema if skill.input_schema is not None else FALLBACK_INPUT_SCHEMA
            lines.append(f"  input_schema: {_dumps(schema)}")
            if isinstance(skill.output_schema, dict) and skill.output_schema:
                lines.append(f"  output_schema: {_dumps(skill.output_schema)}")
            if skill.output_description and skill.output_description.strip():
                lines.append(f"  output_description: {skill.output_description.strip()}")
        return "\n".join(lines)
