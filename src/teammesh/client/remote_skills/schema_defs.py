"""One `$defs` table at the root of an inferred schema.

A pydantic model's `model_json_schema()` is a document of its own: its `$defs` sit at its
root and its references read `#/$defs/Name`. Placed as a property of a skill's input schema,
those references would point at the input schema's root, where nothing is defined (a
standard validator raises `PointerToNowhere`). So every model's definitions are moved to the
one root table; a name already taken there by a different definition (two models called
`Item` in two modules) gets a numbered name, and the references are rewritten to match.
"""

from __future__ import annotations

from typing import Any

JsonSchema = dict[str, Any]
_PREFIX = "#/$defs/"


def rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    """A copy of `node` whose `#/$defs/<old>` references read `#/$defs/<new>`."""
    if isinstance(node, list):
        return [rewrite_refs(item, renames) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: rewrite_refs(value, renames) for key, value in node.items()}
    ref = out.get("$ref")
    if renames and isinstance(ref, str) and ref.startswith(_PREFIX):
        name, slash, rest = ref[len(_PREFIX):].partition("/")
        if name in renames:
            out["$ref"] = f"{_PREFIX}{renames[name]}{slash}{rest}"
    return out


def _fresh(name: str, taken: set[str]) -> str:
    number = 2
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"


def merge_definitions(root: JsonSchema, local: JsonSchema) -> dict[str, str]:
    """Add `local` definitions to `root` (equal ones shared); the renames it had to make."""
    renames: dict[str, str] = {}
    changed = True
    while changed:  # a rename changes the bodies that refer to it, which may then clash too
        changed = False
        for name, body in local.items():
            final = renames.get(name, name)
            if final in root and root[final] != rewrite_refs(body, renames):
                renames[name] = _fresh(name, set(root) | set(renames.values()) | set(local))
                changed = True
    for name, body in local.items():
        root[renames.get(name, name)] = rewrite_refs(body, renames)
    return renames


def hoist_definitions(schema: JsonSchema, root: JsonSchema) -> JsonSchema:
    """`schema` without its own `$defs`: they move into `root`, references follow."""
    local = schema.pop("$defs", None)
    if not isinstance(local, dict) or not local:
        return schema
    return dict(rewrite_refs(schema, merge_definitions(root, local)))
