"""Benchmark caches are keyed by the code that made them: a change to that code is a new key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import code_digest as module


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "reader").mkdir()
    (tmp_path / "reader" / "pdf.py").write_text("PAGES = 1\n")
    (tmp_path / "reader" / "notes.txt").write_text("not code\n")
    (tmp_path / "pipeline.py").write_text("def read(): ...\n")
    monkeypatch.setattr(module, "REPO", tmp_path)
    return tmp_path


def test_the_key_is_stable_and_follows_the_code_in_folders_and_files(repo: Path) -> None:
    before = module.code_digest("reader", "pipeline.py")
    assert module.code_digest("reader", "pipeline.py") == before and len(before) == 12
    (repo / "reader" / "notes.txt").write_text("edited, still not code\n")
    assert module.code_digest("reader", "pipeline.py") == before
    (repo / "reader" / "pdf.py").write_text("PAGES = 2\n")
    assert module.code_digest("reader", "pipeline.py") != before


def test_extra_text_versions_the_key(repo: Path) -> None:
    assert module.code_digest("pipeline.py", extra="4") != module.code_digest("pipeline.py", extra="5")


def test_the_ocr_caches_key_tells_the_int8_detector_from_the_float_one(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A VNNI CPU reads with the int8 detector, another with the float one: their readings never share a cache,
    and the float detector keeps the key it had before the detector was part of it."""
    from shared.ocr import models

    monkeypatch.setattr(models, "int8_is_exact", lambda: False)
    float_key = module.reader_digest(("reader",))
    monkeypatch.setattr(models, "int8_is_exact", lambda: True)
    assert module.reader_digest(("reader",)) != float_key == module.code_digest("reader")
