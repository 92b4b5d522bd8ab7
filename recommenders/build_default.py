"""Regenerate the model shipped inside the package: `python -m recommenders.build_default`.

Runs the project's own pipeline (EASE, the best family on the whole-report protocol) on the TIE
corpus in `TIE_DATA_DIR` and copies the selected artifact into `recommenders/default_model/`. The
artifact holds weights, vocabulary, tactic order, technique names and tactics, and the corpus
statistics a generative adversary needs; no third-party prose.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from pathlib import Path

from recommenders.artifacts import DEFAULT_MODEL_DIR, resolve_model_dir
from recommenders.errors import DataError
from recommenders.train import TrainConfig, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recommenders.build_default", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data-dir", help="folder with tie/ and attack/ (default: $TIE_DATA_DIR)")
    parser.add_argument("--models", default="ease", help="named models to sweep (default: ease)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run_dir = run(
                TrainConfig(
                    data_dir=args.data_dir,
                    out=tmp,
                    models=tuple(args.models.split(",")),
                    seed=args.seed,
                    plots=False,
                    device="cpu",
                    # the envs' adversary and every published env figure rest on this model:
                    # it stays the corpus-only EASE until they are re-measured under new ids
                    procedures=0.0,
                )
            )
        except DataError as exc:  # one line, as every CLI here; the shipped model is untouched
            logging.error("error: %s", exc)
            return 2
        source = resolve_model_dir(run_dir)
        target = DEFAULT_MODEL_DIR
        staging = target.with_name(".default_model.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    logging.info("default model written to %s", Path(target))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
