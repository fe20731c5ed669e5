"""Run management and ordinary mistakes (issue 12, items 8 and 9): `teammesh runs` and
`runs prune`, run ids checked, `board show` read-only, and every mistake the issue lists
answered in one line with a non-zero exit, never a traceback. `teammesh` runs as a
subprocess, on real files and real sockets."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx

from teammesh.mesh.board import create_board, new_run_id

from .cli_runs import TEAMMESH, cli_env, teammesh


def _one_line_refusal(proc: subprocess.CompletedProcess[str], says: str) -> None:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    assert says in proc.stderr, proc.stderr


def test_runs_lists_and_prune_removes_only_finished_runs(tmp_path: Path) -> None:
    done = teammesh(tmp_path, "run", "--runtime", "playbook?think_ms=1")
    assert done.returncode == 0, done.stderr
    # A run whose runner died: still `running` on its board, but no one holds its lock.
    runs = tmp_path / ".teammesh" / "runs"
    crashed_id = new_run_id()
    create_board(run_id=crashed_id, team="default", roster=("developer",),
                 path=runs / f"{crashed_id}.sqlite").close()

    listing = teammesh(tmp_path, "runs")
    assert listing.returncode == 0, listing.stderr
    header, *rows = listing.stdout.splitlines()
    assert header.split()[:3] == ["RUN", "TEAM", "STATUS"]
    by_status = {row.split()[2]: row for row in rows}
    assert set(by_status) == {"complete", "interrupted"}
    assert by_status["complete"].endswith("playbook?think_ms=1")  # the runtime it ran on

    dry = teammesh(tmp_path, "runs", "prune", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("would remove run-")
    assert len(list(runs.glob("*.sqlite"))) == 2

    pruned = teammesh(tmp_path, "runs", "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "1 finished run(s) removed, 1 kept" in pruned.stderr
    # (Listing read-only may leave the kept board's -wal/-shm beside it.)
    assert sorted(p.name for p in runs.glob("*.sqlite")) == [f"{crashed_id}.sqlite"]
    assert not [p for p in runs.iterdir() if not p.name.startswith(crashed_id)]


def test_run_ids_are_checked_before_any_file_is_opened(tmp_path: Path) -> None:
    for command in (["board", "show", "../../etc/x"], ["run", "--resume", "../../x"],
                    ["board", "show", "run-1/../../x"]):
        _one_line_refusal(teammesh(tmp_path, *command), "not a run id")
    assert not (tmp_path / ".teammesh").exists()


def test_board_show_never_creates_a_file(tmp_path: Path) -> None:
    _one_line_refusal(teammesh(tmp_path, "board", "show", "--board", "new.sqlite"),
                      "no board file at new.sqlite")
    _one_line_refusal(teammesh(tmp_path, "board", "show", new_run_id()), "no board file at")
    assert list(tmp_path.iterdir()) == []
    _one_line_refusal(teammesh(tmp_path, "board", "show", "--board", "/etc/passwd"),
                      "/etc/passwd is not a board file")


def test_a_board_in_memory_is_never_read_back(tmp_path: Path) -> None:
    """`--board memory` means the same to every command: a board that ends with its run. A
    file that happens to be called `memory` is not it, and is left alone."""
    decoy = tmp_path / "memory"
    decoy.write_bytes(b"not a board")
    run_id = new_run_id()
    _one_line_refusal(teammesh(tmp_path, "board", "show", run_id, "--board", "memory"),
                      "a board in memory ends with its run")
    _one_line_refusal(teammesh(tmp_path, "run", "--resume", run_id, "--board", "memory"),
                      "a board in memory ends with its run")
    assert decoy.read_bytes() == b"not a board"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory"]


def test_a_foreign_sqlite_database_is_not_touched(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    _one_line_refusal(teammesh(tmp_path, "run", "--board", str(other)),
                      "is a SQLite database but not a teammesh board")
    _one_line_refusal(teammesh(tmp_path, "board", "show", "--board", str(other)),
                      "not a teammesh board")
    assert other.read_bytes() == before


def test_ordinary_mistakes_are_one_line(tmp_path: Path) -> None:
    _one_line_refusal(teammesh(tmp_path, "run", "--board", "/etc/passwd"),
                      "/etc/passwd exists and is not a board file")
    _one_line_refusal(teammesh(tmp_path, "serve", "--port", "99999"),
                      "port must be 0 to 65535")
    _one_line_refusal(teammesh(tmp_path, "serve", "--port", "0", "--data-dir",
                                "/proc/self/teammesh"), "data dir /proc/self/teammesh is not")
    _one_line_refusal(teammesh(tmp_path, "demo", "--gateway-dir", "/proc/self/gw"),
                      "--gateway-dir: /proc/self/gw is not writable")
    _one_line_refusal(teammesh(tmp_path, "demo", "--runtime", "codex",
                                TEAMMESH_CODEX_BIN=str(tmp_path / "no-codex")),
                      "which is not a codex binary")
    (tmp_path / "ctl.toml").write_text(
        '[[members]]\nname = "developer"\n[[tasks]]\nowner = "developer"\n'
        'text = "do \\u001b[31m it"\n')
    _one_line_refusal(teammesh(tmp_path, "run", "ctl.toml"),
                      "tasks[0].text: task must be plain Unicode text")
    assert not (tmp_path / ".teammesh" / "runs").exists() or not list(
        (tmp_path / ".teammesh" / "runs").iterdir())


def test_model_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        _one_line_refusal(teammesh(tmp_path, "model", "serve", "--port", port),
                          f"cannot listen on 127.0.0.1:{port}")
        _one_line_refusal(teammesh(tmp_path, "serve", "--port", port, "--data-dir",
                                    str(tmp_path / "gw")), f"cannot listen on 127.0.0.1:{port}")


def test_a_missing_codex_binary_is_a_503_not_a_500(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [TEAMMESH, "serve", "--no-token", "--port", "0", "--data-dir", str(tmp_path / "gw"),
         "--runtime",
         "codex", "--model-base-url", "http://127.0.0.1:9/v1"],
        cwd=tmp_path, env=cli_env(TEAMMESH_CODEX_BIN=str(tmp_path / "no-codex")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().rsplit(" ", 1)[1].strip()
        answer = httpx.post(f"{base}/api/sessions", json={}, timeout=30)
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert body["code"] == "runtime_unavailable"
        assert "not a codex binary" in body["message"]
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert "Traceback" not in stderr, stderr


def test_output_survives_a_closed_pipe(tmp_path: Path) -> None:
    proc = subprocess.Popen([TEAMMESH, "demo"], cwd=tmp_path, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("[tool-call] ")
    proc.stdout.close()  # `teammesh demo | head -1`
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, stderr  # the run itself went on and completed
    assert "BrokenPipe" not in stderr and "Traceback" not in stderr
    (board,) = (tmp_path / ".teammesh" / "runs").glob("*.sqlite")
    shown = teammesh(tmp_path, "board", "show", board.stem)
    assert " · complete · " in shown.stdout


def test_version_and_defaults_in_help(tmp_path: Path) -> None:
    version = teammesh(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("teammesh ")
    serve_help = " ".join(teammesh(tmp_path, "serve", "--help").stdout.split())
    assert "(default: 3001)" in serve_help and "(default: .teammesh/gateway)" in serve_help
    run_help = " ".join(teammesh(tmp_path, "run", "--help").stdout.split())
    assert "default: playbook, or on --resume the run's own" in run_help
    assert "(default: auto)" in run_help


def test_readme_commands_name_the_venv() -> None:
    """The README's commands run from a fresh shell: they name `.venv/bin/` or say how."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert ".venv/bin/python examples/team_mesh.py" in readme
    assert "make demo" in readme and "make test" in readme
