"""A model trained on one ATT&CK release serves another: IDs in and out are the user's."""

import pytest

from recommenders.attack import Tactic, Technique, TechniqueCatalog, load_catalog, map_release
from recommenders.forecast.forecaster import Forecaster
from tests.conftest import require_real_data


def _catalog(version: str, **entries: tuple[str, str | None]) -> TechniqueCatalog:
    """IDs → (status, revoked_by), all in one tactic."""
    techniques = {
        t: Technique(t, f"name of {t}", ("execution",), status, revoked_by=by)  # type: ignore[arg-type]
        for t, (status, by) in entries.items()
    }
    return TechniqueCatalog(
        techniques, (Tactic("TA0002", "execution", "Execution"),), version=version
    )


def test_revoked_ids_follow_their_chain_and_the_rest_are_reported():
    user = _catalog(
        "99.0",
        T1001=("active", None),
        T1002=("revoked", "T1003"),  # two hops: T1002 → T1003 → T1004
        T1003=("revoked", "T1004"),
        T1004=("active", None),
        T1005=("deprecated", None),
        T1006=("revoked", None),
        T1007=("active", None),  # new since the model's release
    )
    release = map_release(["T1001", "T1002", "T1004", "T1005", "T1006", "T1008"], user)
    assert release.to_user == {"T1001": "T1001", "T1002": "T1004", "T1004": "T1004"}
    assert release.to_model["T1004"] == ("T1002", "T1004")
    assert release.unmapped == {
        "T1005": "deprecated in ATT&CK v99.0",
        "T1006": "revoked in ATT&CK v99.0 with no active successor",
        "T1008": "unknown in ATT&CK v99.0",
    }
    assert release.new == ("T1007",)
    assert release.user_id("t1003 ", user) == ("T1004", "")
    assert release.user_id("T1005", user) == (None, "deprecated in ATT&CK v99.0")


@pytest.fixture(scope="module")
def in_v18():
    data = require_real_data()
    return Forecaster.load(attack=data / "attack" / "enterprise-attack-18.1.json.gz")


def test_the_shipped_v15_model_serves_v18_1(in_v18, real_data_dir):
    report = in_v18.release.report()
    assert report["release"] == "ATT&CK v18.1" and report["mapped"] == 580
    assert report["replaced"] == {"T1574.002": "T1574.001"}  # v18.1 merged DLL side-loading
    v18 = load_catalog(real_data_dir / "attack" / "enterprise-attack-18.1.json.gz")
    assert report["new_in_release"] == len(
        [t for t in v18.active_ids() if t not in in_v18.release.to_model]
    )
    result = in_v18.from_ids(["T1574.002", "T1666", "T1059.001"], 10)
    assert result.observed == ("T1574.001", "T1059.001")
    assert "new in ATT&CK v18.1" in result.ignored["T1666"]
    assert len(result.predictions) == 10
    for p in result.predictions:  # every ID, name and tactic is v18.1's
        entry = v18.techniques[p.technique]
        assert entry.status == "active" and (p.name, p.tactics) == (entry.name, entry.tactics)
    assert [c["tactic"] for c in in_v18.matrix()] == list(v18.tactic_order)


def test_the_same_forecast_in_either_release_where_ids_agree(in_v18):
    plain = Forecaster.load()
    ours = [p.technique for p in plain.from_ids(["T1059.001", "T1105"], 20).predictions]
    theirs = [p.technique for p in in_v18.from_ids(["T1059.001", "T1105"], 20).predictions]
    # v18.1 keeps every forecast ID but T1574.002 (now T1574.001): the order is the model's
    assert theirs == [("T1574.001" if t == "T1574.002" else t) for t in ours][: len(theirs)]


def test_unseen_techniques_serve_in_the_users_release_and_are_never_given_back(in_v18):
    seen = ["T1578", "T1578.001", "T1578.002", "T1578.003"]
    unseen = [p for p in in_v18.from_ids(seen, 100).predictions if p.unseen]
    assert unseen and unseen[0].technique == "T1578.004"  # in v15.0 and v18.1, in no report
    assert unseen[0].name == "Revert Cloud Instance"
    result = in_v18.from_ids(["T1578", "T1578.004"], 100)
    assert "in no training report" in result.ignored["T1578.004"]
    assert "T1578.004" not in {p.technique for p in result.predictions}
