"""All or nothing, and no aliasing, on every store: a transaction that fails part-way leaves
every record as it was (nested values in results and metadata too), and what a store hands
back is the caller's own copy, as a SQL store's freshly decoded rows are."""

from __future__ import annotations

from typing import Any

import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard
from teammesh.mesh.board.protocol import EffectRecord, ToolCallRecord, TurnSlot


def _everything(board: TeamBoard) -> tuple[Any, ...]:
    info = board.info()
    return (info, info.meta, board.tasks(), board.artifacts(), board.turns(),
            board.approvals(), board.records(), board.effects(), board.completed(),
            board.sessions())


def _populated(board: TeamBoard) -> TurnSlot:
    """A board with some of every record, nested mutable values among them."""
    board.update_meta(launch={"flags": ["--fast"], "nested": {"depth": [1, 2]}})
    board.queue_work("docs", "first", by=SYSTEM_MEMBER, key="seed-1")
    board.queue_work("docs", "second", by=SYSTEM_MEMBER, key="seed-2")
    board.set_session("docs", "sess-1")
    slot = board.open_turn("docs", 1)
    board.pull_work("docs", token=slot.token, key="pull-1")
    board.publish_artifact("docs", "note", "made in a claim", key="pub-1", token=slot.token)
    board.open_approval("docs", "team_mark_done", "may docs finish?", key="ask-1")
    board.mark_done("reviewer", key="done-1")
    return slot


def test_an_exception_mid_transaction_leaves_every_record(board: TeamBoard) -> None:
    slot = _populated(board)
    before = _everything(board)
    store = board._store
    with pytest.raises(RuntimeError), store.transaction(write=True) as tx:
        # Change something of every kind, then fail.
        tx.update_run(status="failed", round=9, reason="half done")
        meta = tx.run().meta
        meta["launch"]["nested"]["depth"].append(3)
        tx.set_meta(meta)
        tx.set_completed("docs")
        tx.set_session("docs", "sess-2")
        tx.set_session("developer", "sess-3")
        for task in tx.tasks(owner="docs"):
            tx.set_task(task.id, status="dead", claim_token="other", attempts=7)
        tx.add_task(owner="developer", text="half", queued_by="x", chain=("developer",),
                    parent_id=None)
        tx.add_artifact(member="docs", kind="k", summary="s")
        tx.add_turn(TurnSlot("t-new", "developer", 2, None, "open"))
        tx.update_turn(slot.token, turn_id="turn-9", state="lost", reason="gone")
        approval = tx.approvals()[0]
        tx.set_approval(approval.id, state="approved", answered_by="someone")
        tx.add_approval(key="ask-2", member="docs", tool="t", question="q")
        tx.put_record(ToolCallRecord("late", "docs", "t", {"nested": {"list": [1]}}))
        tx.put_effect(EffectRecord("fx", slot.token, "docs", "t", {"a": [1]}))
        raise RuntimeError("crash in the middle")
    assert _everything(board) == before
    # The indexes were taken back too: the queue and the turn's claim read as before.
    assert board.queue_depth("docs") == 1
    assert [t.text for t in board.tasks() if t.claim_token == slot.token] == ["first"]
    assert [s.token for s in board.open_turns()] == [slot.token]
    assert board.pull_work("docs", token=slot.token) == {"task": "second", "queueDepth": 0}


def test_a_failed_transaction_after_an_earlier_one_keeps_the_earlier(board: TeamBoard) -> None:
    board.queue_work("docs", "kept", by=SYSTEM_MEMBER)
    with pytest.raises(KeyError), board._store.transaction(write=True) as tx:
        tx.add_task(owner="docs", text="dropped", queued_by="x", chain=("docs",),
                    parent_id=None)
        raise KeyError("boom")
    board.queue_work("docs", "after", by=SYSTEM_MEMBER)
    assert [t.text for t in board.tasks()] == ["kept", "after"]
    assert board.queue_depth("docs") == 2


def test_returned_values_do_not_alias_stored_state(board: TeamBoard) -> None:
    slot = _populated(board)
    before = _everything(board)
    # Change, in place, every mutable value the board handed out ...
    info = board.info()
    info.meta["launch"]["nested"]["depth"].append(99)
    for record in board.records():
        record.result["changed"] = True
    for effect in board.effects():
        effect.result["changed"] = True
    board.sessions()["docs"] = "forged"
    board.completed().append("docs")
    board.tasks().clear()
    with board._store.transaction(write=False) as tx:
        found = tx.get_record("pub-1")
        assert found is not None
        found.result["artifact"]["summary"] = "forged"
        for use in tx.effect_uses(tx.effects()[0].key):
            use.result["forged"] = 1
        tx.run().meta["launch"]["flags"].append("--forged")
    recorded = board.recorded("pub-1")
    assert recorded is not None
    recorded["artifact"]["kind"] = "forged"
    # ... and nothing stored changed.
    assert _everything(board) == before
    assert board.recorded("pub-1") == {"artifactCount": 1, "artifact": {
        "member": "docs", "kind": "note", "summary": "made in a claim"}}
    assert slot.token in {s.token for s in board.open_turns()}


def test_a_value_changed_after_it_was_stored_changes_nothing(board: TeamBoard) -> None:
    result: dict[str, Any] = {"nested": {"list": [1, 2]}}
    meta: dict[str, Any] = {"launch": {"flags": ["a"]}}
    with board._store.transaction(write=True) as tx:
        tx.put_record(ToolCallRecord("k1", "docs", "t", result))
        tx.put_effect(EffectRecord("fx", "tok", "docs", "t", result))
        tx.set_meta(meta)
    result["nested"]["list"].append(3)
    meta["launch"]["flags"].append("b")
    assert board.records()[0].result == {"nested": {"list": [1, 2]}}
    assert board.effects()[0].result == {"nested": {"list": [1, 2]}}
    assert board.info().meta == {"launch": {"flags": ["a"]}}


def test_nested_transactions_on_the_memory_store_roll_back_as_one() -> None:
    """Only the memory store can nest (its lock is re-entrant): an inner block that commits
    is still taken back by the outer one's failure; an inner failure takes back only its
    own writes."""
    from teammesh.mesh.board import create_board

    board = create_board(run_id="run-nested", team="t", roster=("a", "b"), path=None)
    store = board._store
    with pytest.raises(RuntimeError), store.transaction(write=True) as outer:
        outer.add_task(owner="a", text="outer", queued_by="x", chain=("a",), parent_id=None)
        with store.transaction(write=True) as inner:
            inner.add_artifact(member="a", kind="k", summary="inner, committed")
        with pytest.raises(ValueError), store.transaction(write=True) as failing:
            failing.set_session("a", "s")
            raise ValueError("inner fails")
        assert outer.sessions() == {} and outer.artifact_count() == 1
        raise RuntimeError("outer fails")
    assert board.tasks() == [] and board.artifacts() == [] and board.sessions() == {}


def test_a_write_refused_part_way_is_taken_back_with_its_transaction(board: TeamBoard) -> None:
    """A result no store can keep (not JSON) fails inside the write itself, after earlier
    writes of the same transaction: all of them are taken back, and the board still works."""
    slot = _populated(board)
    before = _everything(board)
    with pytest.raises(TypeError), board._store.transaction(write=True) as tx:
        tx.add_artifact(member="docs", kind="k", summary="s")
        tx.put_effect(EffectRecord("fx-bad", slot.token, "docs", "t", {"x": object()}))
    with pytest.raises(TypeError), board._store.transaction(write=True) as tx:
        tx.set_session("developer", "s")
        tx.put_record(ToolCallRecord("bad", "docs", "t", {"x": {1, 2}}))
    assert _everything(board) == before
    board.publish_artifact("docs", "note", "after the failures", key="pub-2",
                           token=slot.token)
    assert [a.summary for a in board.artifacts()][-1] == "after the failures"
    assert len(board.effects()) == len(before[7]) + 1
