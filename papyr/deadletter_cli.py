"""`papyr deadletter ...`: inspect, resubmit and purge dead-lettered notifications in the configured
queue: the embedded SQLite queue in the data dir, or Service Bus when ``PAPYR_SERVICEBUS_NAMESPACE`` /
``PAPYR_SERVICEBUS_CONNECTION_STRING`` are set (settings written as Key Vault references are resolved
first, so this runs from a laptop against Azure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.table import Table

from shared.mailboxes.queue import DeadLetter, DeadLetterStore

deadletter_app = typer.Typer(help="Dead-lettered notifications: list, show, resubmit, purge.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="PAPYR_DATA_DIR", help="Data directory (default ./.papyr).")
]
MessageId = Annotated[str, typer.Argument(help="The dead letter's message id (as `papyr deadletter list` shows).")]


def _store(data_dir: Path | None) -> DeadLetterStore:
    from shared.adapters.azure.keyvault import resolve_key_vault_references
    from shared.mailboxes.service import build_notification_queue
    from shared.settings import get_settings

    settings = get_settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    # No vault is contacted unless a setting is written as a Key Vault reference.
    settings = resolve_key_vault_references(settings)
    return cast(DeadLetterStore, build_notification_queue(settings))


def _as_json(letter: DeadLetter) -> dict[str, Any]:
    return {
        "message_id": letter.message_id, "reason": letter.reason, "session": letter.session,
        "delivery_count": letter.delivery_count, "enqueued_at": _when(letter.enqueued_at), "body": letter.body,
    }


def _when(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch is not None else None


def _find(store: DeadLetterStore, message_id: str) -> DeadLetter:
    for letter in store.dead_lettered():
        if letter.message_id == message_id:
            return letter
    console.print(f"[red]no dead letter {message_id}[/red]")
    raise typer.Exit(1)


@deadletter_app.command("list")
def list_dead_letters(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Every dead-lettered notification, oldest first, with the reason it was dead-lettered."""
    letters = _store(data_dir).dead_lettered()
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(_as_json(letter)))  # one line each, never wrapped
        return
    if not letters:
        out.print("no dead letters")
        return
    table = Table("message id", "mailbox (session)", "deliveries", "enqueued", "reason")
    for letter in letters:
        table.add_row(letter.message_id, letter.session or "-", str(letter.delivery_count),
                      _when(letter.enqueued_at) or "-", letter.reason)
    out.print(table)


@deadletter_app.command("show")
def show(message_id: MessageId, data_dir: DataDir = None) -> None:
    """One dead letter in full (its body is the notification that failed)."""
    typer.echo(json.dumps(_as_json(_find(_store(data_dir), message_id)), indent=2))


@deadletter_app.command("resubmit")
def resubmit(message_id: MessageId, data_dir: DataDir = None) -> None:
    """Put a dead letter back on the queue for a fresh set of deliveries."""
    queued_as = _store(data_dir).resubmit_dead_letter(message_id)
    if queued_as is None:
        console.print(f"[red]no dead letter {message_id}[/red]")
        raise typer.Exit(1)
    out.print(f"resubmitted {message_id}" + (f" as {queued_as}" if queued_as != message_id else ""))


@deadletter_app.command("purge")
def purge(message_id: MessageId, data_dir: DataDir = None) -> None:
    """Delete a dead letter for good."""
    if not _store(data_dir).purge_dead_letter(message_id):
        console.print(f"[red]no dead letter {message_id}[/red]")
        raise typer.Exit(1)
    out.print(f"purged {message_id}")
