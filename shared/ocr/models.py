"""The OCR models: RapidOCR's packaged PP-OCR ONNX models, and int8 copies made from them.

Why int8: on a CPU with VNNI (AVX-512 or AVX-VNNI) ONNX Runtime runs an int8 QDQ convolution about
twice as fast as the float one, and convolutions are ~75 % of detection and recognition time. Only
static quantisation helps: dynamic quantisation turns Conv into ConvInteger, which is 3x slower.

The int8 models are made reproducibly, not downloaded: from the packaged float model, calibrated on
synthetic pages and text lines drawn with Pillow's built-in font (activation ranges of black text on
white paper, which is what scans are), then cached on disk keyed by the source model's hash and this
recipe's version. ``python -m shared.ocr.models`` builds them at setup; otherwise the first use does.

The recogniser reads Latin and Greek script only: the packaged model scores 18,710 characters (Chinese,
Japanese, Korean, Thai, ... as well; it has no Cyrillic) at every step of every line, and that output
layer and its softmax were a quarter of recognition time. Its head is cut to the 1,114 characters an
invoice in a European language (or a receipt in English or Malay) can carry: Latin with all its
extensions, Greek, punctuation, currency and other symbols (``_kept``). The float and the int8
recogniser are cut the same way, so the CPU and the GPU read the same characters.

The int8 models are used only where int8 is exact (``int8_is_exact``): an x86-64 CPU without VNNI runs
ONNX Runtime's u8×s8 convolutions with vpmaddubsw, whose int16 pair sums saturate, and the detector then
loses words (117 of 249 on a scanned invoice, AVX2-only AMD EPYC; BENCHMARKS.md). There the float models
the int8 ones are made from are used: slower, but exact.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

Stage = Literal["det", "rec", "cls"]
# Bumped when the quantisation recipe changes, so stale cached models are not reused.
_RECIPE = "qdq-u8s8-perchannel-v1"
_PRUNE_RECIPE = "latin-greek-v1"
# The recogniser: only its convolutions in int8, calibrated on 96 lines. Its attention MatMuls, GELUs and
# layer norms in int8 too cost SROIE CER 0.0333 (float) -> 0.0396 and 3 points of field accuracy (0.904 ->
# 0.874); convolutions alone: CER 0.0369, and +8 % CPU over all-int8 (still ~40 % under float).
_REC_RECIPE = "conv-only-96"
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


def int8_is_exact(cpuinfo: Path = Path("/proc/cpuinfo"), machine: str | None = None) -> bool:
    """Whether this CPU runs int8 QDQ convolutions without saturating: any non-x86 CPU (ARM's dot
    products widen to 32 bits), an x86-64 one only with AVX512-VNNI or AVX-VNNI (u8×s8 pairs summed
    straight to int32). An x86 CPU whose flags cannot be read counts as not exact: the float models are
    slower there, never wrong."""
    arch = (machine or platform.machine()).lower()
    if arch not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return "avx512_vnni" in flags or "avx_vnni" in flags


def model_set(*, int8: bool = True, int8_rec: bool = False) -> ModelSet:
    """Paths of the det/rec/cls models to load, built first if not cached: the Latin/Greek recogniser
    (float, or int8 with ``int8_rec``), and the int8 detector with ``int8``. Falls back to the packaged
    float models (with a warning) when the built ones cannot be made here.

    Why the recogniser stays float by default: in int8 it costs field accuracy on receipts (SROIE, all 100:
    0.904 float; 0.874 all ops int8; 0.894 convolutions only), for 40 % less recognition time. The
    detector loses nothing measurable in int8 (SROIE CER 0.0393 float, 0.0396 int8)."""
    packaged = ModelSet(packaged_model("det"), packaged_model("rec"), packaged_model("cls"), int8=False)
    if (int8 or int8_rec) and not int8_is_exact():
        log.info("this CPU has no VNNI: int8 convolutions would saturate, the float OCR models are used")
        int8 = int8_rec = False
    try:
        det = quantized_model("det") if int8 else packaged.det
        rec = quantized_model("rec") if int8_rec else pruned_rec_model()
        return ModelSet(det, rec, packaged.cls, int8=int8 or int8_rec)
    except Exception as error:  # e.g. a read-only cache: slower, never broken
        log.warning("built OCR models unavailable, using the packaged ones: %s: %s", type(error).__name__, error)
        return packaged


def quantized_model(stage: Stage) -> Path:
    """The int8 copy of a packaged model (the recogniser: of its Latin/Greek cut), built and cached
    on first call."""
    source = pruned_rec_model() if stage == "rec" else packaged_model(stage)
    recipe = f"int8-{_RECIPE}-{_REC_RECIPE}" if stage == "rec" else f"int8-{_RECIPE}"
    return _cached(source, recipe, lambda work: _quantize(stage, source, work))


def pruned_rec_model() -> Path:
    """The packaged float recogniser with its output cut to the characters ``_kept`` keeps."""
    source = packaged_model("rec")
    return _cached(source, f"latin-{_PRUNE_RECIPE}", lambda work: _prune_rec_head(source, work))


def _cached(source: Path, recipe: str, build: Callable[[Path], Path]) -> Path:
    """``build``'s model, cached under a name keyed by the source model's bytes and the recipe."""
    digest = hashlib.sha256(source.read_bytes() + recipe.encode()).hexdigest()[:16]
    kind = recipe.split("-", 1)[0]
    target = cache_dir() / f"{source.stem.split('.')[0]}.{kind}-{digest}.onnx"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed into place: concurrent builders never see a half-written file.
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        os.replace(build(Path(work)), target)
    log.info("built OCR model %s", target)
    return target


def _kept(character: str) -> bool:
    """Latin (with IPA and every extension), Greek, Cyrillic (none in the packaged model's list), general
    punctuation, super- and subscripts, currency, letter-like symbols, number forms, arrows, mathematical
    operators."""
    code = ord(character[0]) if len(character) == 1 else -1
    return 0 <= code < 0x0530 or 0x1D00 <= code < 0x2300 or 0xA720 <= code < 0xA800 or 0xAB30 <= code < 0xAB70


def _prune_rec_head(source: Path, work: Path) -> Path:
    """Cut the recogniser's output layer (MatMul → Add → Softmax over blank + characters + space) to the
    kept characters; the model's ``character`` metadata, which RapidOCR decodes with, is cut alike."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    metadata = next(prop for prop in model.metadata_props if prop.key == "character")
    characters = metadata.value.splitlines()
    # Output classes: 0 = CTC blank, 1..N = the characters, N + 1 = space (RapidOCR's CTCLabelDecode).
    keep = [0] + [i + 1 for i, ch in enumerate(characters) if _kept(ch)] + [len(characters) + 1]
    producers = {output: node for node in graph.node for output in node.output}

    def producer(name: str) -> onnx.NodeProto:
        node = producers[name]
        return producer(node.input[0]) if node.op_type == "Identity" else node

    softmax = producer(graph.output[0].name)
    add = producer(softmax.input[0])
    matmul = producer(add.input[0])
    if (softmax.op_type, add.op_type, matmul.op_type) != ("Softmax", "Add", "MatMul"):
        raise ValueError(f"unexpected recogniser head: {matmul.op_type} → {add.op_type} → {softmax.op_type}")
    initializers = {init.name: init for init in graph.initializer}
    for name, axis in ((matmul.input[1], 1), (add.input[1], 0)):
        array = numpy_helper.to_array(initializers[name])
        if array.shape[axis] != len(characters) + 2:
            raise ValueError(f"recogniser head {name} has {array.shape[axis]} classes, not {len(characters) + 2}")
        initializers[name].CopyFrom(numpy_helper.from_array(np.take(array, keep, axis=axis), name))
    graph.output[0].type.tensor_type.shape.dim[-1].dim_value = len(keep)
    del graph.value_info[:]  # stale shapes of the cut tensors; shape inference redoes them
    metadata.value = "\n".join(characters[i - 1] for i in keep[1:-1])
    onnx.checker.check_model(model)
    target = work / "latin.onnx"
    onnx.save(model, str(target))
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
    samples = _det_samples() if stage == "det" else _rec_samples(96)

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
        op_types_to_quantize=["Conv"] if stage == "rec" else None,
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
    """Build the models into the cache (run at setup so no worker pays for it)."""
    logging.basicConfig(level=logging.INFO)
    print(pruned_rec_model())
    if int8_is_exact():  # else never used here (model_set)
        print(quantized_model("det"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
