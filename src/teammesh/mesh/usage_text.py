"""Tokens and cost as people read them, the same in every view (`teammesh runs`, the final
summary, `teammesh runs show`): counts with thousands separators, a cost in USD, and "—"
for what nobody reported (a playbook run has no tokens; a model without a known price has
no cost), never a made-up 0."""

from __future__ import annotations

from collections.abc import Iterable

from teammesh.mesh.board.run_record import TurnEntry, Usage, sum_usage

UNKNOWN = "—"


def turns_usage(turns: Iterable[TurnEntry]) -> Usage | None:
    """The summed usage of the turns that reported any; None when none did."""
    reported = [t.usage for t in turns if t.usage is not None]
    return sum_usage(reported) if reported else None


def tokens_text(usage: Usage | None) -> str:
    """ "14,252" (input + output), or "—" when nothing reported usage."""
    return UNKNOWN if usage is None else f"{usage.total:,}"


def tokens_detail(usage: Usage | None) -> str:
    """ "14,252 (13,060 in, 512 cached; 1,192 out, 0 reasoning)", or "—"."""
    if usage is None:
        return UNKNOWN
    return (f"{usage.total:,} ({usage.input_tokens:,} in, {usage.cached_input_tokens:,}"
            f" cached; {usage.output_tokens:,} out, {usage.reasoning_tokens:,} reasoning)")


def cost_text(cost: float | None) -> str:
    """ "$0.0123" (four decimals below a dollar), "$12.35", or "—" when unknown."""
    if cost is None:
        return UNKNOWN
    return f"${cost:,.2f}" if cost >= 1 else f"${cost:.4f}"
