"""Injectable collaborators of the request pipeline (duck-typed protocols)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class RequestExecutor(Protocol):
    """Replaces the httpx transport. `path` is prefix-less (`/sessions/x`). May be async."""

    def request(
        self,
        *,
        operation: str,
        method: str,
        path: str,
        query: Mapping[str, Any],
        json_body: Any,
        headers: Mapping[str, str] | None,
        allow_statuses: Collection[int] | None,
    ) -> Any: ...


@runtime_checkable
class HeaderProvider(Protocol):
    """Headers computed per attempt (e.g. a refreshed token). `headers()` may be async."""

    def headers(self) -> Any: ...


@runtime_checkable
class RetryPolicy(Protocol):
    def should_retry(
        self, *, attempt: int, error: BaseException, status_code: int | None
    ) -> bool: ...

    def next_delay_seconds(self, *, attempt: int) -> float: ...


# Upstream exposes sync and async variants; ours accept either (results are awaited if needed).
SyncRequestExecutor = AsyncRequestExecutor = RequestExecutor
SyncHeaderProvider = AsyncHeaderProvider = HeaderProvider
