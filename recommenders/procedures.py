"""ATT&CK's procedure examples as extra training rows: one technique set per group, software and
campaign of the Enterprise bundle (its `uses` relationships), curated evidence beside the corpus.

Two guards keep them honest:

- Release: the rows come from the training bundle, and only from a release no newer than the
  corpus (`NEWEST_RELEASE`); a later release describes adversaries that postdate the corpus and
  would leak into training and selection.
- Citations: ATT&CK cites the same CTI reports the corpus holds. A `uses` relationship that cites
  a held-out report (validation or test, matched by normalised reference URL) is left out of the
  rows of every fit that must not see that report: on the report protocol every relationship
  citing it, on the pair protocol those whose technique is one of its held-out pairs. Measured on
  the 2024-03-14 corpus: 3,323 of the rows' 12,784 technique uses cite a held-out report of seed
  0's report split.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommenders.attack import TechniqueCatalog
from recommenders.data import PairSplit, ReportSplit, normalised_url
from recommenders.errors import DataError
from recommenders.jsonio import read_json

NEWEST_RELEASE = 15
"""The newest ATT&CK major release whose procedure examples may train a model of the TIE corpus
(dated 2024-03-14; ATT&CK v15.0 came out in April 2024, v16 in October 2024)."""

SOURCES = ("intrusion-set", "malware", "tool", "campaign")
"""STIX types whose `uses` of techniques become rows: groups, software and campaigns."""


@dataclass(frozen=True)
class ProcedureUse:
    """One `uses` relationship: a group, software or campaign used a technique, citing URLs."""

    source: str
    """STIX id of the group, software or campaign (one row each)."""
    technique: str
    urls: frozenset[str]
    """Normalised URLs of the relationship's external references (`data.normalised_url`)."""


def load_procedures(path: str | Path, catalog: TechniqueCatalog) -> list[ProcedureUse]:
    """Every active group's, software's and campaign's use of an Enterprise technique in the
    bundle at `path` (the bundle `catalog` was read from); revoked technique IDs follow their
    replacement, deprecated and unknown ones are left out."""
    major = int(catalog.version.split(".")[0]) if catalog.version else None
    if major is None or major > NEWEST_RELEASE:
        said = (
            f"ATT&CK {catalog.version}" if catalog.version else "an ATT&CK release it does not name"
        )
        raise DataError(
            path,
            "x_mitre_version",
            f"the bundle is {said}; procedure examples may come only from v{NEWEST_RELEASE} or "
            "earlier (later releases describe adversaries that postdate the corpus)",
            f"train with the v{NEWEST_RELEASE}.0 bundle, or turn the rows off (--procedures 0)",
        )
    objects = read_json(path)["objects"]
    by_id = {o.get("id"): o for o in objects if isinstance(o, dict)}
    uses = []
    for relationship in objects:
        if (
            relationship.get("type") != "relationship"
            or relationship.get("relationship_type") != "uses"
            or relationship.get("revoked")
            or relationship.get("x_mitre_deprecated")
        ):
            continue
        source = by_id.get(relationship.get("source_ref"), {})
        target = by_id.get(relationship.get("target_ref"), {})
        if (
            source.get("type") not in SOURCES
            or source.get("revoked")
            or source.get("x_mitre_deprecated")
            or target.get("type") != "attack-pattern"
        ):
            continue
        technique_id = next(
            (
                ref.get("external_id")
                for ref in target.get("external_references", [])
                if ref.get("source_name") == "mitre-attack"
            ),
            None,
        )
        technique = catalog.techniques.get(technique_id or "")
        if technique is not None and technique.status == "revoked" and technique.revoked_by:
            technique = catalog.techniques.get(technique.revoked_by)
        if technique is None or technique.status != "active":
            continue
        urls = frozenset(
            normalised_url(ref["url"])
            for ref in relationship.get("external_references", [])
            if isinstance(ref.get("url"), str)
        ) - {""}
        uses.append(ProcedureUse(source["id"], technique.id, urls))
    return uses


def procedure_rows(
    uses: Iterable[ProcedureUse],
    vocabulary: tuple[str, ...],
    withheld_urls: frozenset[str] = frozenset(),
    withheld_pairs: frozenset[tuple[str, str]] = frozenset(),
    weight: float = 1.0,
) -> sp.csr_matrix:
    """Rows (one per source with ≥ 2 techniques of `vocabulary` left) of value `weight`, without
    the uses that cite a withheld URL or a withheld (URL, technique) pair."""
    column = {t: j for j, t in enumerate(vocabulary)}
    rows: dict[str, set[int]] = {}
    for use in uses:
        if use.technique not in column or use.urls & withheld_urls:
            continue
        if any((url, use.technique) in withheld_pairs for url in use.urls):
            continue
        rows.setdefault(use.source, set()).add(column[use.technique])
    kept = [sorted(columns) for _, columns in sorted(rows.items()) if len(columns) >= 2]
    indptr = np.zeros(len(kept) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(columns) for columns in kept])
    indices = np.asarray([c for columns in kept for c in columns], dtype=np.int32)
    return sp.csr_matrix(
        (np.full(len(indices), weight, dtype=np.float32), indices, indptr),
        shape=(len(kept), len(vocabulary)),
    )


def use_counts(
    uses: Iterable[ProcedureUse], withheld_urls: frozenset[str] = frozenset()
) -> dict[str, int]:
    """How many groups, software and campaigns use each technique, not counting uses that cite
    a withheld URL: how common ATT&CK's curators find a technique, reports or none."""
    counts: dict[str, int] = {}
    for use in uses:
        if not use.urls & withheld_urls:
            counts[use.technique] = counts.get(use.technique, 0) + 1
    return counts


@dataclass(frozen=True)
class ProcedureSplit:
    """The procedure rows each fit of the pipeline may train on: selection fits withhold what
    cites validation or test data, refits what cites test data."""

    pair_selection: sp.csr_matrix
    report_selection: sp.csr_matrix
    pair_refit: sp.csr_matrix
    report_refit: sp.csr_matrix

    @classmethod
    def build(
        cls,
        uses: list[ProcedureUse],
        vocabulary: tuple[str, ...],
        references: list[tuple[str, ...]],
        pair: PairSplit,
        report: ReportSplit,
        weight: float,
    ) -> ProcedureSplit:
        """`references[i]`: corpus row i's normalised reference URLs."""

        def urls(rows: Iterable[int]) -> frozenset[str]:
            return frozenset(url for row in rows for url in references[row])

        def pairs(held_out: sp.spmatrix) -> frozenset[tuple[str, str]]:
            coo = held_out.tocoo()
            return frozenset(
                (url, vocabulary[column])
                for row, column in zip(coo.row.tolist(), coo.col.tolist(), strict=True)
                for url in references[row]
            )

        def rows(**withheld: frozenset) -> sp.csr_matrix:
            return procedure_rows(uses, vocabulary, weight=weight, **withheld)

        return cls(
            pair_selection=rows(withheld_pairs=pairs(pair.validation + pair.test)),
            report_selection=rows(withheld_urls=urls([*report.validation.rows, *report.test.rows])),
            pair_refit=rows(withheld_pairs=pairs(pair.test)),
            report_refit=rows(withheld_urls=urls(report.test.rows)),
        )
