"""TIE-Defend: spend a limited detection budget ahead of an adversary's campaign."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tie_gym.adversary import (
    DEFAULT_MODEL,
    DEFAULT_TEMPERATURE,
    Adversary,
    Campaign,
    CampaignConfig,
    CampaignStream,
)
from tie_gym.adversary.evasion import Evasion
from tie_gym.checks import check_render_mode, discrete_index, is_integer, is_real
from tie_gym.envs.analyst import given_campaign
from tie_gym.observation import ObservationSchema


@dataclass(frozen=True)
class DefendTask:
    """What a TIE-Defend episode is, checked once and shared by the single and the vector env."""

    budget: int
    detection_cost: float
    catch_bonus: float
    campaign: CampaignConfig
    evasion: Evasion

    @property
    def n_techniques(self) -> int:
        return self.evasion.adversary.n_techniques

    @cached_property
    def schema(self) -> ObservationSchema:
        return ObservationSchema(self.n_techniques, detections=True)

    @cached_property
    def action_space(self) -> spaces.Discrete:
        return spaces.Discrete(self.n_techniques + 1)

    def catch_reward(
        self, cursor: np.ndarray | int, length: np.ndarray | int
    ) -> np.ndarray | float:
        """A catch at reveal `cursor` of a campaign of `length`: more for an earlier one."""
        return 1.0 + self.catch_bonus * (length - cursor) / length


def defend_task(
    model: str = DEFAULT_MODEL,
    budget: int = 5,
    detection_cost: float = 0.02,
    catch_bonus: float = 1.0,
    campaign: str = "generative",
    order: str | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    split: str = "test",
    data_dir: str | None = None,
    flows: str | None = None,
    adversary: str = "static",
    evasion: float = 0.5,
    flow_split: str = "all",
) -> tuple[Adversary, DefendTask]:
    """The adversary and the checked task that `DefendEnv`'s arguments describe."""
    config = CampaignConfig(
        campaign,  # type: ignore[arg-type]
        order,  # type: ignore[arg-type]
        temperature,
        split=split,
        flow_dir=flows,
        flow_split=flow_split,
    )
    if adversary not in ("static", "evasive"):
        raise ValueError(f'adversary must be "static" or "evasive", got {adversary!r}')
    if not (is_real(evasion) and 0 <= evasion <= 1):
        raise ValueError(f"evasion must be a probability in [0, 1], got {evasion!r}")
    if not is_integer(budget) or budget < 1:
        raise ValueError(f"budget must be an integer ≥ 1, got {budget!r}")
    for name, value in (("detection_cost", detection_cost), ("catch_bonus", catch_bonus)):
        # NaN compares false with everything: a NaN cost would make every reward NaN
        if not (is_real(value) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
    shared = Adversary.shared(model, data_dir)
    probability = float(evasion) if adversary == "evasive" else 0.0
    evasive = Evasion(shared, probability, config.temperature)
    return shared, DefendTask(
        int(budget), float(detection_cost), float(catch_bonus), config, evasive
    )


class DefendEnv(gym.Env[np.ndarray, int]):
    """
    ## Description

    The adversary runs a campaign as in TIE-Forecast. Before each reveal the defender may deploy
    one detection on a technique (or wait). Detections stay in place; the defender has `budget`
    of them. When the adversary uses a technique that is already detected, the campaign is caught
    and the episode ends with a reward that is larger the earlier the catch. A campaign that runs
    to its end uncaught ends with reward 0. Unlike a one-step forecast, this is a sequential
    decision with delayed reward: spend early on likely techniques, or wait for more evidence.

    ## Action Space

    `Discrete(n + 1)`: deploy a detection on technique `a < n`, or `a = n` to wait.
    `action_masks()` allows only unseen, undetected techniques while budget remains, and waiting.

    ## Observation Space

    `Box(0, 1, (3n + 2,), float32)`: seen techniques (multi-hot), detected techniques (multi-hot),
    the technique revealed last (one-hot), the remaining budget fraction, progress (reveals / 100).
    `env.schema` (`tie_gym.observation.ObservationSchema`) writes and reads this layout.

    ## Rewards

    On a catch at reveal `t` of a campaign of length `L`: `1 + catch_bonus · (L − t) / L`;
    each deployed detection costs `detection_cost`. `info["reward_terms"]` itemises them.

    Trivial and heuristic policies (`python -m agents.evaluate --env TIE-Defend-v0
    TIE-DefendEvasive-v0 --episodes 300`: episodes and defenders seeded from 100000; share of
    campaigns caught / mean return), static adversary | evasive (`adversary="evasive"`,
    evasion 0.5):

    | policy | TIE-Defend-v0 | TIE-DefendEvasive-v0 |
    |---|---|---|
    | always wait | 0% / 0.00 | 0% / 0.00 |
    | constant: always technique 0 (one detection) | 2% / 0.01 | 1% / −0.00 |
    | constant: the best of the 20 most common (T1027, chosen on these episodes) | 38% / 0.57 | 20% / 0.28 |
    | random legal actions | 6% / 0.01 | 2% / −0.06 |
    | popularity (the budget spent at once on the most common) | 54% / 0.76 | 38% / 0.50 |
    | greedy (the recommender's top unseen technique) | 77% / 1.26 | 55% / 0.82 |
    | sequence (greedy re-ranked by real order) | 77% / 1.25 | 54% / 0.81 |
    | look-ahead (most likely in the rest of the campaign, 64 sampled continuations) | 74% / 1.21 | 59% / 0.89 |
    | oracle (detects the technique about to be used) | 100% / 1.80 | 91% / 1.56 |

    No trivial policy comes near the heuristics: spending the whole budget at once is the
    popularity row; a deploy on a seen or detected technique (masked) is a wait at no cost; the
    episode ends at a catch (stepping on raises ResetNeeded). A "bait" policy on the evasive
    adversary that also detects the likeliest substitute did worse than greedy (0.67; outside
    review). On generated campaigns greedy knows the adversary's own scores, so it is close to
    Bayes-optimal there. The oracle knows the campaign: its margin (+43% static over greedy, +75%
    evasive over look-ahead) is not a defender's headroom; without knowing the campaign an outside
    review measured about 0–6% on the static env and +12–16% (look-ahead variants) on the
    evasive one (README, issue 27).

    An evasive adversary (opt-in, `tie_gym/adversary/evasion.py`) reacts: when the technique it is
    about to use is detected, with probability `evasion` it uses instead an unused, undetected
    technique of the same tactic, drawn from softmax(z / temperature) of the recommender's fold-in
    of what it has done; `info["evaded"]` names the technique avoided. `evasion=0` (or the default
    `adversary="static"`) draws no random number: the static env exactly.

    ## Starting State

    One technique of a fresh campaign is seen; no detection is deployed. Campaigns are generated,
    replayed reports, or Attack Flow incidents in real order (`campaign="flow"`,
    TIE-DefendFlow-v0); `reset(options={"campaign": [...]})` replays one given in order (its first
    technique shown, unusable IDs listed in `info["ignored"]`). Other reset options are an error.

    ## Episode End

    Terminates on a catch or when the campaign is fully revealed; truncation by
    `max_episode_steps` at registration.

    ## Arguments

    `model`, `budget` (default 5), `detection_cost` (default 0.02), `catch_bonus` (default 1.0),
    `campaign`, `order`, `temperature`, `split`, `data_dir`, `flows`, `flow_split` — as in TIE-Forecast;
    `adversary` ("static" or "evasive") and `evasion` (default 0.5, evasive only).

    ## Version History

    - v0 (unreleased): every id (CHANGELOG.md). Folded into it before the first release: the
      adversary of TIE-Forecast-v0 (scores standardised per step, temperature 1.65); the evasive
      adversary (TIE-DefendEvasive-v0); Attack Flow incidents in real order (TIE-DefendFlow-v0);
      `options={"campaign": …}`, unknown options an error; a deploy on a seen technique is
      masked (a free wait); no stepping, and no catch paid, after a catch.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 2}

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        budget: int = 5,
        detection_cost: float = 0.02,
        catch_bonus: float = 1.0,
        campaign: str = "generative",
        order: str | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        split: str = "test",
        data_dir: str | None = None,
        flows: str | None = None,
        adversary: str = "static",
        evasion: float = 0.5,
        flow_split: str = "all",
        render_mode: str | None = None,
    ) -> None:
        check_render_mode(render_mode, self.metadata)
        self.adversary, self.task = defend_task(
            model,
            budget,
            detection_cost,
            catch_bonus,
            campaign,
            order,
            temperature,
            split,
            data_dir,
            flows,
            adversary,
            evasion,
            flow_split,
        )
        task = self.task
        n = self.n_techniques = self.adversary.n_techniques
        self.render_mode = render_mode
        self.schema = task.schema
        self.observation_space = self.schema.space
        self.action_space = task.action_space
        self._campaign: Campaign | None = None
        self._over = False
        self._cursor = 0
        self._seen = np.zeros(n, dtype=bool)
        self._detected = np.zeros(n, dtype=bool)
        self._remaining = task.budget
        self._stream = CampaignStream(self.adversary, task.campaign)
        self._log: list[str] = []

    @property
    def budget(self) -> int:
        return self.task.budget

    @property
    def detection_cost(self) -> float:
        return self.task.detection_cost

    @property
    def catch_bonus(self) -> float:
        return self.task.catch_bonus

    @property
    def campaign_config(self) -> CampaignConfig:
        """Where this env's campaigns come from (as `ForecastEnv.campaign_config`)."""
        return self.task.campaign

    @property
    def evasion(self) -> Evasion:
        return self.task.evasion

    def action_masks(self) -> np.ndarray:
        mask = np.zeros(self.n_techniques + 1, dtype=bool)
        if self._remaining > 0:
            mask[: self.n_techniques] = ~(self._seen | self._detected)
        mask[self.n_techniques] = True
        return mask

    def _observation(self) -> np.ndarray:
        return self.schema.encode(
            self._seen,
            self._campaign.techniques[self._cursor - 1],  # type: ignore[union-attr]
            self._cursor,
            detected=self._detected,
            budget_left=self._remaining / self.budget,
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        if options.get("observed") is not None or options.get("text") is not None:
            raise ValueError(
                "TIE-Defend replays whole campaigns: pass options={'campaign': [...]}, "
                "not 'observed' or 'text'"
            )
        if seed is not None:
            self._stream.clear()
        given = given_campaign(options, self.adversary)
        if given is not None:
            self._campaign = Campaign(given.columns, "given")
        else:
            self._campaign = self._stream.take(self.np_random)[0]
        self._cursor = 1
        self._over = False
        self._seen[:] = False
        self._detected[:] = False
        self._seen[self._campaign.techniques[0]] = True
        self._remaining = self.budget
        self._log = [f"start: {self.adversary.vocabulary[self._campaign.techniques[0]]}"]
        info = {"campaign": self._campaign.source, "action_mask": self.action_masks()}
        if given is not None:
            info["ignored"] = given.ignored
        return self._observation(), info

    def step(
        self, action: int | np.ndarray
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._campaign is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if self._over:  # a catch ends the episode: stepping on would pay the catch again
            raise gym.error.ResetNeeded("the campaign is over (caught or ended): call reset()")
        action = discrete_index(action, self.n_techniques + 1, "action")
        cost = 0.0
        if (
            action < self.n_techniques
            and self._remaining > 0
            and not self._detected[action]
            and not self._seen[action]  # masked: a wait at no cost, as the docstring says
        ):
            self._detected[action] = True
            self._remaining -= 1
            cost = self.detection_cost
            self._log.append(f"detect {self.adversary.vocabulary[action]}")
        planned = revealed = int(self._campaign.techniques[self._cursor])
        if self._detected[planned] and self.evasion.evades(self.np_random):
            techniques, revealed = self.evasion.substitute(
                self.np_random, self._campaign.techniques, self._cursor, self._seen, self._detected
            )
            self._campaign = Campaign(techniques, self._campaign.source)
            if revealed != planned:
                self._log.append(f"evades {self.adversary.vocabulary[planned]} (detected)")
        length = len(self._campaign.techniques)
        caught = bool(self._detected[revealed])
        catch = float(self.task.catch_reward(self._cursor, length)) if caught else 0.0
        self._seen[revealed] = True
        self._cursor += 1
        self._log.append(
            f"adversary uses {self.adversary.vocabulary[revealed]}"
            + (" — CAUGHT" if caught else "")
        )
        terminated = caught or self._cursor >= length
        self._over = terminated
        terms = {"catch": catch, "detection_cost": -cost}
        info = {
            "revealed": self.adversary.vocabulary[revealed],
            "evaded": self.adversary.vocabulary[planned] if revealed != planned else None,
            "caught": caught,
            "is_success": caught,
            "budget_left": self._remaining,
            "reward_terms": terms,
            "action_mask": self.action_masks(),
        }
        return self._observation(), catch - cost, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return "\n".join(self._log) + f"\nbudget left: {self._remaining}/{self.budget}\n"
