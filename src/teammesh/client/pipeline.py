"""The request pipeline: before hooks → attempts (with an optional retry policy) → after
hooks, or on_error hooks on the final failure. Shared by both clients.

It takes one `RequestCall` and hands each attempt to its transport as one `RequestCall`
(with the attempt's headers), so the request's shape is declared once, in `request.py`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from teammesh.client.errors import TypedModelValidationError, status_code_of
from teammesh.client.hooks import HookRegistry
from teammesh.client.protocols import HeaderProvider, RetryPolicy
from teammesh.client.request import RequestCall
from teammesh.tracing.propagation import inject as inject_traceparent

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def normalize_path(path: str, api_prefix: str) -> str:
    """Prefix-less path: `/api/health` and `health` both become `/health`."""
    if not path:
        return ""
    if not path.startswith("/"):
        path = "/" + path
    prefix = api_prefix.rstrip("/")
    if prefix:
        if path == prefix:
            return ""
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class RequestTransport(Protocol):
    """Sends one request: `HttpxTransport`, or an injected executor behind
    `ExecutorTransport`. May return an awaitable."""

    def handle_request(self, call: RequestCall) -> Any: ...


class RequestPipeline:
    def __init__(
        self,
        *,
        transport: RequestTransport,
        api_prefix: str,
        hooks: HookRegistry,
        header_provider: HeaderProvider | None = None,
        retry_policy: RetryPolicy | None = None,
        retryable_operations: Iterable[str] | None = None,
        response_validator: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.transport = transport
        self.api_prefix = api_prefix
        self.hooks = hooks
        self.header_provider = header_provider
        self.retry_policy = retry_policy
        self.retryable_operations = frozenset(retryable_operations or ())
        self.response_validator = response_validator

    async def headers_for(self, call_headers: Mapping[str, str]) -> dict[str, str] | None:
        merged: dict[str, str] = {}
        if self.header_provider is not None:
            merged.update(await _resolve(self.header_provider.headers()) or {})
        merged.update(call_headers)
        inject_traceparent(merged)  # the current span as the request's parent, when traced
        return merged or None

    def _may_retry(self, call: RequestCall) -> bool:
        return self.retry_policy is not None and (
            call.method in _IDEMPOTENT_METHODS or call.operation in self.retryable_operations
        )

    async def send(self, call: RequestCall) -> Any:
        """Run `call` through hooks, attempts and retries; its method and path are
        normalised first (upper case; prefix-less)."""
        call.method = call.method.upper()
        call.path = normalize_path(call.path, self.api_prefix)
        # An error in a before hook propagates as is (no on_error): the request never started.
        await self.hooks.run_before(call)
        attempt = 1
        while True:
            try:
                attempt_headers = await self.headers_for(call.headers) or {}
                response = await _resolve(
                    self.transport.handle_request(replace(call, headers=attempt_headers))
                )
                if self.response_validator is not None:
                    self.response_validator(call.operation, response)
                await self.hooks.run_after(call, response)
                return response
            except TypedModelValidationError as err:
                await self.hooks.run_error(call, err)
                raise
            except Exception as err:
                policy = self.retry_policy
                if policy is None or not self._may_retry(call):
                    await self.hooks.run_error(call, err)
                    raise
                try:
                    retry = policy.should_retry(
                        attempt=attempt, error=err, status_code=status_code_of(err)
                    )
                    delay = policy.next_delay_seconds(attempt=attempt) if retry else 0.0
                except Exception as policy_error:
                    await self.hooks.run_error(call, policy_error)
                    raise policy_error from err
                if not retry:
                    await self.hooks.run_error(call, err)
                    raise
                if delay > 0:
                    await asyncio.sleep(delay)
                attempt += 1
