"""Fault 2 — the gateway dies: `teammesh serve` is SIGKILLed in the middle of a member's turn
(twice in one run) and restarted on the same data dir and port while `teammesh run` keeps
going.

After each restart every session and every settled transcript entry is still there, the
turn that was running is `interrupted`, and the runner — which only sees the gateway vanish
and come back — retries the work and completes the run with nothing lost or doubled.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .procs import GatewayProcess, readline, start_runner
from .teamruns import RUN_TIMEOUT, board_facts, run_args

THINK_MS = 250  # a turn lasts a few seconds: a kill reliably lands inside one
KILLS = 2
DOWN_SECONDS = 1.0  # how long the gateway stays dead before it is restarted


def _details(http: httpx.Client) -> dict[str, dict[str, Any]]:
    listing = http.get("/api/sessions", params={"limit": 100}).json()
    return {s["sessionId"]: http.get(f"/api/sessions/{s['sessionId']}").json()
            for s in listing["data"]}


def _running_turn(details: dict[str, dict[str, Any]], skip: set[str]
                  ) -> tuple[str, str] | None:
    """(session id, turn id) of a turn in progress that has already made a tool call, in a
    session not yet hit (so later kills find settled history in the others)."""
    for session_id, detail in details.items():
        if session_id in skip:
            continue
        for turn in detail["thread"]["turns"]:
            if turn["status"] != "inProgress":
                continue
            calls = [e for e in detail["transcript"]
                     if e["turnId"] == turn["id"] and e["type"].startswith("tool_call")]
            if calls:
                return session_id, turn["id"]
    return None


def _wait_for_running_turn(http: httpx.Client, skip: set[str]
                           ) -> tuple[str, str, dict[str, dict[str, Any]]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        details = _details(http)
        found = _running_turn(details, skip)
        if found is not None:
            return found[0], found[1], details
        time.sleep(0.05)
    raise AssertionError("no turn in progress within 30 s")


@pytest.mark.timeout(120)
def test_gateway_sigkill_mid_turn_then_restart_keeps_sessions_and_the_run_completes(
    tmp_path: Path,
) -> None:
    gateway = GatewayProcess(tmp_path / "gateway", think_ms=THINK_MS,
                             log_path=tmp_path / "gateway.log").start()
    board_file = tmp_path / "board.sqlite"
    runner = start_runner(run_args(board_file, gateway.base_url), cwd=tmp_path)
    hit: set[str] = set()
    try:
        for _ in range(KILLS):
            with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
                session_id, turn_id, before = _wait_for_running_turn(http, hit)
            gateway.kill()
            hit.add(session_id)
            time.sleep(DOWN_SECONDS)
            port = gateway.port
            gateway.start()
            assert gateway.port == port  # the runner keeps its --api-base
            with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
                after = _details(http)
            # Sessions intact: same ids, same titles.
            assert {k: v["session"]["title"] for k, v in after.items()} == {
                k: v["session"]["title"] for k, v in before.items()}
            # Transcripts intact: every entry settled before the kill is unchanged.
            for sid, detail in before.items():
                kept = {(e["turnId"], e["messageId"]): e for e in after[sid]["transcript"]}
                for entry in detail["transcript"]:
                    if entry["status"] == "complete" and entry["turnId"] != turn_id:
                        assert kept.get((entry["turnId"], entry["messageId"])) == entry, entry
            # The turn that was running is marked, and says why nothing more will come.
            turns = {t["id"]: t for t in after[session_id]["thread"]["turns"]}
            assert turns[turn_id]["status"] == "interrupted", turns[turn_id]
            print(f"\ngateway SIGKILL during turn {turn_id} of session {session_id}:"
                  f" {len(after)} sessions and"
                  f" {sum(len(d['transcript']) for d in before.values())} transcript entries"
                  " kept; turn marked interrupted")
        out, err = runner.communicate(timeout=RUN_TIMEOUT)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=10)
        gateway.stop()

    assert runner.returncode == 0, out + err
    facts = board_facts(board_file)
    assert facts.status == "complete"
    assert facts.lost_tasks == 0, facts.tasks
    kinds = collections.Counter((member, kind) for member, kind, _ in facts.artifacts)
    # Nothing repeated: the killed turn's retry is a new turn with new tool calls, and the
    # board recognises the calls an earlier attempt of the same claim already made.
    assert kinds == {
        ("developer", "implementation"): 1, ("developer", "completion_note"): 1,
        ("docs", "documentation"): 1, ("docs", "completion_note"): 1,
        ("reviewer", "review"): 1, ("reviewer", "completion_note"): 1,
    }, facts.artifacts
    assert gateway.starts == KILLS + 1
    print(f"runner survived {KILLS} gateway kills: run {facts.run_id} complete,"
          f" tasks lost {facts.lost_tasks}, artifacts {len(facts.artifacts)} (none repeated)")


@pytest.mark.timeout(120)
def test_gateway_down_when_the_next_turn_is_sent_costs_one_round_not_the_run(
    tmp_path: Path,
) -> None:
    """The gateway dies between two turns and stays down for a while: the runner's next send
    fails, and it must wait for the gateway rather than spend every remaining round in an
    instant (found by the soak: 9 rounds gone in 0.7 s, run incomplete)."""
    gateway = GatewayProcess(tmp_path / "gateway", think_ms=20).start()
    board_file = tmp_path / "board.sqlite"
    runner = start_runner(run_args(board_file, gateway.base_url), cwd=tmp_path)
    assert runner.stdout is not None
    seen: list[str] = []
    try:
        while not seen or not seen[-1].startswith("[round 1] developer:"):
            line = readline(runner.stdout, 30)
            assert line, seen
            seen.append(line)
        gateway.kill()  # the docs turn is about to be sent
        time.sleep(DOWN_SECONDS * 2)
        gateway.start()
        out, err = runner.communicate(timeout=RUN_TIMEOUT)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=10)
        gateway.stop()
    output = "".join(seen) + out
    assert runner.returncode == 0, output + err
    facts = board_facts(board_file)
    assert facts.status == "complete" and facts.lost_tasks == 0
    print(f"\ngateway down {DOWN_SECONDS * 2:.0f}s between turns: run complete;"
          f" {output.count('send failed')} send(s) failed and waited out")
