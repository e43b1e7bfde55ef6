"""Learning benchmark: every policy on the demo world, against the oracle and each other.

    .venv/bin/python benchmarks/bench_learning.py [--seeds 3] [--days 30] [--quick]

For each scenario, policy and seed, the in-memory daily loop (``learning_loop``) runs
``days`` days of ``per_day`` decisions with 72-hour reward windows. Reported per policy
(mean and standard deviation over seeds):

- ``% oracle``: mean true expected reward per decision over days 15-30, as a percentage of
  the oracle's (which knows every customer's true expected rewards) on the same customers;
- ``lift``: the same over uniform random's expected reward, in percent;
- ``worst half``: share of traffic to the worst half of each message field's variants
  (ranked by their true mean reward), averaged over fields, in the first and last week.

Scenarios: ``base``; ``new_variant`` (the subject line the oracle uses most is off until
day 15: days until it reaches its fair share, the oracle's share of it); ``decay`` (that
subject line's open logit falls 0.15 a day from day 10: its share before and at the end);
``send_nothing`` (not messaging is an action). Vowpal Wabbit (``--cb_explore_adf``, one
workspace per field, the same features and tags) runs through the same loop when the
``vowpalwabbit`` package is installed (``make bench`` installs it).

Writes ``benchmarks/results/learning.json`` and prints one table.
"""

from __future__ import annotations

import os

# Small matrices, many times: one BLAS thread, no spinning threads fighting for the cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decisioning.catalog import Catalog  # noqa: E402
from decisioning.config import ALGORITHMS, load_config  # noqa: E402
from decisioning.decide import Audience, eligible_values  # noqa: E402
from decisioning.keyed_random import decision_keys  # noqa: E402
from decisioning.posterior import fit_models, statistics_frame  # noqa: E402
from decisioning.world import FIELDS, AppealDrift, World, generate_world  # noqa: E402
from learning_loop import (  # noqa: E402
    OPT_INS,
    ROOT,
    CoreLearner,
    Learner,
    RunSettings,
    Scenario,
    catalog_frame,
    observed_features,
    run,
)

CATEGORICAL = {"plan": ["monthly", "annual"], "platform": ["ios", "android", "web"]}
MESSAGE_FIELDS = ("subject_line", "greeting", "offer")
START = dt.date(2026, 1, 1)
NEW_DAY, DECAY_DAY, DECAY_PER_DAY = 14, 9, -0.15  # 0-based: day 15 and day 10


@dataclass
class VWLearner:
    """Vowpal Wabbit through the same loop: decides per field and learns each finalized
    reward once (online), each field from its own probability."""

    name: str
    policy: Any
    catalog: Catalog
    batches: list[tuple[dict[str, np.ndarray], ...]] = field(default_factory=list)
    learned: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def decide(self, day: int, audience: Audience, as_of: dt.date) -> pd.DataFrame:
        eligible = {f: eligible_values(f, self.catalog, audience) for f in self.catalog.fields}
        keys = decision_keys(audience.decision_ids)
        chosen, probabilities = self.policy.decide(audience.features, eligible, keys)
        self.batches.append((eligible, chosen, probabilities))
        frame = pd.DataFrame(
            {f: np.asarray(self.catalog.values[f], dtype=object)[chosen[f]] for f in chosen}
        )
        frame["propensity"] = np.prod([probabilities[f] for f in chosen], axis=0)
        return frame

    def learn(self, log: pd.DataFrame, contexts: np.ndarray, as_of: dt.date) -> None:
        learned = np.zeros(len(log), dtype=bool)
        learned[: len(self.learned)] = self.learned
        rows = np.flatnonzero(log["is_final"].to_numpy() & ~learned)
        if len(rows) == 0:
            return
        eligible, chosen, probabilities = (
            {f: np.concatenate([b[k][f] for b in self.batches])[rows] for f in self.catalog.fields}
            for k in range(3)
        )
        rewards = log["reward"].to_numpy(dtype=float)[rows]
        self.policy.learn(contexts[rows], eligible, chosen, probabilities, rewards)
        learned[rows] = True
        self.learned = learned


def _core(algorithm: str, catalog: Catalog, names: tuple[str, ...], send_nothing: bool) -> Learner:
    config = load_config(
        {
            "as_of": START.isoformat(),
            "holdout": {"share": 0.0},
            "policy": {"algorithm": algorithm, "send_nothing": send_nothing},
        }
    )
    return CoreLearner(config, catalog, names)


def _vw(
    setting: str, arguments: str, catalog: Catalog, names: tuple[str, ...], seed: int
) -> Learner:
    from vw_policy import VowpalWabbitPolicy

    policy = VowpalWabbitPolicy(
        catalog.values,
        catalog.action_features,
        catalog.action_feature_names,
        names,
        arguments,
        seed,
    )
    return VWLearner(f"vw_{setting}", policy, catalog)


def value_ranking(
    world: World, features: pd.DataFrame, weights: dict[str, float]
) -> dict[str, list[str]]:
    """Each message field's values from worst to best true mean reward, other fields random."""
    rng = np.random.default_rng(0)
    catalog = Catalog.from_frame(catalog_frame(), FIELDS)
    customers = world.customers.set_index("customer_id")
    opt = customers[["email_opt_in", "push_opt_in", "sms_opt_in"]].to_numpy(bool)
    ok = np.flatnonzero(opt.any(axis=1))
    who = rng.choice(ok, size=min(5000, len(ok)), replace=False)
    ids = customers.index.to_numpy()[who]
    channel = np.array([rng.choice(np.flatnonzero(opt[i])) for i in who])
    base = {
        f: np.asarray(catalog.values[f], dtype=object)[
            rng.integers(0, len(catalog.values[f]), len(who))
        ]
        for f in FIELDS
    }
    base["channel"] = np.asarray(catalog.values["channel"], dtype=object)[channel]
    ranking = {}
    for name in MESSAGE_FIELDS:
        means = {}
        for value in catalog.values[name]:
            actions = {**base, name: np.full(len(who), value, dtype=object)}
            means[value] = float(
                world.expected_reward(ids, actions, weights, window_hours=72.0).mean()
            )
        ranking[name] = sorted(means, key=means.get)  # type: ignore[arg-type]
    return ranking


def oracle_favourite(
    world: World, features: pd.DataFrame, weights: dict[str, float]
) -> tuple[str, float]:
    """The subject line the oracle chooses most, and its oracle share."""
    ids = features.index.to_numpy()[:5000]
    actions = world.oracle_actions(ids, None, weights, window_hours=72.0)
    shares = pd.Series(actions["subject_line"]).value_counts(normalize=True)
    return str(shares.index[0]), float(shares.iloc[0])


def summarize(daily: pd.DataFrame, ranking: dict[str, list[str]], days: int) -> dict[str, float]:
    late = daily[daily["day"] >= min(14, days // 2)]
    n = late["decisions"]
    policy = np.average(late["policy"], weights=n)
    oracle = np.average(late["oracle"], weights=n)
    uniform = np.average(late["uniform"], weights=n)

    def worst_share(rows: pd.DataFrame) -> float:
        shares = []
        for name, order in ranking.items():
            worst = order[: len(order) // 2]
            cols = [f"share:{name}:{v}" for v in worst if f"share:{name}:{v}" in rows]
            shares.append(rows[cols].sum(axis=1).mean() if cols else 0.0)
        return float(np.mean(shares))

    return {
        "pct_oracle": 100 * policy / oracle,
        "lift_over_uniform": 100 * (policy / uniform - 1),
        "worst_half_first_week": 100 * worst_share(daily[daily["day"] < 7]),
        "worst_half_last_week": 100 * worst_share(daily[daily["day"] >= days - 7]),
        "reward_days_15_30": float(policy),
        "oracle_days_15_30": float(oracle),
        "uniform_days_15_30": float(uniform),
    }


def model_ceiling(
    world: World, features: pd.DataFrame, settings: RunSettings, samples: int = 200_000
) -> float:
    """What the model class can reach at best, as % of the oracle: the crossed linear models
    fitted on ``samples`` uniformly random decisions labelled with their *true* expected
    reward (no noise, no exploration cost), then acting greedily on 5,000 customers."""
    rng = np.random.default_rng(1)
    catalog = Catalog.from_frame(catalog_frame(), FIELDS)
    opt = world.customers.set_index("customer_id").loc[features.index, list(OPT_INS)]
    reachable = np.flatnonzero(opt.to_numpy(bool).any(axis=1))
    who = rng.choice(reachable, samples)
    ids = features.index.to_numpy()[who]
    actions = {
        f: np.asarray(v, dtype=object)[rng.integers(0, len(v), samples)]
        for f, v in catalog.values.items()
    }
    allowed = opt.to_numpy(bool)[who]
    first = allowed.argmax(axis=1)
    code = pd.Index(catalog.values["channel"]).get_indexer(actions["channel"])
    code = np.where(allowed[np.arange(samples), code], code, first)
    actions["channel"] = np.asarray(catalog.values["channel"], dtype=object)[code]
    truth = {"weights": settings.weights, "window_hours": settings.window_hours}
    reward = world.expected_reward(ids, actions, **truth)
    x = features.to_numpy(float)[who]
    names = tuple(features.columns)
    stats = statistics_frame(x, names, actions, reward, np.ones(samples))
    learner = _core("epsilon_greedy", catalog, names, False)
    assert isinstance(learner, CoreLearner)
    learner.config = load_config(
        {
            **learner.config.raw,
            "policy": {
                "algorithm": "epsilon_greedy",
                "epsilon": 0.0,
                "propensity_floor": 0.0,
                "prior_variance": 10.0,
            },
        }
    )
    learner.models = fit_models(stats, catalog, names, 10.0)
    size = min(5000, len(reachable))
    test = rng.choice(reachable, size, replace=False)
    audience = Audience(
        decision_ids=np.array([f"{i:032x}" for i in range(size)]),
        customer_ids=features.index.to_numpy()[test].astype(str),
        flags={c: opt[c].to_numpy(bool)[test] for c in OPT_INS},
        features=features.to_numpy(float)[test],
        feature_names=names,
    )
    greedy = learner.decide(0, audience, START)
    chosen = {f: greedy[f].to_numpy(dtype=object) for f in FIELDS}
    test_ids = features.index.to_numpy()[test]
    value = world.expected_reward(test_ids, chosen, **truth)
    oracle = world.expected_reward(test_ids, world.oracle_actions(test_ids, None, **truth), **truth)
    return float(100 * value.mean() / oracle.mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--per-day", type=int, default=2000)
    parser.add_argument("--policies", nargs="*", default=None)
    parser.add_argument(
        "--scenarios", nargs="*", default=["base", "new_variant", "decay", "send_nothing"]
    )
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/learning.json"))
    args = parser.parse_args()
    settings = RunSettings(days=args.days, per_day=args.per_day)
    try:
        import vw_policy

        vw_settings = vw_policy.SETTINGS
    except ImportError:
        print("vowpalwabbit is not installed: skipping Vowpal Wabbit (make bench installs it).")
        vw_settings = {}
    results: list[dict[str, Any]] = []
    jobs = []
    for seed in range(args.seeds):
        for scenario in args.scenarios:
            names = list(ALGORITHMS)
            if scenario == "base":
                names += [f"vw_{s}" for s in vw_settings]
            if scenario == "send_nothing":
                names = ["thompson_sampling"]
            if args.policies:
                names = [n for n in names if n in args.policies]
            jobs += [(seed, scenario, name) for name in names]
    worlds: dict[int, tuple[World, pd.DataFrame]] = {}
    progress = tqdm(jobs, desc="learning benchmark", unit="run")
    for seed, scenario_name, name in progress:
        progress.set_postfix_str(f"seed {seed} {scenario_name} {name}")
        if seed not in worlds:
            world = generate_world(args.customers, seed=100 + seed, start=START)
            worlds[seed] = (world, observed_features(world, CATEGORICAL))
        world, features = worlds[seed]
        favourite, favourite_share = oracle_favourite(world, features, settings.weights)
        ranking = value_ranking(world, features, settings.weights)
        scenario = Scenario(scenario_name)
        inactive: tuple[str, ...] = ()
        if scenario_name == "new_variant":
            inactive = (favourite,)
        if scenario_name == "decay":
            drift = AppealDrift(
                "subject_line", favourite, START + dt.timedelta(days=DECAY_DAY), DECAY_PER_DAY
            )
            scenario.world_change = lambda w, d=drift: w.with_drifts(d)
        send_nothing = scenario_name == "send_nothing"
        run_settings = RunSettings(**{**settings.__dict__, "send_nothing": send_nothing})
        names_ = tuple(features.columns)
        catalogs = {
            "before": Catalog.from_frame(catalog_frame(inactive), FIELDS, send_nothing),
            "after": Catalog.from_frame(catalog_frame(), FIELDS, send_nothing),
        }
        if name.startswith("vw_"):
            setting = name.removeprefix("vw_")
            learner = _vw(setting, vw_settings[setting], catalogs["after"], names_, seed)
        else:
            learner = _core(name, catalogs["before"], names_, send_nothing)

        def switch(
            day: int,
            _: pd.DataFrame,
            learner: Learner = learner,
            inactive: tuple[str, ...] = inactive,
            after: Catalog = catalogs["after"],
        ) -> None:
            """The new variant enters the catalog for day NEW_DAY's decisions."""
            if inactive and day == NEW_DAY - 1 and isinstance(learner, CoreLearner):
                learner.catalog = after

        began = time.perf_counter()
        daily = run(world, learner, features, run_settings, seed, scenario, on_day=switch)
        row: dict[str, Any] = {
            "scenario": scenario_name,
            "policy": name,
            "seed": seed,
            "seconds": time.perf_counter() - began,
            **summarize(daily, ranking, args.days),
        }
        col = f"share:subject_line:{favourite}"
        share = daily[col] if col in daily else pd.Series(0.0, index=daily.index)
        if scenario_name == "new_variant":
            after = share[daily["day"] >= NEW_DAY].reset_index(drop=True)
            reached = np.flatnonzero(after.to_numpy() >= favourite_share)
            row.update(
                new_variant=favourite,
                fair_share=100 * favourite_share,
                new_variant_share_days_1_3=[round(100 * s, 1) for s in after[:3]],
                days_to_fair_share=int(reached[0]) + 1 if len(reached) else None,
            )
        # The favourite's share in the last week: in base, what it keeps; in decay, what it
        # keeps while fading (compare the two for the same policy and seed).
        row["favourite"] = favourite
        row["favourite_share_last_week"] = 100 * float(share[daily["day"] >= args.days - 7].mean())
        if scenario_name == "decay":
            before = (daily["day"] >= DECAY_DAY - 3) & (daily["day"] < DECAY_DAY)
            row["share_before_decay"] = 100 * float(share[before].mean())
        if send_nothing:
            nothing = "share:channel:none"
            row["send_nothing_share_last_week"] = 100 * float(
                daily.loc[daily["day"] >= args.days - 7, nothing].mean()
                if nothing in daily
                else 0.0
            )
        results.append(row)
    ceilings = {seed: model_ceiling(*worlds[seed], settings) for seed in worlds}
    for row in results:
        row["model_ceiling_pct_oracle"] = ceilings[row["seed"]]
    table = pd.DataFrame(results)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2, default=float) + "\n")
    print_table(table)
    values = list(ceilings.values())
    print(
        f"\nModel ceiling (greedy on noise-free uniform data): {np.mean(values):.1f}% "
        f"± {np.std(values, ddof=1) if len(values) > 1 else 0:.1f} of the oracle"
    )


def print_table(table: pd.DataFrame) -> None:
    metrics = ["pct_oracle", "lift_over_uniform", "worst_half_first_week", "worst_half_last_week"]
    grouped = table.groupby(["scenario", "policy"], sort=False)[metrics].agg(["mean", "std"])
    print()
    header = ("% oracle", "lift %", "worst half wk1", "last wk")
    print(f"{'scenario':<13}{'policy':<29}" + "".join(f"{h:>16}" for h in header))
    for (scenario, policy), row in grouped.iterrows():
        cells = [
            f"{row[(m, 'mean')]:.1f} ± {0 if np.isnan(row[(m, 'std')]) else row[(m, 'std')]:.1f}"
            for m in metrics
        ]
        print(f"{scenario:<13}{policy:<29}" + "".join(f"{c:>16}" for c in cells))
    base = table[table["scenario"] == "base"].set_index(["policy", "seed"])
    decay = table[table["scenario"] == "decay"].set_index(["policy", "seed"])
    if not base.empty and not decay.empty:
        without = base["favourite_share_last_week"].rename(
            "favourite_share_last_week_without_decay"
        )
        both = decay.join(without)
        table = table.merge(
            both["favourite_share_last_week_without_decay"].reset_index().assign(scenario="decay"),
            how="left",
        )
    for scenario, extra in (
        ("new_variant", ["days_to_fair_share", "fair_share", "new_variant_share_days_1_3"]),
        (
            "decay",
            [
                "share_before_decay",
                "favourite_share_last_week",
                "favourite_share_last_week_without_decay",
            ],
        ),
        ("send_nothing", ["send_nothing_share_last_week"]),
    ):
        part = table[table["scenario"] == scenario]
        if not part.empty:
            print(f"\n{scenario}:")
            print(part[["policy", "seed", *extra]].to_string(index=False))


if __name__ == "__main__":
    main()
