"""`python -m recommenders.forecast`: "given what I saw, what comes next, and why".

Input is either incident text (`--text FILE`, or `--text -` for standard input, mapped to
techniques with evidence and IoCs) or technique IDs (`--techniques T1566.001,T1059.001`). The
recommender folds the observed techniques in and ranks every other technique, each with the
observed techniques that drove it; output is a readable report, `--json`, and optionally an
ATT&CK Navigator layer (`--navigator layer.json`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from recommenders.errors import DataError
from recommenders.forecast import Forecast
from recommenders.forecast.forecaster import Forecaster
from recommenders.navigator import write_layer

log = logging.getLogger("recommenders.forecast")


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


def confidence(value: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number between 0 and 1 (exclusive)")
    return number


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
        "--threshold",
        type=confidence,
        help="text mapper confidence threshold, between 0 and 1 exclusive: the chance that "
        "annotators list a technique (default: the model's)",
    )
    parser.add_argument("-k", type=int, default=10, help="how many next techniques (default 10)")
    parser.add_argument(
        "--attack",
        help="your ATT&CK Enterprise bundle (e.g. enterprise-attack-18.1.json): read and print "
        "IDs, names and tactics of your release (the model's vocabulary is mapped to it)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--navigator", help="write an ATT&CK Navigator layer to this file")
    return parser


def explained(result: Forecast, names: dict[str, str]) -> list[str]:
    """The forecast as lines a person reads: rank, technique, tactics, and "because you saw"."""
    lines = []
    for p in result.predictions:
        lines.append(f"  {p.rank:2d}. {p.technique:10s} {p.name:50s} [{', '.join(p.tactics)}]")
        if p.because:
            seen = ", ".join(f"{t} {names.get(t, '')} (+{share:.2f})" for t, share in p.because)
            lines.append(f"      because you saw {seen}")
        if p.unseen:
            like = ", ".join(f"{t} {names.get(t, '')}" for t in p.like) or "no seen technique"
            lines.append(f"      never in a training report: scored from ATT&CK, like {like}")
    if result.note:
        lines.append(f"  ({result.note})")
    if result.explanation != "exact":
        lines.append("  (shares by leave-one-out: this model family has no exact decomposition)")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    mapping = None
    try:
        text = read_text(args.text) if args.text else None  # a wrong --text is named first
        forecaster = Forecaster.load(
            args.model, args.text_model, require_text=bool(args.text), attack=args.attack
        )
        if text is not None:
            mapping, result = forecaster.from_text(text, args.k, args.threshold)
        else:
            result = forecaster.from_ids(args.techniques.split(","), args.k, what="--techniques")
    except (DataError, ValueError, OSError) as exc:
        log.error("error: %s", exc)
        return 2
    where = {
        "model": str(forecaster.model_dir),
        "text_model": None if forecaster.text_model_dir is None else str(forecaster.text_model_dir),
    }
    if result is None:
        message = (
            "no ATT&CK technique found in the text at this threshold (try a lower --threshold)"
        )
        found = mapping.to_json() if mapping else None
        print(
            json.dumps({**where, "found": found, "forecast": [], "note": message}, indent=2)
            if args.json
            else message
        )
        return 0
    if args.navigator:
        write_layer(args.navigator, forecaster.navigator_layer(result))
    if args.json:
        found = {"found": mapping.to_json() if mapping else None}
        release = {"release": forecaster.release.report() if forecaster.release else None}
        print(json.dumps({**where, **found, **release, **result.to_json()}, indent=2))
        return 0
    names = {t: e.name for t, e in forecaster.catalog.techniques.items()}
    print(f"Recommender: {forecaster.model_dir} ({forecaster.manifest.family})")
    if forecaster.release is not None:
        report = forecaster.release.report()
        print(
            f"Read in {report['release']}: {report['mapped']} of the model's techniques mapped "
            f"({len(report['replaced'])} to a replacement), {len(report['unmapped'])} unmapped"
        )
    if mapping is not None:
        print(f"Text mapper: {forecaster.text_model_dir}")
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
        print("Observed: " + ", ".join(f"{t} {names.get(t, '')}".strip() for t in result.observed))
    for technique, why in result.ignored.items():
        print(f"Ignored {technique}: {why}")
    print(f"Most likely next techniques (top {args.k}):")
    print("\n".join(explained(result, names)))
    return 0
