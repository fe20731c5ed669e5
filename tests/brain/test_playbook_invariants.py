"""Invariants over many generated prompts (a fixed seed, so every run checks the same
cases): decide never raises, always ends a turn, calls only catalog tools, and without
explicit JSON arguments never sends arguments its schema refuses."""

from __future__ import annotations

import random

from teammesh.brain.playbook import decide
from teammesh.brain.types import ConversationItem, ToolOutput, UserMessage

from .schemas import schema_errors, spec_responder, team_tools

WORDS = [
    "call", "team_pull_work", "if", "the", "task", "is", "null", ",", ";", ".", "reply",
    "with", "queue", "docs", "reviewer", "handoff", "using", "team_queue_work", "do not",
    "otherwise", "mark done", "read the board", "publish an artifact", "team_mark_done",
    "unless", "blocked", "coherent", "exactly", "one", "and", "then", "\n2.", "1.",
    "exec_command", "with {", "}",
]


def test_generated_prompts_keep_the_invariants() -> None:
    rng = random.Random(20261125)
    for _ in range(400):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 40)))
        prompt = f"You are the developer.\nProcess for this turn:\n1. {words}\n"
        tools = team_tools(rng.choice([["docs"], ["docs", "reviewer"], []]))
        by_name = {t.name: t for t in tools}
        conversation: list[ConversationItem] = [UserMessage(prompt)]
        for _step in range(30):
            action = decide(conversation, tools)
            if action.is_final:
                assert action.message and action.message.splitlines()[0].endswith(".")
                break
            for call in action.tool_calls:
                assert call.name in by_name, prompt
                if "with {" not in prompt:  # explicit JSON arguments are sent as written
                    errors = schema_errors(call.arguments, by_name[call.name].input_schema)
                    assert errors == [], (prompt, call)
                text, ok = spec_responder(rng.choice(["T", None]))(call)
                if rng.random() < 0.2:
                    text, ok = "refused: not now", False
                conversation += [call, ToolOutput(call.call_id, text, ok)]
        else:
            raise AssertionError(f"no final message for {prompt!r}")
