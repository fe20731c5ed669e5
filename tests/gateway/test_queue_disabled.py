"""The orchestrator-queue rows (#29–#31, #64, #65) on the real gateway: upstream's own answer
with its queue disabled (routes reference §1.4, §5, §7.5), after upstream's guards.

This gateway runs no orchestrator queue (health says `orchestratorQueue: {enabled: false}`),
so each row answers 503 `job_conflict` "orchestrator queue is unavailable" (+`sessionId` on
the session rows); on #64/#65 a deleted session's 410 and an unknown session's 404 come
first and the body schema after (a bad body still meets the 503). Capabilities and `GET
/api` keep saying the queue is not there; codex-manager's client returns the 503 as a value
where its allow-list has 503 and raises elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.client import CodexManager, ServerError
from teammesh.gateway.embedded import GatewayThread
from teammesh.gateway.upstream_routes import ROUTES, UpstreamRoute

from .helpers import create_session, gateway_and_http

pytestmark = pytest.mark.anyio

QUEUE_ROWS = {29, 30, 31, 64, 65}
UNAVAILABLE = {"status": "error", "code": "job_conflict",
               "message": "orchestrator queue is unavailable"}
SUGGEST = ("sessions.suggest_request.enqueue", "sessions.suggest_request")


def _row(operation: str) -> UpstreamRoute:
    return next(r for r in ROUTES if r.operation == operation)


def _suggest_url(operation: str, session_id: str) -> str:
    return _row(operation).path.replace("{sessionId}", session_id)


def test_the_queue_rows_are_exactly_upstreams_queue_routes() -> None:
    assert {r.number for r in ROUTES if r.needs_queue} == QUEUE_ROWS
    for route in ROUTES:
        if route.needs_queue:
            assert route.serves == frozenset() and "queue" in route.checks
    # §7.5: G410 → G404 → the queue check → body (no system-owned sessions here: no G403).
    for operation in SUGGEST:
        assert _row(operation).checks == ("gone", "missing", "queue", "body")


@pytest.mark.parametrize("runtime", ["playbook", "llm"])
async def test_each_queue_row_answers_upstreams_503(tmp_path: Path, runtime: str) -> None:
    async with gateway_and_http(tmp_path, runtime=runtime) as (_, http):
        session_id = await create_session(http)
        answers = {
            29: await http.get("/api/orchestrator/jobs/job-1"),
            30: await http.get("/api/projects/project-1/orchestrator/jobs",
                               params={"state": "queued"}),
            31: await http.post("/api/orchestrator/jobs/job-1/cancel"),
            64: await http.post(f"/api/sessions/{session_id}/suggested-request/jobs",
                                json={"draft": "next?"}),
            65: await http.post(f"/api/sessions/{session_id}/suggested-request",
                                json={"model": "m", "effort": "low"}),
        }
        for number, response in answers.items():
            assert response.status_code == 503, (number, response.text)
            want = dict(UNAVAILABLE, sessionId=session_id) if number in (64, 65) else UNAVAILABLE
            assert response.json() == want, number
        # No body at all (the client's optional body): the same 503.
        response = await http.post(_suggest_url("sessions.suggest_request", session_id))
        assert response.status_code == 503 and response.json()["sessionId"] == session_id
        # Nothing was queued and nothing claims otherwise: health, capabilities, GET /api.
        health = (await http.get("/api/health")).json()
        assert health["orchestratorQueue"] == {"enabled": False}
        listing = {(r["method"], r["path"]): r["status"]
                   for r in (await http.get("/api")).json()["routes"]}
        for route in ROUTES:
            if route.needs_queue:
                assert listing[route.key] == "not_implemented", route.operation
        caps = (await http.get("/api/capabilities")).json()
        assert not any("orchestrator" in m or "queue" in m for m in caps["methods"])
        assert not any("orchestrator" in f.lower() for f in caps["features"])


async def test_deleted_then_unknown_then_the_queue_then_the_body(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        live = await create_session(http)
        gone = await create_session(http)
        assert (await http.delete(f"/api/sessions/{gone}")).status_code == 200
        bad_bodies: list[Any] = [[], {"draft": 5}, {"effort": "enormous"},
                                 {"draft": "x" * 4001}, {"unknown": True}]
        for operation in SUGGEST:
            for body in ({"draft": "ok"}, *bad_bodies):
                response = await http.post(_suggest_url(operation, gone), json=body)
                assert response.status_code == 410, (operation, body, response.text)
                assert response.json()["status"] == "deleted"
                response = await http.post(_suggest_url(operation, "nope"), json=body)
                assert response.status_code == 404, (operation, body, response.text)
                assert response.json() == {"status": "not_found", "sessionId": "nope"}
                # The queue check runs before the body schema, as upstream's.
                response = await http.post(_suggest_url(operation, live), json=body)
                assert response.status_code == 503, (operation, body, response.text)
                assert response.json() == dict(UNAVAILABLE, sessionId=live)
            # What upstream's framework refuses before its handler still answers first.
            url = _suggest_url(operation, live)
            json_type = {"content-type": "application/json"}
            for content, headers, status in ((b'{"draft": ', json_type, 400),
                                             (b"{}", {"content-type": "text/plain"}, 415)):
                response = await http.post(url, content=content, headers=headers)
                assert response.status_code == status, (operation, response.text)
                assert response.json()["code"] == "request_failed"


async def test_job_routes_validate_their_query_before_the_503(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        response = await http.get("/api/projects/p-1/orchestrator/jobs",
                                  params={"state": "sleeping"})
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_request"
        response = await http.post("/api/orchestrator/jobs/job-1/cancel",
                                   content=b"[", headers={"content-type": "application/json"})
        assert response.status_code == 400 and response.json()["code"] == "request_failed"
        # Any job id meets the same 503: nothing is looked up.
        response = await http.get("/api/orchestrator/jobs/no%20such%3Fjob")
        assert response.status_code == 503 and response.json() == UNAVAILABLE


def test_openapi_documents_the_503(tmp_path: Path) -> None:
    with GatewayThread(data_dir=tmp_path) as gateway:
        spec = httpx.get(f"{gateway.base_url}/openapi.json").json()
    assert spec["components"]["schemas"]["QueueUnavailable"]["properties"]["code"] == {
        "const": "job_conflict"}
    for route in ROUTES:
        if not route.needs_queue:
            continue
        responses = spec["paths"][route.path][route.method.lower()]["responses"]
        ref = responses["503"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/QueueUnavailable") and "501" not in responses, route.operation


def test_the_client_returns_or_raises_as_upstreams_does(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path) as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        session_id = cm.sessions.create()["session"]["sessionId"]
        # 503 is in #64/#65's allow-list: the body comes back as a value.
        assert cm.sessions.suggest_request(session_id, draft="next?") == dict(
            UNAVAILABLE, sessionId=session_id)
        assert cm.sessions.suggest_request_enqueue(session_id) == dict(
            UNAVAILABLE, sessionId=session_id)
        typed = cm.typed.sessions.suggest_request(session_id, draft="next?")
        assert type(typed).__name__ == "ErrorEnvelope" and typed.code == "job_conflict"
        # The job routes allow no 503: the client raises, as upstream's client does.
        for call in (lambda: cm.orchestrator.get(job_id="job-1"),
                     lambda: cm.orchestrator.list(project_id="p-1"),
                     lambda: cm.orchestrator.cancel(job_id="job-1")):
            with pytest.raises(ServerError) as raised:
                call()
            assert raised.value.details.status_code == 503
            assert raised.value.details.response_body == UNAVAILABLE
