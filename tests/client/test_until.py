"""`wait.until`: its check order, validation and timeout message (no server needed)."""

from __future__ import annotations

import pytest

from teammesh.client import AsyncCodexManager, WaitTimeoutError


@pytest.mark.anyio
async def test_until_returns_first_match_and_awaits_async_parts() -> None:
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        values = iter([0, 0, 3, 4])

        async def predicate(value: int) -> bool:
            return value > 2

        assert (
            await cm.wait.until(lambda: next(values), predicate=predicate, interval_seconds=0.01)
            == 3
        )
        assert await cm.wait.until(lambda: "x", interval_seconds=0.01) == "x"


@pytest.mark.anyio
async def test_until_max_attempts_and_message() -> None:
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        polls: list[int] = []
        with pytest.raises(WaitTimeoutError) as caught:
            await cm.wait.until(
                lambda: polls.append(1),
                max_attempts=3,
                interval_seconds=0.01,
                timeout_seconds=5,
                description="thing",
            )
        assert len(polls) == 3
        assert str(caught.value) == "thing did not match within 5.00s after 3 attempts"
        with pytest.raises(WaitTimeoutError, match=r"^wait condition did not match within 0\.05s"):
            await cm.wait.until(lambda: False, timeout_seconds=0.05, interval_seconds=0.01)


@pytest.mark.anyio
async def test_until_propagates_poll_errors_and_validates() -> None:
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:

        def poll() -> None:
            raise KeyError("boom")

        with pytest.raises(KeyError):
            await cm.wait.until(poll)
        for kwargs in (
            {"timeout_seconds": 0},
            {"interval_seconds": 0},
            {"initial_delay_seconds": -1},
            {"max_attempts": 0},
        ):
            with pytest.raises(ValueError):
                await cm.wait.until(lambda: True, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await cm.wait.turn_status(session_id="s", turn_id="t", expected=[])
