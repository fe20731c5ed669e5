"""Schema-valid tool arguments for the playbook brain.

Known parameter names get meaningful values (`owner`, `task`, `kind`, `summary`, `note`);
any other required parameter gets the simplest value its schema allows; other optional
parameters are omitted. Every value is finally conformed to its schema (enum, type,
length and range bounds), so the brain never sends arguments a schema refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from teammesh.brain.types import ToolSpec

_KIND_BY_MEMBER = {"developer": "implementation", "docs": "documentation", "reviewer": "review"}
_KIND_BY_ROLE_WORD = (
    ("review", "review"),
    ("validat", "review"),
    ("document", "documentation"),
    ("implement", "implementation"),
)
# Named parameters the brain fills even when optional (the design lists them).
_NAMED = ("owner", "task", "kind", "summary", "note")


@dataclass(frozen=True)
class ArgumentContext:
    member: str
    role: str
    task: str | None


def short(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def artifact_kind(member: str, role: str) -> str:
    if member in _KIND_BY_MEMBER:
        return _KIND_BY_MEMBER[member]
    lowered = role.lower()
    for word, kind in _KIND_BY_ROLE_WORD:
        if word in lowered:
            return kind
    return member


# A handoff text this brain wrote earlier; stripped so chained handoffs do not nest.
_HANDOFF_PREFIX = re.compile(r"^(?:[\w-]+ follow-up from [\w-]+:\s*)+")


def headline(task: str, limit: int = 90) -> str:
    """The gist of a task for one-sentence summaries: its first sentence, cut at a comma or
    a word boundary when long."""
    text = " ".join(_HANDOFF_PREFIX.sub("", task).split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".!?")
    if len(sentence) <= limit:
        return sentence
    comma = sentence.rfind(",", 0, limit)
    if comma >= limit // 2:
        return sentence[:comma]
    space = sentence.rfind(" ", 0, limit - 1)
    return sentence[: space if space > 0 else limit - 1] + "…"


# The deterministic sentence per artifact kind; a review names what it reviewed.
_SUMMARY_BY_KIND = {
    "implementation": "The {member} drafted the implementation for: {topic}.",
    "documentation": "The {member} wrote the documentation for: {topic}.",
    "review": "The {member} reviewed the implementation and documentation for: {topic}.",
}


def _named_value(name: str, ctx: ArgumentContext, owner: str | None) -> str | None:
    task = short(_HANDOFF_PREFIX.sub("", ctx.task), 200).rstrip(".") if ctx.task else None
    topic = headline(ctx.task) if ctx.task else None
    if name == "owner":
        return owner
    if name == "task":
        target = owner or "teammate"
        if task:
            return f"{target} follow-up from {ctx.member}: {task}"
        return f"{target} follow-up from {ctx.member}"
    if name == "kind":
        return artifact_kind(ctx.member, ctx.role)
    if name == "summary":
        kind = artifact_kind(ctx.member, ctx.role)
        if topic:
            generic = ("The {member} completed its work for: {topic}." if kind == ctx.member
                       else "The {member} completed the {kind} for: {topic}.")
            template = _SUMMARY_BY_KIND.get(kind, generic)
            return template.format(member=ctx.member, kind=kind, topic=topic)
        return f"The {ctx.member} recorded a {kind} update."
    if name == "note":
        return f"{ctx.member} finished: {topic}." if topic else f"{ctx.member} finished."
    return None


def _bound(value: Any) -> int:
    """A length/count bound from a schema; anything unusable counts as none (0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _pick_subschema(schema: dict[str, Any]) -> dict[str, Any]:
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            for option in options:
                if isinstance(option, dict) and option.get("type") != "null":
                    return option
    return schema


def _schema_type(schema: dict[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, list):
        non_null = [t for t in declared if t != "null"]
        return str(non_null[0]) if non_null else "null"
    if isinstance(declared, str):
        return declared
    if "enum" in schema or "const" in schema:
        return None
    if "properties" in schema:
        return "object"
    return None


def default_value(schema: dict[str, Any], label: str) -> Any:
    """The simplest value the schema accepts."""
    schema = _pick_subschema(schema)
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = _schema_type(schema)
    if kind == "integer" or kind == "number":
        return conform(1, schema)
    if kind == "boolean":
        return False
    if kind == "array":
        raw_items = schema.get("items")
        items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
        count = _bound(schema.get("minItems"))
        return [default_value(items, label) for _ in range(count)]
    if kind == "object":
        return object_arguments(schema, {}, label)
    if kind == "null":
        return None
    return conform(label, schema)


def conform(value: Any, schema: dict[str, Any]) -> Any:
    """Bend a candidate value into the schema (enum, type, bounds)."""
    schema = _pick_subschema(schema)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return value if value in enum else enum[0]
    kind = _schema_type(schema)
    if kind in ("integer", "number"):
        number: float
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 1.0
        for bound, pick in (("minimum", max), ("maximum", min)):
            if isinstance(schema.get(bound), int | float):
                number = pick(number, float(schema[bound]))
        if isinstance(schema.get("exclusiveMinimum"), int | float):
            number = max(number, float(schema["exclusiveMinimum"]) + 1)
        if isinstance(schema.get("exclusiveMaximum"), int | float):
            number = min(number, float(schema["exclusiveMaximum"]) - 1)
        return int(number) if kind == "integer" else number
    if kind == "string" or (kind is None and isinstance(value, str)):
        text = value if isinstance(value, str) else str(value)
        minimum = _bound(schema.get("minLength"))
        maximum = schema.get("maxLength")
        if len(text) < minimum:
            text = text + "." * (minimum - len(text))
        if isinstance(maximum, int) and 0 <= maximum < len(text):
            text = text[:maximum]
        return text
    if kind == "boolean":
        return bool(value)
    return value


def object_arguments(
    schema: dict[str, Any], named: dict[str, Any], label: str
) -> dict[str, Any]:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    required_names = [str(n) for n in required] if isinstance(required, list) else []
    arguments: dict[str, Any] = {}
    for name, prop in properties.items():
        prop_schema = prop if isinstance(prop, dict) else {}
        if name in named and named[name] is not None:
            arguments[name] = conform(named[name], prop_schema)
        elif name in required_names:
            arguments[name] = default_value(prop_schema, f"{label} {name}")
    for name in required_names:  # required but undeclared: a string is the safest guess
        if name not in arguments:
            arguments[name] = named.get(name) or f"{label} {name}"
    return arguments


def tool_arguments(tool: ToolSpec, ctx: ArgumentContext, owner: str | None) -> dict[str, Any]:
    properties = tool.input_schema.get("properties")
    names = properties.keys() if isinstance(properties, dict) else ()
    named = {n: _named_value(n, ctx, owner) for n in names if n in _NAMED}
    return object_arguments(tool.input_schema, named, ctx.member)


def owner_enum(tool: ToolSpec) -> list[str] | None:
    properties = tool.input_schema.get("properties")
    if not isinstance(properties, dict):
        return None
    owner = properties.get("owner")
    if not isinstance(owner, dict):
        return None
    owner = _pick_subschema(owner)
    enum = owner.get("enum")
    return [str(v) for v in enum] if isinstance(enum, list) else None
