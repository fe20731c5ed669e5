"""Reading an optional text value from JSON or the environment, written once.

Two readings, kept apart on purpose: an id or a name taken from the wire (`non_blank`) is
kept exactly as sent, since it must match what the other side holds; a setting typed by a
person (`stripped`) loses its surrounding whitespace. Both treat a blank string, or anything
that is not a string, as absent.
"""

from __future__ import annotations


def non_blank(value: object) -> str | None:
    """`value` itself when it is a string with something besides whitespace, else None."""
    return value if isinstance(value, str) and value.strip() else None


def stripped(value: object) -> str | None:
    """`value` without surrounding whitespace, when a non-blank string; else None."""
    text = non_blank(value)
    return text.strip() if text is not None else None
