"""`python -m recommenders.service serve` is `tie-gym serve`."""

from recommenders.service.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
