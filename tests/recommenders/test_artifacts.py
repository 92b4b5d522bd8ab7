import json
import pickle

import numpy as np
import pytest

from recommenders.artifacts import (
    DEFAULT_MODEL_DIR,
    WEIGHTS,
    ModelManifest,
    load_model,
    resolve_model_dir,
    save_model,
    write_best_pointer,
)
from recommenders.errors import DataError
from recommenders.models import make_model

VOCAB = tuple(f"T{1000 + i}" for i in range(12))


@pytest.fixture
def saved(tmp_path, block_matrix):
    model = make_model("wals", factors=4, epochs=3).fit(block_matrix, seed=0)
    save_model(model, tmp_path / "m", ModelManifest(VOCAB, seed=0))
    return model, tmp_path / "m"


def test_round_trip(saved, block_matrix):
    model, path = saved
    loaded, manifest = load_model(path, expected_vocabulary=VOCAB)
    assert manifest.family == "wals" and manifest.technique_ids == VOCAB and manifest.seed == 0
    np.testing.assert_allclose(
        loaded.score(block_matrix[:3]), model.score(block_matrix[:3]), rtol=1e-6
    )


def test_best_pointer_is_followed(saved, tmp_path):
    _, path = saved
    write_best_pointer(tmp_path, path)
    assert resolve_model_dir(tmp_path) == path.resolve()


def test_best_pointer_may_not_leave_its_folder(saved, tmp_path):
    """A downloaded run folder must not point the loader at a model elsewhere on the disk."""
    _, path = saved
    run = tmp_path / "run"
    run.mkdir()
    for target in (str(path.resolve()), "../m"):
        (run / "best.json").write_text(json.dumps({"path": target}))
        with pytest.raises(DataError, match="leaves the folder"):
            resolve_model_dir(run)


def test_truncated_weights_refused(saved):
    _, path = saved
    blob = (path / WEIGHTS).read_bytes()
    (path / WEIGHTS).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="checksum"):
        load_model(path)


def test_other_vocabulary_refused(saved):
    _, path = saved
    other = (*VOCAB[:-1], "T9999")
    with pytest.raises(DataError, match="another technique vocabulary") as info:
        load_model(path, expected_vocabulary=other)
    assert "T9999" in str(info.value)


def test_format_version_and_family_checked(saved):
    _, path = saved
    manifest = json.loads((path / "model.json").read_text())
    (path / "model.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(DataError, match="format_version"):
        load_model(path)
    (path / "model.json").write_text(json.dumps({**manifest, "family": "os.system"}))
    with pytest.raises(DataError, match="unknown family"):
        load_model(path)


class _Boom:
    def __reduce__(self):
        return (open, ("/tmp/tie-gym-pwned-marker", "w"))


def test_loading_never_executes_code(saved, tmp_path):
    """A pickle bomb in place of the weights, with a matching checksum, is refused unexecuted."""
    import hashlib

    _, path = saved
    marker = tmp_path.parent / "tie-gym-pwned-marker"
    payload = pickle.dumps(_Boom()).replace(b"/tmp/tie-gym-pwned-marker", str(marker).encode())
    (path / WEIGHTS).write_bytes(payload)
    manifest = json.loads((path / "model.json").read_text())
    manifest["weights_sha256"] = hashlib.sha256(payload).hexdigest()
    (path / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="safetensors"):
        load_model(path)
    assert not marker.exists()


def test_missing_artifact_explains(tmp_path):
    with pytest.raises(DataError, match=r"recommenders\.train"):
        load_model(tmp_path)


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_weights_refused(tmp_path, block_matrix, bad):
    """A diverged model (saved with a valid checksum) must not load and score as NaN."""
    model = make_model("wals", factors=4, epochs=3).fit(block_matrix, seed=0)
    model.item_factors[2, 1] = bad
    save_model(model, tmp_path / "m", ModelManifest(VOCAB))
    with pytest.raises(DataError) as info:
        load_model(tmp_path / "m")
    assert info.value.path.endswith(WEIGHTS) and info.value.field == "item_factors"
    assert "1 non-finite" in info.value.problem


def test_the_typed_manifest_reads_and_writes_the_shipped_model_json_unchanged():
    """One reader and writer: every field training wrote survives a read and a write."""
    path = DEFAULT_MODEL_DIR / "model.json"
    raw = json.loads(path.read_text())
    manifest = ModelManifest.from_json(raw, path)
    assert manifest.to_json() == raw
    assert manifest.split.test_report_ids and manifest.data.corpus_sha256
    assert len(manifest.corpus_stats.technique_report_counts) == len(manifest.technique_ids)


@pytest.mark.parametrize(
    ("section", "value", "field"),
    [
        ("corpus_stats", {"report_size_counts": [0, 1]}, "corpus_stats.technique_report_counts"),
        ("corpus_stats", None, "corpus_stats"),
        ("split", None, "split"),
        (
            "corpus_stats",
            {"report_size_counts": [0, 1], "technique_report_counts": [1, 2]},
            "corpus_stats.technique_report_counts",
        ),
        ("data", {"corpus": "x.json"}, "data.corpus"),
        ("split", [], "split"),
        ("technique_ids", "T1001", "technique_ids"),
    ],
)
def test_a_malformed_manifest_section_names_the_file(saved, section, value, field):
    _, path = saved
    raw = json.loads((path / "model.json").read_text())
    (path / "model.json").write_text(json.dumps({**raw, section: value}))
    with pytest.raises(DataError) as info:
        load_model(path)
    assert info.value.path.endswith("model.json") and info.value.field == field
