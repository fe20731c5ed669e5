"""Every rule of the team board, written once over a `BoardStore`.

Tasks move queued → claimed (by a member, in a turn) → done. A claim whose turn fails or is
lost goes back to the queue with one more attempt; after `max_attempts` it becomes a visible
dead letter. `mark_done` completes the member's open claims and clears its queue (the seed's
semantics). Every mutation a tool call makes is recorded under the call's key in the same
transaction, so replaying the call returns the recorded result and changes nothing.

A retried attempt of a claim (its turn was lost, say with the gateway that ran it) is a new
turn with new request ids, so request keys cannot see that it repeats the first attempt. For
that, the effects a call has while its turn holds a claim (an artifact, a handoff, a
completion note) are also recorded under an *effect key*: the claimed task, the member, the
tool, the call's canonical arguments and the occurrence of that same call within the attempt
(`effect_key`). The first attempt to make a call applies it; a later attempt making the same
call gets the recorded result and changes nothing; a different call still applies.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from teammesh.mesh.board.approval_answers import ApprovalAnswers
from teammesh.mesh.board.call_notes import CallNote, refused_by_result
from teammesh.mesh.board.protocol import (
    SYSTEM_MEMBER,
    ApprovalRecord,
    Artifact,
    BoardRefusal,
    BoardStore,
    BoardTx,
    EffectRecord,
    RunInfo,
    RunStatus,
    TaskRecord,
    TaskStatus,
    ToolCallRecord,
    TurnSlot,
)
from teammesh.mesh.board.run_record import RecordedRun

MAX_SNAPSHOT_LIMIT = 25
# Board texts are read back by every member and printed on terminals: bounded, and free of
# control characters (an ESC sequence in a summary would drive the operator's terminal).
MAX_TEXT_CHARS = 8000
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# In a turn's reason (text a model endpoint chose), line breaks go too, and the bidi
# overrides that would make a printed line read other than it is.
_REASON_DROPPED = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The `user:password@` of a URL in an error message (a gateway or model URL with
# credentials): the board keeps no secret, as the run's metadata keeps none.
_URL_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")


def clean_text(field: str, value: object) -> str:
    """The seed's rule: text fields are stripped and must not be blank. Ours on top: at most
    `MAX_TEXT_CHARS`, valid Unicode, no control characters other than tab and newline."""
    if not isinstance(value, str):
        raise BoardRefusal(f"{field} must be a string")
    cleaned = value.strip()
    if not cleaned:
        raise BoardRefusal(f"{field} must be non-empty")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise BoardRefusal(f"{field} is too long ({len(cleaned)} characters,"
                           f" at most {MAX_TEXT_CHARS})")
    if _CONTROL_CHARS.search(cleaned) or not _encodable(cleaned):
        raise BoardRefusal(f"{field} must be plain Unicode text (no control characters)")
    return cleaned


# A failed turn's recorded reason: one line, at most this long (the printed line is the full
# story; the board keeps enough to tell why at a glance, and a runtime's error text, which a
# model endpoint chose, cannot grow the board without bound).
MAX_REASON_CHARS = 500


def short_reason(text: object) -> str:
    """`text` as a turn's reason: control characters (newlines too) and bidi overrides
    become spaces, runs of whitespace one space, credentials in URLs are cut, and it is cut
    to `MAX_REASON_CHARS` (ending in "…" when cut)."""
    raw = str(text)
    # Whitespace collapses, so a few times the cap is read; beyond that it is cut anyway.
    cut = len(raw) > 4 * MAX_REASON_CHARS
    line = " ".join(_REASON_DROPPED.sub(" ", raw[:4 * MAX_REASON_CHARS]).split())
    line = line.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    line = _URL_CREDENTIALS.sub(r"\1", line)
    if cut or len(line) > MAX_REASON_CHARS:
        line = line[:MAX_REASON_CHARS - 1].rstrip() + "…"
    return line


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def effect_key(task_id: int, member: str, tool: str, arguments: dict[str, Any],
               occurrence: int) -> str:
    """The key of one board effect of a claimed task, the same in every attempt of the claim
    (the run is the store's). Arguments are hashed: the key stays short whatever they hold."""
    canonical = json.dumps(arguments, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()[:32]
    return f"task{task_id}:{member}:{tool}:{digest}:{occurrence}"


class TeamBoard(RecordedRun, ApprovalAnswers):
    """The board of one run. Thread-safe and process-safe as far as its store is. Its
    record (turn times and usage, every tool call: `RecordedRun`) is written in the same
    transactions as the board changes it goes with."""

    def __init__(self, store: BoardStore) -> None:
        self._store = store
        with store.transaction(write=False) as tx:
            info = tx.run()
        self.run_id = info.run_id
        self.team = info.team
        self.roster: tuple[str, ...] = info.roster

    # -- plumbing --------------------------------------------------------------------------

    def close(self) -> None:
        self._store.close()

    def _check_member(self, member: str) -> str:
        if member not in self.roster:
            known = ", ".join(self.roster)
            raise BoardRefusal(f"unknown member '{member}' (team: {known})")
        return member

    def _mutate(
        self, key: str | None, member: str, tool: str,
        operation: Callable[[BoardTx], dict[str, Any]], call: CallNote | None = None,
        *, members: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        """Run one tool call's mutation exactly once per key, atomically with its record
        and with its entry in the run's record (`call`: applied, or replayed). The write
        locks `members` (default: the caller alone); the key's record is the caller's, and
        its primary key refuses a second record of it even so."""
        with self._store.transaction(write=True, members=members or (member,)) as tx:
            if key is not None:
                recorded = tx.get_record(key)
                if recorded is not None:
                    if call is not None:
                        tx.mark_call_replayed(call.entry(
                            result=recorded.result, outcome="replayed",
                            success=refused_by_result(recorded.result) is None))
                    return copy.deepcopy(recorded.result)
            result = operation(tx)
            if key is not None:
                tx.put_record(ToolCallRecord(key, member, tool, copy.deepcopy(result)))
            if call is not None:
                refused = refused_by_result(result)
                tx.put_call(call.entry(result=result, success=refused is None,
                                       outcome="applied" if refused is None else "refused",
                                       reason=refused or ""), replace=True)
            return result

    def _claim_in_turn(self, tx: BoardTx, member: str, token: str | None
                       ) -> TaskRecord | None:
        """The task `member` claimed in the turn `token` (its latest), if any: the scope of
        the turn's effects. Done counts too (`mark_done` may already have completed it)."""
        if token is None:
            return None
        mine = [t for t in tx.tasks(owner=member, claim_token=token)
                if t.status in ("claimed", "done")]
        return mine[-1] if mine else None

    def _once_per_claim(
        self, tx: BoardTx, member: str, token: str | None, tool: str,
        arguments: dict[str, Any], apply: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """`apply()` unless an earlier attempt of the claimed task made this same call (the
        same occurrence of it): then its recorded result, and nothing changes. Outside a
        claim, `apply()` as is."""
        task = self._claim_in_turn(tx, member, token)
        if task is None or token is None:
            return apply()
        occurrence = 1
        while True:
            key = effect_key(task.id, member, tool, arguments, occurrence)
            uses = tx.effect_uses(key)
            if not any(use.token == token for use in uses):
                break
            occurrence += 1  # this attempt already made this call: the next occurrence
        result = copy.deepcopy(uses[0].result) if uses else apply()
        tx.put_effect(EffectRecord(key, token, member, tool, copy.deepcopy(result)))
        return result

    # -- the five skills' board operations -------------------------------------------------

    def queue_work(
        self, owner: str, task: object, *, by: str, key: str | None = None,
        token: str | None = None, call: CallNote | None = None,
    ) -> dict[str, Any]:
        self._check_member(owner)

        def operation(tx: BoardTx) -> dict[str, Any]:
            # Seed order: a completed owner answers before the task text is checked.
            if owner in tx.completed():
                return {
                    "queuedFor": owner, "queuedBy": by,
                    "queueDepth": tx.count_tasks(owner=owner, status="queued"),
                    "queued": False, "reason": "owner_completed",
                }
            text = clean_text("task", task)

            def handoff() -> dict[str, Any]:
                parent = self._current_claim(tx, by, token)
                chain = (*parent.chain, owner) if parent else (
                    (owner,) if by == SYSTEM_MEMBER else (by, owner))
                tx.add_task(owner=owner, text=text, queued_by=by, chain=chain,
                            parent_id=parent.id if parent else None)
                return {
                    "queuedFor": owner, "queuedBy": by,
                    "queueDepth": tx.count_tasks(owner=owner, status="queued"),
                    "task": text, "queued": True,
                }

            return self._once_per_claim(tx, by, token, "team_queue_work",
                                        {"owner": owner, "task": text}, handoff)

        # The owner's lock: its queue's order and its completion; the caller's: its claim's
        # effects (`_once_per_claim`).
        return self._mutate(key, by, "team_queue_work", operation, call, members=(by, owner))

    def pull_work(self, member: str, *, token: str | None, key: str | None = None,
                  call: CallNote | None = None) -> dict[str, Any]:
        self._check_member(member)

        def operation(tx: BoardTx) -> dict[str, Any]:
            if member in tx.completed():
                return {"task": None, "queueDepth": 0, "reason": "member_completed"}
            # Only the head is read: a claim costs the same with 10 or 10,000 tasks queued.
            heads = tx.tasks(owner=member, status="queued", limit=1)
            if not heads:
                return {"task": None, "queueDepth": 0}
            head = heads[0]
            tx.set_task(head.id, status="claimed", claim_token=token, attempts=head.attempts)
            return {"task": head.text,
                    "queueDepth": tx.count_tasks(owner=member, status="queued")}

        return self._mutate(key, member, "team_pull_work", operation, call)

    def publish_artifact(self, member: str, kind: object, summary: object, *,
                         key: str | None = None, token: str | None = None,
                         call: CallNote | None = None) -> dict[str, Any]:
        self._check_member(member)
        clean_kind = clean_text("kind", kind)
        clean_summary = clean_text("summary", summary)

        def operation(tx: BoardTx) -> dict[str, Any]:
            def publish() -> dict[str, Any]:
                artifact = tx.add_artifact(member=member, kind=clean_kind,
                                           summary=clean_summary)
                return {"artifactCount": tx.artifact_count(), "artifact": artifact.public()}

            return self._once_per_claim(tx, member, token, "team_publish_artifact",
                                        {"kind": clean_kind, "summary": clean_summary},
                                        publish)

        return self._mutate(key, member, "team_publish_artifact", operation, call)

    def mark_done(self, member: str, note: object = "", *, key: str | None = None,
                  token: str | None = None, call: CallNote | None = None) -> dict[str, Any]:
        self._check_member(member)
        if not isinstance(note, str):
            raise BoardRefusal("note must be a string")
        if note.strip():
            clean_text("note", note)  # it becomes an artifact: the same rules apply

        def operation(tx: BoardTx) -> dict[str, Any]:
            if note.strip():
                # Only the note is once per claim: completing the member, its claims and its
                # queue always applies (and is the same again), so a retried attempt that
                # marks done still completes the task it claimed.
                def add_note() -> dict[str, Any]:
                    tx.add_artifact(member=member, kind="completion_note",
                                    summary=note.strip())
                    return {}

                self._once_per_claim(tx, member, token, "team_mark_done",
                                     {"note": note.strip()}, add_note)
            tx.set_completed(member)
            for task in tx.tasks(owner=member):
                if task.status == "queued":
                    tx.set_task(task.id, status="cleared", claim_token=None,
                                attempts=task.attempts)
                elif task.status == "claimed":
                    # The member declares its work finished: its claims are done.
                    tx.set_task(task.id, status="done", claim_token=task.claim_token,
                                attempts=task.attempts)
            return {"completed": sorted(tx.completed())}

        return self._mutate(key, member, "team_mark_done", operation, call)

    def snapshot(self, limit: int = 8) -> dict[str, Any]:
        with self._store.transaction(write=False) as tx:
            return self._snapshot(tx, limit)

    def read_board(self, member: str, limit: int, *, key: str | None = None,
                   call: CallNote | None = None) -> dict[str, Any]:
        """`team_read_board`: recorded too, so a replay sees the board it saw first."""
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise BoardRefusal("limit must be an integer")
        if not 1 <= limit <= MAX_SNAPSHOT_LIMIT:
            raise BoardRefusal(f"limit must be between 1 and {MAX_SNAPSHOT_LIMIT}, got {limit}")
        return self._mutate(key, member, "team_read_board",
                            lambda tx: self._snapshot(tx, limit), call)

    def _snapshot(self, tx: BoardTx, limit: int) -> dict[str, Any]:
        # Counted by the store: a snapshot (every round's completion check takes one) does
        # not read every queued task.
        depths = tx.queue_depths()
        return {
            "queueDepths": {m: depths.get(m, 0) for m in self.roster},
            "completed": sorted(tx.completed()),
            "recentArtifacts": [a.public() for a in tx.artifacts(last=max(1, limit))],
        }

    # -- claims and turns ------------------------------------------------------------------

    def _current_claim(self, tx: BoardTx, member: str, token: str | None
                       ) -> TaskRecord | None:
        """The task `member` is working on: its claim in this turn, else its latest claim."""
        claims = tx.tasks(owner=member, status="claimed")
        if token is not None:
            mine = [t for t in claims if t.claim_token == token]
            if mine:
                return mine[-1]
        if claims:
            return claims[-1]
        if token is None:
            return None
        # Only this turn's finished claims are read, not every task the member finished.
        done = tx.tasks(owner=member, status="done", claim_token=token)
        return done[-1] if done else None

    def current_claim(self, member: str, token: str | None) -> TaskRecord | None:
        with self._store.transaction(write=False) as tx:
            return self._current_claim(tx, member, token)

    def open_turn(self, member: str, round_number: int, *, requeue_strays: bool = False,
                  session_id: str | None = None) -> TurnSlot:
        """Record a turn before it is sent; claims made in it carry its token.

        `requeue_strays`: in the same transaction, `member`'s claims of earlier turns (a late
        call of a lost turn) go back to the queue, as `requeue_stray_claims(member,
        {new token})` would; the runner's one write before a send instead of two. One
        commit is safe: a crash before it leaves neither, after it both (the strays are
        back in the queue and the turn is recorded, to be settled as lost on resume).

        `session_id`: the session the turn goes to, stamped on it; None reads the member's
        from the board (the runner knows it: no read of every member's row per turn)."""
        self._check_member(member)
        slot = TurnSlot(token=f"{member}.r{round_number}.{secrets.token_hex(4)}",
                        member=member, round=round_number, turn_id=None, state="open")
        with self._store.transaction(write=True, members=(member,)) as tx:
            if requeue_strays:
                self._requeue_strays(tx, member, set())
            tx.add_turn(slot)
            tx.stamp_turn(slot.token, started_at=time.time(),
                          session_id=session_id or tx.sessions().get(member))
        return slot

    def set_turn_id(self, token: str, turn_id: str) -> None:
        # One row of the turn's own: no member's rule reads it, no member lock.
        with self._store.transaction(write=True, members=()) as tx:
            tx.update_turn(token, turn_id=turn_id)

    def open_turns(self) -> list[TurnSlot]:
        with self._store.transaction(write=False) as tx:
            return tx.turns(state="open")

    def turns(self) -> list[TurnSlot]:
        with self._store.transaction(write=False) as tx:
            return tx.turns()

    def failed_turns(self) -> list[TurnSlot]:
        """The turns that failed or were lost, in the order they were opened."""
        return [t for t in self.turns() if t.state in ("failed", "lost")]

    def settle_turn(self, token: str, *, ok: bool, lost: bool = False,
                    charge_queue_head: bool = False, reason: str | None = None
                    ) -> list[TaskRecord]:
        """Close a turn. Its claims become done (ok) or go back to the queue with one more
        attempt (failed/lost), or to the dead letters once attempts run out. Returns the
        tasks that went back or died.

        `reason`: why a failed or lost turn ended (kept short: `short_reason`), recorded in
        the same transaction as its state; ignored for a turn that went well. Only the first
        settle counts, reason included.

        `charge_queue_head`: the turn failed (the runtime said so, e.g. its model erred)
        before it claimed anything; the task it was sent for is the head of the member's
        queue, so that task's attempt is charged, and a model that always fails turns it
        into a dead letter after `max_attempts` instead of retrying it forever."""
        # Under the turn's member's lock (named by the token `open_turn` made, checked
        # against the row): two settles of one turn, or a settle and a late claim, see
        # each other.
        args = (ok, lost, charge_queue_head, reason)
        member = token.rsplit(".", 2)[0]
        with self._store.transaction(write=True, members=(member,)) as tx:
            slots = tx.turns(token=token)
            if not slots or slots[0].member == member:
                return self._settle(tx, token, slots, *args)
        # A token `open_turn` did not make: its member as its row says, locked, read again.
        with self._store.transaction(write=True, members=(slots[0].member,)) as tx:
            return self._settle(tx, token, tx.turns(token=token), *args)

    def _settle(self, tx: BoardTx, token: str, slots: list[TurnSlot], ok: bool, lost: bool,
                charge_queue_head: bool, reason: str | None) -> list[TaskRecord]:
        if not slots or slots[0].state != "open":
            return []  # already settled: settling is idempotent
        recorded = None if ok or reason is None else short_reason(reason)
        tx.update_turn(token, state="ok" if ok else ("lost" if lost else "failed"),
                       reason=recorded)
        tx.stamp_turn(token, ended_at=time.time())
        claimed = tx.tasks(status="claimed", claim_token=token)
        if ok:  # the usual case: no attempt is charged, so the run settings are not read
            for task in claimed:
                tx.set_task(task.id, status="done", claim_token=token, attempts=task.attempts)
            return []
        max_attempts = tx.run().max_attempts
        returned = [self._return_claim(tx, task, max_attempts) for task in claimed]
        if not lost and charge_queue_head and not claimed:
            heads = tx.tasks(owner=slots[0].member, status="queued", limit=1)
            if heads:
                returned.append(self._return_claim(tx, heads[0], max_attempts))
        return returned

    def requeue_stray_claims(self, member: str, open_tokens: set[str]) -> list[TaskRecord]:
        """Claims of `member` made outside any open turn (a late call of a lost turn) go back."""
        with self._store.transaction(write=True, members=(member,)) as tx:
            return self._requeue_strays(tx, member, open_tokens)

    def _requeue_strays(self, tx: BoardTx, member: str, open_tokens: set[str]
                        ) -> list[TaskRecord]:
        strays = [task for task in tx.tasks(owner=member, status="claimed")
                  if task.claim_token not in open_tokens]
        if not strays:
            return []  # the usual case: the run settings are not even read
        max_attempts = tx.run().max_attempts
        return [self._return_claim(tx, task, max_attempts) for task in strays]

    def _return_claim(self, tx: BoardTx, task: TaskRecord, max_attempts: int) -> TaskRecord:
        attempts = task.attempts + 1
        status: TaskStatus = "dead" if attempts >= max_attempts else "queued"
        tx.set_task(task.id, status=status, claim_token=None, attempts=attempts)
        return TaskRecord(task.id, task.owner, task.text, task.queued_by, status, attempts,
                          None, task.chain, task.parent_id)

    # -- approvals and records ------------------------------------------------------------

    def open_approval(self, member: str, tool: str, question: str, *, key: str | None
                      ) -> ApprovalRecord:
        """A pending yes/no, or the earlier one of the same call (a replay asks once)."""
        with self._store.transaction(write=True, members=(member,)) as tx:
            if key is not None:
                for approval in tx.approvals():
                    if approval.key == key:
                        return approval
            return tx.add_approval(key=key, member=member, tool=tool, question=question)

    def approvals(self) -> list[ApprovalRecord]:
        with self._store.transaction(write=False) as tx:
            return tx.approvals()

    def recorded(self, key: str) -> dict[str, Any] | None:
        """The recorded result of a tool call, if it already ran."""
        with self._store.transaction(write=False) as tx:
            record = tx.get_record(key)
            return copy.deepcopy(record.result) if record is not None else None

    # -- run state -------------------------------------------------------------------------

    def info(self) -> RunInfo:
        with self._store.transaction(write=False) as tx:
            return tx.run()

    def update_run(self, *, status: RunStatus | None = None, round: int | None = None,
                   reason: str | None = None) -> None:
        with self._store.transaction(write=True) as tx:
            tx.update_run(status=status, round=round, reason=reason)

    def update_meta(self, **changes: Any) -> dict[str, Any]:
        """Merge top-level keys into the run's metadata (`RunInfo.meta`); returns it."""
        with self._store.transaction(write=True) as tx:
            meta = {**copy.deepcopy(tx.run().meta), **copy.deepcopy(changes)}
            tx.set_meta(meta)
            return meta

    def sessions(self) -> dict[str, str]:
        with self._store.transaction(write=False) as tx:
            return tx.sessions()

    def set_session(self, member: str, session_id: str) -> None:
        self._check_member(member)
        with self._store.transaction(write=True, members=(member,)) as tx:
            tx.set_session(member, session_id)

    # -- reads -----------------------------------------------------------------------------

    def tasks(self) -> list[TaskRecord]:
        with self._store.transaction(write=False) as tx:
            return tx.tasks()

    def artifacts(self) -> list[Artifact]:
        with self._store.transaction(write=False) as tx:
            return tx.artifacts()

    def records(self) -> list[ToolCallRecord]:
        with self._store.transaction(write=False) as tx:
            return tx.records()

    def effects(self) -> list[EffectRecord]:
        """Every attempt's use of every once-per-claim effect, first use first."""
        with self._store.transaction(write=False) as tx:
            return tx.effects()

    def completed(self) -> list[str]:
        with self._store.transaction(write=False) as tx:
            return sorted(tx.completed())

    def queue_depth(self, member: str) -> int:
        with self._store.transaction(write=False) as tx:
            return tx.count_tasks(owner=member, status="queued")

    def open_work(self) -> int:
        """Tasks still queued or claimed (claims are settled between rounds)."""
        with self._store.transaction(write=False) as tx:
            return tx.count_tasks(status="queued") + tx.count_tasks(status="claimed")

    def dead_letters(self) -> list[TaskRecord]:
        with self._store.transaction(write=False) as tx:
            return tx.tasks(status="dead")
