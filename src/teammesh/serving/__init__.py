"""Pieces both of our HTTP servers share: the gateway (`teammesh serve`) and the model server
(`teammesh model serve`). Nothing here imports either server, so each can use it freely.

- `origin_guard`: refuse foreign `Host` (DNS rebinding) and foreign `Origin` (cross-site
  requests and websocket hijacking) before any route or token check runs.
- `media_type`: a request body is JSON only when its media type says exactly that.
- `limits`: connection-level bounds (header-read timeout, header size, connection count).
- `http_protocol`: the uvicorn protocol that enforces those bounds.
- `listener`: bind the listening socket first, so the real port is known up front.
- `quiet_server`: uvicorn's server with rate-limited accept-error logging.
"""
