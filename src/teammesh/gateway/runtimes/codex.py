"""The codex runtime: the real `codex app-server`, supervised over stdio JSON-RPC.

One app-server process serves every thread of the gateway. The runtime is a thin proxy:
notifications go to the hub untouched (it normalises them into websocket events and session
state); tool calls and approval requests go to the hub as server requests and their answers
come back with app-server's own request id. What the runtime adds is supervision:

* a private `CODEX_HOME` under `data_dir` with the offline-hardened config (`codex_config`);
* a tool-call deadline: app-server waits forever for an unanswered `item/tool/call`, so
  after `tool_call_deadline_s` the turn is interrupted (`turn/interrupt`; `codex_deadlines`);
* crash handling: when the process dies the hub is told (`runtime_exited`), and the next use
  spawns a new process and resumes each thread before using it again.

Threads are persistent, not ephemeral: their rollouts under `CODEX_HOME/sessions` are what
lets `thread/resume` restore history (and the thread's dynamic tools) after a restart of
app-server or of the whole gateway. A thread that never ran a turn has no rollout yet; it is
re-created with `thread/start` and its new codex id is mapped back to the original one, so
the hub only ever sees the id it was first given (`codex_threads` keeps both ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Coroutine
from typing import Any

from teammesh.gateway.runtimes.base import (
    JsonObject,
    Runtime,
    RuntimeFailure,
    RuntimeSink,
    RuntimeUnavailable,
    ServerRequestReply,
    ThreadConfig,
    ThreadInfo,
    TurnOptions,
)
from teammesh.gateway.runtimes.codex_binary import CodexBinaryNotFound, find_codex_binary
from teammesh.gateway.runtimes.codex_config import (
    CodexConfigError,
    app_server_argv,
    child_env,
    prepare_codex_home,
    provider_options,
)
from teammesh.gateway.runtimes.codex_deadlines import DeadlineKey, ToolCallDeadlines
from teammesh.gateway.runtimes.codex_failfast import StreamRetryWatch
from teammesh.gateway.runtimes.codex_mapping import (
    CURRENT_TIME_METHOD,
    TOOL_CALL_METHOD,
    approval_policy,
    rewrite_thread_ids,
    sandbox_policy,
    text_input,
)
from teammesh.gateway.runtimes.codex_model_pick import first_served_model
from teammesh.gateway.runtimes.codex_process import (
    AppServerError,
    AppServerExited,
    AppServerProcess,
    RequestId,
)
from teammesh.gateway.runtimes.codex_threads import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    CodexThread,
    CodexThreads,
    absolute_cwd,
    is_missing_rollout,
    new_thread,
    thread_start_params,
)
from teammesh.gateway.runtimes.registry import RuntimeSettings

log = logging.getLogger(__name__)

CLIENT_INFO: JsonObject = {"name": "teammesh", "title": "teammesh gateway", "version": "0.1.0"}
HANDSHAKE_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 5.0
INTERRUPT_TIMEOUT_S = 10.0  # a turn/interrupt codex does not answer must not hold a DELETE
METHOD_NOT_FOUND = -32601
# Thread methods the session routes forward as they are (session_actions.py).
THREAD_METHODS = frozenset({"thread/compact/start", "review/start",
                            "thread/backgroundTerminals/clean"})
# What `call_method` forwards (the global read-only rows of upstream_routes.py): nothing that
# writes codex's config, logs in, reaches OpenAI or runs commands (docs/security.md).
PASS_THROUGH_METHODS = frozenset({"model/list", "experimentalFeature/list",
                                  "collaborationMode/list", "mcpServerStatus/list",
                                  "app/list", "skills/list", "account/read",
                                  "account/rateLimits/read", "config/read",
                                  "configRequirements/read"})


class CodexRuntime(Runtime):
    name = "codex"

    def __init__(self, settings: RuntimeSettings) -> None:
        self._settings = settings
        # Checked now so a gateway with no model provider fails at start, not at first turn.
        try:
            self._provider = provider_options(
                settings.model_base_url, settings.model_api_key_env, settings.model
            )
        except CodexConfigError as exc:  # the operator's setup: a 503 that says so
            raise RuntimeUnavailable(INTERNAL_ERROR, str(exc)) from exc
        self._sink: RuntimeSink | None = None
        self._process: AppServerProcess | None = None
        self._generation = 0
        self._ready_generation = 0
        self._lifecycle = asyncio.Lock()
        self._threads = CodexThreads(settings.data_dir / "codex" / "thread-ids.json")
        self._deadlines = ToolCallDeadlines(settings.tool_call_deadline_s, self._deadline_passed)
        self._background: set[asyncio.Task[None]] = set()
        # While a thread is being re-created, `thread/started` of unknown ids is held back
        # (its own must not reach the hub as a new thread); see `_recreate_thread`.
        self._recreating = 0
        self._held_started: dict[str, JsonObject] = {}
        # Re-created threads whose `thread/started` has not arrived yet (it may come after
        # the `thread/start` result): dropped on arrival.
        self._suppress_started: set[str] = set()
        self._stopped = False
        self._model_picked = False
        self._retry_watch = StreamRetryWatch(self._interrupt_now)
        self.last_start_s: float | None = None
        self.restarts = 0

    # --- Runtime interface ---------------------------------------------------------------

    async def start(self, sink: RuntimeSink) -> None:
        self._sink = sink
        self._stopped = False
        await self._ensure_running()

    async def stop(self) -> None:
        self._stopped = True
        self._deadlines.clear()
        async with self._lifecycle:
            process, self._process = self._process, None
        if process is not None:
            await process.close(SHUTDOWN_TIMEOUT_S)
        for task in list(self._background):
            task.cancel()

    async def start_thread(self, config: ThreadConfig) -> ThreadInfo:
        process = await self._ensure_running()
        config = absolute_cwd(config)
        result = await self._call(process, "thread/start", thread_start_params(config))
        return self._threads.adopt("thread/start", result, config, controls=config,
                                   generation=self._generation)

    async def resume_thread(self, thread_id: str, config: ThreadConfig) -> None:
        state = self._threads.resumed(thread_id, absolute_cwd(config))
        process = await self._ensure_running()
        await self._load_thread(state, process)

    async def start_turn(self, thread_id: str, text: str, options: TurnOptions) -> str:
        state = self._threads.known(thread_id)
        process = await self._ensure_running()
        await self._load_thread(state, process)
        approval = options.approval_policy or state.approval_policy
        sandbox = options.sandbox or state.sandbox
        network = options.network_access or state.network_access
        if (
            options.dynamic_tools is not None
            and options.dynamic_tools != state.config.dynamic_tools
        ):
            # app-server 0.169.0 takes dynamic tools only at `thread/start` (not on
            # `turn/start` or `thread/resume`): a changed catalog cannot be applied.
            log.warning("codex thread %s: per-turn dynamicTools differ and are ignored", thread_id)
        params: JsonObject = {
            "threadId": state.codex_id,
            "input": text_input(text),
            "approvalPolicy": approval_policy(approval),
            "sandboxPolicy": sandbox_policy(sandbox, network),
        }
        if options.model:
            params["model"] = options.model
        if options.effort:
            params["effort"] = options.effort
        result = await self._call(process, "turn/start", params)
        turn = result.get("turn") if isinstance(result, dict) else None
        if not isinstance(turn, dict) or not isinstance(turn.get("id"), str):
            raise RuntimeFailure(INTERNAL_ERROR, "codex turn/start returned no turn")
        # Overrides persist once a turn has started with them (as upstream), and are what a
        # resume after a restart uses.
        state.approval_policy, state.sandbox, state.network_access = approval, sandbox, network
        return str(turn["id"])

    async def interrupt_turn(self, thread_id: str, turn_id: str) -> None:
        state = self._threads.known(thread_id)
        process = self._process
        if process is None or not process.running or state.generation != self._generation:
            return  # the turn died with the app-server that ran it
        params: JsonObject = {"threadId": state.codex_id, "turnId": turn_id}
        try:
            await asyncio.wait_for(self._call(process, "turn/interrupt", params),
                                   INTERRUPT_TIMEOUT_S)
        except TimeoutError:
            # Seen once in a few dozen runs of codex-manager's smoke script (a review or
            # compaction turn mid-flight): app-server never answered, and a DELETE of the
            # session (which interrupts first) hung until the 60 s request timeout.
            raise RuntimeFailure(INTERNAL_ERROR, "codex turn/interrupt timed out after "
                                 f"{INTERRUPT_TIMEOUT_S:.0f} s") from None

    async def call_method(self, method: str, params: JsonObject | None) -> Any:
        # Only read-only, thread-less methods a client may ask for: nothing that writes
        # codex's config, logs in or runs commands (those are the operator's).
        if method not in PASS_THROUGH_METHODS:
            raise RuntimeFailure(METHOD_NOT_FOUND, f"method not found: {method} is not "
                                 "forwarded to codex by this gateway")
        process = await self._ensure_running()
        return await self._call(process, method, params)

    def health(self) -> JsonObject:
        process = self._process
        running = process is not None and process.running
        return {
            "running": running,
            "pid": process.pid if process is not None and running else None,
            "initialized": process is not None and process.initialized,
        }

    # --- process supervision -----------------------------------------------------------

    async def _ensure_running(self) -> AppServerProcess:
        async with self._lifecycle:
            process = self._process
            if process is not None and process.initialized:
                return process
            if self._stopped:
                raise RuntimeFailure(INVALID_REQUEST, "the codex runtime is stopped")
            return await self._spawn()

    async def _spawn(self) -> AppServerProcess:
        try:
            binary = find_codex_binary(self._settings.codex_bin)
        except CodexBinaryNotFound as exc:
            raise RuntimeUnavailable(INTERNAL_ERROR, str(exc)) from exc
        await self._pick_model()
        home = prepare_codex_home(self._settings.data_dir, self._provider)
        if self._generation:
            self.restarts += 1
        self._generation += 1
        generation = self._generation
        process = AppServerProcess(
            app_server_argv(binary),
            env=child_env(home, self._provider),
            cwd=home.parent,
            stderr_log=home.parent / "app-server.log",
            on_notification=functools.partial(self._on_notification, generation),
            on_request=functools.partial(self._on_server_request, generation),
            on_exit=functools.partial(self._on_exit, generation),
            skip_notification=self._unwanted,
        )
        # Set before the handshake so server requests arriving during it can be answered.
        self._process = process
        started = time.perf_counter()
        try:
            await process.spawn()
            await process.initialize(CLIENT_INFO, HANDSHAKE_TIMEOUT_S)
        except (OSError, AppServerError, AppServerExited) as exc:
            self._process = None
            process.kill()
            await process.close(1.0)
            # A child that died by itself says why on stderr (its exit reason); our failed
            # write to it ("stdin closed") says nothing.
            why = process.exit_reason if isinstance(exc, AppServerExited) else None
            # Unavailable (a 503 with the reason), as a missing binary: the operator's to fix.
            raise RuntimeUnavailable(
                INTERNAL_ERROR, f"codex app-server failed to start: {why or exc}"
            ) from exc
        self.last_start_s = time.perf_counter() - started
        self._ready_generation = generation
        log.info("codex app-server pid %s ready in %.0f ms", process.pid, 1000 * self.last_start_s)
        return process

    async def _pick_model(self) -> None:
        """No operator's model: the model server's own first one (codex_model_pick), asked
        until it answers."""
        if self._settings.model or not self._settings.model_base_url or self._model_picked:
            return
        served = await first_served_model(self._provider.base_url, self._provider.api_key_env)
        if served is not None:
            self._model_picked = True
            self._provider = dataclasses.replace(self._provider, model=served)

    def _on_exit(self, generation: int, reason: str) -> None:
        if generation != self._generation:
            return
        log.error("%s", reason)
        self._process = None
        self._deadlines.clear()
        # A process that dies during its handshake is reported by `_spawn` instead.
        if self._sink is not None and self._ready_generation == generation:
            self._sink.runtime_exited(reason)

    async def steer_turn(self, thread_id: str, turn_id: str, text: str) -> None:
        """`turn/steer` on the thread's codex id (the two differ for a re-created thread)."""
        state = self._threads.known(thread_id)
        process = self._process
        if process is None or not process.running or state.generation != self._generation:
            raise RuntimeFailure(INVALID_REQUEST, "no active turn to steer")
        await self._call(process, "turn/steer", {"threadId": state.codex_id,
                                                 "expectedTurnId": turn_id,
                                                 "input": text_input(text)})

    async def fork_thread(self, source_id: str, config: ThreadConfig) -> ThreadInfo:
        """`thread/fork` of the source's codex thread, under the source's stored controls;
        the new thread's codex id is its public id."""
        source = self._threads.known(source_id)
        process = await self._ensure_running()
        await self._load_thread(source, process)
        config = absolute_cwd(config)
        result = await self._call(process, "thread/fork", {
            "threadId": source.codex_id,
            "approvalPolicy": approval_policy(source.approval_policy),
            "sandbox": source.sandbox,
        })
        return self._threads.adopt("thread/fork", result, config, controls=source,
                                   generation=self._generation)

    async def call_thread_method(self, thread_id: str, method: str, params: JsonObject) -> Any:
        if method not in THREAD_METHODS:
            raise RuntimeFailure(METHOD_NOT_FOUND, f"method not found: {method} is not "
                                 "forwarded to codex by this gateway")
        state = self._threads.known(thread_id)
        process = await self._ensure_running()
        await self._load_thread(state, process)
        return await self._call(process, method, {"threadId": state.codex_id, **params})

    async def archive_thread(self, thread_id: str, archived: bool) -> None:
        """`thread/archive` / `thread/unarchive` on the thread's codex id. An archived
        thread is loaded again (`thread/resume`) before its next turn."""
        state = self._threads.get(thread_id)
        codex_id = self._threads.codex_id(thread_id)
        process = await self._ensure_running()
        method = "thread/archive" if archived else "thread/unarchive"
        await self._call(process, method, {"threadId": codex_id})
        if state is not None:
            state.generation = -1  # not loaded in any app-server generation now

    # --- threads -----------------------------------------------------------------------

    async def _load_thread(self, state: CodexThread, process: AppServerProcess) -> None:
        """Make sure the current app-server has the thread loaded (after a restart)."""
        async with state.load_lock:
            if state.generation == self._generation:
                return
            params: JsonObject = {
                "threadId": state.codex_id,
                "cwd": state.config.cwd,
                "approvalPolicy": approval_policy(state.approval_policy),
                "sandbox": state.sandbox,
                # Only metadata: the hub keeps its own transcript, and full hydration is
                # deprecated for paginated threads.
                "excludeTurns": True,
            }
            if state.config.model:
                params["model"] = state.config.model
            try:
                await self._call(process, "thread/resume", params)
            except RuntimeFailure as exc:
                if not is_missing_rollout(exc.message):
                    raise
                await self._recreate_thread(state, process)
            state.generation = self._generation

    async def _recreate_thread(self, state: CodexThread, process: AppServerProcess) -> None:
        self._recreating += 1
        try:
            result = await self._call(process, "thread/start", thread_start_params(state.config))
        finally:
            self._recreating -= 1
        new_id: str = new_thread("thread/start", result)["id"]
        if self._held_started.pop(new_id, None) is None:
            self._suppress_started.add(new_id)
        self._threads.recreated(state, new_id)
        log.info("codex thread %s re-created as %s (it had no rollout)", state.public_id, new_id)
        if not self._recreating:
            held, self._held_started = self._held_started, {}
            for params in held.values():
                self._forward_notification("thread/started", params)

    # --- messages from app-server ------------------------------------------------------

    def _on_notification(self, generation: int, method: str, params: JsonObject) -> None:
        if generation != self._generation:
            return
        if method == "thread/started":
            thread = params.get("thread")
            thread_id = thread.get("id") if isinstance(thread, dict) else None
            if thread_id in self._suppress_started:
                self._suppress_started.discard(thread_id)
                return
            if self._recreating and isinstance(thread_id, str):
                if not self._threads.has_codex_id(thread_id):
                    self._held_started[thread_id] = params
                    return
        if method == "error":
            self._retry_watch.on_error(params)
        if method == "turn/completed":
            self._deadlines.turn_completed(params)
            params = self._retry_watch.on_completed(params)
        self._forward_notification(method, params)

    def _unwanted(self, method: str) -> bool:
        """A skippable notification nothing would read (codex_skippable.py)."""
        return self._sink is not None and not self._sink.wants_notification(method)

    def _interrupt_now(self, codex_thread_id: str, turn_id: str) -> None:
        process = self._process
        if process is not None and process.running:
            params = {"threadId": codex_thread_id, "turnId": turn_id}
            self._background_task(self._quiet_call(process, "turn/interrupt", params))

    def _forward_notification(self, method: str, params: JsonObject) -> None:
        if self._sink is not None:
            self._sink.notify(method, rewrite_thread_ids(params, self._threads.public_id_of))

    def _on_server_request(
        self, generation: int, request_id: RequestId, method: str, params: JsonObject
    ) -> None:
        process = self._process
        if process is None or generation != self._generation:
            return
        if method == CURRENT_TIME_METHOD:
            self._background_task(
                process.respond(request_id, result={"currentTimeAt": int(time.time())})
            )
            return
        if self._sink is None:
            error = {
                "code": METHOD_NOT_FOUND,
                "message": f"client does not support server-initiated method: {method}",
            }
            self._background_task(process.respond(request_id, error=error))
            return
        if method == TOOL_CALL_METHOD:
            self._deadlines.arm((generation, request_id), params)
        # Every other request goes to the hub: it turns tool calls, approvals and tool-input
        # prompts into pending requests and answers the rest with -32601, in app-server's
        # own result shapes (e.g. `acceptForSession`, `approved`), so replies are verbatim.
        reply = functools.partial(self._reply, process, generation, request_id)
        public_params = rewrite_thread_ids(params, self._threads.public_id_of)
        self._sink.server_request(method, public_params, reply)

    async def _reply(
        self,
        process: AppServerProcess,
        generation: int,
        request_id: RequestId,
        answer: ServerRequestReply,
    ) -> None:
        if process is not self._process or not process.running:
            raise RuntimeFailure(
                INTERNAL_ERROR, "codex app-server restarted; this request no longer exists"
            )
        try:
            if answer.error is not None:
                await process.respond(request_id, error=answer.error)
            else:
                await process.respond(request_id, result=answer.result)
        except AppServerExited as exc:
            raise RuntimeFailure(INTERNAL_ERROR, exc.reason) from exc
        self._deadlines.answered((generation, request_id))

    # --- tool-call deadline ------------------------------------------------------------

    def _deadline_passed(self, key: DeadlineKey, codex_thread_id: str, turn_id: str) -> None:
        process = self._process
        if process is None or key[0] != self._generation:
            return
        log.warning(
            "tool call %s unanswered after %ss: interrupting turn %s",
            key[1],
            self._settings.tool_call_deadline_s,
            turn_id,
        )
        # The turn then completes `interrupted` and the hub expires the pending call.
        params = {"threadId": codex_thread_id, "turnId": turn_id}
        self._background_task(self._quiet_call(process, "turn/interrupt", params))

    # --- helpers -----------------------------------------------------------------------

    async def _call(self, process: AppServerProcess, method: str,
                    params: JsonObject | None) -> Any:
        try:
            return await process.request(method, params)
        except AppServerError as exc:
            raise RuntimeFailure(exc.code, exc.message) from exc
        except AppServerExited as exc:
            raise RuntimeFailure(INTERNAL_ERROR, exc.reason) from exc

    async def _quiet_call(self, process: AppServerProcess, method: str, params: JsonObject) -> None:
        with contextlib.suppress(AppServerError, AppServerExited):
            await process.request(method, params)

    def _background_task(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        async def run() -> None:
            with contextlib.suppress(AppServerExited):
                await coroutine

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def build(settings: RuntimeSettings) -> Runtime:
    return CodexRuntime(settings)


__all__ = ["CodexRuntime", "build"]
