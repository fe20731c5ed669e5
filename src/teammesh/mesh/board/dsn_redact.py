"""A PostgreSQL URL fit for messages: every password in it shown as `***`.

libpq takes a password in two places of a URL: the userinfo (`postgresql://u:pw@host/db`)
and the query (`postgresql://u@host/db?password=pw`, also `sslpassword=`). Both are cut;
the rest (user, host, port, database, other options) stays, so a message still says which
board it means. Not a URL at all: returned as it is (a file path holds no password).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlsplit

HIDDEN = "***"


def _netloc(netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return netloc
    return f"{userinfo.split(':', 1)[0]}:{HIDDEN}@{hostport}"


def _query(query: str) -> str:
    if "password" not in query.lower():
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(k, safe='')}="
                    + (HIDDEN if "password" in k.lower() else quote(v, safe=""))
                    for k, v in pairs)


def redact_dsn(dsn: str) -> str:
    try:
        parts = urlsplit(dsn)
    except ValueError:  # a malformed URL: nothing of it is worth the risk
        return f"{dsn.split(':', 1)[0]}://{HIDDEN}"
    if not parts.scheme or (not parts.netloc and not parts.query):
        return dsn
    # By hand, not urlunsplit: that drops the `//` of an empty host (`postgresql:///db`).
    query = _query(parts.query)
    return (f"{parts.scheme}://{_netloc(parts.netloc)}{parts.path}"
            + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else ""))
