import json

import numpy as np

from recommenders.artifacts import resolve_model_dir
from recommenders.attack import load_catalog
from recommenders.data import DEFAULT_ATTACK
from recommenders.text.corpus import load_text_corpus, match_key
from recommenders.text.mapper import TextMapper
from recommenders.text.train import run
from tests.conftest import make_bundle

WORDS = {
    "T1001": "phishing lure attachment",
    "T1003": "shell command interpreter",
    "T1007": "scan network discovery",
}
REPORTS = 14


def _multi_title(doc: int) -> str:
    """A report's title as `multi_label.json` writes it: punctuation stripped."""
    return f"Report {doc} APTs Lures Shells"


def _single_title(doc: int) -> str:
    """The same report as `single_label.json` writes it: punctuation, case and spacing kept."""
    return f"REPORT {doc}:  APT\u2019s Lures, Shells!"


def _tram_fixture(root):
    rng = np.random.default_rng(0)
    (root / "tram").mkdir()
    (root / "attack").mkdir()
    (root / "attack" / "enterprise-attack-15.0.json").write_text(json.dumps(make_bundle()))
    multi = []
    for doc in range(REPORTS):
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
                    "doc_title": _multi_title(doc),
                }
            )
    (root / "tram" / "multi_label.json").write_text(json.dumps(multi))
    # every report has a single-label sentence under its other spelling, and a bootstrap
    # sentence that repeats one of its sentences up to case and punctuation
    single = [
        {"text": f"a phishing attachment in wave {doc}", "label": "T1001", "doc_title": title}
        for doc, title in enumerate(map(_single_title, range(REPORTS)))
    ]
    (root / "tram" / "single_label.json").write_text(json.dumps(single))
    repeats = [r for r in multi if r["labels"]][::9]
    bootstrap = [
        {
            "text": r["sentence"].upper().rstrip("."),
            "disposition": "accept",
            "mappings": [{"attack_id": r["labels"][0]}],
        }
        for r in repeats
    ]
    bootstrap.append(
        {"text": "network scan", "disposition": "accept", "mappings": [{"attack_id": "T1007"}]}
    )
    (root / "tram" / "bootstrap-training-data.json").write_text(
        json.dumps({"sentences": bootstrap})
    )


def _run(root, monkeypatch=None):
    """Run the pipeline on the fixture; with `monkeypatch`, also return each fit's sentences."""
    fits = []
    if monkeypatch is not None:
        fit = TextMapper.fit

        def recording(self, sentences, supported_labels=None):
            fits.append(list(sentences))
            return fit(self, sentences, supported_labels)

        monkeypatch.setattr(TextMapper, "fit", recording)
    run_dir = run(
        str(root), str(root / "out"), seed=0, regularization_c=4.0, test_docs=3, val_docs=3
    )
    return run_dir, fits


def test_match_key_joins_the_two_spellings_of_a_title():
    assert match_key(_single_title(3)) == match_key(_multi_title(3)) == "report3aptsluresshells"
    assert match_key(_single_title(1)) != match_key(_multi_title(10))
    assert (
        match_key("Pack it Secretly: Earth Preta's  Updated") == "packitsecretlyearthpretasupdated"
    )


def test_text_training_pipeline_writes_metrics_and_model(tmp_path):
    _tram_fixture(tmp_path)
    run_dir, _ = _run(tmp_path)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["document"]["micro_f1"] <= 1.0 and metrics["document"]["documents"] == 3
    assert metrics["document"]["micro_f1"] > 0.5  # the fixture is easy: keywords name the technique
    assert len(set(metrics["test_reports"])) == 3
    assert "| document" in (run_dir / "summary.md").read_text()
    assert "calibration error" in (run_dir / "summary.md").read_text()
    assert (run_dir / "reliability.png").read_bytes().startswith(b"\x89PNG")
    ece = metrics["calibration"]["ece"]
    assert set(ece) >= {"validation/all/raw", "test/supported/calibrated"}
    assert all(0.0 <= value <= 1.0 for value in ece.values())
    mapper = TextMapper.load(resolve_model_dir(tmp_path / "out"))
    assert mapper.calibration is not None
    assert list(mapper.calibration.supported) == metrics["calibration"]["curves"]["supported"]
    assert (
        "T1001" in mapper.map_text("They sent a phishing lure with an attachment.").technique_ids()
    )


def test_no_fit_before_the_test_sees_a_held_out_report(tmp_path, monkeypatch):
    """The threshold selector trains on its fit reports only, and the refit on the train reports
    only: no other sentence belongs to a report outside them (however `single_label.json` spells
    its title) or repeats one of their sentences up to case and punctuation (bootstrap)."""
    _tram_fixture(tmp_path)
    run_dir, fits = _run(tmp_path, monkeypatch)
    test = {
        match_key(t) for t in json.loads((run_dir / "metrics.json").read_text())["test_reports"]
    }
    corpus = load_text_corpus(tmp_path, load_catalog(tmp_path / DEFAULT_ATTACK))
    reports = {match_key(t) for t in corpus.documents()}
    report_sentences = set(corpus.tram_multi)
    selector, refit, _final = fits
    for sentences, fit_reports in ((selector, REPORTS - 6), (refit, REPORTS - 3)):
        fitted = {match_key(s.document) for s in sentences if s in report_sentences}
        held = reports - fitted
        assert len(fitted) == fit_reports and test <= held
        held_texts = {match_key(s.text) for s in corpus.sentences_of(held)}
        leaks = [
            s
            for s in sentences
            if s not in report_sentences
            and (
                (s.document is not None and match_key(s.document) in held)
                or match_key(s.text) in held_texts
            )
        ]
        assert leaks == []
