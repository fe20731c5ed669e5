"""How each forwarded global row (routes reference §4, #5–#22) calls its app-server method
and shapes the answer: upstream's parameters, with two departures for safety.

* A `cwd` a client names (`GET /api/skills`, `GET /api/config`) makes codex read files under
  it (`.codex/config.toml`, skill folders), so it must be inside the session ceiling's cwd
  roots, as a session's cwd must (403 otherwise, `session_policy.resolve_cwd`).
* `config/read` and `configRequirements/read` answers are redacted (config_redact.py); every
  answer has the gateway's known secret values scrubbed.

Only read-only methods come here; codex.py's `PASS_THROUGH_METHODS` is the second lock.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from teammesh.gateway.config_redact import redact_config, scrub_values
from teammesh.gateway.session_policy import SessionPolicy
from teammesh.gateway.upstream_routes import UpstreamRoute
from teammesh.wire import AppsQuery, ConfigQuery, ListQuery, SkillsQuery

JsonObject = dict[str, Any]
# Methods upstream calls with no params at all (not even `{}`).
_NO_PARAMS = frozenset({"account/rateLimits/read", "configRequirements/read"})
_REDACTED = frozenset({"config/read", "configRequirements/read"})
_NORMALISED = frozenset({"collaborationMode/list", "skills/list"})  # → {data, nextCursor}


def passthrough_params(route: UpstreamRoute, query: BaseModel | None,
                       policy: SessionPolicy) -> JsonObject | None:
    """The params of `route`'s app-server call for a validated `query` (may raise
    `PolicyRefusal` for a cwd outside the ceiling)."""
    method = route.app_server
    if method in _NO_PARAMS:
        return None
    if isinstance(query, AppsQuery):
        return {"limit": query.limit, "cursor": query.cursor, "threadId": query.threadId,
                "forceRefetch": query.forceRefetch == "true"}
    if isinstance(query, SkillsQuery):
        params: JsonObject = {"forceReload": query.forceReload == "true"}
        if query.cwd is not None:
            params["cwds"] = [policy.resolve_cwd(query.cwd)]
        return params
    if isinstance(query, ConfigQuery):
        cwd = policy.resolve_cwd(query.cwd) if query.cwd is not None else None
        return {"cwd": cwd, "includeLayers": query.includeLayers == "true"}
    if isinstance(query, ListQuery):
        if method in ("model/list", "mcpServerStatus/list"):  # cursor omitted when absent
            listed: JsonObject = {"limit": query.limit}
            if query.cursor is not None:
                listed["cursor"] = query.cursor
            return listed
        return {"limit": query.limit, "cursor": query.cursor}
    return {}


def shape_result(route: UpstreamRoute, result: Any, secrets: tuple[str, ...]) -> JsonObject:
    """The 200 body: verbatim, normalised (`{data, nextCursor}`) or redacted, as the row
    says; never a string that holds a known secret."""
    method = route.app_server
    if method in _NORMALISED:
        data = result.get("data") if isinstance(result, dict) else None
        cursor = result.get("nextCursor") if isinstance(result, dict) else None
        result = {"data": data if isinstance(data, list) else [],
                  "nextCursor": cursor if isinstance(cursor, str) else None}
    body: JsonObject = result if isinstance(result, dict) else {"data": result}
    if method in _REDACTED:
        redacted: JsonObject = redact_config(body, secrets)
        return redacted
    scrubbed: JsonObject = scrub_values(body, secrets)
    return scrubbed
