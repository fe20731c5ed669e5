"""`workspace-write` means the workspace only. codex's own workspace-write also lets commands
write /tmp and $TMPDIR unless told not to; a run folder under /tmp (a CI clone there) then
let one member write another member's worktree (found by the fresh-clone CI run:
tests/codex/test_codex_workspaces.py's sandbox test, with the clone under /tmp)."""

from __future__ import annotations

from teammesh.gateway.runtimes.codex_mapping import sandbox_policy


def test_workspace_write_excludes_tmp_and_tmpdir() -> None:
    policy = sandbox_policy("workspace-write", "restricted")
    assert policy == {"type": "workspaceWrite", "networkAccess": False,
                      "excludeSlashTmp": True, "excludeTmpdirEnvVar": True}


def test_the_other_sandboxes_are_unchanged() -> None:
    assert sandbox_policy("read-only", "restricted") == {"type": "readOnly"}
    assert sandbox_policy("danger-full-access", "restricted") == {"type": "dangerFullAccess"}
