"""Run the gateway inside another program: `start_gateway` (async) and `GatewayThread` (sync).

    async with start_gateway(data_dir=tmp) as gateway:
        httpx.get(gateway.base_url + "/api/health")

    with GatewayThread(data_dir=tmp) as gateway:   # own event loop in a background thread
        ...

Both bind the socket before serving, so `base_url` carries the real port even with
`port=0`. Binding a non-loopback host without a token is refused (`InsecureBindError`).
Requests whose Host or Origin is not the gateway's own are refused (`allow_hosts` /
`allow_origins` add names; see `teammesh.serving.origin_guard`), and `limits` bounds what
one client can make the gateway hold (`teammesh.serving.limits.ServerLimits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from teammesh.gateway.app import build_app
from teammesh.gateway.hub import Hub
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.session_policy import SessionCeiling
from teammesh.gateway.store import Store
from teammesh.serving.http_protocol import uvicorn_options
from teammesh.serving.limits import ServerLimits
from teammesh.serving.listener import bind_listener, bound_port
from teammesh.serving.origin_guard import GuardPolicy
from teammesh.serving.quiet_server import EmbeddedServer
from teammesh.serving.thread_twin import ServingThread, bound_arguments, same_arguments_as
from teammesh.serving.uvicorn_start import serving

log = logging.getLogger("teammesh.gateway")


class InsecureBindError(ValueError):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise InsecureBindError(
            f"refusing to listen on non-loopback host {host!r} without a token: "
            "pass --token or set TEAMMESH_TOKEN (clients then send 'Authorization: Bearer ...')"
        )


@dataclass
class RunningGateway:
    host: str
    port: int
    hub: Hub
    _server: Any = field(repr=False)
    _task: asyncio.Task[None] = field(repr=False)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def wait_closed(self) -> None:
        await asyncio.shield(self._task)

    def request_stop(self) -> None:
        self._server.should_exit = True


@contextlib.asynccontextmanager
async def start_gateway(
    *,
    data_dir: str | Path,
    runtime: str = "playbook",
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    settings: RuntimeSettings | None = None,
    ceiling: SessionCeiling | None = None,
    durability: str = "normal",
    allow_hosts: Sequence[str] = (),
    allow_origins: Sequence[str] = (),
    limits: ServerLimits | None = None,
) -> AsyncIterator[RunningGateway]:
    _check_listener(host, port, token, allow_hosts, allow_origins)
    limits = limits or ServerLimits()
    data_path = Path(data_dir)
    if settings is None:
        settings = RuntimeSettings(data_dir=data_path)
    sock = bind_listener(host, port)  # first: a busy port fails before any state is opened
    try:
        store = Store(data_path)
        if durability != "normal":
            store.set_durability(durability)
    except BaseException:
        sock.close()
        raise
    try:
        hub = Hub(store, default_runtime=runtime, settings=settings, ceiling=ceiling)
    except BaseException:
        store.close()
        sock.close()
        raise
    guard = GuardPolicy.for_listener(host, bound_port(sock), allow_hosts, allow_origins)
    config = uvicorn.Config(
        build_app(hub, token=token, guard=guard, limits=limits),
        log_level="warning",
        access_log=False,
        lifespan="off",
        # ws: the websockets-sansio protocol, from uvicorn_options (quiet handshake refusals)
        ws_max_size=1024 * 1024,
        # No permessage-deflate: frames are small and compressing them costs more latency
        # (on both ends) than it saves on loopback. Clients negotiate it away transparently.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=2,
        **uvicorn_options(limits),
    )
    server = EmbeddedServer(config)
    try:
        # Stop runtimes first: turns end and sockets get their last events before closing.
        async with serving(server, sock, before_exit=hub.close,
                           stopped_early=lambda: RuntimeError(
                               "gateway server stopped during startup")) as task:
            hub.warmup.start()  # codex starts now, in the background (runtime_warmup.py)
            yield RunningGateway(host, bound_port(sock), hub, server, task)
    finally:
        sock.close()
        store.close()


def _check_listener(host: str, port: int, token: str | None, allow_hosts: Sequence[str],
                    allow_origins: Sequence[str]) -> None:
    check_bind(host, token)
    GuardPolicy.for_listener(host, port, allow_hosts, allow_origins)  # bad entries: fail now


class GatewayThread:
    """The sync twin: runs `start_gateway` on its own event loop in a daemon thread. Takes
    the arguments of `start_gateway`; a bad bind or guard entry fails here already."""

    @same_arguments_as(start_gateway)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        given = bound_arguments(start_gateway, args, kwargs)
        _check_listener(given["host"], given["port"], given["token"], given["allow_hosts"],
                        given["allow_origins"])
        self._twin = ServingThread(lambda: start_gateway(*args, **kwargs), "teammesh-gateway")

    @property
    def base_url(self) -> str:
        return self.gateway.base_url

    @property
    def hub(self) -> Hub:
        return self.gateway.hub

    @property
    def gateway(self) -> RunningGateway:
        gateway = self._twin.value
        if gateway is None:
            raise RuntimeError("gateway not started")
        return gateway

    def start(self) -> GatewayThread:
        self._twin.start()
        return self

    def stop(self) -> None:
        self._twin.stop(timeout=15)

    def __enter__(self) -> GatewayThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
