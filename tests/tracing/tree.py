"""Span trees for assertions and for reading: finished spans (SDK `ReadableSpan`s or spans
decoded from OTLP) as nested (name, children) tuples, children in start order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    name: str
    span_id: int
    parent_id: int | None
    trace_id: int
    start: int
    end: int
    attributes: dict[str, Any]
    status: str = "UNSET"
    children: list[Node] = field(default_factory=list)

    def shape(self) -> tuple[str, tuple[Any, ...]]:
        return (self.name, tuple(child.shape() for child in self.children))

    def lines(self, depth: int = 0) -> list[str]:
        took = (self.end - self.start) / 1e6
        out = [f"{'  ' * depth}- {self.name} ({took:.2f} ms)"]
        for child in self.children:
            out += child.lines(depth + 1)
        return out

    def walk(self) -> Iterable[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


def node_of(span: Any) -> Node:
    parent = span.parent.span_id if span.parent is not None else None
    return Node(span.name, span.context.span_id, parent, span.context.trace_id,
                span.start_time, span.end_time, dict(span.attributes or {}),
                span.status.status_code.name)


def build(nodes: Iterable[Node]) -> list[Node]:
    """The roots (spans whose parent is not among them), each with its subtree."""
    by_id = {node.span_id: node for node in nodes}
    roots: list[Node] = []
    for node in sorted(by_id.values(), key=lambda n: n.start):
        parent = by_id.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    return roots


def trees(spans: Iterable[Any]) -> list[Node]:
    return build(node_of(span) for span in spans)
