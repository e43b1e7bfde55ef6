"""Shared builders for the core tests: a small catalog, audience and fitted models."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from decisioning.catalog import Catalog
from decisioning.config import Config, load_config
from decisioning.decide import HOLDOUT, POLICY, Audience
from decisioning.posterior import statistics_frame as core_statistics_frame
from tests.llm_server import LLMServer

FIELDS = ("channel", "send_slot", "subject_line", "greeting", "offer")
DEFAULT_ACTION = {
    "channel": "email",
    "send_slot": "h08",
    "subject_line": "s1",
    "greeting": "g1",
    "offer": "o1",
}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def catalog() -> Catalog:
    rows = [("channel", c, f"{c}_opt_in") for c in ("email", "push", "sms")]
    rows += [("send_slot", s, None) for s in ("h08", "h12", "h18")]
    rows += [("subject_line", f"s{i}", None) for i in range(1, 5)]
    rows += [("greeting", f"g{i}", None) for i in range(1, 3)]
    rows += [("offer", f"o{i}", None) for i in range(1, 4)]
    frame = pd.DataFrame(rows, columns=["field", "value_id", "opt_in_column"])
    frame["is_active"] = True
    return Catalog.from_frame(frame, FIELDS)


@pytest.fixture
def config() -> Config:
    return load_config(
        {"as_of": "2026-01-10", "holdout": {"share": 0.2, "default_action": DEFAULT_ACTION}}
    )


def make_audience(n: int, d: int = 4, seed: int = 0, holdout_share: float = 0.2) -> Audience:
    """Random customers, each with at least one opt-in (as the audience model passes)."""
    rng = np.random.default_rng(seed)
    features = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    customers = np.array([f"c{i:06d}" for i in range(n)])
    email = rng.random(n) < 0.8
    push = rng.random(n) < 0.5
    sms = rng.random(n) < 0.3
    email |= ~(push | sms)
    return Audience(
        decision_ids=np.array([md5(f"winback|{c}|2026-01-10") for c in customers]),
        customer_ids=customers,
        flags={"email_opt_in": email, "push_opt_in": push, "sms_opt_in": sms},
        features=features,
        feature_names=tuple(f"x_{i}" for i in range(d)),
        groups=np.where(rng.random(n) < holdout_share, HOLDOUT, POLICY).astype(np.int8),
    )


@pytest.fixture
def audience() -> Audience:
    return make_audience(4000)


def statistics_frame(
    field: str, values: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> pd.DataFrame:
    """What policy_statistics computes in SQL, from (x, r, w) per value of one field."""
    x = np.concatenate([v[0] for v in values.values()])
    chosen = np.concatenate([np.full(len(v[1]), k, dtype=object) for k, v in values.items()])
    names = tuple(f"x_{i}" for i in range(x.shape[1]))
    r = np.concatenate([v[1] for v in values.values()])
    w = np.concatenate([v[2] for v in values.values()])
    return core_statistics_frame(x, names, {field: chosen}, r, w)


AS_OF = dt.date(2026, 1, 10)


def pytest_configure(config: pytest.Config) -> None:
    """Parallel workers (pytest -n) each get their own dbt target and log folders."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        os.environ.setdefault("DBT_TARGET_PATH", f"target/{worker}")
        os.environ.setdefault("DBT_LOG_PATH", f"logs/{worker}")


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """An OpenAI-compatible server on 127.0.0.1 (tests/llm_server.py)."""
    server = LLMServer()
    yield server
    server.close()
