import gymnasium as gym
import numpy as np
import pytest

import tie_gym  # noqa: F401
from agents.baselines import FrequencyAgent, GreedyAgent, RandomAgent, TacticGreedyAgent
from agents.evaluate import run_episodes


def _hit_rate(agent, env_id="TIE-Forecast-v0", episodes=60):
    return np.mean(run_episodes(gym.make(env_id), agent, episodes, seed=0)["hit@k"])


def test_greedy_beats_frequency_beats_random():
    env = gym.make("TIE-Forecast-v0").unwrapped
    random_rate = _hit_rate(RandomAgent(env.n_techniques))
    frequency_rate = _hit_rate(FrequencyAgent(env.adversary.popularity))
    greedy_rate = _hit_rate(GreedyAgent(env.adversary.model))
    assert greedy_rate > frequency_rate > random_rate


def test_greedy_guess_mode_and_episode_change_without_reset():
    env = gym.make("TIE-ForecastGuess-v0").unwrapped
    agent = GreedyAgent(env.adversary.model, action_mode="guess")
    obs, info = env.reset(seed=0)
    guess = agent.act(obs, info)
    assert isinstance(guess, int) and env.action_masks()[guess]
    obs2, _ = env.reset(seed=1)  # no agent.reset(): the agent notices techniques disappeared
    assert env.action_masks()[agent.act(obs2, {})]


def _unseen_order(scores, unseen):
    """Unseen columns best first, equal scores in column order (as the env ranks them)."""
    columns = np.flatnonzero(unseen)
    return columns[np.lexsort((-np.asarray(scores, dtype=np.float64)[columns],))]


def test_tactic_greedy_is_greedy_with_earlier_tactics_moved_last():
    """Known answer: the tactic agent's ranking = greedy's later-or-same-tactic techniques in
    greedy's order, then greedy's earlier-tactic techniques in greedy's order."""
    env = gym.make("TIE-Forecast-v0", order="killchain").unwrapped
    rank = env.adversary.first_tactic_rank
    greedy = GreedyAgent(env.adversary.model)
    tactic = TacticGreedyAgent(env.adversary.model, rank)
    moved = 0
    for seed in range(4):
        observation, info = env.reset(seed=seed)
        greedy.reset()
        tactic.reset()
        done = False
        while not done:
            # from the env's state, not the observation: the agent must read the same from it
            unseen, last = env.action_masks(), env.vocabulary.index(env.seen_ids[-1])
            earlier = unseen & (rank < rank[last])
            greedy_order = _unseen_order(greedy.scores(observation), unseen)
            expected = np.concatenate(
                [greedy_order[~earlier[greedy_order]], greedy_order[earlier[greedy_order]]]
            )
            assert np.array_equal(_unseen_order(tactic.scores(observation), unseen), expected)
            action = tactic.act(observation, info)  # rescaled to float32: no longer exact
            if earlier.any() and (~earlier & unseen).any():
                assert action[earlier].max() < action[unseen & ~earlier].min()
            moved += int(earlier[greedy_order[: env.k]].any())
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
    assert moved > 0, "no step had an earlier-tactic technique in greedy's top k: vacuous test"


def test_tactic_greedy_guess_mode_guesses_a_later_tactic():
    env = gym.make("TIE-ForecastGuess-v0", order="killchain").unwrapped
    rank = env.adversary.first_tactic_rank
    agent = TacticGreedyAgent(env.adversary.model, rank, action_mode="guess")
    observation, info = env.reset(seed=0)
    guess = agent.act(observation, info)
    assert env.action_masks()[guess]
    assert rank[guess] >= rank[env.vocabulary.index(env.seen_ids[-1])]
    with pytest.raises(ValueError, match="first_tactic_rank"):
        TacticGreedyAgent(env.adversary.model, rank[:-1])


def test_tactic_greedy_never_ranks_the_revealed_technique_lower_on_killchain_replay(
    real_data_dir,
):
    """Kill-chain replay never reveals an earlier tactic, so the rule can only lift its rank."""
    envs = [gym.make("TIE-ForecastReplay-v0", data_dir=str(real_data_dir)) for _ in range(2)]
    adversary = envs[0].unwrapped.adversary
    agents = [
        GreedyAgent(adversary.model),
        TacticGreedyAgent(adversary.model, adversary.first_tactic_rank),
    ]
    lifted = 0
    for seed in range(30):
        (obs_g, info_g), (obs_t, info_t) = (env.reset(seed=seed) for env in envs)
        for agent in agents:
            agent.reset()
        done = False
        while not done:
            obs_g, _, term, trunc, info_g = envs[0].step(agents[0].act(obs_g, info_g))
            obs_t, _, _, _, info_t = envs[1].step(agents[1].act(obs_t, info_t))
            assert info_t["rank"] <= info_g["rank"]
            lifted += info_t["rank"] < info_g["rank"]
            done = term or trunc
    assert lifted > 0
