"""What an analyst can hand `reset`: the techniques already observed (`options={"observed": [...]}`),
the incident text to find them in (`options={"text": "..."}`), or a whole ordered campaign to
replay (`options={"campaign": [...]}`: the first techniques are shown, the rest forecast in the
order given).

The IDs go through `recommenders.forecast.observed_techniques`, the normalisation the forecast
CLI uses, so the env and the CLI accept and leave out the same IDs for the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recommenders.forecast import observed_techniques
from tie_gym.adversary import Adversary


@dataclass(frozen=True)
class AnalystStart:
    """Where a campaign given at reset starts."""

    columns: np.ndarray
    """The usable techniques' columns in the adversary's vocabulary, in the order given."""
    ignored: dict[str, str]
    """Given IDs left out, with why (unknown, revoked, deprecated, repeated, …)."""
    whole: bool = False
    """True for `options["campaign"]`: the columns are the whole campaign, not only its start."""


OPTIONS = ("observed", "text", "campaign")


def given_campaign(options: dict[str, Any], adversary: Adversary) -> AnalystStart | None:
    """The ordered campaign `options["campaign"]` gives, or None; ValueError when it leaves fewer
    than two usable techniques (one to show, one to forecast) or comes with another start."""
    check_options(options)
    if options.get("campaign") is None:
        return None
    if options.get("observed") is not None or options.get("text") is not None:
        raise ValueError(
            "options['campaign'] is a whole campaign: give it alone, without 'observed' or 'text'"
        )
    what = "options['campaign']"
    if not isinstance(options["campaign"], list | tuple):
        raise ValueError(
            f"{what} must be a list of technique IDs in the order they were used, got "
            f"{type(options['campaign']).__name__} (a set or a dict has no order)"
        )
    techniques = observed_techniques(
        options["campaign"], adversary.manifest, adversary.data_dir, what
    )
    if len(techniques.usable) < 2:
        raise ValueError(
            f"{what} must hold at least two usable technique IDs (one to show, one to forecast), "
            f"got {techniques.usable}; left out: {techniques.ignored}"
        )
    index = {t: i for i, t in enumerate(adversary.vocabulary)}
    columns = np.array([index[t] for t in techniques.usable], dtype=np.int64)
    return AnalystStart(columns, techniques.ignored, whole=True)


def check_options(options: dict[str, Any]) -> None:
    """Unknown reset options are an error: a misspelt key silently drew a random campaign."""
    if unknown := sorted(set(options) - set(OPTIONS)):
        raise ValueError(f"unknown reset option(s) {unknown}; choose among {list(OPTIONS)}")


def analyst_start(
    options: dict[str, Any], adversary: Adversary, text_model: str | None = None
) -> AnalystStart | None:
    """The start `options` ask for (a whole "campaign"; else "text", which wins over
    "observed"), or None when they give none and the env draws a campaign of its own.

    Raises ValueError naming the option when the IDs are not a list, none is usable, or they
    leave no technique of the vocabulary to forecast.
    """
    if (campaign := given_campaign(options, adversary)) is not None:
        return campaign
    observed, what = options.get("observed"), "options['observed']"
    if options.get("text") is not None:
        observed = techniques_from_text(options["text"], text_model)
        what = "the techniques the text mapper found"
    if observed is None:
        return None
    techniques = observed_techniques(observed, adversary.manifest, adversary.data_dir, what)
    if len(techniques.usable) >= adversary.n_techniques:
        raise ValueError(f"{what} must leave at least one technique of the vocabulary to forecast")
    index = {t: i for i, t in enumerate(adversary.vocabulary)}
    columns = np.array([index[t] for t in techniques.usable], dtype=np.int64)
    return AnalystStart(columns, techniques.ignored)


def techniques_from_text(text: Any, text_model: str | None = None) -> list[str]:
    """Techniques the text mapper at `text_model` (see `recommenders.text.mapper.text_model_dir`)
    finds in an analyst's incident text; ValueError when it is not text or holds none."""
    if not isinstance(text, str | bytes):
        raise ValueError(
            f"options['text'] must be the incident text as a string, got {type(text).__name__}"
        )
    from recommenders.text.mapper import TextMapper  # only analysts' text resets need it

    found = TextMapper.shared(text_model).map_text(text).technique_ids()
    if not found:
        raise ValueError(
            "the text mapper found no technique in this text; "
            "pass options={'observed': [...]} or a more detailed description"
        )
    return found
