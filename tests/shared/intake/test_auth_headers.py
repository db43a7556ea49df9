"""Intake keeps the From display name and the receiving servers' authentication verdicts."""

from __future__ import annotations

from shared.intake import parse_message

RAW = (
    b"Authentication-Results: mx.papyr.example;\r\n"
    b"  spf=fail smtp.mailfrom=lieferant.example;\r\n"
    b"  dmarc=fail header.from=lieferant.example\r\n"
    b"Received-SPF: Fail (mx.papyr.example: domain of lieferant.example does not designate 192.0.2.7)\r\n"
    b"Authentication-Results: relay.example.net; spf=pass\r\n"
    b"From: =?utf-8?q?Lieferant_GmbH_Buchhaltung?= <rechnung@lieferant.example>\r\n"
    b"Reply-To: lieferant.zahlung@gmail.com\r\n"
    b"Subject: Rechnung\r\n"
    b"Message-ID: <a1@lieferant.example>\r\n"
    b"\r\n"
    b"body\r\n"
)


def test_authentication_headers_and_display_name_are_captured_topmost_first() -> None:
    mail = parse_message(RAW, mailbox="ap@papyr.example").mail
    assert mail.sender == "rechnung@lieferant.example"
    assert mail.sender_name == "Lieferant GmbH Buchhaltung"
    assert mail.reply_to == "lieferant.zahlung@gmail.com"
    assert mail.authentication_results == [
        "mx.papyr.example; spf=fail smtp.mailfrom=lieferant.example; dmarc=fail header.from=lieferant.example",
        "relay.example.net; spf=pass",
    ]
    assert mail.received_spf[0].startswith("Fail (mx.papyr.example")


def test_mail_without_them_has_empty_lists() -> None:
    mail = parse_message(b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n").mail
    assert mail.authentication_results == [] and mail.received_spf == []
