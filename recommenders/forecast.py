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
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommenders.artifacts import DEFAULT_MODEL_DIR, ModelManifest, load_model, resolve_model_dir
from recommenders.attack import TECHNIQUE_ID, TechniqueCatalog, load_catalog
from recommenders.errors import DataError
from recommenders.models import Recommender
from recommenders.navigator import forecast_layer, write_layer

log = logging.getLogger("recommenders.forecast")


def default_model() -> Path:
    """`runs/best.json` when a training run exists here, else the model shipped in the package."""
    try:
        return resolve_model_dir("runs")
    except DataError:
        return DEFAULT_MODEL_DIR


@dataclass(frozen=True)
class ObservedTechniques:
    """Observed technique IDs split into the ones a model can use and the ones it ignores."""

    usable: list[str]
    """IDs in the model's vocabulary, in input order, each once."""
    ignored: dict[str, str] = field(default_factory=dict)
    """Each ignored input → why (unknown, revoked and by what, deprecated, repeated, malformed)."""


@lru_cache(maxsize=4)
def _catalog_at(path: str) -> TechniqueCatalog:
    return load_catalog(path)


def attack_catalog(manifest: ModelManifest, data_dir: str | None = None) -> TechniqueCatalog | None:
    """The ATT&CK bundle the model was trained with (`data.attack_file` in its manifest), read
    from `data_dir` or `TIE_DATA_DIR`; None when no data folder holds it."""
    root = data_dir or os.environ.get("TIE_DATA_DIR")
    if not root or manifest.data is None:
        return None
    path = Path(root) / "attack" / manifest.data.attack_file
    if not path.is_file():
        return None
    try:
        return _catalog_at(str(path.resolve()))
    except DataError as exc:  # the bundle only explains ignored IDs; a forecast needs none
        log.warning("not explaining revoked IDs: %s", exc)
        return None


def model_release(manifest: ModelManifest) -> str:
    """The ATT&CK release a model was trained on, as a user reads it ("ATT&CK v15.0")."""
    data = manifest.data
    version = data and (
        data.attack_version or "".join(re.findall(r"-(\d+\.\d+)\.json", data.attack_file))
    )
    return f"ATT&CK v{version}" if version else "its ATT&CK release"


def _why_unusable(
    technique: str, catalog: TechniqueCatalog | None, vocabulary: set[str], release: str
) -> str:
    """Why a well-formed ID is not in the model's vocabulary, with its successor if revoked."""
    if catalog is None:
        return (
            f"not in the model's vocabulary ({release}): revoked or deprecated there, or from a "
            "newer ATT&CK release; with the data folder (TIE_DATA_DIR) the reason is named"
        )
    entry = catalog.techniques.get(technique)
    if entry is None:
        return (
            f"not in the model's vocabulary: unknown to {release}, the release the model was "
            "trained on, so it may come from a newer ATT&CK release (or be a typo)"
        )
    if entry.status == "deprecated":
        return f"deprecated in ATT&CK {catalog.source}, with no replacement"
    if entry.status == "revoked":
        successor = entry.revoked_by
        for _ in range(5):  # a successor may itself have been revoked since
            following = catalog.techniques.get(successor) if successor else None
            if following is None or following.status != "revoked" or not following.revoked_by:
                break
            successor = following.revoked_by
        if successor is None:
            return f"revoked in ATT&CK {catalog.source}"
        name = catalog.techniques[successor].name if successor in catalog.techniques else ""
        use = (
            "use it instead" if successor in vocabulary else "not in the model's vocabulary either"
        )
        return f"revoked in ATT&CK {catalog.source}, replaced by {successor} {name} ({use})"
    return "an ATT&CK technique the model never saw in training (not in its vocabulary)"


def observed_techniques(
    observed: Iterable[str],
    manifest: ModelManifest,
    data_dir: str | None = None,
    what: str = "observed",
) -> ObservedTechniques:
    """The one normalisation of observed IDs, shared by the forecast CLI and the environments.

    IDs are stripped and upper-cased; unknown, revoked, deprecated, malformed and repeated ones
    are ignored and reported (revoked ones with their successor when the model's ATT&CK bundle
    is in `data_dir` or `TIE_DATA_DIR`). Raises ValueError, naming `what`, for a bare string
    (not split into characters), a non-list, or when no usable ID remains.
    """
    if isinstance(observed, str | bytes):
        raise ValueError(
            f"{what} must be a list of technique IDs, got the string {observed!r}; "
            f"write [{observed!r}]"
        )
    if not isinstance(observed, Iterable):
        raise ValueError(
            f"{what} must be a list of technique IDs such as ['T1059.001'], "
            f"got {type(observed).__name__}"
        )
    vocabulary = set(manifest.technique_ids)
    usable: list[str] = []
    ignored: dict[str, str] = {}
    unknown: list[str] = []
    for item in observed:
        if not isinstance(item, str):
            ignored[str(item)] = f"not a technique ID string ({type(item).__name__})"
            continue
        technique = item.strip().upper()
        if not technique:
            continue
        if technique in usable:
            ignored[technique] = "repeated (used once)"
        elif technique in vocabulary:
            usable.append(technique)
        elif not TECHNIQUE_ID.match(technique):
            ignored[item.strip()] = "not an ATT&CK technique ID (expected T1234 or T1234.001)"
        else:
            unknown.append(technique)
    catalog = attack_catalog(manifest, data_dir) if unknown else None
    for technique in unknown:
        ignored[technique] = _why_unusable(technique, catalog, vocabulary, model_release(manifest))
    if not usable:
        reasons = "; ".join(f"{t!r}: {why}" for t, why in ignored.items()) or "the list is empty"
        attack = manifest.data.attack_file if manifest.data else "?"
        raise ValueError(
            f"{what}: no usable technique ID ({reasons}); pass IDs such as T1059.001 from the "
            f"model's vocabulary ({len(vocabulary)} techniques of ATT&CK {attack})"
        )
    return ObservedTechniques(usable, ignored)


def navigator_attack_version(manifest: ModelManifest) -> str:
    """The ATT&CK major release the model was trained on, as Navigator layers name it ("15")."""
    data = manifest.data
    version = data and (
        data.attack_version or "".join(re.findall(r"-(\d+)\.\d+\.json", data.attack_file))
    )
    return str(version).split(".")[0] if version else "15"


def forecast(
    model: Recommender, manifest: ModelManifest, observed: list[str], k: int = 10
) -> list[dict[str, Any]]:
    """Top-k next techniques for an observed set of IDs from the model's vocabulary (see
    `observed_techniques`)."""
    vocabulary = manifest.technique_ids
    index = {t: i for i, t in enumerate(vocabulary)}
    known = [index[t] for t in observed]
    row = sp.csr_matrix(
        (np.ones(len(known), dtype=np.float32), ([0] * len(known), known)),
        shape=(1, len(vocabulary)),
    )
    scores = np.asarray(model.score(row), dtype=np.float64)[0]
    scores[known] = -np.inf
    top = np.argsort(-scores, kind="stable")[:k]
    finite = scores[np.isfinite(scores)]
    low, high = float(finite.min()), float(finite.max())
    names, tactics = manifest.technique_names, manifest.technique_tactics
    return [
        {
            "rank": r + 1,
            "technique": vocabulary[j],
            "name": names.get(vocabulary[j], ""),
            "tactics": list(tactics.get(vocabulary[j], ())),
            "score": float(scores[j]),
            "relative": (float(scores[j]) - low) / (high - low) if high > low else 0.0,
        }
        for r, j in enumerate(top)
    ]


def read_text(path: str) -> str:
    """Incident text from a file or '-' (stdin); a few undecodable bytes are replaced, binary
    data is refused (`recommenders.text.mapper.as_text`)."""
    from recommenders.text.mapper import as_text

    if path != "-" and not Path(path).is_file():
        raise ValueError(
            f"--text {path[:60]!r}: no such file; give a text file, or '-' to read the text from "
            "standard input (echo 'what you saw' | python -m recommenders.forecast --text -)"
        )
    raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    text = as_text(raw, "<stdin>" if path == "-" else path)
    if not text.strip():
        raise ValueError(f"{path}: the text is empty; paste an incident summary or report")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommenders.forecast", description=__doc__.splitlines()[0]
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--text", help="incident text file, or '-' to read the text from standard input"
    )
    source.add_argument("--techniques", help="comma-separated technique IDs already observed")
    parser.add_argument(
        "--model",
        help="recommender (model, run or output folder; default: runs/ or the shipped model)",
    )
    parser.add_argument(
        "--text-model",
        help="text mapper folder (default: $TIE_TEXT_MODEL, else runs/text, where `make text` "
        "writes)",
    )
    parser.add_argument(
        "--threshold", type=float, help="text mapper confidence threshold (default: the model's)"
    )
    parser.add_argument("-k", type=int, default=10, help="how many next techniques (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--navigator", help="write an ATT&CK Navigator layer to this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    text_dir: Path | None = None
    try:
        model_dir = resolve_model_dir(args.model or default_model()).absolute()
        model, manifest = load_model(model_dir)
        mapping = None
        if args.text:
            from recommenders.text.mapper import TextMapper, text_model_dir

            text_dir = text_model_dir(args.text_model)
            mapper = TextMapper.load(text_dir)
            mapping = mapper.map_text(read_text(args.text), threshold=args.threshold)
            if not mapping.techniques:
                message = "no ATT&CK technique found in the text at this threshold (try a lower --threshold)"
                print(
                    json.dumps(
                        {
                            "model": str(model_dir),
                            "text_model": str(text_dir),
                            "found": mapping.to_json(),
                            "forecast": [],
                            "note": message,
                        },
                        indent=2,
                    )
                    if args.json
                    else message
                )
                return 0
            given, what = mapping.technique_ids(), "the techniques found in the text"
        else:
            given, what = args.techniques.split(","), "--techniques"
        observed = observed_techniques(given, manifest, what=what)
        ranked = forecast(model, manifest, observed.usable, args.k)
    except (DataError, ValueError, OSError) as exc:
        log.error("error: %s", exc)
        return 2
    if args.navigator:
        write_layer(
            args.navigator,
            forecast_layer(
                observed.usable,
                [(r["technique"], r["relative"]) for r in ranked],
                attack_version=navigator_attack_version(manifest),
            ),
        )
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(model_dir),
                    "text_model": None if text_dir is None else str(text_dir),
                    "observed": observed.usable,
                    "ignored": observed.ignored,
                    "found": mapping.to_json() if mapping else None,
                    "forecast": ranked,
                },
                indent=2,
            )
        )
        return 0
    names = manifest.technique_names
    print(f"Recommender: {model_dir} ({manifest.family})")
    if mapping is not None:
        print(f"Text mapper: {text_dir}")
        print(f"Techniques found in the text ({mapping.sentences} sentences):")
        for hit in mapping.techniques:
            print(
                f"  {hit.technique:10s} {names.get(hit.technique, ''):45s} confidence {hit.confidence:.2f}"
                + ("  (ID named in text)" if hit.explicit else "")
            )
            for evidence in hit.evidence[:2]:
                terms = ", ".join(term for term, _ in evidence.terms[:4])
                print(f"      “{evidence.excerpt()}” [{terms}]")
        if mapping.iocs:
            print("Indicators:")
            for indicator in mapping.iocs:
                print(f"  {indicator.kind:7s} {indicator.value}")
    else:
        print("Observed: " + ", ".join(f"{t} {names.get(t, '')}".strip() for t in observed.usable))
    for technique, why in observed.ignored.items():
        print(f"Ignored {technique}: {why}")
    print(f"Most likely next techniques (top {args.k}):")
    for r in ranked:
        print(f"  {r['rank']:2d}. {r['technique']:10s} {r['name']:50s} [{', '.join(r['tactics'])}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
