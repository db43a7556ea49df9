"""Dashboard timings: queue and invoice pages over 1000 records, page image rendering (cold, cached,
with boxes), password hashing. ``PYTHONPATH=$PWD .venv/bin/python -m bench.dashboard_timings``"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, "tests/shared/api")
import invoice_factory as factory

from papyr.server import create_app
from shared.auth import Role
from shared.auth.passwords import hash_password, verify_password
from tests.papyr.session_support import add_user, sign_in

RECORDS = 1000


def median_ms(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    services = factory.make_services(Path(tempfile.mkdtemp()) / "papyr")
    first = factory.make_record(services, content=factory.SAMPLE_PDF.read_bytes(), vendor="Vendor 0", number="N-0")
    for i in range(1, RECORDS):
        factory.make_record(services, vendor=f"Vendor {i}", number=f"N-{i}")
    add_user(services, "clerk@example.com", Role.CLERK)
    page_url = f"/api/invoices/{first.id}/pages/1"
    with TestClient(create_app(services, factory.RecordingOrchestration())) as client:
        sign_in(client, "clerk@example.com")
        print(f"queue page, {RECORDS} records, unfiltered: {median_ms(lambda: client.get('/'), 10):.0f} ms median")
        filtered = median_ms(lambda: client.get("/", params={"vendor": "vendor 99", "risk": "low"}), 10)
        print(f"queue page, {RECORDS} records, vendor + risk filter: {filtered:.0f} ms median")
        print(f"invoice page: {median_ms(lambda: client.get(f'/invoices/{first.id}'), 10):.0f} ms median")
        start = time.perf_counter()
        png = client.get(page_url).content
        print(f"page image (pdfium {110} dpi, PNG, cold): {(time.perf_counter() - start) * 1000:.0f} ms, "
              f"{len(png) // 1024} KiB")
        print(f"page image, cached: {median_ms(lambda: client.get(page_url), 10):.0f} ms median")
        boxed = median_ms(lambda: client.get(page_url, params={"boxes": "1"}), 5)
        print(f"page image with boxes drawn: {boxed:.0f} ms median")
    stored = hash_password("a good password")
    print(f"scrypt hash: {median_ms(lambda: hash_password('a good password'), 5):.0f} ms, "
          f"verify: {median_ms(lambda: verify_password('a good password', stored), 5):.0f} ms median")


if __name__ == "__main__":
    main()
