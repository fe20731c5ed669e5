"""A session's message body carries its skill catalog as one snapshot per catalog
(`SkillRegistry.wire_tools`), not a deep copy of every schema per turn; any change to the
catalog, however made, makes a new snapshot, and the snapshot never aliases a skill's own
schema (which its compiled validator was made from)."""

from __future__ import annotations

from typing import Any

from teammesh.client.remote_skills.registry import SkillRegistry, build_skill

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"t": {"type": "string"}},
                          "required": ["t"]}


def _skill(name: str, schema: dict[str, Any] | None = None) -> Any:
    return build_skill(name, lambda t: t, description=f"{name} skill",
                       input_schema=schema or SCHEMA)


def test_one_snapshot_per_catalog_equal_to_dynamic_tools() -> None:
    registry = SkillRegistry()
    registry.register(_skill("b"))
    registry.register(_skill("a"))
    first = registry.wire_tools()
    assert first == registry.dynamic_tools()
    assert [tool["name"] for tool in first] == ["a", "b"]
    assert registry.wire_tools() is first  # the next turn: no copy
    schema = registry.skills["a"].input_schema
    assert first[0]["inputSchema"] == schema and first[0]["inputSchema"] is not schema


def test_every_change_to_the_catalog_makes_a_new_snapshot() -> None:
    registry = SkillRegistry()
    registry.register(_skill("a"))
    before = registry.wire_tools()
    registry.register(_skill("a", {"type": "object", "properties": {}}))  # replaced
    replaced = registry.wire_tools()
    assert replaced is not before and replaced[0]["inputSchema"] == {
        "type": "object", "properties": {}}
    registry.register(_skill("c"))
    assert [tool["name"] for tool in registry.wire_tools()] == ["a", "c"]
    registry.skills.pop("c")  # straight through the dict, as a temporary skill leaves
    assert [tool["name"] for tool in registry.wire_tools()] == ["a"]
    registry.unregister("a")
    assert registry.wire_tools() == []
