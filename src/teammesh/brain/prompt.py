"""Reading a member prompt: identity, role, and the numbered process steps as operations.

A step is turned into a flat list of operations the playbook interprets in order:
`Condition` (guards everything after it in the step), `Call` (one mention of a catalog tool,
optionally with explicit JSON arguments) and `Reply` ("reply with ..." ends the turn).
Clauses that start with "do not"/"never" are prohibitions, not actions, and are dropped.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from teammesh.brain.types import ToolSpec

ConditionKind = Literal["task_null", "task_present", "prev_ok", "prev_failed", "always"]

_IDENTITY = re.compile(r"\byou are the\s+[`\"']?([A-Za-z0-9][\w.-]*)", re.IGNORECASE)
_ROLE = re.compile(r"^\s*role\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_PROCESS_HEADER = re.compile(r"process for this turn\s*:?", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+(.*\S)\s*$")
_EXPLICIT_CALL = re.compile(r"\bcall\s+`?([A-Za-z_][\w.-]*)`?\s+with\s+(?=\{)", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:do not|don't|dont|never|avoid|must not|should not)\b", re.IGNORECASE)
_CONDITION_START = re.compile(r"^\s*(?:and\s+|then\s+|but\s+)?(if|when|once|unless)\b", re.I)
_OTHERWISE = re.compile(r"^\s*(?:and\s+|but\s+)?(otherwise|else)\b[\s,:]*", re.IGNORECASE)
_REPLY = re.compile(r"\b(?:reply|respond|end (?:the|your) turn)\b", re.IGNORECASE)
_FILLER = r"(?:\s+(?:the|a|an|one|your|its|some|this|that|my|team)\b)*\s+"
_PLACEHOLDER = "\x00{}\x00"
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")


@dataclass(frozen=True)
class Condition:
    kind: ConditionKind
    negate: bool = False


@dataclass(frozen=True)
class Call:
    tool: str
    # Explicit arguments from a `call X with {...}` step, used exactly as written.
    arguments: dict[str, Any] | None = None


@dataclass(frozen=True)
class Reply:
    pass


Operation = Condition | Call | Reply


@dataclass(frozen=True)
class Step:
    text: str  # the step with prohibitions and explicit JSON removed, for owner lookup
    operations: tuple[Operation, ...]


def identity(prompt: str) -> str | None:
    match = _IDENTITY.search(prompt)
    return match.group(1).rstrip(".,:;") if match else None


def role(prompt: str) -> str:
    match = _ROLE.search(prompt)
    return match.group(1).rstrip(".") if match else ""


def numbered_steps(prompt: str) -> list[str]:
    """The numbered lines after `Process for this turn:` (or anywhere, if no header).
    An indented unnumbered line continues the previous step."""
    header = _PROCESS_HEADER.search(prompt)
    body = prompt[header.end() :] if header else prompt
    steps: list[str] = []
    for line in body.splitlines():
        numbered = _NUMBERED.match(line)
        if numbered:
            steps.append(numbered.group(2))
        elif steps and line.startswith((" ", "\t")) and line.strip():
            steps[-1] += " " + line.strip()
        elif steps and line.strip() and header:
            break  # the process list ended
    return steps


def classify_condition(text: str) -> Condition:
    lowered = text.lower()
    negate = lowered.lstrip().startswith("unless")
    if re.search(r"\b(null|none|no task|no work|empty|nothing|without a task)\b", lowered):
        kind: ConditionKind = "task_null"
    elif re.search(r"\b(task|work)\b", lowered):
        kind = "task_present"
    elif re.search(r"\b(fail\w*|refus\w*|error\w*|reject\w*|blocked)\b", lowered):
        kind = "prev_failed"
    elif re.search(r"\b(coherent|consistent|complete|succe\w*|ok|okay|good|valid)\b", lowered):
        kind = "prev_ok"
    else:
        kind = "always"
    return Condition(kind, negate)


# What step parsing needs to know of the catalog: each tool's name and whether it takes an
# `owner` (a handoff tool). Hashable, so parsed prompts can be cached per catalog.
CatalogSignature = tuple[tuple[str, bool], ...]


def catalog_signature(tools: Sequence[ToolSpec]) -> CatalogSignature:
    signature: list[tuple[str, bool]] = []
    for tool in tools:
        properties = tool.input_schema.get("properties")
        signature.append((tool.name, isinstance(properties, dict) and "owner" in properties))
    return tuple(signature)


@functools.lru_cache(maxsize=256)
def _tool_patterns(catalog: CatalogSignature) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Exact names first, then paraphrases: `team_read_board` is also "read the board"."""
    names = [name for name, _ in catalog]
    prefixes = [n.split("_", 1)[0] for n in names if "_" in n]
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for name in names:
        exact = re.compile(r"(?<![\w.-])`?" + re.escape(name) + r"`?(?![\w-])", re.I)
        patterns.append((name, exact))
    for name in names:
        words = [w for w in name.split("_") if w]
        if len(words) > 1 and prefixes.count(words[0]) > 1:
            words = words[1:]  # drop a shared prefix such as `team`
        if len(words) < 2:
            continue
        phrase = r"\b" + _FILLER.join(re.escape(w) for w in words) + r"\b"
        patterns.append((name, re.compile(phrase, re.IGNORECASE)))
    owner_tools = [name for name, has_owner in catalog if has_owner]
    if len(owner_tools) == 1:
        handoff = re.compile(r"\b(?:queue|hand\s?off|handoff|delegate)\b", re.IGNORECASE)
        patterns.append((owner_tools[0], handoff))
    return tuple(patterns)


def _extract_explicit(text: str) -> tuple[str, list[Call]]:
    """Replace each `call X with {json}` by a placeholder; return the calls it stood for."""
    calls: list[Call] = []
    out: list[str] = []
    pos = 0
    decoder = json.JSONDecoder()
    while True:
        match = _EXPLICIT_CALL.search(text, pos)
        if not match:
            break
        try:
            value, end = decoder.raw_decode(text, match.end())
        except json.JSONDecodeError:
            out.append(text[pos : match.end()])
            pos = match.end()
            continue
        if not isinstance(value, dict):
            out.append(text[pos:end])
            pos = end
            continue
        out.append(text[pos : match.start()])
        out.append(_PLACEHOLDER.format(len(calls)))
        calls.append(Call(match.group(1), value))
        pos = end
    out.append(text[pos:])
    return "".join(out), calls


def _split_clauses(text: str) -> list[str]:
    # Sentence ends and semicolons, then commas; keep placeholders intact (no punctuation).
    clauses: list[str] = []
    for sentence in re.split(r";|\.(?:\s|$)|:\s", text):
        clauses.extend(part for part in sentence.split(",") if part.strip())
    return clauses


def parse_step(text: str, tools: Sequence[ToolSpec]) -> Step:
    return _parse_step(text, catalog_signature(tools))


def _parse_step(text: str, catalog: CatalogSignature) -> Step:
    stripped, explicit = _extract_explicit(text)
    patterns = _tool_patterns(catalog)
    operations: list[Operation] = []
    kept: list[str] = []
    seen_tools: set[str] = set()
    last_condition: Condition | None = None
    for clause in _split_clauses(stripped):
        otherwise = _OTHERWISE.match(clause)
        if otherwise and last_condition is not None:
            flipped = Condition(last_condition.kind, not last_condition.negate)
            operations.append(flipped)
            last_condition = flipped
            clause = clause[otherwise.end() :]
        negation = _NEGATION.search(clause)
        if negation:
            clause = clause[: negation.start()]  # the prohibition is not an action
        if not clause.strip():
            continue
        action_text = clause
        if _CONDITION_START.match(clause):
            # The condition runs until the first action (tool mention or reply) in the clause.
            cut = len(clause)
            for _, pattern in patterns:
                found = pattern.search(clause)
                if found:
                    cut = min(cut, found.start())
            for extra in (_PLACEHOLDER_RE.search(clause), re.search(r"\bcall\b", clause, re.I)):
                if extra:
                    cut = min(cut, extra.start())
            reply = _REPLY.search(clause)
            if reply:
                cut = min(cut, reply.start())
            condition = classify_condition(clause[:cut])
            operations.append(condition)
            last_condition = condition
            action_text = clause[cut:]
        kept.append(action_text)
        operations.extend(_actions(action_text, patterns, explicit, seen_tools))
    return Step(" ".join(kept), tuple(operations))


def _actions(
    text: str,
    patterns: tuple[tuple[str, re.Pattern[str]], ...],
    explicit: list[Call],
    seen_tools: set[str],
) -> list[Operation]:
    found: list[tuple[int, Operation]] = []
    for match in _PLACEHOLDER_RE.finditer(text):
        found.append((match.start(), explicit[int(match.group(1))]))
    claimed: list[tuple[int, int]] = [(m.start(), m.end()) for m in _PLACEHOLDER_RE.finditer(text)]
    for name, pattern in patterns:
        for match in pattern.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in claimed):
                continue  # already part of a longer mention
            claimed.append((match.start(), match.end()))
            if name in seen_tools:
                continue  # one call per tool per step, however often it is named
            seen_tools.add(name)
            found.append((match.start(), Call(name)))
    reply = _REPLY.search(text)
    if reply:
        found.append((reply.start(), Reply()))
    found.sort(key=lambda pair: pair[0])
    return [operation for _, operation in found]


def parse_steps(prompt: str, tools: Sequence[ToolSpec]) -> list[Step]:
    return list(_parse_steps(prompt, catalog_signature(tools)))


@functools.lru_cache(maxsize=256)
def _parse_steps(prompt: str, catalog: CatalogSignature) -> tuple[Step, ...]:
    # Pure in (prompt, catalog): a member sends the same prompt every step of every turn.
    return tuple(_parse_step(text, catalog) for text in numbered_steps(prompt))


def mentioned_tools(text: str, tools: Sequence[ToolSpec]) -> list[Call]:
    """For prompts without steps: explicit `call X with {...}` forms and every catalog tool
    whose exact name appears as a word, each once, in order of mention."""
    stripped, explicit = _extract_explicit(text)
    found: list[tuple[int, Call]] = [
        (m.start(), explicit[int(m.group(1))]) for m in _PLACEHOLDER_RE.finditer(stripped)
    ]
    for tool in tools:
        match = re.search(r"(?<![\w.-])`?" + re.escape(tool.name) + r"`?(?![\w-])", stripped, re.I)
        if match:
            found.append((match.start(), Call(tool.name)))
    found.sort(key=lambda pair: pair[0])
    return [call for _, call in found]
