"""Answering a pending approval, once: a compare-and-set on its board row.

Two answerers may race for one question: the terminal prompt of the runner and the web
board (in the runner's process, or `teammesh board serve` elsewhere, against the same file
or database). The row is the arbiter: an answer is written only while the row is pending,
in one write transaction (the store's write lock), so the first answer wins and the second
reads it. Mixed into `TeamBoard`, so `core.py` keeps the board's rules only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from teammesh.mesh.board.protocol import ApprovalRecord, ApprovalState

if TYPE_CHECKING:
    from teammesh.mesh.board.protocol import BoardStore


class ApprovalAnswers:
    _store: BoardStore

    def answer_approval(self, approval_id: int, *, approved: bool, by: str
                        ) -> ApprovalRecord | None:
        """Compare-and-set (`first_answer`): the approval as it stands after."""
        return self.first_answer(approval_id, approved=approved, by=by)[0]

    def first_answer(self, approval_id: int, *, approved: bool, by: str
                     ) -> tuple[ApprovalRecord | None, bool]:
        """Answer the approval only while it is pending. Returns the approval as it stands
        after (None if there is none) and whether this call was the one that answered it."""
        with self._store.transaction(write=True) as tx:
            found = next((a for a in tx.approvals() if a.id == approval_id), None)
            if found is None or found.state != "pending":
                return found, False
            state: ApprovalState = "approved" if approved else "declined"
            tx.set_approval(approval_id, state=state, answered_by=by)
            return replace(found, state=state, answered_by=by), True

    def approval(self, approval_id: int) -> ApprovalRecord | None:
        with self._store.transaction(write=False) as tx:
            return next((a for a in tx.approvals() if a.id == approval_id), None)
