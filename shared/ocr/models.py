"""The OCR models: RapidOCR's packaged PP-OCR ONNX models, and int8 copies made from them.

Why int8: on a CPU with VNNI (AVX-512 or AVX-VNNI) ONNX Runtime runs an int8 QDQ convolution about
twice as fast as the float one, and convolutions are ~75 % of detection and recognition time. Only
static quantisation helps: dynamic quantisation turns Conv into ConvInteger, which is 3x slower.

The int8 models are made reproducibly, not downloaded: from the packaged float model, calibrated on
synthetic pages and text lines drawn with Pillow's built-in font (activation ranges of black text on
white paper, which is what scans are), then cached on disk keyed by the source model's hash and this
recipe's version. ``python -m shared.ocr.models`` builds them at setup; otherwise the first use does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

Stage = Literal["det", "rec", "cls"]
# Bumped when the quantisation recipe changes, so stale cached models are not reused.
_RECIPE = "qdq-u8s8-perchannel-v1"
_PACKAGED = {
    "det": "PP-OCRv6_det_small.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
_SAMPLE_WORDS = (
    "INVOICE TOTAL 1,234.56 EUR Tax 19% Qty Unit Price Amount DATE 2024-03-15 No. 000123 IBAN DE89 3704 0044 "
    "0532 0130 00 Cash Change GST RM 12.30 Thank you! Receipt #A-77/B Subtotal Rounding ADJ (0.02) Tel: +49 30 "
    "123456 www.example.com Netto Brutto MwSt Facture Rechnung Betrag Summe 7.20 SR 6.00 ITEM @ x2 = ; [ ]"
).split()


@dataclass(frozen=True)
class ModelSet:
    det: Path
    rec: Path
    cls: Path
    int8: bool


def packaged_model(stage: Stage) -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models" / _PACKAGED[stage]


def cache_dir() -> Path:
    configured = os.environ.get("PAPYR_MODEL_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "papyr" / "ocr-models"


def model_set(*, int8: bool = True) -> ModelSet:
    """Paths of the det/rec/cls models to load; the int8 ones are built first if not cached. Falls back
    to the float models (with a warning) when quantisation is not possible here."""
    float_set = ModelSet(packaged_model("det"), packaged_model("rec"), packaged_model("cls"), int8=False)
    if not int8:
        return float_set
    try:
        return ModelSet(quantized_model("det"), quantized_model("rec"), packaged_model("cls"), int8=True)
    except Exception as error:  # e.g. a read-only cache: slower, never broken
        log.warning("int8 OCR models unavailable, using float models: %s: %s", type(error).__name__, error)
        return float_set


def quantized_model(stage: Stage) -> Path:
    """The int8 copy of a packaged model, built and cached on first call."""
    source = packaged_model(stage)
    digest = hashlib.sha256(source.read_bytes() + _RECIPE.encode()).hexdigest()[:16]
    target = cache_dir() / f"{source.stem}.int8-{digest}.onnx"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed into place: concurrent builders never see a half-written file.
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        built = _quantize(stage, source, Path(work))
        os.replace(built, target)
    log.info("built int8 OCR model %s", target)
    return target


def _quantize(stage: Stage, source: Path, work: Path) -> Path:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # Per-channel DequantizeLinear needs opset 13; the packaged models are opset 11.
    upgraded = work / "opset13.onnx"
    onnx.save(version_converter.convert_version(onnx.load(str(source)), 13), str(upgraded))
    prepared = work / "prepared.onnx"
    quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
    input_name = onnx.load(str(prepared), load_external_data=False).graph.input[0].name
    samples = _det_samples() if stage == "det" else _rec_samples()

    class Reader(CalibrationDataReader):  # type: ignore[misc]  # onnxruntime ships no types
        def __init__(self) -> None:
            self._samples = iter(samples)

        def get_next(self) -> dict[str, np.ndarray] | None:
            sample = next(self._samples, None)
            return None if sample is None else {input_name: sample}

    output = work / "int8.onnx"
    quantize_static(
        str(prepared),
        str(output),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    return output


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def _normalised(image: Image.Image) -> np.ndarray:
    """PP-OCR input: RGB scaled to [-1, 1], NCHW."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return array.transpose(2, 0, 1)[np.newaxis]


def _rec_samples(count: int = 24) -> Iterator[np.ndarray]:
    """Text lines 48 px high, as the recogniser sees them, in a few widths and ink levels."""
    rng = np.random.default_rng(7)
    for index in range(count):
        words = rng.choice(len(_SAMPLE_WORDS), size=int(rng.integers(1, 8)))
        text = " ".join(_SAMPLE_WORDS[i] for i in words)
        font = _font(int(rng.integers(26, 38)))
        width = int(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(text, font=font)) + 16
        line = Image.new("L", (max(width, 64), 48), int(rng.integers(200, 256)))
        ImageDraw.Draw(line).text((8, 6), text, fill=int(rng.integers(0, 90)), font=font)
        sample = _normalised(line)
        if index % 3 == 0:  # batches pad short lines with zeros on the right, as recognition does
            padded = np.zeros((1, 3, 48, max(320, sample.shape[3])), dtype=np.float32)
            padded[..., : sample.shape[3]] = sample
            sample = padded
        yield sample


def _det_samples(count: int = 6) -> Iterator[np.ndarray]:
    """Pages of left-aligned text lines and columns of amounts, sized as detection sees them."""
    rng = np.random.default_rng(11)
    for _ in range(count):
        width, height = int(rng.choice([448, 576, 736])), 960
        page = Image.new("L", (width, height), int(rng.integers(215, 256)))
        draw = ImageDraw.Draw(page)
        y = int(rng.integers(10, 40))
        while y < height - 40:
            size = int(rng.integers(12, 26))
            words = rng.choice(len(_SAMPLE_WORDS), size=int(rng.integers(1, 6)))
            draw.text(
                (int(rng.integers(5, 60)), y), " ".join(_SAMPLE_WORDS[i] for i in words), fill=0, font=_font(size)
            )
            if rng.random() < 0.5:
                draw.text((width - 120, y), f"{rng.uniform(0, 999):.2f}", fill=0, font=_font(size))
            y += size + int(rng.integers(4, 30))
        yield _normalised(page)


def main() -> int:
    """Build the int8 models into the cache (run at setup so no worker pays for it)."""
    logging.basicConfig(level=logging.INFO)
    for stage in ("det", "rec"):
        print(quantized_model(stage))
    return 0


if __name__ == "__main__":
    sys.exit(main())
