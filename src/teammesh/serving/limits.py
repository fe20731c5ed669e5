"""Resource bounds for our HTTP servers, and the file-descriptor budget they must fit.

Every open connection costs a file descriptor. A process that runs out of descriptors
cannot accept, open SQLite files or start runtimes any more, so the connection cap is
clamped below the process's `RLIMIT_NOFILE` soft limit, leaving room for one accept batch
(asyncio accepts up to `backlog` sockets per loop tick before any of them can be refused)
and for the descriptors the rest of the process uses (stores, pipes to runtimes, clients).
"""

from __future__ import annotations

from dataclasses import dataclass

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

MIB = 1024 * 1024
# Listen backlog and accept batch: the kernel queues connections beyond it (costing us no
# descriptor); loopback clients never need a deeper queue.
ACCEPT_BATCH = 128
FD_RESERVE = 128


@dataclass(frozen=True)
class ServerLimits:
    """Bounds on what one client can make a server hold.

    The first three apply to both servers (enforced by `http_protocol`); the `ws_*` ones
    only to the gateway's `/api/stream`."""

    # A connection must send a complete request head within this many seconds of opening
    # (or of its previous response, for the next request on a keep-alive connection).
    header_timeout_s: float = 10.0
    # Request line plus headers; a bigger head is answered 431 and the connection closed.
    max_header_bytes: int = 64 * 1024
    # Open connections (HTTP and websocket together); one more is answered 503 and closed.
    # Clamped to the descriptor budget, see `connection_cap`.
    max_connections: int = 1000
    # What one websocket subscriber may have queued and not yet written (it is closed with
    # 1013 beyond either bound, and its client reconnects).
    ws_queue_bytes: int = 16 * MIB
    ws_queue_frames: int = 10_000
    # A client command frame larger than this is answered with an `error` frame unparsed.
    ws_command_bytes: int = 64 * 1024
    # Whether `/api/stream` grants its opt-in extensions (gateway/stream_extensions.py) to a
    # client that asks; False serves exactly codex-manager's stream to everyone.
    ws_extensions: bool = True

    def __post_init__(self) -> None:
        for name in ("max_header_bytes", "max_connections", "ws_queue_bytes",
                     "ws_queue_frames", "ws_command_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not self.header_timeout_s > 0:
            raise ValueError("header_timeout_s must be positive")


def descriptor_limit() -> int | None:
    """The soft RLIMIT_NOFILE, or None when unlimited / unknown."""
    if resource is None:
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return int(soft)


def accept_batch(fd_limit: int | None) -> int:
    return ACCEPT_BATCH if fd_limit is None else max(1, min(ACCEPT_BATCH, fd_limit // 4))


def connection_cap(requested: int, fd_limit: int | None) -> int:
    """`requested`, lowered so open connections + one accept batch + a reserve fit in
    `fd_limit` (1024 → 768)."""
    if fd_limit is None:
        return requested
    reserve = min(FD_RESERVE, fd_limit // 4)
    return max(1, min(requested, fd_limit - accept_batch(fd_limit) - reserve))
