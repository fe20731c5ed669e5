"""The session hub: sessions and their turns, the state every HTTP route reads.

The HTTP layer calls the `async` operations below, which answer with an `Outcome` (status +
JSON body) so the wire's exact status codes and bodies live here, next to the state they
describe. What the runtimes send comes in through runtime_events.py (the hub is the sink of
the default runtime); the server requests waiting for a client's answer live at the request
desk (request_desk.py); every store write goes through `StoreWrites` (store_writes.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from teammesh.gateway.clock import iso_now, now_ms, now_s
from teammesh.gateway.fanout import FanOut
from teammesh.gateway.outcome import Outcome, error, map_runtime_error, policy_check
from teammesh.gateway.pending import RequestIds, RequestKind
from teammesh.gateway.projects import ProjectBook
from teammesh.gateway.request_desk import RequestDesk
from teammesh.gateway.runtime_events import BoundSink, RuntimeEvents
from teammesh.gateway.runtime_pool import RuntimeLimitError, RuntimePool
from teammesh.gateway.runtime_warmup import RuntimeWarmup
from teammesh.gateway.runtimes.base import (
    JsonObject,
    Runtime,
    RuntimeUnavailable,
    ThreadConfig,
    TurnOptions,
)
from teammesh.gateway.runtimes.registry import RuntimeSettings, UnknownRuntimeError
from teammesh.gateway.session import Controls, Session, runtime_tools
from teammesh.gateway.session_policy import SessionCeiling, SessionPolicy
from teammesh.gateway.store import Store
from teammesh.gateway.store_health import StoreHealth
from teammesh.gateway.store_writes import StoreWrites
from teammesh.gateway.turn_start_keys import TurnStartKeys
from teammesh.tracing.gateway_spans import close_all as end_open_turn_spans
from teammesh.wire import (
    CreateSessionBody,
    InterruptBody,
    RenameBody,
    SendMessageBody,
)

log = logging.getLogger("teammesh.gateway.hub")

DEFAULT_APPROVAL_POLICY = "untrusted"
DEFAULT_SANDBOX = "read-only"
DEFAULT_NETWORK_ACCESS = "restricted"
# At stop, how long the clients' close handshakes may take (loopback: about 1 ms).
SOCKETS_CLOSE_S = 0.25


class Hub(BoundSink):
    """Sessions, turns and the parts that serve them. As a `RuntimeSink` the hub itself
    stands for the default runtime (tests and embedders hand it messages directly)."""

    def __init__(
        self,
        store: Store,
        *,
        default_runtime: str = "playbook",
        settings: RuntimeSettings | None = None,
        workspace_root: str | None = None,
        ceiling: SessionCeiling | None = None,
    ) -> None:
        self.store = store
        self.store_health = StoreHealth()
        self.writes = StoreWrites(store, self.store_health)
        self.fanout = FanOut()
        # Exactly-once `turn.start` over the stream (stream_turns.py); a deleted session's
        # keys go with it in delete_session, whichever route deleted it.
        self.turn_start_keys = TurnStartKeys()
        self.settings = settings or RuntimeSettings()
        self.workspace_root = workspace_root or os.getcwd()
        # What clients may ask of a session: session_policy.py (options and the ceiling).
        self.policy = SessionPolicy(
            ceiling or SessionCeiling(),
            default_spec=default_runtime,
            settings=self.settings,
            workspace_root=self.workspace_root,
        )
        self._sessions: dict[str, Session] = {}
        self.projects = ProjectBook(store)  # codex-manager's projects (gateway/projects.py)
        ids = RequestIds(store.request_id_ceiling(), store.reserve_request_ids)
        # Rows are committed before any text that may describe them leaves for a socket.
        self.fanout.before_send = self.writes.flush
        self.desk = RequestDesk(self.fanout, self.writes, self._sessions, ids)
        self.events = RuntimeEvents(self._sessions, self.fanout, self.desk, self.writes)
        self.runtimes = RuntimePool(
            default_runtime,
            self.settings,
            self.events.sink_for,
            max_runtimes=self.policy.ceiling.max_runtimes,
            in_use=self._runtime_in_use,
        )
        # Started by the serving gateway (embedded.py): codex comes up with it.
        self.warmup = RuntimeWarmup(self.runtimes)
        super().__init__(self.events, self.runtimes.default_spec)
        self._recover()

    # ===== lifecycle ========================================================================

    def _recover(self) -> None:
        """Load persisted sessions; turns that were running when the process died can never
        finish now, so they become `interrupted` (and their streaming entries `canceled`)."""
        at = now_ms()
        for session in self.store.load_sessions():
            self._sessions[session.id] = session
            for turn in session.turns:
                if turn.status == "inProgress":
                    turn.status = "interrupted"
                    turn.completed_at_ms = at
                    self.writes.save(self.store.save_turn, session.id, turn)
                    settled = session.transcript.settle_turn(turn.id, "canceled", at)
                    self.writes.entries(session, settled)

    async def close(self) -> None:
        await self.warmup.cancel()
        await self.runtimes.stop_all()
        end_open_turn_spans("the gateway stopped")  # exported, not lost (docs/tracing.md)
        self.desk.close()
        await asyncio.sleep(0)  # let deferred store writes run before the store closes
        self.writes.flush()  # what the last loop iteration marked (gateway/store_batch.py)
        self.fanout.close_all()  # each socket closes with 1001 (going away)
        await self.fanout.drained(SOCKETS_CLOSE_S)

    def adopt(self, session: Session) -> None:
        """Keep a session whose record is written (a create, or a fork in session_actions)."""
        self._sessions[session.id] = session

    def _runtime_in_use(self, runtime_key: str) -> bool:
        return any(
            s.runtime_key == runtime_key and s.deleted_at is None
            for s in self._sessions.values()
        )

    # ===== sessions (HTTP) ==================================================================

    def lookup(self, session_id: str) -> Session | Outcome:
        """The live session, or the 410 (deleted) / 404 (unknown) answer."""
        session = self._sessions.get(session_id)
        if session is None:
            return Outcome(404, {"status": "not_found", "sessionId": session_id})
        if session.deleted_at is not None:
            return Outcome(410, session.deleted_payload())
        return session

    def deleted_outcome(self, session_id: str) -> Outcome | None:
        """410 for a deleted session (checked first on every session route), else None."""
        session = self._sessions.get(session_id)
        if session is not None and session.deleted_at is not None:
            return Outcome(410, session.deleted_payload())
        return None

    async def create_session(self, body: CreateSessionBody) -> Outcome:
        admission = policy_check(lambda: self.policy.admit_create(
            model=body.model, cwd=body.cwd, approval=body.approvalPolicy,
            sandbox=body.filesystemSandbox, network=body.networkAccess))
        if isinstance(admission, Outcome):
            return admission
        spec, model = admission.runtime.key, admission.runtime.model
        try:
            self.runtimes.validate(spec)
            runtime = await self.runtimes.get(spec)
        except UnknownRuntimeError as exc:
            return error(400, "invalid_request", str(exc))
        except RuntimeLimitError as exc:
            return error(503, "runtime_limit", str(exc))
        except ImportError as exc:
            return error(501, "method_not_supported", f"runtime {spec!r} is unavailable: {exc}")
        except RuntimeUnavailable as exc:  # e.g. no codex binary: the operator's to fix
            log.warning("runtime %s is unavailable: %s", spec, exc.message)
            return error(503, "runtime_unavailable", exc.message)
        except Exception as exc:
            log.exception("runtime %s failed to start", spec)
            return map_runtime_error(exc, "thread/start", "")
        controls = Controls(
            model=model,
            approval_policy=admission.approval_policy,
            network_access=admission.network_access,
            filesystem_sandbox=admission.filesystem_sandbox,
        )
        tools = [tool.to_wire() for tool in body.dynamicTools or []]
        config = ThreadConfig(
            cwd=admission.cwd,
            model=model,
            approval_policy=controls.approval_policy,
            sandbox=controls.filesystem_sandbox,
            network_access=controls.network_access,
            dynamic_tools=runtime_tools(tools),
        )
        try:
            info = await runtime.start_thread(config)
        except Exception as exc:
            log.warning("thread/start failed on %s", spec, exc_info=True)
            return map_runtime_error(exc, "thread/start", "")
        session = Session.on_thread(info, spec, controls=controls, dynamic_tools=tools)
        refused = self.writes.first(self.store.save_session, session)
        if refused is not None:  # not written: the session never existed
            with contextlib.suppress(Exception):
                await runtime.forget_thread(session.id)
            return refused
        self.adopt(session)
        return Outcome(200, {"session": session.summary(), "thread": session.thread()})

    def list_sessions(self, *, archived: bool, cursor: str | None, limit: int) -> Outcome:
        live = [s for s in self._sessions.values() if s.deleted_at is None]
        live.sort(key=lambda s: (s.updated_at, s.created_at), reverse=True)
        live = [s for s in live if s.archived == archived]  # S/archive, session_actions.py
        offset = int(cursor) if cursor and cursor.isascii() and cursor.isdigit() else 0
        page = live[offset : offset + limit]
        more = offset + limit < len(live)
        return Outcome(
            200,
            {
                "data": [s.summary() for s in page],
                "nextCursor": str(offset + limit) if more else None,
                "archived": archived,
            },
        )

    def get_session(self, session_id: str) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        return Outcome(
            200,
            {
                "session": found.summary(),
                "thread": found.thread(),
                "transcript": found.transcript.entries(),
            },
        )

    async def delete_session(self, session_id: str) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        session = found
        active = session.active_turn
        runtime = self.runtimes.peek(session.runtime_key)
        # Mark it deleted first: anything the runtime emits from here on is dropped. The
        # tombstone is written before anything else happens; unwritten, nothing is deleted.
        session.deleted_at = iso_now()
        refused = self.writes.first(self.store.save_session, session)
        if refused is not None:
            session.deleted_at = None
            return refused
        if active is not None and runtime is not None and session.attached:
            try:
                await runtime.interrupt_turn(session.id, active.id)
            except Exception:
                log.warning("interrupt on delete failed for %s", session.id, exc_info=True)
        if runtime is not None:
            # Only the tombstone stays: the runtime's copy of the conversation goes too.
            try:
                await runtime.forget_thread(session.id)
            except Exception:
                log.warning("forget on delete failed for %s", session.id, exc_info=True)
        self.desk.expire(lambda r: r.thread_id == session.id)
        self.turn_start_keys.forget(session.id)  # its turns start no more
        session.turns = []
        session.transcript = type(session.transcript)()
        self.writes.save(self.store.save_session, session)
        self.writes.save(self.store.purge_session_content, session.id)
        payload = session.deleted_payload()
        self.fanout.publish("session_deleted", session.id, payload, broadcast=True)
        return Outcome(
            200,
            {
                "status": "ok",
                "sessionId": session.id,
                "title": session.title,
                "deletedFileCount": 0,
            },
        )

    def rename_session(self, session_id: str, body: RenameBody) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        before = (found.title, found.updated_at)
        found.title = body.title
        found.updated_at = now_s()
        refused = self.writes.first(self.store.save_session, found)
        if refused is not None:  # unwritten: the old title stays, in memory too
            found.title, found.updated_at = before
            return refused
        return Outcome(200, {"status": "ok", "session": found.summary()})

    async def send_message(self, session_id: str, body: SendMessageBody) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        session = found
        if session.starting_turn or session.active_turn is not None:
            return error(
                409,
                "invalid_state",
                "turn is already in progress",
                details={"method": "turn/start", "sessionId": session_id},
            )
        if session.archived:  # codex refuses turns on an archived thread; so does every runtime
            return error(
                409,
                "invalid_state",
                f"session {session_id} is archived; unarchive it first",
                details={"method": "turn/start", "sessionId": session_id},
            )
        session.starting_turn = True  # set before the first await: no second turn sneaks in
        try:
            return await self._start_turn(session, body)
        finally:
            session.starting_turn = False

    async def _start_turn(self, session: Session, body: SendMessageBody) -> Outcome:
        controls = Controls(
            model=session.controls.model,
            approval_policy=body.approvalPolicy or session.controls.approval_policy,
            network_access=body.networkAccess or session.controls.network_access,
            filesystem_sandbox=body.filesystemSandbox or session.controls.filesystem_sandbox,
            settings=session.controls.settings,  # a message never touches the settings
        )
        tools = (
            [t.to_wire() for t in body.dynamicTools]
            if body.dynamicTools is not None
            else session.dynamic_tools
        )
        asked = {"approval": body.approvalPolicy, "sandbox": body.filesystemSandbox,
                 "network": body.networkAccess}  # the rest the session's own (inherited)
        turn_model = policy_check(lambda: self.policy.admit_turn(
            runtime_key=session.runtime_key, cwd=session.cwd, model=body.model,
            approval=controls.approval_policy, sandbox=controls.filesystem_sandbox,
            network=controls.network_access,
            inherited=frozenset(name for name, value in asked.items() if value is None)))
        if isinstance(turn_model, Outcome):
            return turn_model
        options = TurnOptions(
            model=turn_model,
            effort=body.effort,
            approval_policy=controls.approval_policy,
            sandbox=controls.filesystem_sandbox,
            network_access=controls.network_access,
            dynamic_tools=runtime_tools(tools) if body.dynamicTools is not None else None,
        )
        # The session record with its new controls is written before the turn starts: a
        # store that refuses it refuses the message, and no turn runs unrecorded.
        before = (session.controls, session.dynamic_tools, session.materialized,
                  session.updated_at)
        session.controls = controls
        session.dynamic_tools = tools
        session.materialized = True
        session.updated_at = now_s()
        refused = self.writes.first(self.store.save_session, session)
        (session.controls, session.dynamic_tools, session.materialized,
         session.updated_at) = before
        if refused is not None:
            return refused
        method = "thread/resume"
        try:
            try:
                runtime = await self.runtimes.get(session.runtime_key)
            except RuntimeLimitError as exc:
                return error(503, "runtime_limit", str(exc))
            if not session.attached:
                config = session.thread_config()
                config.dynamic_tools = options.dynamic_tools or config.dynamic_tools
                config.state = self.store.load_thread_state(session.id)
                await runtime.resume_thread(session.id, config)
                session.attached = True
            method = "turn/start"
            turn_id = await runtime.start_turn(session.id, body.text, options)
        except Exception as exc:
            log.warning("%s failed for %s", method, session.id, exc_info=True)
            self.writes.save(self.store.save_session, session)  # the old controls again
            return map_runtime_error(exc, method, session.id)
        # The new controls and tools apply only after a successful start (as upstream).
        session.controls = controls
        session.dynamic_tools = tools
        session.materialized = True
        session.updated_at = now_s()
        turn = session.ensure_turn(turn_id, now_ms())
        refused = self.writes.first(self.store.save_turn, session.id, turn)
        if refused is not None:
            # The turn started but cannot be recorded: stop it rather than acknowledge it.
            with contextlib.suppress(Exception):
                await runtime.interrupt_turn(session.id, turn_id)
            return refused
        return Outcome(202, {"status": "accepted", "sessionId": session.id, "turnId": turn_id})

    async def interrupt(self, session_id: str, body: InterruptBody) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        session = found
        active = session.active_turn
        turn_id = body.turnId or (active.id if active else None)
        if turn_id is None:
            return Outcome(409, {"status": "no_active_turn", "sessionId": session_id})
        runtime = self.runtimes.peek(session.runtime_key)
        if runtime is not None and session.attached:
            try:
                await runtime.interrupt_turn(session.id, turn_id)
            except Exception as exc:
                log.warning("turn/interrupt failed for %s", session_id, exc_info=True)
                return map_runtime_error(exc, "turn/interrupt", session_id)
        return Outcome(200, {"status": "ok", "sessionId": session_id, "turnId": turn_id})

    def list_requests(self, session_id: str, kind: RequestKind) -> Outcome:
        # Unknown ids give an empty list, as upstream (the client's poll loop relies on a
        # `data` list here); deleted ones 410.
        deleted = self.deleted_outcome(session_id)
        if deleted is not None:
            return deleted
        return Outcome(200, {"data": self.desk.listed(session_id, kind)})

    # ===== informational =====================================================================

    def health(self) -> JsonObject:
        runtime: Runtime | None = self.runtimes.peek(self.runtimes.default_spec)
        codex = self.warmup.health(runtime.health() if runtime is not None else None)
        store = self._store_status()
        return {
            "status": "ok" if store["writable"] else "degraded",
            "service": "api",
            "store": store,
            "codex": codex,
            "orchestratorQueue": {"enabled": False},
            "auth": {
                "hasOpenAiApiKey": bool(os.environ.get("OPENAI_API_KEY")),
                "codexHomeAuthFile": False,
                "likelyUnauthenticated": False,
            },
            "timestamp": iso_now(),
        }

    def _store_status(self) -> JsonObject:
        """While writes fail, each health check probes once, so space that returns is seen
        even when nothing else writes."""
        if self.store_health.reason is not None:
            self.writes.save(self.store.probe_write, iso_now())
        reason = self.store_health.reason
        if reason is None:
            return {"writable": True}
        return {"writable": False, "reason": reason, "failedWrites": self.store_health.failures}

    # For tests and embedding: a read-only view.
    def sessions(self) -> list[Session]:
        """Every session this gateway knows, deleted ones (tombstones) included."""
        return list(self._sessions.values())

    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    @property
    def pending_count(self) -> int:
        return len(self.desk)

