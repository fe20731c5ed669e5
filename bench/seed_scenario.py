"""2. Sync point and 3. the seed scenario, from the same runs of the three-member demo team
against one probed gateway process, alternating our runner and the same runner in seed mode
(sequential, turn ends learned by polling at 1 s — the seed's interval — not from events).

Sync point: a turn's `turn/completed` at the runtime → the runner's next turn reaching the
runtime (`start_turn`), both stamped inside the gateway process. Between the two, the runner
learns the turn ended, reads the reply, settles the board, picks the next member and sends.
"""

from __future__ import annotations

from bench.processes import GatewayProcess
from bench.report import Config, Section
from bench.stats import median, percentile, ratio
from bench.team_runs import run_team, sync_gaps
from teammesh.mesh.runner import RunOptions
from teammesh.mesh.teamfile import builtin_team

SEED_POLL_SECONDS = 1.0
TARGET_SYNC_MS = 10.0
TARGET_SPEEDUP = 10.0


async def run(cfg: Config) -> list[Section]:
    team = builtin_team()
    ours_wall: list[float] = []
    seed_wall: list[float] = []
    speedups: list[float] = []
    ours_gaps: list[float] = []
    seed_gaps: list[float] = []
    repeats = cfg.pick(cfg.repeats, 1)
    with GatewayProcess() as gateway:
        await run_team(gateway.base_url, team, RunOptions(concurrency=1))  # warm-up
        gateway.dump()
        for _ in range(repeats):
            ours = await run_team(gateway.base_url, team, RunOptions(concurrency=1))
            ours_gaps += sync_gaps(gateway.dump())
            seeded = await run_team(gateway.base_url, team, RunOptions(
                concurrency=1, sync_poll_interval=SEED_POLL_SECONDS))
            seed_gaps += sync_gaps(gateway.dump())
            ours_wall.append(ours.wall)
            seed_wall.append(seeded.wall)
            speedups.append(ratio(seeded.wall, ours.wall))
    n = len(ours_wall)
    sync = Section("sync_point", "2. sync point")
    med_ours = median(ours_gaps) * 1e3
    sync.add("event-driven, median", med_ours, "ms", runs=len(ours_gaps),
             target=f"≤ {TARGET_SYNC_MS:g} ms", met=med_ours <= TARGET_SYNC_MS)
    sync.add("event-driven, p99", percentile(ours_gaps, 99) * 1e3, "ms", runs=len(ours_gaps))
    sync.add("polling at 1 s (seed), median", median(seed_gaps) * 1e3, "ms",
             runs=len(seed_gaps))
    sync.add("polling / event-driven", ratio(median(seed_gaps), median(ours_gaps)), "×",
             runs=len(seed_gaps))
    sync.notes.append("Turn completed at the runtime → the runner's next turn started at the"
                      " runtime, both stamped in the gateway process; the median is over"
                      " every hand-over of the demo runs (2 per run).")
    sync.detail = {"event_driven_ms": [g * 1e3 for g in ours_gaps],
                   "polling_ms": [g * 1e3 for g in seed_gaps]}
    seed = Section("seed", "3. seed scenario")
    seed.add("our runner, makespan", median(ours_wall) * 1e3, "ms", runs=n)
    seed.add("seed mode, makespan", median(seed_wall) * 1e3, "ms", runs=n)
    speed = median(speedups)
    seed.add("speed-up (seed / ours)", speed, "×", runs=n, target=f"≥ {TARGET_SPEEDUP:g}×",
             met=speed >= TARGET_SPEEDUP)
    seed.notes.append("The three-member demo (3 turns, 13 tool calls) on one gateway; seed"
                      " mode = the same runner with concurrency 1 and"
                      f" `sync_poll_interval={SEED_POLL_SECONDS:g}`; makespan = runner.run()"
                      " wall time, sessions included; ratio per pair of runs.")
    seed.detail = {"ours_s": ours_wall, "seed_s": seed_wall, "speedups": speedups}
    return [sync, seed]
