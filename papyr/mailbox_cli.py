"""`papyr mailbox ...`: onboard, list, remove and catch up mailboxes. Secrets are asked for with a
hidden prompt (or read from a file) and stored sealed in the registry; nothing prints them."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.mailboxes.models import AfterProcessing, Mailbox, MailRules, Provider

mailbox_app = typer.Typer(help="Mailboxes Papyr watches (Outlook, Gmail, IMAP).", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="PAPYR_DATA_DIR", help="Data directory (default ./.papyr).")
]
_AFTER = {"mark_read": AfterProcessing.MARK_READ, "move": AfterProcessing.MOVE, "label": AfterProcessing.LABEL,
          "nothing": AfterProcessing.NOTHING}


def _host(data_dir: Path | None) -> Any:
    from papyr.host import build_local_host

    return build_local_host(data_dir)


@mailbox_app.command("add")
def add(
    provider: Annotated[Provider, typer.Option(help="outlook | gmail | imap")],
    address: Annotated[str, typer.Option(help="The mailbox address.")],
    folder: Annotated[list[str] | None, typer.Option(help="Folder or Gmail label; repeatable.")] = None,
    allow: Annotated[list[str] | None, typer.Option(help="Only these senders (address, @domain).")] = None,
    deny: Annotated[list[str] | None, typer.Option(help="Never these senders (address, @domain).")] = None,
    after: Annotated[str, typer.Option(help="After processing: nothing | mark_read | move | label.")] = "nothing",
    target: Annotated[str | None, typer.Option(help="Folder to move to / label to add (with --after).")] = None,
    tenant_id: Annotated[str | None, typer.Option(help="Outlook: the Entra tenant id.")] = None,
    client_id: Annotated[str | None, typer.Option(help="Outlook/Gmail: the app's client id.")] = None,
    client_secret: Annotated[bool, typer.Option("--client-secret", help="Outlook/Gmail: prompt for the client secret.")]
    = False,
    refresh_token: Annotated[bool, typer.Option("--refresh-token", help="Gmail: prompt for a user's refresh token.")]
    = False,
    credentials_file: Annotated[Path | None, typer.Option(help="Gmail: a service-account JSON key file.")] = None,
    topic: Annotated[str | None, typer.Option(help="Gmail: Pub/Sub topic projects/<p>/topics/<t>.")] = None,
    host: Annotated[str | None, typer.Option(help="IMAP: server host.")] = None,
    port: Annotated[int | None, typer.Option(help="IMAP: server port.")] = None,
    user: Annotated[str | None, typer.Option(help="IMAP: login (default: the address).")] = None,
    security: Annotated[str, typer.Option(help="IMAP: ssl | starttls | plain (loopback only).")] = "ssl",
    password: Annotated[str | None, typer.Option(help="IMAP password (prompted, hidden, when not given).",
                                                envvar="PAPYR_IMAP_PASSWORD")] = None,
    data_dir: DataDir = None,
) -> None:
    """Register a mailbox; its secrets are prompted for (hidden) and stored encrypted."""
    if after not in _AFTER:
        raise typer.BadParameter("--after must be nothing, mark_read, move or label")
    rules = MailRules(
        folders=folder or (["INBOX"] if provider is not Provider.OUTLOOK else ["Inbox"]),
        allow_senders=allow or [], deny_senders=deny or [], after=_AFTER[after],
        target_folder=target if after == "move" else None, target_label=target if after == "label" else None,
    )
    config: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    if provider is Provider.OUTLOOK:
        if not tenant_id or not client_id:
            raise typer.BadParameter("outlook needs --tenant-id and --client-id")
        config = {"tenant_id": tenant_id, "client_id": client_id}
        secrets["client_secret"] = typer.prompt("Client secret", hide_input=True)
    elif provider is Provider.GMAIL:
        if not topic:
            raise typer.BadParameter("gmail needs --topic projects/<project>/topics/<topic>")
        config = {"topic_name": topic}
        if credentials_file is not None:
            secrets["credentials"] = json.dumps(json.loads(credentials_file.read_text()))
            config["subject"] = address
        elif client_id:
            config["client_id"] = client_id
            secrets["client_secret"] = typer.prompt("Client secret", hide_input=True)
            secrets["refresh_token"] = typer.prompt("Refresh token", hide_input=True)
        else:
            raise typer.BadParameter("gmail needs --credentials-file, or --client-id (then secret and refresh token)")
    else:
        if not host:
            raise typer.BadParameter("imap needs --host")
        config = {"host": host, "port": port, "user": user or address, "security": security}
        secrets["password"] = password if password is not None else typer.prompt("IMAP password", hide_input=True)
    del client_secret, refresh_token  # the prompts above ask whenever the provider needs them

    from shared.domain import utcnow
    from shared.mailboxes.service import get_mailbox_service

    local = _host(data_dir)
    service = get_mailbox_service(local.services)
    mailbox = Mailbox(id=f"mb-{uuid.uuid4().hex[:10]}", provider=provider, address=address.strip().lower(),
                      rules=rules, config={k: v for k, v in config.items() if v is not None}, created_at=utcnow())
    service.registry.add(mailbox)
    for name, value in secrets.items():
        service.registry.put_secret(mailbox.id, name, value)
    out.print(f"added {mailbox.id}  {provider.value}  {mailbox.address}  folders: {', '.join(rules.folders)}")
    if provider is not Provider.IMAP:
        out.print(f"push subscription kept by orchestration {_start_renewal(local, mailbox)} (runs under papyr serve)")


def _start_renewal(local: Any, mailbox: Mailbox) -> str:
    from orchestrators.mailbox_renewal import ORCHESTRATOR_NAME, renewal_input, renewal_instance_id

    started: list[str] = []
    for name in mailbox.rules.folders:
        instance_id = renewal_instance_id(mailbox.id, name)
        asyncio.run(local.client.start(ORCHESTRATOR_NAME, instance_id, renewal_input(mailbox, name)))
        started.append(instance_id)
    return ", ".join(started)


@mailbox_app.command("list")
def list_mailboxes(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    data_dir: DataDir = None,
) -> None:
    """The registered mailboxes (never their secrets: only which secrets are stored)."""
    from shared.mailboxes.service import get_mailbox_service

    registry = get_mailbox_service(_host(data_dir).services).registry
    table = Table(title="Mailboxes")
    for column in ("id", "provider", "address", "folders", "rules", "secrets", "subscription until"):
        table.add_column(column, overflow="fold")
    for mailbox in registry.list():
        subscriptions = registry.subscriptions_of(mailbox.id)
        secret_names = registry.secret_names(mailbox.id)
        line: dict[str, Any] = {
            "id": mailbox.id, "provider": mailbox.provider.value, "address": mailbox.address,
            "folders": mailbox.rules.folders, "allow": mailbox.rules.allow_senders, "deny": mailbox.rules.deny_senders,
            "after": mailbox.rules.after.value, "config": mailbox.config,
            "secrets": secret_names,
            "subscriptions": [{"id": s.id, "folder": s.folder, "expires_at": s.expires_at.isoformat()}
                              for s in subscriptions],
        }
        if json_output:
            print(json.dumps(line))
            continue
        rules = ", ".join(filter(None, [
            f"allow {' '.join(mailbox.rules.allow_senders)}" if mailbox.rules.allow_senders else "",
            f"deny {' '.join(mailbox.rules.deny_senders)}" if mailbox.rules.deny_senders else "",
            f"then {mailbox.rules.after.value}",
        ]))
        until = min((s.expires_at for s in subscriptions), default=None)
        table.add_row(mailbox.id, mailbox.provider.value, mailbox.address, ", ".join(mailbox.rules.folders), rules,
                      ", ".join(secret_names), f"{until:%Y-%m-%d %H:%M}" if until else "")
    if not json_output:
        out.print(table)


@mailbox_app.command("remove")
def remove(mailbox_id: Annotated[str, typer.Argument(help="The mailbox id (see `papyr mailbox list`).")],
           data_dir: DataDir = None) -> None:
    """Forget a mailbox, its secrets, cursors and subscriptions."""
    from shared.mailboxes.service import get_mailbox_service

    local = _host(data_dir)
    registry = get_mailbox_service(local.services).registry
    mailbox = registry.get(mailbox_id)
    if mailbox is None:
        console.print(f"[red]no mailbox {mailbox_id}[/red]")
        raise typer.Exit(1)
    from orchestrators.mailbox_renewal import renewal_instance_id

    for name in mailbox.rules.folders:
        local.engine.terminate(renewal_instance_id(mailbox.id, name), "mailbox removed")
    registry.remove(mailbox_id)
    out.print(f"removed {mailbox_id} ({mailbox.address})")


@mailbox_app.command("reconcile")
def reconcile(
    mailbox_id: Annotated[str | None, typer.Argument(help="One mailbox (default: all).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Catch up now: read every change since each folder's cursor and take the mail in."""
    from shared.mailboxes.connectors import build_connectors
    from shared.mailboxes.service import get_mailbox_service

    local = _host(data_dir)
    service = get_mailbox_service(local.services)
    mailboxes = [m for m in service.registry.list() if mailbox_id in (None, m.id)]
    if mailbox_id and not mailboxes:
        console.print(f"[red]no mailbox {mailbox_id}[/red]")
        raise typer.Exit(1)
    connectors = build_connectors(service.registry)

    async def run() -> None:
        for mailbox in mailboxes:
            for name in mailbox.rules.folders:
                result = await service.reconcile(mailbox, name, connectors[mailbox.provider], local.client)
                out.print(f"{mailbox.id} {name}: {result.seen} seen, {result.documents} new documents, "
                          f"{result.duplicates} duplicates, {len(result.skipped)} skipped by rules")

    asyncio.run(run())
    local.engine.run_until_idle()
