"""Where the client talks to, and with which headers.

`ClientConfig.from_env()` reads every `CODEX_MANAGER_*` variable codex-manager's client reads,
and finds the bearer token as every teammesh client does (`token_discovery.discover_token`:
`CODEX_MANAGER_BEARER_TOKEN`, else `TEAMMESH_TOKEN`, else the file `TEAMMESH_TOKEN_FILE`);
`ClientConfig.from_profile()` reads the codex-manager CLI profile file. Neither raises on bad
input: a bad value falls back to its default, as upstream does. The one exception: a
`TEAMMESH_TOKEN_FILE` that cannot be read raises `TokenFileError` (ours; upstream has no
such variable), because going on without the token only produces 401s later.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from teammesh.client.text_values import stripped
from teammesh.client.token_discovery import ENV_BEARER_TOKEN as ENV_BEARER_TOKEN
from teammesh.client.token_discovery import discover_token
from teammesh.wire import DEFAULT_API_BASE, DEFAULT_API_PREFIX

DEFAULT_TIMEOUT_SECONDS = 30.0

ValidationMode = Literal["typed-only", "off", "strict"]
VALIDATION_MODES: tuple[ValidationMode, ...] = ("typed-only", "off", "strict")

ENV_API_BASE = "CODEX_MANAGER_API_BASE"
ENV_API_PREFIX = "CODEX_MANAGER_API_PREFIX"
ENV_TIMEOUT_MS = "CODEX_MANAGER_TIMEOUT_MS"
ENV_RBAC_TOKEN = "CODEX_MANAGER_RBAC_TOKEN"
ENV_RBAC_ROLE = "CODEX_MANAGER_RBAC_ROLE"
ENV_RBAC_ACTOR = "CODEX_MANAGER_RBAC_ACTOR"
ENV_VALIDATION_MODE = "CODEX_MANAGER_PY_VALIDATION_MODE"

HEADER_AUTHORIZATION = "Authorization"
HEADER_RBAC_TOKEN = "x-codex-rbac-token"
HEADER_RBAC_ROLE = "x-codex-rbac-role"
HEADER_RBAC_ACTOR = "x-codex-rbac-actor"


def normalize_api_prefix(value: object) -> str:
    """Trimmed; blank → `/api`; a leading `/` is added when missing."""
    if not isinstance(value, str) or not value.strip():
        return DEFAULT_API_PREFIX
    prefix = value.strip()
    return prefix if prefix.startswith("/") else "/" + prefix


def _positive_int(value: object) -> int | None:
    # bool is an int subclass; upstream rejects it explicitly.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str):
        try:
            parsed = int(value.strip())
        except ValueError:
            return None
        return parsed if parsed > 0 else None
    return None


def api_base_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The gateway `CODEX_MANAGER_API_BASE` names, or None when it is unset or blank."""
    env = os.environ if environ is None else environ
    return stripped(env.get(ENV_API_BASE))


def _auth_headers(
    *, bearer: object, rbac_token: object, role: object, actor: object
) -> dict[str, str]:
    headers: dict[str, str] = {}
    if (token := stripped(bearer)) is not None:
        headers[HEADER_AUTHORIZATION] = f"Bearer {token}"
    for name, value in (
        (HEADER_RBAC_TOKEN, rbac_token),
        (HEADER_RBAC_ROLE, role),
        (HEADER_RBAC_ACTOR, actor),
    ):
        if (text := stripped(value)) is not None:
            headers[name] = text
    return headers


def default_profile_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    root = Path(xdg) if xdg else Path.home() / ".config"
    return root / "codex-manager" / "cli" / "config.json"


def _read_profile_file(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        loaded = None
    if not isinstance(loaded, dict):
        return {"currentProfile": "local", "profiles": {}}
    return loaded


@dataclass(slots=True)
class ClientConfig:
    base_url: str = DEFAULT_API_BASE
    api_prefix: str = DEFAULT_API_PREFIX
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientConfig:
        env = os.environ if environ is None else environ
        timeout_ms = _positive_int(env.get(ENV_TIMEOUT_MS))
        return cls(
            base_url=api_base_from_env(env) or DEFAULT_API_BASE,
            api_prefix=normalize_api_prefix(env.get(ENV_API_PREFIX)),
            timeout_seconds=timeout_ms / 1000 if timeout_ms else DEFAULT_TIMEOUT_SECONDS,
            headers=_auth_headers(
                bearer=discover_token(env),
                rbac_token=env.get(ENV_RBAC_TOKEN),
                role=env.get(ENV_RBAC_ROLE),
                actor=env.get(ENV_RBAC_ACTOR),
            ),
        )

    @classmethod
    def from_profile(
        cls,
        profile: str | None = None,
        *,
        config_path: str | os.PathLike[str] | None = None,
    ) -> ClientConfig:
        path = Path(config_path) if config_path is not None else default_profile_path()
        document = _read_profile_file(path)
        profiles = document.get("profiles")
        profiles = profiles if isinstance(profiles, dict) else {}
        current = document.get("currentProfile")
        wanted = profile or (current if isinstance(current, str) else None) or "local"
        selected = wanted.strip() or "local"
        chosen = profiles.get(selected)
        if not isinstance(chosen, dict):
            chosen = profiles.get("local")
        if not isinstance(chosen, dict):
            chosen = {}

        timeout_ms = _positive_int(chosen.get("timeoutMs"))
        headers: dict[str, str] = {}
        raw_headers = chosen.get("headers")
        if isinstance(raw_headers, dict):
            for key, value in raw_headers.items():
                # Kept unstripped, as upstream does; only blank entries are dropped.
                if (
                    isinstance(key, str)
                    and isinstance(value, str)
                    and key.strip()
                    and value.strip()
                ):
                    headers[key] = value
        auth = chosen.get("auth")
        if isinstance(auth, dict):
            # Applied after `headers` so auth wins on a name clash.
            headers.update(
                _auth_headers(
                    bearer=auth.get("bearer"),
                    rbac_token=auth.get("rbacToken"),
                    role=auth.get("role"),
                    actor=auth.get("actor"),
                )
            )
        return cls(
            base_url=stripped(chosen.get("baseUrl")) or DEFAULT_API_BASE,
            api_prefix=normalize_api_prefix(chosen.get("apiPrefix")),
            timeout_seconds=timeout_ms / 1000 if timeout_ms else DEFAULT_TIMEOUT_SECONDS,
            headers=headers,
        )


def resolve_validation_mode(
    explicit: str | None, environ: Mapping[str, str] | None = None
) -> ValidationMode:
    """The constructor argument, else `CODEX_MANAGER_PY_VALIDATION_MODE`, else `typed-only`."""
    env = os.environ if environ is None else environ
    raw = explicit if explicit is not None else env.get(ENV_VALIDATION_MODE, "")
    value = raw.strip().lower()
    if not value:
        return "typed-only"
    for mode in VALIDATION_MODES:
        if mode == value:
            return mode
    raise ValueError(
        f"invalid validation mode {raw!r}; expected one of {', '.join(VALIDATION_MODES)}"
    )
