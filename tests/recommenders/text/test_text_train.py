import json

import numpy as np

from recommenders.artifacts import resolve_model_dir
from recommenders.text.mapper import TextMapper
from recommenders.text.train import run
from tests.conftest import make_bundle

WORDS = {
    "T1001": "phishing lure attachment",
    "T1003": "shell command interpreter",
    "T1007": "scan network discovery",
}


def _tram_fixture(root):
    rng = np.random.default_rng(0)
    (root / "tram").mkdir()
    (root / "attack").mkdir()
    (root / "attack" / "enterprise-attack-15.0.json").write_text(json.dumps(make_bundle()))
    multi = []
    for doc in range(14):
        for i in range(12):
            technique = list(WORDS)[(doc + i) % 4] if (doc + i) % 4 < 3 else None
            words = [
                *rng.choice(["the", "actor", "later", "host", "team"], 5),
                *(WORDS[technique].split() if technique else []),
            ]
            multi.append(
                {
                    "sentence": " ".join(words) + ".",
                    "labels": [technique] if technique else [],
                    "doc_title": f"doc{doc}",
                }
            )
    (root / "tram" / "multi_label.json").write_text(json.dumps(multi))
    (root / "tram" / "single_label.json").write_text(
        json.dumps([{"text": "a phishing attachment", "label": "T1001", "doc_title": "doc0"}])
    )
    (root / "tram" / "bootstrap-training-data.json").write_text(
        json.dumps(
            {
                "sentences": [
                    {
                        "text": "network scan",
                        "disposition": "accept",
                        "mappings": [{"attack_id": "T1007"}],
                    }
                ]
            }
        )
    )


def test_text_training_pipeline_writes_metrics_and_model(tmp_path):
    _tram_fixture(tmp_path)
    run_dir = run(
        str(tmp_path), str(tmp_path / "out"), seed=0, regularization_c=4.0, test_docs=3, val_docs=3
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["document"]["micro_f1"] <= 1.0 and metrics["document"]["documents"] == 3
    assert metrics["document"]["micro_f1"] > 0.5  # the fixture is easy: keywords name the technique
    assert len(set(metrics["test_reports"])) == 3
    assert "| document" in (run_dir / "summary.md").read_text()
    mapper = TextMapper.load(resolve_model_dir(tmp_path / "out"))
    assert (
        "T1001" in mapper.map_text("They sent a phishing lure with an attachment.").technique_ids()
    )
