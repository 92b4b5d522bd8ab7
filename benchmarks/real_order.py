"""Next-technique forecasts on real attack order: leave-one-flow-out over the Attack Flow incidents.

Protocol (issue 12):
- the recommender is trained by the project's pipeline (`recommenders.train`, EASE, selection on
  validation) on the TIE corpus *without* its reports whose `origin_of_data` is "attack flow" (the
  same incidents as sets) and without any other copy of a flow's incident
  (`recommenders.flows.copies_of`);
- each Attack Flow incident is held out in turn, its drawings together (`recommenders.flows.incident`:
  the three CISA AA22-138B drawings, the two FIN13 cases); the order-aware forecaster learns from
  the other flows and TRAM's narrative order (minus the narratives of the held-out incident,
  `recommenders.order.NARRATIVES_OF_FLOWS`), and picks its three weights, among those that
  keep 95% of greedy's recall@20 on 400 of the model's training reports (half shown), by an inner
  leave-one-flow-out over those other flows only;
- every flow is replayed `--orders` times in seeded topological orders through
  `env.reset(options={"campaign": …})` (the first technique shown, every later one forecast);
  the same flows sorted by tactic ("kill-chain", the order our replay envs impose) beside them;
- hit@1, hit@10 and MRR per flow, then mean and 95% interval (Student t) over flows.

Run: python -m benchmarks.real_order [--orders 20]; writes benchmarks/results/real_order.md.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import scipy.sparse as sp

import tie_gym  # noqa: F401  (registers the envs)
from agents.baselines import Agent, FrequencyAgent, GreedyAgent, RandomAgent, TacticGreedyAgent
from agents.markov import MarkovAgent, fit_transitions
from agents.sequence import SequenceAgent, standardised
from benchmarks.timing import write_table
from recommenders.attack import load_catalog
from recommenders.data import (
    DEFAULT_CORPUS,
    default_attack_path,
    normalised_url,
    resolve_data_dir,
)
from recommenders.flows import Flow, copies_of, incident, load_flows
from recommenders.jsonio import read_json, write_json
from recommenders.order import (
    OrderEvidence,
    enabling_pairs,
    narrative_pairs,
    narratives_of,
    order_agreement,
    tram_narratives,
)
from recommenders.procedures import load_procedures
from recommenders.text.corpus import load_text_corpus
from recommenders.train import TrainConfig, run

GRID = np.array(
    list(itertools.product((0.0, 0.5, 1.0, 2.0), (0.0, 0.5, 1.0), (0.0, 0.5, 1.0, 3.0)))
)
"""(succession, tactics, backtrack) weights the inner leave-one-flow-out chooses among."""
K = 10


@dataclass(frozen=True)
class Step:
    """One forecast: what was seen (in order), the greedy scores then, and what came next."""

    flow: int
    seen: np.ndarray
    base: np.ndarray
    target: int
    later: np.ndarray
    """The campaign's techniques after the target: what an order oracle would push down."""


def rank(scores: np.ndarray, seen: np.ndarray, target: int) -> int:
    """The env's rank: 1 + unseen techniques scored higher, ties in column order (tie_gym.ranking)."""
    value = scores[target]
    ahead = scores > value
    ahead[:target] |= scores[:target] == value
    return 1 + int(np.count_nonzero(ahead & ~seen))


def summary(per_flow: list[list[int]]) -> dict[str, tuple[float, float]]:
    """hit@1, hit@10, MRR: mean over flows of each flow's mean, and the 95% half-width."""
    out = {}
    for name, fn in (
        ("hit@1", lambda r: r == 1),
        ("hit@10", lambda r: r <= K),
        ("MRR", lambda r: 1.0 / r),
    ):
        values = np.array([np.mean(fn(np.asarray(ranks, dtype=np.float64))) for ranks in per_flow])
        t95 = 2.07 if len(values) > 20 else 2.1  # df ≈ 22; 20
        half = t95 * values.std(ddof=1) / math.sqrt(len(values))
        out[name] = (float(values.mean()), float(half))
    return out


def play(env: gym.Env, agent: Agent, campaign: list[str]) -> list[int]:
    """Ranks of every forecast of one campaign given at reset."""
    observation, info = env.reset(options={"campaign": campaign})
    agent.reset()
    ranks, done = [], False
    while not done:
        observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
        ranks.append(int(info["rank"]))
        done = terminated or truncated
    return ranks


def without_flow_copies(
    root: Path, out: Path, flows: list[Flow], narratives: dict[str, list[str]]
) -> tuple[Path, list[str]]:
    """A data folder like `root` whose corpus lacks every report that is one of the flows'
    incidents again: origin "attack flow", and any other that cites a flow's source, shares
    half its techniques, or is a TRAM narrative of it as a set (`recommenders.flows.copies_of`).
    Returns the folder and the dropped report IDs (the other folders are linked, not copied)."""
    payload = read_json(root / DEFAULT_CORPUS)
    reports = payload["reports"] if isinstance(payload, dict) else payload
    rows = [
        (
            r["id"],
            set(r["mitre_techniques"]),
            [x.get("url") or "" for x in r.get("references") or []],
        )
        for r in reports
    ]
    dropped = {r["id"] for r in reports if r.get("origin_of_data") == "attack flow"}
    for flow in flows:
        told = [set(narratives[t]) for t in narratives_of(incident(flow.name), narratives)]
        dropped |= set(copies_of(flow, rows, also=told))
    (out / "tie").mkdir(parents=True)
    kept = [r for r in reports if r["id"] not in dropped]
    write_json(
        out / DEFAULT_CORPUS, {**payload, "reports": kept} if isinstance(payload, dict) else kept
    )
    for folder in ("attack", "tram", "attack-flow"):
        (out / folder).symlink_to(root / folder)
    return out, sorted(
        map(str, dropped - {r["id"] for r in reports if r.get("origin_of_data") == "attack flow"})
    )


def without_flow_procedures(root: Path, out: Path, flows: list[Flow]) -> tuple[Path, int]:
    """A data folder like `root` (already without the flows' copies) whose ATT&CK bundle lacks
    the procedure examples that tell a flow's incident: every `uses` citing one of a flow's
    references, then every use of a group, software or campaign whose remaining technique set is
    a copy of a flow's (Jaccard ≥ 0.5, `copies_of`). Returns the folder and the uses removed."""
    bundle = default_attack_path(root)
    payload = read_json(bundle)
    cited = {normalised_url(u) for flow in flows for u in flow.references} - {""}

    def cites_flow(relationship: dict[str, Any]) -> bool:
        refs = relationship.get("external_references") or []
        return any(normalised_url(r.get("url") or "") in cited for r in refs)

    techniques: dict[str, set[str]] = {}
    for use in load_procedures(bundle, load_catalog(bundle)):
        if not use.urls & cited:  # the uses left once those citing a flow are gone
            techniques.setdefault(use.source, set()).add(use.technique)
    rows = [(source, found, ()) for source, found in techniques.items()]
    copied = {source for flow in flows for source in copies_of(flow, rows)}
    objects = [
        o
        for o in payload["objects"]
        if not (
            o.get("relationship_type") == "uses"
            and (cites_flow(o) or o.get("source_ref") in copied)
        )
    ]
    (out / "attack").mkdir(parents=True)
    write_json(out / "attack" / bundle.name.removesuffix(".gz"), {**payload, "objects": objects})
    for folder in ("tie", "tram", "attack-flow"):
        (out / folder).symlink_to((root / folder).resolve())
    return out, len(payload["objects"]) - len(objects)


def train_without_flows(root: Path, out: Path, procedures: float = 0.0) -> Path:
    """The pipeline's EASE (selection on validation) on a data folder, with ATT&CK's procedure
    examples as rows of weight `procedures` (0: none)."""
    return run(
        TrainConfig(
            data_dir=str(root),
            out=str(out),
            models=("ease",),
            plots=False,
            procedures=procedures,
        )
    )


PROCEDURE_WEIGHT = 0.5
"""Weight of the procedure-example rows in the second model: the one measured on the pipeline's
validation reports (session 6), fixed before this benchmark first ran with them."""

KEEP = 0.95
"""Share of greedy's recall@20 on the training reports a grid point must keep to be chosen: the
issue asks the forecaster to keep 95% of greedy's recall@20 on the report protocol."""


@dataclass(frozen=True)
class SetCheck:
    """Training reports, half shown, on which a weight choice must not spoil the set forecast
    (the model's training reports: selection never sees its test reports)."""

    shown: list[np.ndarray]
    held: list[np.ndarray]
    base: np.ndarray
    """(reports, n) greedy's standardised fold-in of the shown half."""

    def feasible(self, evidence: OrderEvidence) -> np.ndarray:
        """Which grid points keep `KEEP` of greedy's recall@20 (hits among the top 20 unseen)."""
        hits = np.zeros(len(GRID))
        greedy = 0.0
        for shown, held, base in zip(self.shown, self.held, self.base, strict=True):
            seen = np.zeros(len(base), dtype=bool)
            seen[shown] = True
            scores = np.vstack([base, base + GRID @ evidence.terms(seen, int(shown[-1]))])
            scores[:, seen] = -np.inf
            top = np.argpartition(-scores, 20, axis=1)[:, :20]
            found = np.isin(top, held).sum(axis=1) / min(len(held), 20)
            greedy += found[0]
            hits += found[1:]
        return hits >= KEEP * greedy


def set_check(adversary: Any, root: Path, count: int = 400, seed: int = 0) -> SetCheck:
    """`count` of the model's training reports, each with a random half shown."""
    from recommenders.data import trained_split_reports

    manifest = adversary.manifest
    train = trained_split_reports(root, manifest.data, manifest.split, manifest.technique_ids)[
        "train"
    ]
    rng = np.random.default_rng(seed)
    picked = [
        train[i][1] for i in rng.choice(len(train), size=min(count, len(train)), replace=False)
    ]
    shown, held = [], []
    for columns in picked:
        shuffled = rng.permutation(columns)
        half = max(1, len(shuffled) // 2)
        shown.append(shuffled[:half])
        held.append(shuffled[half:])
    n = adversary.n_techniques
    observed = sp.lil_matrix((len(shown), n), dtype=np.float32)
    for i, columns in enumerate(shown):
        observed[i, columns] = 1.0
    scores = np.asarray(adversary.model.score(observed.tocsr()), dtype=np.float64)
    base = np.array(
        [standardised(row, np.isin(np.arange(n), s)) for row, s in zip(scores, shown, strict=True)]
    )
    return SetCheck(shown, held, base)


def choose_weights(
    steps: list[Step],
    groups: dict[int, str],
    evidence_for: Callable[[set[str]], OrderEvidence],
    feasible: np.ndarray,
) -> tuple[float, ...]:
    """Among the `feasible` grid points, the one with the best mean MRR over an inner
    leave-one-incident-out of `steps`."""
    incidents = sorted(set(groups[s.flow] for s in steps))
    totals = np.zeros(len(GRID))
    for held in incidents:
        evidence = evidence_for({held})
        for step in (s for s in steps if groups[s.flow] == held):
            seen = np.zeros(len(step.base), dtype=bool)
            seen[step.seen] = True
            candidates = step.base + GRID @ evidence.terms(seen, int(step.seen[-1]))  # (grid, n)
            value = candidates[:, step.target : step.target + 1]
            ahead = candidates > value
            ahead[:, : step.target] |= candidates[:, : step.target] == value
            totals += 1.0 / (1 + (ahead & ~seen).sum(axis=1))
    return tuple(float(w) for w in GRID[int(np.argmax(np.where(feasible, totals, -np.inf)))])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.real_order", description=__doc__)
    parser.add_argument("--orders", type=int, default=20, help="seeded orders per flow")
    parser.add_argument("--data-dir", help="default: $TIE_DATA_DIR")
    parser.add_argument(
        "--procedures",
        type=float,
        default=PROCEDURE_WEIGHT,
        help="also train with ATT&CK's procedure examples as rows of this weight (those telling a "
        "flow's incident removed) and add its greedy rows; 0 skips it",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    root = resolve_data_dir(args.data_dir)
    catalog = load_catalog(default_attack_path(root))
    flows: list[Flow] = list(load_flows(root / "attack-flow", catalog).flows)
    narratives = tram_narratives(load_text_corpus(root, catalog))
    with tempfile.TemporaryDirectory() as tmp:
        data, copies = without_flow_copies(root, Path(tmp) / "data", flows, narratives)
        run_dir = train_without_flows(data, Path(tmp) / "runs")
        env = gym.make("TIE-Forecast-v0", model=str(run_dir), data_dir=str(data), k=K)
        adversary = env.unwrapped.adversary
        vocabulary = adversary.vocabulary
        column = {t: i for i, t in enumerate(vocabulary)}
        tram = {title: narrative_pairs([d], vocabulary) for title, d in narratives.items()}
        pairs_of = [enabling_pairs([flow], vocabulary) for flow in flows]
        group_of = {i: incident(flow.name) for i, flow in enumerate(flows)}

        def evidence_for(held_out: set[str]) -> OrderEvidence:
            kept = [
                p for i, pairs in enumerate(pairs_of) if group_of[i] not in held_out for p in pairs
            ]
            hidden = {t for h in held_out for t in narratives_of(h, narratives)}
            told = [p for title, pairs in tram.items() if title not in hidden for p in pairs]
            return OrderEvidence.fit(told + kept, adversary.tactics, adversary.tactic_order)

        rng = np.random.default_rng(0)
        campaigns = {
            i: [[t for t in flow.campaign(rng) if t in column] for _ in range(args.orders)]
            for i, flow in enumerate(flows)
        }
        sorted_campaigns = {
            i: [
                [
                    vocabulary[c]
                    for c in adversary.arrange(
                        rng, np.array([column[t] for t in order]), "killchain"
                    )
                ]
                for order in orders
            ]
            for i, orders in campaigns.items()
        }
        greedy = GreedyAgent(adversary.model)
        steps: list[Step] = []
        for i, orders in campaigns.items():
            for order in orders:
                columns = np.array([column[t] for t in order])
                greedy.reset()
                for t in range(1, len(columns)):
                    observation = adversary_observation(env, columns[:t])
                    seen = np.zeros(len(vocabulary), dtype=bool)
                    seen[columns[:t]] = True
                    base = standardised(np.asarray(greedy.scores(observation), np.float64), seen)
                    steps.append(Step(i, columns[:t], base, int(columns[t]), columns[t + 1 :]))
        chosen = {}
        check = set_check(adversary, data)
        for held in sorted(set(group_of.values())):
            training = [s for s in steps if group_of[s.flow] != held]
            chosen[held] = choose_weights(
                training,
                group_of,
                lambda inner, held=held: evidence_for(inner | {held}),
                check.feasible(evidence_for({held})),
            )

        baselines: dict[str, Callable[[int], Agent]] = {
            "random": lambda i: RandomAgent(len(vocabulary), seed=i),
            "frequency": lambda i: FrequencyAgent(adversary.popularity),
            "greedy (TIE)": lambda i: greedy,
            "greedy_tactic": lambda i: TacticGreedyAgent(
                adversary.model, adversary.first_tactic_rank
            ),
        }
        transitions = fit_transitions(adversary, 0)
        baselines["markov (kill-chain)"] = lambda i: MarkovAgent(transitions, adversary.popularity)
        baselines["sequence (this issue)"] = lambda i: SequenceAgent(
            adversary.model, evidence_for({group_of[i]}), chosen[group_of[i]]
        )
        results = {}
        oracle: dict[int, list[int]] = {}
        for step in steps:  # greedy, with every later technique of the campaign ranked below
            hidden = np.zeros(len(vocabulary), dtype=bool)
            hidden[step.seen] = hidden[step.later] = True
            oracle.setdefault(step.flow, []).append(rank(step.base, hidden, step.target))
        results[("real (Attack Flow)", "bound: greedy + within-campaign order oracle")] = summary(
            [oracle[i] for i in sorted(oracle)]
        )
        for order_name, source in (
            ("real (Attack Flow)", campaigns),
            ("kill-chain sorted", sorted_campaigns),
        ):
            for name, make in baselines.items():
                per_flow = []
                for i, orders in source.items():
                    agent = make(i)
                    per_flow.append([r for order in orders for r in play(env, agent, order)])
                results[(order_name, name)] = summary(per_flow)
        agreement = []
        for flow in flows:
            for title in narratives_of(incident(flow.name), narratives):
                agree, total = order_agreement(flow, narratives[title])
                agreement.append(f"{flow.name} vs TRAM '{title[:48]}…': {agree}/{total}")
        procedure_notes = []
        if args.procedures > 0:
            data_p, removed = without_flow_procedures(data, Path(tmp) / "data-procedures", flows)
            run_p = train_without_flows(data_p, Path(tmp) / "runs-procedures", args.procedures)
            env_p = gym.make("TIE-Forecast-v0", model=str(run_p), data_dir=str(data_p), k=K)
            adversary_p = env_p.unwrapped.adversary
            if adversary_p.vocabulary != vocabulary:
                raise RuntimeError("the procedure model's vocabulary differs from the plain one's")
            with_rows = f"greedy + procedure rows (weight {args.procedures:g})"
            for order_name, source in (
                ("real (Attack Flow)", campaigns),
                ("kill-chain sorted", sorted_campaigns),
            ):
                agent = GreedyAgent(adversary_p.model)
                results[(order_name, with_rows)] = summary(
                    [
                        [r for o in orders for r in play(env_p, agent, o)]
                        for orders in source.values()
                    ]
                )
            _, plain, _ = report_metrics(adversary, data, evidence_for(set()), (0.0, 0.0, 0.0))
            _, with_p, _ = report_metrics(adversary_p, data_p, evidence_for(set()), (0.0, 0.0, 0.0))
            procedure_notes.append(
                f"{with_rows}: the same pipeline with ATT&CK v15.0's procedure examples as training "
                f"rows (`--procedures {args.procedures:g}`); {removed} uses that tell a flow's "
                "incident (citing a flow's reference, or of a group, software or campaign whose "
                "technique set is a copy of a flow's) removed from its bundle first. Report "
                f"protocol, greedy without → with them: recall@20 {plain['recall@20']:.3f} → "
                f"{with_p['recall@20']:.3f}, NDCG@20 {plain['ndcg@20']:.3f} → {with_p['ndcg@20']:.3f}."
            )
        held_out = held_out_reports(run_dir, data, adversary, evidence_for(set()), chosen)
        weights = max(set(chosen.values()), key=list(chosen.values()).count)
        protocol = report_protocol(adversary, data, evidence_for(set()), weights)
    n_steps = sum(len(o) - 1 for orders in campaigns.values() for o in orders)
    greedy_real = results[("real (Attack Flow)", "greedy (TIE)")]
    rows = []
    for (order_name, name), metrics in results.items():
        relative = (
            metrics["hit@10"][0] / greedy_real["hit@10"][0] - 1
            if order_name.startswith("real")
            else math.nan
        )
        rows.append(
            [order_name, name]
            + [f"{m:.3f} ± {h:.3f}" for m, h in metrics.values()]
            + ["" if math.isnan(relative) else f"{relative:+.0%}"]
        )
    weights = sorted(set(chosen.values()))
    path = write_table(
        "real_order",
        "Next technique on real order: leave-one-flow-out over Attack Flow incidents",
        ["order", "agent", "hit@1", "hit@10", "MRR", "hit@10 vs greedy (real)"],
        rows,
        [
            f"{len(flows)} flows with ≥ 2 techniques ({len(set(group_of.values()))} incidents held out "
            f"one at a time), {args.orders} seeded topological orders each: {n_steps} forecasts; the "
            "first technique of each order is shown. Mean ± 95% interval over flows.",
            "Recommender: EASE by `recommenders.train` on the TIE corpus without its 'attack flow' "
            "reports (the same incidents as sets) and without the other reports that are copies "
            f"of a flow's incident ({len(copies)}: {', '.join(copies)}; cited source, half the "
            "techniques, or a TRAM narrative of it, `recommenders.flows.copies_of`). markov: kill-chain transitions of that corpus's "
            "training reports. sequence: successor and tactic-transition evidence from the other "
            "incidents' flows and TRAM's narrative order, weights (succession, tactics, backtrack), "
            "among those keeping 95% of greedy's recall@20 on 400 training reports, chosen by an "
            f"inner leave-one-incident-out on the other flows; chosen: {weights}.",
            "bound: greedy's forecast with the campaign's own later techniques taken out of the "
            "ranking: what knowing the order *within* the campaign would add to greedy. The rest "
            "of greedy's misses are techniques outside the campaign ranked first (a set error); a "
            "re-ranking that also pushes those down (e.g. by kill-chain stage) can pass the bound.",
            held_out,
            protocol,
            *procedure_notes,
            "Narrative vs flow order, where TRAM and a flow describe one incident (pairs the flow "
            "orders that the report mentions in the same order): " + "; ".join(agreement) + ".",
            "kill-chain sorted: the same flows' techniques sorted by first tactic (the order the "
            "replay envs impose); a result that only holds there is about the sort, not adversaries.",
            f"{time.perf_counter() - started:.0f} s in all.",
        ],
    )
    print(path.read_text())


def held_out_reports(
    run_dir: Path,
    root: Path,
    adversary: Any,
    evidence: OrderEvidence,
    chosen: dict[str, tuple[float, ...]],
    episodes: int = 300,
) -> str:
    """Greedy and sequence hit@10 on the model's held-out test reports in random order: a set
    forecast the order terms must not spoil where there is no order to learn from."""
    from agents.evaluate import EVALUATION_SEED, run_episodes

    env = gym.make(
        "TIE-ForecastReplay-v0", model=str(run_dir), data_dir=str(root), order="random", k=K
    )
    weights = max(set(chosen.values()), key=list(chosen.values()).count)
    hit = {}
    for name, agent in (
        ("greedy", GreedyAgent(adversary.model)),  # type: ignore[attr-defined]
        ("sequence", SequenceAgent(adversary.model, evidence, weights)),  # type: ignore[attr-defined, arg-type]
    ):
        hit[name] = float(np.mean(run_episodes(env, agent, episodes, EVALUATION_SEED)["hit@k"]))
    return (
        f"Held-out test reports of the model's split, random order ({episodes} episodes from the "
        f"evaluation seed): hit@10 greedy {hit['greedy']:.3f}, sequence {hit['sequence']:.3f} "
        f"(weights {weights}, evidence from every flow and TRAM) = "
        f"{hit['sequence'] / hit['greedy']:.0%} of greedy."
    )


def report_protocol(
    adversary: Any,
    root: Path,
    evidence: OrderEvidence,
    weights: tuple[float, ...],
    seed: int = 0,
) -> str:
    """recall@20 and NDCG@20 (masked, `recommenders.metrics`) on the model's held-out test
    reports, half of each shown: greedy's fold-in against sequence's re-ranking of it."""
    count, g, q = report_metrics(adversary, root, evidence, weights, seed)
    return (
        f"Report protocol ({count} held-out test reports, half shown, masked): recall@20 "
        f"greedy {g['recall@20']:.3f}, sequence {q['recall@20']:.3f} "
        f"({q['recall@20'] / g['recall@20']:.0%} of greedy; target ≥ 95%); NDCG@20 "
        f"{g['ndcg@20']:.3f} vs {q['ndcg@20']:.3f}."
    )


def report_metrics(
    adversary: Any,
    root: Path,
    evidence: OrderEvidence,
    weights: tuple[float, ...],
    seed: int = 0,
) -> tuple[int, dict[str, float], dict[str, float]]:
    """The reports counted, greedy's and sequence's masked metrics at 20 on the model's held-out
    test reports, a random half of each shown, the last technique a random one of those shown
    (reports have no order to take it from)."""
    from recommenders.data import trained_split_reports
    from recommenders.metrics import ranking_metrics

    manifest = adversary.manifest
    reports = trained_split_reports(root, manifest.data, manifest.split, manifest.technique_ids)
    rng = np.random.default_rng(seed)
    n = adversary.n_techniques
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    for _, columns in reports["test"]:
        shuffled = rng.permutation(columns)
        shown = max(1, len(shuffled) // 2)
        rows.append((shuffled[:shown], shuffled[shown:]))
    observed = sp.lil_matrix((len(rows), n), dtype=np.float32)
    heldout = sp.lil_matrix((len(rows), n), dtype=np.float32)
    for i, (shown, held) in enumerate(rows):
        observed[i, shown], heldout[i, held] = 1.0, 1.0
    observed, heldout = observed.tocsr(), heldout.tocsr()
    greedy = np.asarray(adversary.model.score(observed), dtype=np.float64)
    sequence = np.empty_like(greedy)
    for i, (shown, _) in enumerate(rows):
        seen = np.zeros(n, dtype=bool)
        seen[shown] = True
        base = standardised(greedy[i], seen)
        greedy[i] = base  # the same ranking, on the scale the order terms add to
        sequence[i] = base + np.asarray(weights) @ evidence.terms(seen, int(shown[-1]))
    scored = {
        name: ranking_metrics(values, heldout, observed, (20,), "masked")
        for name, values in (("greedy", greedy), ("sequence", sequence))
    }
    return len(rows), scored["greedy"], scored["sequence"]


def adversary_observation(env: gym.Env, shown: np.ndarray) -> np.ndarray:
    """The observation the forecast env gives after revealing `shown` in order."""
    schema = env.unwrapped.schema
    seen = np.zeros(env.unwrapped.n_techniques, dtype=bool)
    seen[shown] = True
    return schema.encode(seen, int(shown[-1]), len(shown))


if __name__ == "__main__":
    main()
