"""What every domain API needs: a request function and a couple of body helpers.

The domain classes are shared by both clients: a method builds one `RequestCall` and
returns whatever the client's request function returns for it — the parsed body on
`CodexManager`, a coroutine to await on `AsyncCodexManager`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from teammesh.client.operations import OPERATIONS
from teammesh.client.request import RequestCall
from teammesh.client.transport import path_segment

# Sends one request: the async pipeline's `send`, or the sync client's blocking run of it.
Requester = Callable[[RequestCall], Any]


def omit_none(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def tool_list(tools: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    return None if tools is None else [dict(tool) for tool in tools]


class Unset:
    """Marks an argument that was not passed (when `None` is a meaningful value)."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()


class DomainApi:
    def __init__(self, request: Requester) -> None:
        self._request = request

    def _op(
        self,
        name: str,
        *,
        params: Mapping[str, object] | None = None,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send operation `name` as `operations.OPERATIONS` describes it: its method, its
        path with `params` filled in (URL-escaped), its allow-list."""
        op = OPERATIONS[name]
        path = op.path
        for key, value in (params or {}).items():
            if str(value) == "":
                # `/sessions//fork` or `DELETE /projects/` would address another route
                # (or a slash-redirect to it): refuse before sending.
                raise ValueError(f"{name}: {key} must not be empty")
            path = path.replace("{" + key + "}", seg(value))
        if "{" in path:  # escaped values hold no braces: a parameter was not given
            raise ValueError(f"{name}: missing path parameter in {op.path}")
        return self._request(
            RequestCall(
                name, op.method, path, dict(query or {}), json_body, allow_statuses=op.allow or None
            )
        )


seg = path_segment
