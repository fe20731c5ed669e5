"""The TLS settings of the client's HTTP connection pool, cheap when no TLS can happen.

Why: httpx builds a verifying SSL context (loading the CA bundle) for every client it makes,
about 20-35 ms, even for a plain `http://` gateway on loopback: the common case, paid by
every `teammesh demo` and every runner start. When the base URL is `http://` and no proxy is
configured in the environment (a proxy could be reached over TLS), no TLS connection is ever
made; the pool then gets a context that verifies certificates and host names but trusts no
CA at all, so a TLS connection that somehow did happen would fail closed, never open.
Everything else keeps httpx's default verification.
"""

from __future__ import annotations

import ssl
import urllib.request
from typing import Literal


def verify_for(base_url: str) -> ssl.SSLContext | Literal[True]:
    """httpx's `verify=` for a client of `base_url`."""
    if not base_url.lower().startswith("http://") or urllib.request.getproxies():
        return True  # httpx's default: the CA bundle, verified
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, trusts nothing: fails closed
