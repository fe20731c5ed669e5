"""A full disk under a real gateway: nothing acknowledged is lost.

The gateway (`teammesh serve` in a subprocess) keeps its data dir on a small tmpfs that the
test fills with a filler file until the kernel says ENOSPC. Twelve requests then go in —
session creates, renames and messages — and each must either be acknowledged (200/202) and
be there after a restart on the same data dir, or be refused with a structured 507
`insufficient_storage`; `/api/health` says `degraded` while writes fail, and `ok` again once
the filler is deleted, without a restart.

Mounting a tmpfs needs root (as locally and in CI). Where `mount` is refused the test fails
under `CI=true` and skips with the reason elsewhere.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .procs import GatewayProcess

DISK_SIZE = "3m"
CHUNK = b"\0" * 16384


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        reason = f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk is full; returns it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        while True:
            try:
                handle.write(CHUNK)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    # Whatever byte-sized crumbs remain, take them too.
    with filler.open("ab", buffering=0) as handle:
        for size in (4096, 512, 1):
            while True:
                try:
                    handle.write(b"\0" * size)
                except OSError:
                    break
    return filler


def refused_507(response: httpx.Response) -> bool:
    if response.status_code != 507:
        return False
    body = response.json()
    return body.get("status") == "error" and body.get("code") == "insufficient_storage"


def test_full_disk_never_acknowledges_what_was_not_written(small_disk: Path) -> None:
    data_dir = small_disk / "gateway"
    gateway = GatewayProcess(data_dir=data_dir)
    gateway.start()
    created: list[str] = []  # acknowledged creates while full
    renamed: dict[str, str] = {}  # acknowledged renames: session -> title
    refused_titles: dict[str, str] = {}  # refused renames: session -> title it must keep
    messages: dict[str, str] = {}  # acknowledged messages: session -> turn id
    answers: list[tuple[str, int]] = []
    try:
        with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
            assert http.get("/api/health").json()["status"] == "ok"
            # Sessions made while there is room: the renames and messages go to them.
            rename_targets = [_create(http) for _ in range(4)]
            message_targets = [_create(http) for _ in range(4)]
            for session_id in rename_targets:
                title = f"before-{session_id[:8]}"
                assert http.post(f"/api/sessions/{session_id}/rename",
                                 json={"title": title}).status_code == 200
                refused_titles[session_id] = title
            before = {s["sessionId"] for s in http.get("/api/sessions").json()["data"]}

            filler = fill(small_disk)
            for index in range(4):
                response = http.post("/api/sessions", json={})
                answers.append(("create", response.status_code))
                if response.status_code == 200:
                    created.append(response.json()["session"]["sessionId"])
                else:
                    assert refused_507(response), response.text
                session_id = rename_targets[index]
                title = f"while-full-{index}"
                response = http.post(f"/api/sessions/{session_id}/rename",
                                     json={"title": title})
                answers.append(("rename", response.status_code))
                if response.status_code == 200:
                    renamed[session_id] = title
                    refused_titles.pop(session_id)
                else:
                    assert refused_507(response), response.text
                session_id = message_targets[index]
                response = http.post(f"/api/sessions/{session_id}/messages",
                                     json={"text": f"message {index} while the disk is full"})
                answers.append(("message", response.status_code))
                if response.status_code == 202:
                    messages[session_id] = response.json()["turnId"]
                else:
                    assert refused_507(response), response.text

            assert any(status == 507 for _, status in answers), answers  # it was full
            health = http.get("/api/health").json()
            assert health["status"] == "degraded", health
            assert health["store"]["writable"] is False
            assert "full" in health["store"]["reason"], health

            filler.unlink()  # space returns: the gateway recovers by itself
            health = http.get("/api/health").json()
            assert health["status"] == "ok", health
            assert health["store"] == {"writable": True}
            assert http.post(f"/api/sessions/{rename_targets[0]}/rename",
                             json={"title": "after"}).status_code == 200
            renamed[rename_targets[0]] = "after"
            refused_titles.pop(rename_targets[0], None)
        gateway.stop()

        gateway.start()  # same data dir: everything acknowledged must be there
        with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
            listed = {s["sessionId"] for s in http.get("/api/sessions").json()["data"]}
            assert listed == before | set(created), answers
            for session_id, title in {**refused_titles, **renamed}.items():
                assert _session(http, session_id)["session"]["title"] == title, answers
            for session_id, turn_id in messages.items():
                turns = _session(http, session_id)["thread"].get("turns") or []
                assert turn_id in {t["id"] for t in turns}, answers
            for session_id in set(message_targets) - set(messages):
                assert not _session(http, session_id)["thread"].get("turns"), answers
    finally:
        gateway.stop()


def _create(http: httpx.Client) -> str:
    response = http.post("/api/sessions", json={})
    assert response.status_code == 200, response.text
    return str(response.json()["session"]["sessionId"])


def _session(http: httpx.Client, session_id: str) -> dict[str, Any]:
    response = http.get(f"/api/sessions/{session_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
