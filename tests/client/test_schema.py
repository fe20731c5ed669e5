"""Schema inference from signatures, type hints and docstrings; the catalog texts."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, Optional, TypedDict

import pytest

from teammesh.client import AsyncCodexManager, SkillContext
from teammesh.client.remote_skills.docstrings import parse_docstring
from teammesh.client.remote_skills.registry import build_skill
from teammesh.client.remote_skills.schema import _Inferrer


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


@dataclass
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)


class Plain:
    def __init__(self, name: str, size: int = 1, **extra: Any) -> None:
        self.name = name


class Model:
    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        return {"title": "Model", "type": "object"}


class Node:
    value: int
    children: list[Node]


SCHEMA = _Inferrer(globals(), None).schema


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (Any, {}),
        (None, {"nullable": True}),
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (Optional[int], {"type": "integer", "nullable": True}),  # noqa: UP045
        (int | None, {"type": "integer", "nullable": True}),
        (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (
            int | str | None,
            {"anyOf": [{"type": "integer"}, {"type": "string"}], "nullable": True},
        ),
        (Literal["a", "b"], {"enum": ["a", "b"], "type": "string"}),
        (Literal[1, 2.5], {"enum": [1, 2.5], "type": "number"}),
        (Literal[1, "a"], {"enum": [1, "a"]}),
        (Color, {"enum": ["red", "blue"], "type": "string"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (set[Any], {"type": "array"}),
        (list, {"type": "array"}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            tuple[int, str],
            {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}},
        ),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (Mapping[str, Any], {"type": "object"}),
        (dict, {"type": "object"}),
        (Annotated[int, "meta"], {"type": "integer"}),
        (
            Movie,
            {
                "type": "object",
                "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
                "additionalProperties": False,
                "required": ["title"],
            },
        ),
        (
            Point,
            {
                "type": "object",
                "properties": {
                    "x": {"type": "integer"},
                    "y": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "additionalProperties": False,
                "required": ["x"],
            },
        ),
        (
            Plain,
            {
                "type": "object",
                "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
                "additionalProperties": True,
                "required": ["name"],
            },
        ),
        (Model, {"title": "Model", "type": "object"}),
        (bytes, {"type": "object"}),
        ("Color", {"enum": ["red", "blue"], "type": "string"}),
        ("Unknown", {}),
    ],
)
def test_type_mapping(annotation: Any, expected: dict[str, Any]) -> None:
    assert SCHEMA(annotation) == expected


def test_recursive_class_stops() -> None:
    schema = SCHEMA(Node)
    assert schema["properties"]["children"] == {"type": "array", "items": {"type": "object"}}


def test_signature_inference_with_context_and_docstring() -> None:
    def queue(
        owner: Literal["docs", "dev"], task: str, ctx: SkillContext, *args: Any, limit: int = 3
    ) -> dict[str, Any]:
        """Queue a task.

        More words here.

        Args:
            owner (str): who gets it
            task: what to do,
                in detail
            ghost: only in the docstring
        Returns:
            dict: the queue state
        """
        return {}

    skill = build_skill("team_queue", queue)
    assert skill.context_param == "ctx"
    assert skill.description == "Queue a task.\n\nMore words here."
    assert skill.input_schema == {
        "type": "object",
        "properties": {
            "owner": {"enum": ["docs", "dev"], "type": "string", "description": "who gets it"},
            "task": {"type": "string", "description": "what to do, in detail"},
            "limit": {"type": "integer"},
            "ghost": {"description": "only in the docstring"},
        },
        "additionalProperties": False,
        "required": ["owner", "task"],
        "description": "Queue a task.\n\nMore words here.",
    }
    assert skill.output_schema == {"type": "object"}
    assert skill.output_description == "the queue state"


def test_explicit_schema_is_copied_and_only_declared_properties_enriched() -> None:
    explicit = {"type": "object", "properties": {"note": {"type": "string"}}}

    def mark_done(note: str = "", other: int = 0) -> None:
        """Done.

        :param note: a closing note
        :param other: not declared
        """

    skill = build_skill(" mark ", mark_done, description="  ", input_schema=explicit)
    assert skill.name == "mark"
    assert skill.input_schema == {
        "type": "object",
        "properties": {"note": {"type": "string", "description": "a closing note"}},
        "description": "Done.",
    }
    assert explicit == {"type": "object", "properties": {"note": {"type": "string"}}}
    assert skill.output_schema == {"nullable": True}


def test_kwargs_and_fallback_description() -> None:
    def anything(**kwargs: Any) -> Any:
        return kwargs

    skill = build_skill("anything", anything)
    assert skill.description == "Remote skill anything"
    assert skill.input_schema == {"type": "object", "properties": {}, "additionalProperties": True}
    assert skill.output_schema is None


def test_numpy_docstring() -> None:
    doc = parse_docstring(
        """Summary line.

        Parameters
        ----------
        count : int
            how many
        Returns
        -------
        int
            the total
        """
    )
    assert doc.short == "Summary line."
    assert doc.params == {"count": "how many"}
    assert doc.returns == "the total"


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        build_skill("  ", lambda: None)


@pytest.mark.anyio
async def test_catalog_payloads_and_instruction_text() -> None:
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        draft = cm.remote_skills.new_draft()

        @draft.skill(description="Write a note.")
        def b_note(note: str) -> dict[str, Any]:
            return {}

        @draft.skill(name="a_first", input_schema={"type": "object", "properties": {}})
        def whatever() -> str:
            """Say hi.

            Returns:
                a greeting
            """
            return "hi"

        with pytest.raises(TypeError):
            draft.skill(b_note)  # type: ignore[call-arg,arg-type]

        tools = draft.dynamic_tools()
        assert [t["name"] for t in tools] == ["a_first", "b_note"]
        assert set(tools[1]) == {"name", "description", "inputSchema"}
        assert draft.instruction_text() == "\n".join(
            [
                "Session remote skill catalog (Python-managed):",
                "Use these capabilities when relevant and do not invent unknown tools.",
                "- a_first: Say hi.",
                '  input_schema: {"description": "Say hi.", "properties": {}, "type": "object"}',
                '  output_schema: {"type": "string"}',
                "  output_description: a greeting",
                "- b_note: Write a note.",
                '  input_schema: {"additionalProperties": false, "properties": {"note": '
                '{"type": "string"}}, "required": ["note"], "type": "object"}',
                '  output_schema: {"type": "object"}',
            ]
        )
        assert draft.inject_request("do it").endswith("\n\nUser request:\ndo it")
        empty = cm.remote_skills.new_draft()
        assert empty.instruction_text() == ""
        assert empty.inject_request("x") == "x"
        # Bound handles are create-time only.
        with pytest.raises(RuntimeError, match="create-time only"):
            cm.remote_skills.session("s1").register("x", lambda: None)
        with pytest.raises(RuntimeError, match="create-time only"):
            cm.remote_skills.using("x")
