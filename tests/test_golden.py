"""Behaviour pinned by `tests/golden/record.py`: a refactor must leave these exactly as they were."""

import json

import pytest

from tests.golden import record

GOLDEN = json.loads(record.GOLDEN.read_text())


@pytest.mark.parametrize("env_id", sorted(GOLDEN["episodes"]))
def test_seeded_episodes_are_unchanged(env_id, request):
    if record.needs_data(env_id):
        request.getfixturevalue("real_data_dir")
    assert record.episodes(env_id) == GOLDEN["episodes"][env_id]


def test_every_registered_id_is_pinned():
    assert set(record.registered_ids(with_replay=True)) == set(GOLDEN["episodes"])


def test_fold_ins_are_unchanged():
    assert record.fold_ins() == GOLDEN["fold_in"]


def test_numpy_sampler_campaigns_are_unchanged():
    assert record.sampler_paths() == GOLDEN["sampler_paths"]


def test_training_metrics_are_unchanged():
    assert record.metrics() == GOLDEN["metrics"]
