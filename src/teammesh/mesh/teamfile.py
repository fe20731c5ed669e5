"""Team files (TOML): the whole team declared in one file, checked before anything starts.

Two passes, each reporting every problem it finds as `<file>: <key>: <reason>`: the shape
(`teamfile_model.py`: keys, types, ranges; unknown keys are errors, since a typo must not
silently fall back to a default), then what needs the roster (handoffs, owners, approval
rules, the completion criterion). The reference of every key is in `docs/mesh.md`; its JSON
Schema for editors is `team_json_schema()` (`teammesh team schema`)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from teammesh.mesh import criteria as crit
from teammesh.mesh.board import BoardRefusal, clean_text
from teammesh.mesh.policies import ApprovalRule
from teammesh.mesh.prompts import DEFAULT_ROLES
from teammesh.mesh.team import (
    DEFAULT_ROUNDS,
    DEFAULT_TURN_TIMEOUT,
    SEED_HANDOFFS,
    Budget,
    InitialTask,
    Member,
    Policies,
    Team,
)
from teammesh.mesh.teamfile_criteria import CRITERION_SCHEMA, CriterionReader
from teammesh.mesh.teamfile_errors import Problem, TeamFileError, shape_problems
from teammesh.mesh.teamfile_limits import MAX_TEAM_FILE_BYTES, text_problem
from teammesh.mesh.teamfile_model import (
    BudgetTable,
    MemberTable,
    PoliciesTable,
    TaskTable,
    TeamFile,
    team_file_json_schema,
)
from teammesh.mesh.workspaces import repo_problem

__all__ = ["BUILTIN_TEAM", "TeamFileError", "builtin_team", "load_team", "parse_team",
           "team_from_text", "team_json_schema"]

BUILTIN_TEAM = "default_team.toml"


class _Checks:
    """The second pass: what the shape cannot say, every problem collected in file order."""

    def __init__(self, file: str, roster: tuple[str, ...]) -> None:
        self.file, self.roster = file, roster
        self.problems: list[Problem] = []
        self.has_repo = False  # `[team] repo`: the members' prompts are workspace prompts

    def known(self, name: str, key: str) -> None:
        if name not in self.roster:
            self.problems.append((key, f"unknown member {name!r} (team: "
                                  f"{', '.join(self.roster)})"))

    def members(self, names: list[str] | None, key: str) -> tuple[str, ...] | None:
        if names is None:
            return None
        for i, name in enumerate(names):
            self.known(name, f"{key}[{i}]")
        return tuple(names)

    def member(self, entry: MemberTable, key: str, defaults: dict[str, Any]) -> Member:
        seed = tuple(t for t in SEED_HANDOFFS.get(entry.name, ()) if t in self.roster)
        handoffs = self.members(entry.handoffs, f"{key}.handoffs")
        targets = self.members(entry.targets, f"{key}.targets")
        handoffs = seed if handoffs is None else handoffs
        outside = [h for h in handoffs if targets is not None and h not in targets]
        if outside:
            self.problems.append((f"{key}.handoffs", f"hands off to {outside[0]!r}, which is"
                                  " not in its targets"))
        session = {**defaults, **(entry.session.settings() if entry.session else {})}
        model = session.pop("model", None)
        return Member(
            name=entry.name,
            role=entry.role or DEFAULT_ROLES.get(entry.name,
                                                 f"contribute as the {entry.name} and hand off"),
            handoffs=handoffs,
            targets=targets,
            prompt=entry.prompt,
            steps=tuple(entry.steps) if entry.steps is not None else None,
            constraints=tuple(entry.constraints or ()),
            model=entry.model if entry.model is not None else model,
            session=session,
            turn_timeout=entry.turn_timeout,
            endpoint=entry.endpoint,
            workspace=self.has_repo,
        )

    def task(self, entry: TaskTable, key: str) -> InitialTask:
        self.known(entry.owner, f"{key}.owner")
        try:  # the board's own rule for task text, checked before any run exists
            text = clean_text("task", entry.text)
        except BoardRefusal as exc:
            self.problems.append((f"{key}.text", str(exc)))
            text = entry.text
        return InitialTask(entry.owner, text)

    def policies(self, table: PoliciesTable) -> Policies:
        rules = []
        for i, rule in enumerate(table.approvals):
            for field, value in (("member", rule.member), ("owner", rule.owner)):
                if value != "*":
                    self.known(value, f"policies.approvals[{i}].{field}")
            answer: Any = rule.answer  # one of yes, no, ask (checked by the model)
            rules.append(ApprovalRule(rule.member, rule.owner, answer, rule.tool))
        return Policies(
            max_attempts=table.max_attempts or Policies().max_attempts,
            max_chain=table.max_chain,
            max_bounces=table.max_bounces,
            approvals=tuple(rules),
            approval_timeout=table.approval_timeout,
            tool_call_deadline=table.tool_call_deadline,
            integrator=self.integrator(table.integrator),
            budget=_budget(table.budget),
            member_budget=_budget(table.member_budget),
        )

    def integrator(self, name: str | None) -> str | None:
        if name is not None:
            self.known(name, "policies.integrator")
        return name

    def repo(self, setting: str | None) -> str | None:
        problem = repo_problem(setting) if setting is not None else None
        if problem is not None:
            self.problems.append(("team.repo", problem))
        return setting

    def completion(self, value: dict[str, Any] | None) -> crit.Criterion:
        if value is None:
            closer = "reviewer" if "reviewer" in self.roster else self.roster[-1]
            return crit.seed_completion(closer)
        try:
            return CriterionReader(self.file, self.roster).criterion(value, "completion")
        except TeamFileError as exc:
            self.problems.extend(exc.problems)
            return crit.seed_completion(self.roster[-1])


def _budget(table: BudgetTable | None) -> Budget:
    return Budget() if table is None else Budget(tokens=table.tokens, usd=table.usd)


def _roster(shape: TeamFile) -> tuple[tuple[str, ...], list[Problem]]:
    names: list[str] = []
    problems: list[Problem] = []
    for i, entry in enumerate(shape.members):
        if entry.name in names:
            problems.append((f"members[{i}].name", f"duplicate member {entry.name!r}"))
        else:
            names.append(entry.name)
    return tuple(names), problems


def _criterion_problems(data: Mapping[str, Any], file: str, shape: list[Problem]
                        ) -> list[Problem]:
    """The completion criterion's problems, even when the shape has some: it needs only
    the roster, so it is checked whenever the members themselves are sound."""
    if "completion" not in data or any(k.startswith(("members", "completion")) for k, _ in shape):
        return []
    roster = tuple(m["name"].strip() for m in data["members"])
    checks = _Checks(file, roster)
    checks.completion(data["completion"])
    return checks.problems


def parse_team(data: Mapping[str, Any], file: str, text: str = "") -> Team:
    try:
        shape = TeamFile.model_validate(dict(data))
    except ValidationError as exc:
        problems = shape_problems(exc)
        raise TeamFileError.of(file, [*problems, *_criterion_problems(data, file, problems)]
                               ) from None
    roster, duplicates = _roster(shape)
    checks = _Checks(file, roster)
    checks.has_repo = shape.team.repo is not None
    checks.problems.extend(duplicates)
    defaults = shape.session.settings()
    members = tuple(checks.member(entry, f"members[{i}]", defaults)
                    for i, entry in enumerate(shape.members))
    tasks = tuple(checks.task(entry, f"tasks[{i}]") for i, entry in enumerate(shape.tasks))
    policies = checks.policies(shape.policies)
    completion = checks.completion(shape.completion)
    repo = checks.repo(shape.team.repo)
    if checks.problems:
        raise TeamFileError.of(file, checks.problems)
    return Team(
        name=shape.team.name or Path(file).stem,
        members=members,
        tasks=tasks,
        completion=completion,
        rounds=shape.team.rounds or DEFAULT_ROUNDS,
        turn_timeout=shape.team.turn_timeout or DEFAULT_TURN_TIMEOUT,
        concurrency=shape.team.concurrency or 1,
        policies=policies,
        source=file,
        text=text,
        repo=repo,
    )


def load_team(path: str | Path) -> Team:
    file = str(path)
    try:
        with Path(path).open(encoding="utf-8") as handle:  # bounded: /dev/zero is a path too
            text = handle.read(MAX_TEAM_FILE_BYTES + 1)
    except OSError as exc:
        raise TeamFileError(file, "(file)", exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise TeamFileError(file, "(file)", f"not UTF-8 text: {exc.reason}") from None
    return team_from_text(text, file)


def builtin_team() -> Team:
    """`teammesh demo`'s team: the seed's three members, as a team file."""
    text = resources.files("teammesh.mesh").joinpath(BUILTIN_TEAM).read_text("utf-8")
    return team_from_text(text, f"<built-in {BUILTIN_TEAM}>")


def team_from_text(text: str, source: str) -> Team:
    """A team kept as text (a file, a run's board): parsed and checked like a file."""
    if (problem := text_problem(text)) is not None:
        raise TeamFileError(source, *problem)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TeamFileError(source, "(syntax)", str(exc)) from None
    except RecursionError:  # tomllib recurses per nested array or inline table
        raise TeamFileError(source, "(syntax)", "arrays or inline tables nested too deeply"
                            ) from None
    return parse_team(data, source, text)


def team_json_schema() -> dict[str, Any]:
    """The team file's JSON Schema (Draft 2020-12), for editors (`docs/team.schema.json`)."""
    schema = team_file_json_schema()
    schema["$defs"]["Criterion"] = CRITERION_SCHEMA
    schema["properties"]["completion"] = {
        "$ref": "#/$defs/Criterion",
        "description": "when the run is complete (default: reviewer, or the last member,"
                       " done and every queue empty)",
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
