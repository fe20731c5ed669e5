"""The page's HTML: one small file from the package, two values filled in.

No template engine: the page is a fixed shell the script fills from the state stream, so
the only values the server puts in are the per-page token and the read-only flag (both
escaped; neither ever comes from the board). The script and style are separate files served
from the package (the CSP allows no inline script), so it works offline, with no build step.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from string import Template


@cache
def _shell() -> Template:
    return Template(files("teammesh.web").joinpath("static", "board.html").read_text("utf-8"))


def render_page(*, page_token: str, read_only: bool) -> str:
    return _shell().substitute(page_token=html.escape(page_token, quote=True),
                               read_only="true" if read_only else "false")
