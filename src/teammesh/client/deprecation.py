"""Compatibility no-ops say so: a `DeprecationWarning` naming what to use instead.

Some of codex-manager's names survive only so old callers keep running: dispatch modes
(both dispatch paths may now serve a session at once) and options of the runtime sync that
no longer exists. Staying silent let a caller believe `ignore_sync_errors=False` or
`reset_dispatch_mode()` did something; now they warn, as Starlette keeps its old API.
"""

from __future__ import annotations

import warnings


def deprecated_noop(what: str, instead: str) -> None:
    """`what` (a call) does nothing any more."""
    warnings.warn(f"{what} does nothing; {instead}", DeprecationWarning, stacklevel=3)


def ignored_option(name: str, value: object, default: object, instead: str) -> None:
    """Option `name` has no effect: warn when a caller set it, i.e. asked for a change."""
    if value != default:
        warnings.warn(
            f"{name}={value!r} has no effect; {instead}", DeprecationWarning, stacklevel=3
        )
