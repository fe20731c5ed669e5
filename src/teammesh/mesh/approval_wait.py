"""Waiting for the answer to one pending approval, from whoever gives it first.

The question is a row on the board (`TeamBoard.open_approval`). Two kinds of answerer race:
the terminal (an `Asker`, blocking, so it runs in a daemon thread) and anyone who writes the
row (the web board: in this process, in `teammesh board serve` on another machine, or after
a runner restart). Every answer is the board's compare-and-set (`answer_approval`), so the
question is answered ONCE: the loser reads the answer already given, and a terminal that
lost is told so (`withdraw`) instead of keeping a stale prompt open.

Polling the row is the one channel that works across processes and machines; a pending
approval is rare and a read is cheap, so a quarter second is plenty.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from teammesh.mesh.board import ApprovalRecord, TeamBoard

# Asks a human (the terminal) a yes/no question; blocking is fine, it runs in a thread.
Asker = Callable[[str], bool]
BOARD_POLL_SECONDS = 0.25
TERMINAL = "operator"


def _asked(approval: ApprovalRecord) -> str:
    """The question as the terminal is asked it: with its number, as the page and the live
    view show it, and so that two calls alike (the same question twice) stay two questions:
    the terminal withdraws one by this text."""
    return f"#{approval.id} {approval.question}"


def _ask_in_thread(ask: Asker, question: str) -> asyncio.Future[bool]:
    """The terminal's answer as a future. A daemon thread, so a question nobody answers
    never keeps the process alive."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bool] = loop.create_future()

    def settle(value: bool) -> None:
        if not answer.done():
            answer.set_result(value)

    def work() -> None:
        try:
            value = bool(ask(question))
        except Exception:  # an operator who cannot answer said no
            value = False
        # The run may be over (its loop closed) by the time a late answer comes.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value)

    threading.Thread(target=work, name="teammesh-approval", daemon=True).start()
    return answer


async def _board_answer(board: TeamBoard, approval_id: int) -> ApprovalRecord:
    while True:
        found = board.approval(approval_id)
        if found is None or found.state != "pending":
            assert found is not None, "an approval row never disappears during its run"
            return found
        await asyncio.sleep(BOARD_POLL_SECONDS)


async def wait_for_answer(board: TeamBoard, approval: ApprovalRecord, *,
                          ask: Asker | None, board_answers: bool,
                          deadline: float | None) -> ApprovalRecord | None:
    """The approval once answered (by the terminal or on the board), or None when the
    deadline passes first. With neither answerer, the caller must not call this."""
    waiters: list[asyncio.Future[object]] = []
    terminal = _ask_in_thread(ask, _asked(approval)) if ask is not None else None
    if terminal is not None:
        waiters.append(terminal)  # type: ignore[arg-type]
    watcher = (asyncio.ensure_future(_board_answer(board, approval.id))
               if board_answers else None)
    if watcher is not None:
        waiters.append(watcher)  # type: ignore[arg-type]
    try:
        done, _ = await asyncio.wait(waiters, timeout=deadline,
                                     return_when=asyncio.FIRST_COMPLETED)
        if terminal is not None and terminal in done:
            # The terminal answered: the board decides whether it was first.
            settled, first = board.first_answer(approval.id, approved=terminal.result(),
                                                by=TERMINAL)
            if not first and settled is not None:
                _withdraw(ask, approval,
                          f"already answered: {settled.state} by {settled.answered_by}")
            return settled
        if watcher is not None and watcher in done:
            settled = watcher.result()
            _withdraw(ask, approval, f"already answered: {settled.state} by"
                                     f" {settled.answered_by}")
            return settled
        _withdraw(ask, approval, "no answer in time: declined")
        return None
    except asyncio.CancelledError:
        _withdraw(ask, approval, "no longer asked: the run is stopping")
        raise
    finally:
        if watcher is not None:
            watcher.cancel()


def _withdraw(ask: Asker | None, approval: ApprovalRecord, how: str) -> None:
    """Tell a terminal still showing the question that it is settled without it."""
    withdraw = getattr(ask, "withdraw", None)
    if callable(withdraw):
        withdraw(_asked(approval), how)
