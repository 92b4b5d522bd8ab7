"""`tie-gym serve`: the forecast service and its web page on one port.

Models are loaded once, here, from the paths given on the command line (or the shipped
recommender and text model); requests never name a file.
"""

from __future__ import annotations

import argparse
import logging

from recommenders.errors import DataError

log = logging.getLogger("recommenders.service")


def build_parser() -> argparse.ArgumentParser:
    from recommenders.service.app import Limits

    limits = Limits()
    parser = argparse.ArgumentParser(
        prog="tie-gym",
        description="tie-gym: forecast the next ATT&CK techniques of an intrusion.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="the REST API (/docs) and the web page (/)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--model", help="recommender folder (default: runs/best.json here, else the shipped model)"
    )
    serve.add_argument(
        "--text-model",
        help="text mapper folder (default: $TIE_TEXT_MODEL, runs/text, else the shipped one)",
    )
    serve.add_argument(
        "--data-dir",
        help="data folder with the model's ATT&CK bundle (default: $TIE_DATA_DIR; optional)",
    )
    serve.add_argument(
        "--attack",
        help="your ATT&CK Enterprise bundle (e.g. enterprise-attack-18.1.json): IDs, names, "
        "tactics and the matrix of your release, the model's vocabulary mapped to it",
    )
    serve.add_argument(
        "--max-body-bytes", type=int, default=limits.max_body_bytes, help="largest request body"
    )
    serve.add_argument(
        "--max-text-chars", type=int, default=limits.max_text_chars, help="longest incident text"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        import uvicorn

        from recommenders.forecast.forecaster import Forecaster
        from recommenders.service.app import Limits, create_app
    except ImportError as exc:
        log.error("tie-gym serve needs the [serve] extra (%s): pip install 'tie-gym[serve]'", exc)
        return 2
    try:
        forecaster = Forecaster.load(args.model, args.text_model, args.data_dir, attack=args.attack)
    except DataError as exc:
        log.error("tie-gym serve: error: %s", exc)
        return 2
    limits = Limits(max_body_bytes=args.max_body_bytes, max_text_chars=args.max_text_chars)
    if forecaster.release is not None:
        report = forecaster.release.report()
        log.info(
            "serving %s: %d of the model's techniques mapped (%d replaced), %d unmapped, %d "
            "techniques of %s the model has no column for",
            report["release"],
            report["mapped"],
            len(report["replaced"]),
            len(report["unmapped"]),
            report["new_in_release"],
            report["release"],
        )
    log.info(
        "model %s (%s, %d techniques); text model %s; http://%s:%d/ (API docs at /docs)",
        forecaster.model_dir,
        forecaster.manifest.family,
        len(forecaster.manifest.technique_ids),
        forecaster.text_model_dir or "none (text endpoints answer 503)",
        args.host,
        args.port,
    )
    uvicorn.run(create_app(forecaster, limits), host=args.host, port=args.port, log_level="warning")
    return 0
