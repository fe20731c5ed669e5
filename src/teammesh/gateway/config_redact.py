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
* in argument lists (an MCP server's `args`, `notify`, an `env` given as a list): the value
  of a secret-looking option, `--api-key=V` or `--token V`, of a secret-looking header,
  `-H "Authorization: Bearer V"`, and of a secret-looking assignment, `GITHUB_TOKEN=V`;
* in URLs, anywhere: the password of `https://user:V@host` and the value of a
  secret-looking query parameter, `?api_key=V`;
* by value: any string holding the value of a secret the gateway knows (the model key the
  operator named, our own tokens), URL-encoded or base64-encoded included, wherever it
  appears, keys of maps too.

Keys are matched in either spelling, `http_headers` or `httpHeaders`: codex's answers are
JSON, and a camelCase name must not slip past a snake_case list.

Names of variables (`env_key = "OPENAI_API_KEY"`) stay: they say where a key comes from,
not what it is.
"""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
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
_SECRET_NAME = r"[\w.-]*(token|secret|password|passwd|api[_-]?key|auth|cookie|private[_-]?key)"
_SECRET_OPTION = re.compile(rf"-{{1,2}}{_SECRET_NAME}[\w.-]*", re.IGNORECASE)
# `-H "Authorization: Bearer V"`, `--header=X-Api-Key: V`: a header given as an argument.
_HEADER_OPTIONS = frozenset({"-h", "--header", "--headers"})
_SECRET_HEADER = re.compile(rf"(\s*{_SECRET_NAME}[\w.-]*\s*:).*", re.IGNORECASE | re.DOTALL)
# `GITHUB_TOKEN=V` (an env-style assignment in an argument list).
_SECRET_ASSIGNMENT = re.compile(rf"({_SECRET_NAME}[\w.-]*=).+", re.IGNORECASE | re.DOTALL)
# `scheme://user:password@host` and `?api_key=V` / `&token=V` inside any string.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@", re.IGNORECASE)
_URL_SECRET_PARAM = re.compile(rf"([?&;]{_SECRET_NAME}[\w.-]*=)[^&#\s]*", re.IGNORECASE)


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower().replace("-", "_")


def _secret_key(key: str) -> bool:
    last = _snake(key.rsplit(".", 1)[-1])  # origins are keyed by dotted paths
    if last.endswith(_NOT_SECRET_ENDINGS):
        return False
    return last in _SECRET_KEYS or any(word in last for word in _SECRET_WORDS)


def known_secrets(key_env: str | None, *held: str | None) -> tuple[str, ...]:
    """The secret values this gateway knows: the model key variable the operator named,
    TEAMMESH_TOKEN and codex-manager's tokens from the environment, and `held` (the
    gateway's own bearer token, which `--token` or the token file gave it, not the env)."""
    names = [n for n in os.environ if n == "TEAMMESH_TOKEN" or n.startswith("CODEX_MANAGER_")]
    if key_env:
        names.append(key_env)
    values = {os.environ.get(n, "") for n in names} | {v for v in held if v}
    return tuple(sorted(v for v in values if len(v) >= _MIN_SECRET))


def _encodings(secret: str) -> set[str]:
    """`secret` as it may appear encoded: URL-encoded, and base64 at each of the three
    alignments it can start at inside a longer encoded text (`Basic base64(user:secret)`),
    the characters that depend on its neighbours trimmed off."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    raw = secret.encode()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + raw).decode().rstrip("=")
            start = (shift * 4 + 2) // 3  # characters touched by the padding bytes
            end = len(text) - (1 if (shift + len(raw)) % 3 else 0)
            if end - start >= _MIN_SECRET:
                forms.add(text[start:end])
    return forms


def scrub_values(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every string (value or key) that contains one of `secrets`, plainly or
    encoded, replaced."""
    found = tuple(sorted({form for s in secrets for form in _encodings(s)}))
    if not found:
        return value
    return _scrub(value, found)


def _scrub(value: Any, found: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return REDACTED if any(s in value for s in found) else value
    if isinstance(value, dict):
        return {_scrub(k, found): _scrub(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, found) for v in value]
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


def _redact_text(text: str) -> str:
    """Secrets a string carries by its shape: a URL's password or secret query parameter."""
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    return _URL_SECRET_PARAM.sub(rf"\1{REDACTED}", text)


def _redact_arg(item: str) -> str:
    if (header := _SECRET_HEADER.fullmatch(item)) or (
            header := _SECRET_ASSIGNMENT.fullmatch(item)):
        return f"{header.group(1)} {REDACTED}" if header.re is _SECRET_HEADER else (
            f"{header.group(1)}{REDACTED}")
    option, eq, rest = item.partition("=")
    if eq and option.lower() in _HEADER_OPTIONS and _SECRET_HEADER.fullmatch(rest):
        return f"{option}={_redact_arg(rest)}"
    return _redact_text(item)


def _redact_args(items: list[Any]) -> list[Any]:
    """`["--token", "T", "--api-key=K", "x"]` → `["--token", R, "--api-key=R", "x"]`;
    `["-H", "Authorization: Bearer T", "GH_TOKEN=T"]` → `["-H", "Authorization: R",
    "GH_TOKEN=R"]`."""
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
        elif isinstance(item, str) and item.lower() not in _HEADER_OPTIONS:
            item = _redact_arg(item)
        out.append(_redact_keys(item))
    return out


def _redact_keys(value: Any) -> Any:
    if isinstance(value, list):
        return _redact_args(value)
    if isinstance(value, str):
        return _redact_text(value)
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if _secret_key(key):
            out[key] = _blank(item)
        elif _snake(key) in _VALUE_MAPS and isinstance(item, dict):
            out[key] = {name: _blank(v) for name, v in item.items()}
        else:
            out[key] = _redact_keys(item)
    return out
