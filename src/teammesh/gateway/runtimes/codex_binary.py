"""Find the native `codex` binary.

The npm package `@openai/codex` ships a node shim (`bin/codex.js`) that execs a vendored
native binary; we exec that binary directly, which saves ~60 ms and ~40 MB per app-server
(`shared/reference/codex-app-server.md` §1, pitfall 15).

Search order: an explicit path (settings.codex_bin), `$TEAMMESH_CODEX_BIN`, the
`.cache/codex` npm prefix that `make codex` fills (relative to the repo root, then to the
current directory), and finally `codex` on PATH.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV_VAR = "TEAMMESH_CODEX_BIN"
CACHE_PREFIX = Path(".cache") / "codex"
# <prefix>/lib/node_modules/@openai/codex/node_modules/@openai/codex-<platform>/
#   vendor/<triple>/bin/codex
_VENDORED_GLOB = "lib/node_modules/@openai/codex/node_modules/@openai/codex-*/vendor/*/bin/codex"
# src/teammesh/gateway/runtimes/codex_binary.py → the checkout root.
_REPO_ROOT = Path(__file__).resolve().parents[4]


class CodexBinaryNotFound(RuntimeError):
    pass


def vendored_binary(prefix: Path) -> Path | None:
    """The native binary inside an npm `--prefix` install, if there is one."""
    for candidate in sorted(prefix.glob(_VENDORED_GLOB)):
        if _is_executable(candidate):
            return candidate
    shim = prefix / "bin" / "codex"
    return shim if _is_executable(shim) else None


def find_codex_binary(explicit: str | None = None) -> Path:
    """The codex binary to exec, or a `CodexBinaryNotFound` that says how to get one."""
    for label, value in (
        ("settings.codex_bin", explicit),
        (f"${ENV_VAR}", os.environ.get(ENV_VAR)),
    ):
        if value:
            path = Path(value).expanduser()
            if path.is_dir():
                found = vendored_binary(path)
                if found is not None:
                    return found
            elif _is_executable(path):
                return path
            raise CodexBinaryNotFound(f"{label} points at {value!r}, which is not a codex binary")
    searched: list[str] = []
    for root in dict.fromkeys((_REPO_ROOT, Path.cwd().resolve())):
        prefix = root / CACHE_PREFIX
        searched.append(str(prefix))
        found = vendored_binary(prefix)
        if found is not None:
            return found
    on_path = shutil.which("codex")
    if on_path:
        return Path(on_path)
    raise CodexBinaryNotFound(
        "codex binary not found: run `make codex` (installs @openai/codex into .cache/codex), "
        f"or set ${ENV_VAR} or the codex_bin setting; searched {', '.join(searched)} and PATH"
    )


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
