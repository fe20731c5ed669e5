"""The embedded gateway's runtime, and the model server it may need.

`teammesh demo|run --runtime codex` or `--runtime llm` with no model endpoint named runs the
team offline: the playbook brain behind the Responses API (`teammesh.brain.server`) starts
for the occasion on a free loopback port, the embedded gateway's runtime points at it, and
both stop when the run ends. A named endpoint (`--model-base-url`, a `model_base_url` or
`model_api_key_env` option in the spec) is used as given; for llm a named model without an
endpoint is a hosted provider's (`openai:gpt-4o`), which pydantic-ai reaches by itself.

The runner is the operator of the gateway it embeds, and the team file is the operator's
word: `team_ceiling` widens the gateway's session ceiling just enough for what the team's
members ask (sandbox, approval policy, network, cwd, model), and no further.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from teammesh.gateway.runtimes.registry import RuntimeSettings, parse_spec
from teammesh.gateway.session_policy import (
    DEFAULT_MAX_RUNTIMES,
    SANDBOX_ORDER,
    SessionCeiling,
    SessionPolicy,
)
from teammesh.mesh.team import Team
from teammesh.private_files import private_dir

# The runtimes that ask a model server for every step.
MODEL_RUNTIMES = frozenset({"codex", "llm"})
# What each runtime calls the playbook brain of `teammesh model serve`.
LOCAL_MODELS = {"codex": "playbook", "llm": "openai-responses:playbook"}
# Where a codex gateway's data dir goes when none is given: codex refuses to put its helper
# binaries under a temporary directory, so not /tmp but the run's own folder.
RUN_FOLDER = Path(".teammesh")


@dataclass(frozen=True)
class ModelChoice:
    """The model options of `teammesh demo|run` (all optional)."""

    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None


def needs_model_server(runtime: str, choice: ModelChoice) -> bool:
    """True when the runtime asks a model and the user named no model endpoint."""
    name, options = parse_spec(runtime)
    if name not in MODEL_RUNTIMES:
        return False
    if choice.base_url or choice.api_key_env:
        return False
    if options.get("model_base_url") or options.get("model_api_key_env"):
        return False
    # llm with a model and no endpoint: a hosted provider's model (pydantic-ai finds it).
    return not (name == "llm" and (choice.model or options.get("model")))


def runtime_settings(runtime: str, data_dir: Path, choice: ModelChoice,
                     model_server: str | None) -> RuntimeSettings:
    """The gateway's settings; options in the runtime spec still override them."""
    name, _ = parse_spec(runtime)
    model = choice.model
    base_url = choice.base_url
    if model_server is not None:
        base_url = f"{model_server}/v1"
        model = model or LOCAL_MODELS.get(name)
    return RuntimeSettings(data_dir=data_dir, model=model, model_base_url=base_url,
                           model_api_key_env=choice.api_key_env)


@contextlib.asynccontextmanager
async def model_server_for(runtime: str, choice: ModelChoice) -> AsyncIterator[str | None]:
    """The base URL of a model server started for this run, or None when none is needed."""
    if not needs_model_server(runtime, choice):
        yield None
        return
    from teammesh.brain.server import start_model_server

    async with start_model_server() as server:
        yield server.base_url


@contextlib.contextmanager
def gateway_data_dir(runtime: str, explicit: str | None) -> Iterator[Path]:
    """The embedded gateway's data dir: the one given, else a throwaway one (under the run
    folder for codex, see RUN_FOLDER)."""
    if explicit:
        yield Path(explicit)
        return
    parent: Path | None = None
    if parse_spec(runtime)[0] == "codex":
        private_dir(RUN_FOLDER)  # owner-only, like the 0700 temporary dir made inside it
        parent = RUN_FOLDER.resolve()
    # The app-server may leave files behind as it exits; they must not fail the run.
    with tempfile.TemporaryDirectory(prefix="gateway-", dir=parent,
                                     ignore_cleanup_errors=True) as path:
        yield Path(path)


def team_ceiling(team: Team, runtime: str, settings: RuntimeSettings) -> SessionCeiling:
    """The embedded gateway's ceiling: the default one, widened to what the members on this
    gateway (those without an `endpoint`) ask; their cwds are resolved from here."""
    asks = [m.session_kwargs() for m in team.members if m.endpoint is None]
    sandbox = max([SessionCeiling().max_sandbox,
                   *(a["filesystem_sandbox"] for a in asks if a.get("filesystem_sandbox"))],
                  key=SANDBOX_ORDER.index)
    approvals = set(SessionCeiling(max_sandbox=sandbox).allowed_approvals())
    approvals.update(a["approval_policy"] for a in asks if a.get("approval_policy"))
    here = os.getcwd()
    roots = {os.path.realpath(here)}
    roots.update(os.path.realpath(os.path.join(here, str(a["cwd"])))
                 for a in asks if a.get("cwd"))
    policy = SessionPolicy(SessionCeiling(), default_spec=runtime, settings=settings,
                           workspace_root=here)
    models = {policy.qualified_model(a.get("model")) for a in asks}
    return SessionCeiling(
        max_sandbox=sandbox,
        approval_policies=tuple(sorted(approvals)),
        allow_network=any(a.get("network_access") == "enabled" for a in asks),
        cwd_roots=tuple(sorted(roots)),
        allow_models=tuple(sorted(_glob_literal(m)
                                  for m in models if m)),
        max_runtimes=max(DEFAULT_MAX_RUNTIMES, len(asks) + 1),
    )


def _glob_literal(text: str) -> str:
    """An fnmatch pattern matching exactly `text`."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)
