"""Step shapes beyond the default prompts: explicit JSON calls, built-in tools, refusals,
prompts without steps, paraphrases, prohibitions, owner enums and schema bounds."""

from __future__ import annotations

import json

from teammesh.brain.playbook import decide
from teammesh.brain.types import ToolCall, ToolOutput, ToolSpec, UserMessage
from teammesh.mesh.prompts import build_prompt, default_prompt, default_steps

from .schemas import run_turn, schema_errors, spec_responder, team_tools

EXEC = ToolSpec(
    "exec_command",
    "Runs a command.",
    {
        "type": "object",
        "properties": {
            "cmd": {"type": "string"},
            "sandbox_permissions": {"type": "string"},
            "justification": {"type": "string"},
        },
        "required": ["cmd"],
    },
)


def test_explicit_json_call_uses_exactly_those_arguments_on_a_builtin_tool() -> None:
    args = {"cmd": "touch /tmp/x", "sandbox_permissions": "require_escalated",
            "justification": "needs write access"}
    prompt = (
        "You are the tester.\nProcess for this turn:\n"
        f"1. Call exec_command with {json.dumps(args)}.\n"
        "2. Reply with the outcome.\n"
    )
    tools = [EXEC, *team_tools()]
    calls, message, _ = run_turn(prompt, tools, lambda call: ("exit code 0", True))
    assert [(c.name, c.arguments) for c in calls] == [("exec_command", args)]
    assert message.splitlines()[0] == "called exec_command."


def test_explicit_call_of_a_tool_outside_the_catalog_is_skipped_and_noted() -> None:
    prompt = "You are the tester.\nProcess for this turn:\n1. Call rm_rf with {\"path\": \"/\"}.\n"
    calls, message, _ = run_turn(prompt, team_tools(), spec_responder(None))
    assert calls == []
    assert "rm_rf is not in the tool catalog" in message.splitlines()[0]


def test_refused_call_is_reported_once_and_never_retried() -> None:
    tools = team_tools(["docs", "reviewer"])

    def respond(call: ToolCall) -> tuple[str, bool]:
        if call.name == "team_queue_work" and call.arguments["owner"] == "docs":
            return "refused: owner 'docs' already completed its work", False
        return spec_responder("plan X")(call)

    calls, message, _ = run_turn(default_prompt("developer", ["docs", "reviewer"]), tools,
                                 respond)
    assert [c.name for c in calls].count("team_queue_work") == 2
    first = message.splitlines()[0]
    assert first.startswith("published implementation, team_queue_work refused (")
    assert "queued reviewer handoff" in first and first.endswith("marked done.")


def test_refusal_recognised_from_text_without_success_flag() -> None:
    # Codex passes only the result text to the model, never the success flag.
    prompt = default_prompt("reviewer", [])
    tools = team_tools()
    conversation = [UserMessage(prompt)]
    first = decide(conversation, tools).tool_calls[0]
    conversation += [first, ToolOutput(first.call_id, json.dumps({"task": "check X"}))]
    publish = decide(conversation, tools).tool_calls[0]
    conversation += [publish, ToolOutput(publish.call_id, "Error: summary must not be blank")]
    board = decide(conversation, tools).tool_calls[0]
    assert board.name == "team_read_board"
    conversation += [board, ToolOutput(board.call_id, json.dumps({"error": "board offline"}))]
    final = decide(conversation, tools)
    # The board read failed, so it is not "coherent": no mark_done, and both refusals noted.
    assert final.is_final and final.message is not None
    line = final.message.splitlines()[0]
    assert "team_publish_artifact refused (Error: summary must not be blank)" in line
    assert "team_read_board refused (board offline)" in line


def test_queue_not_queued_because_owner_completed_is_reported() -> None:
    def respond(call: ToolCall) -> tuple[str, bool]:
        if call.name == "team_queue_work":
            return json.dumps({"queuedFor": call.arguments["owner"], "queued": False,
                               "reason": "owner_completed"}), True
        return spec_responder("plan X")(call)

    _, message, _ = run_turn(default_prompt("docs", ["reviewer"]), team_tools(["reviewer"]),
                             respond)
    assert "handoff to reviewer not queued (owner_completed)" in message.splitlines()[0]


def test_prompt_without_steps_calls_a_named_tool_once_then_replies() -> None:
    tools = team_tools()
    calls, message, _ = run_turn("Please run team_read_board and tell me what is on it.",
                                 tools, spec_responder(None))
    assert [c.name for c in calls] == ["team_read_board"]
    assert message.splitlines()[0] == "read the board."


def test_prompt_without_steps_or_tools_replies_at_once() -> None:
    calls, message, _ = run_turn("Hello there.", team_tools(), spec_responder(None))
    assert calls == []
    assert message == "nothing to do."


def test_paraphrased_steps_and_prohibitions() -> None:
    prompt = (
        "You are the docs.\nRole: write documentation.\nProcess for this turn:\n"
        "1. Pull work once.\n"
        "2. If you have no task, read the board and reply idle.\n"
        "3. Otherwise publish an artifact.\n"
        "4. Do not call team_mark_done.\n"
        "5. Hand off one reviewer task.\n"
    )
    tools = team_tools(["reviewer"])
    calls, _, _ = run_turn(prompt, tools, spec_responder("write the guide"))
    assert [c.name for c in calls] == [
        "team_pull_work", "team_publish_artifact", "team_queue_work",
    ]
    assert calls[2].arguments["owner"] == "reviewer"
    calls, message, _ = run_turn(prompt, tools, spec_responder(None))
    assert message.startswith("idle")
    assert [c.name for c in calls] == ["team_pull_work", "team_read_board"]


def test_handoff_to_a_disallowed_owner_is_skipped_not_sent() -> None:
    tools = team_tools(["reviewer"])  # the policy only allows reviewer handoffs
    calls, message, _ = run_turn(default_prompt("developer", ["docs", "reviewer"]), tools,
                                 spec_responder("plan X"))
    assert [c.arguments["owner"] for c in calls if c.name == "team_queue_work"] == ["reviewer"]
    assert "docs is not an allowed team_queue_work owner" in message.splitlines()[0]


def test_generic_six_member_roster_follows_its_handoff_graph() -> None:
    graph = {
        "planner": ["architect", "developer"],
        "architect": ["developer"],
        "developer": ["tester", "docs"],
        "tester": ["reviewer"],
        "docs": ["reviewer"],
        "reviewer": [],
    }
    for member, targets in graph.items():
        tools = team_tools(targets or list(graph))
        prompt = build_prompt(member, f"the team's {member}", default_steps(member, targets))
        calls, message, _ = run_turn(prompt, tools, spec_responder(f"{member} work item"))
        names = [c.name for c in calls]
        owners = [c.arguments["owner"] for c in calls if c.name == "team_queue_work"]
        assert owners == targets, member
        assert names[0] == "team_pull_work" and names[-1] == "team_mark_done", member
        for call in calls:
            spec = next(t for t in tools if t.name == call.name)
            assert schema_errors(call.arguments, spec.input_schema) == []
        assert message.startswith("published "), message


def test_arguments_respect_schema_bounds_and_required_unknowns() -> None:
    tool = ToolSpec(
        "team_publish_artifact",
        "",
        {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["plan", "review"]},
                "summary": {"type": "string", "minLength": 1, "maxLength": 20},
                "priority": {"type": "integer", "minimum": 3, "maximum": 5},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "draft": {"type": "boolean"},
                "optional_thing": {"type": "string"},
            },
            "required": ["kind", "summary", "priority", "tags", "draft"],
        },
    )
    prompt = "You are the developer.\nProcess for this turn:\n1. Call team_publish_artifact.\n"
    action = decide([UserMessage(prompt)], [tool])
    call = action.tool_calls[0]
    assert schema_errors(call.arguments, tool.input_schema) == []
    assert call.arguments["kind"] == "plan"
    assert call.arguments["priority"] == 3
    assert len(call.arguments["tags"]) == 1
    assert "optional_thing" not in call.arguments


def test_only_the_last_user_message_is_the_prompt() -> None:
    tools = team_tools()
    earlier = default_prompt("developer", ["docs", "reviewer"])
    pull = ToolCall("c1", "team_pull_work", {})
    conversation = [
        UserMessage(earlier), pull, ToolOutput("c1", json.dumps({"task": None})),
        UserMessage("Please run team_read_board."),
    ]
    action = decide(conversation, tools)
    assert [c.name for c in action.tool_calls] == ["team_read_board"]
    assert action.tool_calls[0].call_id not in {"c1"}


def test_chained_handoffs_do_not_nest_their_prefixes() -> None:
    calls, _, _ = run_turn(default_prompt("docs", ["reviewer"]), team_tools(["reviewer"]),
                           spec_responder("docs follow-up from developer: Draft plan X"))
    queued = next(c for c in calls if c.name == "team_queue_work")
    assert queued.arguments["task"] == "reviewer follow-up from docs: Draft plan X"


def test_mesh_style_refusal_text_is_not_repeated() -> None:
    def respond(call: ToolCall) -> tuple[str, bool]:
        if call.name == "team_queue_work":
            return "team_queue_work refused: developer may not hand off to docs", False
        return spec_responder("plan X")(call)

    _, message, _ = run_turn(default_prompt("developer", ["docs"]), team_tools(["docs"]),
                             respond)
    assert "team_queue_work refused (developer may not hand off to docs)" in message
    assert message.count("refused") == 1


def test_not_queued_receipt_with_success_false_reads_as_not_queued() -> None:
    def respond(call: ToolCall) -> tuple[str, bool]:
        if call.name == "team_queue_work":
            return json.dumps({"queued": False, "queuedFor": "docs",
                               "reason": "owner_completed"}), False
        return spec_responder("plan X")(call)

    _, message, _ = run_turn(default_prompt("developer", ["docs"]), team_tools(["docs"]),
                             respond)
    assert "handoff to docs not queued (owner_completed)" in message.splitlines()[0]


def test_artifact_kind_follows_the_role_for_other_members() -> None:
    roles = {
        "architect": ("split the feature into backend and frontend work", "architect"),
        "backend": ("implement the service side", "implementation"),
        "writer": ("write the operator documentation", "documentation"),
        "lead": ("validate the whole and close the loop", "review"),
    }
    for member, (role, kind) in roles.items():
        prompt = build_prompt(member, role, default_steps(member, []))
        calls, message, _ = run_turn(prompt, team_tools(), spec_responder("ship feature Y"))
        publish = next(c for c in calls if c.name == "team_publish_artifact")
        assert publish.arguments["kind"] == kind, member
        if kind == member:
            assert publish.arguments["summary"] == (
                f"The {member} completed its work for: ship feature Y.")
            assert message.startswith(f"published the {member} artifact, ")


DESIGN_WORDING = {
    # team-mesh.md "Default member prompts", the steps "in words", without exact tool names.
    "developer": (
        "You are the developer.\nProcess for this turn:\n1. Pull work once; if the task is "
        "null, read the board and reply with one short idle status; if there is a task, "
        "publish an artifact; queue exactly one docs handoff and one reviewer handoff; mark "
        "done and stop queueing.\n",
        ["team_pull_work", "team_publish_artifact", "team_queue_work", "team_queue_work",
         "team_mark_done"],
    ),
    "docs": (
        "You are the docs.\nProcess for this turn:\n1. Pull work once.\n2. If null, read the "
        "board and reply idle.\n3. If there is a task, publish an artifact.\n4. Queue exactly "
        "one reviewer handoff.\n5. Mark done.\n",
        ["team_pull_work", "team_publish_artifact", "team_queue_work", "team_mark_done"],
    ),
    "reviewer": (
        "You are the reviewer.\nProcess for this turn:\n1. Pull work once.\n2. If null, read "
        "the board.\n3. If there is a task, publish an artifact.\n4. Read the board and, if it "
        "is coherent, mark done.\n5. Do not queue follow-up work unless blocked.\n",
        ["team_pull_work", "team_publish_artifact", "team_read_board", "team_mark_done"],
    ),
}


def test_the_design_wording_of_the_steps_is_understood() -> None:
    for member, (prompt, with_task) in DESIGN_WORDING.items():
        calls, message, _ = run_turn(prompt, team_tools(), spec_responder("T1"))
        assert [c.name for c in calls] == with_task, member
        calls, message, _ = run_turn(prompt, team_tools(), spec_responder(None))
        # The null branch is the idle branch, with or without an explicit "reply".
        assert [c.name for c in calls] == ["team_pull_work", "team_read_board"], member
        assert message.splitlines()[0] == "idle, no task queued, read the board."


def test_identity_comes_only_from_you_are_the_name() -> None:
    _, message, _ = run_turn("You are a helpful assistant. Hello.", team_tools(),
                             spec_responder(None))
    assert message == "nothing to do."
    _, message, _ = run_turn("You are the qa-lead. Hello.", team_tools(), spec_responder(None))
    assert message == "nothing to do."


def test_a_kind_of_task_is_not_mistaken_for_a_member() -> None:
    prompt = ("You are the developer.\nProcess for this turn:\n1. Call team_pull_work.\n"
              "2. Queue one documentation task for docs using team_queue_work.\n")
    calls, message, _ = run_turn(prompt, team_tools(["docs", "reviewer"]),
                                 spec_responder("plan X"))
    assert [c.arguments.get("owner") for c in calls] == [None, "docs"]
    assert "not an allowed" not in message
