"""Putting a run together: which gateway (embedded, `--api-base`, or
`CODEX_MANAGER_API_BASE`), which board (a new SQLite file per run, an existing one for
`--resume`, or memory), then the runner."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from teammesh.client import AsyncCodexManager, api_base_from_env
from teammesh.mesh.board import (
    Location,
    TeamBoard,
    board_location,
    create_board,
    new_run_id,
    open_board,
)
from teammesh.mesh.embedded_runtime import (
    ModelChoice,
    gateway_data_dir,
    model_server_for,
    runtime_settings,
    team_ceiling,
)
from teammesh.mesh.gateway_access import GatewayAccess, run_token
from teammesh.mesh.output import Printer
from teammesh.mesh.run_defaults import DEFAULT_RUNTIME
from teammesh.mesh.runner import RunOptions, RunOutcome, TeamRunner
from teammesh.mesh.team import Team


@dataclass
class LaunchSpec:
    team: Team
    board: str | None = None  # a SQLite path, "memory", or None: .teammesh/runs/<run>.sqlite
    resume: str | None = None  # a run id
    api_base: str | None = None
    runtime: str = DEFAULT_RUNTIME  # the embedded gateway's default runtime
    gateway_dir: str | None = None  # the embedded gateway's data dir (default: a temp dir)
    # codex / llm: the model (default: the playbook brain on a model server started here)
    model: ModelChoice = field(default_factory=ModelChoice)


def resolve_api_base(explicit: str | None) -> str | None:
    """`--api-base`, else `CODEX_MANAGER_API_BASE`, else None (start an embedded gateway)."""
    return explicit or api_base_from_env()


def board_file(spec: LaunchSpec, run_id: str) -> Location | None:
    """Where the run's board lives: a SQLite file, a PostgreSQL URL, or None (memory)."""
    return board_location(spec.board, run_id)


def open_run_board(spec: LaunchSpec) -> TeamBoard:
    team = spec.team
    if spec.resume is not None:
        location = board_file(spec, spec.resume)
        if location is None:
            raise ValueError("a board in memory cannot be resumed")
        board = open_board(location, spec.resume)
        if board.roster != team.roster:
            board.close()
            raise ValueError(f"run {spec.resume} was a team of {', '.join(board.roster)};"
                             f" the team given is {', '.join(team.roster)}")
        return board
    run_id = new_run_id()
    return create_board(run_id=run_id, team=team.name, roster=team.roster,
                        path=board_file(spec, run_id),
                        max_attempts=team.policies.max_attempts, team_text=team.text)


@contextlib.asynccontextmanager
async def gateway_base(spec: LaunchSpec) -> AsyncIterator[GatewayAccess]:
    base = resolve_api_base(spec.api_base)
    if base is not None:
        yield GatewayAccess(base)
        return
    from teammesh.gateway.embedded import start_gateway

    # Order matters on the way out: the gateway (and its codex app-server) stops before the
    # model server it talks to, and both before the data dir goes.
    with gateway_data_dir(spec.runtime, spec.gateway_dir) as data_dir:
        async with model_server_for(spec.runtime, spec.model) as model_server:
            settings = runtime_settings(spec.runtime, data_dir, spec.model, model_server)
            ceiling = team_ceiling(spec.team, spec.runtime, settings)
            token = run_token()  # held by this runner only: see gateway_access.py
            async with start_gateway(data_dir=data_dir, runtime=spec.runtime,
                                     settings=settings, ceiling=ceiling,
                                     token=token) as gateway:
                yield GatewayAccess(gateway.base_url, token)


async def launch(spec: LaunchSpec, board: TeamBoard, options: RunOptions,
                 printer: Printer) -> RunOutcome:
    # An embedded gateway: the run's own token; an external one: the client's environment.
    async with gateway_base(spec) as access, \
            AsyncCodexManager(base_url=access.base_url, headers=access.headers()) as cm:
        runner = TeamRunner(cm, spec.team, board, options, printer)
        return await runner.run(resume=spec.resume is not None)
