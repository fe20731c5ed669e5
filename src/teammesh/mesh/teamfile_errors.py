"""A team file's problems, each as `<file>: <key>: <reason>`, all of them in one error.

The key is the TOML path a reader looks for (`members[2].session.approval_policy`); the
reason is ours, short and stable, whichever library found the problem (pydantic's own
sentences name Python types, not team-file words)."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from teammesh.mesh.teamfile_model import TEAM_FILE_ERROR, TeamFile

Problem = tuple[str, str]  # (key, reason)
# The message names this many problems, then counts the rest: a generated file with 20,000
# bad members must not print 4 MB. `problems` keeps them all.
MAX_SHOWN = 50
# Keys and reasons come from the file: shown at most this long, control characters escaped
# (a key holding ESC sequences must not drive the reader's terminal).
MAX_SHOWN_CHARS = 200
_LISTS = {
    "members": "declare at least one [[members]] entry",
    "tasks": "declare at least one [[tasks]] entry (the initial work)",
}
_BY_TYPE = {
    "missing": "is required",
    "string_type": "must be a non-empty string",
    "string_too_short": "must be a non-empty string",
    "int_type": "must be an integer",
    "float_type": "must be a number of seconds",
    "finite_number": "must be a finite number of seconds",
    "model_type": "must be a table",
    "dict_type": "must be a table",
}


class TeamFileError(ValueError):
    """Every problem of one file; `key` and `reason` are the first one's (the one a reader
    meets first), `problems` all of them in order."""

    def __init__(self, file: str, key: str, reason: str,
                 more: Sequence[Problem] = ()) -> None:
        self.file, self.key, self.reason = file, key, reason
        self.problems: tuple[Problem, ...] = ((key, reason), *more)
        lines = [f"{file}: {_shown(k)}: {_shown(r)}" for k, r in self.problems[:MAX_SHOWN]]
        if (hidden := len(self.problems) - MAX_SHOWN) > 0:
            lines.append(f"{file}: and {hidden} more problems")
        super().__init__("\n".join(lines))

    @classmethod
    def of(cls, file: str, problems: Sequence[Problem]) -> TeamFileError:
        (key, reason), *more = problems
        return cls(file, key, reason, more)


def _shown(text: str) -> str:
    """`text` for a terminal: non-printable characters escaped, long text cut short."""
    safe = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text[:MAX_SHOWN_CHARS + 1])
    return safe if len(text) <= MAX_SHOWN_CHARS else safe[:MAX_SHOWN_CHARS] + "…"


def key_of(loc: Iterable[str | int]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else part)
    return key


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, typing.Annotated):
        for arg in get_args(annotation):
            if (found := _model_in(arg)) is not None:
                return found
    return None


def _allowed_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys of the table that holds `loc`'s last part (for "unknown key" reasons)."""
    model: type[BaseModel] | None = TeamFile
    for part in loc[:-1]:
        if model is None:
            return []
        if isinstance(part, str):
            field = model.model_fields.get(part)
            model = _model_in(field.annotation) if field is not None else None
    return sorted(model.model_fields) if model is not None else []


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _reason(error: ErrorDetails) -> str:
    kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx") or {}
    if kind == TEAM_FILE_ERROR:
        return error["msg"]
    if len(loc) == 1 and loc[0] in _LISTS and kind in ("missing", "too_short", "list_type"):
        return _LISTS[str(loc[0])]
    if kind == "extra_forbidden":
        return f"unknown key (allowed: {', '.join(_allowed_at(loc))})"
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx['ge'])}, got {error['input']}"
    if kind == "greater_than":
        return f"must be greater than {_number(ctx['gt'])}, got {error['input']}"
    if kind == "list_type":
        return "must be a list of tables" if loc[-1] == "approvals" else (
            "must be a list of strings")
    return _BY_TYPE.get(kind, error["msg"])


def shape_problems(error: ValidationError) -> list[Problem]:
    """pydantic's errors, in its order (the models' key order: a reader's order)."""
    return [(key_of(e["loc"]), _reason(e)) for e in error.errors(include_url=False)]
