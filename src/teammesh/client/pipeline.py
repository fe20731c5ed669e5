"""The request pipeline: before hooks → attempts (with an optional retry policy) → after
hooks, or on_error hooks on the final failure. Shared by both clients."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from teammesh.client.errors import TypedModelValidationError, status_code_of
from teammesh.client.hooks import HookRegistry, RequestCall
from teammesh.client.protocols import HeaderProvider, RequestExecutor, RetryPolicy

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


class RequestPipeline:
    def __init__(
        self,
        *,
        executor: RequestExecutor,
        api_prefix: str,
        hooks: HookRegistry,
        header_provider: HeaderProvider | None = None,
        retry_policy: RetryPolicy | None = None,
        retryable_operations: Iterable[str] | None = None,
        response_validator: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.executor = executor
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
        return merged or None

    def _may_retry(self, call: RequestCall) -> bool:
        return self.retry_policy is not None and (
            call.method in _IDEMPOTENT_METHODS or call.operation in self.retryable_operations
        )

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        allow_statuses: Collection[int] | None = None,
    ) -> Any:
        call = RequestCall(
            operation=operation,
            method=method.upper(),
            path=normalize_path(path, self.api_prefix),
            query=dict(query or {}),
            json_body=json_body,
            headers=dict(headers or {}),
        )
        # An error in a before hook propagates as is (no on_error): the request never started.
        await self.hooks.run_before(call)
        attempt = 1
        while True:
            try:
                response = await _resolve(
                    self.executor.request(
                        operation=call.operation,
                        method=call.method,
                        path=call.path,
                        query=call.query,
                        json_body=call.json_body,
                        headers=await self.headers_for(call.headers),
                        allow_statuses=allow_statuses,
                    )
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
