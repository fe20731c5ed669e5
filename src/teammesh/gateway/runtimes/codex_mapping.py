"""Pure translations between the gateway's vocabulary and app-server's (codex 0.169.0).

Kept apart from the process plumbing so each rule is easy to read and to check against
`shared/reference/codex-manager-wire.md` §4.8/§4.10 and `codex-app-server.md` §3/§5.
"""

from __future__ import annotations

from teammesh.gateway.runtimes.base import DynamicTool, JsonObject

TOOL_CALL_METHOD = "item/tool/call"
# Answered by the runtime itself: it is about the host, not about the session.
CURRENT_TIME_METHOD = "currentTime/read"


def approval_policy(policy: str) -> str:
    """The wire's `approvalPolicy` → app-server's `AskForApproval`.

    `on-failure` is on the wire (§3) but app-server 0.169.0 rejects it in `thread/start` and
    `turn/start` (only `untrusted`, `on-request`, `never` and `granular` remain). Its meaning
    was "run sandboxed, ask before retrying outside the sandbox"; `on-request` is the
    surviving policy that still asks the user before anything leaves the sandbox, so that is
    what it becomes. The other three pass through unchanged.
    """
    return "on-request" if policy == "on-failure" else policy


def sandbox_policy(sandbox: str, network_access: str) -> JsonObject:
    """`filesystemSandbox` + `networkAccess` → a `turn/start` `sandboxPolicy` (wire §4.8)."""
    network = network_access == "enabled"
    if sandbox == "workspace-write":
        # The workspace only: codex's workspace-write also lets a command write /tmp and
        # $TMPDIR unless told not to, and a workspace (a member's worktree, a run folder) may
        # itself lie under /tmp, where every session could then write every other's tree.
        return {"type": "workspaceWrite", "networkAccess": network,
                "excludeSlashTmp": True, "excludeTmpdirEnvVar": True}
    if sandbox == "danger-full-access":
        return {"type": "dangerFullAccess"}
    policy: JsonObject = {"type": "readOnly"}
    if network:
        policy["networkAccess"] = True
    return policy


def dynamic_tools(tools: list[DynamicTool]) -> list[JsonObject]:
    # Flat functions (no `namespace` type): portable to every Responses-API model server.
    return [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "inputSchema": t.input_schema,
        }
        for t in tools
    ]


def text_input(text: str) -> list[JsonObject]:
    return [{"type": "text", "text": text, "text_elements": []}]


def rewrite_thread_ids(params: JsonObject, public_id_of: dict[str, str]) -> JsonObject:
    """Replace codex thread ids by the gateway's (stable) ones.

    They differ only for a thread that had to be re-created after an app-server restart
    (see `CodexRuntime._load_thread`). Returns `params` itself when nothing changes.
    """
    if not public_id_of:
        return params
    changed: JsonObject | None = None
    for key in ("threadId", "conversationId"):
        value = params.get(key)
        if isinstance(value, str) and value in public_id_of:
            changed = changed or dict(params)
            changed[key] = public_id_of[value]
    thread = params.get("thread")
    if isinstance(thread, dict):
        value = thread.get("id")
        if isinstance(value, str) and value in public_id_of:
            changed = changed or dict(params)
            changed["thread"] = {**thread, "id": public_id_of[value]}
    return changed if changed is not None else params
