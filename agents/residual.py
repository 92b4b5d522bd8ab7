"""Residual policies: TIE's forecast as a prior, plus a correction learned by PPO.

A plain MLP trained by PPO on hit rewards must rediscover, from hundreds of thousands of
samples, a 580-way ranking that the recommender already provides. Residual RL starts from that
ranking instead: the policy's logits are `scale · z + MLP(obs)`, where z are the recommender's
standardised fold-in scores (the `features="recommender"` columns of the observation) and both
`scale` and the MLP are trained. At initialisation the MLP's output layer is near zero, so the
untrained policy ranks exactly as recommender-greedy; training keeps what earns reward.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import MlpExtractor
from torch import nn

from tie_gym.observation import RECOMMENDER_SQUASH, ObservationSchema

# clamping keeps atanh finite for float32 values that round to ±1
_EDGE = 1.0 - 1e-6


def prior_logits(features: torch.Tensor, schema: ObservationSchema) -> torch.Tensor:
    """The recommender's standardised scores z, recovered from the observation's tanh(z / 3)."""
    squashed = schema.recommender_features(features).clamp(-_EDGE, _EDGE)
    return RECOMMENDER_SQUASH * torch.atanh(squashed)


class PriorMlpExtractor(MlpExtractor):
    """SB3's MLP extractor whose actor latent also carries the prior logits (appended)."""

    def __init__(self, n_actions: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.n_actions = n_actions
        self.schema = ObservationSchema(n_actions, recommender=True)
        self.latent_dim_hidden = self.latent_dim_pi
        self.latent_dim_pi = self.latent_dim_hidden + n_actions

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.policy_net(features), prior_logits(features, self.schema)], -1)


class ResidualHead(nn.Module):
    """logits = exp(log_scale) · prior + Linear(hidden); the linear part starts near zero."""

    def __init__(self, hidden: int, n_actions: int, prior_scale: float) -> None:
        super().__init__()
        self.hidden = hidden
        self.correction = nn.Linear(hidden, n_actions)
        nn.init.orthogonal_(self.correction.weight, gain=0.01)
        nn.init.zeros_(self.correction.bias)
        self.log_scale = nn.Parameter(torch.tensor(float(prior_scale)).log())

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        hidden, prior = latent[..., : self.hidden], latent[..., self.hidden :]
        return self.log_scale.exp() * prior + self.correction(hidden)


class _Residual:
    """Mixin over an SB3 actor-critic policy class (PPO's or MaskablePPO's)."""

    def __init__(self, *args: Any, prior_scale: float = 1.0, **kwargs: Any) -> None:
        self.prior_scale = prior_scale
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]

    def _check_spaces(self) -> int:
        action_space, observation_space = self.action_space, self.observation_space  # type: ignore[attr-defined]
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError("ResidualPolicy needs a single-guess env (Discrete actions)")
        n = int(action_space.n)
        width = ObservationSchema(n, recommender=True).width
        if observation_space.shape != (width,):
            raise ValueError(
                f"ResidualPolicy needs the recommender's scores in the observation "
                f"(width {width}, got {observation_space.shape}); train on an env made with "
                'features="recommender", e.g. TIE-ForecastGuessFeatures-v0'
            )
        return n

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = PriorMlpExtractor(
            self._check_spaces(),
            self.features_dim,  # type: ignore[attr-defined]
            net_arch=self.net_arch,  # type: ignore[attr-defined]
            activation_fn=self.activation_fn,  # type: ignore[attr-defined]
            device=self.device,  # type: ignore[attr-defined]
        )

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)  # type: ignore[misc]
        self.action_net = ResidualHead(
            self.mlp_extractor.latent_dim_hidden, self.mlp_extractor.n_actions, self.prior_scale
        )
        self.optimizer = self.optimizer_class(  # type: ignore[attr-defined]
            self.parameters(),  # type: ignore[attr-defined]
            lr=lr_schedule(1),
            **self.optimizer_kwargs,  # type: ignore[attr-defined]
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        data["prior_scale"] = self.prior_scale
        return data


class ResidualPolicy(_Residual, ActorCriticPolicy):
    """PPO/A2C residual policy over TIE's forecast."""


class MaskableResidualPolicy(_Residual, MaskableActorCriticPolicy):
    """MaskablePPO residual policy over TIE's forecast."""


def residual_policy_class(algorithm: str) -> type:
    """The residual policy class that fits an algorithm (its name in YAML: ResidualPolicy)."""
    if algorithm == "maskable_ppo":
        return MaskableResidualPolicy
    if algorithm in ("ppo", "a2c"):
        return ResidualPolicy
    raise ValueError(f"ResidualPolicy is for ppo, a2c or maskable_ppo, not {algorithm!r}")
