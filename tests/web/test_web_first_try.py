"""A stranger's first `teammesh demo --web`: the demo ends within a second of printing the
page's URL, so the page is gone before it can be opened. The runner then says how to see it
again, and that command works: `teammesh board serve RUN_ID` prints a URL whose page shows
that run. Real subprocesses, real sockets, the default board directory.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from pathlib import Path

import httpx

from tests.reliability.procs import TEAMMESH, readline, runner_env

AGAIN = re.compile(r"web board closed with the run; to see it again: teammesh (board serve"
                   r" (run-\S+))$", re.M)
URL = re.compile(r"web board of \S+ \([^)]*\): (http://\S+)")


def test_the_demo_says_how_to_open_its_page_again_and_that_works(tmp_path: Path) -> None:
    demo = subprocess.run([TEAMMESH, "demo", "--web"], cwd=tmp_path, env=runner_env(),
                          capture_output=True, text=True, timeout=90)
    assert demo.returncode == 0, demo.stderr
    found = AGAIN.search(demo.stderr)
    assert found is not None, demo.stderr  # before: no word of it, the URL already dead
    command, run_id = found.group(1).split(), found.group(2)
    served = subprocess.Popen([TEAMMESH, *command], cwd=tmp_path, env=runner_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert served.stderr is not None
        line = readline(served.stderr, 30)
        url = URL.search(line)
        assert url is not None, line
        with httpx.Client(follow_redirects=True, timeout=10) as browser:
            assert browser.get(url.group(1)).status_code == 200
            state = browser.get(url.group(1).split("?")[0] + "api/state").json()
        assert state["run"]["id"] == run_id and state["run"]["status"] == "complete"
    finally:
        served.send_signal(signal.SIGINT)
        served.wait(30)


def test_a_memory_board_s_demo_says_there_is_nothing_to_serve(tmp_path: Path) -> None:
    demo = subprocess.run([TEAMMESH, "demo", "--web", "--board", "memory"], cwd=tmp_path,
                          env=runner_env(), capture_output=True, text=True, timeout=90)
    assert demo.returncode == 0, demo.stderr
    assert "web board closed with the run (its board was in memory" in demo.stderr
    assert "board serve" not in demo.stderr


def test_a_bad_or_busy_web_port_is_named(tmp_path: Path) -> None:
    """Before: --web-port 99999 was 'internal error: OverflowError' after the run had been
    created; a busy port was a bare '[Errno 98] Address already in use'."""
    bad = subprocess.run([TEAMMESH, "demo", "--web", "--web-port", "99999"], cwd=tmp_path,
                         env=runner_env(), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "port must be 0 to 65535, got 99999" in bad.stderr
    assert not (tmp_path / ".teammesh" / "runs").exists()  # refused before any run
    serve = subprocess.run([TEAMMESH, "board", "serve", "--port", "-1"], cwd=tmp_path,
                           env=runner_env(), capture_output=True, text=True, timeout=60)
    assert serve.returncode == 2 and "port must be 0 to 65535" in serve.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run([TEAMMESH, "demo", "--web", "--web-port", str(port), "--board",
                               "memory"], cwd=tmp_path, env=runner_env(),
                              capture_output=True, text=True, timeout=60)
    assert busy.returncode != 0
    assert f"web board: cannot listen on 127.0.0.1:{port}: Address already in use" in (
        busy.stderr)
    assert "internal error" not in busy.stderr


def test_a_busy_web_port_keeps_no_interrupted_run(tmp_path: Path) -> None:
    """Before: the port was bound after the run was created, so a busy port left a run
    'interrupted' with 0 turns that `teammesh runs` listed and `--resume` offered."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run([TEAMMESH, "demo", "--web", "--web-port", str(port)],
                              cwd=tmp_path, env=runner_env(), capture_output=True, text=True,
                              timeout=60)
    assert busy.returncode == 2, busy.stderr
    assert "cannot listen on" in busy.stderr and "nothing was kept" in busy.stderr
    runs = subprocess.run([TEAMMESH, "runs"], cwd=tmp_path, env=runner_env(),
                          capture_output=True, text=True, timeout=60)
    assert "interrupted" not in runs.stdout and "no runs" in runs.stderr
