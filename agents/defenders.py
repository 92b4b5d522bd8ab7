"""Heuristic defenders for TIE-Defend: `act(observation, info) -> action` in [0, n] (n waits).

Each deploys at most one detection per step on an unseen, undetected technique while budget is
left, on the technique its rule rates most likely to come; they differ in the rule:

- `wait`: never deploys (catches nothing: the floor of the return);
- `random`: a uniformly random legal action, waiting included;
- `popularity`: the corpus's most common techniques (spends the budget on the first steps:
  "deploy everything at once");
- `greedy`: the recommender's top fold-in score of what has been seen (TIE's forecast);
- `sequence`: the order-aware forecaster's top score (agents/sequence.py);
- `lookahead`: the highest probability of being used in the rest of the campaign, estimated by
  sampling continuations of what has been seen from the adversary model;
- `rollout`: one step of policy improvement over greedy with the adversary's own model: each of
  waiting and greedy's top techniques is scored by simulating the rest of the campaign with greedy
  deploying afterwards (the planner that measures how far greedy is from the best policy);
- `oracle`: knows the campaign and detects the technique about to be used (the upper bound).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from agents.baselines import Agent
from tie_gym.adversary import Adversary
from tie_gym.envs.defend import DefendTask
from tie_gym.observation import ObservationSchema


class Defender:
    """A TIE-Defend policy over the Defend observation layout."""

    def __init__(self, n_techniques: int) -> None:
        self.n_techniques = n_techniques
        self.schema = ObservationSchema(n_techniques, detections=True)

    def reset(self) -> None:
        """Called at the start of each episode."""

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        raise NotImplementedError

    def deploy_best(self, scores: np.ndarray, observation: np.ndarray) -> int:
        """The highest-scored unseen, undetected technique; wait when no budget or none left."""
        if float(self.schema.budget_left(observation)) <= 0:
            return self.n_techniques
        open_ = ~(self.schema.seen(observation) | self.schema.detected(observation))
        if not open_.any():
            return self.n_techniques
        return int(np.argmax(np.where(open_, scores, -np.inf)))


class WaitDefender(Defender):
    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        return self.n_techniques


class RandomDefender(Defender):
    def __init__(self, n_techniques: int, seed: int = 0) -> None:
        super().__init__(n_techniques)
        self.rng = np.random.default_rng(seed)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        legal = np.flatnonzero(info["action_mask"])
        return int(self.rng.choice(legal))


class ScoreDefender(Defender):
    """Deploys on the top of fixed scores (`popularity`)."""

    def __init__(self, scores: np.ndarray) -> None:
        super().__init__(len(scores))
        self.scores = np.asarray(scores, dtype=np.float64)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        return self.deploy_best(self.scores, observation)


class ForecastDefender(Defender):
    """Deploys on the top of a forecast agent's scores (`greedy`, `sequence`): the agent reads
    the Defend observation through the Defend schema (seen and last are the same fields)."""

    def __init__(self, forecaster: Agent) -> None:
        super().__init__(forecaster.n_techniques)
        forecaster.schema = self.schema
        self.forecaster = forecaster

    def reset(self) -> None:
        self.forecaster.reset()

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        return self.deploy_best(self.forecaster.scores(observation), observation)  # type: ignore[attr-defined]


class RevealedPrefix:
    """The techniques revealed so far, in the order they came: a Defend observation holds the
    seen set and the last one, so a planner that samples continuations keeps the order itself."""

    def __init__(self, schema: ObservationSchema) -> None:
        self.schema = schema
        self.columns: list[int] = []

    def reset(self) -> None:
        self.columns = []

    def update(self, observation: np.ndarray) -> np.ndarray:
        seen = self.schema.seen(observation)
        if len(self.columns) > int(seen.sum()) or any(not seen[c] for c in self.columns):
            self.columns = []  # a new episode began without reset()
        last = int(self.schema.last(observation))
        for column in [c for c in np.flatnonzero(seen) if c not in self.columns and c != last]:
            self.columns.append(int(column))  # seen before this defender was asked
        if last not in self.columns:
            self.columns.append(last)
        return np.array(self.columns, dtype=np.int64)


class LookAheadDefender(Defender):
    """One-step look-ahead: deploy where the probability of being used in the rest of the
    campaign is highest, from `samples` continuations of the revealed prefix drawn from the
    adversary model (its own temperature; the prefix in the order it was revealed)."""

    def __init__(
        self, adversary: Adversary, temperature: float, samples: int = 64, seed: int = 0
    ) -> None:
        super().__init__(adversary.n_techniques)
        self.adversary, self.temperature, self.samples = adversary, temperature, samples
        self.rng = np.random.default_rng(seed)
        self.prefix = RevealedPrefix(self.schema)

    def reset(self) -> None:
        self.prefix.reset()

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        start = self.prefix.update(observation)
        # the env asks before each reveal, so the campaign goes on past the prefix: lengths are
        # drawn given that (raising short draws made 43% of continuations one step long at t = 5)
        sequences, lengths = self.adversary.sample(
            self.rng, self.samples, self.temperature, initial=[start] * self.samples, running=True
        )
        counts = np.zeros(self.n_techniques)
        for sequence, length in zip(sequences, lengths, strict=True):
            counts[sequence[len(start) : length]] += 1.0
        return self.deploy_best(counts, observation)


class RolloutDefender(Defender):
    """One step of policy improvement over greedy, with the adversary's own model.

    For waiting and each of greedy's `candidates` top techniques, `samples` continuations of the
    campaign are simulated: the length drawn from the corpus's report sizes given that the
    campaign is still running, each technique from the generative adversary's softmax (the
    evasive rule where the task has one), greedy deploying at every later step; the action with
    the highest mean return is taken. Every action sees the same random numbers (a fresh
    generator per decision, seeded alike), so the comparison between actions is paired. Greedy
    deploys the top candidate, so a gain over greedy is what planning finds; none means greedy
    is (nearly) a fixed point of policy improvement under this adversary.
    """

    def __init__(
        self,
        adversary: Adversary,
        task: DefendTask,
        samples: int = 128,
        candidates: int = 8,
        seed: int = 0,
    ) -> None:
        super().__init__(adversary.n_techniques)
        self.adversary, self.task = adversary, task
        self.samples, self.candidates = samples, candidates
        self.seeds = np.random.default_rng(seed)
        self.prefix = RevealedPrefix(self.schema)
        self.fold_in = adversary.model.incremental_fold_in(samples)

    def reset(self) -> None:
        self.prefix.reset()

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        prefix = self.prefix.update(observation)
        detected = self.schema.detected(observation)
        budget = round(float(self.schema.budget_left(observation)) * self.task.budget)
        seen = self.schema.seen(observation)
        open_ = ~(seen | detected)
        if budget <= 0 or not open_.any():
            return self.n_techniques
        lengths = self.adversary.size_probabilities.copy()
        lengths[: len(prefix) + 1] = 0.0  # the campaign goes on past what has been revealed
        scores = self.simulated_scores(prefix)
        greedy = np.flatnonzero(open_)
        greedy = greedy[np.argsort(-scores[greedy], kind="stable")][: self.candidates]
        if lengths.sum() == 0:
            return int(greedy[0])
        seed = int(self.seeds.integers(2**63))
        actions = [*greedy.tolist(), self.n_techniques]
        returns = [
            self.simulate(prefix, detected, budget, action, lengths / lengths.sum(), seed)
            for action in actions
        ]
        return int(actions[int(np.argmax(returns))])  # ties: greedy's order, then waiting

    def simulated_scores(self, prefix: np.ndarray) -> np.ndarray:
        self.fold_in.reset(slice(0, 1))
        self.fold_in.add(np.zeros(len(prefix), dtype=np.int64), prefix)
        return np.asarray(self.fold_in.scores(slice(0, 1)), dtype=np.float64)[0]

    def simulate(
        self,
        prefix: np.ndarray,
        detected: np.ndarray,
        budget: int,
        action: int,
        length_probabilities: np.ndarray,
        seed: int,
    ) -> float:
        """Mean return of `action` now and greedy afterwards over the sampled continuations."""
        rng = np.random.default_rng(seed)
        count, start = self.samples, len(prefix)
        task, generator = self.task, self.adversary.generator
        lengths = rng.choice(len(length_probabilities), size=count, p=length_probabilities)
        used = np.empty((count, int(lengths.max())), dtype=np.int64)
        used[:, :start] = prefix
        rows = np.arange(count)
        self.fold_in.reset(rows)
        self.fold_in.add(np.repeat(rows, start), np.tile(prefix, count))
        detections = np.tile(detected, (count, 1))
        left = np.full(count, budget)
        running = np.ones(count, dtype=bool)
        total = np.zeros(count)
        for cursor in range(start, int(lengths.max())):
            running &= cursor < lengths
            if not running.any():
                break
            scores = np.asarray(self.fold_in.scores(rows), dtype=np.float64)
            if cursor == start:
                deploy = np.full(count, action) if action < self.n_techniques else None
            else:
                open_ = ~detections
                open_[rows[:, None], used[:, :cursor]] = False
                deploy = np.argmax(np.where(open_, scores, -np.inf), axis=1)
                deploy = np.where(open_[rows, deploy], deploy, -1)
            if deploy is not None:
                spend = running & (left > 0) & (deploy >= 0)
                detections[rows[spend], deploy[spend]] = True
                left[spend] -= 1
                total[spend] -= task.detection_cost
            planned = generator.next_techniques(
                rng, scores, used[:, :cursor], task.campaign.temperature, 1.0
            )
            for row in np.flatnonzero(running & detections[rows, planned]):
                if task.evasion.evades(rng):
                    seen = np.zeros(self.n_techniques, dtype=bool)
                    seen[used[row, :cursor]] = True
                    campaign = np.append(used[row, :cursor], planned[row])
                    planned[row] = task.evasion.substitute(
                        rng, campaign, cursor, seen, detections[row]
                    )[1]
            caught = running & detections[rows, planned]
            total[caught] += task.catch_reward(cursor, lengths[caught])
            running &= ~caught
            used[:, cursor] = planned
            self.fold_in.add(rows, planned)
        return float(total.mean())


class OracleDefender(Defender):
    """Knows the campaign: detects the technique the adversary is about to use."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env.unwrapped.n_techniques)  # type: ignore[attr-defined]
        self.env = env.unwrapped

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        upcoming = np.zeros(self.n_techniques)
        techniques = self.env._campaign.techniques  # type: ignore[attr-defined]
        upcoming[techniques[self.env._cursor]] = 1.0  # type: ignore[attr-defined]
        return self.deploy_best(upcoming, observation)


class PolicyDefender(Defender):
    """A trained SB3 policy (`agents.policy.load_run`) playing Defend: its deterministic action
    under the env's action mask."""

    def __init__(self, model: Any, n_techniques: int) -> None:
        super().__init__(n_techniques)
        if not hasattr(model.action_space, "n") or int(model.action_space.n) != n_techniques + 1:
            raise ValueError(
                f"the policy's actions ({model.action_space}) are not this Defend env's "
                f"{n_techniques + 1} (its techniques and a wait): play it on envs of the kind and "
                "model it was trained with"
            )
        self.model = model

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        masks = info["action_mask"]
        try:
            action, _ = self.model.predict(observation, deterministic=True, action_masks=masks)
        except TypeError:  # not a MaskablePPO: a masked action is a free wait in Defend
            action, _ = self.model.predict(observation, deterministic=True)
        return int(action)


DEFENDERS = (
    "wait",
    "random",
    "popularity",
    "greedy",
    "sequence",
    "lookahead",
    "rollout",
    "oracle",
)
"""The heuristic defenders by name, in table order."""


def build_defender(name: str, env: gym.Env, seed: int = 0) -> Defender:
    """A heuristic defender by name, for this Defend env."""
    from agents.baselines import GreedyAgent

    base: Any = env.unwrapped
    adversary = base.adversary
    if name == "wait":
        return WaitDefender(base.n_techniques)
    if name == "random":
        return RandomDefender(base.n_techniques, seed)
    if name == "popularity":
        return ScoreDefender(adversary.popularity)
    if name == "greedy":
        return ForecastDefender(GreedyAgent(adversary.model))
    if name == "sequence":
        from agents.sequence import SequenceAgent, fit_order_evidence

        evidence = fit_order_evidence(adversary, base.campaign_config.flow_split)
        return ForecastDefender(SequenceAgent(adversary.model, evidence))
    if name == "lookahead":
        return LookAheadDefender(adversary, base.campaign_config.temperature, seed=seed)
    if name == "rollout":
        return RolloutDefender(adversary, base.task, seed=seed)
    if name == "oracle":
        return OracleDefender(env)
    raise ValueError(f"unknown defender {name!r}: use {', '.join(DEFENDERS)}")


def run_defence(env: gym.Env, defender: Defender, episodes: int, seed: int) -> dict[str, list]:
    """Per episode: caught (0/1), return, the reveal of the catch (NaN uncaught), detections,
    and the campaign's source (`info["campaign"]`: a flow's name, "generated", a report)."""
    out: dict[str, list] = {
        "catch": [],
        "return": [],
        "catch_reveal": [],
        "detections": [],
        "campaign": [],
    }
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        out["campaign"].append(str(info.get("campaign", "")))
        defender.reset()
        total, reveal, done = 0.0, 0, False
        budget = env.unwrapped.budget  # type: ignore[attr-defined]
        while not done:
            observation, reward, terminated, truncated, info = env.step(
                defender.act(observation, info)
            )
            total += float(reward)
            reveal += 1
            done = terminated or truncated
        out["catch"].append(float(info["caught"]))
        out["return"].append(total)
        out["catch_reveal"].append(float(reveal) if info["caught"] else float("nan"))
        out["detections"].append(float(budget - info["budget_left"]))
    return out
