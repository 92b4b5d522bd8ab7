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
    unseen = UnseenTechniques.build(catalog, vocabulary, settings)
    assert unseen.techniques == ("T1003.001", "T1009", "T1010", "T1011")
    assert unseen.names[0] == "PowerShell" and unseen.tactics[0] == ("execution",)
    # the sub-technique's nearest is its parent: same family and tactic
    assert vocabulary[unseen.neighbours[0, 0]] == "T1003"
    assert np.allclose(unseen.weights.sum(axis=1), 1.0)


def test_scores_are_the_documented_formula():
    unseen = UnseenTechniques(
        ("A", "B"),
        ("", ""),
        ((), ()),
        np.array([[0, 1], [2, 0]]),
        np.array([[0.75, 0.25], [0.5, 0.5]]),
        offset=-1.0,
        scale=2.0,
        observed=5.0,
    )
    z = np.array([[1.0, -1.0, 0.5]])
    observed = np.array([[False, False, True]])
    expected = [
        -1.0 + 2.0 * (0.75 * 1.0 + 0.25 * -1.0),
        -1.0 + 2.0 * (0.5 * 5.0 + 0.5 * 1.0),  # column 2 observed: lends 5
    ]
    assert np.allclose(unseen.scores(z, observed)[0], expected)


def test_json_round_trip_and_strict_reading(tmp_path):
    unseen = UnseenTechniques(
        ("T1001", "T1002"),
        ("One", "Two"),
        (("execution",), ()),
        np.array([[0, 1], [1, 2]]),
        np.array([[0.5, 0.5], [1.0, 0.0]]),
        -0.5,
        1.0,
        8.0,
    )
    vocabulary = ("T2001", "T2002", "T2003")
    again = UnseenTechniques.from_json(
        json.loads(json.dumps(unseen.to_json())), vocabulary, "m.json"
    )
    z = np.array([[0.1, 0.2, 0.3]])
    assert (again.techniques, again.names, again.tactics) == (
        unseen.techniques,
        unseen.names,
        unseen.tactics,
    )
    assert np.allclose(again.scores(z, z > 1), unseen.scores(z, z > 1))
    for field, bad in [
        ("offset", True),
        ("scale", float("nan")),
        ("observed", 1e300),
        ("techniques", []),
    ]:
        payload = unseen.to_json() | {field: bad}
        with pytest.raises(DataError, match=rf"unseen\.{field}"):
            UnseenTechniques.from_json(payload, vocabulary, "m.json")
    payload = unseen.to_json()
    payload["techniques"]["T1001"]["neighbours"] = [0, 3]  # column 3 of a 3-wide model
    with pytest.raises(DataError, match=r"T1001\.neighbours"):
        UnseenTechniques.from_json(payload, vocabulary, "m.json")
    for field, bad in [("neighbours", [1, 1]), ("weights", [1.0, 1.0]), ("weights", [0, 0])]:
        payload = unseen.to_json()
        payload["techniques"]["T1002"][field] = bad  # repeated, or not summing to one
        with pytest.raises(DataError, match=rf"T1002\.{field}"):
            UnseenTechniques.from_json(payload, vocabulary, "m.json")
    payload = unseen.to_json()
    payload["techniques"]["T2001"] = payload["techniques"].pop("T1001")  # the model has it
    with pytest.raises(DataError, match=r"T2001"):
        UnseenTechniques.from_json(payload, vocabulary, "m.json")


def test_standardise_over_available_only():
    scores = np.array([[1.0, 3.0, 100.0]])
    z = standardise(scores, np.array([[True, True, False]]))
    assert np.allclose(z[0, :2], [-1.0, 1.0])


def _shipped_with(unseen_ids, neighbour_ids, **settings):
    """The shipped model and unseen techniques each borrowing from one seen technique."""
    from recommenders.artifacts import DEFAULT_MODEL_DIR, load_model

    model, manifest = load_model(DEFAULT_MODEL_DIR)
    column = {t: i for i, t in enumerate(manifest.technique_ids)}
    n = len(unseen_ids)
    unseen = UnseenTechniques(
        tuple(unseen_ids),
        tuple(f"name of {t}" for t in unseen_ids),
        (("privilege-escalation",),) * n,
        np.array([[column[t]] for t in neighbour_ids]),
        np.ones((n, 1)),
        **({"offset": 0.0, "scale": 1.0, "observed": 8.0} | settings),
    )
    return model, manifest, unseen


def test_an_unseen_technique_is_forecast_when_its_neighbour_is_observed():
    from recommenders.forecast import forecast

    model, manifest, unseen = _shipped_with(["T1548.005", "T1548.006"], ["T1548", "T1003"])
    seen = ["T1548", "T1059.001"]
    plain = forecast(model, manifest, seen, k=10)
    result = forecast(model, manifest, seen, k=10, unseen=unseen)
    first = result.predictions[0]
    # it lends z = 8 to the first: above every seen technique; the second borrows T1003's z
    assert (first.technique, first.unseen, first.like) == ("T1548.005", True, ("T1548",))
    assert first.name == "name of T1548.005" and first.because == ()
    # the seen techniques keep their order, scores and colours (relative), one place down
    rest = [p for p in result.predictions if not p.unseen]
    assert [(p.technique, p.score, p.relative) for p in rest] == [
        (p.technique, p.score, p.relative) for p in plain.predictions[: len(rest)]
    ]
    payload = first.to_json()
    assert payload["unseen"] is True and payload["like"] == ["T1548"]
    assert plain.predictions[0].to_json()["unseen"] is False
    assert min(p.relative for p in result.predictions) >= 0.0 and first.relative == 1.0


def test_an_unseen_technique_the_user_gave_is_never_forecast():
    from recommenders.forecast import forecast

    model, manifest, unseen = _shipped_with(["T1548.005"], ["T1548"])
    result = forecast(
        model, manifest, ["T1548"], k=10, ignored={"t1548.005": "never seen"}, unseen=unseen
    )
    assert "T1548.005" not in {p.technique for p in result.predictions}


def test_the_shipped_model_reaches_every_active_technique(real_data_dir):
    from recommenders.artifacts import DEFAULT_MODEL_DIR, load_model
    from recommenders.data import default_attack_path
    from recommenders.forecast.forecaster import Forecaster

    _, manifest = load_model(DEFAULT_MODEL_DIR)
    catalog = load_catalog(default_attack_path(real_data_dir))
    forecaster = Forecaster.load(DEFAULT_MODEL_DIR)
    assert forecaster.unseen is not None
    assert set(manifest.technique_ids) | set(forecaster.unseen.techniques) == set(
        catalog.active_ids()
    )
    # cloud-infrastructure techniques seen: of the techniques no report names, the first
    # forecast are the two the family's siblings point at (ranked far below the seen ones:
    # an unseen technique is rare, and the settings were chosen to say so)
    result = forecaster.from_ids(["T1578", "T1578.001", "T1578.002", "T1578.003"], k=100)
    unseen = [p for p in result.predictions if p.unseen]
    assert unseen[0].technique == "T1578.004"
    assert "T1578.005" in {p.technique for p in unseen[:3]}
    assert set(unseen[0].like) <= {"T1578", "T1578.001", "T1578.002", "T1578.003"}
