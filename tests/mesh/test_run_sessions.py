"""Members' sessions open a few at a time (mesh/run_sessions.py): a failure still reaches the
caller as the error itself, not wrapped in an ExceptionGroup (the CLI reports a refused
session by its type), and the steps still running are cancelled, not left behind."""

from __future__ import annotations

import asyncio

import pytest

from teammesh.mesh.run_sessions import _all_or_first_error


def test_the_first_failure_is_raised_as_itself_and_the_rest_are_cancelled() -> None:
    cancelled: list[str] = []
    finished: list[str] = []

    async def fails() -> None:
        await asyncio.sleep(0.01)
        raise LookupError("session refused")

    async def blocks(name: str) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def quick() -> None:
        finished.append("quick")

    async def main() -> None:
        with pytest.raises(LookupError, match="session refused"):
            await _all_or_first_error([blocks("a"), fails(), quick(), blocks("b")])

    asyncio.run(main())
    assert sorted(cancelled) == ["a", "b"]
    assert finished == ["quick"]


def test_all_steps_run_when_none_fails() -> None:
    done: list[int] = []

    async def step(n: int) -> None:
        await asyncio.sleep(0.001 * (5 - n))
        done.append(n)

    asyncio.run(_all_or_first_error([step(n) for n in range(5)]))
    assert sorted(done) == [0, 1, 2, 3, 4]
