"""What in `agents` needs the TIE corpus, checked before any work starts.

The shipped model artifact is enough for the generative envs and for the random, frequency,
greedy and greedy_tactic defenders. Two things read the corpus itself (`TIE_DATA_DIR`): the replay
envs (`campaign="replay"`, they reveal real reports) and `markov` (fitted on the reports the model
trained on). Without this check they fail on their first episode, deep in a traceback, with a
message about replay; the CLIs call `require_corpus` first and stop with one line instead.
"""

from __future__ import annotations

import os
from typing import Any

from recommenders.errors import DataError
from tie_gym.adversary import Adversary

DATA_FIX = (
    "set TIE_DATA_DIR to the folder holding tie/ and attack/ (no such folder? "
    "`python -m recommenders.download --dest data`, then `export TIE_DATA_DIR=data`)"
)
"""How to give the CLIs the corpus, in the words of every error that asks for it."""


def data_folder_given(adversary: Adversary) -> bool:
    """Whether a data folder was named at all (the env's `data_dir`, else `TIE_DATA_DIR`)."""
    return bool(adversary.data_dir or os.environ.get("TIE_DATA_DIR"))


def needs_corpus(env: Any) -> bool:
    """Whether an env (wrapped or not) replays real reports or flows, which only the data folder
    holds."""
    config = getattr(env.unwrapped, "campaign_config", None)
    return config is not None and config.campaign in ("replay", "flow")


def require_corpus(adversary: Adversary, needed_by: str, alternative: str = "") -> None:
    """Raise a one-line DataError naming `needed_by` unless the adversary's corpus loads.

    Args:
        adversary: the adversary whose corpus (its artifact's training data) is needed.
        needed_by: what needs it, e.g. "markov" or "TIE-ForecastReplay-v0", in the message.
        alternative: a second fix appended to the first, e.g. "or leave markov out of --agents".
    """
    tail = f", {alternative}" if alternative else ""
    if not data_folder_given(adversary):
        raise DataError(
            None,
            "TIE_DATA_DIR",
            f"{needed_by} cannot run without the TIE corpus, and TIE_DATA_DIR is not set",
            DATA_FIX + tail,
        )
    try:
        adversary.corpus_reports  # noqa: B018  (a cached property: loads and checks the corpus once)
    except DataError as exc:
        raise DataError(
            exc.path,
            exc.field,
            f"{needed_by} needs the TIE corpus, which cannot be read ({exc.problem})",
            exc.fix + tail,
        ) from exc
