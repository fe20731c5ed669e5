"""Setting aside a skill catalog that a client prepends to the user's request.

codex-manager's client (and ours, `AsyncRemoteSkillSession.inject_request`) sends, by default
(`inject_skills=True`), a message shaped like

    Session remote skill catalog (Python-managed):
    Use these capabilities when relevant and do not invent unknown tools.
    - add: Add two integers.
      input_schema: {"type": "object", ...}

    User request:
    Call add with {"a": 2, "b": 3}.

A real model reads the catalog as background. The playbook brain reads instructions
literally, so every `- add: ...` line would count as a mention of `add` and plan an extra
call (with extra board effects). `user_request()` returns only the request part, so the
brain calls only what the request asks for.

The catalog is recognised by its structure, not by exact wording: a short header, then
`- NAME: description` items (with indented `input_schema:`-like continuation lines), then
either a `User request:` separator or a blank line and the request. Two shapes count:

* with a separator (`User request:`, also `Request:`/`User message:`/`User prompt:`), the
  text before it must open with at most a few header lines followed by item lines, at least
  one of which names an offered tool (or the header speaks of skills/tools/a catalog);
  everything after the separator is the request. Lines after the first item are catalog text
  whatever their shape (a multi-line description stays inside the catalog);
* without a separator, the message must *start* with such a block whose header speaks of
  skills/tools/a catalog and whose items are followed by a blank line; the rest is the
  request.

Anything else is returned unchanged: a member prompt's own `- constraint` bullets are not
`- identifier: text` items, and a text without a catalog block keeps every word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from teammesh.brain.types import ToolSpec

_ITEM = re.compile(r"^-\s+`?([A-Za-z_][\w.-]*)`?\s*:")
_SEPARATOR = re.compile(r"^\s*(?:user\s+)?(?:request|message|prompt)\s*:\s*(.*)$", re.I)
_CATALOG_WORDS = re.compile(r"\b(?:catalog\w*|skills?|tools?|capabilit\w*|functions?)\b", re.I)
# A catalog's header is a line or two ("... catalog ...:", "Use these capabilities ...");
# more than this before the first item is a prompt of its own, not a catalog header.
_MAX_HEADER_LINES = 4


def user_request(text: str, tools: Sequence[ToolSpec]) -> str:
    """The request part of `text` when a client prepended a skill catalog, else `text`."""
    # Not cached: a cache keyed by prompt keeps a deleted session's prompts (and a catalog
    # set per entry) alive, which tests/reliability/test_retention.py counts; ~7 µs a step.
    offered = frozenset(tool.name for tool in tools)
    lines = text.splitlines()
    with_separator = _after_separator(lines, offered)
    if with_separator is not None:
        return with_separator
    without_separator = _after_leading_block(lines)
    return without_separator if without_separator is not None else text


def _block_start(lines: Sequence[str]) -> tuple[list[str], int] | None:
    """The header lines and the index of the first item line, if `lines` open (after blank
    lines) with a short header directly followed by a `- NAME: ...` item."""
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    header: list[str] = []
    while index < len(lines) and lines[index].strip() and not _ITEM.match(lines[index]):
        header.append(lines[index])
        index += 1
    if not header or len(header) > _MAX_HEADER_LINES:
        return None
    if index >= len(lines) or not _ITEM.match(lines[index]):
        return None  # the header is not directly followed by an item
    return header, index


def _after_separator(lines: Sequence[str], offered: frozenset[str]) -> str | None:
    start = _block_start(lines)
    if start is None:
        return None
    header, first_item = start
    names: list[str] = []
    for index in range(first_item, len(lines)):
        line = lines[index]
        item = _ITEM.match(line)
        if item:
            names.append(item.group(1))
            continue
        separator = _SEPARATOR.match(line)
        if separator is None or line.startswith((" ", "\t")):
            continue  # a continuation line of the catalog (schema, long description)
        if not separator.group(0).lower().lstrip().startswith("user") and lines[index - 1].strip():
            continue  # a bare "Request:" counts only after a blank line, like the clients send
        if not (offered.intersection(names) or _CATALOG_WORDS.search(" ".join(header))):
            return None  # a list of something else, not of the tools on offer
        rest = [separator.group(1)] if separator.group(1) else []
        return "\n".join([*rest, *lines[index + 1 :]]).strip("\n")
    return None


def _after_leading_block(lines: Sequence[str]) -> str | None:
    start = _block_start(lines)
    if start is None:
        return None
    header, index = start
    if not _CATALOG_WORDS.search(" ".join(header)):
        return None
    while index < len(lines) and lines[index].strip():
        line = lines[index]
        if not (_ITEM.match(line) or line.startswith((" ", "\t"))):
            return None  # an unindented non-item line: not the catalog's shape
        index += 1
    if index >= len(lines):
        return None  # nothing but the block: no request after it to read instead
    return "\n".join(lines[index:]).strip("\n")
