"""A retried attempt of a claim repeats no effect of the attempt before it (on every store).

A lost turn's claim goes back to the queue and a new turn retries it: new turn, new request
ids, so request keys cannot tell that it makes the same calls again. The board keys each
effect made under a claim by (claimed task, member, tool, canonical arguments, occurrence in
the attempt) instead."""

from __future__ import annotations

import collections

from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, effect_key


def _lost(board: TeamBoard, token: str) -> None:
    returned = board.settle_turn(token, ok=False, lost=True)
    assert [t.status for t in returned] == ["queued"]


def test_a_retried_attempt_repeats_no_artifact_and_no_handoff(board: TeamBoard) -> None:
    board.queue_work("developer", "plan", by=SYSTEM_MEMBER)
    first = board.open_turn("developer", 1)
    assert board.pull_work("developer", token=first.token, key="s:1")["task"] == "plan"
    published = board.publish_artifact("developer", "implementation", "the plan",
                                       key="s:2", token=first.token)
    handoff = board.queue_work("docs", "write docs", by="developer", key="s:3",
                               token=first.token)
    _lost(board, first.token)  # the turn died with its gateway, before mark_done

    retry = board.open_turn("developer", 2)
    # The pull of the retried claim gives back the same task.
    assert board.pull_work("developer", token=retry.token, key="s:11") == {
        "task": "plan", "queueDepth": 0}
    # The same calls with new request ids: the recorded results, nothing applied again.
    assert board.publish_artifact("developer", "implementation", " the plan ", key="s:12",
                                  token=retry.token) == published
    assert board.queue_work("docs", "write docs", by="developer", key="s:13",
                            token=retry.token) == handoff
    # A call the first attempt did not make applies.
    assert board.queue_work("reviewer", "review it", by="developer", key="s:14",
                            token=retry.token)["queued"] is True
    # mark_done still completes the retried claim; its note is published once.
    assert board.mark_done("developer", "done", key="s:15", token=retry.token) == {
        "completed": ["developer"]}
    # A replay of the retry's own request id still returns its recorded result.
    assert board.publish_artifact("developer", "implementation", "the plan", key="s:12",
                                  token=retry.token) == published

    assert [(a.member, a.kind) for a in board.artifacts()] == [
        ("developer", "implementation"), ("developer", "completion_note")]
    tasks = board.tasks()
    assert [(t.owner, t.text, t.status) for t in tasks] == [
        ("developer", "plan", "done"), ("docs", "write docs", "queued"),
        ("reviewer", "review it", "queued")]
    assert tasks[0].attempts == 1
    # The chain of the handoff made by the retry hangs off the same task.
    assert tasks[2].parent_id == tasks[0].id
    uses = collections.Counter((e.tool, e.token) for e in board.effects())
    assert uses == {
        ("team_publish_artifact", first.token): 1, ("team_publish_artifact", retry.token): 1,
        ("team_queue_work", first.token): 1, ("team_queue_work", retry.token): 2,
        ("team_mark_done", retry.token): 1}


def test_repeats_within_an_attempt_are_counted_and_different_calls_apply(
    board: TeamBoard,
) -> None:
    board.queue_work("docs", "write", by=SYSTEM_MEMBER)
    first = board.open_turn("docs", 1)
    board.pull_work("docs", token=first.token)
    for _ in range(2):  # the first attempt published the same thing twice
        board.publish_artifact("docs", "documentation", "draft", token=first.token)
    _lost(board, first.token)

    retry = board.open_turn("docs", 2)
    board.pull_work("docs", token=retry.token)
    counts = [board.publish_artifact("docs", "documentation", "draft",
                                      token=retry.token)["artifactCount"] for _ in range(3)]
    # Occurrences 1 and 2 were the first attempt's; the third is new.
    assert counts == [1, 2, 3]
    assert board.publish_artifact("docs", "documentation", "final",
                                  token=retry.token)["artifactCount"] == 4
    assert board.publish_artifact("docs", "summary", "draft",
                                  token=retry.token)["artifactCount"] == 5
    assert [a.summary for a in board.artifacts()] == ["draft"] * 3 + ["final", "draft"]


def test_effects_are_per_claimed_task(board: TeamBoard) -> None:
    """The same call for another task, or outside any claim, is another effect."""
    board.queue_work("docs", "one", by=SYSTEM_MEMBER)
    board.queue_work("docs", "two", by=SYSTEM_MEMBER)
    turn = board.open_turn("docs", 1)
    board.pull_work("docs", token=turn.token)
    board.publish_artifact("docs", "note", "same", token=turn.token)
    board.pull_work("docs", token=turn.token)  # now working on "two"
    board.publish_artifact("docs", "note", "same", token=turn.token)
    # No claim (no turn, or a turn that pulled nothing): applied every time.
    board.publish_artifact("docs", "note", "same")
    board.publish_artifact("docs", "note", "same")
    idle = board.open_turn("reviewer", 1)
    board.publish_artifact("reviewer", "note", "same", token=idle.token)
    board.publish_artifact("reviewer", "note", "same", token=idle.token)
    assert len(board.artifacts()) == 6
    one, two = board.tasks()
    assert {e.key for e in board.effects()} == {
        effect_key(one.id, "docs", "team_publish_artifact",
                   {"kind": "note", "summary": "same"}, 1),
        effect_key(two.id, "docs", "team_publish_artifact",
                   {"kind": "note", "summary": "same"}, 1)}


def test_a_second_pull_in_a_retry_claims_again(board: TeamBoard) -> None:
    """Pulls are never answered from an earlier attempt: each one claims."""
    for text in ("first", "second", "third"):
        board.queue_work("docs", text, by=SYSTEM_MEMBER)
    turn = board.open_turn("docs", 1)
    assert board.pull_work("docs", token=turn.token)["task"] == "first"
    assert board.pull_work("docs", token=turn.token)["task"] == "second"
    assert len(board.settle_turn(turn.token, ok=False, lost=True)) == 2
    retry = board.open_turn("docs", 2)
    assert board.pull_work("docs", token=retry.token) == {"task": "first", "queueDepth": 2}
    assert board.pull_work("docs", token=retry.token) == {"task": "second", "queueDepth": 1}
    assert [(t.text, t.status, t.claim_token) for t in board.tasks()] == [
        ("first", "claimed", retry.token), ("second", "claimed", retry.token),
        ("third", "queued", None)]


def test_a_retry_by_a_failed_turn_is_deduplicated_too(board: TeamBoard) -> None:
    """A turn that failed (timed out, say) after publishing: its retry does not repeat it,
    and the handoff it made is not queued twice."""
    board.queue_work("developer", "plan", by=SYSTEM_MEMBER)
    for attempt in (1, 2):
        slot = board.open_turn("developer", attempt)
        board.pull_work("developer", token=slot.token)
        board.publish_artifact("developer", "implementation", "x", token=slot.token)
        board.queue_work("reviewer", "check x", by="developer", token=slot.token)
        board.settle_turn(slot.token, ok=attempt == 2)
    assert len(board.artifacts()) == 1
    assert [(t.owner, t.status, t.attempts) for t in board.tasks()] == [
        ("developer", "done", 1), ("reviewer", "queued", 0)]
