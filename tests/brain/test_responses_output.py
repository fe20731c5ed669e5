"""Several tool calls in one response: one output item each, in order, with their indexes."""

from __future__ import annotations

import json

from teammesh.brain.responses_output import output_items, sse_events, text_chunks, usage
from teammesh.brain.types import Action, ToolCall


def test_several_calls_become_several_function_call_items() -> None:
    action = Action(tool_calls=[ToolCall("call_a_1", "team_pull_work", {}),
                                ToolCall("call_a_2", "team_read_board", {"limit": 3})])
    items = output_items(action, {"team_read_board": "team"})
    assert [(i["type"], i["call_id"], i.get("namespace")) for i in items] == [
        ("function_call", "call_a_1", None), ("function_call", "call_a_2", "team")]
    assert json.loads(items[1]["arguments"]) == {"limit": 3}
    events = list(sse_events("resp_1", "m", items, usage(10, 10)))
    assert [(e["type"], e.get("output_index")) for e in events] == [
        ("response.created", None),
        ("response.output_item.added", 0), ("response.output_item.done", 0),
        ("response.output_item.added", 1), ("response.output_item.done", 1),
        ("response.completed", None),
    ]
    assert events[-1]["response"]["output"] == items


def test_text_chunks_rebuild_the_text() -> None:
    text = "developer: published implementation, queued docs and reviewer handoffs.\nTask: X"
    chunks = text_chunks(text)
    assert len(chunks) > 2 and "".join(chunks) == text
    assert text_chunks("") == []
