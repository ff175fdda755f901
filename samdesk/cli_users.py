"""``samdesk users``: the desk's people and their API tokens, from the server's shell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from samdesk.config import get_settings
from samdesk.errors import SamdeskError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

# The desk's modules (and with them SQLAlchemy) load inside the commands, so that
# `samdesk --help` stays fast (see cli.py). The roles are spelled out here for the help text
# for the same reason; tests/samdesk/test_cli_startup.py keeps them equal to the desk's.
ROLES = ("sam", "manager", "admin")  # approval_ui.permissions.ROLES

users_app = typer.Typer(
    help="Desk users (sam, manager, admin) and their API tokens.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens for integrations (stored hashed).", no_args_is_help=True)
users_app.add_typer(token_app, name="token")
console = Console()

RoleOption = Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")]


def _sessions() -> sessionmaker[Session]:
    from samdesk.db import make_engine, migrate, session_factory

    engine = make_engine(get_settings().resolved_database_url)
    migrate(engine)
    return session_factory(engine)


@users_app.command("add")
def add(
    email: str,
    name: Annotated[str, typer.Option(help="Full name, as shown in the desk")],
    role: RoleOption = "sam",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="SAMDESK_NEW_USER_PASSWORD",
            help="at least 10 characters (prompted when not given)",
        ),
    ] = "",
) -> None:
    """Add a user who signs in with EMAIL and a password (argon2-hashed)."""
    from approval_ui import users
    from samdesk.db import transaction

    with transaction(_sessions()) as session:
        user = users.create_user(session, email=email, name=name, role=role, password=password)
        console.print(f"Added {user.email} ({user.role}).")


@users_app.command("list")
def list_users() -> None:
    """Everyone who can sign in, with role and status."""
    from approval_ui import users

    table = Table("id", "email", "name", "role", "status")
    with _sessions()() as session:
        for user in users.list_users(session):
            status = "active" if user.active else "deactivated"
            table.add_row(str(user.id), user.email, user.name, user.role, status)
    console.print(table)


@users_app.command("set")
def set_user(
    email: str,
    role: Annotated[str | None, typer.Option(help=f"one of {', '.join(ROLES)}")] = None,
    active: Annotated[bool | None, typer.Option("--active/--deactivated")] = None,
    password: Annotated[bool, typer.Option("--password", help="prompt for a new password")] = False,
) -> None:
    """Change a user's role, deactivate or reactivate them, or reset their password."""
    from approval_ui import users
    from samdesk.db import transaction

    new_password = (
        typer.prompt("New password", hide_input=True, confirmation_prompt=True)
        if password
        else None
    )
    with transaction(_sessions()) as session:
        user = users.user_by_email(session, email)
        users.update_user(session, user, role=role, active=active, password=new_password)
        state = "active" if user.active else "deactivated"
        console.print(f"{user.email}: {user.role}, {state}.")


@token_app.command("create")
def token_create(
    email: str, name: Annotated[str, typer.Option(help="What integration uses the token")]
) -> None:
    """A new API token acting as EMAIL; the secret is printed once and never stored."""
    from approval_ui import auth, users
    from samdesk.db import transaction

    with transaction(_sessions()) as session:
        issued = auth.create_token(session, users.user_by_email(session, email), name)
    console.print(f"Token {issued.id} ({issued.name}) for {email}; store it now, it is shown once:")
    print(issued.secret)


@token_app.command("list")
def token_list(email: Annotated[str | None, typer.Option(help="Only this user's")] = None) -> None:
    """Tokens with their owner, prefix, last use and status (never the secret)."""
    from approval_ui import auth, users

    table = Table("id", "owner", "name", "prefix", "created", "last used", "status")
    with _sessions()() as session:
        owner_id = users.user_by_email(session, email).id if email else None
        emails = {u.id: u.email for u in users.list_users(session)}
        for token in auth.list_tokens(session, owner_id):
            table.add_row(
                str(token.id),
                emails.get(token.user_id, "?"),
                token.name,
                token.prefix + "…",
                token.created_at.strftime("%Y-%m-%d %H:%M"),
                token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never",
                f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active",
            )
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID: requests carrying it get 401 from now on."""
    from approval_ui import auth
    from approval_ui.permissions import Principal
    from samdesk.db import transaction

    # The shell of the server is trusted like an admin (it can read the database anyway).
    operator = Principal(0, "cli", "samdesk CLI", "admin", "token")
    with transaction(_sessions()) as session:
        auth.revoke_token(session, token_id, by=operator)
    console.print(f"Revoked token {token_id}.")


def seed_demo_team(sessions: sessionmaker[Session]) -> None:
    """For ``samdesk demo``: the sample team, only when the desk has no users at all."""
    from approval_ui import users
    from samdesk.db import transaction

    with transaction(sessions) as session:
        seeded = users.seed_demo_users(session)
    if seeded:
        console.print(
            f"Demo users, all with the password [bold]{users.DEMO_PASSWORD}[/bold]: "
            + ", ".join(f"{u.email} ({u.role})" for u in seeded)
        )
        return
    with sessions() as session:
        demo = [e for e, _, _ in users.DEMO_USERS if _exists(session, e)]
    if demo:
        console.print(f"Sign in as {demo[0]} (demo password {users.DEMO_PASSWORD} unless changed).")


def _exists(session: Session, email: str) -> bool:
    from approval_ui import users

    try:
        users.user_by_email(session, email)
    except SamdeskError:
        return False
    return True
