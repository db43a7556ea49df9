"""Train the scan-tampering classifier (shared/forensics/tamper_model.onnx), reproducibly.

    .venv/bin/python -m bench.train_tamper_model            # writes shared/forensics/tamper_model.onnx

Data: generated only from the shipped dev invoices (../shared/data/zugferd, ../shared/data/invoice2data):
each page 1 is rasterised like a scan; edited copies have an amount (or its first digit) painted over
and retyped (bench/fraud/tamper_generators.generate_scan_edit), controls go through the same JPEG
steps unedited. One sample = one glyph-sized tile of an amount (shared/forensics/image.py); label 1
when the tile covers the painted patch. Documents whose name hashes to 0 mod 3 are held out of
training (bench.tamper_suite reports them separately). Seeded: the same data gives the same model.
"""

from __future__ import annotations

import argparse
import hashlib
import random
from pathlib import Path

import numpy as np

from bench.fraud.tamper_generators import generate_scan_clean, generate_scan_edit, scan_words
from shared.forensics.image import FEATURES, load_grey, region_features, tiles
from shared.forensics.model import MODEL_PATH, THRESHOLD_KEY
from shared.forensics.tokens import is_key_token

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = ("zugferd", "invoice2data")
HIDDEN = 24


def held_out(source: Path) -> bool:
    return int(hashlib.sha256(source.name.encode()).hexdigest(), 16) % 3 == 0


def sources() -> list[Path]:
    return sorted(p for name in SETS for p in (DATA / name).glob("*.pdf"))


def candidates(words: list[tuple[str, tuple[float, float, float, float]]]) -> list[tuple[float, float, float, float]]:
    return [box for text, box in words if is_key_token(text)]


def _overlaps(tile: tuple[int, int, int, int], patch: tuple[float, float, float, float]) -> float:
    width = min(tile[2], patch[2]) - max(tile[0], patch[0])
    height = min(tile[3], patch[3]) - max(tile[1], patch[1])
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(1.0, (tile[2] - tile[0]) * (tile[3] - tile[1]))


Case = tuple[list[np.ndarray], list[np.ndarray], bool]  # tile features per region, tile labels, edited?


def samples(source: Path, rng: random.Random) -> list[Case]:
    """Tile features and labels of one edited and one clean scan of ``source``."""
    words = scan_words(source)
    references = [box for _, box in words]
    cases: list[Case] = []
    for case in [*generate_scan_edit(source, rng), *generate_scan_clean(source, rng)]:
        grey = load_grey(case.data)
        targets = candidates(words)
        region = case.region
        if region is not None and not any(_overlaps(tuple(int(v) for v in b), region) > 0 for b in targets):  # type: ignore[arg-type]
            targets.append(region)
        features: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        for box, matrix in zip(targets, region_features(grey, targets, references), strict=True):
            tile_boxes = tiles(box, grey.shape)
            positive = [region is not None and _overlaps(t, region) >= 0.4 for t in tile_boxes]
            features.append(matrix)
            labels.append(np.array(positive[: matrix.shape[0]], dtype=np.float32))
        cases.append((features, labels, region is not None))
    return cases


def train(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 600) -> dict[str, np.ndarray]:
    """A 1-hidden-layer MLP by full-batch Adam on class-balanced cross-entropy (numpy only)."""
    rng = np.random.default_rng(seed)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / std
    params = {
        "w1": rng.normal(0, 1 / np.sqrt(z.shape[1]), (z.shape[1], HIDDEN)).astype(np.float32),
        "b1": np.zeros(HIDDEN, np.float32),
        "w2": rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, 1)).astype(np.float32),
        "b2": np.zeros(1, np.float32),
    }
    weight = np.where(y > 0.5, 0.5 / max(1e-6, y.mean()), 0.5 / max(1e-6, 1 - y.mean())).astype(np.float32)
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    for step in range(1, epochs + 1):
        hidden = np.maximum(0, z @ params["w1"] + params["b1"])
        logits = (hidden @ params["w2"] + params["b2"]).reshape(-1)
        prob = 1 / (1 + np.exp(-np.clip(logits, -30, 30)))
        grad_logits = ((prob - y) * weight / len(y)).reshape(-1, 1).astype(np.float32)
        grads = {"w2": hidden.T @ grad_logits, "b2": grad_logits.sum(axis=0)}
        grad_hidden = (grad_logits @ params["w2"].T) * (hidden > 0)
        grads["w1"] = z.T @ grad_hidden + 1e-4 * params["w1"]
        grads["b1"] = grad_hidden.sum(axis=0)
        for key, grad in grads.items():
            m, v = moments[key]
            m[:] = 0.9 * m + 0.1 * grad
            v[:] = 0.999 * v + 0.001 * grad * grad
            params[key] -= 0.01 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    params["mean"], params["std"] = mean.astype(np.float32), std.astype(np.float32)
    return params


def export(params: dict[str, np.ndarray], threshold: float, path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(params[k].astype(np.float32), name=k) for k in ("mean", "std", "w1", "b1", "w2", "b2")
    ]
    nodes = [
        helper.make_node("Sub", ["features", "mean"], ["centered"]),
        helper.make_node("Div", ["centered", "std"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["o0"]),
        helper.make_node("Add", ["o0", "b2"], ["o1"]),
        helper.make_node("Sigmoid", ["o1"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes,
        "papyr_scan_tamper",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["tiles", len(FEATURES)])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["tiles", 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="papyr")
    model.ir_version = 8
    helper.set_model_props(
        model, {THRESHOLD_KEY: f"{threshold:.4f}", "papyr_version": "scan-tamper-1", "features": ",".join(FEATURES)}
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    z = (x - params["mean"]) / params["std"]
    hidden = np.maximum(0, z @ params["w1"] + params["b1"])
    return (1 / (1 + np.exp(-(hidden @ params["w2"] + params["b2"])))).reshape(-1)


def _max_score(params: dict[str, np.ndarray], features: list[np.ndarray]) -> float:
    rows = [f for f in features if f.shape[0]]
    return float(forward(params, np.concatenate(rows)).max()) if rows else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=3, help="edited + clean scan pairs per training document")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases: list[Case] = []
    documents = [s for s in sources() if not held_out(s)]
    for source in documents:
        for _ in range(args.variants):
            try:
                cases += samples(source, rng)
            except Exception as exc:  # a source that cannot be rasterised is skipped, and said so
                print(f"skipped {source.name}: {type(exc).__name__}: {exc}")
                break
    x = np.concatenate([f for features, _, _ in cases for f in features if f.shape[0]])
    y = np.concatenate(
        [label for features, labels, _ in cases for f, label in zip(features, labels, strict=True) if f.shape[0]]
    )
    print(f"{len(documents)} training documents, {len(cases)} scans, {len(y)} tiles, {int(y.sum())} edited")
    params = train(x, y, args.seed)
    # The threshold is set per document, as the check decides: a clean scan is flagged when any tile of
    # any amount reaches it. Allow at most 1 % of the clean training scans over it.
    clean_max = np.sort([_max_score(params, features) for features, _, edited in cases if not edited])
    edited_max = [
        _max_score(params, [f[label > 0.5] for f, label in zip(features, labels, strict=True)])
        for features, labels, edited in cases
        if edited
    ]
    threshold = float(max(0.5, clean_max[min(len(clean_max) - 1, int(np.ceil(len(clean_max) * 0.99)))] + 1e-4))
    recall = float(np.mean([score >= threshold for score in edited_max]))
    fpr = float(np.mean(clean_max >= threshold))
    print(f"threshold {threshold:.4f}: training scans recall {recall:.3f}, clean scans flagged {fpr:.3f}")
    export(params, threshold, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
