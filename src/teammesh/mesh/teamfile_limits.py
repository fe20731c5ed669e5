"""What a team file may be before TOML parsing starts: bounded in size and in key depth.

`tomllib` is recursive in nested arrays and inline tables (5,000 `[` end in a RecursionError,
not a TOMLDecodeError) and quadratic in dotted keys (`x.x.x…` with 20,000 parts takes 4 s,
50,000 took 46 s). A team file is a few kilobytes written by hand; anything far beyond that
is refused by these checks, as a `(file)` or `(syntax)` problem, before it can stall or
crash `teammesh run`."""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_TEAM_FILE_BYTES = 1024 * 1024
# Parts of one dotted key or table header (`a.b.c` has 3); the models nest 4 deep at most.
MAX_KEY_PARTS = 32
# A table header (`[a.b]`, `[[a.b]]`), and the characters a bare or quoted dotted key is made
# of. Each is one character class under one quantifier, so matching is linear in the line: a
# nested quantifier here (`(?:[\w-]+|…)+`) backtracked exponentially on a long line of word
# characters without `=`, the very stall this module exists to prevent.
_HEADER = re.compile(r"[ \t]*\[\[?([^\]\n]*)\]")
_KEY_CHARS = re.compile(r"[\w\-. \t\"']*")


def _keys(text: str) -> Iterator[tuple[int, str]]:
    """(line number, key text) for each table header and each `key =` line."""
    for number, line in enumerate(text.split("\n"), start=1):
        header = _HEADER.match(line)
        if header is not None:
            yield number, header.group(1)
            continue
        key, equals, _ = line.partition("=")
        if equals and _KEY_CHARS.fullmatch(key):
            yield number, key


def text_problem(text: str) -> tuple[str, str] | None:
    """(`key`, `reason`) for a text too large or too deep to parse safely, else None."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEAM_FILE_BYTES:
        return "(file)", f"larger than {MAX_TEAM_FILE_BYTES} bytes (a team file is a few KB)"
    for line, key in _keys(text):
        if key.count(".") >= MAX_KEY_PARTS:
            return "(syntax)", f"a key of more than {MAX_KEY_PARTS} dotted parts (line {line})"
    return None
