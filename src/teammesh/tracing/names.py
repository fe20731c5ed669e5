"""Span attribute names. The GenAI semantic conventions' names where one fits (spelled out
here rather than imported: `opentelemetry-semantic-conventions` is the SDK's dependency, not
ours); the rest is ours, under `teammesh.*`."""

from __future__ import annotations

OPERATION = "gen_ai.operation.name"
AGENT_NAME = "gen_ai.agent.name"
CONVERSATION_ID = "gen_ai.conversation.id"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
PROVIDER_NAME = "gen_ai.provider.name"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"  # content: only when opted in
TOOL_RESULT = "gen_ai.tool.call.result"  # content: only when opted in
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"  # content: only when opted in
ERROR_TYPE = "error.type"

TEAM = "teammesh.team"
RUN_ID = "teammesh.run.id"
RUN_STATUS = "teammesh.run.status"
RUN_REASON = "teammesh.run.reason"
ROUND = "teammesh.round"
RUNTIME = "teammesh.runtime"
TURN_ID = "teammesh.turn.id"
TURN_STATUS = "teammesh.turn.status"
TURN_FAILURE = "teammesh.turn.failure"
TURN_RECOVERED = "teammesh.turn.recovered"  # finished by a resumed runner (run_recovery)
CACHED_INPUT_TOKENS = "teammesh.usage.cached_input_tokens"
REASONING_TOKENS = "teammesh.usage.reasoning_output_tokens"
CODEX_CALL_ID = "teammesh.tool.codex_call_id"
CALL_SOURCE = "teammesh.tool.source"
ARGUMENTS_SIZE = "teammesh.tool.arguments_size"
RESULT_SIZE = "teammesh.tool.result_size"
TOOL_SUCCESS = "teammesh.tool.success"
BOARD_OUTCOME = "teammesh.board.outcome"  # applied | replayed | refused
BOARD_REFUSAL = "teammesh.board.refusal"
APPROVAL_ANSWER = "teammesh.approval.answer"  # approved | declined
APPROVAL_REASON = "teammesh.approval.reason"
HANDOFF_FROM = "teammesh.handoff.from"
HANDOFF_TO = "teammesh.handoff.to"
HANDOFF_TASK_ID = "teammesh.handoff.task_id"  # the task the handing-off member works on
HANDOFF_REFUSAL = "teammesh.handoff.refusal"
