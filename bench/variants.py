"""The two ZUGFeRD variants of ``../shared/data/README.md`` ("Variants used in evaluation"), built from
the dev PDFs, then Papyr and invoice2data scored on both in the same run (bench.eval_sets' peer predictor and
shared.evaluation.evaluate_directory).

    .venv/bin/python -m bench.variants [--out bench/out/variants] [--limit N] [--build-only | --skip-build]
                                       [--json OUT]

- ``zugferd_text/``: each PDF with every embedded file removed (``Root.Names.EmbeddedFiles``,
  ``Root.AF``, page ``/AF`` and ``/FileAttachment`` annotations), so the data must come from the text layer;
- ``zugferd_ocr/``: image-only PDFs: ``pdftoppm -r 200 -gray``, then a slight skew, light noise and JPEG,
  one image per page and no text layer.

Labels are copied beside the documents. Skew angle and noise are seeded from the file name, so a
rebuild gives the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pikepdf
from PIL import Image
from rich.console import Console
from rich.table import Table

from bench import eval_sets, reliability
from shared.evaluation import evaluate_directory, report_to_json

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "zugferd"
DEFAULT_OUT = REPO / "bench" / "out" / "variants"

DPI = 200
MAX_SKEW_DEGREES = 1.2
NOISE_SIGMA = 6.0  # grey levels, on 0..255
JPEG_QUALITY = 75


def strip_embedded_files(source: Path, target: Path) -> None:
    """The text-path variant: the same PDF without any embedded file or attachment annotation."""
    with pikepdf.open(source) as pdf:
        names = pdf.Root.get("/Names")
        if names is not None and "/EmbeddedFiles" in names:
            del names["/EmbeddedFiles"]
        if "/AF" in pdf.Root:
            del pdf.Root["/AF"]
        for page in pdf.pages:
            if "/AF" in page.obj:
                del page.obj["/AF"]
            annots = page.obj.get("/Annots")
            if annots is None:
                continue
            kept = [annot for annot in annots if annot.get("/Subtype") != pikepdf.Name.FileAttachment]
            if kept:
                page.obj["/Annots"] = pikepdf.Array(kept)
            else:
                del page.obj["/Annots"]
        pdf.save(target)


def rasterize(source: Path, target: Path) -> None:
    """The OCR-path variant: every page rendered at 200 dpi grey, degraded like a scan, as JPEG."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(source.name.encode()).digest()[:8], "big"))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", str(source), f"{tmp}/page"], check=True)
        pages = sorted(Path(tmp).glob("page-*.pgm"), key=lambda path: int(path.stem.rsplit("-", 1)[1]))
        jpegs = [_scan_like(Image.open(page), rng) for page in pages]
    target.write_bytes(images_to_pdf(jpegs))


def _scan_like(page: Image.Image, rng: np.random.Generator) -> tuple[bytes, int, int]:
    """A slight rotation (white fill), Gaussian noise, JPEG: (bytes, width, height)."""
    angle = float(rng.uniform(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES))
    skewed = page.convert("L").rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    pixels = np.asarray(skewed, dtype=np.float32) + rng.normal(0.0, NOISE_SIGMA, (skewed.height, skewed.width))
    noisy = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue(), noisy.width, noisy.height


def images_to_pdf(jpegs: list[tuple[bytes, int, int]], dpi: float = DPI) -> bytes:
    """One page per greyscale JPEG (data, width, height), embedded as is (DCTDecode) and drawn over its
    whole page, page size from the pixel size at ``dpi``: an image-only PDF as scanners write them."""
    pdf = pikepdf.new()
    for data, width, height in jpegs:
        image = pikepdf.Stream(pdf, data)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height, image.BitsPerComponent = width, height, 8
        image.ColorSpace, image.Filter = pikepdf.Name.DeviceGray, pikepdf.Name.DCTDecode
        points_w, points_h = width * 72 / dpi, height * 72 / dpi
        content = pikepdf.Stream(pdf, f"q {points_w:.3f} 0 0 {points_h:.3f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=pikepdf.Array([0, 0, points_w, points_h]),
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
            Contents=content,
        )
        pdf.pages.append(pikepdf.Page(page))
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def build(out: Path, limit: int | None = None) -> tuple[Path, Path]:
    """Both variant folders under ``out`` (rebuilt from scratch); returns (text dir, ocr dir)."""
    text_dir, ocr_dir = out / "zugferd_text", out / "zugferd_ocr"
    for folder in (text_dir, ocr_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    sources = sorted(SOURCE.glob("*.pdf"))[:limit]
    for index, source in enumerate(sources, start=1):
        label = source.with_suffix(".json")
        if not label.is_file():
            continue
        strip_embedded_files(source, text_dir / source.name)
        rasterize(source, ocr_dir / source.name)
        for folder in (text_dir, ocr_dir):
            shutil.copyfile(label, folder / label.name)
        print(f"\rbuilt {index}/{len(sources)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return text_dir, ocr_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="variants folder (default bench/out/variants)")
    parser.add_argument("--limit", type=int, help="only the first N ZUGFeRD PDFs (development)")
    parser.add_argument("--build-only", action="store_true", help="build the variants, do not evaluate")
    parser.add_argument("--skip-build", action="store_true", help="evaluate the variants already under --out")
    parser.add_argument("--json", type=Path, help="write both reports per set to this file")
    args = parser.parse_args(argv)
    if args.skip_build:
        text_dir, ocr_dir = args.out / "zugferd_text", args.out / "zugferd_ocr"
    else:
        text_dir, ocr_dir = build(args.out, args.limit)
    if not args.build_only:
        evaluate_both([text_dir, ocr_dir], args.json)
    return 0


def evaluate_both(sets: list[Path], json_out: Path | None) -> None:
    """Papyr and invoice2data on each set, same run, same scorer (bench.eval_sets' peer predictor);
    Papyr's prediction lines are kept for bench.reliability --reuse."""
    peer = eval_sets.invoice2data_predictor()
    table = Table(title="ZUGFeRD variants: Papyr vs invoice2data (same run, LABELS.md scoring)")
    for column in (
        "set",
        "docs",
        "papyr macro",
        "invoice2data macro",
        "ratio",
        "papyr docs/s",
        "peer docs/s",
        "papyr lines acc",
    ):
        table.add_column(column)
    results: dict[str, dict[str, Any]] = {}
    for directory in sets:
        ours, lines = evaluate_directory(directory, on_document=reliability.progress(f"papyr {directory.name}"))
        reliability.save_predictions(directory.name, lines)
        peer_progress = reliability.progress(f"peer {directory.name}")
        theirs = evaluate_directory(directory, predict=peer, on_document=peer_progress)[0]
        results[directory.name] = {"papyr": report_to_json(ours), "invoice2data": report_to_json(theirs)}
        ratio = f"{ours.macro_accuracy / theirs.macro_accuracy:.2f}x" if theirs.macro_accuracy else "n/a (peer 0)"
        table.add_row(
            directory.name,
            str(ours.documents),
            f"{ours.macro_accuracy:.3f}",
            f"{theirs.macro_accuracy:.3f}",
            ratio,
            f"{ours.docs_per_second:.2f}",
            f"{theirs.docs_per_second:.2f}",
            f"{ours.line_items.accuracy:.3f}",
        )
        for name, score in ours.fields.items():
            peer_score = theirs.fields.get(name)
            peer_text = f"{peer_score.accuracy:.3f}" if peer_score else "-"
            print(
                f"  {directory.name} {name:16} papyr {score.accuracy:.3f}  invoice2data {peer_text}  "
                f"(labelled {score.labelled})"
            )
    Console(width=160).print(table)
    if json_out:
        json_out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
