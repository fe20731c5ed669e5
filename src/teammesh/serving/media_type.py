"""A request body is JSON only when its media type is exactly `application/json`.

Why strict: a web page may POST without a CORS preflight only with `text/plain`,
`application/x-www-form-urlencoded` or `multipart/form-data`. A substring check would take
`text/plain; charset=application/json` for JSON and let any page drive the server. So the
media type itself (before `;`, case-insensitive) must be `application/json`; parameters are
allowed, but a `charset` other than utf-8 is refused (we decode UTF-8 only), and so is a
malformed parameter list.
"""

from __future__ import annotations

JSON_MEDIA_TYPE = "application/json"


def json_media_type_problem(content_type: str | None) -> str | None:
    """Why `content_type` does not declare a JSON body (a message for a 415), or None."""
    if content_type is None:
        return "Unsupported Media Type: (none); send content-type: application/json"
    media_type, *parameters = content_type.split(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        return f"Unsupported Media Type: {content_type}; send content-type: application/json"
    for parameter in parameters:
        name, equals, value = parameter.partition("=")
        name = name.strip().lower()
        if not name and not equals and not value.strip():
            continue  # a stray trailing ";"
        if not equals or not name:
            return f"Unsupported Media Type: malformed parameter in {content_type!r}"
        if name == "charset" and value.strip().strip('"').lower() != "utf-8":
            return f"Unsupported Media Type: charset {value.strip()!r}; only utf-8 is accepted"
    return None
