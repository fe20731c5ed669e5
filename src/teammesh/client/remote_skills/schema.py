"""JSON schemas inferred from Python signatures and type hints (codex-manager's mapping).

Every schema produced here is self-contained: the definitions a pydantic model brings are
hoisted into one `$defs` table at the schema's root (`schema_defs.py`), so each `$ref`
resolves for any standard validator."""

from __future__ import annotations

import builtins
import collections.abc as cabc
import dataclasses
import enum
import inspect
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, get_args, get_origin

from teammesh.client.remote_skills.context import SkillContext
from teammesh.client.remote_skills.docstrings import Docstring
from teammesh.client.remote_skills.schema_defs import hoist_definitions

MAX_DEPTH = 12
JsonSchema = dict[str, Any]

_ARRAY_ORIGINS: tuple[Any, ...] = (
    list,
    set,
    frozenset,
    cabc.Sequence,
    cabc.MutableSequence,
    cabc.Set,
    cabc.MutableSet,
    cabc.Collection,
    cabc.Iterable,
)
_MAPPING_ORIGINS: tuple[Any, ...] = (dict, cabc.Mapping, cabc.MutableMapping)
_WRAPPERS: tuple[Any, ...] = (
    (typing.Required, typing.NotRequired, typing.ReadOnly)
    if hasattr(typing, "ReadOnly")
    else (typing.Required, typing.NotRequired)
)


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return None


def _enum_schema(values: list[Any]) -> JsonSchema:
    schema: JsonSchema = {"enum": values}
    kinds = {_kind(v) for v in values}
    if kinds == {"integer", "number"}:
        schema["type"] = "number"
    elif len(kinds) == 1 and None not in kinds and "null" not in kinds:
        schema["type"] = kinds.pop()
    return schema


def is_context_annotation(annotation: Any) -> bool:
    return annotation is SkillContext or annotation == "SkillContext"


class _Inferrer:
    def __init__(
        self,
        namespace: dict[str, Any],
        class_namespace: dict[str, Any] | None,
        defs: JsonSchema | None = None,
    ) -> None:
        self.namespace = namespace
        self.class_namespace = class_namespace or {}
        # The root's `$defs`, shared with the inferrers of nested signatures (see `_root`).
        self.defs: JsonSchema = {} if defs is None else defs

    def resolve_string(self, name: str) -> Any:
        for table in (self.class_namespace, self.namespace):
            if name in table:
                return table[name]
        if name == "Any":
            return Any
        if name == "None":
            return None
        return getattr(builtins, name, None) if hasattr(builtins, name) else _UNRESOLVED

    def schema(self, tp: Any, depth: int = 0, seen: frozenset[Any] = frozenset()) -> JsonSchema:
        if depth > MAX_DEPTH:
            return {"type": "object"}
        if isinstance(tp, typing.ForwardRef):
            tp = tp.__forward_arg__
        if isinstance(tp, str):
            tp = self.resolve_string(tp.strip())
            if tp is _UNRESOLVED:
                return {}
        if tp is inspect.Parameter.empty or tp is Any:
            return {}
        if tp is None or tp is type(None):
            return {"nullable": True}
        origin = get_origin(tp)
        args = get_args(tp)
        if origin is typing.Annotated or origin in _WRAPPERS:
            return self.schema(args[0], depth + 1, seen)
        if origin is typing.Union or origin is types.UnionType:
            return self._union(args, depth, seen)
        if origin is typing.Literal:
            return _enum_schema(list(args))
        if origin is tuple:
            return self._tuple(args, depth, seen)
        if origin in _ARRAY_ORIGINS:
            schema: JsonSchema = {"type": "array"}
            if args and (items := self.schema(args[0], depth + 1, seen)):
                schema["items"] = items
            return schema
        if origin in _MAPPING_ORIGINS:
            schema = {"type": "object"}
            if len(args) == 2 and (values := self.schema(args[1], depth + 1, seen)):
                schema["additionalProperties"] = values
            return schema
        if isinstance(tp, type):
            return self._class(tp, depth, seen)
        return {}

    def _union(self, args: tuple[Any, ...], depth: int, seen: frozenset[Any]) -> JsonSchema:
        members = [a for a in args if a is not type(None) and a is not None]
        nullable = len(members) != len(args)
        if len(members) == 1:
            schema = dict(self.schema(members[0], depth + 1, seen))
        else:
            schema = {"anyOf": [self.schema(m, depth + 1, seen) for m in members]}
        if nullable:
            schema["nullable"] = True
        return schema

    def _tuple(self, args: tuple[Any, ...], depth: int, seen: frozenset[Any]) -> JsonSchema:
        schema: JsonSchema = {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            items = self.schema(args[0], depth + 1, seen)
        elif len(args) == 1:
            items = self.schema(args[0], depth + 1, seen)
        elif args:
            items = {"anyOf": [self.schema(a, depth + 1, seen) for a in args]}
        else:
            items = {}
        if items:
            schema["items"] = items
        return schema

    def _class(self, tp: type, depth: int, seen: frozenset[Any]) -> JsonSchema:
        if issubclass(tp, bool):
            return {"type": "boolean"}
        if issubclass(tp, enum.Enum):
            return _enum_schema([member.value for member in tp])
        if issubclass(tp, int):
            return {"type": "integer"}
        if issubclass(tp, float):
            return {"type": "number"}
        if issubclass(tp, str):
            return {"type": "string"}
        if issubclass(tp, list | tuple | set | frozenset):
            return {"type": "array"}
        if issubclass(tp, dict) and not typing.is_typeddict(tp):
            return {"type": "object"}
        if tp in seen:
            return {"type": "object"}
        seen = seen | {tp}
        if typing.is_typeddict(tp):
            return self._typed_dict(tp, depth, seen)
        if dataclasses.is_dataclass(tp):
            return self._dataclass(tp, depth, seen)
        model_json_schema = getattr(tp, "model_json_schema", None)
        if callable(model_json_schema):
            produced = model_json_schema()
            if not isinstance(produced, dict):
                return {"type": "object"}
            return hoist_definitions(dict(produced), self.defs)
        return self._plain_class(tp, depth, seen)

    def _hints(self, tp: Any) -> dict[str, Any]:
        try:
            return typing.get_type_hints(tp, include_extras=True)
        except Exception:
            return dict(getattr(tp, "__annotations__", {}))

    def _typed_dict(self, tp: type, depth: int, seen: frozenset[Any]) -> JsonSchema:
        hints = self._hints(tp)
        required_keys = set(getattr(tp, "__required_keys__", set(hints)))
        properties: JsonSchema = {}
        required: list[str] = []
        for name, hint in hints.items():
            origin = get_origin(hint)
            if origin is typing.Required or (
                origin is typing.Annotated and get_origin(get_args(hint)[0]) is typing.Required
            ):
                required_keys.add(name)
            elif origin is typing.NotRequired:
                required_keys.discard(name)
            properties[name] = self.schema(hint, depth + 1, seen)
            if name in required_keys:
                required.append(name)
        return _object(properties, required, additional=False)

    def _dataclass(self, tp: type, depth: int, seen: frozenset[Any]) -> JsonSchema:
        hints = self._hints(tp)
        properties: JsonSchema = {}
        required: list[str] = []
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            properties[f.name] = self.schema(hints.get(f.name, f.type), depth + 1, seen)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        return _object(properties, required, additional=False)

    def _plain_class(self, tp: type, depth: int, seen: frozenset[Any]) -> JsonSchema:
        init = tp.__dict__.get("__init__") if "__init__" in tp.__dict__ else None
        if init is not None:
            inferred = _signature_schema(
                init, depth=depth + 1, seen=seen, skip_first=True, defs=self.defs
            )
            if inferred is not None and inferred[0].get("properties"):
                return inferred[0]
        hints = self._hints(tp)
        properties: JsonSchema = {}
        required: list[str] = []
        for name, hint in hints.items():
            if (
                name.startswith("_")
                or get_origin(hint) is typing.ClassVar
                or hint is typing.ClassVar
            ):
                continue
            properties[name] = self.schema(hint, depth + 1, seen)
            if not hasattr(tp, name):
                required.append(name)
        if properties:
            return _object(properties, required, additional=False)
        return {"type": "object"}


_UNRESOLVED = object()


def _object(properties: JsonSchema, required: list[str], *, additional: bool) -> JsonSchema:
    schema: JsonSchema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": additional,
    }
    if required:
        schema["required"] = required
    return schema


def _namespaces(fn: Callable[..., Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    target = inspect.unwrap(fn)
    module = sys.modules.get(getattr(target, "__module__", "") or "")
    namespace = dict(vars(module)) if module is not None else {}
    namespace.update(getattr(target, "__globals__", {}))
    class_namespace: dict[str, Any] | None = None
    qualname = getattr(target, "__qualname__", "")
    if "." in qualname and "<locals>" not in qualname:
        owner: Any = module
        for part in qualname.split(".")[:-1]:
            owner = getattr(owner, part, None)
        if isinstance(owner, type):
            class_namespace = dict(vars(owner))
    return namespace, class_namespace


def _resolved_hints(fn: Callable[..., Any], namespace: dict[str, Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, globalns=namespace, include_extras=True)
    except Exception:
        return {}


def _root(schema: JsonSchema, defs: JsonSchema) -> JsonSchema:
    if defs:
        schema["$defs"] = defs
    return schema


def infer_signature_schema(fn: Callable[..., Any]) -> tuple[JsonSchema, str | None] | None:
    """`(input schema, name of the SkillContext parameter)`, or `None` when the callable has
    no inspectable signature."""
    defs: JsonSchema = {}
    inferred = _signature_schema(fn, depth=0, seen=frozenset(), skip_first=False, defs=defs)
    return None if inferred is None else (_root(inferred[0], defs), inferred[1])


def _signature_schema(
    fn: Callable[..., Any],
    *,
    depth: int,
    seen: frozenset[Any],
    skip_first: bool,
    defs: JsonSchema,
) -> tuple[JsonSchema, str | None] | None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    namespace, class_namespace = _namespaces(fn)
    inferrer = _Inferrer(namespace, class_namespace, defs)
    hints = _resolved_hints(fn, namespace)
    properties: JsonSchema = {}
    required: list[str] = []
    additional = False
    context_param: str | None = None
    params = list(signature.parameters.values())
    if skip_first and params:
        params = params[1:]
    for param in params:
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            additional = True
            continue
        annotation = hints.get(param.name, param.annotation)
        if is_context_annotation(annotation):
            context_param = param.name
            continue
        properties[param.name] = inferrer.schema(annotation, depth, seen)
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    return _object(properties, required, additional=additional), context_param


def infer_output_schema(fn: Callable[..., Any]) -> JsonSchema | None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    namespace, class_namespace = _namespaces(fn)
    annotation = _resolved_hints(fn, namespace).get("return", signature.return_annotation)
    if annotation is inspect.Signature.empty or annotation is Any:
        return None
    inferrer = _Inferrer(namespace, class_namespace)
    schema = inferrer.schema(annotation)
    return _root(schema, inferrer.defs) if schema else None


def enrich_with_docstring(
    schema: JsonSchema, doc: Docstring, *, add_undeclared: bool
) -> JsonSchema:
    """Fill in descriptions from the docstring without overriding declared ones. Only an
    inferred schema gains properties that appear in the docstring alone."""
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, text in doc.params.items():
            if not text:
                continue
            current = properties.get(name)
            if isinstance(current, dict):
                description = current.get("description")
                if not (isinstance(description, str) and description.strip()):
                    current["description"] = text
            elif current is None and add_undeclared:
                properties[name] = {"description": text}
    description = schema.get("description")
    if doc.description and not (isinstance(description, str) and description.strip()):
        schema["description"] = doc.description
    return schema
