"""`GET /api/capabilities` in codex-manager's shape (routes reference §2), told truthfully.

Upstream probes 29 app-server methods with dummy calls and reports each `available`,
`disabled` (the call would answer 501) or `unknown`. Here nothing is probed: a method is
`available` exactly when a row of `upstream_routes.ROUTES` that calls it is implemented on
the default runtime, so a client that trusts this report never meets a 501 on a feature
marked available (tests/gateway/test_surface.py holds the two to each other).
"""

from __future__ import annotations

from typing import Any

from teammesh.gateway.upstream_routes import ROUTES, UpstreamRoute

# Upstream's probe list, in its key order (§2).
PROBED_METHODS: tuple[str, ...] = (
    "thread/fork",
    "thread/compact/start",
    "thread/rollback",
    "thread/backgroundTerminals/clean",
    "turn/steer",
    "review/start",
    "command/exec",
    "experimentalFeature/list",
    "collaborationMode/list",
    "skills/list",
    "skills/config/write",
    "skills/remote/read",
    "skills/remote/write",
    "app/list",
    "config/mcpServer/reload",
    "mcpServer/oauth/login",
    "item/tool/call",
    "item/tool/requestUserInput",
    "tool/requestUserInput",
    "config/read",
    "config/value/write",
    "config/batchWrite",
    "configRequirements/read",
    "feedback/upload",
    "account/read",
    "account/login/start",
    "account/login/cancel",
    "account/logout",
    "account/rateLimits/read",
)

# These are server → client requests: a client cannot call them (upstream's probe of them
# fails the same way). Dynamic tool calls and user input still work, as server requests.
_SERVER_REQUESTS = frozenset({"item/tool/call", "item/tool/requestUserInput",
                              "tool/requestUserInput"})

# features ← methods (§2): one method, or all / any of several.
_FEATURE_METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "threadFork": ("all", ("thread/fork",)),
    "threadCompact": ("all", ("thread/compact/start",)),
    "threadRollback": ("all", ("thread/rollback",)),
    "threadBackgroundTerminalClean": ("all", ("thread/backgroundTerminals/clean",)),
    "turnSteer": ("all", ("turn/steer",)),
    "reviewStart": ("all", ("review/start",)),
    "commandExec": ("all", ("command/exec",)),
    "feedbackUpload": ("all", ("feedback/upload",)),
    "mcpOauth": ("all", ("mcpServer/oauth/login",)),
    "mcpReload": ("all", ("config/mcpServer/reload",)),
    "accountLifecycle": ("all", ("account/read", "account/login/start", "account/logout")),
    "configRead": ("all", ("config/read",)),
    "configWrite": ("any", ("config/value/write", "config/batchWrite")),
    "configRequirements": ("all", ("configRequirements/read",)),
    "apps": ("all", ("app/list",)),
    "skills": ("all", ("skills/list",)),
    "collaborationModes": ("all", ("collaborationMode/list",)),
    "experimentalFeatures": ("all", ("experimentalFeature/list",)),
}

# Upstream reports these five as always true. Here they are what the runtime really emits:
# every runtime makes dynamic tool calls; codex passes plan/diff/token/user-input
# notifications through; llm reports token usage; playbook emits none of those.
_STREAM_FEATURES: dict[str, frozenset[str]] = {
    "toolUserInput": frozenset({"codex"}),
    "dynamicToolCall": frozenset({"playbook", "llm", "codex"}),
    "planUpdates": frozenset({"codex"}),
    "diffUpdates": frozenset({"codex"}),
    "tokenUsage": frozenset({"llm", "codex"}),
}


def routes_calling(method: str) -> list[UpstreamRoute]:
    return [r for r in ROUTES if r.app_server == method]


def method_status(method: str, runtime: str) -> tuple[str, str | None]:
    if method in _SERVER_REQUESTS:
        return "disabled", f"{method} is a server request; clients answer it, never call it"
    routes = routes_calling(method)
    if routes and all(r.served_on(runtime) for r in routes):
        return "available", None
    refused = [r for r in routes if r.refused]
    if refused:  # a policy, the same on every runtime
        return "disabled", f"{method} is {refused[0].why}"
    if runtime == "codex":
        return "disabled", f"the gateway does not map {method} to the codex runtime yet"
    return "disabled", f"the {runtime} runtime has no {method}"


def capabilities_report(runtime: str, *, initialized: bool,
                        updated_at: str | None, stream_extensions: bool = True
                        ) -> dict[str, Any]:
    """The 200 body of `GET /api/capabilities` for sessions on `runtime` (a runtime name).
    Three features are ours: whether `/api/stream` grants its opt-in extensions
    (stream_extensions.py) to a client that asks for them."""
    details = {}
    for method in PROBED_METHODS:
        status, reason = method_status(method, runtime)
        details[method] = {"status": status, "reason": reason}
    methods = {m: d["status"] for m, d in details.items()}

    def available(m: str) -> bool:
        return methods[m] == "available"

    features: dict[str, bool] = {k: runtime in v for k, v in _STREAM_FEATURES.items()}
    for feature, (mode, needed) in _FEATURE_METHODS.items():
        hits = [available(m) for m in needed]
        features[feature] = all(hits) if mode == "all" else any(hits)
    features["streamToolCallAnswers"] = stream_extensions
    features["streamEventTypes"] = stream_extensions
    features["streamTurnStart"] = stream_extensions
    return {
        "status": "ok",
        "runtime": {"initialized": initialized, "capabilitiesLastUpdatedAt": updated_at,
                    "name": runtime},
        "methods": methods,
        "details": details,
        "features": features,
    }
