"""A small docstring reader: summary, long description, per-argument descriptions and the
`Returns` description, for Google, reST and NumPy styles (what schema enrichment needs)."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_GOOGLE_ARGS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_GOOGLE_RETURNS = {"returns", "return", "yields"}
_GOOGLE_OTHER = {"raises", "examples", "example", "notes", "note", "attributes", "see also"}
_REST_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_REST_RETURNS = re.compile(r"^:returns?\s*:\s*(.*)$")
_REST_ANY = re.compile(r"^:\w+")
_GOOGLE_ARG = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_UNDERLINE = re.compile(r"^-{3,}$")


@dataclass(slots=True)
class Docstring:
    short: str | None = None
    long: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    returns: str | None = None

    @property
    def description(self) -> str | None:
        if self.short and self.long:
            return f"{self.short}\n\n{self.long}"
        return self.short or self.long


def _join(lines: list[str]) -> str:
    return " ".join(part.strip() for part in lines if part.strip())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(obj: object) -> Docstring:
    raw = inspect.getdoc(obj) if not isinstance(obj, str) else inspect.cleandoc(obj)
    if not raw:
        return Docstring()
    lines = raw.splitlines()
    result = Docstring()
    body: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        heading = stripped.rstrip(":").lower()
        is_numpy = i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1].strip() or "x")
        if stripped.endswith(":") and heading in _GOOGLE_ARGS | _GOOGLE_RETURNS | _GOOGLE_OTHER:
            i = _google_section(lines, i + 1, heading, result)
            continue
        if is_numpy and heading in _GOOGLE_ARGS | _GOOGLE_RETURNS | _GOOGLE_OTHER:
            i = _numpy_section(lines, i + 2, heading, result)
            continue
        if _REST_ANY.match(stripped):
            i = _rest_field(lines, i, result)
            continue
        body.append(line)
        i += 1
    text = "\n".join(body).strip()
    if text:
        short, _, rest = text.partition("\n\n")
        result.short = _join(short.splitlines()) or None
        result.long = rest.strip() or None
    return result


def _google_section(lines: list[str], i: int, heading: str, result: Docstring) -> int:
    entries: list[list[str]] = []
    base: int | None = None
    while i < len(lines):
        line = lines[i]
        if line.strip() and _indent(line) == 0:
            break
        if line.strip():
            if base is None:
                base = _indent(line)
            if _indent(line) == base:
                entries.append([line.strip()])
            elif entries:
                entries[-1].append(line.strip())
        i += 1
    if heading in _GOOGLE_ARGS:
        for entry in entries:
            match = _GOOGLE_ARG.match(entry[0])
            if match:
                result.params[match.group(1).lstrip("*")] = _join([match.group(2), *entry[1:]])
    elif heading in _GOOGLE_RETURNS and entries:
        first = entries[0][0]
        # "dict: the result" → drop the type prefix.
        typed = re.match(r"^[\w\[\], .|]+:\s+(.*)$", first)
        text = [typed.group(1) if typed else first, *entries[0][1:]]
        for extra in entries[1:]:
            text.extend(extra)
        result.returns = _join(text) or None
    return i


def _numpy_section(lines: list[str], i: int, heading: str, result: Docstring) -> int:
    entries: list[list[str]] = []
    while i < len(lines):
        line = lines[i]
        if line.strip() and i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1].strip()):
            break
        if line.strip():
            if _indent(line) == 0:
                entries.append([line.strip()])
            elif entries:
                entries[-1].append(line.strip())
        i += 1
    if heading in _GOOGLE_ARGS:
        for entry in entries:
            name = entry[0].split(":", 1)[0].strip().lstrip("*")
            if name:
                result.params[name] = _join(entry[1:])
    elif heading in _GOOGLE_RETURNS and entries:
        entry = entries[0]
        result.returns = _join(entry[1:]) or _join(entry[:1]) or None
    return i


def _rest_field(lines: list[str], i: int, result: Docstring) -> int:
    text = [lines[i].strip()]
    i += 1
    while i < len(lines) and lines[i].strip() and _indent(lines[i]) > 0:
        text.append(lines[i].strip())
        i += 1
    joined = _join(text)
    if match := _REST_PARAM.match(joined):
        result.params[match.group(1)] = match.group(2).strip()
    elif match := _REST_RETURNS.match(joined):
        result.returns = match.group(1).strip() or None
    return i
