"""`python -m recommenders.forecast`: "given what I saw, what comes next, and why".

Input is either incident text (`--text FILE`, mapped to techniques with evidence and IoCs) or
technique IDs (`--techniques T1566.001,T1059.001`). The recommender folds the observed techniques
in and ranks every other technique; output is a readable report, `--json`, and optionally an
ATT&CK Navigator layer (`--navigator layer.json`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommenders.artifacts import load_model, resolve_model_dir
from recommenders.errors import DataError
from recommenders.models import Recommender
from recommenders.navigator import forecast_layer, write_layer

log = logging.getLogger("recommenders.forecast")


def default_model() -> Path:
    """`runs/best.json` when a training run exists here, else the model shipped with tie_gym."""
    try:
        return resolve_model_dir("runs")
    except DataError:
        from tie_gym.adversary import default_model_path

        return default_model_path()


def forecast(
    model: Recommender, manifest: dict[str, Any], observed: list[str], k: int = 10
) -> tuple[list[dict[str, Any]], list[str]]:
    """Top-k next techniques for an observed set; also returns the observed IDs the model ignored."""
    vocabulary = manifest["technique_ids"]
    index = {t: i for i, t in enumerate(vocabulary)}
    known = [t for t in observed if t in index]
    unknown = [t for t in observed if t not in index]
    if not known:
        raise ValueError(
            f"none of the observed techniques {observed} is in the model's vocabulary "
            f"({len(vocabulary)} techniques, ATT&CK {manifest.get('data', {}).get('attack', {}).get('file', '?')})"
        )
    row = sp.csr_matrix(
        (np.ones(len(known), dtype=np.float32), ([0] * len(known), [index[t] for t in known])),
        shape=(1, len(vocabulary)),
    )
    scores = np.asarray(model.score(row), dtype=np.float64)[0]
    scores[[index[t] for t in known]] = -np.inf
    top = np.argsort(-scores, kind="stable")[:k]
    finite = scores[np.isfinite(scores)]
    low, high = float(finite.min()), float(finite.max())
    names, tactics = manifest.get("technique_names", {}), manifest.get("technique_tactics", {})
    ranked = [
        {
            "rank": r + 1,
            "technique": vocabulary[j],
            "name": names.get(vocabulary[j], ""),
            "tactics": tactics.get(vocabulary[j], []),
            "score": float(scores[j]),
            "relative": (float(scores[j]) - low) / (high - low) if high > low else 0.0,
        }
        for r, j in enumerate(top)
    ]
    return ranked, unknown


def read_text(path: str) -> str:
    """Incident text from a file or '-' (stdin); undecodable bytes are replaced, not fatal."""
    raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        raise ValueError(f"{path}: the text is empty; paste an incident summary or report")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recommenders.forecast", description=__doc__.splitlines()[0]
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="incident text file ('-' for stdin)")
    source.add_argument("--techniques", help="comma-separated technique IDs already observed")
    parser.add_argument(
        "--model",
        help="recommender (model, run or output folder; default: runs/ or the shipped model)",
    )
    parser.add_argument(
        "--text-model", default="runs/text", help="text mapper folder (default: runs/text)"
    )
    parser.add_argument(
        "--threshold", type=float, help="text mapper confidence threshold (default: the model's)"
    )
    parser.add_argument("-k", type=int, default=10, help="how many next techniques (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--navigator", help="write an ATT&CK Navigator layer to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        model, manifest = load_model(args.model or default_model())
        mapping = None
        if args.text:
            from recommenders.text.mapper import TextMapper

            mapper = TextMapper.load(resolve_model_dir(args.text_model))
            mapping = mapper.map_text(read_text(args.text), threshold=args.threshold)
            observed = mapping.technique_ids()
            if not observed:
                message = "no ATT&CK technique found in the text at this threshold (try a lower --threshold)"
                print(
                    json.dumps(
                        {"found": mapping.to_json(), "forecast": [], "note": message}, indent=2
                    )
                    if args.json
                    else message
                )
                return 0
        else:
            observed = [t.strip() for t in args.techniques.split(",") if t.strip()]
        ranked, unknown = forecast(model, manifest, observed, args.k)
    except (DataError, ValueError, OSError) as exc:
        log.error("error: %s", exc)
        return 2
    if args.navigator:
        write_layer(
            args.navigator,
            forecast_layer(
                [t for t in observed if t not in unknown],
                [(r["technique"], r["relative"]) for r in ranked],
            ),
        )
    if args.json:
        print(
            json.dumps(
                {
                    "observed": observed,
                    "ignored": unknown,
                    "found": mapping.to_json() if mapping else None,
                    "forecast": ranked,
                },
                indent=2,
            )
        )
        return 0
    names = manifest.get("technique_names", {})
    if mapping is not None:
        print(f"Techniques found in the text ({mapping.sentences} sentences):")
        for hit in mapping.techniques:
            print(
                f"  {hit.technique:10s} {names.get(hit.technique, ''):45s} confidence {hit.confidence:.2f}"
                + ("  (ID named in text)" if hit.explicit else "")
            )
            for evidence in hit.evidence[:2]:
                terms = ", ".join(term for term, _ in evidence.terms[:4])
                print(f"      “{evidence.sentence[:110]}” [{terms}]")
        if mapping.iocs:
            print("Indicators:")
            for indicator in mapping.iocs:
                print(f"  {indicator.kind:7s} {indicator.value}")
    else:
        print("Observed: " + ", ".join(f"{t} {names.get(t, '')}".strip() for t in observed))
    if unknown:
        print(f"Not in the model's vocabulary (ignored): {', '.join(unknown)}")
    print(f"Most likely next techniques (top {args.k}):")
    for r in ranked:
        print(f"  {r['rank']:2d}. {r['technique']:10s} {r['name']:50s} [{', '.join(r['tactics'])}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
