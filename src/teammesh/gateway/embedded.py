"""Run the gateway inside another program: `start_gateway` (async) and `GatewayThread` (sync).

    async with start_gateway(data_dir=tmp) as gateway:
        httpx.get(gateway.base_url + "/api/health")

    with GatewayThread(data_dir=tmp) as gateway:   # own event loop in a background thread
        ...

Both bind the socket before serving, so `base_url` carries the real port even with
`port=0`. Binding a non-loopback host without a token is refused (`InsecureBindError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from teammesh.gateway.app import build_app
from teammesh.gateway.hub import Hub
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.session_policy import SessionCeiling
from teammesh.gateway.store import Store

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


class _Server(uvicorn.Server):
    """uvicorn without its signal handling: the embedding program (or our CLI) owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


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


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


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
) -> AsyncIterator[RunningGateway]:
    check_bind(host, token)
    data_path = Path(data_dir)
    if settings is None:
        settings = RuntimeSettings(data_dir=data_path)
    sock = _bind(host, port)  # first: a busy port fails before any state is opened
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
    config = uvicorn.Config(
        build_app(hub, token=token),
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="websockets-sansio",
        ws_max_size=1024 * 1024,
        # No permessage-deflate: frames are small and compressing them costs more latency
        # (on both ends) than it saves on loopback. Clients negotiate it away transparently.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise why it could not start
                raise RuntimeError("gateway server stopped during startup")
            await asyncio.sleep(0.005)
        gateway = RunningGateway(host, sock.getsockname()[1], hub, server, task)
        yield gateway
    finally:
        # Stop runtimes first: turns end and sockets get their last events before closing.
        await hub.close()
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await task
        sock.close()
        store.close()


class GatewayThread:
    """The sync twin: runs `start_gateway` on its own event loop in a daemon thread."""

    def __init__(
        self,
        *,
        data_dir: str | Path,
        runtime: str = "playbook",
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        settings: RuntimeSettings | None = None,
        ceiling: SessionCeiling | None = None,
        durability: str = "normal",
    ) -> None:
        check_bind(host, token)
        self._kwargs: dict[str, Any] = dict(
            data_dir=data_dir,
            runtime=runtime,
            host=host,
            port=port,
            token=token,
            settings=settings,
            ceiling=ceiling,
            durability=durability,
        )
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._gateway: RunningGateway | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return self.gateway.base_url

    @property
    def hub(self) -> Hub:
        return self.gateway.hub

    @property
    def gateway(self) -> RunningGateway:
        if self._gateway is None:
            raise RuntimeError("gateway not started")
        return self._gateway

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with start_gateway(**self._kwargs) as gateway:
                self._gateway = gateway
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    def start(self) -> GatewayThread:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), name="teammesh-gateway", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=15)

    def __enter__(self) -> GatewayThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
