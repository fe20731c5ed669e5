"""The timeline: one lane per member, its turns and tool calls as bars, handoffs as arrows
between lanes.

Built from the board's run record (`TeamBoard.run_record()`: turns and calls with their
start and end times, the records the traces come from) when it holds any; otherwise
from what the page's `Watch` saw (turn times as first seen by its polls, call times as the
runner's printer told it, in the runner's process). `source` says which, so the page can
say how exact the bars are.
"""

from __future__ import annotations

from typing import Any

from teammesh.mesh.board import TeamBoard
from teammesh.mesh.board.run_record import RunRecord, Usage
from teammesh.mesh.skills import QUEUE_WORK
from teammesh.web.watch import Watch

# The page draws at most this many bars per lane (the newest): a long run stays readable.
MAX_BARS_PER_LANE = 400


def read_record(board: TeamBoard) -> RunRecord | None:
    try:
        return board.run_record()
    except Exception:  # a board the record cannot be read from: the page uses its watch
        return None


def timeline(record: RunRecord | None, watch: Watch, roster: tuple[str, ...]) -> dict[str, Any]:
    lanes: dict[str, list[dict[str, Any]]] = {name: [] for name in roster}
    source = "watch"
    handoffs = watch.handoffs
    if record is not None and (record.turns or record.calls):
        source = "board"
        handoffs = _handoffs(record)
        for turn in record.turns:
            if turn.started_at is None or turn.member not in lanes:
                continue
            lanes[turn.member].append({"kind": "turn", "start": turn.started_at,
                                       "end": turn.ended_at, "state": turn.state,
                                       "label": f"round {turn.round}",
                                       "reason": turn.reason})
        for call in record.calls:
            if call.started_at is None or call.member not in lanes:
                continue
            lanes[call.member].append({"kind": "call", "start": call.started_at,
                                       "end": call.ended_at, "state": call.outcome,
                                       "label": call.tool})
    else:
        for seen in watch.turns.values():
            if seen.member in lanes:
                lanes[seen.member].append({"kind": "turn", "start": seen.started,
                                           "end": seen.ended, "state": seen.state,
                                           "label": f"round {seen.round}",
                                           "reason": seen.reason})
        for seen_call in watch.calls:
            if seen_call.member in lanes:
                lanes[seen_call.member].append({"kind": "call", "start": seen_call.started,
                                                "end": seen_call.ended, "state": "",
                                                "label": seen_call.tool})
    for bars in lanes.values():
        bars.sort(key=lambda bar: bar["start"])
        del bars[:-MAX_BARS_PER_LANE]
    starts = [bar["start"] for bars in lanes.values() for bar in bars]
    return {"source": source, "start": min(starts, default=watch.started),
            "lanes": lanes, "handoffs": list(handoffs[-MAX_BARS_PER_LANE:])}


def _handoffs(record: RunRecord) -> list[dict[str, Any]]:
    """Each handoff the board applied, at the time its call ended (the task existed)."""
    found = []
    for call in record.calls:
        if call.tool != QUEUE_WORK or call.outcome != "applied" or call.started_at is None:
            continue
        owner = call.arguments.get("owner") if isinstance(call.arguments, dict) else None
        if isinstance(owner, str):
            found.append({"from": call.member, "to": owner,
                          "at": call.ended_at or call.started_at, "task": None})
    return found


def usage(record: RunRecord | None) -> dict[str, Any] | None:
    """Token usage per member and in total, from the run record; None when no turn reported
    any (the playbook runtime has no model: the page shows "—", never a made-up 0)."""
    if record is None or not record.has_usage():
        return None
    by_member = record.usage_by_member()
    total = record.usage_total()
    cost = record.cost_usd()

    def plain(u: Usage) -> dict[str, int]:
        return {"input": u.input_tokens, "cached_input": u.cached_input_tokens,
                "output": u.output_tokens, "reasoning": u.reasoning_tokens,
                "total": u.total}

    return {"total": plain(total), "by_member": {m: plain(u) for m, u in by_member.items()},
            "cost_usd": cost}
