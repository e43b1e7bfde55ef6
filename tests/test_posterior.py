"""Bayesian linear models from sufficient statistics, crossed with action features."""

from __future__ import annotations

import numpy as np
from numpy.linalg import pinv

from decisioning.catalog import action_features
from decisioning.posterior import (
    PRIOR_NOISE_VARIANCE,
    STATISTICS_CHUNK_ROWS,
    ValueStatistics,
    fit_field,
    models_from_frame,
    models_to_frame,
)
from decisioning.posterior import statistics_frame as core_statistics_frame
from tests.conftest import statistics_frame

NAMES = ("x_0", "x_1", "x_2")


def _data(n: int, theta: np.ndarray, noise_sd: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, len(theta) - 1))])
    r = x @ theta + rng.normal(scale=noise_sd, size=n)
    return x, r, np.ones(n)


def _fit(stats, values, a=None, prior_variance=1.0, names=NAMES):  # type: ignore[no-untyped-def]
    """Fit one field; identity action features (independent values) unless ``a`` is given."""
    a = np.eye(len(values)) if a is None else a
    value_stats = ValueStatistics.from_frame(stats, "offer", values, names, names)
    return fit_field("offer", values, a, value_stats, names, prior_variance)


def test_posterior_mean_recovers_the_true_coefficients() -> None:
    theta, noise_sd, n = np.array([0.2, -0.1, 0.05]), 0.3, 40_000
    model = _fit(statistics_frame("offer", {"a": _data(n, theta, noise_sd, 0)}), ("a",))
    # OLS standard error with unit-variance regressors: noise_sd / sqrt(n).
    assert np.all(np.abs(model.mean[0] - theta) < 5 * noise_sd / np.sqrt(n))
    assert np.all(np.sqrt(np.diag(model.covariance[0])) < 2 * noise_sd / np.sqrt(n))


def test_closed_form_with_weights() -> None:
    x, r, _ = _data(50, np.array([0.1, 0.2, 0.0]), 0.5, 1)
    w = np.random.default_rng(2).uniform(0.1, 1.0, size=50)
    model = _fit(statistics_frame("offer", {"a": (x, r, w)}), ("a",), prior_variance=2.0)
    sse = (w * r * r).sum() - (w * r).sum() ** 2 / w.sum()
    noise = (PRIOR_NOISE_VARIANCE + sse) / (1 + w.sum())
    precision = np.eye(3) / 2.0 + (x.T * w) @ x / noise
    assert np.isclose(model.noise_variance, noise)
    assert np.allclose(model.covariance[0], np.linalg.inv(precision))
    assert np.allclose(model.mean[0], np.linalg.solve(precision, (x.T * w) @ r / noise))
    assert np.isclose(model.mean_reward[0], (w * r).sum() / w.sum())


def test_crossed_model_equals_regression_on_the_explicit_cross_product() -> None:
    # Values a, b, c with action features [bias | tag | identity]; brute force: regress r
    # on z = a_v kron x and project the posterior onto each value.
    rng = np.random.default_rng(4)
    tags = {"a": {"t"}, "b": {"t"}, "c": set()}
    a, _ = action_features(("a", "b", "c"), tags)
    data = {v: _data(60, rng.normal(scale=0.2, size=3), 0.4, k) for k, v in enumerate(tags)}
    model = _fit(statistics_frame("offer", data), ("a", "b", "c"), a, prior_variance=0.7)
    z = np.concatenate([np.kron(a[k], data[v][0]) for k, v in enumerate(tags)])
    r = np.concatenate([data[v][1] for v in tags])
    precision = np.eye(z.shape[1]) / 0.7 + z.T @ z / model.noise_variance
    sigma = np.linalg.inv(precision)
    mu = sigma @ z.T @ r / model.noise_variance
    for k in range(3):
        project = np.kron(a[k][None, :], np.eye(3))
        assert np.allclose(model.mean[k], project @ mu)
        assert np.allclose(model.covariance[k], project @ sigma @ project.T)


def test_a_new_value_starts_from_what_its_tags_predict() -> None:
    # Values with tag "price" pay 0.3 more. A new priced value, never sent, is predicted
    # above a new plain one, and is less uncertain than the prior.
    tags = {"p1": {"price"}, "p2": {"price"}, "n1": set(), "n2": set(), "new_p": {"price"}}
    tags["new_n"] = set()
    values = tuple(tags)
    a, _ = action_features(values, tags)
    data = {
        v: _data(3000, np.array([0.1 + (0.3 if "price" in tags[v] else 0.0), 0, 0]), 0.3, k)
        for k, v in enumerate(values[:4])
    }
    model = _fit(statistics_frame("offer", data), values, a, prior_variance=0.1)
    new_p, new_n = values.index("new_p"), values.index("new_n")
    assert model.n_rewards[new_p] == 0
    gap = model.mean[new_p, 0] - model.mean[new_n, 0]
    # With plenty of data and an isotropic prior the posterior mean tends to the minimum-
    # norm coefficients that reproduce the trained values' effects: pinv(A_trained) theta.
    theta = pinv(a[:4]) @ np.array([0.4, 0.4, 0.1, 0.1])
    expected = (a[new_p] - a[new_n]) @ theta
    assert 0.05 < expected < 0.3
    assert abs(gap - expected) < 0.02
    # Less uncertain than the prior N(0, 0.1) of a value's intercept score.
    assert np.sqrt(model.covariance[new_p, 0, 0]) < np.sqrt(0.1)


def test_value_without_data_keeps_the_prior_and_posterior_shrinks_with_data() -> None:
    theta = np.array([0.3, 0.0, 0.1])
    traces = []
    for n in (10, 100, 1000):
        stats = statistics_frame("offer", {"a": _data(n, theta, 0.3, n)})
        model = _fit(stats, ("a", "new"), prior_variance=0.5)
        assert np.array_equal(model.mean[1], np.zeros(3))
        assert np.allclose(model.covariance[1], 0.5 * np.eye(3))
        assert model.n_rewards.tolist() == [n, 0]
        assert np.isnan(model.mean_reward[1])
        traces.append(np.trace(model.covariance[0]))
    assert traces[0] > traces[1] > traces[2]


def test_a_feature_subset_uses_the_matching_block_of_the_statistics() -> None:
    x, r, w = _data(500, np.array([0.2, 0.5, -0.3]), 0.3, 7)
    stats = statistics_frame("offer", {"a": (x, r, w)})
    sub = ValueStatistics.from_frame(stats, "offer", ("a",), NAMES, ("x_0",))
    assert np.isclose(sub.gram[0, 0, 0], w.sum())
    assert np.isclose(sub.xty[0, 0], (w * r).sum())


def test_parameters_round_trip_through_the_long_table(catalog) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    stats = statistics_frame(
        "offer",
        {v: (rng.normal(size=(20, 3)), rng.normal(size=20), np.ones(20)) for v in ("o1", "o3")},
    )
    models = {}
    for f in catalog.fields:
        value_stats = ValueStatistics.from_frame(stats, f, catalog.values[f], NAMES, NAMES)
        models[f] = fit_field(
            f, catalog.values[f], catalog.action_features[f], value_stats, NAMES, 1.0
        )
    restored = models_from_frame(models_to_frame(models, "v1"), catalog)
    for field, model in models.items():
        assert np.allclose(restored[field].mean, model.mean)
        assert np.allclose(restored[field].covariance, model.covariance)
        assert restored[field].n_rewards.tolist() == model.n_rewards.tolist()
        assert np.allclose(restored[field].mean_reward, model.mean_reward, equal_nan=True)


def test_statistics_over_several_chunks_equal_the_direct_sums() -> None:
    """Summed chunk by chunk (3 chunks, float32 features, rows where the field did not
    apply): sum w, sum w r, sum w r^2 and sum w x x' per value as written out directly."""
    rng = np.random.default_rng(3)
    n = 2 * STATISTICS_CHUNK_ROWS + 1_000
    x = rng.normal(size=(n, 3)).astype(np.float32)
    r, w = rng.random(n), rng.random(n)
    chosen = rng.choice(np.array(["a", "b", None], dtype=object), size=n)
    frame = core_statistics_frame(x, NAMES, {"offer": chosen}, r, w).set_index("value_id")
    x64 = x.astype(np.float64)
    for value in ("a", "b"):
        rows = chosen == value
        row = frame.loc[value]
        gram = (x64[rows] * w[rows, None]).T @ x64[rows]
        assert row["n_rewards"] == rows.sum()
        np.testing.assert_allclose(row["n"], w[rows].sum(), rtol=1e-12)
        np.testing.assert_allclose(row["sum_reward"], w[rows] @ r[rows], rtol=1e-12)
        np.testing.assert_allclose(row["sum_reward_sq"], w[rows] @ r[rows] ** 2, rtol=1e-12)
        np.testing.assert_allclose(row["xty_1"], (w[rows] * r[rows]) @ x64[rows, 1], rtol=1e-12)
        np.testing.assert_allclose(row["xtx_0_2"], gram[0, 2], rtol=1e-10)
