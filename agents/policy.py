"""A trained stable-baselines3 policy behind the same `act` interface as the baselines.

Policies are trained on the single-guess env (Discrete(n)); their action probabilities rank every
technique, so the same policy also plays the score-vector envs (its top-k is its forecast).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.baselines import Agent

ALGORITHMS = ("ppo", "a2c", "dqn", "maskable_ppo")


def load_algorithm(algorithm: str, path: str | Path, device: str = "cpu") -> Any:
    """Load an SB3 zip; SB3 itself reads weights with torch's weights-only loader."""
    if algorithm == "maskable_ppo":
        from sb3_contrib import MaskablePPO as cls
    else:
        import stable_baselines3

        cls = getattr(stable_baselines3, algorithm.upper())
    return cls.load(str(path), device=device)


class PolicyAgent(Agent):
    """Ranks techniques by the policy's action preferences (probabilities, or Q-values for DQN)."""

    def __init__(self, model: Any, n_techniques: int, action_mode: str = "scores") -> None:
        super().__init__(n_techniques, action_mode)
        self.model = model

    @torch.no_grad()
    def preferences(self, observation: np.ndarray) -> np.ndarray:
        policy = self.model.policy
        obs_tensor, _ = policy.obs_to_tensor(observation)
        if hasattr(policy, "q_net"):
            return policy.q_net(obs_tensor)[0].cpu().numpy()
        return policy.get_distribution(obs_tensor).distribution.logits[0].cpu().numpy()

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray | int:
        return self._emit(self.preferences(observation), observation[: self.n_techniques] > 0)
