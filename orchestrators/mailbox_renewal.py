"""The push subscription of one mailbox folder, kept alive forever: an eternal orchestration.

Each generation renews (or creates) the Graph subscription / Gmail watch through an activity, sleeps
until about half its remaining lifetime (capped at 6 days, the Python SDK's timer limit, and at one
day for Gmail, whose watch must be renewed daily), asks for a catch-up reconcile (a renewal gap may
have swallowed a push), and continues as new so the history never grows. Deterministic: time only
from ``context.current_utc_datetime``; the mailbox data travels in the input.

Input: ``{"mailbox_id", "folder", "provider"}``; instance id ``mailbox-renewal-<mailbox>-<folder hash>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

ORCHESTRATOR_NAME = "mailbox_renewal_orchestrator"
MAX_TIMER = timedelta(days=6)
GMAIL_MAX_WAIT = timedelta(days=1)
MIN_WAIT = timedelta(minutes=1)  # never spin when a provider hands out a very short lifetime
RETRY_WAIT = timedelta(minutes=5)  # after a failed renewal


def renewal_instance_id(mailbox_id: str, folder: str) -> str:
    return f"mailbox-renewal-{mailbox_id}-{hashlib.sha256(folder.encode()).hexdigest()[:12]}"


def renewal_input(mailbox: Any, folder: str) -> dict[str, Any]:
    return {"mailbox_id": mailbox.id, "folder": folder, "provider": mailbox.provider.value}


def next_renewal(now: datetime, expires_at: datetime, provider: str) -> datetime:
    """About half the remaining lifetime, within [MIN_WAIT, 6 days] (1 day for Gmail)."""
    cap = GMAIL_MAX_WAIT if provider == "gmail" else MAX_TIMER
    return now + max(MIN_WAIT, min((expires_at - now) / 2, cap))


def mailbox_renewal_orchestrator(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    state: dict[str, Any] = context.get_input() or {}
    ref = {"mailbox_id": state["mailbox_id"], "folder": state["folder"]}
    now: datetime = context.current_utc_datetime
    try:
        renewed: dict[str, Any] = yield context.call_activity("renew_subscription", ref)
    except Exception:  # a provider outage: try again soon, forever (the safety net reconciles meanwhile)
        renewed = {"status": "failed"}
    if renewed.get("status") == "gone":  # the mailbox was removed: the loop ends
        return {"status": "stopped", "mailbox_id": state["mailbox_id"]}
    if renewed.get("status") == "failed":
        wake = now + RETRY_WAIT
    else:
        wake = next_renewal(now, datetime.fromisoformat(renewed["expires_at"]), state.get("provider", ""))
    context.set_custom_status({"subscription_id": renewed.get("subscription_id"), "next_renewal": wake.isoformat()})
    yield context.create_timer(wake)
    yield context.call_activity("reconcile_mailbox", ref)
    context.continue_as_new(state)
    return {"status": "continued"}
