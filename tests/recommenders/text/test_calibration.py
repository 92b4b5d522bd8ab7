"""Calibrated text-mapper confidences: the Platt curves, their storage, the reliability figures."""

import numpy as np
import pytest

from recommenders.errors import DataError
from recommenders.text.calibration import (
    Calibration,
    expected_calibration_error,
    reliability_bins,
)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _pairs(rng, n, slope, intercept):
    raw = rng.uniform(0.001, 0.999, n)
    truth = rng.random(n) < _sigmoid(slope * np.log(raw / (1 - raw)) + intercept)
    return raw, truth.astype(float)


def test_fit_recovers_each_groups_curve_and_removes_the_miscalibration():
    rng = np.random.default_rng(0)
    raw_s, truth_s = _pairs(rng, 20_000, 0.6, 0.4)
    raw_u, truth_u = _pairs(rng, 20_000, 0.8, -3.0)
    raw = np.concatenate([raw_s, raw_u])
    truth = np.concatenate([truth_s, truth_u])
    supported = np.arange(len(raw)) < len(raw_s)
    curves = Calibration.fit(raw, supported, truth)
    np.testing.assert_allclose(curves.supported, (0.6, 0.4), atol=0.06)
    np.testing.assert_allclose(curves.unsupported, (0.8, -3.0), atol=0.15)
    calibrated = curves.apply(raw, supported)
    assert expected_calibration_error(raw, truth) > 0.1
    assert expected_calibration_error(calibrated, truth) < 0.02


def test_a_group_with_one_outcome_shares_the_curve_of_all_pairs():
    rng = np.random.default_rng(1)
    raw, truth = _pairs(rng, 4_000, 1.0, 0.0)
    supported = np.ones(len(raw), dtype=bool)
    supported[:50] = False
    truth[:50] = 0.0  # the unsupported group has negatives only
    curves = Calibration.fit(raw, supported, truth)
    everything = Calibration.fit(raw, np.ones(len(raw), dtype=bool), truth)
    assert curves.unsupported == everything.supported
    assert curves.supported != curves.unsupported


def test_expected_calibration_error_by_hand():
    confidence = np.array([0.05, 0.05, 0.95, 0.95])
    truth = np.array([0.0, 1.0, 1.0, 1.0])
    assert reliability_bins(confidence, truth) == [(0.05, 0.5, 2), (0.95, 1.0, 2)]
    # bins: |0.05 - 0.5| for two pairs, |0.95 - 1| for two: (0.9 + 0.1) / 4
    assert expected_calibration_error(confidence, truth) == pytest.approx(0.25)


def test_json_round_trip_and_malformed_entries(tmp_path):
    curves = Calibration((0.5, 0.25), (0.75, -3.0))
    assert Calibration.from_json(curves.to_json(), tmp_path / "model.json") == curves
    assert Calibration.from_json(None, tmp_path / "model.json") is None
    for bad in (
        {"supported": [1.0, 0.0]},
        {"supported": [1, "x"], "unsupported": [1, 0]},
        {"supported": [1, float("nan")], "unsupported": [1, 0]},
        [1, 2],
        {"supported": "12", "unsupported": "34"},
        {"supported": [True, 0], "unsupported": [1, 0]},
        {"supported": [1e300, 0], "unsupported": [1, 0]},
    ):
        with pytest.raises(DataError, match=r"calibration.*retrain"):
            Calibration.from_json(bad, tmp_path / "model.json")
