"""`make soak`: repeated team runs for N minutes with faults injected, watching the gateway's
memory and file descriptors.

    python -m bench.soak [--minutes 1] [--seed 8] [--think-ms 20]

One `teammesh serve` runs behind the fault proxy (every websocket delayed and cut at random),
and `teammesh run` processes go through it back to back. On a seeded schedule a run's runner is
SIGKILLed and resumed, or the gateway is SIGKILLed mid-run and restarted on the same data dir
and port. Every run must complete with no task lost and no mutation applied twice, ending with
the reference run's artifacts (in the same order, unless the gateway crashed). After each run its
sessions are deleted and the gateway's RSS and open fds are sampled; the least-squares slope
per run over the longest stretch without a gateway restart is reported. Exit 0 only when every
run survived and the fd count stayed flat.
"""

from __future__ import annotations

import argparse
import collections
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.reliability.faultproxy import FaultPlan, FaultProxy
from tests.reliability.procs import (
    PROXIED,
    GatewayProcess,
    ProcessStats,
    readline,
    run_command,
    slope,
    start_runner,
)
from tests.reliability.teamruns import RUN_TIMEOUT, BoardFacts, board_facts, run_args

from teammesh.mesh.board import list_runs, open_board

FD_GROWTH_LIMIT = 8  # open fds may wobble by a few (pooled connections), not climb
STREAM_ONLY = "stream faults only"
RUNNER_KILL = "runner SIGKILL + resume"
GATEWAY_KILL = "gateway SIGKILL + restart"
SLOW_RESUME_SECONDS = 8.0  # a resume normally takes 1-4 s; show what a slow one printed


@dataclass
class Sample:
    number: int
    fault: str
    seconds: float
    ok: bool
    detail: str
    generation: int  # which gateway process (restarts start a new one)
    stats: ProcessStats
    repeats: int  # mutations beyond the reference run's (a failure)
    lost: int


def _run(workdir: Path, api_base: str, fault: str, rng: random.Random,
         gateway: GatewayProcess) -> BoardFacts:
    board_file = workdir / "board.sqlite"
    runner = start_runner(run_args(board_file, api_base), cwd=workdir)
    assert runner.stderr is not None
    announced = readline(runner.stderr, RUN_TIMEOUT)
    if not announced.startswith("run "):
        runner.kill()
        raise RuntimeError(f"runner did not start: {announced!r}")
    if fault == RUNNER_KILL:
        time.sleep(rng.uniform(0.0, 1.2))
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        (info,) = list_runs(board_file)
        began = time.monotonic()
        resumed = run_command(run_args(board_file, api_base, "--resume", info.run_id),
                              cwd=workdir, timeout=RUN_TIMEOUT)
        if time.monotonic() - began > SLOW_RESUME_SECONDS:
            print(f"  slow resume ({time.monotonic() - began:.1f}s):\n"
                  + (resumed.stderr + resumed.stdout)[-1500:])
        if resumed.returncode != 0:
            raise RuntimeError(f"resume exited {resumed.returncode}: {resumed.stderr[-300:]}")
    else:
        if fault == GATEWAY_KILL:
            time.sleep(rng.uniform(0.3, 1.0))
            gateway.kill()
            time.sleep(0.5)
            gateway.start()
        try:
            runner.wait(timeout=RUN_TIMEOUT)
        finally:
            if runner.poll() is None:
                runner.kill()
        if runner.returncode != 0:
            out = (runner.stdout.read() if runner.stdout else "") + runner.stderr.read()
            raise RuntimeError(f"runner exited {runner.returncode}: {out[-3000:]}")
    return board_facts(board_file)


def _delete_sessions(board_file: Path, base_url: str) -> None:
    """Drop the run's sessions, as an operator cleaning up finished runs would: what the
    gateway still holds afterwards is what a long-lived gateway accumulates per run."""
    try:
        (info,) = list_runs(board_file)
        board = open_board(board_file, info.run_id)
        try:
            session_ids = list(board.sessions().values())
        finally:
            board.close()
        with httpx.Client(base_url=base_url, timeout=10) as http:
            for session_id in session_ids:
                http.delete(f"/api/sessions/{session_id}")
    except Exception as exc:  # cleanup must not hide the run's own outcome
        print(f"  (could not delete the run's sessions: {exc})")


def _check(facts: BoardFacts, reference: BoardFacts, fault: str) -> str | None:
    if facts.status != "complete":
        return f"run {facts.status}"
    if facts.lost_tasks:
        return f"{facts.lost_tasks} task(s) lost"
    if (dupes := facts.duplicates_against(reference)):
        return f"{dupes} mutation(s) applied twice"
    if fault == GATEWAY_KILL:
        # The turn killed with its gateway is retried in a later round, so members may finish
        # in another order: the same artifacts, not necessarily the same sequence.
        if collections.Counter(facts.artifacts) != collections.Counter(reference.artifacts):
            return "artifacts differ from the reference run"
        return None
    if facts.artifacts != reference.artifacts:
        return "artifacts differ from the reference run"
    return None


def soak(minutes: float, seed: int, think_ms: int) -> int:
    rng = random.Random(seed)
    schedule = [STREAM_ONLY, RUNNER_KILL] * 4 + [GATEWAY_KILL]
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="teammesh-soak-") as tmp:
        root = Path(tmp)
        gateway = GatewayProcess(root / "gateway", think_ms=think_ms, extra=PROXIED).start()
        proxy = FaultProxy(gateway.port, FaultPlan(cut_after=(0.2, 1.5), delay=(0.0, 0.05),
                                                   seed=seed)).start()
        try:
            (root / "reference").mkdir()
            reference = _run(root / "reference", proxy.base_url, STREAM_ONLY, rng, gateway)
            if _check(reference, reference, STREAM_ONLY) is not None:
                print(f"reference run failed: {reference}", file=sys.stderr)
                return 1
            deadline = time.monotonic() + minutes * 60
            number = 0
            while time.monotonic() < deadline:
                number += 1
                fault = schedule[(number - 1) % len(schedule)]
                workdir = root / f"run-{number:04d}"
                workdir.mkdir()
                started = time.monotonic()
                repeats = lost = 0
                try:
                    facts = _run(workdir, proxy.base_url, fault, rng, gateway)
                    problem = _check(facts, reference, fault)
                    repeats, lost = facts.duplicates_against(reference), facts.lost_tasks
                    if repeats:
                        print("  repeated: " + "; ".join(
                            " / ".join(x)[:60] for x in facts.extras_against(reference)))
                except Exception as exc:  # a failed run is reported, the soak goes on
                    problem = f"{type(exc).__name__}: {exc}"
                _delete_sessions(workdir / "board.sqlite", gateway.base_url)
                samples.append(Sample(number, fault, time.monotonic() - started,
                                      problem is None, problem or "", gateway.starts,
                                      gateway.stats(), repeats, lost))
                last = samples[-1]
                print(f"run {number:>4}  {fault:<26} {last.seconds:>5.1f}s"
                      f"  {'ok' if last.ok else 'FAILED: ' + last.detail:<8}"
                      f"  gateway RSS {last.stats.rss_mib:6.1f} MiB  fds {last.stats.fds}",
                      flush=True)
        finally:
            proxy.stop()
            gateway.stop()
    return _summary(samples, proxy, minutes, seed)


def _summary(samples: list[Sample], proxy: FaultProxy, minutes: float, seed: int) -> int:
    by_fault: dict[str, list[Sample]] = collections.defaultdict(list)
    for sample in samples:
        by_fault[sample.fault].append(sample)
    generations = collections.Counter(s.generation for s in samples)
    longest = max(generations, key=lambda g: generations[g]) if generations else 0
    stretch = [s for s in samples if s.generation == longest]
    rss_slope = slope([s.stats.rss_mib for s in stretch])
    fd_slope = slope([float(s.stats.fds) for s in stretch])
    fd_growth = (stretch[-1].stats.fds - stretch[0].stats.fds) if stretch else 0
    failed = [s for s in samples if not s.ok]

    print(f"\nsoak summary ({minutes:g} min, seed {seed})")
    print(f"{'fault injected':<28} {'runs':>5} {'survived':>9} {'lost':>5} {'repeated':>9}")
    for fault, group in sorted(by_fault.items()):
        print(f"{fault:<28} {len(group):>5} {sum(s.ok for s in group):>9}"
              f" {sum(s.lost for s in group):>5}"
              f" {sum(s.repeats for s in group):>9}")
    print(f"{'total':<28} {len(samples):>5} {len(samples) - len(failed):>9}")
    print("(lost: tasks a completed run left queued/claimed/dead; repeated: tasks or artifacts"
          " beyond the reference run's)")
    print(f"websocket: {proxy.counts.stream_connections} stream connections,"
          f" {proxy.counts.stream_cuts} cut, {proxy.counts.delayed_chunks} chunks delayed")
    if stretch:
        print(f"gateway over {len(stretch)} runs without restart: RSS"
              f" {stretch[0].stats.rss_mib:.1f} -> {stretch[-1].stats.rss_mib:.1f} MiB"
              f" (slope {rss_slope:+.3f} MiB/run), fds {stretch[0].stats.fds} ->"
              f" {stretch[-1].stats.fds} (slope {fd_slope:+.3f}/run)")
    for sample in failed:
        print(f"FAILED run {sample.number} ({sample.fault}): {sample.detail}")
    if not samples:
        print("no runs completed in the time given")
        return 1
    return 1 if failed or fd_growth > FD_GROWTH_LIMIT else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long (default 1)")
    parser.add_argument("--seed", type=int, default=8, help="fault schedule seed")
    parser.add_argument("--think-ms", type=int, default=20, help="playbook latency per step")
    args = parser.parse_args(argv)
    return soak(args.minutes, args.seed, args.think_ms)


if __name__ == "__main__":
    sys.exit(main())
