"""Scores for the catalog's techniques a model has no column for, from what ATT&CK says of them.

A technique no training report names (new in the release, or never reported) cannot be
forecast by a recommender: it has no column. Issue 26 asks that every active technique be
reachable with a principled score. Here an unseen technique borrows the scores of the model's
techniques most like it in ATT&CK — the same parent family, shared tactics, similar
descriptions — shrunk toward an offset that says how much less often an unseen technique turns
up than a seen one:

    z(t) = offset + scale · Σ_j w_tj z_j,   w_t ∝ similarity(t, j) over its `neighbours` nearest,

where z_j is technique j's score standardised over the techniques left to forecast (an
observed technique lends `observed` instead). The weights are fixed at build time (`UnseenTechniques.build`, which needs the catalog); the forecast needs
only the stored neighbours, so a model folder without the ATT&CK bundle still scores them.
`benchmarks.unseen` chose the settings by simulated cold start (techniques removed from
training, their scores rebuilt this way) on validation reports and measured them on test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from recommenders.attack import TECHNIQUE_ID, TechniqueCatalog
from recommenders.errors import DataError
from recommenders.jsonio import read_json, write_json

FILE = "unseen.json"
"""Beside a model's `model.json`: written by training, read by the forecast when present."""

CITATION = re.compile(r"\(Citation:[^)]*\)|\[([^\]]*)\]\([^)]*\)")
"""ATT&CK descriptions' citation markers and Markdown links (the link text is kept)."""


@dataclass(frozen=True)
class Similarity:
    """How an unseen technique's neighbours are weighted: each term is in [0, 1]."""

    family: float = 1.0
    """Weight of sharing the parent technique (a sub-technique and its parent or siblings)."""
    tactics: float = 1.0
    """Weight of the Jaccard overlap of the two techniques' tactics."""
    description: float = 1.0
    """Weight of the TF-IDF cosine of the two descriptions."""
    neighbours: int = 10
    offset: float = -1.0
    scale: float = 1.0
    observed: float = 0.0
    """The standardised score an observed neighbour lends: seeing a technique's sibling is
    evidence for it that the model's own scores (never ranking what was seen) cannot carry."""

    def combine(self, terms: dict[str, np.ndarray]) -> np.ndarray:
        """The weighted similarity from `similarity_terms`."""
        return (
            self.family * terms["family"]
            + self.tactics * terms["tactics"]
            + self.description * terms["description"]
        )


DEFAULT = Similarity(
    family=0.0, tactics=0.0, description=1.0, neighbours=40, offset=-0.5, observed=8.0
)
"""Chosen by `benchmarks.unseen` on validation reports (session 8): the description alone beat
adding the parent family or the tactics (and a prior on ATT&CK's procedure-use counts, measured
there, did not help)."""

MAX_TECHNIQUES = 5_000
"""More entries than ATT&CK has techniques: a file that holds them was not written here."""


def _description(text: str) -> str:
    return CITATION.sub(lambda m: m.group(1) or "", text)


def similarity_terms(
    catalog: TechniqueCatalog, rows: list[str], columns: list[str]
) -> dict[str, np.ndarray]:
    """(len(rows), len(columns)) similarity terms of catalog techniques, from ATT&CK only: same
    parent family, Jaccard overlap of tactics, TF-IDF cosine of name and description (the
    vocabulary fitted on every active technique of the catalog, so terms do not depend on
    which techniques are asked about)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    def text(t: str) -> str:
        return f"{catalog.techniques[t].name}. {_description(catalog.techniques[t].description)}"

    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2)
    vectorizer.fit([text(t) for t in catalog.active_ids()])
    left = vectorizer.transform([text(t) for t in rows])
    right = vectorizer.transform([text(t) for t in columns])
    family = np.array([t.split(".")[0] for t in columns])
    tactic_sets = {t: set(catalog.techniques[t].tactics) for t in [*rows, *columns]}
    return {
        "family": (np.array([t.split(".")[0] for t in rows])[:, None] == family[None]).astype(
            np.float64
        ),
        "tactics": np.array(
            [
                [
                    len(tactic_sets[a] & tactic_sets[b])
                    / max(1, len(tactic_sets[a] | tactic_sets[b]))
                    for b in columns
                ]
                for a in rows
            ]
        ),
        "description": np.asarray((left @ right.T).todense(), dtype=np.float64),
    }


@dataclass(frozen=True)
class UnseenTechniques:
    """Neighbour weights of the techniques a model lacks, over the model's vocabulary."""

    techniques: tuple[str, ...]
    names: tuple[str, ...]
    tactics: tuple[tuple[str, ...], ...]
    """Each technique's name and tactics, so the forecast needs no ATT&CK bundle."""
    neighbours: np.ndarray
    """(len(techniques), k) column indices into the model's vocabulary."""
    weights: np.ndarray
    """(len(techniques), k) non-negative, each row summing to 1."""
    offset: float
    scale: float
    observed: float

    @classmethod
    def build(
        cls, catalog: TechniqueCatalog, vocabulary: tuple[str, ...], settings: Similarity
    ) -> UnseenTechniques:
        """For the catalog's active techniques outside `vocabulary`."""
        known = set(vocabulary)
        unseen = [t for t in catalog.active_ids() if t not in known]
        if not unseen:
            return cls.from_similarity((), np.zeros((0, 0)), settings)
        terms = similarity_terms(catalog, unseen, list(vocabulary))
        return replace(
            cls.from_similarity(tuple(unseen), settings.combine(terms), settings),
            names=tuple(catalog.techniques[t].name for t in unseen),
            tactics=tuple(catalog.techniques[t].tactics for t in unseen),
        )

    @classmethod
    def from_similarity(
        cls, techniques: tuple[str, ...], similar: np.ndarray, settings: Similarity
    ) -> UnseenTechniques:
        """`similar`: (len(techniques), vocabulary) combined similarity (names and tactics
        left empty)."""
        k = min(settings.neighbours, similar.shape[1])
        nearest = np.argsort(-similar, axis=1, kind="stable")[:, :k]
        weights = np.take_along_axis(similar, nearest, axis=1).clip(min=0.0)
        totals = weights.sum(axis=1, keepdims=True)
        even = np.full_like(weights, 1.0 / max(k, 1))  # no similar technique: an even share
        weights = np.divide(weights, totals, out=even, where=totals > 0)
        return cls(
            techniques,
            ("",) * len(techniques),
            ((),) * len(techniques),
            nearest.astype(np.int64),
            weights,
            settings.offset,
            settings.scale,
            settings.observed,
        )

    def contributions(self, standardised: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """(rows, len(techniques), neighbours): what each neighbour lends, weighted."""
        lent = np.where(observed, self.observed, standardised)
        return lent[:, self.neighbours] * self.weights[None]

    def scores(self, standardised: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """(rows, len(techniques)) scores on the scale of `standardised` (rows, vocabulary):
        each row's model scores standardised over the techniques it may still forecast;
        `observed` (same shape, bool) marks the row's observed techniques."""
        borrowed = self.contributions(standardised, observed).sum(axis=2)
        return self.offset + self.scale * borrowed

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for `unseen.json` (`from_json` reads it back)."""
        return {
            "offset": self.offset,
            "scale": self.scale,
            "observed": self.observed,
            "techniques": {
                t: {
                    "name": name,
                    "tactics": list(tactics),
                    "neighbours": n.tolist(),
                    "weights": [round(float(w), 6) for w in ws],
                }
                for t, name, tactics, n, ws in zip(
                    self.techniques,
                    self.names,
                    self.tactics,
                    self.neighbours,
                    self.weights,
                    strict=True,
                )
            },
        }

    @classmethod
    def from_json(
        cls, payload: Any, vocabulary: tuple[str, ...], path: str | Path
    ) -> UnseenTechniques:
        """Checked strictly against the model's `vocabulary`: any malformed field is a one-line
        DataError naming it."""
        width = len(vocabulary)
        known = set(vocabulary)

        def fail(field: str, why: str) -> DataError:
            return DataError(path, field, why, "rebuild the model folder with this package")

        if not isinstance(payload, dict):
            raise fail("unseen", "expected an object")
        numbers = {}
        for key in ("offset", "scale", "observed"):
            value = payload.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(f"unseen.{key}", "expected a number")
            if not np.isfinite(value) or abs(value) > 100:
                raise fail(f"unseen.{key}", "expected a finite number of size at most 100")
            numbers[key] = float(value)
        entries = payload.get("techniques")
        if not isinstance(entries, dict) or len(entries) > MAX_TECHNIQUES:
            raise fail(
                "unseen.techniques", f"expected an object of at most {MAX_TECHNIQUES} technique IDs"
            )
        techniques, names, tactics, neighbours, weights = [], [], [], [], []
        length = None
        for technique, entry in entries.items():
            where = f"unseen.techniques.{technique}"
            if not isinstance(entry, dict):
                raise fail(where, "expected an object")
            if not TECHNIQUE_ID.match(technique) or technique in known:
                raise fail(where, "expected a technique ID the model has no column for")
            name, its_tactics = entry.get("name"), entry.get("tactics")
            if not isinstance(name, str):
                raise fail(f"{where}.name", "expected a string")
            if not isinstance(its_tactics, list) or not all(
                isinstance(t, str) for t in its_tactics
            ):
                raise fail(f"{where}.tactics", "expected a list of tactic names")
            n, w = entry.get("neighbours"), entry.get("weights")
            if (
                not isinstance(n, list)
                or not all(
                    isinstance(i, int) and not isinstance(i, bool) and 0 <= i < width for i in n
                )
                or len(set(n)) != len(n)
            ):
                raise fail(f"{where}.neighbours", f"expected distinct column indices below {width}")
            if (
                not isinstance(w, list)
                or len(w) != len(n)
                or not all(
                    isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x <= 1
                    for x in w
                )
            ):
                raise fail(f"{where}.weights", "expected one weight in [0, 1] per neighbour")
            if abs(sum(w) - 1.0) > 1e-3:
                raise fail(f"{where}.weights", f"expected weights summing to 1, not {sum(w):.4g}")
            if length is None:
                length = len(n)
            if len(n) != length or not n:
                raise fail(f"{where}.neighbours", "expected the same, non-zero count everywhere")
            techniques.append(technique)
            names.append(name)
            tactics.append(tuple(its_tactics))
            neighbours.append(n)
            weights.append(w)
        shape = (len(techniques), length or 0)
        return cls(
            tuple(techniques),
            tuple(names),
            tuple(tactics),
            np.asarray(neighbours, dtype=np.int64).reshape(shape),
            np.asarray(weights, dtype=np.float64).reshape(shape),
            numbers["offset"],
            numbers["scale"],
            numbers["observed"],
        )


def standardise(scores: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Scores standardised per row over the `available` (same shape, bool) techniques."""
    masked = np.where(available, scores, np.nan)
    mean = np.nanmean(masked, axis=1, keepdims=True)
    spread = np.nanstd(masked, axis=1, keepdims=True)
    return (scores - mean) / np.where(spread > 0, spread, 1.0)


def save_unseen(unseen: UnseenTechniques, model_dir: str | Path) -> Path:
    """Write `unseen.json` into a model folder; returns its path."""
    path = Path(model_dir) / FILE
    write_json(path, unseen.to_json())
    return path


def load_unseen(model_dir: str | Path, vocabulary: tuple[str, ...]) -> UnseenTechniques | None:
    """The model folder's unseen techniques, or None for a folder written before they were."""
    path = Path(model_dir) / FILE
    if not path.is_file():
        return None
    return UnseenTechniques.from_json(read_json(path), vocabulary, path)
