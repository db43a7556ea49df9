"""The review dashboard in a real browser (Debian's chromium driven by Playwright) against the real
local host: uvicorn, the embedded engine and its workers, SQLite and the local document store.

A real ZUGFeRD invoice is uploaded over the API; a reviewer then finds it in the queue, opens it,
reads its fields, findings and audit trail, approves it through the page's own JavaScript, and
sees it exported with a downloadable approval report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from browser_support import free_port, launched_chromium, running, wait_for
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect

from papyr.host import build_local_host
from papyr.server import build_local_server
from shared.approvals.tokens import ActionTokens
from shared.services import get_services, set_services
from shared.settings import get_settings

INVOICE = Path("zugferd") / "XML-Rechnung__FX__EN16931_Einfach.pdf"
VENDOR = "Lieferant GmbH"
INVOICE_NUMBER = "471102"
TOTAL = "529.87"
SCREENSHOT = Path("/tmp/papyr-dashboard.png")
SCREENSHOT_EXPORTED = Path("/tmp/papyr-dashboard-exported.png")
SCREENSHOT_QUEUE = Path("/tmp/papyr-queue.png")
VIEWPORT = {"width": 1280, "height": 900}
PAGE_TIMEOUT_MS = 10_000
FINAL_STATES = ("awaiting_approval", "approved", "exported", "rejected", "failed")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def base_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The served local host with its engine thread, every invoice routed to a person."""
    monkeypatch.setenv("PAPYR_AUTO_APPROVE_BELOW", "0")
    get_settings.cache_clear()
    local = build_local_host(tmp_path / "data")
    port = free_port()
    server = build_local_server(local, port=port, log_level="warning")
    try:
        with running(server) as thread:
            yield f"http://127.0.0.1:{port}"
        assert not thread.is_alive(), "server did not stop"
    finally:
        local.engine.close()
        set_services(None)
        get_settings.cache_clear()


def invoice_status(base_url: str, invoice_id: str) -> str:
    return str(httpx.get(f"{base_url}/api/invoices/{invoice_id}").json()["invoice"]["status"])


def upload_and_wait_for_approval(base_url: str, pdf: Path) -> str:
    uploaded = httpx.post(f"{base_url}/api/documents", params={"filename": pdf.name}, content=pdf.read_bytes())
    assert uploaded.status_code == 202, uploaded.text
    invoice_id = str(uploaded.json()["documents"][0]["id"])
    assert wait_for(lambda: invoice_status(base_url, invoice_id) in FINAL_STATES, timeout_s=30)
    assert invoice_status(base_url, invoice_id) == "awaiting_approval"
    return invoice_id


def watch_for_script_errors(page: Page) -> list[str]:
    """Uncaught exceptions, console errors and failed requests: a broken script would silently
    lose decisions."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} at {message.location['url']}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            errors.append(f"HTTP {response.status}: {response.url}")

    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", on_console)
    page.on("response", on_response)
    return errors


def field_value(page: Page, name: str):  # type: ignore[no-untyped-def]
    """The value cell of a field row (its heading reads exactly ``name``), whose text starts with
    the value; a "read as ..." note on the raw text may follow it."""
    row = page.locator("table.fields tbody tr").filter(
        has=page.locator("th", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")))
    return row.locator("td").first


def starts_with(value: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(value)}(?!\S)")


def test_reviewer_approves_an_uploaded_invoice_in_the_browser(
        browser: Browser, base_url: str, shared_data: Path) -> None:
    invoice_id = upload_and_wait_for_approval(base_url, shared_data / INVOICE)
    approver = get_settings().approvers[0]  # one approver below the two-approver threshold

    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    script_errors = watch_for_script_errors(page)

    # The queue lists the invoice with its vendor, number, total and status.
    page.goto(f"{base_url}/")
    expect(page).to_have_title(re.compile("Invoice queue"))
    row = page.locator("table.queue tbody tr", has_text=VENDOR)
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("awaiting approval")
    expect(row).to_contain_text(INVOICE_NUMBER)
    expect(row).to_contain_text(TOTAL)
    awaiting_count = page.locator("nav.counts a.badge-awaiting_approval .number")
    expect(awaiting_count).to_have_text("1")
    page.screenshot(path=str(SCREENSHOT_QUEUE), full_page=True)

    # Click through to the invoice page.
    row.get_by_role("link", name=INVOICE.name).click()
    page.wait_for_url(f"{base_url}/invoices/{invoice_id}")
    expect(page.locator("h1")).to_contain_text(VENDOR)
    expect(page.locator("h1")).to_contain_text(INVOICE_NUMBER)
    expect(page.locator(".overview .badge")).to_have_text("awaiting approval")
    expect(page.locator(".overview dl")).to_contain_text(f"{TOTAL} EUR")

    # Fields with their value, confidence and source; the e-invoice XML is read exactly.
    expect(field_value(page, "invoice number")).to_have_text(starts_with(INVOICE_NUMBER), use_inner_text=True)
    expect(field_value(page, "invoice number").locator("xpath=..")).to_contain_text("xml")
    expect(field_value(page, "total")).to_have_text(starts_with(TOTAL), use_inner_text=True)
    expect(field_value(page, "vendor name")).to_have_text(starts_with(VENDOR), use_inner_text=True)
    expect(page.locator("table.lines tbody tr").first).to_be_visible()

    # Findings are shown (a table, or the explicit "No findings." line), and so is the audit trail.
    findings = page.locator("section", has=page.get_by_role("heading", name="Findings"))
    expect(findings).to_be_visible()
    expect(findings.locator("table.findings tbody tr, p.empty").first).to_be_visible()
    audit = page.locator("table.audit tbody tr")
    expect(audit.first).to_be_visible()
    expect(page.locator("table.audit")).to_contain_text("received")
    expect(page.locator("section.decide")).to_contain_text(f"Waiting for {approver}")

    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The approver comes from their Teams card: its "Open in Papyr" link carries their action token
    # in the fragment, and the page's script sends it with the decision.
    token = ActionTokens.from_settings(get_services().settings).mint(
        invoice_id=invoice_id, level=1, approver=approver, valid_for=timedelta(days=1))
    page.goto(f"{base_url}/invoices/{invoice_id}#token={token}")

    # Approve as the expected approver through the page's form and script.
    form = page.locator("#approval-form")
    form.locator("input[name=by]").fill(approver)
    form.locator("textarea[name=comment]").fill("checked in the browser test")
    form.get_by_role("button", name="Approve").click()
    expect(form.locator(".message")).to_contain_text("Decision sent (approved)")

    assert wait_for(lambda: invoice_status(base_url, invoice_id) == "exported", timeout_s=30)
    page.reload()  # the page reloads itself once; reload again in case that came before the export
    expect(page.locator(".overview .badge")).to_have_text("exported")
    expect(page.locator("#approval-form")).to_have_count(0)
    decision = page.locator("table.decisions tbody tr").last
    expect(decision).to_contain_text("approved")
    expect(decision).to_contain_text(approver)
    expect(decision).to_contain_text("checked in the browser test")
    expect(page.locator("table.audit")).to_contain_text("approval received")
    expect(page.locator("table.audit tbody tr").last).to_contain_text("exported")

    # The report link works: the browser's own request context fetches a PDF.
    report_link = page.get_by_role("link", name="Approval report (PDF)")
    href = report_link.get_attribute("href")
    assert href == f"/api/invoices/{invoice_id}/report"
    report = page.request.get(f"{base_url}{href}")
    assert report.status == 200
    assert report.headers["content-type"].startswith("application/pdf")
    assert report.body().startswith(b"%PDF")

    page.screenshot(path=str(SCREENSHOT_EXPORTED), full_page=True)
    assert script_errors == []


def test_invoice_page_fits_a_desktop_viewport(browser: Browser, base_url: str, shared_data: Path) -> None:
    """No horizontal scrolling on a 1280 px wide screen: every column, Confidence to Page, in view."""
    invoice_id = upload_and_wait_for_approval(base_url, shared_data / INVOICE)
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{base_url}/invoices/{invoice_id}")
    expect(page.locator("table.fields")).to_be_visible()
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= VIEWPORT["width"], f"the invoice page is {page_width} px wide"
