"""The session ceiling's names and defaults, apart from the policy code that applies them.

Why apart: `teammesh serve --help` lists them as choices and defaults, and building that
help must not import the wire's pydantic models (see `teammesh.cli_lazy`). The wire's
Literals (`wire.FilesystemSandbox`, `wire.ApprovalPolicy`) say the same values for the
request bodies; a test holds the two equal.
"""

from __future__ import annotations

SANDBOX_ORDER: tuple[str, ...] = ("read-only", "workspace-write", "danger-full-access")
APPROVAL_POLICIES: tuple[str, ...] = ("untrusted", "on-failure", "on-request", "never")
DEFAULT_MAX_SANDBOX = "workspace-write"
DEFAULT_MAX_RUNTIMES = 8
# A fork copies its source (up to 20 000 transcript rows, 16 Mi characters): past this many
# live sessions the gateway makes no more copies (creates copy nothing and are not held to it).
DEFAULT_FORK_SESSION_LIMIT = 1000
