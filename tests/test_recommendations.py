"""The catalog recommender's models (models/recommendations, recommendation_quality) on a
hand-made event set, through the real dbt project. Every expected number below is worked
out by hand from the events in ``EVENTS``; the docstrings show the arithmetic.

Catalog: strength a1, a2, a3 (inactive); yoga b1, b2 (created 2026-02-10); running c1,
c2 (no created_at: first seen 2026-02-20), c3 (created 2026-01-20). ``as_of`` 2026-03-01,
lookback 180 days, items done since 2026-02-15 (14 days) excluded, top 4, quality cutoff
2026-02-15. What each customer did in the lookback (``recommendations.events``: completed
and viewed):

    u1  a1 01-05, a2 01-06, b1 01-07, c1 02-20
    u2  a1 01-05 and 02-26, a2 01-08, b1 02-25, c1 02-27
    u3  a1 01-10, b1 01-11, c1 01-12, a3 01-13
    u4  b1 01-03, c1 01-04, a3 01-05, c2 02-20
    u5  a2 01-09, a1 02-20, b1 02-22 and 02-23 (and b1 2025-06-01, before the lookback)
    u6  c1 01-02 (plus an 'ignored' event on b2, an item outside the catalog)
    u7  nothing; u9  b2 02-25; u8 created after as_of (no rows anywhere).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from decisioning.project import Project

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-03-01"
SETTINGS = {
    "as_of": AS_OF,
    "sources": {"catalog_items": {"table": "catalog_items"}},
    "recommendations": {
        "events": ["completed", "viewed"],
        "top_k": 4,
        "lookback_days": 180,
        "exclude_recent_days": 14,
        "new_item_days": 60,
        "neighbors": 10,
        "evaluation_days": 14,
    },
}
MODELS = (
    "recommendation_items",
    "recommendation_interactions",
    "int_recommendation_training_interactions",
    "item_similarity",
    "customer_recommendations",
    "customer_strategy_items",
    "recommendation_quality",
)
SELECTION = tuple(f"+{model}" for model in MODELS)
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
CATALOG = [
    ("a1", "Squats", "strength", True, "2025-01-01"),
    ("a2", "Deadlift", "strength", True, "2025-01-01"),
    ("a3", "Old bench", "strength", False, "2025-01-01"),
    ("b1", "Sun salutation", "yoga", True, "2025-01-01"),
    ("b2", "Yin yoga", "yoga", True, "2026-02-10"),
    ("c1", "5k run", "running", True, "2025-01-01"),
    ("c2", "Trail run", "running", True, None),
    ("c3", "Sprints", "running", True, "2026-01-20"),
]
EVENTS = [
    ("u1", "completed", "2026-01-05 10:00", "a1"),
    ("u1", "completed", "2026-01-06 10:00", "a2"),
    ("u1", "viewed", "2026-01-07 10:00", "b1"),
    ("u1", "completed", "2026-02-20 10:00", "c1"),
    ("u1", "completed", "2026-03-02 10:00", "b2"),  # after as_of: invisible
    ("u2", "completed", "2026-01-05 09:00", "a1"),
    ("u2", "completed", "2026-01-08 09:00", "a2"),
    ("u2", "completed", "2026-02-25 09:00", "b1"),
    ("u2", "completed", "2026-02-26 09:00", "a1"),
    ("u2", "completed", "2026-02-27 09:00", "c1"),
    ("u3", "completed", "2026-01-10 08:00", "a1"),
    ("u3", "completed", "2026-01-11 08:00", "b1"),
    ("u3", "completed", "2026-01-12 08:00", "c1"),
    ("u3", "completed", "2026-01-13 08:00", "a3"),
    ("u3", "app_open", "2026-02-01 08:00", None),
    ("u4", "completed", "2026-01-03 07:00", "b1"),
    ("u4", "completed", "2026-01-04 07:00", "c1"),
    ("u4", "completed", "2026-01-05 07:00", "a3"),
    ("u4", "completed", "2026-02-20 07:00", "c2"),
    ("u5", "completed", "2025-06-01 12:00", "b1"),  # before the lookback
    ("u5", "completed", "2026-01-09 12:00", "a2"),
    ("u5", "completed", "2026-02-20 12:00", "a1"),
    ("u5", "viewed", "2026-02-22 12:00", "b1"),
    ("u5", "completed", "2026-02-23 12:00", "b1"),
    ("u6", "completed", "2026-01-02 06:00", "c1"),
    ("u6", "ignored", "2026-02-01 06:00", "b2"),  # not in recommendations.events
    ("u6", "completed", "2026-02-03 06:00", "zz"),  # not in the catalog
    ("u8", "completed", "2026-02-20 06:00", "a1"),  # u8 is created after as_of
    ("u9", "completed", "2026-02-25 06:00", "b2"),
]
CUSTOMERS = [f"u{i}" for i in range(1, 10)]
LATE_CUSTOMER = "u8"


def _load(database: Path, with_items: bool) -> None:
    customers = pd.DataFrame(
        {
            "customer_id": CUSTOMERS,
            "created_at": pd.to_datetime(
                ["2026-03-05" if c == LATE_CUSTOMER else "2025-01-01" for c in CUSTOMERS]
            ),
            "timezone": "Europe/Berlin",
            "email_opt_in": True,
            "push_opt_in": False,
            "sms_opt_in": False,
            "has_app_token": False,
            "plan": "monthly",
            "platform": "ios",
            "age": 30.0,
        }
    )
    events = pd.DataFrame(EVENTS, columns=["customer_id", "event_name", "occurred_at", "item_id"])
    events["occurred_at"] = pd.to_datetime(events["occurred_at"])
    events["value"] = None
    events = events[["customer_id", "event_name", "occurred_at", "value", "item_id"]]
    if not with_items:
        events = events.drop(columns="item_id")
    catalog = pd.DataFrame(CATALOG, columns=["item_id", "name", "category", "active", "created_at"])
    catalog["created_at"] = pd.to_datetime(catalog["created_at"])
    with duckdb.connect(str(database)) as con:
        con.execute("create schema raw")
        for name, frame in {
            "customers": customers,
            "product_events": events,
            "catalog_items": catalog,
            "suppressions": pd.DataFrame(
                {
                    "customer_id": pd.Series(dtype=str),
                    "reason": pd.Series(dtype=str),
                    "expires_at": pd.Series(dtype="datetime64[us]"),
                }
            ),
        }.items():
            con.register("frame", frame)
            con.execute(f"create table raw.{name} as select * from frame")
            con.unregister("frame")
        con.execute("alter table raw.product_events alter value type double")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    database = tmp_path_factory.mktemp("recommendations") / "recommendations.duckdb"
    _load(database, with_items=True)
    project = Project.open(ROOT, database)
    project.build(SETTINGS, "--select", *SELECTION, *NO_UNIT_TESTS)
    yield project


@pytest.fixture(scope="module")
def built(project: Project) -> Path:
    return project.database


def _query(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database)) as con:
        return con.sql(sql).df()


def _recommendations(database: Path) -> dict[str, list[tuple[str, str]]]:
    frame = _query(
        database,
        "select customer_id, item_id, source from main.customer_recommendations "
        "order by customer_id, rank",
    )
    return {
        customer: list(zip(rows["item_id"], rows["source"], strict=True))
        for customer, rows in frame.groupby("customer_id")
    }


def test_interactions_count_only_listed_events_on_catalog_items_in_the_lookback(
    built: Path,
) -> None:
    """u5's b1: two events in the lookback (the 2025-06-01 one is older); u2's a1: two;
    the 'ignored' event, the item outside the catalog, the event after as_of, the event
    without an item and u8 (created after as_of) leave no row."""
    frame = _query(built, "select * from main.recommendation_interactions")
    pairs = set(zip(frame["customer_id"], frame["item_id"], strict=True))
    assert len(frame) == 21
    assert ("u6", "b2") not in pairs and ("u6", "zz") not in pairs and ("u1", "b2") not in pairs
    assert not (frame["customer_id"] == LATE_CUSTOMER).any()
    rows = frame.set_index(["customer_id", "item_id"])
    assert rows.loc[("u5", "b1"), "n_events"] == 2
    assert rows.loc[("u5", "b1"), "last_at"] == pd.Timestamp("2026-02-23 12:00")
    assert rows.loc[("u2", "a1"), "n_events"] == 2
    assert list(frame[frame["customer_id"] == "u4"].sort_values("recency_rank")["item_id"]) == [
        "c2",
        "a3",
        "c1",
        "b1",
    ]


def test_items_without_created_at_date_from_their_first_event(built: Path) -> None:
    """c2 has no created_at: its first product event (u4, 2026-02-20 07:00) stands in.
    Keys number the items in item_id order."""
    frame = _query(built, "select * from main.recommendation_items order by item_key")
    assert list(frame["item_id"]) == [row[0] for row in CATALOG]
    assert list(frame["item_key"]) == list(range(1, len(CATALOG) + 1))
    items = frame.set_index("item_id")
    assert items.loc["c2", "created_at"] == pd.Timestamp("2026-02-20 07:00")
    assert items.loc["b2", "created_at"] == pd.Timestamp("2026-02-10")
    assert list(frame["created_at_is_first_event"]) == [i == "c2" for i in items.index]


# Customers per item (lookback): a1 4, a2 3, a3 2, b1 5, c1 5, c2 1, b2 1.
SIMILARITY = {
    ("a1", "a2"): (3, 3 / math.sqrt(4 * 3)),
    ("a1", "b1"): (4, 4 / math.sqrt(4 * 5)),
    ("a1", "c1"): (3, 3 / math.sqrt(4 * 5)),
    ("a2", "b1"): (3, 3 / math.sqrt(3 * 5)),
    ("a2", "c1"): (2, 2 / math.sqrt(3 * 5)),
    ("b1", "c1"): (4, 4 / math.sqrt(5 * 5)),
    ("b1", "c2"): (1, 1 / math.sqrt(5 * 1)),
    ("c1", "c2"): (1, 1 / math.sqrt(5 * 1)),
    ("a3", "a1"): (1, 1 / math.sqrt(2 * 4)),
    ("a3", "b1"): (2, 2 / math.sqrt(2 * 5)),
    ("a3", "c1"): (2, 2 / math.sqrt(2 * 5)),
    ("a3", "c2"): (1, 1 / math.sqrt(2 * 1)),
}


def test_item_similarity_is_the_cosine_of_co_occurrence(built: Path) -> None:
    """Exact co-customer counts and cosines, both directions, except towards a3
    (inactive: never a similar item). No pair with b2: only u9 did it (u6's b2 event is
    not a listed event)."""
    frame = _query(built, "select * from main.item_similarity")
    found = {
        (a, b): (co, s)
        for a, b, co, s in zip(
            frame["item_id"],
            frame["similar_item_id"],
            frame["co_customers"],
            frame["similarity"],
            strict=True,
        )
    }
    expected = {}
    for (a, b), value in SIMILARITY.items():
        expected[(a, b)] = value
        if a != "a3":
            expected[(b, a)] = value
    assert set(found) == set(expected)
    for pair, (co, similarity) in expected.items():
        assert found[pair][0] == co, pair
        assert found[pair][1] == pytest.approx(similarity, abs=1e-12), pair
    counts = frame.drop_duplicates("item_id").set_index("item_id")["item_customers"]
    assert counts.to_dict() == {"a1": 4, "a2": 3, "a3": 2, "b1": 5, "c1": 5, "c2": 1}


def test_neighbor_ties_go_to_more_co_customers_then_the_item_id(built: Path) -> None:
    """a3: c2 (0.707) first; b1 and c1 tie at 2/sqrt(10) with 2 co-customers each: b1
    before c1. c2: b1 and c1 tie at 1/sqrt(5): b1 first."""
    frame = _query(
        built,
        "select item_id, similar_item_id from main.item_similarity order by item_id, rank",
    )
    ranked = frame.groupby("item_id")["similar_item_id"].apply(list).to_dict()
    assert ranked["a3"] == ["c2", "b1", "c1", "a1"]
    assert ranked["c2"] == ["b1", "c1"]
    assert ranked["b1"] == ["a1", "c1", "a2", "c2"]


def _score(*pairs: tuple[str, str]) -> float:
    return sum(SIMILARITY.get(p, SIMILARITY.get(p[::-1], (0, 0.0)))[1] for p in pairs)


def test_scores_sum_similarities_to_the_customers_items(built: Path) -> None:
    """u1 did a1, a2, b1 in January and c1 on 02-20: b1 scores sim(a1,b1) + sim(a2,b1) +
    sim(c1,b1) and so on; c1, done within 14 days, is left out, while the items done in
    January come back. u4's b1 and c1 tie (the same three similarities): b1 first."""
    frame = _query(built, "select * from main.customer_recommendations")
    u1 = frame[frame["customer_id"] == "u1"].sort_values("rank")
    assert list(u1["item_id"]) == ["b1", "a1", "a2", "c2"]
    assert list(u1["source"]) == ["personalized"] * 4
    expected = [
        _score(("a1", "b1"), ("a2", "b1"), ("c1", "b1")),
        _score(("a2", "a1"), ("b1", "a1"), ("c1", "a1")),
        _score(("a1", "a2"), ("b1", "a2"), ("c1", "a2")),
        _score(("b1", "c2"), ("c1", "c2")),
    ]
    assert list(u1["score"]) == pytest.approx(expected, abs=2e-9)
    assert list(u1["item_name"]) == ["Sun salutation", "Squats", "Deadlift", "Trail run"]
    assert list(u1["category"]) == ["yoga", "strength", "strength", "running"]
    u4 = frame[frame["customer_id"] == "u4"].sort_values("rank")
    assert list(u4["item_id"]) == ["a1", "b1", "c1", "a2"]
    assert u4["score"].iloc[1] == u4["score"].iloc[2]
    assert u4["score"].iloc[1] == pytest.approx(_score(("c2", "b1"), ("a3", "b1"), ("c1", "b1")))


def test_recent_items_are_excluded_and_popular_items_fill(built: Path) -> None:
    """Popularity (customers): b1 5, c1 5, a1 4, a2 3, b2 1, c2 1, c3 0. u2 did a1, b1, c1
    within 14 days: only a2 and c2 score; b2 and c3, the most popular items neither done
    recently nor already recommended, fill ranks 3 and 4. u5 (a1, b1 recent) gets c1, a2,
    c2, then b2. u6 (c1 only) gets c1's neighbors in order."""
    recommended = _recommendations(built)
    p, q = "personalized", "popular"
    assert recommended["u2"] == [("a2", p), ("c2", p), ("b2", q), ("c3", q)]
    assert recommended["u5"] == [("c1", p), ("a2", p), ("c2", p), ("b2", q)]
    assert recommended["u6"] == [("b1", p), ("a1", p), ("a2", p), ("c2", p)]
    assert recommended["u3"] == [("b1", p), ("a2", p), ("c1", p), ("a1", p)]


def test_customers_without_history_or_candidates_get_popular_items(built: Path) -> None:
    """u7 did nothing: the four most popular items (b1 and c1 tie at 5: b1 first). u9 did
    only b2, which co-occurs with nothing: popular items without b2 (done recently). u8,
    created after as_of, gets nothing; nor does anyone get the inactive a3."""
    recommended = _recommendations(built)
    assert recommended["u7"] == [(i, "popular") for i in ("b1", "c1", "a1", "a2")]
    assert recommended["u9"] == [(i, "popular") for i in ("b1", "c1", "a1", "a2")]
    assert set(recommended) == set(CUSTOMERS) - {LATE_CUSTOMER}
    frame = _query(built, "select * from main.customer_recommendations")
    assert frame.loc[frame["source"] == "popular", "score"].isna().all()
    assert "a3" not in set(frame["item_id"])


def test_strategy_items(built: Path) -> None:
    """personalized: rank 1 above. popular: the first of b1, c1, a1, a2... not done
    recently (u2: a2; u5: c1). new_in_category: new items (created since 2026-01-01) are
    b2 (yoga, 02-10), c2 (running, first seen 02-20), c3 (running, 01-20). u4 (running:
    c1, c2) gets c3, c2 being recent; u5 ties strength and yoga at 2 events, yoga done
    last: b2; u6 (running): c2; strength has no new item, so u1, u2, u3 get the newest
    item of the catalog, c2, as do u7 (no history) and u9 (yoga, but b2 is recent)."""
    frame = _query(built, "select * from main.customer_strategy_items")
    assert len(frame) == 8 * 3
    assert not frame.duplicated(["customer_id", "strategy"]).any()
    items = frame.pivot(index="customer_id", columns="strategy", values="item_id")
    assert items["personalized"].to_dict() == {
        "u1": "b1",
        "u2": "a2",
        "u3": "b1",
        "u4": "a1",
        "u5": "c1",
        "u6": "b1",
        "u7": "b1",
        "u9": "b1",
    }
    assert items["popular"].to_dict() == {
        "u1": "b1",
        "u2": "a2",
        "u3": "b1",
        "u4": "b1",
        "u5": "c1",
        "u6": "b1",
        "u7": "b1",
        "u9": "b1",
    }
    assert items["new_in_category"].to_dict() == {
        "u1": "c2",
        "u2": "c2",
        "u3": "c2",
        "u4": "c3",
        "u5": "b2",
        "u6": "c2",
        "u7": "c2",
        "u9": "c2",
    }
    scores = frame.pivot(index="customer_id", columns="strategy", values="score")
    assert scores.loc["u6", "personalized"] == pytest.approx(0.8)
    assert scores.loc[["u7", "u9"], "personalized"].isna().all()
    assert scores[["popular", "new_in_category"]].isna().all().all()


def test_quality_on_the_time_split(built: Path) -> None:
    """Trained before 2026-02-15: u1 {a1, a2, b1}, u2 {a1, a2}, u3 {a1, b1, c1, a3},
    u4 {b1, c1, a3}, u5 {a2}, u6 {c1}; every item done by 3 customers, so similarities are
    1/3, 2/3 (and a3's). New items after the cutoff: u1 c1, u2 b1 and c1 (a1 is not new),
    u5 a1 (b1 was done in 2025), u9 b2; u4's c2 did not exist at the cutoff.
    co_occurrence: u1 a1, a2, b1, c1 (a2, b1, c1 tie at 1); u2 b1, a1, a2, c1; u5 a1, b1
    and popular a2, c1; u9 popular a1, a2, b1, c1. popularity: a1, a2, b1, c1 for all.
    Hits at 1: u2, u5 (co_occurrence), u5 (popularity); at 4: u1, u2, u5 for both.
    Recall at 1: (0 + 1/2 + 1 + 0) / 4 and (0 + 0 + 1 + 0) / 4."""
    frame = _query(built, "select * from main.recommendation_quality").set_index(["method", "k"])
    assert sorted(frame.index) == [("co_occurrence", 1), ("co_occurrence", 4)] + [
        ("popularity", 1),
        ("popularity", 4),
    ]
    assert (frame["customers"] == 4).all() and (frame["test_items"] == 5).all()
    expected = {
        ("co_occurrence", 1): (2, 0.5, 0.375),
        ("co_occurrence", 4): (3, 0.75, 0.75),
        ("popularity", 1): (1, 0.25, 0.25),
        ("popularity", 4): (3, 0.75, 0.75),
    }
    for key, (hit, rate, recall) in expected.items():
        row = frame.loc[key]
        assert row["customers_hit"] == hit, key
        assert row["hit_rate"] == pytest.approx(rate), key
        assert row["recall"] == pytest.approx(recall), key
        half = 1.959963984540054 * math.sqrt(rate * (1 - rate) / 4)
        assert row["hit_rate_ci_low"] == pytest.approx(max(0.0, rate - half)), key
        assert row["hit_rate_ci_high"] == pytest.approx(min(1.0, rate + half)), key
    assert (frame["trained_to"] == pd.Timestamp("2026-02-15")).all()
    assert (frame["evaluated_to"] == pd.Timestamp(AS_OF)).all()


def test_the_dbt_unit_test_of_seeds_and_pairs(project: Project) -> None:
    """The YAML unit test in recommendations.yml (a customer with 11 items, another with
    one) passes; it needs the built parents for their column types."""
    result = project.dbt(
        ["test", "--select", "customer_recommendations,resource_type:unit_test"], SETTINGS
    )
    unit_tests = [r for r in result.results if r.node.resource_type == "unit_test"]
    assert [str(r.status) for r in unit_tests] == ["pass"]


def test_without_a_catalog_every_model_is_empty(tmp_path: Path) -> None:
    """No sources.catalog_items.table and product events without an item_id column: the
    project builds as before, every recommendation model empty, item_id null."""
    database = tmp_path / "plain.duckdb"
    _load(database, with_items=False)
    project = Project.open(ROOT, database)
    selection = (*SELECTION, "stg_decisioning__catalog_items", "stg_decisioning__product_events")
    project.build({"as_of": AS_OF}, "--select", *selection, *NO_UNIT_TESTS)
    for model in (*MODELS, "stg_decisioning__catalog_items"):
        assert _query(database, f"select count(*) as n from main.{model}")["n"][0] == 0, model
    events = _query(database, "select * from main.stg_decisioning__product_events")
    assert len(events) == len(EVENTS) and events["item_id"].isna().all()
