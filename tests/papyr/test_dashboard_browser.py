"""The review dashboard in a real browser (Debian's chromium driven by Playwright) against the real
local host: uvicorn, the embedded engine and its workers, SQLite and the local document store.

Real invoices are uploaded over the API by a signed-in clerk; in the browser a clerk signs in,
filters the queue, opens an invoice with its page image and boxes, corrects a field; the approver
signs in and approves with a comment; the audit trail shows each step. Screenshots of the invoice
page are saved in the test's tmp_path (the path is printed).
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
from shared.auth import Role
from shared.services import get_services, set_services
from shared.settings import get_settings
from tests.papyr.session_support import PASSWORD, add_user, sign_in

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
CLERK = "clerk@papyr.example"
APPROVER = "approver@papyr.example"
TEXT_INVOICE = Path("invoice2data") / "QualityHosting.pdf"  # a text-layer PDF: fields with boxes


@pytest.fixture
def browser() -> Iterator[Browser]:
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def base_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The served local host with its engine thread, every invoice routed to a person."""
    monkeypatch.setenv("PAPYR_AUTO_APPROVE_BELOW", "0")
    monkeypatch.setenv("PAPYR_APPROVERS", f'["{APPROVER}", "cfo@papyr.example"]')
    get_settings.cache_clear()
    local = build_local_host(tmp_path / "data")
    add_user(local.services, CLERK, Role.CLERK, name="Cleo Clerk")
    add_user(local.services, APPROVER, Role.APPROVER, name="Abe Approver")
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


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    """The API as a signed-in clerk: uploads, and polling the engine's progress."""
    with httpx.Client(base_url=base_url) as client:
        sign_in(client, CLERK)
        yield client


def invoice_status(api: httpx.Client, invoice_id: str) -> str:
    # From the queue listing: opening the invoice itself would be audited as the clerk's view.
    rows = api.get("/api/invoices", params={"limit": "500"}).json()["invoices"]
    return str(next(row["status"] for row in rows if row["id"] == invoice_id))


def upload_and_wait_for_approval(api: httpx.Client, pdf: Path) -> str:
    uploaded = api.post("/api/documents", params={"filename": pdf.name}, content=pdf.read_bytes())
    assert uploaded.status_code == 202, uploaded.text
    invoice_id = str(uploaded.json()["documents"][0]["id"])
    assert wait_for(lambda: invoice_status(api, invoice_id) in FINAL_STATES, timeout_s=30)
    assert invoice_status(api, invoice_id) == "awaiting_approval"
    return invoice_id


def sign_in_as(page: Page, base_url: str, email: str, then: str = "/") -> None:
    """Through the sign-in form, the way a person does: the page sends them there first."""
    page.goto(f"{base_url}{then}")
    page.wait_for_url(re.compile(r"/signin\?next="))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{then}")


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
        browser: Browser, base_url: str, api: httpx.Client, shared_data: Path) -> None:
    invoice_id = upload_and_wait_for_approval(api, shared_data / INVOICE)
    approver = APPROVER  # one approver below the two-approver threshold

    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    script_errors = watch_for_script_errors(page)

    # The queue lists the invoice with its vendor, number, total and status.
    sign_in_as(page, base_url, approver)
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
    form.locator("textarea[name=comment]").fill("checked in the browser test")
    form.get_by_role("button", name="Approve").click()
    expect(form.locator(".message")).to_contain_text("Decision sent (approved)")

    assert wait_for(lambda: invoice_status(api, invoice_id) == "exported", timeout_s=30)
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


def test_invoice_page_fits_a_desktop_viewport(
        browser: Browser, base_url: str, api: httpx.Client, shared_data: Path) -> None:
    """No horizontal scrolling on a 1280 px wide screen: every column, Confidence to Page, in view."""
    invoice_id = upload_and_wait_for_approval(api, shared_data / INVOICE)
    page = browser.new_page(viewport=VIEWPORT)
    sign_in_as(page, base_url, CLERK, then=f"/invoices/{invoice_id}")
    expect(page.locator("table.fields")).to_be_visible()
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= VIEWPORT["width"], f"the invoice page is {page_width} px wide"


def audit_rows(page: Page) -> list[tuple[str, str]]:
    """(actor, action) of each audit trail row, in order."""
    rows = page.locator("table.audit tbody tr")
    cells = [rows.nth(i).locator("td") for i in range(rows.count())]
    return [(row.nth(1).inner_text().strip(), row.nth(2).inner_text().strip()) for row in cells]


def test_clerk_corrects_a_field_and_the_approver_approves_with_the_audit_trail_showing_each_step(
        browser: Browser, base_url: str, api: httpx.Client, shared_data: Path, tmp_path: Path) -> None:
    """Done-when of issue 6: sign in, open the queue, correct a field, approve; the audit trail
    shows each step."""
    invoice_id = upload_and_wait_for_approval(api, shared_data / TEXT_INVOICE)
    upload_and_wait_for_approval(api, shared_data / INVOICE)  # a second invoice, for the filter to hide

    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    script_errors = watch_for_script_errors(page)

    # The clerk signs in and filters the queue down to one vendor.
    sign_in_as(page, base_url, CLERK)
    expect(page.locator("header .user")).to_have_text("Cleo Clerk")
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    page.locator("form.filters input[name=vendor]").fill("qualityhosting")
    page.locator("form.filters select[name=risk]").select_option("low")
    page.locator("form.filters").get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"vendor=qualityhosting"))
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("QualityHosting AG")

    # The invoice: the page image with boxes beside the fields, low-confidence fields first.
    rows.first.get_by_role("link", name=TEXT_INVOICE.name).click()
    page.wait_for_url(f"{base_url}/invoices/{invoice_id}")
    image = page.locator("figure.page[data-page='1'] img")
    expect(image).to_be_visible()
    assert page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    boxes = page.locator("figure.page[data-page='1'] rect.box.field")
    assert boxes.count() >= 5
    expect(page.locator("p.please-check")).to_contain_text("Please check")
    first_row = page.locator("table.fields tbody tr").first
    expect(first_row).to_have_class(re.compile("low-confidence"))
    total_row = page.locator("tr.field-row[data-field=total]")
    total_row.hover()
    expect(page.locator("rect.box[data-key=total]").first).to_have_class(re.compile(r"\bhot\b"))
    # the clerk is not the approver: the decision buttons are there but disabled
    expect(page.locator("#approval-form button.approve")).to_be_disabled()

    # Correct the due date (typed as printed; stored in ISO form).
    due = page.locator("tr.field-row[data-field=due_date]")
    due.get_by_role("button", name="Edit").click()
    due.locator("form.correct input").fill("06.06.2014")
    due.locator("form.correct").get_by_role("button", name="Save").click()
    expect(page.locator(".field-message")).to_contain_text("Saved due date")
    page.wait_for_load_state("load")
    expect(page.locator("tr.field-row[data-field=due_date] td.value")).to_contain_text("2014-06-06", timeout=10_000)
    expect(page.locator("tr.field-row[data-field=due_date]")).to_contain_text("user")
    expect(page.locator("table.corrections tbody tr")).to_contain_text(CLERK)

    screenshot = tmp_path / "invoice-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nscreenshot of the invoice page: {screenshot}")
    assert screenshot.stat().st_size > 20_000

    # The clerk signs out; the approver signs in and approves with a comment.
    page.locator("header form.signout").get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin$"))
    sign_in_as(page, base_url, APPROVER, then=f"/invoices/{invoice_id}")
    form = page.locator("#approval-form")
    expect(form.locator("button.approve")).to_be_enabled()
    form.locator("textarea[name=comment]").fill("due date confirmed with the vendor")
    form.get_by_role("button", name="Approve").click()
    expect(form.locator(".message")).to_contain_text("Decision sent (approved)")

    assert wait_for(lambda: invoice_status(api, invoice_id) == "exported", timeout_s=30)
    page.reload()
    expect(page.locator(".overview .badge")).to_have_text("exported")
    trail = audit_rows(page)
    steps = [(actor, action) for actor, action in trail if actor != "papyr" or action in (
        "approval requested", "decision recorded", "exported")]
    assert steps == [
        (CLERK, "uploaded"),
        ("papyr", "approval requested"),
        (CLERK, "viewed"),
        (CLERK, "field corrected"),
        (APPROVER, "viewed"),
        (APPROVER, "approval received"),
        ("papyr", "decision recorded"),
        ("papyr", "exported"),
    ], trail
    corrected = page.locator("table.audit tbody tr", has_text="field corrected")
    expect(corrected).to_contain_text("2014-06-06")
    decision = page.locator("table.decisions tbody tr").last
    expect(decision).to_contain_text(APPROVER)
    expect(decision).to_contain_text("due date confirmed with the vendor")

    final = tmp_path / "invoice-page-exported.png"
    page.screenshot(path=str(final), full_page=True)
    print(f"screenshot after approval: {final}")
    assert script_errors == []
