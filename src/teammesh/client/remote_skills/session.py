"""A session bound to its skills: the handle `remote_skills.create_session` returns, and
its sync twin (declared from it, see `client/_twin.py`).

All dispatch goes through one per-session ledger, so the websocket path
(`respond_to_signal`) and the polling path (`drain_pending_calls`) may run at the same time:
each request id runs its handler once and is POSTed once. There is no dispatch mode to
conflict over; the retired calls (`dispatch_mode()`, `reset_dispatch_mode()`, the runtime
sync) live in `retired.py` and warn or raise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any, TypeVar

from teammesh.client._twin import Twin, blocking, mirrors, same
from teammesh.client.errors import WaitTimeoutError
from teammesh.client.events import AppServerSignal
from teammesh.client.remote_skills.client_parts import SkillClient
from teammesh.client.remote_skills.dispatcher import (
    ToolCallRequest,
    normalize_request_id,
    parse_pending_row,
    parse_signal,
    run_skill,
)
from teammesh.client.remote_skills.models import (
    LOCAL_DUPLICATE,
    LOCAL_IN_FLIGHT,
    NO_REQUEST_ID,
    RemoteSkill,
    RemoteSkillDispatch,
    RemoteSkillSendResult,
)
from teammesh.client.remote_skills.registry import (
    RUNTIME_SYNC_DISABLED_ERROR,
    SkillRegistry,
    build_skill,
)
from teammesh.client.remote_skills.retired import RetiredApi, no_runtime_sync
from teammesh.client.remote_skills.submission import StreamAnswerer, submit_response
from teammesh.client.replies import assistant_reply_of, normalize_statuses, turn_status_of
from teammesh.client.stream_answers import StreamAnswers
from teammesh.client.wait import accepted_turn_id

F = TypeVar("F", bound=Callable[..., Any])
# Aliases: inside the handle classes `list` is a method name (upstream's API).
DispatchList = list[RemoteSkillDispatch]
SkillList = list[RemoteSkill]
ToolList = list[dict[str, Any]]
def _rows_of(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        raise ValueError("sessions.tool_calls returned unexpected payload type; expected object")
    data = body.get("data")
    if isinstance(data, list):
        return data
    status = body.get("status")
    if status == "deleted" or (status == "error" and body.get("code") == "system_session"):
        return []
    raise ValueError("sessions.tool_calls response missing data list")


def _stream_answers(client: SkillClient) -> StreamAnswerer | None:
    """The client's stream answer path, if it has one (the client does; a test's own
    `SkillClient` may not): answers then go over its websocket when the gateway allows."""
    answers = getattr(getattr(client, "stream", None), "answers", None)
    return answers if isinstance(answers, StreamAnswers) else None


class AsyncRemoteSkillSession(RetiredApi):
    def __init__(
        self, *, client: SkillClient, session_id: str, registry: SkillRegistry
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.registry = registry

    # --- catalog (create-time only) -------------------------------------------------------

    def list(self) -> SkillList:
        return self.registry.sorted_skills()

    def register(
        self,
        name: str,
        handler: Callable[..., Any],
        *,
        description: str | None = None,
        input_schema: dict[str, Any] | None = None,
        output_schema: dict[str, Any] | None = None,
        sync_runtime: bool = False,
        ignore_sync_errors: bool = True,
    ) -> RemoteSkill:
        if sync_runtime:
            # Checked first: upstream stores the skill and then raises.
            raise RuntimeError(RUNTIME_SYNC_DISABLED_ERROR)
        no_runtime_sync(ignore_sync_errors)
        self.registry._check_unlocked()
        skill = build_skill(
            name,
            handler,
            description=description,
            input_schema=input_schema,
            output_schema=output_schema,
        )
        return self.registry.register(skill)

    def skill(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        input_schema: dict[str, Any] | None = None,
        output_schema: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        def decorate(handler: F) -> F:
            handler_name = getattr(handler, "__name__", None)
            self.register(
                name or (handler_name if isinstance(handler_name, str) else "remote_skill"),
                handler,
                description=description,
                input_schema=input_schema,
                output_schema=output_schema,
            )
            return handler

        return decorate

    def unregister(
        self, name: str, *, sync_runtime: bool = False, ignore_sync_errors: bool = True
    ) -> bool:
        if sync_runtime:
            raise RuntimeError(RUNTIME_SYNC_DISABLED_ERROR)
        no_runtime_sync(ignore_sync_errors)
        return self.registry.unregister(name)

    def clear(self, *, sync_runtime: bool = False, ignore_sync_errors: bool = True) -> int:
        if sync_runtime:
            raise RuntimeError(RUNTIME_SYNC_DISABLED_ERROR)
        no_runtime_sync(ignore_sync_errors)
        return self.registry.clear()

    @asynccontextmanager
    async def using(
        self, name: str, handler: Callable[..., Any], *, description: str | None = None,
        input_schema: dict[str, Any] | None = None, output_schema: dict[str, Any] | None = None,
        sync_runtime_on_exit: bool = False, ignore_sync_errors: bool = True,
    ) -> AsyncIterator[RemoteSkill]:
        with self.registered(
            name, handler, description=description, input_schema=input_schema,
            output_schema=output_schema, sync_runtime_on_exit=sync_runtime_on_exit,
            ignore_sync_errors=ignore_sync_errors,
        ) as skill:
            yield skill

    @contextmanager
    def registered(
        self,
        /,
        name: str,
        handler: Callable[..., Any],
        *,
        sync_runtime_on_exit: bool = False,
        **options: Any,
    ) -> Iterator[RemoteSkill]:
        """The skill registered for the block, dropped after it: what `using` does, in a
        plain (sync) context manager so the async and sync handles share it. `options` are
        `register`'s."""
        if sync_runtime_on_exit:
            raise RuntimeError(RUNTIME_SYNC_DISABLED_ERROR)
        skill = self.register(name, handler, **options)
        try:
            yield skill
        finally:
            self.registry.skills.pop(skill.name, None)

    def dynamic_tools(self) -> ToolList:
        return self.registry.dynamic_tools()

    def instruction_text(self) -> str:
        return self.registry.instruction_text()

    def inject_request(self, request_text: str) -> str:
        instruction = self.instruction_text()
        return f"{instruction}\n\nUser request:\n{request_text}" if instruction else request_text

    # --- matching and dispatch -----------------------------------------------------------

    def matches_signal(self, signal: AppServerSignal) -> bool:
        # Unlike upstream, a signal without any session id matches no session: it cannot be
        # attributed, and answering it from an arbitrary session's catalog would be wrong.
        return signal.session_id == self.session_id

    async def dispatch_tool_call(
        self,
        *,
        tool: str,
        arguments: Any = None,
        request_id: str | int | None = None,
        call_id: str | None = None,
    ) -> RemoteSkillDispatch:
        """Run the handler only: no submission, no ledger."""
        request = ToolCallRequest(tool, arguments, request_id, call_id, None, self.session_id)
        return await run_skill(self.registry, request, session_id=self.session_id, source="direct")

    async def dispatch_app_server_signal(
        self, signal: AppServerSignal
    ) -> RemoteSkillDispatch | None:
        request = parse_signal(signal)
        if request is None or not self.matches_signal(signal):
            return None
        return await run_skill(self.registry, request, session_id=self.session_id, source="signal")

    async def respond_to_signal(
        self,
        signal: AppServerSignal,
        *,
        max_submit_attempts: int = 3,
        retry_delay_seconds: float = 0.05,
    ) -> RemoteSkillDispatch | None:
        if not self.matches_signal(signal):
            return None
        request = parse_signal(signal)
        if request is None:
            return None
        return await self._respond(request, "signal", max_submit_attempts, retry_delay_seconds)

    async def respond_to_pending_call(
        self,
        pending_call: Any,
        *,
        max_submit_attempts: int = 3,
        retry_delay_seconds: float = 0.05,
    ) -> RemoteSkillDispatch | None:
        request = parse_pending_row(pending_call)
        if request is None:
            return None
        if request.thread_id is not None and request.thread_id != self.session_id:
            return None
        return await self._respond(request, "polling", max_submit_attempts, retry_delay_seconds)

    async def drain_pending_calls(
        self, *, max_submit_attempts: int = 3, retry_delay_seconds: float = 0.05
    ) -> DispatchList:
        rows = _rows_of(await self.client.sessions.tool_calls(self.session_id))
        dispatches: DispatchList = []
        for row in rows:
            dispatch = await self.respond_to_pending_call(
                row,
                max_submit_attempts=max_submit_attempts,
                retry_delay_seconds=retry_delay_seconds,
            )
            if dispatch is not None:
                dispatches.append(dispatch)
        return dispatches

    async def _respond(
        self,
        request: ToolCallRequest,
        source: str,
        max_submit_attempts: int,
        retry_delay_seconds: float,
    ) -> RemoteSkillDispatch:
        request_id = normalize_request_id(request.request_id)
        if request_id is None:
            dispatch = await run_skill(
                self.registry, request, session_id=self.session_id, source=source
            )
            dispatch.submission_status = NO_REQUEST_ID
            return dispatch
        ledger = self.registry.ledger
        claim = ledger.claim(request_id)
        if claim != "claimed":
            # Another path owns (or already finished) this id: never run it again.
            return RemoteSkillDispatch(
                handled=True,
                tool=request.tool,
                arguments=request.arguments,
                request_id=request.request_id,
                call_id=request.call_id,
                submission_status=LOCAL_DUPLICATE if claim == "accepted" else LOCAL_IN_FLIGHT,
                submission_idempotent=True,
                source=source,
                turn_id=request.turn_id,
            )
        try:
            earlier = ledger.prepared(request_id)
            if earlier is not None:
                # The handler already ran; only the POST failed. Resubmit its outcome.
                dispatch = RemoteSkillDispatch(
                    handled=earlier.handled,
                    tool=earlier.tool,
                    arguments=earlier.arguments,
                    request_id=request.request_id,
                    call_id=earlier.call_id,
                    response_payload=earlier.response_payload,
                    result=earlier.result,
                    error=earlier.error,
                    source=source,
                    turn_id=earlier.turn_id,
                )
            else:
                dispatch = await run_skill(
                    self.registry, request, session_id=self.session_id, source=source
                )
            handler_outcome = (dispatch.handled, dispatch.error)
            ledger.submitting(request_id)
            outcome = await submit_response(
                self.client.tool_calls,
                request_id,
                dispatch.response_payload or {},
                max_submit_attempts=max_submit_attempts,
                retry_delay_seconds=retry_delay_seconds,
                over_stream=_stream_answers(self.client),
            )
        except BaseException:
            ledger.abandon(request_id)
            raise
        dispatch.submission_status = outcome.status
        dispatch.submission_code = outcome.code
        dispatch.submission_attempts = outcome.attempts
        dispatch.submission_idempotent = outcome.idempotent
        dispatch.answered_elsewhere = outcome.answered_elsewhere
        if outcome.accepted:
            ledger.finish(
                request_id, dispatch, accepted=True, elsewhere=outcome.answered_elsewhere
            )
            return dispatch
        # Keep the handler's outcome for a resubmission, then report the failure.
        kept = RemoteSkillDispatch(
            handled=handler_outcome[0],
            tool=dispatch.tool,
            arguments=dispatch.arguments,
            request_id=dispatch.request_id,
            call_id=dispatch.call_id,
            response_payload=dispatch.response_payload,
            result=dispatch.result,
            error=handler_outcome[1],
            source=source,
            turn_id=dispatch.turn_id,
        )
        ledger.finish(request_id, kept, accepted=False)
        dispatch.handled = False
        dispatch.error = outcome.error or "tool call response submission failed"
        return dispatch

    # --- sending turns -------------------------------------------------------------------

    async def send(
        self, /, request_text: str, *, inject_skills: bool = True, **kwargs: Any
    ) -> Any:
        # The catalog's snapshot: `sessions.send_message` copies each tool into the body.
        kwargs.setdefault("dynamic_tools", self.registry.wire_tools())
        text = self.inject_request(request_text) if inject_skills else request_text
        return await self.client.sessions.send_message(self.session_id, text, **kwargs)

    async def send_and_handle(
        self,
        /,
        request_text: str,
        *,
        inject_skills: bool = True,
        timeout_seconds: float = 60.0,
        interval_seconds: float = 0.25,
        terminal_statuses: str | Iterable[str] | None = None,
        require_assistant_reply: bool = False,
        max_submit_attempts: int = 3,
        retry_delay_seconds: float = 0.05,
        **kwargs: Any,
    ) -> RemoteSkillSendResult:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be > 0")
        terminal = normalize_statuses(terminal_statuses, what="terminal_statuses")
        accepted = await self.send(request_text, inject_skills=inject_skills, **kwargs)
        if not isinstance(accepted, dict):
            raise ValueError("remote skill send_and_handle expected dict response with turnId")
        try:
            turn_id = accepted_turn_id(accepted, "remote skill send_and_handle")
        except ValueError:
            raise ValueError("remote skill send_and_handle response missing turnId") from None
        tracker = self.client.turns
        dispatches: DispatchList = []
        started = time.monotonic()
        while True:
            dispatches.extend(
                await self.drain_pending_calls(
                    max_submit_attempts=max_submit_attempts,
                    retry_delay_seconds=retry_delay_seconds,
                )
            )
            detail = await self.client.sessions.get(self.session_id)
            status = turn_status_of(detail, turn_id)
            if status is not None and status.lower() in terminal:
                break
            if time.monotonic() - started >= timeout_seconds:
                raise WaitTimeoutError(
                    f"remote skill turn {turn_id} did not reach terminal status within "
                    f"{timeout_seconds:.2f}s"
                )
            # Wakes early when a running stream reports the turn completed.
            if tracker.covers(self.session_id):
                await tracker.wait(self.session_id, turn_id, interval_seconds)
            else:
                await asyncio.sleep(interval_seconds)
        reply = assistant_reply_of(detail, turn_id)
        if require_assistant_reply and reply is None:
            raise WaitTimeoutError(
                f"turn {turn_id} reached terminal status without an assistant reply"
            )
        return RemoteSkillSendResult(
            session_id=self.session_id,
            turn_id=turn_id,
            accepted=accepted,
            detail=detail,
            status=status,
            assistant_reply=reply,
            dispatches=dispatches,
        )


class RemoteSkillSession(Twin[AsyncRemoteSkillSession]):
    """The sync twin of `AsyncRemoteSkillSession` (same names and parameters, blocking),
    each method declared from its async original."""

    @property
    def session_id(self) -> str:
        return self.inner.session_id

    @property
    def registry(self) -> SkillRegistry:
        return self.inner.registry

    # catalog: plain methods of the handle, forwarded
    list = same(AsyncRemoteSkillSession.list)
    register = same(AsyncRemoteSkillSession.register)
    skill = same(AsyncRemoteSkillSession.skill)
    unregister = same(AsyncRemoteSkillSession.unregister)
    clear = same(AsyncRemoteSkillSession.clear)
    dynamic_tools = same(AsyncRemoteSkillSession.dynamic_tools)
    instruction_text = same(AsyncRemoteSkillSession.instruction_text)
    inject_request = same(AsyncRemoteSkillSession.inject_request)
    matches_signal = same(AsyncRemoteSkillSession.matches_signal)
    dispatch_mode = same(AsyncRemoteSkillSession.dispatch_mode)
    reset_dispatch_mode = same(AsyncRemoteSkillSession.reset_dispatch_mode)
    registered = same(AsyncRemoteSkillSession.registered)

    @mirrors(AsyncRemoteSkillSession.using)
    def using(self, *args: Any, **kwargs: Any) -> AbstractContextManager[RemoteSkill]:
        # The async `using` is `registered` in an async wrapper; the sync one is it plain.
        return self.inner.registered(*args, **kwargs)

    # dispatch and turns: coroutines of the handle, run on the client's private loop
    sync_runtime = blocking(AsyncRemoteSkillSession.sync_runtime)
    prepare_catalog = blocking(AsyncRemoteSkillSession.prepare_catalog)
    send_prepared = blocking(AsyncRemoteSkillSession.send_prepared)
    dispatch_tool_call = blocking(AsyncRemoteSkillSession.dispatch_tool_call)
    dispatch_app_server_signal = blocking(AsyncRemoteSkillSession.dispatch_app_server_signal)
    respond_to_signal = blocking(AsyncRemoteSkillSession.respond_to_signal)
    respond_to_pending_call = blocking(AsyncRemoteSkillSession.respond_to_pending_call)
    drain_pending_calls = blocking(AsyncRemoteSkillSession.drain_pending_calls)
    send = blocking(AsyncRemoteSkillSession.send)
    send_and_handle = blocking(AsyncRemoteSkillSession.send_and_handle)
