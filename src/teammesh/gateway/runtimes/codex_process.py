"""One `codex app-server` child process and its JSON-RPC connection over stdio.

Framing is one JSON object per line. Codex omits `"jsonrpc"`; a message with `method` and
`id` is a server request, `method` alone a notification, `id` with `result`/`error` a
response to one of ours. Requests, notifications and responses interleave, so one reader task
reads continuously and matches responses by id. Server request ids start at 0: they are
never tested for truthiness here.

The process knows nothing about threads or the gateway: it hands notifications and server
requests to callbacks (synchronously, in arrival order, straight from the pipe callback:
codex_pipes.py) and reports its own death once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from teammesh.gateway import json_text
from teammesh.gateway.runtimes.codex_pipes import LineProcess, spawn_line_process
from teammesh.gateway.runtimes.codex_skippable import skippable_method
from teammesh.private_files import open_private_append, private_dir

JsonObject = dict[str, Any]
RequestId = int | str

NotificationHandler = Callable[[str, JsonObject], None]
ServerRequestHandler = Callable[[RequestId, str, JsonObject], None]
ExitHandler = Callable[[str], None]

log = logging.getLogger(__name__)

# One protocol line can carry a whole thread with its turns (e.g. a `thread/resume` result);
# asyncio's default 64 KiB line limit is far too small.
_LINE_LIMIT = 64 * 1024 * 1024
_STDERR_TAIL_LINES = 20
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DEFAULT_REQUEST_TIMEOUT_S = 60.0


class AppServerError(Exception):
    """A JSON-RPC error answer from app-server."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"codex rpc error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class AppServerExited(Exception):
    """The process is gone (or never came up); `reason` says how it ended."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AppServerProcess:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        cwd: Path,
        stderr_log: Path,
        on_notification: NotificationHandler,
        on_request: ServerRequestHandler,
        on_exit: ExitHandler,
        skip_notification: Callable[[str], bool] | None = None,
    ) -> None:
        self._argv = list(argv)
        self._skip_notification = skip_notification
        self._env = env
        self._cwd = cwd
        self._stderr_log = stderr_log
        self._on_notification = on_notification
        self._on_request = on_request
        self._on_exit = on_exit
        self._proc: asyncio.subprocess.Process | None = None
        self._next_id = 1
        self._pending: dict[RequestId, asyncio.Future[Any]] = {}
        self._write_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._stderr_sink: TextIO | None = None
        self._pipes: LineProcess | None = None
        self._closing = False
        self._exit_reason: str | None = None
        self._initialized = False

    # --- state -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._exit_reason is None

    @property
    def initialized(self) -> bool:
        return self._initialized and self.running

    @property
    def exit_reason(self) -> str | None:
        return self._exit_reason

    # --- lifecycle ---------------------------------------------------------------------

    async def spawn(self) -> None:
        private_dir(self._stderr_log.parent)
        # Codex logs at RUST_LOG=warn; we never log our own environment, so nothing secret
        # is written here by us. Owner-only: codex's warnings can quote prompts and tool
        # output.
        self._stderr_sink = os.fdopen(open_private_append(self._stderr_log), "a",
                                      encoding="utf-8")
        try:
            self._pipes = await spawn_line_process(
                self._argv, env=self._env, cwd=self._cwd, limit=_LINE_LIMIT,
                on_stdout=self._dispatch_line, on_stderr=self._stderr_line,
                after_stderr=self._flush_stderr,
                # Its own process group, so shutdown can also reap sandbox helpers it spawned.
                start_new_session=True,
            )
        except BaseException:
            self._stderr_sink.close()
            raise
        self._proc = self._pipes.process
        self._tasks = [asyncio.create_task(self._watch_exit(), name="codex-app-server-exit")]

    async def initialize(self, client_info: JsonObject, timeout_s: float) -> JsonObject:
        """The handshake: `initialize` (with the experimental API, which `dynamicTools`
        needs), then the `initialized` notification."""
        result = await self.request(
            "initialize",
            {"clientInfo": client_info, "capabilities": {"experimentalApi": True}},
            timeout_s=timeout_s,
        )
        await self.notify("initialized")
        self._initialized = True
        return result if isinstance(result, dict) else {}

    async def close(self, timeout_s: float = 3.0) -> None:
        """Clean shutdown: close stdin (app-server exits on EOF), wait, then kill."""
        self._closing = True
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            self._signal_group(signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), timeout_s)
        # The reader finishes on EOF and fails whatever is still pending.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), timeout_s)
        for task in self._tasks:
            task.cancel()
        if self._pipes is not None:
            self._pipes.close_pipes()  # a child's helper that still holds them: stop reading
        self._fail_pending("codex app-server was shut down")

    def kill(self) -> None:
        """Hard kill (used when the handshake fails)."""
        self._signal_group(signal.SIGKILL)

    # --- messages ----------------------------------------------------------------------

    async def request(
        self, method: str, params: JsonObject | None, timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    ) -> Any:
        if self._exit_reason is not None:
            raise AppServerExited(self._exit_reason)
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message: JsonObject = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            await self._write(message)
            # `asyncio.timeout`, not `wait_for`: the same cancel-on-timeout for a fraction of
            # the callbacks and futures (a few per codex request, two requests per turn).
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            raise AppServerError(-32603, f"{method} timed out after {timeout_s:g} s") from None
        finally:
            self._pending.pop(request_id, None)

    async def notify(self, method: str, params: JsonObject | None = None) -> None:
        message: JsonObject = {"method": method}
        if params is not None:
            message["params"] = params
        await self._write(message)

    async def respond(
        self, request_id: RequestId, *, result: Any = None, error: JsonObject | None = None
    ) -> None:
        """Answer a server request with its own id (type preserved: 0 is a valid id)."""
        message: JsonObject = {"id": request_id}
        if error is not None:
            message["error"] = error
        else:
            message["result"] = result
        await self._write(message)

    async def _write(self, message: JsonObject) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or self._exit_reason is not None:
            raise AppServerExited(self._exit_reason or "codex app-server is not running")
        line = json_text.dumps(message) + "\n"
        async with self._write_lock:
            try:
                proc.stdin.write(line.encode("utf-8"))
                await proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError, RuntimeError) as exc:
                raise AppServerExited(f"codex app-server stdin closed: {exc}") from exc

    # --- reading -----------------------------------------------------------------------

    async def _watch_exit(self) -> None:
        """Until stdout ends (the child is gone or closed it): then reap and report."""
        proc, pipes = self._proc, self._pipes
        assert proc is not None and pipes is not None
        try:
            await pipes.stdout_closed
        finally:
            returncode = await proc.wait()
            # Commands codex started (sandboxed shells, their children) must not outlive it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await self._stderr_finished()
            self._exited(returncode)

    def _dispatch_line(self, line: bytes) -> None:
        if self._skip_notification is not None:
            skippable = skippable_method(line)
            if skippable is not None and self._skip_notification(skippable):
                return  # nothing would read it: not even parsed (codex_skippable.py)
        try:
            message = json_text.loads(line)
        except ValueError:
            log.warning("codex app-server wrote a non-JSON line (%d bytes)", len(line))
            return
        if not isinstance(message, dict):
            return
        method = message.get("method")
        params = message.get("params")
        params = params if isinstance(params, dict) else {}
        has_id = "id" in message and message["id"] is not None
        try:
            if isinstance(method, str) and has_id:
                self._on_request(message["id"], method, params)
            elif isinstance(method, str):
                self._on_notification(method, params)
            elif has_id:
                self._resolve(message)
        except Exception:
            # A handler bug must not kill the reader (and with it every thread).
            log.exception("error handling codex app-server message %r", method)

    def _resolve(self, message: JsonObject) -> None:
        future = self._pending.get(message["id"])
        if future is None or future.done():
            return
        error = message.get("error")
        if isinstance(error, dict):
            future.set_exception(
                AppServerError(
                    int(error.get("code", -32603)), str(error.get("message", "")), error.get("data")
                )
            )
        else:
            future.set_result(message.get("result"))

    def _stderr_line(self, line: bytes) -> None:
        text = _ANSI.sub("", line.decode("utf-8", "replace").rstrip())
        self._stderr_tail.append(text)
        if self._stderr_sink is not None:
            self._stderr_sink.write(text + "\n")  # flushed once per pipe read

    def _flush_stderr(self) -> None:
        if self._stderr_sink is not None:
            self._stderr_sink.flush()

    async def _stderr_finished(self) -> None:
        """Give stderr a moment to end after the process, so the exit reason has its tail."""
        if self._pipes is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._pipes.stderr_closed), 1.0)
            self._pipes.close_pipes()
        if self._stderr_sink is not None:
            self._stderr_sink.close()
            self._stderr_sink = None

    def _exited(self, returncode: int) -> None:
        if returncode < 0:
            how = f"killed by signal {-returncode}"
        else:
            how = f"exited with code {returncode}"
        reason = f"codex app-server {how}"
        if returncode > 0:
            # A failed start (bad config, bad flag) explains itself on stderr.
            tail = " | ".join(line for line in self._stderr_tail if line.strip())
            reason += f": {tail[-600:]}" if tail else ""
        self._exit_reason = reason
        self._fail_pending(reason)
        if not self._closing:
            self._on_exit(reason)

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(AppServerExited(reason))
        self._pending.clear()

    def _signal_group(self, sig: signal.Signals) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
