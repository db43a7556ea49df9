"""The shipped ONNX scan model: loads, and scores an edited amount above a clean one."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import onnx

from bench.fraud.tamper_generators import generate_scan_clean, generate_scan_edit, scan_words
from shared.forensics.image import FEATURES, load_grey, region_features
from shared.forensics.model import MODEL_PATH, TamperModel
from shared.forensics.tokens import is_key_token

SOURCE = ("invoice2data", "FlipkartInvoice.pdf")  # held out of training (bench.train_tamper_model.held_out)


def test_the_model_file_is_small_valid_onnx_with_its_threshold() -> None:
    assert MODEL_PATH.stat().st_size < 1_000_000
    onnx.checker.check_model(onnx.load(str(MODEL_PATH)))
    model = TamperModel()
    assert 0.5 <= model.threshold < 1.0
    assert "CPUExecutionProvider" in model.providers
    assert model.score_tiles(np.zeros((3, len(FEATURES)), dtype=np.float32)).shape == (3,)


def test_an_edited_amount_scores_above_the_threshold_and_clean_amounts_below(shared_data: Path) -> None:
    from bench.train_tamper_model import held_out

    source = shared_data / SOURCE[0] / SOURCE[1]
    assert held_out(source)
    model = TamperModel()
    words = scan_words(source)
    references = [box for _, box in words]
    targets = [box for text, box in words if is_key_token(text)]

    edited = generate_scan_edit(source, random.Random(3))[0]
    assert edited.region is not None
    edited_scores = model.score_image(edited.data, [edited.region], references)
    assert edited_scores[0] >= model.threshold

    clean = generate_scan_clean(source, random.Random(3))[0]
    clean_scores = model.score_image(clean.data, targets, references)
    assert max(clean_scores) < model.threshold
    assert len(clean_scores) == len(targets) >= 3


def test_features_are_robust_scores_per_tile(shared_data: Path) -> None:
    source = shared_data / SOURCE[0] / SOURCE[1]
    clean = generate_scan_clean(source, random.Random(5))[0]
    words = scan_words(source)
    matrices = region_features(load_grey(clean.data), [words[0][1]], [box for _, box in words])
    assert matrices[0].shape[1] == len(FEATURES)
    assert np.all(np.abs(matrices[0]) <= 8)


def _glyph(page: np.ndarray, left: int, top: int, bottom: int, ink: int) -> None:
    """An "0"-like digit, 18 px wide: a filled block with a hole."""
    page[top:bottom, left : left + 18] = ink
    page[top + 6 : bottom - 6, left + 5 : left + 13] = 235


def test_a_shorter_lighter_glyph_stands_out_from_the_other_glyphs_of_its_word() -> None:
    """Glyph contexts: each tile carries its nearest glyph's height and darkness against the word's
    other glyphs; a digit repainted smaller and greyer than its neighbours is the odd one out."""
    from shared.forensics.image import GLYPH_STATS, PageMaps, word_glyphs

    page = np.full((120, 600), 235, np.uint8)
    words = [(start, row) for start in (20, 130, 240, 350, 460) for row in (20, 70)]
    for start, row in words:  # words of four digits, 30 px tall
        for k in range(4):
            _glyph(page, start + 24 * k, row, row + 30, 40)
    page[70:100, 130:148] = 235  # the first digit of one word repainted: 22 px tall, grey
    _glyph(page, 130, 78, 100, 110)
    boxes = [(float(start - 2), float(row), float(start + 92), float(row + 30)) for start, row in words]
    target = (128.0, 70.0, 222.0, 100.0)
    glyphs, centres = word_glyphs(PageMaps(page), target)
    assert glyphs.shape == (4, len(GLYPH_STATS)) and len(centres) == 4
    features = region_features(page, [target], boxes)[0]
    names = list(FEATURES)
    assert features[0][names.index("glyph_token:height")] < -2
    assert features[0][names.index("glyph_token:darkness")] < -2
    assert abs(features[-1][names.index("glyph_token:height")]) < 1
