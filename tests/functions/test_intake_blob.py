"""Blob names in the ``incoming`` container: file name and the mailbox folder."""

from __future__ import annotations

import pytest

from functions.intake import split_blob_name


@pytest.mark.parametrize(
    ("blob_name", "expected"),
    [
        ("incoming/invoice.pdf", ("invoice.pdf", None)),
        ("incoming/ap@example.com/Rechnung 2024.05.pdf", ("Rechnung 2024.05.pdf", "ap@example.com")),
        ("incoming/ap@example.com/2024/05/scan.tif", ("scan.tif", "ap@example.com")),
        ("invoice.xml", ("invoice.xml", None)),
    ],
)
def test_split_blob_name(blob_name: str, expected: tuple[str, str | None]) -> None:
    assert split_blob_name(blob_name) == expected
