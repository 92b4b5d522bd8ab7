"""`python -m agents.tune`: agent studies on Ray Tune — algorithms × hyperparameters × seeds.

Two phases, each a Tune experiment whose trials run `agents.train` unchanged (same run folders,
run.json, TensorBoard logs and `best_model.zip`):

1. `--search optuna --samples N` (optional): Optuna proposes hyperparameters (learning rate,
   entropy coefficient) for each algorithm on the first seed, and ASHA stops the weak trials
   early on the EvalCallback's score (episodes seeded seed + 10,000: agents.train's range). The
   best by the *selection* score wins.
2. A plain grid of algorithms × envs × seeds with the chosen (or the YAML's) hyperparameters
   (the Optuna phase searches on the first env).

Every trial ends by playing its best model on the selection episodes (seeds from 200,000,
`agents.evaluate.SELECTION_SEED`), never on the benchmark's (from 100,000), so a study chooses
nothing on the numbers a results table reports. Each trial's seeds and hyperparameters are in its
run folder's run.json; `study.md` / `study.json` in `--out` list every trial and the choice.

On a cluster: `ray start --head` on one machine, `ray start --address HEAD:6379` on the others,
then `python -m agents.tune ... --address HEAD:6379`; run folders go to `--out`, which must be a
folder every node can write (a shared file system), and Tune's own records to `<out>/tune/`.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recommenders.errors import DataError

log = logging.getLogger("agents.tune")


@dataclass(frozen=True)
class StudyConfig:
    """One study; recorded in study.json."""

    envs: tuple[str, ...] = ("TIE-ForecastGuess-v0",)
    """The env ids of the grid (agents.train's --env); the Optuna phase searches on the first."""
    algos: tuple[str, ...] = ("maskable_ppo",)
    seeds: tuple[int, ...] = (0, 1, 2)
    timesteps: int = 100_000
    n_envs: int | None = None
    """Training envs per trial (None: the YAML's `n_envs`, else 8, as agents.train)."""
    eval_freq: int = 10_000
    """Steps between EvalCallback evaluations: the points where ASHA may stop a trial."""
    eval_episodes: int = 50
    search: str = "grid"
    """"grid" (the YAML's hyperparameters for every algorithm × seed) or "optuna" (phase 1 first)."""
    samples: int = 8
    """Optuna trials per algorithm in phase 1."""
    selection_episodes: int = 200
    """Episodes from SELECTION_SEED that score each trial's best model."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters every trial takes (as agents.train --set)."""
    out: str = "runs/agents-tune"
    address: str | None = None
    """Ray cluster address; None starts a local Ray."""
    cpus: int | None = None
    """CPUs of the local Ray (None: this machine's); ignored with `address`."""


SPACE = {"learning_rate": (1e-5, 1e-3), "ent_coef": (1e-5, 1e-1)}
"""Optuna's log-uniform ranges in phase 1."""


def trial(params: dict[str, Any]) -> None:
    """One Tune trial: agents.train with this trial's algorithm, seed and settings, reporting each
    evaluation to Tune (for ASHA), then the selection score of its best model."""
    import torch
    from ray import tune

    from agents.train import AgentTrainConfig, train

    torch.set_num_threads(1)
    study = StudyConfig(**params["study"])
    settings = {**study.overrides, **params.get("settings", {})}
    tag = "-".join(f"{k}{v:.3g}" for k, v in sorted(params.get("settings", {}).items()))
    if params.get("phase") == "search":  # its own folder: the grid may rerun the same settings
        tag = f"search-{tag}-{tune.get_context().get_trial_id()}"
    config = AgentTrainConfig(
        algo=params["algo"],
        env=params["env"],
        timesteps=study.timesteps,
        n_envs=study.n_envs,
        seed=params["seed"],
        overrides=settings,
        out=str(Path(study.out) / "runs"),
        eval_freq=study.eval_freq,
        eval_episodes=study.eval_episodes,
        progress=False,
        name=tag,
        overwrite=True,
    )
    last = [0.0]

    def report(steps: int, score: float) -> None:
        last[0] = score
        tune.report({"eval_score": score, "timesteps": steps})

    run = train(config, on_eval=report)
    tune.report(
        {
            "eval_score": last[0],  # the scheduler's metric must be in every report
            "selection_score": selection_score(run, params["env"], study.selection_episodes),
            "run": str(run),
        }
    )


def selection_score(run: Path, env_id: str, episodes: int) -> float:
    """The run's best model on the selection episodes: hits per forecast, or Defend's return."""
    import gymnasium as gym
    import numpy as np

    from agents.evaluate import SELECTION_SEED, is_defend, run_episodes
    from agents.policy import PolicyAgent, load_run

    env = gym.make(env_id)
    model = load_run(run, env)
    if is_defend(env):
        from agents.defenders import PolicyDefender, run_defence

        defender = PolicyDefender(model, env.unwrapped.n_techniques)  # type: ignore[attr-defined]
        return float(np.mean(run_defence(env, defender, episodes, SELECTION_SEED)["return"]))
    agent = PolicyAgent(model, env.unwrapped.n_techniques)  # type: ignore[attr-defined]
    agent.action_mode = env.unwrapped.task.action_mode  # type: ignore[attr-defined]
    return float(np.mean(run_episodes(env, agent, episodes, SELECTION_SEED)["hit@k"]))


def _tuner(study: StudyConfig, name: str, space: dict[str, Any], **tune_config: Any) -> Any:
    from ray import tune

    storage = Path(study.out).absolute() / "tune"
    return tune.Tuner(
        tune.with_resources(trial, {"cpu": 1}),
        param_space={"study": asdict(study), **space},
        tune_config=tune.TuneConfig(**tune_config),
        run_config=tune.RunConfig(name=name, storage_path=str(storage), verbose=0),
    )


def _rows(results: Any, phase: str) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        if result.error:
            rows.append({"phase": phase, "error": str(result.error).splitlines()[0]})
            continue
        history = result.metrics_dataframe
        config = result.config
        rows.append(
            {
                "phase": phase,
                "algo": config["algo"],
                "env": config["env"],
                "seed": config["seed"],
                "settings": config.get("settings", {}),
                "selection_score": result.metrics.get("selection_score"),
                "evaluations": int(history["eval_score"].notna().sum())
                if history is not None
                else 0,
                "stopped_early": "selection_score" not in result.metrics,
                "run": result.metrics.get("run"),
            }
        )
    return rows


def study(config: StudyConfig) -> list[dict[str, Any]]:
    """Run the study (`config.search`), write study.md and study.json; returns the trials."""
    from ray import tune

    from recommenders.distributed import start_ray

    start_ray(config.address, config.cpus)
    rows: list[dict[str, Any]] = []
    chosen: dict[str, dict[str, Any]] = {algo: {} for algo in config.algos}
    if config.search == "optuna":
        from ray.tune.schedulers import ASHAScheduler
        from ray.tune.search.optuna import OptunaSearch

        for algo in config.algos:
            space = {
                "phase": "search",
                "algo": algo,
                "env": config.envs[0],
                "seed": config.seeds[0],
                "settings": {k: tune.loguniform(*bounds) for k, bounds in SPACE.items()},
            }
            results = _tuner(
                config,
                f"search-{algo}",
                space,
                search_alg=OptunaSearch(seed=config.seeds[0]),
                scheduler=ASHAScheduler(grace_period=1, reduction_factor=2),
                metric="eval_score",
                mode="max",
                num_samples=config.samples,
            ).fit()
            found = _rows(results, f"search {algo}")
            rows += found
            finished = [r for r in found if r.get("selection_score") is not None]
            if finished:
                chosen[algo] = max(finished, key=lambda r: r["selection_score"])["settings"]
    elif config.search != "grid":
        raise ValueError(f'search must be "grid" or "optuna", got {config.search!r}')
    space = {
        "algo": tune.grid_search(list(config.algos)),
        "env": tune.grid_search(list(config.envs)),
        "seed": tune.grid_search(list(config.seeds)),
        "settings": tune.sample_from(lambda config: chosen[config["algo"]]),
    }
    rows += _rows(_tuner(config, "seeds", space).fit(), "seeds")
    write_study(config, rows, chosen)
    return rows


def write_study(config: StudyConfig, rows: list[dict[str, Any]], chosen: dict[str, Any]) -> None:
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(
        json.dumps({"config": asdict(config), "chosen": chosen, "trials": rows}, indent=2) + "\n",
        encoding="utf-8",
    )
    lines = [
        f"# Agent study on {', '.join(config.envs)} ({config.timesteps:,} steps per trial)",
        "",
        "| phase | algorithm | env | seed | settings | selection score | evaluations | run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['phase']} | error: {r['error']} | | | | | | |")
            continue
        score = "stopped by ASHA" if r["stopped_early"] else f"{r['selection_score']:.3f}"
        settings = ", ".join(f"{k}={v:.3g}" for k, v in r["settings"].items()) or "YAML"
        lines.append(
            f"| {r['phase']} | {r['algo']} | {r['env']} | {r['seed']} | {settings} | {score} | {r['evaluations']} | {r['run'] or ''} |"
        )
    lines += [
        "",
        f"Selection episodes: {config.selection_episodes} from seed 200,000 (never the benchmark's).",
    ]
    (out / "study.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    defaults = StudyConfig()
    parser = argparse.ArgumentParser(
        prog="python -m agents.tune",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--env", nargs="+", default=list(defaults.envs), help="env ids (grid)")
    add("--algos", nargs="+", default=list(defaults.algos), help="algorithms (agents.train --algo)")
    add("--seeds", nargs="+", type=int, default=list(defaults.seeds), help="training seeds (grid)")
    add("--timesteps", type=int, default=defaults.timesteps, help="env steps per trial")
    add("--n-envs", type=int, default=defaults.n_envs, help="training envs per trial")
    add("--eval-freq", type=int, default=defaults.eval_freq, help="steps between evaluations")
    add("--eval-episodes", type=int, default=defaults.eval_episodes, help="episodes per evaluation")
    add("--search", choices=["grid", "optuna"], default=defaults.search, help="phase 1 or not")
    add("--samples", type=int, default=defaults.samples, help="Optuna trials per algorithm")
    add(
        "--selection-episodes",
        type=int,
        default=defaults.selection_episodes,
        help="episodes from seed 200,000 that score each trial",
    )
    add("--set", nargs="*", default=[], metavar="KEY=VALUE", help="settings every trial takes")
    add("--out", default=defaults.out, help="run folders (runs/), study.md/json, tune/")
    add("--address", help="Ray cluster address (default: a local Ray)")
    add("--cpus", type=int, help="CPUs of the local Ray (default: this machine's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from agents.train import parse_overrides

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = StudyConfig(
        envs=tuple(args.env),
        algos=tuple(args.algos),
        seeds=tuple(args.seeds),
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        search=args.search,
        samples=args.samples,
        selection_episodes=args.selection_episodes,
        overrides=parse_overrides(args.set),
        out=args.out,
        address=args.address,
        cpus=args.cpus,
    )
    try:
        rows = study(config)
    except DataError as exc:
        log.error("python -m agents.tune: error: %s", exc)
        return 2
    print((Path(config.out) / "study.md").read_text())
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
