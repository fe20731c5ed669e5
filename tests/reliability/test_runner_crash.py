"""Fault 1 — the runner dies: `teammesh run` is SIGKILLed at 20 seeded random moments of a
team run against a separate `teammesh serve`, then `teammesh run --resume RUN_ID` finishes it.

Every resumed run must complete with no task lost, no mutation applied twice, and exactly the
artifact log of an uninterrupted run. (`tests/mesh/test_resume.py` kills at fixed output
lines; this one kills at random times, so kills also land between output lines: inside a
tool call, between a claim and its settlement, while a turn is being sent.)
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .procs import GatewayProcess
from .teamruns import KilledRun, full_run, kill_then_resume

SEED = 20261125
KILLS = 20
# A model step takes this long, so a run lasts ~1 s and random kills land inside turns.
THINK_MS = 50
PARALLEL = 2  # the machine has two cores
RETRIES_AFTER_END = 3


@pytest.mark.timeout(170)
def test_sigkill_at_random_points_then_resume_matches_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    with GatewayProcess(tmp_path / "gateway", think_ms=THINK_MS) as gateway:
        (tmp_path / "reference").mkdir()
        reference, run_seconds = full_run(tmp_path / "reference", gateway.base_url)
        assert reference.status == "complete"
        assert reference.lost_tasks == 0

        rng = random.Random(SEED)
        delays = [rng.uniform(0.0, run_seconds) for _ in range(KILLS)]

        def one(index: int) -> KilledRun:
            # A loaded machine can make a kill-time run faster than the reference run, so a
            # kill may come after the end: try again sooner (a kill after the end tests
            # nothing), a bounded number of times.
            delay = delays[index]
            for attempt in range(RETRIES_AFTER_END + 1):
                workdir = tmp_path / f"kill-{index:02d}-{attempt}"
                workdir.mkdir()
                result = kill_then_resume(workdir, gateway.base_url, delay)
                if result.killed_mid_run:
                    break
                delay /= 2
            return result

        with ThreadPoolExecutor(PARALLEL) as pool:
            results = list(pool.map(one, range(KILLS)))

    print(f"\nrunner SIGKILL: seed {SEED}, uninterrupted run {run_seconds:.2f}s,"
          f" {len(reference.artifacts)} artifacts, {len(reference.tasks)} tasks")
    print(f"{'#':>3} {'kill at':>8} {'mid-run':>8} {'artifacts then':>15} {'resume':>7}"
          f" {'lost':>5} {'dupes':>6} {'artifacts==ref':>15}")
    for index, result in enumerate(results):
        facts = result.facts
        print(f"{index:>3} {result.delay:>7.2f}s {result.killed_mid_run!s:>8}"
              f" {len(result.before.artifacts):>15} {result.resume_exit:>7} {facts.lost_tasks:>5}"
              f" {facts.duplicates_against(reference):>6}"
              f" {(facts.artifacts == reference.artifacts)!s:>15}")
    mid_run = sum(r.killed_mid_run for r in results)
    print(f"kills landing mid-run: {mid_run}/{KILLS}; tasks lost:"
          f" {sum(r.facts.lost_tasks for r in results)}; mutations applied twice:"
          f" {sum(r.facts.duplicates_against(reference) for r in results)}")

    for result in results:
        facts = result.facts
        assert result.resume_exit == 0, result.resume_output
        assert facts.status == "complete", result.resume_output
        assert facts.lost_tasks == 0, facts.tasks
        assert facts.duplicates_against(reference) == 0, facts
        assert facts.artifacts == reference.artifacts, (result.delay, facts.artifacts)
        assert facts.completed == reference.completed
        # What the killed runner had published is still there, unchanged.
        assert facts.artifacts[: len(result.before.artifacts)] == result.before.artifacts
    # Random points that all fell after the run's end would prove nothing.
    assert mid_run >= KILLS * 3 // 4, [r.delay for r in results if not r.killed_mid_run]
