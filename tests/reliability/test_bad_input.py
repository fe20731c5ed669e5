"""Bad input, from every side: nothing a client, an agent or a team file author sends may
crash the system, change state it was refused for, or come back as a 5xx.

- HTTP: schemathesis generates valid and invalid requests for every operation of our own
  `/openapi.json` (path ids drawn from real sessions half of the time); plus JSON and Unicode
  edge cases on every body route (lone surrogates, NUL, deep nesting, huge numbers, BOMs).
  Zero 5xx; every 4xx is a JSON object in the wire's envelope. (Plain malformed JSON, wrong
  content types, 413 bodies and unknown ids are covered in tests/gateway/test_http_errors.py.)
- Tool arguments, through the real gateway and the playbook brain: schema breaks, oversized
  strings, control characters — `success: false` with a reason, board unchanged; odd but valid
  Unicode round-trips exactly.
- Team files: hundreds of seeded mutations of the built-in file are loaded or refused with
  `TeamFileError(file, key, reason)` — never another exception.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from teammesh.client import AsyncCodexManager
from teammesh.gateway.app import ROUTES
from teammesh.gateway.embedded import GatewayThread, start_gateway
from teammesh.gateway.upstream_routes import ROUTES as UPSTREAM_ROUTES
from teammesh.mesh.board import TeamBoard, create_board
from teammesh.mesh.skills import MemberSkills
from teammesh.mesh.teamfile import TeamFileError, load_team
from teammesh.wire import MAX_BODY_BYTES

from .procs import run_command

EXAMPLES_PER_MODE = 32
ENVELOPE_STATUSES = {"error", "not_found", "conflict", "reconciled", "no_active_turn",
                     "deleted", "locked",
                     # upstream's own statuses on the project and suggested-request routes
                     "duplicate_name", "project_not_empty", "project_not_found",
                     "invalid_request"}


def documented_501(operation: Any, response: Any) -> bool:
    """Upstream's 501 on a route the OpenAPI document says answers it (a route this
    gateway registers but does not implement, gateway/upstream_routes.py): by design."""
    if response.status_code != 501 or "501" not in operation.definition.raw["responses"]:
        return False
    try:
        return bool(json.loads(response.content).get("code") == "method_not_supported")
    except ValueError:
        return False


def envelope_problem(response: httpx.Response | Any) -> str | None:
    """Why a 4xx body is not in the wire's envelope, or None."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"not JSON: {response.content[:80]!r}"
    if not isinstance(body, dict):
        return f"not an object: {body!r}"[:120]
    status = body.get("status")
    if status not in ENVELOPE_STATUSES:
        return f"unknown status {status!r}"
    if status == "error" and not (isinstance(body.get("code"), str)
                                  and isinstance(body.get("message"), str)):
        return f"error without code/message: {body!r}"[:120]
    return None


# --- schemathesis over our own OpenAPI document ----------------------------------------------


@pytest.mark.timeout(170)
def test_schemathesis_every_operation_no_5xx_and_4xx_enveloped(tmp_path: Path) -> None:
    outcomes: collections.Counter[tuple[str, str, int]] = collections.Counter()
    problems: list[str] = []
    with GatewayThread(data_dir=tmp_path) as gateway, \
            httpx.Client(base_url=gateway.base_url, timeout=10) as http:
        real_ids = [http.post("/api/sessions", json={}).json()["session"]["sessionId"]
                    for _ in range(2)]
        schema = schemathesis.openapi.from_url(gateway.base_url + "/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        documented_labels = {f"{method.upper()} {path}" for path, methods in
                             http.get("/openapi.json").json()["paths"].items()
                             for method in methods}
        def fuzz(operation: Any, mode: GenerationMode) -> None:
            @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None,
                      derandomize=True, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode),
                   real=st.sampled_from([None, *real_ids]))
            def exercise(case: Any, real: str | None) -> None:
                if real is not None and "sessionId" in (case.path_parameters or {}):
                    case.path_parameters["sessionId"] = real
                response = case.call(base_url=gateway.base_url, timeout=10)
                outcomes[(operation.label, mode.value, response.status_code)] += 1
                where = f"{operation.label} [{mode.value}] -> {response.status_code}"
                documented = operation.definition.raw["responses"]
                if str(response.status_code) not in documented:
                    problems.append(f"{where}: status not in the document's "
                                    f"{sorted(documented)}")
                if response.status_code >= 500 and not documented_501(operation, response):
                    problems.append(f"{where}: {response.content[:200]!r}")
                elif response.status_code >= 400 and (problem := envelope_problem(response)):
                    problems.append(f"{where}: {problem}")

            try:
                exercise()
            except Unsatisfiable:
                pass  # no invalid form exists (e.g. an operation with only a path id)

        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, mode)
        assert http.get("/api/sessions").status_code == 200  # still serving

    tried = sum(outcomes.values())
    by_class = collections.Counter(f"{status // 100}xx" for _, _, status in outcomes.elements())
    print(f"\nschemathesis: {len(operations)} operations, {tried} requests"
          f" ({dict(sorted(by_class.items()))}), 5xx: "
          f"{sum(n for (_, _, s), n in outcomes.items() if s >= 500)}")
    # Every operation of the document was exercised: every upstream row and our own routes.
    assert {op.label for op in operations} == documented_labels
    assert len(operations) >= len(UPSTREAM_ROUTES)
    assert tried >= len(operations) * EXAMPLES_PER_MODE // 2
    assert problems == [], sorted(set(problems))[:40]


# --- JSON and Unicode edge cases on every body route --------------------------------------------

EDGE_BODIES: dict[str, bytes] = {
    "deep array": b"[" * 100_000,
    "deep object": b'{"a":' * 50_000,
    "huge integer": b'{"title": 1' + b"0" * 5000 + b"}",
    "NaN": b'{"title": NaN, "text": Infinity}',
    "BOM": b'\xef\xbb\xbf{"title": "x", "text": "x"}',
    "latin-1": '{"title": "café", "text": "café"}'.encode("latin-1"),
    "overlong UTF-8": b'{"title": "\xc0\xaf"}',
    "duplicate keys": b'{"title": "a", "title": "b", "text": "a", "text": "b"}',
    "NUL inside": b'{"title": "a\\u0000b", "text": "a\\u0000b"}',
}
# Every string field of every body, given a lone UTF-16 surrogate (valid JSON, not Unicode).
SURROGATE = "\\udfff"
SURROGATE_BODIES: dict[str, str] = {
    "create.model": f'{{"model": "{SURROGATE}"}}',
    "create.cwd": f'{{"cwd": "{SURROGATE}"}}',
    "create.tool name": f'{{"dynamicTools": [{{"name": "{SURROGATE}", "description": "d",'
                        ' "inputSchema": {"type": "object"}}]}',
    "create.tool schema": '{"dynamicTools": [{"name": "t", "description": "d",'
                          f' "inputSchema": {{"type": "object", "title": "{SURROGATE}"}}}}]}}',
    "rename.title": f'{{"title": "{SURROGATE}"}}',
    "message.text": f'{{"text": "{SURROGATE}"}}',
    "message.model": f'{{"text": "hi", "model": "{SURROGATE}"}}',
    "interrupt.turnId": f'{{"turnId": "{SURROGATE}"}}',
    "tool response.text": '{"response": {"contentItems": [{"type": "inputText",'
                          f' "text": "{SURROGATE}"}}], "success": true}}}}',
    "tool response.result": f'{{"result": "{SURROGATE}"}}',
    "approval.decision": f'{{"decision": "{SURROGATE}"}}',
}


@pytest.mark.timeout(60)
def test_json_and_unicode_edge_cases_never_5xx(tmp_path: Path) -> None:
    with GatewayThread(data_dir=tmp_path) as gateway, \
            httpx.Client(base_url=gateway.base_url, timeout=10) as http:
        session_id = http.post("/api/sessions", json={}).json()["session"]["sessionId"]
        routes = ["/api/sessions", f"/api/sessions/{session_id}/rename",
                  f"/api/sessions/{session_id}/messages", f"/api/sessions/{session_id}/interrupt",
                  "/api/tool-calls/1/response", "/api/approvals/1/decision",
                  "/api/tool-input/1/decision"]
        tried = 0
        failures: list[str] = []
        bodies = {**EDGE_BODIES, **{k: v.encode() for k, v in SURROGATE_BODIES.items()}}
        for route in routes:
            for name, body in bodies.items():
                response = http.post(route, content=body,
                                     headers={"content-type": "application/json"})
                tried += 1
                if response.status_code >= 500:
                    failures.append(f"{route} {name}: {response.status_code}"
                                    f" {response.content[:120]!r}")
                elif response.status_code >= 400 and (problem := envelope_problem(response)):
                    failures.append(f"{route} {name}: {problem}")
        # Path ids that are not UTF-8 once percent-decoded.
        for path in ("/api/sessions/%ED%A0%80", "/api/sessions/%FF%FE/tool-calls",
                     "/api/tool-calls/%ED%A0%80/response"):
            response = http.request("POST" if "response" in path else "GET", path,
                                    json={"result": "x"} if "response" in path else None)
            tried += 1
            if response.status_code >= 500:
                failures.append(f"{path}: {response.status_code}")
        # Nothing accepted above poisoned the gateway's state: listing and detail still work.
        assert http.get("/api/sessions").status_code == 200
        assert http.get(f"/api/sessions/{session_id}").status_code == 200
    print(f"\nJSON/Unicode edge cases: {tried} requests, {len(failures)} failures")
    assert failures == [], failures


@pytest.mark.timeout(60)
def test_malformed_wrong_typed_huge_bodies_and_unknown_ids_on_every_route(
    tmp_path: Path,
) -> None:
    """Every route the app declares, not a sample: unknown ids are 404, malformed
    JSON 400, wrong types 400 `invalid_request` with issues, 2 MiB bodies 413 whether
    declared or streamed — all in the envelope, never a 5xx."""
    json_type = {"content-type": "application/json"}
    huge = b'{"text": "' + b"x" * (2 * MAX_BODY_BYTES) + b'"}'

    def streamed() -> Any:
        yield b'{"text": "'
        for _ in range(2 * MAX_BODY_BYTES // 65536):
            yield b"y" * 65536
        yield b'"}'

    wrong_types = b'{"text": 5, "title": [], "decision": 7, "turnId": {}, "model": 1,' \
                  b' "cwd": false, "dynamicTools": "x", "result": null, "response": 3}'
    tried: collections.Counter[str] = collections.Counter()
    with GatewayThread(data_dir=tmp_path) as gateway, \
            httpx.Client(base_url=gateway.base_url, timeout=30) as http:
        session_id = http.post("/api/sessions", json={}).json()["session"]["sessionId"]
        for method, path, _ in ROUTES:
            unknown = (path.replace("{session_id}", "no-such-session")
                       .replace("{request_id}", "987654").replace("{approval_id}", "987654"))
            if "{" in path:
                response = http.request(method, unknown, json={"text": "t", "title": "t",
                                                                "decision": "accept",
                                                                "result": "r"})
                tried["unknown id"] += 1
                # Listings of unknown sessions answer an empty list (upstream's behaviour).
                assert response.status_code in (200, 404), (method, unknown, response.text)
                assert envelope_problem(response) is None or response.status_code == 200
            if method != "POST":
                continue
            # A real session: session routes look the session up before reading the body.
            target = unknown.replace("no-such-session", session_id)
            for name, body, want in (("malformed", b'{"text": ', {400}),
                                     ("wrong types", wrong_types, {400}),
                                     ("huge", huge, {413}),
                                     ("huge streamed", None, {413})):
                content = streamed() if body is None else body
                response = http.post(target, content=content, headers=json_type)
                tried[name] += 1
                assert response.status_code in want, (name, target, response.status_code)
                assert envelope_problem(response) is None, (name, target, response.text)
        # The issues name the fields.
        response = http.post(f"/api/sessions/{session_id}/messages", content=wrong_types,
                             headers=json_type)
        assert response.status_code == 400 and response.json()["code"] == "invalid_request"
        assert any(issue["path"] == ["text"] for issue in response.json()["issues"])
        assert http.get("/api/health").status_code == 200
    print(f"\nevery route: {dict(tried)} — no 5xx, all enveloped")


# --- tool arguments through the gateway ----------------------------------------------------------

ROSTER = ("developer", "docs", "reviewer")
LONG = "x" * 20_000
# (tool, arguments, a word the refusal must contain)
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("team_queue_work", {"owner": "docs"}, "task"),
    ("team_queue_work", {"owner": "docs", "task": 12}, "task"),
    ("team_queue_work", {"owner": "ghost", "task": "x"}, "owner"),
    ("team_queue_work", {"owner": "docs", "task": "   "}, "task"),
    ("team_queue_work", {"owner": "docs", "task": LONG}, "task"),
    ("team_queue_work", {"owner": "docs", "task": "ok", "member": "reviewer"}, "member"),
    ("team_queue_work", {"owner": "docs", "task": "clear \u001b[2J screen"}, "task"),
    ("team_publish_artifact", {"kind": "note", "summary": "s", "member": "reviewer"}, "member"),
    ("team_publish_artifact", {"kind": ["a"], "summary": "s"}, "kind"),
    ("team_publish_artifact", {"kind": "k\u0000", "summary": "s"}, "kind"),
    ("team_publish_artifact", {"kind": "k", "summary": LONG}, "summary"),
    ("team_publish_artifact", {"kind": LONG, "summary": "s"}, "kind"),
    ("team_read_board", {"limit": 0}, "limit"),
    ("team_read_board", {"limit": 26}, "limit"),
    ("team_read_board", {"limit": "5"}, "limit"),
    ("team_read_board", {"limit": True}, "limit"),
    ("team_read_board", {"limit": 2.5}, "limit"),
    ("team_mark_done", {"note": 5}, "note"),
    ("team_mark_done", {"member": "reviewer"}, "member"),
    ("team_mark_done", {"note": LONG}, "note"),
    ("team_mark_done", {"note": "done\u0007"}, "note"),
    ("team_pull_work", {"owner": "reviewer"}, "owner"),
]
# Odd but valid Unicode: accepted and stored exactly.
ACCEPTED_SUMMARY = ("naïve café — 東京 🚀🧑‍🚀 \u202eRTL\u202c zero\u200bwidth e\u0301 "
                    "tab\tand newline\nend")


def _board_state(board: TeamBoard) -> tuple[Any, ...]:
    return (board.tasks(), board.artifacts(), board.completed(), len(board.records()))


async def _call_once(cm: AsyncCodexManager, handle: Any, tool: str, arguments: dict[str, Any]
                     ) -> dict[str, Any]:
    """One turn whose only step calls `tool` with exactly `arguments`; returns the
    dynamicToolCall item the gateway recorded (arguments, success, contentItems)."""
    prompt = (f"Process for this turn:\n1. Call {tool} with "
              f"{json.dumps(arguments, ensure_ascii=True)}.\n2. Reply with the result.")
    accepted = await handle.send(prompt, inject_skills=False)
    turn_id = accepted["turnId"]
    for _ in range(400):
        await handle.drain_pending_calls()
        detail = await cm.sessions.get(handle.session_id)
        turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
        if turn["status"] != "inProgress":
            assert turn["status"] == "completed", turn
            (item,) = [i for i in turn["items"] if i.get("type") == "dynamicToolCall"]
            return dict(item)
        await asyncio.sleep(0.025)
    raise AssertionError(f"turn {turn_id} did not finish")


@pytest.mark.anyio
@pytest.mark.timeout(90)
async def test_bad_tool_arguments_are_refused_and_leave_the_board_unchanged(
    tmp_path: Path,
) -> None:
    board = create_board(run_id="run-bad-input", team="default", roster=ROSTER,
                         path=tmp_path / "board.sqlite")
    board.queue_work("developer", "the initial task", by="system", key="initial:0")
    skills = MemberSkills(member="developer", board=board)

    refused = 0
    try:
        async with start_gateway(data_dir=tmp_path / "gateway") as gateway, \
                AsyncCodexManager(base_url=gateway.base_url) as cm:
            _created, handle = await cm.remote_skills.create_session(
                register=skills.register, approval_policy="never")
            for tool, arguments, word in REFUSED:
                before = _board_state(board)
                item = await _call_once(cm, handle, tool, arguments)
                assert item["arguments"] == arguments  # the brain sent exactly these
                text = " ".join(c.get("text", "") for c in item["contentItems"] or [])
                assert item["success"] is False, (tool, arguments, text)
                assert word in text, (tool, arguments, text)
                assert _board_state(board) == before, (tool, arguments)
                refused += 1
            item = await _call_once(cm, handle, "team_publish_artifact",
                                    {"kind": "note", "summary": ACCEPTED_SUMMARY})
            assert item["success"] is True, item
            assert board.artifacts()[-1].summary == ACCEPTED_SUMMARY.strip()
    finally:
        board.close()
    print(f"\nbad tool arguments: {refused} refused with success:false, board unchanged;"
          " odd-but-valid Unicode stored exactly")


# --- malformed team files ------------------------------------------------------------------------

BUILTIN = Path(__file__).parents[2] / "src" / "teammesh" / "mesh" / "default_team.toml"
MUTATIONS = 300


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    choice = rng.randrange(7)
    index = rng.randrange(len(lines))
    if choice == 0:
        del lines[index]
    elif choice == 1:
        lines.insert(index, rng.choice(["[[members]]", "[team]", "x = ", "name = 5",
                                        "handoffs = \"docs\"", "[completion]", "= 1",
                                        "rounds = -3", "owner = \"ghost\"", "\x00",
                                        "turn_timeout = \"soon\"", "all_of = 7"]))
    elif choice == 2:
        line = lines[index]
        if "=" in line:
            key = line.split("=", 1)[0]
            lines[index] = key + "= " + rng.choice(
                ["0", "-1", "true", "[]", "{}", '""', '"   "', "1e400", '"\\u0000"',
                 "[1, 2]", '["ghost"]', "{ x = 1 }", "9999999999"])
    elif choice == 3:
        return text[: rng.randrange(len(text))]
    elif choice == 4:
        lines[index], lines[-1 - index] = lines[-1 - index], lines[index]
    elif choice == 5:
        lines[index] = lines[index].replace("developer", rng.choice(["", "Dev eloper", "docs"]))
    else:
        lines[index] = "".join(rng.sample(lines[index], len(lines[index])))
    return "\n".join(lines) + "\n"


def test_malformed_team_files_are_refused_with_file_key_and_reason(tmp_path: Path) -> None:
    rng = random.Random(4)
    original = BUILTIN.read_text(encoding="utf-8")
    outcome: collections.Counter[str] = collections.Counter()
    for number in range(MUTATIONS):
        path = tmp_path / f"team-{number}.toml"
        path.write_text(_mutate(original, rng), encoding="utf-8")
        try:
            load_team(path)
        except TeamFileError as exc:
            outcome["refused"] += 1
            assert str(path) in exc.file or path.name in exc.file, exc
            assert exc.key and exc.reason, exc
        else:
            outcome["loaded"] += 1
    # Bytes that are not UTF-8 and a file that is a directory.
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe[team]\x00")
    (tmp_path / "dir.toml").mkdir()
    for name in ("binary.toml", "dir.toml", "missing.toml"):
        with pytest.raises(TeamFileError):
            load_team(tmp_path / name)
    # The CLI says which file, which key and why — no traceback — and exits 2.
    broken = tmp_path / "broken.toml"
    data = tomllib.loads(original)
    broken.write_text(original.replace('rounds = 9', 'rounds = "nine"'), encoding="utf-8")
    assert data["team"]["rounds"] == 9
    result = run_command(["run", str(broken), "--board", "memory"], cwd=tmp_path, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "broken.toml" in result.stderr and "rounds" in result.stderr
    assert "Traceback" not in result.stderr
    print(f"\nteam files: {MUTATIONS} mutations, {outcome['refused']} refused with"
          f" file/key/reason, {outcome['loaded']} still valid; 0 other exceptions")
    assert outcome["refused"] >= MUTATIONS // 2
