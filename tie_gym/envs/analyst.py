"""What an analyst can hand `ForecastEnv.reset`: the techniques already observed
(`options={"observed": [...]}`) or the incident text to find them in (`options={"text": "..."}`).

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


def analyst_start(
    options: dict[str, Any], adversary: Adversary, text_model: str | None = None
) -> AnalystStart | None:
    """The start `options` ask for ("text" wins over "observed"), or None when they give
    neither and the env draws a campaign of its own.

    Raises ValueError naming the option when the IDs are not a list, none is usable, or they
    leave no technique of the vocabulary to forecast.
    """
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
