"""One request, as an object: built once by the domain method, handed down the pipeline.

Like httpx's `Request` handed to `handle_request`: the operation key, method, path, query,
JSON body, headers and the statuses its operation accepts as data travel together, so the
request's shape is declared here once instead of as a seven-parameter signature on every
layer (domain API, pipeline, transport). `before` hooks receive this same object and may
change it; what they leave is what is sent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RequestCall:
    """One logical request. `before` hooks may mutate it; the mutated values are sent.

    `path` is prefix-less (`/sessions/x`) once the pipeline has it; `allow_statuses` are
    the non-2xx statuses returned as data instead of raised (the operation's allow-list)."""

    operation: str
    method: str
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    json_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    allow_statuses: Collection[int] | None = None
