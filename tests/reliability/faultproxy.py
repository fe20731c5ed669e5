"""A loopback TCP proxy that breaks websockets on purpose.

Every connection to the proxy is forwarded to the gateway. A connection whose first request
is a websocket upgrade is a *stream* connection: each chunk it carries (either way) is held
for a random delay (order kept), and the connection is cut — both sockets closed, no close
frame — after a random lifetime. Plain HTTP passes untouched, so the polling fallback is what
must make up for what the stream loses. All randomness comes from one seeded `Random`.

`FaultProxy` runs on its own event loop in a daemon thread, so in-process tests and
subprocess runners can both point at `proxy.base_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass, field


@dataclass
class FaultPlan:
    cut_after: tuple[float, float] = (0.3, 1.5)  # a stream connection's lifetime, seconds
    delay: tuple[float, float] = (0.0, 0.15)  # per chunk, seconds
    seed: int = 8


@dataclass
class ProxyCounts:
    stream_connections: int = 0
    stream_cuts: int = 0
    http_connections: int = 0
    delayed_chunks: int = 0


@dataclass
class FaultProxy:
    upstream_port: int
    plan: FaultPlan = field(default_factory=FaultPlan)
    counts: ProxyCounts = field(default_factory=ProxyCounts)
    port: int = 0
    faults_on: bool = True
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None
    _stop: asyncio.Event | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.plan.seed)
        self._ready = threading.Event()
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()),
                                        name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        async with self._server:
            await self._stop.wait()
            self._server.close()

    # -- one connection --------------------------------------------------------------------

    def _draw(self, bounds: tuple[float, float]) -> float:
        with self._lock:
            return self._rng.uniform(*bounds)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
                      ) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        first = await client_r.read(65536)
        is_stream = b"upgrade: websocket" in first.lower()
        faulty = is_stream and self.faults_on
        if is_stream:
            self.counts.stream_connections += 1
        else:
            self.counts.http_connections += 1
        up_w.write(first)
        pumps = [asyncio.ensure_future(self._pump(client_r, up_w, faulty)),
                 asyncio.ensure_future(self._pump(up_r, client_w, faulty))]
        lifetime = self._draw(self.plan.cut_after) if faulty else None
        done, _ = await asyncio.wait(pumps, timeout=lifetime,
                                     return_when=asyncio.FIRST_COMPLETED)
        if not done:
            self.counts.stream_cuts += 1
        for pump in pumps:
            pump.cancel()
        for writer in (client_w, up_w):
            # An abrupt cut: no close frame, no FIN handshake to wait for.
            with contextlib.suppress(Exception):
                writer.transport.abort()
        for pump in pumps:
            with contextlib.suppress(BaseException):
                await pump

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    faulty: bool) -> None:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            if faulty:
                self.counts.delayed_chunks += 1
                await asyncio.sleep(self._draw(self.plan.delay))
            writer.write(chunk)
            await writer.drain()
