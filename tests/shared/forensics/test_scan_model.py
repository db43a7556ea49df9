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
