"""The client's operation table is the gateway's upstream route table, row for row.

The client may not import the gateway (both only import `teammesh.wire`), so this test is
where the two tables meet: same operation names, methods, paths and allow-lists. A row
added or changed on one side without the other fails here.
"""

from __future__ import annotations

import ast
import inspect

from teammesh.client.api import _base
from teammesh.client.operations import OPERATIONS
from teammesh.gateway.upstream_routes import ROUTES

# upstream's client has a second name for GET /api/projects/{projectId}/orchestrator/jobs
ALIASES = {"projects.orchestrator.jobs.list": "orchestrator.jobs.list"}


def _client_row(name: str) -> tuple[str, str, str, tuple[int, ...]]:
    op = OPERATIONS[name]
    return (ALIASES.get(name, name), op.method, "/api" + op.path, op.allow)


def test_client_operations_equal_gateway_table() -> None:
    gateway = sorted((r.operation, r.method, r.path, r.allow) for r in ROUTES)
    client = sorted({_client_row(name) for name in OPERATIONS})
    assert client == gateway


def test_every_alias_is_its_route_exactly() -> None:
    for alias, name in ALIASES.items():
        assert (OPERATIONS[alias].method, OPERATIONS[alias].path, OPERATIONS[alias].allow) == (
            OPERATIONS[name].method, OPERATIONS[name].path, OPERATIONS[name].allow)


def test_no_operation_bypasses_the_table() -> None:
    # Every domain call goes through DomainApi._op (so through the table); the only raw
    # `_request` call left in the domain APIs is the base's own and `raw.request`'s.
    import teammesh.client.api as api

    sources = [inspect.getsource(module) for module in (
        api.sessions, api.session_actions, api.system, api.interactive,
        api.runtime_namespaces, api.state_namespaces, api.scope)]
    calls = sum(
        1
        for source in sources
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr == "_request"
    )
    assert calls == 1  # RawApi.request
    assert "self._request(" in inspect.getsource(_base.DomainApi._op)
