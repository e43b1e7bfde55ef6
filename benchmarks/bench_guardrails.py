"""What guardrails add to the decide step at scale (target: at most 20% at 1M customers).

    .venv/bin/python benchmarks/bench_guardrails.py [--customers 1000000]

Decides ``bench_decide``'s audience with its Thompson-sampling models, best of 3 runs,
without guardrails and with all of them: 40 IANA time zones with send times on a US
daylight-saving day, quiet hours (22:00-08:00, SMS 20:00-10:00), an SMS cost, push
requiring an app token, frequency-cap blocks for 30% of customers, 2% suppressed, 10%
holdout and 10% business as usual, two offer/subject-line budgets and an exploration
ceiling of 0.3; then each guardrail alone. Checks the budgets and the ceiling held.
Writes ``benchmarks/results/guardrails.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_decide import audience, catalog, fitted  # noqa: E402
from decisioning.catalog import Catalog  # noqa: E402
from decisioning.config import Config, load_config  # noqa: E402
from decisioning.decide import Audience, Limits, decide  # noqa: E402
from decisioning.guardrails import SendTimes  # noqa: E402
from decisioning.policies import policy_class  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 3, 8)  # US clocks spring forward
ALGORITHM = "thompson_sampling"
CEILING = 0.3
BUDGETS = [
    {"field": "offer", "value": "offer_0", "max_share": 0.05},
    {"field": "subject_line", "value": "subject_line_0", "max_count": 20_000},
]
SEND_OPTIONS = {
    "frequency_caps": [{"max_messages": 3, "days": 7}],
    "quiet_hours": {"start": "22:00", "end": "08:00"},
    "channels": {
        "sms": {"cost": 0.02, "quiet_hours": {"start": "20:00", "end": "10:00"}},
        "push": {"requires": ["has_app_token"]},
    },
}
GROUPS = {
    "share": 0.1,
    "business_as_usual_share": 0.1,
    "default_action": {
        "channel": "email",
        "send_slot": "h12",
        "subject_line": "subject_line_1",
        "greeting": "greeting_0",
        "offer": "offer_2",
    },
}


def zones(count: int = 40) -> tuple[str, ...]:
    """``count`` real IANA zones spread over the sorted list (no aliases like Etc/GMT+5)."""
    names = sorted(
        z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )
    return tuple(names[i * len(names) // count] for i in range(count))


def send_times(timezones: tuple[str, ...], slots: tuple[str, ...]) -> SendTimes:
    """As the ``send_times`` model computes them: each slot's local hour (``h08``: 8), the
    first time it comes round at or after as_of 00:00 UTC, in UTC and local time."""
    start = dt.datetime.combine(AS_OF, dt.time(), dt.UTC)
    utc = np.empty((len(timezones), len(slots)), dtype="datetime64[us]")
    minute = np.empty((len(timezones), len(slots)), dtype=np.int32)
    for z, name in enumerate(timezones):
        local_start = start.astimezone(ZoneInfo(name)).replace(tzinfo=None)
        for s, slot in enumerate(slots):
            at = dt.datetime.combine(local_start.date(), dt.time(int(slot[1:])))
            at += dt.timedelta(days=1) if at < local_start else dt.timedelta()
            sent = at.replace(tzinfo=ZoneInfo(name)).astimezone(dt.UTC)
            local = sent.astimezone(ZoneInfo(name))
            utc[z, s] = np.datetime64(sent.replace(tzinfo=None), "us")
            minute[z, s] = local.hour * 60 + local.minute
    return SendTimes(timezones, utc, minute)


def guarded(people: Audience, names: tuple[str, ...], groups: bool) -> Audience:
    """The audience with an app-token flag and time zones, and (``groups``) 2% suppressed,
    10% holdout and 10% business as usual."""
    rng = np.random.default_rng(2)
    n = len(people)
    timezones = pd.array(np.array(names, dtype=object)[rng.integers(len(names), size=n)])
    flags = {**people.flags, "has_app_token": rng.random(n) < 0.7}
    people = replace(people, flags=flags, timezones=timezones.astype("string[pyarrow]"))
    if not groups:
        return people
    u = rng.random(n)
    suppressed = np.where(rng.random(n) < 0.02, "unsubscribed", None).astype(object)
    codes = np.select([u < 0.1, u < 0.2], [1, 2], 0).astype(np.int8)
    return replace(people, groups=codes, suppressed=suppressed)


def blocks(n: int, cat: Catalog) -> tuple[np.ndarray[Any, Any], ...]:
    """Frequency-cap blocks: 2 (row, channel or -1, slot) triples for 30% of customers."""
    rng = np.random.default_rng(3)
    rows = np.repeat(rng.choice(n, int(0.3 * n), replace=False), 2)
    channels = rng.integers(-1, len(cat.values["channel"]), size=len(rows))
    slots = rng.integers(len(cat.values["send_slot"]), size=len(rows))
    return rows.astype(np.intp), channels.astype(np.intp), slots.astype(np.intp)


def settings(guardrails: dict[str, Any], holdout: dict[str, Any] | None = None) -> Config:
    overrides = {"as_of": AS_OF.isoformat(), "policy": {"algorithm": ALGORITHM}}
    return load_config({**overrides, "guardrails": guardrails, "holdout": holdout or {}})


def check(
    frame: pd.DataFrame, config: Config, cat: Catalog, send: SendTimes | None
) -> dict[str, Any]:
    """The day's counts; asserts that budgets, the exploration ceiling and quiet hours held."""
    live = frame["skip_reason"].isna().to_numpy()
    policy = live & (frame["decision_group"] == "policy").to_numpy()
    counts: dict[str, Any] = {"decisions": int(live.sum()), "policy_decisions": int(policy.sum())}
    counts["skipped"] = {str(k): int(v) for k, v in frame["skip_reason"].value_counts().items()}
    for b in config.guardrails.budgets:
        used, limit = int((frame[b.field] == b.value).sum()), b.limit(int(live.sum()))
        counts[f"budget {b.field}={b.value}"] = {"used": used, "limit": limit}
        assert used <= limit, f"budget {b.field}={b.value}: {used} used > {limit}"
    explored = int(frame["is_exploration"].sum())
    counts["explorations"] = explored
    if (ceiling := config.guardrails.max_exploration_share) is not None:
        most = math.floor(ceiling * policy.sum() + 1e-9)
        counts["max_explorations"] = most
        assert explored <= most, f"{explored} explorations > {most} (ceiling {ceiling})"
    if send is not None:
        sent = frame["send_slot"].notna().to_numpy()
        zone = pd.Index(send.timezones).get_indexer(frame["timezone"].astype(str)[sent])
        slot = pd.Index(cat.values["send_slot"]).get_indexer(frame["send_slot"].astype(str)[sent])
        minute, channel = send.local_minute[zone, slot], frame["channel"][sent].to_numpy()
        if (quiet := config.guardrails.quiet_hours) is not None:
            assert not quiet.contains(minute).any(), "sent in quiet hours"
        for name, rules in config.guardrails.channels.items():
            if rules.quiet_hours is not None:
                assert not rules.quiet_hours.contains(minute[channel == name]).any(), name
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/guardrails.json"))
    args = parser.parse_args()
    cat, n = catalog(), args.customers
    people = audience(n)
    models = fitted(cat, people.feature_names, policy_class(ALGORITHM).contextual)
    tz = zones()
    times = send_times(tz, cat.values["send_slot"])
    options = Limits(send_times=times, blocks=blocks(n, cat))
    ceiling = {"max_exploration_share": CEILING}
    everything = {**SEND_OPTIONS, "budgets": BUDGETS, **ceiling}
    scenarios: dict[str, tuple[Audience, Config, Limits]] = {
        "baseline": (people, settings({}), Limits()),
        "send_options": (guarded(people, tz, False), settings(SEND_OPTIONS), options),
        "groups_and_suppression": (guarded(people, tz, True), settings({}, GROUPS), Limits()),
        "budgets": (people, settings({"budgets": BUDGETS}), Limits()),
        "exploration_ceiling": (people, settings(ceiling), Limits()),
        "all": (guarded(people, tz, True), settings(everything, GROUPS), options),
    }
    seconds = dict.fromkeys(scenarios, math.inf)
    counts: dict[str, Any] = {}
    for _ in range(args.repeats):  # interleaved, so drift hits every scenario alike
        for name, (who, config, limits) in scenarios.items():
            began = time.perf_counter()
            frame = decide(who, models, cat, config, "bench", days_running=30, limits=limits)
            seconds[name] = min(seconds[name], time.perf_counter() - began)
            assert len(frame) == n
            counts[name] = check(frame, config, cat, limits.send_times)
            del frame
    base = seconds["baseline"]
    result: dict[str, Any] = {
        "customers": n,
        "algorithm": ALGORITHM,
        "timezones": len(tz),
        "as_of": AS_OF.isoformat(),
        "repeats": args.repeats,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "customers_per_second": {k: round(n / v) for k, v in seconds.items()},
        "overhead_pct": {k: round(100 * (v / base - 1), 1) for k, v in seconds.items()},
        "target_overhead_pct": 20,
        "within_target": seconds["all"] / base - 1 <= 0.2,
        "counts": {k: counts[k] for k in ("baseline", "all")},
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(f"{'scenario':<24} {'seconds':>8} {'customers/s':>12} {'overhead':>9}")
    for k, v in seconds.items():
        print(f"{k:<24} {v:8.2f} {n / v:12,.0f} {100 * (v / base - 1):8.1f}%")
    print(json.dumps(result["counts"]["all"], indent=2))
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
