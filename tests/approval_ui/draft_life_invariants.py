"""What must hold of one draft's stored rows after every reviewer action.

Its state and version match the model's and versions only grow; revisions are append-only;
only approved bytes are sent, and only once; a rejected or sent draft never changes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis.stateful import invariant
from sqlalchemy import select

from approval_ui.messages import content_hash
from samdesk.models import AuditEvent, OutboxMessage
from tests.approval_ui.draft_life_transitions import REVIEWERS, TERMINAL, ReviewerActions


@dataclass
class Stored:
    """One draft's rows as stored, read once per step for the invariants."""

    status: str
    version: int
    approved_revision: int | None
    approved_hash: str | None
    revisions: list[tuple[int, str, str, str, str]]
    outbox: list[OutboxMessage]
    audit: list[AuditEvent]


class StoredRowInvariants(ReviewerActions):
    """The reviewer actions, with the stored rows checked against the rules after each."""

    def __init__(self) -> None:
        super().__init__()
        self.revisions: list[tuple[int, str, str, str, str]] = []
        self.versions: list[int] = []
        self.final: tuple[Any, ...] | None = None

    # -- one read of the stored rows per step, then each rule ------------------------------

    @invariant()
    def stored_rows_keep_the_rules(self) -> None:
        with self.run.sessions() as session:
            draft = self._draft(session)
            stored = Stored(
                draft.status,
                draft.version,
                draft.approved_revision,
                draft.approved_hash,
                [
                    (r.number, r.content_hash, r.subject, r.body, r.recipient)
                    for r in draft.revisions
                ],
                list(
                    session.scalars(
                        select(OutboxMessage)
                        .where(OutboxMessage.draft_id == self.draft_id)
                        .order_by(OutboxMessage.id)
                    )
                ),
                list(
                    session.scalars(
                        select(AuditEvent)
                        .where(AuditEvent.draft_id == self.draft_id)
                        .order_by(AuditEvent.id)
                    )
                ),
            )
        self.state_matches_the_model_and_versions_only_grow(stored)
        self.revisions_are_append_only(stored)
        self.only_approved_bytes_are_sent_and_only_once(stored)
        self.rejected_and_sent_drafts_never_change(stored)

    def state_matches_the_model_and_versions_only_grow(self, stored: Stored) -> None:
        assert (stored.status, stored.version) == (self.expected.status, self.expected.version)
        if self.versions:
            assert stored.version >= self.versions[-1]
        self.versions.append(stored.version)

    def revisions_are_append_only(self, stored: Stored) -> None:
        now = stored.revisions
        assert [n for n, *_ in now] == list(range(1, len(now) + 1))
        assert now[: len(self.revisions)] == self.revisions, "a stored revision changed"
        for _, digest, subject, body, recipient in now:
            assert digest == content_hash(subject, body, recipient)
        self.revisions = now

    def only_approved_bytes_are_sent_and_only_once(self, stored: Stored) -> None:
        hashes = {number: digest for number, digest, *_ in stored.revisions}
        for row in stored.outbox:  # every queued message is the frozen text of its revision
            assert row.content_hash == hashes[row.revision_number]
        sent = [row for row in stored.outbox if row.status == "sent"]
        actions_ = [e.action for e in stored.audit]
        if stored.status != "sent":
            assert sent == [] and "sent" not in actions_
            return
        [row] = sent
        assert row.content_hash == stored.approved_hash
        assert stored.approved_hash == hashes[stored.approved_revision or 0]
        assert actions_.count("sent") == 1
        at_sent = actions_.index("sent")
        approved_at = max(i for i, a in enumerate(actions_[:at_sent]) if a == "approved")
        between = set(actions_[approved_at + 1 : at_sent])
        assert not {"edited", "regenerated", "unapproved", "rejected"} & between
        assert stored.audit[approved_at].revision_hash == stored.approved_hash
        assert stored.audit[approved_at].actor in {r.email for r in REVIEWERS}
        assert Path(row.location or "").read_bytes() == row.message

    def rejected_and_sent_drafts_never_change(self, stored: Stored) -> None:
        snapshot = (
            stored.status,
            stored.version,
            stored.revisions,
            (stored.approved_revision, stored.approved_hash),
            [(o.id, o.status) for o in stored.outbox],
        )
        if self.final is not None:
            assert snapshot == self.final, "a rejected or sent draft changed"
        elif stored.status in TERMINAL:
            self.final = snapshot
