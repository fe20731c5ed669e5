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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from teammesh.private_files import private_dir, write_private_text

PROVIDER_ID = "teammesh"
DEFAULT_MODEL = "playbook"  # the model id `teammesh model serve` lists
OPENAI_BASE_URL = "https://api.openai.com/v1"

# The ONLY variables of the gateway's environment the app-server child inherits. codex runs
# shell commands a model asks for, so anything else (TEAMMESH_TOKEN, CODEX_MANAGER_* tokens,
# cloud credentials, a stray OPENAI_API_KEY or OPENAI_BASE_URL that would steer it) must not
# reach it. Besides these, the child gets CODEX_HOME and RUST_LOG (set below) and the one
# API-key variable the operator named in `model_api_key_env`.
QUIET_RUST_LOG = "warn,codex_models_manager::model_info=error"
CHILD_ENV_ALLOWLIST = (
    # Where codex finds the bundled/system bubblewrap, and what the commands it runs use.
    "PATH",
    # The user's home, shell and name: codex resolves `~`, picks the shell for commands and
    # reports it to the model (environment_context); commands expect them too.
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    # Locale and time zone: text encoding of command output, the date/timezone codex puts in
    # the model's environment context.
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_COLLATE",
    "LC_NUMERIC",
    "LC_TIME",
    "TZ",
    # Terminal type for the commands' pseudo-terminals.
    "TERM",
    # Where codex and its commands put temporary files.
    "TMPDIR",
    # A private CA for an HTTPS model provider (codex reads all three; none matters offline).
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CODEX_CA_CERTIFICATE",
    # Reaching a remote provider through the operator's proxy (NO_PROXY keeps loopback
    # direct). A proxy URL can carry a password; it is the operator's choice to set one.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)
# Our own credentials: refused as `model_api_key_env`, since the variable it names is handed
# to a process that runs model-chosen commands.
OWN_SECRET_ENV = ("TEAMMESH_TOKEN",)
OWN_SECRET_ENV_PREFIXES = ("CODEX_MANAGER_",)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
    if api_key_env:
        _check_key_env(api_key_env)
    return ProviderOptions(
        base_url=url, api_key_env=api_key_env or None, model=model or DEFAULT_MODEL
    )


def _check_key_env(name: str) -> None:
    if not _ENV_NAME.fullmatch(name):
        raise CodexConfigError(
            f"model_api_key_env must be an environment variable name, got {name!r}"
        )
    if name in OWN_SECRET_ENV or name.startswith(OWN_SECRET_ENV_PREFIXES):
        raise CodexConfigError(
            f"model_api_key_env may not name {name}: it is one of teammesh's own credentials "
            "and would be handed to the codex child, which runs model-chosen commands"
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
    ]
    if options.api_key_env:
        # codex needs the key; the commands a model has it run do not. codex already drops
        # *KEY*/*SECRET*/*TOKEN* names from their environment by default; naming the variable
        # keeps it out whatever it is called.
        lines += [
            "",
            "[shell_environment_policy]",
            f"exclude = [{_toml_str(options.api_key_env)}]",
        ]
    lines.append("")
    return "\n".join(lines)


def prepare_codex_home(data_dir: Path, options: ProviderOptions) -> Path:
    """Create `<data_dir>/codex/home` and (re)write its config. Returns the absolute path.

    The home is kept across runs: threads' rollouts live there (so `thread/resume` works after
    a restart) and a reused home starts ~70 ms faster than a fresh one.
    """
    home = (data_dir / "codex" / "home").resolve()
    # Every level owner-only: the home holds codex's rollouts (whole transcripts) and its
    # state databases, which codex itself creates 0644 (docs/codex.md).
    for level in (data_dir, data_dir / "codex", home):
        private_dir(level)
    write_private_text(home / "config.toml", render_config(options))
    return home


def child_env(
    codex_home: Path, options: ProviderOptions, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The app-server's environment: the allow-listed variables of ours (CHILD_ENV_ALLOWLIST),
    the one the provider names in `env_key` (codex reads the key from it), and its home.
    """
    source = os.environ if base is None else base
    wanted = (*CHILD_ENV_ALLOWLIST, *((options.api_key_env,) if options.api_key_env else ()))
    env = {name: source[name] for name in wanted if name in source}
    env["CODEX_HOME"] = str(codex_home)
    # Logs go to stderr (drained to a file); stdout carries only the protocol. One warning
    # is muted: "Unknown model ... fallback metadata" comes 10-15 times per turn for any
    # model codex has no built-in metadata for (every local model server's), harmless
    # (docs/codex.md), and each line was a gateway wake-up mid-turn. The same warning still
    # reaches clients once per turn as codex's `warning` notification.
    env["RUST_LOG"] = QUIET_RUST_LOG
    return env


def app_server_argv(binary: Path) -> list[str]:
    return [str(binary), "app-server", "--strict-config"]


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)
