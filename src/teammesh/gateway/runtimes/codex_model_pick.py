"""Which model name the codex runtime writes into codex's config when the operator named none.

codex sends `model` with every request. The old default, `playbook`, is what our own model
server lists; sent to another server it names a model that server does not serve (a real
provider refuses the turn). So without an operator's `model`, the runtime asks the model
server it points at (`GET {base_url}/models`, the OpenAI listing `teammesh model serve` also
answers) and takes the first model it lists. Only when that listing cannot be had does
`playbook` stay. (codex still warns "Model metadata for ... not found" for any name outside
its own OpenAI catalogue; that warning is about codex's catalogue, not the server.)

The listing is read once per runtime, at the first app-server start that gets an answer: a
model server that changes its catalogue later is not followed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

LISTING_TIMEOUT_S = 3.0
# A listing is a few hundred bytes; a server that sends megabytes is not a model listing.
MAX_LISTING_BYTES = 1024 * 1024


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib forwards every header on a redirect, `Authorization` too: a listing that
    redirects elsewhere would hand the API key to that host. A redirect is no listing."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxies from the environment: the listing goes where codex's requests go, and codex's
# child gets no proxy variables unless the operator set them for it.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


async def first_served_model(base_url: str, api_key_env: str | None = None) -> str | None:
    """The id of the first model `GET {base_url}/models` lists, or None (and a warning that
    says why) when the server does not answer with a usable listing.

    urllib in a worker thread, not httpx: an httpx client builds an SSL context even for
    plain http (~50 ms of CPU at every codex start), and this runs once per start."""
    url = base_url.rstrip("/") + "/models"
    headers = {"Accept": "application/json"}
    key = os.environ.get(api_key_env) if api_key_env else None
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        body = await asyncio.to_thread(_fetch, url, headers)
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
        log.warning("codex runtime: cannot list the models of %s (%s)", url, exc)
        return None
    return _first_id(url, body)


def _fetch(url: str, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url, headers=headers)
    with _OPENER.open(request, timeout=LISTING_TIMEOUT_S) as response:
        raw = response.read(MAX_LISTING_BYTES + 1)
    if len(raw) > MAX_LISTING_BYTES:
        raise ValueError("the listing is too large")
    return json.loads(raw)


def _first_id(url: str, body: Any) -> str | None:
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list):
        for entry in data:
            model_id = entry.get("id") if isinstance(entry, dict) else None
            # A name goes into config.toml (escaped) and every request: keep it sane.
            if isinstance(model_id, str) and 0 < len(model_id) <= 200 and model_id.isprintable():
                return model_id
    log.warning("codex runtime: %s lists no model id", url)
    return None
