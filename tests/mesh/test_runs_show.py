"""`teammesh runs`, `runs show` and `runs transcript` as a user runs them, on the board of a
real run (real gateway, playbook runtime, SQLite file): the listing's record columns, the
timeline on a terminal (cut short) and as JSON / JSON lines (whole), the transcript kept on
the board after the embedded gateway is gone, and one-line refusals for bad input. What a
model chose is printed escaped: no control character reaches the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teammesh.mesh.board import create_board, new_run_id
from teammesh.mesh.board.call_notes import CallNote
from teammesh.mesh.board.run_record import Usage
from teammesh.mesh.runs_show import SHOWN_JSON_CHARS

from .cli_runs import teammesh


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder with one finished seed run (its board under .teammesh/runs)."""
    folder = tmp_path_factory.mktemp("runs")
    done = teammesh(folder, "run", "--runtime", "playbook?think_ms=1")
    assert done.returncode == 0, done.stderr
    assert "tokens —, cost —" in done.stderr  # the playbook runtime reports no usage
    (board,) = (folder / ".teammesh" / "runs").glob("*.sqlite")
    return folder, board.stem


def test_the_listing_shows_turns_calls_tokens_and_cost(finished: tuple[Path, str]) -> None:
    folder, run_id = finished
    listing = teammesh(folder, "runs")
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()
    assert header.split()[6:10] == ["TURNS", "CALLS", "TOKENS", "COST"]
    cells = row.split()
    assert cells[0] == run_id and cells[6:10] == ["3", "13", "—", "—"]


def test_show_prints_the_timeline(finished: tuple[Path, str]) -> None:
    folder, run_id = finished
    shown = teammesh(folder, "runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == (f"run {run_id} · team default · complete · round 1 · completion"
                        " criteria hold")
    assert "3 turn(s) · 13 tool call(s) · tokens — · cost —" in lines[1]
    turns = [line.split() for line in lines[2:] if "  round 1  " in line]
    assert [(t[1], t[4]) for t in turns] == [("developer", "ok"), ("docs", "ok"),
                                             ("reviewer", "ok")]
    assert turns[0][0] == "+0.000s"
    calls = [line.split()[1:3] for line in lines if line.strip().startswith("+")
             and "team_" in line]
    assert calls[0] == ["team_pull_work", "applied"] and len(calls) == 13
    # On a terminal a long result is cut to one short line.
    results = [line.strip() for line in lines if line.strip().startswith("→ ")]
    assert results and max(len(r) for r in results) <= SHOWN_JSON_CHARS + 2
    assert any(r.endswith("…") for r in results)


def test_show_as_json_and_json_lines_is_whole(finished: tuple[Path, str]) -> None:
    folder, run_id = finished
    document = teammesh(folder, "runs", "show", run_id, "--json")
    assert document.returncode == 0, document.stderr
    data = json.loads(document.stdout)
    assert data["run"]["run_id"] == run_id and data["run"]["usage"] is None
    assert data["run"]["cost_usd"] is None and data["run"]["tool_calls"] == 13
    assert [t["member"] for t in data["turns"]] == ["developer", "docs", "reviewer"]
    pull = data["calls"][0]
    assert pull["tool"] == "team_pull_work" and pull["outcome"] == "applied"
    assert pull["result"]["task"].startswith("Draft a concise implementation plan")
    assert pull["result"]["task"].endswith("one validation task.")  # not cut
    # Each task with the turns that claimed it (member, round, how the turn ended, attempt).
    claimed = {t["owner"]: [(c["member"], c["round"], c["turn_state"], c["attempt"])
                            for c in t["claims"]] for t in data["tasks"]}
    assert claimed["developer"] == [("developer", 1, "ok", 1)]
    for task in data["tasks"]:  # a done task was claimed once; a cleared one never
        assert len(task["claims"]) == (1 if task["status"] == "done" else 0), task
    assert any(t["status"] == "done" for t in data["tasks"])
    lines = teammesh(folder, "runs", "show", run_id, "--jsonl").stdout.splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries[0]["kind"] == "run"
    assert [e["kind"] for e in entries[1:]].count("turn") == 3
    assert [e["kind"] for e in entries[1:]].count("call") == 13
    starts = [e["started_at"] for e in entries[1:]]
    assert starts == sorted(starts)  # time order
    assert entries[1]["kind"] == "turn" and entries[2]["kind"] == "call"


def test_the_transcript_outlives_the_gateway(finished: tuple[Path, str]) -> None:
    folder, run_id = finished
    shown = teammesh(folder, "runs", "transcript", run_id, "reviewer")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("reviewer · session ")
    assert any(line.startswith("  user: You are the reviewer.") for line in lines)
    assert "  tool team_read_board " in shown.stdout
    assert any(line.startswith("  agent: ") for line in lines)
    whole = json.loads(teammesh(folder, "runs", "transcript", run_id, "reviewer",
                                "--json").stdout)
    assert whole["thread"]["turns"][0]["status"] == "completed"


def test_bad_input_is_one_line(finished: tuple[Path, str]) -> None:
    folder, run_id = finished
    for args, says in (
            (("show", "../../etc/passwd"), "not a run id"),
            (("show", "run-20200101-000000-abcdef"), "no board for run"),
            (("transcript", run_id, "nobody"), "no member 'nobody'"),
            (("show", run_id, "--json", "--jsonl"), "not allowed with"),
    ):
        proc = teammesh(folder, "runs", *args)
        assert proc.returncode == 2, (args, proc.stdout)
        assert says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_model_chosen_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    run_id = new_run_id()
    board = create_board(run_id=run_id, team="t", roster=("docs",),
                         path=tmp_path / ".teammesh" / "runs" / f"{run_id}.sqlite")
    slot = board.open_turn("docs", 1)
    hostile = "\x1b]0;owned\x07\x1b[2J\u202e"
    note = CallNote("s:1", "docs", slot.token, f"team_{hostile}", {"summary": hostile})
    board.record_call(note.entry(result={"echo": hostile}, success=False, outcome="refused",
                                 reason="nope"))
    board.settle_turn(slot.token, ok=False, reason=f"turn failed: {hostile}")
    board.close()
    shown = teammesh(tmp_path, "runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\u202e" not in shown.stdout
    assert "\\u001b" in shown.stdout  # shown, escaped
    none = teammesh(tmp_path, "runs", "transcript", run_id, "docs")
    assert none.returncode == 2 and "has no saved transcript of docs" in none.stderr


def _priced_run(location: str | Path, run_id: str) -> None:
    board = create_board(run_id=run_id, team="t", roster=("dev", "rev"), path=location)
    for member, usage in (("dev", Usage(1000, 200, 100, 10)), ("rev", Usage(500, 0, 50, 0))):
        slot = board.open_turn(member, 1)
        board.record_usage(slot.token, usage, "gpt-4o")
        board.settle_turn(slot.token, ok=True)
    board.close()


def test_show_prints_tokens_and_cost(tmp_path: Path) -> None:
    run_id = new_run_id()
    _priced_run(tmp_path / ".teammesh" / "runs" / f"{run_id}.sqlite", run_id)
    shown = teammesh(tmp_path, "runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    # gpt-4o: $2.5/M input ($1.25 cached), $10/M output.
    cost = (1300 * 2.5 + 200 * 1.25 + 150 * 10) / 1e6
    assert (f"tokens 1,650 (1,500 in, 200 cached; 150 out, 10 reasoning) · cost ${cost:.4f}"
            in shown.stdout)
    assert "  dev: tokens 1,100 (1,000 in, 200 cached; 100 out, 10 reasoning), cost $" in (
        shown.stdout)
    assert "tokens 1,100 (gpt-4o)" in shown.stdout
    data = json.loads(teammesh(tmp_path, "runs", "show", run_id, "--json").stdout)
    assert data["run"]["usage"] == {"input_tokens": 1500, "cached_input_tokens": 200,
                                    "output_tokens": 150, "reasoning_tokens": 10,
                                    "total": 1650}
    assert data["run"]["cost_usd"] == pytest.approx(cost)
    assert data["turns"][1]["usage"]["total"] == 550
    listing = teammesh(tmp_path, "runs").stdout.splitlines()[1].split()
    assert listing[6:10] == ["2", "0", "1,650", f"${cost:.4f}"]


def test_show_reads_a_postgres_board(tmp_path: Path, postgres_dsn: str) -> None:
    run_id = f"pg-{new_run_id()}"
    _priced_run(postgres_dsn, run_id)
    shown = teammesh(tmp_path, "runs", "show", run_id, "--board", postgres_dsn, "--jsonl")
    assert shown.returncode == 0, shown.stderr
    kinds = [json.loads(line)["kind"] for line in shown.stdout.splitlines()]
    assert kinds == ["run", "turn", "turn"]
