"""The team board, declared once: its records, the operations the mesh uses, and the storage
contract a store implements.

Two layers, so the rules live in one place:
- `Board` (implemented once, in `core.py`) holds every rule of the team board: FIFO queues,
  claims, completion, artifacts, exactly-once tool-call mutations.
- `BoardStore` / `BoardTx` is what a store provides: a transaction over plain records.
  `memory.py` implements it over dicts; `sql.py` implements it once for the two SQL stores,
  `sqlite.py` (`BEGIN IMMEDIATE`) and `postgres.py` (transaction-scoped advisory locks per member
  touched, or per run: `pg_locks.py`), which differ only in dialect and locking.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from teammesh.mesh.board.entries import CallEntry, TurnEntry, Usage

TaskStatus = Literal["queued", "claimed", "done", "cleared", "dead"]
TurnState = Literal["open", "ok", "failed", "lost"]
RunStatus = Literal["running", "complete", "incomplete", "failed"]
ApprovalState = Literal["pending", "approved", "declined"]

# A claim whose turn fails this many times becomes a dead letter instead of going back.
DEFAULT_MAX_ATTEMPTS = 3

# Who queued the initial tasks.
SYSTEM_MEMBER = "system"


class BoardRefusal(ValueError):
    """A tool call the board refuses (bad input); nothing was changed."""


@dataclass(frozen=True)
class TaskRecord:
    id: int
    owner: str
    text: str
    queued_by: str
    status: TaskStatus
    attempts: int
    claim_token: str | None
    # Owners from the root task down to this one: the handoff chain (loop guards read it).
    chain: tuple[str, ...]
    parent_id: int | None


@dataclass(frozen=True)
class Artifact:
    id: int
    member: str
    kind: str
    summary: str

    def public(self) -> dict[str, str]:
        return {"member": self.member, "kind": self.kind, "summary": self.summary}


@dataclass(frozen=True)
class TurnSlot:
    """One turn the runner gave a member. The token exists before the turn is sent, so a
    claim made by a tool call can name its turn even before the gateway's turn id is known."""

    token: str
    member: str
    round: int
    turn_id: str | None
    state: TurnState
    # Why a failed or lost turn ended (one short line, as the runner printed it); "" else.
    reason: str = ""


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    team: str
    roster: tuple[str, ...]
    status: RunStatus
    round: int
    reason: str
    max_attempts: int
    # The team file the run was started with (TOML text), so `--resume` needs no file.
    team_text: str = ""
    # Run metadata (JSON object): how the run was launched (`launch`: runtime spec, model
    # flags, rounds, timeouts, concurrency; never a secret's value) and who runs it now
    # (`runner`: pid, host, since), so `--resume` and `teammesh runs` can tell.
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    # When the run was created and last updated (UTC, "YYYY-MM-DD HH:MM:SS").
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class ApprovalRecord:
    """A yes/no gate on one tool call: visible on the board while pending."""

    id: int
    key: str | None  # the tool call's key: a replayed call reuses the answer
    member: str
    tool: str
    question: str
    state: ApprovalState
    answered_by: str


@dataclass(frozen=True)
class ToolCallRecord:
    key: str
    member: str
    tool: str
    result: dict[str, Any]


@dataclass(frozen=True)
class EffectRecord:
    """One use of a board effect by one attempt of a claimed task (see `core.effect_key`):
    the first attempt to make a call applies it; a retried attempt that makes the same call
    finds the result recorded under the same key and records its own use of it."""

    key: str
    token: str  # the turn (attempt) that used the effect
    member: str
    tool: str
    result: dict[str, Any]


class BoardTx(Protocol):
    """One transaction on one run's records. Everything read and written through one `BoardTx`
    is atomic: a write transaction holds the store's write lock from its first statement."""

    # -- run --
    def run(self) -> RunInfo: ...
    def update_run(
        self, *, status: RunStatus | None = None, round: int | None = None,
        reason: str | None = None,
    ) -> None: ...
    # Replace the run's metadata (see `RunInfo.meta`).
    def set_meta(self, meta: dict[str, Any]) -> None: ...

    # -- members --
    def completed(self) -> list[str]: ...
    def set_completed(self, member: str) -> None: ...
    def sessions(self) -> dict[str, str]: ...
    def set_session(self, member: str, session_id: str) -> None: ...

    # -- tasks --
    def tasks(self, *, owner: str | None = None, status: TaskStatus | None = None,
              claim_token: str | None = None, limit: int | None = None
              ) -> list[TaskRecord]: ...
    # How many tasks match, without reading them (queue depths stay O(1) per call).
    def count_tasks(self, *, owner: str | None = None,
                    status: TaskStatus | None = None) -> int: ...
    # Queued tasks per owner (owners with none left out), counted without reading them.
    def queue_depths(self) -> dict[str, int]: ...
    def add_task(self, *, owner: str, text: str, queued_by: str, chain: tuple[str, ...],
                 parent_id: int | None) -> TaskRecord: ...
    def set_task(self, task_id: int, *, status: TaskStatus, claim_token: str | None,
                 attempts: int) -> None: ...

    # -- artifacts --
    def add_artifact(self, *, member: str, kind: str, summary: str) -> Artifact: ...
    def artifacts(self, *, last: int | None = None) -> list[Artifact]: ...
    def artifact_count(self) -> int: ...

    # -- turns --
    def add_turn(self, slot: TurnSlot) -> None: ...
    def update_turn(self, token: str, *, turn_id: str | None = None,
                    state: TurnState | None = None, reason: str | None = None) -> None: ...
    def turns(self, *, state: TurnState | None = None, member: str | None = None,
              token: str | None = None) -> list[TurnSlot]: ...

    # -- the run record (`run_record.py`): times, sessions and usage of turns, every call --
    # Set what is given (None leaves a field as it is) on the turn `token`.
    def stamp_turn(self, token: str, *, started_at: float | None = None,
                   ended_at: float | None = None, session_id: str | None = None) -> None: ...
    # The turn's usage, replaced (never added to): a turn reported twice counts once.
    def set_turn_usage(self, token: str, usage: Usage, model: str | None) -> None: ...
    def turn_entries(self) -> list[TurnEntry]: ...
    # One row per request key: `replace` overwrites an existing row, else it is kept.
    def put_call(self, entry: CallEntry, *, replace: bool) -> None: ...
    # The call's row says "replayed" (made from `entry` when the board has none yet).
    def mark_call_replayed(self, entry: CallEntry) -> None: ...
    def calls(self) -> list[CallEntry]: ...
    # A member session's history as the gateway gave it (JSON), kept after the run.
    def put_transcript(self, member: str, session_id: str, data: Any) -> None: ...
    def transcript(self, member: str) -> tuple[str, Any] | None: ...

    # -- approvals --
    def add_approval(self, *, key: str | None, member: str, tool: str,
                     question: str) -> ApprovalRecord: ...
    def set_approval(self, approval_id: int, *, state: ApprovalState,
                     answered_by: str) -> None: ...
    def approvals(self) -> list[ApprovalRecord]: ...

    # -- exactly-once tool calls --
    def get_record(self, key: str) -> ToolCallRecord | None: ...
    def put_record(self, record: ToolCallRecord) -> None: ...
    def records(self) -> list[ToolCallRecord]: ...

    # -- effects: exactly once across attempts of a claim --
    # Every attempt's use of `key`, first use first.
    def effect_uses(self, key: str) -> list[EffectRecord]: ...
    def put_effect(self, record: EffectRecord) -> None: ...
    def effects(self) -> list[EffectRecord]: ...


# The members a write transaction locks (None: the whole run's writes).
Members = tuple[str, ...] | None


class BoardStore(Protocol):
    """Storage for one run. `transaction()` yields a `BoardTx`; leaving the block commits,
    an exception rolls back.

    `members`: the members whose rows a write touches. None (the default) locks the whole
    run's writes; a tuple lets a store that can (PostgreSQL) lock only those members, so
    members' writes do not wait on each other (`docs/distributed.md`, "Locks")."""

    @property
    def run_id(self) -> str: ...
    def transaction(self, *, write: bool, members: Members = None
                    ) -> AbstractContextManager[BoardTx]: ...
    def close(self) -> None: ...
