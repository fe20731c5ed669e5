"""Tool arguments checked against a skill's input schema by a maintained JSON Schema
implementation (`jsonschema`, Draft 2020-12), compiled once per skill at registration.

Why a library: the hand-written subset this replaces ignored `$ref` (fields of a nested model
were never checked) and a third of the keywords. What stays ours is the shape of the answer:
every problem as `<path>: <reason>` (rendered in `validation_reasons.py`), all of them,
in a fixed order, so the agent reads the same text on every run.

Two house rules on top of the standard:
- `nullable: true` (codex-manager's mapping writes `Optional[X]` that way) lets `null` through
  every keyword of that schema, as it did before;
- no reference is fetched from the network: a `$ref` must resolve inside the schema, which is
  checked when the skill is registered, not when an agent first calls it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from teammesh.client.remote_skills import validation_guards as guards
from teammesh.client.remote_skills.validation_reasons import render_errors

JsonSchema = dict[str, Any]
_Keyword = Callable[[Validator, Any, Any, JsonSchema], Iterable[ValidationError] | None]
# Keys whose values are data, not schemas: a "$ref" inside them is not a reference.
_DATA_KEYS = frozenset({"const", "enum", "default", "examples"})
# Arrays and objects inside one another, at most. jsonschema descends recursively: an agent's
# deeply nested value against a recursive schema would exhaust the stack (seen: a Rust panic
# in `rpds`, a BaseException no handler catches), so such a value is refused unread.
MAX_NESTING = 64
# Problems named in one answer: enough to fix a call, not a page per wrong array item.
MAX_LISTED = 20


class InvalidInputSchema(ValueError):
    """A skill's input schema is not a usable Draft 2020-12 schema (refused at registration)."""


def _nullable(check: _Keyword) -> _Keyword:
    def keyword(
        validator: Validator, value: Any, instance: Any, schema: JsonSchema
    ) -> Iterator[ValidationError]:
        if instance is None and schema.get("nullable") is True:
            return
        guards.spend_step()
        yield from check(validator, value, instance, schema) or ()

    return keyword


def _required(
    validator: Validator, required: Any, instance: Any, schema: JsonSchema
) -> Iterator[ValidationError]:
    # Ours only for the message: jsonschema's error does not say which name is missing
    # except inside its English sentence.
    if not validator.is_type(instance, "object"):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(f"missing required property {name!r}")


def _is_array(_: Any, value: Any) -> bool:
    return isinstance(value, list | tuple)  # a Python caller may hand a tuple


def _is_number(_: Any, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)  # NaN and inf are not JSON


_KEYWORDS = {
    **Draft202012Validator.VALIDATORS,
    "required": _required,
    "pattern": guards.pattern,
    "patternProperties": guards.pattern_properties,
    "additionalProperties": guards.additional_properties,
    "uniqueItems": guards.unique_items,
}
_ArgumentsValidator: type[Validator] = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={name: _nullable(check) for name, check in _KEYWORDS.items()},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"array": _is_array, "number": _is_number}
    ),
)
_FORMATS = FormatChecker()


@_FORMATS.checks("regex")
def _is_regex(instance: object) -> bool:
    # The stock check lets re.compile's RecursionError (a value of 5,000 "(") escape.
    if not isinstance(instance, str):
        return True
    try:
        re.compile(instance)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


_OFFLINE: Registry[Any] = Registry()  # empty: an unknown URI is never fetched


def _unreadable(value: Any, limit: int) -> str | None:
    """Why `value` is refused before any keyword runs: containers nested deeper than `limit`
    (the stack), or a NaN/infinity anywhere (not JSON: `1e400` parses as inf, and
    `minimum`/`maximum` let NaN through). Iterative: the check itself is safe."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "holds NaN or infinity (not JSON numbers)"
        children = item.values() if isinstance(item, dict) else (
            item if isinstance(item, list | tuple) else None)
        if children is None:
            continue
        if depth >= limit:
            return f"nested deeper than {limit} arrays or objects"
        pending.extend((child, depth + 1) for child in children)
    return None


def _check_references(schema: JsonSchema) -> None:
    """Look every reference up once, as the validator would, before any call arrives."""
    root = _OFFLINE.resolver_with_root(DRAFT202012.create_resource(schema))

    def walk(node: Any, resolver: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, resolver)
            return
        if not isinstance(node, dict):
            return
        if isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        for key in ("$ref", "$dynamicRef"):
            if isinstance(ref := node.get(key), str):
                try:
                    resolver.lookup(ref)
                except Unresolvable:
                    raise InvalidInputSchema(
                        f"{key} {ref!r} does not resolve inside the schema"
                        " (references are never fetched)") from None
        for key, value in node.items():
            if key not in _DATA_KEYS:
                walk(value, resolver)

    walk(schema, root)


def _check_termination(validator: Validator) -> None:
    """Refuse a schema whose references loop for any value (`{"$ref": "#"}`, two definitions
    naming each other): every call would otherwise end in a RecursionError."""
    probes: tuple[Any, ...] = (None, {}, [])
    for probe in probes:
        try:
            with guards.budgeted():
                for _ in validator.iter_errors(probe):
                    pass
        except RecursionError:
            raise InvalidInputSchema("its references loop without end (a $ref chain that"
                                     " comes back to itself)") from None
        except (guards.CheckTooCostly, Unresolvable):
            pass  # not a loop; a dynamic reference is reported per call


def _compile(schema: JsonSchema) -> Validator:
    """Check `schema` (Draft 2020-12, references resolvable, no endless loop) and compile it."""
    try:
        _ArgumentsValidator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
        raise InvalidInputSchema(f"not a Draft 2020-12 schema at {where}: "
                                 f"{exc.message}") from None
    validator: Validator = _ArgumentsValidator(schema, registry=_OFFLINE,
                                               format_checker=_FORMATS)
    _check_references(schema)
    _check_termination(validator)
    return validator


@functools.lru_cache(maxsize=512)
def _compiled_once(canonical: str) -> Validator:
    """One compiled validator per distinct schema text. A team registers the same five
    skills for every member: checking and compiling each copy cost ~1.6 ms a skill, a second
    at 128 members. The validator is built from its own parse of the text, so a caller that
    later mutates its schema dict changes nothing shared (`validator_for` then recompiles)."""
    return _compile(json.loads(canonical))


# Small argument objects seen before are answered from memory: an agent calls the same tool
# with the same few arguments again and again (`team_pull_work` with `{}` every turn), and
# the verdict is a pure function of the JSON value. Bounded per skill, in count and size.
_REMEMBERED = 128
_REMEMBERED_CHARS = 256


class ArgumentsValidator:
    """One input schema, checked and compiled; `problems()` lists what a value gets wrong."""

    __slots__ = ("_known", "_validator", "schema")

    def __init__(self, schema: JsonSchema) -> None:
        self.schema = schema
        self._known: dict[str, list[str]] = {}
        try:
            canonical = json.dumps(schema, sort_keys=True)
        except (TypeError, ValueError, RecursionError):  # not JSON text: compiled on its own
            self._validator: Validator = _compile(schema)
        else:
            self._validator = _compiled_once(canonical)

    def problems(self, value: Any) -> list[str]:
        """Every violation as `<path>: <reason>`, sorted by path then keyword; [] if none."""
        key = _small_json(value)
        if key is not None and (known := self._known.get(key)) is not None:
            return list(known)
        found = self._problems(value)
        if key is not None:
            if len(self._known) >= _REMEMBERED:
                self._known.clear()
            self._known[key] = list(found)
        return found

    def _problems(self, value: Any) -> list[str]:
        if (unreadable := _unreadable(value, MAX_NESTING)) is not None:
            return [f"$: {unreadable}"]
        try:
            with guards.budgeted():
                return render_errors(self._validator, self._validator.iter_errors(value))
        except Unresolvable as exc:  # a reference reached only through a dynamic scope
            return [f"$: the schema has a reference that does not resolve ({exc})"]
        except guards.CheckTooCostly as exc:
            return [f"$: too costly to check ({exc})"]
        except RecursionError:  # a $ref cycle reached by this value, or a deep ref chain
            return ["$: nested too deeply to check against this schema (a $ref cycle, or"
                    " references many levels deep for each level of the value)"]

    def problem(self, value: Any) -> str | None:
        """The violations joined into one line (`; `), at most `MAX_LISTED` of them named,
        or `None` when the value conforms."""
        found = self.problems(value)
        if not found:
            return None
        more = len(found) - MAX_LISTED
        return "; ".join(found[:MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")


def _small_json(value: Any) -> str | None:
    """The value's canonical JSON when it is plain JSON data and short, else None. Only
    dicts, lists, strings, numbers, booleans and null qualify: a tuple or a subclass, which
    the schema checks may tell apart from what they print as, is always checked anew."""
    if not _plain(value, 8):
        return None
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if len(text) <= _REMEMBERED_CHARS else None


def _plain(value: Any, depth: int) -> bool:
    kind = value.__class__
    if kind is dict:
        return depth > 0 and all(k.__class__ is str and _plain(v, depth - 1)
                                 for k, v in value.items())
    if kind is list:
        return depth > 0 and all(_plain(v, depth - 1) for v in value)
    return value is None or kind in (str, int, float, bool)


def compile_arguments_validator(schema: JsonSchema | None) -> ArgumentsValidator | None:
    """The compiled validator for a skill's input schema (`None`: nothing to check)."""
    return None if schema is None else ArgumentsValidator(schema)


def validator_for(
    schema: JsonSchema | None, compiled: ArgumentsValidator | None
) -> ArgumentsValidator | None:
    """`compiled` (the registration's) while it is still `schema`'s; a schema replaced on a
    registered skill afterwards is compiled anew rather than checked against the old one."""
    if compiled is not None and compiled.schema is schema:
        return compiled
    return compile_arguments_validator(schema)


def validation_error(value: Any, schema: Any) -> str | None:
    """One-off check (compiles every call: registered skills use their compiled validator)."""
    if not isinstance(schema, dict) or not schema:
        return None
    return ArgumentsValidator(schema).problem(value)
