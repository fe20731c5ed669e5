"""The shape of a team file, as pydantic models: every key, its type and its range.

Why models: one declaration gives the checks (strict types, `extra="forbid"` so a typo is an
error, not a silent default), every problem of a file at once, and the JSON Schema editors
use to complete and check team files as they are typed (`teammesh team schema`,
`docs/team.schema.json`). What a shape cannot say (a handoff names a member of the roster,
a criterion's arguments) is checked next, in `teamfile.py`.

The reasons of the messages are ours (`teamfile_errors.py`); the validators below raise
`PydanticCustomError("team_file", reason)` where the reason depends on the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from teammesh.mesh.skills import QUEUE_WORK, SKILL_NAMES
from teammesh.mesh.terminal_text import inert_line
from teammesh.wire import ApprovalPolicy, FilesystemSandbox, NetworkAccess

TEAM_FILE_ERROR = "team_file"  # the pydantic error type whose message is our reason
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_ENDPOINT = re.compile(r"^https?://[^/\s]+$")


def _reason(text: str) -> PydanticCustomError:
    return PydanticCustomError(TEAM_FILE_ERROR, text)


def _one_of(choices: tuple[str, ...], reason: str | None = None) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise _reason(reason or f"must be one of {', '.join(choices)}")
        return value

    return check


def _matches(pattern: re.Pattern[str], reason: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise _reason(reason)
        return value

    return check


def _enum(choices: tuple[str, ...]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(choices)})


_APPROVAL_POLICIES: tuple[str, ...] = get_args(ApprovalPolicy)
_SANDBOXES: tuple[str, ...] = get_args(FilesystemSandbox)
_NETWORK: tuple[str, ...] = get_args(NetworkAccess)
_ANSWERS = ("yes", "no", "ask")
# "command": the runtime's own approvals (codex asking before a command; command_approvals.py).
_TOOLS = ("*", *SKILL_NAMES, "command")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Count = Annotated[int, Field(ge=1)]
# Finite: TOML has `inf` and `nan`, and an infinite timeout is a run that never gives up.
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
MemberName = Annotated[
    Text,
    AfterValidator(_matches(_NAME, "must be lower-case letters, digits, - or _"
                                   " (at most 40, starting with a letter)")),
    WithJsonSchema({"type": "string", "pattern": _NAME.pattern}),
]
Endpoint = Annotated[
    Text,
    AfterValidator(lambda url: url.rstrip("/")),
    AfterValidator(_matches(_ENDPOINT, "must be an http:// or https:// gateway URL"
                                       " (host[:port])")),
    WithJsonSchema({"type": "string", "pattern": r"^https?://[^/\s]+/?$"}),
]
ApprovalPolicyName = Annotated[Text, AfterValidator(_one_of(_APPROVAL_POLICIES)),
                               _enum(_APPROVAL_POLICIES)]
SandboxName = Annotated[Text, AfterValidator(_one_of(_SANDBOXES)), _enum(_SANDBOXES)]
NetworkName = Annotated[Text, AfterValidator(_one_of(_NETWORK)), _enum(_NETWORK)]
Answer = Annotated[Text, AfterValidator(_one_of(_ANSWERS)), _enum(_ANSWERS)]
ToolName = Annotated[
    Text,
    AfterValidator(_one_of(_TOOLS, f"unknown tool (one of {', '.join(_TOOLS)})")),
    _enum(_TOOLS),
]


def _plain_name(value: str) -> str:
    """Printed on every run line, `runs` and `board show`: no control or bidi characters (a
    shared team file's name could otherwise drive the terminal of whoever runs it)."""
    if inert_line(value) != value:
        raise _reason("must be plain text (no control or bidi characters)")
    return value


TeamName = Annotated[Text, AfterValidator(_plain_name)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TeamTable(_Table):
    """`[team]`: the run's name and limits (CLI flags override them)."""

    name: TeamName | None = Field(default=None, description="default: the file name")
    rounds: Count | None = Field(default=None, description="round limit; --rounds overrides")
    turn_timeout: Seconds | None = Field(default=None, description="seconds per turn")
    concurrency: Count | None = Field(default=None, description="members' turns at once")
    repo: Text | None = Field(default=None, description="the team's git repository, relative"
                              " to the run's directory (made one if it is none): each member"
                              " works in its own worktree of it")


class SessionTable(_Table):
    """`[session]` / `[members.session]`: session settings (seed defaults apply)."""

    cwd: Text | None = None
    model: Text | None = Field(default=None, description='a runtime name, "<runtime>:<model>" or '
                                                 '"<runtime>?k=v"')
    approval_policy: ApprovalPolicyName | None = None
    filesystem_sandbox: SandboxName | None = None
    network_access: NetworkName | None = None

    def settings(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)


class MemberTable(_Table):
    """`[[members]]`: one member of the roster, in turn order."""

    name: MemberName
    role: Text | None = None
    handoffs: list[Text] | None = Field(default=None, description="whom its prompt hands work to")
    targets: list[Text] | None = Field(default=None, description="allowed handoff targets")
    prompt: Text | None = Field(default=None, description="a whole prompt instead of the default")
    steps: list[Text] | None = Field(default=None, description="the default prompt's steps")
    constraints: list[Text] | None = None
    model: Text | None = None
    turn_timeout: Seconds | None = None
    session: SessionTable | None = None
    endpoint: Endpoint | None = Field(default=None, description="federation: this member's gateway")


class TaskTable(_Table):
    """`[[tasks]]`: one piece of initial work."""

    owner: Text
    text: Text


class ApprovalTable(_Table):
    """`[[policies.approvals]]`: a gate; the first matching rule answers."""

    member: Text = Field(default="*", description='the caller, or "*"')
    owner: Text = Field(default="*", description='for handoffs: the target, or "*"')
    answer: Answer = "ask"
    tool: ToolName = QUEUE_WORK


def _dollars(value: object) -> object:
    """Checked before pydantic's own messages, which speak of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _reason("must be a number (US dollars)")
    if not math.isfinite(value):
        raise _reason("must be a finite number of US dollars")
    return value


Dollars = Annotated[float, BeforeValidator(_dollars), Field(gt=0)]


class BudgetTable(_Table):
    """`[policies.budget]` / `[policies.member_budget]`: no turn starts once reached."""

    tokens: Count | None = Field(default=None, description="input + output tokens")
    usd: Dollars | None = Field(default=None, description="cost in USD (models with a"
                                                          " known price)")


class PoliciesTable(_Table):
    """`[policies]`: enforced at the tool boundary."""

    max_attempts: Count | None = None
    max_chain: Count | None = None
    max_bounces: Count | None = None
    tool_call_deadline: Seconds | None = None
    approval_timeout: Seconds | None = None
    integrator: Text | None = Field(default=None, description="who merges reviewed commits"
                                    " into the integration branch (default: reviewer)")
    approvals: list[ApprovalTable] = []
    budget: BudgetTable | None = Field(default=None, description="the whole run's budget")
    member_budget: BudgetTable | None = Field(default=None,
                                              description="each member's own budget")


class TeamFile(_Table):
    """A whole team file. `completion` is one criterion (checked in `teamfile_criteria.py`)."""

    model_config = ConfigDict(title="teammesh team file")

    team: TeamTable = TeamTable()
    session: SessionTable = SessionTable()
    members: list[MemberTable] = Field(min_length=1)
    tasks: list[TaskTable] = Field(min_length=1)
    policies: PoliciesTable = PoliciesTable()
    # Its schema is `teamfile_criteria.CRITERION_SCHEMA`, set in by `team_json_schema()`.
    completion: dict[str, Any] | None = None


class _TomlJsonSchema(GenerateJsonSchema):
    """TOML has no null: an optional key is one that may be left out, not one that may be
    null, so `X | None` is published as `X`."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        # None: "left out", not a value anyone may write; a table: its keys say their own.
        if "default" in json_schema and isinstance(json_schema["default"], dict | None):
            del json_schema["default"]
        return json_schema


def team_file_json_schema() -> dict[str, Any]:
    """The models' JSON Schema (Draft 2020-12), without the criterion's definition."""
    return TeamFile.model_json_schema(schema_generator=_TomlJsonSchema)
