"""Hostile text on the web board stays text, in a real browser.

A team whose task carries HTML and script (so do the artifacts, handoffs and tool-call
arguments and results the playbook brain makes from it) runs on the llm runtime against a
model whose replies carry more (tests/reliability/hostile_model.py). `teammesh board serve`
then shows the run; Debian's chromium (playwright) opens it, clicks the member for its
transcript. Nothing may run: no dialog, no marker set by an injected handler, no element the
payload names; the payload is on the page as the literal text it is.
"""

from __future__ import annotations

import asyncio
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.reliability.hostile_model import hostile_model
from tests.reliability.procs import TEAMMESH, runner_env
from tests.web.test_web_browser import WAIT_MS, _start, browser  # noqa: F401 (fixture)

PAYLOAD = ('<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2'
           '</script><svg onload="window.__pwned=3"></svg>')
TEAM = f"""
[team]
name = "hostile"

[[members]]
name = "developer"
handoffs = ["reviewer"]

[[members]]
name = "reviewer"

[[tasks]]
owner = "developer"
text = '''Plan {PAYLOAD} and hand it to the reviewer.'''
"""


def _hostile_run(tmp_path: Path, board: Path) -> str:
    (tmp_path / "hostile.toml").write_text(TEAM)

    async def run() -> subprocess.CompletedProcess[str]:
        async with hostile_model() as base_url:
            return await asyncio.to_thread(
                subprocess.run,
                [TEAMMESH, "run", "hostile.toml", "--runtime", "llm", "--model-base-url",
                 base_url, "--live", "off", "--board", str(board)],
                cwd=tmp_path, env=runner_env(), capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(1) as pool:  # playwright's loop owns this thread
        proc = pool.submit(asyncio.run, run()).result()
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return next(word for word in proc.stderr.split() if word.startswith("run-"))


def test_hostile_text_is_shown_never_run(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    board = tmp_path / "runs.sqlite"
    run_id = _hostile_run(tmp_path, board)
    proc, url = _start(["board", "serve", run_id, "--board", str(board)], tmp_path)
    try:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url)
        page.wait_for_selector("body[data-version]", timeout=WAIT_MS)
        page.wait_for_selector("#artifacts .artifact", timeout=WAIT_MS)
        assert PAYLOAD in page.inner_text("#tasks")  # literally, as text
        assert "Plan <img src=x" in page.inner_text("#artifacts")  # cut short, as text
        page.click('#members tr[data-member="developer"]')
        page.wait_for_selector("#transcript-body .entry", timeout=WAIT_MS)
        assert "<script>" in page.inner_text("#transcript-body")
        page.wait_for_timeout(500)  # an injected handler would have fired by now
        assert dialogs == []
        assert page.evaluate("window.__pwned") is None
        assert page.eval_on_selector_all("main img, main script, main svg:not(#graph):not("
                                         "#timeline), dialog img, dialog script",
                                         "nodes => nodes.length") == 0
    finally:
        proc.terminate()
        proc.wait(30)
