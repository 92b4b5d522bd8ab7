"""Sentence-level multi-label technique classifier: TF-IDF n-grams + one-vs-rest logistic regression.

Training uses scikit-learn; the saved model is plain arrays (vocabulary, idf, weights) in
safetensors + JSON, and prediction re-implements the TF-IDF transform and the sigmoid in NumPy, so
loading a model never unpickles anything. Saving and loading go through the recommender
artifacts' checks (`recommenders.artifacts`: format version, checksum, safetensors, finite
tensors), with their error messages. Explanations are exact for a linear model: a term's
contribution to a technique's logit is its TF-IDF value times the technique's weight.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommenders.artifacts import (
    MANIFEST,
    WEIGHTS,
    check_format_version,
    read_weights,
    resolve_model_dir,
    write_weights,
)
from recommenders.errors import DataError
from recommenders.jsonio import atomic_write, read_json, write_json
from recommenders.text.calibration import Calibration
from recommenders.text.corpus import Sentence, mentioned_techniques, split_sentences
from recommenders.text.ioc import Indicator, extract_iocs

FORMAT_VERSION = 1
KIND = "text-mapper"
"""model.json's `kind`: what tells a text mapper's folder from a recommender's."""
TOKEN_PATTERN = r"(?u)\b\w[\w\-]*\w\b|\b\w\b"
MAX_TEXT_CHARS = 2_000_000
"""Longest text mapped in one call (~300 pages); longer input is refused with a fix."""
MAX_UNREADABLE_SHARE = 0.3
"""Largest share of U+FFFD and control characters in a text. Random bytes decode to ~60% of
them; a Latin-1 file read as UTF-8 to a few percent (one U+FFFD per accented letter)."""
TEXT_MODEL_ENV = "TIE_TEXT_MODEL"
DEFAULT_TEXT_MODEL = "runs/text"
SHIPPED_TEXT_MODEL = Path(__file__).with_name("default_model")
"""The text mapper inside the package (`python -m recommenders.text.train --ship` writes it): what
the CLI, the service and the envs use when no other is given or trained."""
"""Where `python -m recommenders.text.train` (`make text`) writes by default, relative to the
current folder; `TIE_TEXT_MODEL` overrides it."""
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")
_SHARED: dict[Path, TextMapper] = {}


def as_text(value: str | bytes, source: str = "text") -> str:
    """Incident text from `value`, or a DataError naming `source` when it is not text.

    Bytes are decoded as UTF-8 (a UTF-8 or UTF-16 byte-order mark is honoured) with undecodable
    bytes replaced by U+FFFD. A NUL character, or more than `MAX_UNREADABLE_SHARE` of replacement
    and control characters, means binary data (an executable, an archive, a PDF): mapping it
    would report techniques and indicators read off random letters.
    """
    if isinstance(value, bytes):
        utf16 = value.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        value = value.decode("utf-16" if utf16 else "utf-8-sig", errors="replace")
    if "\x00" in value:
        reason = "it contains NUL bytes"
    else:
        share = len(_CONTROL.findall(value)) / max(len(value), 1)
        if share <= MAX_UNREADABLE_SHARE:
            return value
        reason = f"{share:.0%} of its characters are undecodable or control characters"
    raise DataError(
        source,
        None,
        f"looks like binary data, not text ({reason})",
        "pass plain text (UTF-8); convert a PDF or Word report to text first, e.g. `pdftotext`",
    )


def text_model_dir(path: str | Path | None = None) -> Path:
    """The text mapper folder: `path`, else `$TIE_TEXT_MODEL`, else `runs/text` in the current
    folder when a mapper was trained there, else the one shipped in the package; a run or output
    folder is followed through its `best.json`.

    Raises a DataError naming the absolute folder looked at and how to train a mapper there when
    a folder named by `path` or the variable holds none (or nothing is found and none shipped).
    """
    chosen = path or os.environ.get(TEXT_MODEL_ENV)
    if chosen is None and (SHIPPED_TEXT_MODEL / MANIFEST).is_file():
        try:
            return resolve_model_dir(Path(DEFAULT_TEXT_MODEL).absolute())
        except DataError:
            return SHIPPED_TEXT_MODEL
    folder = Path(chosen or DEFAULT_TEXT_MODEL).expanduser().absolute()
    try:
        return resolve_model_dir(folder)
    except DataError as exc:
        raise DataError(
            exc.path,
            exc.field,
            f"no trained text mapper ({exc.problem})",
            f"train one with `make text` (about 10 minutes; it runs `python -m "
            f"recommenders.text.train --out {DEFAULT_TEXT_MODEL}`), or point --text-model, "
            f"the env's text_model= or {TEXT_MODEL_ENV} at a trained mapper's folder",
        ) from exc


@dataclass(frozen=True)
class Evidence:
    sentence: str
    confidence: float
    terms: list[tuple[str, float]]
    """Top (term, contribution to the logit) pairs for this technique in this sentence."""

    def excerpt(self, width: int = 110) -> str:
        """The sentence in at most `width` characters, cut at a word boundary with "…"."""
        if len(self.sentence) <= width:
            return self.sentence
        cut = self.sentence[: width - 1]
        space = cut.rfind(" ")
        # back to the last word boundary unless the cut already is one, or the boundary is so
        # far back that little would remain (then the one long word is cut)
        if not self.sentence[width - 1].isspace() and space > width // 2:
            cut = cut[:space]
        return cut.rstrip(" ,;:-") + "…"


@dataclass
class TechniqueHit:
    technique: str
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    explicit: bool = False
    """The text names the technique ID itself."""


@dataclass
class DocumentMapping:
    techniques: list[TechniqueHit]
    iocs: list[Indicator]
    sentences: int

    def technique_ids(self) -> list[str]:
        return [hit.technique for hit in self.techniques]

    def to_json(self) -> dict[str, Any]:
        return {
            "sentences": self.sentences,
            "techniques": [
                {
                    "technique": h.technique,
                    "confidence": round(h.confidence, 4),
                    "explicit": h.explicit,
                    "evidence": [
                        {
                            "sentence": e.sentence,
                            "confidence": round(e.confidence, 4),
                            "terms": [[t, round(w, 4)] for t, w in e.terms],
                        }
                        for e in h.evidence
                    ],
                }
                for h in self.techniques
            ],
            "iocs": [{"kind": i.kind, "value": i.value} for i in self.iocs],
        }


def mappable_sentences(text: str) -> list[str]:
    """The sentences of `text` that the mapper scores: those with a letter in them."""
    return [s for s in split_sentences(text) if any(c.isalpha() for c in s)]


class TextMapper:
    """Map sentences and documents to ATT&CK techniques with confidences and evidence.

    Args:
        threshold: a technique is reported when its confidence in the text (its best sentence's,
            calibrated where the model has a `Calibration`: the chance that annotators list it)
            is at least this.
        unsupported_threshold: the same for techniques without report-level annotations in
            training (`supported_labels`): their only text is ATT&CK's description or a few
            TRAM1 sentences, so their confidences are less reliable and need a higher bar.
        report_mentions: also report technique IDs written in the text (confidence 1). Reports
            often list IDs in tables or appendices that annotators did not label, so the
            benchmark protocol chooses this on validation reports.
        regularization_c: inverse L2 strength of each per-technique logistic regression.
        max_features: vocabulary size (word 1–2-grams, sublinear TF, L2-normalised TF-IDF).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        regularization_c: float = 4.0,
        max_features: int = 60_000,
        prune: float = 0.01,
        unsupported_threshold: float | None = None,
        report_mentions: bool = True,
    ) -> None:
        self.threshold = threshold
        self.report_mentions = report_mentions
        self.unsupported_threshold = (
            threshold if unsupported_threshold is None else unsupported_threshold
        )
        self.supported_labels: set[str] = set()
        self.regularization_c = regularization_c
        self.max_features = max_features
        self.prune = prune
        self.labels: list[str] = []
        self.vocabulary: dict[str, int] = {}
        self.idf: np.ndarray | None = None
        self.weights: sp.csr_matrix | None = None
        self.bias: np.ndarray | None = None
        self._terms: np.ndarray | None = None
        self._counter: Any = None
        self.half = False
        """Saved as float16 weights with uint16 column indices (`compressed`)."""
        self.calibration: Calibration | None = None
        """Maps raw scores to confidences (`confidences`); None reports the raw scores."""

    # -- training -------------------------------------------------------------------------

    def fit(
        self, sentences: list[Sentence], supported_labels: set[str] | None = None
    ) -> TextMapper:
        """Fit on labelled sentences; `supported_labels` (default: all) are the techniques with
        report-level annotations, held to `threshold` rather than `unsupported_threshold`."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import MultiLabelBinarizer
        from tqdm.auto import tqdm

        texts = [s.text for s in sentences]
        binarizer = MultiLabelBinarizer()
        targets = binarizer.fit_transform([s.labels for s in sentences])
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=2,
            max_features=self.max_features,
            sublinear_tf=True,
            token_pattern=TOKEN_PATTERN,
            strip_accents="unicode",
            dtype=np.float32,
        )
        features = vectorizer.fit_transform(texts)
        # One-vs-rest, one technique at a time (what OneVsRestClassifier does, with a progress
        # bar: the fit takes minutes). Sequential on purpose: loky workers get read-only
        # memory-mapped sparse inputs that liblinear sorts in place, and liblinear is not
        # thread-safe (glibc aborts).
        estimators = [
            LogisticRegression(C=self.regularization_c, solver="liblinear").fit(
                features, targets[:, j]
            )
            for j in tqdm(
                range(targets.shape[1]),
                desc=f"fitting {targets.shape[1]} techniques on {len(texts)} sentences",
                unit="technique",
                disable=None,
                mininterval=2.0,
            )
        ]
        self.labels = [str(label) for label in binarizer.classes_]
        self.supported_labels = (
            set(self.labels)
            if supported_labels is None
            else set(supported_labels) & set(self.labels)
        )
        self.vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
        self.idf = vectorizer.idf_.astype(np.float32)
        dense = np.vstack([e.coef_.ravel() for e in estimators]).astype(np.float32)
        # Weights below `prune` in magnitude are dropped: 8% of them remain at 0.01, the model
        # shrinks from ~150 MB to ~25 MB, and TRAM sentence probabilities move by < 0.001.
        dense[np.abs(dense) < self.prune] = 0.0
        self.weights = sp.csr_matrix(dense)
        self.bias = np.array([e.intercept_[0] for e in estimators], dtype=np.float32)
        self._prepare()
        return self

    def compressed(self, prune: float) -> TextMapper:
        """A copy for shipping: weights below `prune` in magnitude dropped, and saved in half
        precision with 16-bit column indices (`save`); the same vocabulary and TF-IDF, so the
        features of a sentence are unchanged and only small weights go."""
        if prune < self.prune:
            raise ValueError(
                f"prune {prune} is below the model's own {self.prune}: nothing to drop"
            )
        copy = TextMapper(
            self.threshold,
            self.regularization_c,
            self.max_features,
            prune,
            self.unsupported_threshold,
            self.report_mentions,
        )
        copy.labels, copy.supported_labels = list(self.labels), set(self.supported_labels)
        copy.calibration = self.calibration
        copy.vocabulary, copy.idf, copy.bias = self.vocabulary, self.idf, self.bias
        weights = self.weights.copy()  # type: ignore[union-attr]
        weights.data[np.abs(weights.data) < prune] = 0.0
        weights.eliminate_zeros()
        # what the saved float16 file will hold, so that the copy scores as it will after loading
        weights.data = weights.data.astype(np.float16).astype(np.float32)
        copy.weights, copy.half = weights, True
        copy._prepare()
        return copy

    def _prepare(self) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        self._counter = CountVectorizer(
            ngram_range=(1, 2),
            vocabulary=self.vocabulary,
            token_pattern=TOKEN_PATTERN,
            strip_accents="unicode",
            dtype=np.float32,
        )
        terms = np.empty(len(self.vocabulary), dtype=object)
        for term, index in self.vocabulary.items():
            terms[index] = term
        self._terms = terms

    # -- prediction -----------------------------------------------------------------------

    def features(self, texts: list[str]) -> sp.csr_matrix:
        """TF-IDF rows exactly as scikit-learn's TfidfVectorizer(sublinear_tf=True) computes them."""
        counts = self._counter.transform(texts).tocsr().astype(np.float32)
        counts.data = 1.0 + np.log(counts.data)
        counts = counts.multiply(self.idf[None, :]).tocsr()
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(counts.multiply(1.0 / norms[:, None]))

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """(sentences × techniques) probabilities."""
        logits = (self.features(texts) @ self.weights.T).toarray() + self.bias  # type: ignore[union-attr,operator]
        return 1.0 / (1.0 + np.exp(-logits))

    def confidences(self, texts: list[str]) -> np.ndarray:
        """(sentences × techniques) confidences: `predict_proba` through the calibration, where
        the model has one. A technique's confidence in a report is its best sentence's."""
        probabilities = self.predict_proba(texts)
        if self.calibration is None:
            return probabilities
        supported = np.array([label in self.supported_labels for label in self.labels])
        return self.calibration.apply(probabilities, supported)

    def explain(self, sentence: str, technique: str, top: int = 6) -> list[tuple[str, float]]:
        """Terms that pushed this sentence toward this technique, largest contribution first."""
        row = self.features([sentence])
        column = self.labels.index(technique)
        contributions = row.data * self.weights[column].toarray()[0, row.indices]  # type: ignore[index]
        order = np.argsort(-contributions)[:top]
        return [
            (str(self._terms[row.indices[i]]), float(contributions[i]))
            for i in order
            if contributions[i] > 0
        ]  # type: ignore[index]

    def thresholds(
        self, threshold: float | None = None, unsupported_threshold: float | None = None
    ) -> np.ndarray:
        """Per-technique reporting bars: `threshold` for supported techniques, the unsupported
        bar for the rest — by default the model's own; with a `threshold` given, the same one
        where confidences are calibrated (they mean the same in both groups), else the higher of
        the two."""
        given = threshold
        threshold = self.threshold if threshold is None else threshold
        if unsupported_threshold is None:
            calibrated = given is not None and self.calibration is not None
            unsupported_threshold = (
                threshold if calibrated else max(threshold, self.unsupported_threshold)
            )
        return np.array(
            [
                threshold if label in self.supported_labels else unsupported_threshold
                for label in self.labels
            ]
        )

    def map_text(
        self,
        text: str | bytes,
        threshold: float | None = None,
        evidence_per_technique: int = 3,
        unsupported_threshold: float | None = None,
        report_mentions: bool | None = None,
        explain: bool = True,
    ) -> DocumentMapping:
        """Techniques found in a document, with their best evidence sentences and the IoCs.

        A threshold given here replaces the model's (`thresholds` says for which techniques). `explain=False`
        leaves the evidence's driving terms empty (scoring sweeps need only the techniques)."""
        text = as_text(text)
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(
                f"text has {len(text):,} characters, more than {MAX_TEXT_CHARS:,}; split it into sections and map each"
            )
        bars = self.thresholds(threshold, unsupported_threshold)
        sentences = mappable_sentences(text)
        hits: dict[str, TechniqueHit] = {}
        if sentences:
            probabilities = self.confidences(sentences)
            best = probabilities.max(axis=0)
            for column in np.flatnonzero(best >= bars):
                technique = self.labels[column]
                order = np.argsort(-probabilities[:, column])[:evidence_per_technique]
                evidence = [
                    Evidence(
                        sentences[i],
                        float(probabilities[i, column]),
                        self.explain(sentences[i], technique) if explain else [],
                    )
                    for i in order
                    if probabilities[i, column] >= bars[column]
                ]
                hits[technique] = TechniqueHit(technique, float(best[column]), evidence)
        known = set(self.labels)
        mentions = self.report_mentions if report_mentions is None else report_mentions
        for technique in mentioned_techniques(text) if mentions else []:
            if technique in known or re.fullmatch(r"T\d{4}(\.\d{3})?", technique):
                hit = hits.setdefault(technique, TechniqueHit(technique, 1.0))
                hit.explicit, hit.confidence = True, 1.0
        ranked = sorted(hits.values(), key=lambda h: -h.confidence)
        return DocumentMapping(ranked, extract_iocs(text), len(sentences))

    # -- persistence ----------------------------------------------------------------------

    def save(self, directory: str | Path, **provenance: Any) -> Path:
        """Write the arrays as safetensors, the vocabulary and settings as JSON (model.json last,
        so it marks completeness); `provenance` adds training facts to model.json."""
        directory = Path(directory)
        weights = self.weights
        sha256 = write_weights(
            directory,
            {
                "idf": self.idf,  # type: ignore[dict-item]
                "bias": self.bias,  # type: ignore[dict-item]
                "weights_data": weights.data.astype(np.float16 if self.half else np.float32),  # type: ignore[union-attr]
                "weights_indices": weights.indices.astype(  # type: ignore[union-attr]
                    np.uint16 if self.half and len(self.vocabulary) <= 2**16 else np.int32
                ),
                "weights_indptr": weights.indptr.astype(np.int64),  # type: ignore[union-attr]
            },
        )
        atomic_write(
            directory / "vocabulary.json",
            lambda tmp: tmp.write_text(json.dumps(self.vocabulary), encoding="utf-8"),
        )
        write_json(
            directory / MANIFEST,
            {
                "format_version": FORMAT_VERSION,
                "kind": KIND,
                "labels": self.labels,
                "threshold": self.threshold,
                "unsupported_threshold": self.unsupported_threshold,
                "supported_labels": sorted(self.supported_labels),
                "report_mentions": self.report_mentions,
                "regularization_c": self.regularization_c,
                "max_features": self.max_features,
                "prune": self.prune,
                "half_precision": self.half,
                "calibration": self.calibration.to_json() if self.calibration else None,
                "weights_sha256": sha256,
                **provenance,
            },
        )
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> TextMapper:
        """Load and verify a saved mapper; DataError naming the file, field and fix when the
        folder holds another kind of artifact (a recommender), another format version, or
        weights that are missing, modified, not safetensors or not finite."""
        directory = Path(directory)
        manifest_path = directory / MANIFEST
        manifest = read_json(manifest_path)
        kind = manifest.get("kind") if isinstance(manifest, dict) else None
        if kind != KIND:
            raise DataError(
                manifest_path,
                "kind",
                f"is {kind!r}, not {KIND!r}: not a text mapper (a recommender's folder?)",
                "train one with `python -m recommenders.text.train`, or point at its folder",
            )
        check_format_version(manifest.get("format_version"), manifest_path, FORMAT_VERSION)
        arrays = read_weights(directory, str(manifest.get("weights_sha256", "")))
        mapper = cls(
            manifest["threshold"],
            manifest["regularization_c"],
            manifest["max_features"],
            manifest["prune"],
            manifest.get("unsupported_threshold"),
            bool(manifest.get("report_mentions", True)),
        )
        mapper.labels = list(manifest["labels"])
        mapper.supported_labels = set(manifest.get("supported_labels", mapper.labels))
        mapper.vocabulary = read_json(directory / "vocabulary.json")
        mapper.idf, mapper.bias = arrays["idf"], arrays["bias"]
        mapper.half = bool(manifest.get("half_precision", False))
        mapper.calibration = Calibration.from_json(manifest.get("calibration"), manifest_path)
        try:
            mapper.weights = sp.csr_matrix(
                (
                    arrays["weights_data"].astype(np.float32),
                    arrays["weights_indices"].astype(np.int32),
                    arrays["weights_indptr"],
                ),
                shape=(len(mapper.labels), len(mapper.vocabulary)),
            )
        except (KeyError, ValueError) as exc:
            raise DataError(directory / WEIGHTS, "weights", f"unusable ({exc})", "retrain") from exc
        mapper._prepare()
        return mapper

    @classmethod
    def shared(cls, path: str | Path | None = None) -> TextMapper:
        """One loaded mapper per folder and process (`text_model_dir(path)` picks the folder):
        every env in a vector maps text with the same ~25 MB of weights, loaded once."""
        folder = text_model_dir(path).resolve()  # one entry however the folder is spelled
        if folder not in _SHARED:
            _SHARED[folder] = cls.load(folder)
        return _SHARED[folder]
