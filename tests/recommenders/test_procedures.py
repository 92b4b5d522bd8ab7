"""ATT&CK's procedure examples as training rows: release guard, citation withholding, rows."""

import numpy as np
import pytest

from recommenders.attack import load_catalog
from recommenders.errors import DataError
from recommenders.procedures import ProcedureUse, load_procedures, procedure_rows

VOCABULARY = ("T1001", "T1002", "T1003", "T1004")


def _use(source: str, technique: str, *urls: str) -> ProcedureUse:
    return ProcedureUse(source, technique, frozenset(urls))


USES = [
    _use("group-a", "T1001", "reporta"),
    _use("group-a", "T1002", "reportb"),
    _use("group-a", "T1003"),
    _use("group-b", "T1004", "reportb"),
    _use("group-b", "T9999"),  # not in the vocabulary
    _use("tool-c", "T1001"),
    _use("tool-c", "T1004", "reporta"),
]


def test_one_row_per_source_with_two_techniques_at_the_weight():
    rows = procedure_rows(USES, VOCABULARY, weight=0.5)
    assert rows.shape == (2, 4)  # group-b keeps one technique of the vocabulary: no row
    np.testing.assert_array_equal(rows.toarray(), [[0.5, 0.5, 0.5, 0], [0.5, 0, 0, 0.5]])


def test_uses_citing_a_held_out_report_are_withheld():
    by_url = procedure_rows(USES, VOCABULARY, withheld_urls=frozenset({"reporta"}))
    np.testing.assert_array_equal(by_url.toarray(), [[0, 1, 1, 0]])  # tool-c falls to one
    by_pair = procedure_rows(USES, VOCABULARY, withheld_pairs=frozenset({("reportb", "T1002")}))
    np.testing.assert_array_equal(by_pair.toarray(), [[1, 0, 1, 0], [1, 0, 0, 1]])


def test_only_a_release_no_newer_than_the_corpus_gives_rows(real_data_dir):
    newer = real_data_dir / "attack" / "enterprise-attack-18.1.json.gz"
    with pytest.raises(DataError, match=r"v15 or earlier.*--procedures 0"):
        load_procedures(newer, load_catalog(newer))
    v15 = real_data_dir / "attack" / "enterprise-attack-15.0.json"
    uses = load_procedures(v15, load_catalog(v15))
    assert len(uses) > 10_000 and len({u.source for u in uses}) > 500
    assert all(u.technique.startswith("T") for u in uses)
