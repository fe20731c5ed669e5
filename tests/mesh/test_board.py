"""Board rules, on both stores: queues, claims, completion, artifacts, exactly-once replay."""

from __future__ import annotations

import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, BoardRefusal, TeamBoard


def test_queue_pull_is_fifo_and_claims(board: TeamBoard) -> None:
    slot = board.open_turn("docs", 1)
    assert board.queue_work("docs", " first ", by="developer")["task"] == "first"
    second = board.queue_work("docs", "second", by="developer")
    assert second == {"queuedFor": "docs", "queuedBy": "developer", "queueDepth": 2,
                      "task": "second", "queued": True}
    assert board.pull_work("docs", token=slot.token) == {"task": "first", "queueDepth": 1}
    claimed = [t for t in board.tasks() if t.status == "claimed"]
    assert [(t.text, t.claim_token) for t in claimed] == [("first", slot.token)]
    assert board.snapshot()["queueDepths"] == {"developer": 0, "docs": 1, "reviewer": 0}


def test_empty_queue_and_completed_member(board: TeamBoard) -> None:
    assert board.pull_work("reviewer", token=None) == {"task": None, "queueDepth": 0}
    board.queue_work("reviewer", "check", by="docs")
    assert board.mark_done("reviewer") == {"completed": ["reviewer"]}
    assert board.pull_work("reviewer", token=None) == {
        "task": None, "queueDepth": 0, "reason": "member_completed"}
    # mark_done cleared the queue; the task is kept, visibly cleared.
    assert [t.status for t in board.tasks()] == ["cleared"]


def test_queue_to_completed_owner_is_not_queued(board: TeamBoard) -> None:
    board.mark_done("docs")
    # Seed order: the completed owner answers before the (blank) task is checked.
    assert board.queue_work("docs", "  ", by="developer") == {
        "queuedFor": "docs", "queuedBy": "developer", "queueDepth": 0,
        "queued": False, "reason": "owner_completed"}
    assert board.tasks() == []


@pytest.mark.parametrize(("call", "message"), [
    (lambda b: b.queue_work("nobody", "x", by="developer"), "unknown member 'nobody'"),
    (lambda b: b.queue_work("docs", "   ", by="developer"), "task must be non-empty"),
    (lambda b: b.publish_artifact("docs", "", "s"), "kind must be non-empty"),
    (lambda b: b.publish_artifact("docs", "k", " "), "summary must be non-empty"),
    (lambda b: b.read_board("docs", 0), "limit must be between 1 and 25"),
    (lambda b: b.read_board("docs", 26), "limit must be between 1 and 25"),
    (lambda b: b.pull_work("ghost", token=None), "unknown member 'ghost'"),
    (lambda b: b.mark_done("docs", 5), "note must be a string"),
])
def test_refusals_leave_the_board_untouched(board: TeamBoard, call, message: str) -> None:
    board.queue_work("docs", "keep", by=SYSTEM_MEMBER, key="seed")
    before = (board.tasks(), board.artifacts(), board.completed(), board.records())
    with pytest.raises(BoardRefusal, match=message):
        call(board)
    assert (board.tasks(), board.artifacts(), board.completed(), board.records()) == before


def test_mark_done_with_note_and_idempotence(board: TeamBoard) -> None:
    slot = board.open_turn("developer", 1)
    board.queue_work("developer", "plan", by=SYSTEM_MEMBER)
    board.queue_work("developer", "extra", by=SYSTEM_MEMBER)
    board.pull_work("developer", token=slot.token)
    assert board.mark_done("developer", " all set ") == {"completed": ["developer"]}
    assert board.mark_done("developer") == {"completed": ["developer"]}
    assert [t.status for t in board.tasks()] == ["done", "cleared"]
    assert [a.public() for a in board.artifacts()] == [
        {"member": "developer", "kind": "completion_note", "summary": "all set"}]


def test_artifacts_append_and_snapshot_limit(board: TeamBoard) -> None:
    for n in range(1, 5):
        result = board.publish_artifact("docs", "documentation", f"summary {n}")
        assert result == {"artifactCount": n, "artifact": {
            "member": "docs", "kind": "documentation", "summary": f"summary {n}"}}
    snap = board.read_board("reviewer", 2)
    assert [a["summary"] for a in snap["recentArtifacts"]] == ["summary 3", "summary 4"]
    assert board.snapshot(limit=0)["recentArtifacts"] == [
        {"member": "docs", "kind": "documentation", "summary": "summary 4"}]


def test_replayed_call_returns_recorded_result_and_changes_nothing(board: TeamBoard) -> None:
    board.queue_work("docs", "a", by=SYSTEM_MEMBER)
    board.queue_work("docs", "b", by=SYSTEM_MEMBER)
    first = board.pull_work("docs", token="t1", key="s1:7")
    again = board.pull_work("docs", token="t1", key="s1:7")
    assert first == again == {"task": "a", "queueDepth": 1}
    assert [t.status for t in board.tasks()] == ["claimed", "queued"]

    pub = board.publish_artifact("docs", "documentation", "x", key="s1:8")
    assert board.publish_artifact("docs", "documentation", "x", key="s1:8") == pub
    assert len(board.artifacts()) == 1

    q = board.queue_work("reviewer", "check", by="docs", key="s1:9")
    assert board.queue_work("reviewer", "check", by="docs", key="s1:9") == q
    assert board.queue_depth("reviewer") == 1

    done = board.mark_done("docs", "note", key="s1:10")
    assert board.mark_done("docs", "note", key="s1:10") == done
    assert [a.kind for a in board.artifacts()] == ["documentation", "completion_note"]

    # The same request id from another session (scope) is another call.
    assert board.pull_work("reviewer", token="t2", key="s2:7") == {
        "task": "check", "queueDepth": 0}
    assert len(board.records()) == 5


def test_failed_turn_requeues_then_dead_letters(board: TeamBoard) -> None:
    board.queue_work("docs", "fragile", by=SYSTEM_MEMBER)
    for attempt in (1, 2):
        slot = board.open_turn("docs", attempt)
        assert board.pull_work("docs", token=slot.token)["task"] == "fragile"
        returned = board.settle_turn(slot.token, ok=False)
        assert [(t.status, t.attempts) for t in returned] == [("queued", attempt)]
    slot = board.open_turn("docs", 3)
    board.pull_work("docs", token=slot.token)
    assert [t.status for t in board.settle_turn(slot.token, ok=False)] == ["dead"]
    assert [t.text for t in board.dead_letters()] == ["fragile"]
    assert board.pull_work("docs", token=None) == {"task": None, "queueDepth": 0}
    # Settling twice does nothing.
    assert board.settle_turn(slot.token, ok=False) == []


def test_ok_turn_completes_claims_and_chain_is_tracked(board: TeamBoard) -> None:
    board.queue_work("developer", "plan", by=SYSTEM_MEMBER)
    slot = board.open_turn("developer", 1)
    board.set_turn_id(slot.token, "turn-1")
    board.pull_work("developer", token=slot.token)
    board.queue_work("docs", "write docs", by="developer", token=slot.token)
    assert [s.turn_id for s in board.open_turns()] == ["turn-1"]
    board.settle_turn(slot.token, ok=True)
    assert board.open_turns() == []
    plan, docs = board.tasks()
    assert plan.status == "done" and plan.chain == ("developer",)
    assert docs.chain == ("developer", "docs") and docs.parent_id == plan.id


def test_stray_claims_go_back(board: TeamBoard) -> None:
    board.queue_work("docs", "late", by=SYSTEM_MEMBER)
    board.pull_work("docs", token=None)  # a late call of a lost turn
    live = board.open_turn("docs", 2)
    returned = board.requeue_stray_claims("docs", {live.token})
    assert [(t.text, t.status, t.attempts) for t in returned] == [("late", "queued", 1)]


def test_opening_a_turn_can_requeue_the_strays_in_the_same_write(board: TeamBoard) -> None:
    board.queue_work("docs", "late", by=SYSTEM_MEMBER)
    board.queue_work("developer", "theirs", by=SYSTEM_MEMBER)
    board.pull_work("docs", token=None)  # a late call of a lost turn
    kept = board.open_turn("developer", 1)
    board.pull_work("developer", token=kept.token)
    live = board.open_turn("docs", 2, requeue_strays=True)
    tasks = {t.text: t for t in board.tasks()}
    assert (tasks["late"].status, tasks["late"].attempts) == ("queued", 1)
    assert tasks["theirs"].status == "claimed"  # another member's claim is not a stray
    assert [s.token for s in board.open_turns()] == [kept.token, live.token]
    # Nothing stray: the turn opens and nothing else changes.
    again = board.open_turn("docs", 3, requeue_strays=True)
    assert board.tasks()[0].attempts == 1 and again.state == "open"


def test_run_state_and_sessions(board: TeamBoard) -> None:
    board.set_session("docs", "sess-1")
    board.update_run(round=3)
    board.update_run(status="complete", reason="reviewer done")
    info = board.info()
    assert (info.status, info.round, info.reason, info.roster) == (
        "complete", 3, "reviewer done", ("developer", "docs", "reviewer"))
    assert board.sessions() == {"docs": "sess-1"}


def test_a_failed_write_transaction_leaves_nothing(board: TeamBoard) -> None:
    store = board._store
    with pytest.raises(RuntimeError), store.transaction(write=True) as tx:
        tx.add_task(owner="docs", text="half", queued_by="x", chain=("docs",),
                    parent_id=None)
        tx.add_artifact(member="docs", kind="k", summary="s")
        raise RuntimeError("crash in the middle")
    assert board.tasks() == [] and board.artifacts() == []
    board.queue_work("docs", "whole", by=SYSTEM_MEMBER)
    assert [t.text for t in board.tasks()] == ["whole"]
