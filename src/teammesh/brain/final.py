"""The brain's final message. Its first line is a one-line status the runner prints
(`[round N] developer: <first line>`), so it says what happened this turn; refusals are
always mentioned there. Later lines carry detail (the task, the board, tool output)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from teammesh.brain.arguments import short
from teammesh.brain.results import CallRecord, pulled_task


def _queued_owner(record: CallRecord) -> tuple[str | None, bool, str]:
    data = record.data
    owner = record.call.arguments.get("owner")
    name = str(owner) if owner is not None else None
    if isinstance(data, dict):
        if isinstance(data.get("queuedFor"), str):
            name = data["queuedFor"]
        if data.get("queued") is False:
            return name, False, str(data.get("reason") or "not queued")
    return name, True, ""


def _board_line(data: Any) -> str | None:
    if not isinstance(data, dict) or "queueDepths" not in data:
        return None
    depths = data.get("queueDepths")
    parts: list[str] = []
    if isinstance(depths, dict):
        queues = ", ".join(f"{name}={depth}" for name, depth in depths.items())
        parts.append(f"queues {queues}" if queues else "no queues")
    completed = data.get("completed")
    if isinstance(completed, list):
        parts.append("completed " + (", ".join(map(str, completed)) if completed else "none"))
    artifacts = data.get("recentArtifacts")
    if isinstance(artifacts, list):
        parts.append(f"{len(artifacts)} recent artifacts")
    return "Board: " + "; ".join(parts) + "."


def _join_names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def compose_final_message(
    *,
    records: Sequence[CallRecord],
    task: str | None,
    pulled: bool,
    notes: Sequence[str],
    had_steps: bool,
) -> str:
    phrases: list[str] = []
    details: list[str] = []
    queued: list[str] = []
    queue_index: int | None = None
    for record in records:
        name = record.call.name
        if record.output is None:
            phrases.append(f"{name} got no result")
            continue
        data = record.data
        if isinstance(data, dict) and data.get("queued") is False:
            owner, _, reason = _queued_owner(record)
            phrases.append(f"handoff to {owner} not queued ({reason})")
            continue
        if record.failed:
            reason = record.reason.removeprefix(f"{name} refused: ")
            phrases.append(f"{name} refused ({short(reason, 100)})")
            continue
        is_pull, pulled_value = pulled_task(record)
        if is_pull:
            if pulled_value is None:
                done = isinstance(data, dict) and data.get("reason") == "member_completed"
                phrases.append("idle, already done" if done else "idle, no task queued")
            continue
        if "owner" in record.call.arguments or (isinstance(data, dict) and "queuedFor" in data):
            owner, ok, reason = _queued_owner(record)
            if ok and owner:
                queued.append(owner)
                if queue_index is None:
                    queue_index = len(phrases)
                    phrases.append("")  # filled in below, once every handoff is known
            else:
                phrases.append(f"handoff to {owner} not queued ({reason})")
            continue
        if isinstance(data, dict) and isinstance(data.get("artifact"), dict):
            kind = data["artifact"].get("kind") or record.call.arguments.get("kind")
            known = kind in ("implementation", "documentation", "review")
            phrases.append(f"published {kind}" if known else f"published the {kind} artifact")
            continue
        if isinstance(data, dict) and "completed" in data and len(data) <= 2:
            phrases.append("marked done")
            continue
        board = _board_line(data)
        if board is not None:
            phrases.append("read the board")
            details.append(board)
            continue
        phrases.append(f"called {name}")
        if not had_steps and record.text.strip():
            details.append(f"{name} returned: {short(record.text, 400)}")
    if queue_index is not None:
        noun = "handoff" if len(queued) == 1 else "handoffs"
        phrases[queue_index] = f"queued {_join_names(queued)} {noun}"
    phrases.extend(notes)
    if not records and not notes:
        phrases.append("no tool calls were needed" if had_steps else "nothing to do")
    if pulled and task is not None:
        details.insert(0, f"Task: {short(task, 200)}")
    unique = list(dict.fromkeys(p for p in phrases if p))  # "read the board" once, not twice
    # The runner already prefixes the member's name (`[round N] developer: ...`), so the
    # status itself starts with the action: `[round 1] developer: published implementation, ...`.
    first = ", ".join(unique) + "."
    return "\n".join([first, *details])
