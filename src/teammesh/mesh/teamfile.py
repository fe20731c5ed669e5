"""Team files (TOML): the whole team declared in one file, checked before anything starts.

Every problem is reported as `<file>: <key>: <reason>`; unknown keys are errors (a typo must
not silently fall back to a default). The reference of every key is in `docs/mesh.md`."""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from teammesh.mesh import criteria as crit
from teammesh.mesh.board import BoardRefusal, clean_text
from teammesh.mesh.policies import ApprovalRule
from teammesh.mesh.prompts import DEFAULT_ROLES
from teammesh.mesh.skills import QUEUE_WORK, SKILL_NAMES
from teammesh.mesh.team import (
    DEFAULT_ROUNDS,
    DEFAULT_TURN_TIMEOUT,
    SEED_HANDOFFS,
    InitialTask,
    Member,
    Policies,
    Team,
)
from teammesh.wire import ApprovalPolicy, FilesystemSandbox, NetworkAccess

BUILTIN_TEAM = "default_team.toml"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_ENDPOINT = re.compile(r"^https?://[^/\s]+$")

_SESSION_KEYS: dict[str, tuple[str, ...] | None] = {
    "cwd": None,
    "model": None,
    "approval_policy": get_args(ApprovalPolicy),
    "filesystem_sandbox": get_args(FilesystemSandbox),
    "network_access": get_args(NetworkAccess),
}
_TOP_KEYS = {"team", "session", "members", "tasks", "policies", "completion"}
_TEAM_KEYS = {"name", "rounds", "turn_timeout", "concurrency"}
_MEMBER_KEYS = {"name", "role", "handoffs", "targets", "prompt", "steps", "constraints",
                "model", "turn_timeout", "session", "endpoint"}
_POLICY_KEYS = {"max_attempts", "max_chain", "max_bounces", "tool_call_deadline",
                "approval_timeout",
                "approvals"}
_APPROVAL_KEYS = {"member", "owner", "answer", "tool"}


class TeamFileError(ValueError):
    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key}: {reason}")
        self.file, self.key, self.reason = file, key, reason


class _Reader:
    """Typed access to one file's values, raising `TeamFileError` with the key's path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, reason: str) -> TeamFileError:
        return TeamFileError(self.file, key, reason)

    def table(self, value: object, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0],
                            f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return value

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value.strip()

    def strings(self, value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of strings")
        return tuple(self.string(v, f"{key}[{i}]") for i, v in enumerate(value))

    def integer(self, value: object, key: str, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "must be an integer")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return value

    def seconds(self, value: object, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "must be a number of seconds")
        if value <= 0:
            raise self.fail(key, f"must be greater than 0, got {value}")
        return float(value)

    def members_of(self, names: tuple[str, ...], roster: tuple[str, ...], key: str
                   ) -> tuple[str, ...]:
        for i, name in enumerate(names):
            self.member_of(name, roster, f"{key}[{i}]")
        return names

    def endpoint(self, value: object, key: str) -> str:
        url = self.string(value, key).rstrip("/")
        if not _ENDPOINT.match(url):
            raise self.fail(key, "must be an http:// or https:// gateway URL (host[:port])")
        return url

    def member_of(self, name: str, roster: tuple[str, ...], key: str) -> str:
        if name not in roster:
            raise self.fail(key, f"unknown member {name!r} (team: {', '.join(roster)})")
        return name

    def session(self, value: object, key: str) -> dict[str, Any]:
        table = self.table(value, key, set(_SESSION_KEYS))
        out: dict[str, Any] = {}
        for name, raw in table.items():
            text = self.string(raw, f"{key}.{name}")
            choices = _SESSION_KEYS[name]
            if choices is not None and text not in choices:
                raise self.fail(f"{key}.{name}", f"must be one of {', '.join(choices)}")
            out[name] = text
        return out


def _criterion(r: _Reader, value: object, key: str, roster: tuple[str, ...]
               ) -> crit.Criterion:
    if not isinstance(value, dict) or len(value) != 1:
        raise r.fail(key, "a criterion is a table with exactly one key: " + ", ".join(
            [*sorted(_LEAVES), "all_of", "any_of", "not"]))
    (name, arg), = value.items()
    where = f"{key}.{name}"
    if name in ("all_of", "any_of"):
        if not isinstance(arg, list) or not arg:
            raise r.fail(where, "must be a non-empty list of criteria")
        parts = [_criterion(r, v, f"{where}[{i}]", roster) for i, v in enumerate(arg)]
        return crit.all_of(*parts) if name == "all_of" else crit.any_of(*parts)
    if name == "not":
        return crit.not_(_criterion(r, arg, where, roster))
    if name not in _LEAVES:
        raise r.fail(where, "unknown criterion (known: " + ", ".join(
            [*sorted(_LEAVES), "all_of", "any_of", "not"]) + ")")
    return _LEAVES[name](r, arg, where, roster)


def _member_done(r: _Reader, arg: object, key: str, roster: tuple[str, ...]
                 ) -> crit.Criterion:
    if isinstance(arg, str):
        return crit.member_done(r.member_of(r.string(arg, key), roster, key))
    return crit.member_done(*r.members_of(r.strings(arg, key), roster, key))


def _flag(make: Callable[[], crit.Criterion]) -> Callable[..., crit.Criterion]:
    def build(r: _Reader, arg: object, key: str, roster: tuple[str, ...]) -> crit.Criterion:
        if arg is not True:
            raise r.fail(key, "must be true")
        return make()

    return build


def _quality(r: _Reader, arg: object, key: str, roster: tuple[str, ...]) -> crit.Criterion:
    """A built-in check by name, or `package.module:function` (a callable taking the board
    and returning the list of what is missing)."""
    name = r.string(arg, key)
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise r.fail(key, f"cannot load quality check {name!r}: {exc}") from None
        if not callable(found):
            raise r.fail(key, f"quality check {name!r} is not callable")
        return crit.quality(name, found)
    if name not in crit.QUALITY_CHECKS:
        raise r.fail(key, f"unknown quality check {name!r} (known: "
                     f"{', '.join(sorted(crit.QUALITY_CHECKS))}, or module:function)")
    return crit.quality(name)


def _budget(r: _Reader, arg: object, key: str, roster: tuple[str, ...]) -> crit.Criterion:
    table = r.table(arg, key, {"turns", "tool_calls"})
    if not table:
        raise r.fail(key, "name turns and/or tool_calls")
    return crit.budget(
        turns=r.integer(table["turns"], f"{key}.turns", 1) if "turns" in table else None,
        tool_calls=(r.integer(table["tool_calls"], f"{key}.tool_calls", 1)
                    if "tool_calls" in table else None),
    )


_LEAVES: dict[str, Callable[[_Reader, object, str, tuple[str, ...]], crit.Criterion]] = {
    "member_done": _member_done,
    "queues_empty": _flag(crit.queues_empty),
    "no_dead_letters": _flag(crit.no_dead_letters),
    "artifact_kinds": lambda r, arg, key, roster: crit.artifact_kinds(*r.strings(arg, key)),
    "quality": _quality,
    "max_rounds": lambda r, arg, key, roster: crit.max_rounds(r.integer(arg, key, 1)),
    "budget": _budget,
}


def _member(r: _Reader, raw: object, key: str, roster: tuple[str, ...],
            session_defaults: Mapping[str, Any]) -> Member:
    table = r.table(raw, key, _MEMBER_KEYS)
    name = table["name"]
    default_handoffs = tuple(t for t in SEED_HANDOFFS.get(name, ()) if t in roster)
    handoffs = (r.members_of(r.strings(table["handoffs"], f"{key}.handoffs"), roster,
                             f"{key}.handoffs") if "handoffs" in table else default_handoffs)
    targets = (r.members_of(r.strings(table["targets"], f"{key}.targets"), roster,
                            f"{key}.targets") if "targets" in table else None)
    if targets is not None:
        outside = [h for h in handoffs if h not in targets]
        if outside:
            raise r.fail(f"{key}.handoffs", f"hands off to {outside[0]!r}, which is not in"
                         " its targets")
    session = {**session_defaults, **r.session(table.get("session", {}), f"{key}.session")}
    model = session.pop("model", None)
    if "model" in table:
        model = r.string(table["model"], f"{key}.model")
    return Member(
        name=name,
        role=(r.string(table["role"], f"{key}.role") if "role" in table
              else DEFAULT_ROLES.get(name, f"contribute as the {name} and hand off")),
        handoffs=handoffs,
        targets=targets,
        prompt=r.string(table["prompt"], f"{key}.prompt") if "prompt" in table else None,
        steps=r.strings(table["steps"], f"{key}.steps") if "steps" in table else None,
        constraints=(r.strings(table["constraints"], f"{key}.constraints")
                     if "constraints" in table else ()),
        model=model,
        session=session,
        turn_timeout=(r.seconds(table["turn_timeout"], f"{key}.turn_timeout")
                      if "turn_timeout" in table else None),
        endpoint=(r.endpoint(table["endpoint"], f"{key}.endpoint")
                  if "endpoint" in table else None),
    )


def _policies(r: _Reader, raw: object, roster: tuple[str, ...]) -> Policies:
    table = r.table(raw, "policies", _POLICY_KEYS)
    approvals = []
    for i, rule in enumerate(table.get("approvals", [])):
        key = f"policies.approvals[{i}]"
        entry = r.table(rule, key, _APPROVAL_KEYS)
        member = r.string(entry.get("member", "*"), f"{key}.member")
        owner = r.string(entry.get("owner", "*"), f"{key}.owner")
        for field, value in (("member", member), ("owner", owner)):
            if value != "*":
                r.member_of(value, roster, f"{key}.{field}")
        answer = r.string(entry.get("answer", "ask"), f"{key}.answer")
        if answer not in ("yes", "no", "ask"):
            raise r.fail(f"{key}.answer", "must be one of yes, no, ask")
        tool = r.string(entry.get("tool", QUEUE_WORK), f"{key}.tool")
        if tool != "*" and tool not in SKILL_NAMES:
            raise r.fail(f"{key}.tool", f"unknown tool (one of *, {', '.join(SKILL_NAMES)})")
        approvals.append(ApprovalRule(member, owner, answer, tool))  # type: ignore[arg-type]
    return Policies(
        max_attempts=(r.integer(table["max_attempts"], "policies.max_attempts", 1)
                      if "max_attempts" in table else Policies().max_attempts),
        max_chain=(r.integer(table["max_chain"], "policies.max_chain", 1)
                   if "max_chain" in table else None),
        max_bounces=(r.integer(table["max_bounces"], "policies.max_bounces", 1)
                     if "max_bounces" in table else None),
        approvals=tuple(approvals),
        approval_timeout=(r.seconds(table["approval_timeout"], "policies.approval_timeout")
                          if "approval_timeout" in table else None),
        tool_call_deadline=(r.seconds(table["tool_call_deadline"],
                                      "policies.tool_call_deadline")
                            if "tool_call_deadline" in table else None),
    )


def parse_team(data: Mapping[str, Any], file: str, text: str = "") -> Team:
    r = _Reader(file)
    top = r.table(dict(data), "", _TOP_KEYS)
    team = r.table(top.get("team", {}), "team", _TEAM_KEYS)
    # The [team] scalars first: problems are reported in the order a reader meets them.
    team_name = r.string(team.get("name", Path(file).stem), "team.name")
    rounds = r.integer(team["rounds"], "team.rounds", 1) if "rounds" in team else DEFAULT_ROUNDS
    turn_timeout = (r.seconds(team["turn_timeout"], "team.turn_timeout")
                    if "turn_timeout" in team else DEFAULT_TURN_TIMEOUT)
    concurrency = (r.integer(team["concurrency"], "team.concurrency", 1)
                   if "concurrency" in team else 1)
    raw_members = top.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        raise r.fail("members", "declare at least one [[members]] entry")
    names: list[str] = []
    for i, raw in enumerate(raw_members):
        key = f"members[{i}]"
        entry = r.table(raw, key, _MEMBER_KEYS)
        if "name" not in entry:
            raise r.fail(f"{key}.name", "is required")
        name = r.string(entry["name"], f"{key}.name")
        if not _NAME.match(name):
            raise r.fail(f"{key}.name", "must be lower-case letters, digits, - or _"
                         " (at most 40, starting with a letter)")
        if name in names:
            raise r.fail(f"{key}.name", f"duplicate member {name!r}")
        names.append(name)
    roster = tuple(names)
    session_defaults = r.session(top.get("session", {}), "session")
    members = tuple(
        _member(r, {**raw, "name": roster[i]}, f"members[{i}]", roster, session_defaults)
        for i, raw in enumerate(raw_members))

    raw_tasks = top.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise r.fail("tasks", "declare at least one [[tasks]] entry (the initial work)")
    tasks = []
    for i, raw in enumerate(raw_tasks):
        entry = r.table(raw, f"tasks[{i}]", {"owner", "text"})
        for required in ("owner", "text"):
            if required not in entry:
                raise r.fail(f"tasks[{i}].{required}", "is required")
        owner = r.member_of(r.string(entry["owner"], f"tasks[{i}].owner"), roster,
                            f"tasks[{i}].owner")
        task_text = r.string(entry["text"], f"tasks[{i}].text")
        try:  # the board's own rule for task text, checked before any run exists
            task_text = clean_text("task", task_text)
        except BoardRefusal as exc:
            raise r.fail(f"tasks[{i}].text", str(exc)) from None
        tasks.append(InitialTask(owner, task_text))

    closer = "reviewer" if "reviewer" in roster else roster[-1]
    completion = (_criterion(r, top["completion"], "completion", roster)
                  if "completion" in top else crit.seed_completion(closer))
    return Team(
        name=team_name,
        members=members,
        tasks=tuple(tasks),
        completion=completion,
        rounds=rounds,
        turn_timeout=turn_timeout,
        concurrency=concurrency,
        policies=_policies(r, top.get("policies", {}), roster),
        source=file,
        text=text,
    )


def load_team(path: str | Path) -> Team:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TeamFileError(file, "(file)", exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise TeamFileError(file, "(file)", f"not UTF-8 text: {exc.reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TeamFileError(file, "(syntax)", str(exc)) from None
    return parse_team(data, file, text)


def builtin_team() -> Team:
    """`teammesh demo`'s team: the seed's three members, as a team file."""
    text = resources.files("teammesh.mesh").joinpath(BUILTIN_TEAM).read_text("utf-8")
    return parse_team(tomllib.loads(text), f"<built-in {BUILTIN_TEAM}>", text)


def team_from_text(text: str, source: str) -> Team:
    """A team kept as text (a run's board): parsed and checked like a file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TeamFileError(source, "(syntax)", str(exc)) from None
    return parse_team(data, source, text)
