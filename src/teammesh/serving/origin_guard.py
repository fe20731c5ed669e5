"""Refuse requests a web page could make on a user's behalf, before any route or token check.

Two browser attacks reach a server on 127.0.0.1 although it never listens publicly:

- DNS rebinding: a page on `evil.example` re-points that name at 127.0.0.1 and talks to us
  as a "same-origin" site. The browser still sends `Host: evil.example[:port]`, so every
  request (HTTP and the websocket handshake) whose Host is not a name we answer for is
  refused: 403 `forbidden_host`.
- Cross-site requests: a page's `fetch`/form POST, or a websocket it opens (browsers send no
  CORS preflight for either), carries that page's `Origin`. A request that changes state
  (any method but GET/HEAD/OPTIONS) and every websocket handshake is refused when it
  carries an Origin that is not our own or explicitly allowed: 403 `forbidden_origin`.
  `Origin: null` (sandboxed frames, file pages, some redirects) is never allowed.

Programs that are not browsers (our client, codex-manager's client, curl, codex) send a
correct Host and no Origin, so they are unaffected.

Decisions, and why they are safe:
- A loopback name without a port (`Host: localhost`) is accepted. A browser always derives
  Host from the URL it fetches and a page cannot set it, so a rebinding attack always
  carries the attacker's own name; the port never makes a loopback name dangerous.
- A missing Host is accepted on HTTP/1.0 (no browser sends such a request; a local program
  could as well send a correct Host) and refused with 400 `invalid_host` on HTTP/1.1, as
  RFC 9112 §3.2 requires; more than one Host header is refused the same way.
- When bound to a wildcard address (`0.0.0.0`, `::`) any IP-literal Host is accepted too:
  a rebinding attack needs a DNS name, an IP literal cannot be rebound.
- `Sec-Fetch-Site: cross-site` or `same-site` on a state-changing request or a handshake
  that carries no Origin is refused too (defence in depth: browsers send Origin on these
  today, but a request that says it is cross-site and hides its origin is not ours).
  `same-site` matters on loopback: a page on `http://localhost:8080` is same-site with us.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Sec-Fetch-Site values a browser sends for requests it did not get from another site.
_OWN_FETCH_SITES = (b"same-origin", b"none")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")  # DNS names and IPv4 literals


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


def gateway_error_body(code: str, message: str) -> bytes:
    """The gateway's error envelope (wire §2.1)."""
    return json.dumps({"status": "error", "code": code, "message": message}).encode()


def _name(host: str) -> str:
    """A bind address or host name as it appears in a Host header (IPv6 in brackets)."""
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def split_host(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` → (lowercased name, port or None); None when it is not a valid Host."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return None
    else:
        name, colon, port_text = value.partition(":")
        rest = colon + port_text
        if not _HOST_NAME.fullmatch(name):
            return None
    if not rest:
        return name, None
    digits = rest[1:]
    # isascii: "²".isdigit() is True, and the header is decoded as latin-1.
    if rest[0] != ":" or not (digits.isascii() and digits.isdigit()) or len(digits) > 5:
        return None
    port = int(digits)
    return (name, port) if 0 < port < 65536 else None


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return False
    return True


def normalize_origin(value: str) -> str | None:
    """`scheme://host[:port]` lowercased, default port dropped; None if not a web origin."""
    value = value.strip()
    if not value or value.lower() == "null":
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or parts.path not in ("", "/") or parts.query \
            or parts.fragment or parts.username is not None or parts.password is not None:
        return None
    if not parts.hostname:
        return None
    name = _name(parts.hostname)
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{name}"
    return f"{scheme}://{name}:{port}"


@dataclass(frozen=True)
class GuardPolicy:
    """Which Host and Origin values a server bound to `host:port` answers."""

    port: int
    own_names: frozenset[str]  # with the bound port or no port
    extra_hosts: frozenset[tuple[str, int | None]]  # allow_hosts; port None = any port
    any_ip_literal: bool
    origins: frozenset[str]

    @classmethod
    def for_listener(
        cls,
        host: str,
        port: int,
        allow_hosts: Iterable[str] = (),
        allow_origins: Iterable[str] = (),
    ) -> GuardPolicy:
        """The policy of a server listening on `host:port` (the real, bound port).

        Raises ValueError for an `allow_hosts` / `allow_origins` entry that is not a valid
        host name / web origin, so a typo fails at startup instead of refusing every call."""
        own = set(LOOPBACK_NAMES)
        wildcard = host.strip() in WILDCARD_HOSTS
        if not wildcard:
            own.add(_name(host))
        extra: set[tuple[str, int | None]] = set()
        for entry in allow_hosts:
            parsed = split_host(entry)
            if parsed is None:
                raise ValueError(f"not a host name (name or name:port): {entry!r}")
            extra.add(parsed)
        origins = set()
        for name in own:
            origins.add(normalize_origin(f"http://{name}:{port}"))
        for entry in allow_origins:
            origin = normalize_origin(entry)
            if origin is None:
                raise ValueError(f"not a web origin (scheme://host[:port]): {entry!r}")
            origins.add(origin)
        return cls(
            port=port,
            own_names=frozenset(own),
            extra_hosts=frozenset(extra),
            any_ip_literal=wildcard,
            origins=frozenset(o for o in origins if o is not None),
        )

    def host_allowed(self, value: str) -> bool:
        parsed = split_host(value)
        if parsed is None:
            return False
        name, port = parsed
        if (name, port) in self.extra_hosts or (name, None) in self.extra_hosts:
            return True
        if port is not None and port != self.port:
            return False
        return name in self.own_names or (self.any_ip_literal and _is_ip_literal(name))

    def origin_allowed(self, value: str) -> bool:
        origin = normalize_origin(value)
        return origin is not None and origin in self.origins

    def check(self, scope: Scope) -> Refusal | None:
        """Why this http/websocket scope is refused, or None to let it through."""
        hosts: list[bytes] = []
        origins: list[bytes] = []
        fetch_site: bytes | None = None
        for name, value in scope.get("headers", ()):
            if name == b"host":
                hosts.append(value)
            elif name == b"origin":
                origins.append(value)
            elif name == b"sec-fetch-site":
                fetch_site = bytes(value).strip().lower()
        if len(hosts) > 1:
            return Refusal(400, "invalid_host", "more than one Host header")
        if not hosts:
            if scope.get("http_version", "1.1") != "1.0":
                return Refusal(400, "invalid_host", "missing Host header")
        elif not self.host_allowed(bytes(hosts[0]).decode("latin-1")):
            return Refusal(
                403, "forbidden_host",
                "Host header names a server this is not; allow it with --allow-host",
            )
        if scope["type"] == "http" and scope.get("method", "GET") in SAFE_METHODS:
            return None  # reads: the browser's same-origin policy keeps the answer from a page
        if len(origins) > 1:
            return Refusal(403, "forbidden_origin", "more than one Origin header")
        if origins:
            if not self.origin_allowed(bytes(origins[0]).decode("latin-1")):
                return Refusal(
                    403, "forbidden_origin",
                    "cross-origin request refused; allow the origin with --allow-origin",
                )
        elif fetch_site is not None and fetch_site not in _OWN_FETCH_SITES:
            return Refusal(403, "forbidden_origin", "cross-site request refused")
        return None


class HostOriginGuard:
    """ASGI middleware applying a `GuardPolicy`; wrap it outside any token check."""

    def __init__(
        self,
        app: ASGIApp,
        policy: GuardPolicy,
        error_body: Callable[[str, str], bytes] = gateway_error_body,
    ) -> None:
        self.app = app
        self.policy = policy
        self._error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.policy.check(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        body = self._error_body(refusal.code, refusal.message)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": refusal.status,
                        "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": refusal.status,
                        "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})  # the server answers 403
