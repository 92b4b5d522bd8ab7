"""`python -m agents.evaluate`: score defenders on TIE-Forecast environments, seeded.

Agents: `random`, `frequency`, `greedy` (the env adversary's own recommender: TIE's approach),
`greedy_tactic` (greedy that never forecasts a technique whose first tactic comes before the last
revealed one's: it exploits the kill-chain sort the replay envs impose on report sets, not an
observed order), `markov` (kill-chain transitions fitted on the training reports), `sequence`
(greedy re-ranked by real order learned from TRAM's narrative order and the Attack Flow
incidents: agents/sequence.py), and
learned ones given as `NAME=GLOB` of `agents.train` run folders (one folder per training seed), e.g.
`maskable_ppo=runs/agents/maskable_ppo-TIE-ForecastGuess-v0-seed*`.

Every agent ranks the techniques (a learned single-guess policy by its action preferences): on a
score-vector env the ranking is the forecast; on a single-guess env (…Guess…) the guess is the
top unseen technique and the table scores hit@1. A learned agent may also be a plain SB3 zip
(`NAME=ppo_tie.zip`, or `NAME=ppo:ppo_tie.zip` to name its algorithm), loaded without unpickling. Per step: hit@k, NDCG@k, hit@1; per episode: campaign recall (share of the
campaign's reveals forecast in time) and steps to the first hit. Learned agents: mean ± 95% CI
over training seeds; baselines: mean ± 95% CI over episodes.

Episode seeds come from three disjoint ranges, so that nothing is chosen on the episodes that
report it (episode e of a range starting at S is `reset(seed=S + e)`; a vectorised env is seeded
once and its later episodes follow from that seed):

- training, `agents.train` with training seed s (s + n_envs ≤ TRAIN_EVAL_SEED_OFFSET): the
  training envs are seeded at s … s + n_envs − 1, within [0, 10 000), and the EvalCallback env
  that picks `best_model.zip` at s + TRAIN_EVAL_SEED_OFFSET, within [10 000, 20 000);
- the benchmark, this CLI's default: [EVALUATION_SEED, + SEED_RANGE_WIDTH) = [100 000, 200 000);
- hyperparameter selection, `benchmarks.agents_sweep`: [SELECTION_SEED, + SEED_RANGE_WIDTH)
  = [200 000, 300 000).

On the replay envs the seeds pick among the same held-out test reports, so only the generative
envs give each range campaigns of its own.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import logging
import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

import tie_gym  # noqa: F401
from agents.algorithms import ALGORITHMS
from agents.baselines import Agent, FrequencyAgent, GreedyAgent, RandomAgent, TacticGreedyAgent
from agents.corpus import DATA_FIX, data_folder_given, needs_corpus, require_corpus
from agents.policy import PolicyAgent, load_learned
from recommenders.errors import DataError
from tie_gym.adversary import Adversary

log = logging.getLogger("agents.evaluate")
EVALUATION_SEED = 100_000
"""First episode seed of the benchmark (the numbers a results table reports)."""
SELECTION_SEED = 200_000
"""First episode seed for choosing hyperparameters (benchmarks.agents_sweep)."""
TRAIN_EVAL_SEED_OFFSET = 10_000
"""agents.train seeds its EvalCallback env (best-model selection) at training seed + this; it also
bounds training seed + n_envs, so that training envs stay below the EvalCallback range."""
SEED_RANGE_WIDTH = 100_000
"""Episodes the evaluation and the selection range may each use before they meet."""
METRICS = ("hit@k", "ndcg@k", "hit@1", "campaign_recall", "steps_to_first_hit")
BASELINES = ("random", "frequency", "greedy", "greedy_tactic", "markov", "sequence")
"""The baseline agents by name, in table order (the default --agents)."""
DEFAULT_ENVS = ("TIE-Forecast-v0", "TIE-ForecastReplay-v0")
"""The default --env list: generated campaigns, then real held-out reports (needs the corpus)."""
# two-sided 95% Student t quantiles for small seed counts (df = n - 1)
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def learned_paths(pattern: str) -> tuple[str | None, list[Path]]:
    """The GLOB of `NAME=GLOB` (or `NAME=ALGO:GLOB`): `agents.train` run folders or plain SB3
    zips, sorted, and the algorithm when it is named."""
    algorithm, _, rest = pattern.partition(":")
    if rest and algorithm in ALGORITHMS:
        return algorithm, sorted(Path(p) for p in glob.glob(rest))
    return None, sorted(Path(p) for p in glob.glob(pattern))


def scored_k(env: gym.Env) -> int:
    """The forecast length a step scores: k, or 1 on a single-guess env."""
    base: Any = env.unwrapped
    return 1 if base.task.action_mode == "guess" else int(base.k)


def run_episodes(env: gym.Env, agent: Agent, episodes: int, seed: int) -> dict[str, list[float]]:
    """Per-step and per-episode measurements over seeded episodes."""
    k = scored_k(env)
    out: dict[str, list[float]] = {m: [] for m in METRICS}
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        agent.reset()
        hits, first_hit, step, done = [], math.nan, 0, False
        while not done:
            observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
            step += 1
            rank = info["rank"]
            hit = rank is not None and rank <= k
            hits.append(hit)
            out["hit@k"].append(float(hit))
            out["ndcg@k"].append(1.0 / math.log2(rank + 1) if hit else 0.0)
            out["hit@1"].append(float(rank == 1))
            if hit and math.isnan(first_hit):
                first_hit = step
            done = terminated or truncated
        out["campaign_recall"].append(float(np.mean(hits)))
        out["steps_to_first_hit"].append(first_hit)
    return out


def _mean_ci(values: list[float]) -> tuple[float, float]:
    array = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if len(array) == 0:
        return math.nan, math.nan
    if len(array) == 1:
        return float(array[0]), math.nan
    spread = array.std(ddof=1) / math.sqrt(len(array))
    quantile = _T95.get(len(array) - 1, 1.96)
    return float(array.mean()), float(quantile * spread)


def build_agents(spec: list[str], env: gym.Env, seed: int) -> dict[str, list[Agent]]:
    """Agent name → one agent per training seed (baselines have one); on a single-guess env
    every agent guesses its top unseen technique."""
    base = env.unwrapped
    adversary = base.adversary
    agents: dict[str, list[Agent]] = {}
    for item in spec:
        if item == "random":
            agents[item] = [RandomAgent(base.n_techniques, seed=seed)]
        elif item == "frequency":
            agents[item] = [FrequencyAgent(adversary.popularity)]
        elif item == "greedy":
            agents[item] = [GreedyAgent(adversary.model)]
        elif item == "greedy_tactic":
            agents[item] = [TacticGreedyAgent(adversary.model, adversary.first_tactic_rank)]
        elif item == "markov":
            from agents.markov import MarkovAgent, fit_transitions

            agents[item] = [MarkovAgent(fit_transitions(adversary, seed), adversary.popularity)]
        elif item == "sequence":
            from agents.sequence import SequenceAgent, fit_order_evidence

            split = base.campaign_config.flow_split
            agents[item] = [SequenceAgent(adversary.model, fit_order_evidence(adversary, split))]
        elif "=" in item:
            name, pattern = item.split("=", 1)
            algorithm, paths = learned_paths(pattern)
            if not paths:
                raise FileNotFoundError(f"{item}: {NO_MATCH}")
            agents[name] = [
                playable(path, lambda m: PolicyAgent(m, base.n_techniques), env, algorithm)
                for path in paths
            ]
        else:
            raise ValueError(f"unknown agent {item!r}: use {', '.join(BASELINES)} or NAME=GLOB")
    for members in agents.values():
        for member in members:
            member.action_mode = base.task.action_mode
    return agents


def playable(path: Path, make: Any, env: gym.Env, algorithm: str | None) -> Any:
    """`make(policy)` for the learned policy at `path`, or a one-line DataError naming the path
    when it cannot play `env` (another env's action space, another vocabulary)."""
    try:
        return make(load_learned(path, env, algorithm))
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(path, None, str(exc), "choose the env it was trained on") from exc


NO_MATCH = (
    "nothing matches; give agents.train run folders or SB3 zips (NAME=GLOB, or NAME=ALGO:PATH "
    "when the zip's algorithm is not recognised), or train one with `python -m agents.train`"
)


DEFEND_METRICS = ("catch", "return", "catch_reveal", "detections")
"""TIE-Defend, per episode: caught or not, return, the reveal of the catch, detections spent."""


def is_defend(env: gym.Env) -> bool:
    """Whether an env (wrapped or not) is TIE-Defend, which `agents.defenders` play."""
    return hasattr(env.unwrapped, "budget")


def evaluate_defence(
    env_id: str, env: gym.Env, agent_spec: list[str], episodes: int, seed: int
) -> list[dict[str, Any]]:
    """Rows of the Defend table: a heuristic's mean ± 95% CI over episodes, a learned defender's
    (NAME=GLOB of agents.train runs) over its training seeds."""
    from agents.defenders import PolicyDefender, build_defender, run_defence

    rows = []
    n = env.unwrapped.n_techniques
    for item in agent_spec:
        if "=" in item:  # learned: one defender per training seed, CI over seeds
            name, pattern = item.split("=", 1)
            algorithm, paths = learned_paths(pattern)
            members = [playable(p, lambda m: PolicyDefender(m, n), env, algorithm) for p in paths]
        else:
            name, members = item, [build_defender(item, env, seed)]
        results = [run_defence(env, member, episodes, seed) for member in members]
        rows.append(summary_row(env_id, name, episodes, results, DEFEND_METRICS))
    return rows


def summary_row(
    env_id: str,
    name: str,
    episodes: int,
    results: list[dict[str, list[float]]],
    metrics: tuple[str, ...],
) -> dict[str, Any]:
    """One table row: each metric's mean ± 95% CI, over training seeds when there are several
    (one mean per seed), else over the episodes of the one."""
    row: dict[str, Any] = {
        "env": env_id,
        "agent": name,
        "seeds": len(results),
        "episodes": episodes,
    }
    for metric in metrics:
        if len(results) > 1:
            mean, ci = _mean_ci([float(np.nanmean(r[metric])) for r in results])
        else:
            mean, ci = _mean_ci(results[0][metric])
        row[metric], row[f"{metric}_ci95"] = mean, ci
    return row


def evaluate(
    envs: list[str], agent_spec: list[str], episodes: int, seed: int, env_kwargs: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = []
    for env_id in envs:
        env = gym.make(env_id, **env_kwargs)
        if is_defend(env):
            rows += evaluate_defence(env_id, env, agent_spec, episodes, seed)
            continue
        agents = build_agents(agent_spec, env, seed)
        # features draw no random numbers: with or without them, a seed gives the same campaigns
        featured = (
            gym.make(env_id, **{**env_kwargs, "features": "recommender"})
            if any(
                getattr(m, "features", "none") == "recommender"
                for ms in agents.values()
                for m in ms
            )
            else env
        )
        for name, members in agents.items():
            per_member = [
                run_episodes(
                    featured if getattr(member, "features", "none") == "recommender" else env,
                    member,
                    episodes,
                    seed,
                )
                for member in tqdm(members, desc=f"{env_id} {name}", disable=None)
            ]
            row = summary_row(env_id, name, episodes, per_member, METRICS)
            row["k"] = scored_k(env)
            row["no_hit_episodes"] = float(
                np.mean([math.isnan(v) for m in per_member for v in m["steps_to_first_hit"]])
            )
            rows.append(row)
    return rows


def _cell(row: dict[str, Any], metric: str) -> str:
    ci = row[f"{metric}_ci95"]
    return f"{row[metric]:.3f}" + ("" if math.isnan(ci) else f" ± {ci:.3f}")


def markdown(rows: list[dict[str, Any]]) -> str:
    """The forecast tables (one per forecast length: a Guess env scores hit@1, the others
    hit@k), and the Defend table when Defend envs were played."""
    forecast = [r for r in rows if "hit@k" in r]
    defend = [r for r in rows if "catch" in r]
    tables = []
    for k in sorted({r["k"] for r in forecast}, reverse=True):
        header = f"| env | agent | seeds | hit@{k} | NDCG@{k} | hit@1 | campaign recall | steps to 1st hit | episodes w/o hit |"
        lines = [header, "|" + "---|" * 9]
        for r in (r for r in forecast if r["k"] == k):
            cells = " | ".join(_cell(r, m) for m in METRICS)
            lines.append(
                f"| {r['env']} | {r['agent']} | {r['seeds']} | {cells} | {r['no_hit_episodes']:.2f} |"
            )
        tables.append("\n".join(lines))
    if defend:
        lines = [
            "| env | defender | seeds | catch rate | mean return | reveal of the catch | detections used |",
            "|" + "---|" * 7,
        ]
        for r in defend:
            cells = " | ".join(_cell(r, m) for m in DEFEND_METRICS)
            lines.append(f"| {r['env']} | {r['agent']} | {r['seeds']} | {cells} |")
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(r["env"] for r in rows))
    fig, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 4), squeeze=False)
    for ax, env_id in zip(axes[0], envs, strict=True):
        chosen = [r for r in rows if r["env"] == env_id]
        forecast = "hit@k" in chosen[0]
        metric, label = (
            ("hit@k", f"hit@{chosen[0]['k']}") if forecast else ("return", "mean return")
        )
        ax.bar(
            [r["agent"] for r in chosen],
            [r[metric] for r in chosen],
            yerr=[0 if math.isnan(r[f"{metric}_ci95"]) else r[f"{metric}_ci95"] for r in chosen],
            capsize=4,
        )
        ax.set_title(env_id)
        ax.set_ylabel(label)
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def learning_curves(pattern_items: list[str], path: Path) -> None:
    """EvalCallback curves (mean eval reward vs steps), one line per training seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for item in pattern_items:
        name, pattern = item.split("=", 1)
        for run in learned_paths(pattern)[1]:
            if run.is_file():  # a plain SB3 zip keeps no learning curve
                continue
            if not (Path(run) / "evaluations.npz").is_file():
                log.warning(
                    "%s: no evaluations.npz (trained for less than --eval-freq): no curve", run
                )
                continue
            data = np.load(Path(run) / "evaluations.npz")
            ax.plot(
                data["timesteps"],
                data["results"].mean(axis=1),
                label=f"{name} {Path(run).name[-5:]}",
            )
    ax.set_xlabel("environment steps")
    ax.set_ylabel("eval reward per episode")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def drop_or_require_corpus(
    envs: list[str], agent_spec: list[str], env_kwargs: dict[str, Any], defaulted: set[str]
) -> tuple[list[str], list[str]]:
    """The envs and agents to run, once it is clear that everything that needs the corpus has it.

    Replay and flow envs, `markov` and `sequence` need the data folder (agents.corpus). Without a data folder, those that
    came from the default lists (`defaulted` holds "env" and/or "agents") are dropped with a
    one-line notice, so that the bare command works from the shipped model; those the user named
    stop the run here, before any episode, with a one-line DataError. A data folder that is given
    but unusable is always an error: it is a mistake to report, not a choice.
    """
    needers: dict[str, Adversary] = {}
    for env_id in envs:
        env: Any = gym.make(env_id, **env_kwargs)
        if needs_corpus(env):
            needers[env_id] = env.unwrapped.adversary
        for name in ("markov", "sequence"):
            if name in agent_spec:
                needers.setdefault(name, env.unwrapped.adversary)
    if not needers:
        return envs, agent_spec
    flag = {name: "--agents" if name in ("markov", "sequence") else "--env" for name in needers}
    if not data_folder_given(next(iter(needers.values()))):
        skipped = [n for n in needers if flag[n].lstrip("-") in defaulted]
        if skipped:
            log.warning(
                "agents.evaluate: skipping %s from the default list (the TIE corpus is needed "
                "and TIE_DATA_DIR is not set); to include, %s",
                " and ".join(skipped),
                DATA_FIX,
            )
        envs = [e for e in envs if e not in skipped]
        agent_spec = [a for a in agent_spec if a not in skipped]
        needers = {n: a for n, a in needers.items() if n not in skipped}
    for adversary in {id(a): a for a in needers.values()}.values():
        names = [n for n, a in needers.items() if a is adversary]
        leave_out = " and ".join(f"{n} out of {flag[n]}" for n in names)
        require_corpus(adversary, " and ".join(names), f"or leave {leave_out}")
    return envs, agent_spec


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agents.evaluate",
        description=__doc__.splitlines()[0],
        epilog="Replay and flow envs, markov and sequence read the data folder (TIE_DATA_DIR). Without it, the "
        "default lists drop them with a notice; naming them stops the run with the fix.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    # SUPPRESS: parse_args must tell a default list from the same list typed by the user
    parser.add_argument(
        "--env",
        nargs="+",
        metavar="ID",
        default=argparse.SUPPRESS,
        help="TIE-Forecast env ids to play; replay ids (…Replay…) need TIE_DATA_DIR "
        f"(default: {' '.join(DEFAULT_ENVS)})",
    )
    parser.add_argument(
        "--agents",
        nargs="+",
        metavar="AGENT",
        default=argparse.SUPPRESS,
        help=f"baselines by name ({', '.join(BASELINES)}; markov and sequence need TIE_DATA_DIR) and learned "
        "agents as NAME=GLOB: NAME labels the row, GLOB matches `agents.train` run folders or "
        "SB3 zips (NAME=ALGO:PATH names a zip's algorithm), one per training seed, averaged "
        "with a 95%% CI over them; quote it so that the shell leaves "
        "the * alone, e.g. 'mppo=runs/agents/maskable_ppo-TIE-ForecastGuess-v0-seed*' "
        f"(default: {' '.join(BASELINES)}); on TIE-Defend envs the defenders of "
        "agents/defenders.py (wait random popularity greedy sequence lookahead oracle, the "
        "default; rollout when named: it is slow)",
    )
    parser.add_argument(
        "--episodes",
        type=int,
        default=300,
        help="episodes per agent and env, seeds SEED, SEED+1, …",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=EVALUATION_SEED,
        help="first episode seed; keep the default for reported numbers, use "
        f"{SELECTION_SEED} and up to choose hyperparameters (all seed ranges: agents/evaluate.py)",
    )
    parser.add_argument(
        "--env-kwargs",
        default="{}",
        help="JSON object of keyword arguments for every env, e.g. '{\"k\": 5}'",
    )
    parser.add_argument(
        "--out",
        default="runs/evaluation",
        help="folder for results.md, .json, .csv and comparison.png (and learning_curves.png)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and BLAS/OpenMP threads: one env steps at a time, so 1 is fastest",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The CLI's arguments; `defaulted` names the lists ("env", "agents") left at their default."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.defaulted = {name for name in ("env", "agents") if not hasattr(args, name)}
    args.env = list(getattr(args, "env", DEFAULT_ENVS))
    args.agents = list(getattr(args, "agents", BASELINES))
    from agents.defenders import DEFENDERS

    defend = [e for e in args.env if "Defend" in e]
    if defend and len(defend) < len(args.env):
        parser.error(
            "evaluate TIE-Defend and TIE-Forecast envs in separate runs: their agents differ"
        )
    if defend and "agents" in args.defaulted:
        # rollout simulates 9 actions × 128 continuations per decision (minutes per hundred
        # episodes): it runs when named
        args.agents = [d for d in DEFENDERS if d != "rollout"]
    names = DEFENDERS if defend else BASELINES
    for item in args.agents:
        if item not in names and "=" not in item:
            parser.error(f"unknown agent {item!r}: use {', '.join(names)} or NAME=GLOB")
        if "=" in item and not learned_paths(item.split("=", 1)[1])[1]:
            parser.error(f"{item}: {NO_MATCH}")
    try:
        args.env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as exc:
        parser.error(f"--env-kwargs is not JSON ({exc}); write e.g. '{{\"k\": 5}}'")
    if not isinstance(args.env_kwargs, dict):
        parser.error("--env-kwargs must be a JSON object, e.g. '{\"k\": 5}'")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # single-threaded by default: torch and BLAS pools would oversubscribe the batch-of-one steps
    # here (and any other process beside it); the Makefile's OPENBLAS_NUM_THREADS, in code
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        try:
            envs, agent_spec = drop_or_require_corpus(
                args.env, args.agents, args.env_kwargs, args.defaulted
            )
            rows = evaluate(envs, agent_spec, args.episodes, args.seed, args.env_kwargs)
        except DataError as exc:
            log.error("python -m agents.evaluate: error: %s", exc)
            return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows)
    (out / "results.md").write_text(table + "\n", encoding="utf-8")
    (out / "results.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "comparison.png")
    trained = [
        a
        for a in agent_spec
        if "=" in a and any(p.is_dir() for p in learned_paths(a.split("=", 1)[1])[1])
    ]
    if trained:  # plain SB3 zips keep no learning curve
        learning_curves(trained, out / "learning_curves.png")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
