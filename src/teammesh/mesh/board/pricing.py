"""What tokens cost, in USD, from `genai-prices` (a maintained price table, bundled with the
package: nothing is fetched). A model the table does not know has an unknown cost: None,
never 0, so a run against a local model server never looks free or priced by a guess.

Imported only when a cost is asked for (the table takes ~0.1 s to load).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from teammesh.mesh.board.entries import TurnEntry, Usage

# Model-name prefixes of our runtimes and of pydantic-ai (`openai-responses:gpt-5`): the
# provider they name in the price table (None: the name alone decides).
_PREFIXES: dict[str, str | None] = {"openai-responses": "openai", "openai-chat": "openai",
                                    "codex": None, "llm": None}


def cost_of_turns(turns: Iterable[TurnEntry]) -> float | None:
    """The summed cost of the turns that reported usage; None when none did, or when one
    of them used a model without a known price."""
    total = Decimal(0)
    priced = False
    for turn in turns:
        if turn.usage is None:
            continue
        cost = usage_cost(turn.usage, turn.model)
        if cost is None:
            return None
        total += cost
        priced = True
    return float(total) if priced else None


def usage_cost(usage: Usage, model: str | None) -> Decimal | None:
    """The price of `usage` with `model` (a name such as "gpt-5", optionally as
    "provider/model" or "provider:model"), or None when the table does not know it."""
    if not model or not model.strip():
        return None
    from genai_prices import Usage as PriceUsage
    from genai_prices import calc_price

    provider: str | None = None
    name = model.strip()
    for separator in ("/", ":"):
        if separator in name:
            provider, name = name.split(separator, 1)
            break
    # A runtime's or pydantic-ai's prefix is no price-table provider: say what it means.
    if provider is not None and provider in _PREFIXES:
        provider = _PREFIXES[provider]
    # The table's input count includes cache reads, as codex's does.
    priced = PriceUsage(input_tokens=usage.input_tokens,
                        cache_read_tokens=usage.cached_input_tokens,
                        output_tokens=usage.output_tokens)
    try:
        return calc_price(priced, model_ref=name, provider_id=provider).total_price
    except (LookupError, ValueError):
        return None
