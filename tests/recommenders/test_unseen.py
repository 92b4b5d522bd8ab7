"""Scores for techniques a model has no column for (`recommenders.unseen`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recommenders.attack import load_catalog
from recommenders.errors import DataError
from recommenders.unseen import Similarity, UnseenTechniques, similarity_terms, standardise
from tests.conftest import make_bundle


@pytest.fixture
def catalog(tmp_path):
    path = tmp_path / "enterprise-attack-15.0.json"
    path.write_text(json.dumps(make_bundle()))
    return load_catalog(path)


def test_similarity_terms_follow_attack(catalog):
    columns = ["T1003", "T1004", "T1007", "T1005"]
    terms = similarity_terms(catalog, ["T1003.001"], columns)
    assert terms["family"][0].tolist() == [1.0, 0.0, 0.0, 0.0]
    # execution vs execution, execution, discovery, {persistence, execution}
    assert terms["tactics"][0].tolist() == [1.0, 1.0, 0.0, 0.5]
    assert terms["description"].shape == (1, 4)
    assert np.all((terms["description"] >= 0) & (terms["description"] <= 1 + 1e-9))


def test_build_scores_every_active_technique_outside_the_vocabulary(catalog):
    vocabulary = ("T1001", "T1002", "T1003", "T1004", "T1005", "T1006", "T1007", "T1008")
    settings = Similarity(family=1, tactics=1, description=0, neighbours=3, offset=-1.0)
    unseen = UnseenTechniques.build(catalog, vocabulary, settings, {"T1009": 4})
    assert unseen.techniques == ("T1003.001", "T1009", "T1010", "T1011")
    assert unseen.uses.tolist() == [0, 4, 0, 0]
    # the sub-technique's nearest is its parent: same family and tactic
    assert vocabulary[unseen.neighbours[0, 0]] == "T1003"
    assert np.allclose(unseen.weights.sum(axis=1), 1.0)


def test_scores_are_the_documented_formula():
    unseen = UnseenTechniques(
        ("A", "B"),
        np.array([[0, 1], [2, 0]]),
        np.array([[0.75, 0.25], [0.5, 0.5]]),
        np.array([0, 3]),
        offset=-1.0,
        scale=2.0,
        observed=5.0,
        prior=0.5,
    )
    z = np.array([[1.0, -1.0, 0.5]])
    observed = np.array([[False, False, True]])
    expected = [
        -1.0 + 2.0 * (0.75 * 1.0 + 0.25 * -1.0),
        -1.0 + 0.5 * np.log(4) + 2.0 * (0.5 * 5.0 + 0.5 * 1.0),  # column 2 observed: lends 5
    ]
    assert np.allclose(unseen.scores(z, observed)[0], expected)


def test_json_round_trip_and_strict_reading(tmp_path):
    unseen = UnseenTechniques(
        ("T1", "T2"),
        np.array([[0, 1], [1, 2]]),
        np.array([[0.5, 0.5], [1.0, 0.0]]),
        np.array([2, 0]),
        -0.5,
        1.0,
        8.0,
        0.25,
    )
    again = UnseenTechniques.from_json(json.loads(json.dumps(unseen.to_json())), 3, "m.json")
    z = np.array([[0.1, 0.2, 0.3]])
    assert again.techniques == unseen.techniques
    assert np.allclose(again.scores(z, z > 1), unseen.scores(z, z > 1))
    for field, bad in [
        ("offset", True),
        ("scale", float("nan")),
        ("prior", 1e300),
        ("techniques", []),
    ]:
        payload = unseen.to_json() | {field: bad}
        with pytest.raises(DataError, match=rf"unseen\.{field}"):
            UnseenTechniques.from_json(payload, 3, "m.json")
    payload = unseen.to_json()
    payload["techniques"]["T1"]["neighbours"] = [0, 3]  # column 3 of a 3-wide model
    with pytest.raises(DataError, match=r"T1\.neighbours"):
        UnseenTechniques.from_json(payload, 3, "m.json")
    payload = unseen.to_json()
    payload["techniques"]["T2"]["uses"] = -1
    with pytest.raises(DataError, match=r"T2\.uses"):
        UnseenTechniques.from_json(payload, 3, "m.json")


def test_standardise_over_available_only():
    scores = np.array([[1.0, 3.0, 100.0]])
    z = standardise(scores, np.array([[True, True, False]]))
    assert np.allclose(z[0, :2], [-1.0, 1.0])
