"""The private `CODEX_HOME` of the codex runtime: its `config.toml` and the child's env.

The config is the offline-hardened one of `shared/reference/codex-app-server.md` §2: a
single Responses-API provider (ours, or any the user names), no plugin sync (which would
`git ls-remote` GitHub at every thread start), no shell snapshot (which would run the login
profile), no update check, no analytics, no retries (fail fast). app-server is started with
`--strict-config` because an invalid config otherwise falls back silently to the defaults,
i.e. to OpenAI (pitfall 3).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROVIDER_ID = "teammesh"
DEFAULT_MODEL = "playbook"  # the model id `teammesh model serve` lists
OPENAI_BASE_URL = "https://api.openai.com/v1"
# Never let a stray key or base URL from the gateway's environment steer the child.
SCRUBBED_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_API_KEY")


class CodexConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ProviderOptions:
    """Where codex sends its model requests."""

    base_url: str
    api_key_env: str | None = None
    model: str = DEFAULT_MODEL


def provider_options(
    base_url: str | None, api_key_env: str | None, model: str | None
) -> ProviderOptions:
    """Resolve the settings into provider options.

    A base URL with no path (`http://127.0.0.1:PORT`, what `start_model_server` yields) gets
    `/v1` appended, since codex posts to `{base_url}/responses`. Without a base URL the
    provider is OpenAI itself, which needs a key: refuse rather than run unauthenticated.
    """
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CodexConfigError(f"model_base_url must be an http(s) URL, got {base_url!r}")
        url = base_url.rstrip("/")
        if parts.path in ("", "/"):
            url += "/v1"
    elif api_key_env:
        url = OPENAI_BASE_URL
    else:
        raise CodexConfigError(
            "the codex runtime needs a model provider: set model_base_url (a Responses API "
            "base such as http://127.0.0.1:PORT/v1 of `teammesh model serve`) or "
            "model_api_key_env (to use OpenAI)"
        )
    return ProviderOptions(
        base_url=url, api_key_env=api_key_env or None, model=model or DEFAULT_MODEL
    )


def render_config(options: ProviderOptions) -> str:
    """`config.toml` text. Strings go through `json.dumps`, whose escapes are valid TOML."""
    lines = [
        "# Written by teammesh at every app-server start; edits are overwritten.",
        f"model = {_toml_str(options.model)}",
        f"model_provider = {_toml_str(PROVIDER_ID)}",
        'approval_policy = "never"',
        'sandbox_mode = "read-only"',
        "check_for_update_on_startup = false",
        'web_search = "disabled"',
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[agents]",
        "enabled = false",
        "",
        f"[model_providers.{PROVIDER_ID}]",
        'name = "teammesh model provider"',
        f"base_url = {_toml_str(options.base_url)}",
        'wire_api = "responses"',
        "requires_openai_auth = false",
        "supports_websockets = false",
        "request_max_retries = 0",
        "stream_max_retries = 0",
        "stream_idle_timeout_ms = 120000",
    ]
    if options.api_key_env:
        lines.append(f"env_key = {_toml_str(options.api_key_env)}")
    lines += [
        "",
        "[features]",
        "plugins = false",
        "shell_snapshot = false",
        "goals = false",
        "",
    ]
    return "\n".join(lines)


def prepare_codex_home(data_dir: Path, options: ProviderOptions) -> Path:
    """Create `<data_dir>/codex/home` and (re)write its config. Returns the absolute path.

    The home is kept across runs: threads' rollouts live there (so `thread/resume` works after
    a restart) and a reused home starts ~70 ms faster than a fresh one.
    """
    home = (data_dir / "codex" / "home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(render_config(options), encoding="utf-8")
    return home


def child_env(
    codex_home: Path, options: ProviderOptions, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The app-server's environment: ours minus provider credentials, plus its home.

    The one variable the provider names in `env_key` is kept, since codex reads the key
    from it.
    """
    env = dict(os.environ if base is None else base)
    for name in SCRUBBED_ENV:
        if name != options.api_key_env:
            env.pop(name, None)
    env["CODEX_HOME"] = str(codex_home)
    # Logs go to stderr (drained to a file); stdout carries only the protocol.
    env["RUST_LOG"] = "warn"
    return env


def app_server_argv(binary: Path) -> list[str]:
    return [str(binary), "app-server", "--strict-config"]


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)
