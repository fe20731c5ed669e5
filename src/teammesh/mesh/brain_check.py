"""Which brain a run uses, said at start, and models a runtime cannot serve refused.

On the offline setup every runtime answers with the playbook brain: `--runtime codex` and
`--runtime llm` start a local model server for it when no endpoint is named, and the
playbook runtime *is* it. Without a word about that, a run looked the same on every runtime,
and a team file asking for `model = "gpt-4o"` ran on the brain and reported success. So the
runner prints one line naming each member's runtime and model (saying plainly when it is the
offline brain), and a model that the chosen runtime would not actually use is refused
before anything starts.

Only an embedded gateway is known here; a run on another gateway (`--api-base`) names that
gateway, whose runtime and models are its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from teammesh.gateway.runtimes.registry import RUNTIME_MODULES, parse_spec
from teammesh.mesh.embedded_runtime import LOCAL_MODELS, ModelChoice, needs_model_server
from teammesh.mesh.run_config import without_credentials
from teammesh.mesh.run_settings import resolve_settings
from teammesh.mesh.team import Team

OFFLINE = "the offline playbook brain"
# Names that mean the brain itself.
BRAIN_MODELS = frozenset({"playbook", *LOCAL_MODELS.values()})


class ModelRefused(ValueError):
    """A model the chosen runtime cannot serve (the run is refused before it starts)."""


@dataclass(frozen=True)
class MemberBrain:
    member: str
    runtime: str
    model: str


def _member_models(team: Team, choice: ModelChoice) -> dict[str, str | None]:
    """Each member's model as the run asks for it (run_settings.py: the member's, else
    `--model`); None leaves it to the runtime."""
    settings = resolve_settings(team, model=choice.model)
    return {name: member.model for name, member in settings.members.items()}


def check_models(team: Team, runtime: str, choice: ModelChoice, *, embedded: bool) -> None:
    """Raise `ModelRefused` when a member's model cannot be served as the run is set up."""
    if not embedded:
        return  # another gateway's runtimes are its own business
    name, _ = parse_spec(runtime)
    if name not in RUNTIME_MODULES:
        return  # the gateway itself answers (its message reaches the user verbatim)
    for member, model in _member_models(team, choice).items():
        if model is None or model in BRAIN_MODELS:
            continue
        if team.member(member).endpoint is not None:
            continue  # on a federated gateway
        if name == "playbook":
            raise ModelRefused(
                f"member {member} asks for model {model!r}, but the playbook runtime is"
                f" {OFFLINE} and runs no model; use --runtime llm or --runtime codex with"
                " --model-base-url for a real model")
        if needs_model_server(runtime, choice):
            raise ModelRefused(
                f"member {member} asks for model {model!r}, but with --runtime {name} and no"
                f" model endpoint the run uses {OFFLINE} on a local model server; give"
                " --model-base-url (and --model-api-key-env) for a real model"
                + (", or --model with a provider's model string" if name == "llm" else ""))


def check_runtime_available(runtime: str, *, embedded: bool) -> None:
    """Raise `ModelRefused` when the embedded gateway's runtime cannot run here (no codex
    binary): said before the run starts, not as a 500 from its first session."""
    name, options = parse_spec(runtime)
    if not embedded or name != "codex":
        return
    from teammesh.gateway.runtimes.codex_binary import CodexBinaryNotFound, find_codex_binary

    try:
        find_codex_binary(options.get("codex_bin") or None)
    except CodexBinaryNotFound as exc:
        raise ModelRefused(f"--runtime codex: {exc}") from None


def brains(team: Team, runtime: str, choice: ModelChoice, api_base: str | None
           ) -> list[MemberBrain]:
    name, options = parse_spec(runtime)
    local = api_base is None and needs_model_server(runtime, choice)
    asked = _member_models(team, choice)
    found = []
    for member in team.members:
        # What the run asks for, else the runtime spec's own `model` option.
        model = asked[member.name] or options.get("model")
        if member.endpoint is not None or api_base is not None:
            gateway = member.endpoint or api_base
            found.append(MemberBrain(member.name, f"the gateway at {gateway}'s",
                                     model or "its default"))
        elif name == "playbook":
            found.append(MemberBrain(member.name, name, f"playbook ({OFFLINE}, no model)"))
        elif local and (model is None or model in BRAIN_MODELS):
            found.append(MemberBrain(member.name, name,
                                     f"playbook ({OFFLINE} on a local model server, not a"
                                     " real model)"))
        else:
            endpoint = choice.base_url or options.get("model_base_url")
            where = f" at {without_credentials(endpoint)}" if endpoint else ""
            found.append(MemberBrain(member.name, name,
                                     f"{model or 'the runtime default'}{where}"))
    return found


def brain_line(team: Team, runtime: str, choice: ModelChoice, api_base: str | None) -> str:
    """One line: `runtime: R · model: M` when every member shares them, else per member."""
    found = brains(team, runtime, choice, api_base)
    if len({(b.runtime, b.model) for b in found}) == 1:
        return f"runtime: {found[0].runtime} · model: {found[0].model}"
    return "; ".join(f"{b.member}: runtime {b.runtime} · model {b.model}" for b in found)
