"""codex notifications the gateway may drop without parsing them, recognised from the raw line.

A codex turn with one tool call writes ~21 lines; about 8 of them (`warning`,
`thread/status/changed` ×2, `thread/tokenUsage/updated` ×2, `account/rateLimits/updated` ×2,
`thread/readState/changed`) change no session state: only a websocket client that asked
for their events reads them. A runner that narrowed its events (`eventTypes`) asks for
none, so for it each of those lines was parsed, rewritten and offered to the fan-out for
nothing: a third of the gateway's per-line CPU. Here such a line is dropped before
`json.loads` when the runtime's sink says nothing would use it (`RuntimeSink.
wants_notification`, asked per line, so a socket that subscribes later gets the next one).

Recognised only if codex wrote the line as `{"method":"<name>",` with `<name>` in the list
below. The list names notifications only (JSON-RPC requests share the `{"method":` start:
codex writes `item/tool/call` that way), so a server request is never mistaken for one;
anything else (another spelling, an escape in the name, a method not listed) is parsed as
before. A line with a listed name is still parsed when it holds `"id"` anywhere or any `\\u`
escape (a key spelled `"\\u0069d"` is `id` too): a request (or a response) that happens to
carry a listed name must reach its handler, or codex waits for an answer forever. Codex's
skippable notifications carry neither, so this costs them only two substring scans.
"""

from __future__ import annotations

_PREFIX = b'{"method":"'

# Notifications that neither the session state (notification_state.py) nor the codex
# runtime itself reads; whether the turn's span reads one (token usage) is the sink's call.
SKIPPABLE_METHODS = frozenset({
    "warning",
    "configWarning",
    "deprecationNotice",
    "thread/status/changed",
    "thread/readState/changed",
    "thread/tokenUsage/updated",
    "account/rateLimits/updated",
    "account/updated",
    "remoteControl/status/changed",
    "mcpServer/startupStatus/updated",
    "skills/changed",
})
_SKIPPABLE_BYTES = {name.encode(): name for name in SKIPPABLE_METHODS}


def skippable_method(line: bytes) -> str | None:
    """The method of a notification line that may be dropped unparsed, else None."""
    if not line.startswith(_PREFIX):
        return None
    end = line.find(b'"', len(_PREFIX))
    if end < 0 or line[end + 1:end + 2] != b",":
        return None
    if b'"id"' in line or b"\\u" in line:
        return None  # perhaps a request with an id: parsed, never dropped
    return _SKIPPABLE_BYTES.get(line[len(_PREFIX):end])
