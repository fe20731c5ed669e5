"""The client's TLS settings: a plain-http client skips the CA bundle yet can never open an
unverified TLS connection; https, and any proxy, keep httpx's default verification."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from teammesh.client import AsyncCodexManager
from teammesh.client.tls_context import verify_for

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                   "ALL_PROXY")


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_proxy_env")
def test_plain_http_gets_a_context_that_verifies_and_trusts_nothing() -> None:
    context = verify_for("http://127.0.0.1:3001")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0  # any certificate fails: fail closed


@pytest.mark.usefixtures("no_proxy_env")
def test_https_keeps_the_default_verification() -> None:
    assert verify_for("https://gateway.example:3001") is True
    assert verify_for("HTTPS://gateway.example") is True


def test_a_proxy_in_the_environment_keeps_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example:8443")
    assert verify_for("http://127.0.0.1:3001") is True


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[int]:
    """A TLS server on loopback with a self-signed certificate (made by the openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make the test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def accept() -> None:
        with contextlib.suppress(OSError):  # the client gives up mid-handshake
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(timeout=10)


@pytest.mark.usefixtures("no_proxy_env")
def test_the_plain_http_context_refuses_a_tls_server(tls_server: int) -> None:
    # Were the client ever sent to an https URL, its pool's context must refuse the
    # handshake (nothing is trusted), not carry on unverified.
    with httpx.Client(verify=verify_for("http://127.0.0.1:1")) as client, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(f"https://127.0.0.1:{tls_server}/")


def test_the_client_of_a_plain_http_gateway_uses_it(no_proxy_env: None) -> None:
    client = AsyncCodexManager(base_url="http://127.0.0.1:3001")
    try:
        pool = client.http_client._transport._pool  # httpx's pool of this client
        assert pool._ssl_context.cert_store_stats()["x509_ca"] == 0
    finally:
        anyio.run(client.http_client.aclose)
