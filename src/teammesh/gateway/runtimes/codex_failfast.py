"""Fail a codex turn in seconds when its model endpoint cannot be reached.

Our config sets `request_max_retries = 0` and `stream_max_retries = 0`, yet when the
provider's endpoint refuses the connection codex does not fail the turn: it sends `error`
notifications with `willRetry: true` ("Reconnecting... waiting for network",
`codexErrorInfo: {responseStreamDisconnected: {httpStatusCode: null}}`) and keeps waiting with
growing pauses (5 s, 10 s, 20 s, ...), so the turn only ends at the caller's timeout. With
retries configured off, the first such notification means the endpoint is down: the watch
interrupts the turn then, and rewrites codex's `interrupted` completion of that turn into
`failed` with codex's own error (message, kind, details), so the client learns the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from teammesh.gateway.runtimes.base import JsonObject

TurnKey = tuple[str, str]  # (codex thread id, turn id)


class StreamRetryWatch:
    def __init__(self, interrupt: Callable[[str, str], None]) -> None:
        self._interrupt = interrupt
        self._given_up: dict[TurnKey, JsonObject] = {}

    def on_error(self, params: JsonObject) -> None:
        """An `error` notification: give up on its turn if codex means to retry."""
        if params.get("willRetry") is not True:
            return
        thread_id, turn_id = params.get("threadId"), params.get("turnId")
        error = params.get("error")
        if not isinstance(thread_id, str) or not isinstance(turn_id, str):
            return
        key = (thread_id, turn_id)
        if key in self._given_up:
            return
        self._given_up[key] = error if isinstance(error, dict) else {}
        self._interrupt(thread_id, turn_id)

    def on_completed(self, params: JsonObject) -> JsonObject:
        """`turn/completed`, with a turn this watch interrupted marked `failed` and why."""
        turn = params.get("turn")
        if not isinstance(turn, dict):
            return params
        error = self._given_up.pop((str(params.get("threadId")), str(turn.get("id"))), None)
        if error is None or turn.get("status") != "interrupted":
            return params
        said = str(error.get("message") or "the model stream failed")
        details = error.get("additionalDetails")
        message = f"model endpoint unreachable: {details or said} (codex: {said})"
        failed = {
            **turn,
            "status": "failed",
            "error": {
                "message": message,
                "codexErrorInfo": error.get("codexErrorInfo")
                or {"httpConnectionFailed": {"httpStatusCode": None}},
                "additionalDetails": details,
            },
        }
        return {**params, "turn": failed}
