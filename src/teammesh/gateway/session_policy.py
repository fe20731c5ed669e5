"""What a client may ask of a session, and the operator's ceiling over what it may ask.

Two rules, both enforced before anything is built or started:

1. Session options are not operator settings. A client's `model` string picks a runtime by
   name and at most a few range-checked per-session options (`CLIENT_OPTIONS`: the model
   name, playbook's `think_ms`). Everything that names a binary, a directory, a model
   endpoint, an environment variable or a deadline (`OPERATOR_SETTINGS`) comes only from the
   operator: `teammesh serve` flags, `--runtime SPEC` (typed by the operator, so it keeps full
   options), or `start_gateway(runtime=..., settings=...)`. Anything else is a 400 that names
   the option. A model NAME can never change the endpoint or the key variable: with no
   operator base URL, llm's provider is fixed by the operator's own model (`openai:` stays
   `openai:`) unless the operator allows more (`--allow-model`).

2. The ceiling (`SessionCeiling`): the most a session may ask for sandbox, approval policy,
   network and working directory. Asking for more — at create, on a message, or a session
   persisted under a wider ceiling — is a 403 that says which ceiling. The defaults a session
   gets when it asks nothing are always within the ceiling.

Why only `never` is admitted by default below `danger-full-access`: under `untrusted`,
`on-failure` and `on-request` codex asks the client before running a command outside the
sandbox (`on-request` + an accepted approval runs it unsandboxed, see shared/reference/
codex-app-server.md §5), and the gateway's client is the very party the ceiling bounds. Under
`never` codex never leaves the sandbox, so the sandbox ceiling really holds. An operator who
wants approval prompts says so (`--allow-approval-policy on-request`) and accepts that an
approved command may run outside the sandbox.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from typing import Any, get_args
from urllib.parse import urlencode

from teammesh.gateway import ceiling_names
from teammesh.gateway.runtimes.registry import (
    RUNTIME_MODULES,
    RuntimeSettings,
    parse_spec,
    with_options,
)
from teammesh.wire import NetworkAccess

# The ceiling's names and defaults live in ceiling_names.py (light: `teammesh serve --help`).
SANDBOX_ORDER = ceiling_names.SANDBOX_ORDER  # weakest first
APPROVAL_POLICIES = ceiling_names.APPROVAL_POLICIES
DEFAULT_MAX_SANDBOX = ceiling_names.DEFAULT_MAX_SANDBOX
DEFAULT_MAX_RUNTIMES = ceiling_names.DEFAULT_MAX_RUNTIMES
DEFAULT_FORK_SESSION_LIMIT = ceiling_names.DEFAULT_FORK_SESSION_LIMIT
NETWORK_VALUES: tuple[str, ...] = get_args(NetworkAccess)
# The approval policy under which codex never runs a command outside the sandbox.
SANDBOX_BINDING_APPROVALS = frozenset({"never"})

# Per-session options a client may put after `runtime?`: name → (runtimes, low, high).
THINK_MS_MAX = 60_000
CLIENT_OPTIONS: dict[str, tuple[frozenset[str], int, int]] = {
    "think_ms": (frozenset({"playbook"}), 0, THINK_MS_MAX),
}
# Options that are the operator's alone, with the flag that sets each.
OPERATOR_SETTINGS: dict[str, str] = {
    "data_dir": "--data-dir",
    "model_base_url": "--model-base-url",
    "model_api_key_env": "--model-api-key-env",
    "codex_bin": "--codex-bin",
    "tool_call_deadline_s": "--tool-call-deadline",
}
# A model name: provider prefixes, versions, org/name paths; no spaces, controls or `?&=`.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")


class PolicyRefusal(Exception):
    """A session request the policy refuses: answered with `status` and `body` as is."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def _invalid(field: str, message: str, option: str | None = None) -> PolicyRefusal:
    # The wire's invalid_request envelope (http_io.invalid_request), plus the option's name.
    body: dict[str, Any] = {
        "status": "error",
        "code": "invalid_request",
        "message": message,
        "issues": [{"code": "custom", "path": [field], "message": message}],
    }
    if option is not None:
        body["option"] = option
    return PolicyRefusal(400, body)


def _forbidden(ceiling: str, message: str) -> PolicyRefusal:
    return PolicyRefusal(
        403, {"status": "error", "code": "forbidden", "message": message, "ceiling": ceiling}
    )


@dataclass(frozen=True)
class SessionCeiling:
    """The operator's ceiling on session policy (`teammesh serve` flags in brackets).

    - `max_sandbox` [--max-sandbox]: the widest filesystem sandbox a session may ask;
    - `approval_policies` [--allow-approval-policy]: the policies a session may ask; None:
      every policy when `max_sandbox` is danger-full-access, else only `never` (see above);
    - `allow_network` [--allow-network]: whether `networkAccess: enabled` is admitted;
    - `cwd_roots` [--allow-cwd]: directories a session's cwd must be inside (after symlinks
      and `..` are resolved); None: the directory the gateway was started in;
    - `allow_models` [--allow-model]: fnmatch patterns over `runtime:model` a client may
      name; empty: the default model rule (`SessionPolicy.check_model`);
    - `max_runtimes` [--max-runtimes]: live runtime instances (default + client choices);
    - `fork_session_limit` [--fork-session-limit]: live sessions past which a fork is
      refused (429 `session_limit`).
    """

    max_sandbox: str = DEFAULT_MAX_SANDBOX
    approval_policies: tuple[str, ...] | None = None
    allow_network: bool = False
    cwd_roots: tuple[str, ...] | None = None
    allow_models: tuple[str, ...] = ()
    max_runtimes: int = DEFAULT_MAX_RUNTIMES
    fork_session_limit: int = DEFAULT_FORK_SESSION_LIMIT

    def __post_init__(self) -> None:
        if self.max_sandbox not in SANDBOX_ORDER:
            raise ValueError(f"max_sandbox must be one of {', '.join(SANDBOX_ORDER)}")
        if self.approval_policies is not None:
            bad = [p for p in self.approval_policies if p not in APPROVAL_POLICIES]
            if bad or not self.approval_policies:
                raise ValueError(
                    f"approval policies must be among {', '.join(APPROVAL_POLICIES)}"
                )
        if self.max_runtimes < 1:
            raise ValueError("max_runtimes must be at least 1")
        if self.fork_session_limit < 1:
            raise ValueError("fork_session_limit must be at least 1")

    def allowed_approvals(self) -> frozenset[str]:
        if self.approval_policies is not None:
            return frozenset(self.approval_policies)
        if self.max_sandbox == "danger-full-access":
            return frozenset(APPROVAL_POLICIES)
        return SANDBOX_BINDING_APPROVALS

    def default_approval(self) -> str:
        """A session that asks nothing gets upstream's `untrusted` when admitted, else the
        safest admitted policy."""
        allowed = self.allowed_approvals()
        for policy in ("untrusted", "never", "on-request", "on-failure"):
            if policy in allowed:
                return policy
        raise AssertionError("a ceiling admits at least one approval policy")


@dataclass(frozen=True)
class RuntimeChoice:
    """Where a session runs: the runtime pool key (a spec string whose options are the
    operator's default spec plus client-safe ones) and the model name for that runtime."""

    key: str
    name: str
    model: str | None


@dataclass(frozen=True)
class Admission:
    """A create request the policy admitted, with every default filled in."""

    runtime: RuntimeChoice
    cwd: str
    approval_policy: str
    filesystem_sandbox: str
    network_access: str


def is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class SessionPolicy:
    """The two rules for one gateway: its default runtime spec, settings and ceiling."""

    def __init__(
        self,
        ceiling: SessionCeiling,
        *,
        default_spec: str,
        settings: RuntimeSettings,
        workspace_root: str,
    ) -> None:
        self.ceiling = ceiling
        self.default_spec = default_spec
        self.settings = settings
        self.workspace_root = os.path.realpath(workspace_root)
        roots = ceiling.cwd_roots or (self.workspace_root,)
        self.cwd_roots = tuple(os.path.realpath(os.path.join(self.workspace_root, r))
                               for r in roots)
        self._default_name, self._default_options = parse_spec(default_spec)

    # --- rule 1: the model string ---------------------------------------------------------

    def runtime_for(self, model: str | None) -> RuntimeChoice:
        """The runtime and model a session's `model` string asks for (400 when it carries
        anything but a runtime name, a model name and client-safe options)."""
        if not model:
            return RuntimeChoice(self.default_spec, self._default_name, None)
        name, options, model_name = self._split(model)
        client: dict[str, str] = {}
        for key, raw in options.items():
            if key == "model":
                model_name = raw or None
                continue
            client[key] = self._client_option(name, key, raw)
        if model_name is not None:
            self._check_model_name(model_name)
            self.check_model(name, model_name)
        return RuntimeChoice(self._key(name, client), name, model_name)

    def turn_model(self, runtime_name: str, model: str | None) -> str | None:
        """The model a message asks for on a session of `runtime_name`: a model name, or
        `runtime:model` of the session's own runtime (a turn cannot move runtimes)."""
        if model is None:
            return None
        name, options, model_name = self._split(model)
        if options:
            raise _invalid("model", "a message cannot change session options "
                           f"({', '.join(sorted(options))}); create a new session for them")
        if name != runtime_name:
            if model in RUNTIME_MODULES or any(model.startswith(n + ":")
                                                for n in RUNTIME_MODULES):
                raise _invalid("model", f"this session runs on {runtime_name!r}; a message "
                               f"cannot move it to {name!r}")
            model_name = model  # a plain model name for the session's runtime
        if model_name is None:
            return None
        self._check_model_name(model_name)
        self.check_model(runtime_name, model_name)
        return model_name

    def _split(self, model: str) -> tuple[str, dict[str, str], str | None]:
        """`(runtime name, ?options, model name)` of a client model string."""
        for name in RUNTIME_MODULES:
            if model == name:
                return name, {}, None
            if model.startswith(name + ":"):
                return name, {}, model[len(name) + 1 :].strip() or None
            if model.startswith(name + "?"):
                return name, parse_spec(model)[1], None
        return self._default_name, {}, model

    def _client_option(self, runtime: str, key: str, raw: str) -> str:
        flag = OPERATOR_SETTINGS.get(key)
        if flag is not None:
            raise _invalid("model", f"session option {key!r} is an operator setting; set it "
                           f"with teammesh serve {flag}", option=key)
        rule = CLIENT_OPTIONS.get(key)
        if rule is None:
            allowed = ", ".join(["model", *CLIENT_OPTIONS])
            raise _invalid("model", f"unknown session option {key!r} (a session may set: "
                           f"{allowed})", option=key)
        runtimes, low, high = rule
        if runtime not in runtimes:
            raise _invalid("model", f"session option {key!r} applies only to the "
                           f"{', '.join(sorted(runtimes))} runtime", option=key)
        # isascii: "²".isdigit() is True but int("²") raises; and a bounded length keeps
        # int() below Python's 4300-digit limit. Either would otherwise be a 500.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))) \
                or not low <= int(raw) <= high:
            raise _invalid("model", f"session option {key!r} must be an integer "
                           f"{low}..{high}", option=key)
        return str(int(raw))

    def _key(self, name: str, client: dict[str, str]) -> str:
        """The pool key: the default spec when the choice adds nothing to it, else the
        runtime name with the operator's options (when it is the default runtime) and the
        client's, sorted so equal choices share one runtime."""
        base = dict(self._default_options) if name == self._default_name else {}
        merged = {**base, **client}
        if name == self._default_name and merged == self._default_options:
            return self.default_spec
        if not merged:
            return name
        return f"{name}?{urlencode(sorted(merged.items()))}"

    def check_key(self, key: str) -> None:
        """Refuse a pool key (e.g. one persisted by an older gateway) carrying options that
        neither the operator's default spec nor a client could have put there."""
        if key == self.default_spec:
            return
        name, options = parse_spec(key)
        base = self._default_options if name == self._default_name else {}
        for option, raw in options.items():
            if base.get(option) == raw:
                continue
            self._client_option(name, option, raw)

    def qualified_model(self, model: str | None) -> str | None:
        """`runtime:model` for a client model string that names a model, else None (no
        checks: for an operator listing the models its own team file names)."""
        if not model:
            return None
        name, options, model_name = self._split(model)
        model_name = options.get("model") or model_name
        return f"{name}:{model_name}" if model_name else None

    @staticmethod
    def _check_model_name(model: str) -> None:
        if not _MODEL_NAME.fullmatch(model):
            raise _invalid("model", f"model name {model[:80]!r} is not a model name "
                           "(letters, digits and . _ : / @ + -, at most 200)")

    def settings_for(self, runtime: str) -> RuntimeSettings:
        """The operator's settings the named runtime is built with."""
        if runtime == self._default_name:
            return with_options(self.settings, self._default_options)
        return self.settings

    def check_model(self, runtime: str, model: str) -> None:
        """A client may name a model when the operator allows it (`--allow-model`), or by
        default when the name cannot change where requests go or which key they carry:
        playbook ignores the name; codex and llm with an operator base URL send every model
        to that one endpoint with that one key; llm with no base URL lets pydantic-ai pick
        the provider (and its key variable) from the name, so the name must keep the
        provider of the operator's own model."""
        settings = self.settings_for(runtime)
        if model == settings.model:
            return
        qualified = f"{runtime}:{model}"
        if self.ceiling.allow_models:
            if any(fnmatch.fnmatchcase(qualified, p) for p in self.ceiling.allow_models):
                return
            raise _forbidden("model", f"model outside the ceiling: asked {qualified}, the "
                             f"ceiling admits {', '.join(self.ceiling.allow_models)} "
                             "(teammesh serve --allow-model)")
        if runtime != "llm" or settings.model_base_url:
            return
        configured = settings.model or ""
        provider, sep, _ = configured.partition(":")
        if sep and model.startswith(provider + ":"):
            return
        which = f"the {provider!r} provider" if sep else "no hosted provider"
        raise _forbidden("model", f"model outside the ceiling: asked {qualified}; with no "
                         f"model endpoint the operator's model fixes {which} "
                         "(teammesh serve --allow-model PATTERN admits more)")

    # --- rule 2: the ceiling --------------------------------------------------------------

    def check_controls(self, approval: str, sandbox: str, network: str, *,
                       inherited: frozenset[str] = frozenset()) -> None:
        """`inherited` names the controls the session already had (not asked just now)."""
        ceiling = self.ceiling

        def verb(control: str) -> str:
            return "the session has" if control in inherited else "asked"

        if SANDBOX_ORDER.index(sandbox) > SANDBOX_ORDER.index(ceiling.max_sandbox):
            raise _forbidden("sandbox", f"filesystem sandbox above the ceiling: "
                             f"{verb('sandbox')} "
                             f"{sandbox}, the ceiling is {ceiling.max_sandbox} "
                             "(teammesh serve --max-sandbox)")
        allowed = ceiling.allowed_approvals()
        if approval not in allowed:
            raise _forbidden("approval_policy", f"approval policy outside the ceiling: "
                             f"{verb('approval')} {approval}, the ceiling admits "
                             f"{', '.join(sorted(allowed))} "
                             "(teammesh serve --allow-approval-policy)")
        if network == "enabled" and not ceiling.allow_network:
            raise _forbidden("network", f"network access above the ceiling: "
                             f"{verb('network')} enabled, the ceiling is restricted "
                             "(teammesh serve --allow-network)")

    def resolve_cwd(self, cwd: str | None, *, verb: str = "asked") -> str:
        """The session's working directory, symlinks and `..` resolved (relative to the
        gateway's directory), inside one of the ceiling's roots and existing."""
        try:
            path = os.path.realpath(os.path.join(self.workspace_root, cwd or "."))
        except ValueError:  # an embedded NUL byte: no such path can exist
            raise _invalid("cwd", "working directory is not a valid path") from None
        if not any(is_within(path, root) for root in self.cwd_roots):
            raise _forbidden("cwd", f"working directory outside the ceiling: {verb} "
                             f"{path}, the ceiling admits {', '.join(self.cwd_roots)} "
                             "(teammesh serve --allow-cwd)")
        if not os.path.isdir(path):
            raise _invalid("cwd", f"working directory {path} does not exist or is not a "
                           "directory")
        return path

    # --- the two entry points -------------------------------------------------------------

    def admit_create(self, *, model: str | None, cwd: str | None, approval: str | None,
                     sandbox: str | None, network: str | None) -> Admission:
        runtime = self.runtime_for(model)
        approval = approval or self.ceiling.default_approval()
        sandbox = sandbox or SANDBOX_ORDER[0]
        network = network or NETWORK_VALUES[0]
        self.check_controls(approval, sandbox, network)
        return Admission(runtime, self.resolve_cwd(cwd), approval, sandbox, network)

    def admit_turn(self, *, runtime_key: str, cwd: str, model: str | None,
                   approval: str, sandbox: str, network: str,
                   inherited: frozenset[str] = frozenset()) -> str | None:
        """Check a message's effective controls (its overrides over the session's; the
        session's own are `inherited`) and return the turn's model. A session persisted
        under a wider ceiling is refused too."""
        self.check_key(runtime_key)
        self.check_controls(approval, sandbox, network, inherited=inherited)
        self.resolve_cwd(cwd, verb="the session has")
        return self.turn_model(parse_spec(runtime_key)[0], model)
