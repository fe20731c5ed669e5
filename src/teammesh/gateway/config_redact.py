"""Take secrets out of what codex's `config/read` (and friends) answer before a client sees it.

`GET /api/config` forwards codex's effective config, its origins and (with
`includeLayers=true`) every layer it was read from. The gateway writes that config itself
(codex_config.py) and keeps secrets out of it: the provider key is named by its variable
(`env_key`), never written. But a system layer (`/etc/codex/config.toml`) or a project layer
may hold bearer tokens, HTTP headers, MCP server environments and the like, and codex answers
them verbatim. So the answer is redacted twice over:

* by key: a value under a key whose name says "secret" (`*token*`, `*secret*`, `*password*`,
  `*api_key*`, `bearer`, `authorization`, `cookie`, `auth`), and the values (not the names)
  of maps that carry environments, headers or query parameters;
* in argument lists (an MCP server's `args`, `notify`): the value of a secret-looking
  option, `--api-key=V` or `--token V`;
* by value: any string holding the value of a secret the gateway knows (the model key the
  operator named, our own tokens), wherever it appears.

Names of variables (`env_key = "OPENAI_API_KEY"`) stay: they say where a key comes from,
not what it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
_SECRET_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey", "bearer",
                 "authorization", "cookie", "private_key")
_SECRET_KEYS = frozenset({"auth", "key"})
# Maps whose keys are names and whose values may be secrets.
_VALUE_MAPS = frozenset({"env", "http_headers", "headers", "query_params", "set",
                         "environment"})
# Names, not values: `model_auto_compact_token_limit`, `bearer_token_env_var`.
_NOT_SECRET_ENDINGS = ("_limit", "_env_var", "_env")
_MIN_SECRET = 8  # shorter values would redact ordinary words
_SECRET_OPTION = re.compile(r"-{1,2}[\w.-]*(token|secret|password|passwd|api[_-]?key|auth)"
                            r"[\w.-]*", re.IGNORECASE)


def _secret_key(key: str) -> bool:
    last = key.rsplit(".", 1)[-1].lower()  # origins are keyed by dotted paths
    if last.endswith(_NOT_SECRET_ENDINGS):
        return False
    return last in _SECRET_KEYS or any(word in last for word in _SECRET_WORDS)


def known_secrets(key_env: str | None) -> tuple[str, ...]:
    """The secret values this gateway's environment holds: the model key variable the
    operator named, TEAMMESH_TOKEN and codex-manager's tokens."""
    names = [n for n in os.environ if n == "TEAMMESH_TOKEN" or n.startswith("CODEX_MANAGER_")]
    if key_env:
        names.append(key_env)
    values = {os.environ.get(n, "") for n in names}
    return tuple(sorted(v for v in values if len(v) >= _MIN_SECRET))


def scrub_values(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every string that contains one of `secrets` replaced."""
    found = tuple(secrets)
    if not found:
        return value
    if isinstance(value, str):
        return REDACTED if any(s in value for s in found) else value
    if isinstance(value, dict):
        return {k: scrub_values(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_values(v, found) for v in value]
    return value


def _blank(value: Any) -> Any:
    """Every scalar under `value` replaced (its shape kept, so clients still parse it)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return REDACTED


def redact_config(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A `config/read`-style answer with secrets replaced by `[redacted]` (see above)."""
    return scrub_values(_redact_keys(value), secrets)


def _redact_args(items: list[Any]) -> list[Any]:
    """`["--token", "T", "--api-key=K", "x"]` → `["--token", R, "--api-key=R", "x"]`."""
    out: list[Any] = []
    blank_next = False
    for item in items:
        if blank_next and isinstance(item, str):
            out.append(REDACTED)
            blank_next = False
            continue
        blank_next = False
        if isinstance(item, str) and (match := _SECRET_OPTION.match(item)):
            rest = item[match.end():]
            if rest.startswith("="):
                item = f"{item[:match.end()]}={REDACTED}"
            elif not rest:
                blank_next = True
        out.append(_redact_keys(item))
    return out


def _redact_keys(value: Any) -> Any:
    if isinstance(value, list):
        return _redact_args(value)
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if _secret_key(key):
            out[key] = _blank(item)
        elif key in _VALUE_MAPS and isinstance(item, dict):
            out[key] = {name: _blank(v) for name, v in item.items()}
        else:
            out[key] = _redact_keys(item)
    return out
