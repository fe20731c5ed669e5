"""The embedded gateway's runtime, and the model server it may need.

`teammesh demo|run --runtime codex` or `--runtime llm` with no model endpoint named runs the
team offline: the playbook brain behind the Responses API (`teammesh.brain.server`) starts
for the occasion on a free loopback port, the embedded gateway's runtime points at it, and
both stop when the run ends. A named endpoint (`--model-base-url`, a `model_base_url` or
`model_api_key_env` option in the spec) is used as given; for llm a named model without an
endpoint is a hosted provider's (`openai:gpt-4o`), which pydantic-ai reaches by itself.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from teammesh.gateway.runtimes.registry import RuntimeSettings, parse_spec
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
