"""From a real IMAP mailbox to invoices: `papyr mailbox add` (secret prompted and sealed),
mail delivered to dovecot, `papyr mailbox reconcile` takes it in once, `papyr mailbox list` shows no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dovecot_server import PASSWORD, DovecotServer

REPO = Path(__file__).resolve().parents[4]


def papyr(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-c", "from papyr.cli import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_imap_mailbox_onboarded_and_reconciled_into_invoices(
    dovecot: DovecotServer, imap_user: str, sample_mail: dict[str, bytes], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPYR_")}
    env.update(PAPYR_DATA_DIR=str(tmp_path), PAPYR_IMAP_PASSWORD=PASSWORD, COLUMNS="250")
    address = f"{imap_user}@papyr-test.example"
    papyr(env, "mailbox", "add", "--provider", "imap", "--address", address, "--host", "127.0.0.1",
          "--port", str(dovecot.port), "--user", imap_user, "--security", "plain", "--after", "mark_read")
    listing = papyr(env, "mailbox", "list").stdout
    assert address in listing and PASSWORD not in listing
    for path in tmp_path.rglob("*.sqlite3"):
        assert PASSWORD.encode() not in path.read_bytes()

    for key in ("01", "02", "06"):  # an invoice, an e-invoice hybrid, and a resend of the first
        dovecot.deliver(imap_user, sample_mail[key])
    papyr(env, "mailbox", "reconcile")
    papyr(env, "mailbox", "reconcile")  # a second catch-up finds nothing new

    status = papyr(env, "status", "--json").stdout
    records = [json.loads(line) for line in status.splitlines() if line.startswith("{")]
    assert sorted(r["invoice_number"] for r in records) == ["471102", "INV/2023/03/0008"]
    assert all(r["status"] in {"exported", "awaiting_approval"} for r in records), records

    # The mail was marked read on the server (after-processing rule).
    conn = dovecot.client(imap_user)
    try:
        conn.select("INBOX", readonly=True)
        typ, unseen = conn.search(None, "UNSEEN")
        assert typ == "OK" and unseen == [b""]
    finally:
        conn.logout()
