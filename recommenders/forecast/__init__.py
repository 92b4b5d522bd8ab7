"""The forecast: "given what I saw, what comes next, and why".

One library for every front door (the CLI `python -m recommenders.forecast`, the service and its
web page, the environments' `options={"observed"|"text"}`): observed IDs are normalised against
the model's vocabulary (`observed_techniques`), folded in, ranked, and each forecast is explained
by the observed techniques that drove it (`Forecast`, `Prediction.because`): exactly for families
whose fold-in is additive (EASE, WALS: `Recommender.contributions`), by leave-one-out otherwise.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommenders.artifacts import DEFAULT_MODEL_DIR, ModelManifest, resolve_model_dir
from recommenders.attack import TECHNIQUE_ID, TechniqueCatalog, load_catalog
from recommenders.errors import DataError
from recommenders.models import Recommender
from recommenders.navigator import forecast_layer
from recommenders.unseen import UnseenTechniques, standardise

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
            ignored[repr(item)] = "an empty ID"
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


@dataclass(frozen=True)
class Prediction:
    """One forecast technique, with the observed techniques that drove it."""

    rank: int
    technique: str
    name: str
    tactics: tuple[str, ...]
    score: float
    relative: float
    """The score rescaled to [0, 1] over the ranked techniques (Navigator's colour scale)."""
    because: tuple[tuple[str, float], ...]
    """(observed ID, its share of the score), largest first: "because you saw …"."""
    unseen: bool = False
    """A technique the model never saw (no training report names it), scored from ATT&CK by
    `recommenders.unseen`."""
    like: tuple[str, ...] = ()
    """For an unseen technique: the seen techniques that lent its score most, largest first."""

    def to_json(self) -> dict[str, Any]:
        return {
            "unseen": self.unseen,
            "like": list(self.like),
            "rank": self.rank,
            "technique": self.technique,
            "name": self.name,
            "tactics": list(self.tactics),
            "score": self.score,
            "relative": self.relative,
            "because": [{"technique": t, "contribution": c} for t, c in self.because],
        }


@dataclass(frozen=True)
class Forecast:
    """What comes next after `observed`, and why."""

    observed: tuple[str, ...]
    predictions: tuple[Prediction, ...]
    explanation: str
    """"exact" (the shares sum to the score), "leave-one-out" (score lost without each), or
    "none" (nothing was left to forecast)."""
    ignored: dict[str, str] = field(default_factory=dict)
    note: str = ""
    """Said beside the forecast when it carries no evidence (every score equal)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "observed": list(self.observed),
            "ignored": self.ignored,
            "explanation": self.explanation,
            "forecast": [p.to_json() for p in self.predictions],
            **({"note": self.note} if self.note else {}),
        }

    def navigator_layer(self, attack_version: str) -> dict[str, Any]:
        """The forecast as an ATT&CK Navigator layer (observed in blue, forecast graded)."""
        return forecast_layer(
            list(self.observed),
            [(p.technique, p.relative) for p in self.predictions],
            attack_version=attack_version,
        )


def _row(columns: list[int], width: int) -> sp.csr_matrix:
    return sp.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), ([0] * len(columns), columns)), shape=(1, width)
    )


def explain_scores(model: Recommender, columns: list[int], width: int) -> tuple[np.ndarray, str]:
    """(len(columns), width) shares of each observed column in every score, and how they were
    found: the family's exact decomposition, else the score each loses without that column."""
    exact = model.contributions(np.asarray(columns, dtype=np.int64))
    if exact is not None:
        return np.asarray(exact, dtype=np.float64), "exact"
    full = np.asarray(model.score(_row(columns, width)), dtype=np.float64)[0]
    without = np.vstack(
        [
            np.asarray(model.score(_row(columns[:i] + columns[i + 1 :], width)), dtype=np.float64)[
                0
            ]
            for i in range(len(columns))
        ]
    )
    return full[None, :] - without, "leave-one-out"


def forecast(
    model: Recommender,
    manifest: ModelManifest,
    observed: list[str],
    k: int = 10,
    ignored: dict[str, str] | None = None,
    reasons: int = 3,
    unseen: UnseenTechniques | None = None,
) -> Forecast:
    """Top-k next techniques for an observed set of IDs from the model's vocabulary (see
    `observed_techniques`), each with the `reasons` observed techniques that raised it most.

    With `unseen`, the catalog's techniques the model has no column for compete too, on
    scores borrowed from their most similar seen techniques, mapped back to the model's scale
    (not when the observed techniques raise nothing: there is no scale to borrow on); an unseen
    ID among the `ignored` (the user gave it) is not forecast back."""
    vocabulary = manifest.technique_ids
    index = {t: i for i, t in enumerate(vocabulary)}
    known = [index[t] for t in observed]
    scores = np.asarray(model.score(_row(known, len(vocabulary))), dtype=np.float64)[0]
    scores[known] = -np.inf
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        return Forecast(
            tuple(observed),
            (),
            "none",
            dict(ignored or {}),
            "nothing left to forecast: every technique the model knows is among the observed",
        )
    lent = np.zeros((0, 0))
    ranked = scores
    if unseen is not None and len(unseen.techniques) and finite.max() > finite.min():
        borrowed, lent = _borrowed(scores, unseen)
        given = given_ids(ignored or {})
        borrowed[[t in given for t in unseen.techniques]] = -np.inf
        ranked = np.concatenate([scores, borrowed])
    top = np.argsort(-ranked, kind="stable")[:k]
    top = top[np.isfinite(ranked[top])]  # never an observed technique, however large k
    low, high = float(finite.min()), float(finite.max())  # the model's own: unseen ones clip
    shares, how = explain_scores(model, known, len(vocabulary))
    names, tactics = manifest.technique_names, manifest.technique_tactics
    predictions = []
    for r, j in enumerate(top):
        relative = min(1.0, max(0.0, (ranked[j] - low) / (high - low))) if high > low else 0.0
        if j >= len(vocabulary):
            assert unseen is not None
            predictions.append(
                _unseen_prediction(
                    unseen,
                    lent,
                    vocabulary,
                    index=j - len(vocabulary),
                    rank=r + 1,
                    score=float(ranked[j]),
                    relative=relative,
                )
            )
            continue
        order = np.argsort(-shares[:, j], kind="stable")[:reasons]
        because = tuple((observed[i], float(shares[i, j])) for i in order if shares[i, j] > 0)
        predictions.append(
            Prediction(
                rank=r + 1,
                technique=vocabulary[j],
                name=names.get(vocabulary[j], ""),
                tactics=tuple(tactics.get(vocabulary[j], ())),
                score=float(scores[j]),
                relative=relative,
                because=because,
            )
        )
    note = (
        "no evidence: in this model the observed techniques raise no other technique, so every "
        "technique scores the same and the order is the vocabulary's"
        if float(finite.max()) <= float(finite.min())
        else ""
    )
    return Forecast(tuple(observed), tuple(predictions), how, dict(ignored or {}), note)


def _borrowed(scores: np.ndarray, unseen: UnseenTechniques) -> tuple[np.ndarray, np.ndarray]:
    """The unseen techniques' scores on the model's scale (observed columns hold -inf), and
    what each neighbour lent them (`UnseenTechniques.contributions`)."""
    observed = ~np.isfinite(scores)
    finite = scores[~observed]
    z = standardise(np.where(observed, 0.0, scores)[None], ~observed[None])
    z = np.where(observed[None], 0.0, z)
    spread = float(finite.std())
    borrowed = unseen.scores(z, observed[None])[0]
    lent = unseen.contributions(z, observed[None])[0]
    return float(finite.mean()) + (spread if spread > 0 else 1.0) * borrowed, lent


def given_ids(ignored: dict[str, str]) -> set[str]:
    """The IDs a user gave that the model ignored, normalised as `observed_techniques` reads
    them: never to be forecast back."""
    return {t.strip().upper() for t in ignored}


def _unseen_prediction(
    unseen: UnseenTechniques,
    lent: np.ndarray,
    vocabulary: tuple[str, ...],
    *,
    index: int,
    rank: int,
    score: float,
    relative: float,
    like: int = 3,
) -> Prediction:
    """The `index`-th unseen technique as a prediction, `like` the seen ones that lent most."""
    order = np.argsort(-lent[index], kind="stable")[:like]
    nearest = unseen.neighbours[index][order[lent[index][order] > 0]]
    return Prediction(
        rank=rank,
        technique=unseen.techniques[index],
        name=unseen.names[index],
        tactics=unseen.tactics[index],
        score=score,
        relative=relative,
        because=(),
        unseen=True,
        like=tuple(vocabulary[j] for j in nearest),
    )
