"""Session controls, settings and approval policy, stored for real (session_controls.py):
persisted in the gateway store, bounded by the session ceiling, audited in the transcript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.gateway.session_policy import SessionCeiling

from .helpers import create_session, gateway_and_http, send, turn_status

pytestmark = pytest.mark.anyio


def _ok(response: httpx.Response, status: str = "ok") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    return body


def _audit_rows(detail: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in detail["transcript"] if e["type"] == "session.controls.updated"]


async def test_settings_merge_replace_key_unset_and_persist(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        sid = await create_session(http)
        url = f"/api/sessions/{sid}/settings"
        assert _ok(await http.get(url))["settings"] == {}
        body = _ok(await http.post(url, json={"scope": "session",
                                              "settings": {"team": {"role": "lead"}}}))
        assert body["settings"] == {"team": {"role": "lead"}} and body["scope"] == "session"
        # merge keeps other top-level keys; the same merge again changes nothing
        _ok(await http.post(url, json={"scope": "session", "settings": {"ui": {"theme": 1}}}))
        again = await http.post(url, json={"scope": "session", "settings": {"ui": {"theme": 1}}})
        assert _ok(again, "unchanged")["settings"] == {"team": {"role": "lead"},
                                                       "ui": {"theme": 1}}
        body = _ok(await http.post(url, json={"scope": "session", "key": "n", "value": None}))
        assert body["key"] == "n" and body["settings"]["n"] is None
        got = _ok(await http.get(url, params={"key": "team"}))
        assert got["found"] is True and got["value"] == {"role": "lead"}
        got = _ok(await http.get(url, params={"key": "absent"}))
        assert got["found"] is False and got["value"] is None
        removed = _ok(await http.delete(f"{url}/n"))
        assert removed["removed"] is True and "n" not in removed["settings"]
        assert _ok(await http.delete(f"{url}/n"), "unchanged")["removed"] is False
        body = _ok(await http.post(url, json={"scope": "session", "mode": "replace",
                                              "settings": {"only": True}}))
        assert body["settings"] == {"only": True}
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert detail["session"]["sessionControls"]["settings"] == {"only": True}
        rows = _audit_rows(detail)
        assert len(rows) == 5  # merge, merge, key, unset, replace; no row for "unchanged"
        assert all(r["role"] == "system" and r["turnId"] == "session-controls" for r in rows)
        # bounded: a merge that would grow them past the cap is refused, nothing kept
        big = {"scope": "session", "settings": {f"k{i}": "x" * 60_000 for i in range(5)}}
        assert (await http.post(url, json=big)).status_code == 413
        assert _ok(await http.get(url))["settings"] == {"only": True}
        # a turn keeps the settings (a message rebuilds the session's controls)
        turn = await send(http, sid, "hello")
        await turn_status(http, sid, turn)
        assert _ok(await http.get(url))["settings"] == {"only": True}
    async with gateway_and_http(tmp_path) as (_, http):  # same data dir: a restart
        assert _ok(await http.get(f"/api/sessions/{sid}/settings"))["settings"] == {"only": True}


async def test_default_scope_is_the_operators(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        sid = await create_session(http)
        base = f"/api/sessions/{sid}"
        for response in (
            await http.post(f"{base}/settings", json={"scope": "default", "settings": {"a": 1}}),
            await http.delete(f"{base}/settings/a", params={"scope": "default"}),
            await http.post(f"{base}/session-controls", json={
                "scope": "default", "controls": {"model": None, "approvalPolicy": "never",
                                                 "networkAccess": "restricted",
                                                 "filesystemSandbox": "read-only"}}),
        ):
            assert response.status_code == 423, response.text
            body = response.json()
            assert body["status"] == "locked" and body["scope"] == "default"
            assert body["message"] == "Managed by harness configuration"
        assert _ok(await http.get(f"{base}/settings", params={"scope": "default"}))[
            "settings"] == {}
        controls = _ok(await http.get(f"{base}/session-controls"))
        assert controls["defaultsEditable"] is False
        assert controls["defaultLockReason"] == "Managed by harness configuration"


async def test_controls_apply_within_the_ceiling(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        sid = await create_session(http)
        url = f"/api/sessions/{sid}/session-controls"
        current = _ok(await http.get(url))
        assert current["sessionId"] == sid
        tuple_ = current["controls"]
        assert set(tuple_) == {"model", "approvalPolicy", "networkAccess",
                               "filesystemSandbox", "settings"}
        wanted = {**tuple_, "filesystemSandbox": "workspace-write"}
        body = _ok(await http.post(url, json={"scope": "session", "controls": wanted,
                                              "actor": "tester", "source": "test"}))
        assert body["applied"]["filesystemSandbox"] == "workspace-write"
        assert body["summary"] == "default | never | restricted | workspace-write | settings:0"
        again = await http.post(url, json={"scope": "session", "controls": wanted})
        _ok(again, "unchanged")
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert detail["session"]["sessionControls"]["filesystemSandbox"] == "workspace-write"
        assert "tester via test" in _audit_rows(detail)[0]["content"]
        # past the ceiling: 403 and nothing changes
        for change, ceiling in (({"filesystemSandbox": "danger-full-access"}, "sandbox"),
                                ({"networkAccess": "enabled"}, "network"),
                                ({"approvalPolicy": "untrusted"}, "approval_policy")):
            response = await http.post(url, json={"scope": "session",
                                                  "controls": {**wanted, **change}})
            assert response.status_code == 403, response.text
            assert response.json()["ceiling"] == ceiling
        assert _ok(await http.get(url))["controls"] == {**wanted, "settings": {}}
        # a model the gateway would not apply to turns is refused, not stored
        response = await http.post(url, json={"scope": "session",
                                              "controls": {**wanted, "model": "other"}})
        assert response.status_code == 501
        assert response.json()["code"] == "method_not_supported"
        bad = {**wanted}
        del bad["model"]  # the key is required
        assert (await http.post(url, json={"scope": "session", "controls": bad})
                ).status_code == 400


async def test_approval_policy_goes_through_the_ceiling(tmp_path: Path) -> None:
    ceiling = SessionCeiling(approval_policies=("never", "on-request"))
    async with gateway_and_http(tmp_path, ceiling=ceiling) as (_, http):
        sid = await create_session(http, approvalPolicy="never")
        url = f"/api/sessions/{sid}/approval-policy"
        response = await http.post(url, json={"approvalPolicy": "untrusted"})
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
        assert response.json()["ceiling"] == "approval_policy"
        body = _ok(await http.post(url, json={"approvalPolicy": "on-request"}))
        assert body == {"status": "ok", "sessionId": sid, "approvalPolicy": "on-request"}
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert detail["session"]["approvalPolicy"] == "on-request"
        assert _audit_rows(detail) == []  # upstream writes no audit row here
        # the next turn runs under it (the message asks for no policy of its own)
        turn = await send(http, sid, "hello")
        await turn_status(http, sid, turn)
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert detail["session"]["approvalPolicy"] == "on-request"
    async with gateway_and_http(tmp_path) as (_, http):  # restart, default ceiling
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert detail["session"]["approvalPolicy"] == "on-request"


async def test_policy_changes_wait_for_a_starting_turn(tmp_path: Path) -> None:
    """While a message sits between its checks and turn/start (the hub's `starting_turn`),
    the starting turn will put its own controls back: a change now would be lost, so 409."""
    async with gateway_and_http(tmp_path) as (gateway, http):
        sid = await create_session(http)
        session = gateway.hub.session(sid)
        assert session is not None
        controls = _ok(await http.get(f"/api/sessions/{sid}/session-controls"))["controls"]
        session.starting_turn = True  # what send_message sets across its awaits
        try:
            for response in (
                await http.post(f"/api/sessions/{sid}/approval-policy",
                                json={"approvalPolicy": "never"}),
                await http.post(f"/api/sessions/{sid}/session-controls",
                                json={"scope": "session", "controls": {
                                    **controls, "filesystemSandbox": "workspace-write"}}),
            ):
                assert response.status_code == 409, response.text
                assert response.json()["code"] == "invalid_state"
        finally:
            session.starting_turn = False
        assert _ok(await http.get(f"/api/sessions/{sid}/session-controls"))[
            "controls"] == controls


async def test_the_settings_cap_is_the_same_on_both_routes(tmp_path: Path) -> None:
    """Red team: 100 000 `é` (200 KB in UTF-8) were 200 on `S/settings` and 413 on
    `S/session-controls`, which measured the \\u-escaped JSON (600 KB)."""
    settings = {"k": "é" * 100_000}
    controls = {"model": None, "approvalPolicy": "never", "networkAccess": "restricted",
                "filesystemSandbox": "read-only"}
    async with gateway_and_http(tmp_path) as (_, http):
        sid = await create_session(http)
        _ok(await http.post(f"/api/sessions/{sid}/session-controls", json={
            "scope": "session", "controls": {**controls, "settings": settings}}))
        _ok(await http.post(f"/api/sessions/{sid}/settings", json={
            "scope": "session", "settings": settings, "mode": "replace"}), "unchanged")
        over = {"k": "é" * 140_000}  # 280 KB in UTF-8: past 256 KiB on both
        response = await http.post(f"/api/sessions/{sid}/session-controls", json={
            "scope": "session", "controls": {**controls, "settings": over}})
        assert response.status_code == 413, response.text
        response = await http.post(f"/api/sessions/{sid}/settings", json={
            "scope": "session", "settings": over, "mode": "replace"})
        assert response.status_code == 413, response.text
