"""What a team file may be before TOML parsing starts: bounded in size and in key depth.

`tomllib` is recursive in nested arrays and inline tables (5,000 `[` end in a RecursionError,
not a TOMLDecodeError) and quadratic in dotted keys (`x.x.x…` with 20,000 parts takes 4 s,
50,000 took 46 s). A team file is a few kilobytes written by hand; anything far beyond that
is refused by these checks, as a `(file)` or `(syntax)` problem, before it can stall or
crash `teammesh run`."""

from __future__ import annotations

import re

MAX_TEAM_FILE_BYTES = 1024 * 1024
# Parts of one dotted key or table header (`a.b.c` has 3); the models nest 4 deep at most.
MAX_KEY_PARTS = 32
# A table header, or the key before `=` at the start of a line (quoted parts included).
_KEY = re.compile(r"^[ \t]*(?:\[\[?([^\]\n]*)\]|((?:[\w\-]+|\"[^\"\n]*\"|'[^'\n]*'|[ \t.])+)=)",
                  re.MULTILINE)


def text_problem(text: str) -> tuple[str, str] | None:
    """(`key`, `reason`) for a text too large or too deep to parse safely, else None."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEAM_FILE_BYTES:
        return "(file)", f"larger than {MAX_TEAM_FILE_BYTES} bytes (a team file is a few KB)"
    for match in _KEY.finditer(text):
        key = match.group(1) if match.group(1) is not None else match.group(2)
        if key.count(".") >= MAX_KEY_PARTS:
            line = text.count("\n", 0, match.start()) + 1
            return "(syntax)", f"a key of more than {MAX_KEY_PARTS} dotted parts (line {line})"
    return None
