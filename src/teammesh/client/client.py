"""`AsyncCodexManager` (the real client) and `CodexManager` (its thin sync twin)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from teammesh.client._bridge import LoopThread
from teammesh.client._twin import mirrors
from teammesh.client.api import (
    AccountApi,
    ApprovalsApi,
    AppsApi,
    ConfigApi,
    ExtensionsApi,
    FeedbackApi,
    McpApi,
    ModelsApi,
    OrchestratorApi,
    ProjectsApi,
    RawApi,
    Requester,
    RuntimeApi,
    SessionsApi,
    SessionScope,
    SkillsApi,
    SystemApi,
    ToolCallsApi,
    ToolInputApi,
)
from teammesh.client.config import ClientConfig, ValidationMode, resolve_validation_mode
from teammesh.client.hooks import HookRegistry
from teammesh.client.pipeline import RequestPipeline
from teammesh.client.plugins import PluginRegistry
from teammesh.client.protocols import HeaderProvider, RequestExecutor, RetryPolicy
from teammesh.client.remote_skills.facade import AsyncRemoteSkillsFacade, RemoteSkillsFacade
from teammesh.client.request import RequestCall
from teammesh.client.router import StreamRouter
from teammesh.client.stream import AsyncEventStream, SyncEventStream
from teammesh.client.stream_transport import StreamFirstTransport
from teammesh.client.tls_context import verify_for
from teammesh.client.transport import ExecutorTransport, HttpxTransport
from teammesh.client.turns import TurnTracker
from teammesh.client.typed import Awaiting, Blocking, TypedApi
from teammesh.client.wait import AsyncWaitApi, WaitApi
from teammesh.wire import DEFAULT_API_BASE, DEFAULT_API_PREFIX

F = TypeVar("F", bound=Callable[..., Any])


class _ClientSurface:
    """Decorators and namespaces both clients expose the same way."""

    hooks: HookRegistry
    sessions: SessionsApi
    stream: AsyncEventStream | SyncEventStream

    @classmethod
    def from_env(cls) -> Self:
        return cls._from_config(ClientConfig.from_env())

    @classmethod
    def from_profile(cls, profile: str | None = None) -> Self:
        return cls._from_config(ClientConfig.from_profile(profile))

    @classmethod
    def _from_config(cls, config: ClientConfig) -> Self:
        # Both clients take these keywords; typed as a factory since the base has no __init__.
        factory: Callable[..., Self] = cls
        return factory(
            base_url=config.base_url,
            api_prefix=config.api_prefix,
            timeout_seconds=config.timeout_seconds,
            headers=config.headers,
        )

    def session(self, session_id: str) -> SessionScope:
        return SessionScope(self.sessions, session_id)

    # request hooks
    def before(self, operation: str = "*") -> Callable[[F], F]:
        return self.hooks.before(operation)

    def after(self, operation: str = "*") -> Callable[[F], F]:
        return self.hooks.after(operation)

    def on_error(self, operation: str = "*") -> Callable[[F], F]:
        return self.hooks.on_error(operation)

    def use_middleware(self, middleware: object, *, operation: str = "*") -> None:
        self.hooks.use_middleware(middleware, operation=operation)

    # stream shortcuts
    def on_event(self, event_type: str) -> Callable[[F], F]:
        return self.stream.on_event(event_type)

    def on_event_prefix(self, prefix: str) -> Callable[[F], F]:
        return self.stream.on_event_prefix(prefix)

    def on_app_server(self, method: str) -> Callable[[F], F]:
        return self.stream.on_app_server(method)

    def on_app_server_request(self, method: str) -> Callable[[F], F]:
        return self.stream.on_app_server_request(method)

    def on_turn_started(self) -> Callable[[F], F]:
        return self.stream.on_turn_started()

    def on_turn_completed(self) -> Callable[[F], F]:
        return self.stream.on_turn_completed()

    def _attach_domains(self, request: Requester) -> None:
        # upstream's namespaces, in its order (both clients: the sync twin passes its
        # blocking requester, the async client the pipeline's coroutine one)
        self.system = SystemApi(request)
        self.models = ModelsApi(request)
        self.apps = AppsApi(request)
        self.skills = SkillsApi(request)
        self.mcp = McpApi(request)
        self.account = AccountApi(request)
        self.config = ConfigApi(request)
        self.runtime = RuntimeApi(request)
        self.feedback = FeedbackApi(request)
        self.extensions = ExtensionsApi(request)
        self.orchestrator = OrchestratorApi(request)
        self.projects = ProjectsApi(request)
        self.sessions = SessionsApi(request)
        self.approvals = ApprovalsApi(request)
        self.tool_input = ToolInputApi(request)
        self.tool_calls = ToolCallsApi(request)
        self.raw = RawApi(request)


def _strict_validator() -> Callable[[str, Any], None]:
    """The response models load only for a strict client (they cost every other start)."""
    from teammesh.client.strict import validate_response

    return validate_response


class AsyncCodexManager(_ClientSurface):
    stream: AsyncEventStream

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_API_BASE,
        api_prefix: str = DEFAULT_API_PREFIX,
        timeout_seconds: float = 30.0,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        request_executor: RequestExecutor | None = None,
        header_provider: HeaderProvider | None = None,
        retry_policy: RetryPolicy | None = None,
        retryable_operations: Iterable[str] | None = None,
        hook_registry: HookRegistry | None = None,
        stream_router: StreamRouter | None = None,
        plugins: Iterable[Any] | None = None,
        validation_mode: str | None = None,
    ) -> None:
        self.client_config = ClientConfig(
            base_url, api_prefix, timeout_seconds, dict(headers or {})
        )
        self.validation_mode: ValidationMode = resolve_validation_mode(validation_mode)
        self.http_client = http_client or httpx.AsyncClient(
            base_url=base_url, timeout=timeout_seconds, headers=dict(headers or {}),
            verify=verify_for(base_url),
        )
        self.transport = HttpxTransport(self.http_client, api_prefix)
        self.hooks = hook_registry or HookRegistry()
        self.stream = AsyncEventStream(
            base_url,
            api_prefix,
            headers=dict(headers or {}),
            header_provider=header_provider,
            router=stream_router,
            tracker=TurnTracker(),
        )
        # Turns start over the stream's socket when the gateway grants it (else HTTP); an
        # injected executor keeps every request, as its owner asked.
        self.pipeline = RequestPipeline(
            transport=ExecutorTransport(request_executor) if request_executor
            else StreamFirstTransport(self.transport, self.stream.turn_starts),
            api_prefix=api_prefix,
            hooks=self.hooks,
            header_provider=header_provider,
            retry_policy=retry_policy,
            retryable_operations=retryable_operations,
            response_validator=_strict_validator() if self.validation_mode == "strict" else None,
        )
        self._attach_domains(self.pipeline.send)
        self.typed: TypedApi[Awaiting] = TypedApi(self, blocking=False)
        self.turns = self.stream.tracker
        self.wait = AsyncWaitApi(self.sessions, self.turns)
        self.remote_skills = AsyncRemoteSkillsFacade(self)
        self.plugins = PluginRegistry(plugins)
        self._plugins_started = False

    async def start_plugins(self, client: Any = None) -> None:
        """Register and start plugins (done by `async with`; idempotent)."""
        if self._plugins_started:
            return
        self._plugins_started = True
        try:
            await self.plugins.start_all(client if client is not None else self)
        except BaseException:
            await self.http_client.aclose()
            raise

    async def close(self) -> None:
        """Stops plugins and closes the HTTP client. A running stream is not stopped: use
        its `stop_event` (or cancel its task)."""
        await self.plugins.stop_all()
        await self.http_client.aclose()

    async def __aenter__(self) -> Self:
        await self.start_plugins()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class CodexManager(_ClientSurface):
    """The sync twin: every call runs the async core on a private event-loop thread.

    `http_client`, if given, must be an `httpx.AsyncClient` (the core is async).
    """

    stream: SyncEventStream

    @mirrors(AsyncCodexManager.__init__)
    def __init__(self, **options: Any) -> None:
        # The core's keywords, exactly (`mirrors` gives them to mypy and `inspect`).
        self._bridge = LoopThread()
        self.core = AsyncCodexManager(**options)
        self.client_config = self.core.client_config
        self.validation_mode = self.core.validation_mode
        self.hooks = self.core.hooks
        self.turns = self.core.turns
        self._attach_domains(self._request)
        self.typed: TypedApi[Blocking] = TypedApi(self, blocking=True)
        self.stream = SyncEventStream(self.core.stream)
        self.wait = WaitApi(self.core.wait, self._bridge)
        self.remote_skills = RemoteSkillsFacade(self.core.remote_skills, self._bridge)
        try:
            self._bridge.run(self.core.start_plugins(self))
        except BaseException:
            self._bridge.close()
            raise

    def _request(self, call: RequestCall) -> Any:
        # A `Requester`: the async pipeline's `send`, run to completion on the private loop.
        return self._bridge.run(self.core.pipeline.send(call))

    def close(self) -> None:
        if self._bridge.closed:
            return
        try:
            self._bridge.run(self.core.close())
        finally:
            self._bridge.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
