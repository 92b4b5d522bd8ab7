import gzip
import json

import numpy as np
import pytest

from recommenders.attack import load_catalog
from recommenders.data import build_matrix, load_corpus, load_matrix, pair_holdout, report_holdout
from recommenders.errors import DataError
from tests.conftest import make_bundle, make_corpus


@pytest.fixture
def catalog(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(make_bundle()))
    return load_catalog(path)


def _write(tmp_path, payload, name="corpus.json"):
    path = tmp_path / name
    path.write_text(json.dumps(payload) if not isinstance(payload, str) else payload)
    return path


def test_dirty_corpus_drops_with_reasons(tmp_path, catalog):
    corpus = load_corpus(_write(tmp_path, make_corpus(dirty=True)), catalog)
    reasons = corpus.dropped.ids_by_reason
    assert reasons["revoked"] == ["T1098"]
    assert reasons["deprecated"] == ["T1099"]
    assert reasons["unknown"] == ["T1999"]
    assert sorted(reasons["not-enterprise"]) == ["", "AML.T0001"]
    assert corpus.dropped.empty_reports_dropped == 1
    assert "999" not in {r.id for r in corpus.reports}
    assert "revoked: 1" in corpus.dropped.describe()


def test_gzip_corpus(tmp_path, catalog):
    path = tmp_path / "c.json.gz"
    path.write_bytes(gzip.compress(json.dumps(make_corpus()).encode()))
    assert len(load_corpus(path, catalog).reports) == 60


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"reports": {}}, "reports"),
        ({"reports": [{"mitre_techniques": {}}]}, "reports[0].id"),
        ({"reports": [{"id": 1}]}, "reports[0].mitre_techniques"),
        (
            {"reports": [{"id": 1, "mitre_techniques": {"T1001": "two"}}]},
            "reports[0].mitre_techniques['T1001']",
        ),
        (
            {
                "reports": [
                    {"id": 1, "mitre_techniques": {"T1001": 1}},
                    {"id": 1, "mitre_techniques": {}},
                ]
            },
            "reports[1].id",
        ),
    ],
)
def test_malformed_corpus_names_field(tmp_path, catalog, payload, field):
    with pytest.raises(DataError) as info:
        load_corpus(_write(tmp_path, payload), catalog)
    assert info.value.field == field and "corpus.json" in str(info.value)


def test_truncated_json(tmp_path, catalog):
    text = json.dumps(make_corpus())
    with pytest.raises(DataError, match="not valid JSON"):
        load_corpus(_write(tmp_path, text[: len(text) // 2]), catalog)


def test_matrix_options(tmp_path, catalog):
    corpus = load_corpus(_write(tmp_path, make_corpus()), catalog)
    binary = build_matrix(corpus)
    counts = build_matrix(corpus, values="count")
    rolled = build_matrix(corpus, rollup=True)
    assert list(binary.techniques) == sorted(binary.techniques)
    assert set(binary.matrix.data) == {1.0}
    assert counts.matrix.data.max() > 1
    assert "T1003.001" in binary.techniques and "T1003.001" not in rolled.techniques
    # A report with both T1003 and T1003.001 sums into one T1003 count.
    row = next(
        i for i, r in enumerate(corpus.reports) if {"T1003", "T1003.001"} <= set(r.techniques)
    )
    rolled_counts = build_matrix(corpus, values="count", rollup=True)
    col = rolled_counts.techniques.index("T1003")
    report = corpus.reports[row]
    assert (
        rolled_counts.matrix[row, col]
        == report.techniques["T1003"] + report.techniques["T1003.001"]
    )


def test_origin_filter(tmp_path, catalog):
    path = _write(tmp_path, make_corpus())
    corpus = load_corpus(path, catalog, origins=["TRAM"])
    assert {r.origin for r in corpus.reports} == {"TRAM"}
    assert corpus.dropped.reports_filtered_by_origin == 40
    with pytest.raises(DataError, match="choose among"):
        load_corpus(path, catalog, origins=["Nope"])


def test_same_seed_same_matrix_and_splits(data_dir):
    a, _, _ = load_matrix(data_dir)
    b, _, _ = load_matrix(data_dir)
    assert a.techniques == b.techniques and (a.matrix != b.matrix).nnz == 0
    s1, s2, s3 = (pair_holdout(a.matrix, seed) for seed in (3, 3, 4))
    assert (s1.test != s2.test).nnz == 0 and (s1.test != s3.test).nnz > 0


def test_pair_holdout_keeps_one_pair_per_report(block_matrix):
    split = pair_holdout(block_matrix, seed=0)
    assert np.all(np.diff(split.train.indptr) >= 1)
    total = split.train + split.validation + split.test
    assert (total != block_matrix).nnz == 0
    assert split.validation.multiply(split.test).nnz == 0
    assert split.test.nnz == round(0.2 * block_matrix.nnz)


def test_report_holdout_partitions(block_matrix):
    split = report_holdout(block_matrix, seed=0)
    test, val = split.test, split.validation
    assert not set(split.train_rows) & set(test.rows) and not set(val.rows) & set(test.rows)
    assert len(split.train_rows) + len(val.rows) + len(test.rows) == block_matrix.shape[0]
    assert (test.observed + test.heldout != block_matrix[test.rows]).nnz == 0
    assert np.all(np.diff(test.observed.indptr) >= 1) and np.all(np.diff(test.heldout.indptr) >= 1)


def test_missing_data_dir_says_what_to_set(monkeypatch):
    monkeypatch.delenv("TIE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="TIE_DATA_DIR"):
        load_matrix()


def test_real_corpus_and_dirty_file(real_data_dir):
    matrix, corpus, catalog = load_matrix(real_data_dir)
    # v15.0 deprecates 10 IDs the 2024-03-14 corpus still uses.
    assert matrix.shape == (2658, 580)
    assert corpus.dropped.ids_by_reason.keys() == {"deprecated"}
    dirty = load_corpus(
        real_data_dir / "tie" / "combined_dataset_full_frequency.2024-03-12-unfiltered.json.gz",
        catalog,
    )
    reasons = dirty.dropped.ids_by_reason
    assert {"not-enterprise", "unknown", "revoked", "deprecated"} <= reasons.keys()
    assert "AML.T0000" in reasons["not-enterprise"]
    assert build_matrix(dirty).shape[1] <= len(catalog.active_ids())


@pytest.mark.parametrize("count", [10**39, 10**400], ids=["above-float32", "above-float64"])
def test_count_too_large_for_the_matrix_names_report_and_technique(tmp_path, catalog, count):
    payload = make_corpus()
    payload["reports"][7]["mitre_techniques"]["T1002"] = count
    corpus = load_corpus(_write(tmp_path, payload), catalog)
    assert build_matrix(corpus).matrix.data.max() == 1.0  # binary needs presence only
    with pytest.raises(DataError) as info:
        build_matrix(corpus, values="count")
    assert info.value.field == "reports[id='7'].mitre_techniques['T1002']"
    assert "corpus.json" in str(info.value) and "--values binary" in info.value.fix


def test_rolled_up_count_too_large_names_the_parent(tmp_path, catalog):
    payload = make_corpus()
    payload["reports"][0]["mitre_techniques"].update({"T1003": 2 * 10**38, "T1003.001": 2 * 10**38})
    corpus = load_corpus(_write(tmp_path, payload), catalog)
    build_matrix(corpus, values="count")  # each count fits
    with pytest.raises(DataError, match="rolled up") as info:
        build_matrix(corpus, values="count", rollup=True)
    assert info.value.field == "reports[id='0'].mitre_techniques['T1003']"


def test_integer_beyond_the_json_parser_limit(tmp_path, catalog):
    text = json.dumps(make_corpus()).replace(
        '"mitre_techniques": {', '"mitre_techniques": {"T1001": ' + "9" * 5000 + ", ", 1
    )
    with pytest.raises(DataError, match="not valid JSON") as info:
        load_corpus(_write(tmp_path, text), catalog)
    assert "corpus.json" in str(info.value)


def test_default_attack_lookup_reads_json_gz(data_dir):
    plain = data_dir / "attack" / "enterprise-attack-15.0.json"
    packed = plain.with_name(plain.name + ".gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    matrix, _, catalog = load_matrix(data_dir)
    assert catalog.source == packed.name and catalog.version == "15.0"
    assert matrix.shape == (60, 12)
    packed.unlink()
    with pytest.raises(DataError, match=r"neither enterprise-attack-15\.0\.json nor .*\.json\.gz"):
        load_matrix(data_dir)
