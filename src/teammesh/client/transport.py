"""The httpx transport: one request in, a parsed body (or a classified error) out.

Each operation passes its own allow-list: statuses in it come back as data even when they
are not 2xx (e.g. a 404 `{"status":"not_found"}` from `tool_calls.respond`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from teammesh.client.errors import (
    ClientTimeoutError,
    RequestDetails,
    TransportError,
    api_error,
)
from teammesh.client.protocols import RequestExecutor
from teammesh.client.request import RequestCall


def encode_query(query: Mapping[str, Any] | None) -> str:
    """`None` values dropped, booleans as `true`/`false`, the rest `str()`-ed."""
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, str(value)))
    return "?" + urlencode(pairs) if pairs else ""


def path_segment(value: object) -> str:
    """A path parameter, URL-escaped (upstream interpolates raw ids; an id with `/` or `?`
    would then address another route)."""
    return quote(str(value), safe="")


def parse_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "application/json" not in response.headers.get("content-type", ""):
        return response.text
    try:
        return response.json()
    except ValueError:
        return response.text


def is_accepted(status_code: int, allow_statuses: Collection[int] | None) -> bool:
    if allow_statuses is not None and status_code in allow_statuses:
        return True
    return 200 <= status_code < 300


class HttpxTransport:
    """Sends `<api_prefix><path><query>` relative to the httpx client's `base_url`."""

    def __init__(self, http_client: httpx.AsyncClient, api_prefix: str) -> None:
        self.http_client = http_client
        self.api_prefix = api_prefix

    async def handle_request(self, call: RequestCall) -> Any:
        url = self.api_prefix.rstrip("/") + call.path + encode_query(call.query)
        kwargs: dict[str, Any] = {}
        if call.json_body is not None:
            kwargs["json"] = call.json_body
        if call.headers:
            kwargs["headers"] = dict(call.headers)
        try:
            response = await self.http_client.request(call.method, url, **kwargs)
        except httpx.TimeoutException as err:
            raise ClientTimeoutError(str(err) or type(err).__name__) from err
        except httpx.HTTPError as err:
            raise TransportError(str(err) or type(err).__name__) from err
        body = parse_body(response)
        if is_accepted(response.status_code, call.allow_statuses):
            return body
        raise api_error(
            RequestDetails(
                operation=call.operation,
                method=call.method,
                path=call.path,
                status_code=response.status_code,
                response_body=body,
            )
        )

    async def aclose(self) -> None:
        await self.http_client.aclose()


class ExecutorTransport:
    """An injected `RequestExecutor` (upstream's keyword interface) behind
    `handle_request`: the request's fields become its keywords, headers `None` when empty."""

    def __init__(self, executor: RequestExecutor) -> None:
        self.executor = executor

    def handle_request(self, call: RequestCall) -> Any:
        keywords = {item.name: getattr(call, item.name) for item in fields(call)}
        keywords["headers"] = call.headers or None
        return self.executor.request(**keywords)
