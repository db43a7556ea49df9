"""`papyr users ...`: the local users who sign in to the dashboard (the embedded host; on Azure,
people sign in with Entra ID and get their roles from app role assignments)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shared.auth import Role
from shared.auth.passwords import PasswordPolicyError, check_policy
from shared.auth.users import UserStore

users_app = typer.Typer(help="Dashboard users: add, list, remove.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="PAPYR_DATA_DIR", help="Data directory (default ./.papyr).")
]


def _store(data_dir: Path | None) -> UserStore:
    from shared.services import Services
    from shared.settings import get_settings

    settings = get_settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return UserStore(Services.from_settings(settings).repo)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="The user's e-mail: what they sign in with and approve as.")],
    role: Annotated[list[Role], typer.Option("--role", help="clerk, approver or admin (repeatable).")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Add a user, or replace an existing user's roles, name and password."""
    password = _read_password(password_stdin)
    try:
        check_policy(password)
        user = _store(data_dir).add(email, password, frozenset(role), name=name)
    except (PasswordPolicyError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    out.print(f"{user.email}  {', '.join(sorted(r.value for r in user.roles))}")


@users_app.command("list")
def list_users(data_dir: DataDir = None) -> None:
    """Every user with their roles."""
    table = Table()
    for column in ("email", "name", "roles", "created"):
        table.add_column(column)
    for user in _store(data_dir).list():
        table.add_row(user.email, user.name or "", ", ".join(sorted(r.value for r in user.roles)),
                      f"{user.created_at:%Y-%m-%d %H:%M}")
    out.print(table)


@users_app.command("remove")
def remove(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    data_dir: DataDir = None,
) -> None:
    """Remove a user: they can no longer sign in, and their open sessions end."""
    if not _store(data_dir).remove(email):
        console.print(f"[red]no user {email}[/red]")
        raise typer.Exit(1)
    out.print(f"removed {email.strip().lower()}")
