"""`teammesh serve` ceiling flags, in a real `teammesh serve` subprocess: the defaults refuse,
the operator's flags widen exactly what they name."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.reliability.procs import GatewayProcess

WIDE_ASK = {
    "filesystemSandbox": "danger-full-access",
    "approvalPolicy": "on-request",
    "networkAccess": "enabled",
}


def test_serve_defaults_refuse_and_flags_widen(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    with GatewayProcess(tmp_path / "narrow") as gateway:
        with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
            for key, value in WIDE_ASK.items():
                refused = http.post("/api/sessions", json={key: value})
                assert refused.status_code == 403, refused.text
                assert refused.json()["code"] == "forbidden"
            refused = http.post("/api/sessions", json={"cwd": str(workspace)})
            assert refused.status_code == 403 and refused.json()["ceiling"] == "cwd"
            refused = http.post("/api/sessions", json={"model": "codex?codex_bin=/bin/sh"})
            assert refused.status_code == 400 and "--codex-bin" in refused.json()["message"]
            assert http.post("/api/sessions", json={}).status_code == 200

    flags = ["--max-sandbox", "danger-full-access", "--allow-approval-policy", "on-request",
             "--allow-approval-policy", "never", "--allow-network",
             "--allow-cwd", str(workspace), "--max-runtimes", "2",
             "--runtime", "playbook?think_ms=1"]
    with GatewayProcess(tmp_path / "wide", extra=flags) as gateway:
        with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
            created = http.post("/api/sessions", json={"cwd": str(workspace), **WIDE_ASK})
            assert created.status_code == 200, created.text
            session = created.json()["session"]
            assert session["cwd"] == os.path.realpath(workspace)
            assert session["sessionControls"]["filesystemSandbox"] == "danger-full-access"
            # Only the policies named: untrusted is now outside the ceiling.
            refused = http.post("/api/sessions", json={"cwd": str(workspace),
                                                       "approvalPolicy": "untrusted"})
            assert refused.status_code == 403
            # --max-runtimes 2: the default's slot and one client choice.
            first = http.post("/api/sessions", json={"cwd": str(workspace),
                                                     "model": "playbook?think_ms=7"})
            assert first.status_code == 200, first.text
            second = http.post("/api/sessions", json={"cwd": str(workspace),
                                                      "model": "playbook?think_ms=8"})
            assert second.status_code == 503 and second.json()["code"] == "runtime_limit"
