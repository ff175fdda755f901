"""Managers reassign drafts: one draft, or every open draft of an account, to another SAM."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from approval_ui import crud
from approval_ui.permissions import InvalidRequestError, Principal, owner_of, require_role
from samdesk.errors import NotFoundError
from samdesk.models import Account, Assignment, Draft, User, utcnow


def assignable(session: Session) -> list[User]:
    """Who a draft can go to: active SAMs."""
    return list(
        session.scalars(
            select(User).where(User.role == "sam", User.active.is_(True)).order_by(User.name)
        )
    )


def reassign(session: Session, draft: Draft, *, to: str, by: Principal) -> None:
    require_role(by, "manager", "admin")
    target = session.scalar(select(User).where(User.email == to.strip().lower()))
    if target is None or not target.active or target.role != "sam":
        raise InvalidRequestError(f"{to!r} is not an active SAM of the desk")
    before = owner_of(session, draft)
    if before.lower() == target.email:
        return
    row = session.get(Assignment, draft.id)
    if row is None:
        session.add(Assignment(draft_id=draft.id, assignee=target.email, assigned_by=by.email))
    else:
        row.assignee, row.assigned_by, row.assigned_at = target.email, by.email, utcnow()
    crud.audit(session, draft, "reassigned", by.email, **{"from": before, "to": target.email})


def reassign_account(session: Session, account_id: str, *, to: str, by: Principal) -> list[int]:
    """Every open draft (pending or approved) of the account; returns their ids."""
    if session.get(Account, account_id) is None:
        raise NotFoundError(f"account {account_id!r} does not exist")
    drafts = list(
        session.scalars(
            select(Draft)
            .where(Draft.account_id == account_id, Draft.status.in_(crud.EDITABLE))
            .order_by(Draft.id)
            .with_for_update()
        )
    )
    for draft in drafts:
        reassign(session, draft, to=to, by=by)
    return [d.id for d in drafts]
