"""Which model name the codex runtime writes into codex's config when the operator named none.

codex sends `model` with every request and looks it up in its own model catalogue; a name the
provider does not serve makes it log "Unknown model ... fallback metadata" on every request
(and a real provider refuses the turn). So without an operator's `model`, the runtime asks the
model server it points at (`GET {base_url}/models`, the OpenAI listing `teammesh model serve`
also answers) and takes the first model it lists. Only when that listing cannot be had does
the old default (`playbook`, what our own model server lists) stay.

The listing is read once per runtime (at the first app-server start): a model server that
changes its catalogue later is not followed, as codex itself would not.
"""

from __future__ import annotations

import logging
import os

import httpx

log = logging.getLogger(__name__)

LISTING_TIMEOUT_S = 3.0
# A listing is a few hundred bytes; a server that sends megabytes is not a model listing.
MAX_LISTING_BYTES = 1024 * 1024


async def first_served_model(base_url: str, api_key_env: str | None = None) -> str | None:
    """The id of the first model `GET {base_url}/models` lists, or None (and a warning that
    says why) when the server does not answer with a usable listing."""
    url = base_url.rstrip("/") + "/models"
    headers = {"Accept": "application/json"}
    key = os.environ.get(api_key_env) if api_key_env else None
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        async with httpx.AsyncClient(timeout=LISTING_TIMEOUT_S, trust_env=False) as http:
            response = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("codex runtime: cannot list the models of %s (%s)", url, type(exc).__name__)
        return None
    if response.status_code != 200 or len(response.content) > MAX_LISTING_BYTES:
        log.warning("codex runtime: %s answered %s; no model picked from it",
                    url, response.status_code)
        return None
    return _first_id(response)


def _first_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        body = None
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list):
        for entry in data:
            model_id = entry.get("id") if isinstance(entry, dict) else None
            # A name goes into config.toml (escaped) and every request: keep it sane.
            if isinstance(model_id, str) and 0 < len(model_id) <= 200 and model_id.isprintable():
                return model_id
    log.warning("codex runtime: %s lists no model id", response.url)
    return None
