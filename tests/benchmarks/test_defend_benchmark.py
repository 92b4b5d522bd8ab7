"""The Defend benchmark's interval for flows: over incidents, not over repeated episodes."""

import math

import numpy as np
from scipy.stats import t

from benchmarks.defend import by_incident


def test_episodes_of_one_incident_count_once():
    campaigns = ["FIN13 Case 1", "FIN13 Case 2", "SearchAwesome Adware", "Kaseya (TA1)", "Kaseya"]
    differences = np.array([1.0, 3.0, 0.0, -1.0, 0.0])
    mean, half, incidents = by_incident(differences, campaigns)
    per_incident = np.array([2.0, 0.0, -0.5])  # FIN13, SearchAwesome, Kaseya
    assert incidents == 3 and math.isclose(mean, per_incident.mean())
    expected = t.ppf(0.975, 2) * per_incident.std(ddof=1) / math.sqrt(3)
    assert math.isclose(half, expected)
    # a thousand replays of the same two incidents are still two incidents
    repeated = by_incident(np.tile([1.0, -1.0], 500), ["A (x)", "B"] * 500)
    assert repeated[2] == 2 and repeated[1] > 1.0


def test_learned_defenders_never_train_on_the_tables_evaluation_data():
    from benchmarks.defend import FLOW, training_kwargs

    flow = {"model": "m", "data_dir": "d", "flow_split": "test"}
    assert training_kwargs(FLOW, flow) == {"model": "m", "data_dir": "d", "flow_split": "train"}
    replay = training_kwargs("TIE-DefendReplay-v0", {"data_dir": "d"})
    assert replay == {"data_dir": "d", "split": "train"}  # the table replays the test reports
    assert flow["flow_split"] == "test"  # the evaluation env's keywords are left as they were


def test_t_interval_over_seeds():
    from benchmarks.defend import t_interval

    mean, half = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and math.isclose(half, t.ppf(0.975, 2) * 1.0 / math.sqrt(3))
