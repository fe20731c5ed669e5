"""`teammesh model serve` as a process: it announces its address, then serves."""

from __future__ import annotations

import subprocess
import sys

import httpx


def test_model_serve_prints_its_address_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "teammesh", "model", "serve", "--host", "127.0.0.1",
         "--port", "0", "--think-ms", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        prefix = "teammesh model server listening on http://127.0.0.1:"
        assert line.startswith(prefix), line
        base_url = line.removeprefix("teammesh model server listening on ")
        reply = httpx.post(f"{base_url}/v1/responses", timeout=10,
                           json={"model": "playbook", "input": "You are the tester. Hello."})
        assert reply.status_code == 200
        assert reply.json()["output"][0]["content"][0]["text"] == "nothing to do."
    finally:
        process.terminate()
        process.wait(timeout=10)
