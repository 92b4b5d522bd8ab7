"""Gymnasium environments in which a trained technique recommender plays the adversary.

Importing the package registers the environments (Gymnasium 1.x has no plugin entry points);
`gym.make("tie_gym:TIE-Forecast-v0")` imports it for you.
"""

from gymnasium.envs.registration import register, registry

_MAX_STEPS = 100

# id → keyword arguments (presets are registration kwargs, not subclasses).
PRESETS: dict[str, dict[str, object]] = {
    "TIE-Forecast-v0": {},
    "TIE-ForecastGuess-v0": {"action_mode": "guess"},
    "TIE-ForecastReplay-v0": {"campaign": "replay", "order": "killchain"},
    "TIE-ForecastReplayGuess-v0": {
        "campaign": "replay",
        "order": "killchain",
        "action_mode": "guess",
    },
    # Training twin of the replay ids: the reports the model trained on, never its test reports.
    "TIE-ForecastReplayTrainGuess-v0": {
        "campaign": "replay",
        "order": "killchain",
        "action_mode": "guess",
        "split": "train",
    },
    # The single-guess env with TIE's forecast (the model's fold-in scores) in the observation.
    "TIE-ForecastGuessFeatures-v0": {"action_mode": "guess", "features": "recommender"},
    "TIE-ForecastReplayTrainGuessFeatures-v0": {
        "campaign": "replay",
        "order": "killchain",
        "action_mode": "guess",
        "split": "train",
        "features": "recommender",
    },
    # Harder: a budget of k=3 scored by NDCG, kill-chain reveal order, a less predictable adversary
    # (1.4 × the default temperature).
    "TIE-ForecastHard-v0": {"k": 3, "order": "killchain", "temperature": 2.3, "reward": "ndcg"},
    # Real order: Attack Flow incidents replayed in a seeded topological order of their DAG
    # (needs TIE_DATA_DIR or flows=); info carries the frontier (what may come next).
    "TIE-ForecastFlow-v0": {"campaign": "flow"},
    "TIE-ForecastFlowGuess-v0": {"campaign": "flow", "action_mode": "guess"},
}

# Sequential defence with a detection budget and delayed reward (native vector twin: vector.py).
DEFEND_PRESETS: dict[str, dict[str, object]] = {
    "TIE-Defend-v0": {},
    "TIE-DefendReplay-v0": {"campaign": "replay", "order": "killchain"},
    "TIE-DefendFlow-v0": {"campaign": "flow"},
    # A detected technique is, with probability 0.5, swapped for a likely one of the same tactic.
    "TIE-DefendEvasive-v0": {"adversary": "evasive"},
}

for _id, _kwargs in PRESETS.items():
    if _id not in registry:
        register(
            id=_id,
            entry_point="tie_gym.envs.forecast:ForecastEnv",
            vector_entry_point="tie_gym.vector:ForecastVectorEnv",
            max_episode_steps=_MAX_STEPS,
            kwargs=dict(_kwargs),
        )
for _id, _kwargs in DEFEND_PRESETS.items():
    if _id not in registry:
        register(
            id=_id,
            entry_point="tie_gym.envs.defend:DefendEnv",
            vector_entry_point="tie_gym.vector:DefendVectorEnv",
            max_episode_steps=_MAX_STEPS,
            kwargs=dict(_kwargs),
        )

__all__ = ["DEFEND_PRESETS", "PRESETS"]
