import gzip
import json

import pytest

from recommenders.attack import load_catalog
from recommenders.errors import DataError
from tests.conftest import make_bundle


def test_catalog_statuses_tactics_and_parents(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(make_bundle()))
    catalog = load_catalog(path)
    assert catalog.tactic_order[0] == "initial-access"
    assert catalog.status("T1001") == "active"
    assert catalog.status("T1098") == "revoked"
    assert catalog.techniques["T1098"].revoked_by == "T1004"
    assert catalog.status("T1099") == "deprecated"
    assert catalog.status("T1999") == "unknown"
    assert catalog.status("AML.T0001") == "not-enterprise"
    assert catalog.techniques["T1003.001"].parent == "T1003"
    # Tactics sorted in kill-chain order, whatever the bundle's order.
    assert catalog.techniques["T1005"].tactics == ("execution", "persistence")
    assert "T1098" not in catalog.active_ids()


def test_gzip_and_plain_read_alike(tmp_path):
    plain, packed = tmp_path / "b.json", tmp_path / "b.json.gz"
    plain.write_text(json.dumps(make_bundle()))
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert load_catalog(plain).techniques == load_catalog(packed).techniques


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"objects": [', "not valid JSON"),
        ('{"type": "bundle"}', "objects"),
        ('{"objects": []}', "x-mitre-matrix"),
    ],
)
def test_bad_bundles_name_file_and_fix(tmp_path, content, needle):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DataError, match=needle) as info:
        load_catalog(path)
    assert "bad.json" in str(info.value) and "Fix:" in str(info.value)


def test_real_catalogs(real_data_dir, tmp_path):
    v15 = load_catalog(real_data_dir / "attack" / "enterprise-attack-15.0.json")
    v18 = load_catalog(real_data_dir / "attack" / "enterprise-attack-18.1.json.gz")
    assert len(v15.tactic_order) == 14 and v15.tactic_order[0] == "reconnaissance"
    assert v15.status("T1059.001") == "active"
    # Revoked between releases: v18.1 revokes T1574.002 (DLL side-loading).
    assert v15.status("T1574.002") == "active" and v18.status("T1574.002") == "revoked"
    # mitre/cti bundles carry no release field: the name gives it, checked against the objects.
    assert (v15.version, v18.version) == ("15.0", "18.1")
    v18_as_15 = tmp_path / "enterprise-attack-15.0.json.gz"
    v18_as_15.symlink_to(real_data_dir / "attack" / "enterprise-attack-18.1.json.gz")
    with pytest.raises(DataError, match=r"after 15\.0"):
        load_catalog(v18_as_15)


def _with(objects_extra=(), modified=None):
    bundle = make_bundle()
    if modified is not None:
        for obj in bundle["objects"]:
            obj["modified"] = modified
    bundle["objects"] += list(objects_extra)
    return bundle


COLLECTION_18_1 = {"type": "x-mitre-collection", "id": "x-mitre-collection--1"}
COLLECTION_18_1["x_mitre_version"] = "18.1"


def test_release_comes_from_the_collection_object(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_with([COLLECTION_18_1])))
    catalog = load_catalog(path)
    assert (catalog.version, catalog.version_source) == ("18.1", "x-mitre-collection")


def test_collection_contradicting_the_file_name_is_refused(tmp_path):
    path = tmp_path / "enterprise-attack-15.0.json"
    path.write_text(json.dumps(_with([COLLECTION_18_1])))
    with pytest.raises(DataError, match=r"ATT&CK 18\.1 but its file name says 15\.0") as info:
        load_catalog(path)
    assert "enterprise-attack-18.1.json" in info.value.fix


def test_bundle_newer_than_its_name_is_refused(tmp_path):
    """v18.1 (no collection object, as mitre/cti ships it) saved as enterprise-attack-15.0.json."""
    path = tmp_path / "enterprise-attack-15.0.json"
    path.write_text(json.dumps(_with(modified="2025-11-12T22:03:39.105Z")))
    with pytest.raises(DataError, match=r"2025-11-12, after 15\.0") as info:
        load_catalog(path)
    assert "enterprise-attack-15.0.json" in str(info.value) and info.value.field == "modified"


def test_name_gives_the_release_when_the_bundle_agrees(tmp_path, caplog):
    path = tmp_path / "enterprise-attack-15.0.json.gz"
    path.write_bytes(gzip.compress(json.dumps(_with(modified="2024-04-22T13:50:14.321Z")).encode()))
    catalog = load_catalog(path)
    assert (catalog.version, catalog.version_source) == ("15.0", "file name")
    assert not caplog.records
    older = tmp_path / "enterprise-attack-18.1.json"
    older.write_text(json.dumps(_with(modified="2024-04-22T13:50:14.321Z")))
    assert load_catalog(older).version == "18.1"
    assert "predates" in caplog.text and "enterprise-attack-18.1.json" in caplog.text


def test_unnamed_bundle_has_no_release(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(make_bundle()))
    assert load_catalog(path).version is None


def test_non_object_entries_name_their_index(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"type": "bundle", "objects": [1, 2]}))
    with pytest.raises(DataError) as info:
        load_catalog(path)
    assert info.value.field == "objects[0]" and "bad.json" in str(info.value)
