"""`teammesh --help` and the parser import no heavy module: a guard for the lazy imports.

Why: the parser used to import the gateway, the client and the model server (httpx, uvicorn,
starlette, pydantic models) just to print a help text. The parser is now built from light
`*_args.py` modules (see `teammesh.cli_lazy`); one eager import in any of them would bring
the whole cost back silently. Each check runs in a fresh interpreter, so what the test
process itself imported does not count. Correctness, not timing: the figures are in bench.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from teammesh.gateway import ceiling_names
from teammesh.wire import ApprovalPolicy, FilesystemSandbox

# What a help text must not cost: third-party stacks and our own heavy areas.
HEAVY = (
    "httpx", "uvicorn", "starlette.applications", "websockets", "pydantic", "pydantic_ai",
    "openai", "jsonschema", "rich", "sqlite3", "psycopg", "asyncio", "importlib.metadata",
    "teammesh.wire", "teammesh.client", "teammesh.gateway.app", "teammesh.gateway.cli",
    "teammesh.gateway.session_policy", "teammesh.brain.cli", "teammesh.brain.server",
    "teammesh.mesh.cli", "teammesh.mesh.board", "teammesh.mesh.runner",
    "teammesh.mesh.runs_cli", "teammesh.mesh.team_cli",
)

_PROBE = """
import json, sys
from teammesh.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)))
"""


def _modules_after(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True,
                          text=True, timeout=60, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("argv", [
    ("--help",), ("serve", "--help"), ("model", "serve", "--help"),
    ("demo", "--help"), ("run", "--help"), ("board", "show", "--help"),
    ("runs", "prune", "--help"), ("team", "schema", "--help"),
    ("run", "--rounds", "0"),  # a usage error is answered by the parser alone
])
def test_the_parser_imports_no_heavy_module(argv: tuple[str, ...]) -> None:
    loaded = _modules_after(*argv)
    assert "teammesh.cli" in loaded  # the probe did run the command line
    assert sorted(name for name in HEAVY if name in loaded) == []


def test_version_reads_only_the_package_metadata() -> None:
    loaded = _modules_after("--version")
    assert "importlib.metadata" in loaded  # looked up when asked, and only then
    assert sorted(name for name in HEAVY if name in loaded) == ["importlib.metadata"]


def test_a_command_imports_its_own_module_when_it_runs() -> None:
    loaded = _modules_after("team", "schema")
    assert "teammesh.mesh.team_cli" in loaded
    assert "teammesh.gateway.app" not in loaded  # and not the other areas'


# What a demo on the playbook runtime, output not on a terminal, has no use for.
UNUSED_BY_DEMO = (
    "rich", "pygments", "httpx._main", "teammesh.mesh.live", "teammesh.gateway.openapi",
    "teammesh.client.strict", "teammesh.brain.server", "pydantic_ai", "openai", "psycopg",
)


def test_a_demo_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE, "demo", "--board", "memory"],
                          capture_output=True, text=True, timeout=120, check=True,
                          cwd=tmp_path, env={k: v for k, v in os.environ.items()
                                             if not k.startswith("CODEX_MANAGER_")})
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "teammesh.gateway.app" in loaded  # the demo did run, on its embedded gateway
    assert sorted(name for name in UNUSED_BY_DEMO if name in loaded) == []


def test_the_ceiling_names_match_the_wire() -> None:
    assert ceiling_names.SANDBOX_ORDER == get_args(FilesystemSandbox)
    assert ceiling_names.APPROVAL_POLICIES == get_args(ApprovalPolicy)
