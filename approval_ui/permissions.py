"""Who may see and act on which draft.

A SAM owns the drafts of the accounts whose ``owner_email`` is theirs, unless a manager
reassigned a draft (an ``Assignment``), in which case the assignee owns it. Managers see
and act on every draft and may reassign; admins are managers who also manage users. The
same checks guard pages and the JSON API, so a forbidden draft is 403 from both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from samdesk.errors import SamdeskError
from samdesk.models import Account, Assignment, Draft

Role = Literal["sam", "manager", "admin"]
ROLES: tuple[Role, ...] = ("sam", "manager", "admin")


class NotAuthenticatedError(SamdeskError):
    """No valid session cookie or API token: pages redirect to the login form."""

    http_status = 401


class InvalidRequestError(SamdeskError):
    """A request the desk understood but cannot accept (a blank name, an unknown role)."""

    http_status = 422


class ForbiddenError(SamdeskError):
    """Signed in, but this user may not see or do this."""

    http_status = 403


@dataclass(frozen=True)
class Principal:
    """The signed-in user as routes see it; ``via`` tells a browser session from a token."""

    id: int
    email: str
    name: str
    role: Role
    via: Literal["session", "token"] = "session"
    csrf_token: str | None = None

    @property
    def sees_all(self) -> bool:
        return self.role in ("manager", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def visible(user: Principal) -> ColumnElement[bool]:
    """A WHERE clause over ``Draft`` (joined to ``Account``) selecting what ``user`` may see."""
    if user.sees_all:
        return true()
    email = user.email.lower()
    assigned = exists().where(Assignment.draft_id == Draft.id)
    mine = exists().where(Assignment.draft_id == Draft.id, func.lower(Assignment.assignee) == email)
    # cheapest test first: most drafts are on the user's own accounts and not reassigned
    return or_(and_(func.lower(Account.owner_email) == email, ~assigned), mine)


def owner_of(session: Session, draft: Draft) -> str:
    """The email of the SAM who owns ``draft`` now (assignee, else the account owner).

    One query for both: it runs inside every action's locked transaction."""
    row = session.execute(
        select(Assignment.assignee, Account.owner_email)
        .select_from(Account)
        .outerjoin(Assignment, Assignment.draft_id == draft.id)
        .where(Account.id == draft.account_id)
    ).first()
    if row is None:
        return ""
    assignee, owner = row
    return assignee or owner or ""


def check_draft(session: Session, user: Principal, draft: Draft) -> None:
    """Raise 403 unless ``user`` may see and act on ``draft``."""
    if user.sees_all or owner_of(session, draft).lower() == user.email.lower():
        return
    raise ForbiddenError(f"draft {draft.id} belongs to another SAM's account")


def require_role(user: Principal, *roles: Role) -> None:
    if user.role not in roles:
        raise ForbiddenError(f"this needs the {' or '.join(roles)} role; you are a {user.role}")


def draft_for(
    session: Session, draft_id: int, user: Principal, *, for_update: bool = False
) -> Draft:
    """The draft, if it exists (404) and ``user`` may act on it (403)."""
    from approval_ui.crud import get_draft  # crud is the storage layer; it knows no users

    draft = get_draft(session, draft_id, for_update=for_update)
    check_draft(session, user, draft)
    return draft
