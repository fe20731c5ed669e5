"""The playbook brain: a deterministic, model-free agent, in process or over HTTP.

`teammesh.brain.playbook.decide(conversation, tools) -> Action` is the whole brain: given the
conversation (the prompt, its own earlier tool calls and their results) and the tool catalog,
it returns the next tool call or the final message. `teammesh model serve`
(`teammesh.brain.server`) puts it behind the OpenAI Responses API (and Chat Completions), so
codex and the llm runtime can run on it offline.

What a prompt may say (see `prompt.py`), step by step after `Process for this turn:`:

    You are the <member>.                     identity; artifact kind from member or role
    Role: <role>.
    1. Call team_pull_work once.              a catalog tool by name ("pull work" works too)
    2. If the task is null, call team_read_board and reply with one short idle status.
                                              a condition guards the rest of its step;
                                              "reply ..." ends the turn; a matched null-task
                                              step is the idle branch even without "reply"
    3. If there is a task, call team_publish_artifact with a summary.
    4. Queue exactly one docs handoff and one reviewer handoff using team_queue_work.
                                              one call per roster name the `owner` enum allows
    5. Call team_read_board; if the board is coherent, call team_mark_done.
    6. Do not queue follow-up work unless blocked.      a prohibition: no action
    7. Call exec_command with {"cmd": "ls"}.  exactly these arguments (scripted tests)

A skill catalog a client prepends to the message (codex-manager's `inject_skills=True`: a
header, `- name: description` lines, `User request:`) is background, not instructions: only
the request after it is read (`skill_catalog.py`). Without numbered steps, each catalog tool
named in the request is called once. Arguments
come from the schema (`owner`, `task`, `kind`, `summary`, `note` get meaningful values,
other required ones the simplest valid value, optional ones are omitted). A refused call
(`success: false`, or a result text saying so) is reported in the final message, never
retried. The final message's first line is a one-line status such as
`developer: published implementation, queued docs and reviewer handoffs, marked done.`
"""
