import json

import numpy as np
import pytest

from recommenders.artifacts import DEFAULT_MODEL_DIR, WEIGHTS, load_model
from recommenders.errors import DataError
from recommenders.text.calibration import Calibration
from recommenders.text.corpus import Sentence, split_sentences
from recommenders.text.mapper import MAX_TEXT_CHARS, Evidence, TextMapper, as_text

KEYWORDS = {
    "T1003.001": "mimikatz lsass dump",
    "T1053.005": "schtasks scheduled task",
    "T1566.001": "attachment phishing email",
}
FILLER = [
    "the",
    "actor",
    "then",
    "moved",
    "quickly",
    "across",
    "several",
    "hosts",
    "in",
    "the",
    "network",
]


@pytest.fixture(scope="module")
def training_sentences():
    rng = np.random.default_rng(0)
    sentences = []
    for i in range(600):
        technique = list(KEYWORDS)[i % 4] if i % 4 < 3 else None
        words = list(rng.choice(FILLER, 6))
        if technique:
            words += KEYWORDS[technique].split()[: int(rng.integers(1, 4))]
        rng.shuffle(words)
        sentences.append(Sentence(" ".join(words), (technique,) if technique else ()))
    return sentences


@pytest.fixture(scope="module")
def mapper(training_sentences):
    return TextMapper(threshold=0.5).fit(training_sentences)


def test_finds_techniques_with_evidence(mapper):
    mapping = mapper.map_text(
        "The operators ran mimikatz against lsass. Later a schtasks job kept them in. Nothing else."
    )
    found = mapping.technique_ids()
    assert set(found) >= {"T1003.001", "T1053.005"} and "T1566.001" not in found
    hit = next(h for h in mapping.techniques if h.technique == "T1003.001")
    assert "mimikatz" in hit.evidence[0].sentence and any(
        term in ("mimikatz", "lsass") for term, _ in hit.evidence[0].terms
    )


def test_explicit_technique_ids_are_reported(mapper):
    hits = {
        h.technique: h
        for h in mapper.map_text("Observed T1021.001 and T1566.001 in the logs.").techniques
    }
    assert hits["T1021.001"].explicit and hits["T1021.001"].confidence == 1.0


def test_numpy_features_equal_sklearn(mapper):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["mimikatz dumped lsass", "a scheduled task", "unrelated words only"]
    ours = mapper.features(texts).toarray()
    reference = TfidfVectorizer(
        ngram_range=(1, 2),
        vocabulary=mapper.vocabulary,
        sublinear_tf=True,
        token_pattern=r"(?u)\b\w[\w\-]*\w\b|\b\w\b",
        strip_accents="unicode",
    )
    reference.fit(texts)
    reference.idf_ = mapper.idf
    np.testing.assert_allclose(ours, reference.transform(texts).toarray(), rtol=1e-5, atol=1e-6)


def test_save_load_round_trip_and_checksum(mapper, tmp_path):
    mapper.save(tmp_path / "m")
    loaded = TextMapper.load(tmp_path / "m")
    texts = ["mimikatz on lsass", "phishing attachment"]
    np.testing.assert_allclose(loaded.predict_proba(texts), mapper.predict_proba(texts), rtol=1e-6)
    weights = tmp_path / "m" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(DataError, match="checksum"):
        TextMapper.load(tmp_path / "m")


@pytest.mark.parametrize(
    "text", ["", "   \n  ", "1234 5678", "The weather was pleasant and the team had lunch."]
)
def test_empty_or_irrelevant_text_maps_to_nothing(mapper, text):
    assert mapper.map_text(text).techniques == []


def test_non_utf8_bytes_are_replaced_not_fatal(mapper):
    mapping = mapper.map_text(b"ran mimikatz \xff\xfe on lsass")
    assert "T1003.001" in mapping.technique_ids()


def test_ten_megabyte_text_refused_with_fix(mapper):
    ten_megabytes = "mimikatz " * (10 * 1024 * 1024 // 9)
    assert len(ten_megabytes) > MAX_TEXT_CHARS
    with pytest.raises(ValueError, match="split it into sections"):
        mapper.map_text(ten_megabytes)


def test_sentence_splitter():
    assert split_sentences("First one. Second one!\nThird") == [
        "First one.",
        "Second one!",
        "Third",
    ]


def test_pruning_keeps_predictions(training_sentences):
    pruned = TextMapper(prune=0.05).fit(training_sentences)
    full = TextMapper(prune=0.0).fit(training_sentences)
    texts = [
        "mimikatz dumped lsass memory",
        "phishing email with an attachment",
        "nothing relevant here",
    ]
    assert pruned.weights.nnz < full.weights.nnz
    np.testing.assert_allclose(pruned.predict_proba(texts), full.predict_proba(texts), atol=0.05)


def test_unsupported_techniques_need_the_higher_bar_and_it_is_saved(training_sentences, tmp_path):
    text = "The operators ran mimikatz against lsass. Later a schtasks job kept them in."
    loose = TextMapper(threshold=0.5).fit(training_sentences, supported_labels={"T1053.005"})
    assert set(loose.map_text(text).technique_ids()) == {"T1003.001", "T1053.005"}
    probability = loose.predict_proba(text.split(". ")[:1])[0][loose.labels.index("T1003.001")]
    bar = (1.0 + float(probability)) / 2  # above the unsupported technique's confidence
    strict = TextMapper(threshold=0.5, unsupported_threshold=bar).fit(
        training_sentences, supported_labels={"T1053.005"}
    )
    assert strict.map_text(text).technique_ids() == ["T1053.005"]
    assert "T1003.001" in strict.map_text(text, unsupported_threshold=0.5).technique_ids()
    reloaded = TextMapper.load(strict.save(tmp_path / "m"))
    assert reloaded.supported_labels == {"T1053.005"} and reloaded.unsupported_threshold == bar
    assert reloaded.map_text(text).technique_ids() == ["T1053.005"]


def test_written_technique_ids_can_be_left_out(mapper):
    text = "Observed T1021.001 in the logs."
    assert "T1021.001" in mapper.map_text(text).technique_ids()
    assert mapper.map_text(text, report_mentions=False).technique_ids() == []


def test_binary_input_is_refused_and_near_text_is_not(mapper):
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="looks like binary data"):
        mapper.map_text(rng.integers(1, 256, 2000, dtype=np.uint8).tobytes())  # no NUL byte
    with pytest.raises(DataError, match="NUL"):
        mapper.map_text("ran mimikatz\x00 on lsass")
    latin1 = "Le résumé décrit mimikatz exécuté sur lsass à Genève.".encode("latin-1")
    assert "T1003.001" in mapper.map_text(latin1).technique_ids()
    utf16 = "They ran mimikatz on lsass.".encode("utf-16")  # with its byte-order mark
    assert "T1003.001" in mapper.map_text(utf16).technique_ids()


def test_as_text_names_the_source():
    with pytest.raises(
        DataError, match=r"^dump\.bin: looks like binary data.*Fix: pass plain text"
    ):
        as_text(b"\x00\x01\x02", "dump.bin")
    assert as_text("\ufeffplain".encode()) == "plain"


@pytest.mark.parametrize(
    ("sentence", "shown"),
    [
        ("short one", "short one"),
        ("alpha beta gamma delta", "alpha beta…"),
        ("alpha, beta gamma", "alpha, beta…"),  # the cut falls on a word boundary
        ("alphabet, beta gamma", "alphabet…"),
        ("x" * 30, "x" * 11 + "…"),  # one long word is cut inside, still with the ellipsis
    ],
)
def test_evidence_excerpt_cuts_at_a_word_boundary(sentence, shown):
    assert Evidence(sentence, 0.9, []).excerpt(width=12) == shown


def test_tampered_weights_are_refused_with_the_artifact_wording(mapper, tmp_path):
    mapper.save(tmp_path / "m")
    weights = tmp_path / "m" / WEIGHTS
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 0xFF  # same length, one byte flipped
    weights.write_bytes(bytes(blob))
    with pytest.raises(DataError) as info:
        TextMapper.load(tmp_path / "m")
    assert info.value.path == str(weights) and info.value.field == "weights_sha256"
    assert info.value.problem == "checksum does not match the manifest (truncated or modified)"
    weights.unlink()
    with pytest.raises(DataError, match="weights file missing"):
        TextMapper.load(tmp_path / "m")


def test_non_finite_weights_are_refused(mapper, tmp_path):
    """A NaN saved with a valid checksum must not load and map every sentence to nothing."""
    diverged = TextMapper.load(mapper.save(tmp_path / "m"))
    diverged.idf = diverged.idf.copy()
    diverged.idf[3] = np.nan
    diverged.save(tmp_path / "nan")
    with pytest.raises(DataError) as info:
        TextMapper.load(tmp_path / "nan")
    assert info.value.path.endswith(WEIGHTS) and info.value.field == "idf"
    assert "1 non-finite" in info.value.problem


def test_other_format_version_is_refused(mapper, tmp_path):
    manifest_path = mapper.save(tmp_path / "m") / "model.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(DataError) as info:
        TextMapper.load(tmp_path / "m")
    assert info.value.field == "format_version" and "this package reads 1" in info.value.problem


def test_a_mapper_and_a_recommender_refuse_each_others_folders(mapper, tmp_path):
    with pytest.raises(DataError, match="not a text mapper") as info:
        TextMapper.load(DEFAULT_MODEL_DIR)
    assert info.value.field == "kind"
    with pytest.raises(DataError, match="not a recommender artifact") as info:
        load_model(mapper.save(tmp_path / "m"))
    assert info.value.field == "kind"


def test_shared_loads_each_folder_once(mapper, tmp_path):
    first, second = mapper.save(tmp_path / "a"), mapper.save(tmp_path / "b")
    shared = TextMapper.shared(first)
    assert TextMapper.shared(str(first)) is shared
    assert TextMapper.shared(tmp_path / "b" / ".." / "a") is shared
    other = TextMapper.shared(second)
    assert other is not shared and other.labels == shared.labels


def test_a_compressed_copy_scores_after_loading_as_before_saving(mapper, tmp_path):
    small = mapper.compressed(0.05)
    assert small.half and small.weights.nnz < mapper.weights.nnz
    small.save(tmp_path / "small")
    mapper.save(tmp_path / "full")
    loaded = TextMapper.load(tmp_path / "small")
    texts = ["they ran mimikatz on lsass", "schtasks created a task", "we had lunch"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), small.predict_proba(texts))
    size = {d: (tmp_path / d / "weights.safetensors").stat().st_size for d in ("small", "full")}
    assert size["small"] < size["full"]  # 3.2 vs 37 MB for the real mapper (text_mapper.md)
    with pytest.raises(ValueError, match="below the model's own"):
        mapper.compressed(mapper.prune / 2)


def test_the_shipped_mapper_reads_an_incident_summary_full_of_traps():
    from recommenders.text.mapper import SHIPPED_TEXT_MODEL

    shipped = TextMapper.load(SHIPPED_TEXT_MODEL)
    assert shipped.half and len(shipped.labels) > 500
    summary = (
        "Incident 2024-117. The attacker sent a spearphishing e-mail with a malicious attachment "
        "(invoice.docm). When opened, a macro launched PowerShell, which downloaded a loader "
        "from hxxps://cdn-update[.]net/a.ps1 and saved it as update.exe next to config.json. "
        "The loader created a scheduled task with schtasks for persistence. Agent version "
        "10.2.3.4 was running. They dumped credentials from LSASS memory with Mimikatz and "
        "connected over RDP to 198.51.100[.]23. \xff\xfe"
    ).encode("latin-1")
    found = shipped.map_text(summary)
    techniques = set(found.technique_ids())
    assert {"T1566.001", "T1053.005", "T1003.001"} <= techniques  # PowerShell here it misses
    iocs = {(i.kind, i.value) for i in found.iocs}
    assert ("domain", "cdn-update.net") in iocs or ("url", "https://cdn-update.net/a.ps1") in iocs
    assert ("ipv4", "198.51.100.23") in iocs
    values = {value for _, value in iocs}
    assert not values & {"10.2.3.4", "update.exe", "config.json", "invoice.docm"}


def test_confidences_go_through_the_calibration_which_is_saved(training_sentences, tmp_path):
    text = "The operators ran mimikatz against lsass."
    mapper = TextMapper(threshold=0.5).fit(training_sentences, supported_labels={"T1003.001"})
    column = mapper.labels.index("T1003.001")
    raw = float(mapper.predict_proba([text])[0, column])
    assert raw > 0.5 and mapper.map_text(text).technique_ids() == ["T1003.001"]
    # a curve that halves the odds and more: the same text now falls below the same bar
    mapper.calibration = Calibration((1.0, -np.log(raw / (1 - raw)) - 1.0), (1.0, 0.0))
    expected = float(mapper.calibration.apply(np.array([raw]), np.array([True]))[0])
    assert expected < 0.5
    assert mapper.map_text(text).technique_ids() == []
    hit = mapper.map_text(text, threshold=expected / 2).techniques[0]
    assert hit.confidence == pytest.approx(expected, abs=1e-6)
    reloaded = TextMapper.load(mapper.save(tmp_path / "m"))
    assert reloaded.calibration == mapper.calibration
    assert reloaded.map_text(text).technique_ids() == []
    assert mapper.compressed(0.05).calibration == mapper.calibration


def test_a_given_threshold_holds_for_every_technique_once_confidences_are_calibrated(
    training_sentences,
):
    mapper = TextMapper(threshold=0.5, unsupported_threshold=0.95).fit(
        training_sentences, supported_labels={"T1053.005"}
    )
    np.testing.assert_array_equal(np.unique(mapper.thresholds(0.2)), [0.2, 0.95])  # raw scores
    mapper.calibration = Calibration((1.0, 0.0), (1.0, 0.0))
    np.testing.assert_array_equal(np.unique(mapper.thresholds(0.2)), [0.2])
    np.testing.assert_array_equal(np.unique(mapper.thresholds()), [0.5, 0.95])  # the model's own
