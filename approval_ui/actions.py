"""The reviewer's actions on a draft, written once for the JSON API and the HTML forms.

Each action checks that the user may act on the draft (404, 403), runs in its own
committed transaction with the draft's row locked, and passes the version the reviewer
saw to the state machine in :mod:`approval_ui.crud` (409 when it is stale). Keeping this
in one place means a rule added here (a check, a lock, an audit detail) holds whichever
door the reviewer used. A stale version raises :class:`ConflictError` carrying the change
the reviewer missed, so both doors can show it instead of a bare "reload".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from approval_ui import assignments, crud, draft_inputs, sending
from approval_ui.outbox_claims import RetryPolicy
from approval_ui.permissions import InvalidRequestError, Principal, draft_for
from approval_ui.regenerate import regenerate_draft, retry_failed_draft
from approval_ui.sending import Sender
from samdesk.db import transaction
from samdesk.errors import ConflictError
from samdesk.models import AuditEvent, Draft, OutboxMessage

# Audit actions that leave the draft's version as it was; every other one comes with a new
# version, so the latest of those is the change a stale caller missed.
UNVERSIONED = ("reassigned", "send_failed", "send_requeued", "send_outcome_ignored")


def edit(
    sessions: sessionmaker[Session],
    draft_id: int,
    user: Principal,
    *,
    subject: str | None = None,
    body: str | None = None,
    recipient: str | None = None,
    expected_version: int | None = None,
    seller: str,
    stale_after_days: int,
) -> Draft:
    """A new revision with the reviewer's text (unchanged fields keep the current text),
    grounding-checked like the model's."""
    _no_nul(subject=subject, body=body, recipient=recipient)
    with _locked(sessions, draft_id, user) as (session, draft):
        crud.edit_draft(
            session,
            draft,
            by=user.email,
            subject=subject,
            body=body,
            recipient=recipient,
            expected_version=expected_version,
            recheck=lambda edited: draft_inputs.recheck(
                session,
                edited,
                seller=seller,
                stale_after_days=stale_after_days,
            ),
        )
    return draft


def approve(
    sessions: sessionmaker[Session],
    draft_id: int,
    user: Principal,
    *,
    mail_from: str,
    expected_version: int | None = None,
    confirm_flags: bool = False,
) -> Draft:
    with _locked(sessions, draft_id, user) as (session, draft):
        crud.approve(
            session,
            draft,
            by=user.email,
            mail_from=mail_from,
            expected_version=expected_version,
            confirm_flags=confirm_flags,
        )
    return draft


def reject(
    sessions: sessionmaker[Session],
    draft_id: int,
    user: Principal,
    *,
    reason: str,
    category: str | None = None,
    expected_version: int | None = None,
) -> Draft:
    _no_nul(reason=reason)
    with _locked(sessions, draft_id, user) as (session, draft):
        crud.reject(
            session,
            draft,
            by=user.email,
            reason=reason,
            category=category or None,
            expected_version=expected_version,
        )
    return draft


def regenerate(
    sessions: sessionmaker[Session],
    draft_id: int,
    user: Principal,
    *,
    drafter: Callable[[], Drafter],
    instruction: str,
    expected_version: int | None = None,
) -> Draft:
    """The model's rewrite as a new revision (the model call runs outside any transaction)."""
    _no_nul(instruction=instruction)
    with _stale_shows_change(sessions, draft_id):
        regenerate_draft(
            sessions,
            draft_id,
            drafter=drafter,
            user=user,
            instruction=instruction,
            expected_version=expected_version,
        )
    with sessions() as session:
        return _loaded(session, draft_for(session, draft_id, user))


def retry(
    sessions: sessionmaker[Session],
    draft_id: int,
    user: Principal,
    *,
    drafter: Callable[[], Drafter],
    approval_ttl: timedelta,
    expected_version: int | None = None,
) -> Draft:
    """A failed draft drafted again (the model call runs outside any transaction)."""
    with _stale_shows_change(sessions, draft_id):
        retry_failed_draft(
            sessions,
            draft_id,
            drafter=drafter,
            user=user,
            approval_ttl=approval_ttl,
            expected_version=expected_version,
        )
    with sessions() as session:
        return _loaded(session, draft_for(session, draft_id, user))


def send(
    sessions: sessionmaker[Session],
    draft_id: int,
    user: Principal,
    *,
    sender: Sender,
    mail_from: str,
    expected_version: int | None = None,
    policy: RetryPolicy | None = None,
) -> OutboxMessage:
    """Transmit the approved revision; returns its outbox row.

    The version the person saw is checked where the send claims the outbox row, under the
    draft's lock (sending.py owns the claim), so what goes out is the approval they looked at.
    """
    with _stale_shows_change(sessions, draft_id):
        with sessions() as session:
            draft_for(session, draft_id, user)
        return sending.send_draft(
            sessions,
            draft_id,
            sender=sender,
            by=user.email,
            mail_from=mail_from,
            policy=policy,
            expected_version=expected_version,
        )


def reassign(
    sessions: sessionmaker[Session],
    draft_id: int,
    user: Principal,
    *,
    to: str,
    expected_version: int | None = None,
) -> Draft:
    """Managers: give the draft to another SAM (a new owner, not a new version)."""
    with _locked(sessions, draft_id, user) as (session, draft):
        crud.check_version(draft, expected_version)
        assignments.reassign(session, draft, to=to, by=user)
    return draft


def last_change(session: Session, draft: Draft) -> dict[str, Any]:
    """The draft as it is now and who made its latest versioned change, as JSON values."""
    event = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.draft_id == draft.id, AuditEvent.action.not_in(UNVERSIONED))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    current = draft.revisions[-1] if draft.revisions else None
    return {
        "version": draft.version,
        "status": draft.status,
        "revision": current.number if current else None,
        "subject": current.subject if current else None,
        "body": current.body if current else None,
        "recipient": current.recipient if current else None,
        "changed_by": event.actor if event else None,
        "change": event.action if event else None,
        "changed_at": event.at.isoformat() if event else None,
    }


@contextmanager
def _locked(
    sessions: sessionmaker[Session], draft_id: int, user: Principal
) -> Iterator[tuple[Session, Draft]]:
    """The draft, checked (404, 403) and its row locked, in a transaction of its own.

    Written once so that edit, approve, reject and reassign share the same checks, lock and
    stale-version report; the draft is flushed and loaded (:func:`_loaded`) before the
    commit, for callers that read it afterwards.
    """
    with _stale_shows_change(sessions, draft_id), transaction(sessions) as session:
        draft = draft_for(session, draft_id, user, for_update=True)
        yield session, draft
        _loaded(session, draft)


@contextmanager
def _stale_shows_change(sessions: sessionmaker[Session], draft_id: int) -> Iterator[None]:
    """Re-raise a stale-version :class:`ConflictError` with the change the caller missed.

    The draft is read again after the failed transaction rolled back, in a session of its
    own; the caller already passed the permission check, so it may see what changed.
    """
    try:
        yield
    except ConflictError as exc:
        if exc.current is None:
            with sessions() as session:
                exc.current = last_change(session, crud.get_draft(session, draft_id))
        raise


def _no_nul(**fields: str | None) -> None:
    """Refuse NUL characters in text that is stored and mailed: PostgreSQL cannot store them
    and no email should carry them; refused the same on SQLite, so both behave alike."""
    for name, value in fields.items():
        if value and "\x00" in value:
            raise InvalidRequestError(f"the {name} contains a NUL (\\0) character; remove it")


def _loaded(session: Session, draft: Draft) -> Draft:
    """Flush (new rows get their timestamps) and load what callers read after the commit."""
    session.flush()
    _ = draft.revisions
    return draft
