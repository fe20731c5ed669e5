"""Bounds on what one argument check may cost, so an agent's crafted value cannot stall the
dispatcher (validation runs on the session's event loop: a stalled check stalls every call).

Three costs the standard keywords leave open, each closed here:
- combinators: `anyOf`/`oneOf` over a recursive schema evaluate every branch at every level,
  2**depth keyword runs for a value 30 levels deep. Every keyword run spends one step of a
  budget; a check that runs out is refused as too costly rather than finished.
- `pattern`/`patternProperties`/`additionalProperties`: Python's `re` backtracks without
  bound (`^(a+)+$` against 30 characters runs for minutes). Patterns run on the `regex`
  engine, which takes a timeout; one check shares one regex allowance across all its matches.
  (`unevaluatedProperties` still matches with `re`: jsonschema's helper, not overridable here.)
- `uniqueItems`: jsonschema compares unhashable items pairwise (quadratic: 5,000 objects took
  17 s). Items are compared by a canonical hashable form instead, in one pass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex
from jsonschema import ValidationError
from jsonschema.protocols import Validator

# Keyword runs one check may spend (~10 us each): far above an honest tool call (a list of
# 50,000 typed strings spends ~100,000), far below a combinator explosion (2**depth).
MAX_STEPS = 200_000
# Seconds of regex matching one check may spend, all its patterns together.
REGEX_ALLOWANCE_S = 1.0


class CheckTooCostly(Exception):
    """The check ran out of its budget; the arguments are refused unchecked."""


@dataclass
class _Budget:
    steps: int
    regex_deadline: float


_CURRENT: ContextVar[_Budget | None] = ContextVar("argument_check_budget", default=None)


@contextmanager
def budgeted() -> Iterator[None]:
    """One check's budget, in force inside the block (per thread and per task)."""
    token = _CURRENT.set(_Budget(MAX_STEPS, time.monotonic() + REGEX_ALLOWANCE_S))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def spend_step() -> None:
    """Called before every keyword run; raises once the budget is spent."""
    budget = _CURRENT.get()
    if budget is None:  # outside a check (registration probes): nothing to bound
        return
    budget.steps -= 1
    if budget.steps < 0:
        raise CheckTooCostly(f"more than {MAX_STEPS} schema evaluations")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str] | re.Pattern[str]:
    # The schema check proved `pattern` compiles with `re`; the rare one `regex` reads
    # differently runs on `re` (no timeout) rather than raising out of the dispatcher.
    try:
        return regex.compile(pattern)
    except regex.error:
        return re.compile(pattern)


def search(pattern: str, text: str) -> bool:
    """`re.search` with the check's remaining regex allowance as its timeout."""
    budget = _CURRENT.get()
    compiled = _compiled(pattern)
    if budget is None or isinstance(compiled, re.Pattern):
        return compiled.search(text) is not None
    remaining = budget.regex_deadline - time.monotonic()
    if remaining <= 0:
        raise CheckTooCostly(f"patterns took more than {REGEX_ALLOWANCE_S} s to match")
    try:
        return compiled.search(text, timeout=remaining) is not None
    except TimeoutError:
        raise CheckTooCostly(
            f"pattern {pattern!r} took more than {REGEX_ALLOWANCE_S} s to match") from None


def pattern(
    validator: Validator, pattern: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"does not match {pattern!r}")


def pattern_properties(
    validator: Any, patterns: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    # `validator` typed Any: jsonschema's protocol omits `descend`, which every validator has.
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, str(key)):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def additional_properties(
    validator: Any, allowed: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    # jsonschema's own matches `patternProperties` with `re` too; the reason text is
    # rendered from the schema (validation_reasons._unexpected), so the message is terse.
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties") or {}
    patterns = schema.get("patternProperties") or {}
    extras = [key for key in instance if key not in known
              and not any(search(p, str(key)) for p in patterns)]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        yield ValidationError("has unexpected properties")


def _canonical(value: Any) -> Any:
    """A hashable form equal exactly when JSON Schema calls two values equal (1 == 1.0,
    true != 1, objects regardless of key order). Depth is bounded by the nesting limit."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, dict):
        return ("object", frozenset((str(k), _canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(_canonical(item) for item in value))
    return ("other", repr(value))


def unique_items(
    validator: Validator, unique: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        form = _canonical(item)
        if form in seen:
            yield ValidationError("has non-unique elements")
            return
        seen.add(form)
