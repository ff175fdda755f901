"""The desk's users: create, change, list, and the demo team a fresh clone starts with."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approval_ui.auth import hash_password
from approval_ui.permissions import ROLES, InvalidRequestError
from samdesk.errors import NotFoundError
from samdesk.models import User

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
DEMO_PASSWORD = "northwind-demo"  # printed by `samdesk demo`; only ever seeded into an empty desk
DEMO_USERS = (
    ("sarah.chen@northwind.example", "Sarah Chen", "sam"),
    ("marcus.okafor@northwind.example", "Marcus Okafor", "sam"),
    ("priya.raman@northwind.example", "Priya Raman", "sam"),
    ("dana.whitfield@northwind.example", "Dana Whitfield", "manager"),
    ("admin@northwind.example", "Desk Admin", "admin"),
)


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRequestError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequestError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def create_user(
    session: Session, *, email: str, name: str, role: str, password: str, password_hash: str = ""
) -> User:
    """A new active user; ``password_hash`` skips hashing when the caller already has one."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidRequestError(f"{email!r} is not an email address")
    if not name.strip():
        raise InvalidRequestError("a user needs a name")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidRequestError(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name.strip(),
        role=_check_role(role),
        password_hash=password_hash or hash_password(_check_password(password)),
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} does not exist")
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFoundError(f"no user with email {email}; add one with `samdesk users add`")
    return user


def update_user(
    session: Session,
    user: User,
    *,
    name: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    if name is not None and name.strip():
        user.name = name.strip()
    if role is not None:
        user.role = _check_role(role)
    if active is not None:
        user.active = active
    if password:
        user.password_hash = hash_password(_check_password(password))
    return user


def list_users(session: Session, *, role: str | None = None) -> list[User]:
    query = select(User).order_by(User.role, User.email)
    if role:
        query = query.where(User.role == role)
    return list(session.scalars(query))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def seed_demo_users(session: Session) -> list[User]:
    """The sample SAMs, a manager and an admin, all with :data:`DEMO_PASSWORD`, but only into
    a desk that has no users yet: a real team's desk is never given a known password."""
    if count_users(session):
        return []
    shared = hash_password(DEMO_PASSWORD)
    return [
        create_user(session, email=e, name=n, role=r, password="", password_hash=shared)
        for e, n, r in DEMO_USERS
    ]
