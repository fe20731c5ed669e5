"""A team file's `[completion]`: one criterion, a table with exactly one key, nested through
`all_of`, `any_of` and `not`; built into `criteria.py` objects.

Why not a pydantic model like the rest of the file: a criterion's arguments name members of
the roster and quality checks to import, so it is read with the roster in hand. Its JSON
Schema for editors (`CRITERION_SCHEMA`) is written next to the grammar it describes, and a
test holds the two to the same names."""

from __future__ import annotations

import importlib
import math
import shlex
from collections.abc import Callable
from typing import Any

from teammesh.mesh import criteria as crit
from teammesh.mesh.teamfile_errors import TeamFileError

_COMBINATORS = ("all_of", "any_of", "not")


class CriterionReader:
    """One file's criterion, raising `TeamFileError` at the key's path."""

    def __init__(self, file: str, roster: tuple[str, ...]) -> None:
        self.file, self.roster = file, roster

    def fail(self, key: str, reason: str) -> TeamFileError:
        return TeamFileError(self.file, key, reason)

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value.strip()

    def strings(self, value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of strings")
        return tuple(self.string(v, f"{key}[{i}]") for i, v in enumerate(value))

    def integer(self, value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "must be an integer")
        if value < 1:
            raise self.fail(key, f"must be at least 1, got {value}")
        return value

    def member(self, name: str, key: str) -> str:
        if name not in self.roster:
            raise self.fail(key, f"unknown member {name!r} (team: {', '.join(self.roster)})")
        return name

    def criterion(self, value: object, key: str) -> crit.Criterion:
        if not isinstance(value, dict) or len(value) != 1:
            raise self.fail(key, "a criterion is a table with exactly one key: "
                            + ", ".join([*sorted(_LEAVES), *_COMBINATORS]))
        (name, arg), = value.items()
        where = f"{key}.{name}"
        if name in ("all_of", "any_of"):
            if not isinstance(arg, list) or not arg:
                raise self.fail(where, "must be a non-empty list of criteria")
            parts = [self.criterion(v, f"{where}[{i}]") for i, v in enumerate(arg)]
            return crit.all_of(*parts) if name == "all_of" else crit.any_of(*parts)
        if name == "not":
            return crit.not_(self.criterion(arg, where))
        if name not in _LEAVES:
            raise self.fail(where, "unknown criterion (known: "
                            + ", ".join([*sorted(_LEAVES), *_COMBINATORS]) + ")")
        return _LEAVES[name](self, arg, where)


def _member_done(r: CriterionReader, arg: object, key: str) -> crit.Criterion:
    if isinstance(arg, str):
        return crit.member_done(r.member(r.string(arg, key), key))
    names = r.strings(arg, key)
    return crit.member_done(*(r.member(n, f"{key}[{i}]") for i, n in enumerate(names)))


def _flag(make: Callable[[], crit.Criterion]) -> Callable[..., crit.Criterion]:
    def build(r: CriterionReader, arg: object, key: str) -> crit.Criterion:
        if arg is not True:
            raise r.fail(key, "must be true")
        return make()

    return build


def _quality(r: CriterionReader, arg: object, key: str) -> crit.Criterion:
    """A built-in check by name, or `package.module:function` (a callable taking the board
    and returning the list of what is missing)."""
    name = r.string(arg, key)
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise r.fail(key, f"cannot load quality check {name!r}: {exc}") from None
        if not callable(found):
            raise r.fail(key, f"quality check {name!r} is not callable")
        return crit.quality(name, found)
    if name not in crit.QUALITY_CHECKS:
        raise r.fail(key, f"unknown quality check {name!r} (known: "
                     f"{', '.join(sorted(crit.QUALITY_CHECKS))}, or module:function)")
    return crit.quality(name)


def _merged(r: CriterionReader, arg: object, key: str) -> crit.Criterion:
    if arg is not True:
        raise r.fail(key, "must be true")
    from teammesh.mesh.integration import merged_criterion

    return merged_criterion()


def _check(r: CriterionReader, arg: object, key: str) -> crit.Criterion:
    """A command (split like a shell would, run without one) that must pass on the
    integration branch."""
    command = r.string(arg, key)
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise r.fail(key, f"cannot split the command: {exc}") from None
    if not argv:
        raise r.fail(key, "must name a command")
    from teammesh.mesh.integration import check_criterion

    return check_criterion(command)


def _budget(r: CriterionReader, arg: object, key: str) -> crit.Criterion:
    if not isinstance(arg, dict):
        raise r.fail(key, "must be a table")
    unknown = sorted(set(arg) - set(_BUDGET_KEYS))
    if unknown:
        raise r.fail(f"{key}.{unknown[0]}",
                     f"unknown key (allowed: {', '.join(sorted(_BUDGET_KEYS))})")
    if not arg:
        raise r.fail(key, "name turns, tool_calls, tokens and/or usd")
    counts = {name: r.integer(arg[name], f"{key}.{name}")
              for name in ("turns", "tool_calls", "tokens") if name in arg}
    return crit.budget(**counts, usd=_dollars(r, arg["usd"], f"{key}.usd")
                       if "usd" in arg else None)


_BUDGET_KEYS = ("turns", "tool_calls", "tokens", "usd")


def _dollars(r: CriterionReader, value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise r.fail(key, "must be a number")
    if not math.isfinite(value) or value <= 0:
        raise r.fail(key, f"must be a finite number above 0, got {value}")
    return float(value)


_LEAVES: dict[str, Callable[[CriterionReader, object, str], crit.Criterion]] = {
    "member_done": _member_done,
    "queues_empty": _flag(crit.queues_empty),
    "no_dead_letters": _flag(crit.no_dead_letters),
    "artifact_kinds": lambda r, arg, key: crit.artifact_kinds(*r.strings(arg, key)),
    "quality": _quality,
    "max_rounds": lambda r, arg, key: crit.max_rounds(r.integer(arg, key)),
    "budget": _budget,
    "merged": lambda r, arg, key: _merged(r, arg, key),
    "check": lambda r, arg, key: _check(r, arg, key),
}
CRITERION_NAMES = (*_LEAVES, *_COMBINATORS)

_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 1}
_SELF: dict[str, Any] = {"$ref": "#/$defs/Criterion"}
_ARGUMENTS: dict[str, dict[str, Any]] = {
    "member_done": {"anyOf": [_TEXT, {"type": "array", "items": _TEXT}],
                    "description": "a member, or a list of members, marked done"},
    "queues_empty": {"const": True},
    "no_dead_letters": {"const": True},
    "artifact_kinds": {"type": "array", "items": _TEXT},
    "quality": {**_TEXT, "description": "a built-in check (" + ", ".join(
        sorted(crit.QUALITY_CHECKS)) + ") or package.module:function"},
    "max_rounds": _COUNT,
    "budget": {"type": "object", "minProperties": 1, "additionalProperties": False,
               "properties": {"turns": _COUNT, "tool_calls": _COUNT, "tokens": _COUNT,
                              "usd": {"type": "number", "exclusiveMinimum": 0}}},
    "merged": {"const": True, "description": "every published commit is on the integration"
                                             " branch ([team] repo)"},
    "check": {**_TEXT, "description": "a command that must exit 0 in the integration"
                                      " branch's worktree (no shell)"},
    "all_of": {"type": "array", "minItems": 1, "items": _SELF},
    "any_of": {"type": "array", "minItems": 1, "items": _SELF},
    "not": _SELF,
}
CRITERION_SCHEMA: dict[str, Any] = {
    "description": "a completion criterion: a table with exactly one key",
    "oneOf": [
        {"type": "object", "required": [name], "additionalProperties": False,
         "properties": {name: _ARGUMENTS[name]}}
        for name in CRITERION_NAMES
    ],
}
