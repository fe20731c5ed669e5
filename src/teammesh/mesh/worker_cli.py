"""`teammesh worker --board postgresql://… --run RUN --members a,b|'*'`: one worker of a
run spread over machines (`worker.py`), with its own gateway (embedded unless --api-base).

The run's team and launch flags come from its board (as on `--resume`), except where the
gateway is: each worker has its own, so the starter's `--api-base` and gateway dir are not
inherited. Exit codes: 0 the run completed, 1 it ended incomplete or failed, 2 usage,
3 the gateway failed, 5 the worker lost the database (its leases then expire and another
worker takes its members over).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

import psycopg

from teammesh.client import AsyncCodexManager, CodexManagerError
from teammesh.mesh.board import TeamBoard, UnknownRun, open_board
from teammesh.mesh.board.files import NotABoard
from teammesh.mesh.board.leases import (
    DEFAULT_LEASE_SECONDS,
    PgLeases,
    bind_worker,
    new_worker_id,
)
from teammesh.mesh.board.lock import RunBusy
from teammesh.mesh.board.postgres import PgRunLock, redact
from teammesh.mesh.embedded_runtime import ModelChoice
from teammesh.mesh.gateway_errors import gateway_message
from teammesh.mesh.launch import LaunchSpec, gateway_base, resolve_api_base
from teammesh.mesh.output import Printer
from teammesh.mesh.run_config import LaunchConfig, for_resume
from teammesh.mesh.run_options import RunOptions
from teammesh.mesh.runner import TeamRunner
from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import builtin_team, team_from_text
from teammesh.mesh.wakeups import Wakeups
from teammesh.mesh.worker import TeamWorker, WorkerOptions, WorkerOutcome

EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_GATEWAY = 3
EXIT_DATABASE_LOST = 5


def _members(text: str) -> frozenset[str] | None:
    if text.strip() == "*":
        return None
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ValueError("--members: name at least one member, or '*'")
    return names


def _team(board: TeamBoard) -> Team:
    text = board.info().team_text
    return team_from_text(text, f"<run {board.run_id}>") if text else builtin_team()


def _on_postgres(args: argparse.Namespace, command: str) -> bool:
    if str(args.board or "").startswith(("postgresql://", "postgres://")):
        return True
    print(f"teammesh {command}: --board must be a PostgreSQL URL (workers coordinate"
          " through PostgreSQL)", file=sys.stderr)
    return False


def worker(args: argparse.Namespace) -> int:
    if not _on_postgres(args, "worker"):
        return EXIT_USAGE
    try:
        members = _members(args.members)
        board = open_board(args.board, args.run_id)
    except (ValueError, UnknownRun, NotABoard, psycopg.Error) as exc:
        print(f"teammesh worker: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _as_worker(args, board, members)


def start_as_worker(args: argparse.Namespace, board: TeamBoard) -> int:
    """`teammesh run --board postgresql://… --members …`: the run is started (or resumed)
    and this process is its first worker; `teammesh worker` processes may join."""
    args.lease_seconds = getattr(args, "lease_seconds", DEFAULT_LEASE_SECONDS)
    args.no_coordinate = False
    if not _on_postgres(args, "run"):
        board.close()
        return EXIT_USAGE
    try:
        members = _members(args.members)
    except ValueError as exc:
        print(f"teammesh run: {exc}", file=sys.stderr)
        board.close()
        return EXIT_USAGE
    args.run_id = board.run_id
    return _as_worker(args, board, members)


def _as_worker(args: argparse.Namespace, board: TeamBoard,
               members: frozenset[str] | None) -> int:
    lock = PgRunLock(args.board, args.run_id, shared=True)
    try:
        team = _team(board)
        unknown = sorted(set(members or ()) - set(team.roster))
        if unknown:  # before any gateway starts
            raise ValueError(f"not members of the team: {', '.join(unknown)}")
        config, _ = for_resume(board.info().meta.get("launch"), args)
        # Each worker has its own gateway: never the starter's.
        config = dataclasses.replace(config, api_base=resolve_api_base(args.api_base),
                                     gateway_dir=args.gateway_dir)
        lock.acquire()
    except (ValueError, RunBusy) as exc:
        board.close()
        print(f"teammesh worker: {args.run_id}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _work(args, board, team, config, members)
    finally:
        lock.release()
        board.close()


def _work(args: argparse.Namespace, board: TeamBoard, team: Team, config: LaunchConfig,
          members: frozenset[str] | None) -> int:
    printer = Printer()
    worker_id = new_worker_id()
    bind_worker(board._store, worker_id)
    leases = PgLeases(args.board, board.run_id, worker_id, seconds=args.lease_seconds)
    printer.note(f"worker {worker_id} on run {board.run_id} ({redact(args.board)}),"
                 f" members {args.members}")
    spec = LaunchSpec(team=team, board=args.board, api_base=config.api_base,
                      runtime=config.runtime, gateway_dir=config.gateway_dir,
                      model=ModelChoice(model=config.model, base_url=config.model_base_url,
                                        api_key_env=config.model_api_key_env))
    options = RunOptions(rounds=config.rounds, turn_timeout=config.turn_timeout,
                         concurrency=config.concurrency, use_stream=not args.no_stream,
                         use_polling=not args.no_polling)
    worker_options = WorkerOptions(members=members, coordinate=not args.no_coordinate)
    try:
        outcome = asyncio.run(_drive(spec, board, options, printer, leases, worker_options))
    except KeyboardInterrupt:
        return 130
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        printer.note(f"teammesh worker: lost the database: {exc}".strip())
        return EXIT_DATABASE_LOST
    except CodexManagerError as exc:
        printer.note(f"teammesh worker: gateway error: {gateway_message(exc)}")
        return EXIT_GATEWAY
    except ValueError as exc:
        printer.note(f"teammesh worker: {exc}")
        return EXIT_USAGE
    finally:
        leases.close()
    printer.note(f"worker {worker_id}: run {outcome.run_id} {outcome.status}"
                 f" ({outcome.reason}); {outcome.turns} turn(s) here, members taken:"
                 f" {', '.join(outcome.taken) or 'none'}")
    return 0 if outcome.status == "complete" else EXIT_INCOMPLETE


async def _drive(spec: LaunchSpec, board: TeamBoard, options: RunOptions, printer: Printer,
                 leases: PgLeases, worker_options: WorkerOptions) -> WorkerOutcome:
    async with gateway_base(spec) as access, \
            AsyncCodexManager(base_url=access.base_url, headers=access.headers()) as cm:
        runner = TeamRunner(cm, spec.team, board, options, printer)
        wakeups = await Wakeups(leases.dsn, board.run_id).start()
        try:
            listening = dataclasses.replace(worker_options, wakeups=wakeups)
            return await TeamWorker(runner, leases, listening).run()
        finally:
            await wakeups.close()
