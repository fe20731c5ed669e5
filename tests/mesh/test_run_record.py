"""The run record on the board, on every store: turn times, sessions and usage keyed by turn
token (set twice, counted once), one entry per tool call keyed by request key (applied,
replayed without a second row, refused), written in the call's own transaction (a refusal
that rolls back leaves none), bounded payloads, and the sums and cost a reader gets."""

from __future__ import annotations

import time
from typing import Any

import pytest

from teammesh.client import SkillContext
from teammesh.mesh.board import SYSTEM_MEMBER, BoardRefusal, TeamBoard
from teammesh.mesh.board.call_notes import MAX_STORED_CHARS, CallNote
from teammesh.mesh.board.run_record import CallEntry, RunRecord, Usage
from teammesh.mesh.skills import MemberSkills


def _ctx(member: str, tool: str, request_id: str, arguments: dict[str, Any]) -> SkillContext:
    return SkillContext(tool=tool, session_id=f"sess-{member}", request_id=request_id,
                        arguments=arguments)


def _call(skills: MemberSkills, tool: str, request_id: str, **arguments: Any) -> Any:
    handler = skills.handlers()[tool]
    return handler(_ctx(skills.member, tool, request_id, arguments), **arguments)


def test_a_turn_has_its_times_session_and_usage(board: TeamBoard) -> None:
    board.set_session("docs", "sess-docs")
    before = time.time()
    slot = board.open_turn("docs", 1)
    board.set_turn_id(slot.token, "turn-1")
    (open_entry,) = board.run_record().turns
    assert open_entry.session_id == "sess-docs" and open_entry.turn_id == "turn-1"
    assert open_entry.started_at is not None and open_entry.started_at >= before
    assert open_entry.ended_at is None and open_entry.usage is None and open_entry.model is None
    board.record_usage(slot.token, Usage(100, 40, 20, 5), "gpt-4o")
    # Reported again (a resumed runner sees the turn's usage anew): replaced, not added.
    board.record_usage(slot.token, Usage(120, 40, 30, 5), None)
    board.settle_turn(slot.token, ok=True)
    (entry,) = board.run_record().turns
    assert entry.state == "ok" and entry.ended_at is not None
    assert entry.ended_at >= entry.started_at  # type: ignore[operator]
    assert entry.usage == Usage(120, 40, 30, 5) and entry.model == "gpt-4o"
    assert entry.duration is not None and entry.duration >= 0


def test_a_turn_opened_with_its_session_is_stamped_with_it(board: TeamBoard) -> None:
    """The runner names the session it sends the turn to (no read of every member's row)."""
    board.set_session("docs", "sess-docs")
    board.open_turn("docs", 1, session_id="sess-docs-2")
    board.open_turn("docs", 2)
    assert [t.session_id for t in board.run_record().turns] == ["sess-docs-2", "sess-docs"]


def test_usage_sums_per_member_and_run_and_cost(board: TeamBoard) -> None:
    for member, usage in (("docs", Usage(1000, 200, 100, 0)), ("docs", Usage(10, 0, 1, 0)),
                          ("developer", Usage(5, 0, 5, 2))):
        slot = board.open_turn(member, 1)
        board.record_usage(slot.token, usage, "gpt-4o")
        board.settle_turn(slot.token, ok=True)
    board.settle_turn(board.open_turn("reviewer", 1).token, ok=True)  # no usage: left out
    record = board.run_record()
    assert record.usage_by_member() == {"docs": Usage(1010, 200, 101, 0),
                                        "developer": Usage(5, 0, 5, 2)}
    assert record.usage_total() == Usage(1015, 200, 106, 2)
    assert record.usage_total().total == 1121
    cost = record.cost_usd()
    # gpt-4o: $2.5 per million input, $1.25 cached, $10 output (the bundled price table).
    expected = (815 * 2.5 + 200 * 1.25 + 106 * 10) / 1e6
    assert cost is not None and cost == pytest.approx(expected)
    assert record.member_cost_usd("reviewer") is None


def test_cost_is_unknown_without_a_priced_model(board: TeamBoard) -> None:
    assert board.run_record().cost_usd() is None  # no usage at all: unknown, not 0
    slot = board.open_turn("docs", 1)
    board.record_usage(slot.token, Usage(10, 0, 10, 0), "stub-model")
    assert board.run_record().usage_total() == Usage(10, 0, 10, 0)
    assert board.run_record().cost_usd() is None
    other = board.open_turn("developer", 1)
    board.record_usage(other.token, Usage(10, 0, 10, 0), "gpt-4o")
    assert board.run_record().cost_usd() is None  # one unpriced turn: the sum is unknown


def test_every_call_has_one_entry(board: TeamBoard) -> None:
    board.queue_work("docs", "write it", by=SYSTEM_MEMBER, key="initial:0")
    board.set_session("docs", "sess-docs")
    slot = board.open_turn("docs", 1)
    docs = MemberSkills(member="docs", board=board, turn_token=lambda: slot.token)
    _call(docs, "team_pull_work", "1")
    _call(docs, "team_publish_artifact", "2", kind="doc", summary="written")
    _call(docs, "team_publish_artifact", "2", kind="doc", summary="written")  # replayed
    _call(docs, "team_read_board", "3", limit=2)
    record = board.run_record()
    assert [(c.request_key, c.tool, c.outcome, c.success) for c in record.calls] == [
        ("sess-docs:1", "team_pull_work", "applied", True),
        ("sess-docs:2", "team_publish_artifact", "replayed", True),
        ("sess-docs:3", "team_read_board", "applied", True)]
    pull, publish, read = record.calls
    assert pull.member == "docs" and pull.turn_token == slot.token and pull.arguments == {}
    assert pull.result == {"task": "write it", "queueDepth": 0}
    assert publish.arguments == {"kind": "doc", "summary": "written"}
    assert publish.result["artifact"] == {"member": "docs", "kind": "doc",
                                          "summary": "written"}
    assert read.arguments == {"limit": 2} and "queueDepths" in read.result
    for entry in record.calls:
        assert entry.started_at is not None and entry.ended_at is not None
        assert entry.ended_at >= entry.started_at
    assert len(board.artifacts()) == 1  # the replay changed nothing


def test_a_handoff_to_a_finished_owner_is_refused_in_the_record(board: TeamBoard) -> None:
    board.mark_done("reviewer")
    docs = MemberSkills(member="docs", board=board)
    answer = _call(docs, "team_queue_work", "9", owner="reviewer", task="review")
    assert answer["success"] is False
    (entry,) = board.run_record().calls
    assert (entry.outcome, entry.success, entry.reason) == ("refused", False,
                                                            "owner_completed")


def test_a_refusal_rolls_back_with_its_entry(board: TeamBoard) -> None:
    """The entry is written in the call's transaction: a board refusal inside it leaves
    none (the runner's observer records the refusal, `test_refused_entries`)."""
    def refuse(tx: Any) -> dict[str, Any]:
        raise BoardRefusal("no")

    note = CallNote("sess-docs:5", "docs", None, "team_pull_work", {})
    with pytest.raises(BoardRefusal):
        board._mutate("sess-docs:5", "docs", "team_pull_work", refuse, note)
    assert board.run_record().calls == ()
    refused = note.entry(result=None, success=False, outcome="refused", reason="no")
    board.record_call(refused)
    # A call that has an entry keeps it when a refusal of it is recorded later.
    board.record_call(CallEntry("sess-docs:5", "docs", None, "team_pull_work", {}, None,
                                False, "refused", "again", None, None))
    assert [(c.outcome, c.reason) for c in board.run_record().calls] == [("refused", "no")]


def test_big_payloads_are_kept_bounded(board: TeamBoard) -> None:
    note = CallNote("sess-docs:7", "docs", None, "team_publish_artifact",
                    {"summary": "x" * (MAX_STORED_CHARS * 2)})
    board.record_call(note.entry(result=None, success=False, outcome="refused"))
    (entry,) = board.run_record().calls
    assert entry.arguments["truncated"] is True
    assert len(entry.arguments["json"]) == MAX_STORED_CHARS


def test_the_record_carries_the_run(board: TeamBoard) -> None:
    record = board.run_record()
    assert isinstance(record, RunRecord) and record.info.run_id == board.run_id
    assert record.turns == () and record.calls == () and not record.has_usage()
    assert record.usage_total() == Usage()


def test_model_names_as_runtimes_spell_them() -> None:
    from teammesh.mesh.board.pricing import usage_cost

    usage = Usage(1_000_000, 0, 0, 0)
    for name in ("gpt-4o", "openai/gpt-4o", "openai-responses:gpt-4o", "codex:gpt-4o"):
        assert usage_cost(usage, name) == 2.5, name
    # A server of one's own (our llm runtime names it as its provider) has no price.
    for name in ("teammesh-model/gpt-4o", "teammesh-model/playbook", "playbook", "", None):
        assert usage_cost(usage, name) is None, name
