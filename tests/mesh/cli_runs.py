"""Running the `teammesh` command as a user would, for the CLI tests: the venv's entry
point, the caller's environment without an inherited gateway URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    return {**env, **extra}


def teammesh(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TEAMMESH, *args], cwd=cwd, env=cli_env(**env), capture_output=True,
                          text=True, timeout=60)
