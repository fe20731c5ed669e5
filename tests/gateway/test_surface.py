"""codex-manager's whole route surface on the real gateway (upstream_routes.ROUTES).

Every upstream route is registered; what is not implemented answers upstream's 501 envelope
after upstream's checks (410 / 404 / 400 in the row's order), an orchestrator-queue row
upstream's queue-disabled 503 (tests/gateway/test_queue_disabled.py); capabilities tell the
truth; an unknown route is still the route-miss 404.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.gateway.capabilities import PROBED_METHODS, routes_calling
from teammesh.gateway.upstream_routes import ROUTES, RUNTIMES, UpstreamRoute, coverage_table

from .helpers import create_session, gateway_and_http

pytestmark = pytest.mark.anyio

# A realistic request per operation: (json body or None, query params).
_INPUT: dict[str, tuple[Any, dict[str, str]]] = {
    "system.capabilities": (None, {"refresh": "false"}),
    "system.features.experimental": (None, {"limit": "10"}),
    "system.collaboration.modes": (None, {"limit": "10"}),
    "models.list": (None, {"limit": "20"}),
    "mcp.servers.list": (None, {"limit": "20"}),
    "apps.list": (None, {"limit": "5", "forceRefetch": "true"}),
    "skills.list": (None, {"forceReload": "false", "cwd": "."}),
    "skills.config.set": ({"path": "skills/a/SKILL.md", "enabled": True}, {}),
    "skills.remote.set": ({"hazelnutId": "hz-1", "isPreload": False}, {}),
    "mcp.oauth.login": ({"scopes": ["read"], "timeoutSecs": 30}, {}),
    "account.login.start": ({"type": "apiKey", "apiKey": "sk-test"}, {}),
    "account.login.cancel": ({"loginId": "login-1"}, {}),
    "account.logout": ({}, {}),
    "config.get": (None, {"includeLayers": "true"}),
    "config.set": ({"keyPath": "model", "mergeStrategy": "replace", "value": "m"}, {}),
    "config.batch_set": (
        {"edits": [{"keyPath": "model", "mergeStrategy": "upsert", "value": "m"}]}, {}),
    "runtime.exec": ({"command": ["echo", "hi"], "timeoutMs": 1000}, {}),
    "feedback.submit": ({"classification": "bug", "includeLogs": False}, {}),
    "orchestrator.jobs.list": (None, {"state": "queued"}),
    "projects.create": ({"name": "alpha"}, {}),
    "projects.rename": ({"name": "beta"}, {}),
    "projects.chats.move_all": ({"destination": "unassigned"}, {}),
    "projects.chats.delete_all": ({}, {}),
    "sessions.list": (None, {"limit": "5"}),
    "sessions.create": ({}, {}),
    "sessions.transcript.upsert": (
        {"messageId": "m1", "turnId": "t1", "role": "system", "type": "note",
         "content": "x", "status": "complete"}, {}),
    "sessions.rollback": ({"numTurns": 1}, {}),
    "sessions.review": ({"targetType": "uncommittedChanges"}, {}),
    "sessions.steer": ({"input": "also check the tests"}, {}),
    "sessions.rename": ({"title": "renamed"}, {}),
    "sessions.project.set": ({"projectId": None}, {}),
    "sessions.resume": ({}, {}),
    "sessions.controls.apply": (
        {"scope": "session", "controls": {"model": None, "approvalPolicy": "never",
                                          "networkAccess": "restricted",
                                          "filesystemSandbox": "read-only"}}, {}),
    "sessions.settings.get": (None, {"scope": "session"}),
    "sessions.settings.set": ({"scope": "session", "settings": {"a": {"b": 1}}}, {}),
    "sessions.settings.unset": (None, {"scope": "session"}),
    "sessions.approval_policy.set": ({"approvalPolicy": "never"}, {}),
    "sessions.suggest_request.enqueue": ({"draft": "next?"}, {}),
    "sessions.suggest_request": ({"draft": "next?"}, {}),
    "sessions.suggest_request.upsert": ({"requestKey": "rk", "status": "streaming"}, {}),
    "sessions.send_message": ({"text": "hello"}, {}),
    "sessions.interrupt": ({}, {}),
    "tool_calls.respond": ({"text": "done"}, {}),
    "tool_input.decide": ({"decision": "accept"}, {}),
    "approvals.decide": ({"decision": "accept"}, {}),
}


def _url(route: UpstreamRoute, session_id: str) -> str:
    values = {"sessionId": session_id, "turnId": "turn-1", "projectId": "project-1",
              "jobId": "job-1", "serverName": "docs", "key": "a.b", "requestId": "1",
              "approvalId": "1"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)


async def _call(http: httpx.AsyncClient, route: UpstreamRoute, session_id: str,
                body: Any = ..., query: dict[str, str] | None = None) -> httpx.Response:
    default_body, default_query = _INPUT.get(route.operation, (None, {}))
    body = default_body if body is ... else body
    kwargs: dict[str, Any] = {"params": default_query if query is None else query}
    if body is not None:
        kwargs["json"] = body
    return await http.request(route.method, _url(route, session_id), **kwargs)


def _route_miss(response: httpx.Response) -> bool:
    body = response.json()
    return response.status_code == 404 and body.get("code") == "request_failed"


def _assert_501(response: httpx.Response, route: UpstreamRoute,
                session_id: str | None) -> dict[str, Any]:
    assert response.status_code == 501, (route.operation, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "code", "message", "details"}
    assert body["status"] == "error" and body["code"] == "method_not_supported"
    assert body["details"]["method"] == (route.app_server or route.operation)
    assert body["details"].get("sessionId") == session_id
    if route.kind == "state":
        assert "not implemented by this gateway" in body["message"]
    else:
        assert "method not found" in body["message"]
    return body


_UNSERVED = [r for r in ROUTES if not r.served_on("playbook")]  # the default runtime
# Session rows that were route misses before: the 501 ones and the ones now implemented.
_SESSION_UNSERVED = [r for r in ROUTES if r.session_scoped and r.kind != "served"]


def test_table_is_upstreams_surface() -> None:
    # 70 HTTP routes (the reference's rows 2–71), each once.
    assert [r.number for r in ROUTES] == sorted(r.number for r in ROUTES)
    assert {r.number for r in ROUTES} == set(range(2, 72))
    assert len({r.key for r in ROUTES}) == 70
    assert {r.operation for r in ROUTES if r.body is not None} <= set(_INPUT)


async def test_every_upstream_route_is_registered(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        doomed = await create_session(http)
        for route in ROUTES:
            target = doomed if route.operation == "sessions.delete" else session_id
            response = await _call(http, route, target)
            assert not _route_miss(response), (route.method, route.path, response.text)
            assert response.status_code < 500 or response.status_code == 501 or (
                route.needs_queue and response.status_code == 503), response.text
            if route.needs_queue:
                assert response.status_code == 503, (route.operation, response.text)
                assert response.json()["code"] == "job_conflict"
            elif not route.served_on("playbook"):
                _assert_501(response, route, session_id if route.session_scoped else None)


async def test_501_names_the_runtime_and_codex_is_not_mapped_yet(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        compact = next(r for r in ROUTES if r.operation == "sessions.compact")
        body = _assert_501(await _call(http, compact, session_id), compact, session_id)
        assert body["message"] == ("method not found: the playbook runtime has no "
                                   "thread/compact/start")
    # A gateway whose default runtime is codex: the message says the gateway does not map
    # it (no codex process is needed to answer a global route).
    async with gateway_and_http(tmp_path / "codex", runtime="codex") as (_, http):
        remote = next(r for r in ROUTES if r.operation == "skills.remote.get")
        body = _assert_501(await _call(http, remote, ""), remote, None)
        assert ("the gateway does not map skills/remote/read to the codex runtime yet"
                in body["message"])
        caps = (await http.get("/api/capabilities")).json()
        assert caps["runtime"]["name"] == "codex" and caps["features"]["planUpdates"] is True


@pytest.mark.parametrize("runtime", ["playbook", "llm"])
async def test_codex_pass_through_rows_are_501_on_in_process_runtimes(tmp_path: Path,
                                                                      runtime: str) -> None:
    """The rows forwarded to codex's app-server have no meaning on playbook/llm: upstream's
    501 naming the runtime, never a 200 without the work."""
    forwarded = [r for r in ROUTES if r.kind == "runtime" and not r.session_scoped
                 and r.serves == frozenset({"codex"})]
    assert {r.app_server for r in forwarded} >= {
        "mcpServerStatus/list", "app/list", "skills/list", "account/read",
        "account/rateLimits/read", "config/read", "configRequirements/read"}
    async with gateway_and_http(tmp_path, runtime=runtime) as (_, http):
        for route in forwarded:
            body = _assert_501(await _call(http, route, ""), route, None)
            assert body["message"] == (f"method not found: the {runtime} runtime has no "
                                       f"{route.app_server}")


REFUSED = ("skills.config.set", "skills.remote.set", "mcp.reload", "mcp.oauth.login",
           "account.login.start", "account.login.cancel", "account.logout", "config.set",
           "config.batch_set", "runtime.exec", "feedback.submit")


@pytest.mark.parametrize("runtime", ["playbook", "llm", "codex"])
async def test_refused_rows_say_the_policy_on_every_runtime(tmp_path: Path,
                                                            runtime: str) -> None:
    """Writes of operator settings, logins, uploads and host commands are refused on
    every runtime, codex included, with upstream's 501 envelope and the policy as `why`
    (a codex gateway answers them without starting app-server: nothing is forwarded)."""
    assert {r.operation for r in ROUTES if r.refused} == set(REFUSED)
    async with gateway_and_http(tmp_path, runtime=runtime) as (_, http):
        caps = (await http.get("/api/capabilities")).json()
        for route in (r for r in ROUTES if r.refused):
            response = await _call(http, route, "")
            assert response.status_code == 501, (route.operation, response.text)
            body = response.json()
            assert body["code"] == "method_not_supported" and body["status"] == "error"
            assert body["details"] == {"method": route.app_server, "why": route.why}
            assert route.why.startswith("refused by policy: ")
            assert body["message"] == f"method not found: {route.app_server} is {route.why}"
            assert route.serves == frozenset()
            if route.app_server in caps["methods"]:
                assert caps["methods"][route.app_server] == "disabled"
                assert route.why in caps["details"][route.app_server]["reason"]


async def test_deleted_and_unknown_sessions_in_upstreams_order(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        gone = await create_session(http)
        assert (await http.delete(f"/api/sessions/{gone}")).status_code == 200
        for route in _SESSION_UNSERVED:
            response = await _call(http, route, gone)
            assert response.status_code == 410, (route.operation, response.text)
            assert response.json()["status"] == "deleted"
            response = await _call(http, route, "nope")
            assert response.status_code == 404, (route.operation, response.text)
            assert response.json() == {"status": "not_found", "sessionId": "nope"}
            # An invalid body or query: 400 where upstream validates before that guard.
            if route.body is not None:
                bad: dict[str, Any] = {"body": []}
            elif route.query is not None:
                bad = {"query": {"scope": "everywhere"}}
            else:
                continue
            for target, guard, status in ((gone, "gone", 410), ("nope", "missing", 404)):
                response = await _call(http, route, target, **bad)
                first = route.checks.index("body") < route.checks.index(guard)
                expected = 400 if first else status
                assert response.status_code == expected, (route.operation, target,
                                                          response.text)


async def test_bodies_are_validated_before_the_501(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        for route in _UNSERVED:
            if route.body is None or route.needs_queue:  # the queue's 503 comes first
                continue
            response = await _call(http, route, session_id, body=[])
            assert response.status_code == 400, (route.operation, response.text)
            assert response.json()["code"] == "invalid_request"
        settings = f"/api/sessions/{session_id}/settings"
        for body in ({"scope": "session"}, {"scope": "session", "key": "a"},
                     {"scope": "session", "settings": {}, "key": "a", "value": 1}):
            response = await http.post(settings, json=body)
            assert response.status_code == 400, response.text
            assert response.json()["code"] == "invalid_request"
        response = await http.get("/api/models", params={"limit": "201"})
        assert response.status_code == 400
        response = await http.get("/api/apps", params={"forceRefetch": "yes"})
        assert response.status_code == 400
        response = await http.post("/api/account/login/start", json={"type": "password"})
        assert response.status_code == 400
        response = await http.post("/api/skills/config", json={"path": "p", "enabled": "true"})
        assert response.status_code == 400  # booleans are JSON booleans, as zod's


async def test_client_allow_list_hazard_never_sees_a_route_miss(tmp_path: Path) -> None:
    """The upstream client returns a 404 as data on these routes ("not found"): a route-miss
    404 there would pass for success, e.g. a settings merge that stored nothing."""
    hazards = [r for r in ROUTES if 404 in r.allow and r.kind != "served"]
    assert len(hazards) >= 15
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        for route in hazards:
            response = await _call(http, route, session_id)
            assert not _route_miss(response), (route.operation, response.text)
            if route.path.startswith("/api/projects/") and route.served_on("playbook"):
                # Implemented: "project-1" does not exist, and the 404 says so, as upstream.
                assert response.status_code == 404, (route.operation, response.text)
                assert response.json() == {"status": "not_found", "projectId": "project-1"}
                continue
            assert response.status_code != 404, (route.operation, response.text)


async def test_capabilities_shape_and_truth(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        response = await http.get("/api/capabilities", params={"refresh": "false"})
        assert response.status_code == 200
        caps = response.json()
        assert set(caps) == {"status", "runtime", "methods", "details", "features"}
        assert caps["status"] == "ok"
        assert caps["runtime"]["initialized"] is True
        assert isinstance(caps["runtime"]["capabilitiesLastUpdatedAt"], str)
        assert list(caps["methods"]) == list(PROBED_METHODS) and len(PROBED_METHODS) == 29
        assert list(caps["details"]) == list(PROBED_METHODS)
        for method, status in caps["methods"].items():
            assert status in {"available", "disabled", "unknown"}
            assert caps["details"][method]["status"] == status
            reason = caps["details"][method]["reason"]
            assert (reason is None) == (status == "available")
        # Upstream's 23, plus our three stream extensions (gateway/stream_extensions.py).
        assert len(caps["features"]) == 26
        assert caps["features"]["streamToolCallAnswers"] is True
        assert caps["features"]["streamEventTypes"] is True
        assert all(isinstance(v, bool) for v in caps["features"].values())
        assert caps["features"]["dynamicToolCall"] is True
        assert caps["features"]["planUpdates"] is False  # playbook emits no plan updates
        # Truth: a method marked available answers non-501 on every route that calls it;
        # one marked disabled answers 501 there.
        for method, status in caps["methods"].items():
            for route in routes_calling(method):
                answer = await _call(http, route, session_id)
                assert (answer.status_code == 501) == (status != "available"), (method,
                                                                                 answer.text)
        assert (await http.get("/api/capabilities", params={"refresh": "yes"})).status_code == 400
        assert (await http.get("/api/capabilities", params={"refresh": "true"})).status_code == 200


async def test_unknown_routes_are_still_route_misses(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        for method, path in (("GET", "/api/nope"), ("POST", f"/api/sessions/{session_id}/x"),
                             ("GET", "/api/projects/p/nope"), ("POST", "/api/capabilities/x")):
            response = await http.request(method, path)
            assert _route_miss(response), response.text
            assert response.json()["message"] == f"Route {method}:{path} not found"
        # A registered path with a method upstream lacks: 405, not a route miss.
        assert (await http.put("/api/capabilities")).status_code == 405


async def test_openapi_and_api_listing_come_from_the_table(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        spec = (await http.get("/openapi.json")).json()
        info = (await http.get("/api")).json()
    for route in ROUTES:
        op = spec["paths"][route.path][route.method.lower()]
        codes = set(op["responses"])
        assert {"401", "500"} <= codes and codes & {"200", "202"}, route.operation
        # 501 is documented wherever some runtime answers it, with the reason
        if route.needs_queue:  # upstream's queue-disabled answer, never a 501
            assert "503" in codes and "501" not in codes, route.operation
            assert route.why in op["description"], route.operation
        elif route.serves != frozenset(RUNTIMES):
            assert "501" in codes and route.why in op["description"], route.operation
        if route.session_scoped:  # (pending lists answer unknown ids with an empty list)
            assert "410" in codes, route.operation
        if route.method == "POST":  # every body is read: size and media type hold
            assert {"400", "413", "415"} <= codes, route.operation
        if route.kind == "runtime" and route.serves:  # an app-server failure, mapped
            assert {"409", "503", "504"} <= codes, route.operation
        if route.body is not None and "requestBody" in op:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"]
    listed = {(r["method"], r["path"]): r["status"] for r in info["routes"]}
    assert listed == {r.key: ("implemented" if r.served_on("playbook") else "not_implemented")
                      for r in ROUTES}
    assert info["name"] == "Codex Manager API" and info["version"] == "0.1.0"


def test_docs_coverage_table_is_the_table() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "gateway.md").read_text()
    block = docs.split("<!-- coverage:begin", 1)[1].split("<!-- coverage:end -->", 1)[0]
    assert block.split("\n", 1)[1].strip() == coverage_table()


async def test_bad_bodies_on_every_new_post_route_are_4xx(tmp_path: Path) -> None:
    """Malformed JSON, wrong types and oversized bodies on the new POST rows: the 4xx
    envelope, never a 500 and never the 501 (the body is read before any 501)."""
    json_type = {"content-type": "application/json"}
    wrong_types = b'[1, 2]'  # no row takes an array
    huge = b'{"x": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        for route in ROUTES:
            if route.kind == "served" or route.method != "POST":
                continue
            url = _url(route, session_id)
            for name, body, want in (("malformed", b'{"a": ', 400), ("huge", huge, 413),
                                     ("text/plain", b"{}", 415)):
                headers = json_type if name != "text/plain" else {"content-type": "text/plain"}
                response = await http.post(url, content=body, headers=headers)
                assert response.status_code == want, (route.operation, name, response.text)
                assert response.json()["code"] == "request_failed"
            if route.body is not None:
                response = await http.post(url, content=wrong_types, headers=json_type)
                # A queue row checks its body after the queue: the 503 answers first.
                want = 503 if route.needs_queue else 400
                assert response.status_code == want, (route.operation, response.text)
