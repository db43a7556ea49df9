"""OCR pages per second and character error rate: Papyr's OCR engine vs Tesseract, same run, same cores.

    .venv/bin/python -m bench.ocr_vs_tesseract [--limit N] [--cores 2] [--tesseract-mode processes|threads]
                                               [--with-stock] [--json OUT]

Data: the SROIE dev receipts (``../shared/data/sroie/*.jpg``); the reference is each receipt's official OCR
lines (``ocr_boxes/NNN.csv``: ``x1,y1,...,y4,text``).

Page text in reading order is built the same way for the reference and for every engine, from boxes:
boxes are grouped into lines by vertical overlap, lines read top to bottom, boxes in a line left to right,
joined by one space, lines by a newline; NFKC, upper case (the reference is upper case throughout).
CER = Levenshtein distance / reference length, summed over all pages (micro), and the per-page mean;
"CER no-space" is the same with all whitespace removed (engines differ in where they put spaces,
"NO:123" vs "NO: 123").

Cores: the process pins itself (``sched_setaffinity``) to the first ``--cores`` CPUs, and Tesseract runs
as its children, so both are confined to the same CPUs. Papyr's engine runs in this process and reads
each chunk of pages with ``recognize_pages`` (its pool of one single-threaded worker per core, the
way the gpu-inference service runs a batch on a CPU). Two Tesseract peers, both measured:
- "tesseract 2×1": ``--cores`` parallel processes with ``OMP_THREAD_LIMIT=1``, each on its share of the
  pages through a list file (Tesseract's fastest way to use several cores; ``--tesseract-mode threads``
  makes it one process with ``OMP_THREAD_LIMIT=cores`` instead);
- "tesseract per page": the ordinary use, ``tesseract IMAGE stdout tsv`` once per page, one after
  another, default threading (what pytesseract does per page).
Our model load is excluded (one warm-up page; a service is warm); Tesseract's process start and model
load are inside its time (once per process and chunk, a fraction of a second). The engines take turns
chunk by chunk (``--chunk`` pages each), so that other load on a shared machine hits them alike.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from rapidfuzz.distance import Levenshtein

REPO = Path(__file__).resolve().parents[1]
SROIE = REPO.parent / "shared" / "data" / "sroie"

Box = tuple[float, float, float, float, str]  # x0, top, x1, bottom, text


# --- reading order and error rate ------------------------------------------------------------------


def reading_order_text(boxes: Sequence[Box]) -> str:
    """Lines by vertical overlap (a box joins a line when its vertical centre falls within the line's
    span), lines top to bottom, boxes left to right."""
    lines: list[list[Box]] = []
    spans: list[list[float]] = []
    for box in sorted((b for b in boxes if b[4].strip()), key=lambda b: (b[1] + b[3]) / 2):
        centre = (box[1] + box[3]) / 2
        for line, span in zip(lines, spans, strict=True):
            if span[0] <= centre <= span[1]:
                line.append(box)
                span[0], span[1] = min(span[0], box[1]), max(span[1], box[3])
                break
        else:
            lines.append([box])
            spans.append([box[1], box[3]])
    ordered = sorted(zip(lines, spans, strict=True), key=lambda pair: pair[1][0])
    return "\n".join(" ".join(b[4].strip() for b in sorted(line, key=lambda b: b[0])) for line, _ in ordered)


def normalize(text: str) -> str:
    """NFKC, upper case (SROIE's reference transcribes every receipt in upper case, whatever was
    printed), runs of spaces inside a line become one space (lines are kept)."""
    lines = unicodedata.normalize("NFKC", text).upper().splitlines()
    return "\n".join(" ".join(line.split()) for line in lines)


def reference_boxes(image: Path) -> list[Box]:
    boxes: list[Box] = []
    with (image.parent / "ocr_boxes" / f"{image.stem}.csv").open(encoding="utf-8", errors="replace") as handle:
        for row in csv.reader(handle):
            if len(row) < 9:
                continue
            coords = [float(value) for value in row[:8]]
            text = ",".join(row[8:])  # the transcription itself may contain commas
            xs, ys = coords[0::2], coords[1::2]
            boxes.append((min(xs), min(ys), max(xs), max(ys), text))
    return boxes


@dataclass
class EngineResult:
    name: str
    seconds: float = 0.0
    texts: dict[str, str] = field(default_factory=dict)

    def pages_per_second(self) -> float:
        return len(self.texts) / self.seconds if self.seconds else 0.0

    def cer(self, references: dict[str, str], *, spaces: bool = True) -> tuple[float, float]:
        """(micro CER over all pages, mean per-page CER); ``spaces=False`` drops all whitespace first."""
        if not spaces:
            references = {stem: "".join(ref.split()) for stem, ref in references.items()}
        texts = self.texts if spaces else {stem: "".join(text.split()) for stem, text in self.texts.items()}
        distances = {stem: Levenshtein.distance(texts.get(stem, ""), ref) for stem, ref in references.items()}
        micro = sum(distances.values()) / max(1, sum(len(ref) for ref in references.values()))
        mean = sum(distances[stem] / max(1, len(ref)) for stem, ref in references.items()) / max(1, len(references))
        return micro, mean


# --- engines ---------------------------------------------------------------------------------------


PageReader = Callable[[Path], str]


def stock_rapidocr_reader() -> PageReader:
    """RapidOCR with its default settings, for reference (what the issue calls "stock")."""
    import numpy as np
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})

    def page(path: Path) -> str:
        with Image.open(path) as image:
            result = engine(np.asarray(image.convert("RGB")))
        quads, txts = getattr(result, "boxes", None), getattr(result, "txts", None)
        boxes: list[Box] = []
        for quad, text in zip([] if quads is None else quads, txts or (), strict=False):
            xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
            boxes.append((min(xs), min(ys), max(xs), max(ys), str(text)))
        return normalize(reading_order_text(boxes))

    return page


def papyr_pages_reader() -> Callable[[list[Path]], list[str]]:
    """shared.ocr.rapid.default_ocr_engine's ``recognize_pages``: the pages of a chunk in parallel."""
    from shared.ocr.rapid import RapidOcrEngine, default_ocr_engine

    engine = default_ocr_engine()
    assert isinstance(engine, RapidOcrEngine)

    def pages(paths: list[Path]) -> list[str]:
        # Opened, not decoded: the engine decodes each file itself, as Tesseract does (a JPEG as luminance only).
        images = [Image.open(path) for path in paths]
        try:
            results = engine.recognize_pages(images)
        finally:
            for image in images:
                image.close()
        texts = []
        for words in results:
            if isinstance(words, Exception):
                raise words
            texts.append(normalize(reading_order_text([(w.x0, w.top, w.x1, w.bottom, w.text) for w in words])))
        return texts

    return pages


def run_pages(result: EngineResult, pages: Callable[[list[Path]], list[str]], images: list[Path]) -> None:
    started = time.perf_counter()
    texts = pages(images)
    result.seconds += time.perf_counter() - started
    result.texts.update({path.stem: text for path, text in zip(images, texts, strict=True)})


def run_tesseract_per_page(result: EngineResult, images: list[Path]) -> None:
    """``tesseract IMAGE stdout tsv`` per page, sequentially, default threading (the ordinary use)."""
    env = {key: value for key, value in os.environ.items() if key != "OMP_THREAD_LIMIT"}
    for path in images:
        started = time.perf_counter()
        done = subprocess.run(
            ["tesseract", str(path), "stdout", "-l", "eng", "tsv"], env=env, capture_output=True, check=True
        )
        result.seconds += time.perf_counter() - started
        boxes = _tsv_pages(done.stdout.decode("utf-8", errors="replace")).get(1, [])
        result.texts[path.stem] = normalize(reading_order_text(boxes))


def run_in_process(result: EngineResult, page: PageReader, images: list[Path]) -> None:
    """Read ``images`` one after another, adding texts and seconds to ``result``."""
    started = time.perf_counter()
    for path in images:
        result.texts[path.stem] = page(path)
    result.seconds += time.perf_counter() - started


def run_tesseract(result: EngineResult, images: list[Path], cores: int, mode: str) -> None:
    """Tesseract CLI, TSV output (word boxes) over list files: ``cores`` processes × 1 thread, or one
    process × ``cores`` threads; adds texts and seconds to ``result``."""
    shares = [share for i in range(cores) if (share := images[i::cores])] if mode == "processes" else [images]
    threads = "1" if mode == "processes" else str(cores)
    with tempfile.TemporaryDirectory() as tmp:
        commands = []
        for index, share in enumerate(shares):
            listing = Path(tmp) / f"list{index}.txt"
            listing.write_text("".join(f"{path}\n" for path in share))
            commands.append(["tesseract", str(listing), str(Path(tmp) / f"out{index}"), "-l", "eng", "tsv"])
        env = {**os.environ, "OMP_THREAD_LIMIT": threads}
        started = time.perf_counter()
        processes = [
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for command in commands
        ]
        for process in processes:
            if process.wait() != 0:
                raise RuntimeError(f"tesseract exited with {process.returncode}")
        result.seconds += time.perf_counter() - started
        for index, share in enumerate(shares):
            pages = _tsv_pages((Path(tmp) / f"out{index}.tsv").read_text(encoding="utf-8", errors="replace"))
            for page_number, path in enumerate(share, start=1):
                result.texts[path.stem] = normalize(reading_order_text(pages.get(page_number, [])))


def _tsv_pages(tsv: str) -> dict[int, list[Box]]:
    """Word rows (level 5) of Tesseract's TSV, by page_num (1-based within one list file)."""
    pages: dict[int, list[Box]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        left, top, width, height = (float(value) for value in cells[6:10])
        pages.setdefault(int(cells[1]), []).append((left, top, left + width, top + height, cells[11]))
    return pages


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, help="only the first N receipts (development)")
    parser.add_argument("--cores", type=int, default=2, help="CPUs both engines are confined to (default 2)")
    parser.add_argument("--tesseract-mode", choices=("processes", "threads"), default="processes")
    parser.add_argument("--with-stock", action="store_true", help="also run RapidOCR with default settings")
    parser.add_argument("--chunk", type=int, default=25, help="pages per turn when alternating engines")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)

    available = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, available[: args.cores])
    cores = len(os.sched_getaffinity(0))
    images = sorted(SROIE.glob("*.jpg"))[: args.limit]
    references = {path.stem: normalize(reading_order_text(reference_boxes(path))) for path in images}

    ours_pages = papyr_pages_reader()
    ours_pages(images[:1])  # warm-up: model load and first-run allocation are not page throughput
    others_readers = {"RapidOCR stock": stock_rapidocr_reader()} if args.with_stock else {}
    for page in others_readers.values():
        page(images[0])
    ours = EngineResult("papyr (ours)")
    others = [EngineResult(name) for name in others_readers]
    tesseract = EngineResult(f"tesseract 2x1 ({args.tesseract_mode})")
    ordinary = EngineResult("tesseract per page")
    # Alternate engines chunk by chunk, so that load from other processes on the machine hits all alike.
    for start in range(0, len(images), args.chunk):
        chunk = images[start : start + args.chunk]
        run_tesseract(tesseract, chunk, cores, args.tesseract_mode)
        run_pages(ours, ours_pages, chunk)
        run_tesseract_per_page(ordinary, chunk)
        for result, page in zip(others, others_readers.values(), strict=True):
            run_in_process(result, page, chunk)
        print(f"\r{start + len(chunk)}/{len(images)} pages", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    results = [ours, tesseract, ordinary, *others]

    print(f"SROIE dev receipts: {len(images)} pages, {cores} cores (CPUs {sorted(os.sched_getaffinity(0))})")
    print(f"{'engine':28} {'pages/s':>8} {'CER':>7} {'mean page CER':>14} {'CER no-space':>13} {'seconds':>8}")
    figures: dict[str, Any] = {"pages": len(images), "cores": cores, "engines": {}}
    for result in results:
        micro, mean = result.cer(references)
        no_space = result.cer(references, spaces=False)[0]
        print(
            f"{result.name:28} {result.pages_per_second():8.3f} {micro:7.4f} {mean:14.4f} {no_space:13.4f}"
            f" {result.seconds:8.1f}"
        )
        figures["engines"][result.name] = {
            "pages_per_second": result.pages_per_second(),
            "cer": micro,
            "mean_page_cer": mean,
            "cer_no_space": no_space,
            "seconds": result.seconds,
        }
    for peer, key in ((tesseract, "strong"), (ordinary, "per_page")):
        speed_ratio = ours.pages_per_second() / peer.pages_per_second()
        peer_cer, peer_ns = peer.cer(references)[0], peer.cer(references, spaces=False)[0]
        cer_ratio = ours.cer(references)[0] / peer_cer if peer_cer else float("inf")
        no_space_ratio = ours.cer(references, spaces=False)[0] / peer_ns if peer_ns else float("inf")
        print(
            f"ratio ours/{peer.name}: pages/s {speed_ratio:.2f}x (target >= 3), CER {cer_ratio:.2f}x"
            f" (target <= 0.5), CER no-space {no_space_ratio:.2f}x"
        )
        figures[key] = {
            "peer": peer.name,
            "speed_ratio": speed_ratio,
            "cer_ratio": cer_ratio,
            "cer_no_space_ratio": no_space_ratio,
        }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
