"""A stranger's first `teammesh demo --web`: the demo ends within a second of printing the
page's URL, so the page is gone before it can be opened. The runner then says how to see it
again, and that command works: `teammesh board serve RUN_ID` prints a URL whose page shows
that run. Real subprocesses, real sockets, the default board directory.
"""

from __future__ import annotations

import re
import signal
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
