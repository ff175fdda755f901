"""Rules the outbox must obey whatever happened (crashes, races, retries): checked from the DB.

:func:`assert_outbox_invariants` reads every draft, outbox row and audit event and fails
with the list of broken rules, so any test that ran senders or desk actions can call it.
"""

from __future__ import annotations

from collections import Counter
from email import message_from_bytes

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from samdesk.models import AuditEvent, Draft, OutboxMessage, Revision

STATUSES = {"queued", "sending", "sent", "failed", "unknown", "cancelled"}
SENT_BY = {"sent", "send_confirmed"}  # the audit actions that record a delivery


def outbox_problems(session: Session) -> list[str]:
    drafts = {d.id: d for d in session.scalars(select(Draft))}
    rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    revisions = {(r.draft_id, r.number): r for r in session.scalars(select(Revision))}
    events: dict[int, list[AuditEvent]] = {}
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        events.setdefault(event.draft_id, []).append(event)
    problems: list[str] = []
    sent_per_draft = Counter(r.draft_id for r in rows if r.status == "sent")
    for row in rows:
        draft, where = drafts[row.draft_id], f"outbox {row.id} (draft {row.draft_id})"
        actions = events.get(row.draft_id, [])
        revision = revisions.get((row.draft_id, row.revision_number))
        if row.status not in STATUSES:
            problems.append(f"{where}: unknown status {row.status!r}")
        if revision is None or revision.content_hash != row.content_hash:
            problems.append(f"{where}: content hash is not its revision's")
        header = message_from_bytes(row.message).get("Message-ID")
        if header != row.message_id:
            problems.append(f"{where}: the frozen bytes carry Message-ID {header!r}")
        approved = [
            e for e in actions if e.action == "approved" and e.revision_hash == row.content_hash
        ]
        if not approved:
            problems.append(f"{where}: no 'approved' audit event for its content hash")
        if row.status == "sent":
            if draft.status != "sent" or draft.approved_hash != row.content_hash:
                problems.append(f"{where}: sent, but the draft is {draft.status} with another hash")
            if draft.approved_revision != row.revision_number:
                problems.append(f"{where}: sent, but another revision is approved")
            if not any(e.action in SENT_BY for e in actions):
                problems.append(f"{where}: sent without a 'sent' or 'send_confirmed' event")
            if row.sent_at is None:
                problems.append(f"{where}: sent without sent_at")
        if row.status in {"queued", "sending", "unknown"} and (
            draft.status != "approved" or draft.approved_hash != row.content_hash
        ):
            problems.append(f"{where}: {row.status}, but the draft is {draft.status}")
        if row.status == "sending" and not row.claimed_by:
            problems.append(f"{where}: sending without a holder")
        if row.next_attempt_at is not None and row.status != "queued":
            problems.append(f"{where}: a retry time on a {row.status} row")
        if row.status in {"sent", "failed", "unknown"} and row.attempts < 1 and row.claimed_by:
            problems.append(f"{where}: {row.status} after no attempt")
    for draft_id, count in sent_per_draft.items():
        if count > 1:
            problems.append(f"draft {draft_id}: {count} sent outbox rows")
    for draft in drafts.values():
        if draft.status == "sent" and sent_per_draft[draft.id] != 1:
            problems.append(f"draft {draft.id}: sent, but {sent_per_draft[draft.id]} sent rows")
        if draft.status == "expired" and draft.approved_hash is not None:
            problems.append(f"draft {draft.id}: expired but carries an approval")
    return problems


def assert_outbox_invariants(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        problems = outbox_problems(session)
    assert not problems, "outbox invariants broken:\n  " + "\n  ".join(problems)
