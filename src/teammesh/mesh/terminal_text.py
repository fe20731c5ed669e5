"""Text a model, an agent or a gateway chose, made inert for a terminal.

A reply's first line, a tool's name, a failure's reason: printed raw, an ESC or C1 sequence
in them drives the operator's terminal (retitles it, clears it, on some terminals writes the
clipboard or pastes into the shell) and a bidi override makes a line read other than it is.
Each such character is shown as its `\\uXXXX` escape instead; every other character, other
scripts and emoji included, is kept as it is.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, the bidi embeddings/overrides/isolates.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ONE_LINE_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char, f"\\u{ord(char):04x}")


def inert(text: str) -> str:
    """`text` safe to print: line breaks and tabs kept, every other control escaped."""
    return _UNSAFE.sub(_escape, text)


def inert_line(text: str) -> str:
    """`text` as one safe line: line breaks and tabs escaped too."""
    return _ONE_LINE_UNSAFE.sub(_escape, text)
