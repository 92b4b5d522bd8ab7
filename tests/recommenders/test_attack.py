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


def test_real_catalogs(real_data_dir):
    v15 = load_catalog(real_data_dir / "attack" / "enterprise-attack-15.0.json")
    v18 = load_catalog(real_data_dir / "attack" / "enterprise-attack-18.1.json.gz")
    assert len(v15.tactic_order) == 14 and v15.tactic_order[0] == "reconnaissance"
    assert v15.status("T1059.001") == "active"
    # Revoked between releases: v18.1 revokes T1574.002 (DLL side-loading).
    assert v15.status("T1574.002") == "active" and v18.status("T1574.002") == "revoked"
