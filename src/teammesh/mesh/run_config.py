"""How a run was launched, kept on its board so that `--resume` continues it the same way.

Without this, a run begun on `--runtime 'llm?model=...' --concurrency 4` resumed on the
default runtime, one member at a time: for a real-model run, silently on the offline brain.
Now the launch flags are stored in the run's metadata (`meta["launch"]`) at start; on
resume the stored values apply, and a flag given again with a different value overrides
them (printed, one line per override) and is stored in turn, so the board always says how
the run is going now.

Secrets stay off the board: an API key is only ever named by its environment variable
(`--model-api-key-env`), and credentials written into a URL (`https://user:pw@host`) are
cut from it before it is stored (a resume then needs that flag again).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from teammesh.client import api_base_from_env
from teammesh.mesh.run_defaults import DEFAULT_RUNTIME


@dataclass(frozen=True)
class LaunchConfig:
    runtime: str = DEFAULT_RUNTIME
    model: str | None = None
    model_base_url: str | None = None
    model_api_key_env: str | None = None  # the variable's NAME, never its value
    rounds: int | None = None  # None: the team's
    turn_timeout: float | None = None  # None: the team's (or the member's)
    concurrency: int | None = None  # None: the team's
    api_base: str | None = None  # None: an embedded gateway
    gateway_dir: str | None = None  # None: a throwaway data dir

    def stored(self) -> dict[str, Any]:
        """The JSON kept on the board: credentials cut from every URL."""
        values = dataclasses.asdict(self)
        values["runtime"] = _spec_without_credentials(self.runtime)
        for key in ("model_base_url", "api_base"):
            if values[key] is not None:
                values[key] = without_credentials(values[key])
        return values


# The command-line flag of each field (for override lines).
FLAGS = {
    "runtime": "--runtime", "model": "--model", "model_base_url": "--model-base-url",
    "model_api_key_env": "--model-api-key-env", "rounds": "--rounds",
    "turn_timeout": "--turn-timeout", "concurrency": "--concurrency",
    "api_base": "--api-base", "gateway_dir": "--gateway-dir",
}
_URL_OPTIONS = ("model_base_url",)


def without_credentials(url: str) -> str:
    """`url` without a `user:password@` part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _spec_without_credentials(spec: str) -> str:
    name, sep, query = spec.partition("?")
    if not sep:
        return spec
    options = parse_qsl(query, keep_blank_values=True)
    cleaned = [(k, without_credentials(v) if k in _URL_OPTIONS else v) for k, v in options]
    if cleaned == options:
        return spec
    return f"{name}?{urlencode(cleaned)}"


def given_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The launch flags the user gave on this command line (the gateway URL from the
    environment counts as given: it is how the user points a run at a gateway)."""
    given = {key: getattr(args, key, None) for key in FLAGS}
    if given["api_base"] is None:
        given["api_base"] = api_base_from_env()
    return {key: value for key, value in given.items() if value is not None}


def for_new_run(args: argparse.Namespace) -> LaunchConfig:
    return LaunchConfig(**given_flags(args))


def _from_stored(stored: object) -> LaunchConfig:
    if not isinstance(stored, dict):
        return LaunchConfig()
    known = {f.name for f in dataclasses.fields(LaunchConfig)}
    values = {k: v for k, v in stored.items() if k in known and v is not None}
    try:
        return LaunchConfig(**values)
    except TypeError:
        return LaunchConfig()


def _shown(value: Any) -> str:
    if value is None:
        return "(default)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def for_resume(stored: object, args: argparse.Namespace
               ) -> tuple[LaunchConfig, list[str]]:
    """The stored launch config with this command line's flags on top, and one line per
    flag that changed a stored value."""
    base = _from_stored(stored)
    stored_view = base.stored()
    overrides: dict[str, Any] = {}
    lines: list[str] = []
    for key, value in given_flags(args).items():
        if value == getattr(base, key):
            continue
        overrides[key] = value
        fresh = dataclasses.replace(base, **{key: value}).stored()[key]
        if fresh == stored_view[key]:
            continue  # the same value, its credentials given again
        lines.append(f"override: {FLAGS[key]} {_shown(fresh)} (the run was started with"
                     f" {_shown(stored_view[key])})")
    return dataclasses.replace(base, **overrides), lines


def secret_notes(config: LaunchConfig) -> list[str]:
    """What was cut before storing, so the user knows a resume needs it again."""
    notes = []
    stored = config.stored()
    for key in ("runtime", "model_base_url", "api_base"):
        if stored[key] != getattr(config, key):
            notes.append(f"note: credentials in {FLAGS[key]} are not stored on the board;"
                         f" give {FLAGS[key]} again on --resume")
    return notes
