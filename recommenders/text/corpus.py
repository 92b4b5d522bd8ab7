"""Training text for the mapper: TRAM's annotated sentences plus ATT&CK technique descriptions.

- `tram/multi_label.json`: TRAM2 reports split into sentences, each with 0..n labels and its
  `doc_title` (the report) — the document-level benchmark set;
- `tram/single_label.json`: one label per sentence, with `doc_title`: the same reports, but their
  titles keep the punctuation that `multi_label.json` strips (37 of its 149 titles match one there
  as written, all 149 by `match_key`);
- `tram/bootstrap-training-data.json`: TRAM1 sentences with accepted mappings (no report title);
- the ATT&CK bundle: every active technique's name and description sentences, so that every
  Enterprise technique has training text, not only TRAM's few dozen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from recommenders.attack import TechniqueCatalog
from recommenders.errors import DataError
from recommenders.jsonio import read_json

_CITATION = re.compile(r"\(Citation:[^)]*\)")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|(?<=[.!?:;])[ \t]*\n|\n[ \t]*\n")
_SOFT_BREAK = re.compile(r"(?<![.!?:;\n])[ \t]*\n(?![ \t]*\n)")
_TECHNIQUE_ID = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def match_key(text: str) -> str:
    """`text` lower-cased, with every character that is not a letter or digit dropped (spaces
    too): how report titles and sentences are compared across TRAM's files, which spell the same
    report or sentence with different punctuation, case and spacing."""
    return _NOT_ALPHANUMERIC.sub("", text.lower())


@dataclass(frozen=True)
class Sentence:
    text: str
    labels: tuple[str, ...]
    document: str | None = None
    """Report title, or None for sentences that belong to no report (bootstrap, ATT&CK)."""


@dataclass
class TextCorpus:
    """All labelled text, grouped by where it came from."""

    tram_multi: list[Sentence] = field(default_factory=list)
    tram_single: list[Sentence] = field(default_factory=list)
    bootstrap: list[Sentence] = field(default_factory=list)
    attack: list[Sentence] = field(default_factory=list)

    def documents(self) -> list[str]:
        """Titles of the TRAM2 reports, in first-seen order."""
        return list(dict.fromkeys(s.document for s in self.tram_multi if s.document))

    def sentences_of(self, titles: Iterable[str]) -> list[Sentence]:
        """The TRAM2 sentences of these reports, titles compared by `match_key`."""
        wanted = {match_key(title) for title in titles}
        # resolved to this file's own spellings first: one key per report, not per sentence
        reports = {title for title in self.documents() if match_key(title) in wanted}
        return [s for s in self.tram_multi if s.document in reports]


def split_sentences(text: str) -> list[str]:
    """A light sentence splitter: sentence-final punctuation before a capital, a line that ends
    in punctuation, or a blank line. A line break inside a sentence (wrapped text) is a space."""
    text = _SOFT_BREAK.sub(" ", text)
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def mentioned_techniques(text: str) -> list[str]:
    """Technique IDs written out in the text (e.g. a report's own ATT&CK table)."""
    return list(dict.fromkeys(_TECHNIQUE_ID.findall(text)))


def _records(path: Path, key: str | None = None) -> list[dict]:
    payload = read_json(path)
    records = payload.get(key) if key and isinstance(payload, dict) else payload
    if not isinstance(records, list):
        raise DataError(
            path,
            key or "<root>",
            "expected a list of sentence records",
            "use TRAM's published files",
        )
    return records


def load_text_corpus(data_dir: str | Path, catalog: TechniqueCatalog) -> TextCorpus:
    """Read TRAM's three files and the catalog's descriptions; labels outside the catalog's active
    techniques are dropped (TRAM predates some revocations)."""
    root = Path(data_dir) / "tram"
    active = set(catalog.active_ids())
    corpus = TextCorpus()
    for i, record in enumerate(_records(root / "multi_label.json")):
        if "sentence" not in record or "labels" not in record:
            raise DataError(
                root / "multi_label.json",
                f"[{i}]",
                "needs 'sentence' and 'labels'",
                "use TRAM's file",
            )
        labels = tuple(t for t in record["labels"] if t in active)
        corpus.tram_multi.append(Sentence(record["sentence"], labels, record.get("doc_title")))
    for record in _records(root / "single_label.json"):
        labels = tuple(t for t in [record.get("label")] if t in active)
        corpus.tram_single.append(Sentence(record["text"], labels, record.get("doc_title")))
    for record in _records(root / "bootstrap-training-data.json", "sentences"):
        if record.get("disposition") not in (None, "accept"):
            continue
        labels = tuple(
            dict.fromkeys(
                m["attack_id"] for m in record.get("mappings", []) if m.get("attack_id") in active
            )
        )
        if labels:
            corpus.bootstrap.append(Sentence(record["text"], labels))
    for technique_id in sorted(active):
        technique = catalog.techniques[technique_id]
        corpus.attack.append(Sentence(technique.name, (technique_id,)))
        description = _MARKDOWN_LINK.sub(r"\1", _CITATION.sub("", technique.description))
        for sentence in split_sentences(description):
            if len(sentence.split()) >= 4:
                corpus.attack.append(Sentence(sentence, (technique_id,)))
    return corpus
