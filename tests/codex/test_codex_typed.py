"""`cm.typed`'s pass-through models against the real codex app-server: every row codex
forwards validates as its permissive model (the fields upstream documents, extra keys
kept), and a refused row is the `ErrorEnvelope` that says the policy. The playbook side of
the typed facade is tests/client/test_typed_namespaces.py."""

from __future__ import annotations

import pytest

from teammesh import wire_responses as r
from teammesh import wire_responses_namespaces as n
from teammesh.client import CodexManager

from .stack import Stack

pytestmark = [pytest.mark.codex]


def test_forwarded_rows_validate_as_their_models(stack: Stack) -> None:
    with CodexManager(base_url=stack.base_url) as cm:
        t = cm.typed
        models = t.models.list(limit=5)
        assert isinstance(models, n.ModelPage) and models.data
        assert all(m.id and m.displayName is not None for m in models.data)
        features = t.system.experimental_features(limit=2)
        assert isinstance(features, n.ExperimentalFeaturePage) and features.data
        modes = t.system.collaboration_modes()
        assert isinstance(modes, n.CollaborationModePage)
        assert "default" in {m.mode for m in modes.data}
        assert isinstance(t.mcp.servers(limit=5), n.McpServerPage)
        assert isinstance(t.apps.list(limit=5), n.AppPage)
        skills = t.skills.list(cwd=str(stack.workspace))
        assert isinstance(skills, n.SkillsPage) and skills.data[0].cwd == str(stack.workspace)
        account = t.account.get()
        assert isinstance(account, n.AccountState) and account.account is None
        assert isinstance(t.config.get(cwd=str(stack.workspace)), n.ConfigRead)
        assert isinstance(t.config.requirements(), n.ConfigRequirements)
        # no account: the allowed 401 `auth_required` envelope
        limits = t.account.rate_limits()
        assert isinstance(limits, r.ErrorEnvelope) and limits.code == "auth_required"
        # refused by policy on every runtime
        refused = t.runtime.exec(command=["true"])
        assert isinstance(refused, r.ErrorEnvelope) and refused.code == "method_not_supported"
