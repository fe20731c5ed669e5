"""Each member's state right now, in words the page shows: idle, turn running (since),
calling `tool`, waiting for approval, failed: reason, done.

The board alone decides in `teammesh board serve` (another process); in the runner's
process the live run state (`RunState`, the member's active turn) and the watch's calls in
flight sharpen it. Order matters: a member waiting for its operator is also in a turn and
maybe in a call; the page shows the most specific state.
"""

from __future__ import annotations

from typing import Any

from teammesh.mesh.board import ApprovalRecord, TurnSlot
from teammesh.web.watch import Watch


def member_state(name: str, *, done: bool, turns: list[TurnSlot],
                 approvals: list[ApprovalRecord], watch: Watch,
                 live: Any = None) -> dict[str, Any]:
    mine = [t for t in turns if t.member == name]
    open_turn = next((t for t in reversed(mine) if t.state == "open"), None)
    if live is not None:
        member = live.members.get(name)
        active = getattr(member, "active", None)
        open_turn = active if active is not None else None
    waiting = next((a for a in approvals if a.member == name and a.state == "pending"), None)
    if waiting is not None:
        return {"kind": "approval", "label": "waiting for approval",
                "approval": waiting.id}
    if open_turn is not None:
        seen = watch.turns.get(open_turn.token)
        since = seen.started if seen is not None else None
        call = watch.calling.get(name)
        if call is not None and call.ended is None:
            return {"kind": "calling", "label": f"calling {call.tool}", "tool": call.tool,
                    "since": call.started, "turn_since": since}
        return {"kind": "running", "label": "turn running", "since": since,
                "round": open_turn.round}
    if done:
        return {"kind": "done", "label": "done"}
    last = mine[-1] if mine else None
    if last is not None and last.state in ("failed", "lost"):
        reason = last.reason or "(no reason recorded)"
        return {"kind": "failed", "label": f"failed: {reason}", "reason": reason}
    return {"kind": "idle", "label": "idle"}
