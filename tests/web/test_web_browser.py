"""The web board in a real browser, against real runs with think time.

Debian's chromium (headless) driven by playwright (`executable_path`: the system browser,
no download). A `teammesh run … --web` subprocess on an embedded playbook gateway whose
model calls sleep (`playbook?think_ms=…`), so members stay in their turns long enough to be
seen. The test drives the page as a user would: opens the printed URL, watches members change
state and the timeline grow, clicks approve on the pending approval (the run is blocked
until then), and checks the final page against `teammesh board show`. Then `teammesh board
serve` shows the finished run from its board file alone.

Screenshots go to a temporary folder, or to $TEAMMESH_SCREENSHOTS (docs/ uses them).
Under `CI=true` a missing chromium or playwright fails; elsewhere it skips with the reason.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.procs import TEAMMESH, readline, runner_env

CHROMIUM = "/usr/bin/chromium"
URL_LINE = re.compile(r"web board(?: of \S+ \([^)]*\))?: (http://\S+)")
WAIT_MS = 60_000
APPROVAL_TEAM = """
[team]
name = "asked"
rounds = 9
turn_timeout = 120

[[members]]
name = "developer"
handoffs = ["docs", "reviewer"]

[[members]]
name = "docs"
handoffs = ["reviewer"]

[[members]]
name = "reviewer"
handoffs = []

[[tasks]]
owner = "developer"
text = "Draft a plan for a repository summary, then hand off one docs and one review task."

[[policies.approvals]]
member = "developer"
owner = "reviewer"
answer = "ask"

[completion]
all_of = [{ member_done = "reviewer" }, { queues_empty = true }]
"""


@pytest.fixture
def browser() -> Iterator[Any]:
    reason = None
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = reason or "playwright is not installed (it is a dev dependency)"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the web board browser test is required in CI: {reason}")
        pytest.skip(reason)
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            yield launched
        finally:
            launched.close()


def _shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("TEAMMESH_SCREENSHOTS") or tmp_path / "shots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([TEAMMESH, *args], cwd=cwd, env=runner_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for _ in range(20):
        line = readline(proc.stderr, 30)
        found = URL_LINE.search(line)
        if found:
            return proc, found.group(1)
        if not line:
            break
    proc.kill()
    raise AssertionError("no web board URL printed")


def _board_show(run_id: str, board: Path, cwd: Path) -> set[tuple[str, str, str]]:
    shown = subprocess.run([TEAMMESH, "board", "show", run_id, "--board", str(board)],
                           cwd=cwd, env=runner_env(), capture_output=True, text=True,
                           timeout=60, check=True).stdout
    return {(m[0], m[1], m[2]) for m in
            re.findall(r"^  #(\d+) (\S+)\s+(\S+)\s+attempts=", shown, re.MULTILINE)}


def _page_tasks(page: Any) -> set[tuple[str, str, str]]:
    rows = page.eval_on_selector_all(
        "#tasks tbody tr",
        "rows => rows.map(r => [r.dataset.task, r.children[1].textContent, r.dataset.status])")
    return {(a, b, c) for a, b, c in rows}


def _bars(page: Any) -> int:
    return int(page.get_attribute("#timeline", "data-bars") or 0)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def test_watch_a_run_approve_on_the_page_and_match_board_show(
        browser: Any, tmp_path: Path) -> None:
    team = tmp_path / "asked.toml"
    team.write_text(APPROVAL_TEAM)
    board = tmp_path / "runs.sqlite"
    shots = _shots(tmp_path)
    proc, url = _start(["run", str(team), "--board", str(board), "--web", "--live", "off",
                        "--runtime", "playbook?think_ms=400"], tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        assert "token=" not in page.url  # the token became a cookie; the URL is clean
        page.wait_for_selector('tr.member[data-state="running"], tr.member[data-state="calling"]',
                               timeout=WAIT_MS)
        page.wait_for_function("Number(document.querySelector('#timeline').dataset.bars) > 0",
                               timeout=WAIT_MS)
        early = _bars(page)
        page.wait_for_selector("button[data-approve]", timeout=WAIT_MS)
        assert page.get_attribute('tr.member[data-member="developer"]', "data-state") == \
            "approval"
        page.screenshot(path=str(shots / "web-board-seed-during.png"), full_page=True)
        page.click("button[data-approve]")
        page.wait_for_selector('#status.complete', timeout=WAIT_MS)
        final = _bars(page)
        assert final > early, (early, final)  # the timeline grew while the run went on
        page.wait_for_selector('p[data-answered]', timeout=WAIT_MS)
        page.screenshot(path=str(shots / "web-board-seed-after.png"), full_page=True)
        run_id = page.text_content("#title").split(" ")[0]
        seen = _page_tasks(page)
    finally:
        code, out = _finish(proc)
    assert code == 0, out
    assert seen == _board_show(run_id, board, tmp_path)
    # The finished run, from its board file alone, in a process of its own.
    server, served_url = _start(["board", "serve", run_id, "--board", str(board),
                                 "--read-only"], tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(served_url)
        page.wait_for_selector('#status.complete', timeout=WAIT_MS)
        assert page.query_selector("button[data-approve]") is None
        assert _page_tasks(page) == seen
        assert "approved by web" in page.text_content("#approvals")
        # The timeline comes from the board's run record: every turn and call, timed.
        assert "run record" in (page.text_content("#timeline-source") or "")
        assert _bars(page) >= early
        # Each done task shows the turn that claimed it (its history, from the record).
        claims = page.eval_on_selector_all(
            '#tasks tbody tr[data-status="done"]',
            "rows => rows.map(r => Array.from(r.querySelectorAll('[data-claim]'),"
            " c => c.dataset.turnState))")
        assert claims and all("ok" in row for row in claims), claims
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_six_members_change_state_live(browser: Any, tmp_path: Path) -> None:
    six = Path(__file__).resolve().parents[2] / "teams" / "six.toml"
    board = tmp_path / "six.sqlite"
    shots = _shots(tmp_path)
    proc, url = _start(["run", str(six), "--board", str(board), "--web", "--live", "off",
                        "--runtime", "playbook?think_ms=300", "--concurrency", "2"],
                       tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(url)
        seen_busy: set[str] = set()
        # Members other than the first go busy as work reaches them (handoffs).
        for _ in range(600):
            busy = page.eval_on_selector_all(
                'tr.member[data-state="running"], tr.member[data-state="calling"]',
                "rows => rows.map(r => r.dataset.member)")
            seen_busy.update(busy)
            if len(seen_busy) >= 3:
                break
            page.wait_for_timeout(100)
        assert len(seen_busy) >= 3, seen_busy
        page.screenshot(path=str(shots / "web-board-six-during.png"), full_page=True)
        page.wait_for_selector('#status.complete', timeout=WAIT_MS)
        page.screenshot(path=str(shots / "web-board-six-after.png"), full_page=True)
        done = page.eval_on_selector_all('tr.member[data-state="done"]',
                                         "rows => rows.map(r => r.dataset.member)")
        run_id = page.text_content("#title").split(" ")[0]
        seen = _page_tasks(page)
    finally:
        code, out = _finish(proc)
    assert code == 0, out
    assert "lead" in done
    assert seen == _board_show(run_id, board, tmp_path)


ATTACK_PAGE = """<!doctype html><meta charset="utf-8"><title>not the board</title>
<pre id="out">pending</pre><script>
const BOARD = %(board)s, ID = %(approval)s, out = {};
const post = (opts) => fetch(`${BOARD}/api/approvals/${ID}/decision`, Object.assign(
  {method: "POST", credentials: "include", body: JSON.stringify({decision: "approve"})}, opts))
  .then(r => "sent:" + r.type + ":" + r.status, e => "error:" + e.name);
Promise.all([
  post({mode: "no-cors", headers: {"Content-Type": "text/plain"}}).then(v => out.simple = v),
  post({headers: {"Content-Type": "application/json", "X-Teammesh-Page": "guess"}})
    .then(v => out.preflighted = v),
  fetch(`${BOARD}/api/state`, {credentials: "include"}).then(r => r.text())
    .then(t => "read:" + t.length, e => "error:" + e.name).then(v => out.read = v),
]).then(() => { document.getElementById("out").textContent = JSON.stringify(out); });
</script>"""


def test_a_hostile_page_in_the_same_browser_cannot_decide_or_read(
        browser: Any, tmp_path: Path) -> None:
    """The user is signed in to the board (the cookie is in this browser), then visits a page
    on another loopback origin that tries to approve and to read the run."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    team = tmp_path / "asked.toml"
    team.write_text(APPROVAL_TEAM)
    board = tmp_path / "runs.sqlite"
    proc, url = _start(["run", str(team), "--board", str(board), "--web", "--live", "off",
                        "--runtime", "playbook?think_ms=100"], tmp_path)
    base = url.split("/?", 1)[0]

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (ATTACK_PAGE % {"board": json.dumps(base), "approval": "1"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        context = browser.new_context()
        board_page = context.new_page()
        board_page.goto(url)
        board_page.wait_for_selector("button[data-approve]", timeout=WAIT_MS)
        evil = context.new_page()
        evil.goto(f"http://localhost:{site.server_address[1]}/")
        evil.wait_for_function("document.getElementById('out').textContent !== 'pending'",
                               timeout=WAIT_MS)
        seen = json.loads(evil.text_content("#out") or "{}")
        assert seen["simple"].startswith("sent:opaque")  # sent, refused: see the board below
        assert seen["preflighted"].startswith("error")  # no CORS: the browser stops it
        assert seen["read"].startswith("error")  # and nothing of the run can be read
        board_page.wait_for_timeout(500)
        assert board_page.query_selector("button[data-approve]") is not None  # still pending
        board_page.click("button[data-deny]")  # the user's own page can decide
        board_page.wait_for_selector("#status.complete, #status.incomplete", timeout=WAIT_MS)
        assert "declined by web" in (board_page.text_content("#approvals") or "")
    finally:
        site.shutdown()
        _finish(proc)
