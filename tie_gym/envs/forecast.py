"""TIE-Forecast: forecast an adversary's next ATT&CK technique, one reveal at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tie_gym.adversary import (
    DEFAULT_MODEL,
    DEFAULT_TEMPERATURE,
    Adversary,
    Campaign,
    CampaignConfig,
    CampaignMode,
    CampaignStream,
)
from tie_gym.checks import check_lengths, check_render_mode, discrete_index, is_integer
from tie_gym.envs.analyst import analyst_start
from tie_gym.envs.features import RecommenderFeatures
from tie_gym.observation import ObservationSchema
from tie_gym.ranking import NOT_FINITE, forecast_order, forecast_rank, numeric_scores
from tie_gym.render import ansi_step, campaign_grid

ActionMode = Literal["scores", "guess"]
RewardMode = Literal["hit", "ndcg"]


@dataclass(frozen=True)
class ForecastTask:
    """What a forecast episode is, checked once; the single and the native vector env share it
    (spaces, observation layout, reward discount, where campaigns come from)."""

    n_techniques: int
    k: int = 10
    action_mode: ActionMode = "scores"
    reward: RewardMode = "hit"
    initial: int = 1
    features: str = "none"
    campaign: CampaignConfig = field(default_factory=CampaignConfig)

    def __post_init__(self) -> None:
        if self.action_mode not in ("scores", "guess"):
            raise ValueError(f'action_mode must be "scores" or "guess", got {self.action_mode!r}')
        if self.reward not in ("hit", "ndcg"):
            raise ValueError(f'reward must be "hit" or "ndcg", got {self.reward!r}')
        check_lengths(self.initial, self.campaign.max_length)
        if not is_integer(self.k) or not 1 <= self.k <= self.n_techniques:
            raise ValueError(f"k must be an integer in [1, {self.n_techniques}], got {self.k!r}")
        if self.features not in ("none", "recommender"):
            raise ValueError(f'features must be "none" or "recommender", got {self.features!r}')

    @cached_property
    def schema(self) -> ObservationSchema:
        return ObservationSchema(self.n_techniques, recommender=self.features == "recommender")

    @cached_property
    def action_space(self) -> spaces.Space:
        if self.action_mode == "scores":
            return spaces.Box(-1.0, 1.0, shape=(self.n_techniques,), dtype=np.float32)
        return spaces.Discrete(self.n_techniques)

    @cached_property
    def discount(self) -> np.ndarray:
        """NDCG's 1 / log2(rank + 1) for ranks 1..k."""
        return 1.0 / np.log2(np.arange(2, self.k + 2))


def forecast_task(
    model: str = DEFAULT_MODEL,
    k: int = 10,
    action_mode: ActionMode = "scores",
    reward: RewardMode = "hit",
    campaign: CampaignMode = "generative",
    order: str | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float = 1.0,
    initial: int = 1,
    max_length: int | None = None,
    split: str = "test",
    data_dir: str | None = None,
    features: str = "none",
    flows: str | None = None,
    flow_split: str = "all",
) -> tuple[Adversary, ForecastTask]:
    """The adversary and the checked task that `ForecastEnv`'s arguments describe."""
    config = CampaignConfig(
        campaign,  # type: ignore[arg-type]
        order,  # type: ignore[arg-type]
        temperature,
        top_p,
        split,
        max_length,
        flows,
        flow_split,
    )
    adversary = Adversary.shared(model, data_dir)
    task = ForecastTask(adversary.n_techniques, k, action_mode, reward, initial, features, config)
    return adversary, task


class ForecastEnv(gym.Env[np.ndarray, np.ndarray | int]):
    """
    ## Description

    A trained technique recommender plays the adversary. At reset it draws a campaign (a set of
    ATT&CK techniques in a stated reveal order) and shows its first `initial` techniques. At each
    step the defender submits a forecast, the adversary reveals its next technique, and the reward
    scores the forecast against it. The episode ends when the whole campaign has been revealed.

    ## Action Space

    - `action_mode="scores"` (default): `Box(-1, 1, (n,), float32)`, one score per technique; the
      forecast is the `k` highest-scoring techniques not yet seen.
    - `action_mode="guess"`: `Discrete(n)`, a single technique; `action_masks()` marks the unseen
      techniques (for sb3-contrib's MaskablePPO). A seen technique is a legal but wasted guess.

    ## Observation Space

    `Box(0, 1, (2n + 1,), float32)` with `n` techniques of the model's vocabulary (`3n + 1` wide, the
    last `n` in [-1, 1], with `features="recommender"`):

    | index        | meaning                                   |
    |--------------|-------------------------------------------|
    | `0 … n-1`    | techniques seen so far (multi-hot)        |
    | `n … 2n-1`   | the technique revealed last (one-hot)     |
    | `2n`         | progress: reveals so far / 100            |
    | `2n+1 … 3n`  | with `features="recommender"` only: the adversary model's fold-in scores of the seen set, standardised and squashed by tanh(z/3) into [-1, 1] (TIE's own forecast as input) |

    `env.schema` (`tie_gym.observation.ObservationSchema`) writes this layout and reads it back:
    `env.schema.seen(obs)`, `env.schema.last(obs)`, `env.schema.decode(obs)`.

    ## Rewards

    `reward="hit"` (default): 1 if the revealed technique is in the forecast (hit@k), else 0.
    `reward="ndcg"`: 1/log2(1 + rank) if its rank in the forecast is ≤ k, else 0.
    In guess mode both are 1 for a correct guess. `info["reward_terms"]` gives both terms.

    The forecast ranks the unseen techniques by score; equal scores rank in column order (the
    sorted vocabulary), never in the defender's favour, so a constant or saturated (±1) action is
    one fixed top-k and earns chance. Measured (300 episodes from seed 100000, hit@k / NDCG@k):

    | policy | TIE-Forecast-v0 | TIE-ForecastReplay-v0 | TIE-ForecastHard-v0 (k=3) |
    |--------|-----------------|-----------------------|---------------------------|
    | constant action (all 0) | 0.012 / 0.006 | 0.022 / 0.009 | 0.005 / 0.004 |
    | saturated (±1 on a fixed half) | 0.014 / 0.007 | 0.019 / 0.009 | 0.005 / 0.004 |
    | random scores | 0.015 / 0.007 | 0.017 / 0.007 | 0.004 / 0.003 |
    | frequency (popularity) | 0.253 / 0.148 | 0.225 / 0.117 | 0.049 / 0.038 |
    | greedy (the adversary's own fold-in) | 0.406 / 0.286 | 0.346 / 0.191 | 0.098 / 0.079 |

    On generated campaigns greedy is the Bayes forecast for hit@1 (the adversary samples from the
    same scores): a learned agent can match it there, not beat it in expectation.

    On TIE-ForecastFlow-v0 (real order, 300 episodes from seed 100000, hit@10 / NDCG@10 /
    frontier hit@10): constant 0.031 / 0.013 / 0.038, saturated the same, random 0.019 / 0.009 /
    0.032, frequency 0.145 / 0.076 / 0.210, greedy 0.314 / 0.167 / 0.496. The shipped model
    trained on these incidents as sets (the corpus's "attack flow" reports): out of sample
    (leave-one-flow-out, benchmarks/results/real_order.md) greedy's hit@10 is 0.229.

    ## Starting State

    `initial` techniques of a fresh campaign are seen. A campaign comes from the generative
    adversary (`campaign="generative"`: popularity-drawn first technique, then sampled from
    softmax(z / `temperature`), z the model's fold-in scores standardised over the unused
    techniques at each step, nucleus-cut to `top_p`; length from the corpus's report sizes)
    or from real reports (`campaign="replay"`, needs `TIE_DATA_DIR`): the artifact's held-out
    test reports (`split="test"`, for evaluation) or the reports it trained on (`split="train"`,
    for training agents without touching the test reports), or from Attack Flow incidents
    (`campaign="flow"`, TIE-ForecastFlow-v0: the data folder's `attack-flow/`, or `flows=` a folder
    of `.afb`/STIX flows) revealed in real order, a seeded topological order of the flow's DAG
    (`order="killchain"`/`"random"` impose one on the flow's set instead).
    `reset(options={"campaign": ["T1566.001", "T1059.001", …]})` replays a campaign given in
    order (every single env, TIE-Defend too): the first `initial` techniques are shown and the rest
    forecast in the order given; unusable IDs are left out and listed in `info["ignored"]`, and at
    least two must remain.
    `reset(options={"observed": ["T1566", …]})` starts a generative campaign from given techniques
    (a list, not a bare string); IDs the model cannot use (unknown, revoked — with their
    successor when the model's ATT&CK bundle is in the data folder —, deprecated, repeated) are
    left out and listed in `info["ignored"]`, and only a list with no usable ID is an error.
    `reset(options={"text": "…incident summary…"})` maps the text to techniques first (needs a
    text mapper from `make text`, i.e. `python -m recommenders.text.train`; `text_model` names
    its folder, by default `$TIE_TEXT_MODEL`, else `runs/text` in the current folder).

    ## Episode End

    Terminates after the campaign's last technique is revealed. Registered ids truncate at
    `max_episode_steps=100` (a campaign given at reset longer than that is cut there too; pass
    `max_episode_steps=` to `gym.make` for longer ones).

    ## Arguments

    `model` ("default" or an artifact path), `k` (forecast size, default 10), `action_mode`,
    `reward`, `campaign` ("generative", "replay", "flow"), `order` ("model", "killchain",
    "random", "learned" — TRAM's narrative positions, needs the data folder —, "flow"; replay default "killchain": an order this project imposes on a report's set
    of techniques, not an observed one; flow default "flow", the observed one), `flows`,
    `temperature` (default 1.65, calibrated in benchmarks/results/temperature.md), `top_p`,
    `initial`, `max_length` (≥ initial + 1), `split` ("test"/"train", replay only),
    `flow_split` ("all", or "train"/"test": one side of the fixed split of Attack Flow incidents,
    `recommenders.flows.flow_split`; train defenders on "train" and report "test" — with a model
    trained without the test incidents' copies, as `benchmarks.real_order` trains one),
    `data_dir`, `text_model` (for `options={"text": …}`; default None: `$TIE_TEXT_MODEL`, else
    `runs/text`), `features` ("none" or "recommender"),
    `render_mode` ("ansi", "rgb_array").
    All are JSON-serialisable, so the spec round-trips and the env pickles.

    ## Info

    `revealed` (technique ID), `rank` (1-based rank of the revealed technique in the defender's
    ordering of unseen techniques; in guess mode 1 or None), `hit`, `is_success` (= hit),
    `action_mask`, `reward_terms`; on reset `campaign` (source: "generated", a report ID, a flow's
    name or "given"), `campaign_length`, and with `options` also `ignored` ({ID: why it was left
    out}). In a flow's own order each step also carries `frontier` (the IDs the flow allowed next,
    the revealed one among them) and `frontier_hit`: the variant score, a hit when any of them is
    in the forecast. The reward always scores the revealed technique, as in every other env, so
    flow results compare with generated and replayed ones.

    ## Version History

    - v0 (unreleased): every id. Pre-release changes folded into it (CHANGELOG.md): ties rank in
      column order (a constant action scored 1.0 before); the generative adversary standardises
      its scores at every step (temperature 1.65); a set given at reset is folded in whole;
      max_length must leave a technique to forecast; Attack Flow replay (TIE-ForecastFlow-v0,
      TIE-ForecastFlowGuess-v0); `options={"campaign": …}`; an unknown reset option is an error.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        k: int = 10,
        action_mode: ActionMode = "scores",
        reward: RewardMode = "hit",
        campaign: CampaignMode = "generative",
        order: str | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = 1.0,
        initial: int = 1,
        max_length: int | None = None,
        split: str = "test",
        data_dir: str | None = None,
        text_model: str | None = None,
        features: str = "none",
        flows: str | None = None,
        flow_split: str = "all",
        render_mode: str | None = None,
    ) -> None:
        check_render_mode(render_mode, self.metadata)
        self.adversary, self.task = forecast_task(
            model,
            k,
            action_mode,
            reward,
            campaign,
            order,
            temperature,
            top_p,
            initial,
            max_length,
            split,
            data_dir,
            features,
            flows,
            flow_split,
        )
        self.render_mode = render_mode
        self.text_model = text_model
        n = self.n_techniques = self.adversary.n_techniques
        self.schema = self.task.schema
        self.observation_space = self.schema.space
        self.action_space = self.task.action_space
        self._features = (
            RecommenderFeatures(self.adversary.model) if features == "recommender" else None
        )
        self._campaign: Campaign | None = None
        self._cursor = 0
        self._seen = np.zeros(n, dtype=bool)
        self._last_forecast: np.ndarray | None = None
        self._last_info: dict[str, Any] = {}
        self._stream = CampaignStream(self.adversary, self.task.campaign)
        self._ids = np.array(self.adversary.vocabulary)
        self._obs = self.schema.empty()

    # -- helpers -----------------------------------------------------------------------------

    @property
    def vocabulary(self) -> tuple[str, ...]:
        return self.adversary.vocabulary

    @property
    def campaign_config(self) -> CampaignConfig:
        """Where this env's campaigns come from (shared with Defend's attribute of that name)."""
        return self.task.campaign

    @property
    def k(self) -> int:
        """Forecast length scored: a hit is the revealed technique in the top k."""
        return self.task.k

    @property
    def action_mode(self) -> ActionMode:
        return self.task.action_mode

    @property
    def seen_ids(self) -> list[str]:
        """Technique IDs revealed so far, in reveal order."""
        if self._campaign is None:
            return []
        return [self.vocabulary[c] for c in self._campaign.techniques[: self._cursor]]

    def action_masks(self) -> np.ndarray:
        """Techniques not yet seen: the legal, useful single guesses (MaskablePPO reads this)."""
        return ~self._seen

    # -- Gymnasium API -----------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._stream.clear()
        start = analyst_start(options or {}, self.adversary, self.text_model)
        if start is not None and start.whole:
            self._campaign = Campaign(start.columns, "given")
            self._cursor = min(self.task.initial, len(start.columns) - 1)
        elif start is not None:
            config = self.campaign_config
            self._campaign = self.adversary.generate(
                self.np_random,
                1,
                config.temperature,
                config.top_p,
                config.order,  # type: ignore[arg-type]
                initial=[start.columns],
                max_length=config.max_length,
            )[0]
            self._cursor = len(start.columns)
        else:
            self._campaign = self._stream.take(self.np_random)[0]
            self._cursor = min(self.task.initial, len(self._campaign.techniques) - 1)
        self._seen[:] = False
        self._seen[self._campaign.techniques[: self._cursor]] = True
        shown = self._campaign.techniques[: self._cursor]
        fold_in = self._features.start(shown) if self._features is not None else None
        last = int(self._campaign.techniques[self._cursor - 1])
        self.schema.encode(
            self._seen, last, self._cursor, recommender_scores=fold_in, out=self._obs
        )
        observation = self._obs.copy()
        self._last_forecast = None
        info = {
            "campaign": self._campaign.source,
            "campaign_length": len(self._campaign.techniques),
            "action_mask": ~self._seen,
        }
        if start is not None:
            info["ignored"] = start.ignored
        self._last_info = info
        return observation, info

    def step(
        self, action: np.ndarray | int
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._campaign is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if self._cursor >= len(self._campaign.techniques):
            raise gym.error.ResetNeeded("the campaign is over: call reset()")
        revealed = int(self._campaign.techniques[self._cursor])
        if self.task.action_mode == "scores":
            scores = numeric_scores(action)
            if scores.shape != (self.n_techniques,):
                raise ValueError(
                    f"action must have shape ({self.n_techniques},), got {scores.shape}"
                )
            rank = forecast_rank(scores, self._seen, revealed)
            if rank == NOT_FINITE:
                raise ValueError(
                    "action contains NaN or infinite scores; send finite values in [-1, 1]"
                )
            forecast = scores.copy()  # the top-k list is only built when asked for
            hit = rank <= self.task.k
            ndcg = float(self.task.discount[rank - 1]) if hit else 0.0
        else:
            action = discrete_index(action, self.n_techniques, "guess")
            forecast = np.array([action])
            hit = action == revealed
            rank = 1 if hit else None
            ndcg = float(hit)
        terms = {"hit": float(hit), "ndcg": ndcg}
        reward = terms[self.task.reward]
        self._last_forecast = forecast
        previous = int(self._campaign.techniques[self._cursor - 1])
        self._cursor += 1
        self._seen[revealed] = True
        fold_in = self._features.reveal(revealed) if self._features is not None else None
        self.schema.reveal(self._obs, revealed, previous, self._cursor, recommender_scores=fold_in)
        observation = self._obs.copy()
        terminated = self._cursor >= len(self._campaign.techniques)
        info = {
            "revealed": self._ids[revealed].item(),
            "rank": rank,
            "hit": bool(hit),
            "is_success": bool(hit),
            "reward_terms": terms,
            "action_mask": ~self._seen,
        }
        if self._campaign.frontiers is not None:
            frontier = self._campaign.frontiers[self._cursor - 1]
            info["frontier"] = self._ids[frontier].tolist()
            info["frontier_hit"] = self._frontier_hit(forecast, frontier)
        self._last_info = info
        return observation, float(reward), terminated, False, info

    def _frontier_hit(self, forecast: np.ndarray, frontier: np.ndarray) -> bool:
        """The frontier variant of the score: a technique that may come next is in the forecast
        (`forecast`: this step's scores, or the single guess)."""
        if self.task.action_mode == "guess":
            return bool(np.isin(forecast[0], frontier))
        seen_then = self._seen.copy()
        seen_then[frontier] = False  # the forecast was made before this step's reveal
        return any(forecast_rank(forecast, seen_then, int(c)) <= self.task.k for c in frontier)

    def last_forecast(self) -> np.ndarray | None:
        """Technique columns of the last forecast, best first (top-k, or the single guess)."""
        if self._last_forecast is None or len(self._last_forecast) == 1:
            return self._last_forecast
        # the forecast was made before the last reveal: that technique was still a candidate
        seen_then = self._seen.copy()
        seen_then[self._campaign.techniques[self._cursor - 1]] = False  # type: ignore[union-attr]
        return forecast_order(self._last_forecast, seen_then, self.k)

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None or self._campaign is None:
            return None
        if self.render_mode == "ansi":
            return ansi_step(
                self.adversary,
                self._campaign.techniques[: self._cursor],
                self.last_forecast(),
                self._last_info,
                self.k,
            )
        return campaign_grid(
            self.adversary, self._campaign.techniques[: self._cursor], self.last_forecast()
        )
