"""`cm.system` and `cm.raw`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from teammesh.client.api._base import DomainApi
from teammesh.client.request import RequestCall


class SystemApi(DomainApi):
    def health(self) -> Any:
        return self._op("system.health")

    def info(self) -> Any:
        # The prefix root itself: `GET /api`.
        return self._op("system.info")

    def capabilities(self, *, refresh: bool = False) -> Any:
        # Always sends `refresh` (as upstream's client does).
        return self._op("system.capabilities", query={"refresh": refresh})

    def experimental_features(self, *, cursor: str | None = None, limit: int | None = None) -> Any:
        return self._op("system.features.experimental", query={"cursor": cursor, "limit": limit})

    def collaboration_modes(self, *, cursor: str | None = None, limit: int | None = None) -> Any:
        return self._op("system.collaboration.modes", query={"cursor": cursor, "limit": limit})


class RawApi(DomainApi):
    """Any route, with the same pipeline (hooks, retries, error tree)."""

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        allow_statuses: Collection[int] | None = None,
        operation: str = "raw.request",
    ) -> Any:
        return self._request(
            RequestCall(
                operation, method, path, dict(query or {}), json_body, dict(headers or {}),
                allow_statuses,
            )
        )
