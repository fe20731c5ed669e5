"""A member's transcript, for the page's click on a member.

In the runner's process the member's session is at hand: its transcript comes from the
gateway (`sessions.get`, the same entries codex-manager's UI shows). `teammesh board serve`
has no gateway (maybe not even the same machine): it shows what the board recorded for the
member, its turns and, where the run record has them, its tool calls with arguments and
results. `source` tells the page which one it got.
"""

from __future__ import annotations

from typing import Any

from teammesh.web.snapshot import Source
from teammesh.web.timeline import read_record

MAX_ENTRIES = 500
MAX_TEXT = 20_000


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"… ({len(value) - MAX_TEXT} more characters)"
    return value


async def transcript(source: Source, member: str) -> dict[str, Any]:
    live = source.live
    if live is not None:
        state = live.members.get(member)
        session = getattr(state, "session", None)
        if state is not None and session is not None:
            detail = await state.cm.sessions.get(session.session_id)
            entries = detail.get("transcript") if isinstance(detail, dict) else None
            rows = [{"role": e.get("role"), "status": e.get("status"),
                     "turn": e.get("turnId"), "text": _clip(_text(e.get("content")))}
                    for e in (entries or []) if isinstance(e, dict)]
            return {"member": member, "source": "gateway", "entries": rows[-MAX_ENTRIES:]}
    return {"member": member, "source": "board", "entries": _from_board(source, member)}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [c.get("text", "") if isinstance(c, dict) else str(c) for c in content]
        return "\n".join(p for p in parts if p)
    return "" if content is None else str(content)


def _from_board(source: Source, member: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    record = read_record(source.board)
    if record is not None and (record.turns or record.calls):
        for turn in record.turns:
            if turn.member == member:
                rows.append({"role": "turn", "status": turn.state, "turn": turn.turn_id,
                             "at": turn.started_at,
                             "text": f"round {turn.round}" + (f": {turn.reason}"
                                                              if turn.reason else "")})
        for call in record.calls:
            if call.member == member:
                rows.append({"role": "tool", "status": call.outcome, "turn": call.turn_token,
                             "at": call.started_at, "tool": call.tool,
                             "arguments": call.arguments, "result": call.result})
        rows.sort(key=lambda row: row.get("at") or 0.0)
        return rows[-MAX_ENTRIES:]
    for slot in source.board.turns():
        if slot.member == member:
            rows.append({"role": "turn", "status": slot.state, "turn": slot.turn_id,
                         "text": f"round {slot.round}" + (f": {slot.reason}"
                                                          if slot.reason else "")})
    for kept in source.board.records():
        if kept.member == member:
            rows.append({"role": "tool", "status": "applied", "tool": kept.tool,
                         "result": kept.result})
    return rows[-MAX_ENTRIES:]
