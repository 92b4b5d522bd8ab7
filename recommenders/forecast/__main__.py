"""`python -m recommenders.forecast` (the CLI lives in `recommenders.forecast.cli`)."""

from recommenders.forecast.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
